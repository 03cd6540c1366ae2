//! The task that owns one job: it takes one command at a time, changes the ExecutionGraph and
//! the CheckpointCoordinator (both pure), publishes what readers see, and starts the I/O the
//! change calls for. I/O runs in tasks of its own whose results come back as commands
//! ([`IoDone`]), so the task never waits on a TaskExecutor, a file or the resource manager.

use super::phase::{Attempt, Phase, RequestedCheckpoint, Rescale};
use super::{plan_parallelism, Command, JobSlots, RescaleOutcome, Triggered, View};
use crate::checkpoint_coordinator::{
    Admission, CheckpointCoordinator, TriggerOrigin, TriggerRefused, VertexInfo,
};
use crate::execution_graph::{CancelRefused, Effects, ExecutionGraph};
use crate::job_settings::JobSettings;
use crate::resource_manager::{Grant, ResourceManager, SlotError};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use weir_core::{now_ms, ExecutionState, JobId, JobStatus};
use weir_gateway::checkpoint_storage::METADATA_FILE;
use weir_gateway::{
    CheckpointAck, CheckpointFailure, CheckpointKind, CheckpointLocation, CheckpointOutcome,
    CheckpointTrigger, CompletedCheckpoint, GatewayError, JobLog, JobSnapshot, RescalePlan,
    RestoreFrom, SavepointStop, TaskDeployment,
};
use weir_pipeline::JobGraph;

/// The result of I/O the task started.
pub(crate) enum IoDone {
    /// The resource manager gave slots on these TaskExecutors, or never will.
    Slots(Result<Vec<Grant>, String>),
    /// The checkpoint or savepoint the next attempt starts from was read (`None`: from
    /// scratch).
    Restored(Result<Option<RestoreFrom>, String>),
    /// Every TaskExecutor of the attempt started its part of attempt `attempt`, or one could
    /// not.
    Deployed {
        attempt: u32,
        result: Result<(), GatewayError>,
    },
    /// The TaskExecutor could not inject a checkpoint's barriers.
    TriggerFailed {
        checkpoint_id: u64,
        error: GatewayError,
    },
    /// A checkpoint's `_metadata` is written at `location` (or could not be).
    MetadataWritten {
        checkpoint_id: u64,
        location: CheckpointLocation,
        result: Result<(), String>,
    },
    /// The restart delay has passed.
    RestartDue,
}

/// What [`super::JobMaster::new`] hands the task.
pub(crate) struct Parts {
    pub job_id: JobId,
    pub graph: Arc<JobGraph>,
    pub eg: ExecutionGraph,
    pub settings: JobSettings,
    pub recovery_path: Option<String>,
    pub terminated: mpsc::UnboundedSender<JobId>,
    pub log: JobLog,
    pub view: Arc<View>,
    pub inbox: mpsc::UnboundedReceiver<Command>,
    pub outbox: mpsc::UnboundedSender<Command>,
}

/// The owner of one job's state; see the module comment.
pub struct JobMasterTask {
    job_id: JobId,
    /// The graph deployed next; replaced by a rescale.
    graph: Arc<JobGraph>,
    eg: ExecutionGraph,
    /// `None` for jobs that do not checkpoint.
    coordinator: Option<CheckpointCoordinator>,
    settings: JobSettings,
    /// What the first deployment restores (a savepoint or retained checkpoint).
    recovery_path: Option<String>,
    phase: Phase,
    rescale: Option<Rescale>,
    waiters: HashMap<u64, Vec<oneshot::Sender<CheckpointOutcome>>>,
    /// Who waits for each requested checkpoint still queued, by the coordinator's ticket.
    queued: HashMap<u64, oneshot::Sender<CheckpointOutcome>>,
    /// Where the job's slots are, once it has them.
    slots: Option<Arc<JobSlots>>,
    /// Periodic checkpoints, once the job is first deployed.
    periodic: Option<tokio::time::Interval>,
    /// When each pending checkpoint expires (`execution.checkpointing.timeout`).
    expiry: BTreeMap<u64, tokio::time::Instant>,
    /// Where the job's slots come from (set when the task runs).
    rm: Option<Arc<ResourceManager>>,
    /// How long it waits for slots (`slot.request.timeout`).
    slot_timeout: Duration,
    terminated: mpsc::UnboundedSender<JobId>,
    log: JobLog,
    view: Arc<View>,
    inbox: mpsc::UnboundedReceiver<Command>,
    /// Where the task's own I/O reports back.
    outbox: mpsc::UnboundedSender<Command>,
}

