//! The cluster in this process: the mini cluster (one JobManager (Dispatcher) and one
//! TaskManager (TaskExecutor) wired through the gateway traits), or a JobManager alone whose
//! TaskManagers register over gRPC; the Flink and SeaTunnel REST APIs in front of either.

use crate::compiler::PluginCompiler;
use crate::config::ClusterConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::task::JoinHandle;
use weir_gateway::metrics::MetricQueryService;
use weir_gateway::{JobMasterGateway, RestfulGateway, TaskExecutorGateway};
use weir_jobmanager::archive::{now_ms, JobArchive};
use weir_jobmanager::resource_manager::{Membership, ResourceManager, SlotStrategy};
use weir_jobmanager::{Dispatcher, DispatcherSettings, FlameGraphSettings};
use weir_rest::RestSettings;
use weir_runtime::RuntimeConfig;
use weir_taskmanager::{TaskExecutor, TaskExecutorSettings};

/// The main log and stdout files of a mini cluster, in its log directory.
pub const LOG_FILE: &str = "weir.log";
pub const STDOUT_FILE: &str = "weir.out";

/// Where a mini cluster keeps its files.
#[derive(Debug, Clone)]
pub struct ClusterDirs {
    pub data: PathBuf,
    pub logs: PathBuf,
    pub uploads: PathBuf,
    /// Profiling results (`rest.profiling.dir`).
    pub profiler: PathBuf,
    /// The job archive (finished jobs for the history and the dashboard).
    pub archive: PathBuf,
}

impl ClusterDirs {
    /// The layout under a data directory, honouring `env.log.dir` and `web.upload.dir`.
    pub fn under(data: PathBuf, config: &ClusterConfig) -> Self {
        Self {
            logs: config.dir("env.log.dir", data.join("log")),
            uploads: config.dir("web.upload.dir", data.join("uploads")),
            profiler: config.dir("rest.profiling.dir", data.join("profiler")),
            archive: data.join("job-archive.redb"),
            data,
        }
    }
}

/// `web.dashboard.dir`, checked: unset is no dashboard, a directory without `index.html` is an
/// error at start-up rather than a blank page later.
fn dashboard_dir(config: &ClusterConfig) -> Result<Option<std::path::PathBuf>, String> {
    let raw = config.get("web.dashboard.dir");
    if raw.trim().is_empty() {
        return Ok(None);
    }
    weir_rest::web_content::check_dashboard_dir(std::path::Path::new(raw.trim())).map(Some)
}

/// What browsers may do on every REST listener (`web.access-control-allow-origin`,
/// `rest.allowed-hosts`, and the configured `rest.address`).
fn browser_policy(config: &ClusterConfig) -> weir_rest::browser_guard::BrowserPolicy {
    weir_rest::browser_guard::BrowserPolicy::from_config(
        &config.get("web.access-control-allow-origin"),
        &config.get("rest.allowed-hosts"),
        &config.get("rest.address"),
    )
}

/// Who may call the listeners and over what: resolved once from the configuration, shared by
/// every listener.
pub struct Security {
    pub auth: crate::auth_config::ListenerAuth,
    pub tls: Option<weir_rest::tls::Tls>,
}

