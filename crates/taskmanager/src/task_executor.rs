//! The TaskExecutor: prepares a deployed job with its plugins, runs the subtasks, forwards
//! their state changes to the JobMaster, and exposes live I/O per subtask.

use crate::task_metrics::{job_groups, TaskMetricContext};
use async_trait::async_trait;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use weir_core::logdir::ServedDir;
use weir_core::{now_ms, JobId, WeirError};
use weir_gateway::*;
use weir_metrics::query_service::DumpedGroup;
use weir_metrics::system::register_process_metrics;
use weir_metrics::{GroupKey, MetricGroup, MetricQueryService, Scope};
use weir_pipeline::JobGraph;
use weir_runtime::checkpoint::SnapshotAck;
use weir_runtime::exchange::{Exchange, Locality, PeerAddress};
use weir_runtime::executor::CancelHandle;
use weir_runtime::metrics::{Activity, JobMetrics, SubtaskMetrics};
use weir_runtime::state::{redistribute, SubtaskState};
use weir_runtime::{ControlHandle, JobState};
use weir_runtime::{PluginRegistry, PreparedJob, RuntimeConfig};

/// How a TaskExecutor is set up.
#[derive(Debug, Clone)]
pub struct TaskExecutorSettings {
    /// Host name shown in its resource id and address.
    pub host: String,
    /// Its resource id (`taskmanager.resource-id`); `None`: `<host>-<6 random hex>`.
    pub resource_id: Option<String>,
    /// Slots offered to the resource manager (`taskmanager.numberOfTaskSlots`).
    pub slots: usize,
    /// Where its logs are, and the names of its main log and stdout files there.
    pub log_dir: Option<PathBuf>,
    pub log_file: String,
    pub stdout_file: String,
    pub runtime: RuntimeConfig,
    /// `rest.profiling.*`: where this TaskManager's profiles go and how long they may run.
    pub profiling: weir_gateway::ProfilingSettings,
}

impl Default for TaskExecutorSettings {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            resource_id: None,
            slots: 4,
            log_dir: None,
            log_file: "taskmanager.log".into(),
            stdout_file: "taskmanager.out".into(),
            runtime: RuntimeConfig::default(),
            profiling: weir_gateway::ProfilingSettings::default(),
        }
    }
}

struct RunningJob {
    /// The attempt it runs: a later attempt of the job may be deployed here before this one's
    /// bookkeeping is done.
    attempt: u32,
    cancel: CancelHandle,
    control: ControlHandle,
    /// Where each checkpoint in flight writes its state files.
    locations: Arc<Mutex<HashMap<u64, (CheckpointLocation, i64)>>>,
    metrics: Arc<JobMetrics>,
    /// Flame-graph frames per vertex: the task frame, then one per chained operator.
    frames: Vec<VertexFrames>,
}

struct VertexFrames {
    task: Arc<str>,
    operators: Vec<Arc<str>>,
}

const RUN_FRAME: &str = "weir.runtime.Subtask.run";
const WAIT_FRAME: &str = "weir.runtime.Subtask.waitForInput";
const BLOCKED_FRAME: &str = "weir.runtime.Subtask.blockedOnOutput (back-pressured)";

/// Runs subtasks.
pub struct TaskExecutor {
    endpoint: TaskManagerEndpoint,
    /// `endpoint.resource_id`, for the many places that name this TaskManager.
    resource_id: String,
    settings: TaskExecutorSettings,
    registry: PluginRegistry,
    jobs: Arc<Mutex<HashMap<JobId, RunningJob>>>,
    /// Each job's latest prepared form, kept across restarts until the job ends for good, when
    /// its sources release what they hold outside the process.
    prepared: Mutex<HashMap<JobId, Arc<PreparedJob>>>,
    /// Weak: the JobMaster side owns the resource manager that owns this TaskExecutor.
    job_master: OnceLock<Weak<dyn JobMasterGateway>>,
    /// Host memory readings (`None` where the platform offers none).
    system: Mutex<Option<sysinfo::System>>,
    /// This TaskManager's metrics: its process status and its subtasks' groups.
    metrics: Arc<MetricQueryService>,
    /// Samples this TaskManager's process on request (Flink's TaskManager profiler).
    profiler: weir_gateway::ProfilingService,
    /// The runtime its subtasks run on, apart from the control plane's (`None` only if the
    /// operating system refused its threads; subtasks then share the caller's runtime).
    data_plane: Option<crate::data_plane::DataPlane>,
    /// Where subtasks of other TaskManagers send this one data (`None`: the mini cluster's
    /// only TaskManager, which exchanges data in-process).
    exchange: Option<Exchange>,
}

