//! The profiler endpoints (Flink's FLIP-375): `POST` starts a run on the JobManager or a
//! TaskManager, `GET` lists the runs, `GET …/profiler/:filename` downloads a result. They exist
//! only while `rest.profiling.enabled` is on, as in Flink.

use super::body;
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weir_gateway::profiling::ProfilingStatus;
use weir_gateway::snapshot::LogSource;
use weir_gateway::{ProfilingInfo, ProfilingMode};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(profiling POST "/jobmanager/profiler", "Starts profiling the JobManager.", jobmanager_profile)
            .accepts::<ProfilingRequestBody>()
            .returns::<ProfilingInfoMessage>(),
        endpoint!(profiling GET "/jobmanager/profiler", "Lists the JobManager's profiling runs.", jobmanager_profiles)
            .returns::<ProfilingInfoList>(),
        endpoint!(profiling GET "/jobmanager/profiler/{filename}", "Returns a profiling result of the JobManager.", jobmanager_profile_file)
            .returns_html(),
        endpoint!(profiling POST "/taskmanagers/{taskmanagerid}/profiler", "Starts profiling a TaskManager.", taskmanager_profile)
            .accepts::<ProfilingRequestBody>()
            .returns::<ProfilingInfoMessage>(),
        endpoint!(profiling GET "/taskmanagers/{taskmanagerid}/profiler", "Lists a TaskManager's profiling runs.", taskmanager_profiles)
            .returns::<ProfilingInfoList>(),
        endpoint!(profiling GET "/taskmanagers/{taskmanagerid}/profiler/{filename}", "Returns a profiling result of a TaskManager.", taskmanager_profile_file)
            .returns_html(),
    ]
}

/// Flink's `ProfilingRequestBody`.
#[derive(Deserialize, ToSchema)]
struct ProfilingRequestBody {
    #[schema(pattern = "^(ITIMER|CPU|WALL|itimer|cpu|wall)$")]
    mode: String,
    /// Seconds.
    #[schema(minimum = 1)]
    duration: i64,
}

/// Flink's `ProfilingInfoList`.
#[derive(Serialize, ToSchema)]
struct ProfilingInfoList {
    #[serde(rename = "profilingList")]
    profiling_list: Vec<ProfilingInfoMessage>,
}

/// Flink's `ProfilingInfo` (both `mode` and `profilingMode`, as Flink 2.3.0 sends).
#[derive(Serialize, ToSchema)]
struct ProfilingInfoMessage {
    status: ProfilingStatusName,
    mode: ProfilingModeName,
    #[serde(rename = "triggerTime")]
    trigger_time: i64,
    #[serde(rename = "finishedTime")]
    finished_time: Option<i64>,
    duration: u64,
    message: Option<String>,
    #[serde(rename = "outputFile")]
    output_file: Option<String>,
    #[serde(rename = "profilingMode")]
    profiling_mode: ProfilingModeName,
}

/// `ProfilingInfo.ProfilingStatus`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum ProfilingStatusName {
    Running,
    Finished,
    Failed,
}

/// `ProfilingInfo.ProfilingMode`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum ProfilingModeName {
    Cpu,
    Itimer,
    Wall,
    Alloc,
    Lock,
}

impl ProfilingModeName {
    fn of(m: ProfilingMode) -> Self {
        match m {
            ProfilingMode::Cpu => Self::Cpu,
            ProfilingMode::Itimer => Self::Itimer,
            ProfilingMode::Wall => Self::Wall,
            ProfilingMode::Alloc => Self::Alloc,
            ProfilingMode::Lock => Self::Lock,
        }
    }
}

impl ProfilingInfoMessage {
    fn of(p: ProfilingInfo) -> Self {
        ProfilingInfoMessage {
            status: match p.status {
                ProfilingStatus::Running => ProfilingStatusName::Running,
                ProfilingStatus::Finished => ProfilingStatusName::Finished,
                ProfilingStatus::Failed => ProfilingStatusName::Failed,
            },
            mode: ProfilingModeName::of(p.mode),
            trigger_time: p.trigger_time,
            finished_time: p.finished_time,
            duration: p.duration,
            message: p.message,
            output_file: p.output_file,
            profiling_mode: ProfilingModeName::of(p.profiling_mode),
        }
    }
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

async fn profile(
    s: &AppState,
    source: LogSource,
    bytes: &[u8],
) -> RestResult<Json<ProfilingInfoMessage>> {
    let (mode, duration) = parse_request(bytes)?;
    Ok(Json(ProfilingInfoMessage::of(
        s.gateway.request_profiling(source, duration, mode).await?,
    )))
}

async fn profiles(s: &AppState, source: LogSource) -> RestResult<Json<ProfilingInfoList>> {
    Ok(Json(ProfilingInfoList {
        profiling_list: s
            .gateway
            .request_profiling_list(source)
            .await?
            .into_iter()
            .map(ProfilingInfoMessage::of)
            .collect(),
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
) -> RestResult<Json<ProfilingInfoMessage>> {
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
) -> RestResult<Json<ProfilingInfoMessage>> {
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
