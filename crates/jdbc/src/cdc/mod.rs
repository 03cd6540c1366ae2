//! SeaTunnel's `Postgres-CDC` source: a table's rows as they are (the snapshot), then every
//! change to it (INSERT, UPDATE_BEFORE/UPDATE_AFTER, DELETE rows) from PostgreSQL's logical
//! replication, decoded from `pgoutput` (`pgoutput.rs`) and carried by `pgwire-replication`.
//!
//! The snapshot and the stream meet without gap or overlap: the replication slot is created
//! with an exported snapshot, the table is read in that snapshot, and the stream starts at the
//! slot's consistent point. The reader's position (`position.rs`) is operator state; the slot
//! is told a position is no longer needed only when the checkpoint holding it completes, so
//! PostgreSQL keeps every change a restore may need. The reader's phases are in `reader.rs`.

mod pgoutput;
mod position;
mod reader;

use crate::pg;
use crate::url::{Dialect, JdbcUrl};
use arrow::datatypes::SchemaRef;
use std::sync::Arc;
use std::time::Duration;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{JobMode, OptionSpec, OptionType, Options, PluginKind, PluginSpec};
use weir_runtime::blocking::run_blocking;
use weir_runtime::operator::{
    PrepareContext, PreparedSource, SourceFactory, SourceReader, SubtaskContext,
};

pub struct PostgresCdcFactory;

/// `startup.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartupMode {
    /// The table's rows, then its changes.
    Initial,
    /// Only changes from the job's start.
    Latest,
}

/// Everything a reader needs, resolved once at prepare.
#[derive(Debug, Clone)]
pub struct CdcSettings {
    pub url: JdbcUrl,
    pub user: String,
    pub password: String,
    pub timeout: Duration,
    pub schema_name: String,
    pub table_name: String,
    pub columns: Vec<pg::PgColumn>,
    pub schema: SchemaRef,
    /// `"schema"."table"`, quoted.
    pub table: String,
    /// Quoted primary-key columns, the snapshot's order.
    pub keys: Vec<String>,
    /// Where the primary-key columns sit among `columns`, read on every update.
    pub key_columns: Vec<usize>,
    pub startup: StartupMode,
    pub slot: String,
    pub publication: String,
    pub fetch_size: usize,
    /// `slot.keep-on-cancel`: keep the slot (and the WAL it holds) when the job is cancelled.
    pub keep_slot_on_cancel: bool,
}

impl CdcSettings {
    /// An SQL connection to the source's database (the replication stream has its own).
    pub async fn connect(&self) -> WeirResult<tokio_postgres::Client> {
        pg::connect(&self.url, &self.user, Some(&self.password), self.timeout).await
    }
}

impl SourceFactory for PostgresCdcFactory {
    fn spec(&self) -> PluginSpec {
        use OptionType::*;
        PluginSpec::new(
            "Postgres-CDC",
            PluginKind::Source,
            vec![
                OptionSpec::required("base-url", String),
                OptionSpec::optional("username", String),
                OptionSpec::optional("password", String),
                OptionSpec::optional("database-names", StringList),
                OptionSpec::optional("schema-names", StringList),
                OptionSpec::required("table-names", StringList),
                OptionSpec::optional("startup.mode", String),
                OptionSpec::optional("slot.name", String),
                OptionSpec::optional("decoding.plugin.name", String),
                OptionSpec::optional("format", String),
                OptionSpec::optional("exactly_once", Bool),
                OptionSpec::optional("snapshot.fetch.size", Int),
                OptionSpec::optional("require-replica-identity-full", Bool),
                OptionSpec::optional("connect.timeout.ms", Int),
                OptionSpec::optional("slot.keep-on-cancel", Bool),
            ],
        )
        .ignoring(&[
            "snapshot.split.size",
            "incremental.parallelism",
            "connect.max-retries",
            "connection.pool.size",
            "server-time-zone",
            "chunk-key.even-distribution.factor.upper-bound",
            "chunk-key.even-distribution.factor.lower-bound",
            "sample-sharding.threshold",
            "inverse-sampling.rate",
            "table-names-config",
            "debezium",
        ])
    }

