//! Turns a `JobGraph` into running subtasks.
//!
//! [`PreparedJob::prepare`] prepares every operator once (schemas flow from sources through
//! transforms to sinks; plugin mistakes are reported as job-file problems, all at once).
//! [`PreparedJob::deploy`] wires bounded channels along the edges and spawns one tokio task per
//! subtask. [`RunningJob`] reports subtask state changes as [`TaskEvent`]s and ends the job as
//! Flink does: finished when every subtask finished, failed (everything else cancelled) at the
//! first failure, cancelled on request.

use crate::channel::{channel, Barrier, ChannelReceiver, ChannelSender};
use crate::checkpoint::{SnapshotAck, TaskControl};
use crate::exchange::{ChannelId, Exchange, JobLink, Locality, NetworkFailure};
use crate::metrics::{JobMetrics, SubtaskMetrics, SubtaskWiring};
use crate::operator::{
    PrepareContext, PreparedSink, PreparedSource, PreparedTransform, SubtaskContext,
};
use crate::partition::{KeyHasher, OutputEdge, Router, DEFAULT_MAX_PARALLELISM};
use crate::registry::PluginRegistry;
use crate::state::SubtaskState;
use crate::task::{Head, Subtask, SubtaskOutcome, Tail};
use arrow::datatypes::SchemaRef;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_core::{ExecutionState, JobId, JobStatus, WeirError};
use weir_pipeline::{ConfigErrors, JobGraph, Partitioning, PluginKind, Problem};

/// Runtime knobs.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Rows a channel between two subtasks may hold.
    pub channel_capacity_rows: usize,
    /// The job's own log, for what its plugins log (none by default).
    pub job_log: crate::operator::JobLogHandle,
    /// Where subtasks run: a TaskManager's own data-plane runtime, so a busy job can never take
    /// the threads of the REST servers and the JobManager (the caller's runtime if `None`).
    pub subtask_runtime: Option<tokio::runtime::Handle>,
    /// How long a cancelled subtask may take to stop before it is torn down regardless
    /// (Flink's `task.cancellation.timeout`): a subtask stuck in a blocking call must not hold
    /// its job in CANCELING, nor its slot, for ever.
    pub cancellation_timeout: Duration,
    /// Which local paths the job's plugins may name (unrestricted unless the cluster says).
    pub sandbox: weir_pipeline::sandbox::PathSandbox,
    /// Which object-store endpoints the job's plugins may reach (any unless the cluster says).
    pub endpoints: weir_pipeline::endpoint_allowlist::EndpointAllowlist,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            channel_capacity_rows: 32 * 1024,
            job_log: Default::default(),
            subtask_runtime: None,
            cancellation_timeout: Duration::from_secs(180),
            sandbox: Default::default(),
            endpoints: Default::default(),
        }
    }
}

/// One operator prepared for the job.
#[derive(Clone)]
pub enum PreparedOperator {
    Source(Arc<dyn PreparedSource>),
    Transform(Arc<dyn PreparedTransform>),
    Sink(Arc<dyn PreparedSink>),
}

/// A job whose operators are all prepared: ready to deploy, any number of times (restarts).
pub struct PreparedJob {
    pub job_id: JobId,
    pub graph: JobGraph,
    pub operators: Vec<PreparedOperator>,
    /// Output schema of every operator (`None` for sinks).
    pub schemas: Vec<Option<SchemaRef>>,
    pub config: RuntimeConfig,
}

/// State to deploy from: the checkpoint (or savepoint) it was taken at, and per vertex one entry
/// per subtask of the vertex's parallelism.
#[derive(Debug, Clone, Default)]
pub struct JobState {
    /// The restored checkpoint's id: a sink resolving its transactions compares theirs to it.
    pub checkpoint_id: u64,
    pub vertices: Vec<Vec<SubtaskState>>,
}

/// Whether a deployment starts the job fresh, so its sinks' once-per-job setup runs: the first
/// attempt, from no checkpoint or savepoint. A restart (attempt > 0) or a restore continues
/// what an earlier run wrote, as SeaTunnel skips save modes when a job resumes.
pub fn is_fresh_start(attempt: u32, restores: bool) -> bool {
    attempt == 0 && !restores
}

