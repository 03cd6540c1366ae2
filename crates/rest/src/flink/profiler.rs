//! The profiler endpoints (Flink's FLIP-375): `POST` starts a run on the JobManager or a
//! TaskManager, `GET` lists the runs, `GET …/profiler/:filename` downloads a result. They exist
//! only while `rest.profiling.enabled` is on, as in Flink.

use super::body;
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use weir_gateway::snapshot::LogSource;
use weir_gateway::{ProfilingInfo, ProfilingMode};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(profiling POST "/jobmanager/profiler", "Starts profiling the JobManager.", jobmanager_profile),
        endpoint!(profiling GET "/jobmanager/profiler", "Lists the JobManager's profiling runs.", jobmanager_profiles),
        endpoint!(profiling GET "/jobmanager/profiler/{filename}", "Returns a profiling result of the JobManager.", jobmanager_profile_file),
        endpoint!(profiling POST "/taskmanagers/{taskmanagerid}/profiler", "Starts profiling a TaskManager.", taskmanager_profile),
        endpoint!(profiling GET "/taskmanagers/{taskmanagerid}/profiler", "Lists a TaskManager's profiling runs.", taskmanager_profiles),
        endpoint!(profiling GET "/taskmanagers/{taskmanagerid}/profiler/{filename}", "Returns a profiling result of a TaskManager.", taskmanager_profile_file),
    ]
}

/// Flink's `ProfilingRequestBody`.
#[derive(Deserialize)]
struct ProfilingRequestBody {
    mode: String,
    duration: i64,
}

/// Flink's `ProfilingInfoList`.
#[derive(Serialize)]
struct ProfilingInfoList {
    #[serde(rename = "profilingList")]
    profiling_list: Vec<ProfilingInfo>,
}

fn parse_request(bytes: &[u8]) -> Result<(ProfilingMode, i64), RestError> {
    let req: ProfilingRequestBody = body::parse(bytes, "ProfilingRequestBody")?;
    let mode = ProfilingMode::parse(&req.mode).ok_or_else(|| {
        RestError::bad_request(format!(
            "Unknown profiling mode {:?}: use ITIMER, CPU or WALL.",
            req.mode
        ))
    })?;
    Ok((mode, req.duration))
}

async fn profile(s: &AppState, source: LogSource, bytes: &[u8]) -> RestResult<Json<ProfilingInfo>> {
    let (mode, duration) = parse_request(bytes)?;
    Ok(Json(
        s.gateway.request_profiling(source, duration, mode).await?,
    ))
}

async fn profiles(s: &AppState, source: LogSource) -> RestResult<Json<ProfilingInfoList>> {
    Ok(Json(ProfilingInfoList {
        profiling_list: s.gateway.request_profiling_list(source).await?,
    }))
}

async fn profile_file(
    s: &AppState,
    source: LogSource,
    file: &str,
) -> RestResult<impl IntoResponse> {
    let name = weir_core::logdir::last_component(file).unwrap_or("");
    let bytes = s.gateway.request_profiling_file(source, name).await?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=UTF-8")], bytes))
}

async fn jobmanager_profile(
    State(s): State<AppState>,
    bytes: Bytes,
) -> RestResult<Json<ProfilingInfo>> {
    profile(&s, LogSource::JobManager, &bytes).await
}

async fn jobmanager_profiles(State(s): State<AppState>) -> RestResult<Json<ProfilingInfoList>> {
    profiles(&s, LogSource::JobManager).await
}

async fn jobmanager_profile_file(
    State(s): State<AppState>,
    Path(file): Path<String>,
) -> RestResult<impl IntoResponse> {
    profile_file(&s, LogSource::JobManager, &file).await
}

async fn taskmanager_profile(
    State(s): State<AppState>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> RestResult<Json<ProfilingInfo>> {
    profile(&s, LogSource::TaskManager(id), &bytes).await
}

async fn taskmanager_profiles(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<ProfilingInfoList>> {
    profiles(&s, LogSource::TaskManager(id)).await
}

async fn taskmanager_profile_file(
    State(s): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> RestResult<impl IntoResponse> {
    profile_file(&s, LogSource::TaskManager(id), &file).await
}
