//! Flink 2.3's applications, which its dashboard reads. Each submitted pipeline is an
//! application holding its one job, with the job's id as the application id (as Flink's
//! `SingleJobApplication`).

use super::messages::{self, now_ms, ConfigurationInfo, EmptyResponseBody, JobDetailsMessage};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use weir_core::{JobId, JobStatus};
use weir_gateway::{GatewayError, JobSnapshot};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/applications/overview", "Returns an overview over all applications.", applications_overview)
            .returns::<MultipleApplicationsDetails>(),
        endpoint!(GET "/applications/{applicationid}", "Returns details of an application.", application_details)
            .returns::<ApplicationDetailsInfo>(),
        endpoint!(GET "/applications/{applicationid}/exceptions", "Returns the exceptions of an application's jobs.", application_exceptions)
            .returns::<ApplicationExceptionsInfoWithHistory>(),
        endpoint!(GET "/applications/{applicationid}/jobmanager/config", "Returns the JobManager configuration of an application.", application_jobmanager_config)
            .returns::<ConfigurationInfo>(),
        endpoint!(POST "/applications/{applicationid}/cancel", "Cancels an application.", cancel_application)
            .returns_with::<EmptyResponseBody>(202),
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
        // Flink 2.3.0 answers an unknown application with a 500 carrying this message; weir
        // keeps the message and answers 404, as a missing resource is the caller's error (and
        // weir answers no 5xx to a request it can judge).
        Err(GatewayError::NotFound(_)) => Err(RestError::not_found(format!(
            "org.apache.flink.runtime.messages.FlinkApplicationNotFoundException: Could not find Flink application ({id})"
        ))),
        Err(e) => Err(e.into()),
    }
}

fn app_name(s: &JobSnapshot) -> String {
    format!("SingleJobApplication({})", s.name)
}

/// `MultipleApplicationsDetails`.
#[derive(Serialize, ToSchema)]
pub struct MultipleApplicationsDetails {
    pub applications: Vec<ApplicationDetails>,
}

/// `ApplicationDetails`: one application in the overview.
#[derive(Serialize, ToSchema)]
pub struct ApplicationDetails {
    pub id: String,
    pub name: String,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    pub status: &'static str,
    /// How many of its jobs are in each state.
    pub jobs: BTreeMap<&'static str, u32>,
}

async fn applications_overview(State(s): State<AppState>) -> Json<MultipleApplicationsDetails> {
    let applications = s
        .gateway
        .request_multiple_job_details()
        .await
        .iter()
        .map(|o| ApplicationDetails {
            id: o.job_id.to_string(),
            name: format!("SingleJobApplication({})", o.name),
            start_time: o.start_time,
            end_time: o.end_time,
            duration: o.duration,
            status: app_status(o.status),
            jobs: BTreeMap::from([(o.status.as_str(), 1)]),
        })
        .collect();
    Json(MultipleApplicationsDetails { applications })
}

/// `ApplicationDetailsInfo`.
#[derive(Serialize, ToSchema)]
pub struct ApplicationDetailsInfo<'a> {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    pub timestamps: BTreeMap<&'static str, i64>,
    pub jobs: Vec<JobDetailsMessage<'a>>,
}

async fn application_details(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<axum::response::Response> {
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
    let body = ApplicationDetailsInfo {
        id: snap.job_id.to_string(),
        name: app_name(&snap),
        status: app_status(snap.status),
        start_time: snap.start_time(),
        end_time: snap.end_time(),
        duration: snap.duration(now),
        timestamps: BTreeMap::from([
            ("CREATED", snap.start_time()),
            ("RUNNING", ts(JobStatus::Running)),
            ("FAILING", ts(JobStatus::Failing)),
            ("FAILED", ts(JobStatus::Failed)),
            ("CANCELING", ts(JobStatus::Cancelling)),
            ("CANCELED", ts(JobStatus::Canceled)),
            ("FINISHED", ts(JobStatus::Finished)),
        ]),
        jobs: vec![JobDetailsMessage::of(&overview)],
    };
    Ok(crate::json::response(&body, 1024))
}

/// `ApplicationExceptionsInfoWithHistory`.
#[derive(Serialize, ToSchema)]
pub struct ApplicationExceptionsInfoWithHistory {
    #[serde(rename = "exceptionHistory")]
    pub exception_history: ApplicationExceptionHistory,
}

/// Its history: newest first.
#[derive(Serialize, ToSchema)]
pub struct ApplicationExceptionHistory {
    pub entries: Vec<ApplicationExceptionInfo>,
}

/// One failure of one of the application's jobs.
#[derive(Serialize, ToSchema)]
pub struct ApplicationExceptionInfo {
    #[serde(rename = "exceptionName")]
    pub exception_name: String,
    pub stacktrace: String,
    pub timestamp: i64,
    #[serde(rename = "jobId")]
    pub job_id: String,
}

async fn application_exceptions(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<ApplicationExceptionsInfoWithHistory>> {
    let snap = application(&s, &id).await?;
    let entries = snap
        .exceptions
        .iter()
        .rev()
        .map(|e| ApplicationExceptionInfo {
            exception_name: e.exception_name.clone(),
            stacktrace: e.stacktrace.clone(),
            timestamp: e.timestamp,
            job_id: snap.job_id.to_string(),
        })
        .collect();
    Ok(Json(ApplicationExceptionsInfoWithHistory {
        exception_history: ApplicationExceptionHistory { entries },
    }))
}

async fn application_jobmanager_config(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<ConfigurationInfo>> {
    application(&s, &id).await?;
    let config = s.gateway.request_cluster_config().await;
    Ok(Json(ConfigurationInfo::of(config.iter())))
}

async fn cancel_application(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<(StatusCode, Json<EmptyResponseBody>)> {
    let snap = application(&s, &id).await?;
    s.gateway.cancel_job(snap.job_id).await?;
    Ok(messages::empty(StatusCode::ACCEPTED))
}
