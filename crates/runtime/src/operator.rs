//! The operator traits every connector and transform implements, and the prepare/instantiate
//! split: a plugin is *prepared* once per job (options read, schemas derived, plans built, so
//! every mistake is found before anything runs) and *instantiated* once per subtask.

use crate::batch::Batch;
use crate::state::OperatorState;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use weir_core::{JobId, WeirError, WeirResult};
use weir_pipeline::{JobMode, Options, PluginSpec};

/// Where a plugin writes lines for its job's own log (`job-<id>.log`), as SeaTunnel's connectors
/// log there (the Console sink's `output rowType:` line). Without a log it writes nowhere.
#[derive(Clone, Default)]
pub struct JobLogHandle(Option<LineWriter>);

/// Writes one line somewhere.
type LineWriter = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

impl JobLogHandle {
    pub fn new(write: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Some(std::sync::Arc::new(write)))
    }

    /// Appends an informational line.
    pub fn info(&self, line: &str) {
        if let Some(write) = &self.0 {
            write(line);
        }
    }
}

impl std::fmt::Debug for JobLogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "JobLogHandle(..)"
        } else {
            "JobLogHandle(none)"
        })
    }
}

/// What a prepare step may know about the job.
#[derive(Debug, Clone)]
pub struct PrepareContext {
    pub job_id: JobId,
    pub job_name: String,
    pub mode: JobMode,
    /// Parallelism of the operator being prepared.
    pub parallelism: usize,
    /// The table this operator reads (for `Sql`'s FROM) or writes.
    pub input_table: Option<String>,
    pub output_table: Option<String>,
    /// The table paths the operator's rows belong to (`schema.table`, SeaTunnel's table
    /// identifiers): one, unless a sink reads several inputs. A multi-table source's tables
    /// each get their own operators, so each knows its one table.
    pub table_paths: Vec<String>,
    /// Those tables with what their sources declare of them (keys, catalog name).
    pub catalog_tables: Vec<weir_pipeline::catalog_table::CatalogTable>,
    /// The tables of every operator made from this one's plugin block: after a multi-table
    /// source each operator handles one table, and the block all of them.
    pub block_table_paths: Vec<String>,
    /// The job's own log.
    pub job_log: JobLogHandle,
    /// Which local paths the operator may read or write: a plugin that takes a path asks it.
    pub sandbox: weir_pipeline::sandbox::PathSandbox,
    /// Which object-store endpoints the operator may connect to: a plugin that takes one asks.
    pub endpoints: weir_pipeline::endpoint_allowlist::EndpointAllowlist,
}

impl PrepareContext {
    /// A context for preparing an operator outside a job graph (tests, benchmarks): no tables,
    /// and the default job log, path sandbox and endpoint allowlist. Set the rest with struct
    /// update syntax.
    pub fn new(job_id: JobId, job_name: &str, mode: JobMode, parallelism: usize) -> Self {
        Self {
            job_id,
            job_name: job_name.into(),
            mode,
            parallelism,
            input_table: None,
            output_table: None,
            table_paths: Vec::new(),
            catalog_tables: Vec::new(),
            block_table_paths: Vec::new(),
            job_log: Default::default(),
            sandbox: Default::default(),
            endpoints: Default::default(),
        }
    }
}

/// Where a subtask sits among its peers.
#[derive(Debug, Clone, Copy)]
pub struct SubtaskContext {
    pub index: usize,
    pub parallelism: usize,
    /// Which attempt of this subtask this is (0 first, +1 per restart).
    pub attempt: u32,
}

/// What a source reader reports on each poll.
#[derive(Debug)]
pub enum SourceEvent {
    /// Rows read.
    Batch(Batch),
    /// Nothing now; poll again after this long.
    Idle(Duration),
    /// This reader has read all its splits.
    End,
}

/// Reads the splits assigned to one source subtask.
#[async_trait]
pub trait SourceReader: Send {
    /// The next rows, an idle hint, or the end of this reader's input.
    async fn next(&mut self) -> WeirResult<SourceEvent>;

    /// Rows this reader has yet to produce, when it knows (Flink's `pendingRecords`).
    fn pending_records(&self) -> Option<u64> {
        None
    }

    /// Records read since the last call that could not be used and were skipped (a malformed
    /// message under `format_error_handle_way = skip`); counted as `numRecordsInErrors`.
    fn take_skipped(&mut self) -> u64 {
        0
    }

    /// The reader's position for checkpoint `checkpoint_id`, as operator-state entries (one
    /// per split), taken between two `next` calls. A reader that keeps no position returns
    /// none and re-reads on restore.
    fn snapshot_state(&mut self, _checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }

    /// Checkpoint `checkpoint_id` (and every one before it) is complete: a reader may now tell
    /// its system what it no longer needs (a replication slot's confirmed position, say).
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) {}

    /// Continues from entries an earlier snapshot produced (possibly another subtask's, after
    /// a parallelism change). Called before the first `next`.
    fn restore_state(&mut self, entries: Vec<Vec<u8>>) -> WeirResult<()> {
        if entries.is_empty() {
            Ok(())
        } else {
            Err(WeirError::new(
                "this source cannot restore a saved position",
            ))
        }
    }
}

