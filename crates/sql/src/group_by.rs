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

use crate::acc_column::{AccColumn, ArgClass, ArgColumn};
use crate::accumulator::{Acc, AggKind, Reader};
use crate::group_keys::GroupKeys;
use arrow::array::{Array, ArrayRef, AsArray, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use arrow::row::{RowConverter, SortField};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan};
use datafusion::physical_expr::PhysicalExpr;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_runtime::operator::{PreparedTransform, SubtaskContext, Transform};
use weir_runtime::partition::{key_group_of_row, DEFAULT_MAX_PARALLELISM};
use weir_runtime::state::OperatorState;
use weir_runtime::{Batch, RowKind};

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
        let values = self
            .aggs
            .iter()
            .map(|a| RowConverter::new(vec![SortField::new(a.value_type.clone())]))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WeirError::new(format!("cannot encode aggregate values: {e}")))?;
        Ok(Box::new(GroupAggregate {
            keys: GroupKeys::new(&self.group_types)?,
            accs: self.empty_accs().iter().map(AccColumn::of).collect(),
            rows: Vec::new(),
            emitted: Vec::new(),
            touched: Vec::new(),
            values,
            step: 0,
            slots_of_rows: Vec::new(),
            plan: self.clone(),
        }))
    }
}

/// One subtask's GROUP BY: its keys' accumulators, column-wise by group slot.
struct GroupAggregate {
    plan: GroupByPlan,
    keys: GroupKeys,
    /// Per aggregate, every group's accumulator.
    accs: Vec<AccColumn>,
    /// Per group slot: net rows (inserted minus retracted); the group is gone at zero.
    rows: Vec<i64>,
    /// Per group slot: whether downstream currently holds a result row for the group.
    emitted: Vec<bool>,
    /// Per group slot: the last step (input batch) that touched the group.
    touched: Vec<u64>,
    /// Per aggregate, MIN/MAX values ⇄ bytes for checkpoints.
    values: Vec<RowConverter>,
    step: u64,
    /// The group slot of each row of the batch being applied (kept to reuse its allocation).
    slots_of_rows: Vec<u32>,
}

fn eval_err(e: impl std::fmt::Display) -> WeirError {
    WeirError::new(format!(
        "evaluating the query: {}",
        crate::clean(&e.to_string())
    ))
}

fn is_retraction(kind: RowKind) -> bool {
    matches!(kind, RowKind::UpdateBefore | RowKind::Delete)
}

impl GroupAggregate {
    /// Gives every per-slot vector a place for every slot the keys have handed out.
    fn grow(&mut self) {
        let slots = self.keys.slots();
        if self.rows.len() < slots {
            self.rows.resize(slots, 0);
            self.emitted.resize(slots, false);
            self.touched.resize(slots, 0);
            for acc in &mut self.accs {
                acc.grow(slots);
            }
        }
    }

    /// Forgets group `g`: its key, accumulators and flags.
    fn remove(&mut self, g: u32) {
        let at = g as usize;
        self.keys.remove(g);
        self.rows[at] = 0;
        self.emitted[at] = false;
        for acc in &mut self.accs {
            acc.reset(at);
        }
    }

