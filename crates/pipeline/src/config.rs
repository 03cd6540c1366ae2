//! The job file as data: `env` plus the ordered plugin blocks, read from HOCON or JSON text.

use crate::options::Options;
use crate::problems::{did_you_mean, ConfigErrors, Location, Problem};
use crate::vars::substitute;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

/// The largest parallelism weir accepts (Flink's upper bound for max parallelism).
pub const MAX_PARALLELISM: usize = 32_768;

/// The text format of a job file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.conf` / `.hocon`: SeaTunnel's primary format.
    Hocon,
    /// `.json`: sections are arrays of objects with `plugin_name`.
    Json,
    /// `.sql`: SeaTunnel's SQL job form (`CREATE TABLE … WITH`, `INSERT INTO … SELECT`),
    /// translated to HOCON by [`crate::sql_input`].
    Sql,
}

impl Format {
    /// The format a file name implies (`.json` is JSON, `.sql` SQL, anything else HOCON).
    pub fn from_path(path: &str) -> Format {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Format::Json
        } else if lower.ends_with(".sql") {
            Format::Sql
        } else {
            Format::Hocon
        }
    }

    /// Its name in requests and stored submissions (`json`, `hocon`, `sql`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Hocon => "hocon",
            Format::Json => "json",
            Format::Sql => "sql",
        }
    }

    /// The format named `name` (as [`Format::as_str`] writes it), case-insensitively.
    pub fn parse(name: &str) -> Option<Format> {
        match name.trim().to_ascii_lowercase().as_str() {
            "hocon" => Some(Format::Hocon),
            "json" => Some(Format::Json),
            "sql" => Some(Format::Sql),
            _ => None,
        }
    }
}

/// BATCH (bounded input, the job ends) or STREAMING (runs until stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum JobMode {
    Batch,
    Streaming,
}

impl fmt::Display for JobMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobMode::Batch => "BATCH",
            JobMode::Streaming => "STREAMING",
        })
    }
}

/// Which block a plugin sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PluginKind {
    Source,
    Transform,
    Sink,
}

impl PluginKind {
    /// The block name in the file.
    pub fn block(self) -> &'static str {
        match self {
            PluginKind::Source => "source",
            PluginKind::Transform => "transform",
            PluginKind::Sink => "sink",
        }
    }
}

/// One plugin block as written.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PluginConfig {
    pub kind: PluginKind,
    /// Position in its block.
    pub index: usize,
    /// The plugin name as typed (case preserved for display).
    pub name: String,
    /// 1-based line of the block, for HOCON files.
    pub line: Option<usize>,
    /// All options except `plugin_name`.
    pub options: Options,
}

impl PluginConfig {
    /// Where this block is, for problems.
    pub fn location(&self) -> Location {
        Location {
            block: self.kind.block().into(),
            index: Some(self.index),
            plugin: Some(self.name.clone()),
            option: None,
            line: self.line,
        }
    }

    /// The table this plugin registers (`plugin_output`, legacy `result_table_name`).
    pub fn output_table(&self) -> Option<String> {
        self.options
            .first_key(&["plugin_output", "result_table_name"])
            .and_then(|k| self.options.str(k).ok().flatten())
    }

    /// The option key that names this plugin's inputs, if any.
    pub fn input_key(&self) -> Option<&'static str> {
        self.options
            .first_key(&["plugin_input", "source_table_name"])
    }
}

/// The `env` block with the options the engine reads resolved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnvConfig {
    pub options: Options,
    pub mode: JobMode,
    pub name: String,
    pub parallelism: usize,
    pub checkpoint_interval_ms: Option<u64>,
    pub read_limit_rows_per_second: Option<u64>,
}

/// A whole job file.
#[derive(Debug, Clone, PartialEq)]
pub struct JobConfig {
    pub env: EnvConfig,
    pub sources: Vec<PluginConfig>,
    pub transforms: Vec<PluginConfig>,
    pub sinks: Vec<PluginConfig>,
}

