//! The ExecutionGraph: one job's vertices (ExecutionJobVertex), their subtasks
//! (ExecutionVertex) and attempts (Execution), with the job status state machine.
//!
//! Pure bookkeeping: every method takes the current time and returns what the JobMaster must
//! do next, so the whole life cycle is tested without tasks, clocks or I/O. The state lives in a
//! `JobSnapshot`, so publishing a snapshot is a clone.

use crate::restart_strategy::{RestartBackoff, RestartStrategy};
use std::collections::BTreeMap;
use std::time::Duration;
use weir_core::{ExecutionState, JobId, JobStatus, VertexId};
use weir_gateway::snapshot::*;
use weir_gateway::{Placement, TaskStateUpdate};
use weir_pipeline::{JobGraph, JobMode};

/// What the JobMaster must do after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    /// Cancel the job's remaining subtasks on the TaskExecutor.
    pub cancel_tasks: bool,
    /// The job just became globally terminal with this status.
    pub terminal: Option<JobStatus>,
    /// The job is RESTARTING and every subtask has stopped: redeploy after this delay.
    pub restart_after: Option<Duration>,
}

/// Why a cancel request could not be honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelRefused {
    /// Already ended in another terminal state (Flink answers 409).
    AlreadyTerminal(JobStatus),
}

/// A job's execution state.
#[derive(Debug, Clone)]
pub struct ExecutionGraph {
    state: JobSnapshot,
    backoff: RestartBackoff,
    /// Set while RESTARTING: the delay before the new attempt is deployed.
    restart_delay: Option<Duration>,
    /// Set while RESTARTING for a rescale: the parallelism of every vertex in the new attempt.
    rescale_to: Option<Vec<usize>>,
}

