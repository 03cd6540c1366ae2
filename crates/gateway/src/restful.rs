//! What the REST layer may ask of the cluster: Flink's `RestfulGateway` method set, in Rust.

use crate::checkpoint::{CheckpointStatsSnapshot, OperationKind, OperationState, SavepointRequest};
use crate::error::GatewayError;
use crate::job_check::JobCheck;
use crate::live_job::LiveJob;
use crate::rescale::ResourceRequirements;
use crate::snapshot::*;
use crate::submission::JobSubmission;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use weir_core::{JobId, JobStatus, TriggerId, VertexId};

/// How a client asks a job to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminationMode {
    Cancel,
    Stop,
}

/// The REST layer's only view of the cluster. Every read returns a snapshot; nothing here
/// waits for a running job.
#[async_trait]
pub trait RestfulGateway: Send + Sync {
    /// Submits a job; returns its id once it is accepted (validated and registered).
    async fn submit_job(&self, submission: JobSubmission) -> Result<JobId, GatewayError>;

    /// Validates a submission and shows the job it would run, without running it (the plan of
    /// an uploaded artifact).
    async fn preview_job(&self, submission: JobSubmission) -> Result<JobSnapshot, GatewayError>;

    /// Checks a submission without running it: the job it would run, or every problem of its
    /// file, typed (line, option, hint). `Err` only when the check itself could not be made.
    async fn check_job(&self, submission: JobSubmission) -> Result<JobCheck, GatewayError>;

    /// Asks a job to stop (Flink's `cancelJob`).
    async fn cancel_job(&self, job: JobId) -> Result<(), GatewayError>;

    /// A job's full snapshot, running or archived (Flink's `requestExecutionGraphInfo`), with
    /// the live counters written in: a copy, for readers that need every subtask's attempts.
    async fn request_job(&self, job: JobId) -> Result<JobSnapshot, GatewayError> {
        Ok(self.request_live_job(job).await?.into_snapshot())
    }

    /// A job's published snapshot, shared, and its running subtasks' live counters beside it:
    /// for readers that derive sums (and can keep what they derive from the same snapshot).
    async fn request_live_job(&self, job: JobId) -> Result<LiveJob, GatewayError>;

    /// A job's status only.
    async fn request_job_status(&self, job: JobId) -> Result<JobStatus, GatewayError>;

    /// The result of a globally terminal job; `Ok(None)` while it runs.
    async fn request_job_result(&self, job: JobId) -> Result<Option<JobResult>, GatewayError>;

    /// Every known job, running and archived, in listing order.
    async fn request_multiple_job_details(&self) -> Vec<JobOverview> {
        self.request_job_listing().await.merged()
    }

    /// The same jobs as the running and the archived part, the latter shared as kept.
    async fn request_job_listing(&self) -> crate::JobListing;

    /// Task managers, slots and job counts.
    async fn request_cluster_overview(&self) -> ClusterOverview;

    /// Every registered TaskManager.
    async fn request_task_managers(&self) -> Vec<TaskManagerInfo>;

    /// One TaskManager.
    async fn request_task_manager(&self, id: &str) -> Result<TaskManagerInfo, GatewayError>;

    /// The ids of the metric query services to pull from (Flink's
    /// `requestMetricQueryServiceAddresses`): the JobManager's and each TaskManager's.
    async fn request_metric_query_service_addresses(&self) -> Vec<String>;

    /// Threads of a role's process.
    async fn request_thread_dump(&self, source: LogSource)
        -> Result<Vec<ThreadInfo>, GatewayError>;

    /// Starts profiling a role's process (Flink's `/jobmanager/profiler`,
    /// `/taskmanagers/:id/profiler`).
    async fn request_profiling(
        &self,
        source: LogSource,
        duration_s: i64,
        mode: crate::ProfilingMode,
    ) -> Result<crate::ProfilingInfo, GatewayError>;

    /// A role's profiling runs, newest first.
    async fn request_profiling_list(
        &self,
        source: LogSource,
    ) -> Result<Vec<crate::ProfilingInfo>, GatewayError>;