const LOG_LIMIT: u64 = 8 << 20;

fn io_of(m: &SubtaskMetrics) -> IoStats {
    let io = m.task.snapshot();
    let t = m.time_split();
    IoStats {
        read_bytes: io.bytes_in,
        write_bytes: io.bytes_out,
        read_records: io.records_in,
        write_records: io.records_out,
        back_pressured_ms: t.back_pressured_ms,
        idle_ms: t.idle_ms,
        busy_ms: t.busy_ms,
        sink_written_records: m.sink_sent.load(std::sync::atomic::Ordering::Relaxed),
    }
}

impl TaskExecutor {
    /// A TaskExecutor running plugins from `registry`, exchanging data only in-process.
    /// Call from within a tokio runtime: the metrics' once-a-second tick runs on it.
    pub fn new(settings: TaskExecutorSettings, registry: PluginRegistry) -> Arc<Self> {
        Self::build(settings, registry, None).unwrap_or_else(|(te, _)| te)
    }

    /// A TaskExecutor that also takes data from other TaskManagers on `data_listener` (its data
    /// port, registered with the JobManager).
    pub fn with_data_port(
        settings: TaskExecutorSettings,
        registry: PluginRegistry,
        data_listener: std::net::TcpListener,
    ) -> std::io::Result<Arc<Self>> {
        Self::build(settings, registry, Some(data_listener)).map_err(|(_, e)| e)
    }

