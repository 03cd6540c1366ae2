//! The `Postgres-CDC` reader: its phases (starting, reading the snapshot, streaming) as one
//! typed value, owned by the subtask's `next` loop. It never blocks `next` for long (a
//! checkpoint barrier waits for `next` to return), and acknowledges a position to the slot
//! only once the checkpoint holding it completes.

use super::pgoutput::{self, Cell, Message, Relation, Tuple};
use super::position::{start, Position, Start};
use super::CdcSettings;
use crate::pg::{self, PgCells};
use async_trait::async_trait;
use bytes::Bytes;
use pgwire_replication::{Lsn, ReplicationClient, ReplicationConfig, ReplicationEvent};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::types::{FromSql, Type};
use weir_core::{WeirError, WeirResult};
use weir_runtime::batch::{Batch, RowKind};
use weir_runtime::operator::{SourceEvent, SourceReader, SubtaskContext};

/// How long one `next` waits for the stream before it lets the subtask do other work.
const POLL: Duration = Duration::from_millis(50);

/// One row of a change, in the source's column order, values in binary.
struct ChangeRow(Vec<Option<Bytes>>);

impl PgCells for ChangeRow {
    fn cell<'a, T: FromSql<'a>>(
        &'a self,
        i: usize,
        ty: &Type,
        name: &str,
    ) -> WeirResult<Option<T>> {
        if !T::accepts(ty) {
            return Err(WeirError::new(format!("column '{name}': cannot read {ty}")));
        }
        match self.0.get(i) {
            Some(Some(raw)) => T::from_sql(ty, raw)
                .map(Some)
                .map_err(|e| WeirError::new(format!("column '{name}': {e}"))),
            _ => Ok(None),
        }
    }
}

/// Where the stream's columns sit among the source's.
struct Mapping {
    oid: u32,
    /// For each source column, its index in the stream's rows.
    from: Vec<usize>,
}

/// The streaming phase.
struct Stream {
    repl: ReplicationClient,
    mapping: Option<Mapping>,
    /// The end of the last transaction whose changes were all emitted.
    last_commit: u64,
    /// Changes of the current transaction emitted so far.
    emitted_in_tx: u64,
    /// Changes of the first transaction to drop (emitted before the restored checkpoint).
    skip: u64,
}

enum Phase {
    /// Not connected yet.
    Starting,
    /// Reading the table in the slot's exported snapshot; the stream waits, started.
    Snapshot {
        client: tokio_postgres::Client,
        cursor: pg::Cursor,
        stream: Box<Stream>,
    },
    Streaming(Box<Stream>),
}

pub struct CdcReader {
    settings: Arc<CdcSettings>,
    subtask: SubtaskContext,
    restored: Option<Position>,
    phase: Phase,
    /// Stream positions of checkpoints taken and not yet complete.
    pending_acks: BTreeMap<u64, u64>,
}

impl CdcReader {
    pub fn new(settings: Arc<CdcSettings>, subtask: SubtaskContext) -> Self {
        CdcReader {
            settings,
            subtask,
            restored: None,
            phase: Phase::Starting,
            pending_acks: BTreeMap::new(),
        }
    }

    fn position(&self) -> Position {
        match &self.phase {
            Phase::Starting => self.restored.unwrap_or(Position::Snapshot),
            Phase::Snapshot { .. } => Position::Snapshot,
            Phase::Streaming(s) => Position::Stream {
                lsn: s.last_commit,
                skip: s.emitted_in_tx + s.skip,
            },
        }
    }

    fn replication_config(&self, start_lsn: u64) -> ReplicationConfig {
        let s = &self.settings;
        ReplicationConfig::new(
            s.url.host.clone(),
            s.user.clone(),
            s.password.clone(),
            s.url.database.clone().unwrap_or_default(),
            s.slot.clone(),
            s.publication.clone(),
        )
        .with_port(s.url.port)
        .with_start_lsn(Lsn(start_lsn))
        .with_binary(true)
        .with_status_interval(Duration::from_secs(1))
        .with_application_name(format!("weir {}", s.slot))
    }

