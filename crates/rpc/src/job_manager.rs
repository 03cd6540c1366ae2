//! The JobManager service: TaskManagers register, send heartbeats, report task states and
//! checkpoint acknowledgements. [`RemoteJobMaster`] is the TaskManager's side of it, and
//! [`register_with`] keeps a TaskManager registered.

use crate::codec::{channel, empty, error, job_id, to_json};
use crate::proto;
use crate::proto::job_manager_client::JobManagerClient;
use crate::proto::job_manager_server::{JobManager, JobManagerServer};
use crate::task_manager::RemoteTaskExecutor;
use crate::{PROTOCOL_VERSION, WEIR_VERSION};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use weir_core::{ExecutionState, JobId};
use weir_gateway::{
    CheckpointAck, IoStats, JobMasterGateway, OperatorIo, TaskExecutorGateway, TaskManagerEndpoint,
    TaskStateUpdate,
};

/// What a TaskManager offers when it registers.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskManagerOffer {
    pub endpoint: TaskManagerEndpoint,
    /// Where its TaskManager service listens (`host:port`).
    pub rpc_address: String,
    pub slots: usize,
    /// Slots grow with demand (SeaTunnel's dynamic slots) rather than being fixed.
    pub dynamic_slots: bool,
    pub tags: BTreeMap<String, String>,
}

/// The JobManager's side of registration: the binary implements it with the resource manager
/// and the Dispatcher.
pub trait TaskManagerRegistry: Send + Sync {
    /// A TaskManager registered (or registered again after a break): `gateway` reaches it.
    fn registered(&self, offer: TaskManagerOffer, gateway: Arc<dyn TaskExecutorGateway>);

    /// A TaskManager is gone: its slots are released and the jobs it ran restart elsewhere.
    fn lost(&self, resource_id: &str, reason: &str);

    /// A heartbeat of a registered TaskManager arrived (REST shows when).
    fn heartbeat(&self, _resource_id: &str) {}
}

/// The JobManager service.
pub struct JobManagerService {
    inner: Arc<Inner>,
}

struct Inner {
    /// This JobManager process's instance id: a heartbeat naming another one comes from a
    /// TaskManager registered with an earlier run.
    instance: String,
    registry: Arc<dyn TaskManagerRegistry>,
    job_master: Arc<dyn JobMasterGateway>,
    /// The last heartbeat (or registration) of every registered TaskManager, with the number
    /// of that registration (an attachment of an earlier one must not lose a newer one).
    heartbeats: Mutex<HashMap<String, Beat>>,
    registrations: std::sync::atomic::AtomicU64,
    interval: Duration,
    timeout: Duration,
}

impl JobManagerService {
    /// A service whose TaskManagers send a heartbeat every `interval` and are lost after
    /// `timeout` without one (Flink's `heartbeat.interval` and `heartbeat.timeout`).
    pub fn new(
        registry: Arc<dyn TaskManagerRegistry>,
        job_master: Arc<dyn JobMasterGateway>,
        interval: Duration,
        timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                instance: format!("{:032x}", JobId::random().0),
                registry,
                job_master,
                heartbeats: Mutex::new(HashMap::new()),
                registrations: std::sync::atomic::AtomicU64::new(0),
                interval,
                timeout,
            }),
        }
    }

    /// Serves on `listener` until `shutdown` resolves, and watches the heartbeats meanwhile.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let watcher = tokio::spawn(watch_heartbeats(Arc::downgrade(&self.inner)));
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let served = tonic::transport::Server::builder()
            .add_service(JobManagerServer::new(Service {
                inner: self.inner.clone(),
            }))
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
            .map_err(|e| format!("the JobManager service stopped: {e}"));
        watcher.abort();
        served
    }
}