/// A state change of one subtask.
#[derive(Debug, Clone)]
pub struct TaskEvent {
    pub vertex: usize,
    pub subtask: usize,
    pub state: ExecutionState,
    pub error: Option<WeirError>,
    /// The subtask's counters, kept by terminal events after the subtask is gone.
    pub metrics: Option<Arc<SubtaskMetrics>>,
}

impl TaskEvent {
    /// The subtask entered `state`, with nothing else to report.
    fn entered(vertex: usize, subtask: usize, state: ExecutionState) -> Self {
        Self {
            vertex,
            subtask,
            state,
            error: None,
            metrics: None,
        }
    }
}

/// How a job ended.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    pub status: JobStatus,
    /// The first failure (with its root cause), for failed jobs.
    pub error: Option<WeirError>,
    /// Some subtask did not stop within the cancellation timeout and was abandoned.
    pub torn_down: bool,
}

impl PreparedJob {
    /// Prepares every operator of `graph` with the plugins of `registry`.
    pub fn prepare(
        job_id: JobId,
        graph: JobGraph,
        registry: &PluginRegistry,
        config: RuntimeConfig,
    ) -> Result<PreparedJob, ConfigErrors> {
        let mut problems: Vec<Problem> = Vec::new();
        let mut operators: Vec<Option<PreparedOperator>> =
            Vec::with_capacity(graph.operators.len());
        let mut schemas: Vec<Option<SchemaRef>> = Vec::with_capacity(graph.operators.len());
        let table_paths = graph.table_paths();
        let catalog_tables = graph.catalog_tables();
        let block_table_paths = graph.block_table_paths();
        for op in &graph.operators {
            let location = op.plugin.location();
            let input_schemas: Vec<Option<SchemaRef>> =
                op.inputs.iter().map(|&i| schemas[i].clone()).collect();
            if input_schemas.iter().any(Option::is_none) {
                // An upstream operator failed to prepare; its problem is already reported.
                operators.push(None);
                schemas.push(None);
                continue;
            }
            let input_schemas: Vec<SchemaRef> = input_schemas.into_iter().flatten().collect();
            let ctx = PrepareContext {
                job_id,
                job_name: graph.name.clone(),
                mode: graph.mode,
                parallelism: op.parallelism,
                input_table: op
                    .inputs
                    .first()
                    .and_then(|&i| graph.operators[i].table.clone()),
                output_table: op.table.clone(),
                table_paths: table_paths.get(op.id).cloned().unwrap_or_default(),
                catalog_tables: catalog_tables.get(op.id).cloned().unwrap_or_default(),
                block_table_paths: block_table_paths.get(op.id).cloned().unwrap_or_default(),
                job_log: config.job_log.clone(),
                sandbox: config.sandbox.clone(),
                endpoints: config.endpoints.clone(),
            };
            let options = &op.plugin.options;
            let result = match op.plugin.kind {
                PluginKind::Source => registry
                    .source(&op.plugin_name)
                    .ok_or_else(|| WeirError::new("no such source"))
                    .and_then(|f| f.prepare(options, &ctx))
                    .map(|p| {
                        let s = p.schema();
                        (PreparedOperator::Source(p), Some(s))
                    }),
                PluginKind::Transform => registry
                    .transform(&op.plugin_name)
                    .ok_or_else(|| WeirError::new("no such transform"))
                    .and_then(|f| f.prepare(options, input_schemas[0].clone(), &ctx))
                    .map(|p| {
                        let s = p.output_schema();
                        (PreparedOperator::Transform(p), Some(s))
                    }),
                PluginKind::Sink => registry
                    .sink(&op.plugin_name)
                    .ok_or_else(|| WeirError::new("no such sink"))
                    .and_then(|f| {
                        if !f.accepts_mixed_schemas() {
                            if let Some(other) = input_schemas
                                .iter()
                                .find(|s| s.fields() != input_schemas[0].fields())
                            {
                                return Err(WeirError::new(format!(
                                    "its input tables have different schemas ({} vs {})",
                                    describe(&input_schemas[0]),
                                    describe(other)
                                )));
                            }
                        }
                        f.prepare(options, input_schemas[0].clone(), &ctx)
                    })
                    .map(|p| (PreparedOperator::Sink(p), None)),
            };
            match result {
                Ok((p, s)) => {
                    operators.push(Some(p));
                    schemas.push(s);
                }
                Err(e) => {
                    let mut message = e.message.clone();
                    for cause in &e.causes {
                        message.push_str(": ");
                        message.push_str(cause);
                    }
                    problems.push(
                        Problem::new(location, message).hint(
                            e.hint
                                .clone()
                                .unwrap_or_else(|| "check this plugin's options".into()),
                        ),
                    );
                    operators.push(None);
                    schemas.push(None);
                }
            }
        }
        if !problems.is_empty() {
            return Err(ConfigErrors(problems));
        }
        Ok(PreparedJob {
            job_id,
            graph,
            operators: operators.into_iter().flatten().collect(),
            schemas,
            config,
        })
    }