impl JobConfig {
    /// Every plugin in file order: sources, then transforms, then sinks.
    pub fn plugins(&self) -> impl Iterator<Item = &PluginConfig> {
        self.sources
            .iter()
            .chain(self.transforms.iter())
            .chain(self.sinks.iter())
    }
}

/// Where variable values come from: `-i key=value` pairs, then the process environment.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    pub values: HashMap<String, String>,
    /// Whether the process environment is consulted after `values` (`weir run`: the caller's).
    pub use_env: bool,
    /// Environment variables a cluster's operator lets job files read
    /// (`weir.job-file.env-allowlist`), when `use_env` is off.
    pub allowed_env: Vec<String>,
}

impl Variables {
    /// Whether a job file may read environment variable `name`: all of them for `weir run`,
    /// on a cluster only those its operator allowed.
    pub fn may_read_env(&self, name: &str) -> bool {
        self.use_env || self.allowed_env.iter().any(|a| a == name)
    }

    /// Variables from `-i` pairs, falling back to the environment.
    pub fn with_env(values: HashMap<String, String>) -> Self {
        Self {
            values,
            use_env: true,
            allowed_env: Vec::new(),
        }
    }
}

/// What a job file may not do: pull in another file with HOCON's `include` (anywhere), or read
/// an environment variable `vars` does not allow through `${?VAR}` (a job submitted to a
/// cluster). Either is refused with what to do instead, never silently resolved or skipped.
fn unreadable_outside(text: &str, vars: &Variables) -> Option<Problem> {
    for (n, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        let t = code.trim_start();
        let after = t.strip_prefix("include").map(str::trim_start);
        let is_include = after.is_some_and(|a| {
            a.starts_with('"')
                || ["required(", "file(", "url(", "classpath("]
                    .iter()
                    .any(|f| a.starts_with(f))
        });
        if is_include {
            return Some(
                Problem::new(
                    Location::file(Some(n + 1)),
                    "HOCON include is not supported: a job file is read on its own",
                )
                .hint("put the included settings into the job file itself"),
            );
        }
        let quoted_at = |at: usize| code[..at].matches('"').count() % 2 == 1;
        let mut from = 0;
        while let Some(at) = code[from..].find("${?").map(|a| a + from) {
            from = at + 3;
            let name: String = code[at + 3..].chars().take_while(|c| *c != '}').collect();
            if quoted_at(at) || vars.may_read_env(name.trim()) {
                continue;
            }
            return Some(
                Problem::new(
                    Location::file(Some(n + 1)),
                    format!(
                        "${{?{name}}} would read the server's environment, which a job submitted to a cluster cannot do"
                    ),
                )
                .hint(format!(
                    "pass the value as a variable (programArgsList {name}=VALUE, weir run -i {name}=VALUE) and write ${{{name}}}, or have the operator allow it in weir.job-file.env-allowlist"
                )),
            );
        }
    }
    None
}

/// The longest job name accepted: it is stored with the job, listed by every overview and
/// written in log lines.
pub const MAX_JOB_NAME_CHARS: usize = 1024;

/// The largest job file parsed. Parsing builds a tree several times the text's size, so a
/// request body near `rest.server.max-content-length` (100 MiB, meant for uploads) would take
/// a gigabyte; job files are small (FakeSource's literal `rows` included), so this bound keeps
/// the peak of a submission within a few times its body.
pub const MAX_JOB_FILE_BYTES: usize = 8 << 20;

