//! `Assert` sink: SeaTunnel's way for pipelines to test themselves. Field rules are checked on
//! every batch; row rules (`MIN_ROW`, `MAX_ROW`) on the total over all subtasks of the sink,
//! by the last subtask to finish. A violated rule fails the job with the rule and the value.
//!
//! Every rule means what SeaTunnel's `AssertExecutor` makes it mean, value by value:
//! `field_type` holds for a null value only when it is `null`; `MIN`/`MAX` fail on null and
//! on non-numeric values; `MIN_LENGTH`/`MAX_LENGTH` measure a null as the empty string and
//! any other value by its text; `equals_to` skips nulls and compares the value with the
//! expected one converted to the column's type (so `"100"` equals `100.0` in a double column,
//! and lists, maps and rows compare element by element). `catalog_table_rule` and
//! `table-names` check the job's tables (see `assert_catalog`).

use crate::batch::Batch;
use crate::operator::{PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::options::{as_f64, as_i64, as_string};
use weir_pipeline::types::{parse_type_value, seatunnel_type_name};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct AssertSinkFactory;

#[derive(Debug, Clone)]
enum FieldRule {
    NotNull,
    Null,
    Min(f64),
    Max(f64),
    MinLength(usize),
    MaxLength(usize),
    /// The expected value as a one-element array of the column's type, and as written.
    EqualsTo(ArrayRef, String),
}

#[derive(Debug, Clone)]
struct FieldCheck {
    field: String,
    column: usize,
    /// `field_type`, when given.
    want_type: Option<DataType>,
    rules: Vec<FieldRule>,
}

impl SinkFactory for AssertSinkFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "Assert",
            PluginKind::Sink,
            vec![OptionSpec::required("rules", OptionType::Object)],
        )
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        let rules = o
            .object("rules")
            .map_err(WeirError::new)?
            .cloned()
            .unwrap_or_default();
        let mut min_rows = None;
        let mut max_rows = None;
        let mut checks = Vec::new();
        super::assert_catalog::check_table_names(&rules, &ctx.block_table_paths)?;
        for (at, set) in rule_sets(&rules, &ctx.table_paths)? {
            if let Some(rule) = set.get("catalog_table_rule") {
                // The table of a tables_configs entry, or the one the sink receives.
                let path = set.get("table_path").and_then(as_string);
                let table = ctx
                    .catalog_tables
                    .iter()
                    .find(|t| path.as_ref().is_none_or(|p| *p == t.table_path));
                super::assert_catalog::check_catalog_rule(&at, rule, &input, table)?;
            }
            if let Some(row_rules) = set.get("row_rules") {
                let list = row_rules
                    .as_array()
                    .ok_or_else(|| WeirError::new(format!("'{at}.row_rules' must be a list")))?;
                for (i, r) in list.iter().enumerate() {
                    let ty = r.get("rule_type").and_then(as_string).unwrap_or_default();
                    let value = r.get("rule_value").and_then(as_i64).ok_or_else(|| {
                        WeirError::new(format!("{at}.row_rules[{i}] needs an integer 'rule_value'"))
                    })?;
                    match ty.to_ascii_uppercase().as_str() {
                        "MIN_ROW" => min_rows = Some(value as u64),
                        "MAX_ROW" => max_rows = Some(value as u64),
                        other => {
                            return Err(WeirError::new(format!(
                                "{at}.row_rules[{i}]: unknown rule_type '{other}'; use MIN_ROW or MAX_ROW"
                            )))
                        }
                    }
                }
            }
            if let Some(field_rules) = set.get("field_rules") {
                let list = field_rules
                    .as_array()
                    .ok_or_else(|| WeirError::new(format!("'{at}.field_rules' must be a list")))?;
                for (i, fr) in list.iter().enumerate() {
                    checks.push(read_field_rule(
                        &format!("{at}.field_rules[{i}]"),
                        fr,
                        &input,
                    )?);
                }
            }
        }
        Ok(Arc::new(PreparedAssert {
            shared: Arc::new(Shared {
                rows: AtomicU64::new(0),
                finished: AtomicUsize::new(0),
            }),
            min_rows,
            max_rows,
            checks: Arc::new(checks),
        }))
    }
}

