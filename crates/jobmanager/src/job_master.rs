//! One JobMaster per job: it owns the job's ExecutionGraph and CheckpointCoordinator, gets
//! slots from the resource manager, deploys to a TaskExecutor, applies the state updates and
//! checkpoint acknowledgements that come back, restarts the job from its latest checkpoint when
//! a subtask fails, and publishes fresh snapshots after every change. Readers load the snapshots
//! (`ArcSwap`s), so no REST call ever waits on the job; the mutexes are held only for pure
//! bookkeeping, never across an await.

use crate::archive::now_ms;
use crate::checkpoint_coordinator::{CheckpointCoordinator, TriggerRefused, VertexInfo};
use crate::execution_graph::{CancelRefused, Effects, ExecutionGraph};
use crate::job_settings::JobSettings;
use crate::resource_manager::{ResourceManager, SlotError};
use arc_swap::{ArcSwap, ArcSwapOption};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use weir_core::{ExecutionState, JobId, JobStatus};
use weir_gateway::checkpoint_storage::METADATA_FILE;
use weir_gateway::JobLog;
use weir_gateway::{
    CheckpointAck, CheckpointKind, CheckpointLocation, CheckpointStatsSnapshot, CheckpointTrigger,
    GatewayError, JobSnapshot, RestoreFrom, SavepointStop, TaskDeployment, TaskExecutorGateway,
    TaskStateUpdate,
};
use weir_pipeline::JobGraph;

pub use weir_gateway::RECOVERY_PATH_KEY;

/// The outcome of a checkpoint or savepoint someone waits for: its location, or why it failed.
pub type CheckpointResult = Result<(u64, String), String>;

/// The master of one job.
pub struct JobMaster {
    job_id: JobId,
    /// The graph deployed next; replaced by a rescale.
    graph: ArcSwap<JobGraph>,
    eg: Mutex<ExecutionGraph>,
    published: ArcSwap<JobSnapshot>,
    executor: Mutex<Option<Arc<dyn TaskExecutorGateway>>>,
    /// Where the job's slots came from, to give them back the moment it ends.
    slots: Mutex<Option<Arc<ResourceManager>>>,
    /// Tells the Dispatcher the job is globally terminal.
    terminated: mpsc::UnboundedSender<JobId>,
    settings: JobSettings,
    /// `None` for jobs that do not checkpoint.
    coordinator: Mutex<Option<CheckpointCoordinator>>,
    checkpoint_stats: ArcSwapOption<CheckpointStatsSnapshot>,
    waiters: Mutex<HashMap<u64, Vec<oneshot::Sender<CheckpointResult>>>>,
    /// What the first deployment restores (a savepoint or retained checkpoint).
    recovery_path: Option<String>,
    /// Who waits for a rescale in progress: told once the new attempt is deployed.
    rescale_waiter: Mutex<Option<oneshot::Sender<CheckpointResult>>>,
    /// Rescales applied (Flink's `numRescales`).
    rescales: std::sync::atomic::AtomicU32,
    /// The job's own log file.
    log: JobLog,
}

impl JobMaster {
    /// A master for an accepted job, in CREATED.
    pub fn new(
        job_id: JobId,
        graph: Arc<JobGraph>,
        mut eg: ExecutionGraph,
        settings: JobSettings,
        recovery_path: Option<String>,
        terminated: mpsc::UnboundedSender<JobId>,
        log: JobLog,
    ) -> Arc<Self> {
        eg.set_restart_strategy(settings.restart.clone());
        let snapshot = eg.snapshot(now_ms());
        let coordinator = settings.checkpoints.clone().map(|mut cs| {
            // Resolved once, so every checkpoint location handed out is already a `file:` URI.
            if let Ok(dir) = CheckpointLocation::parse(&cs.dir) {
                cs.dir = dir.uri();
            }
            let vertices = snapshot
                .vertices
                .iter()
                .map(|v| VertexInfo {
                    id: v.id,
                    name: v.name.clone(),
                    parallelism: v.parallelism,
                    max_parallelism: v.max_parallelism,
                })
                .collect();
            CheckpointCoordinator::new(job_id.to_string(), cs, vertices)
        });
        let stats = coordinator.as_ref().map(|c| Arc::new(c.snapshot()));
        Arc::new(Self {
            job_id,
            graph: ArcSwap::new(graph),
            eg: Mutex::new(eg),
            published: ArcSwap::from_pointee(snapshot),
            executor: Mutex::new(None),
            slots: Mutex::new(None),
            terminated,
            settings,
            coordinator: Mutex::new(coordinator),
            checkpoint_stats: ArcSwapOption::new(stats),
            waiters: Mutex::new(HashMap::new()),
            recovery_path,
            rescale_waiter: Mutex::new(None),
            rescales: std::sync::atomic::AtomicU32::new(0),
            log,
        })
    }

