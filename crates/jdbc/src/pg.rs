//! PostgreSQL through tokio-postgres: connecting as a JDBC URL says, describing a query's
//! columns as Arrow types (numeric precision and scale from the column's type modifier), and
//! reading a split through a server-side cursor `fetch_size` rows at a time, so a table of any
//! size streams through a bounded buffer.

use crate::url::JdbcUrl;
use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, ListBuilder, StringArray, StringBuilder,
    Time64MicrosecondArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, NoTls, Row};
use weir_core::{WeirError, WeirResult};

/// Connects to the database of `url` (or `user`'s, when the URL names none).
pub async fn connect(
    url: &JdbcUrl,
    user: &str,
    password: Option<&str>,
    timeout: Duration,
) -> WeirResult<Client> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&url.host)
        .port(url.port)
        .user(user)
        .connect_timeout(timeout)
        .application_name("weir");
    if let Some(db) = &url.database {
        config.dbname(db);
    }
    if let Some(p) = password {
        config.password(p);
    }
    match url.params.get("sslmode").map(String::as_str) {
        None | Some("disable") | Some("allow") | Some("prefer") => {}
        Some(mode) => {
            return Err(WeirError::new(format!(
                "sslmode={mode}: weir's PostgreSQL client does not speak TLS yet"
            ))
            .with_hint("use sslmode=disable (or prefer) on a trusted network"))
        }
    }
    let shown = format!("{}:{}", url.host, url.port);
    let (client, connection) = tokio::time::timeout(timeout, config.connect(NoTls))
        .await
        .map_err(|_| {
            WeirError::new(format!(
                "connecting to PostgreSQL at {shown} timed out after {timeout:?}"
            ))
        })?
        .map_err(|e| {
            WeirError::new(format!(
                "connecting to PostgreSQL at {shown}: {}",
                describe_error(&e)
            ))
        })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("PostgreSQL connection ended: {e}");
        }
    });
    Ok(client)
}

/// Maps a client error to `<what>: <the server's own message>`, for `map_err`.
pub fn error<W: std::fmt::Display>(what: W) -> impl Fn(tokio_postgres::Error) -> WeirError {
    move |e| WeirError::new(format!("{what}: {}", describe_error(&e)))
}

/// The server's own message where there is one ("password authentication failed for user").
pub fn describe_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

/// One column of a query's result, with how its values become Arrow.
#[derive(Debug, Clone)]
pub struct PgColumn {
    pub name: String,
    pub pg_type: Type,
    pub arrow: DataType,
}

/// The Arrow type a PostgreSQL column maps to, as SeaTunnel's Postgres type converter maps
/// it; `None` for a type weir does not read.
fn arrow_type(ty: &Type, typmod: i32) -> Result<DataType, String> {
    Ok(match *ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 | Type::OID => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::NUMERIC => {
            if typmod < 4 {
                // Unconstrained numeric: SeaTunnel's default decimal.
                DataType::Decimal128(38, 18)
            } else {
                let precision = ((typmod - 4) >> 16) & 0xffff;
                let scale = (typmod - 4) & 0xffff;
                if precision > 38 {
                    return Err(format!(
                        "numeric({precision}, {scale}) is wider than the 38 digits weir holds"
                    ));
                }
                DataType::Decimal128(precision as u8, scale as i8)
            }
        }
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::CHAR
        | Type::JSON
        | Type::JSONB
        | Type::UUID => DataType::Utf8,
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIME => DataType::Time64(TimeUnit::Microsecond),
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Type::BOOL_ARRAY => list(DataType::Boolean),
        Type::INT2_ARRAY => list(DataType::Int16),
        Type::INT4_ARRAY => list(DataType::Int32),
        Type::INT8_ARRAY => list(DataType::Int64),
        Type::FLOAT4_ARRAY => list(DataType::Float32),
        Type::FLOAT8_ARRAY => list(DataType::Float64),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => list(DataType::Utf8),
        _ => return Err(format!("PostgreSQL type {ty} is not one weir reads")),
    })
}

