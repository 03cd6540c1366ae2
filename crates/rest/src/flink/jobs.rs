//! Job endpoints: lists, details, cancel, status, plan, config, exceptions, results,
//! accumulators, per-job JobManager info and submission (`POST /jobs`).

use super::job_details_render::JobDetailsTemplate;
use super::messages::{
    self, now_ms, ConfigurationInfo, EmptyResponseBody, EnvironmentInfo, FailureCause,
    JobDetailsInfo, JobDetailsMessage, PlanMessage, QueueStatus, RootExceptionInfo,
};
use crate::endpoint;
use crate::endpoint::{query, Endpoint, Media, ParamKind, QueryParam};
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::params::{self, Query};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use weir_core::JobStatus;
use weir_gateway::JobOverview;

const CANCEL_QUERY: &[QueryParam] = &[query(
    "mode",
    ParamKind::OneOf(&["cancel", "stop"]),
    "String value that specifies the termination mode. The only supported value is: \"cancel\".",
)];
const EXCEPTIONS_QUERY: &[QueryParam] = &[
    query(
        "maxExceptions",
        ParamKind::Integer,
        "Comma-separated list of integer values that specifies the upper limit of exceptions to return.",
    ),
    query(
        "failureLabelFilter",
        ParamKind::String,
        "Collection of string values working as a filter in the form of `key:value` pairs allowing only exceptions with ALL of the specified failure labels to be returned.",
    ),
];
const ACCUMULATORS_QUERY: &[QueryParam] = &[query(
    "includeSerializedValue",
    ParamKind::Boolean,
    "Boolean value that specifies whether serialized user task accumulators should be included in the response.",
)];

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobs", "Returns an overview over all jobs and their current state.", list_jobs)
            .returns::<JobIdsWithStatusOverview>(),
        endpoint!(POST "/jobs", "Submits a job: a pipeline file as the body (JSON, HOCON, or multipart).", super::jars::submit_job_body)
            .accepts_as::<serde_json::Value>(Media::Json)
            .accepts_as::<String>(Media::Text)
            .accepts_as::<super::jars::PipelineUpload>(Media::Multipart)
            .query(super::jars::SUBMIT_QUERY)
            .returns_with::<super::jars::JobSubmitResponseBody>(202),
        endpoint!(GET "/jobs/overview", "Returns an overview over all jobs.", jobs_overview)
            .returns::<MultipleJobsDetails>(),
        endpoint!(GET "/jobs/{jobid}", "Returns details of a job.", job_details)
            .returns::<JobDetailsInfo>(),
        endpoint!(PATCH "/jobs/{jobid}", "Terminates a job (mode=cancel).", cancel_job)
            .query(CANCEL_QUERY)
            .returns_with::<EmptyResponseBody>(202),
        endpoint!(GET "/jobs/{jobid}/yarn-cancel", "Cancels a job (the dashboard's cancel button).", yarn_cancel)
            .returns_with::<EmptyResponseBody>(202),
        endpoint!(GET "/jobs/{jobid}/yarn-stop", "Removed stop mode; answers as Flink does: 308 and where to go instead.", yarn_stop)
            .returns_with::<crate::error::ErrorResponseBody>(308),
        endpoint!(GET "/jobs/{jobid}/status", "Returns the current status of a job.", job_status)
            .returns::<JobStatusInfo>(),
        endpoint!(GET "/jobs/{jobid}/plan", "Returns the dataflow plan of a job.", job_plan)
            .returns::<JobPlanInfo>(),
        endpoint!(GET "/jobs/{jobid}/config", "Returns the configuration of a job.", job_config)
            .returns::<JobConfigInfo>(),
        endpoint!(GET "/jobs/{jobid}/exceptions", "Returns the most recent exceptions of a job.", job_exceptions)
            .query(EXCEPTIONS_QUERY)
            .returns::<JobExceptionsInfoWithHistory>(),
        endpoint!(GET "/jobs/{jobid}/execution-result", "Returns the result of a job execution.", execution_result)
            .returns::<JobExecutionResultResponseBody>(),
        endpoint!(GET "/jobs/{jobid}/accumulators", "Returns the accumulators of all tasks of a job.", job_accumulators)
            .query(ACCUMULATORS_QUERY)
            .returns::<JobAccumulatorsInfo>(),
        endpoint!(GET "/jobs/{jobid}/jobmanager/config", "Returns the JobManager configuration of a job.", job_jobmanager_config)
            .returns::<ConfigurationInfo>(),
        endpoint!(GET "/jobs/{jobid}/jobmanager/environment", "Returns the JobManager environment of a job.", job_jobmanager_environment)
            .returns::<EnvironmentInfo>(),
        endpoint!(GET "/jobs/{jobid}/jobmanager/log-url", "Returns the log URL of the JobManager of a job.", job_jobmanager_log_url)
            .returns::<LogUrlResponse>(),
        endpoint!(GET "/jobs/{jobid}/taskmanagers/{taskmanagerid}/log-url", "Returns the log URL of a TaskManager of a job.", job_taskmanager_log_url)
            .returns::<LogUrlResponse>(),
        endpoint!(PATCH "/jobs/{jobid}/clientHeartbeat", "Reports that the job's client is alive.", client_heartbeat)
            .accepts::<JobClientHeartbeatRequestBody>()
            .returns_with::<EmptyResponseBody>(202),
    ]
}

