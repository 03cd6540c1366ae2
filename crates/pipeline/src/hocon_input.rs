//! Reads SeaTunnel-flavoured HOCON with the `hocon-parser` crate.
//!
//! SeaTunnel ships a patched Typesafe Config whose path separator is `->`, so `row.num = 10` is
//! one key named `row.num`, and the blocks inside `source`/`transform`/`sink` are an ordered list
//! in which the same plugin may appear twice. Standard HOCON would expand `row.num` into
//! `row { num }` and merge two `console {}` blocks into one. Before parsing we therefore walk
//! the crate's own token stream and rewrite two kinds of keys: unquoted dotted keys become quoted
//! keys (one flat key), and every plugin block key becomes a unique placeholder whose real name
//! and line are kept on the side. The parser itself does the rest of HOCON.

use hocon::{HoconValue, ScalarType, TokenKind};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// A plugin block as written in the file, before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginBlock {
    /// The name as typed (`console`, `FakeSource`).
    pub name: String,
    /// 1-based line of the block's key.
    pub line: usize,
}

/// The parsed document plus where each plugin block came from.
#[derive(Debug)]
pub struct HoconDocument {
    /// The document as JSON, keys in file order; plugin sections turned into arrays of objects
    /// with `plugin_name`, exactly the JSON job form.
    pub root: Value,
    /// Line of each plugin by section and index, for error messages.
    pub lines: Vec<(String, usize, usize)>,
}

/// A syntax problem with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

const SECTIONS: [&str; 3] = ["source", "transform", "sink"];
const PLACEHOLDER: &str = "__weir_plugin_";

struct Edit {
    line: usize,
    col: usize,
    len: usize,
    text: String,
}

enum Frame {
    Object {
        label: Option<String>,
        expect_key: bool,
    },
    Array,
}

/// Parses HOCON text into the JSON job form, with no environment: HOCON's `${?VAR}` finds
/// nothing (a job submitted to a cluster must not read the server's environment).
pub fn parse_hocon(text: &str) -> Result<HoconDocument, SyntaxError> {
    parse_hocon_with_env(text, &HashMap::new())
}

/// Parses HOCON text, resolving HOCON's own `${VAR}` / `${?VAR}` from `env` (the caller's
/// environment for `weir run`, nothing on a cluster).
pub fn parse_hocon_with_env(
    text: &str,
    env: &HashMap<String, String>,
) -> Result<HoconDocument, SyntaxError> {
    let tokens = hocon::tokenize(text).map_err(|e| SyntaxError {
        line: e.line,
        col: e.col,
        message: e.message,
    })?;
    let mut edits = Vec::new();
    let mut blocks: Vec<PluginBlock> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let first = tokens
        .iter()
        .find(|t| !matches!(t.kind, TokenKind::Newline));
    if !matches!(first.map(|t| &t.kind), Some(TokenKind::LBrace)) {
        stack.push(Frame::Object {
            label: Some(String::new()),
            expect_key: true,
        });
    }
    let mut last_key: Option<String> = None;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        match t.kind {
            TokenKind::LBrace => {
                let label = if stack.is_empty() {
                    Some(String::new())
                } else {
                    last_key.take()
                };
                stack.push(Frame::Object {
                    label,
                    expect_key: true,
                });
            }
            TokenKind::RBrace | TokenKind::RBracket => {
                stack.pop();
                last_key = None;
            }
            TokenKind::LBracket => {
                stack.push(Frame::Array);
                last_key = None;
            }
            TokenKind::Newline | TokenKind::Comma => {
                if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = true;
                }
            }
            TokenKind::Unquoted | TokenKind::QuotedString => {
                let in_key_position = matches!(
                    stack.last(),
                    Some(Frame::Object {
                        expect_key: true,
                        ..
                    })
                );
                let next = tokens.get(i + 1).map(|n| &n.kind);
                let is_key = in_key_position
                    && matches!(
                        next,
                        Some(
                            TokenKind::Equals
                                | TokenKind::Colon
                                | TokenKind::PlusEquals
                                | TokenKind::LBrace
                        )
                    );
                if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
                if is_key {
                    let in_section = stack.len() == 2
                        && matches!(&stack[1], Frame::Object { label: Some(l), .. } if SECTIONS.contains(&l.as_str()))
                        && matches!(&stack[0], Frame::Object { label: Some(l), .. } if l.is_empty());
                    let key_len = t.value.chars().count() + if t.is_quoted { 2 } else { 0 };
                    if in_section {
                        edits.push(Edit {
                            line: t.line,
                            col: t.col,
                            len: key_len,
                            text: format!("\"{PLACEHOLDER}{}\"", blocks.len()),
                        });
                        blocks.push(PluginBlock {
                            name: t.value.clone(),
                            line: t.line,
                        });
                    } else if !t.is_quoted && t.value.contains('.') {
                        edits.push(Edit {
                            line: t.line,
                            col: t.col,
                            len: key_len,
                            text: Value::String(t.value.clone()).to_string(),
                        });
                    }
                    last_key = Some(t.value.clone());
                }
            }
            _ => {}
        }
        i += 1;
    }
    let rewritten = apply_edits(text, &edits);
    let config = hocon::parse_with_env(&rewritten, env).map_err(|e| match e {
        hocon::HoconError::Parse(p) => SyntaxError {
            line: p.line,
            col: p.col,
            message: p.message,
        },
        hocon::HoconError::Resolve(r) => SyntaxError {
            line: r.line,
            col: r.col,
            message: format!("{} ({})", r.message, r.path),
        },
        other => SyntaxError {
            line: 0,
            col: 0,
            message: other.to_string(),
        },
    })?;
    let mut root = Map::new();
    let mut lines = Vec::new();
    for key in config.keys() {
        let Some(value) = config.get(&quote_path(key)) else {
            continue;
        };
        if SECTIONS.contains(&key) {
            if let HoconValue::Object(map) = value {
                let mut list = Vec::with_capacity(map.len());
                for (placeholder, body) in map {
                    let block = placeholder
                        .strip_prefix(PLACEHOLDER)
                        .and_then(|n| n.parse::<usize>().ok())
                        .and_then(|n| blocks.get(n));
                    let Some(block) = block else {
                        continue;
                    };
                    let mut obj = match to_json(body) {
                        Value::Object(o) => o,
                        other => {
                            return Err(SyntaxError {
                                line: block.line,
                                col: 1,
                                message: format!(
                                    "plugin '{}' in {key} must be a block {{ ... }}, found {other}",
                                    block.name
                                ),
                            })
                        }
                    };
                    obj.insert("plugin_name".into(), Value::String(block.name.clone()));
                    lines.push((key.to_string(), list.len(), block.line));
                    list.push(Value::Object(obj));
                }
                root.insert(key.to_string(), Value::Array(list));
                continue;
            }
        }
        root.insert(key.to_string(), to_json(value));
    }
    Ok(HoconDocument {
        root: Value::Object(root),
        lines,
    })
}

