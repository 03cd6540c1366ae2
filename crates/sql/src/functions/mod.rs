//! SeaTunnel's SQL functions, where DataFusion has none of the name or one that means something
//! else: registered on the session the `Sql` transform plans with, so a SeaTunnel query runs
//! unchanged and gets SeaTunnel's answer.
//!
//! Each function is written the way SeaTunnel's `StringFunction`, `NumericFunction`,
//! `DateTimeFunction` and `SystemFunction` are, one row at a time over typed values
//! ([`RowFunction`]): these functions are rare in a query, so fidelity to SeaTunnel's argument
//! order and null handling matters more than vector speed. The common functions SeaTunnel and
//! DataFusion agree on stay DataFusion's own.

mod crypto;
mod datetime;
mod numeric;
mod string;
pub(crate) mod system;

use arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers every SeaTunnel function on `ctx`, replacing DataFusion's of the same name.
pub fn register(ctx: &SessionContext) {
    let all = string::functions()
        .into_iter()
        .chain(numeric::functions())
        .chain(datetime::functions())
        .chain(system::functions())
        .chain(crypto::functions());
    for f in all {
        ctx.register_udf(ScalarUDF::new_from_impl(f));
    }
}

/// A function's result type: fixed, or following from its arguments' types.
#[derive(Debug, Clone)]
pub(crate) enum Returns {
    Type(DataType),
    Computed(fn(&[DataType]) -> Result<DataType>),
    /// From the arguments' types and the values of those given as literals (a pattern that
    /// decides between a date and a timestamp).
    FromLiterals(fn(&[DataType], &[Option<&ScalarValue>]) -> Result<DataType>),
}

/// One row's evaluation: the arguments' values (typed nulls included) and the result type.
type Eval = fn(&[ScalarValue], &DataType) -> Result<ScalarValue>;

/// A SeaTunnel function evaluated row by row.
#[derive(Debug)]
pub(crate) struct RowFunction {
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
    /// The argument counts it takes.
    arities: &'static [usize],
    returns: Returns,
    eval: Eval,
}

impl PartialEq for RowFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for RowFunction {}

impl std::hash::Hash for RowFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl RowFunction {
    /// A deterministic function taking `arities` arguments of any type (its evaluation checks
    /// what it gets).
    pub(crate) fn new(
        name: &'static str,
        arities: &'static [usize],
        returns: Returns,
        eval: Eval,
    ) -> Self {
        Self {
            name,
            aliases: Vec::new(),
            signature: any_arguments(Volatility::Immutable),
            arities,
            returns,
            eval,
        }
    }

    /// A function whose result changes between calls (the clock, random numbers): never
    /// folded into a constant when the query is planned.
    pub(crate) fn volatile(self) -> Self {
        Self {
            signature: any_arguments(Volatility::Volatile),
            ..self
        }
    }

    /// Other names SeaTunnel knows the function by.
    pub(crate) fn aliases(mut self, names: &[&str]) -> Self {
        self.aliases = names.iter().map(|n| n.to_string()).collect();
        self
    }
}

impl RowFunction {
    fn result_type(
        &self,
        args: &[DataType],
        literals: &[Option<&ScalarValue>],
    ) -> Result<DataType> {
        arity(self.name, args, self.arities)?;
        match &self.returns {
            Returns::Type(t) => Ok(t.clone()),
            Returns::Computed(f) => f(args),
            Returns::FromLiterals(f) => f(args, literals),
        }
    }
}

fn any_arguments(volatility: Volatility) -> Signature {
    Signature::one_of(
        vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
        volatility,
    )
}

