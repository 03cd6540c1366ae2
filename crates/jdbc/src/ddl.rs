//! The SQL the Jdbc sink generates or checks: column types for a table created from the
//! input's schema, whether a table exists, and a JDBC query's `?` placeholders (counted, and
//! numbered `$1…` for PostgreSQL).

use crate::client::Client;
use crate::pg;
use crate::url::Dialect;
use arrow::datatypes::{DataType, Schema, TimeUnit};
use mysql_async::prelude::Queryable;
use weir_core::{WeirError, WeirResult};

/// The column type a table created for Arrow type `dt` gets (a key column of text gets a
/// bounded type where MySQL needs one to index it).
pub fn column_type(dialect: Dialect, dt: &DataType, key: bool) -> Result<String, String> {
    Ok(match (dialect, dt) {
        (Dialect::Postgres, DataType::Boolean) => "boolean".into(),
        (Dialect::Postgres, DataType::Int8 | DataType::Int16) => "smallint".into(),
        (Dialect::Postgres, DataType::Int32) => "integer".into(),
        (Dialect::Postgres, DataType::Int64) => "bigint".into(),
        (Dialect::Postgres, DataType::Float32) => "real".into(),
        (Dialect::Postgres, DataType::Float64) => "double precision".into(),
        (Dialect::Postgres, DataType::Decimal128(p, s)) => format!("numeric({p}, {s})"),
        (Dialect::Postgres, DataType::Utf8 | DataType::LargeUtf8) => "text".into(),
        (Dialect::Postgres, DataType::Binary | DataType::LargeBinary) => "bytea".into(),
        (Dialect::Postgres, DataType::Date32) => "date".into(),
        (Dialect::Postgres, DataType::Time64(TimeUnit::Microsecond)) => "time".into(),
        (Dialect::Postgres, DataType::Timestamp(_, None)) => "timestamp".into(),
        (Dialect::Postgres, DataType::Timestamp(_, Some(_))) => "timestamptz".into(),
        (Dialect::MySql, DataType::Boolean) => "BOOLEAN".into(),
        (Dialect::MySql, DataType::Int8) => "TINYINT".into(),
        (Dialect::MySql, DataType::Int16) => "SMALLINT".into(),
        (Dialect::MySql, DataType::Int32) => "INT".into(),
        (Dialect::MySql, DataType::Int64) => "BIGINT".into(),
        (Dialect::MySql, DataType::Float32) => "FLOAT".into(),
        (Dialect::MySql, DataType::Float64) => "DOUBLE".into(),
        (Dialect::MySql, DataType::Decimal128(p, s)) => format!("DECIMAL({p}, {s})"),
        (Dialect::MySql, DataType::Utf8 | DataType::LargeUtf8) if key => "VARCHAR(255)".into(),
        (Dialect::MySql, DataType::Utf8 | DataType::LargeUtf8) => "LONGTEXT".into(),
        (Dialect::MySql, DataType::Binary | DataType::LargeBinary) if key => {
            "VARBINARY(255)".into()
        }
        (Dialect::MySql, DataType::Binary | DataType::LargeBinary) => "LONGBLOB".into(),
        (Dialect::MySql, DataType::Date32) => "DATE".into(),
        (Dialect::MySql, DataType::Time64(TimeUnit::Microsecond)) => "TIME(6)".into(),
        (Dialect::MySql, DataType::Timestamp(..)) => "DATETIME(6)".into(),
        (_, other) => return Err(format!("no {} column type for {other}", dialect.name())),
    })
}

/// `CREATE TABLE IF NOT EXISTS` for `schema`, keyed by `keys`.
pub fn create_table(
    dialect: Dialect,
    table: &str,
    schema: &Schema,
    keys: &[String],
) -> WeirResult<String> {
    let mut parts = schema
        .fields()
        .iter()
        .map(|f| {
            let key = keys.contains(f.name());
            column_type(dialect, f.data_type(), key)
                .map(|ty| {
                    let not_null = if key { " NOT NULL" } else { "" };
                    format!("{} {ty}{not_null}", dialect.quote(f.name()))
                })
                .map_err(|e| WeirError::new(format!("column '{}': {e}", f.name())))
        })
        .collect::<WeirResult<Vec<_>>>()?;
    if !keys.is_empty() {
        let cols: Vec<String> = keys.iter().map(|k| dialect.quote(k)).collect();
        parts.push(format!("PRIMARY KEY ({})", cols.join(", ")));
    }
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {table} ({})",
        parts.join(", ")
    ))
}

/// Whether `table` (quoted) exists.
pub async fn table_exists(client: &mut Client, table: &str) -> WeirResult<bool> {
    let sql = format!("SELECT * FROM {table} WHERE 1 = 0");
    let failed = match client {
        Client::Pg(c) => match c.batch_execute(&sql).await {
            Ok(()) => return Ok(true),
            Err(e) => pg::describe_error(&e),
        },
        Client::My(c) => match c.query_drop(sql.as_str()).await {
            Ok(()) => return Ok(true),
            Err(e) => e.to_string(),
        },
    };
    let lower = failed.to_ascii_lowercase();
    if lower.contains("does not exist") || lower.contains("doesn't exist") {
        Ok(false)
    } else {
        Err(WeirError::new(format!("checking table {table}: {failed}")))
    }
}

/// A JDBC statement's `?` placeholders numbered `$1, $2, …` as PostgreSQL takes them (a `?`
/// inside quotes is text, not a placeholder).
pub fn number_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (Some(q), _) if c == q => {
                quote = None;
                out.push(c);
            }
            (None, '?') => {
                n += 1;
                out.push_str(&format!("${n}"));
            }
            _ => out.push(c),
        }
    }
    out
}

/// How many placeholders the job's `query` has, as its server counts them (which also checks
/// that the statement is valid against the table).
pub async fn placeholders(client: &mut Client, query: &str) -> WeirResult<usize> {
    match client {
        Client::Pg(c) => {
            let stmt = c.prepare(&number_placeholders(query)).await.map_err(|e| {
                WeirError::new(format!("preparing the query: {}", pg::describe_error(&e)))
            })?;
            Ok(stmt.params().len())
        }
        Client::My(c) => {
            let stmt = c
                .prep(query)
                .await
                .map_err(|e| WeirError::new(format!("preparing the query: {e}")))?;
            let n = stmt.num_params() as usize;
            let _ = c.close(stmt).await;
            Ok(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            number_placeholders("INSERT INTO t (a, b, c) VALUES (?, '?', ?)"),
            "INSERT INTO t (a, b, c) VALUES ($1, '?', $2)"
        );
    }

    #[test]
    fn tables_are_created_with_their_key() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("n", DataType::Decimal128(10, 2), true),
        ]);
        assert_eq!(
            create_table(Dialect::MySql, "`shop`.`t`", &schema, &["id".into()]).unwrap(),
            "CREATE TABLE IF NOT EXISTS `shop`.`t` (`id` VARCHAR(255) NOT NULL, `n` DECIMAL(10, 2), PRIMARY KEY (`id`))"
        );
        assert!(column_type(Dialect::Postgres, &DataType::Null, false).is_err());
    }
}
