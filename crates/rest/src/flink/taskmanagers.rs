//! TaskManager endpoints: the list, details, logs, stdout and thread dumps.

use super::messages::{self, now_ms};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::RestResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use weir_gateway::snapshot::{LogFile, LogSource, ThreadInfo};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/taskmanagers", "Returns an overview over all TaskManagers.", list_taskmanagers),
        endpoint!(GET "/taskmanagers/{taskmanagerid}", "Returns details for a TaskManager.", taskmanager_details),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/logs", "Returns the list of log files on a TaskManager.", taskmanager_logs),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/logs/{filename}", "Returns one log file of a TaskManager.", taskmanager_log_file),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/log", "Returns the main log of a TaskManager.", taskmanager_log),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/stdout", "Returns the stdout of a TaskManager.", taskmanager_stdout),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/thread-dump", "Returns the thread dump of a TaskManager.", taskmanager_thread_dump),
    ]
}

/// `LogListInfo`.
pub fn log_list(files: &[LogFile]) -> Value {
    json!({ "logs": files.iter().map(|f| json!({"name": f.name, "size": f.size, "mtime": f.mtime})).collect::<Vec<_>>() })
}

/// `ThreadDumpInfo`.
pub fn thread_dump(threads: &[ThreadInfo]) -> Value {
    json!({ "threadInfos": threads.iter().map(|t| json!({"threadName": t.name, "stringifiedThreadInfo": t.description})).collect::<Vec<_>>() })
}

/// A log file as Flink serves it: plain text.
pub fn text(bytes: Vec<u8>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], bytes)
}

async fn list_taskmanagers(State(s): State<AppState>) -> Json<Value> {
    let now = now_ms();
    let tms: Vec<Value> = s
        .gateway
        .request_task_managers()
        .await
        .iter()
        .map(|t| messages::task_manager_info(t, now))
        .collect();
    Json(json!({ "taskmanagers": tms }))
}

async fn taskmanager_details(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<Value>> {
    let t = s.gateway.request_task_manager(&id).await?;
    let mut info = messages::task_manager_info(&t, now_ms());
    info["allocatedSlots"] = Value::Array(
        t.allocated
            .iter()
            .map(|a| {
                json!({
                    "jobId": a.job_id.to_string(),
                    "resource": {"cpuCores": 1.0, "taskHeapMemory": 0, "taskOffHeapMemory": 0, "managedMemory": 0, "networkMemory": 0, "extendedResources": {}},
                    "assignedTasks": a.assigned_tasks,
                })
            })
            .collect(),
    );
    let rss = t.process_memory;
    info["metrics"] = json!({
        "heapUsed": rss, "heapCommitted": rss, "heapMax": t.hardware.physical_memory,
        "nonHeapUsed": 0, "nonHeapCommitted": 0, "nonHeapMax": 0,
        "directCount": 0, "directUsed": 0, "directMax": 0,
        "mappedCount": 0, "mappedUsed": 0, "mappedMax": 0,
        "nettyShuffleMemorySegmentsAvailable": 0, "nettyShuffleMemorySegmentsUsed": 0, "nettyShuffleMemorySegmentsTotal": 0,
        "nettyShuffleMemoryAvailable": 0, "nettyShuffleMemoryUsed": 0, "nettyShuffleMemoryTotal": 0,
        // weir frees memory as it goes, without a collector: Flink's "All" entry, truthfully
        // zero (clients read the first entry, so the list is never empty).
        "garbageCollectors": [{"name": "All", "count": 0, "time": 0}],
    });
    Ok(Json(info))
}

async fn taskmanager_logs(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<Value>> {
    let files = s
        .gateway
        .request_log_list(LogSource::TaskManager(id))
        .await?;
    Ok(Json(log_list(&files)))
}

async fn taskmanager_log_file(
    State(s): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> RestResult<impl IntoResponse> {
    let name = weir_core::logdir::last_component(&file)
        .unwrap_or("")
        .to_string();
    let bytes = s
        .gateway
        .request_log(LogSource::TaskManager(id), &name)
        .await?;
    Ok(text(bytes))
}

async fn taskmanager_log(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<impl IntoResponse> {
    Ok(text(
        s.gateway
            .request_log(LogSource::TaskManager(id), "log")
            .await?,
    ))
}

async fn taskmanager_stdout(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<impl IntoResponse> {
    Ok(text(
        s.gateway
            .request_log(LogSource::TaskManager(id), "stdout")
            .await?,
    ))
}

async fn taskmanager_thread_dump(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<Value>> {
    let threads = s
        .gateway
        .request_thread_dump(LogSource::TaskManager(id))
        .await?;
    Ok(Json(thread_dump(&threads)))
}