    /// A finished profiling run's result file of a role.
    async fn request_profiling_file(
        &self,
        source: LogSource,
        name: &str,
    ) -> Result<Vec<u8>, GatewayError>;

    /// Log files of a role.
    async fn request_log_list(&self, source: LogSource) -> Result<Vec<LogFile>, GatewayError>;

    /// One log file's content; `name` must be a bare file name.
    async fn request_log(&self, source: LogSource, name: &str) -> Result<Vec<u8>, GatewayError>;

    /// The JobManager's effective configuration.
    async fn request_cluster_config(&self) -> BTreeMap<String, String>;

    /// Records that a job's client is alive until `expires_at` (epoch ms).
    async fn report_job_client_heartbeat(
        &self,
        job: JobId,
        expires_at: i64,
    ) -> Result<(), GatewayError>;

    /// Shuts the whole cluster down.
    async fn shut_down_cluster(&self);

    /// Replaces the tags of this node's TaskManagers (SeaTunnel's `/update-tags`).
    async fn update_worker_tags(&self, tags: std::collections::BTreeMap<String, String>);

    /// The MetricStore, fetched anew first when it is older than the fetch interval (or a
    /// job ended since), so no answer is ever older than that and the first is never empty.
    async fn request_metric_store(&self) -> Arc<weir_metrics::MetricStore>;

    /// Samples a vertex's running subtasks (optionally one) and folds the samples into a
    /// flame graph of `kind`.
    async fn request_flame_graph(
        &self,
        job: JobId,
        vertex: VertexId,
        kind: crate::flame_graph::FlameGraphType,
        subtask: Option<usize>,
    ) -> Result<crate::flame_graph::VertexFlameGraph, GatewayError>;

    /// A job's checkpoint statistics as of its last checkpoint event (running or archived).
    /// Not found when the job does not checkpoint.
    async fn request_checkpoint_stats(
        &self,
        job: JobId,
    ) -> Result<Arc<CheckpointStatsSnapshot>, GatewayError>;

    /// Triggers a checkpoint; a repeated `trigger_id` is the same operation.
    async fn trigger_checkpoint(
        &self,
        job: JobId,
        trigger_id: Option<TriggerId>,
    ) -> Result<TriggerId, GatewayError>;

    /// Triggers a savepoint (or a stop with savepoint); a repeated `trigger_id` is the same
    /// operation.
    async fn trigger_savepoint(
        &self,
        job: JobId,
        request: SavepointRequest,
    ) -> Result<TriggerId, GatewayError>;

    /// Where an asynchronous operation stands; not found for unknown or expired ids.
    async fn request_operation(
        &self,
        job: JobId,
        kind: OperationKind,
        trigger_id: TriggerId,
    ) -> Result<OperationState, GatewayError>;

    /// Deletes a savepoint (or retained checkpoint) directory, after checking it is one;
    /// asynchronous, its status read with `request_operation(NO_JOB, Disposal, id)`.
    async fn trigger_savepoint_disposal(
        &self,
        path: String,
        trigger_id: Option<TriggerId>,
    ) -> Result<TriggerId, GatewayError>;

    /// Per-vertex parallelism bounds: each vertex runs at its upper bound.
    async fn request_job_resource_requirements(
        &self,
        job: JobId,
    ) -> Result<ResourceRequirements, GatewayError>;

    /// Changes the bounds; vertices whose upper bound changes are rescaled (a checkpoint, a
    /// redeployment at the new parallelism restoring it, state redistributed by key group).
    async fn update_job_resource_requirements(
        &self,
        job: JobId,
        requirements: ResourceRequirements,
    ) -> Result<(), GatewayError>;

    /// Rescales every vertex that can change parallelism (all but sources) to `parallelism`;
    /// a repeated `trigger_id` is the same operation.
    async fn trigger_rescaling(
        &self,
        job: JobId,
        parallelism: usize,
        trigger_id: Option<TriggerId>,
    ) -> Result<TriggerId, GatewayError>;
}
