//! SeaTunnel's `Jdbc` sink: rows written with the job's own `query` (an INSERT with `?`
//! placeholders, bound in column order) or with statements weir generates
//! (`generate_sink_sql = true` with `database`, `table`, `primary_keys`, `enable_upsert`):
//! inserts and UPDATE_AFTER rows upsert by the primary key (`ON CONFLICT … DO UPDATE` /
//! `ON DUPLICATE KEY UPDATE`), DELETE rows delete by it, UPDATE_BEFORE rows are skipped. Rows
//! are sent `batch_size` at a time in one transaction per flush, and everything buffered is
//! flushed at each checkpoint (at-least-once; with primary keys a replay rewrites the same
//! rows, so the table ends exact). A missing table is created from the input's columns
//! (`schema_save_mode = CREATE_SCHEMA_WHEN_NOT_EXIST`, SeaTunnel's default).

use crate::client::{run_blocking, Client, Connection};
use crate::pg;
use crate::url::Dialect;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};
use weir_runtime::batch::{Batch, RowKind};
use weir_runtime::operator::{
    PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext,
};

pub struct JdbcSinkFactory;

/// What the sink does with a table that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SchemaSaveMode {
    CreateWhenMissing,
    ErrorWhenMissing,
    Ignore,
}

/// How rows become statements.
#[derive(Debug, Clone)]
pub(crate) enum Statements {
    /// The job's INSERT, `?` placeholders bound in column order, for every row.
    Query(String),
    Generated {
        /// Quoted, as the database names it.
        table: String,
        columns: Vec<String>,
        keys: Vec<String>,
        upsert: bool,
    },
}