impl ScalarUDFImpl for RowFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.result_type(args, &[])
    }

    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<arrow::datatypes::FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let t = self.result_type(&types, args.scalar_arguments)?;
        Ok(std::sync::Arc::new(arrow::datatypes::Field::new(
            self.name, t, true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let out_type = args.return_field.data_type().clone();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut values = Vec::with_capacity(rows);
        let mut row_args = Vec::with_capacity(arrays.len());
        for row in 0..rows {
            row_args.clear();
            for a in &arrays {
                row_args.push(ScalarValue::try_from_array(a, row)?);
            }
            let v = (self.eval)(&row_args, &out_type)?;
            values.push(if v.is_null() {
                ScalarValue::try_from(&out_type)?
            } else {
                v.cast_to(&out_type)?
            });
        }
        if values.is_empty() {
            return Ok(ColumnarValue::Array(arrow::array::new_empty_array(
                &out_type,
            )));
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(values)?))
    }
}

/// An error in a call, naming the function.
pub(crate) fn call_error(function: &str, what: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{function}: {what}"))
}

/// The number of arguments must be one of `counts`.
pub(crate) fn arity(function: &str, args: &[DataType], counts: &[usize]) -> Result<()> {
    if counts.contains(&args.len()) {
        Ok(())
    } else {
        let want: Vec<String> = counts.iter().map(|c| c.to_string()).collect();
        Err(DataFusionError::Plan(format!(
            "{function} takes {} arguments, got {}",
            want.join(" or "),
            args.len()
        )))
    }
}

/// Typed views of one argument's value, with SeaTunnel's conversions.
pub(crate) mod value {
    use arrow::datatypes::DataType;
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
    use datafusion::common::ScalarValue;

