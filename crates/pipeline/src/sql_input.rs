//! SeaTunnel's SQL job format (`format=sql`, `.sql` files), translated to the HOCON form the way
//! SeaTunnel's `SqlConfigBuilder` does, so both engines read a file the same way:
//!
//! ```sql
//! /* config
//! env { job.mode = "BATCH", parallelism = 2 }
//! */
//! CREATE TABLE fake WITH ('connector' = 'FakeSource', 'type' = 'source', 'row.num' = '10',
//!   'schema' = '{ fields { id = int, name = string } }');
//! CREATE TABLE out WITH ('connector' = 'Console', 'type' = 'sink');
//! CREATE TABLE big AS SELECT id, upper(name) AS name FROM fake WHERE id > 3;
//! INSERT INTO out SELECT * FROM big;
//! ```
//!
//! - `/* config … */` blocks are HOCON (the `env`); other `/* … */` blocks and `--` lines are
//!   comments. A statement ends with a line ending in `;`.
//! - `CREATE TABLE t [(columns)] WITH ('k' = 'v', …)` with `'type'` `source` or `sink` and a
//!   `'connector'` is a source (its output table is `t`) or a sink template. Values are strings,
//!   except those written as `{…}` or `[…]`, which are HOCON objects and lists (`schema`, `rows`).
//!   `''` inside a value is a quote.
//! - `CREATE TABLE t AS SELECT … FROM s …` is a `Sql` transform from `s` to `t`.
//! - `INSERT INTO sink SELECT … FROM s …` is a `Sql` transform from `s` to `s__tempN` feeding a
//!   copy of the sink; `INSERT INTO sink SELECT s` (one bare name, no FROM) feeds `s` directly.

use crate::problems::{ConfigErrors, Location, Problem};

/// One table a statement defined.
#[derive(Debug, Clone, PartialEq)]
enum Table {
    Source,
    Sink {
        connector: String,
        options: Vec<(String, String)>,
    },
    Transform,
}