/// Declares lost every TaskManager whose last heartbeat is older than the timeout.
async fn watch_heartbeats(inner: std::sync::Weak<Inner>) {
    let every = match inner.upgrade() {
        Some(i) => (i.interval / 2).max(Duration::from_millis(50)),
        None => return,
    };
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let now = Instant::now();
        let silent: Vec<String> = match inner.heartbeats.lock() {
            Ok(h) => h
                .iter()
                .filter(|(_, b)| now.duration_since(b.at) > inner.timeout)
                .map(|(id, _)| id.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        for id in silent {
            let reason = format!(
                "TaskManager {id} sent no heartbeat for {} ms (heartbeat.timeout)",
                inner.timeout.as_millis()
            );
            inner.lose(&id, None, &reason);
        }
    }
}

/// When a TaskManager was last heard of, and which registration of it that is.
#[derive(Debug, Clone, Copy)]
struct Beat {
    at: Instant,
    registration: u64,
}

impl Inner {
    /// Forgets `resource_id` (if `registration` is still its current one, or any) and tells
    /// the registry it is lost.
    fn lose(&self, resource_id: &str, registration: Option<u64>, reason: &str) {
        let removed = self.heartbeats.lock().is_ok_and(|mut h| {
            let current = h
                .get(resource_id)
                .is_some_and(|b| registration.is_none_or(|r| b.registration == r));
            current && h.remove(resource_id).is_some()
        });
        if removed {
            tracing::warn!("{reason}");
            self.registry.lost(resource_id, reason);
        }
    }
}

/// The open end of a TaskManager's attachment: it never yields, and when it is dropped (the
/// connection broke) the TaskManager is lost.
struct Attachment {
    inner: std::sync::Weak<Inner>,
    resource_id: String,
    registration: u64,
}

impl tokio_stream::Stream for Attachment {
    type Item = Result<proto::Empty, Status>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Pending
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            let reason = format!(
                "TaskManager {}'s connection to the JobManager broke",
                self.resource_id
            );
            inner.lose(&self.resource_id, Some(self.registration), &reason);
        }
    }
}

struct Service {
    inner: Arc<Inner>,
}