    /// Runs every sink's [`PreparedSink::on_job_start`], in the job's order; the first
    /// failure is returned with the sink it came from. Call it before [`Self::deploy`] when
    /// [`is_fresh_start`] says so.
    pub async fn start_fresh(&self) -> Result<(), WeirError> {
        let sinks = self.graph.operators.iter().zip(&self.operators);
        for (op, prepared) in sinks {
            if let PreparedOperator::Sink(sink) = prepared {
                sink.on_job_start().await.map_err(|e| {
                    let mut e = e;
                    e.message = format!("{}: {}", op.plugin.location(), e.message);
                    e
                })?;
            }
        }
        Ok(())
    }

    /// Tells every source the job ended for good with `status`.
    pub async fn end(&self, status: weir_core::JobStatus) {
        for prepared in &self.operators {
            if let PreparedOperator::Source(source) = prepared {
                source.on_job_end(status).await;
            }
        }
    }

    /// Subtask display name as Flink shows it: `<vertex name> (i/n)`, 1-based.
    pub fn subtask_name(&self, vertex: usize, subtask: usize) -> String {
        let v = &self.graph.vertices[vertex];
        format!("{} ({}/{})", v.name, subtask + 1, v.parallelism)
    }

    /// Builds every subtask and its channels in this process, restores their state if given,
    /// and starts them.
    pub fn deploy(
        &self,
        attempt: u32,
        restore: Option<&JobState>,
    ) -> Result<RunningJob, WeirError> {
        self.deploy_wired(attempt, restore, Wiring::local(&Locality::all_local()))
    }