fn status_index(s: JobStatus) -> usize {
    JobStatus::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

/// The plugin blocks of `graph` as snapshots show them.
fn operator_infos(graph: &JobGraph) -> Vec<OperatorInfo> {
    let paths = graph.table_paths();
    graph
        .operators
        .iter()
        .zip(paths)
        .map(|(op, table_paths)| OperatorInfo {
            kind: op.plugin.kind.block().to_string(),
            index: op.plugin.index,
            plugin: op.plugin.name.clone(),
            inputs: op.inputs.clone(),
            table_paths,
            vertex: op.vertex,
            position: graph
                .vertices
                .get(op.vertex)
                .and_then(|v| v.chain.iter().position(|&o| o == op.id))
                .unwrap_or(0),
        })
        .collect()
}

impl ExecutionGraph {
    /// A freshly submitted job: INITIALIZING at `now`, every subtask CREATED.
    pub fn new(
        job_id: JobId,
        graph: &JobGraph,
        config: BTreeMap<String, String>,
        origin: Option<String>,
        now: i64,
    ) -> Self {
        let vertex_ids: Vec<VertexId> = (0..graph.vertices.len())
            .map(|i| VertexId::for_job(job_id, i))
            .collect();
        let vertices = graph
            .vertices
            .iter()
            .map(|v| {
                let mut inputs: Vec<PlanInput> = graph
                    .inputs_of(v.index)
                    .map(|(_, e)| PlanInput {
                        vertex: vertex_ids[e.source_vertex],
                        ship_strategy: e.partitioning.ship_strategy().to_string(),
                    })
                    .collect();
                inputs.dedup();
                VertexSnapshot {
                    id: vertex_ids[v.index],
                    name: v.name.clone(),
                    parallelism: v.parallelism,
                    max_parallelism: 128.max(v.parallelism),
                    operators: v
                        .chain
                        .iter()
                        .map(|&o| graph.operators[o].display_name())
                        .collect(),
                    inputs,
                    subtasks: (0..v.parallelism)
                        .map(|index| SubtaskSnapshot {
                            index,
                            current: new_attempt(0, now),
                            prior: Vec::new(),
                        })
                        .collect(),
                }
            })
            .collect();
        let mut timestamps = [0; 11];
        timestamps[status_index(JobStatus::Initializing)] = now;
        ExecutionGraph {
            state: JobSnapshot {
                job_id,
                name: graph.name.clone(),
                job_type: match graph.mode {
                    JobMode::Batch => JobType::Batch,
                    JobMode::Streaming => JobType::Streaming,
                },
                status: JobStatus::Initializing,
                timestamps,
                max_parallelism: -1,
                vertices,
                exceptions: Vec::new(),
                config,
                origin,
                taken_at: now,
                operators: operator_infos(graph),
                savepoint_stop: SavepointStop::None,
            },
            backoff: RestartBackoff::new(RestartStrategy::None),
            restart_delay: None,
            rescale_to: None,
        }
    }

    /// How the job restarts after a failure (none until set).
    pub fn set_restart_strategy(&mut self, strategy: RestartStrategy) {
        self.backoff = RestartBackoff::new(strategy);
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u32 {
        self.backoff.restarts()
    }

    /// Records where a stop-with-savepoint stands.
    pub fn set_savepoint_stop(&mut self, stop: SavepointStop) {
        self.state.savepoint_stop = stop;
    }

    /// The current state as a snapshot.
    pub fn snapshot(&self, now: i64) -> JobSnapshot {
        let mut s = self.state.clone();
        s.taken_at = now;
        s
    }

    pub fn status(&self) -> JobStatus {
        self.state.status
    }

    pub fn job_id(&self) -> JobId {
        self.state.job_id
    }

    /// Total subtasks (slots needed are the largest parallelism, as with Flink's slot sharing).
    pub fn slots_needed(&self) -> usize {
        self.state
            .vertices
            .iter()
            .map(|v| v.parallelism)
            .max()
            .unwrap_or(1)
    }

    fn set_status(&mut self, next: JobStatus, now: i64) -> bool {
        if self.state.status == next || !self.state.status.can_become(next) {
            return false;
        }
        self.state.status = next;
        self.state.timestamps[status_index(next)] = now;
        true
    }

    fn attempts_mut(&mut self) -> impl Iterator<Item = &mut AttemptSnapshot> {
        self.state
            .vertices
            .iter_mut()
            .flat_map(|v| v.subtasks.iter_mut())
            .map(|s| &mut s.current)
    }

    /// The job was accepted: CREATED.
    pub fn created(&mut self, now: i64) {
        self.set_status(JobStatus::Created, now);
    }

    /// Slots were found on `task_manager`: the job runs and its subtasks are scheduled and
    /// deployed.
    pub fn deploying(&mut self, placement: &Placement, now: i64) {
        self.set_status(JobStatus::Running, now);
        for v in &mut self.state.vertices {
            for (i, s) in v.subtasks.iter_mut().enumerate() {
                let a = &mut s.current;
                if a.state == ExecutionState::Created {
                    set_state(a, ExecutionState::Scheduled, now);
                    set_state(a, ExecutionState::Deploying, now);
                    let tm = placement.task_manager_of(i);
                    a.task_manager = tm.map(|t| t.resource_id.clone());
                    a.endpoint = tm.map(|t| t.host.clone());
                }
            }
        }
    }

    /// Applies a subtask's state change reported by the TaskExecutor.
    pub fn on_task_update(&mut self, u: &TaskStateUpdate, now: i64) -> Effects {
        let mut effects = Effects::default();
        let status = self.state.status;
        let known = self
            .state
            .vertices
            .get(u.vertex)
            .map(|v| u.subtask < v.subtasks.len());
        if known != Some(true) {
            return effects;
        }
        let vertex_name = self.state.vertices[u.vertex].name.clone();
        let parallelism = self.state.vertices[u.vertex].parallelism;
        let a = &mut self.state.vertices[u.vertex].subtasks[u.subtask].current;
        if a.attempt != u.attempt || a.state.is_terminal() {
            return effects; // a stale report from an earlier attempt
        }
        let mut state = u.state;
        // A subtask that stops while its job is being cancelled is cancelled, whatever it says.
        if status == JobStatus::Cancelling && state == ExecutionState::Finished {
            state = ExecutionState::Canceled;
        }
        set_state(a, state, now);
        if let Some(io) = u.io {
            a.io = io;
        }
        if !u.operator_io.is_empty() {
            a.operator_io = u.operator_io.clone();
        }
        if state == ExecutionState::Failed {
            a.failure = u.error.clone();
            let task_name = u
                .location
                .clone()
                .unwrap_or_else(|| format!("{} ({}/{})", vertex_name, u.subtask + 1, parallelism));
            let entry = ExceptionEntry {
                exception_name: "weir.runtime.TaskFailure".into(),
                stacktrace: u.error.clone().unwrap_or_else(|| "unknown failure".into()),
                timestamp: now,
                task_name: Some(task_name),
                endpoint: a.endpoint.clone(),
                task_manager_id: a.task_manager.clone(),
            };
            self.state.exceptions.push(entry);
            // The restart strategy is asked once per failure of a running job; a failure
            // while the job already fails or restarts changes nothing.
            let next = if status == JobStatus::Running {
                self.after_failure(now)
            } else {
                JobStatus::Failing
            };
            if self.set_status(next, now) {
                effects.cancel_tasks = true;
                self.cancel_remaining(now);
            }
        }
        self.settle_after_failure(effects, now)
    }

    /// What a running job becomes after a failure: RESTARTING (with the delay kept for
    /// [`Self::settle_restart`]) when the restart strategy allows it, FAILING otherwise.
    fn after_failure(&mut self, now: i64) -> JobStatus {
        match self.backoff.on_failure(now) {
            Some(delay) => {
                self.restart_delay = Some(delay);
                JobStatus::Restarting
            }
            None => JobStatus::Failing,
        }
    }

    /// Once a failure was applied: the restart's delay when every subtask has stopped, or the
    /// terminal status.
    fn settle_after_failure(&mut self, mut effects: Effects, now: i64) -> Effects {
        if self.state.status == JobStatus::Restarting {
            effects.restart_after = self.settle_restart();
            return effects;
        }
        effects.terminal = self.settle(now);
        effects
    }

    /// While RESTARTING: once every subtask has stopped, the delay before redeploying (once).
    fn settle_restart(&mut self) -> Option<Duration> {
        if self.all_ended() {
            self.restart_delay.take()
        } else {
            None
        }
    }

    fn all_ended(&self) -> bool {
        self.state
            .vertices
            .iter()
            .flat_map(|v| v.subtasks.iter())
            .all(|s| s.current.state.is_terminal())
    }

    /// Every attempt still running is being cancelled.
    fn cancel_remaining(&mut self, now: i64) {
        for a in self.attempts_mut() {
            if !a.state.is_terminal() {
                set_state(a, ExecutionState::Canceling, now);
            }
        }
    }

    /// Rescales a running job to `parallelism` (one entry per vertex): every subtask is
    /// cancelled and, once all have stopped, the job restarts at once with the new parallelism.
    /// Unlike a failure, a rescale does not count against the restart strategy. `None` when the
    /// job is not RUNNING.
    pub fn rescale(&mut self, parallelism: Vec<usize>, now: i64) -> Option<Effects> {
        if self.state.status != JobStatus::Running
            || parallelism.len() != self.state.vertices.len()
            || !self.set_status(JobStatus::Restarting, now)
        {
            return None;
        }
        self.rescale_to = Some(parallelism);
        self.restart_delay = Some(Duration::ZERO);
        self.cancel_remaining(now);
        Some(Effects {
            cancel_tasks: true,
            restart_after: self.settle_restart(),
            ..Effects::default()
        })
    }

    /// Starts a new attempt of every subtask (after a restart's delay), at the new parallelism
    /// after a rescale. Returns the attempt number, or `None` if the job is no longer
    /// RESTARTING (cancelled meanwhile).
    pub fn restart(&mut self, now: i64) -> Option<u32> {
        if self.state.status != JobStatus::Restarting {
            return None;
        }
        let attempt = self
            .state
            .vertices
            .iter()
            .flat_map(|v| v.subtasks.iter())
            .map(|s| s.current.attempt + 1)
            .max()
            .unwrap_or(1);
        let rescale_to = self.rescale_to.take();
        for (i, v) in self.state.vertices.iter_mut().enumerate() {
            if let Some(p) = rescale_to.as_ref().and_then(|r| r.get(i)).copied() {
                v.subtasks.truncate(p);
                while v.subtasks.len() < p {
                    v.subtasks.push(SubtaskSnapshot {
                        index: v.subtasks.len(),
                        current: new_attempt(attempt, now),
                        prior: Vec::new(),
                    });
                }
                v.parallelism = p;
                v.max_parallelism = v.max_parallelism.max(p);
            }
            for s in v.subtasks.iter_mut() {
                if s.current.attempt < attempt {
                    let next = new_attempt(attempt, now);
                    let old = std::mem::replace(&mut s.current, next);
                    s.prior.push(old);
                }
            }
        }
        Some(attempt)
    }

    /// Moves the job to its terminal status once every subtask has ended.
    fn settle(&mut self, now: i64) -> Option<JobStatus> {
        if !self.all_ended() {
            return None;
        }
        let any = |st: ExecutionState| {
            self.state
                .vertices
                .iter()
                .flat_map(|v| v.subtasks.iter())
                .any(|s| s.current.state == st)
        };
        let next = match self.state.status {
            JobStatus::Failing => JobStatus::Failed,
            JobStatus::Cancelling => JobStatus::Canceled,
            JobStatus::Restarting => return None,
            JobStatus::Running if any(ExecutionState::Failed) => JobStatus::Failed,
            JobStatus::Running if any(ExecutionState::Canceled) => JobStatus::Canceled,
            JobStatus::Running => JobStatus::Finished,
            _ => return None,
        };
        self.set_status(next, now).then_some(next)
    }

    /// A cancel request. Returns the effects (cancel the tasks, or the job ended at once).
    pub fn cancel(&mut self, now: i64) -> Result<Effects, CancelRefused> {
        let status = self.state.status;
        if status == JobStatus::Canceled || status == JobStatus::Cancelling {
            return Ok(Effects::default()); // idempotent, as Flink
        }
        if status.is_terminal() {
            return Err(CancelRefused::AlreadyTerminal(status));
        }
        let deployed = self
            .state
            .vertices
            .iter()
            .flat_map(|v| v.subtasks.iter())
            .any(|s| s.current.state != ExecutionState::Created);
        self.set_status(JobStatus::Cancelling, now);
        if !deployed {
            for a in self.attempts_mut() {
                set_state(a, ExecutionState::Canceled, now);
            }
            let terminal = self.settle(now);
            return Ok(Effects {
                terminal,
                ..Effects::default()
            });
        }
        self.cancel_remaining(now);
        // Cancelled while restarting with every old attempt already stopped: nothing is left
        // to report, so the job ends here.
        let terminal = self.settle(now);
        Ok(Effects {
            cancel_tasks: terminal.is_none(),
            terminal,
            ..Effects::default()
        })
    }

    /// A failure of the whole job rather than of one subtask (checkpoints failing past
    /// `execution.checkpointing.tolerable-failed-checkpoints`): as Flink's global failover, the
    /// restart strategy decides between redeploying every subtask and failing the job.
    pub fn on_global_failure(&mut self, reason: &str, now: i64) -> Effects {
        let mut effects = Effects::default();
        if self.state.status != JobStatus::Running {
            return effects;
        }
        match self.backoff.on_failure(now) {
            Some(delay) => {
                self.state.exceptions.push(ExceptionEntry {
                    exception_name: "weir.jobmanager.GlobalFailure".into(),
                    stacktrace: reason.to_string(),
                    timestamp: now,
                    task_name: None,
                    endpoint: None,
                    task_manager_id: None,
                });
                self.restart_delay = Some(delay);
                if self.set_status(JobStatus::Restarting, now) {
                    effects.cancel_tasks = true;
                    self.cancel_remaining(now);
                }
                effects.restart_after = self.settle_restart();
            }
            None => {
                effects.cancel_tasks = true;
                effects.terminal = self.fail_globally(reason, now);
            }
        }
        effects
    }

    /// The TaskManager `task_manager` is gone (its process died or it went silent): its
    /// attempts failed without a word. As for a task failure, the restart strategy decides
    /// between a restart (as soon as nothing else runs) and failing the job.
    pub fn on_task_manager_lost(&mut self, task_manager: &str, reason: &str, now: i64) -> Effects {
        let mut effects = Effects::default();
        let status = self.state.status;
        if status.is_terminal() {
            return effects;
        }
        let mut lost = false;
        for a in self.attempts_mut() {
            if !a.state.is_terminal() && a.task_manager.as_deref() == Some(task_manager) {
                set_state(a, ExecutionState::Failed, now);
                a.failure = Some(reason.to_string());
                lost = true;
            }
        }
        if !lost {
            return effects;
        }
        self.state.exceptions.push(ExceptionEntry {
            exception_name: "weir.jobmanager.TaskManagerLost".into(),
            stacktrace: reason.to_string(),
            timestamp: now,
            task_name: None,
            endpoint: None,
            task_manager_id: Some(task_manager.to_string()),
        });
        if status == JobStatus::Running {
            let next = self.after_failure(now);
            if self.set_status(next, now) {
                // The job's attempts on other TaskManagers are stopped.
                effects.cancel_tasks = !self.all_ended();
                self.cancel_remaining(now);
            }
        }
        self.settle_after_failure(effects, now)
    }

    /// Fails the whole job before or outside its tasks (no slots, deployment error).
    pub fn fail_globally(&mut self, reason: &str, now: i64) -> Option<JobStatus> {
        self.state.exceptions.push(ExceptionEntry {
            exception_name: "weir.jobmanager.JobFailure".into(),
            stacktrace: reason.to_string(),
            timestamp: now,
            task_name: None,
            endpoint: None,
            task_manager_id: None,
        });
        for a in self.attempts_mut() {
            if !a.state.is_terminal() {
                set_state(a, ExecutionState::Failed, now);
            }
        }
        if matches!(
            self.state.status,
            JobStatus::Running | JobStatus::Restarting
        ) {
            self.set_status(JobStatus::Failing, now);
        }
        self.set_status(JobStatus::Failed, now)
            .then_some(JobStatus::Failed)
    }
}

fn new_attempt(attempt: u32, now: i64) -> AttemptSnapshot {
    let mut timestamps = [0; 10];
    timestamps[state_index(ExecutionState::Created)] = now;
    AttemptSnapshot {
        attempt,
        state: ExecutionState::Created,
        timestamps,
        task_manager: None,
        endpoint: None,
        io: IoStats::default(),
        operator_io: Vec::new(),
        failure: None,
    }
}

fn set_state(a: &mut AttemptSnapshot, s: ExecutionState, now: i64) {
    a.state = s;
    a.timestamps[state_index(s)] = now;
}

/// Every slot on one TaskManager.
#[cfg(test)]
fn on_one(resource_id: &str, host: &str) -> Placement {
    Placement::single(tm(resource_id, host), 8)
}

#[cfg(test)]
fn tm(resource_id: &str, host: &str) -> weir_gateway::TaskManagerEndpoint {
    weir_gateway::TaskManagerEndpoint {
        resource_id: resource_id.into(),
        host: host.into(),
        data_port: None,
    }
}

#[cfg(test)]
mod lost_task_manager_tests {
    use super::*;
    use crate::restart_strategy::RestartStrategy;
    use weir_pipeline::catalog::StaticCatalog;
    use weir_pipeline::{parse_job, Format, JobGraph, PluginKind, PluginSpec, Variables};

    fn running_job(strategy: RestartStrategy) -> ExecutionGraph {
        running_job_on(strategy, &on_one("tm-1", "host-1"))
    }

    /// A job of two subtasks, both RUNNING where `placement` put them.
    fn running_job_on(strategy: RestartStrategy, placement: &Placement) -> ExecutionGraph {
        let catalog = StaticCatalog {
            specs: vec![
                PluginSpec::new("FakeSource", PluginKind::Source, vec![]),
                PluginSpec::new("Console", PluginKind::Sink, vec![]),
            ],
        };
        let config = parse_job(
            "env { parallelism = 2 }\nsource { FakeSource {} }\nsink { Console {} }",
            Format::Hocon,
            &Variables::default(),
        )
        .unwrap();
        let graph = JobGraph::build(config, &catalog).unwrap();
        let mut eg = ExecutionGraph::new(weir_core::JobId(3), &graph, Default::default(), None, 1);
        eg.set_restart_strategy(strategy);
        eg.created(1);
        eg.deploying(placement, 2);
        for s in 0..2 {
            eg.on_task_update(
                &TaskStateUpdate {
                    job_id: weir_core::JobId(3),
                    vertex: 0,
                    subtask: s,
                    attempt: 0,
                    state: ExecutionState::Running,
                    error: None,
                    location: None,
                    io: None,
                    operator_io: Vec::new(),
                },
                3,
            );
        }
        eg
    }

    #[test]
    fn a_lost_task_manager_fails_its_attempts_and_restarts_the_job_at_once() {
        let mut eg = running_job(RestartStrategy::FixedDelay {
            attempts: 1,
            delay: Duration::from_millis(5),
        });
        assert!(eg.on_task_manager_lost("tm-other", "gone", 10) == Effects::default());
        let effects = eg.on_task_manager_lost("tm-1", "TaskManager tm-1 sent no heartbeat", 10);
        assert_eq!(eg.status(), JobStatus::Restarting);
        assert_eq!(effects.restart_after, Some(Duration::from_millis(5)));
        assert!(
            !effects.cancel_tasks,
            "nothing is left to cancel on a dead TaskManager"
        );
        let s = eg.snapshot(11);
        assert!(s.vertices[0]
            .subtasks
            .iter()
            .all(|t| t.current.state == ExecutionState::Failed));
        assert_eq!(
            s.exceptions
                .last()
                .and_then(|e| e.task_manager_id.as_deref()),
            Some("tm-1")
        );
        assert_eq!(eg.restart(12), Some(1));
    }

    #[test]
    fn a_job_over_two_task_managers_names_each_and_loses_only_the_attempts_of_the_lost_one() {
        let placement = Placement::new(&[(tm("tm-a", "host-a"), 1), (tm("tm-b", "host-b"), 1)]);
        let mut eg = running_job_on(RestartStrategy::None, &placement);
        let s = eg.snapshot(5);
        let where_: Vec<_> = s.vertices[0]
            .subtasks
            .iter()
            .map(|t| {
                (
                    t.current.task_manager.as_deref(),
                    t.current.endpoint.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            where_,
            [
                (Some("tm-a"), Some("host-a")),
                (Some("tm-b"), Some("host-b"))
            ]
        );
        let effects = eg.on_task_manager_lost("tm-b", "gone", 10);
        assert!(effects.cancel_tasks, "the attempt on tm-a is cancelled");
        let s = eg.snapshot(11);
        assert_eq!(
            s.vertices[0].subtasks[1].current.state,
            ExecutionState::Failed
        );
        assert_ne!(
            s.vertices[0].subtasks[0].current.state,
            ExecutionState::Failed
        );
    }

    #[test]
    fn without_restarts_left_a_lost_task_manager_fails_the_job() {
        let mut eg = running_job(RestartStrategy::None);
        let effects = eg.on_task_manager_lost("tm-1", "gone", 10);
        assert_eq!(effects.terminal, Some(JobStatus::Failed));
        assert_eq!(eg.status(), JobStatus::Failed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use weir_pipeline::catalog::{PluginSpec, StaticCatalog};
    use weir_pipeline::{parse_job, Format, PluginKind, Variables};

    fn graph(text: &str) -> JobGraph {
        let spec = |name, kind| PluginSpec {
            name,
            kind,
            options: vec![],
            option_prefixes: vec![],
            ignored_options: vec![],
            key_by: None,
        };
        let catalog = StaticCatalog {
            specs: vec![
                spec("FakeSource", PluginKind::Source),
                spec("Console", PluginKind::Sink),
            ],
        };
        JobGraph::build(
            parse_job(text, Format::Hocon, &Variables::default()).unwrap(),
            &catalog,
        )
        .unwrap()
    }

    fn two_vertices() -> ExecutionGraph {
        let g = graph("env { parallelism = 2 }\nsource { FakeSource { plugin_output = a } }\nsink { Console { plugin_input = a, parallelism = 1 } }");
        let mut eg = ExecutionGraph::new(JobId(1), &g, BTreeMap::new(), None, 100);
        eg.created(101);
        eg.deploying(&on_one("tm-1", "localhost:1"), 102);
        eg
    }

    fn update(v: usize, s: usize, state: ExecutionState) -> TaskStateUpdate {
        TaskStateUpdate {
            job_id: JobId(1),
            vertex: v,
            subtask: s,
            attempt: 0,
            state,
            error: (state == ExecutionState::Failed).then(|| "boom".into()),
            location: None,
            io: None,
            operator_io: Vec::new(),
        }
    }

    #[test]
    fn a_job_finishes_when_every_subtask_finished() {
        let mut eg = two_vertices();
        assert_eq!(eg.status(), JobStatus::Running);
        assert_eq!(eg.slots_needed(), 2);
        for (v, s) in [(0, 0), (0, 1), (1, 0)] {
            assert_eq!(
                eg.on_task_update(&update(v, s, ExecutionState::Running), 103)
                    .terminal,
                None
            );
        }
        assert_eq!(
            eg.on_task_update(&update(0, 0, ExecutionState::Finished), 104)
                .terminal,
            None
        );
        assert_eq!(
            eg.on_task_update(&update(0, 1, ExecutionState::Finished), 105)
                .terminal,
            None
        );
        let e = eg.on_task_update(&update(1, 0, ExecutionState::Finished), 106);
        assert_eq!(e.terminal, Some(JobStatus::Finished));
        let snap = eg.snapshot(107);
        assert_eq!(snap.end_time(), 106);
        assert_eq!(snap.vertices[0].state(), ExecutionState::Finished);
        assert_eq!(snap.duration(200), 6);
    }

    #[test]
    fn one_failure_cancels_the_rest_and_fails_the_job() {
        let mut eg = two_vertices();
        let e = eg.on_task_update(&update(0, 1, ExecutionState::Failed), 110);
        assert!(e.cancel_tasks);
        assert_eq!(eg.status(), JobStatus::Failing);
        let snap = eg.snapshot(110);
        assert_eq!(snap.exceptions.len(), 1);
        assert_eq!(
            snap.exceptions[0].task_name.as_deref(),
            Some("Source: FakeSource (2/2)")
        );
        eg.on_task_update(&update(0, 0, ExecutionState::Canceled), 111);
        let e = eg.on_task_update(&update(1, 0, ExecutionState::Canceled), 112);
        assert_eq!(e.terminal, Some(JobStatus::Failed));
    }

    #[test]
    fn cancel_is_idempotent_and_refused_after_another_end() {
        let mut eg = two_vertices();
        let e = eg.cancel(120).unwrap();
        assert!(e.cancel_tasks);
        assert_eq!(eg.cancel(121), Ok(Effects::default()));
        for (v, s) in [(0, 0), (0, 1)] {
            eg.on_task_update(&update(v, s, ExecutionState::Canceled), 122);
        }
        // A subtask that finishes during the cancel counts as cancelled.
        let e = eg.on_task_update(&update(1, 0, ExecutionState::Finished), 123);
        assert_eq!(e.terminal, Some(JobStatus::Canceled));
        assert_eq!(eg.cancel(124), Ok(Effects::default()));

        let mut done = two_vertices();
        for (v, s) in [(0, 0), (0, 1), (1, 0)] {
            done.on_task_update(&update(v, s, ExecutionState::Finished), 130);
        }
        assert_eq!(
            done.cancel(131),
            Err(CancelRefused::AlreadyTerminal(JobStatus::Finished))
        );
    }

    #[test]
    fn cancelling_before_deployment_ends_at_once_and_global_failures_fail() {
        let g = graph("source { FakeSource {} }\nsink { Console {} }");
        let mut eg = ExecutionGraph::new(JobId(2), &g, BTreeMap::new(), None, 1);
        eg.created(2);
        assert_eq!(eg.cancel(3).unwrap().terminal, Some(JobStatus::Canceled));

        let mut eg = ExecutionGraph::new(JobId(3), &g, BTreeMap::new(), None, 1);
        eg.created(2);
        assert_eq!(eg.fail_globally("no slots", 3), Some(JobStatus::Failed));
        assert_eq!(eg.snapshot(4).exceptions[0].stacktrace, "no slots");
    }

    #[test]
    fn a_failure_restarts_while_the_strategy_allows_then_fails_the_job() {
        let mut eg = two_vertices();
        eg.set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 1,
            delay: Duration::from_millis(5),
        });
        let e = eg.on_task_update(&update(0, 0, ExecutionState::Failed), 110);
        assert!(e.cancel_tasks);
        assert_eq!(eg.status(), JobStatus::Restarting);
        assert_eq!(e.restart_after, None, "the others are still stopping");
        eg.on_task_update(&update(0, 1, ExecutionState::Canceled), 111);
        let e = eg.on_task_update(&update(1, 0, ExecutionState::Canceled), 112);
        assert_eq!(e.restart_after, Some(Duration::from_millis(5)));
        assert_eq!(e.terminal, None);
        assert_eq!(eg.restart(120), Some(1));
        eg.deploying(&on_one("tm-1", "localhost:1"), 121);
        assert_eq!(eg.status(), JobStatus::Running);
        assert_eq!(eg.restarts(), 1);
        let snap = eg.snapshot(122);
        assert_eq!(snap.vertices[0].subtasks[0].prior.len(), 1);
        // The only restart is used up: the next failure fails the job.
        let mut u = update(0, 0, ExecutionState::Failed);
        u.attempt = 1;
        let e = eg.on_task_update(&u, 130);
        assert_eq!(eg.status(), JobStatus::Failing);
        assert!(e.cancel_tasks);
        assert_eq!(snap.exceptions.len(), 1);
    }

    #[test]
    fn a_global_failure_goes_through_the_restart_strategy() {
        let mut eg = two_vertices();
        eg.set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 1,
            delay: Duration::from_millis(5),
        });
        let e = eg.on_global_failure("checkpoints keep failing", 110);
        assert!(e.cancel_tasks);
        assert_eq!(eg.status(), JobStatus::Restarting);
        for (v, s) in [(0, 0), (0, 1)] {
            eg.on_task_update(&update(v, s, ExecutionState::Canceled), 111);
        }
        let e = eg.on_task_update(&update(1, 0, ExecutionState::Canceled), 112);
        assert_eq!(e.restart_after, Some(Duration::from_millis(5)));
        assert_eq!(eg.restart(120), Some(1));
        eg.deploying(&on_one("tm-1", "localhost:1"), 121);
        let snap = eg.snapshot(122);
        assert_eq!(snap.exceptions[0].stacktrace, "checkpoints keep failing");
        // No restart left: the next global failure fails the job for good.
        let e = eg.on_global_failure("again", 130);
        assert!(e.cancel_tasks);
        assert_eq!(e.terminal, Some(JobStatus::Failed));
    }

    #[test]
    fn a_rescale_restarts_at_once_with_the_new_parallelism_and_is_not_a_failure() {
        let mut eg = two_vertices();
        eg.set_restart_strategy(RestartStrategy::None);
        for (v, s) in [(0, 0), (0, 1), (1, 0)] {
            eg.on_task_update(&update(v, s, ExecutionState::Running), 103);
        }
        let e = eg.rescale(vec![2, 3], 110).unwrap();
        assert!(e.cancel_tasks);
        assert_eq!(eg.status(), JobStatus::Restarting);
        assert!(
            eg.rescale(vec![2, 1], 111).is_none(),
            "one rescale at a time"
        );
        eg.on_task_update(&update(0, 0, ExecutionState::Canceled), 111);
        eg.on_task_update(&update(0, 1, ExecutionState::Canceled), 111);
        let e = eg.on_task_update(&update(1, 0, ExecutionState::Canceled), 112);
        assert_eq!(e.restart_after, Some(Duration::ZERO));
        assert_eq!(eg.restart(113), Some(1));
        let snap = eg.snapshot(114);
        assert_eq!(snap.vertices[1].parallelism, 3);
        assert_eq!(snap.vertices[1].subtasks.len(), 3);
        assert!(snap.vertices[1]
            .subtasks
            .iter()
            .all(|s| s.current.attempt == 1));
        assert_eq!(snap.vertices[1].subtasks[0].prior.len(), 1);
        assert_eq!(eg.slots_needed(), 3);
        assert_eq!(eg.restarts(), 0, "a rescale is not a restart after failure");
        eg.deploying(&on_one("tm-1", "localhost:1"), 115);
        assert_eq!(eg.status(), JobStatus::Running);
        // Back down to one subtask.
        let e = eg.rescale(vec![2, 1], 120).unwrap();
        assert!(e.cancel_tasks);
        for (v, s) in [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)] {
            let mut u = update(v, s, ExecutionState::Canceled);
            u.attempt = 1;
            eg.on_task_update(&u, 121);
        }
        assert_eq!(eg.restart(122), Some(2));
        assert_eq!(eg.snapshot(123).vertices[1].subtasks.len(), 1);
    }

    #[test]
    fn stale_attempt_reports_are_ignored() {
        let mut eg = two_vertices();
        let mut u = update(0, 0, ExecutionState::Failed);
        u.attempt = 7;
        assert_eq!(eg.on_task_update(&u, 140), Effects::default());
        assert_eq!(eg.status(), JobStatus::Running);
    }
}
