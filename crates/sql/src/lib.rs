//! SeaTunnel's `Sql` transform on DataFusion.
//!
//! The query is planned once per job: DataFusion parses and analyses it (type coercion,
//! function resolution, wildcard expansion) against the input table's schema, and weir takes the
//! resulting `WHERE` predicate and `SELECT` list as physical expressions. Each batch is then
//! filtered and projected by evaluating those expressions on its columns directly, with no
//! per-batch planning and no DataFusion execution plan to drive, which is what makes the
//! transform run at memory speed. Row kinds follow their rows through the filter.
//!
//! SeaTunnel's Sql transform is single-table `SELECT ... FROM <input> [WHERE ...]`, plus
//! `GROUP BY` with COUNT, SUM, MIN, MAX and AVG ([`group_by`]), a keyed stateful operator whose
//! input the job graph partitions by the GROUP BY columns. Queries with joins, ordering or
//! limits are rejected when the job is submitted, naming the construct.

mod acc_column;
pub mod accumulator;
mod dialect;
mod functions;
pub mod group_by;
mod group_keys;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::catalog::MemTable;
use datafusion::common::DFSchema;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::sqlparser::ast::{SetExpr, Statement, TableFactor};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};
use weir_runtime::operator::{
    PrepareContext, PreparedTransform, StatelessTransform, Transform, TransformFactory,
};
use weir_runtime::{Batch, PluginRegistry};

/// Registers `Sql` in a registry.
pub fn register(r: &mut PluginRegistry) {
    r.add_transform(Arc::new(SqlFactory));
}

/// Creates `Sql` transforms.
pub struct SqlFactory;

impl TransformFactory for SqlFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "Sql",
            PluginKind::Transform,
            vec![OptionSpec::required("query", OptionType::String)],
        )
        .ignoring(&["engine"])
        .keyed_by(|o| match o.str("query") {
            Ok(Some(q)) => group_by::group_by_columns(&q),
            _ => Ok(None),
        })
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedTransform>> {
        let query = o.str("query").map_err(WeirError::new)?.unwrap_or_default();
        let q = analysed_plan(&query, input.clone(), ctx.input_table.as_deref())?;
        if q.aggregates {
            let streaming = ctx.mode == weir_pipeline::JobMode::Streaming;
            let plan = group_by::GroupByPlan::from_logical(&q.plan, &q.state, &input, streaming)?;
            return Ok(Arc::new(plan));
        }
        Ok(Arc::new(SqlPlan::from_logical(&q.plan, &q.state)?))
    }
}

/// A query parsed, checked and analysed against the input table.
struct AnalysedQuery {
    plan: LogicalPlan,
    state: datafusion::execution::SessionState,
    /// GROUP BY or an aggregate function in the SELECT list.
    aggregates: bool,
}