impl Security {
    fn resolve(config: &ClusterConfig) -> Result<Self, String> {
        let tls = crate::tls_config::resolve(config)?
            .map(|files| weir_rest::tls::server_config(&files))
            .transpose()?;
        let mutual = tls.as_ref().is_some_and(|t| t.mutual);
        let auth =
            crate::auth_config::resolve(config, &crate::auth_config::ProcessEnvironment, mutual)?;
        Ok(Self { auth, tls })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// Binds the Prometheus reporter on the first free port of `metrics.reporter.prom.port`.
/// As in Flink, a reporter that cannot bind is logged and the cluster runs on without it.
async fn start_prometheus(
    config: &ClusterConfig,
    sources: Vec<Arc<MetricQueryService>>,
    security: &Security,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Option<SocketAddr>, String> {
    let host = config.get("metrics.reporter.prom.host");
    let ports = config.port_range("metrics.reporter.prom.port")?;
    for port in ports.clone() {
        if let Ok(listener) = tokio::net::TcpListener::bind((host.as_str(), port)).await {
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            tokio::spawn(weir_rest::prometheus::serve(
                listener,
                sources,
                security.auth.prometheus.clone(),
                security.tls.clone(),
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            ));
            tracing::info!(
                "Prometheus metrics on {}://{address}/metrics",
                security.scheme()
            );
            return Ok(Some(address));
        }
    }
    tracing::warn!(
        "the Prometheus reporter could not bind {host} on any port of {ports:?}; running without it"
    );
    Ok(None)
}

/// Binds one of SeaTunnel's REST servers (`which` is "v1" or "v2") on `port` when `enabled`.
/// A port that is taken is logged and the cluster runs on without that server: the Flink API
/// is the cluster's own, SeaTunnel's are extra front doors.
async fn bind_seatunnel(
    config: &ClusterConfig,
    which: &str,
    enabled: bool,
    port: u16,
) -> Result<Option<tokio::net::TcpListener>, String> {
    if !enabled {
        return Ok(None);
    }
    let host = config.get("rest.bind-address");
    match tokio::net::TcpListener::bind((host.as_str(), port)).await {
        Ok(l) => Ok(Some(l)),
        Err(e) => {
            tracing::warn!(
                "SeaTunnel's REST API {which} could not listen on {host}:{port}: {e}; running without it"
            );
            Ok(None)
        }
    }
}

/// Starts SeaTunnel's REST servers as configured; returns where they listen.
async fn start_seatunnel(
    config: &ClusterConfig,
    dirs: &ClusterDirs,
    gateway: Arc<dyn RestfulGateway>,
    security: &Security,
    stop: &tokio::sync::watch::Sender<bool>,
) -> Result<(Option<SocketAddr>, Option<SocketAddr>), String> {
    let v1 = bind_seatunnel(
        config,
        "v1",
        config.bool("seatunnel.engine.rest-v1.enabled")?,
        config.port("seatunnel.engine.rest-v1.port")?,
    )
    .await?;
    let v2 = bind_seatunnel(
        config,
        "v2",
        config.bool("seatunnel.engine.http.enable-http")?,
        config.port("seatunnel.engine.http.port")?,
    )
    .await?;
    let address =
        |l: &Option<tokio::net::TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
    let (v1_addr, v2_addr) = (address(&v1), address(&v2));
    let url = |a: Option<SocketAddr>| {
        a.map(|a| {
            format!(
                "{}://{}:{}",
                security.scheme(),
                config.get("rest.address"),
                a.port()
            )
        })
    };
    let settings = weir_rest::seatunnel::SeaTunnelSettings {
        context_path: config.get("seatunnel.engine.http.context-path"),
        savepoint_dir: dirs.data.join("savepoints").display().to_string(),
        v1_url: url(v1_addr),
        v2_url: url(v2_addr),
        max_content_length: config.usize("rest.server.max-content-length")?,
        browser: browser_policy(config),
        auth: security.auth.rest.clone(),
    };
    let (v1_router, v2_router) = weir_rest::seatunnel::routers(gateway, settings);
    for (listener, router) in [(v1, v1_router), (v2, v2_router)] {
        let Some(listener) = listener else { continue };
        let mut stop_rx = stop.subscribe();
        tokio::spawn(weir_rest::serve(
            listener,
            router,
            security.tls.clone(),
            async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            },
        ));
    }
    let scheme = security.scheme();
    if let Some(a) = v1_addr {
        tracing::info!("SeaTunnel REST API v1 on {scheme}://{a}/hazelcast/rest/maps");
    }
    if let Some(a) = v2_addr {
        tracing::info!("SeaTunnel REST API v2 on {scheme}://{a}");
    }
    Ok((v1_addr, v2_addr))
}

/// What the process plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterRole {
    /// `weir start`: a JobManager and one TaskManager in this process.
    Mini,
    /// `weir jobmanager`: no slots of its own; TaskManagers register over gRPC.
    JobManager,
}

/// Serves the JobManager's RPC service (`jobmanager.bind-host`, `jobmanager.rpc.port`) that
/// TaskManagers register with; returns the address they are told (`jobmanager.rpc.address`).
async fn start_rpc(
    config: &ClusterConfig,
    rm: &Arc<ResourceManager>,
    dispatcher: &Arc<Dispatcher>,
    job_master: Arc<dyn JobMasterGateway>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<String, String> {
    let bind = format!(
        "{}:{}",
        config.get("jobmanager.bind-host"),
        config.port("jobmanager.rpc.port")?
    );
    let listener = tokio::net::TcpListener::bind(&bind).await.map_err(|e| {
        format!("cannot listen on {bind}: {e} (set jobmanager.rpc.port or jobmanager.bind-host)")
    })?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let registrar = Arc::new(crate::distributed::Registrar {
        rm: rm.clone(),
        dispatcher: Arc::downgrade(dispatcher),
    });
    let service = weir_rpc::JobManagerService::new(
        registrar,
        job_master,
        config.duration("heartbeat.interval")?,
        config.duration("heartbeat.timeout")?,
    );
    tokio::spawn(async move {
        let served = service
            .serve(listener, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!("{e}");
        }
    });
    let address = format!("{}:{port}", config.get("jobmanager.rpc.address"));
    tracing::info!("TaskManagers register at {address}");
    Ok(address)
}

/// A running mini cluster (or JobManager).
pub struct MiniCluster {
    pub dispatcher: Arc<Dispatcher>,
    pub address: SocketAddr,
    /// Where TaskManagers register (`host:port`), for a JobManager of its own.
    pub rpc_address: Option<String>,
    /// Where the Prometheus reporter listens, when `metrics.reporters` lists `prom`.
    pub prometheus: Option<SocketAddr>,
    /// Where SeaTunnel's REST API v1 (`/hazelcast/rest/maps/...`) and v2 listen, when on.
    pub seatunnel_v1: Option<SocketAddr>,
    pub seatunnel_v2: Option<SocketAddr>,
    /// `https` when the listeners speak TLS, else `http`.
    pub scheme: &'static str,
    pub dirs: ClusterDirs,
    server: JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl MiniCluster {
    /// Starts the mini cluster and its REST server. Call inside a tokio runtime.
    pub async fn start(config: ClusterConfig, dirs: ClusterDirs) -> Result<MiniCluster, String> {
        Self::start_as(config, dirs, ClusterRole::Mini).await
    }

    /// Starts the cluster in `role` and its REST servers. Call inside a tokio runtime.
    pub async fn start_as(
        mut config: ClusterConfig,
        dirs: ClusterDirs,
        role: ClusterRole,
    ) -> Result<MiniCluster, String> {
        for d in [&dirs.data, &dirs.logs, &dirs.uploads] {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create directory {}: {e}", d.display()))?;
        }
        // Who may call, and over what, is settled before anything listens.
        let security = Security::resolve(&config)?;
        // Checkpoint and savepoint locations may be s3:// URIs.
        weir_gateway::checkpoint_storage::configure_s3(config.s3());
        let bind = format!(
            "{}:{}",
            config.get("rest.bind-address"),
            config.port("rest.port")?
        );
        let listener = tokio::net::TcpListener::bind(&bind).await.map_err(|e| {
            format!("cannot listen on {bind}: {e} (set rest.port or rest.bind-address)")
        })?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        config.set("rest.port", address.port().to_string());
        let advertised = format!(
            "{}://{}:{}",
            security.scheme(),
            config.get("rest.address"),
            address.port()
        );

        let registry = crate::plugins::registry();
        let sandbox = crate::sandbox_config::from_config(&config, &dirs)?;
        let compiler = Arc::new(PluginCompiler {
            registry: registry.clone(),
            default_parallelism: config.usize("parallelism.default")?,
            env_allowlist: config.list("weir.job-file.env-allowlist"),
            sandbox: sandbox.files.clone(),
            endpoints: sandbox.endpoints.clone(),
        });
        let archive = JobArchive::open(
            &dirs.archive,
            config.usize("jobstore.max-capacity")?,
            config.duration("jobstore.expiration-time")?,
        )?;
        let rm = Arc::new(
            ResourceManager::with_strategy(if config.bool("cluster.evenly-spread-out-slots")? {
                SlotStrategy::Spread
            } else {
                SlotStrategy::Pack
            })
            // A mini cluster's TaskExecutor is its own, for good; a JobManager's TaskManagers
            // register when they come (one by one after a restart).
            .with_membership(match role {
                ClusterRole::Mini => Membership::Fixed,
                ClusterRole::JobManager => Membership::Elastic,
            }),
        );
        let mut effective = config.effective();
        effective.insert("weir.data-dir".into(), dirs.data.display().to_string());
        effective.insert("env.log.dir".into(), dirs.logs.display().to_string());
        // Checkpoints live with the rest of the cluster's data unless configured elsewhere.
        if effective
            .get("execution.checkpointing.dir")
            .is_none_or(|d| d.trim().is_empty())
        {
            effective.insert(
                "execution.checkpointing.dir".into(),
                dirs.data.join("checkpoints").display().to_string(),
            );
        }
        let profiling = weir_gateway::ProfilingSettings {
            dir: dirs.profiler.clone(),
            max_duration: config.duration("rest.profiling.max-duration")?,
            history_size: config.usize("rest.profiling.history-size")?,
            ..Default::default()
        };
        let dispatcher = Dispatcher::new(
            compiler,
            rm.clone(),
            archive,
            DispatcherSettings {
                config: effective,
                log_dir: Some(dirs.logs.clone()),
                log_file: LOG_FILE.into(),
                stdout_file: STDOUT_FILE.into(),
                slot_request_timeout: config.duration("slot.request.timeout")?,
                host: config.get("rest.address"),
                metric_fetch_interval: config.duration("metrics.fetcher.update-interval")?,
                flame_graph: FlameGraphSettings {
                    enabled: config.bool("rest.flamegraph.enabled")?,
                    num_samples: config.usize("rest.flamegraph.num-samples")?,
                    delay_between_samples: config
                        .duration("rest.flamegraph.delay-between-samples")?,
                },
                profiling: profiling.clone(),
                sandbox: sandbox.state.clone(),
            },
        );
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let tm = match role {
            ClusterRole::Mini => Some(TaskExecutor::new(
                TaskExecutorSettings {
                    host: config.get("rest.address"),
                    resource_id: None,
                    slots: config.usize("taskmanager.numberOfTaskSlots")?.max(1),
                    log_dir: Some(dirs.logs.clone()),
                    log_file: LOG_FILE.into(),
                    stdout_file: STDOUT_FILE.into(),
                    profiling,
                    runtime: RuntimeConfig {
                        cancellation_timeout: config.duration("task.cancellation.timeout")?,
                        sandbox: sandbox.files.clone(),
                        endpoints: sandbox.endpoints.clone(),
                        ..RuntimeConfig::default()
                    },
                },
                registry,
            )),
            ClusterRole::JobManager => None,
        };
        let job_master: Arc<dyn JobMasterGateway> = dispatcher.clone();
        if let Some(tm) = &tm {
            tm.connect(&job_master);
            rm.register(
                tm.clone() as Arc<dyn TaskExecutorGateway>,
                config.slot_policy()?,
                config.worker_tags(),
                now_ms(),
            );
        }
        let rpc_address = match role {
            ClusterRole::Mini => None,
            ClusterRole::JobManager => Some(
                start_rpc(
                    &config,
                    &rm,
                    &dispatcher,
                    job_master.clone(),
                    stop.subscribe(),
                )
                .await?,
            ),
        };

        let settings = RestSettings {
            browser: browser_policy(&config),
            auth: security.auth.rest.clone(),
            max_content_length: config.usize("rest.server.max-content-length")?,
            refresh_interval_ms: config.i64("web.refresh-interval")?,
            web_submit: config.bool("web.submit.enable")?,
            web_cancel: config.bool("web.cancel.enable")?,
            upload_dir: dirs.uploads.clone(),
            advertised_url: advertised,
            dashboard_dir: dashboard_dir(&config)?,
            profiling: config.bool("rest.profiling.enabled")?,
        };
        if role == ClusterRole::JobManager {
            // Jobs an earlier run of this JobManager left running resume from their latest
            // checkpoints once TaskManagers offer slots. Registered before the REST server
            // answers (the port is already bound, so clients wait in its backlog): a dashboard
            // left open on a recovering job must never be told it does not exist.
            let store = weir_jobmanager::job_store::FileJobStore::open(&dirs.data.join("jobs"))?;
            let recovered = dispatcher.recover(Arc::new(store)).await;
            if recovered > 0 {
                tracing::info!("recovered {recovered} job(s) from the job store");
            }
        }
        let router =
            weir_rest::flink_router(dispatcher.clone() as Arc<dyn RestfulGateway>, settings);
        let server = tokio::spawn(weir_rest::serve(
            listener,
            router,
            security.tls.clone(),
            async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            },
        ));
        let (seatunnel_v1, seatunnel_v2) = start_seatunnel(
            &config,
            &dirs,
            dispatcher.clone() as Arc<dyn RestfulGateway>,
            &security,
            &stop,
        )
        .await?;
        let prometheus = if config.reporter_enabled("prom") {
            let mut sources = vec![dispatcher.metric_query_service().clone()];
            sources.extend(tm.iter().map(|tm| tm.metric_query_service().clone()));
            start_prometheus(&config, sources, &security, stop.subscribe()).await?
        } else {
            None
        };
        Ok(MiniCluster {
            scheme: security.scheme(),
            dispatcher,
            address,
            rpc_address,
            prometheus,
            seatunnel_v1,
            seatunnel_v2,
            dirs,
            server,
            stop,
        })
    }

    /// The REST base URL.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.address)
    }

    /// Waits until `DELETE /cluster` asks the cluster to stop.
    pub async fn shutdown_requested(&self) {
        let mut rx = self.dispatcher.shutdown_requested();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Stops: cancels running jobs (they are archived), then stops the REST server.
    pub async fn stop(self) {
        self.dispatcher
            .cancel_all(std::time::Duration::from_secs(5))
            .await;
        let _ = self.stop.send(true);
        // The server gives requests in flight a grace period; past twice that, stopping goes
        // on without it rather than hang whoever stops the cluster.
        let bound = 2 * weir_rest::server::SHUTDOWN_GRACE + std::time::Duration::from_secs(5);
        if tokio::time::timeout(bound, self.server).await.is_err() {
            tracing::warn!(
                "the REST server did not stop within {} s; stopping without it",
                bound.as_secs()
            );
        }
        // Release the archive file now, whoever still holds the Dispatcher for a moment.
        self.dispatcher.close_archive();
    }
}
