//! One JobMaster per job. The job's state (its ExecutionGraph, CheckpointCoordinator, waiters,
//! slots and where it is in its lifecycle) is owned by one task, [`JobMasterTask`], which
//! receives [`Command`]s: requests from the Dispatcher, reports from the TaskExecutors, and the
//! results of its own I/O (slots found, a checkpoint read, a deployment done, metadata written).
//! Nothing else touches that state, so no lock guards it and no step races another.
//!
//! [`JobMaster`] is the handle everyone else holds: it sends commands and reads what the task
//! publishes after every change (the job snapshot, checkpoint statistics, the graph it runs),
//! so a REST read is a pointer load and never waits on the job.

mod phase;
mod rescale;
mod task;

pub use phase::Phase;
pub use rescale::plan_parallelism;
pub use task::JobMasterTask;

use crate::execution_graph::ExecutionGraph;
use crate::job_settings::JobSettings;
use crate::resource_manager::Grant;
use arc_swap::{ArcSwap, ArcSwapOption};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use weir_core::{JobId, JobStatus};
use weir_gateway::{
    CheckpointAck, CheckpointKind, CheckpointLocation, CheckpointOutcome, CheckpointStatsSnapshot,
    CompletedCheckpoint, GatewayError, JobLog, JobSnapshot, Placement, RescalePlan, TaskDeployment,
    TaskExecutorGateway, TaskStateUpdate,
};
use weir_pipeline::JobGraph;

pub use weir_gateway::RECOVERY_PATH_KEY;

/// How a rescale ended: the checkpoint the job was redeployed from, `None` when the plan asked
/// for the parallelism the job already has, or why it did not happen.
pub type RescaleOutcome = Result<Option<CompletedCheckpoint>, String>;

/// A checkpoint or savepoint that was started or queued: where its outcome will arrive.
pub struct Triggered {
    pub outcome: oneshot::Receiver<CheckpointOutcome>,
}

/// What the JobMaster's task is told. Requests carry the channel their answer goes back on.
pub(crate) enum Command {
    /// Take a checkpoint or savepoint now (`location`: a savepoint's directory).
    TriggerCheckpoint {
        kind: CheckpointKind,
        location: Option<CheckpointLocation>,
        end_input: bool,
        reply: oneshot::Sender<Result<Triggered, GatewayError>>,
    },
    Rescale {
        plan: RescalePlan,
        reply: oneshot::Sender<Result<oneshot::Receiver<RescaleOutcome>, GatewayError>>,
    },
    Cancel {
        reply: oneshot::Sender<Result<(), GatewayError>>,
    },
    /// From the TaskExecutor.
    TaskUpdate(TaskStateUpdate),
    Acknowledge(CheckpointAck),
    Decline {
        checkpoint_id: u64,
        reason: String,
    },
    /// The TaskManager `resource_id` is gone; if the job runs there, it restarts elsewhere.
    TaskManagerLost {
        resource_id: String,
        reason: String,
    },
    /// From the task's own I/O.
    Io(task::IoDone),
}

/// What the task publishes for readers, replaced whole after every change.
pub(crate) struct View {
    snapshot: ArcSwap<JobSnapshot>,
    checkpoint_stats: ArcSwapOption<CheckpointStatsSnapshot>,
    graph: ArcSwap<JobGraph>,
    slots: ArcSwapOption<JobSlots>,
    restarts: AtomicU32,
    rescales: AtomicU32,
}

/// The TaskExecutors an attempt runs on (the one holding slot 0 first) and which subtask runs
/// where. The JobMaster's task owns it; readers get it for live I/O and samples.
pub(crate) struct JobSlots {
    pub members: Vec<Arc<dyn TaskExecutorGateway>>,
    pub placement: Arc<Placement>,
}

impl JobSlots {
    fn new(grants: Vec<Grant>) -> Self {
        let placement = Placement::new(
            &grants
                .iter()
                .map(|g| (g.executor.endpoint().clone(), g.slots))
                .collect::<Vec<_>>(),
        );
        Self {
            members: grants
                .into_iter()
                .filter(|g| g.slots > 0)
                .map(|g| g.executor)
                .collect(),
            placement: Arc::new(placement),
        }
    }

    /// Whether the TaskManager `resource_id` holds slots of the job.
    fn holds(&self, resource_id: &str) -> bool {
        self.members
            .iter()
            .any(|m| m.endpoint().resource_id == resource_id)
    }

