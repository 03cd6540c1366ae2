//! What plugins exist and which options they take. The runtime declares each plugin's options
//! next to its implementation and hands them to validation through the [`Catalog`] trait, so a
//! plugin's option names live in exactly one place.

use crate::config::{PluginConfig, PluginKind};
use crate::options::{kind, Options};
use crate::problems::{did_you_mean, Problem};
use serde_json::Value;

/// The type an option's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    String,
    Int,
    Float,
    Bool,
    /// A list of strings, or one string.
    StringList,
    /// Any list.
    List,
    Object,
    /// One of the listed words, case-insensitive.
    Enum(&'static [&'static str]),
    /// Anything (validated by the plugin itself).
    Any,
}

/// One option of a plugin.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub key: &'static str,
    pub ty: OptionType,
    pub required: bool,
}

impl OptionSpec {
    /// An optional option.
    pub const fn optional(key: &'static str, ty: OptionType) -> Self {
        Self {
            key,
            ty,
            required: false,
        }
    }

    /// A required option.
    pub const fn required(key: &'static str, ty: OptionType) -> Self {
        Self {
            key,
            ty,
            required: true,
        }
    }
}

/// Options every plugin takes.
pub const COMMON_OPTIONS: &[OptionSpec] = &[
    OptionSpec::optional("plugin_output", OptionType::String),
    OptionSpec::optional("result_table_name", OptionType::String),
    OptionSpec::optional("plugin_input", OptionType::StringList),
    OptionSpec::optional("source_table_name", OptionType::StringList),
    OptionSpec::optional("parallelism", OptionType::Int),
];

/// A plugin's declaration: its name, kind and options.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// Canonical name (`FakeSource`); matched case-insensitively.
    pub name: &'static str,
    pub kind: PluginKind,
    pub options: Vec<OptionSpec>,
    /// Prefixes of option families (`int.` for FakeSource's `int.min`), accepted as known.
    pub option_prefixes: Vec<&'static str>,
    /// Options SeaTunnel has that weir reads but ignores; setting them logs a warning.
    pub ignored_options: Vec<&'static str>,
    /// For keyed transforms (`Sql` with GROUP BY): the input columns the operator is keyed by,
    /// read from its options. The graph routes its input by the hash of these columns, so every
    /// row of a key reaches the one subtask that holds the key's state.
    pub key_by: Option<KeyBy>,
}

/// Reads the key columns of a keyed transform from its options: `Ok(None)` when this instance
/// is not keyed, `Err` with a message naming what to fix.
pub type KeyBy = fn(&Options) -> Result<Option<Vec<String>>, String>;

impl PluginSpec {
    /// A plugin with these options and no option families or ignored options.
    pub fn new(name: &'static str, kind: PluginKind, options: Vec<OptionSpec>) -> Self {
        Self {
            name,
            kind,
            options,
            option_prefixes: Vec::new(),
            ignored_options: Vec::new(),
            key_by: None,
        }
    }

    /// Declares the plugin keyed by the columns `key_by` reads from its options.
    pub fn keyed_by(mut self, key_by: KeyBy) -> Self {
        self.key_by = Some(key_by);
        self
    }

