//! SeaTunnel's `Jdbc` sink: rows written with the job's own `query` (an INSERT with `?`
//! placeholders, bound in column order) or with statements weir generates
//! (`generate_sink_sql = true` with `database`, `table`, `primary_keys`, `enable_upsert`):
//! inserts and UPDATE_AFTER rows upsert by the primary key (`ON CONFLICT … DO UPDATE` /
//! `ON DUPLICATE KEY UPDATE`), DELETE rows delete by it, UPDATE_BEFORE rows are skipped.
//!
//! Rows are sent `batch_size` at a time. By default each flush is a transaction of its own and
//! everything buffered is flushed at each checkpoint (at-least-once; with primary keys a replay
//! rewrites the same rows, so the table ends exact, and `max_retries` retries a failed flush).
//! With `is_exactly_once = true` the rows between two checkpoints are one transaction, prepared
//! at the checkpoint and committed when it completes (`two_phase`); a failed write then fails
//! the subtask and the job replays from its last checkpoint. The save modes act once, when the
//! job starts fresh (`save_mode`).

use crate::client::{Client, Connection};
use crate::save_mode::{SaveModes, Target};
use crate::two_phase::{self, Committable, Recovery, Resolution, XidScheme};
use crate::url::Dialect;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};
use weir_runtime::batch::{Batch, RowKind};
use weir_runtime::blocking::run_blocking;
use weir_runtime::connectors::table_placeholders::fill;
use weir_runtime::operator::{
    JobLogHandle, PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext,
};

pub struct JdbcSinkFactory;

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

/// `is_exactly_once = true`, with its options.
#[derive(Debug, Clone)]
struct ExactlyOnce {
    scheme: XidScheme,
    max_commit_attempts: u32,
    /// `transaction_timeout_sec`, when positive.
    timeout_sec: Option<u32>,
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
                OptionSpec::optional("custom_sql", String),
                OptionSpec::optional("is_exactly_once", Bool),
                OptionSpec::optional("xa_data_source_class_name", String),
                OptionSpec::optional("max_commit_attempts", Int),
                OptionSpec::optional("transaction_timeout_sec", Int),
                OptionSpec::optional("connection_check_timeout_sec", Int),
                // Test-only: subtask 0's first attempt fails when told a checkpoint completed,
                // before committing it, once it has written this many rows.
                OptionSpec::optional("test.fail_once_after_rows", Int),
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
        ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        let e = WeirError::new;
        let conn = Connection::from_options(o)?;
        let dialect = conn.url.dialect;
        let save_modes = SaveModes::from_options(o)?;
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
                // `${table_name}` and friends: after a multi-table source, each copy of the
                // sink writes its own table.
                let written = ctx.table_paths.first().map(String::as_str);
                let table = o.str("table").map_err(e)?.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
                    WeirError::new("generate_sink_sql needs 'table'").with_hint("table = \"my_table\"")
                })?;
                let table = fill(&table, written)?;
                let database = o.str("database").map_err(e)?.map(|d| fill(&d, written)).transpose()?;
                let path = match (dialect, database) {
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
        if save_modes.need_table() && matches!(statements, Statements::Query(_)) {
            return Err(WeirError::new(
                "schema_save_mode RECREATE_SCHEMA and data_save_mode DROP_DATA / ERROR_WHEN_DATA_EXISTS act on the sink's table, and a sink writing with 'query' has none",
            )
            .with_hint("use generate_sink_sql = true with database and table, or data_save_mode = CUSTOM_PROCESSING with custom_sql"));
        }
        let exactly_once = if o.bool("is_exactly_once").map_err(e)?.unwrap_or(false) {
            let identity = match &statements {
                Statements::Query(q) => q.clone(),
                Statements::Generated { table, .. } => table.clone(),
            };
            let identity = format!(
                "{}:{}/{}|{identity}",
                conn.url.host,
                conn.url.port,
                conn.url.database.as_deref().unwrap_or_default()
            );
            let timeout = o.i64("transaction_timeout_sec").map_err(e)?.unwrap_or(-1);
            Some(ExactlyOnce {
                scheme: XidScheme::new(ctx.job_id, &identity),
                max_commit_attempts: o
                    .i64("max_commit_attempts")
                    .map_err(e)?
                    .unwrap_or(3)
                    .clamp(1, 100) as u32,
                timeout_sec: (timeout > 0).then(|| timeout.min(i64::from(u32::MAX)) as u32),
            })
        } else {
            None
        };
        // Check what can be checked without changing anything: the server answers, the
        // query's placeholders match the columns, a table that must exist does, prepared
        // transactions are enabled when they are needed.
        let probe = (
            conn.clone(),
            statements.clone(),
            input.clone(),
            save_modes.clone(),
            exactly_once.is_some(),
        );
        run_blocking(async move {
            let (conn, statements, input, save_modes, two_phase) = probe;
            let mut client = conn.open().await?;
            let checked = check(&mut client, &statements, &input, &save_modes, two_phase).await;
            client.close().await;
            checked
        })?;
        Ok(Arc::new(PreparedJdbcSink {
            conn,
            statements,
            input,
            batch_size,
            max_retries,
            save_modes,
            exactly_once,
            job_log: ctx.job_log.clone(),
            fail_once_after: o
                .i64("test.fail_once_after_rows")
                .map_err(e)?
                .filter(|n| *n >= 0)
                .map(|n| n as u64),
        }))
    }
}