impl JobMasterTask {
    pub(crate) fn new(p: Parts) -> Self {
        let coordinator = p.settings.checkpoints.clone().map(|cs| {
            let vertices = p
                .view
                .snapshot
                .load()
                .vertices
                .iter()
                .map(|v| VertexInfo {
                    id: v.id,
                    name: v.name.clone(),
                    parallelism: v.parallelism,
                    max_parallelism: v.max_parallelism,
                })
                .collect();
            CheckpointCoordinator::new(p.job_id.to_string(), cs, vertices)
        });
        if let Some(c) = &coordinator {
            p.view.checkpoint_stats.store(Some(Arc::new(c.snapshot())));
        }
        Self {
            job_id: p.job_id,
            graph: p.graph,
            eg: p.eg,
            coordinator,
            settings: p.settings,
            recovery_path: p.recovery_path,
            phase: Phase::Created,
            rescale: None,
            waiters: HashMap::new(),
            queued: HashMap::new(),
            slots: None,
            periodic: None,
            expiry: BTreeMap::new(),
            rm: None,
            slot_timeout: Duration::ZERO,
            terminated: p.terminated,
            log: p.log,
            view: p.view,
            inbox: p.inbox,
            outbox: p.outbox,
        }
    }

    /// Schedules and deploys the job, then serves its commands until it has ended for good.
    pub async fn run(mut self, rm: Arc<ResourceManager>, slot_timeout: Duration) {
        self.rm = Some(rm);
        self.slot_timeout = slot_timeout;
        self.schedule(Attempt::First);
        while !self.done() {
            let first_expiry = self.expiry.values().min().copied();
            let command = tokio::select! {
                c = self.inbox.recv() => c,
                _ = tick(&mut self.periodic) => {
                    self.periodic_checkpoint();
                    continue;
                }
                _ = sleep_until(first_expiry) => {
                    self.expire_checkpoints();
                    continue;
                }
            };
            // The task holds a sender of its own inbox, so the channel never closes.
            let Some(command) = command else { break };
            self.handle(command);
        }
        tracing::debug!("the master of job {} has stopped", self.job_id);
    }

    /// Ended, with no stop-with-savepoint's savepoint still to settle.
    fn done(&self) -> bool {
        matches!(self.phase, Phase::Ended(_)) && !self.stop_pending()
    }

