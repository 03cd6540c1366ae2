//! Checkpoints across the seam: what a JobMaster asks of a TaskExecutor, what comes back, and
//! the statistics snapshot REST serves.
//!
//! The statistics are plain data, rebuilt by the JobMaster on every checkpoint event and swapped
//! in whole, so a REST read is a pointer load and a completed checkpoint is visible to the very
//! next request.

use weir_core::VertexId;

/// What kind of snapshot a checkpoint is (Flink's `checkpoint_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointKind {
    Checkpoint,
    Savepoint(SavepointFormat),
    /// A savepoint after which the job ends (stop with savepoint).
    SyncSavepoint(SavepointFormat),
}

impl CheckpointKind {
    /// Flink's name.
    pub fn name(self) -> &'static str {
        match self {
            CheckpointKind::Checkpoint => "CHECKPOINT",
            CheckpointKind::Savepoint(_) => "SAVEPOINT",
            CheckpointKind::SyncSavepoint(_) => "SYNC_SAVEPOINT",
        }
    }

    pub fn is_savepoint(self) -> bool {
        !matches!(self, CheckpointKind::Checkpoint)
    }

    pub fn format(self) -> Option<SavepointFormat> {
        match self {
            CheckpointKind::Checkpoint => None,
            CheckpointKind::Savepoint(f) | CheckpointKind::SyncSavepoint(f) => Some(f),
        }
    }
}

/// Flink's `SavepointFormatType`. weir writes one format; the name is kept as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavepointFormat {
    Canonical,
    Native,
}

impl SavepointFormat {
    pub fn name(self) -> &'static str {
        match self {
            SavepointFormat::Canonical => "CANONICAL",
            SavepointFormat::Native => "NATIVE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CANONICAL" => Some(SavepointFormat::Canonical),
            "NATIVE" => Some(SavepointFormat::Native),
            _ => None,
        }
    }
}

/// JobMaster → TaskExecutor: start checkpoint `checkpoint_id` at the sources.
#[derive(Debug, Clone)]
pub struct CheckpointTrigger {
    pub checkpoint_id: u64,
    pub timestamp: i64,
    /// Where the subtasks write their state: `<dir>/chk-<id>` or a savepoint directory.
    pub location: crate::checkpoint_storage::CheckpointLocation,
    /// After the barrier, the sources end their input (stop with savepoint).
    pub end_input: bool,
}

/// A checkpoint or savepoint that completed: what a trigger's waiter is told.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedCheckpoint {
    pub id: u64,
    /// Where it is (its `_metadata` is written there).
    pub location: crate::checkpoint_storage::CheckpointLocation,
}

/// Why a checkpoint or savepoint did not complete. The words are Flink's where it has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointFailure {
    /// The TaskExecutors could not inject its barriers.
    #[error("triggering it failed: {0}")]
    TriggerFailed(String),
    /// A subtask could not take or write its state.
    #[error("a subtask declined it: {0}")]
    Declined(String),
    /// `execution.checkpointing.timeout` passed before every subtask acknowledged.
    #[error("Checkpoint expired before completing.")]
    Expired,
    /// Its `_metadata` could not be written.
    #[error("{0}")]
    MetadataNotWritten(String),
    /// The job failed, restarted or ended while it was pending.
    #[error("Checkpoint {id} was aborted: {reason}")]
    Aborted { id: u64, reason: String },
    /// It waited for a free slot (`max-concurrent`), and the job restarted or ended first.
    #[error("The requested checkpoint never started: {0}")]
    NeverStarted(String),
}

/// How a checkpoint someone waits for ended.
pub type CheckpointOutcome = Result<CompletedCheckpoint, CheckpointFailure>;

/// TaskExecutor → JobMaster: one subtask's state is written.
#[derive(Debug, Clone)]
pub struct CheckpointAck {
    pub checkpoint_id: u64,
    pub vertex: usize,
    pub subtask: usize,
    /// The state file, relative to the checkpoint's location.
    pub state_file: String,
    pub state_size: u64,
    pub ack_timestamp: i64,
    pub sync_ms: i64,
    pub async_ms: i64,
    pub alignment_ms: i64,
    /// From the trigger to the subtask receiving the barrier.
    pub start_delay_ms: i64,
}