/// The read-only checks of `prepare`.
async fn check(
    client: &mut Client,
    statements: &Statements,
    input: &SchemaRef,
    save_modes: &SaveModes,
    two_phase: bool,
) -> WeirResult<()> {
    if two_phase {
        two_phase::check_supported(client).await?;
    }
    match statements {
        Statements::Query(q) => {
            let n = crate::ddl::placeholders(client, q).await?;
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
            let exists = crate::ddl::table_exists(client, table).await?;
            crate::save_mode::plan(save_modes, Some(exists))
                .map(drop)
                .map_err(|m| WeirError::new(format!("table {table} {m}")))
        }
    }
}

struct PreparedJdbcSink {
    conn: Connection,
    statements: Statements,
    input: SchemaRef,
    batch_size: usize,
    max_retries: u32,
    save_modes: SaveModes,
    exactly_once: Option<ExactlyOnce>,
    job_log: JobLogHandle,
    fail_once_after: Option<u64>,
}

#[async_trait]
impl PreparedSink for PreparedJdbcSink {
    fn create_writer(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        Ok(Box::new(JdbcWriter {
            conn: self.conn.clone(),
            statements: self.statements.clone(),
            batch_size: self.batch_size,
            max_retries: self.max_retries,
            pending: Vec::new(),
            pending_rows: 0,
            written: 0,
            fail_commit_after: self
                .fail_once_after
                .filter(|_| subtask.index == 0 && subtask.attempt == 0),
            client: None,
            delivery: match &self.exactly_once {
                None => Delivery::AtLeastOnce,
                Some(x) => Delivery::ExactlyOnce(Box::new(TwoPhase {
                    options: x.clone(),
                    subtask,
                    last_checkpoint: 0,
                    open: None,
                    prepared: BTreeMap::new(),
                    recovered: false,
                    committer: None,
                    job_log: self.job_log.clone(),
                })),
            },
        }))
    }

    async fn on_job_start(&self) -> WeirResult<()> {
        let dialect = self.conn.url.dialect;
        let mut client = self.conn.open().await?;
        let done = async {
            let target = match &self.statements {
                Statements::Generated { table, keys, .. } => Some(Target {
                    table,
                    schema: &self.input,
                    keys,
                }),
                Statements::Query(_) => None,
            };
            let exists = match &target {
                Some(t) => Some(crate::ddl::table_exists(&mut client, t.table).await?),
                None => None,
            };
            let steps = crate::save_mode::plan(&self.save_modes, exists).map_err(|m| {
                WeirError::new(format!(
                    "{}: {m}",
                    target.as_ref().map(|t| t.table).unwrap_or("the sink")
                ))
            })?;
            crate::save_mode::apply(&mut client, dialect, target.as_ref(), &steps).await
        }
        .await;
        client.close().await;
        done
    }
}