    fn stop_pending(&self) -> bool {
        matches!(
            self.view.snapshot.load().savepoint_stop,
            SavepointStop::InProgress { .. }
        )
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::TriggerCheckpoint {
                kind,
                location,
                end_input,
                reply,
            } => {
                let triggered = self
                    .trigger_checkpoint(kind, TriggerOrigin::Requested, location, end_input)
                    .map(|(_, outcome)| Triggered { outcome });
                let _ = reply.send(triggered);
            }
            Command::Rescale { plan, reply } => {
                let _ = reply.send(self.start_rescale(&plan));
            }
            Command::Cancel { reply } => {
                let _ = reply.send(self.cancel());
            }
            Command::TaskUpdate(update) => self.change(|eg, now| eg.on_task_update(&update, now)),
            Command::Acknowledge(ack) => self.acknowledge(ack),
            Command::Decline {
                checkpoint_id,
                reason,
            } => self.fail_checkpoint(checkpoint_id, CheckpointFailure::Declined(reason)),
            Command::TaskManagerLost {
                resource_id,
                reason,
            } => self.on_task_manager_lost(&resource_id, &reason),
            Command::Io(done) => self.on_io(done),
        }
    }

    fn on_io(&mut self, done: IoDone) {
        match done {
            IoDone::Slots(found) => self.on_slots(found),
            IoDone::Restored(read) => self.on_restored(read),
            IoDone::Deployed { attempt, result } => self.on_deployed(attempt, result),
            IoDone::TriggerFailed {
                checkpoint_id,
                error,
            } => self.fail_checkpoint(
                checkpoint_id,
                CheckpointFailure::TriggerFailed(error.to_string()),
            ),
            IoDone::MetadataWritten {
                checkpoint_id,
                location,
                result,
            } => match result {
                Ok(()) => self.complete_checkpoint(checkpoint_id, location),
                Err(e) => {
                    self.fail_checkpoint(checkpoint_id, CheckpointFailure::MetadataNotWritten(e))
                }
            },
            IoDone::RestartDue => self.on_restart_due(),
        }
    }

    /// Runs `io` in a task of its own; its result comes back as a command.
    fn spawn_io(&self, io: impl std::future::Future<Output = IoDone> + Send + 'static) {
        let outbox = self.outbox.clone();
        tokio::spawn(async move {
            let _ = outbox.send(Command::Io(io.await));
        });
    }

    // ----- the lifecycle -----

    /// Asks the resource manager for the slots of `attempt`, waiting up to `slot_timeout`.
    fn schedule(&mut self, attempt: Attempt) {
        let Some(rm) = self.rm.clone() else {
            return;
        };
        let slot_timeout = self.slot_timeout;
        let job = self.job_id;
        let needed = self.eg.slots_needed();
        let filter = self.settings.tag_filter.clone();
        let view = self.view.clone();
        let outbox = self.outbox.clone();
        let asking = tokio::spawn(async move {
            let found = find_slots(&rm, job, needed, &filter, slot_timeout, &view).await;
            if let Some(found) = found {
                let _ = outbox.send(Command::Io(IoDone::Slots(found)));
            }
        });
        self.phase = Phase::Scheduling(asking, attempt);
    }

    fn on_slots(&mut self, found: Result<Vec<Grant>, String>) {
        let Phase::Scheduling(_, attempt) = self.phase else {
            // The job ended while the slots were being found.
            if let Some(rm) = &self.rm {
                rm.release(self.job_id);
            }
            return;
        };
        match found {
            Ok(grants) => {
                self.set_slots(Some(Arc::new(JobSlots::new(grants))));
                let path = self.restore_path(attempt);
                self.restore(attempt, path);
            }
            Err(reason) => self.change(|eg, now| Effects {
                terminal: eg.fail_globally(&reason, now),
                ..Effects::default()
            }),
        }
    }

    /// Reads what attempt `attempt` starts from, then deploys it.
    fn restore(&mut self, attempt: Attempt, path: Option<RestorePath>) {
        self.phase = Phase::Restoring(attempt);
        self.spawn_io(async move {
            IoDone::Restored(match path {
                None => Ok(None),
                Some(p) => read_restore(p).await.map(Some),
            })
        });
    }

    fn on_restored(&mut self, read: Result<Option<RestoreFrom>, String>) {
        let Phase::Restoring(attempt) = self.phase else {
            return; // cancelled while reading
        };
        let restore = match read {
            Ok(r) => r,
            Err(e) => {
                return self.change(|eg, now| Effects {
                    terminal: eg.fail_globally(&format!("Restoring the job failed: {e}"), now),
                    ..Effects::default()
                });
            }
        };
        if let (Some(r), Some(c)) = (&restore, self.coordinator.as_mut()) {
            c.restored_from(
                r.metadata.checkpoint_id,
                &r.location,
                r.metadata.is_savepoint,
                now_ms(),
            );
            self.view
                .checkpoint_stats
                .store(Some(Arc::new(c.snapshot())));
        }
        let number = match attempt {
            Attempt::First => Some(0),
            Attempt::Restart => {
                let mut next = None;
                self.change(|eg, now| {
                    next = eg.restart(now);
                    Effects::default()
                });
                next
            }
        };
        match number {
            Some(n) => self.deploy(n, restore),
            // Cancelled once the old attempt had stopped: the cancel ended the job.
            None => self.finish_rescale(Err("the job ended before it was redeployed".into())),
        }
    }

    fn deploy(&mut self, attempt: u32, restore: Option<RestoreFrom>) {
        let Some(slots) = self.slots.clone() else {
            // Its TaskManager was lost while the restore was read: find slots elsewhere.
            return self.schedule(if attempt == 0 {
                Attempt::First
            } else {
                Attempt::Restart
            });
        };
        self.change(|eg, now| {
            eg.deploying(&slots.placement, now);
            Effects::default()
        });
        self.phase = Phase::Deploying { attempt };
        let deployment = TaskDeployment {
            job_id: self.job_id,
            graph: self.graph.clone(),
            attempt,
            placement: slots.placement.clone(),
            restore,
        };
        self.spawn_io(async move {
            IoDone::Deployed {
                attempt,
                result: slots.deploy(deployment).await,
            }
        });
    }

    fn on_deployed(&mut self, attempt: u32, result: Result<(), GatewayError>) {
        let expected = matches!(self.phase, Phase::Deploying { attempt: a } if a == attempt);
        match result {
            Ok(()) => {
                // A cancel (or a failure) that came while the TaskExecutor was still deploying
                // found no tasks to stop; now that they exist, stop them.
                if matches!(self.eg.status(), JobStatus::Cancelling | JobStatus::Failing) {
                    self.cancel_tasks();
                }
                if !expected {
                    return;
                }
                self.phase = Phase::Running;
                if let Some(Rescale::Redeploying { from, .. }) = &self.rescale {
                    let from = from.clone();
                    self.finish_rescale(Ok(Some(from)));
                }
                self.start_periodic_checkpoints();
            }
            Err(e) if expected => self.change(|eg, now| Effects {
                terminal: eg.fail_globally(&format!("Deploying the job failed: {e}"), now),
                ..Effects::default()
            }),
            Err(e) => tracing::debug!(
                "a stale deployment of job {} failed while it was {}: {e}",
                self.job_id,
                self.phase.name()
            ),
        }
    }

    fn start_periodic_checkpoints(&mut self) {
        if self.periodic.is_some() {
            return;
        }
        let interval = self.settings.checkpoints.as_ref().and_then(|c| c.interval);
        if let Some(interval) = interval {
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            self.periodic = Some(tick);
        }
    }

    fn on_restart_due(&mut self) {
        if !matches!(self.phase, Phase::Restarting) || self.eg.status() != JobStatus::Restarting {
            return;
        }
        if self.slots.is_none() {
            // Its TaskManager is gone: the new attempt needs slots elsewhere first.
            return self.schedule(Attempt::Restart);
        }
        let path = self.restore_path(Attempt::Restart);
        self.restore(Attempt::Restart, path);
    }

    /// What `attempt` starts from: the job's initial restore point for the first, the latest
    /// completed checkpoint (or that point) for a restart.
    fn restore_path(&self, attempt: Attempt) -> Option<RestorePath> {
        let latest = match attempt {
            Attempt::First => None,
            Attempt::Restart => self
                .coordinator
                .as_ref()
                .and_then(|c| c.latest_restorable())
                .map(|c| RestorePath::Known(c.location.clone())),
        };
        latest.or_else(|| self.recovery_path.clone().map(RestorePath::Given))
    }

    /// The TaskManager `resource_id` is gone. If the job ran there, its attempts failed and
    /// the restart strategy decides; the next attempt gets slots on a TaskManager still here.
    fn on_task_manager_lost(&mut self, resource_id: &str, reason: &str) {
        let ran_here = self.slots.as_ref().is_some_and(|s| s.holds(resource_id));
        if !ran_here {
            return;
        }
        self.log.warn(&format!(
            "job {} lost its TaskManager {resource_id}: {reason}",
            self.job_id
        ));
        // The change cancels the job's attempts on the TaskManagers still there, so the slots
        // are given up only after it; the restart then takes new ones, wherever they are.
        self.change(|eg, now| eg.on_task_manager_lost(resource_id, reason, now));
        if let Some(rm) = &self.rm {
            rm.release(self.job_id);
        }
        self.set_slots(None);
    }

    fn cancel(&mut self) -> Result<(), GatewayError> {
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

    /// Runs `f` on the graph, publishes the result, and acts on the effects.
    fn change(&mut self, f: impl FnOnce(&mut ExecutionGraph, i64) -> Effects) {
        let now = now_ms();
        let before = self.eg.status();
        let effects = f(&mut self.eg, now);
        self.publish(now);
        let snapshot = self.view.snapshot.load_full();
        if snapshot.status != before {
            self.log_transition(before, &snapshot);
        }
        self.apply(effects);
    }

    fn publish(&self, now: i64) {
        self.view.snapshot.store(Arc::new(self.eg.snapshot(now)));
        self.view
            .restarts
            .store(self.eg.restarts(), Ordering::Relaxed);
    }

    fn apply(&mut self, effects: Effects) {
        if effects.cancel_tasks {
            self.cancel_tasks();
        }
        if let Some(delay) = effects.restart_after {
            self.log.info(&format!(
                "job {} '{}' restarts in {} ms",
                self.job_id,
                self.graph.name,
                delay.as_millis()
            ));
            self.abort_checkpoints("the job is restarting");
            self.phase = Phase::Restarting;
            self.spawn_io(async move {
                tokio::time::sleep(delay).await;
                IoDone::RestartDue
            });
        }
        if let Some(status) = effects.terminal {
            self.end(status);
        }
    }

    fn cancel_tasks(&self) {
        let Some(slots) = self.slots.clone() else {
            return;
        };
        let job = self.job_id;
        for executor in slots.members.iter() {
            let executor = executor.clone();
            tokio::spawn(async move {
                match executor.cancel(job).await {
                    // Its tasks ended on their own (a failure ends them all) before the cancel
                    // arrived: nothing is left to cancel.
                    Err(GatewayError::NotFound(e)) => {
                        tracing::debug!("cancelling job {job}: {e}")
                    }
                    Err(e) => tracing::warn!(
                        "cancelling job {job} on TaskManager {}: {e}",
                        executor.endpoint().resource_id
                    ),
                    Ok(()) => {}
                }
            });
        }
    }

    /// Publishes where the job's slots are (readers fetch live I/O and samples there).
    fn set_slots(&mut self, slots: Option<Arc<JobSlots>>) {
        self.view.slots.store(slots.clone());
        self.slots = slots;
    }

    /// The job is globally terminal.
    fn end(&mut self, status: JobStatus) {
        // A job that finishes right after a stop-with-savepoint may still be writing that
        // savepoint's metadata; it completes on its own. Anything else pending is void.
        if status != JobStatus::Finished {
            self.abort_checkpoints(&format!("the job is {status}"));
        }
        self.discard_checkpoints_on_end(status);
        self.log.info(&format!(
            "job {} '{}' is {status}",
            self.job_id, self.graph.name
        ));
        if let Phase::Scheduling(asking, _) = &self.phase {
            asking.abort();
        }
        self.phase = Phase::Ended(status);
        self.periodic = None;
        if let Some(rm) = &self.rm {
            rm.release(self.job_id);
        }
        self.finish_rescale(Err("the job ended before it was redeployed".into()));
        if let Some(slots) = self.slots.clone() {
            let job = self.job_id;
            for executor in slots.members.iter() {
                let executor = executor.clone();
                tokio::spawn(async move { executor.job_ended(job, status).await });
            }
        }
        // A job that a stop-with-savepoint ended is archived once that savepoint is settled,
        // so the archive holds it (SeaTunnel resumes the job from it).
        if !(status == JobStatus::Finished && self.stop_pending()) {
            let _ = self.terminated.send(self.job_id);
        }
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

    // ----- checkpoints -----

    fn all_running(&self) -> bool {
        self.view
            .snapshot
            .load()
            .vertices
            .iter()
            .flat_map(|v| v.subtasks.iter())
            .all(|s| s.current.state == ExecutionState::Running)
    }

    /// Updates the published statistics after a coordinator call.
    fn publish_checkpoints(&self) {
        if let Some(c) = &self.coordinator {
            self.view
                .checkpoint_stats
                .store(Some(Arc::new(c.snapshot())));
        }
    }

    /// Fails every pending checkpoint whose timeout has passed.
    fn expire_checkpoints(&mut self) {
        let now = tokio::time::Instant::now();
        let expired: Vec<u64> = self
            .expiry
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.expiry.remove(&id);
            self.fail_checkpoint(id, CheckpointFailure::Expired);
        }
    }

    fn periodic_checkpoint(&mut self) {
        if self.eg.status() != JobStatus::Running || !self.all_running() {
            return;
        }
        match self.trigger_checkpoint(
            CheckpointKind::Checkpoint,
            TriggerOrigin::Periodic,
            None,
            false,
        ) {
            Ok(_) | Err(GatewayError::Conflict(_)) => {}
            Err(e) => tracing::debug!("periodic checkpoint of {} not taken: {e}", self.job_id),
        }
    }

    /// Starts (or, for a request while `max-concurrent` are pending, queues) a checkpoint or
    /// savepoint; the receiver gets its outcome.
    fn trigger_checkpoint(
        &mut self,
        kind: CheckpointKind,
        origin: TriggerOrigin,
        location: Option<CheckpointLocation>,
        end_input: bool,
    ) -> Result<(RequestedCheckpoint, oneshot::Receiver<CheckpointOutcome>), GatewayError> {
        if self.slots.is_none() {
            return Err(GatewayError::Conflict(format!(
                "Job {} is not running yet.",
                self.job_id
            )));
        }
        if self.eg.status() != JobStatus::Running || !self.all_running() {
            return Err(GatewayError::Conflict(format!(
                "Job {} is {}; not all of its tasks are running, so no checkpoint can be taken now.",
                self.job_id,
                self.eg.status()
            )));
        }
        let now = now_ms();
        let Some(coordinator) = self.coordinator.as_mut() else {
            return Err(GatewayError::Conflict(format!(
                "Job {} is a batch job; it takes no checkpoints or savepoints.",
                self.job_id
            )));
        };
        let admitted = coordinator.trigger(kind, origin, location, now);
        self.publish_checkpoints();
        let admitted = admitted.map_err(|r| {
            GatewayError::Conflict(match r {
                TriggerRefused::TooManyConcurrent => "too many checkpoints are in progress".into(),
                TriggerRefused::MinPause => {
                    "the minimum pause between checkpoints has not passed".into()
                }
                TriggerRefused::TooManyQueued => format!(
                    "{} requested checkpoints already wait for the ones in progress; try again once they are done",
                    crate::checkpoint_coordinator::MAX_QUEUED_REQUESTS
                ),
            })
        })?;
        let (tx, outcome) = oneshot::channel();
        match admitted {
            Admission::Queued { ticket } => {
                self.queued.insert(ticket, tx);
                Ok((RequestedCheckpoint::Queued(ticket), outcome))
            }
            Admission::Started { id, location } => {
                self.waiters.entry(id).or_default().push(tx);
                self.send_trigger(id, location, end_input, now);
                Ok((RequestedCheckpoint::Started(id), outcome))
            }
        }
    }

    /// Tells every subtask to take checkpoint `id`, and starts its timeout.
    fn send_trigger(&mut self, id: u64, location: CheckpointLocation, end_input: bool, now: i64) {
        let Some(slots) = self.slots.clone() else {
            return;
        };
        if end_input {
            self.change(|eg, _| {
                eg.set_savepoint_stop(SavepointStop::InProgress { checkpoint_id: id });
                Effects::default()
            });
        }
        let trigger = CheckpointTrigger {
            checkpoint_id: id,
            timestamp: now,
            location,
            end_input,
        };
        let job = self.job_id;
        let outbox = self.outbox.clone();
        tokio::spawn(async move {
            if let Err(error) = slots.trigger_checkpoint(job, trigger).await {
                let failed = IoDone::TriggerFailed {
                    checkpoint_id: id,
                    error,
                };
                let _ = outbox.send(Command::Io(failed));
            }
        });
        if let Some(timeout) = self.settings.checkpoints.as_ref().map(|c| c.timeout) {
            self.expiry
                .insert(id, tokio::time::Instant::now() + timeout);
        }
    }

    /// A checkpoint settled: starts the requests that waited for its slot.
    fn start_queued(&mut self) {
        // A rescale's request is queued here too (its receiver unused).
        if self.queued.is_empty() {
            return;
        }
        if self.eg.status() != JobStatus::Running || !self.all_running() {
            let reason = format!("job {} is {}", self.job_id, self.eg.status());
            self.drop_queued(&reason);
            return;
        }
        let Some(c) = self.coordinator.as_mut() else {
            return;
        };
        let now = now_ms();
        let started = c.start_queued(now);
        if started.is_empty() {
            return;
        }
        self.publish_checkpoints();
        for s in started {
            if let Some(tx) = self.queued.remove(&s.ticket) {
                self.waiters.entry(s.id).or_default().push(tx);
            }
            if let Some(Rescale::Checkpointing { checkpoint, .. }) = &mut self.rescale {
                checkpoint.started(s.ticket, s.id);
            }
            self.send_trigger(s.id, s.location, false, now);
        }
    }

    /// Fails every queued request (and a rescale waiting on one): the job restarts or ends.
    fn drop_queued(&mut self, reason: &str) {
        let Some(c) = self.coordinator.as_mut() else {
            return;
        };
        for ticket in c.drop_queued() {
            let failure = || CheckpointFailure::NeverStarted(reason.to_string());
            if let Some(tx) = self.queued.remove(&ticket) {
                let _ = tx.send(Err(failure()));
            }
            if matches!(&self.rescale, Some(Rescale::Checkpointing { checkpoint, .. })
                if *checkpoint == RequestedCheckpoint::Queued(ticket))
            {
                self.settle_rescale(Err(failure()));
            }
        }
    }

    /// A subtask's state is written; once all are, the metadata is.
    fn acknowledge(&mut self, ack: CheckpointAck) {
        let Some(c) = self.coordinator.as_mut() else {
            return;
        };
        let ready = c.acknowledge(&ack);
        self.publish_checkpoints();
        let Some(ready) = ready else {
            return;
        };
        self.spawn_io(async move {
            let location = ready.location;
            let result = match serde_json::to_vec_pretty(&ready.metadata) {
                Ok(bytes) => location.put(METADATA_FILE, bytes).await,
                Err(e) => Err(format!("encoding the metadata: {e}")),
            };
            IoDone::MetadataWritten {
                checkpoint_id: ready.checkpoint_id,
                location,
                result,
            }
        });
    }

    fn complete_checkpoint(&mut self, id: u64, location: CheckpointLocation) {
        let Some(c) = self.coordinator.as_mut() else {
            return;
        };
        if !c.is_pending(id) {
            return; // it expired or was aborted meanwhile
        }
        let discard = c.complete(id, now_ms());
        self.publish_checkpoints();
        if let Some(slots) = self.slots.clone() {
            let job = self.job_id;
            for executor in slots.members.iter() {
                let executor = executor.clone();
                tokio::spawn(async move { executor.notify_checkpoint_complete(job, id).await });
            }
        }
        remove_locations(discard);
        self.log.info(&format!(
            "checkpoint {id} of job {} completed at {location}",
            self.job_id
        ));
        let completed = CompletedCheckpoint { id, location };
        self.settle_savepoint_stop(id, true);
        self.settle(id, Ok(completed));
        self.start_queued();
    }

    /// A checkpoint was declined, timed out or could not be written.
    fn fail_checkpoint(&mut self, id: u64, failure: CheckpointFailure) {
        let Some(c) = self.coordinator.as_mut() else {
            return;
        };
        let outcome = c.fail(id, &failure.to_string(), now_ms());
        self.publish_checkpoints();
        let Some(outcome) = outcome else {
            return;
        };
        self.log.warn(&format!(
            "checkpoint {id} of job {} failed: {failure}",
            self.job_id
        ));
        self.settle_savepoint_stop(id, false);
        let reason = failure.to_string();
        self.settle(id, Err(failure));
        if outcome.fail_job {
            // Flink's global failover: the restart strategy restarts the job from its latest
            // completed checkpoint, or fails it when it allows no more restarts.
            self.change(|eg, now| {
                eg.on_global_failure(
                    &format!("Exceeded checkpoint tolerable failure threshold: {reason}"),
                    now,
                )
            });
        } else {
            self.start_queued();
        }
    }

    fn abort_checkpoints(&mut self, reason: &str) {
        let Some(c) = self.coordinator.as_mut() else {
            return;
        };
        let ids = c.abort_all(reason, now_ms());
        self.drop_queued(reason);
        self.publish_checkpoints();
        for id in ids {
            self.settle_savepoint_stop(id, false);
            self.settle(
                id,
                Err(CheckpointFailure::Aborted {
                    id,
                    reason: reason.to_string(),
                }),
            );
        }
    }

    /// Tells whoever waits for checkpoint `id` how it ended, and moves a rescale waiting for
    /// it on.
    fn settle(&mut self, id: u64, outcome: CheckpointOutcome) {
        self.expiry.remove(&id);
        for w in self.waiters.remove(&id).unwrap_or_default() {
            let _ = w.send(outcome.clone());
        }
        if matches!(&self.rescale, Some(Rescale::Checkpointing { checkpoint, .. })
            if *checkpoint == RequestedCheckpoint::Started(id))
        {
            self.settle_rescale(outcome);
        }
    }

    /// The checkpoint a rescale waits for settled (or will never start).
    fn settle_rescale(&mut self, outcome: CheckpointOutcome) {
        if let Some(Rescale::Checkpointing {
            parallelism,
            held,
            needed,
            done,
            ..
        }) = self.rescale.take()
        {
            self.redeploy_rescaled(outcome, parallelism, held, needed, done);
        }
    }

    /// Settles a stop-with-savepoint when checkpoint `id` is the one it waits for: done when
    /// it completed, back to none when it failed (the job keeps running, as in Flink).
    fn settle_savepoint_stop(&mut self, id: u64, completed: bool) {
        if self.view.snapshot.load().savepoint_stop
            != (SavepointStop::InProgress { checkpoint_id: id })
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
        if self.eg.status() == JobStatus::Finished {
            // The archiving its end deferred (see `end`).
            let _ = self.terminated.send(self.job_id);
        }
    }

    /// Removes retained checkpoints when the job ends, unless they are kept (externalized on
    /// cancellation, or after a failure so the job can be resumed).
    fn discard_checkpoints_on_end(&self, status: JobStatus) {
        let (Some(settings), Some(c)) = (self.settings.checkpoints.as_ref(), &self.coordinator)
        else {
            return;
        };
        let discard = match status {
            JobStatus::Finished => true,
            JobStatus::Canceled => !settings.retain_on_cancellation,
            _ => false,
        };
        if discard {
            remove_locations(c.retained_locations());
        }
    }

    // ----- rescaling -----

    fn start_rescale(
        &mut self,
        plan: &RescalePlan,
    ) -> Result<oneshot::Receiver<RescaleOutcome>, GatewayError> {
        let Some(rm) = self.rm.clone() else {
            return Err(GatewayError::Conflict(format!(
                "Job {} is not running yet.",
                self.job_id
            )));
        };
        let snapshot = self.view.snapshot.load_full();
        let parallelism = plan_parallelism(&snapshot, &self.graph, plan)?;
        if self.coordinator.is_none() {
            return Err(GatewayError::Conflict(format!(
                "Job {} does not take checkpoints, so it cannot be rescaled with its state: only streaming jobs can.",
                self.job_id
            )));
        }
        if self.eg.status() != JobStatus::Running || !self.all_running() {
            return Err(GatewayError::Conflict(format!(
                "Job {} can only be rescaled while all its tasks are RUNNING (it is {}).",
                self.job_id,
                self.eg.status()
            )));
        }
        if self.rescale.is_some() {
            return Err(GatewayError::Conflict(format!(
                "Job {} is already being rescaled.",
                self.job_id
            )));
        }
        let (done, outcome) = oneshot::channel();
        let current: Vec<usize> = snapshot.vertices.iter().map(|v| v.parallelism).collect();
        if parallelism == current {
            let _ = done.send(Ok(None));
            return Ok(outcome);
        }
        let needed = parallelism.iter().copied().max().unwrap_or(1);
        let held = current.iter().copied().max().unwrap_or(1);
        // The slots for the larger of the two shapes, held until the rescale is done.
        rm.resize(self.job_id, needed.max(held))
            .map_err(GatewayError::Conflict)?;
        // Requested, not periodic: it waits for a periodic checkpoint in flight to settle.
        match self.trigger_checkpoint(
            CheckpointKind::Checkpoint,
            TriggerOrigin::Requested,
            None,
            false,
        ) {
            Ok((checkpoint, _)) => {
                self.rescale = Some(Rescale::Checkpointing {
                    checkpoint,
                    parallelism,
                    held,
                    needed,
                    done,
                });
                Ok(outcome)
            }
            Err(e) => {
                // Nothing started: the job keeps the slots it had.
                let _ = rm.resize(self.job_id, held);
                Err(e)
            }
        }
    }

    /// The checkpoint a rescale waited for has settled: on success every subtask is stopped
    /// and the job restarts at the new parallelism from it.
    fn redeploy_rescaled(
        &mut self,
        taken: CheckpointOutcome,
        parallelism: Vec<usize>,
        held: usize,
        needed: usize,
        done: oneshot::Sender<RescaleOutcome>,
    ) {
        let rm = self.rm.clone();
        let from = match taken {
            Ok(c) => c,
            Err(e) => {
                if let Some(rm) = &rm {
                    let _ = rm.resize(self.job_id, held);
                }
                let _ = done.send(Err(format!("the checkpoint before rescaling failed: {e}")));
                return;
            }
        };
        tracing::info!(
            "job {} rescales to parallelism {parallelism:?}",
            self.job_id
        );
        // Set before the change: its effects start the restart that deploys the new graph.
        self.rescale = Some(Rescale::Redeploying { from, done });
        let mut started = false;
        let rescaled = self.graph.rescaled(&parallelism);
        self.change(|eg, now| match eg.rescale(parallelism.clone(), now) {
            Some(effects) => {
                started = true;
                effects
            }
            None => Effects::default(),
        });
        if started {
            self.graph = Arc::new(rescaled);
            self.view.graph.store(self.graph.clone());
            self.view.rescales.fetch_add(1, Ordering::Relaxed);
            if let Some(c) = self.coordinator.as_mut() {
                c.set_parallelism(&parallelism);
            }
            if let Some(rm) = &rm {
                let _ = rm.resize(self.job_id, needed);
            }
            // The rescaled attempt runs in the resized slots (on the job's one TaskExecutor:
            // `resize` refuses a job spread over several).
            if let Some(resized) = self.slots.as_ref().and_then(|s| s.resized(needed)) {
                self.set_slots(Some(Arc::new(resized)));
            }
        } else {
            if let Some(rm) = &rm {
                let _ = rm.resize(self.job_id, held);
            }
            self.finish_rescale(Err(
                "the job stopped running before it could be rescaled".into()
            ));
        }
    }

    fn finish_rescale(&mut self, outcome: RescaleOutcome) {
        if let Some(r) = self.rescale.take() {
            r.finish(outcome);
        }
    }
}

