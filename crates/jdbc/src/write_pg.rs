//! Writing a flush of rows to PostgreSQL: runs of rows that write (one row per key, the last one
//! winning, as a changelog means) go by binary `COPY` (straight into the table when nothing can
//! conflict, else into a staging table and one `INSERT … SELECT … ON CONFLICT … DO UPDATE`), or,
//! when short, as one multi-row statement; runs of deletes become `DELETE … WHERE key = …`,
//! sent pipelined. A flush is one transaction of its own, or part of the exactly-once sink's
//! transaction for a checkpoint, which PostgreSQL can only prepare if no temporary table was
//! touched, so that one upserts without the staging table.

use crate::ddl::number_placeholders;
use crate::pg::describe_error;
use crate::sink::{runs, Action, Statements};
use crate::values::{pg_param, PgParam};
use arrow::record_batch::RecordBatch;
use std::collections::HashMap;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;
use weir_core::{WeirError, WeirResult};
use weir_runtime::batch::Batch;

/// PostgreSQL's limit on a statement's parameters.
const MAX_PARAMS: usize = 65_535;

/// From this many rows a run is sent by `COPY` into a staging table and applied with one
/// statement; fewer go as a multi-row statement, cheaper than the staging round trips.
const STAGE_FROM: usize = 256;

/// Whose transaction a flush runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    /// Its own: begun and committed here.
    Own,
    /// The caller's, already begun, to be prepared later (no temporary tables).
    Prepared,
}

/// The table a run of generated statements writes, and how.
struct Target<'a> {
    /// Quoted.
    table: &'a str,
    columns: &'a [String],
    keys: &'a [String],
    upsert: bool,
}

impl Target<'_> {
    /// The columns, quoted, comma-separated.
    fn column_list(&self) -> String {
        let q = |c: &String| crate::url::Dialect::Postgres.quote(c);
        self.columns.iter().map(q).collect::<Vec<_>>().join(", ")
    }

    /// `ON CONFLICT (keys) DO UPDATE SET …` (or `DO NOTHING` when every column is a key).
    fn conflict_clause(&self) -> String {
        if !self.upsert {
            return String::new();
        }
        let q = |c: &String| crate::url::Dialect::Postgres.quote(c);
        let key_cols: Vec<String> = self.keys.iter().map(q).collect();
        let sets: Vec<String> = self
            .columns
            .iter()
            .filter(|c| !self.keys.contains(c))
            .map(|c| format!("{0} = EXCLUDED.{0}", q(c)))
            .collect();
        if sets.is_empty() {
            format!(" ON CONFLICT ({}) DO NOTHING", key_cols.join(", "))
        } else {
            format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                key_cols.join(", "),
                sets.join(", ")
            )
        }
    }
}

/// The types of columns `cols` of `from`, as the server has them.
async fn column_types(
    tx: &Client,
    from: &str,
    cols: &str,
) -> WeirResult<Vec<tokio_postgres::types::Type>> {
    let shape = tx
        .prepare(&format!("SELECT {cols} FROM {from}"))
        .await
        .map_err(db)?;
    Ok(shape.columns().iter().map(|c| c.type_().clone()).collect())
}

/// Sends `rows` by binary `COPY` into `into` (the table, or a staging table shaped like it).
async fn copy_rows(
    tx: &Client,
    into: &str,
    cols: &str,
    records: &RecordBatch,
    rows: &[usize],
) -> WeirResult<()> {
    let types = column_types(tx, into, cols).await?;
    let sink = tx
        .copy_in(&format!("COPY {into} ({cols}) FROM STDIN (FORMAT binary)"))
        .await
        .map_err(db)?;
    let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
    futures::pin_mut!(writer);
    let schema = records.schema();
    for &row in rows {
        let params = (0..records.num_columns())
            .map(|c| pg_param(records.column(c), row, &types[c], schema.field(c).name()))
            .collect::<WeirResult<Vec<PgParam>>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        writer.as_mut().write(&refs).await.map_err(db)?;
    }
    writer.finish().await.map_err(db)?;
    Ok(())
}

/// Rows per `unnest` statement: its arrays stay a few megabytes.
const UNNEST_ROWS: usize = 10_000;

