//! MySQL and MariaDB through mysql_async: connecting as a JDBC URL says, describing a query's
//! columns as Arrow types (as SeaTunnel's MySQL type converter maps them: `tinyint(1)` is a
//! boolean, unsigned integers widen, decimals keep precision and scale), and reading a split
//! through the binary protocol on a task that owns the connection and hands over `fetch_size` rows at a
//! time through a bounded channel, so a table of any size streams through a bounded buffer.

use crate::url::JdbcUrl;
use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, Int8Array, StringArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use std::sync::Arc;
use std::time::Duration;
use weir_core::{WeirError, WeirResult};

/// Connects to the database of `url`.
pub async fn connect(
    url: &JdbcUrl,
    user: &str,
    password: Option<&str>,
    timeout: Duration,
) -> WeirResult<Conn> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(url.host.clone())
        .tcp_port(url.port)
        .user(Some(user.to_string()))
        .pass(password.map(str::to_string))
        .db_name(url.database.clone())
        .prefer_socket(false);
    let shown = format!("{}:{}", url.host, url.port);
    tokio::time::timeout(timeout, Conn::new(opts))
        .await
        .map_err(|_| {
            WeirError::new(format!(
                "connecting to MySQL at {shown} timed out after {timeout:?}"
            ))
        })?
        .map_err(|e| WeirError::new(format!("connecting to MySQL at {shown}: {e}")))
}

/// One column of a query's result, with how its values become Arrow.
#[derive(Debug, Clone)]
pub struct MyColumn {
    pub name: String,
    pub arrow: DataType,
}

/// The character set MySQL gives binary strings.
const BINARY_CHARSET: u16 = 63;

