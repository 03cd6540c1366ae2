//! TaskManager endpoints: the list, details, logs, stdout and thread dumps.

use super::messages::{now_ms, ResourceProfileInfo, TaskManagerInfoMessage};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::RestResult;
use crate::json::Json;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use weir_gateway::snapshot::{LogFile, LogSource, ThreadInfo};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/taskmanagers", "Returns an overview over all TaskManagers.", list_taskmanagers)
            .returns::<TaskManagersInfo>(),
        endpoint!(GET "/taskmanagers/{taskmanagerid}", "Returns details for a TaskManager.", taskmanager_details)
            .returns::<TaskManagerDetailsInfo>(),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/logs", "Returns the list of log files on a TaskManager.", taskmanager_logs)
            .returns::<LogListInfo>(),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/logs/{filename}", "Returns one log file of a TaskManager.", taskmanager_log_file)
            .returns_text(),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/log", "Returns the main log of a TaskManager.", taskmanager_log)
            .returns_text(),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/stdout", "Returns the stdout of a TaskManager.", taskmanager_stdout)
            .returns_text(),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/thread-dump", "Returns the thread dump of a TaskManager.", taskmanager_thread_dump)
            .returns::<ThreadDumpInfo>(),
    ]
}

/// `LogListInfo`: the log files of a process.
#[derive(Serialize, ToSchema)]
pub struct LogListInfo {
    pub logs: Vec<LogInfo>,
}

/// `LogInfo`: one log file.
#[derive(Serialize, ToSchema)]
pub struct LogInfo {
    pub name: String,
    pub size: u64,
    pub mtime: i64,
}

impl LogListInfo {
    pub fn of(files: &[LogFile]) -> Self {
        LogListInfo {
            logs: files
                .iter()
                .map(|f| LogInfo {
                    name: f.name.clone(),
                    size: f.size,
                    mtime: f.mtime,
                })
                .collect(),
        }
    }
}

/// `ThreadDumpInfo`.
#[derive(Serialize, ToSchema)]
pub struct ThreadDumpInfo {
    #[serde(rename = "threadInfos")]
    pub thread_infos: Vec<ThreadDumpEntry>,
}

/// `ThreadDumpInfo.ThreadInfo`.
#[derive(Serialize, ToSchema)]
pub struct ThreadDumpEntry {
    #[serde(rename = "threadName")]
    pub thread_name: String,
    #[serde(rename = "stringifiedThreadInfo")]
    pub stringified_thread_info: String,
}

impl ThreadDumpInfo {
    pub fn of(threads: &[ThreadInfo]) -> Self {
        ThreadDumpInfo {
            thread_infos: threads
                .iter()
                .map(|t| ThreadDumpEntry {
                    thread_name: t.name.clone(),
                    stringified_thread_info: t.description.clone(),
                })
                .collect(),
        }
    }
}

/// A log file as Flink serves it: plain text.
pub fn text(bytes: Vec<u8>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], bytes)
}

/// `TaskManagersInfo`.
#[derive(Serialize, ToSchema)]
pub struct TaskManagersInfo {
    pub taskmanagers: Vec<TaskManagerInfoMessage>,
}

async fn list_taskmanagers(State(s): State<AppState>) -> Json<TaskManagersInfo> {
    let now = now_ms();
    Json(TaskManagersInfo {
        taskmanagers: s
            .gateway
            .request_task_managers()
            .await
            .iter()
            .map(|t| TaskManagerInfoMessage::of(t, now))
            .collect(),
    })
}

/// `TaskManagerDetailsInfo`: the list entry plus its slots and memory metrics.
#[derive(Serialize, ToSchema)]
pub struct TaskManagerDetailsInfo {
    #[serde(flatten)]
    pub info: TaskManagerInfoMessage,
    #[serde(rename = "allocatedSlots")]
    pub allocated_slots: Vec<SlotInfo>,
    pub metrics: TaskManagerMetricsInfo,
}

/// `SlotInfo`: a slot and the job holding it.
#[derive(Serialize, ToSchema)]
pub struct SlotInfo {
    #[serde(rename = "jobId")]
    pub job_id: String,
    pub resource: ResourceProfileInfo,
    #[serde(rename = "assignedTasks")]
    pub assigned_tasks: usize,
}

/// `TaskManagerMetricsInfo`: weir's process memory under Flink's JVM names.
#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskManagerMetricsInfo {
    pub heap_used: u64,
    pub heap_committed: u64,
    pub heap_max: u64,
    pub non_heap_used: u64,
    pub non_heap_committed: u64,
    pub non_heap_max: u64,
    pub direct_count: u64,
    pub direct_used: u64,
    pub direct_max: u64,
    pub mapped_count: u64,
    pub mapped_used: u64,
    pub mapped_max: u64,
    pub netty_shuffle_memory_segments_available: u64,
    pub netty_shuffle_memory_segments_used: u64,
    pub netty_shuffle_memory_segments_total: u64,
    pub netty_shuffle_memory_available: u64,
    pub netty_shuffle_memory_used: u64,
    pub netty_shuffle_memory_total: u64,
    pub garbage_collectors: Vec<GarbageCollectorInfo>,
}

/// `GarbageCollectorInfo`.
#[derive(Serialize, ToSchema)]
pub struct GarbageCollectorInfo {
    pub name: &'static str,
    pub count: u64,
    pub time: u64,
}

async fn taskmanager_details(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<TaskManagerDetailsInfo>> {
    let t = s.gateway.request_task_manager(&id).await?;
    let rss = t.process_memory;
    Ok(Json(TaskManagerDetailsInfo {
        info: TaskManagerInfoMessage::of(&t, now_ms()),
        allocated_slots: t
            .allocated
            .iter()
            .map(|a| SlotInfo {
                job_id: a.job_id.to_string(),
                resource: ResourceProfileInfo::of_slots(1),
                assigned_tasks: a.assigned_tasks,
            })
            .collect(),
        metrics: TaskManagerMetricsInfo {
            heap_used: rss,
            heap_committed: rss,
            heap_max: t.hardware.physical_memory,
            // weir frees memory as it goes, without a collector: Flink's "All" entry,
            // truthfully zero (clients read the first entry, so the list is never empty).
            garbage_collectors: vec![GarbageCollectorInfo {
                name: "All",
                count: 0,
                time: 0,
            }],
            ..Default::default()
        },
    }))
}

async fn taskmanager_logs(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> RestResult<Json<LogListInfo>> {
    let files = s
        .gateway
        .request_log_list(LogSource::TaskManager(id))
        .await?;
    Ok(Json(LogListInfo::of(&files)))
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
) -> RestResult<Json<ThreadDumpInfo>> {
    let threads = s
        .gateway
        .request_thread_dump(LogSource::TaskManager(id))
        .await?;
    Ok(Json(ThreadDumpInfo::of(&threads)))
}