    /// The checkpoint statistics as of the last checkpoint event; `None` when the job does not
    /// checkpoint.
    pub fn checkpoint_stats(&self) -> Option<Arc<CheckpointStatsSnapshot>> {
        self.checkpoint_stats.load_full()
    }

    /// The default savepoint directory (`execution.checkpointing.savepoint-dir`).
    pub fn savepoint_dir(&self) -> Option<String> {
        self.settings
            .checkpoints
            .as_ref()
            .and_then(|c| c.savepoint_dir.clone())
    }

    /// The graph the job runs (or is about to run, during a rescale).
    pub fn graph(&self) -> Arc<JobGraph> {
        self.graph.load_full()
    }

    /// The job's own log file.
    pub fn log(&self) -> &JobLog {
        &self.log
    }

    /// Rescales applied so far.
    pub fn rescales(&self) -> u32 {
        self.rescales.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u32 {
        self.eg.lock().map(|eg| eg.restarts()).unwrap_or(0)
    }

    /// Runs `f` on the coordinator and publishes its statistics before anyone can look.
    fn with_coordinator<R>(
        &self,
        f: impl FnOnce(&mut CheckpointCoordinator, i64) -> R,
    ) -> Option<R> {
        let mut guard = self.coordinator.lock().ok()?;
        let c = guard.as_mut()?;
        let r = f(c, now_ms());
        self.checkpoint_stats.store(Some(Arc::new(c.snapshot())));
        Some(r)
    }

    /// Writes a status change to the job's log, with the cause when the job failed.
    fn log_transition(&self, before: JobStatus, now: &JobSnapshot) {
        let line = format!(
            "Job {} ({}) switched from state {before} to {}.",
            now.name, self.job_id, now.status
        );
        match now.exceptions.first() {
            Some(e) if matches!(now.status, JobStatus::Failing | JobStatus::Failed) => {
                self.log.warn(&format!("{line}\n{}", e.stacktrace))
            }
            _ => self.log.info(&line),
        }
    }

    /// Settles a stop-with-savepoint when checkpoint `id` is the one it waits for: done when
    /// it completed, back to none when it failed (the job keeps running, as in Flink).
    fn settle_savepoint_stop(self: &Arc<Self>, id: u64, completed: bool) {
        if self.published.load().savepoint_stop != (SavepointStop::InProgress { checkpoint_id: id })
        {
            return;
        }
        self.change(|eg, _| {
            eg.set_savepoint_stop(if completed {
                SavepointStop::Done
            } else {
                SavepointStop::None
            });
            Effects::default()
        });
        if self.status() == JobStatus::Finished {
            // The archiving its end deferred (see `change`).
            let _ = self.terminated.send(self.job_id);
        }
    }

    fn resolve_waiters(&self, id: u64, result: CheckpointResult) {
        let waiters = self
            .waiters
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&id))
            .unwrap_or_default();
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }

    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    /// The last published snapshot, with live I/O of running subtasks.
    pub fn snapshot(&self) -> JobSnapshot {
        let mut s = self.published.load().as_ref().clone();
        s.taken_at = now_ms();
        if !s.status.is_terminal() {
            let executor = self.executor.lock().ok().and_then(|e| e.clone());
            if let Some(io) = executor.and_then(|e| e.task_io(self.job_id)) {
                ExecutionGraph::apply_live_io(&mut s, &io);
            }
        }
        s
    }

    /// The last published snapshot as it is (no live I/O), without copying it.
    pub fn published(&self) -> Arc<JobSnapshot> {
        self.published.load_full()
    }

    /// The TaskExecutor running the job, once deployed.
    pub fn executor(&self) -> Option<Arc<dyn TaskExecutorGateway>> {
        self.executor.lock().ok().and_then(|e| e.clone())
    }

    /// The job's overview line, computed from the published snapshot without copying it.
    pub fn overview(&self, now: i64) -> weir_gateway::JobOverview {
        weir_gateway::JobOverview::of(&self.published.load(), now)
    }

    /// The current status, without copying the snapshot.
    pub fn status(&self) -> JobStatus {
        self.published.load().status
    }

    /// Runs `f` on the graph, publishes the result, and acts on the effects.
    fn change(self: &Arc<Self>, f: impl FnOnce(&mut ExecutionGraph, i64) -> Effects) -> Effects {
        let now = now_ms();
        let (effects, transition) = {
            let Ok(mut eg) = self.eg.lock() else {
                return Effects::default();
            };
            let before = eg.status();
            let effects = f(&mut eg, now);
            let snapshot = Arc::new(eg.snapshot(now));
            self.published.store(snapshot.clone());
            let changed = snapshot.status != before;
            (effects, changed.then_some((before, snapshot)))
        };
        // Written once the graph is unlocked: the job's log is a file.
        if let Some((before, snapshot)) = transition {
            self.log_transition(before, &snapshot);
        }
        if effects.cancel_tasks {
            let executor = self.executor.lock().ok().and_then(|e| e.clone());
            if let Some(executor) = executor {
                let job = self.job_id;
                tokio::spawn(async move {
                    match executor.cancel(job).await {
                        // Its tasks ended on their own (a failure ends them all) before the
                        // cancel arrived: nothing is left to cancel.
                        Err(GatewayError::NotFound(e)) => {
                            tracing::debug!("cancelling job {job}: {e}");
                        }
                        Err(e) => tracing::warn!("cancelling job {job} on its TaskExecutor: {e}"),
                        Ok(()) => {}
                    }
                });
            }
        }
        if let Some(delay) = effects.restart_after {
            self.log.info(&format!(
                "job {} '{}' restarts in {} ms",
                self.job_id,
                self.graph.load().name,
                delay.as_millis()
            ));
            self.abort_checkpoints("the job is restarting");
            tokio::spawn(self.clone().restart_after(delay));
        }
        if let Some(status) = effects.terminal {
            // A job that finishes right after a stop-with-savepoint may still be writing that
            // savepoint's metadata; it completes on its own. Anything else pending is void.
            if status != JobStatus::Finished {
                self.abort_checkpoints(&format!("the job is {status}"));
            }
            self.discard_checkpoints_on_end(status);
            self.log.info(&format!(
                "job {} '{}' is {status}",
                self.job_id,
                self.graph.load().name
            ));
            let rm = self.slots.lock().ok().and_then(|r| r.clone());
            if let Some(rm) = rm {
                rm.release(self.job_id);
            }
            if let Some(executor) = self.executor() {
                let job = self.job_id;
                tokio::spawn(async move { executor.job_ended(job, status).await });
            }
            // A job that a stop-with-savepoint ended is archived once that savepoint is settled,
            // so the archive holds it (SeaTunnel resumes the job from it).
            let stop_pending = matches!(
                self.published.load().savepoint_stop,
                SavepointStop::InProgress { .. }
            );
            if !(status == JobStatus::Finished && stop_pending) {
                let _ = self.terminated.send(self.job_id);
            }
        }
        effects
    }

    /// Schedules and deploys the job: waits for slots (up to `slot_timeout`), then deploys.
    pub async fn start(self: Arc<Self>, rm: Arc<ResourceManager>, slot_timeout: Duration) {
        let needed = self.eg.lock().map(|eg| eg.slots_needed()).unwrap_or(1);
        let deadline = tokio::time::Instant::now() + slot_timeout;
        let executor = loop {
            if self.status() != JobStatus::Created {
                return; // cancelled while waiting
            }
            let released = rm.wait_for_release();
            match rm.try_allocate(self.job_id, needed, &self.settings.tag_filter) {
                Ok(Some(e)) => break e,
                Ok(None) => {
                    if tokio::time::timeout_at(deadline, released).await.is_err() {
                        self.change(|eg, now| Effects {
                            terminal: eg.fail_globally(
                                &format!("Could not acquire the minimum required resources: {needed} slots were not free within {} s (slot.request.timeout)", slot_timeout.as_secs()),
                                now,
                            ),
                            ..Effects::default()
                        });
                        return;
                    }
                }
                Err(SlotError::NoMatchingTags { filter, workers }) => {
                    let show = |tags: &std::collections::BTreeMap<String, String>| {
                        let pairs: Vec<String> =
                            tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        format!("{{{}}}", pairs.join(", "))
                    };
                    let have: Vec<String> = workers.iter().map(show).collect();
                    self.change(|eg, now| Effects {
                        terminal: eg.fail_globally(
                            &format!(
                                "NoEnoughResourceException: no worker has the tags {} of the job's env.tag_filter (the workers have {}); tag a worker with /update-tags or change the filter",
                                show(&filter),
                                have.join(", ")
                            ),
                            now,
                        ),
                        ..Effects::default()
                    });
                    return;
                }
                Err(SlotError::NeverEnough { needed, largest }) => {
                    self.change(|eg, now| Effects {
                        terminal: eg.fail_globally(
                            &format!(
                                "Could not acquire the minimum required resources: the job needs {needed} slots on one TaskManager but the largest has {largest}; lower the parallelism or raise taskmanager.numberOfTaskSlots"
                            ),
                            now,
                        ),
                        ..Effects::default()
                    });
                    return;
                }
            }
        };
        if let Ok(mut e) = self.executor.lock() {
            *e = Some(executor.clone());
        }
        if let Ok(mut r) = self.slots.lock() {
            *r = Some(rm.clone());
        }
        let Ok(restore) = self.restore_from(self.recovery_path.clone()).await else {
            return;
        };
        if !self.deploy_attempt(&executor, 0, restore).await {
            return;
        }
        let interval = self.settings.checkpoints.as_ref().and_then(|c| c.interval);
        if let Some(interval) = interval {
            tokio::spawn(self.clone().run_periodic_checkpoints(interval));
        }
    }

    /// Reads the checkpoint or savepoint at `path` (if any) and records it as the one the job
    /// restores. If it cannot be read, the job fails (and its slots are released) and `Err`
    /// says so.
    async fn restore_from(
        self: &Arc<Self>,
        path: Option<String>,
    ) -> Result<Option<RestoreFrom>, ()> {
        let Some(path) = path else {
            return Ok(None);
        };
        match read_restore(&path).await {
            Ok(r) => {
                let (id, is_savepoint, uri) = (
                    r.metadata.checkpoint_id,
                    r.metadata.is_savepoint,
                    r.location.uri(),
                );
                self.with_coordinator(|c, now| c.restored_from(id, &uri, is_savepoint, now));
                Ok(Some(r))
            }
            Err(e) => {
                self.change(|eg, now| Effects {
                    terminal: eg.fail_globally(&format!("Restoring the job failed: {e}"), now),
                    ..Effects::default()
                });
                Err(())
            }
        }
    }

    /// Marks the subtasks as deploying on the executor and deploys attempt `attempt`. Returns
    /// false if the job was cancelled meanwhile or the deployment failed (and the job with it).
    async fn deploy_attempt(
        self: &Arc<Self>,
        executor: &Arc<dyn TaskExecutorGateway>,
        attempt: u32,
        restore: Option<RestoreFrom>,
    ) -> bool {
        let tm = executor.describe();
        let endpoint = tm
            .path
            .trim_start_matches("weir://")
            .split('/')
            .next()
            .unwrap_or("localhost")
            .to_string();
        let cancelled_meanwhile = {
            let mut cancelled = false;
            self.change(|eg, now| {
                if matches!(eg.status(), JobStatus::Created | JobStatus::Restarting) {
                    eg.deploying(&tm.id, &endpoint, now);
                } else {
                    cancelled = true;
                }
                Effects::default()
            });
            cancelled
        };
        if cancelled_meanwhile {
            if attempt == 0 {
                if let Some(rm) = self.slots.lock().ok().and_then(|r| r.clone()) {
                    rm.release(self.job_id);
                }
            }
            return false;
        }
        let deployment = TaskDeployment {
            job_id: self.job_id,
            graph: self.graph.load_full(),
            attempt,
            restore,
        };
        match executor.deploy(deployment).await {
            Ok(()) => {
                // A cancel (or a failure) that came while the TaskExecutor was still deploying
                // found no tasks to stop; now that they exist, stop them.
                if matches!(self.status(), JobStatus::Cancelling | JobStatus::Failing) {
                    if let Err(e) = executor.cancel(self.job_id).await {
                        tracing::warn!("cancelling job {} after its deployment: {e}", self.job_id);
                    }
                }
                true
            }
            Err(e) => {
                self.change(|eg, now| Effects {
                    terminal: eg.fail_globally(&format!("Deploying the job failed: {e}"), now),
                    ..Effects::default()
                });
                false
            }
        }
    }

    /// After a restart's delay: a new attempt of every subtask, from the latest completed
    /// checkpoint or savepoint (or the job's initial restore point, or from scratch).
    async fn restart_after(self: Arc<Self>, delay: Duration) {
        tokio::time::sleep(delay).await;
        let Some(executor) = self.executor() else {
            return;
        };
        let latest = self
            .coordinator
            .lock()
            .ok()
            .and_then(|c| c.as_ref().and_then(|c| c.latest_restorable().cloned()));
        let path = latest
            .map(|c| c.location)
            .or_else(|| self.recovery_path.clone());
        let Ok(restore) = self.restore_from(path).await else {
            return;
        };
        let mut attempt = None;
        self.change(|eg, now| {
            attempt = eg.restart(now);
            Effects::default()
        });
        let restored = restore
            .as_ref()
            .map(|r| (r.metadata.checkpoint_id, r.location.uri()));
        let deployed = match attempt {
            Some(attempt) => self.deploy_attempt(&executor, attempt, restore).await,
            None => false,
        };
        self.finish_rescale(match (deployed, restored) {
            (true, Some(r)) => Ok(r),
            (true, None) => Err("the rescaled job found no checkpoint to restore".into()),
            (false, _) => Err("the job ended before it was redeployed".into()),
        });
    }

    /// Tells whoever waits for the rescale in progress (if any) how it ended.
    fn finish_rescale(&self, result: CheckpointResult) {
        let waiter = self.rescale_waiter.lock().ok().and_then(|mut w| w.take());
        if let Some(waiter) = waiter {
            let _ = waiter.send(result);
        }
    }

    /// Rescales the running job: vertices in `plan` get their new parallelism. A checkpoint is
    /// taken, every subtask is stopped, and the job is redeployed at the new parallelism from
    /// that checkpoint (keyed state moves by key group, operator state round-robin). The
    /// receiver hears the checkpoint restored once the new attempt is deployed.
    pub fn rescale(
        self: &Arc<Self>,
        plan: &weir_gateway::RescalePlan,
    ) -> Result<oneshot::Receiver<CheckpointResult>, GatewayError> {
        let snapshot = self.published.load_full();
        let graph = self.graph.load_full();
        let mut parallelism: Vec<usize> = snapshot.vertices.iter().map(|v| v.parallelism).collect();
        for (vertex, &p) in plan {
            let Some(i) = snapshot.vertices.iter().position(|v| v.id == *vertex) else {
                return Err(GatewayError::BadRequest(format!(
                    "Vertex {vertex} is not a vertex of job {}.",
                    self.job_id
                )));
            };
            let max = snapshot.vertices[i].max_parallelism;
            if p == 0 || p > max {
                return Err(GatewayError::BadRequest(format!(
                    "The parallelism of vertex {vertex} must be between 1 and its max parallelism {max}, not {p}."
                )));
            }
            if p != parallelism[i] && graph.is_source_vertex(i) {
                return Err(GatewayError::BadRequest(format!(
                    "Vertex {vertex} ({}) reads a source: its parallelism stays {}, because weir's sources divide their input by subtask. Rescale the vertices after it.",
                    snapshot.vertices[i].name, parallelism[i]
                )));
            }
            parallelism[i] = p;
        }
        if self.coordinator.lock().map(|c| c.is_none()).unwrap_or(true) {
            return Err(GatewayError::Conflict(format!(
                "Job {} does not take checkpoints, so it cannot be rescaled with its state: only streaming jobs can.",
                self.job_id
            )));
        }
        if self.status() != JobStatus::Running || !self.all_running() {
            return Err(GatewayError::Conflict(format!(
                "Job {} can only be rescaled while all its tasks are RUNNING (it is {}).",
                self.job_id,
                self.status()
            )));
        }
        let (tx, rx) = oneshot::channel();
        let current: Vec<usize> = snapshot.vertices.iter().map(|v| v.parallelism).collect();
        if parallelism == current {
            let _ = tx.send(Ok((0, String::new())));
            return Ok(rx);
        }
        let rm = self.slots.lock().ok().and_then(|r| r.clone());
        let needed = parallelism.iter().copied().max().unwrap_or(1);
        let held = current.iter().copied().max().unwrap_or(1);
        {
            let mut waiter = self.rescale_waiter.lock().map_err(|_| {
                GatewayError::Internal("the rescale bookkeeping is unavailable".into())
            })?;
            if waiter.is_some() {
                return Err(GatewayError::Conflict(format!(
                    "Job {} is already being rescaled.",
                    self.job_id
                )));
            }
            // The slots for the larger of the two shapes, held until the rescale is done.
            if let Some(rm) = &rm {
                rm.resize(self.job_id, needed.max(held))
                    .map_err(GatewayError::Conflict)?;
            }
            *waiter = Some(tx);
        }
        let (_, checkpoint) = self
            .trigger_checkpoint(CheckpointKind::Checkpoint, None, false)
            .inspect_err(|e| {
                // Nothing started: the job keeps the slots it had.
                if let Some(rm) = &rm {
                    let _ = rm.resize(self.job_id, held);
                }
                self.finish_rescale(Err(e.to_string()));
            })?;
        let master = self.clone();
        tokio::spawn(async move {
            let taken = checkpoint
                .await
                .unwrap_or_else(|_| Err("the checkpoint was abandoned".into()));
            if let Err(e) = taken {
                if let Some(rm) = &rm {
                    let _ = rm.resize(master.job_id, held);
                }
                master.finish_rescale(Err(format!("the checkpoint before rescaling failed: {e}")));
                return;
            }
            tracing::info!(
                "job {} rescales to parallelism {parallelism:?}",
                master.job_id
            );
            let mut started = false;
            master.change(|eg, now| match eg.rescale(parallelism.clone(), now) {
                Some(effects) => {
                    // Before the effects run: the redeployment must find the new graph.
                    let rescaled = master.graph.load().rescaled(&parallelism);
                    master.graph.store(Arc::new(rescaled));
                    started = true;
                    effects
                }
                None => Effects::default(),
            });
            if started {
                master
                    .rescales
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                master.with_coordinator(|c, _| c.set_parallelism(&parallelism));
                if let Some(rm) = &rm {
                    let _ = rm.resize(master.job_id, needed);
                }
            } else {
                master.finish_rescale(Err(
                    "the job stopped running before it could be rescaled".into()
                ));
            }
        });
        Ok(rx)
    }

    /// Triggers a checkpoint every `interval` while the job runs.
    async fn run_periodic_checkpoints(self: Arc<Self>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let status = self.status();
            if status.is_terminal() {
                return;
            }
            if status != JobStatus::Running || !self.all_running() {
                continue;
            }
            match self.trigger_checkpoint(CheckpointKind::Checkpoint, None, false) {
                Ok(_) | Err(GatewayError::Conflict(_)) => {}
                Err(e) => tracing::debug!("periodic checkpoint of {} not taken: {e}", self.job_id),
            }
        }
    }

    fn all_running(&self) -> bool {
        self.published
            .load()
            .vertices
            .iter()
            .flat_map(|v| v.subtasks.iter())
            .all(|s| s.current.state == ExecutionState::Running)
    }

    /// Starts a checkpoint or savepoint; the receiver gets its outcome.
    pub fn trigger_checkpoint(
        self: &Arc<Self>,
        kind: CheckpointKind,
        location: Option<String>,
        end_input: bool,
    ) -> Result<(u64, oneshot::Receiver<CheckpointResult>), GatewayError> {
        let executor = self.executor().ok_or_else(|| {
            GatewayError::Conflict(format!("Job {} is not running yet.", self.job_id))
        })?;
        if self.status() != JobStatus::Running || !self.all_running() {
            return Err(GatewayError::Conflict(format!(
                "Job {} is {}; not all of its tasks are running, so no checkpoint can be taken now.",
                self.job_id,
                self.status()
            )));
        }
        let location = match location {
            Some(l) => Some(
                CheckpointLocation::parse(&l)
                    .map_err(GatewayError::BadRequest)?
                    .uri(),
            ),
            None => None,
        };
        let triggered = self
            .with_coordinator(|c, now| {
                c.trigger(kind, location, now)
                    .map(|(id, loc)| (id, loc, now))
            })
            .ok_or_else(|| {
                GatewayError::Conflict(format!(
                    "Job {} is a batch job; it takes no checkpoints or savepoints.",
                    self.job_id
                ))
            })?;
        let (id, location, now) = triggered.map_err(|r| {
            GatewayError::Conflict(match r {
                TriggerRefused::TooManyConcurrent => "too many checkpoints are in progress".into(),
                TriggerRefused::MinPause => {
                    "the minimum pause between checkpoints has not passed".into()
                }
            })
        })?;
        let (tx, rx) = oneshot::channel();
        if let Ok(mut w) = self.waiters.lock() {
            w.entry(id).or_default().push(tx);
        }
        let trigger = CheckpointTrigger {
            checkpoint_id: id,
            timestamp: now,
            location,
            end_input,
        };
        if end_input {
            self.change(|eg, _| {
                eg.set_savepoint_stop(SavepointStop::InProgress { checkpoint_id: id });
                Effects::default()
            });
        }
        if let Err(e) = executor.trigger_checkpoint(self.job_id, trigger) {
            self.fail_checkpoint(id, &format!("triggering it failed: {e}"));
        } else if let Some(timeout) = self.settings.checkpoints.as_ref().map(|c| c.timeout) {
            let me = Arc::downgrade(self);
            tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                if let Some(m) = me.upgrade() {
                    m.fail_checkpoint(id, "Checkpoint expired before completing.");
                }
            });
        }
        Ok((id, rx))
    }

    /// A subtask's state is written.
    pub fn acknowledge_checkpoint(self: &Arc<Self>, ack: CheckpointAck) {
        let ready = self.with_coordinator(|c, _| c.acknowledge(&ack)).flatten();
        if let Some(ready) = ready {
            let me = self.clone();
            tokio::spawn(async move {
                let id = ready.checkpoint_id;
                let written = async {
                    let location = CheckpointLocation::parse(&ready.location)?;
                    let bytes = serde_json::to_vec_pretty(&ready.metadata)
                        .map_err(|e| format!("encoding the metadata: {e}"))?;
                    location.put(METADATA_FILE, bytes).await?;
                    Ok::<_, String>(location.uri())
                }
                .await;
                match written {
                    Ok(uri) => me.complete_checkpoint(id, uri),
                    Err(e) => me.fail_checkpoint(id, &e),
                }
            });
        }
    }

    fn complete_checkpoint(self: &Arc<Self>, id: u64, uri: String) {
        let Some(discard) = self.with_coordinator(|c, now| {
            if c.is_pending(id) {
                Some(c.complete(id, uri.clone(), now))
            } else {
                None
            }
        }) else {
            return;
        };
        let Some(discard) = discard else {
            return; // it expired or was aborted meanwhile
        };
        if let Some(executor) = self.executor() {
            executor.notify_checkpoint_complete(self.job_id, id);
        }
        remove_locations(discard);
        self.log.info(&format!(
            "checkpoint {id} of job {} completed at {uri}",
            self.job_id
        ));
        self.settle_savepoint_stop(id, true);
        self.resolve_waiters(id, Ok((id, uri)));
    }

    /// A checkpoint was declined, timed out or could not be written.
    pub fn fail_checkpoint(self: &Arc<Self>, id: u64, reason: &str) {
        let outcome = self
            .with_coordinator(|c, now| c.fail(id, reason, now))
            .flatten();
        let Some(outcome) = outcome else {
            return;
        };
        self.log.warn(&format!(
            "checkpoint {id} of job {} failed: {reason}",
            self.job_id
        ));
        self.settle_savepoint_stop(id, false);
        self.resolve_waiters(id, Err(reason.to_string()));
        if outcome.fail_job {
            // Flink's global failover: the restart strategy restarts the job from its latest
            // completed checkpoint, or fails it when it allows no more restarts.
            self.change(|eg, now| {
                eg.on_global_failure(
                    &format!("Exceeded checkpoint tolerable failure threshold: {reason}"),
                    now,
                )
            });
        }
    }

    fn abort_checkpoints(self: &Arc<Self>, reason: &str) {
        let ids = self
            .with_coordinator(|c, now| c.abort_all(reason, now))
            .unwrap_or_default();
        for id in ids {
            self.settle_savepoint_stop(id, false);
            self.resolve_waiters(id, Err(format!("Checkpoint {id} was aborted: {reason}")));
        }
    }

    /// Removes retained checkpoints when the job ends, unless they are kept (externalized on
    /// cancellation, or after a failure so the job can be resumed).
    fn discard_checkpoints_on_end(&self, status: JobStatus) {
        let Some(settings) = self.settings.checkpoints.as_ref() else {
            return;
        };
        let discard = match status {
            JobStatus::Finished => true,
            JobStatus::Canceled => !settings.retain_on_cancellation,
            _ => false,
        };
        if discard {
            let locations = self
                .coordinator
                .lock()
                .ok()
                .and_then(|c| c.as_ref().map(|c| c.retained_locations()))
                .unwrap_or_default();
            remove_locations(locations);
        }
    }

    /// A subtask reported a new state.
    pub fn on_task_update(self: &Arc<Self>, update: &TaskStateUpdate) {
        self.change(|eg, now| eg.on_task_update(update, now));
    }

    /// Cancels the job.
    pub fn cancel(self: &Arc<Self>) -> Result<(), GatewayError> {
        let mut refused = None;
        self.change(|eg, now| match eg.cancel(now) {
            Ok(effects) => effects,
            Err(CancelRefused::AlreadyTerminal(s)) => {
                refused = Some(s);
                Effects::default()
            }
        });
        match refused {
            Some(status) => Err(GatewayError::Conflict(format!(
                "Job {} has already reached the terminal state {status} and cannot be cancelled.",
                self.job_id
            ))),
            None => Ok(()),
        }
    }
}

/// Reads the metadata of a checkpoint or savepoint directory.
async fn read_restore(path: &str) -> Result<RestoreFrom, String> {
    let location = CheckpointLocation::parse(path)?;
    let metadata = location.read_metadata().await?;
    Ok(RestoreFrom {
        location,
        metadata: Arc::new(metadata),
    })
}

/// Removes subsumed or discarded checkpoints, off the caller's path.
fn remove_locations(locations: Vec<String>) {
    if locations.is_empty() {
        return;
    }
    tokio::spawn(async move {
        for l in locations {
            let removed = match CheckpointLocation::parse(&l) {
                Ok(loc) => loc.remove().await,
                Err(e) => Err(e),
            };
            if let Err(e) = removed {
                tracing::warn!("removing checkpoint {l}: {e}");
            }
        }
    });
}