/// Parses job text into a `JobConfig`, reporting every problem found.
pub fn parse_job(text: &str, format: Format, vars: &Variables) -> Result<JobConfig, ConfigErrors> {
    if text.len() > MAX_JOB_FILE_BYTES {
        return Err(ConfigErrors(vec![Problem::new(
            Location::file(None),
            format!(
                "the job file is {} bytes, more than the {} MiB a job file may have",
                text.len(),
                MAX_JOB_FILE_BYTES >> 20
            ),
        )
        .hint("read large data with a source (LocalFile, Jdbc) instead of writing it into the job file")]));
    }
    let env_lookup = |name: &str| {
        if vars.may_read_env(name) {
            std::env::var(name).ok()
        } else {
            None
        }
    };
    let text = substitute(text, &vars.values, &env_lookup).map_err(|missing| {
        ConfigErrors(
            missing
                .into_iter()
                .map(|m| {
                    Problem::new(
                        Location::file(Some(m.line)),
                        format!("unresolved variable ${{{}}}", m.name),
                    )
                    .hint(format!(
                        "pass -i {0}=VALUE, set the environment variable {0}, or write ${{{0}:default}}",
                        m.name
                    ))
                })
                .collect(),
        )
    })?;
    if text.trim().is_empty() {
        return Err(ConfigErrors(vec![Problem::new(
            Location::file(None),
            "the job file is empty",
        )
        .hint("write env { }, source { ... } and sink { ... } blocks")]));
    }
    let text = match format {
        Format::Sql => crate::sql_input::to_hocon(&text)?,
        Format::Hocon | Format::Json => text,
    };
    let looks_json = text.trim_start().starts_with('{') && format == Format::Json;
    let (root, lines) = if looks_json {
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => (v, Vec::new()),
            Err(e) => {
                return Err(ConfigErrors(vec![Problem::new(
                    Location::file(Some(e.line())),
                    format!("invalid JSON at column {}: {e}", e.column()),
                )
                .hint("fix the JSON syntax (a missing comma, quote or bracket)")]))
            }
        }
    } else {
        if let Some(problem) = unreadable_outside(&text, vars) {
            return Err(ConfigErrors(vec![problem]));
        }
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| vars.may_read_env(k))
            .collect();
        match crate::hocon_input::parse_hocon_with_env(&text, &env) {
            Ok(doc) => (doc.root, doc.lines),
            Err(e) => {
                return Err(ConfigErrors(vec![Problem::new(
                    Location::file(Some(e.line)),
                    format!("syntax error at column {}: {}", e.col, e.message),
                )
                .hint(
                    "fix the HOCON syntax (unbalanced braces or brackets, a stray quote)",
                )]))
            }
        }
    };
    from_value(root, &lines)
}

/// Builds a `JobConfig` from the JSON job form.
pub fn from_value(
    root: Value,
    lines: &[(String, usize, usize)],
) -> Result<JobConfig, ConfigErrors> {
    let mut problems = Vec::new();
    let Value::Object(mut root) = root else {
        return Err(ConfigErrors(vec![Problem::new(
            Location::file(None),
            "the job must be an object with env, source, transform and sink",
        )]));
    };
    for key in root.keys() {
        if !["env", "source", "transform", "sink"].contains(&key.as_str()) {
            let mut p = Problem::new(
                Location::file(None),
                format!("unknown top-level block '{key}'"),
            );
            if let Some(s) = did_you_mean(key, ["env", "source", "transform", "sink"]) {
                p = p.hint(format!("did you mean '{s}'?"));
            } else {
                p = p.hint("a job has only env, source, transform and sink blocks");
            }
            problems.push(p);
        }
    }
    let env_map = match root.remove("env") {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(other) => {
            problems.push(Problem::new(
                Location::env(""),
                format!(
                    "'env' must be a block, found {}",
                    crate::options::kind(&other)
                ),
            ));
            Map::new()
        }
    };
    let env = read_env(Options::new(env_map), &mut problems);
    let mut read = |kind: PluginKind, required: bool, problems: &mut Vec<Problem>| {
        read_section(kind, root.remove(kind.block()), lines, required, problems)
    };
    let sources = read(PluginKind::Source, true, &mut problems);
    let transforms = read(PluginKind::Transform, false, &mut problems);
    let sinks = read(PluginKind::Sink, true, &mut problems);
    if problems.is_empty() {
        Ok(JobConfig {
            env,
            sources,
            transforms,
            sinks,
        })
    } else {
        Err(ConfigErrors(problems))
    }
}

