//! The TaskManager service: a TaskExecutor's gateway served over gRPC, and the JobManager's
//! side of it, [`RemoteTaskExecutor`].

use crate::codec::{channel, empty, error, from_json, job_id, reply_json, status, to_json};
use crate::proto;
use crate::proto::task_manager_client::TaskManagerClient;
use crate::proto::task_manager_server::{TaskManager, TaskManagerServer};
use async_trait::async_trait;
use std::sync::Arc;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use weir_core::{JobId, JobStatus};
use weir_gateway::{
    CheckpointLocation, CheckpointTrigger, GatewayError, LogFile, ProfilingInfo, ProfilingMode,
    RestoreFrom, SubtaskIo, TaskDeployment, TaskExecutorGateway, TaskManagerEndpoint,
    TaskManagerInfo, ThreadInfo, ThreadSample,
};
use weir_metrics::DumpedGroup;

/// Serves `executor` as the TaskManager service on `listener` until `shutdown` resolves.
pub async fn serve_task_manager(
    executor: Arc<dyn TaskExecutorGateway>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tonic::transport::Server::builder()
        .add_service(TaskManagerServer::new(Service { executor }))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| format!("the TaskManager service stopped: {e}"))
}

struct Service {
    executor: Arc<dyn TaskExecutorGateway>,
}

fn json<T: serde::Serialize>(value: &T) -> Response<proto::Json> {
    Response::new(proto::Json {
        json: to_json(value),
    })
}