/// Upserts `rows` with one statement per `UNNEST_ROWS` whose parameters are arrays, one per
/// column: `INSERT INTO t (…) SELECT * FROM unnest($1::int8[], …) ON CONFLICT …`. PostgreSQL
/// parses one statement and binds one value per column, as the staging table does, but inside
/// a transaction that is to be prepared (which no temporary table may touch). `false` when a
/// column's type cannot travel in an array parameter (arrays, types outside pg_catalog): the
/// caller sends the rows another way.
async fn unnested(
    tx: &Client,
    target: &Target<'_>,
    records: &RecordBatch,
    rows: &[usize],
) -> WeirResult<bool> {
    let (table, cols) = (target.table, target.column_list());
    let types = column_types(tx, table, &cols).await?;
    let plain = types.iter().all(|t| {
        t.schema() == "pg_catalog" && matches!(t.kind(), tokio_postgres::types::Kind::Simple)
    });
    if !plain {
        return Ok(false);
    }
    let casts: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{}[]", i + 1, t.name()))
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({cols}) SELECT * FROM unnest({}){}",
        casts.join(", "),
        target.conflict_clause()
    );
    let stmt = tx.prepare(&sql).await.map_err(db)?;
    let schema = records.schema();
    for chunk in rows.chunks(UNNEST_ROWS) {
        let arrays = (0..records.num_columns())
            .map(|c| {
                chunk
                    .iter()
                    .map(|&row| pg_param(records.column(c), row, &types[c], schema.field(c).name()))
                    .collect::<WeirResult<Vec<PgParam>>>()
            })
            .collect::<WeirResult<Vec<Vec<PgParam>>>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            arrays.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        tx.execute(&stmt, &refs).await.map_err(db)?;
    }
    Ok(true)
}

/// Sends `rows` by binary `COPY` into a temporary table shaped like `table`, then moves them
/// with one `INSERT … SELECT [ON CONFLICT … DO UPDATE]`: PostgreSQL parses one statement
/// instead of one with a parameter per value.
async fn staged(
    tx: &Client,
    target: &Target<'_>,
    records: &RecordBatch,
    rows: &[usize],
) -> WeirResult<()> {
    let (table, cols) = (target.table, target.column_list());
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS weir_stage (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP; TRUNCATE weir_stage"
    ))
    .await
    .map_err(db)?;
    copy_rows(tx, "weir_stage", &cols, records, rows).await?;
    let sql = format!(
        "INSERT INTO {table} ({cols}) SELECT {cols} FROM weir_stage{}",
        target.conflict_clause()
    );
    tx.batch_execute(&sql).await.map_err(db)
}

fn db(e: tokio_postgres::Error) -> WeirError {
    WeirError::new(format!("writing to PostgreSQL: {}", describe_error(&e)))
}

