//! The TaskExecutor: prepares a deployed job with its plugins, runs the subtasks, forwards
//! their state changes to the JobMaster, and exposes live I/O per subtask.

use async_trait::async_trait;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use weir_core::logdir::ServedDir;
use weir_core::{JobId, WeirError};
use weir_gateway::*;
use weir_runtime::executor::CancelHandle;
use weir_runtime::metrics::{JobMetrics, SubtaskMetrics};
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
}

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
    pub fn new(settings: TaskExecutorSettings, registry: PluginRegistry) -> Arc<Self> {
        let suffix = &uuid_hex()[..6];
        Arc::new(Self {
            resource_id: format!("{}-{suffix}", settings.host),
            settings,
            registry,
            jobs: Arc::new(Mutex::new(HashMap::new())),
            job_master: OnceLock::new(),
            system: Mutex::new(sysinfo::System::new().ok()),
        })
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
            .deploy()
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
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(
                job_id,
                RunningJob {
                    cancel: running.cancel_handle(),
                    metrics: running.metrics.clone(),
                },
            );
        }
        let job_master = self.job_master.get().cloned();
        let attempt = deployment.attempt;
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
            running
                .wait_with(|ev| {
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
