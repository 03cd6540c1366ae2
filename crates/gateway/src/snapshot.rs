//! Read-only pictures of the cluster, handed to the REST layer (and stored in the job archive).
//! Field meanings follow Flink's `ArchivedExecutionGraph`, `JobDetails`, `ClusterOverview` and
//! `TaskManagerInfo`; the REST layer turns them into Flink's JSON.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use weir_core::{ExecutionState, JobId, JobStatus, VertexId};

/// BATCH or STREAMING, as Flink's `JobType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobType {
    Batch,
    Streaming,
}

impl JobType {
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Batch => "BATCH",
            JobType::Streaming => "STREAMING",
        }
    }
}

/// Records and bytes through one subtask, plus how it spent its time (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct IoStats {
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_records: u64,
    pub write_records: u64,
    pub back_pressured_ms: u64,
    pub idle_ms: u64,
    pub busy_ms: f64,
    /// Rows the subtask's chained sink wrote out of the job (Flink counts them nowhere in a
    /// vertex's records, so a `Source -> Sink` chain shows 0 in and 0 out; `weir run`'s summary
    /// says what was written).
    #[serde(default)]
    pub sink_written_records: u64,
}

impl std::iter::Sum for IoStats {
    fn sum<I: Iterator<Item = IoStats>>(all: I) -> IoStats {
        let mut total = IoStats::default();
        for io in all {
            total += io;
        }
        total
    }
}

impl std::ops::AddAssign for IoStats {
    fn add_assign(&mut self, o: IoStats) {
        self.read_bytes += o.read_bytes;
        self.write_bytes += o.write_bytes;
        self.read_records += o.read_records;
        self.write_records += o.write_records;
        self.back_pressured_ms += o.back_pressured_ms;
        self.idle_ms += o.idle_ms;
        self.busy_ms += o.busy_ms;
        self.sink_written_records += o.sink_written_records;
    }
}

/// Records and bytes through one chained operator of a subtask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorIo {
    pub records_in: u64,
    pub records_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// When a subtask attempt entered each `ExecutionState` (epoch ms, 0 = never), indexed as
/// `ExecutionState::ALL`.
pub type StateTimestamps = [i64; 10];

/// Index of a state in `ExecutionState::ALL`.
pub fn state_index(s: ExecutionState) -> usize {
    ExecutionState::ALL
        .iter()
        .position(|x| *x == s)
        .unwrap_or(0)
}

/// One execution attempt of a subtask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptSnapshot {
    pub attempt: u32,
    pub state: ExecutionState,
    pub timestamps: StateTimestamps,
    /// The TaskManager's resource id, once deployed.
    pub task_manager: Option<String>,
    /// `host:port` of the TaskManager, once deployed.
    pub endpoint: Option<String>,
    pub io: IoStats,
    /// Final I/O of each chained operator, head first (known once the attempt ended).
    #[serde(default)]
    pub operator_io: Vec<OperatorIo>,
    /// Why the attempt failed.
    pub failure: Option<String>,
}

impl AttemptSnapshot {
    /// When the attempt started running (deploying, as Flink counts), or -1.
    pub fn start_time(&self) -> i64 {
        let t = self.timestamps[state_index(ExecutionState::Deploying)];
        if t > 0 {
            t
        } else {
            -1
        }
    }

    /// When the attempt reached a terminal state, or -1.
    pub fn end_time(&self) -> i64 {
        if self.state.is_terminal() {
            self.timestamps[state_index(self.state)]
        } else {
            -1
        }
    }

    /// How long the attempt spent in `state` (Flink's `status-duration` entry): until `now`
    /// while it is still there, until it entered a later state otherwise, and -1 if it never
    /// entered it (or left it without a later state being recorded), as Flink reports.
    pub fn state_duration(&self, state: ExecutionState, now: i64) -> i64 {
        let entered = self.timestamps[state_index(state)];
        if entered <= 0 {
            return -1;
        }
        if self.state == state {
            return (now - entered).max(0);
        }
        let rank = lifecycle_rank(state);
        let left = ExecutionState::ALL
            .iter()
            .filter(|s| lifecycle_rank(**s) > rank)
            .map(|s| self.timestamps[state_index(*s)])
            .filter(|t| *t > 0)
            .min();
        match left {
            Some(t) => (t - entered).max(0),
            None => -1,
        }
    }
}

