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
use weir_runtime::executor::CancelHandle;
use weir_runtime::metrics::{Activity, JobMetrics, SubtaskMetrics};
use weir_runtime::{PluginRegistry, PreparedJob, RuntimeConfig};

/// How a TaskExecutor is set up.
#[derive(Debug, Clone)]
pub struct TaskExecutorSettings {
    /// Host name shown in its resource id and address.
    pub host: String,
    /// Slots offered to the resource manager (`taskmanager.numberOfTaskSlots`).
    pub slots: usize,
    /// Where its logs are, and the names of its main log and stdout files there.
    pub log_dir: Option<PathBuf>,
    pub log_file: String,
    pub stdout_file: String,
    pub runtime: RuntimeConfig,
}

impl Default for TaskExecutorSettings {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            slots: 4,
            log_dir: None,
            log_file: "taskmanager.log".into(),
            stdout_file: "taskmanager.out".into(),
            runtime: RuntimeConfig::default(),
        }
    }
}

struct RunningJob {
    cancel: CancelHandle,
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
    resource_id: String,
    settings: TaskExecutorSettings,
    registry: PluginRegistry,
    jobs: Arc<Mutex<HashMap<JobId, RunningJob>>>,
    /// Weak: the JobMaster side owns the resource manager that owns this TaskExecutor.
    job_master: OnceLock<Weak<dyn JobMasterGateway>>,
    /// Host memory readings (`None` where the platform offers none).
    system: Mutex<Option<sysinfo::System>>,
    /// This TaskManager's metrics: its process status and its subtasks' groups.
    metrics: Arc<MetricQueryService>,
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
    }
}

impl TaskExecutor {
    /// A TaskExecutor running plugins from `registry`.
    /// Call from within a tokio runtime: the metrics' once-a-second tick runs on it.
    pub fn new(settings: TaskExecutorSettings, registry: PluginRegistry) -> Arc<Self> {
        let suffix = &uuid_hex()[..6];
        let resource_id = format!("{}-{suffix}", settings.host);
        let metrics = MetricQueryService::new();
        let mut process = MetricGroup::new(Scope::TaskManager {
            tm_id: resource_id.as_str().into(),
            host: settings.host.as_str().into(),
        });
        register_process_metrics(&mut process);
        metrics.register(GroupKey::Process, vec![process]);
        metrics.spawn_ticker(std::time::Duration::from_secs(1));
        Arc::new(Self {
            resource_id,
            settings,
            registry,
            jobs: Arc::new(Mutex::new(HashMap::new())),
            job_master: OnceLock::new(),
            system: Mutex::new(sysinfo::System::new().ok()),
            metrics,
        })
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

    fn served_dir(&self) -> Option<ServedDir> {
        self.settings.log_dir.clone().map(ServedDir::new)
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
    fn resource_id(&self) -> String {
        self.resource_id.clone()
    }

    async fn deploy(&self, deployment: TaskDeployment) -> Result<(), GatewayError> {
        let job_id = deployment.job_id;
        let prepared = PreparedJob::prepare(
            job_id,
            deployment.graph.as_ref().clone(),
            &self.registry,
            self.settings.runtime.clone(),
        )
        .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
        let running = prepared
            .deploy(deployment.attempt, None)
            .map_err(|e| GatewayError::Internal(error_text(&e)))?;
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
                    cancel: running.cancel_handle(),
                    metrics: running.metrics.clone(),
                    frames,
                },
            );
        }
        let query_service = self.metrics.clone();
        let job_master = self.job_master.get().cloned();
        let attempt = deployment.attempt;
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
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
                    };
                    if let Some(jm) = job_master.as_ref().and_then(Weak::upgrade) {
                        jm.update_task_execution_state(update);
                    }
                })
                .await;
            if let Ok(mut j) = jobs.lock() {
                j.remove(&job_id);
            }
        });
        Ok(())
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

    fn task_io(&self, job: JobId) -> Option<Vec<Vec<IoStats>>> {
        let jobs = self.jobs.lock().ok()?;
        let running = jobs.get(&job)?;
        Some(
            running
                .metrics
                .subtasks
                .iter()
                .map(|v| v.iter().map(|m| io_of(m)).collect())
                .collect(),
        )
    }

    fn metric_dump(&self) -> Vec<DumpedGroup> {
        self.metrics.dump_for_fetcher()
    }

    fn sample_tasks(&self, job: JobId, vertex: usize) -> Vec<ThreadSample> {
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

    fn thread_dump(&self) -> Vec<ThreadInfo> {
        ThreadInfo::of_this_process()
    }

    fn describe(&self) -> TaskManagerInfo {
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
            path: format!("weir://{}/taskmanager_0", self.settings.host),
            data_port: -1,
            last_heartbeat: now_ms(),
            slots_total: self.settings.slots,
            slots_free: self.settings.slots,
            hardware,
            allocated: Vec::new(),
            process_memory: weir_core::process::rss_bytes(),
        }
    }

    fn list_logs(&self) -> Vec<LogFile> {
        self.served_dir()
            .map(|d| d.list().into_iter().map(LogFile::from).collect())
            .unwrap_or_default()
    }

    fn read_log(&self, name: &str) -> Result<Vec<u8>, GatewayError> {
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