    /// The same single TaskExecutor with `slots` slots (a rescale); `None` for a job spread
    /// over several.
    fn resized(&self, slots: usize) -> Option<JobSlots> {
        match self.members.as_slice() {
            [only] => Some(JobSlots {
                members: vec![only.clone()],
                placement: Arc::new(Placement::single(only.endpoint().clone(), slots)),
            }),
            _ => None,
        }
    }

    /// Deploys the attempt: first on the TaskExecutor holding slot 0, which runs the job's
    /// once-per-job setup, then on the others together. The first failure is the result.
    async fn deploy(&self, deployment: TaskDeployment) -> Result<(), GatewayError> {
        let Some((first, rest)) = self.members.split_first() else {
            return Err(GatewayError::Internal("the job holds no slots".into()));
        };
        first.deploy(deployment.clone()).await?;
        let others = rest.iter().map(|m| m.deploy(deployment.clone()));
        futures::future::join_all(others)
            .await
            .into_iter()
            .collect::<Result<Vec<()>, _>>()
            .map(|_| ())
    }

    /// Injects the barriers on every TaskExecutor; it fails only when it reached no running
    /// source anywhere.
    async fn trigger_checkpoint(
        &self,
        job: JobId,
        trigger: weir_gateway::CheckpointTrigger,
    ) -> Result<(), GatewayError> {
        let all = self
            .members
            .iter()
            .map(|m| m.trigger_checkpoint(job, trigger.clone()));
        let results = futures::future::join_all(all).await;
        let mut first_error = None;
        for r in results {
            match r {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| GatewayError::Internal("the job holds no slots".into())))
    }

    /// Live I/O of the job's running subtasks, from every TaskExecutor.
    async fn task_io(&self, job: JobId) -> Vec<weir_gateway::SubtaskIo> {
        // Most jobs run on one TaskManager: its answer as it is, without joining.
        if let [only] = self.members.as_slice() {
            return only.task_io(job).await.unwrap_or_default();
        }
        let all = self.members.iter().map(|m| m.task_io(job));
        futures::future::join_all(all)
            .await
            .into_iter()
            .flatten()
            .flatten()
            .collect()
    }
}

/// The handle on one job's master.
pub struct JobMaster {
    job_id: JobId,
    commands: mpsc::UnboundedSender<Command>,
    view: Arc<View>,
    log: JobLog,
    savepoint_dir: Option<String>,
}

impl JobMaster {
    /// A master for an accepted job, in CREATED, and the task that runs it (spawn
    /// [`JobMasterTask::run`] to schedule and deploy the job).
    pub fn new(
        job_id: JobId,
        graph: Arc<JobGraph>,
        mut eg: ExecutionGraph,
        settings: JobSettings,
        recovery_path: Option<String>,
        terminated: mpsc::UnboundedSender<JobId>,
        log: JobLog,
    ) -> (Arc<Self>, JobMasterTask) {
        eg.set_restart_strategy(settings.restart.clone());
        let now = weir_core::now_ms();
        let view = Arc::new(View {
            snapshot: ArcSwap::from_pointee(eg.snapshot(now)),
            checkpoint_stats: ArcSwapOption::empty(),
            graph: ArcSwap::new(graph.clone()),
            slots: ArcSwapOption::empty(),
            restarts: AtomicU32::new(0),
            rescales: AtomicU32::new(0),
        });
        let (commands, inbox) = mpsc::unbounded_channel();
        let master = Arc::new(Self {
            job_id,
            commands: commands.clone(),
            view: view.clone(),
            log: log.clone(),
            savepoint_dir: settings
                .checkpoints
                .as_ref()
                .and_then(|c| c.savepoint_dir.clone()),
        });
        let task = JobMasterTask::new(task::Parts {
            job_id,
            graph,
            eg,
            settings,
            recovery_path,
            terminated,
            log,
            view,
            inbox,
            outbox: commands,
        });
        (master, task)
    }

    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    /// The checkpoint statistics as of the last checkpoint event; `None` when the job does not
    /// checkpoint.
    pub fn checkpoint_stats(&self) -> Option<Arc<CheckpointStatsSnapshot>> {
        self.view.checkpoint_stats.load_full()
    }

    /// The default savepoint directory (`execution.checkpointing.savepoint-dir`).
    pub fn savepoint_dir(&self) -> Option<String> {
        self.savepoint_dir.clone()
    }

    /// The graph the job runs (or is about to run, during a rescale).
    pub fn graph(&self) -> Arc<JobGraph> {
        self.view.graph.load_full()
    }

    /// The job's own log file.
    pub fn log(&self) -> &JobLog {
        &self.log
    }