/// The HOCON text of a SQL job, or every problem found in it.
pub fn to_hocon(text: &str) -> Result<String, ConfigErrors> {
    let (env, statements) = split(text);
    let mut problems = Vec::new();
    let mut tables: Vec<(String, Table)> = Vec::new();
    let mut sources = Vec::new();
    let mut transforms = Vec::new();
    let mut sinks = Vec::new();
    let mut temp = 0;
    let problem = |n: usize, msg: String, hint: &str| {
        Problem::new(Location::file(None), format!("SQL statement {n}: {msg}")).hint(hint)
    };
    let find = |tables: &[(String, Table)], name: &str| {
        tables
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(name))
            .map(|(_, t)| t.clone())
    };
    // CREATE TABLE … WITH first, as SeaTunnel does, so statements may come in any order.
    let mut rest = Vec::new();
    for (i, stmt) in statements.iter().enumerate() {
        let n = i + 1;
        match parse_create_with(stmt) {
            Some(Ok((name, options))) => {
                if find(&tables, &name).is_some() {
                    problems.push(problem(
                        n,
                        format!("table {name} is defined twice"),
                        "give each table its own name",
                    ));
                    continue;
                }
                let get = |k: &str| {
                    options
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v.clone())
                };
                let Some(connector) = get("connector").filter(|c| !c.trim().is_empty()) else {
                    problems.push(problem(
                        n,
                        format!("table {name} has no 'connector' option"),
                        "add 'connector' = 'FakeSource' (the plugin's name)",
                    ));
                    continue;
                };
                let plugin_options: Vec<(String, String)> = options
                    .iter()
                    .filter(|(k, _)| {
                        !["connector", "type", "plugin_output", "plugin_input"]
                            .iter()
                            .any(|x| k.eq_ignore_ascii_case(x))
                    })
                    .cloned()
                    .collect();
                match get("type").map(|t| t.to_ascii_lowercase()).as_deref() {
                    Some("source") => {
                        sources.push(plugin_block(
                            &connector,
                            &plugin_options,
                            &[("plugin_output", &name)],
                        ));
                        tables.push((name, Table::Source));
                    }
                    Some("sink") => tables.push((
                        name,
                        Table::Sink {
                            connector,
                            options: plugin_options,
                        },
                    )),
                    other => problems.push(problem(
                        n,
                        format!(
                            "table {name} has 'type' {}",
                            other
                                .map(|t| format!("'{t}'"))
                                .unwrap_or_else(|| "missing".into())
                        ),
                        "set 'type' = 'source' or 'type' = 'sink'",
                    )),
                }
            }
            Some(Err(msg)) => problems.push(problem(
                n,
                msg,
                "write CREATE TABLE name WITH ('key' = 'value', ...)",
            )),
            None => rest.push((n, stmt.as_str())),
        }
    }
    for (n, stmt) in rest {
        if let Some((name, select)) = parse_create_as(stmt) {
            let Some(from) = from_table(&select) else {
                problems.push(problem(
                    n,
                    format!("CREATE TABLE {name} AS needs SELECT ... FROM a table"),
                    "select from a source or an earlier table",
                ));
                continue;
            };
            match find(&tables, &from) {
                Some(Table::Source | Table::Transform) => {}
                _ => {
                    problems.push(problem(
                        n,
                        format!("the source table [{from}] is not found"),
                        "define it first with CREATE TABLE ... WITH ('type' = 'source', ...)",
                    ));
                    continue;
                }
            }
            if find(&tables, &name).is_some() {
                problems.push(problem(
                    n,
                    format!("table {name} is defined twice"),
                    "give each table its own name",
                ));
                continue;
            }
            transforms.push(sql_block(&from, &name, &select));
            tables.push((name, Table::Transform));
        } else if let Some((target, select)) = parse_insert(stmt) {
            let Some(Table::Sink { connector, options }) = find(&tables, &target) else {
                problems.push(problem(
                    n,
                    format!("the sink table [{target}] is not found"),
                    "define it with CREATE TABLE ... WITH ('type' = 'sink', ...)",
                ));
                continue;
            };
            let input = match from_table(&select) {
                Some(from) => {
                    if !matches!(find(&tables, &from), Some(Table::Source | Table::Transform)) {
                        problems.push(problem(
                            n,
                            format!("the source table [{from}] is not found"),
                            "insert from a source or a CREATE TABLE ... AS table",
                        ));
                        continue;
                    }
                    temp += 1;
                    let out = format!("{from}__temp{temp}");
                    transforms.push(sql_block(&from, &out, &select));
                    out
                }
                None => match bare_name(&select) {
                    Some(t)
                        if matches!(find(&tables, &t), Some(Table::Source | Table::Transform)) =>
                    {
                        t
                    }
                    _ => {
                        problems.push(problem(n, "the source table must be specified: INSERT INTO sink SELECT ... FROM table".into(), "add FROM with a source or transform table"));
                        continue;
                    }
                },
            };
            sinks.push(plugin_block(
                &connector,
                &options,
                &[("plugin_input", &input)],
            ));
        } else {
            let head: String = stmt.chars().take(60).collect();
            problems.push(problem(
                n,
                format!("unsupported SQL syntax: {head}"),
                "use CREATE TABLE ... WITH, CREATE TABLE ... AS SELECT and INSERT INTO ... SELECT",
            ));
        }
    }
    if problems.is_empty() && sources.is_empty() {
        problems.push(
            Problem::new(
                Location::file(None),
                "the SQL job must contain at least one source table",
            )
            .hint("add CREATE TABLE name WITH ('connector' = '...', 'type' = 'source')"),
        );
    }
    if problems.is_empty() && sinks.is_empty() {
        problems.push(
            Problem::new(
                Location::file(None),
                "the SQL job must contain INSERT INTO ... SELECT ...",
            )
            .hint("insert into a table defined with 'type' = 'sink'"),
        );
    }
    if !problems.is_empty() {
        return Err(ConfigErrors(problems));
    }
    Ok(format!(
        "{}\nsource {{\n{}}}\ntransform {{\n{}}}\nsink {{\n{}}}\n",
        env.join("\n"),
        sources.concat(),
        transforms.concat(),
        sinks.concat()
    ))
}

/// The `/* config */` blocks and the statements (comments removed, lines joined by spaces).
fn split(text: &str) -> (Vec<String>, Vec<String>) {
    let mut env = Vec::new();
    let mut statements = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut in_config: Option<Vec<String>> = None;
    let mut in_comment = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(block) = in_config.as_mut() {
            if t == "*/" {
                env.push(block.join("\n"));
                in_config = None;
            } else {
                block.push(line.to_string());
            }
            continue;
        }
        if in_comment {
            if t.ends_with("*/") {
                in_comment = false;
            }
            continue;
        }
        if t.starts_with("--") || t.is_empty() {
            continue;
        }
        if t == "/* config" {
            in_config = Some(Vec::new());
            continue;
        }
        if t.starts_with("/*") {
            in_comment = !t.ends_with("*/") || t == "/*";
            continue;
        }
        let t = match t.find(" --") {
            Some(i) if !in_quotes(&t[..i]) => t[..i].trim_end(),
            _ => t,
        };
        if let Some(stmt) = t.strip_suffix(';') {
            current.push(stmt.to_string());
            statements.push(current.join(" "));
            current.clear();
        } else {
            current.push(t.to_string());
        }
    }
    if !current.is_empty() {
        statements.push(current.join(" "));
    }
    (env, statements)
}