fn arrow_type(c: &mysql_async::Column) -> Result<DataType, String> {
    let unsigned = c.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = c.character_set() == BINARY_CHARSET;
    use ColumnType::*;
    Ok(match c.column_type() {
        MYSQL_TYPE_TINY if c.column_length() == 1 => DataType::Boolean,
        MYSQL_TYPE_TINY if unsigned => DataType::Int16,
        MYSQL_TYPE_TINY => DataType::Int8,
        MYSQL_TYPE_SHORT if unsigned => DataType::Int32,
        MYSQL_TYPE_SHORT => DataType::Int16,
        MYSQL_TYPE_INT24 => DataType::Int32,
        MYSQL_TYPE_LONG if unsigned => DataType::Int64,
        MYSQL_TYPE_LONG => DataType::Int32,
        MYSQL_TYPE_LONGLONG if unsigned => DataType::Decimal128(20, 0),
        MYSQL_TYPE_LONGLONG => DataType::Int64,
        MYSQL_TYPE_YEAR => DataType::Int32,
        MYSQL_TYPE_FLOAT => DataType::Float32,
        MYSQL_TYPE_DOUBLE => DataType::Float64,
        MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => {
            let scale = c.decimals();
            // The display length counts the point and the sign.
            let precision = c.column_length() as i64 - i64::from(scale > 0) - i64::from(!unsigned);
            let precision = precision.clamp(1, 65) as u8;
            if precision > 38 {
                return Err(format!(
                    "decimal({precision}, {scale}) is wider than the 38 digits weir holds"
                ));
            }
            DataType::Decimal128(precision, scale as i8)
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => DataType::Date32,
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => DataType::Time64(TimeUnit::Microsecond),
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => DataType::Timestamp(TimeUnit::Microsecond, None),
        MYSQL_TYPE_JSON => DataType::Utf8,
        MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET => {
            if binary {
                DataType::Binary
            } else {
                DataType::Utf8
            }
        }
        MYSQL_TYPE_BIT => DataType::Binary,
        other => return Err(format!("MySQL type {other:?} is not one weir reads")),
    })
}

/// The columns `query` returns; a column of a type weir cannot map is an error naming it.
pub async fn describe(conn: &mut Conn, query: &str) -> WeirResult<Vec<MyColumn>> {
    let stmt = conn
        .prep(query)
        .await
        .map_err(|e| WeirError::new(format!("preparing the query: {e}")))?;
    let columns = stmt
        .columns()
        .iter()
        .map(|c| {
            let name = c.name_str().to_string();
            let arrow = arrow_type(c).map_err(|why| {
                WeirError::new(format!("column '{name}': {why}"))
                    .with_hint("cast it in the query, or leave it out of the query")
            })?;
            Ok(MyColumn { name, arrow })
        })
        .collect::<WeirResult<Vec<_>>>()?;
    let _ = conn.close(stmt).await;
    Ok(columns)
}

/// The schema of `columns`.
pub fn schema(columns: &[MyColumn]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, c.arrow.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

/// The smallest and largest value of `column` in `query`; `None` for no rows.
pub async fn bounds(conn: &mut Conn, query: &str, column: &str) -> WeirResult<Option<(i64, i64)>> {
    let sql = format!(
        "SELECT CAST(MIN({column}) AS SIGNED), CAST(MAX({column}) AS SIGNED) FROM ({query}) weir_bounds"
    );
    let row: Option<(Option<i64>, Option<i64>)> = conn.query_first(sql).await.map_err(|e| {
        WeirError::new(format!(
            "finding the bounds of partition_column {column}: {e}"
        ))
    })?;
    Ok(row.and_then(|(lo, hi)| lo.zip(hi)))
}

/// A split being read: a task streams its rows, `fetch_size` at a time.
pub struct Stream {
    rows: tokio::sync::mpsc::Receiver<WeirResult<Vec<Row>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Stream {
    /// Starts reading `sql` on `conn`, which the stream owns until the split is read.
    pub fn open(mut conn: Conn, sql: &str, fetch_size: usize) -> Stream {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let sql = sql.to_string();
        let task = tokio::spawn(async move {
            let read = async {
                let mut result = conn
                    .exec_iter(sql.as_str(), ())
                    .await
                    .map_err(|e| WeirError::new(format!("reading a split: {e}")))?;
                let mut chunk = Vec::with_capacity(fetch_size);
                while let Some(row) = result
                    .next()
                    .await
                    .map_err(|e| WeirError::new(format!("reading a split: {e}")))?
                {
                    chunk.push(row);
                    if chunk.len() == fetch_size
                        && tx.send(Ok(std::mem::take(&mut chunk))).await.is_err()
                    {
                        return Ok(());
                    }
                }
                if !chunk.is_empty() {
                    let _ = tx.send(Ok(chunk)).await;
                }
                Ok::<(), WeirError>(())
            };
            if let Err(e) = read.await {
                let _ = tx.send(Err(e)).await;
            }
            let _ = conn.disconnect().await;
        });
        Stream {
            rows: rx,
            _task: task,
        }
    }

    /// The next rows as a batch; `None` at the end of the split.
    pub async fn fetch(
        &mut self,
        columns: &[MyColumn],
        schema: &SchemaRef,
    ) -> WeirResult<Option<RecordBatch>> {
        match self.rows.recv().await {
            None => Ok(None),
            Some(Err(e)) => Err(e),
            Some(Ok(rows)) => to_batch(rows, columns, schema).map(Some),
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self._task.abort();
    }
}

fn bad(name: &str, v: &Value, what: &str) -> WeirError {
    WeirError::new(format!("column '{name}': {v:?} is not {what}"))
}

fn int(name: &str, v: &Value) -> WeirResult<Option<i64>> {
    Ok(match v {
        Value::NULL => None,
        Value::Int(i) => Some(*i),
        Value::UInt(u) => Some(i64::try_from(*u).map_err(|_| bad(name, v, "a signed integer"))?),
        Value::Bytes(b) => Some(
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| bad(name, v, "an integer"))?,
        ),
        _ => return Err(bad(name, v, "an integer")),
    })
}

fn float(name: &str, v: &Value) -> WeirResult<Option<f64>> {
    Ok(match v {
        Value::NULL => None,
        Value::Float(f) => Some(f64::from(*f)),
        Value::Double(d) => Some(*d),
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        Value::Bytes(b) => Some(
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| bad(name, v, "a number"))?,
        ),
        _ => return Err(bad(name, v, "a number")),
    })
}

/// A decimal's text (`-12.340`) as a whole number at `scale`.
fn decimal(name: &str, v: &Value, scale: i8) -> WeirResult<Option<i128>> {
    let text = match v {
        Value::NULL => return Ok(None),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        _ => return Err(bad(name, v, "a decimal")),
    };
    let (negative, digits) = match text.trim().strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, text.trim().to_string()),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    let mut frac: String = frac.chars().take(scale.max(0) as usize).collect();
    while frac.len() < scale.max(0) as usize {
        frac.push('0');
    }
    let n: i128 = format!("{whole}{frac}")
        .parse()
        .map_err(|_| bad(name, v, "a decimal"))?;
    Ok(Some(if negative { -n } else { n }))
}

fn micros_of_day(h: u32, m: u32, s: u32, us: u32) -> i64 {
    (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * 1_000_000 + i64::from(us)
}

/// Rows as a batch of `schema`.
pub fn to_batch(
    mut rows: Vec<Row>,
    columns: &[MyColumn],
    schema: &SchemaRef,
) -> WeirResult<RecordBatch> {
    let mut values: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); columns.len()];
    for row in rows.iter_mut() {
        for (i, col) in values.iter_mut().enumerate() {
            col.push(row.take::<Value, usize>(i).unwrap_or(Value::NULL));
        }
    }
    let arrays = columns
        .iter()
        .zip(values)
        .map(|(c, v)| column(&c.name, &c.arrow, &v))
        .collect::<WeirResult<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| WeirError::new(e.to_string()))
}