/// The rule sets that apply to a sink writing `tables`: the top-level rules, and each entry of
/// `tables_configs` whose `table_path` is one of them (SeaTunnel's per-table rules).
fn rule_sets<'a>(
    rules: &'a serde_json::Map<String, Value>,
    tables: &[String],
) -> WeirResult<Vec<(String, &'a serde_json::Map<String, Value>)>> {
    let mut sets = vec![("rules".to_string(), rules)];
    let Some(per_table) = rules.get("tables_configs") else {
        return Ok(sets);
    };
    let list = per_table
        .as_array()
        .ok_or_else(|| WeirError::new("'rules.tables_configs' must be a list"))?;
    for (i, entry) in list.iter().enumerate() {
        let at = format!("rules.tables_configs[{i}]");
        let set = entry
            .as_object()
            .ok_or_else(|| WeirError::new(format!("'{at}' must be an object")))?;
        let path = set
            .get("table_path")
            .and_then(as_string)
            .ok_or_else(|| WeirError::new(format!("{at} needs a 'table_path'")))?;
        if tables.contains(&path) {
            sets.push((at, set));
        }
    }
    Ok(sets)
}

fn read_field_rule(at: &str, fr: &Value, input: &SchemaRef) -> WeirResult<FieldCheck> {
    let field = fr
        .get("field_name")
        .and_then(as_string)
        .ok_or_else(|| WeirError::new(format!("{at} needs a 'field_name'")))?;
    let column = input.index_of(&field).map_err(|_| {
        let names: Vec<&str> = input.fields().iter().map(|f| f.name().as_str()).collect();
        WeirError::new(format!(
            "{at}: field '{field}' is not in the input; it has: {}",
            names.join(", ")
        ))
    })?;
    let want_type = match fr.get("field_type") {
        Some(ty) => Some(
            parse_type_value(ty)
                .map_err(|e| WeirError::new(format!("{at}.field_type: {}", e.0)))?,
        ),
        None => None,
    };
    let column_type = input.field(column).data_type().clone();
    let mut rules = Vec::new();
    if let Some(values) = fr.get("field_value").and_then(Value::as_array) {
        for (j, r) in values.iter().enumerate() {
            let ty = r
                .get("rule_type")
                .and_then(as_string)
                .unwrap_or_default()
                .to_ascii_uppercase();
            let num = || {
                r.get("rule_value").and_then(as_f64).ok_or_else(|| {
                    WeirError::new(format!(
                        "{at}.field_value[{j}] ({ty}) needs a numeric 'rule_value'"
                    ))
                })
            };
            rules.push(match ty.as_str() {
                "NOT_NULL" => FieldRule::NotNull,
                "NULL" => FieldRule::Null,
                "MIN" => FieldRule::Min(num()?),
                "MAX" => FieldRule::Max(num()?),
                "MIN_LENGTH" => FieldRule::MinLength(num()? as usize),
                "MAX_LENGTH" => FieldRule::MaxLength(num()? as usize),
                _ if r.get("equals_to").is_some() => {
                    let raw = r.get("equals_to").cloned().unwrap_or(Value::Null);
                    let expected = crate::values::values_to_array(&column_type, std::slice::from_ref(&raw))
                        .map_err(|e| {
                            WeirError::new(format!(
                                "{at}.field_value[{j}].equals_to: {raw} is not a {} value: {e}",
                                seatunnel_type_name(&column_type)
                            ))
                        })?;
                    let text = as_string(&raw).unwrap_or_else(|| raw.to_string());
                    FieldRule::EqualsTo(expected, text)
                }
                other => {
                    return Err(WeirError::new(format!(
                        "{at}.field_value[{j}]: unknown rule_type '{other}'; use NOT_NULL, NULL, MIN, MAX, MIN_LENGTH or MAX_LENGTH"
                    )))
                }
            });
        }
    }
    Ok(FieldCheck {
        field,
        column,
        want_type,
        rules,
    })
}