    /// Rescales applied so far (Flink's `numRescales`).
    pub fn rescales(&self) -> u32 {
        self.view.rescales.load(Ordering::Relaxed)
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u32 {
        self.view.restarts.load(Ordering::Relaxed)
    }

    /// The TaskExecutors running the job, once it has slots.
    pub fn executors(&self) -> Vec<Arc<dyn TaskExecutorGateway>> {
        self.view
            .slots
            .load()
            .as_ref()
            .map(|s| s.members.clone())
            .unwrap_or_default()
    }

    /// The last published snapshot, shared, and the live I/O of its running subtasks.
    pub async fn live(&self) -> weir_gateway::LiveJob {
        let snapshot = self.view.snapshot.load_full();
        let mut live = weir_gateway::LiveJob::published(snapshot, weir_core::now_ms());
        if !live.snapshot.status.is_terminal() {
            if let Some(slots) = self.view.slots.load_full() {
                live.io = slots.task_io(self.job_id).await;
            }
        }
        live
    }

    /// The last published snapshot as it is (no live I/O), without copying it.
    pub fn published(&self) -> Arc<JobSnapshot> {
        self.view.snapshot.load_full()
    }

    /// The job's overview line, computed from the published snapshot without copying it.
    pub fn overview(&self, now: i64) -> weir_gateway::JobOverview {
        weir_gateway::JobOverview::of(&self.view.snapshot.load(), now)
    }

    /// The current status, without copying the snapshot.
    pub fn status(&self) -> JobStatus {
        self.view.snapshot.load().status
    }

    /// A subtask reported a new state.
    pub fn on_task_update(&self, update: TaskStateUpdate) {
        self.send(Command::TaskUpdate(update));
    }

    /// A subtask's state for a checkpoint is written.
    pub fn acknowledge_checkpoint(&self, ack: CheckpointAck) {
        self.send(Command::Acknowledge(ack));
    }

    /// A subtask could not take or write its part of checkpoint `checkpoint_id`.
    pub fn decline_checkpoint(&self, checkpoint_id: u64, reason: String) {
        self.send(Command::Decline {
            checkpoint_id,
            reason,
        });
    }

    /// The TaskManager `resource_id` is gone (its process died or went silent).
    pub fn task_manager_lost(&self, resource_id: &str, reason: &str) {
        self.send(Command::TaskManagerLost {
            resource_id: resource_id.to_string(),
            reason: reason.to_string(),
        });
    }

    /// Starts a checkpoint or savepoint (`location`: a savepoint's directory; `end_input`: the
    /// sources end after it, a stop with savepoint).
    pub async fn trigger_checkpoint(
        &self,
        kind: CheckpointKind,
        location: Option<CheckpointLocation>,
        end_input: bool,
    ) -> Result<Triggered, GatewayError> {
        self.ask(|reply| Command::TriggerCheckpoint {
            kind,
            location,
            end_input,
            reply,
        })
        .await?
    }

    /// Rescales the running job: vertices in `plan` get their new parallelism. A checkpoint is
    /// taken, every subtask is stopped, and the job is redeployed at the new parallelism from
    /// that checkpoint (keyed state moves by key group, operator state round-robin). The
    /// receiver hears how it ended once the new attempt is deployed.
    pub async fn rescale(
        &self,
        plan: RescalePlan,
    ) -> Result<oneshot::Receiver<RescaleOutcome>, GatewayError> {
        self.ask(|reply| Command::Rescale { plan, reply }).await?
    }

    /// Cancels the job.
    pub async fn cancel(&self) -> Result<(), GatewayError> {
        match self.ask(|reply| Command::Cancel { reply }).await {
            Ok(answer) => answer,
            // The job ended and its task with it: cancelling a cancelled job is accepted, as
            // in Flink; any other end is final.
            Err(_) if self.status() == JobStatus::Canceled => Ok(()),
            Err(_) => Err(GatewayError::Conflict(format!(
                "Job {} has already reached the terminal state {} and cannot be cancelled.",
                self.job_id,
                self.status()
            ))),
        }
    }

    fn send(&self, command: Command) {
        // The task has stopped only once the job ended for good; what comes after is moot.
        let _ = self.commands.send(command);
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, GatewayError> {
        let (reply, answer) = oneshot::channel();
        self.send(command(reply));
        answer.await.map_err(|_| {
            GatewayError::Conflict(format!(
                "Job {} is not running: it has reached the terminal state {}.",
                self.job_id,
                self.status()
            ))
        })
    }
}
