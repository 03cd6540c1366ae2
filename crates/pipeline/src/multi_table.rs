//! Multi-table jobs, as SeaTunnel writes them: a source block with `tables_configs` (FakeSource)
//! or `table_list` (Jdbc) reads several tables, each with its own schema and options, and every
//! transform and sink after it handles each of those tables.
//!
//! weir runs each table as a pipeline of its own: the source block becomes one source per
//! table (the block's options with the table's own on top), and each plugin downstream of it is
//! repeated once per table it receives. Rows of different schemas never share a channel, every
//! table gets its own operators (so its own metrics, keyed by its table path), and a sink knows
//! the one table it writes (`${table_name}` in a path, Assert's per-table rules).

use crate::config::{PluginConfig, PluginKind};
use crate::problems::Problem;
use serde_json::Value;

/// The option that lists a source's tables.
pub const TABLES_CONFIGS: &str = "tables_configs";

/// Every option that lists a source's tables: FakeSource's, and the Jdbc source's.
pub const TABLE_LISTS: [&str; 2] = [TABLES_CONFIGS, "table_list"];

/// A CDC source (`Postgres-CDC`, …) lists its tables by name in `table-names`; weir reads each
/// with a source of its own, on a replication slot of its own (`slot.name` + `_<n>`, n from 1),
/// so each table's snapshot and position stand alone. `None` for one table or another plugin.
fn cdc_variants(source: &PluginConfig) -> Option<Vec<PluginConfig>> {
    if !source.name.to_ascii_uppercase().ends_with("-CDC") {
        return None;
    }
    let Some(Value::Array(tables)) = source.options.get("table-names") else {
        return None;
    };
    if tables.len() < 2 {
        return None;
    }
    let slot = source
        .options
        .get("slot.name")
        .and_then(crate::options::as_string)
        .unwrap_or_else(|| "seatunnel".into());
    Some(
        tables
            .iter()
            .enumerate()
            .map(|(i, table)| {
                let mut v = source.clone();
                v.options
                    .set("table-names", Value::Array(vec![table.clone()]));
                v.options
                    .set("slot.name", Value::String(format!("{slot}_{}", i + 1)));
                v
            })
            .collect(),
    )
}

/// The table-list option `source` uses, if any.
fn list_option(source: &PluginConfig) -> Option<&'static str> {
    TABLE_LISTS
        .into_iter()
        .find(|k| source.options.get(k).is_some())
}

/// The plugins and their inputs with every multi-table source split by table. Inputs are
/// indices into the returned plugins; `origin[i]` is the plugin of the file `i` comes from.
pub struct Expanded {
    pub plugins: Vec<PluginConfig>,
    pub inputs: Vec<Vec<usize>>,
    pub origin: Vec<usize>,
}

/// One table of a source block: the block's options with the table's on top.
fn table_variant(
    source: &PluginConfig,
    list: &str,
    table: &Value,
    at: usize,
) -> Result<PluginConfig, Box<Problem>> {
    let Value::Object(own) = table else {
        return Err(Box::new(
            Problem::new(
                source.location().with_option(list),
                format!("{list}[{at}] is not an object"),
            )
            .hint(if list == TABLES_CONFIGS {
                "write each table as { schema = { table = ..., fields { ... } }, ... }"
            } else {
                "write each table as { table_path = \"db.table\", ... }"
            }),
        ));
    };
    let mut v = source.clone();
    v.options.remove(list);
    for (k, value) in own {
        v.options.set(k, value.clone());
    }
    Ok(v)
}