/// Where a state sits in an attempt's life: created, scheduled, deploying, initializing,
/// running, then any end (finishing, cancelling, failing).
fn lifecycle_rank(s: ExecutionState) -> u8 {
    match s {
        ExecutionState::Created => 0,
        ExecutionState::Scheduled => 1,
        ExecutionState::Deploying => 2,
        ExecutionState::Initializing => 3,
        ExecutionState::Running => 4,
        ExecutionState::Reconciling
        | ExecutionState::Finished
        | ExecutionState::Canceling
        | ExecutionState::Canceled
        | ExecutionState::Failed => 5,
    }
}

/// One subtask of a vertex: its current attempt and earlier ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubtaskSnapshot {
    pub index: usize,
    pub current: AttemptSnapshot,
    pub prior: Vec<AttemptSnapshot>,
}

impl SubtaskSnapshot {
    /// The attempt with number `attempt`, current or prior.
    pub fn attempt(&self, attempt: u32) -> Option<&AttemptSnapshot> {
        if self.current.attempt == attempt {
            Some(&self.current)
        } else {
            self.prior.iter().find(|a| a.attempt == attempt)
        }
    }
}

/// An input of a vertex in the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    pub vertex: VertexId,
    /// `FORWARD`, `REBALANCE`, `HASH`.
    pub ship_strategy: String,
}

/// One vertex (a chain of operators) of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VertexSnapshot {
    pub id: VertexId,
    pub name: String,
    pub parallelism: usize,
    pub max_parallelism: usize,
    /// Names of the chained operators, head first (`Source: FakeSource`, `Sql`, …).
    pub operators: Vec<String>,
    pub inputs: Vec<PlanInput>,
    pub subtasks: Vec<SubtaskSnapshot>,
}

impl VertexSnapshot {
    /// How many current attempts are in each state.
    pub fn state_counts(&self) -> [usize; 10] {
        let mut counts = [0; 10];
        for s in &self.subtasks {
            counts[state_index(s.current.state)] += 1;
        }
        counts
    }

    /// Flink's aggregate state of a vertex (`ExecutionJobVertex.getAggregateExecutionState`).
    pub fn state(&self) -> ExecutionState {
        aggregate_state(&self.state_counts(), self.parallelism)
    }

    /// Earliest start of any subtask, or -1.
    pub fn start_time(&self) -> i64 {
        self.subtasks
            .iter()
            .map(|s| s.current.start_time())
            .filter(|t| *t > 0)
            .min()
            .unwrap_or(-1)
    }

    /// Latest end when every subtask ended, or -1.
    pub fn end_time(&self) -> i64 {
        if self.subtasks.iter().all(|s| s.current.state.is_terminal()) {
            self.subtasks
                .iter()
                .map(|s| s.current.end_time())
                .max()
                .unwrap_or(-1)
        } else {
            -1
        }
    }

    /// Summed final I/O of each chained operator over the current attempts.
    pub fn operator_io(&self) -> Vec<OperatorIo> {
        let mut total: Vec<OperatorIo> = Vec::new();
        for s in &self.subtasks {
            for (i, o) in s.current.operator_io.iter().enumerate() {
                if total.len() <= i {
                    total.resize(i + 1, OperatorIo::default());
                }
                total[i].records_in += o.records_in;
                total[i].records_out += o.records_out;
                total[i].bytes_in += o.bytes_in;
                total[i].bytes_out += o.bytes_out;
            }
        }
        total
    }

    /// Summed I/O of the current attempts.
    pub fn io(&self) -> IoStats {
        self.subtasks.iter().map(|s| s.current.io).sum()
    }
}

/// Flink's rule: any FAILED wins, then CANCELING, CANCELED, RUNNING-ish states; FINISHED only
/// when all are finished.
pub fn aggregate_state(counts: &[usize; 10], parallelism: usize) -> ExecutionState {
    use ExecutionState::*;
    let n = |s| counts[state_index(s)];
    if n(Failed) > 0 {
        Failed
    } else if n(Canceling) > 0 {
        Canceling
    } else if n(Canceled) > 0 {
        Canceled
    } else if n(Initializing) > 0 {
        Initializing
    } else if n(Running) > 0 {
        Running
    } else if n(Finished) > 0 && n(Finished) == parallelism {
        Finished
    } else if n(Finished) > 0 {
        Running
    } else if n(Deploying) > 0 {
        Deploying
    } else if n(Scheduled) > 0 {
        Scheduled
    } else {
        Created
    }
}

