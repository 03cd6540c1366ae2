//! Arrow values as statement parameters: for PostgreSQL converted to the type the server
//! expects at each placeholder (its binary format differs per type), for MySQL as the
//! protocol's loosely typed values.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use bytes::BytesMut;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use weir_core::{WeirError, WeirResult};

/// One parameter for PostgreSQL.
#[derive(Debug, Clone)]
pub enum PgParam {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    Date(chrono::NaiveDate),
    Time(chrono::NaiveTime),
    Timestamp(chrono::NaiveDateTime),
    TimestampTz(chrono::DateTime<chrono::Utc>),
    Json(serde_json::Value),
    Uuid(uuid::Uuid),
    /// A whole number and its scale.
    Numeric(i128, i8),
}

impl ToSql for PgParam {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            PgParam::Null => Ok(IsNull::Yes),
            PgParam::Bool(v) => v.to_sql(ty, out),
            PgParam::I16(v) => v.to_sql(ty, out),
            PgParam::I32(v) => v.to_sql(ty, out),
            PgParam::I64(v) => v.to_sql(ty, out),
            PgParam::F32(v) => v.to_sql(ty, out),
            PgParam::F64(v) => v.to_sql(ty, out),
            PgParam::Text(v) => v.to_sql(ty, out),
            PgParam::Bytes(v) => v.to_sql(ty, out),
            PgParam::Date(v) => v.to_sql(ty, out),
            PgParam::Time(v) => v.to_sql(ty, out),
            PgParam::Timestamp(v) => v.to_sql(ty, out),
            PgParam::TimestampTz(v) => v.to_sql(ty, out),
            PgParam::Json(v) => v.to_sql(ty, out),
            PgParam::Uuid(v) => v.to_sql(ty, out),
            PgParam::Numeric(v, scale) => {
                numeric_binary(*v, *scale, out);
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        // Each value is converted to its placeholder's type before it is bound.
        true
    }

    to_sql_checked!();
}

