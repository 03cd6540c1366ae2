//! The Dispatcher: accepts jobs, runs one JobMaster each, archives them when they end, and
//! answers the REST layer (`RestfulGateway`) and the TaskExecutors (`JobMasterGateway`).

use crate::archive::{now_ms, JobArchive};
use crate::execution_graph::ExecutionGraph;
use crate::job_master::{JobMaster, RescaleOutcome, RECOVERY_PATH_KEY};
use crate::job_metrics::job_group;
use crate::job_settings::JobSettings;
use crate::job_store::JobStore;
use crate::metric_fetcher::{FetchSources, MetricFetcher};
use crate::operations::{OperationRecord, OperationStore};
use crate::resource_manager::ResourceManager;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use weir_core::logdir::ServedDir;
use weir_core::VertexId;
use weir_core::{JobId, JobStatus, TriggerId};
use weir_gateway::restful::RestfulGateway;
use weir_gateway::*;
use weir_metrics::system::register_process_metrics;
use weir_metrics::{GaugeValue, GroupKey, MetricGroup, MetricQueryService, MetricStore, Scope};

/// How the Dispatcher is set up.
#[derive(Debug, Clone)]
pub struct DispatcherSettings {
    /// The cluster's effective configuration (served by `/jobmanager/config`).
    pub config: BTreeMap<String, String>,
    /// Where the JobManager's logs are.
    pub log_dir: Option<PathBuf>,
    /// The JobManager's main log file name and stdout file name in `log_dir`.
    pub log_file: String,
    pub stdout_file: String,
    /// How long a job waits for free slots (`slot.request.timeout`).
    pub slot_request_timeout: Duration,
    /// The JobManager's host name (a scope variable of its metrics).
    pub host: String,
    /// How old the MetricStore may get (`metrics.fetcher.update-interval`).
    pub metric_fetch_interval: Duration,
    pub flame_graph: FlameGraphSettings,
    /// `rest.profiling.*` for the JobManager's own profiler.
    pub profiling: weir_gateway::ProfilingSettings,
    /// Where a job's checkpoints and savepoints may go, be restored from and be disposed of.
    pub sandbox: weir_pipeline::sandbox::PathSandbox,
}

/// `rest.flamegraph.*`: whether flame graphs are served and how they are sampled.
#[derive(Debug, Clone)]
pub struct FlameGraphSettings {
    pub enabled: bool,
    pub num_samples: usize,
    pub delay_between_samples: Duration,
}

impl Default for FlameGraphSettings {
    fn default() -> Self {
        // Flink samples 100 stack traces 50 ms apart and is off by default because thread
        // sampling costs its TaskManagers; weir's sample is one atomic load per subtask, so it
        // is on and takes its 100 samples 2 ms apart.
        Self {
            enabled: true,
            num_samples: 100,
            delay_between_samples: Duration::from_millis(2),
        }
    }
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        Self {
            config: BTreeMap::new(),
            log_dir: None,
            log_file: "jobmanager.log".into(),
            stdout_file: "jobmanager.out".into(),
            slot_request_timeout: Duration::from_secs(300),
            host: "localhost".into(),
            metric_fetch_interval: Duration::from_secs(1),
            flame_graph: FlameGraphSettings::default(),
            profiling: weir_gateway::ProfilingSettings::default(),
            sandbox: Default::default(),
        }
    }
}

/// The cluster's front door.
pub struct Dispatcher {
    compiler: Arc<dyn JobCompiler>,
    rm: Arc<ResourceManager>,
    running: RwLock<HashMap<JobId, Arc<JobMaster>>>,
    archive: Arc<JobArchive>,
    settings: DispatcherSettings,
    terminated_tx: mpsc::UnboundedSender<JobId>,
    shutdown: watch::Sender<bool>,
    heartbeats: RwLock<HashMap<JobId, i64>>,
    /// The JobManager's metrics (process, cluster, jobs).
    metrics: Arc<MetricQueryService>,
    fetcher: MetricFetcher,
    /// Checkpoint, savepoint and stop triggers and their results.
    operations: Arc<Mutex<OperationStore>>,
    /// Checkpoint statistics of archived jobs (kept while the job is in the archive).
    archived_checkpoints: RwLock<HashMap<JobId, Arc<CheckpointStatsSnapshot>>>,
    /// Samples the JobManager's process on request (Flink's JobManager profiler).
    profiler: weir_gateway::ProfilingService,
    /// Where jobs that have not ended are kept across a JobManager restart (set by
    /// [`Dispatcher::recover`]; the mini cluster has none).
    job_store: std::sync::OnceLock<Arc<dyn JobStore>>,
}

/// Log file size served at most (from the end).
const LOG_LIMIT: u64 = 8 << 20;

impl Dispatcher {
    /// Refuses a local checkpoint or savepoint location outside the job sandbox (400, naming
    /// the option that allows more); S3 locations and unparsable ones pass, for their own
    /// checks to answer.
    fn check_state_location(&self, raw: &str, what: &str) -> Result<(), GatewayError> {
        let raw = raw.trim();
        if raw.starts_with("s3://") || raw.starts_with("s3a://") {
            return Ok(());
        }
        match CheckpointLocation::parse(raw) {
            Ok(location) => match location.local_dir() {
                Some(dir) => self.check_state_path(dir, what),
                None => Ok(()),
            },
            Err(_) => Ok(()),
        }
    }

