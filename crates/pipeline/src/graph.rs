//! The `JobGraph`: the job file turned into operators linked by tables, grouped into vertices by
//! chaining, with edges that say how records move between vertices.
//!
//! Operators (one per plugin block) are chained into one vertex when the edge between them is a
//! forward edge with equal parallelism and nothing else consumes the upstream output, as Flink
//! chains operators. Every other link becomes a `JobEdge` between vertices.

use crate::catalog::{check_options, Catalog};
use crate::catalog_table::CatalogTable;
use crate::config::{EnvConfig, JobConfig, JobMode, PluginConfig, PluginKind};
use crate::problems::{did_you_mean, ConfigErrors, Problem};
use std::collections::{BTreeMap, HashMap};

/// How records cross an edge between two vertices.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Partitioning {
    /// Subtask i sends to subtask i (equal parallelism on both sides).
    Forward,
    /// Round-robin over all downstream subtasks.
    Rebalance,
    /// By the hash of the named key columns: keyed operators see all rows of a key.
    Hash(Vec<String>),
}

impl Partitioning {
    /// Flink's ship-strategy name, as shown in the plan.
    pub fn ship_strategy(&self) -> &'static str {
        match self {
            Partitioning::Forward => "FORWARD",
            Partitioning::Rebalance => "REBALANCE",
            Partitioning::Hash(_) => "HASH",
        }
    }
}

/// One plugin block as an operator of the graph.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OperatorNode {
    /// Index in `JobGraph::operators`, which is in topological order.
    pub id: usize,
    pub plugin: PluginConfig,
    /// Canonical plugin name from the catalog (`Console` for `console`).
    pub plugin_name: String,
    /// The table this operator registers, if any.
    pub table: Option<String>,
    /// Operators this one reads from, in `plugin_input` order.
    pub inputs: Vec<usize>,
    pub parallelism: usize,
    /// The vertex this operator is chained into.
    pub vertex: usize,
    /// Input columns a keyed operator is keyed by: its input arrives hash-partitioned by them
    /// and it always heads its own vertex.
    pub key_by: Option<Vec<String>>,
}

impl OperatorNode {
    /// Flink-style operator name: `Source: FakeSource`, `Sql`, `Sink: Console`.
    pub fn display_name(&self) -> String {
        match self.plugin.kind {
            PluginKind::Source => format!("Source: {}", self.plugin_name),
            PluginKind::Transform => self.plugin_name.to_string(),
            PluginKind::Sink => format!("Sink: {}", self.plugin_name),
        }
    }
}

/// The name SeaTunnel gives a table nobody named.
pub const DEFAULT_TABLE_PATH: &str = "default.default.default";

impl JobGraph {
    /// Each operator's table paths, as SeaTunnel reports them (`tablePaths` of its DAG and
    /// the keys of its per-table metrics): a source's is its `schema.table` when set, else its
    /// `plugin_output`, else `default.default.default`; a transform keeps its inputs' paths
    /// (SeaTunnel's transforms keep the catalog table's identifier) and a sink writes its
    /// inputs' paths.
    pub fn table_paths(&self) -> Vec<Vec<String>> {
        self.catalog_tables()
            .into_iter()
            .map(|tables| tables.into_iter().map(|t| t.table_path).collect())
            .collect()
    }

    /// Each operator's tables with what their sources declare of them (catalog name, keys,
    /// column extras), following the rows as `table_paths` does. Operators are in topological
    /// order, so one pass suffices.
    pub fn catalog_tables(&self) -> Vec<Vec<CatalogTable>> {
        let mut out: Vec<Vec<CatalogTable>> = Vec::with_capacity(self.operators.len());
        for op in &self.operators {
            let tables = if op.plugin.kind == PluginKind::Source {
                let schema = op.plugin.options.get("schema");
                let schema_table = schema
                    .and_then(|schema| schema.get("table"))
                    .and_then(crate::options::as_string);
                // A Jdbc source names its table by table_path (SeaTunnel's `db.table`).
                let table_path = op
                    .plugin
                    .options
                    .get("table_path")
                    .and_then(crate::options::as_string);
                // A CDC source (one table per source after the split) by its table-names.
                let cdc_table = match op.plugin.options.get("table-names") {
                    Some(serde_json::Value::Array(t)) if t.len() == 1 => {
                        crate::options::as_string(&t[0])
                    }
                    _ => None,
                };
                let path = schema_table
                    .or(table_path)
                    .or(cdc_table)
                    .or_else(|| op.plugin.output_table())
                    .unwrap_or_else(|| DEFAULT_TABLE_PATH.to_string());
                vec![CatalogTable::declared(&op.plugin_name, &path, schema)]
            } else {
                let mut tables: Vec<CatalogTable> = Vec::new();
                for &input in &op.inputs {
                    for t in out.get(input).into_iter().flatten() {
                        if !tables.iter().any(|have| have.table_path == t.table_path) {
                            tables.push(t.clone());
                        }
                    }
                }
                tables
            };
            out.push(tables);
        }
        out
    }

