//! SeaTunnel's system functions (`SystemFunction.java`): `IFNULL`, and `CAST` where SeaTunnel
//! means something DataFusion does not (a BIGINT cast to TIMESTAMP is epoch milliseconds, an
//! INT cast to DATE is `yyyyMMdd`, to TIME `HHmmss`, and the `BYTES` type).

use super::value::{from_date, from_time, from_timestamp, is_integer, text};
use super::{call_error, Returns, RowFunction};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{NaiveDate, NaiveTime};
use datafusion::common::{Result, ScalarValue};

/// The functions the dialect rewrites `CAST(x AS ...)` into.
pub(crate) const CAST_TIMESTAMP: &str = "st_cast_timestamp";
pub(crate) const CAST_DATE: &str = "st_cast_date";
pub(crate) const CAST_TIME: &str = "st_cast_time";
pub(crate) const CAST_BYTES: &str = "st_cast_bytes";

pub(super) fn functions() -> Vec<RowFunction> {
    vec![
        RowFunction::new("ifnull", &[2], Returns::Computed(first_type), |a, _| {
            Ok(a.iter()
                .find(|v| !v.is_null())
                .cloned()
                .unwrap_or(ScalarValue::Null))
        }),
        RowFunction::new(
            CAST_TIMESTAMP,
            &[1],
            Returns::Type(DataType::Timestamp(TimeUnit::Microsecond, None)),
            cast_timestamp,
        ),
        RowFunction::new(CAST_DATE, &[1], Returns::Type(DataType::Date32), cast_date),
        RowFunction::new(
            CAST_TIME,
            &[1],
            Returns::Type(DataType::Time64(TimeUnit::Microsecond)),
            cast_time,
        ),
        RowFunction::new(CAST_BYTES, &[1], Returns::Type(DataType::Binary), |a, _| {
            Ok(ScalarValue::Binary(a[0..].first().and_then(|v| match v {
                ScalarValue::Binary(b) | ScalarValue::LargeBinary(b) => b.clone(),
                other => text(other).map(String::into_bytes),
            })))
        }),
    ]
}

fn first_type(args: &[DataType]) -> Result<DataType> {
    Ok(args
        .iter()
        .find(|t| **t != DataType::Null)
        .cloned()
        .unwrap_or(DataType::Null))
}

/// Everything else is cast as DataFusion casts it (text is parsed).
fn plain_cast(v: &ScalarValue, to: &DataType, what: &str) -> Result<ScalarValue> {
    v.cast_to(to)
        .map_err(|e| call_error("cast", format!("{v} cannot be cast to {what}: {e}")))
}

fn cast_timestamp(a: &[ScalarValue], out: &DataType) -> Result<ScalarValue> {
    let v = &a[0];
    if v.is_null() {
        return Ok(ScalarValue::Null);
    }
    if is_integer(v) {
        let ms = super::value::int(v).unwrap_or_default();
        let t = chrono::DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| call_error("cast", format!("{ms} ms is out of range")))?
            .with_timezone(&chrono::Local)
            .naive_local();
        return Ok(from_timestamp(t));
    }
    plain_cast(v, out, "TIMESTAMP")
}

/// An integer written as three two-digit-or-more groups, `yyyyMMdd` or `HHmmss`.
fn digit_groups(n: i64) -> (i64, u32, u32) {
    (n / 10000, ((n / 100) % 100) as u32, (n % 100) as u32)
}

fn cast_date(a: &[ScalarValue], out: &DataType) -> Result<ScalarValue> {
    let v = &a[0];
    if v.is_null() {
        return Ok(ScalarValue::Null);
    }
    if is_integer(v) {
        let n = super::value::int(v).unwrap_or_default();
        let (y, m, d) = digit_groups(n);
        let date = NaiveDate::from_ymd_opt(y as i32, m, d)
            .ok_or_else(|| call_error("cast", format!("{n} is not a date as yyyyMMdd")))?;
        return Ok(from_date(date));
    }
    plain_cast(v, out, "DATE")
}

fn cast_time(a: &[ScalarValue], out: &DataType) -> Result<ScalarValue> {
    let v = &a[0];
    if v.is_null() {
        return Ok(ScalarValue::Null);
    }
    if is_integer(v) {
        let n = super::value::int(v).unwrap_or_default();
        let (h, m, s) = digit_groups(n);
        let time = NaiveTime::from_hms_opt(h as u32, m, s)
            .ok_or_else(|| call_error("cast", format!("{n} is not a time as HHmmss")))?;
        return Ok(from_time(time));
    }
    if super::value::is_date(v) {
        return Ok(from_time(NaiveTime::MIN));
    }
    plain_cast(v, out, "TIME")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_seatunnel() {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
        let t = cast_timestamp(&[ScalarValue::Int64(Some(0))], &ts).unwrap();
        assert!(matches!(
            t,
            ScalarValue::TimestampMicrosecond(Some(_), None)
        ));
        let d = cast_date(&[ScalarValue::Int32(Some(20230625))], &DataType::Date32).unwrap();
        assert_eq!(d, from_date(NaiveDate::from_ymd_opt(2023, 6, 25).unwrap()));
        let tm = cast_time(
            &[ScalarValue::Int32(Some(235109))],
            &DataType::Time64(TimeUnit::Microsecond),
        )
        .unwrap();
        assert_eq!(tm, from_time(NaiveTime::from_hms_opt(23, 51, 9).unwrap()));
        assert!(cast_date(&[ScalarValue::Int32(Some(20231399))], &DataType::Date32).is_err());
        let s = cast_date(
            &[ScalarValue::Utf8(Some("2012-12-21".into()))],
            &DataType::Date32,
        )
        .unwrap();
        assert_eq!(s, from_date(NaiveDate::from_ymd_opt(2012, 12, 21).unwrap()));
    }
}