struct JdbcWriter {
    conn: Connection,
    statements: Statements,
    batch_size: usize,
    max_retries: u32,
    pending: Vec<Batch>,
    pending_rows: usize,
    /// Rows given to the writer so far.
    written: u64,
    /// `test.fail_once_after_rows`, for this subtask.
    fail_commit_after: Option<u64>,
    client: Option<Client>,
    delivery: Delivery,
}

/// What the writer promises about the rows it is given.
enum Delivery {
    /// Each flush commits on its own; a replay may write rows again.
    AtLeastOnce,
    /// One prepared transaction per checkpoint.
    ExactlyOnce(Box<TwoPhase>),
}

/// The exactly-once writer's transactions.
struct TwoPhase {
    options: ExactlyOnce,
    subtask: SubtaskContext,
    /// The last checkpoint this writer prepared or was restored from: the next transaction is
    /// named after it.
    last_checkpoint: u64,
    /// The transaction the writer's connection has open, if any.
    open: Option<String>,
    /// Prepared and not yet committed, by the checkpoint that prepared them.
    prepared: BTreeMap<u64, String>,
    /// Whether what earlier runs left prepared has been resolved.
    recovered: bool,
    /// A second connection, for committing: the writer's own may be inside the next
    /// checkpoint's transaction, where neither database accepts `COMMIT PREPARED`/`XA COMMIT`.
    committer: Option<Client>,
    job_log: JobLogHandle,
}

impl TwoPhase {
    fn name(&self) -> String {
        self.options.scheme.name(
            self.subtask.index,
            self.last_checkpoint,
            self.subtask.attempt,
        )
    }

    async fn committer(&mut self, conn: &Connection) -> WeirResult<&mut Client> {
        if !self.committer.as_ref().is_some_and(Client::is_alive) {
            self.committer = Some(conn.open().await?);
        }
        self.committer
            .as_mut()
            .ok_or_else(|| WeirError::new("no database connection"))
    }

    /// Resolves `xid`, retrying up to `max_commit_attempts` times on a fresh connection.
    async fn resolve(&mut self, conn: &Connection, xid: &str, how: Resolution) -> WeirResult<()> {
        let mut attempt = 1;
        loop {
            let client = self.committer(conn).await?;
            match two_phase::resolve_prepared(client, xid, how).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < self.options.max_commit_attempts => {
                    tracing::warn!("Jdbc sink: resolving {xid} failed ({}), attempt {attempt}", e.message);
                    attempt += 1;
                    self.committer = None;
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(e) => return Err(e.with_hint("the job restarts from its last checkpoint, and the restore resolves the transaction again")),
            }
        }
    }

    /// Commits or rolls back every prepared transaction `recovery` makes this writer's.
    async fn recover(&mut self, conn: &Connection, recovery: Recovery) -> WeirResult<()> {
        let prefixes = match &recovery {
            Recovery::Restored { prefixes, .. } => prefixes.clone(),
            Recovery::Fresh { prefix, .. } => vec![prefix.clone()],
        };
        let client = self.committer(conn).await?;
        let found = two_phase::list_prepared(client, &prefixes).await?;
        let (mut committed, mut rolled_back) = (0, 0);
        for gid in found {
            if let Some(how) = two_phase::resolve(&gid, &recovery) {
                self.resolve(conn, &gid, how).await?;
                match how {
                    Resolution::Commit => committed += 1,
                    Resolution::Rollback => rolled_back += 1,
                }
            }
        }
        if committed + rolled_back > 0 {
            self.job_log.info(&format!(
                "Jdbc sink ({}/{}): committed {committed} and rolled back {rolled_back} prepared transactions an earlier run left",
                self.subtask.index + 1,
                self.subtask.parallelism
            ));
        }
        self.recovered = true;
        Ok(())
    }

    /// On a start without a checkpoint: what this subtask's earlier attempts prepared.
    async fn recover_fresh(&mut self, conn: &Connection) -> WeirResult<()> {
        if self.recovered {
            return Ok(());
        }
        let recovery = Recovery::Fresh {
            prefix: self.options.scheme.prefix.clone(),
            subtask: self.subtask.index,
        };
        self.recover(conn, recovery).await
    }