    fn check_state_path(&self, dir: &std::path::Path, what: &str) -> Result<(), GatewayError> {
        self.settings
            .sandbox
            .check(dir, what)
            .map(|_| ())
            .map_err(GatewayError::BadRequest)
    }

    /// A Dispatcher; call from within a tokio runtime (it starts its archiving task).
    pub fn new(
        compiler: Arc<dyn JobCompiler>,
        rm: Arc<ResourceManager>,
        archive: JobArchive,
        settings: DispatcherSettings,
    ) -> Arc<Self> {
        let (terminated_tx, mut terminated_rx) = mpsc::unbounded_channel::<JobId>();
        let (shutdown, _) = watch::channel(false);
        let fetcher = MetricFetcher::new(settings.metric_fetch_interval);
        let retention = settings
            .config
            .get("rest.async.store-duration")
            .and_then(|d| weir_core::time::parse_duration(d).ok())
            .unwrap_or(Duration::from_secs(300));
        let profiler =
            weir_gateway::ProfilingService::new("JobManager", settings.profiling.clone());
        let dispatcher = Arc::new(Self {
            profiler,
            compiler,
            rm,
            running: RwLock::new(HashMap::new()),
            archive: Arc::new(archive),
            settings,
            terminated_tx,
            shutdown,
            heartbeats: RwLock::new(HashMap::new()),
            metrics: MetricQueryService::new(),
            fetcher,
            operations: Arc::new(Mutex::new(OperationStore::new(retention))),
            archived_checkpoints: RwLock::new(HashMap::new()),
            job_store: std::sync::OnceLock::new(),
        });
        dispatcher.restore_operations();
        dispatcher.register_cluster_metrics();
        let weak = Arc::downgrade(&dispatcher);
        tokio::spawn(async move {
            while let Some(job) = terminated_rx.recv().await {
                let Some(d) = weak.upgrade() else { break };
                d.archive_job(job);
            }
        });
        dispatcher
    }