/// Whether `s` ends inside a single-quoted string.
fn in_quotes(s: &str) -> bool {
    s.chars().filter(|c| *c == '\'').count() % 2 == 1
}

/// A table's options in file order.
type TableOptions = Vec<(String, String)>;

/// `CREATE TABLE name [(...)] WITH (...)`: `None` when the statement is not one.
fn parse_create_with(stmt: &str) -> Option<Result<(String, TableOptions), String>> {
    let rest = strip_keywords(stmt, &["CREATE", "TABLE"])?;
    let (name, after) = identifier(rest)?;
    let mut after = after.trim_start();
    if after.starts_with('(') {
        // Column definitions: weir, like SeaTunnel, takes the schema from the options.
        after = after[matching_paren(after)? + 1..].trim_start();
    }
    let options = strip_keywords(after, &["WITH"])?.trim();
    if !options.starts_with('(') {
        return Some(Err(format!(
            "CREATE TABLE {name} WITH must be followed by ( options )"
        )));
    }
    let Some(end) = matching_paren(options) else {
        return Some(Err(format!(
            "the options of table {name} are not closed with )"
        )));
    };
    Some(parse_options(&options[1..end]).map(|o| (name, o)))
}

/// `'key' = 'value', ...` with `''` as an escaped quote.
fn parse_options(text: &str) -> Result<TableOptions, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let key = quoted(&mut chars).ok_or("an option key must be quoted: 'key' = 'value'")?;
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("option '{key}' needs = 'value'"));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let value =
            quoted(&mut chars).ok_or(format!("the value of option '{key}' must be quoted"))?;
        out.push((key, value));
    }
}

fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    if chars.next() != Some('\'') {
        return None;
    }
    let mut s = String::new();
    loop {
        match chars.next()? {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                s.push('\'');
            }
            '\'' => return Some(s),
            c => s.push(c),
        }
    }
}

/// The index of the `)` closing the `(` that `s` starts with, outside quotes.
fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `CREATE TABLE name AS SELECT ...`.
fn parse_create_as(stmt: &str) -> Option<(String, String)> {
    let rest = strip_keywords(stmt, &["CREATE", "TABLE"])?;
    let (name, after) = identifier(rest)?;
    let select = strip_keywords(after, &["AS"])?.trim();
    strip_keywords(select, &["SELECT"])?;
    Some((name, select.to_string()))
}

/// `INSERT INTO name SELECT ...`.
fn parse_insert(stmt: &str) -> Option<(String, String)> {
    let rest = strip_keywords(stmt, &["INSERT", "INTO"])?;
    let (name, after) = identifier(rest)?;
    let select = after.trim();
    strip_keywords(select, &["SELECT"])?;
    Some((name, select.to_string()))
}

/// The table after the top-level FROM of a SELECT.
fn from_table(select: &str) -> Option<String> {
    let upper = select.to_ascii_uppercase();
    let mut depth = 0i32;
    let mut quoted = false;
    let bytes = upper.as_bytes();
    for (i, c) in upper.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            'F' if !quoted
                && depth == 0
                && upper[i..].starts_with("FROM")
                && (i == 0 || !is_word(bytes[i - 1] as char))
                && upper[i + 4..].starts_with(|c: char| c.is_whitespace()) =>
            {
                return identifier(&select[i + 4..]).map(|(n, _)| n);
            }
            _ => {}
        }
    }
    None
}

/// `SELECT name` (one bare name, no FROM): SeaTunnel's way of feeding a table to a sink as is.
fn bare_name(select: &str) -> Option<String> {
    let rest = strip_keywords(select, &["SELECT"])?;
    let (name, after) = identifier(rest)?;
    after.trim().is_empty().then_some(name)
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Strips leading keywords (case-insensitive, whole words).
fn strip_keywords<'a>(s: &'a str, words: &[&str]) -> Option<&'a str> {
    let mut s = s.trim_start();
    for w in words {
        let head = s.get(..w.len())?;
        if !head.eq_ignore_ascii_case(w) || s[w.len()..].starts_with(is_word) {
            return None;
        }
        s = s[w.len()..].trim_start();
    }
    Some(s)
}

