//! The JobMaster ↔ TaskExecutor seam: deploy and cancel one way, task state the other.
//!
//! Every call that reaches a TaskExecutor is async, because a remote TaskManager answers over
//! the network; what a caller may know without asking (who the TaskManager is, where it is
//! reached) is data in [`TaskManagerEndpoint`], handed over once at registration.

use crate::checkpoint::{CheckpointAck, CheckpointTrigger};
use crate::error::GatewayError;
use crate::snapshot::{IoStats, LogFile, TaskManagerInfo, ThreadInfo};
use async_trait::async_trait;
use std::sync::Arc;
use weir_core::{ExecutionState, JobId};
use weir_pipeline::JobGraph;

/// Who a TaskManager is and where it is reached: what it says of itself when it registers.
/// Subtask and attempt details name it by this, so nothing downstream parses an address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskManagerEndpoint {
    /// Its resource id (`taskmanager.resource-id`, or `<host>-<6 hex>`).
    pub resource_id: String,
    /// The host its subtasks run on, as shown in subtask details.
    pub host: String,
    /// Its data exchange port; `None` for one that exchanges data only in-process (the mini
    /// cluster's).
    pub data_port: Option<u16>,
}

impl TaskManagerEndpoint {
    /// Flink's `path` of a TaskManager: its RPC address.
    pub fn path(&self) -> String {
        format!("weir://{}/taskmanager_0", self.host)
    }

    /// Where other TaskManagers send it data (`host:port`), if it takes any.
    pub fn data_address(&self) -> Option<String> {
        self.data_port.map(|p| format!("{}:{p}", self.host))
    }

    /// Flink's `dataPort`: -1 when there is none.
    pub fn data_port_or_none(&self) -> i32 {
        self.data_port.map_or(-1, i32::from)
    }
}

/// What a TaskExecutor needs to run a job's subtasks.
#[derive(Debug, Clone)]
pub struct TaskDeployment {
    pub job_id: JobId,
    /// The validated graph; a remote TaskExecutor would receive it serialized.
    pub graph: Arc<JobGraph>,
    /// Attempt number of every subtask in this deployment.
    pub attempt: u32,
    /// Where every subtask of the attempt runs; a TaskExecutor starts the ones placed on it.
    pub placement: Arc<crate::Placement>,
    /// The checkpoint or savepoint to start from.
    pub restore: Option<crate::checkpoint_storage::RestoreFrom>,
}

/// Live I/O of one subtask running on a TaskExecutor.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SubtaskIo {
    pub vertex: usize,
    pub subtask: usize,
    pub io: IoStats,
}

/// A subtask's new state, sent by the TaskExecutor to the JobMaster.
#[derive(Debug, Clone)]
pub struct TaskStateUpdate {
    pub job_id: JobId,
    pub vertex: usize,
    pub subtask: usize,
    pub attempt: u32,
    pub state: ExecutionState,
    /// The failure with its causes, for FAILED.
    pub error: Option<String>,
    /// Where the failure happened (`<vertex> (i/n)`).
    pub location: Option<String>,
    /// Final I/O of the attempt, for terminal states.
    pub io: Option<IoStats>,
    /// Final I/O of each chained operator, head first, for terminal states.
    pub operator_io: Vec<crate::snapshot::OperatorIo>,
}

/// JobMaster (and the Dispatcher's readers) → TaskExecutor.
#[async_trait]
pub trait TaskExecutorGateway: Send + Sync {
    /// Who it is and where it is reached (known from its registration; never a remote call).
    fn endpoint(&self) -> &TaskManagerEndpoint;

    /// Starts the subtasks of a job that its placement puts here. Errors mean nothing was
    /// started.
    async fn deploy(&self, deployment: TaskDeployment) -> Result<(), GatewayError>;

    /// Cancels every subtask of a job here; state updates follow as they stop.
    async fn cancel(&self, job: JobId) -> Result<(), GatewayError>;

    /// The job has reached globally terminal `status` (no restart follows): connectors release
    /// what they hold for it outside the process (a replication slot, say).
    async fn job_ended(&self, _job: JobId, _status: weir_core::JobStatus) {}

    /// Injects checkpoint barriers at the job's sources; acknowledgements follow through
    /// [`JobMasterGateway::acknowledge_checkpoint`] as each subtask's state is written.
    /// Fails with `Conflict` when the job has sources here and none runs any more (with none
    /// placed here there is nothing to do).
    async fn trigger_checkpoint(
        &self,
        job: JobId,
        trigger: CheckpointTrigger,
    ) -> Result<(), GatewayError>;

    /// Checkpoint `checkpoint_id` is complete: committing sinks publish what it covers.
    async fn notify_checkpoint_complete(&self, job: JobId, checkpoint_id: u64);

    /// Live I/O of each subtask of a job running here.
    async fn task_io(&self, job: JobId) -> Option<Vec<SubtaskIo>>;

    /// The process's threads.
    async fn thread_dump(&self) -> Vec<ThreadInfo>;

    /// Starts profiling this TaskManager's process for `duration_s` seconds.
    async fn request_profiling(
        &self,
        duration_s: i64,
        mode: crate::ProfilingMode,
    ) -> Result<crate::ProfilingInfo, GatewayError>;

    /// This TaskManager's profiling runs, newest first.
    async fn profiling_list(&self) -> Vec<crate::ProfilingInfo>;

    /// A finished profiling run's result file.
    async fn profiling_file(&self, name: &str) -> Result<Vec<u8>, GatewayError>;

    /// Address, hardware and memory of this TaskExecutor (slot fields and tags are the
    /// resource manager's to fill).
    async fn describe(&self) -> TaskManagerInfo;

    /// Its log files.
    async fn list_logs(&self) -> Vec<LogFile>;

    /// One of its log files by bare name (`log` and `stdout` name the main log and stdout).
    async fn read_log(&self, name: &str) -> Result<Vec<u8>, GatewayError>;

    /// Its MetricQueryService's dump for the JobManager's fetcher (final values of ended
    /// subtasks are handed over once).
    async fn metric_dump(&self) -> Vec<weir_metrics::DumpedGroup>;

    /// One sample of what each running subtask of a job vertex is doing; empty when none runs.
    async fn sample_tasks(
        &self,
        job: JobId,
        vertex: usize,
    ) -> Vec<crate::flame_graph::ThreadSample>;
}

/// TaskExecutor → JobMaster. Calls return once the JobMaster has the message, not once it has
/// acted on it, so a TaskExecutor never waits on a job's bookkeeping.
#[async_trait]
pub trait JobMasterGateway: Send + Sync {
    /// Reports a subtask state change.
    async fn update_task_execution_state(&self, update: TaskStateUpdate);

    /// One subtask's state for a checkpoint is written.
    async fn acknowledge_checkpoint(&self, job: JobId, ack: CheckpointAck);

    /// A subtask could not take or write its part of a checkpoint.
    async fn decline_checkpoint(&self, job: JobId, checkpoint_id: u64, reason: String);
}