/// What a restore reads: a checkpoint the coordinator completed, or a path the user gave.
enum RestorePath {
    Known(CheckpointLocation),
    Given(String),
}

/// Reads the metadata of a checkpoint or savepoint directory.
async fn read_restore(path: RestorePath) -> Result<RestoreFrom, String> {
    let location = match path {
        RestorePath::Known(l) => l,
        RestorePath::Given(p) => CheckpointLocation::parse(&p)?,
    };
    let metadata = location.read_metadata().await?;
    Ok(RestoreFrom {
        location,
        metadata: Arc::new(metadata),
    })
}

/// Takes `needed` slots for `job`, waiting up to `timeout` for them to be free. `None` when
/// the job ended meanwhile (its slots, if any were taken, are given back).
async fn find_slots(
    rm: &ResourceManager,
    job: JobId,
    needed: usize,
    filter: &BTreeMap<String, String>,
    timeout: Duration,
    view: &View,
) -> Option<Result<Vec<Grant>, String>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if !matches!(
            view.snapshot.load().status,
            JobStatus::Created | JobStatus::Restarting
        ) {
            return None; // cancelled while waiting
        }
        let released = rm.wait_for_release();
        match rm.try_allocate(job, needed, filter) {
            Ok(Some(e)) => {
                // The job's end (published before its slots are released) may have come
                // between the check above and the allocation.
                if view.snapshot.load().status.is_terminal() {
                    rm.release(job);
                    return None;
                }
                return Some(Ok(e));
            }
            Ok(None) => {
                if tokio::time::timeout_at(deadline, released).await.is_err() {
                    return Some(Err(format!(
                        "Could not acquire the minimum required resources: {needed} slots were not free within {} s (slot.request.timeout)",
                        timeout.as_secs()
                    )));
                }
            }
            Err(shortfall) => {
                let message = shortfall_message(&shortfall);
                if !rm.membership().can_grow() {
                    return Some(Err(message));
                }
                // A TaskManager that has not registered yet (one still starting, or
                // reconnecting after a JobManager restart) may bring the slots or the tags.
                if tokio::time::timeout_at(deadline, released).await.is_err() {
                    return Some(Err(format!(
                        "{message} (waited {} s, slot.request.timeout, for more TaskManagers)",
                        timeout.as_secs()
                    )));
                }
            }
        }
    }
}

