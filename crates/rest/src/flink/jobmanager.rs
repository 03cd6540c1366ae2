//! JobManager endpoints: configuration, environment, logs, stdout and thread dump.

use super::messages::{ConfigurationInfo, EnvironmentInfo};
use super::taskmanagers::{text, LogListInfo, ThreadDumpInfo};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::RestResult;
use crate::json::Json;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use weir_gateway::snapshot::LogSource;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobmanager/config", "Returns the cluster configuration.", jobmanager_config)
            .returns::<ConfigurationInfo>(),
        endpoint!(GET "/jobmanager/environment", "Returns the JobManager's environment.", jobmanager_environment)
            .returns::<EnvironmentInfo>(),
        endpoint!(GET "/jobmanager/logs", "Returns the list of log files on the JobManager.", jobmanager_logs)
            .returns::<LogListInfo>(),
        endpoint!(GET "/jobmanager/logs/{filename}", "Returns one log file of the JobManager.", jobmanager_log_file)
            .returns_text(),
        endpoint!(GET "/jobmanager/log", "Returns the JobManager's main log.", jobmanager_log)
            .returns_text(),
        endpoint!(GET "/jobmanager/stdout", "Returns the JobManager's stdout.", jobmanager_stdout)
            .returns_text(),
        endpoint!(GET "/jobmanager/thread-dump", "Returns the thread dump of the JobManager.", jobmanager_thread_dump)
            .returns::<ThreadDumpInfo>(),
    ]
}

async fn jobmanager_config(State(s): State<AppState>) -> Json<ConfigurationInfo> {
    let config = s.gateway.request_cluster_config().await;
    Json(ConfigurationInfo::of(config.iter()))
}

async fn jobmanager_environment() -> Json<EnvironmentInfo> {
    Json(EnvironmentInfo::of_process())
}

async fn jobmanager_logs(State(s): State<AppState>) -> RestResult<Json<LogListInfo>> {
    let files = s.gateway.request_log_list(LogSource::JobManager).await?;
    Ok(Json(LogListInfo::of(&files)))
}

async fn jobmanager_log_file(
    State(s): State<AppState>,
    Path(file): Path<String>,
) -> RestResult<impl IntoResponse> {
    // Only the last path component counts: `../../etc/passwd` asks for `passwd` in the log dir.
    let name = weir_core::logdir::last_component(&file)
        .unwrap_or("")
        .to_string();
    Ok(text(
        s.gateway.request_log(LogSource::JobManager, &name).await?,
    ))
}

async fn jobmanager_log(State(s): State<AppState>) -> RestResult<impl IntoResponse> {
    Ok(text(
        s.gateway.request_log(LogSource::JobManager, "log").await?,
    ))
}

async fn jobmanager_stdout(State(s): State<AppState>) -> RestResult<impl IntoResponse> {
    Ok(text(
        s.gateway
            .request_log(LogSource::JobManager, "stdout")
            .await?,
    ))
}

async fn jobmanager_thread_dump(State(s): State<AppState>) -> RestResult<Json<ThreadDumpInfo>> {
    let threads = s.gateway.request_thread_dump(LogSource::JobManager).await?;
    Ok(Json(ThreadDumpInfo::of(&threads)))
}
