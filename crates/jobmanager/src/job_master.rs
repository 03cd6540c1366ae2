//! One JobMaster per job: it owns the job's ExecutionGraph, gets slots from the resource
//! manager, deploys to a TaskExecutor, applies the state updates that come back, and publishes a
//! fresh snapshot after every change. Readers load the snapshot (an `ArcSwap`), so no REST call
//! ever waits on the job; the graph's mutex is held only for pure bookkeeping, never across an
//! await.

use crate::archive::now_ms;
use crate::execution_graph::{CancelRefused, Effects, ExecutionGraph};
use crate::resource_manager::{ResourceManager, SlotError};
use arc_swap::ArcSwap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use weir_core::{JobId, JobStatus};
use weir_gateway::{
    GatewayError, JobSnapshot, TaskDeployment, TaskExecutorGateway, TaskStateUpdate,
};
use weir_pipeline::JobGraph;

/// The master of one job.
pub struct JobMaster {
    job_id: JobId,
    graph: Arc<JobGraph>,
    eg: Mutex<ExecutionGraph>,
    published: ArcSwap<JobSnapshot>,
    executor: Mutex<Option<Arc<dyn TaskExecutorGateway>>>,
    /// Where the job's slots came from, to give them back the moment it ends.
    slots: Mutex<Option<Arc<ResourceManager>>>,
    /// Tells the Dispatcher the job is globally terminal.
    terminated: mpsc::UnboundedSender<JobId>,
}

impl JobMaster {
    /// A master for an accepted job, in CREATED.
    pub fn new(
        job_id: JobId,
        graph: Arc<JobGraph>,
        eg: ExecutionGraph,
        terminated: mpsc::UnboundedSender<JobId>,
    ) -> Arc<Self> {
        let snapshot = eg.snapshot(now_ms());
        Arc::new(Self {
            job_id,
            graph,
            eg: Mutex::new(eg),
            published: ArcSwap::from_pointee(snapshot),
            executor: Mutex::new(None),
            slots: Mutex::new(None),
            terminated,
        })
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
        let effects = {
            let Ok(mut eg) = self.eg.lock() else {
                return Effects::default();
            };
            let effects = f(&mut eg, now);
            self.published.store(Arc::new(eg.snapshot(now)));
            effects
        };
        if effects.cancel_tasks {
            let executor = self.executor.lock().ok().and_then(|e| e.clone());
            if let Some(executor) = executor {
                let job = self.job_id;
                tokio::spawn(async move {
                    if let Err(e) = executor.cancel(job).await {
                        tracing::warn!("cancelling job {job} on its TaskExecutor: {e}");
                    }
                });
            }
        }
        if let Some(status) = effects.terminal {
            tracing::info!("job {} '{}' is {status}", self.job_id, self.graph.name);
            let rm = self.slots.lock().ok().and_then(|r| r.clone());
            if let Some(rm) = rm {
                rm.release(self.job_id);
            }
            let _ = self.terminated.send(self.job_id);
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
            match rm.try_allocate(self.job_id, needed) {
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
                if eg.status() == JobStatus::Created {
                    eg.deploying(&tm.id, &endpoint, now);
                } else {
                    cancelled = true;
                }
                Effects::default()
            });
            cancelled
        };
        if cancelled_meanwhile {
            rm.release(self.job_id);
            return;
        }
        let deployment = TaskDeployment {
            job_id: self.job_id,
            graph: self.graph.clone(),
            attempt: 0,
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
            }
            Err(e) => {
                self.change(|eg, now| Effects {
                    terminal: eg.fail_globally(&format!("Deploying the job failed: {e}"), now),
                    ..Effects::default()
                });
            }
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