/// Top-level keys are looked up as one quoted path element so a dotted key stays whole.
fn quote_path(key: &str) -> String {
    Value::String(key.to_string()).to_string()
}

fn apply_edits(text: &str, edits: &[Edit]) -> String {
    if edits.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + edits.len() * 16);
    let mut edit_iter = edits.iter().peekable();
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let line_no = line_no + 1;
        let chars: Vec<char> = line.chars().collect();
        let mut col = 0;
        while let Some(e) = edit_iter.peek() {
            if e.line != line_no {
                break;
            }
            let start = e.col.saturating_sub(1).max(col);
            out.extend(&chars[col.min(chars.len())..start.min(chars.len())]);
            out.push_str(&e.text);
            col = start + e.len;
            edit_iter.next();
        }
        out.extend(&chars[col.min(chars.len())..]);
    }
    out
}

/// Converts a parsed HOCON value to JSON. Unquoted numbers become JSON numbers, the rest keep
/// their text.
pub fn to_json(v: &HoconValue) -> Value {
    match v {
        HoconValue::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        HoconValue::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        HoconValue::Scalar(s) => match s.value_type {
            ScalarType::Null => Value::Null,
            ScalarType::Boolean => Value::Bool(matches!(
                s.raw.to_ascii_lowercase().as_str(),
                "true" | "yes" | "on"
            )),
            ScalarType::Number => s
                .raw
                .parse::<i64>()
                .ok()
                .map(|n| Value::Number(n.into()))
                .or_else(|| {
                    s.raw
                        .parse::<f64>()
                        .ok()
                        .and_then(Number::from_f64)
                        .map(Value::Number)
                })
                .unwrap_or_else(|| Value::String(s.raw.clone())),
            _ => Value::String(s.raw.clone()),
        },
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_keys_stay_flat_and_plugins_stay_ordered() {
        let doc = parse_hocon(
            r#"
env { job.mode = "BATCH", parallelism = 2 }
source {
  FakeSource { plugin_output = "fake", row.num = 16, schema { fields { name = string } } }
}
sink {
  console { plugin_input = "fake" }
  Console { log.print.data = false }
}
"#,
        )
        .unwrap();
        assert_eq!(doc.root["env"]["job.mode"], json!("BATCH"));
        assert_eq!(doc.root["source"][0]["row.num"], json!(16));
        assert_eq!(
            doc.root["source"][0]["schema"]["fields"]["name"],
            json!("string")
        );
        assert_eq!(doc.root["sink"][0]["plugin_name"], json!("console"));
        assert_eq!(doc.root["sink"][1]["plugin_name"], json!("Console"));
        assert_eq!(doc.root["sink"][1]["log.print.data"], json!(false));
        assert_eq!(
            doc.lines,
            vec![
                ("source".into(), 0, 4),
                ("sink".into(), 0, 7),
                ("sink".into(), 1, 8)
            ]
        );
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let e = parse_hocon("env {\n  job.mode = \"BATCH\"\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
        let e = parse_hocon("source {\n  FakeSource { a = [1, 2 }\n}").unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
    }

    #[test]
    fn root_braces_and_multiline_strings() {
        let doc = parse_hocon(
            "{\n env { x.y = 1 }\n transform { Sql { query = \"\"\"select a\n from t\"\"\" } } }",
        )
        .unwrap();
        assert_eq!(doc.root["env"]["x.y"], json!(1));
        assert_eq!(
            doc.root["transform"][0]["query"],
            json!("select a\n from t")
        );
    }
}