/// One entry of the exception history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionEntry {
    /// The error's kind, Java-style (`weir.JobFailure`).
    pub exception_name: String,
    /// The full error text with its causes.
    pub stacktrace: String,
    pub timestamp: i64,
    /// `<vertex name> (i/n)` of the failing subtask.
    pub task_name: Option<String>,
    pub endpoint: Option<String>,
    pub task_manager_id: Option<String>,
}

/// One plugin block of the job file as the job runs it: what SeaTunnel's job DAG shows and
/// what its per-table metrics are keyed by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorInfo {
    /// `source`, `transform` or `sink`.
    pub kind: String,
    /// Position in its block of the job file.
    pub index: usize,
    /// The plugin name as the user typed it.
    pub plugin: String,
    /// The operators (positions in `JobSnapshot::operators`) it reads from.
    pub inputs: Vec<usize>,
    /// The tables it reads or writes (`schema.table`, `plugin_output`, or SeaTunnel's default).
    pub table_paths: Vec<String>,
    /// The vertex (position in `JobSnapshot::vertices`) it is chained into.
    pub vertex: usize,
    /// Its position in that vertex's chain.
    pub position: usize,
}

/// Where a stop-with-savepoint stands: SeaTunnel reports a job that is taking one as
/// `DOING_SAVEPOINT` and a job that ended by one as `SAVEPOINT_DONE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SavepointStop {
    #[default]
    None,
    InProgress {
        checkpoint_id: u64,
    },
    Done,
}

/// Everything about one job at one moment (Flink's archived execution graph).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSnapshot {
    pub job_id: JobId,
    pub name: String,
    pub job_type: JobType,
    pub status: JobStatus,
    /// When the job entered each `JobStatus` (epoch ms, 0 = never), indexed as `JobStatus::ALL`.
    pub timestamps: [i64; 11],
    pub max_parallelism: i64,
    pub vertices: Vec<VertexSnapshot>,
    pub exceptions: Vec<ExceptionEntry>,
    /// The job's configuration: its `env` options and submission overrides, as strings.
    pub config: BTreeMap<String, String>,
    /// Where the job came from (artifact id or file name), if known.
    pub origin: Option<String>,
    /// When the snapshot was taken (epoch ms).
    pub taken_at: i64,
    /// The plugin blocks, in the job graph's topological order.
    #[serde(default)]
    pub operators: Vec<OperatorInfo>,
    #[serde(default)]
    pub savepoint_stop: SavepointStop,
}

impl JobSnapshot {
    /// When the job entered `s` (epoch ms), 0 if it never did.
    pub fn entered_at(&self, s: JobStatus) -> i64 {
        JobStatus::ALL
            .iter()
            .position(|x| *x == s)
            .map(|i| self.timestamps[i])
            .unwrap_or(0)
    }

    /// Submission time.
    pub fn start_time(&self) -> i64 {
        self.entered_at(JobStatus::Initializing)
    }

    /// When the job became globally terminal, or -1.
    pub fn end_time(&self) -> i64 {
        if self.status.is_terminal() {
            self.entered_at(self.status)
        } else {
            -1
        }
    }

    /// Run time so far (or in total), ms.
    pub fn duration(&self, now: i64) -> i64 {
        let end = if self.status.is_terminal() {
            self.end_time()
        } else {
            now
        };
        (end - self.start_time()).max(0)
    }

    /// Last time anything changed (Flink's `last-modification`).
    pub fn last_modification(&self) -> i64 {
        let vertex_max = self
            .vertices
            .iter()
            .flat_map(|v| v.subtasks.iter())
            .flat_map(|s| s.current.timestamps.iter())
            .copied()
            .max()
            .unwrap_or(0);
        self.timestamps
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
            .max(vertex_max)
    }

    /// Current attempts per state over all vertices.
    pub fn task_counts(&self) -> [usize; 10] {
        let mut total = [0; 10];
        for v in &self.vertices {
            for (t, c) in total.iter_mut().zip(v.state_counts()) {
                *t += c;
            }
        }
        total
    }

    /// A vertex by id.
    pub fn vertex(&self, id: VertexId) -> Option<&VertexSnapshot> {
        self.vertices.iter().find(|v| v.id == id)
    }
}

/// What a job list shows per job (Flink's `JobDetails`).
#[derive(Debug, Clone, PartialEq)]
pub struct JobOverview {
    pub job_id: JobId,
    /// Shared, so listing many jobs copies no names.
    pub name: std::sync::Arc<str>,
    pub job_type: JobType,
    pub status: JobStatus,
    pub start_time: i64,
    pub end_time: i64,
    pub duration: i64,
    pub last_modification: i64,
    /// Vertices (Flink counts tasks per vertex here) in each aggregate state.
    pub tasks: [usize; 10],
    pub total_tasks: usize,
}