fn list(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// The columns `query` returns, as Arrow types; a column of a type weir cannot map is an
/// error naming it.
pub async fn describe(client: &Client, query: &str) -> WeirResult<Vec<PgColumn>> {
    let stmt = client
        .prepare(query)
        .await
        .map_err(|e| WeirError::new(format!("preparing the query: {}", describe_error(&e))))?;
    stmt.columns()
        .iter()
        .map(|c| {
            let arrow = arrow_type(c.type_(), c.type_modifier()).map_err(|why| {
                WeirError::new(format!("column '{}': {why}", c.name())).with_hint(
                    "cast it in the query (for example ::text) or leave it out of the query",
                )
            })?;
            Ok(PgColumn {
                name: c.name().to_string(),
                pg_type: c.type_().clone(),
                arrow,
            })
        })
        .collect()
}

/// The schema of `columns`.
pub fn schema(columns: &[PgColumn]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, c.arrow.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

/// The smallest and largest value of `column` in `query`, as integers; `None` for no rows.
pub async fn bounds(client: &Client, query: &str, column: &str) -> WeirResult<Option<(i64, i64)>> {
    let sql =
        format!("SELECT MIN({column})::bigint, MAX({column})::bigint FROM ({query}) weir_bounds");
    let row = client.query_one(&sql, &[]).await.map_err(|e| {
        WeirError::new(format!(
            "finding the bounds of partition_column {column}: {}",
            describe_error(&e)
        ))
    })?;
    let lo: Option<i64> = row.get(0);
    let hi: Option<i64> = row.get(1);
    Ok(lo.zip(hi))
}

/// A split being read: a cursor in a read-only transaction.
pub struct Cursor {
    open: bool,
}

impl Cursor {
    /// Opens a cursor over `sql`.
    pub async fn open(client: &Client, sql: &str) -> WeirResult<Cursor> {
        Self::open_at(client, sql, None).await
    }

    /// Opens a cursor over `sql` that sees the database as exported snapshot `snapshot` (a
    /// replication slot's starting point) saw it, when given.
    pub async fn open_at(client: &Client, sql: &str, snapshot: Option<&str>) -> WeirResult<Cursor> {
        let at = snapshot
            .map(|s| format!("SET TRANSACTION SNAPSHOT '{}'; ", s.replace('\'', "")))
            .unwrap_or_default();
        client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {at}DECLARE weir_cursor NO SCROLL CURSOR FOR {sql}"
            ))
            .await
            .map_err(|e| WeirError::new(format!("reading a split: {}", describe_error(&e))))?;
        Ok(Cursor { open: true })
    }

    /// The next up to `n` rows; an empty answer ends the split (and the transaction).
    pub async fn fetch(&mut self, client: &Client, n: usize) -> WeirResult<Vec<Row>> {
        if !self.open {
            return Ok(Vec::new());
        }
        let rows = client
            .query(&format!("FETCH FORWARD {n} FROM weir_cursor"), &[])
            .await
            .map_err(|e| WeirError::new(format!("reading a split: {}", describe_error(&e))))?;
        if rows.is_empty() {
            self.open = false;
            client
                .batch_execute("CLOSE weir_cursor; COMMIT")
                .await
                .map_err(|e| WeirError::new(format!("ending a split: {}", describe_error(&e))))?;
        }
        Ok(rows)
    }
}