    /// For each operator, the table paths of every operator made from the same plugin block
    /// (a block after a multi-table source is repeated once per table): what the block as a
    /// whole handles, as SeaTunnel's single multi-table operator sees it.
    pub fn block_table_paths(&self) -> Vec<Vec<String>> {
        let paths = self.table_paths();
        self.operators
            .iter()
            .map(|op| {
                let mut block: Vec<String> = Vec::new();
                for (other, p) in self.operators.iter().zip(&paths) {
                    if other.plugin.location() == op.plugin.location() {
                        for path in p {
                            if !block.contains(path) {
                                block.push(path.clone());
                            }
                        }
                    }
                }
                block
            })
            .collect()
    }
}

/// A chain of operators run together by each of `parallelism` subtasks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobVertex {
    pub index: usize,
    /// `Source: FakeSource -> Sql -> Sink: Console`.
    pub name: String,
    pub parallelism: usize,
    /// Operator ids, head first.
    pub chain: Vec<usize>,
}

/// A link between the tail of one vertex's chain and the head of another's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobEdge {
    pub source_vertex: usize,
    pub target_vertex: usize,
    /// The producing operator (tail of the source vertex's chain).
    pub source_operator: usize,
    /// The consuming operator (head of the target vertex's chain).
    pub target_operator: usize,
    pub partitioning: Partitioning,
}

/// A validated job, ready to be scheduled.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobGraph {
    pub name: String,
    pub mode: JobMode,
    pub env: EnvConfig,
    pub operators: Vec<OperatorNode>,
    pub vertices: Vec<JobVertex>,
    pub edges: Vec<JobEdge>,
    /// Things worth telling the user that do not stop the job (ignored options…).
    pub warnings: Vec<Problem>,
}