    #[allow(clippy::type_complexity)]
    fn build(
        settings: TaskExecutorSettings,
        registry: PluginRegistry,
        data_listener: Option<std::net::TcpListener>,
    ) -> Result<Arc<Self>, (Arc<Self>, std::io::Error)> {
        let resource_id = settings
            .resource_id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", settings.host, &uuid_hex()[..6]));
        let metrics = MetricQueryService::new();
        let mut process = MetricGroup::new(Scope::TaskManager {
            tm_id: resource_id.as_str().into(),
            host: settings.host.as_str().into(),
        });
        register_process_metrics(&mut process);
        metrics.register(GroupKey::Process, vec![process]);
        metrics.spawn_ticker(std::time::Duration::from_secs(1));
        let profiler =
            weir_gateway::ProfilingService::new(resource_id.clone(), settings.profiling.clone());
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let data_plane = crate::data_plane::DataPlane::start(threads)
            .map_err(|e| {
                tracing::error!(
                    "cannot start the subtask runtime ({e}); subtasks share the control plane's threads"
                )
            })
            .ok();
        let runtime = data_plane
            .as_ref()
            .map_or_else(tokio::runtime::Handle::current, |d| d.handle());
        let (exchange, failed) = match data_listener.map(|l| Exchange::listen(l, runtime)) {
            Some(Ok(x)) => (Some(x), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        let te = Arc::new(Self {
            endpoint: TaskManagerEndpoint {
                resource_id: resource_id.clone(),
                host: settings.host.clone(),
                data_port: exchange.as_ref().map(Exchange::port),
            },
            exchange,
            profiler,
            data_plane,
            resource_id,
            settings,
            registry,
            jobs: Arc::new(Mutex::new(HashMap::new())),
            prepared: Mutex::new(HashMap::new()),
            job_master: OnceLock::new(),
            system: Mutex::new(sysinfo::System::new().ok()),
            metrics,
        });
        match failed {
            Some(e) => Err((te, e)),
            None => Ok(te),
        }
    }

    /// This TaskManager's MetricQueryService (for the Prometheus exporter of its process).
    pub fn metric_query_service(&self) -> &Arc<MetricQueryService> {
        &self.metrics
    }

    /// Connects this TaskExecutor to the JobMaster side that hears its task updates.
    pub fn connect(&self, job_master: &Arc<dyn JobMasterGateway>) {
        let _ = self.job_master.set(Arc::downgrade(job_master));
    }

    /// Slots it offers.
    pub fn slots(&self) -> usize {
        self.settings.slots
    }

    /// Cancels every job running here (their JobManager is gone) and waits up to `timeout`
    /// until their tasks have stopped. Returns how many jobs were running.
    pub async fn cancel_all(&self, timeout: std::time::Duration) -> usize {
        let handles: Vec<CancelHandle> = self
            .jobs
            .lock()
            .map(|j| j.values().map(|r| r.cancel.clone()).collect())
            .unwrap_or_default();
        for h in &handles {
            h.cancel();
        }
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline
            && !self.jobs.lock().map(|j| j.is_empty()).unwrap_or(true)
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        handles.len()
    }

    fn served_dir(&self) -> Option<ServedDir> {
        self.settings.log_dir.clone().map(ServedDir::new)
    }
}

impl TaskExecutor {
    /// Which subtasks of `graph` run elsewhere under `placement`, and where to send them data.
    fn locality(&self, graph: &JobGraph, placement: &Placement) -> Result<Locality, GatewayError> {
        let mut remote = Vec::with_capacity(graph.vertices.len());
        for v in &graph.vertices {
            let mut subtasks = Vec::with_capacity(v.parallelism);
            for i in 0..v.parallelism {
                let tm = placement.task_manager_of(i).ok_or_else(|| {
                    GatewayError::BadRequest(format!(
                        "the placement has {} slots but vertex '{}' runs {} subtasks",
                        placement.slots.len(),
                        v.name,
                        v.parallelism
                    ))
                })?;
                if tm.resource_id == self.resource_id {
                    subtasks.push(None);
                    continue;
                }
                let address = tm.data_address().ok_or_else(|| {
                    GatewayError::BadRequest(format!(
                        "subtask {} of '{}' is placed on TaskManager {}, which has no data port",
                        i + 1,
                        v.name,
                        tm.resource_id
                    ))
                })?;
                subtasks.push(Some(PeerAddress(address)));
            }
            remote.push(subtasks);
        }
        Ok(Locality { remote })
    }
}

fn uuid_hex() -> String {
    format!("{:032x}", JobId::random().0)
}

fn error_text(e: &WeirError) -> String {
    e.to_string()
}

#[async_trait]
impl TaskExecutorGateway for TaskExecutor {
    fn endpoint(&self) -> &TaskManagerEndpoint {
        &self.endpoint
    }

    async fn request_profiling(
        &self,
        duration_s: i64,
        mode: weir_gateway::ProfilingMode,
    ) -> Result<weir_gateway::ProfilingInfo, GatewayError> {
        self.profiler.request(duration_s, mode, weir_core::now_ms())
    }

    async fn profiling_list(&self) -> Vec<weir_gateway::ProfilingInfo> {
        self.profiler.list()
    }

    async fn profiling_file(&self, name: &str) -> Result<Vec<u8>, GatewayError> {
        self.profiler.file(name)
    }

    async fn deploy(&self, deployment: TaskDeployment) -> Result<(), GatewayError> {
        let job_id = deployment.job_id;
        let job_log = weir_gateway::JobLog::new(self.settings.log_dir.as_deref(), job_id);
        let runtime = RuntimeConfig {
            job_log: weir_runtime::operator::JobLogHandle::new(move |line| job_log.info(line)),
            subtask_runtime: self.data_plane.as_ref().map(|d| d.handle()),
            ..self.settings.runtime.clone()
        };
        let prepared = Arc::new(
            PreparedJob::prepare(
                job_id,
                deployment.graph.as_ref().clone(),
                &self.registry,
                runtime,
            )
            .map_err(|e| GatewayError::BadRequest(e.to_string()))?,
        );
        if let Ok(mut kept) = self.prepared.lock() {
            kept.insert(job_id, prepared.clone());
        }
        let locality = self.locality(&prepared.graph, &deployment.placement)?;
        // A job's once-per-job setup runs on the TaskManager holding slot 0, which the
        // JobMaster deploys before the others.
        if weir_runtime::executor::is_fresh_start(deployment.attempt, deployment.restore.is_some())
            && deployment.placement.is_first(&self.resource_id)
        {
            prepared
                .start_fresh()
                .await
                .map_err(|e| GatewayError::BadRequest(error_text(&e)))?;
        }
        let restored = match &deployment.restore {
            Some(from) => Some(read_state(&prepared, from).await?),
            None => None,
        };
        let wiring = weir_runtime::executor::Wiring {
            locality: &locality,
            exchange: self.exchange.as_ref(),
        };
        let mut running = prepared
            .deploy_wired(deployment.attempt, restored.as_ref(), wiring)
            .map_err(|e| GatewayError::Internal(error_text(&e)))?;
        let locations = Arc::new(Mutex::new(HashMap::new()));
        let writer = running.take_acks().map(|acks| {
            tokio::spawn(write_snapshots(
                job_id,
                acks,
                locations.clone(),
                self.job_master.get().cloned(),
            ))
        });
        let names: Vec<Vec<String>> = prepared
            .graph
            .vertices
            .iter()
            .map(|v| {
                (0..v.parallelism)
                    .map(|i| prepared.subtask_name(v.index, i))
                    .collect()
            })
            .collect();
        let ctx = TaskMetricContext {
            job_id,
            attempt: deployment.attempt,
            tm_id: &self.resource_id,
            host: &self.settings.host,
        };
        // Each subtask's groups are registered (and later retired) on their own, so a
        // subtask's final counts are frozen the moment it ends.
        for (vertex, subtask, groups) in job_groups(&ctx, &prepared.graph, &running.metrics) {
            let key = GroupKey::Task {
                job: job_id,
                vertex,
                subtask,
            };
            self.metrics.register(key, groups);
        }
        let frames = prepared
            .graph
            .vertices
            .iter()
            .map(|v| VertexFrames {
                task: v.name.as_str().into(),
                operators: v
                    .chain
                    .iter()
                    .map(|&op| {
                        Arc::from(format!(
                            "{}.process",
                            prepared.graph.operators[op].display_name()
                        ))
                    })
                    .collect(),
            })
            .collect();
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(
                job_id,
                RunningJob {
                    attempt: deployment.attempt,
                    cancel: running.cancel_handle(),
                    control: running.control_handle(),
                    locations,
                    metrics: running.metrics.clone(),
                    frames,
                },
            );
        }
        let query_service = self.metrics.clone();
        let job_master = self.job_master.get().cloned();
        let attempt = deployment.attempt;
        let jobs = self.jobs.clone();
        // State changes go to the JobMaster in the order they happened, off the subtasks'
        // path: a report is a call that may cross the network.
        let (reports, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<TaskStateUpdate>();
        let forwarder = tokio::spawn(async move {
            while let Some(update) = outgoing.recv().await {
                if let Some(jm) = job_master.as_ref().and_then(Weak::upgrade) {
                    jm.update_task_execution_state(update).await;
                }
            }
        });
        tokio::spawn(async move {
            // FINISHED is reported only once every snapshot the subtasks took is written and
            // acknowledged, so a job that ends right after a savepoint (stop with savepoint)
            // completes that savepoint before the JobMaster sees the job finish.
            let mut finished = Vec::new();
            running
                .wait_with(|ev| {
                    if ev.state.is_terminal() {
                        query_service.unregister(GroupKey::Task {
                            job: job_id,
                            vertex: ev.vertex,
                            subtask: ev.subtask,
                        });
                    }
                    let update = TaskStateUpdate {
                        job_id,
                        vertex: ev.vertex,
                        subtask: ev.subtask,
                        attempt,
                        state: ev.state,
                        error: ev.error.as_ref().map(error_text),
                        location: ev.error.as_ref().and_then(|e| e.location.clone()).or_else(
                            || {
                                names
                                    .get(ev.vertex)
                                    .and_then(|n| n.get(ev.subtask))
                                    .cloned()
                            },
                        ),
                        io: ev.metrics.as_deref().map(io_of),
                        operator_io: ev
                            .metrics
                            .as_deref()
                            .map(|m| {
                                m.operators
                                    .iter()
                                    .map(|o| {
                                        let s = o.snapshot();
                                        weir_gateway::OperatorIo {
                                            records_in: s.records_in,
                                            records_out: s.records_out,
                                            bytes_in: s.bytes_in,
                                            bytes_out: s.bytes_out,
                                        }
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    };
                    if update.state == weir_core::ExecutionState::Finished {
                        finished.push(update);
                    } else {
                        let _ = reports.send(update);
                    }
                })
                .await;
            if let Some(writer) = writer {
                let _ = writer.await;
            }
            for update in finished {
                let _ = reports.send(update);
            }
            drop(reports);
            let _ = forwarder.await;
            if let Ok(mut j) = jobs.lock() {
                if j.get(&job_id).is_some_and(|r| r.attempt == attempt) {
                    j.remove(&job_id);
                }
            }
        });
        Ok(())
    }

    async fn job_ended(&self, job: JobId, status: weir_core::JobStatus) {
        let prepared = self.prepared.lock().ok().and_then(|mut p| p.remove(&job));
        if let Some(prepared) = prepared {
            prepared.end(status).await;
        }
    }

    async fn cancel(&self, job: JobId) -> Result<(), GatewayError> {
        let handle = self
            .jobs
            .lock()
            .ok()
            .and_then(|j| j.get(&job).map(|r| r.cancel.clone()));
        match handle {
            Some(h) => {
                h.cancel();
                Ok(())
            }
            None => Err(GatewayError::NotFound(format!(
                "Job {job} has no running tasks on {}",
                self.resource_id
            ))),
        }
    }

    async fn task_io(&self, job: JobId) -> Option<Vec<SubtaskIo>> {
        let jobs = self.jobs.lock().ok()?;
        let running = jobs.get(&job)?;
        Some(
            running
                .metrics
                .subtasks
                .iter()
                .flatten()
                .map(|m| SubtaskIo {
                    vertex: m.vertex,
                    subtask: m.subtask,
                    io: io_of(m),
                })
                .collect(),
        )
    }

    async fn trigger_checkpoint(
        &self,
        job: JobId,
        trigger: CheckpointTrigger,
    ) -> Result<(), GatewayError> {
        let (control, locations) = {
            let jobs = self
                .jobs
                .lock()
                .map_err(|_| GatewayError::Internal("task executor state is poisoned".into()))?;
            let running = jobs.get(&job).ok_or_else(|| {
                GatewayError::NotFound(format!(
                    "Job {job} has no running tasks on {}",
                    self.resource_id
                ))
            })?;
            (running.control.clone(), running.locations.clone())
        };
        if let Ok(mut l) = locations.lock() {
            l.insert(
                trigger.checkpoint_id,
                (trigger.location.clone(), trigger.timestamp),
            );
        }
        let reached = control.trigger_checkpoint(weir_runtime::channel::Barrier {
            checkpoint_id: trigger.checkpoint_id,
            timestamp_ms: trigger.timestamp,
        });
        if reached == 0 && control.hosts_sources() {
            return Err(GatewayError::Conflict(
                "no source of the job is running any more".into(),
            ));
        }
        if trigger.end_input {
            control.end_input();
        }
        Ok(())
    }

    async fn notify_checkpoint_complete(&self, job: JobId, checkpoint_id: u64) {
        let Ok(jobs) = self.jobs.lock() else {
            return;
        };
        if let Some(running) = jobs.get(&job) {
            running.control.checkpoint_complete(checkpoint_id);
            if let Ok(mut l) = running.locations.lock() {
                l.retain(|id, _| *id > checkpoint_id);
            }
        }
    }

    async fn metric_dump(&self) -> Vec<DumpedGroup> {
        self.metrics.dump_for_fetcher()
    }

    async fn sample_tasks(&self, job: JobId, vertex: usize) -> Vec<ThreadSample> {
        let Ok(jobs) = self.jobs.lock() else {
            return Vec::new();
        };
        let Some(running) = jobs.get(&job) else {
            return Vec::new();
        };
        let (Some(subtasks), Some(frames)) = (
            running.metrics.subtasks.get(vertex),
            running.frames.get(vertex),
        ) else {
            return Vec::new();
        };
        let run: Arc<str> = Arc::from(RUN_FRAME);
        subtasks
            .iter()
            .filter_map(|m| {
                let (leaf, on_cpu): (Arc<str>, bool) = match m.activity() {
                    Activity::Ended => return None,
                    Activity::WaitingForInput => (WAIT_FRAME.into(), false),
                    Activity::BackPressured => (BLOCKED_FRAME.into(), false),
                    Activity::Operator(i) => (frames.operators.get(i)?.clone(), true),
                };
                Some(ThreadSample {
                    subtask: m.subtask,
                    frames: vec![run.clone(), frames.task.clone(), leaf],
                    on_cpu,
                })
            })
            .collect()
    }

    async fn thread_dump(&self) -> Vec<ThreadInfo> {
        ThreadInfo::of_this_process()
    }

    async fn describe(&self) -> TaskManagerInfo {
        let cpu_cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let hardware = match self.system.lock().as_deref_mut() {
            Ok(Some(sys)) => {
                sys.refresh_memory();
                Hardware {
                    cpu_cores,
                    physical_memory: sys.total_memory(),
                    free_memory: sys.available_memory(),
                }
            }
            _ => Hardware {
                cpu_cores,
                ..Hardware::default()
            },
        };
        TaskManagerInfo {
            id: self.resource_id.clone(),
            path: self.endpoint.path(),
            data_port: self.endpoint.data_port_or_none(),
            last_heartbeat: now_ms(),
            slots_total: self.settings.slots,
            slots_free: self.settings.slots,
            hardware,
            allocated: Vec::new(),
            process_memory: weir_core::process::rss_bytes(),
            tags: Default::default(),
        }
    }

    async fn list_logs(&self) -> Vec<LogFile> {
        self.served_dir()
            .map(|d| d.list().into_iter().map(LogFile::from).collect())
            .unwrap_or_default()
    }

    async fn read_log(&self, name: &str) -> Result<Vec<u8>, GatewayError> {
        let dir = self.served_dir().ok_or_else(|| {
            GatewayError::NotFound("This TaskManager writes no log files.".into())
        })?;
        dir.read_role_file(
            name,
            &self.settings.log_file,
            &self.settings.stdout_file,
            LOG_LIMIT,
        )
        .ok_or_else(|| {
            GatewayError::NotFound(format!(
                "The file {name} does not exist on the TaskManager."
            ))
        })
    }
}

/// Reads a checkpoint's state files and lays them out for this job's parallelism.
async fn read_state(prepared: &PreparedJob, from: &RestoreFrom) -> Result<JobState, GatewayError> {
    let vertices = &prepared.graph.vertices;
    let saved = &from.metadata.vertices;
    if saved.len() != vertices.len() {
        return Err(GatewayError::BadRequest(format!(
            "{} holds state of a job with {} vertices, but this job has {}; it was taken from a different pipeline",
            from.location.uri(),
            saved.len(),
            vertices.len()
        )));
    }
    let mut state = JobState {
        checkpoint_id: from.metadata.checkpoint_id,
        vertices: Vec::with_capacity(vertices.len()),
    };
    for (v, files) in vertices.iter().zip(saved) {
        let mut old = Vec::with_capacity(files.subtasks.len());
        for f in &files.subtasks {
            let bytes = from
                .location
                .get(&f.file)
                .await
                .map_err(GatewayError::Internal)?;
            old.push(SubtaskState::decode(&bytes).map_err(|e| {
                GatewayError::Internal(format!("{}/{}: {}", from.location.uri(), f.file, e.message))
            })?);
        }
        if old.len() == v.parallelism {
            state.vertices.push(old);
        } else {
            state
                .vertices
                .push(redistribute(&old, v.parallelism, files.max_parallelism));
        }
    }
    Ok(state)
}

/// Writes each snapshot a subtask hands over to its checkpoint location, off the data path,
/// and acknowledges it to the JobMaster (or declines the checkpoint if the write fails).
async fn write_snapshots(
    job: JobId,
    mut acks: tokio::sync::mpsc::UnboundedReceiver<SnapshotAck>,
    locations: Arc<Mutex<HashMap<u64, (CheckpointLocation, i64)>>>,
    job_master: Option<Weak<dyn JobMasterGateway>>,
) {
    let mut writes = Vec::new();
    while let Some(ack) = acks.recv().await {
        let target = locations
            .lock()
            .ok()
            .and_then(|l| l.get(&ack.checkpoint_id).cloned());
        let job_master = job_master.clone();
        writes.push(tokio::spawn(async move {
            let Some(jm) = job_master.as_ref().and_then(Weak::upgrade) else {
                return;
            };
            let Some((location, triggered)) = target else {
                jm.decline_checkpoint(
                    job,
                    ack.checkpoint_id,
                    "the checkpoint was not triggered on this TaskExecutor".into(),
                )
                .await;
                return;
            };
            let started = std::time::Instant::now();
            let bytes = ack.state.encode();
            let size = ack.state.size() as u64;
            let file = format!("{}-{}", ack.vertex, ack.subtask);
            match location.put(&file, bytes).await {
                Ok(()) => {
                    jm.acknowledge_checkpoint(
                        job,
                        CheckpointAck {
                            checkpoint_id: ack.checkpoint_id,
                            vertex: ack.vertex,
                            subtask: ack.subtask,
                            state_file: file,
                            state_size: size,
                            ack_timestamp: now_ms(),
                            sync_ms: ack.sync.as_millis() as i64,
                            async_ms: started.elapsed().as_millis() as i64,
                            alignment_ms: ack.alignment.as_millis() as i64,
                            start_delay_ms: (ack.barrier_received_ms - triggered).max(0),
                        },
                    )
                    .await
                }
                Err(e) => jm.decline_checkpoint(job, ack.checkpoint_id, e).await,
            }
        }));
    }
    for w in writes {
        let _ = w.await;
    }
}