    /// Options SeaTunnel has that weir reads but ignores (a warning when set).
    pub fn ignoring(mut self, options: &[&'static str]) -> Self {
        self.ignored_options.extend_from_slice(options);
        self
    }
}

/// Looks plugins up by kind and name.
pub trait Catalog {
    /// The spec of a plugin, matched case-insensitively.
    fn lookup(&self, kind: PluginKind, name: &str) -> Option<&PluginSpec>;
    /// Canonical names of every plugin of a kind.
    fn names(&self, kind: PluginKind) -> Vec<&'static str>;
}

/// Checks a plugin's options against its spec. Returns (errors, warnings).
pub fn check_options(spec: &PluginSpec, plugin: &PluginConfig) -> (Vec<Problem>, Vec<Problem>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let loc = plugin.location();
    let all = || spec.options.iter().chain(COMMON_OPTIONS.iter());
    for opt in all() {
        match plugin.options.get(opt.key) {
            None | Some(Value::Null) if opt.required => errors.push(
                Problem::new(
                    loc.with_option(opt.key),
                    format!("missing required option '{}'", opt.key),
                )
                .hint(format!(
                    "add {} = ... to the {} block",
                    opt.key, plugin.name
                )),
            ),
            None | Some(Value::Null) => {}
            Some(v) => {
                if let Err(e) = check_type(&plugin.options, opt.key, opt.ty, v) {
                    errors.push(Problem::new(loc.with_option(opt.key), e.0).hint(e.1));
                }
            }
        }
    }
    for key in plugin.options.keys() {
        let known =
            all().any(|o| o.key == key) || spec.option_prefixes.iter().any(|p| key.starts_with(p));
        if known {
            continue;
        }
        if spec.ignored_options.contains(&key) {
            warnings.push(Problem::new(
                loc.with_option(key),
                format!(
                    "option '{key}' is not supported by weir's {} and is ignored",
                    spec.name
                ),
            ));
            continue;
        }
        let mut p = Problem::new(loc.with_option(key), format!("unknown option '{key}'"));
        let names: Vec<&str> = all().map(|o| o.key).collect();
        if let Some(s) = did_you_mean(key, names.iter().copied()) {
            p = p.hint(format!("did you mean '{s}'?"));
            // A near miss of a real option is almost surely a typo that would silently change
            // behaviour: treat it as an error.
            errors.push(p);
        } else {
            warnings.push(p.hint("it is ignored"));
        }
    }
    (errors, warnings)
}

fn check_type(
    options: &Options,
    key: &str,
    ty: OptionType,
    v: &Value,
) -> Result<(), (String, String)> {
    let fail = |what: &str, hint: &str| {
        Err((
            format!("option '{key}' must be {what}, found {}", kind(v)),
            hint.to_string(),
        ))
    };
    match ty {
        OptionType::String => match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(()),
            _ => fail("a string", "write it in quotes"),
        },
        OptionType::Int => options
            .i64(key)
            .map(|_| ())
            .map_err(|e| (e, "write a whole number, e.g. 10".into())),
        OptionType::Float => options
            .f64(key)
            .map(|_| ())
            .map_err(|e| (e, "write a number, e.g. 0.5".into())),
        OptionType::Bool => options
            .bool(key)
            .map(|_| ())
            .map_err(|e| (e, "write true or false".into())),
        OptionType::StringList => options.str_list(key).map(|_| ()).map_err(|e| {
            (
                e,
                "write a string or a list of strings, e.g. [\"a\", \"b\"]".into(),
            )
        }),
        OptionType::List => match v {
            Value::Array(_) => Ok(()),
            _ => fail("a list", "write it as [ ... ]"),
        },
        OptionType::Object => match v {
            Value::Object(_) => Ok(()),
            _ => fail("an object", "write it as { ... }"),
        },
        OptionType::Enum(words) => match v.as_str() {
            Some(s) if words.iter().any(|w| w.eq_ignore_ascii_case(s)) => Ok(()),
            _ => Err((
                format!(
                    "option '{key}' must be one of {}, found {}",
                    words.join(", "),
                    kind(v)
                ),
                match v
                    .as_str()
                    .and_then(|s| did_you_mean(s, words.iter().copied()))
                {
                    Some(s) => format!("did you mean '{s}'?"),
                    None => format!("use one of {}", words.join(", ")),
                },
            )),
        },
        OptionType::Any => Ok(()),
    }
}

/// A catalog held in a vector, for tests and for the runtime's registry.
#[derive(Debug, Clone, Default)]
pub struct StaticCatalog {
    pub specs: Vec<PluginSpec>,
}

impl Catalog for StaticCatalog {
    fn lookup(&self, kind: PluginKind, name: &str) -> Option<&PluginSpec> {
        self.specs
            .iter()
            .find(|s| s.kind == kind && s.name.eq_ignore_ascii_case(name))
    }

    fn names(&self, kind: PluginKind) -> Vec<&'static str> {
        self.specs
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.name)
            .collect()
    }
}