/// `JobIdsWithStatusOverview` (`/jobs`).
#[derive(Serialize, ToSchema)]
pub struct JobIdsWithStatusOverview {
    pub jobs: Vec<JobIdWithStatus>,
}

/// `JobIdWithStatus`.
#[derive(Serialize, ToSchema)]
pub struct JobIdWithStatus {
    pub id: String,
    pub status: &'static str,
}

async fn list_jobs(State(s): State<AppState>) -> Json<JobIdsWithStatusOverview> {
    let jobs = s
        .gateway
        .request_multiple_job_details()
        .await
        .iter()
        .map(|o| JobIdWithStatus {
            id: o.job_id.to_string(),
            status: o.status.as_str(),
        })
        .collect();
    Json(JobIdsWithStatusOverview { jobs })
}

/// `MultipleJobsDetails` (`/jobs/overview`). The handler writes it as bytes, splicing cached
/// lines of finished jobs; this type is the shape both parts have.
#[derive(Serialize, ToSchema)]
pub struct MultipleJobsDetails<'a> {
    pub jobs: Vec<JobDetailsMessage<'a>>,
}

/// `MultipleJobsDetails`: running jobs first, serialized fresh on every call; then finished
/// jobs, whose lines (they can no longer change) come from the cache as one block.
async fn jobs_overview(State(s): State<AppState>) -> axum::response::Response {
    let listing = s.gateway.request_job_listing().await;
    let running: Vec<&JobOverview> = listing
        .running
        .iter()
        .filter(|o| !o.status.is_terminal())
        .collect();
    let key: Vec<(weir_core::JobId, bool)> = listing
        .running
        .iter()
        .map(|o| (o.job_id, o.status.is_terminal()))
        .collect();
    let block = s.finished_lines.for_listing(&listing.finished, &key, || {
        // Ended jobs not archived yet (a master settling its last savepoint) list with the
        // archived ones; jobs running again from a savepoint list only as running.
        let mut finished: Vec<&JobOverview> = listing
            .running
            .iter()
            .filter(|o| o.status.is_terminal())
            .chain(listing.finished_only())
            .collect();
        finished.sort_by(|a, b| a.listing_order(b));
        let ids: Vec<weir_core::JobId> = finished.iter().map(|o| o.job_id).collect();
        s.finished_lines.block(&ids, |i| {
            serde_json::to_vec(&JobDetailsMessage::of(finished[i])).unwrap_or_default()
        })
    });
    let mut head = Vec::with_capacity(16 + running.len() * 448);
    head.extend_from_slice(b"{\"jobs\":[");
    for (i, o) in running.iter().enumerate() {
        if i > 0 {
            head.push(b',');
        }
        let _ = serde_json::to_writer(&mut head, &JobDetailsMessage::of(o));
    }
    if !running.is_empty() && !block.is_empty() {
        head.push(b',');
    }
    // The cached block goes out as it is, not copied behind the fresh lines.
    let mut body = crate::pieces::Pieces::default();
    body.push(head);
    body.push(axum::body::Bytes::from_owner(block));
    body.push(&b"]}"[..]);
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        axum::body::Body::new(body),
    )
        .into_response()
}