    /// The JobManager's process and cluster metrics, the meter tick and the periodic fetch.
    fn register_cluster_metrics(self: &Arc<Self>) {
        let mut g = MetricGroup::new(Scope::JobManager {
            host: self.settings.host.as_str().into(),
        });
        register_process_metrics(&mut g);
        let rm = self.rm.clone();
        g.gauge("numRegisteredTaskManagers", move || {
            GaugeValue::Int(rm.executors().len() as i64)
        });
        g.gauge("numPendingTaskManagers", || GaugeValue::Int(0));
        let weak = Arc::downgrade(self);
        g.gauge("numRunningJobs", move || {
            let n = weak
                .upgrade()
                .and_then(|d| {
                    d.running
                        .read()
                        .ok()
                        .map(|r| r.values().filter(|m| !m.status().is_terminal()).count())
                })
                .unwrap_or(0);
            GaugeValue::Int(n as i64)
        });
        let rm = self.rm.clone();
        g.gauge("taskSlotsAvailable", move || {
            GaugeValue::Int(rm.slot_counts().1 as i64)
        });
        let rm = self.rm.clone();
        g.gauge("taskSlotsTotal", move || {
            GaugeValue::Int(rm.slot_counts().0 as i64)
        });
        self.metrics.register(GroupKey::Process, vec![g]);
        self.metrics.spawn_ticker(Duration::from_secs(1));
        let weak = Arc::downgrade(self);
        let interval = self.fetcher.interval().max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut every = tokio::time::interval(interval);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(d) = weak.upgrade() else { break };
                d.fetch_metrics_if_stale().await;
            }
        });
    }

    /// Fetches every metric dump into the store if it is stale.
    async fn fetch_metrics_if_stale(&self) {
        if !self.fetcher.needs_fetch(now_ms()) {
            return;
        }
        self.fetcher
            .fetch(
                || {
                    let mut known: HashSet<JobId> = self
                        .running
                        .read()
                        .map(|r| r.keys().copied().collect())
                        .unwrap_or_default();
                    known.extend(self.archive.overviews().iter().map(|o| o.job_id));
                    FetchSources {
                        jobmanager: self.metrics.dump_for_fetcher(),
                        taskmanagers: self.rm.executors(),
                        known_jobs: known,
                    }
                },
                now_ms,
            )
            .await;
    }

    /// The JobManager's MetricQueryService (for the Prometheus exporter of its process).
    pub fn metric_query_service(&self) -> &Arc<MetricQueryService> {
        &self.metrics
    }

    /// Moves a terminal job from the running set to the archive and frees its slots.
    fn archive_job(&self, job: JobId) {
        let master = self.running.read().ok().and_then(|r| r.get(&job).cloned());
        if master.as_ref().is_some_and(|m| !m.status().is_terminal()) {
            // A late notice about an earlier run of an id that runs again (SeaTunnel's resume).
            return;
        }
        if let Some(store) = self.job_store.get() {
            store.remove(job);
        }
        if let Some(master) = master {
            if let Some(stats) = master.checkpoint_stats() {
                if let Ok(mut a) = self.archived_checkpoints.write() {
                    a.insert(job, stats);
                    // Statistics of jobs the archive dropped go with them.
                    a.retain(|j, _| *j == job || self.archive.get(*j).is_some());
                }
            }
            let mut last = master.published().as_ref().clone();
            last.taken_at = now_ms();
            self.archive.put(last);
            self.metrics.unregister(GroupKey::Job(job));
            self.fetcher.invalidate();
            if let Ok(mut r) = self.running.write() {
                r.remove(&job);
            }
        }
        self.rm.release(job);
        if let Ok(mut h) = self.heartbeats.write() {
            h.remove(&job);
        }
    }

    /// The newest completed savepoint or retained checkpoint of an ended job that is still on
    /// disk, to run it again from (SeaTunnel's start with savepoint).
    fn latest_restore_point(&self, job: JobId) -> Option<String> {
        let stats = self
            .archived_checkpoints
            .read()
            .ok()
            .and_then(|a| a.get(&job).cloned());
        stats
            .iter()
            .flat_map(|s| s.latest_savepoint.iter().chain(s.latest_completed.iter()))
            .filter(|c| !c.discarded)
            .filter_map(|c| Some((c.id, c.external_path.clone()?)))
            .filter(|(_, path)| {
                // A local one must still be there; an object store's is trusted (no
                // round trip per listed checkpoint).
                CheckpointLocation::parse(path).is_ok_and(|l| {
                    l.local_dir().is_none_or(|d| {
                        d.join(weir_gateway::checkpoint_storage::METADATA_FILE)
                            .exists()
                    })
                })
            })
            .max_by_key(|(id, _)| *id)
            .map(|(_, path)| path)
    }

    /// Every job master, copied out of the map so none is called under its lock.
    fn masters(&self) -> Vec<Arc<JobMaster>> {
        self.running
            .read()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default()
    }

    fn master(&self, job: JobId) -> Option<Arc<JobMaster>> {
        self.running.read().ok()?.get(&job).cloned()
    }

    /// Resolves when the cluster is asked to shut down.
    pub fn shutdown_requested(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Closes the archive file (finished jobs stay readable from memory); used at shutdown.
    pub fn close_archive(&self) {
        self.archive.close();
    }

    /// The resource manager (for TaskExecutors to register with).
    pub fn resource_manager(&self) -> &Arc<ResourceManager> {
        &self.rm
    }

    /// Keeps every job that has not ended in `store` from now on, and resubmits the jobs an
    /// earlier run of this JobManager left there, each from the newest completed checkpoint in
    /// its checkpoint directory. Returns how many were recovered.
    pub async fn recover(&self, store: Arc<dyn JobStore>) -> usize {
        let stored = store.jobs();
        if self.job_store.set(store.clone()).is_err() {
            return 0;
        }
        let mut recovered = 0;
        for (job, read) in stored {
            let mut submission = match read {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(
                        "job {job} cannot be recovered: its stored submission is unreadable ({e})"
                    );
                    continue;
                }
            };
            submission.job_id = Some(job);
            submission.resume_previous = false;
            let mut effective = self.settings.config.clone();
            effective.extend(submission.config.clone());
            let latest = effective
                .get("execution.checkpointing.dir")
                .and_then(|d| CheckpointLocation::parse(d).ok())
                .and_then(|dir| crate::job_store::latest_checkpoint(&dir, job));
            if let Some(chk) = &latest {
                submission
                    .config
                    .insert(RECOVERY_PATH_KEY.into(), chk.uri());
            }
            match self.submit_job(submission).await {
                Ok(_) => {
                    recovered += 1;
                    tracing::info!(
                        "recovered job {job} from {}",
                        latest.map_or("its start (no checkpoint completed)".into(), |c| c.uri())
                    );
                }
                Err(e) => tracing::error!("job {job} could not be recovered: {e}"),
            }
        }
        recovered
    }

    /// The TaskManager `resource_id` is gone: every job it ran restarts elsewhere (or fails,
    /// as its restart strategy says).
    pub fn task_manager_lost(&self, resource_id: &str, reason: &str) {
        let masters = self.masters();
        for m in masters {
            m.task_manager_lost(resource_id, reason);
        }
        self.fetcher.invalidate();
    }

    /// Cancels every running job and waits (up to `timeout`) until they are archived.
    pub async fn cancel_all(&self, timeout: Duration) {
        let masters = self.masters();
        let deadline = tokio::time::Instant::now() + timeout;
        // A master that does not answer (it is ending) must not hold up the rest, nor the
        // caller past the deadline.
        for m in &masters {
            let _ = tokio::time::timeout_at(deadline, m.cancel()).await;
        }
        while tokio::time::Instant::now() < deadline {
            if self.running.read().map(|r| r.is_empty()).unwrap_or(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn served_dir(&self) -> Result<ServedDir, GatewayError> {
        self.settings
            .log_dir
            .clone()
            .map(ServedDir::new)
            .ok_or_else(|| GatewayError::NotFound("This JobManager writes no log files.".into()))
    }
}

impl Dispatcher {
    /// A registered TaskManager, or Flink's 404 for an unknown id.
    fn task_manager(&self, id: &str) -> Result<Arc<dyn TaskExecutorGateway>, GatewayError> {
        self.rm.executor(id).ok_or_else(|| {
            GatewayError::NotFound(format!("No TaskManager with id {id} is registered."))
        })
    }
}

#[async_trait]
impl RestfulGateway for Dispatcher {
    async fn submit_job(&self, submission: JobSubmission) -> Result<JobId, GatewayError> {
        let job_id = submission.job_id.unwrap_or_else(JobId::generate);
        if submission.resume_previous
            && self
                .master(job_id)
                .is_some_and(|m| m.status().is_terminal())
        {
            // It ended a moment ago and is on its way to the archive; put it there now.
            self.archive_job(job_id);
        }
        let archived = self.archive.get(job_id).is_some();
        if self.master(job_id).is_some() || (archived && !submission.resume_previous) {
            return Err(GatewayError::Conflict(format!(
                "Job has already been submitted: a job with id {job_id} exists."
            )));
        }
        // SeaTunnel runs an ended job again with empty state when it left nothing to start from.
        let resume_path = if archived {
            self.latest_restore_point(job_id)
        } else {
            None
        };
        let fresh_restart = archived && resume_path.is_none();
        let graph = Arc::new(self.compiler.compile(&submission)?);
        let mut config: BTreeMap<String, String> = graph
            .env
            .options
            .as_map()
            .iter()
            .map(|(k, v)| {
                (
                    format!("env.{k}"),
                    weir_pipeline::options::as_string(v).unwrap_or_else(|| v.to_string()),
                )
            })
            .collect();
        config.extend(submission.config.clone());
        if let Some(path) = &resume_path {
            config.insert(RECOVERY_PATH_KEY.into(), path.clone());
        }
        if let Some(p) = submission.parallelism {
            config.insert("parallelism.default".into(), p.to_string());
        }
        let mut effective = self.settings.config.clone();
        effective.extend(submission.config.clone());
        let settings =
            JobSettings::resolve(&effective, &graph).map_err(GatewayError::BadRequest)?;
        if let Some(c) = &settings.checkpoints {
            if let Some(dir) = c.dir.local_dir() {
                self.check_state_path(dir, "The checkpoint directory")?;
            }
            if let Some(dir) = &c.savepoint_dir {
                self.check_state_location(dir, "The savepoint directory")?;
            }
        }
        if let Some(path) = effective
            .get("execution.savepoint.path")
            .filter(|p| !p.trim().is_empty())
        {
            self.check_state_location(path, "The savepoint to restore from")?;
        }
        if let Some(path) = resume_path {
            effective.insert(RECOVERY_PATH_KEY.into(), path);
        }
        let recovery_path = effective
            .get(RECOVERY_PATH_KEY)
            .or_else(|| effective.get("execution.savepoint.path"))
            .filter(|p| !p.trim().is_empty())
            .cloned();
        let now = now_ms();
        let mut eg = ExecutionGraph::new(job_id, &graph, config, submission.origin.clone(), now);
        eg.created(now);
        let (master, task) = JobMaster::new(
            job_id,
            graph,
            eg,
            settings,
            recovery_path,
            self.terminated_tx.clone(),
            JobLog::new(self.settings.log_dir.as_deref(), job_id),
        );
        self.metrics.register(
            GroupKey::Job(job_id),
            vec![job_group(&master, &self.settings.host)],
        );
        if let Ok(mut r) = self.running.write() {
            r.insert(job_id, master.clone());
        }
        master.log().info(&format!(
            "job {job_id} ({}) '{}' submitted",
            job_id.seatunnel_id(),
            master.graph().name
        ));
        if fresh_restart {
            master.log().warn(&format!(
                "job {job_id} was asked to start from its savepoint, but its earlier run left no savepoint or retained checkpoint; it starts with empty state"
            ));
        }
        if let Some(store) = self.job_store.get() {
            let mut kept = submission.clone();
            kept.job_id = Some(job_id);
            if let Err(e) = store.put(job_id, &kept) {
                master.log().warn(&format!(
                    "job {job_id} is not in the job store, so a JobManager restart would lose it: {e}"
                ));
            }
        }
        tokio::spawn(task.run(self.rm.clone(), self.settings.slot_request_timeout));
        Ok(job_id)
    }

    async fn preview_job(&self, submission: JobSubmission) -> Result<JobSnapshot, GatewayError> {
        match self.check_job(submission).await? {
            JobCheck::Valid(snapshot) => Ok(*snapshot),
            JobCheck::Invalid(problems) => Err(GatewayError::BadRequest(problems.message)),
        }
    }

    async fn check_job(&self, submission: JobSubmission) -> Result<JobCheck, GatewayError> {
        let job_id = submission.job_id.unwrap_or_else(JobId::generate);
        let graph = match self.compiler.check(&submission) {
            Ok(graph) => graph,
            Err(problems) => return Ok(JobCheck::Invalid(problems)),
        };
        let now = now_ms();
        let mut eg = ExecutionGraph::new(
            job_id,
            &graph,
            submission.config.clone(),
            submission.origin.clone(),
            now,
        );
        eg.created(now);
        Ok(JobCheck::Valid(Box::new(eg.snapshot(now))))
    }

    async fn cancel_job(&self, job: JobId) -> Result<(), GatewayError> {
        if let Some(m) = self.master(job) {
            return m.cancel().await;
        }
        match self.archive.get(job) {
            Some(s) if s.status == JobStatus::Canceled => Ok(()),
            Some(s) => Err(GatewayError::Conflict(format!(
                "Job {job} has already reached the terminal state {} and cannot be cancelled.",
                s.status
            ))),
            None => Err(GatewayError::job_not_found(job)),
        }
    }

    async fn request_live_job(&self, job: JobId) -> Result<LiveJob, GatewayError> {
        if let Some(m) = self.master(job) {
            return Ok(m.live().await);
        }
        self.archive
            .get(job)
            .map(|s| LiveJob::published(s, now_ms()))
            .ok_or_else(|| GatewayError::job_not_found(job))
    }

    async fn request_job_status(&self, job: JobId) -> Result<JobStatus, GatewayError> {
        if let Some(m) = self.master(job) {
            return Ok(m.status());
        }
        self.archive
            .get(job)
            .map(|s| s.status)
            .ok_or_else(|| GatewayError::job_not_found(job))
    }

    async fn request_job_result(&self, job: JobId) -> Result<Option<JobResult>, GatewayError> {
        let snapshot = self.request_job(job).await?;
        if !snapshot.status.is_terminal() {
            return Ok(None);
        }
        Ok(Some(JobResult {
            job_id: job,
            status: snapshot.status,
            net_runtime_ms: snapshot.duration(snapshot.end_time()),
            failure: snapshot.exceptions.first().map(|e| e.stacktrace.clone()),
        }))
    }

    async fn request_job_listing(&self) -> JobListing {
        let now = now_ms();
        // An overview line has no I/O counters: the published snapshot, uncopied, is enough.
        let mut running: Vec<JobOverview> =
            self.masters().iter().map(|m| m.overview(now)).collect();
        running.sort_by(JobOverview::listing_order);
        JobListing {
            running,
            finished: self.archive.overviews(),
        }
    }

    async fn request_cluster_overview(&self) -> ClusterOverview {
        let (slots_total, slots_available) = self.rm.slot_counts();
        let mut o = ClusterOverview {
            task_managers: self.rm.executors().len(),
            slots_total,
            slots_available,
            ..ClusterOverview::default()
        };
        let mut running: Vec<(JobId, JobStatus)> = self
            .running
            .read()
            .map(|r| r.iter().map(|(id, m)| (*id, m.status())).collect())
            .unwrap_or_default();
        // Sorted for the lookups below: every open dashboard polls this, and a hashed lookup
        // per archived job was most of its cost.
        running.sort_unstable_by_key(|(id, _)| *id);
        let tally = |o: &mut ClusterOverview, s: JobStatus| match s {
            JobStatus::Finished => o.jobs_finished += 1,
            JobStatus::Canceled => o.jobs_cancelled += 1,
            JobStatus::Failed => o.jobs_failed += 1,
            _ => o.jobs_running += 1,
        };
        for (_, s) in &running {
            tally(&mut o, *s);
        }
        // A job run again from its savepoint is counted once, as it runs now.
        for a in self.archive.overviews().iter() {
            if running
                .binary_search_by_key(&a.job_id, |(id, _)| *id)
                .is_err()
            {
                tally(&mut o, a.status);
            }
        }
        o
    }

    async fn request_task_managers(&self) -> Vec<TaskManagerInfo> {
        self.rm.task_managers().await
    }

    async fn request_task_manager(&self, id: &str) -> Result<TaskManagerInfo, GatewayError> {
        self.rm
            .task_managers()
            .await
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| {
                GatewayError::NotFound(format!("No TaskManager with id {id} is registered."))
            })
    }

    async fn request_metric_query_service_addresses(&self) -> Vec<String> {
        let mut out = vec!["jobmanager".to_string()];
        out.extend(
            self.rm
                .executors()
                .iter()
                .map(|e| e.endpoint().resource_id.clone()),
        );
        out
    }

    async fn request_thread_dump(
        &self,
        source: LogSource,
    ) -> Result<Vec<ThreadInfo>, GatewayError> {
        match source {
            LogSource::JobManager => Ok(ThreadInfo::of_this_process()),
            LogSource::TaskManager(id) => Ok(self.task_manager(&id)?.thread_dump().await),
        }
    }

    async fn request_profiling(
        &self,
        source: LogSource,
        duration_s: i64,
        mode: weir_gateway::ProfilingMode,
    ) -> Result<weir_gateway::ProfilingInfo, GatewayError> {
        match source {
            LogSource::JobManager => self.profiler.request(duration_s, mode, now_ms()),
            LogSource::TaskManager(id) => {
                self.task_manager(&id)?
                    .request_profiling(duration_s, mode)
                    .await
            }
        }
    }

    async fn request_profiling_list(
        &self,
        source: LogSource,
    ) -> Result<Vec<weir_gateway::ProfilingInfo>, GatewayError> {
        match source {
            LogSource::JobManager => Ok(self.profiler.list()),
            LogSource::TaskManager(id) => Ok(self.task_manager(&id)?.profiling_list().await),
        }
    }

    async fn request_profiling_file(
        &self,
        source: LogSource,
        name: &str,
    ) -> Result<Vec<u8>, GatewayError> {
        match source {
            LogSource::JobManager => self.profiler.file(name),
            LogSource::TaskManager(id) => self.task_manager(&id)?.profiling_file(name).await,
        }
    }

    async fn request_log_list(&self, source: LogSource) -> Result<Vec<LogFile>, GatewayError> {
        match source {
            LogSource::JobManager => Ok(self
                .served_dir()?
                .list()
                .into_iter()
                .map(LogFile::from)
                .collect()),
            LogSource::TaskManager(id) => Ok(self.task_manager(&id)?.list_logs().await),
        }
    }

    async fn request_log(&self, source: LogSource, name: &str) -> Result<Vec<u8>, GatewayError> {
        match source {
            LogSource::JobManager => self
                .served_dir()?
                .read_role_file(
                    name,
                    &self.settings.log_file,
                    &self.settings.stdout_file,
                    LOG_LIMIT,
                )
                .ok_or_else(|| {
                    GatewayError::NotFound(format!(
                        "The file {name} does not exist on the JobManager."
                    ))
                }),
            LogSource::TaskManager(id) => self.task_manager(&id)?.read_log(name).await,
        }
    }

    async fn request_cluster_config(&self) -> BTreeMap<String, String> {
        self.settings.config.clone()
    }

    async fn report_job_client_heartbeat(
        &self,
        job: JobId,
        expires_at: i64,
    ) -> Result<(), GatewayError> {
        self.request_job_status(job).await?;
        if let Ok(mut h) = self.heartbeats.write() {
            h.insert(job, expires_at);
        }
        Ok(())
    }

    async fn request_metric_store(&self) -> Arc<MetricStore> {
        self.fetch_metrics_if_stale().await;
        self.fetcher.current()
    }

    async fn request_flame_graph(
        &self,
        job: JobId,
        vertex: VertexId,
        kind: FlameGraphType,
        subtask: Option<usize>,
    ) -> Result<VertexFlameGraph, GatewayError> {
        let snapshot = self.request_job(job).await?;
        let index = snapshot
            .vertices
            .iter()
            .position(|v| v.id == vertex)
            .ok_or_else(|| GatewayError::NotFound(format!("JobVertex {vertex} not found")))?;
        let settings = &self.settings.flame_graph;
        if !settings.enabled {
            return Ok(VertexFlameGraph::disabled());
        }
        let executors = match self.master(job) {
            Some(m) if !snapshot.status.is_terminal() => m.executors(),
            _ => Vec::new(),
        };
        if executors.is_empty() {
            return Ok(VertexFlameGraph::terminated());
        }
        let mut samples = Vec::new();
        for i in 0..settings.num_samples.max(1) {
            if i > 0 {
                tokio::time::sleep(settings.delay_between_samples).await;
            }
            let round = executors.iter().map(|e| e.sample_tasks(job, index));
            samples.extend(
                futures::future::join_all(round)
                    .await
                    .into_iter()
                    .flatten()
                    .filter(|s| subtask.is_none_or(|want| s.subtask == want)),
            );
        }
        Ok(VertexFlameGraph::fold(&samples, kind, now_ms()))
    }

    async fn shut_down_cluster(&self) {
        let _ = self.shutdown.send(true);
    }

    async fn update_worker_tags(&self, tags: std::collections::BTreeMap<String, String>) {
        self.rm.set_tags(&tags);
    }

    async fn request_checkpoint_stats(
        &self,
        job: JobId,
    ) -> Result<Arc<CheckpointStatsSnapshot>, GatewayError> {
        let stats = match self.master(job) {
            Some(m) => m.checkpoint_stats(),
            None => {
                if self.archive.get(job).is_none() {
                    return Err(GatewayError::job_not_found(job));
                }
                self.archived_checkpoints
                    .read()
                    .ok()
                    .and_then(|a| a.get(&job).cloned())
            }
        };
        stats.ok_or_else(|| {
            GatewayError::NotFound(format!(
                "Checkpointing is not enabled for job {job}: it is a batch job."
            ))
        })
    }

    async fn trigger_checkpoint(
        &self,
        job: JobId,
        trigger_id: Option<TriggerId>,
    ) -> Result<TriggerId, GatewayError> {
        let master = self.running_master(job)?;
        self.run_operation(
            job,
            OperationKind::Checkpoint,
            trigger_id,
            || async move {
                let t = master
                    .trigger_checkpoint(CheckpointKind::Checkpoint, None, false)
                    .await?;
                Ok(checkpoint_result(t.outcome))
            },
            |_| {},
        )
        .await
    }

    async fn trigger_savepoint(
        &self,
        job: JobId,
        request: SavepointRequest,
    ) -> Result<TriggerId, GatewayError> {
        let master = self.running_master(job)?;
        let default_dir = master.savepoint_dir();
        let Some(dir) = request.target_directory.clone().or(default_dir) else {
            return Err(GatewayError::BadRequest(
                "Config key [execution.checkpointing.savepoint-dir] is not set. Property [target-directory] must be provided.".into(),
            ));
        };
        self.check_state_location(&dir, "The savepoint's target directory")?;
        // Flink names the directory by the id's first 6 hex digits; weir's ids start with 16
        // zeros (see `JobId::generate`), so the digits after them are the ones that differ.
        let short = format!("{:x}", job.0);
        let location = format!(
            "{}/savepoint-{}-{}",
            dir.trim_end_matches('/'),
            &short[..short.len().min(6)],
            &TriggerId::random().to_string()[..12]
        );
        let kind = if request.stop {
            CheckpointKind::SyncSavepoint(request.format)
        } else {
            CheckpointKind::Savepoint(request.format)
        };
        let cancel_after = request.cancel_job.then(|| master.clone());
        self.run_operation(
            job,
            OperationKind::Savepoint,
            request.trigger_id,
            || async move {
                let location =
                    CheckpointLocation::parse(&location).map_err(GatewayError::BadRequest)?;
                let t = master
                    .trigger_checkpoint(kind, Some(location), request.stop)
                    .await?;
                Ok(checkpoint_result(t.outcome))
            },
            move |result| {
                if let (Ok(_), Some(m)) = (result, cancel_after) {
                    tokio::spawn(async move {
                        let _ = m.cancel().await;
                    });
                }
            },
        )
        .await
    }

    async fn request_operation(
        &self,
        job: JobId,
        kind: OperationKind,
        trigger_id: TriggerId,
    ) -> Result<OperationState, GatewayError> {
        let found = self
            .operations
            .lock()
            .ok()
            .and_then(|mut o| o.get(kind, job, trigger_id, now_ms()));
        found.ok_or_else(|| {
            GatewayError::NotFound(format!(
                "There is no {} operation with triggerId={trigger_id} for job {job}.",
                kind.name()
            ))
        })
    }

    async fn trigger_savepoint_disposal(
        &self,
        path: String,
        trigger_id: Option<TriggerId>,
    ) -> Result<TriggerId, GatewayError> {
        self.check_state_location(&path, "The savepoint to dispose of")?;
        self.run_operation(
            OperationKind::NO_JOB,
            OperationKind::Disposal,
            trigger_id,
            || async move {
                let disposed: OperationFuture = Box::pin(async move { dispose(&path).await });
                Ok(disposed)
            },
            |_| {},
        )
        .await
    }

    async fn request_job_resource_requirements(
        &self,
        job: JobId,
    ) -> Result<ResourceRequirements, GatewayError> {
        let snapshot = self.request_job(job).await?;
        Ok(snapshot
            .vertices
            .iter()
            .map(|v| {
                let bounds = ParallelismBounds {
                    lower_bound: 1,
                    upper_bound: v.parallelism,
                };
                (v.id, bounds)
            })
            .collect())
    }

    async fn update_job_resource_requirements(
        &self,
        job: JobId,
        requirements: ResourceRequirements,
    ) -> Result<(), GatewayError> {
        let master = self.running_master(job)?;
        let mut plan = RescalePlan::new();
        for (vertex, bounds) in requirements {
            if bounds.lower_bound == 0 || bounds.lower_bound > bounds.upper_bound {
                return Err(GatewayError::BadRequest(format!(
                    "The parallelism bounds of vertex {vertex} are invalid: lowerBound {} must be at least 1 and at most upperBound {}.",
                    bounds.lower_bound, bounds.upper_bound
                )));
            }
            plan.insert(vertex, bounds.upper_bound);
        }
        let done = master.rescale(plan).await?;
        tokio::spawn(async move {
            if let Ok(Err(e)) = done.await {
                tracing::warn!("rescaling job {job} failed: {e}");
            }
        });
        Ok(())
    }

    async fn trigger_rescaling(
        &self,
        job: JobId,
        parallelism: usize,
        trigger_id: Option<TriggerId>,
    ) -> Result<TriggerId, GatewayError> {
        let master = self.running_master(job)?;
        if let Some(id) = trigger_id {
            let known = self
                .operations
                .lock()
                .ok()
                .and_then(|mut o| o.get(OperationKind::Rescaling, job, id, now_ms()));
            if known.is_some() {
                return Ok(id);
            }
        }
        let graph = master.graph();
        let plan: RescalePlan = master
            .published()
            .vertices
            .iter()
            .enumerate()
            .filter(|(i, _)| !graph.is_source_vertex(*i))
            .map(|(_, v)| (v.id, parallelism))
            .collect();
        let done = master.rescale(plan).await?;
        self.run_operation(
            job,
            OperationKind::Rescaling,
            trigger_id,
            || async move { Ok(rescale_result(done)) },
            |_| {},
        )
        .await
    }
}

impl Dispatcher {
    /// Registers an operation under `trigger_id` (a repeat returns the id without starting
    /// anything), starts it with `start`, and records its result when it ends.
    async fn run_operation<Started>(
        &self,
        job: JobId,
        kind: OperationKind,
        trigger_id: Option<TriggerId>,
        start: impl FnOnce() -> Started,
        then: impl FnOnce(&OperationResult) + Send + 'static,
    ) -> Result<TriggerId, GatewayError>
    where
        Started: Future<Output = Result<OperationFuture, GatewayError>>,
    {
        let id = trigger_id.unwrap_or_else(TriggerId::random);
        let fresh = self
            .operations
            .lock()
            .map(|mut o| o.begin(kind, job, id, now_ms()))
            .unwrap_or(false);
        if !fresh {
            return Ok(id);
        }
        let result = match start().await {
            Ok(result) => result,
            Err(e) => {
                // Flink records a trigger that could not start as a failed operation.
                if let Ok(mut o) = self.operations.lock() {
                    o.finish(kind, job, id, Err(e.to_string()), now_ms());
                }
                return Ok(id);
            }
        };
        let operations = self.operations.clone();
        let archive = self.archive.clone();
        tokio::spawn(async move {
            let result = result.await;
            then(&result);
            let record = OperationRecord {
                kind,
                job,
                id,
                result,
                completed_at: now_ms(),
            };
            archive.put_operation(&record.key(), &record.encode());
            if let Ok(mut o) = operations.lock() {
                o.finish(kind, job, id, record.result, record.completed_at);
            }
        });
        Ok(id)
    }

    /// Takes back the operation results an earlier run of the JobManager stored, dropping
    /// the expired ones.
    fn restore_operations(&self) {
        let now = now_ms();
        for (key, bytes) in self.archive.operations() {
            let restored = OperationRecord::decode(&bytes).is_some_and(|r| {
                self.operations
                    .lock()
                    .map(|mut o| o.restore(r, now))
                    .unwrap_or(false)
            });
            if !restored {
                self.archive.remove_operation(&key);
            }
        }
    }

    fn running_master(&self, job: JobId) -> Result<Arc<JobMaster>, GatewayError> {
        if let Some(m) = self.master(job) {
            return Ok(m);
        }
        match self.archive.get(job) {
            Some(s) => Err(GatewayError::Conflict(format!(
                "Job {job} is not running: it has reached the terminal state {}.",
                s.status
            ))),
            None => Err(GatewayError::job_not_found(job)),
        }
    }
}

#[async_trait]
impl JobMasterGateway for Dispatcher {
    async fn acknowledge_checkpoint(&self, job: JobId, ack: CheckpointAck) {
        if let Some(m) = self.master(job) {
            m.acknowledge_checkpoint(ack);
        }
    }

    async fn decline_checkpoint(&self, job: JobId, checkpoint_id: u64, reason: String) {
        if let Some(m) = self.master(job) {
            m.decline_checkpoint(checkpoint_id, reason);
        }
    }

    async fn update_task_execution_state(&self, update: TaskStateUpdate) {
        // Before the change can be seen: the next metrics read fetches the groups of a
        // subtask that started, or the final values its TaskManager froze when it ended.
        self.fetcher.invalidate();
        if let Some(m) = self.master(update.job_id) {
            m.on_task_update(update);
        }
    }
}

/// What an asynchronous operation ends with, as the operation store records it: the
/// checkpoint id and location, or why it failed.
type OperationResult = Result<(u64, String), String>;

/// An operation under way.
type OperationFuture = Pin<Box<dyn Future<Output = OperationResult> + Send>>;

/// A checkpoint's or savepoint's outcome as an operation result.
fn checkpoint_result(
    outcome: tokio::sync::oneshot::Receiver<CheckpointOutcome>,
) -> OperationFuture {
    Box::pin(async move {
        match outcome.await {
            Ok(Ok(c)) => Ok((c.id, c.location.uri())),
            Ok(Err(failure)) => Err(failure.to_string()),
            Err(_) => Err("the job ended before the operation completed".into()),
        }
    })
}

/// A rescale's outcome as an operation result (the checkpoint it restored, or 0 and nothing
/// when the job already had the asked parallelism).
fn rescale_result(outcome: tokio::sync::oneshot::Receiver<RescaleOutcome>) -> OperationFuture {
    Box::pin(async move {
        match outcome.await {
            Ok(Ok(Some(c))) => Ok((c.id, c.location.uri())),
            Ok(Ok(None)) => Ok((0, String::new())),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the job ended before the operation completed".into()),
        }
    })
}

/// Deletes the savepoint or retained checkpoint at `path`, once its `_metadata` shows it is
/// one: a mistyped path never deletes an arbitrary directory.
async fn dispose(path: &str) -> Result<(u64, String), String> {
    let location = CheckpointLocation::parse(path).map_err(|e| e.to_string())?;
    let metadata = location
        .read_metadata()
        .await
        .map_err(|e| format!("{path} is not a savepoint: {e}"))?;
    let uri = location.uri();
    location
        .remove()
        .await
        .map_err(|e| format!("disposing {path}: {e}"))?;
    Ok((metadata.checkpoint_id, uri))
}
