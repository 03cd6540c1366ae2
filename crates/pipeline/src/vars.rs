//! SeaTunnel's `${VAR}` / `${VAR:default}` substitution, applied to the job file text before it
//! is parsed. Values come from `-i key=value` first, then the environment. Sink placeholders
//! such as `${table_name}` or `${k0}` belong to connectors and are left untouched.

use std::collections::HashMap;

/// A `${NAME}` nobody defined, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnresolvedVariable {
    pub name: String,
    pub line: usize,
}

/// Names that connectors expand themselves at run time.
fn is_reserved(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "database_name",
        "table_name",
        "schema_name",
        "table_full_name",
        "primary_key",
        "unique_key",
        "field_names",
        "transactionId",
        "now",
        "uuid",
        "replace_table_name",
        "rowtype_fields",
        "rowtype_primary_key",
        "rowtype_unique_key",
        "comment",
    ];
    if RESERVED.contains(&name) {
        return true;
    }
    // Partition directory placeholders: ${k0}, ${v0}, ${k1}, ...
    let mut chars = name.chars();
    matches!(chars.next(), Some('k' | 'v')) && {
        let rest = chars.as_str();
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
    }
}

/// Where the scanner is: comments are skipped, strings are substituted in place.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Code,
    Quoted,
    TripleQuoted,
    Comment,
}

/// Replaces every resolvable `${NAME}` / `${NAME:default}`; returns the unresolved ones
/// (without a default) as errors. Substitutions in comments are ignored.
///
/// Outside quotes a value that is not a plain number, boolean or word is inserted quoted, so
/// `path = ${OUT}` with `OUT=/tmp/a b` stays one string.
pub fn substitute(
    text: &str,
    vars: &HashMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<UnresolvedVariable>> {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut mode = Mode::Code;
    let mut line = 1;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            line += 1;
            if mode == Mode::Comment {
                mode = Mode::Code;
            }
        }
        match mode {
            Mode::Comment => {}
            Mode::Code if c == b'#' || text[i..].starts_with("//") => mode = Mode::Comment,
            Mode::Code if text[i..].starts_with("\"\"\"") => {
                out.push_str("\"\"\"");
                i += 3;
                mode = Mode::TripleQuoted;
                continue;
            }
            Mode::Code if c == b'"' => mode = Mode::Quoted,
            Mode::Quoted if c == b'\\' && i + 1 < bytes.len() => {
                // Copy the backslash and the whole (possibly multi-byte) character it escapes.
                let n = utf8_len(bytes[i + 1]).min(bytes.len() - i - 1);
                out.push_str(&text[i..i + 1 + n]);
                i += 1 + n;
                continue;
            }
            Mode::Quoted if c == b'"' => mode = Mode::Code,
            Mode::TripleQuoted if text[i..].starts_with("\"\"\"") => {
                out.push_str("\"\"\"");
                i += 3;
                mode = Mode::Code;
                continue;
            }
            _ => {}
        }
        if mode != Mode::Comment && text[i..].starts_with("${") {
            if let Some(end) = text[i + 2..].find('}') {
                let body = &text[i + 2..i + 2 + end];
                let (name, default) = match body.split_once(':') {
                    Some((n, d)) => (n.trim(), Some(d)),
                    None => (body.trim(), None),
                };
                let simple_name = !name.is_empty()
                    && !name.starts_with('?')
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
                if simple_name && !is_reserved(name) {
                    let value = vars
                        .get(name)
                        .cloned()
                        .or_else(|| env(name))
                        .or_else(|| default.map(str::to_string));
                    match value {
                        Some(v) => push_value(&mut out, &v, mode),
                        None => {
                            missing.push(UnresolvedVariable {
                                name: name.to_string(),
                                line,
                            });
                            out.push_str(&text[i..i + 3 + end]);
                        }
                    }
                    i += 3 + end;
                    continue;
                }
            }
        }
        // Copy one UTF-8 character.
        let ch_len = utf8_len(c);
        out.push_str(&text[i..i + ch_len]);
        i += ch_len;
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

fn push_value(out: &mut String, v: &str, mode: Mode) {
    match mode {
        Mode::Quoted => {
            for ch in v.chars() {
                match ch {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
        }
        Mode::TripleQuoted => out.push_str(v),
        _ => {
            let plain = !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
            if plain {
                out.push_str(v);
            } else {
                out.push_str(&serde_json::Value::String(v.to_string()).to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, pairs: &[(&str, &str)]) -> Result<String, Vec<UnresolvedVariable>> {
        let vars = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        substitute(text, &vars, &|name| {
            (name == "HOME_ENV").then(|| "/home/x".into())
        })
    }

    #[test]
    fn values_defaults_and_environment() {
        assert_eq!(run("a = ${N}", &[("N", "10")]).unwrap(), "a = 10");
        assert_eq!(run("a = ${N:5}", &[]).unwrap(), "a = 5");
        assert_eq!(run("a = \"x${N:}y\"", &[]).unwrap(), "a = \"xy\"");
        assert_eq!(run("p = ${HOME_ENV}", &[]).unwrap(), "p = \"/home/x\"");
        assert_eq!(
            run("p = \"${V}\"", &[("V", "say \"hi\"")]).unwrap(),
            "p = \"say \\\"hi\\\"\""
        );
    }

    #[test]
    fn reserved_placeholders_and_comments_are_left_alone() {
        let t = "d = \"${k0}=${v0}\"\nf = \"${transactionId}_${now}\" # ${NOPE}\n";
        assert_eq!(run(t, &[]).unwrap(), t);
    }

    #[test]
    fn non_ascii_text_and_escapes_pass_through() {
        let t = "name = \"caf\u{e9} \\\u{e9} \u{1f600}\"\n# \u{fc}ber ${X}\nv = ${V}";
        assert_eq!(
            run(t, &[("V", "\u{e9}t\u{e9}")]).unwrap(),
            t.replace("${V}", "\"\u{e9}t\u{e9}\"")
        );
    }

    #[test]
    fn unresolved_variables_are_reported_with_lines() {
        let e = run("a = 1\nb = ${MISSING}\nc = \"${ALSO}\"", &[]).unwrap_err();
        assert_eq!(
            e,
            vec![
                UnresolvedVariable {
                    name: "MISSING".into(),
                    line: 2
                },
                UnresolvedVariable {
                    name: "ALSO".into(),
                    line: 3
                }
            ]
        );
    }
}