    fn prepare(&self, o: &Options, ctx: &PrepareContext) -> WeirResult<Arc<dyn PreparedSource>> {
        let e = WeirError::new;
        if ctx.mode != JobMode::Streaming {
            return Err(WeirError::new(
                "Postgres-CDC reads changes as they happen and needs a streaming job",
            )
            .with_hint(
                "set env { job.mode = \"STREAMING\" }; to copy a table once, use the Jdbc source",
            ));
        }
        if ctx.parallelism > 1 {
            return Err(WeirError::new(format!(
                "Postgres-CDC reads one replication stream, so it runs with parallelism 1, not {}",
                ctx.parallelism
            ))
            .with_hint("set parallelism = 1 on the source; the transforms and sinks after it can run wider"));
        }
        let url = JdbcUrl::parse(&o.str("base-url").map_err(e)?.unwrap_or_default())?;
        if url.dialect != Dialect::Postgres {
            return Err(WeirError::new("base-url must be a jdbc:postgresql:// url"));
        }
        let database = url.database.clone().unwrap_or_default();
        if let Some(dbs) = o.str_list("database-names").map_err(e)? {
            if !dbs.contains(&database) || dbs.len() > 1 {
                return Err(WeirError::new(format!(
                    "database-names {dbs:?} must be the one database of base-url ('{database}')"
                )));
            }
        }
        let tables = o.str_list("table-names").map_err(e)?.unwrap_or_default();
        // Several tables are split into one source each before this (pipeline::multi_table).
        let [table] = tables.as_slice() else {
            return Err(WeirError::new("table-names must list the table to read")
                .with_hint("table-names = [\"database.schema.table\"]"));
        };
        let parts: Vec<&str> = table.split('.').collect();
        let (schema_name, table_name) = match parts.as_slice() {
            [db, s, t] if *db == database => (s.to_string(), t.to_string()),
            [s, t] => (s.to_string(), t.to_string()),
            _ => {
                return Err(WeirError::new(format!(
                    "table-names entry '{table}' is not database.schema.table of base-url's database '{database}'"
                )))
            }
        };
        if let Some(schemas) = o.str_list("schema-names").map_err(e)? {
            if !schemas.contains(&schema_name) {
                return Err(WeirError::new(format!(
                    "table '{table}' is not in schema-names {schemas:?}"
                )));
            }
        }
        let startup = match o
            .str("startup.mode")
            .map_err(e)?
            .unwrap_or_else(|| "initial".into())
            .to_ascii_lowercase()
            .as_str()
        {
            "initial" => StartupMode::Initial,
            "latest" => StartupMode::Latest,
            other => {
                return Err(WeirError::new(format!(
                    "startup.mode {other} is not supported by weir's Postgres-CDC"
                ))
                .with_hint("use initial (the table, then its changes) or latest (changes only)"))
            }
        };
        match o.str("decoding.plugin.name").map_err(e)?.as_deref() {
            None | Some("pgoutput") => {}
            Some(other) => {
                return Err(WeirError::new(format!(
                    "decoding.plugin.name {other}: weir decodes PostgreSQL's built-in pgoutput only"
                ))
                .with_hint("decoding.plugin.name = pgoutput"))
            }
        }
        match o
            .str("format")
            .map_err(e)?
            .map(|f| f.to_ascii_uppercase())
            .as_deref()
        {
            None | Some("DEFAULT") => {}
            Some(other) => {
                return Err(WeirError::new(format!(
                    "format {other} is not supported by weir's Postgres-CDC yet"
                ))
                .with_hint(
                    "leave format out: rows keep the table's columns, with their row kinds",
                ))
            }
        }
        let slot = o
            .str("slot.name")
            .map_err(e)?
            .unwrap_or_else(|| "seatunnel".into());
        if slot.is_empty()
            || slot.len() > 63
            || !slot
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(WeirError::new(format!(
                "slot.name '{slot}' is not a replication slot name"
            ))
            .with_hint("lower-case letters, digits and underscores, at most 63"));
        }
        let user = o
            .first_key(&["username", "user"])
            .and_then(|k| o.str(k).ok().flatten())
            .ok_or_else(|| WeirError::new("option 'username' is missing"))?;
        let password = o.str("password").map_err(e)?.unwrap_or_default();
        let timeout = Duration::from_millis(
            o.i64("connect.timeout.ms")
                .map_err(e)?
                .unwrap_or(30_000)
                .clamp(100, 3_600_000) as u64,
        );
        let fetch_size = o
            .i64("snapshot.fetch.size")
            .map_err(e)?
            .filter(|n| *n > 0)
            .unwrap_or(1024)
            .min(100_000) as usize;
        let require_full = o
            .bool("require-replica-identity-full")
            .map_err(e)?
            .unwrap_or(true);
        let probe = (url.clone(), user.clone(), password.clone(), timeout);
        let qualified = format!(
            "{}.{}",
            Dialect::Postgres.quote(&schema_name),
            Dialect::Postgres.quote(&table_name)
        );
        let probe_table = qualified.clone();
        let (columns, keys) = run_blocking(async move {
            let (url, user, password, timeout) = probe;
            let client = pg::connect(&url, &user, Some(&password), timeout).await?;
            check_server(&client, &probe_table, require_full).await?;
            let columns = pg::describe(&client, &format!("SELECT * FROM {probe_table}")).await?;
            let keys = primary_key(&client, &probe_table).await?;
            Ok((columns, keys))
        })?;
        if keys.is_empty() {
            return Err(WeirError::new(format!(
                "table {qualified} has no primary key; weir's Postgres-CDC reads tables by their key"
            ))
            .with_hint("add a primary key to the table"));
        }
        let schema = pg::schema(&columns);
        let key_columns = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| keys.contains(&Dialect::Postgres.quote(&c.name)))
            .map(|(i, _)| i)
            .collect();
        Ok(Arc::new(PreparedCdc(Arc::new(CdcSettings {
            url,
            user,
            password,
            timeout,
            schema_name,
            table_name,
            columns,
            schema,
            table: qualified,
            keys,
            key_columns,
            startup,
            publication: format!("weir_{slot}"),
            slot,
            fetch_size,
            keep_slot_on_cancel: o.bool("slot.keep-on-cancel").map_err(e)?.unwrap_or(false),
        }))))
    }
}

