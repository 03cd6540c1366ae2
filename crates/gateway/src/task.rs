//! The JobMaster ↔ TaskExecutor seam: deploy and cancel one way, task state the other.

use crate::checkpoint::{CheckpointAck, CheckpointTrigger};
use crate::error::GatewayError;
use crate::snapshot::{IoStats, LogFile, TaskManagerInfo, ThreadInfo};
use async_trait::async_trait;
use std::sync::Arc;
use weir_core::{ExecutionState, JobId};
use weir_pipeline::JobGraph;

/// What a TaskExecutor needs to run a job's subtasks.
#[derive(Debug, Clone)]
pub struct TaskDeployment {
    pub job_id: JobId,
    /// The validated graph; a remote TaskExecutor would receive it serialized.
    pub graph: Arc<JobGraph>,
    /// Attempt number of every subtask in this deployment.
    pub attempt: u32,
    /// The checkpoint or savepoint to start from.
    pub restore: Option<crate::checkpoint_storage::RestoreFrom>,
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

/// JobMaster → TaskExecutor.
#[async_trait]
pub trait TaskExecutorGateway: Send + Sync {
    /// This TaskExecutor's resource id.
    fn resource_id(&self) -> String;

    /// Its tags (SeaTunnel's member attributes), which a job's `env.tag_filter` must match.
    fn tags(&self) -> std::collections::BTreeMap<String, String>;

    /// Replaces its tags (SeaTunnel's `/update-tags`); jobs scheduled after see the new ones.
    fn set_tags(&self, tags: std::collections::BTreeMap<String, String>);

    /// Starts every subtask of a job here. Errors mean nothing was started.
    async fn deploy(&self, deployment: TaskDeployment) -> Result<(), GatewayError>;

    /// Cancels every subtask of a job here; state updates follow as they stop.
    async fn cancel(&self, job: JobId) -> Result<(), GatewayError>;

    /// The job has reached globally terminal `status` (no restart follows): connectors release
    /// what they hold for it outside the process (a replication slot, say).
    async fn job_ended(&self, _job: JobId, _status: weir_core::JobStatus) {}

    /// Live I/O of each running subtask of a job, `[vertex][subtask]`.
    fn task_io(&self, job: JobId) -> Option<Vec<Vec<IoStats>>>;

    /// The process's threads.
    fn thread_dump(&self) -> Vec<ThreadInfo>;

    /// Starts profiling this TaskManager's process for `duration_s` seconds.
    fn request_profiling(
        &self,
        duration_s: i64,
        mode: crate::ProfilingMode,
    ) -> Result<crate::ProfilingInfo, GatewayError>;

    /// This TaskManager's profiling runs, newest first.
    fn profiling_list(&self) -> Vec<crate::ProfilingInfo>;

    /// A finished profiling run's result file.
    fn profiling_file(&self, name: &str) -> Result<Vec<u8>, GatewayError>;

    /// Address, hardware and memory of this TaskExecutor (slot fields are the resource
    /// manager's to fill).
    fn describe(&self) -> TaskManagerInfo;

    /// Its log files.
    fn list_logs(&self) -> Vec<LogFile>;

    /// One of its log files by bare name (`log` and `stdout` name the main log and stdout).
    fn read_log(&self, name: &str) -> Result<Vec<u8>, GatewayError>;

    /// Its MetricQueryService's dump for the JobManager's fetcher (final values of ended
    /// subtasks are handed over once). Synchronous while TaskManagers are in-process.
    fn metric_dump(&self) -> Vec<weir_metrics::DumpedGroup>;

    /// One sample of what each running subtask of a job vertex is doing; empty when none runs.
    fn sample_tasks(&self, job: JobId, vertex: usize) -> Vec<crate::flame_graph::ThreadSample>;

    /// Injects checkpoint barriers at the job's sources; acknowledgements follow through
    /// [`JobMasterGateway::acknowledge_checkpoint`] as each subtask's state is written.
    fn trigger_checkpoint(
        &self,
        job: JobId,
        trigger: CheckpointTrigger,
    ) -> Result<(), GatewayError>;

    /// Checkpoint `checkpoint_id` is complete: committing sinks publish what it covers.
    fn notify_checkpoint_complete(&self, job: JobId, checkpoint_id: u64);
}

/// TaskExecutor → JobMaster.
pub trait JobMasterGateway: Send + Sync {
    /// Reports a subtask state change.
    fn update_task_execution_state(&self, update: TaskStateUpdate);

    /// One subtask's state for a checkpoint is written.
    fn acknowledge_checkpoint(&self, job: JobId, ack: CheckpointAck);

    /// A subtask could not take or write its part of a checkpoint.
    fn decline_checkpoint(&self, job: JobId, checkpoint_id: u64, reason: String);
}