/// PostgreSQL's binary NUMERIC: base-10000 digits with a weight and a sign.
struct Numeric {
    negative: bool,
    weight: i16,
    digits: Vec<i16>,
    nan: bool,
}

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(
        _ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let word = |i: usize| -> Result<i16, Box<dyn std::error::Error + Sync + Send>> {
            raw.get(i..i + 2)
                .map(|b| i16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "a truncated numeric value".into())
        };
        let ndigits = word(0)? as usize;
        let weight = word(2)?;
        let sign = word(4)? as u16;
        let digits = (0..ndigits)
            .map(|i| word(8 + 2 * i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Numeric {
            negative: sign == 0x4000,
            weight,
            digits,
            nan: sign == 0xC000,
        })
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

impl Numeric {
    /// The value times 10^scale, as a whole number (digits past the scale are cut).
    fn scaled(&self, scale: i8) -> Result<i128, String> {
        if self.nan {
            return Err("NaN is not a decimal".into());
        }
        let overflow = || "a numeric value wider than 38 digits".to_string();
        let mut acc: i128 = 0;
        for d in &self.digits {
            acc = acc
                .checked_mul(10_000)
                .and_then(|a| a.checked_add(i128::from(*d)))
                .ok_or_else(overflow)?;
        }
        // acc * 10000^(weight - ndigits + 1) * 10^scale
        let exp = 4 * (i32::from(self.weight) - self.digits.len() as i32 + 1) + i32::from(scale);
        let value = if exp >= 0 {
            10i128
                .checked_pow(exp as u32)
                .and_then(|p| acc.checked_mul(p))
                .ok_or_else(overflow)?
        } else {
            match 10i128.checked_pow((-exp) as u32) {
                Some(p) => acc / p,
                None => 0,
            }
        };
        Ok(if self.negative { -value } else { value })
    }
}

/// A row of values in PostgreSQL's binary format: a query's result row, or a row change from
/// the replication stream (binary `pgoutput`), so both become Arrow the same way.
pub trait PgCells {
    /// Column `i` (of type `ty`, named `name`) as `T`.
    fn cell<'a, T: FromSql<'a>>(&'a self, i: usize, ty: &Type, name: &str)
        -> WeirResult<Option<T>>;
}

impl PgCells for Row {
    fn cell<'a, T: FromSql<'a>>(
        &'a self,
        i: usize,
        _ty: &Type,
        name: &str,
    ) -> WeirResult<Option<T>> {
        self.try_get::<_, Option<T>>(i)
            .map_err(|e| WeirError::new(format!("column '{name}': {e}")))
    }
}

fn get<'a, R: PgCells, T: FromSql<'a>>(
    row: &'a R,
    i: usize,
    c: &PgColumn,
) -> WeirResult<Option<T>> {
    row.cell(i, &c.pg_type, &c.name)
}

/// Rows of `columns` as a batch of `schema`.
pub fn to_batch<R: PgCells>(
    rows: &[R],
    columns: &[PgColumn],
    schema: &SchemaRef,
) -> WeirResult<RecordBatch> {
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, c)| column(rows, i, c))
        .collect::<WeirResult<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| WeirError::new(e.to_string()))
}