/// The job list in its two parts, as they are kept: the running jobs' lines, fresh, and the
/// archive's lines of finished jobs, shared as the archive holds them (they change only when a
/// job is archived or evicted, so a reader can keep what it derives from the same `Arc`). Both
/// are in [`JobOverview::listing_order`]. A job resumed from its savepoint is in both: its
/// running line is the one that counts.
#[derive(Debug, Clone)]
pub struct JobListing {
    pub running: Vec<JobOverview>,
    pub finished: std::sync::Arc<[JobOverview]>,
}

impl JobListing {
    /// The finished lines of jobs that are not running again.
    pub fn finished_only(&self) -> impl Iterator<Item = &JobOverview> {
        self.finished
            .iter()
            .filter(|f| !self.running.iter().any(|r| r.job_id == f.job_id))
    }

    /// Both parts as one list in listing order (merged: each is in order already).
    pub fn merged(&self) -> Vec<JobOverview> {
        let mut out = Vec::with_capacity(self.running.len() + self.finished.len());
        let mut running = self.running.iter().peekable();
        for f in self.finished_only() {
            while let Some(r) = running.next_if(|r| r.listing_order(f).is_lt()) {
                out.push(r.clone());
            }
            out.push(f.clone());
        }
        out.extend(running.cloned());
        out
    }
}

impl JobOverview {
    /// The order of Flink's job list: newest start first, then by id (so it is total).
    pub fn listing_order(&self, other: &JobOverview) -> std::cmp::Ordering {
        other
            .start_time
            .cmp(&self.start_time)
            .then(self.job_id.cmp(&other.job_id))
    }

    /// The overview of a snapshot at time `now`.
    pub fn of(s: &JobSnapshot, now: i64) -> Self {
        let mut tasks = [0; 10];
        for c in s.task_counts().iter().enumerate() {
            tasks[c.0] = *c.1;
        }
        JobOverview {
            job_id: s.job_id,
            name: s.name.as_str().into(),
            job_type: s.job_type,
            status: s.status,
            start_time: s.start_time(),
            end_time: s.end_time(),
            duration: s.duration(now),
            last_modification: s.last_modification(),
            total_tasks: tasks.iter().sum(),
            tasks,
        }
    }
}

/// The cluster at a glance (Flink's `ClusterOverview`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterOverview {
    pub task_managers: usize,
    pub slots_total: usize,
    pub slots_available: usize,
    pub jobs_running: usize,
    pub jobs_finished: usize,
    pub jobs_cancelled: usize,
    pub jobs_failed: usize,
}

/// Hardware of a TaskManager's host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    pub cpu_cores: usize,
    pub physical_memory: u64,
    pub free_memory: u64,
}

/// A slot given to a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocatedSlot {
    pub job_id: JobId,
    pub assigned_tasks: usize,
}

/// One TaskManager (Flink's `TaskManagerInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskManagerInfo {
    /// Resource id, Flink's `<host>:<port>-<6 hex>` form.
    pub id: String,
    /// Its RPC address.
    pub path: String,
    /// Its data exchange port; -1 when subtasks exchange data in-process.
    pub data_port: i32,
    pub last_heartbeat: i64,
    pub slots_total: usize,
    pub slots_free: usize,
    pub hardware: Hardware,
    pub allocated: Vec<AllocatedSlot>,
    /// Resident memory of the process, bytes (stands in for the JVM heap).
    pub process_memory: u64,
    /// Its tags (SeaTunnel's member attributes), matched by a job's `env.tag_filter`.
    pub tags: std::collections::BTreeMap<String, String>,
}

/// How a finished job ended (Flink's `JobResult`).
#[derive(Debug, Clone, PartialEq)]
pub struct JobResult {
    pub job_id: JobId,
    pub status: JobStatus,
    pub net_runtime_ms: i64,
    pub failure: Option<String>,
}

/// A log file a role can serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogFile {
    pub name: String,
    pub size: u64,
    pub mtime: i64,
}

impl From<weir_core::logdir::ServedFile> for LogFile {
    fn from(f: weir_core::logdir::ServedFile) -> Self {
        LogFile {
            name: f.name,
            size: f.size,
            mtime: f.mtime,
        }
    }
}