fn column(n: &str, dt: &DataType, values: &[Value]) -> WeirResult<ArrayRef> {
    let ints = || {
        values
            .iter()
            .map(|v| int(n, v))
            .collect::<WeirResult<Vec<_>>>()
    };
    let narrow = |what: &str| WeirError::new(format!("column '{n}': a value out of {what} range"));
    Ok(match dt {
        DataType::Boolean => Arc::new(BooleanArray::from(
            ints()?
                .into_iter()
                .map(|v| v.map(|i| i != 0))
                .collect::<Vec<_>>(),
        )),
        DataType::Int8 => Arc::new(Int8Array::from(
            ints()?
                .into_iter()
                .map(|v| {
                    v.map(i8::try_from)
                        .transpose()
                        .map_err(|_| narrow("tinyint"))
                })
                .collect::<WeirResult<Vec<_>>>()?,
        )),
        DataType::Int16 => Arc::new(Int16Array::from(
            ints()?
                .into_iter()
                .map(|v| {
                    v.map(i16::try_from)
                        .transpose()
                        .map_err(|_| narrow("smallint"))
                })
                .collect::<WeirResult<Vec<_>>>()?,
        )),
        DataType::Int32 => Arc::new(Int32Array::from(
            ints()?
                .into_iter()
                .map(|v| v.map(i32::try_from).transpose().map_err(|_| narrow("int")))
                .collect::<WeirResult<Vec<_>>>()?,
        )),
        DataType::Int64 => Arc::new(Int64Array::from(ints()?)),
        DataType::Float32 => Arc::new(Float32Array::from(
            values
                .iter()
                .map(|v| float(n, v).map(|f| f.map(|f| f as f32)))
                .collect::<WeirResult<Vec<_>>>()?,
        )),
        DataType::Float64 => Arc::new(Float64Array::from(
            values
                .iter()
                .map(|v| float(n, v))
                .collect::<WeirResult<Vec<_>>>()?,
        )),
        DataType::Decimal128(p, s) => Arc::new(
            Decimal128Array::from(
                values
                    .iter()
                    .map(|v| decimal(n, v, *s))
                    .collect::<WeirResult<Vec<_>>>()?,
            )
            .with_precision_and_scale(*p, *s)
            .map_err(|e| WeirError::new(format!("column '{n}': {e}")))?,
        ),
        DataType::Utf8 => Arc::new(StringArray::from(
            values
                .iter()
                .map(|v| match v {
                    Value::NULL => Ok(None),
                    Value::Bytes(b) => String::from_utf8(b.clone())
                        .map(Some)
                        .map_err(|_| bad(n, v, "UTF-8 text")),
                    other => Ok(Some(other.as_sql(true).trim_matches('\'').to_string())),
                })
                .collect::<WeirResult<Vec<_>>>()?,
        )),
        DataType::Binary => Arc::new(BinaryArray::from(
            values
                .iter()
                .map(|v| match v {
                    Value::NULL => Ok(None),
                    Value::Bytes(b) => Ok(Some(b.as_slice())),
                    _ => Err(bad(n, v, "bytes")),
                })
                .collect::<WeirResult<Vec<_>>>()?,
        )),
        DataType::Date32 => {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            Arc::new(Date32Array::from(
                values
                    .iter()
                    .map(|v| match v {
                        Value::NULL => Ok(None),
                        Value::Date(y, m, d, ..) => chrono::NaiveDate::from_ymd_opt(
                            i32::from(*y),
                            u32::from(*m),
                            u32::from(*d),
                        )
                        .map(|date| Some((date - epoch).num_days() as i32))
                        .ok_or_else(|| bad(n, v, "a date (MySQL's zero date has no day)")),
                        _ => Err(bad(n, v, "a date")),
                    })
                    .collect::<WeirResult<Vec<_>>>()?,
            ))
        }
        DataType::Time64(_) => Arc::new(Time64MicrosecondArray::from(
            values
                .iter()
                .map(|v| match v {
                    Value::NULL => Ok(None),
                    Value::Time(neg, days, h, m, s, us) => {
                        let t = i64::from(*days) * 86_400_000_000
                            + micros_of_day(u32::from(*h), u32::from(*m), u32::from(*s), *us);
                        Ok(Some(if *neg { -t } else { t }))
                    }
                    _ => Err(bad(n, v, "a time")),
                })
                .collect::<WeirResult<Vec<_>>>()?,
        )),
        DataType::Timestamp(..) => Arc::new(TimestampMicrosecondArray::from(
            values
                .iter()
                .map(|v| match v {
                    Value::NULL => Ok(None),
                    Value::Date(y, mo, d, h, mi, s, us) => chrono::NaiveDate::from_ymd_opt(
                        i32::from(*y),
                        u32::from(*mo),
                        u32::from(*d),
                    )
                    .and_then(|date| {
                        date.and_hms_micro_opt(u32::from(*h), u32::from(*mi), u32::from(*s), *us)
                    })
                    .map(|t| Some(t.and_utc().timestamp_micros()))
                    .ok_or_else(|| bad(n, v, "a timestamp (MySQL's zero date has no day)")),
                    _ => Err(bad(n, v, "a timestamp")),
                })
                .collect::<WeirResult<Vec<_>>>()?,
        )),
        other => {
            return Err(WeirError::new(format!(
                "column '{n}': weir does not read MySQL values as {other}"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_digits() {
        let v = Value::Bytes(b"-12.34".to_vec());
        assert_eq!(decimal("d", &v, 4).unwrap(), Some(-123_400));
        assert_eq!(
            decimal("d", &Value::Bytes(b"7".to_vec()), 2).unwrap(),
            Some(700)
        );
        assert_eq!(
            decimal("d", &Value::UInt(u64::MAX), 0).unwrap(),
            Some(u64::MAX as i128)
        );
        assert!(decimal("d", &Value::Bytes(b"x".to_vec()), 2).is_err());
    }
}