    /// The value as text, as Java's `toString` would show it (`None` for null).
    pub fn text(v: &ScalarValue) -> Option<String> {
        if v.is_null() {
            return None;
        }
        match v {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
            ScalarValue::Binary(Some(b))
            | ScalarValue::LargeBinary(Some(b))
            | ScalarValue::BinaryView(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            v if is_timestamp(v) => timestamp(v).map(|t| java_datetime(&t)),
            other => v
                .cast_to(&DataType::Utf8)
                .ok()
                .and_then(|s| match s {
                    ScalarValue::Utf8(s) => s,
                    _ => None,
                })
                .or_else(|| Some(other.to_string())),
        }
    }

    /// Java's `LocalDateTime.toString()`: seconds shown only when not zero, fractions trimmed
    /// to milliseconds, microseconds or nanoseconds.
    pub fn java_datetime(t: &NaiveDateTime) -> String {
        format!("{}T{}", t.date(), java_time(&t.time()))
    }

    /// Java's `LocalTime.toString()`.
    pub fn java_time(t: &NaiveTime) -> String {
        use chrono::Timelike;
        let nanos = t.nanosecond() % 1_000_000_000;
        let base = if t.second() == 0 && nanos == 0 {
            t.format("%H:%M").to_string()
        } else {
            t.format("%H:%M:%S").to_string()
        };
        if nanos == 0 {
            base
        } else if nanos.is_multiple_of(1_000_000) {
            format!("{base}.{:03}", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            format!("{base}.{:06}", nanos / 1_000)
        } else {
            format!("{base}.{nanos:09}")
        }
    }

    /// The value as a whole number (integers, and decimals or floats truncated).
    pub fn int(v: &ScalarValue) -> Option<i64> {
        if v.is_null() {
            return None;
        }
        match v.cast_to(&DataType::Int64).ok()? {
            ScalarValue::Int64(n) => n,
            _ => None,
        }
    }

    /// The value as a double.
    pub fn float(v: &ScalarValue) -> Option<f64> {
        if v.is_null() {
            return None;
        }
        match v.cast_to(&DataType::Float64).ok()? {
            ScalarValue::Float64(n) => n,
            _ => None,
        }
    }

    /// Whether the value is an integer type (SeaTunnel's Integer or Long).
    pub fn is_integer(v: &ScalarValue) -> bool {
        v.data_type().is_integer()
    }

    /// A date, time or timestamp value as a date-time (a date at midnight; a time today).
    pub fn timestamp(v: &ScalarValue) -> Option<NaiveDateTime> {
        if v.is_null() {
            return None;
        }
        match v {
            ScalarValue::Date32(Some(d)) => NaiveDate::from_num_days_from_ce_opt(d + 719_163)
                .map(|d| d.and_time(NaiveTime::MIN)),
            ScalarValue::Date64(Some(ms)) => {
                chrono::DateTime::from_timestamp_millis(*ms).map(|t| t.naive_utc())
            }
            ScalarValue::Time64Microsecond(_)
            | ScalarValue::Time64Nanosecond(_)
            | ScalarValue::Time32Millisecond(_)
            | ScalarValue::Time32Second(_) => {
                time(v).map(|t| chrono::Local::now().date_naive().and_time(t))
            }
            v if is_timestamp(v) => {
                let micros = match v.cast_to(&DataType::Timestamp(
                    arrow::datatypes::TimeUnit::Microsecond,
                    None,
                )) {
                    Ok(ScalarValue::TimestampMicrosecond(Some(us), _)) => us,
                    _ => return None,
                };
                chrono::DateTime::from_timestamp_micros(micros).map(|t| t.naive_utc())
            }
            _ => None,
        }
    }

    /// A date value (the date of a timestamp).
    pub fn date(v: &ScalarValue) -> Option<NaiveDate> {
        match v {
            ScalarValue::Time64Microsecond(_)
            | ScalarValue::Time64Nanosecond(_)
            | ScalarValue::Time32Millisecond(_)
            | ScalarValue::Time32Second(_) => None,
            _ => timestamp(v).map(|t| t.date()),
        }
    }

    /// A time value (the time of a timestamp).
    pub fn time(v: &ScalarValue) -> Option<NaiveTime> {
        let nanos = match v {
            ScalarValue::Time64Microsecond(Some(us)) => us * 1_000,
            ScalarValue::Time64Nanosecond(Some(ns)) => *ns,
            ScalarValue::Time32Millisecond(Some(ms)) => i64::from(*ms) * 1_000_000,
            ScalarValue::Time32Second(Some(s)) => i64::from(*s) * 1_000_000_000,
            v if is_timestamp(v) => return timestamp(v).map(|t| t.time()),
            _ => return None,
        };
        NaiveTime::from_num_seconds_from_midnight_opt(
            (nanos / 1_000_000_000) as u32,
            (nanos % 1_000_000_000) as u32,
        )
    }

    /// A timestamp result.
    pub fn from_timestamp(t: NaiveDateTime) -> ScalarValue {
        ScalarValue::TimestampMicrosecond(Some(t.and_utc().timestamp_micros()), None)
    }

    /// A date result.
    pub fn from_date(d: NaiveDate) -> ScalarValue {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
        ScalarValue::Date32(Some((d - epoch).num_days() as i32))
    }

    /// A time result.
    pub fn from_time(t: NaiveTime) -> ScalarValue {
        use chrono::Timelike;
        let micros = i64::from(t.num_seconds_from_midnight()) * 1_000_000
            + i64::from(t.nanosecond() / 1_000);
        ScalarValue::Time64Microsecond(Some(micros))
    }

    /// Whether the value is a timestamp (of any unit or zone).
    pub fn is_timestamp(v: &ScalarValue) -> bool {
        matches!(v.data_type(), DataType::Timestamp(..))
    }

    /// Whether the value is a date (no time of day).
    pub fn is_date(v: &ScalarValue) -> bool {
        matches!(v, ScalarValue::Date32(_) | ScalarValue::Date64(_))
    }

    /// Whether the value is a time of day (no date).
    pub fn is_time(v: &ScalarValue) -> bool {
        matches!(
            v,
            ScalarValue::Time64Microsecond(_)
                | ScalarValue::Time64Nanosecond(_)
                | ScalarValue::Time32Millisecond(_)
                | ScalarValue::Time32Second(_)
        )
    }
}