fn read_env(options: Options, problems: &mut Vec<Problem>) -> EnvConfig {
    let mode = match options.str("job.mode") {
        Ok(None) => JobMode::Batch,
        Ok(Some(m)) if m.eq_ignore_ascii_case("batch") => JobMode::Batch,
        Ok(Some(m)) if m.eq_ignore_ascii_case("streaming") => JobMode::Streaming,
        Ok(Some(m)) => {
            problems.push(
                Problem::new(Location::env("job.mode"), format!("unknown job mode '{m}'"))
                    .hint("use \"BATCH\" or \"STREAMING\""),
            );
            JobMode::Batch
        }
        Err(e) => {
            problems.push(Problem::new(Location::env("job.mode"), e));
            JobMode::Batch
        }
    };
    let mut positive = |key: &str| -> Option<i64> {
        match options.i64(key) {
            Ok(Some(n)) if n > MAX_PARALLELISM as i64 && key.ends_with("parallelism") => {
                problems.push(
                    Problem::new(
                        Location::env(key),
                        format!("'{key}' is {n}, above the maximum of {MAX_PARALLELISM}"),
                    )
                    .hint("use a parallelism between 1 and 32768"),
                );
                None
            }
            Ok(Some(n)) if n > 0 => Some(n),
            Ok(Some(n)) => {
                problems.push(
                    Problem::new(
                        Location::env(key),
                        format!("'{key}' must be positive, found {n}"),
                    )
                    .hint("use a number greater than 0"),
                );
                None
            }
            Ok(None) => None,
            Err(e) => {
                problems.push(Problem::new(Location::env(key), e));
                None
            }
        }
    };
    let parallelism = positive("parallelism")
        .or_else(|| positive("execution.parallelism"))
        .unwrap_or(1) as usize;
    let checkpoint_interval_ms = positive("checkpoint.interval").map(|n| n as u64);
    let read_limit = positive("read_limit.rows_per_second").map(|n| n as u64);
    let name = options
        .str("job.name")
        .ok()
        .flatten()
        .unwrap_or_else(|| "SeaTunnel_Job".into());
    if name.chars().count() > MAX_JOB_NAME_CHARS {
        problems.push(
            Problem::new(
                Location::env("job.name"),
                format!(
                    "'job.name' is {} characters long, more than the {MAX_JOB_NAME_CHARS} a job name may have",
                    name.chars().count()
                ),
            )
            .hint("give the job a shorter name"),
        );
    }
    EnvConfig {
        options,
        mode,
        name,
        parallelism,
        checkpoint_interval_ms,
        read_limit_rows_per_second: read_limit,
    }
}

