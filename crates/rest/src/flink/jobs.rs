//! Job endpoints: lists, details, cancel, status, plan, config, exceptions, results,
//! accumulators, per-job JobManager info and submission (`POST /jobs`).

use super::messages::{self, now_ms};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::params::{self, Query};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use weir_core::JobStatus;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobs", "Returns an overview over all jobs and their current state.", list_jobs),
        endpoint!(POST "/jobs", "Submits a job: a pipeline file as the body (JSON, HOCON, or multipart).", super::jars::submit_job_body),
        endpoint!(GET "/jobs/overview", "Returns an overview over all jobs.", jobs_overview),
        endpoint!(GET "/jobs/{jobid}", "Returns details of a job.", job_details),
        endpoint!(PATCH "/jobs/{jobid}", "Terminates a job (mode=cancel).", cancel_job),
        endpoint!(GET "/jobs/{jobid}/yarn-cancel", "Cancels a job (the dashboard's cancel button).", yarn_cancel),
        endpoint!(GET "/jobs/{jobid}/yarn-stop", "Removed stop mode; answers as Flink does.", yarn_stop),
        endpoint!(GET "/jobs/{jobid}/status", "Returns the current status of a job.", job_status),
        endpoint!(GET "/jobs/{jobid}/plan", "Returns the dataflow plan of a job.", job_plan),
        endpoint!(GET "/jobs/{jobid}/config", "Returns the configuration of a job.", job_config),
        endpoint!(GET "/jobs/{jobid}/exceptions", "Returns the most recent exceptions of a job.", job_exceptions),
        endpoint!(GET "/jobs/{jobid}/execution-result", "Returns the result of a job execution.", execution_result),
        endpoint!(GET "/jobs/{jobid}/accumulators", "Returns the accumulators of all tasks of a job.", job_accumulators),
        endpoint!(GET "/jobs/{jobid}/jobmanager/config", "Returns the JobManager configuration of a job.", job_jobmanager_config),
        endpoint!(GET "/jobs/{jobid}/jobmanager/environment", "Returns the JobManager environment of a job.", job_jobmanager_environment),
        endpoint!(GET "/jobs/{jobid}/jobmanager/log-url", "Returns the log URL of the JobManager of a job.", job_jobmanager_log_url),
        endpoint!(GET "/jobs/{jobid}/taskmanagers/{taskmanagerid}/log-url", "Returns the log URL of a TaskManager of a job.", job_taskmanager_log_url),
        endpoint!(PATCH "/jobs/{jobid}/clientHeartbeat", "Reports that the job's client is alive.", client_heartbeat),
    ]
}

async fn list_jobs(State(s): State<AppState>) -> Json<Value> {
    let jobs: Vec<Value> = s
        .gateway
        .request_multiple_job_details()
        .await
        .iter()
        .map(|o| json!({"id": o.job_id.to_string(), "status": o.status.as_str()}))
        .collect();
    Json(json!({ "jobs": jobs }))
}

/// `MultipleJobsDetails`: running jobs first, serialized fresh on every call; then finished
/// jobs, whose lines (they can no longer change) come from the cache as one block.
async fn jobs_overview(State(s): State<AppState>) -> axum::response::Response {
    let overviews = s.gateway.request_multiple_job_details().await;
    let (finished, running): (Vec<_>, Vec<_>) =
        overviews.iter().partition(|o| o.status.is_terminal());
    let finished_ids: Vec<weir_core::JobId> = finished.iter().map(|o| o.job_id).collect();
    let block = s.finished_lines.block(&finished_ids, |i| {
        serde_json::to_vec(&messages::JobDetailsMessage::of(finished[i])).unwrap_or_default()
    });
    let mut out = Vec::with_capacity(16 + running.len() * 448 + block.len());
    out.extend_from_slice(b"{\"jobs\":[");
    for (i, o) in running.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, &messages::JobDetailsMessage::of(o));
    }
    if !running.is_empty() && !block.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(&block);
    out.extend_from_slice(b"]}");
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        out,
    )
        .into_response()
}

