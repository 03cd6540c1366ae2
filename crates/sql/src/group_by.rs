//! `Sql` with GROUP BY: a keyed, stateful aggregation (COUNT, SUM, MIN, MAX, AVG).
//!
//! The job graph routes the transform's input by the hash of the GROUP BY columns (see
//! [`group_by_columns`]), so each subtask sees every row of the keys it owns and keeps their
//! accumulators. In a streaming job each input batch is applied as one step and every key it
//! changed is emitted once, as SeaTunnel row kinds: INSERT the first time, then UPDATE_BEFORE
//! (the old result) and UPDATE_AFTER (the new one), DELETE when its last row is taken back or it
//! stops passing HAVING. Input retractions (UPDATE_BEFORE, DELETE) are taken back out. In a
//! batch job nothing is emitted until the end of input, and then each group once, as INSERT,
//! ordered by the group key.
//!
//! State is keyed state: one entry per key in the key group the key hashes to, the same key
//! group the hash edge used, so a rescaled job hands every key to the subtask that now receives
//! its rows.

use crate::accumulator::{Acc, AggKind, Input, Reader};
use arrow::array::{Array, ArrayRef, AsArray, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan};
use datafusion::physical_expr::PhysicalExpr;
use std::collections::HashMap;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_runtime::operator::{PreparedTransform, SubtaskContext, Transform};
use weir_runtime::partition::{key_group_of_row, DEFAULT_MAX_PARALLELISM};
use weir_runtime::state::OperatorState;
use weir_runtime::{Batch, RowKind};

/// How an aggregate reads its argument column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgClass {
    /// Any type; only whether the value is null matters (COUNT).
    Presence,
    /// Integers, read exactly as i64.
    Int,
    /// Floating point, read as f64.
    Float,
    /// Anything else, read as a scalar (MIN/MAX of strings, dates…).
    Other,
}

/// One aggregate of the SELECT list.
struct AggSpec {
    kind: AggKind,
    arg: Arc<dyn PhysicalExpr>,
    class: ArgClass,
    /// The type the accumulator keeps MIN/MAX values in (for checkpoint encoding).
    value_type: DataType,
    /// The type DataFusion gives the aggregate's column.
    output_type: DataType,
}

/// The planned GROUP BY query, shared by every subtask of the job.
#[derive(Clone)]
pub struct GroupByPlan {
    predicate: Option<Arc<dyn PhysicalExpr>>,
    /// Input column indices of the GROUP BY columns.
    group: Vec<usize>,
    group_types: Vec<DataType>,
    aggs: Arc<Vec<AggSpec>>,
    /// Group columns, then aggregate columns: what HAVING and the SELECT list read.
    agg_schema: SchemaRef,
    having: Option<Arc<dyn PhysicalExpr>>,
    projection: Vec<Arc<dyn PhysicalExpr>>,
    output: SchemaRef,
    /// Streaming jobs emit updates per batch; batch jobs emit final groups at the end.
    emit_updates: bool,
}