/// Whose logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    JobManager,
    TaskManager(String),
}

/// A thread of the process, for thread dumps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadInfo {
    pub name: String,
    pub description: String,
}

impl ThreadInfo {
    /// The threads of this process, described as Flink's thread dump lines.
    pub fn of_this_process() -> Vec<ThreadInfo> {
        weir_core::process::threads()
            .into_iter()
            .map(|t| ThreadInfo {
                description: format!("\"{}\" Id={} {}\n", t.name, t.tid, t.state),
                name: t.name,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    fn line(id: u128, start: i64, status: weir_core::JobStatus) -> JobOverview {
        JobOverview {
            job_id: weir_core::JobId(id),
            name: "j".into(),
            job_type: JobType::Streaming,
            status,
            start_time: start,
            end_time: -1,
            duration: 0,
            last_modification: start,
            tasks: [0; 10],
            total_tasks: 1,
        }
    }

    #[test]
    fn a_listing_merges_in_order_and_a_resumed_job_counts_as_running() {
        use weir_core::JobStatus::{Finished, Running};
        let listing = JobListing {
            running: vec![line(9, 300, Running), line(4, 100, Running)],
            finished: vec![
                line(5, 200, Finished),
                line(4, 100, Finished),
                line(1, 50, Finished),
            ]
            .into(),
        };
        let ids = |v: Vec<&JobOverview>| v.iter().map(|o| o.job_id.0).collect::<Vec<_>>();
        assert_eq!(ids(listing.finished_only().collect()), vec![5, 1]);
        let merged = listing.merged();
        assert_eq!(ids(merged.iter().collect()), vec![9, 5, 4, 1]);
        assert_eq!(merged[2].status, Running, "the resumed job's running line");
    }

    use super::*;

    #[test]
    fn aggregate_state_follows_flink() {
        let mut c = [0; 10];
        c[state_index(ExecutionState::Running)] = 1;
        c[state_index(ExecutionState::Finished)] = 1;
        assert_eq!(aggregate_state(&c, 2), ExecutionState::Running);
        c[state_index(ExecutionState::Running)] = 0;
        assert_eq!(
            aggregate_state(&c, 2),
            ExecutionState::Running,
            "partly finished still runs"
        );
        c[state_index(ExecutionState::Finished)] = 2;
        assert_eq!(aggregate_state(&c, 2), ExecutionState::Finished);
        c[state_index(ExecutionState::Failed)] = 1;
        assert_eq!(aggregate_state(&c, 3), ExecutionState::Failed);
    }

    fn attempt_through(states: &[(ExecutionState, i64)]) -> AttemptSnapshot {
        let mut timestamps = [0; 10];
        for (s, t) in states {
            timestamps[state_index(*s)] = *t;
        }
        AttemptSnapshot {
            attempt: 0,
            state: states
                .last()
                .map(|(s, _)| *s)
                .unwrap_or(ExecutionState::Created),
            timestamps,
            task_manager: None,
            endpoint: None,
            io: IoStats::default(),
            operator_io: Vec::new(),
            failure: None,
        }
    }

    #[test]
    fn state_durations_cover_initializing_and_running_like_flink() {
        use ExecutionState::*;
        let running = attempt_through(&[
            (Created, 100),
            (Scheduled, 110),
            (Deploying, 110),
            (Initializing, 130),
            (Running, 175),
        ]);
        assert_eq!(running.state_duration(Created, 1000), 10);
        assert_eq!(running.state_duration(Scheduled, 1000), 0);
        assert_eq!(running.state_duration(Deploying, 1000), 20);
        assert_eq!(running.state_duration(Initializing, 1000), 45);
        assert_eq!(running.state_duration(Running, 1000), 825, "until now");

        let finished = attempt_through(&[
            (Created, 100),
            (Scheduled, 110),
            (Deploying, 110),
            (Initializing, 130),
            (Running, 175),
            (Finished, 500),
        ]);
        assert_eq!(
            finished.state_duration(Running, 1000),
            325,
            "until it finished"
        );

        let failed_early = attempt_through(&[(Created, 100), (Deploying, 120), (Failed, 150)]);
        assert_eq!(failed_early.state_duration(Scheduled, 1000), -1);
        assert_eq!(failed_early.state_duration(Deploying, 1000), 30);
        assert_eq!(failed_early.state_duration(Initializing, 1000), -1);
        assert_eq!(failed_early.state_duration(Running, 1000), -1);
    }
}
