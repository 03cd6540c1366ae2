//! Writing a flush of rows to MySQL/MariaDB: runs of rows that write become multi-row
//! `INSERT … ON DUPLICATE KEY UPDATE` statements, runs of deletes `DELETE … WHERE key = ?`. A
//! flush is one transaction of its own, or part of the exactly-once sink's XA transaction.

use crate::sink::{runs, Action, Statements};
use crate::url::Dialect;
use crate::values::mysql_value;
use arrow::record_batch::RecordBatch;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, TxOpts, Value};
use weir_core::{WeirError, WeirResult};
use weir_runtime::batch::Batch;

/// MySQL's limit on a prepared statement's placeholders.
const MAX_PARAMS: usize = 65_535;

fn db(e: mysql_async::Error) -> WeirError {
    WeirError::new(format!("writing to MySQL: {e}"))
}

fn row_values(records: &RecordBatch, row: usize, cols: &[usize]) -> WeirResult<Vec<Value>> {
    cols.iter()
        .map(|&c| mysql_value(records.column(c), row))
        .collect()
}

/// Writes `batches` in one transaction of their own, or, with `in_xa`, in the XA transaction
/// the connection has open.
pub async fn flush(
    conn: &mut Conn,
    statements: &Statements,
    batches: &[Batch],
    batch_size: usize,
    in_xa: bool,
) -> WeirResult<()> {
    if in_xa {
        return write(conn, statements, batches, batch_size).await;
    }
    let mut tx = conn
        .start_transaction(TxOpts::default())
        .await
        .map_err(db)?;
    write(&mut tx, statements, batches, batch_size).await?;
    tx.commit().await.map_err(db)
}

async fn write<Q: Queryable>(
    tx: &mut Q,
    statements: &Statements,
    batches: &[Batch],
    batch_size: usize,
) -> WeirResult<()> {
    for batch in batches {
        let records = &batch.records;
        let all: Vec<usize> = (0..records.num_columns()).collect();
        for (a, run) in runs(batch) {
            let run = run.into_iter();
            match (a, statements) {
                (Action::Skip, _) => {}
                (Action::Write, Statements::Query(q)) => {
                    let params = run
                        .clone()
                        .map(|r| row_values(records, r, &all).map(Params::Positional))
                        .collect::<WeirResult<Vec<_>>>()?;
                    tx.exec_batch(q.as_str(), params).await.map_err(db)?;
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
                    let per_stmt = (MAX_PARAMS / columns.len().max(1)).clamp(1, batch_size.max(1));
                    let rows: Vec<usize> = run.clone().collect();
                    for chunk in rows.chunks(per_stmt) {
                        let sql = insert_sql(table, columns, keys, *upsert, chunk.len());
                        let mut params = Vec::with_capacity(chunk.len() * columns.len());
                        for &r in chunk {
                            params.extend(row_values(records, r, &all)?);
                        }
                        tx.exec_drop(sql, Params::Positional(params))
                            .await
                            .map_err(db)?;
                    }
                }
                (Action::Delete, Statements::Generated { table, keys, .. }) => {
                    if keys.is_empty() {
                        return Err(WeirError::new(format!(
                            "a DELETE row reached the Jdbc sink of {table}, which has no primary_keys to delete by"
                        )));
                    }
                    let key_cols = keys
                        .iter()
                        .map(|k| {
                            records.schema().index_of(k).map_err(|_| {
                                WeirError::new(format!("column '{k}' is not in the rows"))
                            })
                        })
                        .collect::<WeirResult<Vec<_>>>()?;
                    let cond: Vec<String> = keys
                        .iter()
                        .map(|k| format!("{} = ?", Dialect::MySql.quote(k)))
                        .collect();
                    let sql = format!("DELETE FROM {table} WHERE {}", cond.join(" AND "));
                    let params = run
                        .clone()
                        .map(|r| row_values(records, r, &key_cols).map(Params::Positional))
                        .collect::<WeirResult<Vec<_>>>()?;
                    tx.exec_batch(sql.as_str(), params).await.map_err(db)?;
                }
            }
        }
    }
    Ok(())
}

/// `INSERT INTO t (…) VALUES (?, …), (…) [ON DUPLICATE KEY UPDATE …]` for `n` rows.
fn insert_sql(table: &str, columns: &[String], keys: &[String], upsert: bool, n: usize) -> String {
    let q = |c: &String| Dialect::MySql.quote(c);
    let cols: Vec<String> = columns.iter().map(q).collect();
    let row = format!("({})", vec!["?"; columns.len()].join(", "));
    let mut sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        cols.join(", "),
        vec![row; n].join(", ")
    );
    if upsert {
        let sets: Vec<String> = columns
            .iter()
            .filter(|c| !keys.contains(c))
            .map(|c| format!("{0} = VALUES({0})", q(c)))
            .collect();
        let sets = if sets.is_empty() {
            // Only key columns: a duplicate changes nothing.
            let k = q(&keys[0]);
            vec![format!("{k} = {k}")]
        } else {
            sets
        };
        sql.push_str(&format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", ")));
    }
    sql
}