async fn job_details(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<axum::response::Response> {
    let job = params::job_id(&job)?;
    let live = s.gateway.request_live_job(job).await?;
    let template = s.job_details.get(job, &live.snapshot, || {
        std::sync::Arc::new(JobDetailsTemplate::of(&live.snapshot))
    });
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        template.render(&live, now_ms()),
    )
        .into_response())
}

type Accepted = (StatusCode, Json<EmptyResponseBody>);

async fn cancel_job(
    State(s): State<AppState>,
    Path(job): Path<String>,
    RawQuery(q): RawQuery,
) -> RestResult<Accepted> {
    let job = params::job_id(&job)?;
    let q = Query::parse(q.as_deref());
    match q.get("mode").map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("cancel") => {}
        Some("stop") => return Err(stop_removed()),
        Some(_) => {
            return Err(RestError::bad_query_param(
                "mode",
                q.get("mode").unwrap_or(""),
            ))
        }
    }
    cancel(&s, job).await
}

async fn cancel(s: &AppState, job: weir_core::JobId) -> RestResult<Accepted> {
    match s.gateway.cancel_job(job).await {
        Ok(()) => Ok(messages::empty(StatusCode::ACCEPTED)),
        Err(weir_gateway::GatewayError::NotFound(_)) => {
            Err(RestError::not_found("Job could not be found."))
        }
        Err(e) => Err(e.into()),
    }
}

fn stop_removed() -> RestError {
    RestError::new(
        StatusCode::PERMANENT_REDIRECT,
        "The termination mode \"stop\" has been removed. For an ungraceful shutdown, please use \"cancel\" instead. For a graceful shutdown, please use \"jobs/:jobId/stop\" instead.",
    )
}

async fn yarn_cancel(State(s): State<AppState>, Path(job): Path<String>) -> RestResult<Accepted> {
    let job = params::job_id(&job)?;
    cancel(&s, job).await
}

async fn yarn_stop(Path(job): Path<String>) -> RestResult<Accepted> {
    params::job_id(&job)?;
    Err(stop_removed())
}

/// `JobStatusInfo`.
#[derive(Serialize, ToSchema)]
pub struct JobStatusInfo {
    pub status: &'static str,
}

async fn job_status(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<JobStatusInfo>> {
    let status = s.gateway.request_job_status(params::job_id(&job)?).await?;
    Ok(Json(JobStatusInfo {
        status: status.as_str(),
    }))
}

/// `JobPlanInfo`.
#[derive(Serialize, ToSchema)]
pub struct JobPlanInfo<'a> {
    pub plan: PlanMessage<'a>,
}