/// Where a checkpoint or savepoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointStatus {
    InProgress,
    Completed,
    Failed,
}

impl CheckpointStatus {
    /// Flink's `status` value.
    pub fn name(self) -> &'static str {
        match self {
            CheckpointStatus::InProgress => "IN_PROGRESS",
            CheckpointStatus::Completed => "COMPLETED",
            CheckpointStatus::Failed => "FAILED",
        }
    }

    /// Flink's `className` discriminator.
    pub fn class_name(self) -> &'static str {
        match self {
            CheckpointStatus::InProgress => "in_progress",
            CheckpointStatus::Completed => "completed",
            CheckpointStatus::Failed => "failed",
        }
    }
}

/// One subtask's part of one checkpoint; `ack_timestamp` is `None` until it acknowledged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubtaskCheckpointStats {
    pub index: usize,
    pub ack_timestamp: Option<i64>,
    pub state_size: u64,
    pub sync_ms: i64,
    pub async_ms: i64,
    pub alignment_ms: i64,
    pub start_delay_ms: i64,
}

/// One vertex's part of one checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskCheckpointStats {
    pub vertex: VertexId,
    pub subtasks: Vec<SubtaskCheckpointStats>,
}

impl TaskCheckpointStats {
    pub fn acknowledged(&self) -> usize {
        self.subtasks
            .iter()
            .filter(|s| s.ack_timestamp.is_some())
            .count()
    }

    pub fn latest_ack(&self) -> Option<i64> {
        self.subtasks.iter().filter_map(|s| s.ack_timestamp).max()
    }

    pub fn state_size(&self) -> u64 {
        self.subtasks.iter().map(|s| s.state_size).sum()
    }
}

/// One checkpoint as the statistics show it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointStats {
    pub id: u64,
    pub status: CheckpointStatus,
    pub kind: CheckpointKind,
    pub trigger_timestamp: i64,
    pub tasks: Vec<TaskCheckpointStats>,
    /// `file:/…/chk-<id>` once completed.
    pub external_path: Option<String>,
    /// Whether its files were removed (subsumed by a newer checkpoint beyond `num-retained`).
    pub discarded: bool,
    /// When and why it failed.
    pub failure: Option<(i64, String)>,
}

impl CheckpointStats {
    pub fn num_subtasks(&self) -> usize {
        self.tasks.iter().map(|t| t.subtasks.len()).sum()
    }

    pub fn num_acknowledged(&self) -> usize {
        self.tasks
            .iter()
            .map(TaskCheckpointStats::acknowledged)
            .sum()
    }

    pub fn state_size(&self) -> u64 {
        self.tasks.iter().map(TaskCheckpointStats::state_size).sum()
    }

    /// Latest acknowledgement; the trigger time before any.
    pub fn latest_ack(&self) -> i64 {
        self.tasks
            .iter()
            .filter_map(TaskCheckpointStats::latest_ack)
            .max()
            .unwrap_or(self.trigger_timestamp)
    }

    pub fn end_to_end_duration(&self) -> i64 {
        (self.latest_ack() - self.trigger_timestamp).max(0)
    }
}

/// min/max/avg and percentiles over a window of values (Flink's `StatsSummaryDto`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsSummary {
    pub min: i64,
    pub max: i64,
    pub avg: i64,
    /// p50, p90, p95, p99, p999; NaN when there are no values.
    pub quantiles: [f64; 5],
}

impl StatsSummary {
    pub const QUANTILES: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