fn mode_name(mode: ProfilingMode) -> String {
    serde_json::to_value(mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[tonic::async_trait]
impl TaskManager for Service {
    async fn deploy(
        &self,
        request: Request<proto::Deployment>,
    ) -> Result<Response<proto::Empty>, Status> {
        let d = request.into_inner();
        let graph = from_json(&d.graph_json, "the job graph")?;
        let restore = match d.restore_location {
            Some(location) => Some(RestoreFrom {
                location: CheckpointLocation::parse(&location).map_err(Status::invalid_argument)?,
                metadata: Arc::new(from_json(
                    &d.restore_metadata_json,
                    "the checkpoint metadata",
                )?),
            }),
            None => None,
        };
        let deployment = TaskDeployment {
            job_id: job_id(&d.job_id)?,
            graph: Arc::new(graph),
            attempt: d.attempt,
            placement: Arc::new(from_json(&d.placement_json, "the placement")?),
            restore,
        };
        self.executor.deploy(deployment).await.map_err(status)?;
        Ok(empty())
    }

    async fn cancel(
        &self,
        request: Request<proto::JobRef>,
    ) -> Result<Response<proto::Empty>, Status> {
        let job = job_id(&request.into_inner().job_id)?;
        self.executor.cancel(job).await.map_err(status)?;
        Ok(empty())
    }

    async fn job_ended(
        &self,
        request: Request<proto::JobEnded>,
    ) -> Result<Response<proto::Empty>, Status> {
        let r = request.into_inner();
        let status: JobStatus = serde_json::from_value(serde_json::Value::String(r.status.clone()))
            .map_err(|_| Status::invalid_argument(format!("'{}' is not a job status", r.status)))?;
        self.executor.job_ended(job_id(&r.job_id)?, status).await;
        Ok(empty())
    }

    async fn trigger_checkpoint(
        &self,
        request: Request<proto::CheckpointTrigger>,
    ) -> Result<Response<proto::Empty>, Status> {
        let t = request.into_inner();
        let trigger = CheckpointTrigger {
            checkpoint_id: t.checkpoint_id,
            timestamp: t.timestamp,
            location: CheckpointLocation::parse(&t.location).map_err(Status::invalid_argument)?,
            end_input: t.end_input,
        };
        self.executor
            .trigger_checkpoint(job_id(&t.job_id)?, trigger)
            .await
            .map_err(status)?;
        Ok(empty())
    }

    async fn notify_checkpoint_complete(
        &self,
        request: Request<proto::CheckpointRef>,
    ) -> Result<Response<proto::Empty>, Status> {
        let r = request.into_inner();
        self.executor
            .notify_checkpoint_complete(job_id(&r.job_id)?, r.checkpoint_id)
            .await;
        Ok(empty())
    }

    async fn task_io(
        &self,
        request: Request<proto::JobRef>,
    ) -> Result<Response<proto::Json>, Status> {
        let job = job_id(&request.into_inner().job_id)?;
        Ok(json(&self.executor.task_io(job).await))
    }

    async fn thread_dump(&self, _: Request<proto::Empty>) -> Result<Response<proto::Json>, Status> {
        Ok(json(&self.executor.thread_dump().await))
    }

    async fn describe(&self, _: Request<proto::Empty>) -> Result<Response<proto::Json>, Status> {
        Ok(json(&self.executor.describe().await))
    }

    async fn list_logs(&self, _: Request<proto::Empty>) -> Result<Response<proto::Json>, Status> {
        Ok(json(&self.executor.list_logs().await))
    }

    async fn read_log(
        &self,
        request: Request<proto::LogName>,
    ) -> Result<Response<proto::Blob>, Status> {
        let name = request.into_inner().name;
        let data = self.executor.read_log(&name).await.map_err(status)?;
        Ok(Response::new(proto::Blob { data }))
    }

    async fn metric_dump(&self, _: Request<proto::Empty>) -> Result<Response<proto::Json>, Status> {
        Ok(json(&self.executor.metric_dump().await))
    }

    async fn sample_tasks(
        &self,
        request: Request<proto::VertexRef>,
    ) -> Result<Response<proto::Json>, Status> {
        let r = request.into_inner();
        let samples = self
            .executor
            .sample_tasks(job_id(&r.job_id)?, r.vertex as usize)
            .await;
        Ok(json(&samples))
    }

    async fn request_profiling(
        &self,
        request: Request<proto::ProfilingRequest>,
    ) -> Result<Response<proto::Json>, Status> {
        let r = request.into_inner();
        let mode: ProfilingMode = serde_json::from_value(serde_json::Value::String(r.mode.clone()))
            .map_err(|_| {
                Status::invalid_argument(format!("'{}' is not a profiling mode", r.mode))
            })?;
        let info = self
            .executor
            .request_profiling(r.duration_s, mode)
            .await
            .map_err(status)?;
        Ok(json(&info))
    }

    async fn profiling_list(
        &self,
        _: Request<proto::Empty>,
    ) -> Result<Response<proto::Json>, Status> {
        Ok(json(&self.executor.profiling_list().await))
    }

    async fn profiling_file(
        &self,
        request: Request<proto::LogName>,
    ) -> Result<Response<proto::Blob>, Status> {
        let name = request.into_inner().name;
        let data = self.executor.profiling_file(&name).await.map_err(status)?;
        Ok(Response::new(proto::Blob { data }))
    }
}

/// A TaskManager in another process, as the JobManager's gateway to it.
pub struct RemoteTaskExecutor {
    endpoint: TaskManagerEndpoint,
    client: TaskManagerClient<Channel>,
    /// For messages: `TaskManager <id> at <address>`.
    peer: String,
}

impl RemoteTaskExecutor {
    /// A gateway to the TaskManager service at `rpc_address` (`host:port`). The connection is
    /// made on first use and re-made after a break.
    pub fn connect(endpoint: TaskManagerEndpoint, rpc_address: &str) -> Result<Self, String> {
        let channel = channel(rpc_address)?;
        let peer = format!("TaskManager {} at {rpc_address}", endpoint.resource_id);
        Ok(Self {
            endpoint,
            client: TaskManagerClient::new(channel).max_decoding_message_size(256 << 20),
            peer,
        })
    }

    fn client(&self) -> TaskManagerClient<Channel> {
        self.client.clone()
    }

    fn fail(&self, s: Status) -> GatewayError {
        error(s, &self.peer)
    }
}

fn job_ref(job: JobId) -> proto::JobRef {
    proto::JobRef {
        job_id: job.to_string(),
    }
}

#[async_trait]
impl TaskExecutorGateway for RemoteTaskExecutor {
    fn endpoint(&self) -> &TaskManagerEndpoint {
        &self.endpoint
    }

    async fn deploy(&self, d: TaskDeployment) -> Result<(), GatewayError> {
        let (restore_location, restore_metadata_json) = match &d.restore {
            Some(r) => (Some(r.location.uri()), to_json(r.metadata.as_ref())),
            None => (None, Vec::new()),
        };
        let request = proto::Deployment {
            job_id: d.job_id.to_string(),
            attempt: d.attempt,
            graph_json: to_json(d.graph.as_ref()),
            restore_location,
            restore_metadata_json,
            placement_json: to_json(d.placement.as_ref()),
        };
        self.client()
            .deploy(request)
            .await
            .map(|_| ())
            .map_err(|s| self.fail(s))
    }

    async fn cancel(&self, job: JobId) -> Result<(), GatewayError> {
        self.client()
            .cancel(job_ref(job))
            .await
            .map(|_| ())
            .map_err(|s| self.fail(s))
    }

    async fn job_ended(&self, job: JobId, status: JobStatus) {
        let request = proto::JobEnded {
            job_id: job.to_string(),
            status: status.as_str().to_string(),
        };
        if let Err(s) = self.client().job_ended(request).await {
            tracing::warn!(
                "telling {} that job {job} ended: {}",
                self.peer,
                s.message()
            );
        }
    }

    async fn trigger_checkpoint(
        &self,
        job: JobId,
        trigger: CheckpointTrigger,
    ) -> Result<(), GatewayError> {
        let request = proto::CheckpointTrigger {
            job_id: job.to_string(),
            checkpoint_id: trigger.checkpoint_id,
            timestamp: trigger.timestamp,
            location: trigger.location.uri(),
            end_input: trigger.end_input,
        };
        self.client()
            .trigger_checkpoint(request)
            .await
            .map(|_| ())
            .map_err(|s| self.fail(s))
    }

    async fn notify_checkpoint_complete(&self, job: JobId, checkpoint_id: u64) {
        let request = proto::CheckpointRef {
            job_id: job.to_string(),
            checkpoint_id,
        };
        if let Err(s) = self.client().notify_checkpoint_complete(request).await {
            tracing::warn!(
                "telling {} that checkpoint {checkpoint_id} of job {job} completed: {}",
                self.peer,
                s.message()
            );
        }
    }

    async fn task_io(&self, job: JobId) -> Option<Vec<SubtaskIo>> {
        let reply = self.client().task_io(job_ref(job)).await.ok()?;
        reply_json(&reply.into_inner().json, "task I/O")
            .ok()
            .flatten()
    }

    async fn thread_dump(&self) -> Vec<ThreadInfo> {
        match self.client().thread_dump(proto::Empty {}).await {
            Ok(r) => reply_json(&r.into_inner().json, "a thread dump").unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    async fn request_profiling(
        &self,
        duration_s: i64,
        mode: ProfilingMode,
    ) -> Result<ProfilingInfo, GatewayError> {
        let request = proto::ProfilingRequest {
            duration_s,
            mode: mode_name(mode),
        };
        let reply = self
            .client()
            .request_profiling(request)
            .await
            .map_err(|s| self.fail(s))?;
        reply_json(&reply.into_inner().json, "a profiling run")
    }

    async fn profiling_list(&self) -> Vec<ProfilingInfo> {
        match self.client().profiling_list(proto::Empty {}).await {
            Ok(r) => reply_json(&r.into_inner().json, "profiling runs").unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    async fn profiling_file(&self, name: &str) -> Result<Vec<u8>, GatewayError> {
        let request = proto::LogName {
            name: name.to_string(),
        };
        let reply = self
            .client()
            .profiling_file(request)
            .await
            .map_err(|s| self.fail(s))?;
        Ok(reply.into_inner().data)
    }

    async fn describe(&self) -> TaskManagerInfo {
        let described = match self.client().describe(proto::Empty {}).await {
            Ok(r) => reply_json::<TaskManagerInfo>(&r.into_inner().json, "a description").ok(),
            Err(_) => None,
        };
        // What registration said, when the TaskManager cannot be asked now.
        described.unwrap_or_else(|| TaskManagerInfo {
            id: self.endpoint.resource_id.clone(),
            path: self.endpoint.path(),
            data_port: self.endpoint.data_port_or_none(),
            ..TaskManagerInfo::default()
        })
    }

    async fn list_logs(&self) -> Vec<LogFile> {
        match self.client().list_logs(proto::Empty {}).await {
            Ok(r) => reply_json(&r.into_inner().json, "a log list").unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    async fn read_log(&self, name: &str) -> Result<Vec<u8>, GatewayError> {
        let request = proto::LogName {
            name: name.to_string(),
        };
        let reply = self
            .client()
            .read_log(request)
            .await
            .map_err(|s| self.fail(s))?;
        Ok(reply.into_inner().data)
    }

    async fn metric_dump(&self) -> Vec<DumpedGroup> {
        match self.client().metric_dump(proto::Empty {}).await {
            Ok(r) => reply_json(&r.into_inner().json, "a metric dump").unwrap_or_default(),
            Err(s) => {
                tracing::debug!("fetching the metrics of {}: {}", self.peer, s.message());
                Vec::new()
            }
        }
    }

    async fn sample_tasks(&self, job: JobId, vertex: usize) -> Vec<ThreadSample> {
        let request = proto::VertexRef {
            job_id: job.to_string(),
            vertex: vertex as u32,
        };
        match self.client().sample_tasks(request).await {
            Ok(r) => reply_json(&r.into_inner().json, "task samples").unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }
}