async fn job_plan(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<axum::response::Response> {
    let snapshot = s.gateway.request_job(params::job_id(&job)?).await?;
    let body = JobPlanInfo {
        plan: PlanMessage::of(&snapshot),
    };
    Ok(crate::json::response(
        &body,
        256 + snapshot.vertices.len() * 512,
    ))
}

/// `JobConfigInfo` (`/jobs/:jobid/config`).
#[derive(Serialize, ToSchema)]
pub struct JobConfigInfo {
    pub jid: String,
    pub name: String,
    #[serde(rename = "execution-config")]
    pub execution_config: ExecutionConfigInfo,
}

/// `JobConfigInfo.ExecutionConfigInfo`.
#[derive(Serialize, ToSchema)]
pub struct ExecutionConfigInfo {
    #[serde(rename = "restart-strategy")]
    pub restart_strategy: &'static str,
    #[serde(rename = "job-parallelism")]
    pub job_parallelism: usize,
    #[serde(rename = "object-reuse-mode")]
    pub object_reuse_mode: bool,
    /// The job's `env` options.
    #[serde(rename = "user-config")]
    pub user_config: BTreeMap<String, String>,
}

async fn job_config(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<JobConfigInfo>> {
    let snapshot = s.gateway.request_job(params::job_id(&job)?).await?;
    let parallelism = snapshot
        .vertices
        .iter()
        .map(|v| v.parallelism)
        .max()
        .unwrap_or(1);
    Ok(Json(JobConfigInfo {
        jid: snapshot.job_id.to_string(),
        name: snapshot.name.clone(),
        execution_config: ExecutionConfigInfo {
            restart_strategy: "Cluster level default restart strategy",
            job_parallelism: parallelism,
            object_reuse_mode: false,
            user_config: snapshot
                .config
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        },
    }))
}

/// `JobExceptionsInfoWithHistory`.
#[derive(Serialize, ToSchema)]
pub struct JobExceptionsInfoWithHistory {
    #[serde(rename = "exceptionHistory")]
    pub exception_history: JobExceptionHistory,
}

/// `JobExceptionsInfoWithHistory.JobExceptionHistory`: newest first.
#[derive(Serialize, ToSchema)]
pub struct JobExceptionHistory {
    pub entries: Vec<RootExceptionInfo>,
    pub truncated: bool,
}

async fn job_exceptions(
    State(s): State<AppState>,
    Path(job): Path<String>,
    RawQuery(q): RawQuery,
) -> RestResult<Json<JobExceptionsInfoWithHistory>> {
    let job = params::job_id(&job)?;
    let q = Query::parse(q.as_deref());
    let max = q.int("maxExceptions")?.unwrap_or(20).max(0) as usize;
    let snapshot = s.gateway.request_job(job).await?;
    let entries = snapshot
        .exceptions
        .iter()
        .rev()
        .take(max)
        .map(RootExceptionInfo::of)
        .collect();
    Ok(Json(JobExceptionsInfoWithHistory {
        exception_history: JobExceptionHistory {
            entries,
            truncated: snapshot.exceptions.len() > max,
        },
    }))
}

/// `JobExecutionResultResponseBody`: the result once the job is done.
#[derive(Serialize, ToSchema)]
pub struct JobExecutionResultResponseBody {
    pub status: QueueStatus,
    #[serde(
        rename = "job-execution-result",
        skip_serializing_if = "Option::is_none"
    )]
    pub job_execution_result: Option<JobExecutionResult>,
}

/// `JobResult` as Flink's `JobResultSerializer` writes it.
#[derive(Serialize, ToSchema)]
pub struct JobExecutionResult {
    pub id: String,
    pub name: String,
    #[serde(rename = "application-status")]
    pub application_status: &'static str,
    #[serde(rename = "accumulator-results")]
    pub accumulator_results: BTreeMap<String, String>,
    #[serde(rename = "net-runtime")]
    pub net_runtime: i64,
    #[serde(rename = "application-id")]
    pub application_id: String,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    #[serde(rename = "failure-cause", skip_serializing_if = "Option::is_none")]
    pub failure_cause: Option<FailureCause>,
}