    /// The summary of `values` (all of them for min/max/avg, as Flink).
    pub fn of(values: &[i64]) -> StatsSummary {
        if values.is_empty() {
            return StatsSummary {
                min: 0,
                max: 0,
                avg: 0,
                quantiles: [f64::NAN; 5],
            };
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let sum: i128 = values.iter().map(|v| *v as i128).sum();
        StatsSummary {
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            avg: (sum / values.len() as i128) as i64,
            quantiles: Self::QUANTILES.map(|q| percentile(&sorted, q)),
        }
    }
}

/// Apache Commons Math's default percentile (what Flink's `DescriptiveStatistics` uses):
/// position `p(n+1)`, interpolated between neighbours, clamped to the ends.
pub fn percentile(sorted: &[i64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = p * (n as f64 + 1.0);
    if pos < 1.0 {
        return sorted[0] as f64;
    }
    if pos >= n as f64 {
        return sorted[n - 1] as f64;
    }
    let lower = sorted[pos.floor() as usize - 1] as f64;
    let upper = sorted[pos.floor() as usize] as f64;
    lower + (pos - pos.floor()) * (upper - lower)
}

/// The checkpoint a job was restored from.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoredCheckpoint {
    pub id: u64,
    pub restore_timestamp: i64,
    pub is_savepoint: bool,
    pub external_path: String,
}

/// A job's checkpoint configuration, as `/checkpoints/config` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointConfig {
    pub interval_ms: i64,
    pub timeout_ms: i64,
    pub min_pause_ms: i64,
    pub max_concurrent: usize,
    pub tolerable_failures: usize,
    /// Checkpoints are kept after the job ends (externalized).
    pub retain_on_cancellation: bool,
    pub num_retained: usize,
    pub directory: String,
}

/// Everything the checkpoint endpoints answer from, published whole on every event.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointStatsSnapshot {
    pub config: CheckpointConfig,
    pub restored_count: usize,
    pub total: usize,
    pub in_progress: usize,
    pub completed: usize,
    pub failed: usize,
    pub state_size: StatsSummary,
    pub end_to_end_duration: StatsSummary,
    pub latest_completed: Option<CheckpointStats>,
    pub latest_savepoint: Option<CheckpointStats>,
    pub latest_failed: Option<CheckpointStats>,
    pub latest_restored: Option<RestoredCheckpoint>,
    /// Newest first, at most `web.checkpoints.history` entries.
    pub history: Vec<CheckpointStats>,
}

impl CheckpointStatsSnapshot {
    /// One checkpoint from the history or the latest entries.
    pub fn find(&self, id: u64) -> Option<&CheckpointStats> {
        self.history
            .iter()
            .chain(self.latest_completed.iter())
            .chain(self.latest_savepoint.iter())
            .chain(self.latest_failed.iter())
            .find(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_match_flinks_numbers() {
        // Flink's STOPJOB capture: two checkpoints of 11 and 26 ms.
        let s = StatsSummary::of(&[11, 26]);
        assert_eq!((s.min, s.max, s.avg), (11, 26, 18));
        assert_eq!(s.quantiles, [18.5, 26.0, 26.0, 26.0, 26.0]);
        assert!(StatsSummary::of(&[]).quantiles[0].is_nan());
        let one = StatsSummary::of(&[7]);
        assert_eq!(one.quantiles, [7.0; 5]);
    }
}

/// Which kind of asynchronous operation a trigger id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    Checkpoint,
    /// Savepoints and stop-with-savepoint share one id space, as in Flink.
    Savepoint,
    /// `PATCH /jobs/:id/rescaling`.
    Rescaling,
    /// `POST /savepoint-disposal`; tied to no job (stored under [`OperationKind::NO_JOB`]).
    Disposal,
}

impl OperationKind {
    pub const ALL: [OperationKind; 4] = [
        OperationKind::Checkpoint,
        OperationKind::Savepoint,
        OperationKind::Rescaling,
        OperationKind::Disposal,
    ];

    /// The job id operations that belong to no job (savepoint disposals) are stored under.
    pub const NO_JOB: weir_core::JobId = weir_core::JobId(0);

    /// How an error message names the operation.
    pub fn name(self) -> &'static str {
        match self {
            OperationKind::Checkpoint => "checkpoint",
            OperationKind::Savepoint => "savepoint",
            OperationKind::Rescaling => "rescaling",
            OperationKind::Disposal => "savepoint disposal",
        }
    }
}

/// Where an asynchronous operation stands.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationState {
    InProgress,
    /// The checkpoint id and location, or why it failed.
    Done(Result<(u64, String), String>),
}

/// A savepoint request (`POST /jobs/:id/savepoints` and `/stop`).
#[derive(Debug, Clone, PartialEq)]
pub struct SavepointRequest {
    pub target_directory: Option<String>,
    pub format: SavepointFormat,
    /// Cancel the job once the savepoint is complete (`cancel-job`).
    pub cancel_job: bool,
    /// Stop the job with this savepoint: the sources end right after it (`/stop`).
    pub stop: bool,
    pub trigger_id: Option<weir_core::TriggerId>,
}