impl SinkFactory for JdbcSinkFactory {
    fn spec(&self) -> PluginSpec {
        use OptionType::*;
        PluginSpec::new(
            "Jdbc",
            PluginKind::Sink,
            vec![
                OptionSpec::required("url", String),
                OptionSpec::optional("driver", String),
                OptionSpec::optional("user", String),
                OptionSpec::optional("username", String),
                OptionSpec::optional("password", String),
                OptionSpec::optional("query", String),
                OptionSpec::optional("generate_sink_sql", Bool),
                OptionSpec::optional("database", String),
                OptionSpec::optional("table", String),
                OptionSpec::optional("primary_keys", StringList),
                OptionSpec::optional("enable_upsert", Bool),
                OptionSpec::optional("batch_size", Int),
                OptionSpec::optional("max_retries", Int),
                OptionSpec::optional("schema_save_mode", String),
                OptionSpec::optional("data_save_mode", String),
                OptionSpec::optional("is_exactly_once", Bool),
                OptionSpec::optional("connection_check_timeout_sec", Int),
            ],
        )
        .ignoring(&[
            "support_upsert_by_query_primary_key_exist",
            "field_ide",
            "properties",
        ])
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        _ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        let e = WeirError::new;
        let conn = Connection::from_options(o)?;
        let dialect = conn.url.dialect;
        if o.bool("is_exactly_once").map_err(e)?.unwrap_or(false) {
            return Err(WeirError::new(
                "is_exactly_once = true (XA / prepared transactions) is not supported by weir's Jdbc sink yet",
            )
            .with_hint("leave it out: with primary_keys the sink upserts, so a replay after a failure rewrites the same rows"));
        }
        match o
            .str("data_save_mode")
            .map_err(e)?
            .unwrap_or_else(|| "APPEND_DATA".into())
            .to_ascii_uppercase()
            .as_str()
        {
            "APPEND_DATA" => {}
            other => {
                return Err(WeirError::new(format!(
                    "data_save_mode {other} is not supported by weir's Jdbc sink yet"
                ))
                .with_hint(
                    "use APPEND_DATA (the default), and empty the table yourself first if you must",
                ))
            }
        }
        let save_mode = match o
            .str("schema_save_mode")
            .map_err(e)?
            .unwrap_or_else(|| "CREATE_SCHEMA_WHEN_NOT_EXIST".into())
            .to_ascii_uppercase()
            .as_str()
        {
            "CREATE_SCHEMA_WHEN_NOT_EXIST" => SchemaSaveMode::CreateWhenMissing,
            "ERROR_WHEN_SCHEMA_NOT_EXIST" => SchemaSaveMode::ErrorWhenMissing,
            "IGNORE" => SchemaSaveMode::Ignore,
            other => {
                return Err(WeirError::new(format!(
                    "schema_save_mode {other} is not supported by weir's Jdbc sink yet"
                ))
                .with_hint(
                    "use CREATE_SCHEMA_WHEN_NOT_EXIST, ERROR_WHEN_SCHEMA_NOT_EXIST or IGNORE",
                ))
            }
        };
        let batch_size = o
            .i64("batch_size")
            .map_err(e)?
            .filter(|n| *n > 0)
            .unwrap_or(1000)
            .min(100_000) as usize;
        let max_retries = o.i64("max_retries").map_err(e)?.unwrap_or(0).clamp(0, 100) as u32;
        let keys = o.str_list("primary_keys").map_err(e)?.unwrap_or_default();
        for k in &keys {
            if input.index_of(k).is_err() {
                return Err(WeirError::new(format!(
                    "primary_keys: '{k}' is not a column of the input"
                )));
            }
        }
        let generate = o.bool("generate_sink_sql").map_err(e)?.unwrap_or(false);
        let statements = match (o.str("query").map_err(e)?, generate) {
            (Some(q), false) if !q.trim().is_empty() => Statements::Query(q),
            (_, true) => {
                let table = o.str("table").map_err(e)?.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
                    WeirError::new("generate_sink_sql needs 'table'").with_hint("table = \"my_table\"")
                })?;
                let path = match (dialect, o.str("database").map_err(e)?) {
                    // A PostgreSQL table is `schema.table` in the url's database.
                    (Dialect::Postgres, _) => table,
                    (Dialect::MySql, Some(db)) if !table.contains('.') => format!("{db}.{table}"),
                    (Dialect::MySql, _) => table,
                };
                for f in input.fields() {
                    if crate::ddl::column_type(dialect, f.data_type(), false).is_err() {
                        return Err(WeirError::new(format!(
                            "column '{}' of type {} cannot be written by weir's Jdbc sink",
                            f.name(),
                            f.data_type()
                        ))
                        .with_hint("cast it to a string in a Sql transform, or drop it"));
                    }
                }
                Statements::Generated {
                    table: dialect.quote_path(&path),
                    columns: input.fields().iter().map(|f| f.name().clone()).collect(),
                    keys: keys.clone(),
                    upsert: o.bool("enable_upsert").map_err(e)?.unwrap_or(true) && !keys.is_empty(),
                }
            }
            _ => {
                return Err(WeirError::new("the Jdbc sink needs 'query' or generate_sink_sql = true")
                    .with_hint("query = \"INSERT INTO t (a, b) VALUES (?, ?)\", or generate_sink_sql = true with database, table and primary_keys"))
            }
        };
        // Check what can be checked without changing anything: the server answers, the
        // query's placeholders match the columns, a table that must exist does.
        let probe = (conn.clone(), statements.clone(), input.clone(), save_mode);
        run_blocking(async move {
            let (conn, statements, input, save_mode) = probe;
            let mut client = conn.open().await?;
            let checked = match &statements {
                Statements::Query(q) => {
                    let n = crate::ddl::placeholders(&mut client, q).await?;
                    if n == input.fields().len() {
                        Ok(())
                    } else {
                        Err(WeirError::new(format!(
                            "the query has {n} placeholders but the input has {} columns",
                            input.fields().len()
                        ))
                        .with_hint("bind every column once, in order, or select the columns with a Sql transform first"))
                    }
                }
                Statements::Generated { table, .. } => {
                    let exists = crate::ddl::table_exists(&mut client, table).await?;
                    if !exists && save_mode == SchemaSaveMode::ErrorWhenMissing {
                        Err(WeirError::new(format!(
                            "table {table} does not exist (schema_save_mode = ERROR_WHEN_SCHEMA_NOT_EXIST)"
                        )))
                    } else {
                        Ok(())
                    }
                }
            };
            client.close().await;
            checked
        })?;
        Ok(Arc::new(PreparedJdbcSink {
            conn,
            statements,
            input,
            batch_size,
            max_retries,
            create: save_mode == SchemaSaveMode::CreateWhenMissing,
        }))
    }
}

struct PreparedJdbcSink {
    conn: Connection,
    statements: Statements,
    input: SchemaRef,
    batch_size: usize,
    max_retries: u32,
    create: bool,
}