impl JobGraph {
    /// Edges arriving at a vertex.
    pub fn inputs_of(&self, vertex: usize) -> impl Iterator<Item = (usize, &JobEdge)> {
        self.edges
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.target_vertex == vertex)
    }

    /// Edges leaving a vertex.
    pub fn outputs_of(&self, vertex: usize) -> impl Iterator<Item = (usize, &JobEdge)> {
        self.edges
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.source_vertex == vertex)
    }

    /// Whether a vertex reads from a source (its parallelism is fixed by how the source splits
    /// its input among subtasks).
    pub fn is_source_vertex(&self, vertex: usize) -> bool {
        self.vertices
            .get(vertex)
            .and_then(|v| v.chain.first())
            .is_some_and(|&op| self.operators[op].plugin.kind == PluginKind::Source)
    }

    /// The same job with vertex `i` at `parallelism[i]` (a rescale). Forward edges between
    /// vertices whose parallelism now differs become rebalancing edges; hash edges stay.
    pub fn rescaled(&self, parallelism: &[usize]) -> JobGraph {
        let mut g = self.clone();
        for (v, &p) in g.vertices.iter_mut().zip(parallelism) {
            v.parallelism = p;
            for &op in &v.chain {
                g.operators[op].parallelism = p;
            }
        }
        for e in &mut g.edges {
            if e.partitioning == Partitioning::Forward
                && g.vertices[e.source_vertex].parallelism
                    != g.vertices[e.target_vertex].parallelism
            {
                e.partitioning = Partitioning::Rebalance;
            }
        }
        g
    }

    /// Validates a parsed job against the plugin catalog and builds its graph, reporting every
    /// problem at once.
    pub fn build(config: JobConfig, catalog: &dyn Catalog) -> Result<JobGraph, ConfigErrors> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let plugins: Vec<PluginConfig> = config.plugins().cloned().collect();

        for p in &plugins {
            if let Ok(Some(n)) = p.options.i64("parallelism") {
                if n < 1 || n > crate::config::MAX_PARALLELISM as i64 {
                    problems.push(
                        Problem::new(
                            p.location().with_option("parallelism"),
                            format!("parallelism {n} is out of range"),
                        )
                        .hint("use a parallelism between 1 and 32768"),
                    );
                }
            }
        }

        // 2. Tables: who produces what.
        let mut producers: BTreeMap<String, usize> = BTreeMap::new();
        for (i, p) in plugins.iter().enumerate() {
            if p.kind == PluginKind::Sink {
                continue;
            }
            if let Some(t) = p.output_table() {
                if let Some(&first) = producers.get(&t) {
                    problems.push(
                        Problem::new(
                            p.location().with_option("plugin_output"),
                            format!(
                                "table '{t}' is already produced by {}",
                                plugins[first].location()
                            ),
                        )
                        .hint("give each source and transform its own plugin_output name"),
                    );
                } else {
                    producers.insert(t, i);
                }
            }
        }

        // 3. Inputs: explicit names, or the previous plugin in file order.
        let mut inputs: Vec<Vec<usize>> = vec![Vec::new(); plugins.len()];
        let last_source = config.sources.len().checked_sub(1);
        let last_transform = config
            .transforms
            .len()
            .checked_sub(1)
            .map(|t| config.sources.len() + t);
        for (i, p) in plugins.iter().enumerate() {
            if p.kind == PluginKind::Source {
                continue;
            }
            match p.input_key() {
                Some(key) => match p.options.str_list(key) {
                    Ok(Some(names)) if !names.is_empty() => {
                        for name in names {
                            match producers.get(&name) {
                                Some(&src) => inputs[i].push(src),
                                None => {
                                    let mut prob = Problem::new(
                                        p.location().with_option(key),
                                        format!("input table '{name}' is not produced by any source or transform"),
                                    );
                                    prob = match did_you_mean(&name, producers.keys().map(String::as_str)) {
                                        Some(s) => prob.hint(format!("did you mean '{s}'?")),
                                        None if producers.is_empty() => prob.hint("set plugin_output = \"name\" on the source that should feed it"),
                                        None => prob.hint(format!(
                                            "known tables: {}",
                                            producers.keys().cloned().collect::<Vec<_>>().join(", ")
                                        )),
                                    };
                                    problems.push(prob);
                                }
                            }
                        }
                    }
                    Ok(_) => problems.push(
                        Problem::new(
                            p.location().with_option(key),
                            format!("'{key}' names no table"),
                        )
                        .hint("name the table to read, e.g. plugin_input = \"fake\""),
                    ),
                    Err(_) => {} // reported by the option type check
                },
                None => {
                    let previous = match p.kind {
                        PluginKind::Transform => {
                            let t = i - config.sources.len();
                            if t > 0 {
                                Some(i - 1)
                            } else {
                                last_source
                            }
                        }
                        _ => last_transform.or(last_source),
                    };
                    match previous {
                        Some(prev) => inputs[i].push(prev),
                        None => problems.push(
                            Problem::new(p.location(), "nothing to read from").hint("add a source"),
                        ),
                    }
                }
            }
            if p.kind == PluginKind::Transform && inputs[i].len() > 1 {
                problems.push(
                    Problem::new(
                        p.location(),
                        format!("a transform reads one table, found {}", inputs[i].len()),
                    )
                    .hint("give plugin_input a single table name"),
                );
            }
        }

        // 4. No cycles: order operators so inputs come first.
        let order = match topological_order(&inputs) {
            Ok(o) => o,
            Err(cycle) => {
                let names: Vec<String> = cycle
                    .iter()
                    .map(|&i| plugins[i].location().to_string())
                    .collect();
                problems.push(
                    Problem::new(
                        plugins[cycle[0]].location(),
                        format!(
                            "the plugins form a cycle: {} -> back to the first",
                            names.join(" -> ")
                        ),
                    )
                    .hint("a transform cannot read, directly or indirectly, its own output"),
                );
                Vec::new()
            }
        };

        // 5. Multi-table sources: one pipeline per table (see `multi_table`).
        let (plugins, inputs, order) = if order.is_empty() && !plugins.is_empty() {
            (plugins, inputs, order)
        } else {
            match crate::multi_table::expand(&plugins, &inputs, &order) {
                Ok(e) => match topological_order(&e.inputs) {
                    Ok(order) => (e.plugins, e.inputs, order),
                    Err(_) => (plugins, inputs, order),
                },
                Err(found) => {
                    problems.extend(found);
                    (plugins, inputs, order)
                }
            }
        };

        // 6. Every plugin exists and its options are well typed (each table's on its own).
        let mut canonical = Vec::with_capacity(plugins.len());
        let mut key_by = Vec::with_capacity(plugins.len());
        for p in &plugins {
            match catalog.lookup(p.kind, &p.name) {
                Some(spec) => {
                    let (errs, warns) = check_options(spec, p);
                    let well_typed = errs.is_empty();
                    problems.extend(errs);
                    warnings.extend(warns);
                    canonical.push(spec.name);
                    key_by.push(match spec.key_by {
                        Some(read_keys) if well_typed => {
                            read_keys(&p.options).unwrap_or_else(|msg| {
                                problems.push(Problem::new(p.location(), msg));
                                None
                            })
                        }
                        _ => None,
                    });
                }
                None => {
                    problems.push(unknown_plugin(p, catalog));
                    canonical.push("");
                    key_by.push(None);
                }
            }
        }

        // A plugin repeated per table repeats its problems: say each once.
        let mut seen = std::collections::HashSet::new();
        problems.retain(|p| seen.insert(p.to_string()));
        if !problems.is_empty() {
            return Err(ConfigErrors(problems));
        }

        // 7. Parallelism and operators in topological order.
        let mut new_id = vec![0; plugins.len()];
        for (pos, &old) in order.iter().enumerate() {
            new_id[old] = pos;
        }
        let mut operators: Vec<OperatorNode> = Vec::with_capacity(plugins.len());
        for &old in &order {
            let p = &plugins[old];
            let own = p
                .options
                .i64("parallelism")
                .ok()
                .flatten()
                .filter(|n| *n > 0);
            let input_ids: Vec<usize> = inputs[old].iter().map(|&i| new_id[i]).collect();
            let inherited = input_ids.iter().map(|&i| operators[i].parallelism).max();
            let parallelism = match (own, p.kind) {
                (Some(n), _) => n as usize,
                (None, PluginKind::Source) => config.env.parallelism,
                (None, _) => inherited.unwrap_or(config.env.parallelism),
            };
            operators.push(OperatorNode {
                id: operators.len(),
                plugin: p.clone(),
                plugin_name: canonical[old].to_string(),
                table: if p.kind == PluginKind::Sink {
                    None
                } else {
                    p.output_table()
                },
                inputs: input_ids,
                parallelism,
                vertex: 0,
                key_by: key_by[old].clone(),
            });
        }
        for op in &operators {
            if op.plugin.kind != PluginKind::Sink
                && !operators.iter().any(|o| o.inputs.contains(&op.id))
            {
                warnings.push(
                    Problem::new(
                        op.plugin.location(),
                        "its output is not read by any transform or sink",
                    )
                    .hint("its rows are dropped"),
                );
            }
        }

        // 8. Chaining.
        let mut consumers: HashMap<usize, Vec<usize>> = HashMap::new();
        for op in &operators {
            for &i in &op.inputs {
                consumers.entry(i).or_default().push(op.id);
            }
        }
        let mut vertices: Vec<JobVertex> = Vec::new();
        for id in 0..operators.len() {
            let chain_into = match operators[id].inputs.as_slice() {
                [_] if operators[id].key_by.is_some() => None,
                [single] => {
                    let up = &operators[*single];
                    let only_consumer =
                        consumers.get(single).map(|c| c.len() == 1).unwrap_or(false);
                    let vertex = &vertices[up.vertex];
                    let is_tail = vertex.chain.last() == Some(single);
                    (only_consumer && is_tail && up.parallelism == operators[id].parallelism)
                        .then_some(up.vertex)
                }
                _ => None,
            };
            match chain_into {
                Some(v) => {
                    vertices[v].chain.push(id);
                    operators[id].vertex = v;
                }
                None => {
                    operators[id].vertex = vertices.len();
                    vertices.push(JobVertex {
                        index: vertices.len(),
                        name: String::new(),
                        parallelism: operators[id].parallelism,
                        chain: vec![id],
                    });
                }
            }
        }
        for v in &mut vertices {
            v.name = v
                .chain
                .iter()
                .map(|&i| operators[i].display_name())
                .collect::<Vec<_>>()
                .join(" -> ");
        }

        // 7. Edges between vertices.
        let mut edges = Vec::new();
        for op in &operators {
            for &input in &op.inputs {
                let (sv, tv) = (operators[input].vertex, op.vertex);
                if sv == tv {
                    continue;
                }
                let partitioning = if let Some(keys) = &op.key_by {
                    Partitioning::Hash(keys.clone())
                } else if operators[input].parallelism == op.parallelism {
                    Partitioning::Forward
                } else {
                    Partitioning::Rebalance
                };
                edges.push(JobEdge {
                    source_vertex: sv,
                    target_vertex: tv,
                    source_operator: input,
                    target_operator: op.id,
                    partitioning,
                });
            }
        }

        Ok(JobGraph {
            name: config.env.name.clone(),
            mode: config.env.mode,
            env: config.env,
            operators,
            vertices,
            edges,
            warnings,
        })
    }
}

