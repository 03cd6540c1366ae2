//! Typed reads of a plugin's options, accepting what SeaTunnel accepts (numbers written as
//! strings, booleans as `"true"`), with errors that name the option.

use serde_json::{Map, Value};

/// The options of one plugin block (or of `env`), keys as written (flat, dotted).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Options {
    map: Map<String, Value>,
}

impl Options {
    /// Wraps a JSON object.
    pub fn new(map: Map<String, Value>) -> Self {
        Self { map }
    }

    /// The raw value of an option.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// Whether the option is set.
    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// All option keys in file order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// The underlying map.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// Removes an option, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.map.shift_remove(key)
    }

    /// Sets an option (used for `-p` and REST overrides).
    pub fn set(&mut self, key: &str, value: Value) {
        self.map.insert(key.to_string(), value);
    }

    /// A string option; numbers and booleans are rendered as text.
    pub fn str(&self, key: &str) -> Result<Option<String>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => as_string(v)
                .map(Some)
                .ok_or_else(|| format!("option '{key}' must be a string, found {}", kind(v))),
        }
    }

    /// An integer option; `"10"` is accepted as 10.
    pub fn i64(&self, key: &str) -> Result<Option<i64>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => as_i64(v)
                .map(Some)
                .ok_or_else(|| format!("option '{key}' must be an integer, found {}", kind(v))),
        }
    }

    /// A floating point option.
    pub fn f64(&self, key: &str) -> Result<Option<f64>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => as_f64(v)
                .map(Some)
                .ok_or_else(|| format!("option '{key}' must be a number, found {}", kind(v))),
        }
    }

    /// A boolean option; `"true"`/`"false"` in any case are accepted.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => as_bool(v)
                .map(Some)
                .ok_or_else(|| format!("option '{key}' must be true or false, found {}", kind(v))),
        }
    }

    /// A list of strings; a single string is a list of one (as SeaTunnel's `plugin_input`).
    pub fn str_list(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    as_string(v).ok_or_else(|| {
                        format!(
                            "option '{key}' must be a list of strings, found {}",
                            kind(v)
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => as_string(v).map(|s| Some(vec![s])).ok_or_else(|| {
                format!(
                    "option '{key}' must be a list of strings, found {}",
                    kind(v)
                )
            }),
        }
    }

    /// An object option.
    pub fn object(&self, key: &str) -> Result<Option<&Map<String, Value>>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(v) => Err(format!(
                "option '{key}' must be an object {{ ... }}, found {}",
                kind(v)
            )),
        }
    }

    /// The first of several spellings that is set (new name first, then legacy names).
    pub fn first_key<'a>(&self, keys: &[&'a str]) -> Option<&'a str> {
        keys.iter().copied().find(|k| self.map.contains_key(*k))
    }
}

/// A value as text, when it is a scalar.
pub fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value as an integer, when it is one (or a string holding one).
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as a float.
pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as a boolean.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// How to name a value's kind in an error.
pub fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("\"{s}\""),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(v: Value) -> Options {
        match v {
            Value::Object(m) => Options::new(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn lenient_scalars_like_seatunnel() {
        let o = opts(json!({"n": "10", "b": "TRUE", "s": 5, "l": "one"}));
        assert_eq!(o.i64("n"), Ok(Some(10)));
        assert_eq!(o.bool("b"), Ok(Some(true)));
        assert_eq!(o.str("s"), Ok(Some("5".into())));
        assert_eq!(o.str_list("l"), Ok(Some(vec!["one".into()])));
        assert_eq!(o.i64("missing"), Ok(None));
    }

    #[test]
    fn wrong_types_name_the_option() {
        let o = opts(json!({"n": "ten", "b": 3, "o": [1]}));
        assert_eq!(
            o.i64("n").unwrap_err(),
            "option 'n' must be an integer, found \"ten\""
        );
        assert!(o.bool("b").unwrap_err().contains("true or false"));
        assert!(o.object("o").unwrap_err().contains("must be an object"));
    }
}