/// The server can stream changes of `table` as the source needs them.
async fn check_server(
    client: &tokio_postgres::Client,
    table: &str,
    require_full: bool,
) -> WeirResult<()> {
    let q = |sql: &str| {
        let sql = sql.to_string();
        async move {
            client
                .query_one(sql.as_str(), &[])
                .await
                .map_err(pg::error(&sql))
        }
    };
    let wal: String = q("SHOW wal_level").await?.get(0);
    if wal != "logical" {
        return Err(WeirError::new(format!(
            "PostgreSQL's wal_level is {wal}; change data capture needs logical"
        ))
        .with_hint("ALTER SYSTEM SET wal_level = logical, then restart the server"));
    }
    let identity = client
        .query_opt(
            "SELECT c.relreplident::text FROM pg_class c WHERE c.oid = $1::text::regclass",
            &[&table],
        )
        .await
        .map_err(pg::error(format!("table {table}")))?
        .map(|r| r.get::<_, String>(0))
        .ok_or_else(|| WeirError::new(format!("table {table} does not exist")))?;
    if require_full && identity != "f" {
        return Err(WeirError::new(format!(
            "table {table} sends only its key with updates and deletes (REPLICA IDENTITY is not FULL), so the rows before a change would be incomplete"
        ))
        .with_hint(format!(
            "ALTER TABLE {table} REPLICA IDENTITY FULL, or set require-replica-identity-full = false to get before-rows with only their key"
        )));
    }
    Ok(())
}

/// The primary-key columns of `table`, quoted, in key order.
async fn primary_key(client: &tokio_postgres::Client, table: &str) -> WeirResult<Vec<String>> {
    let rows = client
        .query(
            "SELECT a.attname::text FROM pg_index i
             JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = $1::text::regclass AND i.indisprimary ORDER BY k.n",
            &[&table],
        )
        .await
        .map_err(pg::error(format!("reading the key of {table}")))?;
    Ok(rows
        .iter()
        .map(|r| Dialect::Postgres.quote(&r.get::<_, String>(0)))
        .collect())
}

struct PreparedCdc(Arc<CdcSettings>);

#[async_trait::async_trait]
impl PreparedSource for PreparedCdc {
    /// A cancelled job will not be resumed from its stream position (unless the user keeps
    /// the slot to resume from a retained checkpoint): its slot would hold WAL for ever, so it
    /// goes, with its publication. A failed or stopped job keeps both, to resume from its
    /// checkpoint or savepoint.
    async fn on_job_end(&self, status: weir_core::JobStatus) {
        if status != weir_core::JobStatus::Canceled || self.0.keep_slot_on_cancel {
            return;
        }
        if let Err(e) = reader::drop_slot(&self.0).await {
            tracing::warn!(
                "Postgres-CDC: the cancelled job's slot {} stays: {}",
                self.0.slot,
                e.message
            );
        }
    }

    fn schema(&self) -> SchemaRef {
        self.0.schema.clone()
    }

    fn create_reader(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SourceReader>> {
        Ok(Box::new(reader::CdcReader::new(self.0.clone(), subtask)))
    }
}