    /// Commits what checkpoints up to `checkpoint` prepared.
    async fn commit_up_to(&mut self, conn: &Connection, checkpoint: u64) -> WeirResult<()> {
        let later = match checkpoint.checked_add(1) {
            Some(next) => self.prepared.split_off(&next),
            None => BTreeMap::new(),
        };
        let due = std::mem::replace(&mut self.prepared, later);
        for (cp, xid) in due {
            if let Err(e) = self.resolve(conn, &xid, Resolution::Commit).await {
                self.prepared.insert(cp, xid);
                return Err(e);
            }
        }
        Ok(())
    }
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

/// Opens `client` if it is not open, setting the session's transaction timeout.
async fn open<'a>(
    conn: &Connection,
    client: &'a mut Option<Client>,
    timeout_sec: Option<u32>,
) -> WeirResult<&'a mut Client> {
    if !client.as_ref().is_some_and(Client::is_alive) {
        let mut c = conn.open().await?;
        if let Some(t) = timeout_sec {
            two_phase::set_timeout(&mut c, t).await?;
        }
        *client = Some(c);
    }
    client
        .as_mut()
        .ok_or_else(|| WeirError::new("no database connection"))
}

/// Writes `batches` on `client`, in a transaction of their own or (`in_open`) in the one open.
async fn write_on(
    client: &mut Client,
    statements: &Statements,
    batches: &[Batch],
    batch_size: usize,
    in_open: bool,
) -> WeirResult<()> {
    match client {
        Client::Pg(c) => {
            let tx = if in_open {
                crate::write_pg::Transaction::Prepared
            } else {
                crate::write_pg::Transaction::Own
            };
            crate::write_pg::flush(c, statements, batches, batch_size, tx).await
        }
        Client::My(c) => {
            crate::write_mysql::flush(c, statements, batches, batch_size, in_open).await
        }
    }
}