fn same_type(want: &DataType, have: &DataType) -> bool {
    match (want, have) {
        // SeaTunnel checks a decimal's scale; its precision only bounds the value.
        (DataType::Decimal128(_, ws), DataType::Decimal128(_, hs)) => ws == hs,
        (DataType::Timestamp(..), DataType::Timestamp(..)) => true,
        (DataType::Time64(_) | DataType::Time32(_), DataType::Time64(_) | DataType::Time32(_)) => {
            true
        }
        (DataType::Utf8, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => true,
        _ => want == have,
    }
}

struct Shared {
    rows: AtomicU64,
    finished: AtomicUsize,
}

struct PreparedAssert {
    shared: Arc<Shared>,
    min_rows: Option<u64>,
    max_rows: Option<u64>,
    checks: Arc<Vec<FieldCheck>>,
}

impl PreparedSink for PreparedAssert {
    fn create_writer(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        Ok(Box::new(AssertWriter {
            shared: self.shared.clone(),
            parallelism: subtask.parallelism,
            min_rows: self.min_rows,
            max_rows: self.max_rows,
            checks: self.checks.clone(),
        }))
    }
}

struct AssertWriter {
    shared: Arc<Shared>,
    parallelism: usize,
    min_rows: Option<u64>,
    max_rows: Option<u64>,
    checks: Arc<Vec<FieldCheck>>,
}

fn show(col: &ArrayRef, row: usize) -> String {
    ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default().with_null("null"))
        .map(|f| f.value(row).to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Whether each value is null, including the values of a `null`-typed column (which carry no
/// null buffer of their own).
fn nulls(col: &ArrayRef) -> Option<NullBuffer> {
    col.logical_nulls()
}

fn is_numeric(dt: &DataType) -> bool {
    dt.is_numeric() || matches!(dt, DataType::Decimal128(..) | DataType::Decimal256(..))
}

fn check_column(check: &FieldCheck, col: &ArrayRef) -> WeirResult<()> {
    let fail = |rule: &str, row: usize| {
        Err(WeirError::new(format!(
            "assertion failed: field '{}' rule {rule} violated by value '{}'",
            check.field,
            show(col, row)
        )))
    };
    let nulls = nulls(col);
    let is_null = |r: usize| nulls.as_ref().is_some_and(|n| n.is_null(r));
    let rows = 0..col.len();
    if let Some(want) = &check.want_type {
        let name = seatunnel_type_name(want);
        let holds_for_values = same_type(want, col.data_type());
        let holds_for_nulls = *want == DataType::Null;
        let broken = rows.clone().find(|&r| {
            if is_null(r) {
                !holds_for_nulls
            } else {
                !holds_for_values
            }
        });
        if let Some(row) = broken {
            let why = if is_null(row) {
                "a null value has type null".to_string()
            } else {
                format!("the field is {}", seatunnel_type_name(col.data_type()))
            };
            return fail(&format!("field_type {name} ({why})"), row);
        }
    }
    for rule in &check.rules {
        match rule {
            FieldRule::NotNull => {
                if let Some(row) = rows.clone().find(|&r| is_null(r)) {
                    return fail("NOT_NULL", row);
                }
            }
            FieldRule::Null => {
                if let Some(row) = rows.clone().find(|&r| !is_null(r)) {
                    return fail("NULL", row);
                }
            }
            FieldRule::Min(m) | FieldRule::Max(m) => {
                let name = match rule {
                    FieldRule::Min(_) => format!("MIN {m}"),
                    _ => format!("MAX {m}"),
                };
                if !is_numeric(col.data_type()) {
                    if let Some(row) = rows.clone().next() {
                        return fail(&name, row);
                    }
                    continue;
                }
                let numbers = cast(col.as_ref(), &DataType::Float64).map_err(|e| {
                    WeirError::new(format!("rule {name} on '{}': {e}", check.field))
                })?;
                let numbers = numbers.as_primitive::<Float64Type>();
                for (row, v) in numbers.iter().enumerate() {
                    let holds = match (rule, v) {
                        (_, None) => false,
                        (FieldRule::Min(m), Some(v)) => v >= *m,
                        (_, Some(v)) => v <= *m,
                    };
                    if !holds {
                        return fail(&name, row);
                    }
                }
            }
            FieldRule::MinLength(n) | FieldRule::MaxLength(n) => {
                let text = ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default())
                    .map_err(|e| WeirError::new(format!("rule on '{}': {e}", check.field)))?;
                for row in rows.clone() {
                    let len = if is_null(row) {
                        0
                    } else {
                        text.value(row).to_string().chars().count()
                    };
                    match rule {
                        FieldRule::MinLength(_) if len < *n => {
                            return fail(&format!("MIN_LENGTH {n}"), row)
                        }
                        FieldRule::MaxLength(_) if len > *n => {
                            return fail(&format!("MAX_LENGTH {n}"), row)
                        }
                        _ => {}
                    }
                }
            }
            FieldRule::EqualsTo(expected, text) => {
                let want = show(expected, 0);
                if let Some(row) = rows.clone().find(|&r| !is_null(r) && show(col, r) != want) {
                    return fail(&format!("equals_to '{text}'"), row);
                }
            }
        }
    }
    Ok(())
}

#[async_trait]
impl SinkWriter for AssertWriter {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        for check in self.checks.iter() {
            check_column(check, batch.records.column(check.column))?;
        }
        self.shared
            .rows
            .fetch_add(batch.num_rows() as u64, Ordering::SeqCst);
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        let done = self.shared.finished.fetch_add(1, Ordering::SeqCst) + 1;
        if done < self.parallelism {
            return Ok(());
        }
        let rows = self.shared.rows.load(Ordering::SeqCst);
        if let Some(min) = self.min_rows {
            if rows < min {
                return Err(WeirError::new(format!(
                    "assertion failed: MIN_ROW {min}, but the sink received {rows} rows"
                )));
            }
        }
        if let Some(max) = self.max_rows {
            if rows > max {
                return Err(WeirError::new(format!(
                    "assertion failed: MAX_ROW {max}, but the sink received {rows} rows"
                )));
            }
        }
        Ok(())
    }
}