/// A source plugin prepared for a job.
#[async_trait]
pub trait PreparedSource: Send + Sync {
    /// The schema of the rows it produces.
    fn schema(&self) -> SchemaRef;
    /// A reader for one subtask; splits are spread over subtasks by index.
    fn create_reader(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SourceReader>>;

    /// The job ended for good with `status` (no restart follows): release what the source
    /// holds for it outside the process.
    async fn on_job_end(&self, _status: weir_core::JobStatus) {}
}

/// Transforms rows. Synchronous on purpose: transforms compute, they do not wait.
pub trait Transform: Send {
    /// Processes one batch, pushing zero or more batches to `out`.
    fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()>;
    /// Called once at end of input; stateful transforms flush here.
    fn finish(&mut self, _out: &mut Vec<Batch>) -> WeirResult<()> {
        Ok(())
    }

    /// The transform's state for a checkpoint (stateless transforms have none).
    fn snapshot_state(&mut self) -> WeirResult<OperatorState> {
        Ok(OperatorState::default())
    }

    /// Takes back state from a checkpoint, before the first batch.
    fn restore_state(&mut self, state: OperatorState) -> WeirResult<()> {
        if state.is_empty() {
            Ok(())
        } else {
            Err(WeirError::new("this transform keeps no state to restore"))
        }
    }
}

/// A transform plugin prepared for a job.
pub trait PreparedTransform: Send + Sync {
    /// The schema of the rows it emits.
    fn output_schema(&self) -> SchemaRef;
    /// An instance for one subtask.
    fn instantiate(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn Transform>>;
}

/// A transform with no state between batches: its prepared form is also its per-subtask
/// instance, cloned for each subtask (the blanket impl below makes it a `PreparedTransform`).
pub trait StatelessTransform: Transform + Clone + Sync + 'static {
    /// The schema of the rows it emits.
    fn schema(&self) -> SchemaRef;
}

impl<T: StatelessTransform> PreparedTransform for T {
    fn output_schema(&self) -> SchemaRef {
        self.schema()
    }

    fn instantiate(&self, _subtask: SubtaskContext) -> WeirResult<Box<dyn Transform>> {
        Ok(Box::new(self.clone()))
    }
}

/// Writes rows out of the job.
#[async_trait]
pub trait SinkWriter: Send {
    /// Writes one batch.
    async fn write(&mut self, batch: Batch) -> WeirResult<()>;
    /// End of input: flush and publish everything written.
    async fn finish(&mut self) -> WeirResult<()>;

    /// First phase of a checkpoint: make everything written so far durable but invisible, and
    /// return what must be published once checkpoint `checkpoint_id` completes (operator-state
    /// entries). At-least-once sinks flush and return nothing.
    async fn prepare_commit(&mut self, _checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }

    /// Second phase: checkpoint `checkpoint_id` (and every one before it) is complete; publish
    /// what was prepared for it. Must be idempotent.
    async fn commit(&mut self, _checkpoint_id: u64) -> WeirResult<()> {
        Ok(())
    }

    /// On restore from checkpoint `checkpoint_id`: entries that `prepare_commit` produced for
    /// it, which completed, so they are published now (idempotently); anything written after it
    /// is discarded. After a change of parallelism a writer may get none of the entries.
    async fn restore(
        &mut self,
        _checkpoint_id: u64,
        _committables: Vec<Vec<u8>>,
    ) -> WeirResult<()> {
        Ok(())
    }
}

/// A sink plugin prepared for a job.
#[async_trait]
pub trait PreparedSink: Send + Sync {
    /// A writer for one subtask.
    fn create_writer(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>>;

    /// Once per job, before any subtask runs, when the job starts fresh: not from a checkpoint
    /// or savepoint and not as a restart (see [`crate::executor::is_fresh_start`]). This is where
    /// SeaTunnel's save modes act (create, recreate or empty the target), so a restore never
    /// empties what the restored checkpoint counts as written.
    async fn on_job_start(&self) -> WeirResult<()> {
        Ok(())
    }
}

/// Creates prepared sources from options.
pub trait SourceFactory: Send + Sync {
    fn spec(&self) -> PluginSpec;
    fn prepare(
        &self,
        options: &Options,
        ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSource>>;
}

/// Creates prepared transforms from options and the input schema.
pub trait TransformFactory: Send + Sync {
    fn spec(&self) -> PluginSpec;
    fn prepare(
        &self,
        options: &Options,
        input: SchemaRef,
        ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedTransform>>;
}

/// Creates prepared sinks from options and the input schema.
pub trait SinkFactory: Send + Sync {
    fn spec(&self) -> PluginSpec;
    /// Whether the sink accepts several inputs with different schemas (Console does).
    fn accepts_mixed_schemas(&self) -> bool {
        false
    }
    fn prepare(
        &self,
        options: &Options,
        input: SchemaRef,
        ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>>;
}