/// What a job is told when the TaskManagers cannot hold it.
fn shortfall_message(shortfall: &SlotError) -> String {
    match shortfall {
        SlotError::NoMatchingTags { filter, workers } => {
            let show = |tags: &BTreeMap<String, String>| {
                let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{{{}}}", pairs.join(", "))
            };
            let have: Vec<String> = workers.iter().map(show).collect();
            format!(
                "NoEnoughResourceException: no worker has the tags {} of the job's env.tag_filter (the workers have {}); tag a worker with /update-tags or change the filter",
                show(filter),
                have.join(", ")
            )
        }
        SlotError::NeverEnough { needed, total } => format!(
            "Could not acquire the minimum required resources: the job needs {needed} slots but the TaskManagers have {total} in all; lower the parallelism, raise taskmanager.numberOfTaskSlots or start more TaskManagers"
        ),
    }
}

/// Waits until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Waits for the next periodic checkpoint, or forever when there are none.
async fn tick(periodic: &mut Option<tokio::time::Interval>) {
    match periodic {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Removes subsumed or discarded checkpoints, off the task's path.
fn remove_locations(locations: Vec<CheckpointLocation>) {
    if locations.is_empty() {
        return;
    }
    tokio::spawn(async move {
        for l in locations {
            if let Err(e) = l.remove().await {
                tracing::warn!("removing checkpoint {l}: {e}");
            }
        }
    });
}