/// Splits multi-table sources and repeats what reads them, in `order` (inputs first).
pub fn expand(
    plugins: &[PluginConfig],
    inputs: &[Vec<usize>],
    order: &[usize],
) -> Result<Expanded, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut out = Expanded {
        plugins: Vec::new(),
        inputs: Vec::new(),
        origin: Vec::new(),
    };
    // The expanded plugins each original plugin became.
    let mut variants: Vec<Vec<usize>> = vec![Vec::new(); plugins.len()];
    for &i in order {
        let p = &plugins[i];
        if p.kind == PluginKind::Source {
            if let Some(tables) = cdc_variants(p) {
                for v in tables {
                    variants[i].push(out.plugins.len());
                    out.plugins.push(v);
                    out.inputs.push(Vec::new());
                    out.origin.push(i);
                }
                continue;
            }
            let list = list_option(p).unwrap_or(TABLES_CONFIGS);
            match p.options.get(list) {
                Some(Value::Array(tables)) if !tables.is_empty() => {
                    for (at, table) in tables.iter().enumerate() {
                        match table_variant(p, list, table, at) {
                            Ok(v) => {
                                variants[i].push(out.plugins.len());
                                out.plugins.push(v);
                                out.inputs.push(Vec::new());
                                out.origin.push(i);
                            }
                            Err(e) => problems.push(*e),
                        }
                    }
                }
                Some(Value::Array(_)) | Some(_) => problems.push(
                    Problem::new(
                        p.location().with_option(list),
                        format!("'{list}' must be a non-empty list of tables"),
                    )
                    .hint("list each table's schema and options, or leave the option out"),
                ),
                None => {
                    variants[i].push(out.plugins.len());
                    out.plugins.push(p.clone());
                    out.inputs.push(Vec::new());
                    out.origin.push(i);
                }
            }
            continue;
        }
        // An input that became several tables gives this plugin one copy per table; the
        // inputs that stayed one table all go to one copy together.
        let mut single: Vec<usize> = Vec::new();
        let mut per_table: Vec<usize> = Vec::new();
        for &input in &inputs[i] {
            match variants[input].as_slice() {
                [one] => single.push(*one),
                many => per_table.extend_from_slice(many),
            }
        }
        let mut copies: Vec<Vec<usize>> = per_table.into_iter().map(|v| vec![v]).collect();
        if !single.is_empty() || copies.is_empty() {
            copies.push(single);
        }
        for copy_inputs in copies {
            variants[i].push(out.plugins.len());
            out.plugins.push(p.clone());
            out.inputs.push(copy_inputs);
            out.origin.push(i);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;
    use serde_json::json;

    fn plugin(kind: PluginKind, name: &str, options: Value) -> PluginConfig {
        let Value::Object(map) = options else {
            unreachable!()
        };
        PluginConfig {
            kind,
            index: 0,
            name: name.into(),
            line: None,
            options: Options::new(map),
        }
    }

    #[test]
    fn a_two_table_source_gives_two_pipelines() {
        let plugins = vec![
            plugin(
                PluginKind::Source,
                "FakeSource",
                json!({"row.num": 5, "tables_configs": [
                    {"schema": {"table": "db.a", "fields": {"x": "int"}}},
                    {"row.num": 7, "schema": {"table": "db.b", "fields": {"y": "string"}}}
                ]}),
            ),
            plugin(
                PluginKind::Source,
                "FakeSource",
                json!({"plugin_output": "one"}),
            ),
            plugin(PluginKind::Transform, "Copy", json!({})),
            plugin(PluginKind::Sink, "Console", json!({})),
            plugin(PluginKind::Sink, "Assert", json!({})),
        ];
        // Copy reads the multi-table source; Console reads Copy; Assert reads both sources.
        let inputs = vec![vec![], vec![], vec![0], vec![2], vec![0, 1]];
        let e = expand(&plugins, &inputs, &[0, 1, 2, 3, 4]).unwrap();
        assert_eq!(e.origin, vec![0, 0, 1, 2, 2, 3, 3, 4, 4, 4]);
        assert_eq!(e.plugins[0].options.i64("row.num").unwrap(), Some(5));
        assert_eq!(e.plugins[1].options.i64("row.num").unwrap(), Some(7));
        assert!(!e.plugins[0].options.contains(TABLES_CONFIGS));
        // Copy: one per table; Console: one per Copy; Assert: one per table of the first
        // source, and one for the single-table source.
        assert_eq!(e.inputs[3], vec![0]);
        assert_eq!(e.inputs[4], vec![1]);
        assert_eq!(e.inputs[5], vec![3]);
        assert_eq!(e.inputs[6], vec![4]);
        assert_eq!(&e.inputs[7..], &[vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn a_cdc_source_reads_each_of_its_tables_on_a_slot_of_its_own() {
        let plugins = vec![
            plugin(
                PluginKind::Source,
                "Postgres-CDC",
                json!({"slot.name": "orders", "table-names": ["db.public.a", "db.public.b"]}),
            ),
            plugin(PluginKind::Sink, "Console", json!({})),
        ];
        let e = expand(&plugins, &[vec![], vec![0]], &[0, 1]).unwrap();
        assert_eq!(e.origin, vec![0, 0, 1, 1]);
        let opt = |i: usize, k: &str| e.plugins[i].options.get(k).cloned().unwrap();
        assert_eq!(opt(0, "table-names"), json!(["db.public.a"]));
        assert_eq!(opt(1, "slot.name"), json!("orders_2"));
        assert_eq!(&e.inputs[2..], &[vec![0], vec![1]]);
    }

    #[test]
    fn a_bad_table_list_is_a_problem() {
        let plugins = vec![plugin(
            PluginKind::Source,
            "FakeSource",
            json!({"tables_configs": [1]}),
        )];
        let problems = expand(&plugins, &[vec![]], &[0]).err().unwrap();
        assert!(problems[0]
            .to_string()
            .contains("tables_configs[0] is not an object"));
    }
}
