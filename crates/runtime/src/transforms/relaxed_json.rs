//! JSON as json-smart's permissive mode reads it (the parser behind SeaTunnel's JsonPath
//! transform): keys and string values may be unquoted or single-quoted, so
//! `{data:{name: this is a string, day:'2023-10-29'}}` is a document. Strict JSON is read
//! first; this is the fallback, so what SeaTunnel accepts weir accepts too.

use serde_json::{Map, Number, Value};

/// Parses `text` strictly, or else permissively; the strict parser's error when neither reads.
pub fn parse(text: &str) -> Result<Value, String> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(strict) => {
            let mut p = Parser {
                chars: text.chars().collect(),
                at: 0,
            };
            p.value()
                .ok()
                .filter(|_| {
                    p.skip_space();
                    p.at == p.chars.len()
                })
                .ok_or_else(|| format!("not JSON: {strict}"))
        }
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ()> {
        self.skip_space();
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(())
        }
    }

    fn value(&mut self) -> Result<Value, ()> {
        self.skip_space();
        match self.peek().ok_or(())? {
            '{' => self.object(),
            '[' => self.array(),
            q @ ('"' | '\'') => self.quoted(q).map(Value::String),
            _ => Ok(bare(&self.word())),
        }
    }

    fn object(&mut self) -> Result<Value, ()> {
        self.expect('{')?;
        let mut map = Map::new();
        self.skip_space();
        if self.peek() == Some('}') {
            self.at += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_space();
            let key = match self.peek().ok_or(())? {
                q @ ('"' | '\'') => self.quoted(q)?,
                _ => self.word(),
            };
            self.expect(':')?;
            let v = self.value()?;
            map.insert(key, v);
            self.skip_space();
            match self.peek() {
                Some(',') => self.at += 1,
                Some('}') => {
                    self.at += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(()),
            }
        }
    }

    fn array(&mut self) -> Result<Value, ()> {
        self.expect('[')?;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_space();
            match self.peek() {
                Some(',') => self.at += 1,
                Some(']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(()),
            }
        }
    }

    fn quoted(&mut self, quote: char) -> Result<String, ()> {
        self.at += 1;
        let mut s = String::new();
        while let Some(c) = self.peek() {
            self.at += 1;
            match c {
                '\\' => {
                    let e = self.peek().ok_or(())?;
                    self.at += 1;
                    s.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => other,
                    });
                }
                c if c == quote => return Ok(s),
                c => s.push(c),
            }
        }
        Err(())
    }

    /// Text up to the next structural character, trimmed.
    fn word(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| !matches!(c, ',' | ':' | '}' | ']' | '{' | '['))
        {
            self.at += 1;
        }
        self.chars[start..self.at]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    }
}

/// An unquoted value: a number, true, false or null when it reads as one, else text.
fn bare(word: &str) -> Value {
    match word {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => word
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                word.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or_else(|| Value::String(word.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_json_smart_permits() {
        assert_eq!(
            parse("{data:{s: this is a string,b: true,n: 42,f: 2.5,d:'2023-10-29',t:\"16:12:43.459\"}}").unwrap(),
            json!({"data": {"s": "this is a string", "b": true, "n": 42, "f": 2.5, "d": "2023-10-29", "t": "16:12:43.459"}})
        );
        assert_eq!(
            parse(r#"{"strict": [1, 2]}"#).unwrap(),
            json!({"strict": [1, 2]})
        );
        assert!(parse("{a: [1, 2}").is_err());
    }
}