/// Parses, checks and analyses `query` over a table named `table` (the transform's input) with
/// `input`'s schema: the logical plan both query shapes are built from.
fn analysed_plan(query: &str, input: SchemaRef, table: Option<&str>) -> WeirResult<AnalysedQuery> {
    let named = from_table(query)?;
    if let Some(t) = table {
        if !named.eq_ignore_ascii_case(t) {
            return Err(WeirError::new(format!(
                "the query reads table '{named}' but this transform's input is '{t}'"
            ))
            .with_hint(format!(
                "write FROM {t}: the FROM table must be the plugin_input table"
            )));
        }
    }
    // Registered as the query spells it: identifiers are case-sensitive, as SeaTunnel's are,
    // but the table is matched to the input without regard to case.
    let table = named;
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(1)
            // SeaTunnel's field names are case-sensitive, and so are map keys read as fields.
            .set_bool("datafusion.sql_parser.enable_ident_normalization", false),
    );
    functions::register(&ctx);
    let mem = MemTable::try_new(input, vec![vec![]]).map_err(|e| WeirError::new(e.to_string()))?;
    ctx.register_table(table.as_str(), Arc::new(mem))
        .map_err(|e| WeirError::new(format!("registering the input table: {e}")))?;
    let state = ctx.state();
    let planning = |e: datafusion::error::DataFusionError| {
        WeirError::new(format!("cannot plan the query: {}", clean(&e.to_string())))
    };
    let mut statement = Parser::parse_sql(&GenericDialect {}, query)
        .map_err(|e| WeirError::new(format!("the query is not valid SQL: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| WeirError::new("the query is empty"))?;
    dialect::rewrite(&mut statement);
    // Planning a SELECT over an in-memory table never waits on I/O.
    let plan = futures::executor::block_on(state.statement_to_plan(
        datafusion::sql::parser::Statement::Statement(Box::new(statement)),
    ))
    .map_err(planning)?;
    let aggregates = check_shape(&plan)?;
    let plan = narrow_integer_literals(plan)?;
    let plan = state
        .analyzer()
        .execute_and_check(plan, state.config_options(), |_, _| {})
        .map_err(planning)?;
    let plan = simplified(plan).map_err(planning)?;
    Ok(AnalysedQuery {
        plan,
        state,
        aggregates,
    })
}

/// The plan with its expressions simplified, as DataFusion does before it executes one: some
/// functions (`coalesce`, `nvl`, `nullif`) only run once rewritten into `CASE`. The clock's
/// functions are SeaTunnel's own, volatile, so simplification does not freeze them into the
/// time the job was planned.
fn simplified(plan: LogicalPlan) -> datafusion::error::Result<LogicalPlan> {
    use datafusion::optimizer::simplify_expressions::SimplifyExpressions;
    use datafusion::optimizer::{OptimizerContext, OptimizerRule};
    let rule = SimplifyExpressions::new();
    Ok(rule.rewrite(plan, &OptimizerContext::new())?.data)
}

/// Filters a batch by an optional predicate, keeping row kinds.
fn filter(predicate: &Option<Arc<dyn PhysicalExpr>>, batch: Batch) -> WeirResult<Batch> {
    let Some(p) = predicate else {
        return Ok(batch);
    };
    let mask = p
        .evaluate(&batch.records)
        .and_then(|v| v.into_array(batch.num_rows()))
        .map_err(|e| WeirError::new(format!("evaluating the query: {}", clean(&e.to_string()))))?;
    let mask = mask
        .as_boolean_opt()
        .ok_or_else(|| WeirError::new("the WHERE clause is not a boolean condition"))?;
    if mask.true_count() == batch.num_rows() && mask.null_count() == 0 {
        Ok(batch)
    } else {
        batch.filter(mask)
    }
}

/// A planned query: an optional predicate and the projection, over the input's columns.
#[derive(Clone)]
pub struct SqlPlan {
    predicate: Option<Arc<dyn PhysicalExpr>>,
    projection: Vec<Arc<dyn PhysicalExpr>>,
    output: SchemaRef,
}

/// The table a single-table SELECT reads, from the parsed statement.
fn from_table(query: &str) -> WeirResult<String> {
    let statements = Parser::parse_sql(&GenericDialect {}, query)
        .map_err(|e| WeirError::new(format!("the query is not valid SQL: {e}")))?;
    let [Statement::Query(q)] = statements.as_slice() else {
        return Err(WeirError::new(
            "the query must be exactly one SELECT statement",
        ));
    };
    let SetExpr::Select(select) = q.body.as_ref() else {
        return Err(WeirError::new(
            "only a plain SELECT is supported (no UNION, VALUES or nested set operations)",
        ));
    };
    match select.from.as_slice() {
        [one] if one.joins.is_empty() => match &one.relation {
            TableFactor::Table { name, .. } => Ok(name.to_string().trim_matches('"').to_string()),
            _ => Err(WeirError::new(
                "FROM must name the input table, not a subquery",
            )),
        },
        [] => Err(WeirError::new(
            "the query has no FROM; write FROM <input table>",
        )),
        _ => Err(WeirError::new(
            "the Sql transform reads one table: joins are not supported",
        )),
    }
}

impl SqlPlan {
    /// Plans a non-aggregating `query` over a table named `table` (the transform's input) with
    /// `input`'s schema.
    pub fn build(query: &str, input: SchemaRef, table: Option<&str>) -> WeirResult<SqlPlan> {
        let q = analysed_plan(query, input, table)?;
        if q.aggregates {
            return Err(unsupported("GROUP BY and aggregate functions here")
                .with_hint("aggregating queries are planned by the Sql transform as GroupByPlan"));
        }
        Self::from_logical(&q.plan, &q.state)
    }

    /// The filter and projection of an analysed non-aggregating plan.
    fn from_logical(
        plan: &LogicalPlan,
        state: &datafusion::execution::SessionState,
    ) -> WeirResult<SqlPlan> {
        let mut projection = None;
        let mut predicate = None;
        let mut node = plan;
        loop {
            match node {
                LogicalPlan::Projection(p) => {
                    if projection.is_some() {
                        return Err(WeirError::new(
                            "nested projections (subqueries) are not supported",
                        ));
                    }
                    projection = Some((p.expr.clone(), p.input.schema().clone(), p.schema.clone()));
                    node = p.input.as_ref();
                }
                LogicalPlan::Filter(f) => {
                    predicate = Some((f.predicate.clone(), f.input.schema().clone()));
                    node = f.input.as_ref();
                }
                LogicalPlan::SubqueryAlias(a) => node = a.input.as_ref(),
                LogicalPlan::TableScan(_) => break,
                other => return Err(unsupported(&format!("'{}'", other.display()))),
            }
        }
        let Some((exprs, proj_input, out_schema)) = projection else {
            return Err(WeirError::new("the query has no SELECT list"));
        };
        let physical = |e, schema: &DFSchema| {
            state.create_physical_expr(e, schema).map_err(|err| {
                WeirError::new(format!(
                    "cannot compile the query: {}",
                    clean(&err.to_string())
                ))
            })
        };
        let predicate = match predicate {
            Some((p, schema)) => Some(physical(p, schema.as_ref())?),
            None => None,
        };
        let projection = exprs
            .into_iter()
            .map(|e| physical(e, proj_input.as_ref()))
            .collect::<WeirResult<Vec<_>>>()?;
        // Every output column may be null: evaluation, not the planner, has the last word.
        let output = Arc::new(Schema::new(
            out_schema
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), f.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        Ok(SqlPlan {
            predicate,
            projection,
            output,
        })
    }

    /// Filters and projects one batch.
    pub fn apply(&self, batch: Batch) -> WeirResult<Batch> {
        let err = |e: datafusion::error::DataFusionError| {
            WeirError::new(format!("evaluating the query: {}", clean(&e.to_string())))
        };
        let batch = filter(&self.predicate, batch)?;
        let rows = batch.num_rows();
        let columns = self
            .projection
            .iter()
            .map(|e| e.evaluate(&batch.records).and_then(|v| v.into_array(rows)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        let records = RecordBatch::try_new_with_options(
            self.output.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| WeirError::new(format!("building the query result: {e}")))?;
        Ok(batch.with_records(records))
    }
}

/// Rejects every plan that is not a projection over optional filters and an optional aggregate
/// over the input table, naming the construct. Returns whether the plan aggregates.
fn check_shape(plan: &LogicalPlan) -> WeirResult<bool> {
    let mut node = plan;
    let mut aggregates = false;
    loop {
        node = match node {
            LogicalPlan::Projection(p) => p.input.as_ref(),
            LogicalPlan::Filter(f) => f.input.as_ref(),
            LogicalPlan::SubqueryAlias(a) => a.input.as_ref(),
            LogicalPlan::TableScan(_) => return Ok(aggregates),
            LogicalPlan::Aggregate(a) => {
                aggregates = true;
                a.input.as_ref()
            }
            LogicalPlan::Sort(_) => return Err(unsupported("ORDER BY")),
            LogicalPlan::Limit(_) => return Err(unsupported("LIMIT")),
            LogicalPlan::Distinct(_) => return Err(unsupported("DISTINCT")),
            LogicalPlan::Window(_) => return Err(unsupported("window functions")),
            LogicalPlan::Join(_) => return Err(unsupported("joins")),
            other => return Err(unsupported(&format!("'{}'", other.display()))),
        };
    }
}

/// SeaTunnel (like Java) types an integer literal as INT when it fits, so `age + 1` on an INT
/// column stays INT; DataFusion would make it BIGINT. Narrowing the literals before type
/// coercion gives SeaTunnel's result types while BIGINT columns still win the coercion.
fn narrow_integer_literals(plan: LogicalPlan) -> WeirResult<LogicalPlan> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::common::ScalarValue;
    use datafusion::logical_expr::Expr;
    plan.transform_up(|node| {
        // An aggregate's expressions name its output columns, which the SELECT list above it
        // refers to by name: rewriting them would break those references.
        if matches!(node, LogicalPlan::Aggregate(_)) {
            return Ok(Transformed::no(node));
        }
        let rewritten = node.map_expressions(|e| {
            e.transform_up(|e| match e {
                Expr::Literal(ScalarValue::Int64(Some(v)), meta) if i32::try_from(v).is_ok() => Ok(
                    Transformed::yes(Expr::Literal(ScalarValue::Int32(Some(v as i32)), meta)),
                ),
                other => Ok(Transformed::no(other)),
            })
        })?;
        if rewritten.transformed {
            rewritten.map_data(|p| p.recompute_schema())
        } else {
            Ok(rewritten)
        }
    })
    .map(|t| t.data)
    .map_err(|e| WeirError::new(format!("cannot plan the query: {}", clean(&e.to_string()))))
}

pub(crate) fn unsupported(what: &str) -> WeirError {
    WeirError::new(format!("the Sql transform does not support {what}")).with_hint(
        "SeaTunnel's Sql transform is SELECT <expressions> FROM <input> [WHERE <condition>]",
    )
}

/// DataFusion prefixes messages with the planning stage; users need only the reason.
pub(crate) fn clean(msg: &str) -> String {
    msg.replace(
        "This issue was likely caused by a bug in DataFusion's code. Please help us to resolve this by filing a bug report in our issue tracker: https://github.com/apache/datafusion/issues. ",
        "",
    )
    .replace("Error during planning: ", "")
        .replace("Internal error: ", "")
        .replace("Schema error: ", "")
        .replace("Optimizer rule 'type_coercion' failed\ncaused by\n", "")
}

impl StatelessTransform for SqlPlan {
    fn schema(&self) -> SchemaRef {
        self.output.clone()
    }
}

impl Transform for SqlPlan {
    fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()> {
        let result = self.apply(batch)?;
        if result.num_rows() > 0 {
            out.push(result);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Float64Type, Int64Type};
    use weir_runtime::RowKind;

    fn input() -> Batch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("score", DataType::Float64, true),
        ]));
        let rb = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
                Arc::new(StringArray::from(vec!["a", "bb", "ccc", "dddd"])),
                Arc::new(Float64Array::from(vec![0.1, 0.6, 0.9, 0.2])),
            ],
        )
        .unwrap();
        Batch::with_kinds(
            rb,
            vec![
                RowKind::Insert,
                RowKind::UpdateBefore,
                RowKind::UpdateAfter,
                RowKind::Delete,
            ],
        )
    }

    #[test]
    fn filters_and_projects_keeping_row_kinds() {
        let b = input();
        let plan = SqlPlan::build(
            "select id * 10 as id10, upper(name) as name, pi() as pi from fake where score > 0.5",
            b.records.schema(),
            Some("fake"),
        )
        .unwrap();
        let out = plan.apply(b).unwrap();
        assert_eq!(out.num_rows(), 2);
        assert_eq!(
            out.records.column(0).as_primitive::<Int64Type>().values(),
            &[20, 30]
        );
        assert_eq!(out.records.column(1).as_string::<i32>().value(1), "CCC");
        assert!(
            (out.records.column(2).as_primitive::<Float64Type>().value(0) - std::f64::consts::PI)
                .abs()
                < 1e-12
        );
        assert_eq!(out.kind(0), RowKind::UpdateBefore);
        assert_eq!(out.records.schema().field(0).name(), "id10");
    }

    #[test]
    fn integer_literals_keep_seatunnel_result_types() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("age", DataType::Int32, true),
            Field::new("big", DataType::Int64, true),
        ]));
        let plan = SqlPlan::build(
            "select age + 1 as a, big + 1 as b, 1 as c, 3000000000 as d from t",
            schema,
            Some("t"),
        )
        .unwrap();
        let types: Vec<DataType> = plan
            .output
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            vec![
                DataType::Int32,
                DataType::Int64,
                DataType::Int32,
                DataType::Int64
            ]
        );
    }

    #[test]
    fn star_and_type_coercion() {
        let b = input();
        let plan = SqlPlan::build(
            "select *, id + 1.5 as x from t where name like 'c%'",
            b.records.schema(),
            Some("t"),
        )
        .unwrap();
        let out = plan.apply(b).unwrap();
        assert_eq!(out.records.num_columns(), 4);
        assert_eq!(out.num_rows(), 1);
    }

    #[test]
    fn unsupported_and_wrong_queries_are_explained() {
        let s = input().records.schema();
        let e = |q: &str| {
            SqlPlan::build(q, s.clone(), Some("fake"))
                .err()
                .unwrap()
                .to_string()
        };
        assert!(e("select id from other")
            .contains("reads table 'other' but this transform's input is 'fake'"));
        assert!(e("select count(*) from fake").contains("GROUP BY and aggregate"));
        assert!(e("select id from fake order by id").contains("ORDER BY"));
        assert!(
            e("select nope from fake").contains("nope"),
            "{}",
            e("select nope from fake")
        );
        assert!(e("selec id from fake").contains("not valid SQL"));
        assert!(e("select a.id from fake a join fake b on a.id = b.id").contains("joins"));
    }
}