/// PostgreSQL's binary NUMERIC of `value / 10^scale`.
fn numeric_binary(value: i128, scale: i8, out: &mut BytesMut) {
    let negative = value < 0;
    let mut magnitude = value.unsigned_abs();
    let scale = scale.max(0) as u32;
    // Pad the fraction to whole base-10000 digits.
    let pad = (4 - scale % 4) % 4;
    magnitude *= 10u128.pow(pad);
    let frac_groups = (scale + pad) / 4;
    let mut groups: Vec<i16> = Vec::new();
    while magnitude > 0 {
        groups.push((magnitude % 10_000) as i16);
        magnitude /= 10_000;
    }
    // groups are least significant first; drop trailing zero groups of the fraction.
    let mut first = 0;
    while first < groups.len() && groups[first] == 0 {
        first += 1;
    }
    let weight = groups.len() as i32 - frac_groups as i32 - 1;
    let digits: Vec<i16> = groups[first..].iter().rev().copied().collect();
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&(if digits.is_empty() { 0 } else { weight as i16 }).to_be_bytes());
    out.extend_from_slice(&(if negative { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&(scale as i16).to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

fn epoch() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// The value at `row` as an integer, if the column holds integers.
fn as_i64(array: &ArrayRef, row: usize) -> Option<i64> {
    Some(match array.data_type() {
        DataType::Int8 => i64::from(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => i64::from(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => i64::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row),
        DataType::UInt8 => i64::from(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => i64::from(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => i64::from(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => i64::try_from(array.as_primitive::<UInt64Type>().value(row)).ok()?,
        DataType::Boolean => i64::from(array.as_boolean().value(row)),
        _ => return None,
    })
}

fn as_f64(array: &ArrayRef, row: usize) -> Option<f64> {
    Some(match array.data_type() {
        DataType::Float32 => f64::from(array.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => array.as_primitive::<Float64Type>().value(row),
        DataType::Decimal128(_, s) => {
            array.as_primitive::<Decimal128Type>().value(row) as f64 / 10f64.powi(i32::from(*s))
        }
        _ => as_i64(array, row)? as f64,
    })
}

/// Microseconds since the epoch of a timestamp column.
fn timestamp_micros(array: &ArrayRef, row: usize) -> Option<i64> {
    Some(match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            array.as_primitive::<TimestampSecondType>().value(row) * 1_000_000
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            array.as_primitive::<TimestampMillisecondType>().value(row) * 1000
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            array.as_primitive::<TimestampMicrosecondType>().value(row)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            array.as_primitive::<TimestampNanosecondType>().value(row) / 1000
        }
        DataType::Date32 => {
            i64::from(array.as_primitive::<Date32Type>().value(row)) * 86_400_000_000
        }
        _ => return None,
    })
}

/// The value's text, as SeaTunnel would write it into a text column.
pub fn text(array: &ArrayRef, row: usize) -> WeirResult<String> {
    match array.data_type() {
        DataType::Utf8 => return Ok(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => return Ok(array.as_string::<i64>().value(row).to_string()),
        DataType::Binary => {
            return Ok(String::from_utf8_lossy(array.as_binary::<i32>().value(row)).into_owned())
        }
        _ => {}
    }
    if array.data_type().is_integer() {
        if let Some(i) = as_i64(array, row) {
            return Ok(i.to_string());
        }
    }
    let f = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
        .map_err(|e| WeirError::new(e.to_string()))?;
    Ok(f.value(row).to_string())
}

/// The value at `row` of `array`, for a placeholder of PostgreSQL type `target`.
pub fn pg_param(array: &ArrayRef, row: usize, target: &Type, column: &str) -> WeirResult<PgParam> {
    if array.is_null(row) {
        return Ok(PgParam::Null);
    }
    let bad = || {
        WeirError::new(format!(
            "column '{column}' ({}) cannot be written to a PostgreSQL {target} column",
            array.data_type()
        ))
    };
    let int = || as_i64(array, row).ok_or_else(bad);
    Ok(match *target {
        Type::BOOL => match array.data_type() {
            DataType::Boolean => PgParam::Bool(array.as_boolean().value(row)),
            _ => PgParam::Bool(int()? != 0),
        },
        Type::INT2 => PgParam::I16(i16::try_from(int()?).map_err(|_| bad())?),
        Type::INT4 => PgParam::I32(i32::try_from(int()?).map_err(|_| bad())?),
        Type::INT8 => PgParam::I64(int()?),
        Type::FLOAT4 => PgParam::F32(as_f64(array, row).ok_or_else(bad)? as f32),
        Type::FLOAT8 => PgParam::F64(as_f64(array, row).ok_or_else(bad)?),
        Type::NUMERIC => match array.data_type() {
            DataType::Decimal128(_, s) => {
                PgParam::Numeric(array.as_primitive::<Decimal128Type>().value(row), *s)
            }
            DataType::Float32 | DataType::Float64 => {
                // Through the shortest text that reads back as the same double.
                PgParam::Text(as_f64(array, row).ok_or_else(bad)?.to_string())
            }
            _ => PgParam::Numeric(i128::from(int()?), 0),
        },
        Type::BYTEA => match array.data_type() {
            DataType::Binary => PgParam::Bytes(array.as_binary::<i32>().value(row).to_vec()),
            DataType::LargeBinary => PgParam::Bytes(array.as_binary::<i64>().value(row).to_vec()),
            _ => PgParam::Bytes(text(array, row)?.into_bytes()),
        },
        Type::DATE => match array.data_type() {
            DataType::Date32 => PgParam::Date(
                epoch()
                    + chrono::Duration::days(i64::from(
                        array.as_primitive::<Date32Type>().value(row),
                    )),
            ),
            _ => {
                let micros = timestamp_micros(array, row).ok_or_else(bad)?;
                PgParam::Date(
                    chrono::DateTime::from_timestamp_micros(micros)
                        .ok_or_else(bad)?
                        .date_naive(),
                )
            }
        },
        Type::TIME => match array.data_type() {
            DataType::Time64(TimeUnit::Microsecond) => {
                let us = array.as_primitive::<Time64MicrosecondType>().value(row);
                PgParam::Time(
                    chrono::NaiveTime::from_num_seconds_from_midnight_opt(
                        (us / 1_000_000) as u32,
                        ((us % 1_000_000) * 1000) as u32,
                    )
                    .ok_or_else(bad)?,
                )
            }
            _ => return Err(bad()),
        },
        Type::TIMESTAMP => {
            let micros = timestamp_micros(array, row).ok_or_else(bad)?;
            PgParam::Timestamp(
                chrono::DateTime::from_timestamp_micros(micros)
                    .ok_or_else(bad)?
                    .naive_utc(),
            )
        }
        Type::TIMESTAMPTZ => {
            let micros = timestamp_micros(array, row).ok_or_else(bad)?;
            PgParam::TimestampTz(chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?)
        }
        Type::JSON | Type::JSONB => {
            let t = text(array, row)?;
            PgParam::Json(serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)))
        }
        Type::UUID => PgParam::Uuid(
            text(array, row)?
                .parse()
                .map_err(|e| WeirError::new(format!("column '{column}': not a uuid: {e}")))?,
        ),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => PgParam::Text(text(array, row)?),
        _ => return Err(bad()),
    })
}

/// The value at `row` of `array` for MySQL.
pub fn mysql_value(array: &ArrayRef, row: usize) -> WeirResult<mysql_async::Value> {
    use mysql_async::Value;
    if array.is_null(row) {
        return Ok(Value::NULL);
    }
    Ok(match array.data_type() {
        DataType::Boolean => Value::Int(i64::from(array.as_boolean().value(row))),
        DataType::UInt64 => Value::UInt(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => Value::Int(as_i64(array, row).unwrap_or_default()),
        DataType::Float32 => Value::Float(array.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => Value::Double(array.as_primitive::<Float64Type>().value(row)),
        DataType::Binary => Value::Bytes(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Value::Bytes(array.as_binary::<i64>().value(row).to_vec()),
        DataType::Date32 => {
            let d = epoch()
                + chrono::Duration::days(i64::from(array.as_primitive::<Date32Type>().value(row)));
            use chrono::Datelike;
            Value::Date(d.year() as u16, d.month() as u8, d.day() as u8, 0, 0, 0, 0)
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let us = array.as_primitive::<Time64MicrosecondType>().value(row);
            let secs = us / 1_000_000;
            Value::Time(
                false,
                0,
                (secs / 3600) as u8,
                (secs / 60 % 60) as u8,
                (secs % 60) as u8,
                (us % 1_000_000) as u32,
            )
        }
        DataType::Timestamp(..) => {
            let micros = timestamp_micros(array, row).unwrap_or_default();
            let t = chrono::DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| WeirError::new("a timestamp out of range"))?
                .naive_utc();
            use chrono::{Datelike, Timelike};
            Value::Date(
                t.year() as u16,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                t.nanosecond() / 1000,
            )
        }
        _ => Value::Bytes(text(array, row)?.into_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: i128, scale: i8) -> Vec<i16> {
        let mut out = BytesMut::new();
        numeric_binary(value, scale, &mut out);
        out.chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn numerics_encode_as_postgres_reads_them() {
        // 12345.678 at scale 3: ndigits 3, weight 1, positive, dscale 3, [1, 2345, 6780]
        assert_eq!(encoded(12_345_678, 3), vec![3, 1, 0, 3, 1, 2345, 6780]);
        assert_eq!(encoded(-5, 0), vec![1, 0, 0x4000, 0, 5]);
        assert_eq!(encoded(0, 2), vec![0, 0, 0, 2]);
        // 0.01 at scale 2: one digit 100 at weight -1
        assert_eq!(encoded(1, 2), vec![1, -1, 0, 2, 100]);
    }
}