async fn job_details(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<axum::response::Response> {
    let snapshot = s.gateway.request_job(params::job_id(&job)?).await?;
    let body = messages::JobDetailsInfo::of(&snapshot, now_ms());
    Ok(messages::json_response(
        &body,
        1024 + snapshot.vertices.len() * 1536,
    ))
}

async fn cancel_job(
    State(s): State<AppState>,
    Path(job): Path<String>,
    RawQuery(q): RawQuery,
) -> RestResult<(StatusCode, Json<Value>)> {
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

async fn cancel(s: &AppState, job: weir_core::JobId) -> RestResult<(StatusCode, Json<Value>)> {
    match s.gateway.cancel_job(job).await {
        Ok(()) => Ok((StatusCode::ACCEPTED, Json(json!({})))),
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

async fn yarn_cancel(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<(StatusCode, Json<Value>)> {
    let job = params::job_id(&job)?;
    cancel(&s, job).await
}

async fn yarn_stop(Path(job): Path<String>) -> RestResult<Json<Value>> {
    params::job_id(&job)?;
    Err(stop_removed())
}

async fn job_status(State(s): State<AppState>, Path(job): Path<String>) -> RestResult<Json<Value>> {
    let status = s.gateway.request_job_status(params::job_id(&job)?).await?;
    Ok(Json(json!({ "status": status.as_str() })))
}

async fn job_plan(State(s): State<AppState>, Path(job): Path<String>) -> RestResult<Json<Value>> {
    let snapshot = s.gateway.request_job(params::job_id(&job)?).await?;
    Ok(Json(json!({ "plan": messages::plan(&snapshot) })))
}

async fn job_config(State(s): State<AppState>, Path(job): Path<String>) -> RestResult<Json<Value>> {
    let snapshot = s.gateway.request_job(params::job_id(&job)?).await?;
    let parallelism = snapshot
        .vertices
        .iter()
        .map(|v| v.parallelism)
        .max()
        .unwrap_or(1);
    Ok(Json(json!({
        "jid": snapshot.job_id.to_string(),
        "name": snapshot.name,
        "execution-config": {
            "restart-strategy": "Cluster level default restart strategy",
            "job-parallelism": parallelism,
            "object-reuse-mode": false,
            "user-config": snapshot.config,
        }
    })))
}

async fn job_exceptions(
    State(s): State<AppState>,
    Path(job): Path<String>,
    RawQuery(q): RawQuery,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let q = Query::parse(q.as_deref());
    let max = q.int("maxExceptions")?.unwrap_or(20).max(0) as usize;
    let snapshot = s.gateway.request_job(job).await?;
    let newest_first: Vec<Value> = snapshot
        .exceptions
        .iter()
        .rev()
        .take(max)
        .map(messages::exception_entry)
        .collect();
    Ok(Json(json!({
        "exceptionHistory": {
            "entries": newest_first,
            "truncated": snapshot.exceptions.len() > max,
        }
    })))
}

async fn execution_result(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<Value>> {
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
        return Ok(Json(json!({ "status": {"id": "IN_PROGRESS"} })));
    }
    let application_status = match snapshot.status {
        JobStatus::Finished => "SUCCEEDED",
        JobStatus::Canceled => "CANCELED",
        JobStatus::Failed => "FAILED",
        _ => "UNKNOWN",
    };
    let mut result = json!({
        "id": job.to_string(),
        "name": snapshot.name,
        "application-status": application_status,
        "accumulator-results": {},
        "net-runtime": snapshot.duration(snapshot.end_time()),
        "application-id": job.to_string(),
        "start-time": snapshot.start_time(),
        "end-time": snapshot.end_time(),
    });
    if snapshot.status == JobStatus::Failed {
        let cause = snapshot
            .exceptions
            .first()
            .map(|e| e.stacktrace.clone())
            .unwrap_or_default();
        result["failure-cause"] = json!({
            "class": "weir.JobExecutionException",
            "stack-trace": cause,
            "serialized-throwable": "",
        });
    }
    Ok(Json(
        json!({ "status": {"id": "COMPLETED"}, "job-execution-result": result }),
    ))
}

async fn job_accumulators(
    State(s): State<AppState>,
    Path(job): Path<String>,
    RawQuery(q): RawQuery,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    Query::parse(q.as_deref()).bool("includeSerializedValue")?;
    s.gateway.request_job_status(job).await?;
    // weir pipelines define no user accumulators; row counts are served as metrics.
    Ok(Json(json!({
        "job-accumulators": [],
        "user-task-accumulators": [],
        "serialized-user-task-accumulators": {},
    })))
}

async fn job_jobmanager_config(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<Value>> {
    s.gateway.request_job_status(params::job_id(&job)?).await?;
    let config = s.gateway.request_cluster_config().await;
    Ok(Json(messages::config_entries(config.iter())))
}

async fn job_jobmanager_environment(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<Value>> {
    s.gateway.request_job_status(params::job_id(&job)?).await?;
    Ok(Json(messages::environment()))
}

async fn job_jobmanager_log_url(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<Value>> {
    s.gateway.request_job_status(params::job_id(&job)?).await?;
    Ok(Json(
        json!({ "url": format!("{}/#/job-manager/logs", s.settings.advertised_url) }),
    ))
}

async fn job_taskmanager_log_url(
    State(s): State<AppState>,
    Path((job, tm)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    s.gateway.request_job_status(params::job_id(&job)?).await?;
    s.gateway.request_task_manager(&tm).await?;
    Ok(Json(
        json!({ "url": format!("{}/#/task-manager/{tm}/logs", s.settings.advertised_url) }),
    ))
}

#[derive(Deserialize)]
struct HeartbeatBody {
    #[serde(rename = "expiredTimestamp")]
    expired_timestamp: i64,
}

async fn client_heartbeat(
    State(s): State<AppState>,
    Path(job): Path<String>,
    body: Bytes,
) -> RestResult<(StatusCode, Json<Value>)> {
    let job = params::job_id(&job)?;
    let hb: HeartbeatBody = super::body::parse(&body, "JobClientHeartbeatRequestBody")?;
    s.gateway
        .report_job_client_heartbeat(job, hb.expired_timestamp)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({}))))
}