async fn execution_result(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<JobExecutionResultResponseBody>> {
    let job = params::job_id(&job)?;
    let snapshot = match s.gateway.request_job(job).await {
        Ok(snap) => snap,
        Err(weir_gateway::GatewayError::NotFound(_)) => {
            return Err(RestError::not_found(format!(
                "org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job ({job})"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if !snapshot.status.is_terminal() {
        return Ok(Json(JobExecutionResultResponseBody {
            status: QueueStatus::in_progress(),
            job_execution_result: None,
        }));
    }
    let application_status = match snapshot.status {
        JobStatus::Finished => "SUCCEEDED",
        JobStatus::Canceled => "CANCELED",
        JobStatus::Failed => "FAILED",
        _ => "UNKNOWN",
    };
    let failure_cause = (snapshot.status == JobStatus::Failed).then(|| FailureCause {
        class: "weir.JobExecutionException".into(),
        stack_trace: snapshot
            .exceptions
            .first()
            .map(|e| e.stacktrace.clone())
            .unwrap_or_default(),
        serialized_throwable: Some(String::new()),
    });
    Ok(Json(JobExecutionResultResponseBody {
        status: QueueStatus::completed(),
        job_execution_result: Some(JobExecutionResult {
            id: job.to_string(),
            name: snapshot.name.clone(),
            application_status,
            accumulator_results: BTreeMap::new(),
            net_runtime: snapshot.duration(snapshot.end_time()),
            application_id: job.to_string(),
            start_time: snapshot.start_time(),
            end_time: snapshot.end_time(),
            failure_cause,
        }),
    }))
}

/// `JobAccumulatorsInfo`: weir pipelines define no user accumulators; row counts are served as
/// metrics.
#[derive(Serialize, ToSchema)]
pub struct JobAccumulatorsInfo {
    #[serde(rename = "job-accumulators")]
    pub job_accumulators: Vec<UserTaskAccumulator>,
    #[serde(rename = "user-task-accumulators")]
    pub user_task_accumulators: Vec<UserTaskAccumulator>,
    #[serde(rename = "serialized-user-task-accumulators")]
    pub serialized_user_task_accumulators: BTreeMap<String, serde_json::Value>,
}

/// `JobAccumulatorsInfo.UserTaskAccumulator`.
#[derive(Serialize, ToSchema)]
pub struct UserTaskAccumulator {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

async fn job_accumulators(
    State(s): State<AppState>,
    Path(job): Path<String>,
    RawQuery(q): RawQuery,
) -> RestResult<Json<JobAccumulatorsInfo>> {
    let job = params::job_id(&job)?;
    Query::parse(q.as_deref()).bool("includeSerializedValue")?;
    s.gateway.request_job_status(job).await?;
    Ok(Json(JobAccumulatorsInfo {
        job_accumulators: Vec::new(),
        user_task_accumulators: Vec::new(),
        serialized_user_task_accumulators: BTreeMap::new(),
    }))
}

async fn job_jobmanager_config(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<ConfigurationInfo>> {
    s.gateway.request_job_status(params::job_id(&job)?).await?;
    let config = s.gateway.request_cluster_config().await;
    Ok(Json(ConfigurationInfo::of(config.iter())))
}

async fn job_jobmanager_environment(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<EnvironmentInfo>> {
    s.gateway.request_job_status(params::job_id(&job)?).await?;
    Ok(Json(EnvironmentInfo::of_process()))
}

/// `LogUrlResponse`: where the dashboard shows a process's log.
#[derive(Serialize, ToSchema)]
pub struct LogUrlResponse {
    pub url: String,
}

async fn job_jobmanager_log_url(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<LogUrlResponse>> {
    s.gateway.request_job_status(params::job_id(&job)?).await?;
    Ok(Json(LogUrlResponse {
        url: format!("{}/#/job-manager/logs", s.settings.advertised_url),
    }))
}

async fn job_taskmanager_log_url(
    State(s): State<AppState>,
    Path((job, tm)): Path<(String, String)>,
) -> RestResult<Json<LogUrlResponse>> {
    s.gateway.request_job_status(params::job_id(&job)?).await?;
    s.gateway.request_task_manager(&tm).await?;
    Ok(Json(LogUrlResponse {
        url: format!("{}/#/task-manager/{tm}/logs", s.settings.advertised_url),
    }))
}

/// Flink's `JobClientHeartbeatRequestBody`.
#[derive(Deserialize, ToSchema)]
pub struct JobClientHeartbeatRequestBody {
    #[serde(rename = "expiredTimestamp")]
    pub expired_timestamp: i64,
}

async fn client_heartbeat(
    State(s): State<AppState>,
    Path(job): Path<String>,
    body: Bytes,
) -> RestResult<Accepted> {
    let job = params::job_id(&job)?;
    let hb: JobClientHeartbeatRequestBody =
        super::body::parse(&body, "JobClientHeartbeatRequestBody")?;
    s.gateway
        .report_job_client_heartbeat(job, hb.expired_timestamp)
        .await?;
    Ok(messages::empty(StatusCode::ACCEPTED))
}