fn column<R: PgCells>(rows: &[R], i: usize, c: &PgColumn) -> WeirResult<ArrayRef> {
    let n = &c.name;
    macro_rules! collect {
        ($t:ty, $array:ty) => {{
            let v = rows
                .iter()
                .map(|r| get::<R, $t>(r, i, c))
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(<$array>::from(v)) as ArrayRef
        }};
    }
    macro_rules! list_of {
        ($t:ty, $builder:expr) => {{
            let mut b = ListBuilder::new($builder);
            for r in rows {
                match get::<R, Vec<Option<$t>>>(r, i, c)? {
                    Some(items) => {
                        for item in items {
                            b.values().append_option(item);
                        }
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    Ok(match (&c.pg_type, &c.arrow) {
        (&Type::BOOL, _) => collect!(bool, BooleanArray),
        (&Type::INT2, _) => collect!(i16, Int16Array),
        (&Type::INT4, _) => collect!(i32, Int32Array),
        (&Type::INT8, _) => collect!(i64, Int64Array),
        (&Type::OID, _) => {
            let v = rows
                .iter()
                .map(|r| get::<R, u32>(r, i, c).map(|o| o.map(i64::from)))
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(Int64Array::from(v))
        }
        (&Type::FLOAT4, _) => collect!(f32, Float32Array),
        (&Type::FLOAT8, _) => collect!(f64, Float64Array),
        (&Type::NUMERIC, DataType::Decimal128(p, s)) => {
            let v = rows
                .iter()
                .map(|r| {
                    get::<R, Numeric>(r, i, c)?
                        .map(|d| d.scaled(*s))
                        .transpose()
                        .map_err(|e| WeirError::new(format!("column '{n}': {e}")))
                })
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(
                Decimal128Array::from(v)
                    .with_precision_and_scale(*p, *s)
                    .map_err(|e| WeirError::new(format!("column '{n}': {e}")))?,
            )
        }
        (&Type::JSON | &Type::JSONB, _) => {
            let v = rows
                .iter()
                .map(|r| get::<R, serde_json::Value>(r, i, c).map(|j| j.map(|j| j.to_string())))
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(StringArray::from(v))
        }
        (&Type::UUID, _) => {
            let v = rows
                .iter()
                .map(|r| get::<R, uuid::Uuid>(r, i, c).map(|u| u.map(|u| u.to_string())))
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(StringArray::from(v))
        }
        (_, DataType::Utf8) => {
            let v = rows
                .iter()
                .map(|r| get::<R, &str>(r, i, c))
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(StringArray::from(v))
        }
        (&Type::BYTEA, _) => {
            let v = rows
                .iter()
                .map(|r| get::<R, &[u8]>(r, i, c))
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(BinaryArray::from(v))
        }
        (&Type::DATE, _) => {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            let v = rows
                .iter()
                .map(|r| {
                    get::<R, chrono::NaiveDate>(r, i, c)
                        .map(|d| d.map(|d| (d - epoch).num_days() as i32))
                })
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(Date32Array::from(v))
        }
        (&Type::TIME, _) => {
            let v = rows
                .iter()
                .map(|r| {
                    get::<R, chrono::NaiveTime>(r, i, c).map(|t| {
                        t.map(|t| {
                            use chrono::Timelike;
                            i64::from(t.num_seconds_from_midnight()) * 1_000_000
                                + i64::from(t.nanosecond() / 1000)
                        })
                    })
                })
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(Time64MicrosecondArray::from(v))
        }
        (&Type::TIMESTAMP, _) => {
            let v = rows
                .iter()
                .map(|r| {
                    get::<R, chrono::NaiveDateTime>(r, i, c)
                        .map(|t| t.map(|t| t.and_utc().timestamp_micros()))
                })
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(TimestampMicrosecondArray::from(v))
        }
        (&Type::TIMESTAMPTZ, _) => {
            let v = rows
                .iter()
                .map(|r| {
                    get::<R, chrono::DateTime<chrono::Utc>>(r, i, c)
                        .map(|t| t.map(|t| t.timestamp_micros()))
                })
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
        }
        (&Type::BOOL_ARRAY, _) => list_of!(bool, arrow::array::BooleanBuilder::new()),
        (&Type::INT2_ARRAY, _) => list_of!(i16, arrow::array::Int16Builder::new()),
        (&Type::INT4_ARRAY, _) => list_of!(i32, arrow::array::Int32Builder::new()),
        (&Type::INT8_ARRAY, _) => list_of!(i64, arrow::array::Int64Builder::new()),
        (&Type::FLOAT4_ARRAY, _) => list_of!(f32, arrow::array::Float32Builder::new()),
        (&Type::FLOAT8_ARRAY, _) => list_of!(f64, arrow::array::Float64Builder::new()),
        (&Type::TEXT_ARRAY | &Type::VARCHAR_ARRAY | &Type::BPCHAR_ARRAY, _) => {
            list_of!(String, StringBuilder::new())
        }
        (ty, _) => {
            return Err(WeirError::new(format!(
                "column '{n}': PostgreSQL type {ty} is not one weir reads"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_type_modifiers_give_precision_and_scale() {
        // numeric(10, 2): typmod = ((10 << 16) | 2) + 4
        assert_eq!(
            arrow_type(&Type::NUMERIC, ((10 << 16) | 2) + 4).unwrap(),
            DataType::Decimal128(10, 2)
        );
        assert_eq!(
            arrow_type(&Type::NUMERIC, -1).unwrap(),
            DataType::Decimal128(38, 18)
        );
        assert!(arrow_type(&Type::NUMERIC, ((50 << 16) | 2) + 4).is_err());
        assert!(arrow_type(&Type::POINT, -1).unwrap_err().contains("point"));
    }

    #[test]
    fn numerics_scale_exactly() {
        // 12345.678 = digits [1, 2345, 6780], weight 1
        let n = Numeric {
            negative: true,
            weight: 1,
            digits: vec![1, 2345, 6780],
            nan: false,
        };
        assert_eq!(n.scaled(3).unwrap(), -12_345_678);
        assert_eq!(n.scaled(5).unwrap(), -1_234_567_800);
        // 0.0001 = digits [1], weight -1
        let tiny = Numeric {
            negative: false,
            weight: -1,
            digits: vec![1],
            nan: false,
        };
        assert_eq!(tiny.scaled(4).unwrap(), 1);
        assert_eq!(tiny.scaled(2).unwrap(), 0);
        // 5 000 000 = digits [500], weight 1
        let big = Numeric {
            negative: false,
            weight: 1,
            digits: vec![500],
            nan: false,
        };
        assert_eq!(big.scaled(0).unwrap(), 5_000_000);
    }
}