/// A table name (plain, `quoted`, "quoted" or dotted) and what follows it.
fn identifier(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if let Some(q) = s.chars().next().filter(|c| *c == '`' || *c == '"') {
        let end = s[1..].find(q)? + 1;
        return Some((s[1..end].to_string(), &s[end + 1..]));
    }
    let end = s
        .find(|c: char| !(is_word(c) || c == '.'))
        .unwrap_or(s.len());
    (end > 0).then(|| (s[..end].to_string(), &s[end..]))
}

/// A HOCON string: JSON's quoting is valid HOCON.
fn hocon_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A value as SeaTunnel writes it: `{…}` and `[…]` are HOCON as written, the rest strings.
fn hocon_value(v: &str) -> String {
    let t = v.trim();
    if (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']')) {
        t.to_string()
    } else {
        hocon_string(v)
    }
}

fn plugin_block(connector: &str, options: &[(String, String)], extra: &[(&str, &str)]) -> String {
    let mut s = format!("  {} {{\n", hocon_string(connector));
    for (k, v) in options {
        s.push_str(&format!("    {} = {}\n", hocon_string(k), hocon_value(v)));
    }
    for (k, v) in extra {
        s.push_str(&format!("    {k} = {}\n", hocon_string(v)));
    }
    s.push_str("  }\n");
    s
}

fn sql_block(input: &str, output: &str, query: &str) -> String {
    format!(
        "  Sql {{\n    plugin_input = {}\n    plugin_output = {}\n    query = {}\n  }}\n",
        hocon_string(input),
        hocon_string(output),
        hocon_string(query)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_job, Format, Variables};

    const JOB: &str = r#"/* config
env {
  job.mode = "BATCH"
  parallelism = 2
}
*/
-- a comment line
/* a comment
   block */
CREATE TABLE fake (id INT, name STRING) WITH (
  'connector' = 'FakeSource',
  'type' = 'source',
  'row.num' = '10',
  'schema' = '{ fields { id = int, name = string } }'
);
CREATE TABLE big AS SELECT id, upper(name) AS name, 'it''s' AS note FROM fake WHERE id > 3;
INSERT INTO out SELECT * FROM big;
INSERT INTO out SELECT fake;
CREATE TABLE out WITH ('connector' = 'Console', 'type' = 'sink', 'log.print.data' = 'false');
"#;

    #[test]
    fn a_sql_job_becomes_seatunnels_hocon() {
        let hocon = to_hocon(JOB).unwrap();
        let job = parse_job(&hocon, Format::Hocon, &Variables::default()).unwrap();
        assert_eq!(job.env.parallelism, 2);
        assert_eq!(job.sources.len(), 1);
        assert_eq!(job.sources[0].name, "FakeSource");
        assert_eq!(job.sources[0].output_table().as_deref(), Some("fake"));
        assert_eq!(job.transforms.len(), 2, "{hocon}");
        assert_eq!(
            job.transforms[0]
                .options
                .get("query")
                .and_then(|v| v.as_str()),
            Some("SELECT id, upper(name) AS name, 'it''s' AS note FROM fake WHERE id > 3")
        );
        assert_eq!(job.sinks.len(), 2);
        let inputs: Vec<String> = job
            .sinks
            .iter()
            .map(|s| {
                s.options
                    .get("plugin_input")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        assert_eq!(inputs, ["big__temp1", "fake"]);
        assert_eq!(
            job.sinks[0]
                .options
                .get("log.print.data")
                .and_then(|v| v.as_str()),
            Some("false")
        );
    }

    #[test]
    fn mistakes_are_reported_with_their_statement() {
        let e = to_hocon(
            "CREATE TABLE a WITH ('type' = 'source');\nINSERT INTO nowhere SELECT * FROM a;\nDROP TABLE a;",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("SQL statement 1: table a has no 'connector' option"),
            "{e}"
        );
        assert!(
            e.contains("SQL statement 2: the sink table [nowhere] is not found"),
            "{e}"
        );
        assert!(
            e.contains("SQL statement 3: unsupported SQL syntax: DROP TABLE a"),
            "{e}"
        );
        let e = to_hocon("CREATE TABLE s WITH ('connector' = 'FakeSource', 'type' = 'source');")
            .unwrap_err()
            .to_string();
        assert!(e.contains("INSERT INTO"), "{e}");
    }
}