impl JdbcWriter {
    async fn flush(&mut self) -> WeirResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        match &mut self.delivery {
            Delivery::AtLeastOnce => {
                let mut attempt = 0;
                loop {
                    let written = match open(&self.conn, &mut self.client, None).await {
                        Ok(c) => {
                            write_on(c, &self.statements, &self.pending, self.batch_size, false)
                                .await
                        }
                        Err(e) => Err(e),
                    };
                    match written {
                        Ok(()) => break,
                        Err(e) if attempt < self.max_retries => {
                            attempt += 1;
                            tracing::warn!(
                                "Jdbc sink: flush failed ({}), retry {attempt}",
                                e.message
                            );
                            self.client = None;
                            tokio::time::sleep(std::time::Duration::from_millis(
                                200 * u64::from(attempt),
                            ))
                            .await;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            Delivery::ExactlyOnce(tp) => {
                if let Some(xid) = &tp.open {
                    if !self.client.as_ref().is_some_and(Client::is_alive) {
                        return Err(WeirError::new(format!(
                            "the connection holding transaction {xid} was lost; its rows are gone with it"
                        ))
                        .with_hint("the job restarts from its last checkpoint and writes them again"));
                    }
                }
                tp.recover_fresh(&self.conn).await?;
                let client = open(&self.conn, &mut self.client, tp.options.timeout_sec).await?;
                if tp.open.is_none() {
                    let xid = tp.name();
                    two_phase::begin(client, &xid).await?;
                    tp.open = Some(xid);
                }
                write_on(
                    client,
                    &self.statements,
                    &self.pending,
                    self.batch_size,
                    true,
                )
                .await?;
            }
        }
        self.pending.clear();
        self.pending_rows = 0;
        Ok(())
    }
}

#[async_trait]
impl SinkWriter for JdbcWriter {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        self.pending_rows += batch.records.num_rows();
        self.written += batch.records.num_rows() as u64;
        self.pending.push(batch);
        if self.pending_rows >= self.batch_size {
            self.flush().await?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        self.flush().await?;
        if let Delivery::ExactlyOnce(tp) = &mut self.delivery {
            // All input is in: nothing can replay it, so it is committed now.
            tp.recover_fresh(&self.conn).await?;
            if let Some(xid) = tp.open.take() {
                // Without its connection the open transaction is gone: an error, so the job
                // replays it, never a silent loss.
                let client = self.client.as_mut().ok_or_else(|| {
                    WeirError::new(format!("the connection holding transaction {xid} is gone"))
                })?;
                two_phase::commit_open(client, &xid).await?;
            }
            tp.commit_up_to(&self.conn, u64::MAX).await?;
        }
        Ok(())
    }

    async fn prepare_commit(&mut self, checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        // At-least-once: what the checkpoint covers is in the table before it completes.
        // Exactly-once: it is in the transaction, prepared here.
        self.flush().await?;
        let Delivery::ExactlyOnce(tp) = &mut self.delivery else {
            return Ok(Vec::new());
        };
        tp.recover_fresh(&self.conn).await?;
        if let Some(xid) = tp.open.take() {
            let client = self.client.as_mut().ok_or_else(|| {
                WeirError::new(format!("the connection holding transaction {xid} is gone"))
            })?;
            two_phase::prepare(client, &xid).await?;
            tp.prepared.insert(checkpoint_id, xid);
            if matches!(client, Client::My(_)) {
                // A MySQL/MariaDB session stays attached to its prepared XA transaction until
                // it ends; ending it detaches the transaction, which any session can then
                // commit, and the next transaction begins on a new session.
                if let Some(c) = self.client.take() {
                    c.close().await;
                }
            }
        }
        tp.last_checkpoint = checkpoint_id;
        let entry = Committable {
            prefix: tp.options.scheme.prefix.clone(),
            checkpoint: checkpoint_id,
            prepared: tp.prepared.values().cloned().collect(),
        };
        Ok(vec![entry.encode()?])
    }

    async fn commit(&mut self, checkpoint_id: u64) -> WeirResult<()> {
        if let Some(n) = self.fail_commit_after {
            if self.written >= n {
                self.fail_commit_after = None;
                return Err(WeirError::new(format!(
                    "injected failure before committing checkpoint {checkpoint_id}, after {} rows (test.fail_once_after_rows)",
                    self.written
                )));
            }
        }
        match &mut self.delivery {
            Delivery::AtLeastOnce => Ok(()),
            Delivery::ExactlyOnce(tp) => tp.commit_up_to(&self.conn, checkpoint_id).await,
        }
    }

    async fn restore(&mut self, checkpoint_id: u64, committables: Vec<Vec<u8>>) -> WeirResult<()> {
        let Delivery::ExactlyOnce(tp) = &mut self.delivery else {
            return Ok(());
        };
        let mut prefixes = vec![tp.options.scheme.prefix.clone()];
        for entry in &committables {
            let c = Committable::decode(entry)?;
            if !prefixes.contains(&c.prefix) {
                prefixes.push(c.prefix);
            }
        }
        let recovery = Recovery::Restored {
            checkpoint: checkpoint_id,
            prefixes,
        };
        tp.recover(&self.conn, recovery).await?;
        tp.last_checkpoint = checkpoint_id;
        Ok(())
    }
}

/// The rows of `batch` in runs of rows that do the same to the table, in order (a later row
/// of a key must land after an earlier one). Skipped rows (UPDATE_BEFORE) are left out and do
/// not end a run, so a changelog's updates (before, after, before, after…) are one run of
/// writes, not one statement per row.
pub(crate) fn runs(batch: &Batch) -> Vec<(Action, Vec<usize>)> {
    let mut out: Vec<(Action, Vec<usize>)> = Vec::new();
    for i in 0..batch.num_rows() {
        let a = action(batch.kind(i));
        match (a, out.last_mut()) {
            (Action::Skip, _) => {}
            (a, Some((last, rows))) if *last == a => rows.push(i),
            (a, _) => out.push((a, vec![i])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{Field, Schema};
    use arrow::record_batch::RecordBatch;

    #[test]
    fn update_befores_neither_write_nor_split_a_run() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "id",
            arrow::datatypes::DataType::Int64,
            false,
        )]));
        let records = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(vec![1, 1, 2, 2, 3, 4]))],
        )
        .unwrap();
        use RowKind::*;
        let batch = Batch::with_kinds(
            records,
            vec![
                UpdateBefore,
                UpdateAfter,
                UpdateBefore,
                UpdateAfter,
                Delete,
                Insert,
            ],
        );
        assert_eq!(
            runs(&batch),
            vec![
                (Action::Write, vec![1, 3]),
                (Action::Delete, vec![4]),
                (Action::Write, vec![5])
            ]
        );
    }
}
