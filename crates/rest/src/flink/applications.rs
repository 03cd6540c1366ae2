//! Flink 2.3's applications, which its dashboard reads. Each submitted pipeline is an
//! application holding its one job, with the job's id as the application id (as Flink's
//! `SingleJobApplication`).

use super::messages::{self, now_ms};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use weir_core::{JobId, JobStatus};
use weir_gateway::{GatewayError, JobSnapshot};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/applications/overview", "Returns an overview over all applications.", applications_overview),
        endpoint!(GET "/applications/{applicationid}", "Returns details of an application.", application_details),
        endpoint!(GET "/applications/{applicationid}/exceptions", "Returns the exceptions of an application's jobs.", application_exceptions),
        endpoint!(GET "/applications/{applicationid}/jobmanager/config", "Returns the JobManager configuration of an application.", application_jobmanager_config),
        endpoint!(POST "/applications/{applicationid}/cancel", "Cancels an application.", cancel_application),
    ]
}

/// Flink's application status names (a subset of job statuses, `CANCELING` spelled so).
fn app_status(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Initializing | JobStatus::Created => "CREATED",
        JobStatus::Running
        | JobStatus::Restarting
        | JobStatus::Reconciling
        | JobStatus::Suspended => "RUNNING",
        JobStatus::Failing => "FAILING",
        JobStatus::Failed => "FAILED",
        JobStatus::Cancelling => "CANCELING",
        JobStatus::Canceled => "CANCELED",
        JobStatus::Finished => "FINISHED",
    }
}

async fn application(s: &AppState, raw: &str) -> RestResult<JobSnapshot> {
    let id: JobId = raw
        .parse()
        .map_err(|_| RestError::bad_path_param("applicationid", raw))?;
    match s.gateway.request_job(id).await {
        Ok(snap) => Ok(snap),
        // Flink answers an unknown application with 500 (captured from Flink 2.3.0).
        Err(GatewayError::NotFound(_)) => Err(GatewayError::Internal(format!(
            "org.apache.flink.runtime.messages.FlinkApplicationNotFoundException: Could not find Flink application ({id})"
        ))
        .into()),
        Err(e) => Err(e.into()),
    }
}

fn app_name(s: &JobSnapshot) -> String {
    format!("SingleJobApplication({})", s.name)
}

async fn applications_overview(State(s): State<AppState>) -> Json<Value> {
    let apps: Vec<Value> = s
        .gateway
        .request_multiple_job_details()
        .await
        .iter()
        .map(|o| {
            json!({
                "id": o.job_id.to_string(),
                "name": format!("SingleJobApplication({})", o.name),
                "start-time": o.start_time,
                "end-time": o.end_time,
                "duration": o.duration,
                "status": app_status(o.status),
                "jobs": { o.status.as_str(): 1 },
            })
        })
        .collect();
    Json(json!({ "applications": apps }))
}

async fn application_details(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<Value>> {
    let snap = application(&s, &id).await?;
    let now = now_ms();
    let overview = weir_gateway::JobOverview::of(&snap, now);
    let ts = |st: JobStatus| {
        JobStatus::ALL
            .iter()
            .position(|x| *x == st)
            .map(|i| snap.timestamps[i])
            .unwrap_or(0)
    };
    Ok(Json(json!({
        "id": snap.job_id.to_string(),
        "name": app_name(&snap),
        "status": app_status(snap.status),
        "start-time": snap.start_time(),
        "end-time": snap.end_time(),
        "duration": snap.duration(now),
        "timestamps": {
            "CREATED": snap.start_time(),
            "RUNNING": ts(JobStatus::Running),
            "FAILING": ts(JobStatus::Failing),
            "FAILED": ts(JobStatus::Failed),
            "CANCELING": ts(JobStatus::Cancelling),
            "CANCELED": ts(JobStatus::Canceled),
            "FINISHED": ts(JobStatus::Finished),
        },
        "jobs": [messages::job_details(&overview)],
    })))
}

async fn application_exceptions(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<Value>> {
    let snap = application(&s, &id).await?;
    let entries: Vec<Value> = snap
        .exceptions
        .iter()
        .rev()
        .map(|e| {
            json!({
                "exceptionName": e.exception_name,
                "stacktrace": e.stacktrace,
                "timestamp": e.timestamp,
                "jobId": snap.job_id.to_string(),
            })
        })
        .collect();
    Ok(Json(json!({ "exceptionHistory": { "entries": entries } })))
}

async fn application_jobmanager_config(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<Value>> {
    application(&s, &id).await?;
    let config = s.gateway.request_cluster_config().await;
    Ok(Json(messages::config_entries(config.iter())))
}

async fn cancel_application(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<(StatusCode, Json<Value>)> {
    let snap = application(&s, &id).await?;
    s.gateway.cancel_job(snap.job_id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({}))))
}