impl PreparedSink for PreparedJdbcSink {
    fn create_writer(&self, _subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        Ok(Box::new(JdbcWriter {
            conn: self.conn.clone(),
            statements: self.statements.clone(),
            input: self.input.clone(),
            batch_size: self.batch_size,
            max_retries: self.max_retries,
            create: self.create,
            pending: Vec::new(),
            pending_rows: 0,
            client: None,
            table_ready: false,
        }))
    }
}

struct JdbcWriter {
    conn: Connection,
    statements: Statements,
    input: SchemaRef,
    batch_size: usize,
    max_retries: u32,
    create: bool,
    pending: Vec<Batch>,
    pending_rows: usize,
    client: Option<Client>,
    table_ready: bool,
}

/// What one row does to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Write,
    Delete,
    Skip,
}

fn action(kind: RowKind) -> Action {
    match kind {
        RowKind::Insert | RowKind::UpdateAfter => Action::Write,
        RowKind::Delete => Action::Delete,
        RowKind::UpdateBefore => Action::Skip,
    }
}

impl JdbcWriter {
    async fn connect(&mut self) -> WeirResult<()> {
        let c = &self.conn;
        if !self.client.as_ref().is_some_and(Client::is_alive) {
            self.client = Some(c.open().await?);
        }
        if !self.table_ready {
            if let (true, Statements::Generated { table, keys, .. }, Some(client)) =
                (self.create, &self.statements, self.client.as_mut())
            {
                let sql = crate::ddl::create_table(c.url.dialect, table, &self.input, keys)?;
                match client {
                    Client::Pg(p) => {
                        if let Err(e) = p.batch_execute(&sql).await {
                            // Two writers creating the table at once: one wins, the other's
                            // IF NOT EXISTS can still collide in the catalog.
                            let text = pg::describe_error(&e);
                            if !text.contains("already exists") && !text.contains("duplicate key") {
                                return Err(WeirError::new(format!("creating {table}: {text}")));
                            }
                        }
                    }
                    Client::My(m) => m
                        .query_drop(sql)
                        .await
                        .map_err(|e| WeirError::new(format!("creating {table}: {e}")))?,
                }
            }
            self.table_ready = true;
        }
        Ok(())
    }

    async fn flush(&mut self) -> WeirResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut attempt = 0;
        loop {
            match self.try_flush().await {
                Ok(()) => break,
                Err(e) if attempt < self.max_retries => {
                    attempt += 1;
                    tracing::warn!("Jdbc sink: flush failed ({}), retry {attempt}", e.message);
                    self.client = None;
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                        .await;
                }
                Err(e) => return Err(e),
            }
        }
        self.pending.clear();
        self.pending_rows = 0;
        Ok(())
    }

    async fn try_flush(&mut self) -> WeirResult<()> {
        self.connect().await?;
        let batches = self.pending.clone();
        let statements = self.statements.clone();
        let batch_size = self.batch_size;
        match self.client.as_mut() {
            Some(Client::Pg(c)) => {
                crate::write_pg::flush(c, &statements, &batches, batch_size).await
            }
            Some(Client::My(c)) => {
                crate::write_mysql::flush(c, &statements, &batches, batch_size).await
            }
            None => Err(WeirError::new("no database connection")),
        }
    }
}

#[async_trait]
impl SinkWriter for JdbcWriter {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        self.pending_rows += batch.records.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= self.batch_size {
            self.flush().await?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        self.flush().await
    }

    async fn prepare_commit(&mut self, _checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        // At-least-once: what the checkpoint covers is in the table before it completes.
        self.flush().await?;
        Ok(Vec::new())
    }
}

/// The rows of `batch` in runs of consecutive rows that do the same to the table, in order
/// (a later row of a key must land after an earlier one).
pub(crate) fn runs(batch: &Batch) -> Vec<(Action, std::ops::Range<usize>)> {
    let mut out: Vec<(Action, std::ops::Range<usize>)> = Vec::new();
    for i in 0..batch.num_rows() {
        let a = action(batch.kind(i));
        match out.last_mut() {
            Some((last, range)) if *last == a => range.end = i + 1,
            _ => out.push((a, i..i + 1)),
        }
    }
    out
}
