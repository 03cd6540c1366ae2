//! SeaTunnel's config shades: `POST /encrypt-config` hides the sensitive options of a job's
//! sources and sinks with the shade named by `env."shade.identifier"`, and submitting a job
//! whose `env` names a shade reveals them again, so an encrypted file can be submitted as it is.
//! weir has SeaTunnel's two built-in shades: `default` (unchanged) and `base64`.

use super::error::{StError, StResult};
use super::value_text;
use base64::Engine;
use serde_json::Value;

/// The options a shade hides (SeaTunnel's `ConfigShadeUtils.DEFAULT_SENSITIVE_KEYWORDS`).
pub const SENSITIVE_OPTIONS: [&str; 4] = ["password", "username", "auth", "token"];

/// A config shade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shade {
    /// Leaves values as they are.
    Default,
    /// Standard Base64 of the UTF-8 bytes.
    Base64,
}

impl Shade {
    /// The shade an identifier names.
    pub fn named(identifier: &str) -> StResult<Shade> {
        match identifier.trim() {
            "" | "default" => Ok(Shade::Default),
            "base64" => Ok(Shade::Base64),
            other => Err(StError::bad_request(format!(
                "The config shade '{other}' (env.shade.identifier) does not exist; weir has 'default' and 'base64'."
            ))),
        }
    }

    fn encrypt(self, value: &str) -> String {
        match self {
            Shade::Default => value.to_string(),
            Shade::Base64 => base64::engine::general_purpose::STANDARD.encode(value),
        }
    }

    fn decrypt(self, value: &str) -> Option<String> {
        match self {
            Shade::Default => Some(value.to_string()),
            Shade::Base64 => base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok()),
        }
    }
}

/// The shade a job config names (`env."shade.identifier"` or `env.shade.identifier` nested),
/// `None` when it names none.
pub fn identifier(config: &Value) -> Option<String> {
    let env = config.get("env")?;
    env.get("shade.identifier")
        .or_else(|| env.get("shade").and_then(|s| s.get("identifier")))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
}

/// SeaTunnel's check before shading (and before every submit): a job needs a source and a sink.
pub fn check_blocks(config: &Value) -> StResult<()> {
    for (block, name) in [("source", "Source"), ("sink", "Sink")] {
        let present = match config.get(block) {
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            _ => false,
        };
        if !present {
            return Err(StError::bad_request(format!(
                "Miss <{name}> config! Please check the config file."
            )));
        }
    }
    Ok(())
}

/// Applies `f` to every sensitive option of every source and sink.
fn each_sensitive(
    config: &mut Value,
    mut f: impl FnMut(&str, usize, &str, &Value) -> StResult<Value>,
) -> StResult<()> {
    for block in ["source", "sink"] {
        let Some(Value::Array(plugins)) = config.get_mut(block) else {
            continue;
        };
        for (i, plugin) in plugins.iter_mut().enumerate() {
            let Value::Object(options) = plugin else {
                continue;
            };
            for key in SENSITIVE_OPTIONS {
                if let Some(v) = options.get(key).filter(|v| !v.is_null()) {
                    let new = f(block, i, key, v)?;
                    options.insert(key.to_string(), new);
                }
            }
        }
    }
    Ok(())
}

/// `POST /encrypt-config`: the config with its sensitive options hidden.
pub fn encrypt(mut config: Value) -> StResult<Value> {
    check_blocks(&config)?;
    let shade = Shade::named(&identifier(&config).unwrap_or_default())?;
    each_sensitive(&mut config, |_, _, _, v| {
        Ok(Value::String(shade.encrypt(&value_text(v))))
    })?;
    Ok(config)
}

/// Reveals the sensitive options of a config that names a shade (a submit's first step).
pub fn decrypt(config: &mut Value) -> StResult<()> {
    let Some(id) = identifier(config) else {
        return Ok(());
    };
    let shade = Shade::named(&id)?;
    each_sensitive(config, |block, i, key, v| {
        shade.decrypt(&value_text(v)).map(Value::String).ok_or_else(|| {
            StError::bad_request(format!(
                "Option '{key}' of {block} #{i} cannot be decrypted with the config shade '{id}'; encrypt it with POST /encrypt-config or remove env.shade.identifier."
            ))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job() -> Value {
        json!({
            "env": {"shade.identifier": "base64", "parallelism": 1},
            "source": [{"plugin_name": "MySQL-CDC", "username": "seatunnel", "password": "seatunnel_password", "port": 3306}],
            "transform": [{"plugin_name": "Sql", "password": "untouched"}],
            "sink": [{"plugin_name": "Console", "token": 12}]
        })
    }

    #[test]
    fn base64_round_trips_and_leaves_the_rest_alone() {
        let enc = encrypt(job()).unwrap();
        assert_eq!(enc["source"][0]["username"], "c2VhdHVubmVs");
        assert_eq!(enc["source"][0]["password"], "c2VhdHVubmVsX3Bhc3N3b3Jk");
        assert_eq!(enc["source"][0]["port"], 3306);
        assert_eq!(enc["transform"][0]["password"], "untouched");
        assert_eq!(enc["sink"][0]["token"], "MTI=");
        let mut back = enc.clone();
        decrypt(&mut back).unwrap();
        assert_eq!(back["source"][0]["password"], "seatunnel_password");
        assert_eq!(back["sink"][0]["token"], "12");
    }

    #[test]
    fn missing_blocks_and_unknown_shades_are_reported() {
        let e = encrypt(json!({"env": {}, "source": [], "sink": [{}]})).unwrap_err();
        assert_eq!(
            e.message,
            "Miss <Source> config! Please check the config file."
        );
        let e = encrypt(json!({"env": {}, "source": [{}]})).unwrap_err();
        assert_eq!(
            e.message,
            "Miss <Sink> config! Please check the config file."
        );
        let mut bad = job();
        bad["env"]["shade.identifier"] = json!("aes");
        assert_eq!(encrypt(bad).unwrap_err().status, 400);
        let mut plain = job();
        plain["env"]["shade.identifier"] = json!("default");
        assert_eq!(
            encrypt(plain).unwrap()["source"][0]["username"],
            "seatunnel"
        );
        let mut not_b64 = job();
        assert!(decrypt(&mut not_b64).is_err());
    }
}