    /// Builds every subtask of the job that `wiring` places here and its channels, restores
    /// their state if given, and starts them. Channels to and from subtasks elsewhere go
    /// through `wiring`'s exchange.
    pub fn deploy_wired(
        &self,
        attempt: u32,
        restore: Option<&JobState>,
        wiring: Wiring<'_>,
    ) -> Result<RunningJob, WeirError> {
        let graph = &self.graph;
        let locality = wiring.locality;
        let has_remote = graph
            .vertices
            .iter()
            .any(|v| (0..v.parallelism).any(|i| !locality.is_local(v.index, i)));
        let exchange = match (has_remote, wiring.exchange) {
            (true, None) => {
                return Err(WeirError::new(
                    "the job has subtasks on other TaskManagers, but this one has no data port to exchange data with them",
                ))
            }
            (_, e) => e,
        };
        let cancel = CancellationToken::new();
        let (failures_tx, failures_rx) = mpsc::unbounded_channel();
        let link = |vertex: usize, subtask: usize| JobLink {
            cancel: cancel.clone(),
            failures: failures_tx.clone(),
            vertex,
            subtask,
        };
        let capacity = self.config.channel_capacity_rows;
        let (acks_tx, acks_rx) = mpsc::unbounded_channel();
        let mut controls: Vec<Vec<mpsc::UnboundedSender<TaskControl>>> = Vec::new();
        // Channels per edge: senders[edge][source subtask] and receivers[edge][target subtask],
        // for the subtasks here.
        let mut senders: Vec<Vec<Vec<ChannelSender>>> = Vec::new();
        let mut receivers: Vec<Vec<Vec<ChannelReceiver>>> = Vec::new();
        for (e, edge) in graph.edges.iter().enumerate() {
            let (sv, tv) = (edge.source_vertex, edge.target_vertex);
            let ps = graph.vertices[sv].parallelism;
            let pt = graph.vertices[tv].parallelism;
            let mut tx: Vec<Vec<ChannelSender>> = (0..ps).map(|_| Vec::new()).collect();
            let mut rx: Vec<Vec<ChannelReceiver>> = (0..pt).map(|_| Vec::new()).collect();
            let pairs: Vec<(usize, usize)> = match edge.partitioning {
                Partitioning::Forward if ps == pt => (0..ps).map(|i| (i, i)).collect(),
                _ => (0..ps).flat_map(|s| (0..pt).map(move |t| (s, t))).collect(),
            };
            for (s, t) in pairs {
                let id = ChannelId {
                    job: self.job_id,
                    attempt,
                    edge: e as u32,
                    source: s as u32,
                    target: t as u32,
                };
                match (locality.peer(sv, s), locality.peer(tv, t), exchange) {
                    (None, None, _) => {
                        let (a, b) = channel(capacity);
                        tx[s].push(a);
                        rx[t].push(b);
                    }
                    (None, Some(to), Some(x)) => {
                        let (a, b) = channel(capacity);
                        tx[s].push(a);
                        x.send(id, to.clone(), b, link(sv, s));
                    }
                    (Some(_), None, Some(x)) => {
                        let (a, b) = channel(capacity);
                        x.expect(id, a, capacity, link(tv, t));
                        rx[t].push(b);
                    }
                    // Neither end is here.
                    _ => {}
                }
            }
            senders.push(tx);
            receivers.push(rx);
        }
        drop(failures_tx);

        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let mut metrics = JobMetrics::default();
        let mut handles = Vec::new();
        for vertex in &graph.vertices {
            let mut vertex_metrics = Vec::with_capacity(vertex.parallelism);
            let mut vertex_controls = Vec::with_capacity(vertex.parallelism);
            for index in 0..vertex.parallelism {
                if !locality.is_local(vertex.index, index) {
                    continue;
                }
                let ctx = SubtaskContext {
                    index,
                    parallelism: vertex.parallelism,
                    attempt,
                };
                let mut restored = restore
                    .and_then(|r| r.vertices.get(vertex.index))
                    .and_then(|v| v.get(index))
                    .map(|s| s.operators.clone())
                    .unwrap_or_default()
                    .into_iter();
                let name = self.subtask_name(vertex.index, index);
                let fail = |e: WeirError| e.at(name.clone());
                let head_op = vertex.chain[0];
                let (head, transform_offset) = match &self.operators[head_op] {
                    PreparedOperator::Source(src) => {
                        let mut reader = src.create_reader(ctx).map_err(fail)?;
                        if let Some(position) = restored.next() {
                            reader.restore_state(position.list).map_err(fail)?;
                        }
                        (
                            Head::Source {
                                reader,
                                rate_limit: graph.env.read_limit_rows_per_second,
                            },
                            1,
                        )
                    }
                    _ => {
                        let mut inputs = Vec::new();
                        for (e, _) in graph.inputs_of(vertex.index) {
                            inputs.append(&mut receivers[e][index]);
                        }
                        (Head::Inputs(inputs), 0)
                    }
                };
                let mut transforms = Vec::new();
                for &op in &vertex.chain {
                    if let PreparedOperator::Transform(t) = &self.operators[op] {
                        let mut transform = t.instantiate(ctx).map_err(fail)?;
                        if let Some(state) = restored.next() {
                            transform.restore_state(state).map_err(fail)?;
                        }
                        transforms.push(transform);
                    }
                }
                let tail_op = *vertex.chain.last().unwrap_or(&head_op);
                let tail = match &self.operators[tail_op] {
                    PreparedOperator::Sink(s) => Tail::Sink(s.create_writer(ctx).map_err(fail)?),
                    _ => {
                        let mut outs = Vec::new();
                        for (e, edge) in graph.outputs_of(vertex.index) {
                            let targets = std::mem::take(&mut senders[e][index]);
                            let router = match &edge.partitioning {
                                Partitioning::Forward if targets.len() == 1 => Router::Forward,
                                Partitioning::Hash(keys) => {
                                    let schema =
                                        self.schemas[edge.source_operator].clone().ok_or_else(
                                            || WeirError::new("hash edge without a schema"),
                                        )?;
                                    let cols = keys
                                        .iter()
                                        .map(|k| {
                                            schema.index_of(k).map_err(|_| {
                                                WeirError::new(format!(
                                                    "key column '{k}' is not in the input"
                                                ))
                                            })
                                        })
                                        .collect::<Result<Vec<_>, _>>()?;
                                    Router::Hash(Box::new(KeyHasher::new(
                                        &schema,
                                        cols,
                                        DEFAULT_MAX_PARALLELISM,
                                    )?))
                                }
                                _ => Router::RoundRobin { next: index },
                            };
                            outs.push(OutputEdge { router, targets });
                        }
                        Tail::Outputs(outs)
                    }
                };
                let wiring = SubtaskWiring {
                    input_channels: match &head {
                        Head::Inputs(rx) => rx.iter().map(|r| r.gauge()).collect(),
                        Head::Source { .. } => Vec::new(),
                    },
                    output_channels: match &tail {
                        Tail::Outputs(outs) => outs
                            .iter()
                            .flat_map(|o| o.targets.iter().map(|t| t.gauge()))
                            .collect(),
                        Tail::Sink(_) => Vec::new(),
                    },
                    has_source: matches!(head, Head::Source { .. }),
                    pending_records: match &head {
                        Head::Source { reader, .. } => reader.pending_records(),
                        Head::Inputs(_) => None,
                    },
                };
                let restored_committables = match &tail {
                    Tail::Sink(_) => restored
                        .next()
                        .zip(restore)
                        .map(|(s, r)| (r.checkpoint_id, s.list)),
                    Tail::Outputs(_) => None,
                };
                let m = SubtaskMetrics::wired(vertex.index, index, vertex.chain.len(), wiring);
                vertex_metrics.push(m.clone());
                let (control_tx, control_rx) = mpsc::unbounded_channel();
                vertex_controls.push(control_tx);
                let events = events_tx.clone();
                let (v, i) = (vertex.index, index);
                // A subtask is INITIALIZING until it has restored its state, then RUNNING.
                let _ = events.send(TaskEvent::entered(v, i, ExecutionState::Initializing));
                let running_events = events.clone();
                let on_running: Box<dyn FnOnce() + Send> = Box::new(move || {
                    let _ = running_events.send(TaskEvent::entered(v, i, ExecutionState::Running));
                });
                let subtask = Subtask {
                    name,
                    mode: graph.mode,
                    vertex: vertex.index,
                    index,
                    head,
                    transforms,
                    tail,
                    transform_offset,
                    metrics: m,
                    control: control_rx,
                    acks: acks_tx.clone(),
                    restored_committables,
                    on_running: Some(on_running),
                };
                let token = cancel.child_token();
                let final_metrics = subtask.metrics.clone();
                let run = async move {
                    let outcome = subtask.run(token).await;
                    let (state, error) = match outcome {
                        SubtaskOutcome::Finished => (ExecutionState::Finished, None),
                        SubtaskOutcome::Canceled => (ExecutionState::Canceled, None),
                        SubtaskOutcome::Failed(e) => (ExecutionState::Failed, Some(e)),
                    };
                    let _ = events.send(TaskEvent {
                        vertex: v,
                        subtask: i,
                        state,
                        error,
                        metrics: Some(final_metrics),
                    });
                };
                let handle = match &self.config.subtask_runtime {
                    Some(rt) => rt.spawn(run),
                    None => tokio::spawn(run),
                };
                handles.push(((v, i), handle));
            }
            metrics.subtasks.push(vertex_metrics);
            controls.push(vertex_controls);
        }
        let total = handles.len();
        let source_vertices = graph
            .vertices
            .iter()
            .filter(|v| matches!(self.operators[v.chain[0]], PreparedOperator::Source(_)))
            .map(|v| v.index)
            .collect();
        Ok(RunningJob {
            cancel,
            events: events_rx,
            handles,
            cancellation_timeout: self.config.cancellation_timeout,
            job_log: self.config.job_log.clone(),
            names: graph
                .vertices
                .iter()
                .map(|v| {
                    (0..v.parallelism)
                        .map(|i| self.subtask_name(v.index, i))
                        .collect()
                })
                .collect(),
            metrics: Arc::new(metrics),
            total,
            control: ControlHandle {
                senders: Arc::new(controls),
                source_vertices: Arc::new(source_vertices),
            },
            acks: Some(acks_rx),
            failures: Some(failures_rx),
            forget: exchange.map(|x| (x.clone(), self.job_id, attempt)),
        })
    }
}

