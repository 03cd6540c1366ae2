//! The cluster over several processes: the JobManager's side of TaskManager registration
//! ([`Registrar`]), and a TaskManager process ([`TaskManagerProcess`]) that serves its
//! TaskExecutor over gRPC and keeps itself registered with a JobManager.

use crate::cluster::{ClusterDirs, LOG_FILE, STDOUT_FILE};
use crate::config::ClusterConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use weir_gateway::{JobMasterGateway, TaskExecutorGateway};
use weir_jobmanager::resource_manager::{ResourceManager, SlotPolicy};
use weir_jobmanager::Dispatcher;
use weir_rpc::{TaskManagerOffer, TaskManagerRegistry};
use weir_runtime::RuntimeConfig;
use weir_taskmanager::{TaskExecutor, TaskExecutorSettings};

/// The JobManager's registration desk: a registered TaskManager's slots go to the resource
/// manager; a lost one's slots are released and the jobs it ran restart elsewhere.
pub struct Registrar {
    pub rm: Arc<ResourceManager>,
    pub dispatcher: std::sync::Weak<Dispatcher>,
}

impl TaskManagerRegistry for Registrar {
    fn registered(&self, offer: TaskManagerOffer, gateway: Arc<dyn TaskExecutorGateway>) {
        let id = offer.endpoint.resource_id.clone();
        // Registered again (it lost the JobManager for a while): whatever ran there under the
        // old registration is not trusted to have survived.
        if self.rm.unregister(&id) {
            self.jobs_lost(&id, "it registered again");
        }
        let policy = if offer.dynamic_slots {
            SlotPolicy::Dynamic { base: offer.slots }
        } else {
            SlotPolicy::Fixed(offer.slots)
        };
        self.rm
            .register(gateway, policy, offer.tags, weir_core::now_ms());
    }

    fn heartbeat(&self, resource_id: &str) {
        self.rm.heartbeat(resource_id, weir_core::now_ms());
    }

    fn lost(&self, resource_id: &str, reason: &str) {
        self.rm.unregister(resource_id);
        self.jobs_lost(resource_id, reason);
    }
}

impl Registrar {
    /// The jobs that ran on `resource_id` restart elsewhere.
    fn jobs_lost(&self, resource_id: &str, reason: &str) {
        if let Some(d) = self.dispatcher.upgrade() {
            d.task_manager_lost(resource_id, reason);
        }
    }
}

/// A running TaskManager process.
pub struct TaskManagerProcess {
    pub executor: Arc<TaskExecutor>,
    /// Where its TaskManager service listens.
    pub rpc_address: SocketAddr,
    /// The TaskExecutor holds its JobMaster side weakly (in one process, that side owns the
    /// TaskExecutor); here the process keeps it.
    _job_master: Arc<dyn JobMasterGateway>,
    server: JoinHandle<Result<(), String>>,
    registration: JoinHandle<weir_rpc::RegistrationRefused>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl TaskManagerProcess {
    /// Starts the TaskExecutor and its service, and begins registering with the JobManager
    /// at `jobmanager` (`host:port` of its RPC service). Call inside a tokio runtime.
    pub async fn start(
        config: &ClusterConfig,
        dirs: &ClusterDirs,
        jobmanager: &str,
    ) -> Result<TaskManagerProcess, String> {
        for d in [&dirs.data, &dirs.logs] {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create directory {}: {e}", d.display()))?;
        }
        weir_gateway::checkpoint_storage::configure_s3(config.s3());
        let host = config.get("taskmanager.host");
        let bind = format!(
            "{}:{}",
            config.get("taskmanager.bind-host"),
            config.port("taskmanager.rpc.port")?
        );
        let listener = tokio::net::TcpListener::bind(&bind).await.map_err(|e| {
            format!(
                "cannot listen on {bind}: {e} (set taskmanager.rpc.port or taskmanager.bind-host)"
            )
        })?;
        let rpc_address = listener.local_addr().map_err(|e| e.to_string())?;
        // Where the subtasks of other TaskManagers send this one data.
        let data_bind = format!(
            "{}:{}",
            config.get("taskmanager.bind-host"),
            config.port("taskmanager.data.port")?
        );
        let data_listener = std::net::TcpListener::bind(&data_bind).map_err(|e| {
            format!(
                "cannot listen for data on {data_bind}: {e} (set taskmanager.data.port or taskmanager.bind-host)"
            )
        })?;
        let slots = config.slot_policy()?;
        let executor = TaskExecutor::with_data_port(
            TaskExecutorSettings {
                host: host.clone(),
                resource_id: Some(config.get("taskmanager.resource-id"))
                    .filter(|id| !id.trim().is_empty()),
                slots: match slots {
                    SlotPolicy::Fixed(n) | SlotPolicy::Dynamic { base: n } => n,
                },
                log_dir: Some(dirs.logs.clone()),
                log_file: LOG_FILE.into(),
                stdout_file: STDOUT_FILE.into(),
                profiling: weir_gateway::ProfilingSettings {
                    dir: dirs.profiler.clone(),
                    max_duration: config.duration("rest.profiling.max-duration")?,
                    history_size: config.usize("rest.profiling.history-size")?,
                    ..Default::default()
                },
                // No sandbox here: the JobManager that deploys to this TaskManager checked the
                // job's paths at submission, against its own data directory and roots.
                runtime: RuntimeConfig {
                    cancellation_timeout: config.duration("task.cancellation.timeout")?,
                    ..RuntimeConfig::default()
                },
            },
            crate::plugins::registry(),
            data_listener,
        )
        .map_err(|e| format!("cannot serve data on {data_bind}: {e}"))?;
        let job_master: Arc<dyn JobMasterGateway> =
            Arc::new(weir_rpc::RemoteJobMaster::connect(jobmanager)?);
        executor.connect(&job_master);
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(weir_rpc::serve_task_manager(
            executor.clone() as Arc<dyn TaskExecutorGateway>,
            listener,
            async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            },
        ));
        let offer = TaskManagerOffer {
            endpoint: executor.endpoint().clone(),
            rpc_address: format!("{host}:{}", rpc_address.port()),
            slots: match slots {
                SlotPolicy::Fixed(n) | SlotPolicy::Dynamic { base: n } => n,
            },
            dynamic_slots: matches!(slots, SlotPolicy::Dynamic { .. }),
            tags: config.worker_tags(),
        };
        let address = jobmanager.to_string();
        let orphans = executor.clone();
        let registration = tokio::spawn(async move {
            weir_rpc::register_with(
                &address,
                offer,
                |took| tracing::info!("registered {} ms after start", took.as_millis()),
                || {
                    let executor = orphans.clone();
                    async move {
                        let n = executor
                            .cancel_all(std::time::Duration::from_secs(10))
                            .await;
                        if n > 0 {
                            tracing::warn!(
                                "cancelled the tasks of {n} job(s) the lost JobManager had deployed"
                            );
                        }
                    }
                },
            )
            .await
        });
        Ok(TaskManagerProcess {
            executor,
            rpc_address,
            _job_master: job_master,
            server,
            registration,
            stop,
        })
    }

    /// Runs until the JobManager refuses this TaskManager (returns why) or `stop` is called.
    pub async fn refused(&mut self) -> String {
        match (&mut self.registration).await {
            Ok(refused) => refused.0,
            Err(e) => format!("the registration task stopped: {e}"),
        }
    }

    /// Stops serving and registering.
    pub async fn stop(self) {
        self.registration.abort();
        let _ = self.stop.send(true);
        let _ = self.server.await;
    }
}