    /// Connects as `start` says.
    async fn begin(&mut self) -> WeirResult<Phase> {
        let client = self.settings.connect().await?;
        let slot = self.settings.slot.clone();
        let how = start(self.restored, self.subtask.attempt);
        self.ensure_publication(&client).await?;
        let exists = slot_state(&client, &slot).await?;
        match how {
            Start::CreateSlot if exists.is_some() => {
                return Err(WeirError::new(format!(
                    "replication slot '{slot}' already exists: another job uses it, or an earlier one left it"
                ))
                .with_hint(format!(
                    "give this job its own slot.name, or drop the old slot: SELECT pg_drop_replication_slot('{slot}')"
                )))
            }
            Start::RecreateSlot if exists.is_some() => remove_slot(&client, &slot).await?,
            Start::Resume { lsn, .. } => {
                let Some(confirmed) = exists else {
                    return Err(WeirError::new(format!(
                        "replication slot '{slot}' is gone, so the changes after the restored position cannot be read"
                    ))
                    .with_hint("start the job without restoring it: it reads the table again"));
                };
                if confirmed > lsn {
                    return Err(WeirError::new(format!(
                        "replication slot '{slot}' was confirmed past the restored position ({} > {}); the changes between are gone",
                        Lsn(confirmed).to_pg_string(),
                        Lsn(lsn).to_pg_string()
                    ))
                    .with_hint("restore from the job's latest checkpoint, or start it anew"));
                }
                release_slot(&client, &slot).await?;
            }
            _ => {}
        }
        if let Start::Resume { lsn, skip } = how {
            let repl = ReplicationClient::connect(self.replication_config(lsn))
                .await
                .map_err(repl_err)?;
            return Ok(Phase::Streaming(Box::new(Stream {
                repl,
                mapping: None,
                last_commit: lsn,
                emitted_in_tx: 0,
                skip,
            })));
        }
        let mut repl = ReplicationClient::connect_gated(self.replication_config(0))
            .await
            .map_err(repl_err)?;
        let snapshot = matches!(self.settings.startup, super::StartupMode::Initial);
        let created = repl
            .simple_query(&format!(
                "CREATE_REPLICATION_SLOT {slot} LOGICAL pgoutput {}",
                if snapshot {
                    "EXPORT_SNAPSHOT"
                } else {
                    "NOEXPORT_SNAPSHOT"
                }
            ))
            .await
            .map_err(repl_err)?;
        let field = |i: usize| {
            created
                .first()
                .and_then(|r| r.get(i).cloned().flatten())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let consistent = field(1)
            .and_then(|l| Lsn::parse(&l).ok())
            .map(|l| l.0)
            .unwrap_or(0);
        let cursor = match (snapshot, field(2)) {
            (true, Some(name)) => {
                let keys = self.settings.keys.join(", ");
                let sql = format!("SELECT * FROM {} ORDER BY {keys}", self.settings.table);
                Some(pg::Cursor::open_at(&client, &sql, Some(&name)).await?)
            }
            (true, None) => {
                return Err(WeirError::new(
                    "PostgreSQL created the slot without exporting its snapshot",
                ))
            }
            (false, _) => None,
        };
        // The snapshot is in the cursor's transaction now; the session that exported it may
        // move on to streaming.
        repl.start().await.map_err(repl_err)?;
        let stream = Box::new(Stream {
            repl,
            mapping: None,
            last_commit: consistent,
            emitted_in_tx: 0,
            skip: 0,
        });
        Ok(match cursor {
            Some(cursor) => Phase::Snapshot {
                client,
                cursor,
                stream,
            },
            None => Phase::Streaming(stream),
        })
    }

    /// The publication the slot streams: this job's table.
    async fn ensure_publication(&self, client: &tokio_postgres::Client) -> WeirResult<()> {
        let name = &self.settings.publication;
        let found = client
            .query_opt("SELECT 1 FROM pg_publication WHERE pubname = $1", &[name])
            .await
            .map_err(pg::error("reading pg_publication"))?;
        let sql = if found.is_some() {
            let member = client
                .query_opt(
                    "SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3",
                    &[name, &self.settings.schema_name, &self.settings.table_name],
                )
                .await
                .map_err(pg::error("reading pg_publication_tables"))?;
            if member.is_some() {
                return Ok(());
            }
            format!("ALTER PUBLICATION {name} ADD TABLE {}", self.settings.table)
        } else {
            format!(
                "CREATE PUBLICATION {name} FOR TABLE {}",
                self.settings.table
            )
        };
        client.batch_execute(&sql).await.map_err(|e| {
            WeirError::new(format!("{sql}: {}", pg::describe_error(&e))).with_hint(
                "the user needs to own the table (or be a superuser) to publish its changes",
            )
        })
    }

    /// The next rows of the snapshot; `None` when it is done.
    async fn snapshot_rows(&mut self) -> WeirResult<Option<Batch>> {
        let Phase::Snapshot { client, cursor, .. } = &mut self.phase else {
            return Ok(None);
        };
        let rows = cursor.fetch(client, self.settings.fetch_size).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let records = pg::to_batch(&rows, &self.settings.columns, &self.settings.schema)?;
        Ok(Some(Batch::inserts(records)))
    }

    /// Changes from the stream, for up to one poll.
    async fn stream_rows(&mut self) -> WeirResult<Option<Batch>> {
        let settings = self.settings.clone();
        let Phase::Streaming(stream) = &mut self.phase else {
            return Ok(None);
        };
        let mut rows: Vec<ChangeRow> = Vec::new();
        let mut kinds: Vec<RowKind> = Vec::new();
        let deadline = tokio::time::Instant::now() + POLL;
        loop {
            let event = match tokio::time::timeout_at(deadline, stream.repl.recv()).await {
                Err(_) => break,
                Ok(Ok(Some(event))) => event,
                Ok(Ok(None)) => {
                    return Err(WeirError::new("the replication stream ended"));
                }
                Ok(Err(e)) => return Err(repl_err(e)),
            };
            match event {
                ReplicationEvent::Begin { .. } => stream.emitted_in_tx = 0,
                ReplicationEvent::Commit { end_lsn, .. } => {
                    stream.last_commit = end_lsn.0;
                    stream.emitted_in_tx = 0;
                    stream.skip = 0;
                    if !rows.is_empty() {
                        break;
                    }
                }
                ReplicationEvent::XLogData { data, .. } => {
                    let message = pgoutput::decode(&data).map_err(WeirError::new)?;
                    let changes = apply(&settings, stream, message)?;
                    for (kind, row) in changes {
                        if stream.skip > 0 {
                            stream.skip -= 1;
                            stream.emitted_in_tx += 1;
                            continue;
                        }
                        stream.emitted_in_tx += 1;
                        kinds.push(kind);
                        rows.push(row);
                    }
                    if rows.len() >= settings.fetch_size {
                        break;
                    }
                }
                ReplicationEvent::KeepAlive { .. }
                | ReplicationEvent::Message { .. }
                | ReplicationEvent::StoppedAt { .. } => {}
            }
        }
        if rows.is_empty() {
            return Ok(None);
        }
        // What was skipped is counted in emitted_in_tx already.
        let records = pg::to_batch(&rows, &settings.columns, &settings.schema)?;
        Ok(Some(Batch::with_kinds(records, kinds)))
    }
}

/// What one stream message means for the source's table: rows with their kinds.
fn apply(
    settings: &CdcSettings,
    stream: &mut Stream,
    message: Message,
) -> WeirResult<Vec<(RowKind, ChangeRow)>> {
    let ours =
        |relation: u32, stream: &Stream| stream.mapping.as_ref().is_some_and(|m| m.oid == relation);
    Ok(match message {
        Message::Relation(r) => {
            if r.namespace == settings.schema_name && r.name == settings.table_name {
                stream.mapping = Some(mapping(settings, &r)?);
            }
            Vec::new()
        }
        Message::Insert { relation, new } if ours(relation, stream) => {
            vec![(RowKind::Insert, row(stream, &new, None)?)]
        }
        Message::Update { relation, old, new } if ours(relation, stream) => {
            let after = row(stream, &new, old.as_ref())?;
            let before = match &old {
                Some(old) => row(stream, old, None)?,
                // The key did not change and the table sends no old rows: the before-row
                // carries the key (require-replica-identity-full = false).
                None => key_only(settings, &after),
            };
            if same_key(settings, &before, &after) {
                vec![
                    (RowKind::UpdateBefore, before),
                    (RowKind::UpdateAfter, after),
                ]
            } else {
                // A new key is another row: the old one goes, as Debezium reports it, so a
                // sink keyed by it deletes the old row instead of keeping it.
                vec![(RowKind::Delete, before), (RowKind::Insert, after)]
            }
        }
        Message::Delete { relation, old } if ours(relation, stream) => {
            vec![(RowKind::Delete, row(stream, &old, None)?)]
        }
        Message::Truncate { relations } => {
            if relations.iter().any(|r| ours(*r, stream)) {
                tracing::warn!(
                    "Postgres-CDC: {}.{} was truncated; a TRUNCATE is not carried to the sink",
                    settings.schema_name,
                    settings.table_name
                );
            }
            Vec::new()
        }
        _ => Vec::new(),
    })
}

/// Checks the stream's columns are the source's, and where each one is.
fn mapping(settings: &CdcSettings, r: &Relation) -> WeirResult<Mapping> {
    let changed = || {
        WeirError::new(format!(
            "table {}.{} changed its columns while the job ran ({}); weir's Postgres-CDC does not follow schema changes",
            settings.schema_name,
            settings.table_name,
            r.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .with_hint("restart the job without its checkpoint to read the table with its new columns")
    };
    if r.columns.len() != settings.columns.len() {
        return Err(changed());
    }
    let from = settings
        .columns
        .iter()
        .map(|c| {
            r.columns
                .iter()
                .position(|rc| rc.name == c.name && rc.type_oid == c.pg_type.oid())
                .ok_or_else(changed)
        })
        .collect::<WeirResult<Vec<_>>>()?;
    Ok(Mapping { oid: r.oid, from })
}

/// A stream row in the source's column order; an unchanged TOASTed value comes from `old`.
fn row(stream: &Stream, tuple: &Tuple, old: Option<&Tuple>) -> WeirResult<ChangeRow> {
    let Some(m) = &stream.mapping else {
        return Err(WeirError::new(
            "a change arrived before its table's description",
        ));
    };
    m.from
        .iter()
        .map(|&i| match tuple.get(i) {
            Some(Cell::Binary(b)) => Ok(Some(b.clone())),
            Some(Cell::Null) | None => Ok(None),
            Some(Cell::Unchanged) => match old.and_then(|o| o.get(i)) {
                Some(Cell::Binary(b)) => Ok(Some(b.clone())),
                _ => Err(WeirError::new(
                    "an update left a large (TOASTed) value unchanged and the stream did not send it",
                )
                .with_hint("ALTER TABLE … REPLICA IDENTITY FULL")),
            },
            Some(Cell::Text(_)) => Err(WeirError::new(
                "the stream sent a value as text; weir asks PostgreSQL for binary values",
            )),
        })
        .collect::<WeirResult<Vec<_>>>()
        .map(ChangeRow)
}

/// `after`'s key columns, the rest null.
fn key_only(settings: &CdcSettings, after: &ChangeRow) -> ChangeRow {
    let mut row = vec![None; after.0.len()];
    for &k in &settings.key_columns {
        if let (Some(slot), Some(v)) = (row.get_mut(k), after.0.get(k)) {
            *slot = v.clone();
        }
    }
    ChangeRow(row)
}

/// Whether two rows have the same primary key (binary values compare as the key does).
fn same_key(settings: &CdcSettings, a: &ChangeRow, b: &ChangeRow) -> bool {
    settings
        .key_columns
        .iter()
        .all(|&k| a.0.get(k) == b.0.get(k))
}

/// The slot's confirmed position, when it exists.
async fn slot_state(client: &tokio_postgres::Client, slot: &str) -> WeirResult<Option<u64>> {
    let row = client
        .query_opt(
            "SELECT coalesce(confirmed_flush_lsn, '0/0')::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(pg::error("reading pg_replication_slots"))?;
    Ok(row.map(|r| Lsn::parse(&r.get::<_, String>(0)).map(|l| l.0).unwrap_or(0)))
}

/// Ends the session still holding `slot` (an earlier attempt of this job whose connection
/// outlived it), and waits until the slot is free.
async fn release_slot(client: &tokio_postgres::Client, slot: &str) -> WeirResult<()> {
    for _ in 0..100 {
        let active = client
            .query_opt(
                "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active",
                &[&slot],
            )
            .await
            .map_err(pg::error("reading pg_replication_slots"))?;
        let Some(row) = active else {
            return Ok(());
        };
        let pid: Option<i32> = row.get(0);
        if let Some(pid) = pid {
            let _ = client
                .execute("SELECT pg_terminate_backend($1)", &[&pid])
                .await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(WeirError::new(format!(
        "replication slot '{slot}' stays in use by another session"
    )))
}

/// Drops `slot`, once whoever holds it let go of it.
async fn remove_slot(client: &tokio_postgres::Client, slot: &str) -> WeirResult<()> {
    release_slot(client, slot).await?;
    client
        .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
        .await
        .map(drop)
        .map_err(pg::error(format_args!("dropping replication slot {slot}")))
}

/// Drops the job's slot and its publication.
pub async fn drop_slot(settings: &CdcSettings) -> WeirResult<()> {
    let client = settings.connect().await?;
    if slot_state(&client, &settings.slot).await?.is_some() {
        remove_slot(&client, &settings.slot).await?;
    }
    client
        .batch_execute(&format!(
            "DROP PUBLICATION IF EXISTS {}",
            settings.publication
        ))
        .await
        .map_err(pg::error(format_args!(
            "dropping publication {}",
            settings.publication
        )))
}

fn repl_err(e: pgwire_replication::PgWireError) -> WeirError {
    WeirError::new(format!("PostgreSQL replication: {e}"))
}

#[async_trait]
impl SourceReader for CdcReader {
    async fn next(&mut self) -> WeirResult<SourceEvent> {
        if matches!(self.phase, Phase::Starting) {
            self.phase = self.begin().await?;
        }
        if matches!(self.phase, Phase::Snapshot { .. }) {
            if let Some(batch) = self.snapshot_rows().await? {
                return Ok(SourceEvent::Batch(batch));
            }
            // The table is read: the changes since its snapshot follow.
            let phase = std::mem::replace(&mut self.phase, Phase::Starting);
            if let Phase::Snapshot { stream, .. } = phase {
                self.phase = Phase::Streaming(stream);
            }
        }
        Ok(match self.stream_rows().await? {
            Some(batch) => SourceEvent::Batch(batch),
            None => SourceEvent::Idle(Duration::ZERO),
        })
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        let position = self.position();
        if let Position::Stream { lsn, .. } = position {
            self.pending_acks.insert(checkpoint_id, lsn);
        }
        Ok(vec![position.encode()?])
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        let later = self
            .pending_acks
            .split_off(&checkpoint_id.saturating_add(1));
        let done = std::mem::replace(&mut self.pending_acks, later);
        if let (Some(lsn), Phase::Streaming(s)) = (done.values().max(), &self.phase) {
            // PostgreSQL may now drop the WAL before it.
            s.repl.update_applied_lsn(Lsn(*lsn));
        }
    }

    fn restore_state(&mut self, entries: Vec<Vec<u8>>) -> WeirResult<()> {
        match entries.as_slice() {
            [] => Ok(()),
            [one] => {
                self.restored = Some(Position::decode(one)?);
                Ok(())
            }
            more => Err(WeirError::new(format!(
                "a Postgres-CDC reader continues one stream, but {} positions were assigned to it",
                more.len()
            ))),
        }
    }
}