fn unknown_plugin(p: &PluginConfig, catalog: &dyn Catalog) -> Problem {
    let kind_name = p.kind.block();
    let mut prob = Problem::new(p.location(), format!("unknown plugin '{}'", p.name));
    for other in [PluginKind::Source, PluginKind::Transform, PluginKind::Sink] {
        if other != p.kind {
            if let Some(spec) = catalog.lookup(other, &p.name) {
                return Problem::new(
                    p.location(),
                    format!("'{}' is a {}, not a {kind_name}", spec.name, other.block()),
                )
                .hint(format!("move it to the {} block", other.block()));
            }
        }
    }
    let names = catalog.names(p.kind);
    prob = match did_you_mean(&p.name, names.iter().copied()) {
        Some(s) => prob.hint(format!("did you mean '{s}'?")),
        None => prob.hint(format!(
            "weir does not have this {kind_name}; available: {}",
            names.join(", ")
        )),
    };
    prob
}

/// Kahn's algorithm; on a cycle, returns the operators on it.
fn topological_order(inputs: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = inputs.len();
    let mut indegree: Vec<usize> = inputs.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    ready.reverse();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        order.push(i);
        let mut next: Vec<usize> = Vec::new();
        for (j, ins) in inputs.iter().enumerate() {
            for &src in ins {
                if src == i {
                    indegree[j] -= 1;
                    if indegree[j] == 0 {
                        next.push(j);
                    }
                }
            }
        }
        next.sort_unstable_by(|a, b| b.cmp(a));
        ready.extend(next);
        ready.sort_unstable_by(|a, b| b.cmp(a));
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk back along inputs from a leftover node until a node repeats: that loop is the cycle.
    let start = (0..n).find(|&i| indegree[i] > 0).unwrap_or(0);
    let mut seen = vec![usize::MAX; n];
    let mut path = Vec::new();
    let mut cur = start;
    while seen[cur] == usize::MAX {
        seen[cur] = path.len();
        path.push(cur);
        match inputs[cur].iter().find(|&&s| indegree[s] > 0) {
            Some(&s) => cur = s,
            None => break,
        }
    }
    let from = if seen[cur] != usize::MAX {
        seen[cur]
    } else {
        0
    };
    let mut cycle = path[from..].to_vec();
    cycle.reverse();
    Err(cycle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{OptionSpec, OptionType, PluginSpec, StaticCatalog};
    use crate::config::{parse_job, Format, Variables};

    fn catalog() -> StaticCatalog {
        let spec = |name, kind, options: Vec<OptionSpec>| PluginSpec {
            name,
            kind,
            options,
            option_prefixes: vec![],
            ignored_options: vec![],
            key_by: None,
        };
        // A stand-in keyed transform: keyed by the comma-separated `keys` option when set.
        let keyed = PluginSpec::new(
            "KeyedAgg",
            PluginKind::Transform,
            vec![OptionSpec::optional("keys", OptionType::String)],
        )
        .keyed_by(|o| match o.str("keys") {
            Ok(Some(k)) if k == "bad" => Err("keys cannot be 'bad'".into()),
            Ok(Some(k)) => Ok(Some(k.split(',').map(str::to_string).collect())),
            _ => Ok(None),
        });
        StaticCatalog {
            specs: vec![
                spec(
                    "FakeSource",
                    PluginKind::Source,
                    vec![OptionSpec::optional("row.num", OptionType::Int)],
                ),
                spec(
                    "Sql",
                    PluginKind::Transform,
                    vec![OptionSpec::required("query", OptionType::String)],
                ),
                spec("Console", PluginKind::Sink, vec![]),
                keyed,
            ],
        }
    }

    fn build(text: &str) -> Result<JobGraph, ConfigErrors> {
        let config = parse_job(text, Format::Hocon, &Variables::default())?;
        JobGraph::build(config, &catalog())
    }

    #[test]
    fn one_source_one_sink_chain_into_one_vertex() {
        let g = build("source { FakeSource {} }\ntransform { Sql { query = \"select 1\" } }\nsink { console {} }").unwrap();
        assert_eq!(g.vertices.len(), 1);
        assert_eq!(
            g.vertices[0].name,
            "Source: FakeSource -> Sql -> Sink: Console"
        );
        assert!(g.edges.is_empty());
    }

    #[test]
    fn table_paths_follow_the_rows_from_sources_to_sinks() {
        let g = build("source { FakeSource { plugin_output = fake } }\ntransform { Sql { query = \"select 1\", plugin_output = t2 } }\nsink { console {} }").unwrap();
        assert_eq!(g.table_paths(), vec![vec!["fake"]; 3]);
        let g = build("source { FakeSource {} }\nsink { console {} }").unwrap();
        assert_eq!(g.table_paths()[1], vec![DEFAULT_TABLE_PATH]);
    }

    #[test]
    fn a_keyed_transform_heads_its_own_vertex_behind_a_hash_edge() {
        let g = build("env { parallelism = 2 }\nsource { FakeSource {} }\ntransform { KeyedAgg { keys = \"a,b\" } }\nsink { Console {} }").unwrap();
        assert_eq!(g.vertices.len(), 2);
        assert_eq!(g.vertices[1].name, "KeyedAgg -> Sink: Console");
        assert_eq!(
            g.edges[0].partitioning,
            Partitioning::Hash(vec!["a".into(), "b".into()])
        );
        assert_eq!(g.edges[0].partitioning.ship_strategy(), "HASH");
        // Not keyed in this instance: chained as any transform.
        let g = build("source { FakeSource {} }\ntransform { KeyedAgg {} }\nsink { Console {} }")
            .unwrap();
        assert_eq!(g.vertices.len(), 1);
        let e = build(
            "source { FakeSource {} }\ntransform { KeyedAgg { keys = bad } }\nsink { Console {} }",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("keys cannot be 'bad'"), "{e}");
    }

    #[test]
    fn a_rescaled_graph_changes_whole_chains_and_rebalances_uneven_forward_edges() {
        let g = build("source { FakeSource { plugin_output = a } }\nsink { Console { plugin_input = a }\n Console { plugin_input = a } }").unwrap();
        assert!(g.is_source_vertex(0) && !g.is_source_vertex(1));
        let r = g.rescaled(&[1, 3, 1]);
        assert_eq!(r.vertices[1].parallelism, 3);
        assert_eq!(r.operators[r.vertices[1].chain[0]].parallelism, 3);
        let to = |v: usize| r.edges.iter().find(|e| e.target_vertex == v).unwrap();
        assert_eq!(to(1).partitioning, Partitioning::Rebalance);
        assert_eq!(to(2).partitioning, Partitioning::Forward);
    }

    #[test]
    fn different_parallelism_breaks_the_chain_with_a_rebalance_edge() {
        let g = build("env { parallelism = 2 }\nsource { FakeSource { plugin_output = a } }\nsink { Console { plugin_input = a, parallelism = 3 } }").unwrap();
        assert_eq!(g.vertices.len(), 2);
        assert_eq!(g.edges[0].partitioning, Partitioning::Rebalance);
        assert_eq!(g.vertices[1].parallelism, 3);
    }

    #[test]
    fn fan_out_keeps_the_source_alone_with_forward_edges() {
        let g = build("source { FakeSource { plugin_output = a } }\nsink { Console { plugin_input = a }\n Console { plugin_input = a } }").unwrap();
        assert_eq!(g.vertices.len(), 3);
        assert!(g
            .edges
            .iter()
            .all(|e| e.partitioning == Partitioning::Forward && e.source_vertex == 0));
    }

    #[test]
    fn dangling_inputs_cycles_and_unknown_plugins_are_all_reported() {
        let e = build(
            "source { FakeSorce { plugin_output = a } }\n\
             transform { Sql { plugin_input = b, plugin_output = c, query = x }\n Sql { plugin_input = c, plugin_output = b, query = y } }\n\
             sink { Console { plugin_input = aa } }",
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("unknown plugin 'FakeSorce' in source[0] (FakeSorce, line 1); did you mean 'FakeSource'?"), "{text}");
        assert!(text.contains("input table 'aa' is not produced"), "{text}");
        let g = build(
            "source { FakeSource { plugin_output = a } }\n\
             transform { Sql { plugin_input = b, plugin_output = c, query = x }\n Sql { plugin_input = c, plugin_output = b, query = y } }\n\
             sink { Console { plugin_input = a } }",
        )
        .unwrap_err();
        assert!(g.to_string().contains("form a cycle"), "{g}");
    }
}