/// Writes `batches` in one transaction, its own or the caller's.
pub async fn flush(
    client: &Client,
    statements: &Statements,
    batches: &[Batch],
    batch_size: usize,
    transaction: Transaction,
) -> WeirResult<()> {
    if transaction == Transaction::Prepared {
        return write(client, statements, batches, batch_size, false).await;
    }
    client.batch_execute("BEGIN").await.map_err(db)?;
    match write(client, statements, batches, batch_size, true).await {
        Ok(()) => client.batch_execute("COMMIT").await.map_err(db),
        Err(e) => {
            // The connection may be gone; then the server has rolled back already.
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn write(
    tx: &Client,
    statements: &Statements,
    batches: &[Batch],
    batch_size: usize,
    may_stage: bool,
) -> WeirResult<()> {
    for batch in batches {
        for (a, rows) in runs(batch) {
            match (a, statements) {
                (Action::Skip, _) => {}
                (Action::Write, Statements::Query(q)) => {
                    per_row(tx, &number_placeholders(q), &batch.records, &rows, None).await?
                }
                (Action::Delete, Statements::Query(_)) => {
                    return Err(WeirError::new(
                        "a DELETE row reached a Jdbc sink with a custom query",
                    )
                    .with_hint("use generate_sink_sql = true with primary_keys to apply deletes"))
                }
                (
                    Action::Write,
                    Statements::Generated {
                        table,
                        columns,
                        keys,
                        upsert,
                    },
                ) => {
                    let target = Target {
                        table,
                        columns,
                        keys,
                        upsert: *upsert,
                    };
                    let rows = if keys.is_empty() {
                        rows
                    } else {
                        last_per_key(&batch.records, &rows, keys)?
                    };
                    if rows.len() >= STAGE_FROM && !*upsert {
                        copy_rows(tx, table, &target.column_list(), &batch.records, &rows).await?;
                        continue;
                    }
                    if rows.len() >= STAGE_FROM && may_stage {
                        staged(tx, &target, &batch.records, &rows).await?;
                        continue;
                    }
                    if rows.len() >= STAGE_FROM
                        && unnested(tx, &target, &batch.records, &rows).await?
                    {
                        continue;
                    }
                    let per_stmt = (MAX_PARAMS / columns.len().max(1)).clamp(1, batch_size.max(1));
                    for chunk in rows.chunks(per_stmt) {
                        let sql = insert_sql(&target, chunk.len());
                        let stmt = tx.prepare(&sql).await.map_err(db)?;
                        let params = bind(&batch.records, chunk, stmt.params(), None)?;
                        let refs: Vec<&(dyn ToSql + Sync)> =
                            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                        tx.execute(&stmt, &refs).await.map_err(db)?;
                    }
                }
                (Action::Delete, Statements::Generated { table, keys, .. }) => {
                    if keys.is_empty() {
                        return Err(WeirError::new(format!(
                            "a DELETE row reached the Jdbc sink of {table}, which has no primary_keys to delete by"
                        )));
                    }
                    let cond: Vec<String> = keys
                        .iter()
                        .enumerate()
                        .map(|(i, k)| {
                            format!("{} = ${}", crate::url::Dialect::Postgres.quote(k), i + 1)
                        })
                        .collect();
                    let sql = format!("DELETE FROM {table} WHERE {}", cond.join(" AND "));
                    per_row(tx, &sql, &batch.records, &rows, Some(keys)).await?;
                }
            }
        }
    }
    Ok(())
}

/// The column indices of `names`.
fn indices(records: &RecordBatch, names: &[String]) -> WeirResult<Vec<usize>> {
    names
        .iter()
        .map(|n| {
            records
                .schema()
                .index_of(n)
                .map_err(|_| WeirError::new(format!("column '{n}' is not in the rows")))
        })
        .collect()
}

/// Parameters for `rows`, each converted to its placeholder's type (all columns, or those
/// named).
fn bind(
    records: &RecordBatch,
    rows: &[usize],
    types: &[tokio_postgres::types::Type],
    only: Option<&[String]>,
) -> WeirResult<Vec<PgParam>> {
    let cols = match only {
        Some(names) => indices(records, names)?,
        None => (0..records.num_columns()).collect(),
    };
    let schema = records.schema();
    let mut out = Vec::with_capacity(rows.len() * cols.len());
    for (r, &row) in rows.iter().enumerate() {
        for (c, &col) in cols.iter().enumerate() {
            let ty = types.get(r * cols.len() + c).ok_or_else(|| {
                WeirError::new("the statement has fewer placeholders than the row has columns")
            })?;
            out.push(pg_param(
                records.column(col),
                row,
                ty,
                schema.field(col).name(),
            )?);
        }
    }
    Ok(out)
}

/// One statement per row, sent pipelined.
async fn per_row(
    tx: &Client,
    sql: &str,
    records: &RecordBatch,
    rows: &[usize],
    only: Option<&[String]>,
) -> WeirResult<()> {
    let stmt = tx.prepare(sql).await.map_err(db)?;
    let mut all = Vec::with_capacity(rows.len());
    for &row in rows {
        all.push(bind(records, &[row], stmt.params(), only)?);
    }
    for chunk in all.chunks(256) {
        let runs = chunk.iter().map(|params| {
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            let stmt = &stmt;
            async move { tx.execute(stmt, &refs).await }
        });
        futures::future::try_join_all(runs).await.map_err(db)?;
    }
    Ok(())
}

/// `rows` with only the last row of each key (a later upsert of a key replaces an earlier one,
/// and PostgreSQL refuses one statement touching a row twice), in their order.
fn last_per_key(records: &RecordBatch, rows: &[usize], keys: &[String]) -> WeirResult<Vec<usize>> {
    let cols = indices(records, keys)?;
    let key_columns: Vec<arrow::array::ArrayRef> =
        cols.iter().map(|&c| records.column(c).clone()).collect();
    // Arrow's row format: one comparable byte string per row, built once for the batch.
    let converter = arrow::row::RowConverter::new(
        key_columns
            .iter()
            .map(|c| arrow::row::SortField::new(c.data_type().clone()))
            .collect(),
    )
    .map_err(|e| WeirError::new(e.to_string()))?;
    let encoded = converter
        .convert_columns(&key_columns)
        .map_err(|e| WeirError::new(e.to_string()))?;
    let mut last: HashMap<arrow::row::Row<'_>, usize> = HashMap::with_capacity(rows.len());
    for &row in rows {
        last.insert(encoded.row(row), row);
    }
    let mut kept: Vec<usize> = last.into_values().collect();
    kept.sort_unstable();
    Ok(kept)
}

/// `INSERT INTO t (…) VALUES ($1, …), (…) [ON CONFLICT (keys) DO UPDATE SET …]` for `n` rows.
fn insert_sql(target: &Target<'_>, n: usize) -> String {
    let width = target.columns.len();
    let values: Vec<String> = (0..n)
        .map(|r| {
            let ps: Vec<String> = (0..width)
                .map(|c| format!("${}", r * width + c + 1))
                .collect();
            format!("({})", ps.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES {}{}",
        target.table,
        target.column_list(),
        values.join(", "),
        target.conflict_clause()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upserts_update_every_column_but_the_key() {
        let (columns, one, keys) = (["id".into(), "v".into()], ["id".into()], ["id".into()]);
        let target = |columns| Target {
            table: "\"t\"",
            columns,
            keys: &keys,
            upsert: true,
        };
        assert_eq!(
            insert_sql(&target(&columns), 2),
            "INSERT INTO \"t\" (\"id\", \"v\") VALUES ($1, $2), ($3, $4) ON CONFLICT (\"id\") DO UPDATE SET \"v\" = EXCLUDED.\"v\""
        );
        assert!(insert_sql(&target(&one), 1).ends_with("DO NOTHING"));
    }
}