/// Where a deployment's subtasks run and how it reaches the others.
#[derive(Clone, Copy)]
pub struct Wiring<'a> {
    pub locality: &'a Locality,
    /// This TaskManager's data exchange, if it has one.
    pub exchange: Option<&'a Exchange>,
}

impl<'a> Wiring<'a> {
    /// Every subtask here, exchanging data in-process.
    pub fn local(locality: &'a Locality) -> Self {
        Self {
            locality,
            exchange: None,
        }
    }
}

/// The next network failure, or never when the job has no remote channels (left).
async fn recv_failure(
    failures: &mut Option<mpsc::UnboundedReceiver<NetworkFailure>>,
) -> Option<NetworkFailure> {
    match failures {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
}

fn describe(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f.name(),
                weir_pipeline::types::seatunnel_type_name(f.data_type())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A deployed job: its subtasks, their metrics and their state changes.
pub struct RunningJob {
    cancel: CancellationToken,
    events: mpsc::UnboundedReceiver<TaskEvent>,
    /// Every subtask's task, by (vertex, subtask).
    handles: Vec<((usize, usize), JoinHandle<()>)>,
    cancellation_timeout: Duration,
    job_log: crate::operator::JobLogHandle,
    /// Subtask names by vertex, for what the job log says of a teardown.
    names: Vec<Vec<String>>,
    pub metrics: Arc<JobMetrics>,
    total: usize,
    control: ControlHandle,
    acks: Option<mpsc::UnboundedReceiver<SnapshotAck>>,
    /// Channels to other TaskManagers that broke, charged to a subtask here.
    failures: Option<mpsc::UnboundedReceiver<NetworkFailure>>,
    /// The exchange whose waiting channels of this attempt are forgotten when it ends.
    forget: Option<(Exchange, JobId, u32)>,
}

/// Sends checkpoint control messages to a running job's subtasks.
#[derive(Clone)]
pub struct ControlHandle {
    senders: Arc<Vec<Vec<mpsc::UnboundedSender<TaskControl>>>>,
    source_vertices: Arc<Vec<usize>>,
}

impl ControlHandle {
    fn send(&self, vertices: impl Iterator<Item = usize>, message: TaskControl) -> usize {
        let mut reached = 0;
        for v in vertices {
            for tx in self.senders.get(v).into_iter().flatten() {
                if tx.send(message).is_ok() {
                    reached += 1;
                }
            }
        }
        reached
    }

    /// Injects a checkpoint barrier at every source subtask; returns how many were reached.
    pub fn trigger_checkpoint(&self, barrier: Barrier) -> usize {
        self.send(
            self.source_vertices.iter().copied(),
            TaskControl::TriggerCheckpoint(barrier),
        )
    }

    /// Whether any source subtask of the job was deployed here (running or not).
    pub fn hosts_sources(&self) -> bool {
        self.source_vertices
            .iter()
            .any(|v| self.senders.get(*v).is_some_and(|s| !s.is_empty()))
    }

    /// Tells every subtask that checkpoint `id` completed.
    pub fn checkpoint_complete(&self, id: u64) {
        self.send(0..self.senders.len(), TaskControl::CheckpointComplete(id));
    }

    /// Tells every source to end its input (stop with savepoint).
    pub fn end_input(&self) {
        self.send(self.source_vertices.iter().copied(), TaskControl::EndInput);
    }
}

/// Cancels a running job from elsewhere.
#[derive(Clone)]
pub struct CancelHandle(CancellationToken);

impl CancelHandle {
    /// Asks every subtask to stop.
    pub fn cancel(&self) {
        self.0.cancel();
    }
}

impl RunningJob {
    /// A handle that cancels this job.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle(self.cancel.clone())
    }

    /// Sends checkpoint control messages to this job's subtasks.
    pub fn control_handle(&self) -> ControlHandle {
        self.control.clone()
    }

    /// The snapshots subtasks take, once (the receiver moves to whoever writes them).
    pub fn take_acks(&mut self) -> Option<mpsc::UnboundedReceiver<SnapshotAck>> {
        self.acks.take()
    }

    /// Waits for the job to end, calling `on_event` for every subtask state change.
    ///
    /// Once the job is cancelled (by a caller or by a failed subtask), subtasks that have not
    /// stopped within the cancellation timeout are torn down: their tasks are aborted, they
    /// are reported CANCELED, and the job ends without waiting on them.
    pub async fn wait_with(mut self, mut on_event: impl FnMut(&TaskEvent)) -> JobOutcome {
        let mut ended = std::collections::HashSet::new();
        let mut first_error: Option<WeirError> = None;
        let mut canceled = false;
        let mut torn_down = false;
        let cancel = self.cancel.clone();
        let timeout = self.cancellation_timeout;
        let deadline = async move {
            cancel.cancelled().await;
            tokio::time::sleep(timeout).await;
        };
        tokio::pin!(deadline);
        let mut failures = self.failures.take();
        // A broken channel to another TaskManager fails the subtask at this end: the job is
        // cancelled here, and that subtask's CANCELED becomes FAILED with the channel's error
        // (or the next subtask's, when it had already ended).
        let mut network_failure: Option<NetworkFailure> = None;
        while ended.len() < self.total {
            let ev = tokio::select! {
                ev = self.events.recv() => match ev {
                    Some(ev) => ev,
                    None => break,
                },
                failure = recv_failure(&mut failures) => {
                    match failure {
                        Some(f) if !self.cancel.is_cancelled() && network_failure.is_none() => {
                            tracing::warn!("{}", f.error);
                            network_failure = Some(f);
                            self.cancel.cancel();
                        }
                        Some(_) => {}
                        None => failures = None,
                    }
                    continue;
                }
                () = &mut deadline => {
                    torn_down = true;
                    for ((v, i), h) in &self.handles {
                        if !ended.contains(&(*v, *i)) {
                            h.abort();
                            let name = self.names.get(*v).and_then(|n| n.get(*i));
                            let line = format!(
                                "{} did not stop within task.cancellation.timeout ({} ms) \
                                 and was torn down",
                                name.map_or("a subtask", String::as_str),
                                timeout.as_millis()
                            );
                            tracing::warn!("{line}");
                            self.job_log.info(&line);
                            let ev = TaskEvent::entered(*v, *i, ExecutionState::Canceled);
                            on_event(&ev);
                        }
                    }
                    canceled = true;
                    break;
                }
            };
            let mut ev = ev;
            if ev.state == ExecutionState::Canceled {
                let charged = network_failure.take_if(|f| {
                    (f.vertex, f.subtask) == (ev.vertex, ev.subtask)
                        || ended.contains(&(f.vertex, f.subtask))
                });
                if let Some(f) = charged {
                    ev.state = ExecutionState::Failed;
                    ev.error = Some(f.error);
                }
            }
            on_event(&ev);
            match ev.state {
                ExecutionState::Finished => {
                    ended.insert((ev.vertex, ev.subtask));
                }
                ExecutionState::Canceled => {
                    ended.insert((ev.vertex, ev.subtask));
                    canceled = true;
                }
                ExecutionState::Failed => {
                    ended.insert((ev.vertex, ev.subtask));
                    if first_error.is_none() {
                        first_error = ev.error.clone();
                        // One failure fails the job: stop everything else.
                        self.cancel.cancel();
                    }
                }
                _ => {}
            }
        }
        if !torn_down {
            for (_, h) in self.handles.drain(..) {
                if let Err(e) = h.await {
                    if first_error.is_none() {
                        first_error = Some(WeirError::new(format!("a subtask panicked: {e}")));
                    }
                }
            }
        }
        if let Some((exchange, job, attempt)) = self.forget.take() {
            exchange.forget(job, attempt);
        }
        let status = if first_error.is_some() {
            JobStatus::Failed
        } else if canceled || self.cancel.is_cancelled() {
            JobStatus::Canceled
        } else {
            JobStatus::Finished
        };
        JobOutcome {
            status,
            error: first_error,
            torn_down,
        }
    }

    /// Waits for the job to end.
    pub async fn wait(self) -> JobOutcome {
        self.wait_with(|_| {}).await
    }
}

#[cfg(test)]
mod tests {
    use super::is_fresh_start;

    #[test]
    fn only_a_first_attempt_from_nothing_is_a_fresh_start() {
        assert!(is_fresh_start(0, false));
        assert!(
            !is_fresh_start(0, true),
            "a job started from a savepoint continues it"
        );
        assert!(
            !is_fresh_start(1, false),
            "a restart without a checkpoint is no fresh start"
        );
        assert!(!is_fresh_start(2, true));
    }
}