fn read_section(
    kind: PluginKind,
    value: Option<Value>,
    lines: &[(String, usize, usize)],
    required: bool,
    problems: &mut Vec<Problem>,
) -> Vec<PluginConfig> {
    let block = kind.block();
    let items = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(Value::Object(o)) if o.is_empty() => Vec::new(),
        Some(other) => {
            problems.push(Problem::new(
                Location {
                    block: block.into(),
                    ..Location::default()
                },
                format!(
                    "'{block}' must hold plugin blocks, found {}",
                    crate::options::kind(&other)
                ),
            ));
            return Vec::new();
        }
    };
    if items.is_empty() && required {
        let example = match kind {
            PluginKind::Source => "source { FakeSource { schema { fields { id = bigint } } } }",
            _ => "sink { Console {} }",
        };
        problems.push(
            Problem::new(
                Location {
                    block: block.into(),
                    ..Location::default()
                },
                format!("no {block} plugin"),
            )
            .hint(format!("a job needs at least one, e.g. {example}")),
        );
    }
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let line = lines
            .iter()
            .find(|(b, i, _)| b == block && *i == index)
            .map(|(_, _, l)| *l);
        let loc = Location {
            block: block.into(),
            index: Some(index),
            plugin: None,
            option: None,
            line,
        };
        let Value::Object(mut map) = item else {
            problems.push(Problem::new(loc, "a plugin must be an object").hint(
                "write { \"plugin_name\": \"FakeSource\", ... } (JSON) or FakeSource { ... } (HOCON)",
            ));
            continue;
        };
        let name = match map.remove("plugin_name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            _ => {
                problems.push(
                    Problem::new(loc.with_option("plugin_name"), "missing 'plugin_name'")
                        .hint("name the plugin, e.g. \"plugin_name\": \"FakeSource\""),
                );
                continue;
            }
        };
        out.push(PluginConfig {
            kind,
            index,
            name,
            line,
            options: Options::new(map),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, format: Format) -> Result<JobConfig, ConfigErrors> {
        parse_job(text, format, &Variables::default())
    }

    #[test]
    fn hocon_and_json_give_the_same_config() {
        let hocon = r#"env { job.mode = "STREAMING", parallelism = 3 }
source { FakeSource { plugin_output = "fake", row.num = 7, schema { fields { a = int } } } }
sink { Console { plugin_input = "fake" } }"#;
        let json = r#"{"env": {"job.mode": "STREAMING", "parallelism": 3},
 "source": [{"plugin_name": "FakeSource", "plugin_output": "fake", "row.num": 7,
             "schema": {"fields": {"a": "int"}}}],
 "sink": [{"plugin_name": "Console", "plugin_input": "fake"}]}"#;
        let a = parse(hocon, Format::Hocon).unwrap();
        let b = parse(json, Format::Json).unwrap();
        assert_eq!(a.env.mode, JobMode::Streaming);
        assert_eq!(a.env.parallelism, 3);
        assert_eq!(a.sources[0].options, b.sources[0].options);
        assert_eq!(a.sources[0].line, Some(2));
        assert_eq!(a.sources[0].output_table().as_deref(), Some("fake"));
    }

    #[test]
    fn several_problems_are_reported_together() {
        let e = parse(
            "env { job.mode = \"BATCHY\", parallelism = 0 }\nsorce { }\nsink { }",
            Format::Hocon,
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("unknown job mode 'BATCHY'"), "{text}");
        assert!(text.contains("'parallelism' must be positive"), "{text}");
        assert!(
            text.contains(
                "unknown top-level block 'sorce' in the job file; did you mean 'source'?"
            ),
            "{text}"
        );
        assert!(text.contains("no sink plugin"), "{text}");
    }

    #[test]
    fn a_cluster_job_cannot_read_the_environment_or_include_files() {
        let job = "env { job.name = ${?HOME} }\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Console {} }";
        let e = parse_job(job, Format::Hocon, &Variables::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("${?HOME} would read the server's environment"),
            "{e}"
        );
        // weir run reads the caller's own environment.
        let local = Variables::with_env(HashMap::new());
        let ok = parse_job(job, Format::Hocon, &local).unwrap();
        assert_eq!(Some(ok.env.name), std::env::var("HOME").ok());
        // The operator may allow a name.
        let allowed = Variables {
            allowed_env: vec!["HOME".into()],
            ..Variables::default()
        };
        let ok = parse_job(job, Format::Hocon, &allowed).unwrap();
        assert_eq!(Some(ok.env.name), std::env::var("HOME").ok());
        let other = job.replace("HOME", "PATH");
        assert!(parse_job(&other, Format::Hocon, &allowed).is_err());
        // A literal string is not a substitution.
        let literal = "env { job.name = \"${?HOME}\" }\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Console {} }";
        assert!(parse_job(literal, Format::Hocon, &Variables::default()).is_ok());
        let inc = "include \"/etc/passwd\"\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Console {} }";
        for vars in [Variables::default(), local] {
            let e = parse_job(inc, Format::Hocon, &vars)
                .unwrap_err()
                .to_string();
            assert!(e.contains("HOCON include is not supported"), "{e}");
        }
    }

    #[test]
    fn a_job_file_past_the_size_bound_is_refused_before_it_is_parsed() {
        let big = format!(
            "env {{ job.name = \"{}\" }}",
            "x".repeat(MAX_JOB_FILE_BYTES)
        );
        let e = parse_job(&big, Format::Hocon, &Variables::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than the 8 MiB a job file may have"), "{e}");
    }
}