/// The GROUP BY columns of a query, for the job graph's hash edge: `Ok(None)` when the query
/// does not aggregate, `Ok(Some([]))` for an aggregate without GROUP BY (one global group).
/// Only plain columns can be keys: rows are routed before the query is evaluated.
pub fn group_by_columns(query: &str) -> Result<Option<Vec<String>>, String> {
    use datafusion::sql::sqlparser::ast::{
        visit_expressions, Expr as SqlExpr, GroupByExpr, SetExpr, Statement,
    };
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use std::ops::ControlFlow;
    // An unparsable query is reported, with its reason, when the transform is prepared.
    let Ok(statements) = Parser::parse_sql(&GenericDialect {}, query) else {
        return Ok(None);
    };
    let [Statement::Query(q)] = statements.as_slice() else {
        return Ok(None);
    };
    let SetExpr::Select(select) = q.body.as_ref() else {
        return Ok(None);
    };
    let exprs = match &select.group_by {
        GroupByExpr::All(_) => {
            return Err("GROUP BY ALL is not supported; name the GROUP BY columns".into())
        }
        GroupByExpr::Expressions(exprs, _) => exprs,
    };
    if exprs.is_empty() {
        let aggregates = visit_expressions(&select.projection, |e| match e {
            SqlExpr::Function(f)
                if AggKind::from_name(&f.name.to_string()).is_some()
                    || f.name.to_string().eq_ignore_ascii_case("count") =>
            {
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        });
        return Ok(aggregates.is_break().then(Vec::new));
    }
    exprs
        .iter()
        .map(|e| {
            let ident = match e {
                SqlExpr::Identifier(i) => Some(i),
                SqlExpr::CompoundIdentifier(parts) => parts.last(),
                _ => None,
            };
            match ident {
                // DataFusion folds unquoted identifiers to lower case; so must the router.
                Some(i) if i.quote_style.is_none() => Ok(i.value.to_ascii_lowercase()),
                Some(i) => Ok(i.value.clone()),
                None => Err(format!(
                    "GROUP BY {e}: weir groups by input columns only; compute the value in an \
                     earlier Sql transform (SELECT ..., {e} AS k FROM ...) and GROUP BY k"
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

impl GroupByPlan {
    /// Builds the plan from DataFusion's analysed logical plan:
    /// `Projection ← [Filter (HAVING)] ← Aggregate ← [Filter (WHERE)] ← TableScan`.
    pub fn from_logical(
        plan: &LogicalPlan,
        state: &SessionState,
        input: &SchemaRef,
        streaming: bool,
    ) -> WeirResult<GroupByPlan> {
        let compile = |e: &Expr, schema: &DFSchema| {
            state
                .create_physical_expr(e.clone(), schema)
                .map_err(|err| {
                    WeirError::new(format!(
                        "cannot compile the query: {}",
                        crate::clean(&err.to_string())
                    ))
                })
        };
        let LogicalPlan::Projection(projection) = plan else {
            return Err(crate::unsupported("an aggregate without a SELECT list"));
        };
        let mut node = projection.input.as_ref();
        let mut having = None;
        if let LogicalPlan::Filter(f) = node {
            having = Some(compile(&f.predicate, f.input.schema())?);
            node = f.input.as_ref();
        }
        let LogicalPlan::Aggregate(aggregate) = node else {
            return Err(crate::unsupported(&format!("'{}'", node.display())));
        };
        let mut predicate = None;
        let mut below = aggregate.input.as_ref();
        loop {
            below = match below {
                LogicalPlan::Filter(f) => {
                    predicate = Some(compile(&f.predicate, f.input.schema())?);
                    f.input.as_ref()
                }
                LogicalPlan::SubqueryAlias(a) => a.input.as_ref(),
                LogicalPlan::TableScan(_) => break,
                other => return Err(crate::unsupported(&format!("'{}'", other.display()))),
            };
        }
        let scan_schema = aggregate.input.schema();
        let mut group = Vec::new();
        for e in &aggregate.group_expr {
            let Expr::Column(c) = e else {
                return Err(WeirError::new(format!(
                    "GROUP BY {e}: weir groups by input columns only"
                ))
                .with_hint(
                    "compute the value in an earlier Sql transform and GROUP BY its column",
                ));
            };
            let index = scan_schema
                .index_of_column(c)
                .map_err(|err| WeirError::new(crate::clean(&err.to_string())))?;
            group.push(index);
        }
        let group_types = group
            .iter()
            .map(|&i| input.field(i).data_type().clone())
            .collect();
        let mut aggs = Vec::new();
        for (j, e) in aggregate.aggr_expr.iter().enumerate() {
            let inner = match e {
                Expr::Alias(a) => a.expr.as_ref(),
                other => other,
            };
            let Expr::AggregateFunction(f) = inner else {
                return Err(crate::unsupported(&format!("the aggregate {e}")));
            };
            let name = f.func.name();
            let kind = AggKind::from_name(name).ok_or_else(|| {
                crate::unsupported(&format!("the aggregate function {name}"))
                    .with_hint("GROUP BY supports COUNT, SUM, MIN, MAX and AVG")
            })?;
            if f.params.distinct {
                return Err(crate::unsupported(&format!("{name}(DISTINCT ...)")));
            }
            if f.params.filter.is_some() || !f.params.order_by.is_empty() {
                return Err(crate::unsupported(&format!(
                    "FILTER or ORDER BY inside {name}"
                )));
            }
            let [arg] = f.params.args.as_slice() else {
                return Err(crate::unsupported(&format!(
                    "{name} with {} arguments",
                    f.params.args.len()
                )));
            };
            let arg_type = arg
                .get_type(scan_schema)
                .map_err(|err| WeirError::new(crate::clean(&err.to_string())))?;
            let class = match kind {
                AggKind::Count => ArgClass::Presence,
                _ if is_integer(&arg_type) => ArgClass::Int,
                _ if arg_type.is_floating() || matches!(arg_type, DataType::Decimal128(..)) => {
                    ArgClass::Float
                }
                AggKind::Min | AggKind::Max => ArgClass::Other,
                AggKind::Sum | AggKind::Avg => {
                    return Err(WeirError::new(format!(
                        "{name} needs a numeric argument, {arg} is {arg_type}"
                    )))
                }
            };
            let value_type = match class {
                ArgClass::Int => DataType::Int64,
                ArgClass::Float => DataType::Float64,
                _ => arg_type.clone(),
            };
            aggs.push(AggSpec {
                kind,
                arg: compile(arg, scan_schema)?,
                class,
                value_type,
                output_type: aggregate.schema.field(group.len() + j).data_type().clone(),
            });
        }
        let projection = projection
            .expr
            .iter()
            .map(|e| compile(e, &aggregate.schema))
            .collect::<WeirResult<Vec<_>>>()?;
        let nullable = |schema: &DFSchema| {
            Arc::new(Schema::new(
                schema
                    .fields()
                    .iter()
                    .map(|f| Field::new(f.name(), f.data_type().clone(), true))
                    .collect::<Vec<_>>(),
            ))
        };
        Ok(GroupByPlan {
            predicate,
            group,
            group_types,
            aggs: Arc::new(aggs),
            agg_schema: nullable(&aggregate.schema),
            having,
            projection,
            output: nullable(plan.schema()),
            emit_updates: streaming,
        })
    }
}

impl AggSpec {
    fn empty(&self) -> Acc {
        match (self.kind, self.class) {
            (AggKind::Min | AggKind::Max, ArgClass::Int) => Acc::extreme(self.kind, Some(false)),
            (AggKind::Min | AggKind::Max, ArgClass::Float) => Acc::extreme(self.kind, Some(true)),
            (AggKind::Min | AggKind::Max, _) => Acc::extreme(self.kind, None),
            (kind, class) => Acc::new(kind, class == ArgClass::Float),
        }
    }
}

fn is_integer(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
    )
}

impl GroupByPlan {
    /// One empty accumulator per aggregate: a new key's state.
    fn empty_accs(&self) -> Vec<Acc> {
        self.aggs.iter().map(AggSpec::empty).collect()
    }
}

impl PreparedTransform for GroupByPlan {
    fn output_schema(&self) -> SchemaRef {
        self.output.clone()
    }

    fn instantiate(&self, _subtask: SubtaskContext) -> WeirResult<Box<dyn Transform>> {
        let sort = |t: &DataType| SortField::new(t.clone());
        let keys = RowConverter::new(self.group_types.iter().map(sort).collect())
            .map_err(|e| WeirError::new(format!("cannot key the GROUP BY columns: {e}")))?;
        let values = self
            .aggs
            .iter()
            .map(|a| RowConverter::new(vec![sort(&a.value_type)]))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WeirError::new(format!("cannot encode aggregate values: {e}")))?;
        Ok(Box::new(GroupAggregate {
            plan: self.clone(),
            keys,
            values,
            groups: HashMap::default(),
            step: 0,
        }))
    }
}

/// One key's accumulators.
#[derive(Clone)]
struct Group {
    /// Net rows (inserted minus retracted); the group is gone at zero.
    rows: i64,
    accs: Vec<Acc>,
    /// Whether downstream currently holds a result row for this key.
    emitted: bool,
    /// The last step (input batch) that touched the group.
    step: u64,
}

/// A key changed in this step, with its result before the step if one was emitted.
struct Changed {
    key: Box<[u8]>,
    before: Option<Vec<Acc>>,
}

/// One subtask's GROUP BY: its keys' accumulators.
struct GroupAggregate {
    plan: GroupByPlan,
    /// Group columns ⇄ key bytes (Arrow's row format, the bytes the hash edge hashes).
    keys: RowConverter,
    /// Per aggregate, MIN/MAX values ⇄ bytes for checkpoints.
    values: Vec<RowConverter>,
    groups: HashMap<Box<[u8]>, Group, ahash::RandomState>,
    step: u64,
}

fn eval_err(e: impl std::fmt::Display) -> WeirError {
    WeirError::new(format!(
        "evaluating the query: {}",
        crate::clean(&e.to_string())
    ))
}

/// The output column of one aggregate over `accs`, built from plain numbers where the
/// accumulators hold them (no scalar per value) and cast to the type DataFusion planned.
fn aggregate_column<'a>(
    accs: impl ExactSizeIterator<Item = &'a Acc> + Clone,
    spec: &AggSpec,
) -> WeirResult<ArrayRef> {
    use crate::accumulator::Number;
    use arrow::array::{Float64Array, Int64Array};
    if accs.len() == 0 {
        return Ok(arrow::array::new_empty_array(&spec.output_type));
    }
    let numbers: Option<Vec<Number>> = accs.clone().map(Acc::number).collect();
    let array: ArrayRef = match numbers {
        Some(n) if n.iter().all(|v| matches!(v, Number::Int(_))) => Arc::new(
            n.iter()
                .map(|v| match v {
                    Number::Int(i) => *i,
                    Number::Float(_) => None,
                })
                .collect::<Int64Array>(),
        ),
        Some(n) => Arc::new(
            n.iter()
                .map(|v| match v {
                    Number::Float(f) => *f,
                    Number::Int(i) => i.map(|i| i as f64),
                })
                .collect::<Float64Array>(),
        ),
        None => {
            let values = accs
                .map(|a| a.value().cast_to(&spec.output_type))
                .collect::<Result<Vec<_>, _>>()
                .map_err(eval_err)?;
            return ScalarValue::iter_to_array(values).map_err(eval_err);
        }
    };
    if array.data_type() == &spec.output_type {
        Ok(array)
    } else {
        cast(&array, &spec.output_type).map_err(eval_err)
    }
}

/// An argument column, read once per batch in the form its accumulator wants: typed, so a row
/// is read without a downcast, and with whether it has nulls at all known up front.
enum ArgColumn {
    /// COUNT(*) or COUNT of a column without nulls: every row counts.
    Always,
    Presence(ArrayRef),
    Int(arrow::array::Int64Array),
    Float(arrow::array::Float64Array),
    Other(ArrayRef),
}

impl ArgColumn {
    fn read(array: ArrayRef, class: ArgClass) -> WeirResult<ArgColumn> {
        Ok(match class {
            ArgClass::Presence if array.null_count() == 0 => ArgColumn::Always,
            ArgClass::Presence => ArgColumn::Presence(array),
            ArgClass::Int => ArgColumn::Int(
                cast(&array, &DataType::Int64)
                    .map_err(eval_err)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
            ArgClass::Float => ArgColumn::Float(
                cast(&array, &DataType::Float64)
                    .map_err(eval_err)?
                    .as_primitive::<Float64Type>()
                    .clone(),
            ),
            ArgClass::Other => ArgColumn::Other(array),
        })
    }

    #[inline]
    fn at(&self, row: usize) -> WeirResult<Input> {
        Ok(match self {
            ArgColumn::Always => Input::Int(1),
            ArgColumn::Presence(a) if a.is_valid(row) => Input::Int(1),
            ArgColumn::Int(a) if a.is_valid(row) => Input::Int(a.value(row)),
            ArgColumn::Float(a) if a.is_valid(row) => Input::Float(a.value(row)),
            ArgColumn::Other(a) if a.is_valid(row) => {
                Input::Other(ScalarValue::try_from_array(a, row).map_err(eval_err)?)
            }
            _ => Input::Null,
        })
    }
}

impl GroupAggregate {
    /// Applies one batch to the accumulators; returns the keys it changed, in first-touch order.
    fn apply(&mut self, batch: Batch) -> WeirResult<Vec<Changed>> {
        let batch = crate::filter(&self.plan.predicate, batch)?;
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(Vec::new());
        }
        let group_cols: Vec<ArrayRef> = self
            .plan
            .group
            .iter()
            .map(|&i| batch.records.column(i).clone())
            .collect();
        let keys = self.key_rows(&group_cols)?;
        let args = self
            .plan
            .aggs
            .iter()
            .map(|a| {
                let v = a
                    .arg
                    .evaluate(&batch.records)
                    .and_then(|v| v.into_array(rows))
                    .map_err(eval_err)?;
                ArgColumn::read(v, a.class)
            })
            .collect::<WeirResult<Vec<_>>>()?;
        self.step += 1;
        let step = self.step;
        let mut changed = Vec::new();
        for row in 0..rows {
            let retract = matches!(batch.kind(row), RowKind::UpdateBefore | RowKind::Delete);
            let key_row = keys.as_ref().map(|k| k.row(row));
            let key: &[u8] = key_row.as_ref().map_or(&[], |k| k.as_ref());
            let g = match self.groups.get_mut(key) {
                Some(g) => g,
                // Taking back a row this key never had: nothing to undo.
                None if retract => continue,
                None => {
                    let fresh = Group {
                        rows: 0,
                        accs: self.plan.empty_accs(),
                        emitted: false,
                        step: 0,
                    };
                    self.groups.entry(key.into()).or_insert(fresh)
                }
            };
            if g.step != step {
                g.step = step;
                changed.push(Changed {
                    key: key.into(),
                    before: g.emitted.then(|| g.accs.clone()),
                });
            }
            if retract && g.rows == 1 {
                // The key's last row goes: its accumulators are empty again, whatever they
                // held (MIN/MAX could not take their value back one by one).
                g.rows = 0;
                g.accs = self.plan.empty_accs();
                continue;
            }
            g.rows += if retract { -1 } else { 1 };
            for (acc, arg) in g.accs.iter_mut().zip(&args) {
                acc.update(arg.at(row)?, retract)?;
            }
        }
        Ok(changed)
    }

    /// Key bytes of every row; `None` for an aggregate without GROUP BY, whose one group has
    /// the empty key.
    fn key_rows(&self, group_cols: &[ArrayRef]) -> WeirResult<Option<Rows>> {
        if group_cols.is_empty() {
            return Ok(None);
        }
        self.keys
            .convert_columns(group_cols)
            .map(Some)
            .map_err(eval_err)
    }

    /// A batch of aggregate rows (group columns, then aggregates) for these keys and results.
    fn agg_batch(&self, rows: &[(&[u8], &[Acc])]) -> WeirResult<RecordBatch> {
        let parser = self.keys.parser();
        let mut columns = if self.plan.group.is_empty() {
            Vec::new()
        } else {
            self.keys
                .convert_rows(rows.iter().map(|(k, _)| parser.parse(k)))
                .map_err(eval_err)?
        };
        for (j, spec) in self.plan.aggs.iter().enumerate() {
            columns.push(aggregate_column(
                rows.iter().map(|(_, accs)| &accs[j]),
                spec,
            )?);
        }
        RecordBatch::try_new_with_options(
            self.plan.agg_schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )
        .map_err(eval_err)
    }

    /// Which rows of an aggregate batch pass HAVING.
    fn passes(&self, batch: &RecordBatch) -> WeirResult<Vec<bool>> {
        let Some(having) = &self.plan.having else {
            return Ok(vec![true; batch.num_rows()]);
        };
        let mask = having
            .evaluate(batch)
            .and_then(|v| v.into_array(batch.num_rows()))
            .map_err(eval_err)?;
        let mask = mask
            .as_boolean_opt()
            .ok_or_else(|| WeirError::new("the HAVING clause is not a boolean condition"))?;
        Ok((0..mask.len())
            .map(|i| mask.is_valid(i) && mask.value(i))
            .collect())
    }

    /// The SELECT list over chosen rows of an aggregate batch, with their row kinds.
    fn project(
        &self,
        batch: &RecordBatch,
        picks: Vec<u32>,
        kinds: Vec<RowKind>,
    ) -> WeirResult<Option<Batch>> {
        if picks.is_empty() {
            return Ok(None);
        }
        let rows = picks.len();
        let picked = take_record_batch(batch, &UInt32Array::from(picks)).map_err(eval_err)?;
        let columns = self
            .plan
            .projection
            .iter()
            .map(|e| e.evaluate(&picked).and_then(|v| v.into_array(rows)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(eval_err)?;
        let records = RecordBatch::try_new_with_options(
            self.plan.output.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| WeirError::new(format!("building the query result: {e}")))?;
        Ok(Some(Batch::with_kinds(records, kinds)))
    }

    /// The changelog of one step: per changed key, its old result out and its new one in.
    fn emit(&mut self, changed: Vec<Changed>) -> WeirResult<Option<Batch>> {
        let mut rows: Vec<(&[u8], &[Acc])> = Vec::new();
        let mut before_at = Vec::with_capacity(changed.len());
        for c in &changed {
            before_at.push(c.before.as_ref().map(|accs| {
                rows.push((&c.key, accs));
                rows.len() - 1
            }));
        }
        let mut after_at = Vec::with_capacity(changed.len());
        for c in &changed {
            after_at.push(match self.groups.get(&c.key) {
                Some(g) if g.rows > 0 => {
                    rows.push((&c.key, &g.accs));
                    Some(rows.len() - 1)
                }
                _ => None,
            });
        }
        let batch = self.agg_batch(&rows)?;
        let passes = self.passes(&batch)?;
        let mut picks = Vec::new();
        let mut kinds = Vec::new();
        let mut visible = Vec::with_capacity(changed.len());
        for (before, after) in before_at.iter().zip(&after_at) {
            let after = after.filter(|&i| passes[i]);
            match (before, after) {
                (Some(b), Some(a)) => {
                    picks.extend([*b as u32, a as u32]);
                    kinds.extend([RowKind::UpdateBefore, RowKind::UpdateAfter]);
                }
                (Some(b), None) => {
                    picks.push(*b as u32);
                    kinds.push(RowKind::Delete);
                }
                (None, Some(a)) => {
                    picks.push(a as u32);
                    kinds.push(RowKind::Insert);
                }
                (None, None) => {}
            }
            visible.push(after.is_some());
        }
        let out = self.project(&batch, picks, kinds)?;
        for (c, shown) in changed.iter().zip(visible) {
            let gone = match self.groups.get_mut(&c.key) {
                Some(g) => {
                    g.emitted = shown;
                    g.rows <= 0
                }
                None => false,
            };
            if gone {
                self.groups.remove(&c.key);
            }
        }
        Ok(out)
    }

    fn encode_group(&self, key: &[u8], g: &Group, out: &mut Vec<u8>) -> WeirResult<()> {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(&g.rows.to_le_bytes());
        out.push(u8::from(g.emitted));
        for (acc, conv) in g.accs.iter().zip(&self.values) {
            let encode = |v: &ScalarValue| -> WeirResult<Vec<u8>> {
                let array = v.to_array().map_err(eval_err)?;
                let rows = conv.convert_columns(&[array]).map_err(eval_err)?;
                Ok(rows.row(0).as_ref().to_vec())
            };
            acc.encode(out, &encode)?;
        }
        Ok(())
    }

    fn decode_groups(&mut self, bytes: &[u8]) -> WeirResult<()> {
        let mut r = Reader::new(bytes);
        let template = self.plan.empty_accs();
        while !r.done() {
            let len = r.u32()? as usize;
            let key: Box<[u8]> = r.take(len)?.into();
            let rows = r.i64()?;
            let emitted = r.take(1)?[0] != 0;
            let mut accs = Vec::with_capacity(template.len());
            for (acc, conv) in template.iter().zip(&self.values) {
                let decode = |b: &[u8]| -> WeirResult<ScalarValue> {
                    let parser = conv.parser();
                    let cols = conv
                        .convert_rows([parser.parse(b)])
                        .map_err(|e| WeirError::new(format!("corrupt GROUP BY state: {e}")))?;
                    ScalarValue::try_from_array(&cols[0], 0).map_err(eval_err)
                };
                accs.push(acc.decode(&mut r, &decode)?);
            }
            self.groups.insert(
                key,
                Group {
                    rows,
                    accs,
                    emitted,
                    step: 0,
                },
            );
        }
        Ok(())
    }
}

impl Transform for GroupAggregate {
    fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()> {
        let changed = self.apply(batch)?;
        if self.plan.emit_updates && !changed.is_empty() {
            out.extend(self.emit(changed)?);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Batch>) -> WeirResult<()> {
        if self.plan.emit_updates {
            return Ok(());
        }
        // Row-format keys sort as the group columns do: the final result comes out ordered.
        let mut keys: Vec<&Box<[u8]>> = self.groups.keys().collect();
        keys.sort_unstable();
        for chunk in keys.chunks(8192) {
            let rows: Vec<(&[u8], &[Acc])> = chunk
                .iter()
                .filter_map(|k| self.groups.get(*k).map(|g| (k.as_ref(), g.accs.as_slice())))
                .collect();
            let batch = self.agg_batch(&rows)?;
            let passes = self.passes(&batch)?;
            let picks: Vec<u32> = (0..rows.len() as u32)
                .filter(|&i| passes[i as usize])
                .collect();
            let kinds = vec![RowKind::Insert; picks.len()];
            out.extend(self.project(&batch, picks, kinds)?);
        }
        Ok(())
    }

    fn snapshot_state(&mut self) -> WeirResult<OperatorState> {
        let mut state = OperatorState::default();
        for (key, g) in &self.groups {
            let group = key_group_of_row(key, DEFAULT_MAX_PARALLELISM) as u32;
            self.encode_group(key, g, state.keyed.entry(group).or_default())?;
        }
        Ok(state)
    }

    fn restore_state(&mut self, state: OperatorState) -> WeirResult<()> {
        if !state.list.is_empty() {
            return Err(WeirError::new(
                "the saved state of this Sql transform is not GROUP BY state; was the query changed?",
            ));
        }
        for bytes in state.keyed.values() {
            self.decode_groups(bytes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};
    use arrow::util::display::array_value_to_string;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("age", DataType::Int32, true),
        ]))
    }

    fn batch(rows: &[(&str, i32, RowKind)]) -> Batch {
        let records = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(Int32Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap();
        Batch::with_kinds(records, rows.iter().map(|r| r.2).collect())
    }

    fn plan(query: &str, streaming: bool) -> GroupByPlan {
        let q = crate::analysed_plan(query, schema(), Some("t")).unwrap();
        GroupByPlan::from_logical(&q.plan, &q.state, &schema(), streaming).unwrap()
    }

    /// Rows as `KIND: v1, v2, ...` strings.
    fn rows(out: &[Batch]) -> Vec<String> {
        out.iter()
            .flat_map(|b| {
                (0..b.num_rows()).map(move |i| {
                    let cols: Vec<String> = b
                        .records
                        .columns()
                        .iter()
                        .map(|c| array_value_to_string(c, i).unwrap())
                        .collect();
                    format!("{}: {}", b.kind(i).name(), cols.join(", "))
                })
            })
            .collect()
    }

    const Q: &str = "select name, count(*) as c, sum(age) as s, min(age) as lo, max(age) as hi, avg(age) as a from t group by name";

    #[test]
    fn a_stream_of_rows_becomes_a_changelog_of_groups() {
        let mut op = plan(Q, true).instantiate(ctx()).unwrap();
        let mut out = Vec::new();
        op.process(
            batch(&[
                ("a", 1, RowKind::Insert),
                ("b", 10, RowKind::Insert),
                ("a", 3, RowKind::Insert),
            ]),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            rows(&out),
            [
                "INSERT: a, 2, 4, 1, 3, 2.0",
                "INSERT: b, 1, 10, 10, 10, 10.0"
            ]
        );
        out.clear();
        op.process(batch(&[("a", 5, RowKind::Insert)]), &mut out)
            .unwrap();
        assert_eq!(
            rows(&out),
            [
                "UPDATE_BEFORE: a, 2, 4, 1, 3, 2.0",
                "UPDATE_AFTER: a, 3, 9, 1, 5, 3.0"
            ]
        );
        out.clear();
        // Taking back b's only row deletes its group.
        op.process(batch(&[("b", 10, RowKind::UpdateBefore)]), &mut out)
            .unwrap();
        assert_eq!(rows(&out), ["DELETE: b, 1, 10, 10, 10, 10.0"]);
        out.clear();
        op.finish(&mut out).unwrap();
        assert!(out.is_empty(), "a streaming aggregate has already emitted");
    }

    fn ctx() -> SubtaskContext {
        SubtaskContext {
            index: 0,
            parallelism: 1,
            attempt: 0,
        }
    }

    #[test]
    fn having_and_where_decide_which_groups_show() {
        let q =
            "select name, count(*) as c from t where age > 0 group by name having count(*) >= 2";
        let mut op = plan(q, true).instantiate(ctx()).unwrap();
        let mut out = Vec::new();
        op.process(
            batch(&[("a", 1, RowKind::Insert), ("a", -1, RowKind::Insert)]),
            &mut out,
        )
        .unwrap();
        assert!(out.is_empty(), "one row passes WHERE, HAVING hides it");
        op.process(batch(&[("a", 2, RowKind::Insert)]), &mut out)
            .unwrap();
        assert_eq!(rows(&out), ["INSERT: a, 2"]);
        out.clear();
        op.process(batch(&[("a", 2, RowKind::Delete)]), &mut out)
            .unwrap();
        assert_eq!(rows(&out), ["DELETE: a, 2"], "no longer passes HAVING");
    }

    #[test]
    fn a_batch_job_emits_each_group_once_at_the_end_in_key_order() {
        let mut op = plan(Q, false).instantiate(ctx()).unwrap();
        let mut out = Vec::new();
        op.process(
            batch(&[("b", 1, RowKind::Insert), ("a", 2, RowKind::Insert)]),
            &mut out,
        )
        .unwrap();
        op.process(batch(&[("b", 4, RowKind::Insert)]), &mut out)
            .unwrap();
        assert!(out.is_empty());
        op.finish(&mut out).unwrap();
        assert_eq!(
            rows(&out),
            ["INSERT: a, 1, 2, 2, 2, 2.0", "INSERT: b, 2, 5, 1, 4, 2.5"]
        );
    }

    #[test]
    fn a_global_aggregate_has_one_group() {
        let q = "select count(*) + 1 as c1, max(name) as m from t";
        let mut op = plan(q, true).instantiate(ctx()).unwrap();
        let mut out = Vec::new();
        op.process(
            batch(&[("x", 1, RowKind::Insert), ("y", 2, RowKind::Insert)]),
            &mut out,
        )
        .unwrap();
        assert_eq!(rows(&out), ["INSERT: 3, y"]);
    }

    #[test]
    fn state_round_trips_by_key_group_and_continues_the_changelog() {
        let p = plan(Q, true);
        let mut op = p.instantiate(ctx()).unwrap();
        let mut out = Vec::new();
        let keys: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
        let input: Vec<(&str, i32, RowKind)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i as i32, RowKind::Insert))
            .collect();
        op.process(batch(&input), &mut out).unwrap();
        let state = op.snapshot_state().unwrap();
        assert!(state.keyed.len() > 10, "50 keys spread over key groups");
        // Split the key groups over two new subtasks, as a rescale would.
        let (mut left, mut right) = (OperatorState::default(), OperatorState::default());
        for (g, bytes) in state.keyed {
            if g < 64 { &mut left } else { &mut right }
                .keyed
                .insert(g, bytes);
        }
        let mut a = p.instantiate(ctx()).unwrap();
        let mut b = p.instantiate(ctx()).unwrap();
        a.restore_state(left).unwrap();
        b.restore_state(right).unwrap();
        out.clear();
        // k7's rows go to the subtask owning its key group, which continues its group.
        let conv = RowConverter::new(vec![SortField::new(DataType::Utf8)]).unwrap();
        let k7_rows = conv
            .convert_columns(&[Arc::new(StringArray::from(vec!["k7"])) as ArrayRef])
            .unwrap();
        let owner = if key_group_of_row(k7_rows.row(0).as_ref(), 128) < 64 {
            &mut a
        } else {
            &mut b
        };
        owner
            .process(batch(&[("k7", 100, RowKind::Insert)]), &mut out)
            .unwrap();
        assert_eq!(
            rows(&out),
            [
                "UPDATE_BEFORE: k7, 1, 7, 7, 7, 7.0",
                "UPDATE_AFTER: k7, 2, 107, 7, 100, 53.5"
            ]
        );
        let mut c = p.instantiate(ctx()).unwrap();
        let e = c
            .restore_state(OperatorState::list(vec![vec![1]]))
            .unwrap_err();
        assert!(e.to_string().contains("not GROUP BY state"));
        let mut truncated = OperatorState::default();
        truncated.keyed.insert(3, vec![9, 0, 0, 0, 1]);
        assert!(c.restore_state(truncated).is_err());
    }

    #[test]
    fn the_graph_keys_by_plain_group_by_columns_only() {
        assert_eq!(group_by_columns("select a from t"), Ok(None));
        assert_eq!(
            group_by_columns("select Name, count(*) from t group by Name, t.\"Age\""),
            Ok(Some(vec!["name".into(), "Age".into()]))
        );
        assert_eq!(group_by_columns("select count(*) from t"), Ok(Some(vec![])));
        let e = group_by_columns("select count(*) from t group by a % 10").unwrap_err();
        assert!(e.contains("earlier Sql transform"), "{e}");
    }

    #[test]
    fn unsupported_aggregates_are_explained() {
        let e = |q: &str| {
            let q = crate::analysed_plan(q, schema(), Some("t")).unwrap();
            GroupByPlan::from_logical(&q.plan, &q.state, &schema(), true)
                .err()
                .unwrap()
                .to_string()
        };
        assert!(e("select count(distinct age) from t").contains("DISTINCT"));
        let sum = crate::analysed_plan("select sum(name) from t", schema(), Some("t"))
            .err()
            .unwrap()
            .to_string();
        assert!(sum.contains("sum(Utf8)") && !sum.contains("bug"), "{sum}");
        assert!(e("select stddev(age) from t").contains("stddev"));
    }
}