#[tonic::async_trait]
impl JobManager for Service {
    async fn register_task_manager(
        &self,
        request: Request<proto::Registration>,
    ) -> Result<Response<proto::Registered>, Status> {
        let r = request.into_inner();
        if r.protocol_version != PROTOCOL_VERSION {
            return Err(Status::failed_precondition(format!(
                "TaskManager {} speaks weir control protocol v{} (weir {}), but this JobManager speaks v{PROTOCOL_VERSION} (weir {WEIR_VERSION}): run the same weir release on both",
                r.resource_id, r.protocol_version, r.weir_version
            )));
        }
        if r.resource_id.is_empty() || r.slots == 0 && !r.dynamic_slots {
            return Err(Status::invalid_argument(
                "a TaskManager must name its resource id and offer at least one slot",
            ));
        }
        let offer = TaskManagerOffer {
            endpoint: TaskManagerEndpoint {
                resource_id: r.resource_id.clone(),
                host: r.host,
                data_port: u16::try_from(r.data_port).ok().filter(|p| *p != 0),
            },
            rpc_address: r.rpc_address.clone(),
            slots: r.slots as usize,
            dynamic_slots: r.dynamic_slots,
            tags: r.tags.into_iter().collect(),
        };
        let gateway = RemoteTaskExecutor::connect(offer.endpoint.clone(), &r.rpc_address)
            .map_err(Status::invalid_argument)?;
        let registration = self
            .inner
            .registrations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut h) = self.inner.heartbeats.lock() {
            h.insert(
                r.resource_id.clone(),
                Beat {
                    at: Instant::now(),
                    registration,
                },
            );
        }
        tracing::info!(
            "TaskManager {} registered from {} with {} slots",
            r.resource_id,
            r.rpc_address,
            offer.slots
        );
        self.inner.registry.registered(offer, Arc::new(gateway));
        Ok(Response::new(proto::Registered {
            jobmanager_id: self.inner.instance.clone(),
            heartbeat_interval_ms: self.inner.interval.as_millis() as u64,
            heartbeat_timeout_ms: self.inner.timeout.as_millis() as u64,
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<proto::Heartbeat>,
    ) -> Result<Response<proto::HeartbeatReply>, Status> {
        let h = request.into_inner();
        let known = h.jobmanager_id == self.inner.instance
            && self
                .inner
                .heartbeats
                .lock()
                .map(|mut beats| match beats.get_mut(&h.resource_id) {
                    Some(b) => {
                        b.at = Instant::now();
                        true
                    }
                    None => false,
                })
                .unwrap_or(false);
        if known {
            self.inner.registry.heartbeat(&h.resource_id);
        }
        Ok(Response::new(proto::HeartbeatReply { known }))
    }

    type AttachStream = Attachment;

    async fn attach(
        &self,
        request: Request<proto::Heartbeat>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        let h = request.into_inner();
        let registration = self
            .inner
            .heartbeats
            .lock()
            .ok()
            .and_then(|beats| beats.get(&h.resource_id).map(|b| b.registration));
        match registration {
            Some(registration) if h.jobmanager_id == self.inner.instance => {
                Ok(Response::new(Attachment {
                    inner: Arc::downgrade(&self.inner),
                    resource_id: h.resource_id,
                    registration,
                }))
            }
            _ => Err(Status::not_found(format!(
                "TaskManager {} is not registered here; register first",
                h.resource_id
            ))),
        }
    }

    async fn update_task_state(
        &self,
        request: Request<proto::TaskState>,
    ) -> Result<Response<proto::Empty>, Status> {
        let t = request.into_inner();
        let state: ExecutionState =
            serde_json::from_value(serde_json::Value::String(t.state.clone())).map_err(|_| {
                Status::invalid_argument(format!("'{}' is not an execution state", t.state))
            })?;
        let (io, operator_io): (Option<IoStats>, Vec<OperatorIo>) = if t.io_json.is_empty() {
            (None, Vec::new())
        } else {
            crate::codec::from_json(&t.io_json, "the task's I/O")?
        };
        let update = TaskStateUpdate {
            job_id: job_id(&t.job_id)?,
            vertex: t.vertex as usize,
            subtask: t.subtask as usize,
            attempt: t.attempt,
            state,
            error: t.error,
            location: t.location,
            io,
            operator_io,
        };
        self.inner
            .job_master
            .update_task_execution_state(update)
            .await;
        Ok(empty())
    }

    async fn acknowledge_checkpoint(
        &self,
        request: Request<proto::CheckpointAck>,
    ) -> Result<Response<proto::Empty>, Status> {
        let a = request.into_inner();
        let ack = CheckpointAck {
            checkpoint_id: a.checkpoint_id,
            vertex: a.vertex as usize,
            subtask: a.subtask as usize,
            state_file: a.state_file,
            state_size: a.state_size,
            ack_timestamp: a.ack_timestamp,
            sync_ms: a.sync_ms,
            async_ms: a.async_ms,
            alignment_ms: a.alignment_ms,
            start_delay_ms: a.start_delay_ms,
        };
        self.inner
            .job_master
            .acknowledge_checkpoint(job_id(&a.job_id)?, ack)
            .await;
        Ok(empty())
    }

    async fn decline_checkpoint(
        &self,
        request: Request<proto::CheckpointDecline>,
    ) -> Result<Response<proto::Empty>, Status> {
        let d = request.into_inner();
        self.inner
            .job_master
            .decline_checkpoint(job_id(&d.job_id)?, d.checkpoint_id, d.reason)
            .await;
        Ok(empty())
    }
}

/// The JobManager as a TaskManager's gateway to it.
pub struct RemoteJobMaster {
    client: JobManagerClient<Channel>,
    address: String,
}

impl RemoteJobMaster {
    /// A gateway to the JobManager service at `address` (`host:port`), connected on first use
    /// and re-connected after a break.
    pub fn connect(address: &str) -> Result<Self, String> {
        Ok(Self {
            client: JobManagerClient::new(channel(address)?),
            address: address.to_string(),
        })
    }

    fn client(&self) -> JobManagerClient<Channel> {
        self.client.clone()
    }

    fn warn(&self, what: &str, s: &Status) {
        tracing::warn!(
            "{what}: {}",
            error(s.clone(), &format!("the JobManager at {}", self.address))
        );
    }
}

#[async_trait]
impl JobMasterGateway for RemoteJobMaster {
    async fn update_task_execution_state(&self, u: TaskStateUpdate) {
        let io_json = if u.io.is_some() || !u.operator_io.is_empty() {
            to_json(&(u.io, &u.operator_io))
        } else {
            Vec::new()
        };
        let request = proto::TaskState {
            job_id: u.job_id.to_string(),
            vertex: u.vertex as u32,
            subtask: u.subtask as u32,
            attempt: u.attempt,
            state: u.state.as_str().to_string(),
            error: u.error,
            location: u.location,
            io_json,
        };
        if let Err(s) = self.client().update_task_state(request).await {
            self.warn("reporting a task state", &s);
        }
    }

    async fn acknowledge_checkpoint(&self, job: JobId, a: CheckpointAck) {
        let request = proto::CheckpointAck {
            job_id: job.to_string(),
            checkpoint_id: a.checkpoint_id,
            vertex: a.vertex as u32,
            subtask: a.subtask as u32,
            state_file: a.state_file,
            state_size: a.state_size,
            ack_timestamp: a.ack_timestamp,
            sync_ms: a.sync_ms,
            async_ms: a.async_ms,
            alignment_ms: a.alignment_ms,
            start_delay_ms: a.start_delay_ms,
        };
        if let Err(s) = self.client().acknowledge_checkpoint(request).await {
            self.warn("acknowledging a checkpoint", &s);
        }
    }

    async fn decline_checkpoint(&self, job: JobId, checkpoint_id: u64, reason: String) {
        let request = proto::CheckpointDecline {
            job_id: job.to_string(),
            checkpoint_id,
            reason,
        };
        if let Err(s) = self.client().decline_checkpoint(request).await {
            self.warn("declining a checkpoint", &s);
        }
    }
}

/// Resolves when the attachment's stream ends (the JobManager went away); never without one.
async fn attached(attachment: &mut Option<tonic::Streaming<proto::Empty>>) {
    match attachment {
        Some(stream) => while let Ok(Some(_)) = stream.message().await {},
        None => std::future::pending().await,
    }
}

/// Why a TaskManager stopped trying to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRefused(pub String);

impl std::fmt::Display for RegistrationRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Registers `offer` with the JobManager at `address` and keeps it registered: heartbeats
/// every interval the JobManager asks for, and registers again when the JobManager forgot it
/// (it restarted) or could not be reached. While the JobManager cannot be reached it retries,
/// saying why. When the registration is lost (the JobManager went away or forgot this
/// TaskManager), `on_lost` runs before registering again: the tasks that JobManager deployed
/// are orphans, and a recovered JobManager redeploys its jobs from their checkpoints.
/// Returns only when the JobManager refuses the TaskManager for good (another protocol
/// version, an invalid offer), with the JobManager's reason.
pub async fn register_with<Lost>(
    address: &str,
    offer: TaskManagerOffer,
    on_registered: impl Fn(Duration) + Send,
    on_lost: impl Fn() -> Lost + Send,
) -> RegistrationRefused
where
    Lost: std::future::Future<Output = ()> + Send,
{
    let client = match channel(address) {
        Ok(c) => JobManagerClient::new(c),
        Err(e) => return RegistrationRefused(e),
    };
    let mut backoff = Duration::from_millis(50);
    let started = Instant::now();
    loop {
        let request = proto::Registration {
            protocol_version: PROTOCOL_VERSION,
            weir_version: WEIR_VERSION.to_string(),
            resource_id: offer.endpoint.resource_id.clone(),
            rpc_address: offer.rpc_address.clone(),
            host: offer.endpoint.host.clone(),
            slots: offer.slots as u32,
            dynamic_slots: offer.dynamic_slots,
            tags: offer.tags.clone().into_iter().collect(),
            data_port: offer.endpoint.data_port.map_or(0, u32::from),
        };
        let registered = match client.clone().register_task_manager(request).await {
            Ok(r) => r.into_inner(),
            Err(s) if matches!(s.code(), Code::FailedPrecondition | Code::InvalidArgument) => {
                return RegistrationRefused(s.message().to_string());
            }
            Err(s) => {
                tracing::warn!(
                    "cannot register with the JobManager at {address}: {}; retrying in {} ms",
                    error(s, &format!("the JobManager at {address}")),
                    backoff.as_millis()
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(50);
        on_registered(started.elapsed());
        tracing::info!(
            "registered with the JobManager at {address} as {}",
            offer.endpoint.resource_id
        );
        let interval = Duration::from_millis(registered.heartbeat_interval_ms.max(10));
        let me = proto::Heartbeat {
            resource_id: offer.endpoint.resource_id.clone(),
            jobmanager_id: registered.jobmanager_id.clone(),
        };
        // Held open while this process lives: its end tells the JobManager at once.
        let mut attachment = match client.clone().attach(me).await {
            Ok(stream) => Some(stream.into_inner()),
            Err(s) => {
                tracing::warn!("attaching to the JobManager at {address}: {}", s.message());
                None
            }
        };
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = attached(&mut attachment) => {
                    tracing::warn!(
                        "the connection to the JobManager at {address} broke; registering again"
                    );
                    break;
                }
            }
            let beat = proto::Heartbeat {
                resource_id: offer.endpoint.resource_id.clone(),
                jobmanager_id: registered.jobmanager_id.clone(),
            };
            match client.clone().heartbeat(beat).await {
                Ok(r) if r.get_ref().known => {}
                Ok(_) => {
                    tracing::warn!(
                        "the JobManager at {address} does not know this TaskManager any more (it restarted or declared it lost); registering again"
                    );
                    break;
                }
                Err(s) => {
                    tracing::warn!(
                        "heartbeat to the JobManager at {address} failed: {}; registering again",
                        s.message()
                    );
                    break;
                }
            }
        }
        on_lost().await;
    }
}