    /// Applies one batch to the accumulators; emits its changelog in a streaming job.
    fn apply(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()> {
        let batch = crate::filter(&self.plan.predicate, batch)?;
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        let args = self
            .plan
            .aggs
            .iter()
            .map(|a| {
                let v = a
                    .arg
                    .evaluate(&batch.records)
                    .and_then(|v| v.into_array(n))
                    .map_err(eval_err)?;
                ArgColumn::read(v, a.class)
            })
            .collect::<WeirResult<Vec<_>>>()?;
        let group_cols: Vec<ArrayRef> = self
            .plan
            .group
            .iter()
            .map(|&i| batch.records.column(i).clone())
            .collect();
        let mut slots = std::mem::take(&mut self.slots_of_rows);
        slots.clear();
        self.keys.intern(&group_cols, n, &mut slots)?;
        self.grow();
        self.step += 1;
        let mut changed = Vec::new();
        for &g in &slots {
            let t = &mut self.touched[g as usize];
            if *t != self.step {
                *t = self.step;
                changed.push(g);
            }
        }
        let before = if self.plan.emit_updates {
            let shown: Vec<u32> = changed
                .iter()
                .copied()
                .filter(|&g| self.emitted[g as usize])
                .collect();
            let batch = self.agg_batch(&shown)?;
            Some((shown.len(), batch))
        } else {
            None
        };
        let retracts = batch.kinds.as_ref().is_some_and(|k| {
            k.values()
                .iter()
                .any(|&b| is_retraction(RowKind::from_u8(b)))
        });
        let applied = if retracts {
            self.apply_rows(&batch, &slots, &args)
        } else {
            self.apply_inserts(&slots, &args)
        };
        self.slots_of_rows = slots;
        applied?;
        match before {
            Some((shown, before)) => {
                out.extend(self.emit(&changed, shown, before)?);
            }
            None => {
                for g in changed {
                    if self.rows[g as usize] <= 0 {
                        self.remove(g);
                    }
                }
            }
        }
        Ok(())
    }

    /// An insert-only batch: one pass per aggregate over the rows' group slots.
    fn apply_inserts(&mut self, slots: &[u32], args: &[ArgColumn]) -> WeirResult<()> {
        for &g in slots {
            self.rows[g as usize] += 1;
        }
        for (acc, arg) in self.accs.iter_mut().zip(args) {
            acc.add(slots, arg)?;
        }
        Ok(())
    }

    /// A batch with retractions: row by row, in order, through each group's accumulators.
    fn apply_rows(&mut self, batch: &Batch, slots: &[u32], args: &[ArgColumn]) -> WeirResult<()> {
        for (row, &g) in slots.iter().enumerate() {
            let g = g as usize;
            let retract = is_retraction(batch.kind(row));
            if retract && self.rows[g] <= 0 {
                // Taking back a row this key does not have: nothing to undo.
                continue;
            }
            if retract && self.rows[g] == 1 {
                // The key's last row goes: its accumulators are empty again, whatever they
                // held (MIN/MAX could not take their value back one by one).
                self.rows[g] = 0;
                for acc in &mut self.accs {
                    acc.reset(g);
                }
                continue;
            }
            self.rows[g] += if retract { -1 } else { 1 };
            for (acc, arg) in self.accs.iter_mut().zip(args) {
                let mut one = acc.get(g);
                one.update(arg.at(row)?, retract)?;
                acc.set(g, one)?;
            }
        }
        Ok(())
    }

    /// A batch of aggregate rows (group columns, then aggregates) for these groups.
    fn agg_batch(&self, groups: &[u32]) -> WeirResult<RecordBatch> {
        let mut columns = self.keys.columns(groups)?;
        for (acc, spec) in self.accs.iter().zip(self.plan.aggs.iter()) {
            columns.push(acc.array(groups, &spec.output_type)?);
        }
        RecordBatch::try_new_with_options(
            self.plan.agg_schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(groups.len())),
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
        let picked = if rows == batch.num_rows()
            && picks.iter().enumerate().all(|(i, &p)| p as usize == i)
        {
            batch.clone()
        } else {
            take_record_batch(batch, &UInt32Array::from(picks)).map_err(eval_err)?
        };
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

    /// The changelog of one step: per changed group, its old result out and its new one in.
    /// `before` holds the old results of the `shown` changed groups downstream had, taken
    /// before the step, in `changed` order.
    fn emit(
        &mut self,
        changed: &[u32],
        shown: usize,
        before: RecordBatch,
    ) -> WeirResult<Option<Batch>> {
        let present: Vec<u32> = changed
            .iter()
            .copied()
            .filter(|&g| self.rows[g as usize] > 0)
            .collect();
        let after = self.agg_batch(&present)?;
        let batch = arrow::compute::concat_batches(&self.plan.agg_schema, [&before, &after])
            .map_err(eval_err)?;
        let passes = self.passes(&batch)?;
        let mut picks = Vec::new();
        let mut kinds = Vec::new();
        let (mut next_before, mut next_after) = (0, shown);
        for &g in changed {
            let at = g as usize;
            let was = self.emitted[at].then(|| {
                next_before += 1;
                next_before - 1
            });
            let now = (self.rows[at] > 0)
                .then(|| {
                    next_after += 1;
                    next_after - 1
                })
                .filter(|&i| passes[i]);
            match (was, now) {
                (Some(b), Some(a)) => {
                    picks.extend([b as u32, a as u32]);
                    kinds.extend([RowKind::UpdateBefore, RowKind::UpdateAfter]);
                }
                (Some(b), None) => {
                    picks.push(b as u32);
                    kinds.push(RowKind::Delete);
                }
                (None, Some(a)) => {
                    picks.push(a as u32);
                    kinds.push(RowKind::Insert);
                }
                (None, None) => {}
            }
            self.emitted[at] = now.is_some();
            if self.rows[at] <= 0 {
                self.remove(g);
            }
        }
        self.project(&batch, picks, kinds)
    }

    fn encode_group(&self, key: &[u8], g: usize, out: &mut Vec<u8>) -> WeirResult<()> {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(&self.rows[g].to_le_bytes());
        out.push(u8::from(self.emitted[g]));
        for (acc, conv) in self.accs.iter().zip(&self.values) {
            let encode = |v: &ScalarValue| -> WeirResult<Vec<u8>> {
                let array = v.to_array().map_err(eval_err)?;
                let rows = conv.convert_columns(&[array]).map_err(eval_err)?;
                Ok(rows.row(0).as_ref().to_vec())
            };
            acc.get(g).encode(out, &encode)?;
        }
        Ok(())
    }

    fn decode_groups(&mut self, bytes: &[u8]) -> WeirResult<()> {
        let mut r = Reader::new(bytes);
        let template = self.plan.empty_accs();
        let mut keys = Vec::new();
        let mut groups = Vec::new();
        while !r.done() {
            let len = r.u32()? as usize;
            keys.push(r.take(len)?);
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
            groups.push((rows, emitted, accs));
        }
        let mut slots = Vec::with_capacity(keys.len());
        self.keys.intern_bytes(&keys, &mut slots)?;
        self.grow();
        for (g, (rows, emitted, accs)) in slots.into_iter().zip(groups) {
            let g = g as usize;
            self.rows[g] = rows;
            self.emitted[g] = emitted;
            for (column, acc) in self.accs.iter_mut().zip(accs) {
                column.set(g, acc)?;
            }
        }
        Ok(())
    }
}

impl Transform for GroupAggregate {
    fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()> {
        self.apply(batch, out)
    }

    fn finish(&mut self, out: &mut Vec<Batch>) -> WeirResult<()> {
        if self.plan.emit_updates {
            return Ok(());
        }
        let live: Vec<u32> = self
            .keys
            .live_groups()
            .into_iter()
            .filter(|&g| self.rows[g as usize] > 0)
            .collect();
        // Row-format keys sort as the group columns do: the final result comes out ordered.
        let mut order: Vec<usize> = (0..live.len()).collect();
        let keys = self.keys.key_bytes(&live)?;
        order.sort_unstable_by(|&a, &b| keys.get(a).cmp(keys.get(b)));
        let sorted: Vec<u32> = order.into_iter().map(|i| live[i]).collect();
        for chunk in sorted.chunks(8192) {
            let batch = self.agg_batch(chunk)?;
            let passes = self.passes(&batch)?;
            let picks: Vec<u32> = (0..chunk.len() as u32)
                .filter(|&i| passes[i as usize])
                .collect();
            let kinds = vec![RowKind::Insert; picks.len()];
            out.extend(self.project(&batch, picks, kinds)?);
        }
        Ok(())
    }

    fn snapshot_state(&mut self) -> WeirResult<OperatorState> {
        let mut state = OperatorState::default();
        let live = self.keys.live_groups();
        let keys = self.keys.key_bytes(&live)?;
        for (i, &g) in live.iter().enumerate() {
            let key = keys.get(i);
            let group = key_group_of_row(key, DEFAULT_MAX_PARALLELISM) as u32;
            self.encode_group(key, g as usize, state.keyed.entry(group).or_default())?;
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
    fn a_deleted_group_s_slot_serves_a_new_key_from_empty() {
        let mut op = plan(Q, true).instantiate(ctx()).unwrap();
        let mut out = Vec::new();
        op.process(
            batch(&[("a", 1, RowKind::Insert), ("b", 2, RowKind::Insert)]),
            &mut out,
        )
        .unwrap();
        out.clear();
        // A retraction of a key never seen, then a's only row taken back: a is deleted.
        op.process(
            batch(&[("z", 9, RowKind::Delete), ("a", 1, RowKind::Delete)]),
            &mut out,
        )
        .unwrap();
        assert_eq!(rows(&out), ["DELETE: a, 1, 1, 1, 1, 1.0"]);
        out.clear();
        op.process(
            batch(&[("c", 5, RowKind::Insert), ("c", 7, RowKind::Insert)]),
            &mut out,
        )
        .unwrap();
        assert_eq!(rows(&out), ["INSERT: c, 2, 12, 5, 7, 6.0"]);
        let state = op.snapshot_state().unwrap();
        let mut back = plan(Q, false).instantiate(ctx()).unwrap();
        back.restore_state(state).unwrap();
        out.clear();
        back.finish(&mut out).unwrap();
        assert_eq!(
            rows(&out),
            ["INSERT: b, 1, 2, 2, 2, 2.0", "INSERT: c, 2, 12, 5, 7, 6.0"],
            "only the live groups were kept, a's slot holds c"
        );
    }

    #[test]
    fn integer_keys_with_nulls_group_and_sort_like_any_other() {
        let q = "select age, count(*) as c from t group by age";
        let mut op = plan(q, false).instantiate(ctx()).unwrap();
        let records = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(vec!["x"; 5])),
                Arc::new(Int32Array::from(vec![
                    Some(3),
                    None,
                    Some(-2),
                    Some(3),
                    None,
                ])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        op.process(Batch::inserts(records), &mut out).unwrap();
        op.finish(&mut out).unwrap();
        assert_eq!(
            rows(&out),
            ["INSERT: , 2", "INSERT: -2, 1", "INSERT: 3, 2"],
            "NULL first, then ascending, as the row-format keys sort"
        );
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
