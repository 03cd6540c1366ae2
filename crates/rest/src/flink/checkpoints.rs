//! Checkpoint and savepoint endpoints: statistics, configuration and details (read from the
//! statistics snapshot the JobMaster republishes on every checkpoint event, so a completed
//! checkpoint shows on the very next request), and the asynchronous checkpoint, savepoint and
//! stop triggers with their status calls.

use super::messages::{
    accepted, AsynchronousOperationResult, FailureCause, OperationInfo, QueueStatus, TriggerResponse,
};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::params;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use weir_core::TriggerId;
use weir_gateway::{
    CheckpointStats, CheckpointStatsSnapshot, CheckpointStatus, OperationKind, OperationState,
    SavepointFormat, SavepointRequest, StatsSummary, SubtaskCheckpointStats, TaskCheckpointStats,
};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobs/{jobid}/checkpoints", "Returns checkpointing statistics for a job.", checkpoints),
        endpoint!(POST "/jobs/{jobid}/checkpoints", "Triggers a checkpoint.", trigger_checkpoint)
            .accepts::<CheckpointTriggerRequestBody>()
            .returns_with::<TriggerResponse>(202),
        endpoint!(GET "/jobs/{jobid}/checkpoints/config", "Returns the checkpointing configuration.", checkpoint_config),
        endpoint!(GET "/jobs/{jobid}/checkpoints/details/{checkpointid}", "Returns details for a checkpoint.", checkpoint_details),
        endpoint!(GET "/jobs/{jobid}/checkpoints/details/{checkpointid}/subtasks/{vertexid}", "Returns checkpoint statistics for a task and its subtasks.", task_checkpoint_details),
        endpoint!(GET "/jobs/{jobid}/checkpoints/{triggerid}", "Returns the status of a checkpoint trigger operation.", checkpoint_status)
            .returns::<AsynchronousOperationResult>(),
        endpoint!(POST "/jobs/{jobid}/savepoints", "Triggers a savepoint, and optionally cancels the job afterwards.", trigger_savepoint)
            .accepts::<SavepointTriggerRequestBody>()
            .returns_with::<TriggerResponse>(202),
        endpoint!(GET "/jobs/{jobid}/savepoints/{triggerid}", "Returns the status of a savepoint operation.", savepoint_status)
            .returns::<AsynchronousOperationResult>(),
        endpoint!(POST "/jobs/{jobid}/stop", "Stops a job with a savepoint.", stop_job)
            .accepts::<StopWithSavepointRequestBody>()
            .returns_with::<TriggerResponse>(202),
    ]
}

fn summary(s: &StatsSummary) -> Value {
    let q = super::messages::jackson_double;
    json!({
        "min": s.min, "max": s.max, "avg": s.avg,
        "p50": q(s.quantiles[0]), "p90": q(s.quantiles[1]), "p95": q(s.quantiles[2]),
        "p99": q(s.quantiles[3]), "p999": q(s.quantiles[4]),
    })
}

fn task_fields(c: &CheckpointStats, t: &TaskCheckpointStats) -> Map<String, Value> {
    let acked = t.acknowledged();
    let latest = t.latest_ack().unwrap_or(0);
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id));
    let status = if acked == t.subtasks.len() {
        "COMPLETED"
    } else {
        c.status.name()
    };
    m.insert("status".into(), json!(status));
    m.insert("latest_ack_timestamp".into(), json!(latest));
    m.insert("checkpointed_size".into(), json!(t.state_size()));
    m.insert("state_size".into(), json!(t.state_size()));
    m.insert(
        "end_to_end_duration".into(),
        json!(if latest > 0 {
            (latest - c.trigger_timestamp).max(0)
        } else {
            0
        }),
    );
    m.insert("alignment_buffered".into(), json!(0));
    m.insert("processed_data".into(), json!(0));
    m.insert("persisted_data".into(), json!(0));
    m.insert("num_subtasks".into(), json!(t.subtasks.len()));
    m.insert("num_acknowledged_subtasks".into(), json!(acked));
    m
}

/// One checkpoint as Flink's `CheckpointStatistics` (with its `className` discriminator).
fn checkpoint(c: &CheckpointStats, with_tasks: bool) -> Value {
    let mut m = Map::new();
    m.insert("className".into(), json!(c.status.class_name()));
    m.insert("id".into(), json!(c.id));
    m.insert("status".into(), json!(c.status.name()));
    m.insert("is_savepoint".into(), json!(c.kind.is_savepoint()));
    m.insert(
        "savepointFormat".into(),
        json!(c.kind.format().map(SavepointFormat::name)),
    );
    m.insert("trigger_timestamp".into(), json!(c.trigger_timestamp));
    m.insert("latest_ack_timestamp".into(), json!(c.latest_ack()));
    m.insert("checkpointed_size".into(), json!(c.state_size()));
    m.insert("state_size".into(), json!(c.state_size()));
    m.insert("end_to_end_duration".into(), json!(c.end_to_end_duration()));
    m.insert("alignment_buffered".into(), json!(0));
    m.insert("processed_data".into(), json!(0));
    m.insert("persisted_data".into(), json!(0));
    m.insert("num_subtasks".into(), json!(c.num_subtasks()));
    m.insert(
        "num_acknowledged_subtasks".into(),
        json!(c.num_acknowledged()),
    );
    m.insert("checkpoint_type".into(), json!(c.kind.name()));
    let tasks: Map<String, Value> = if with_tasks {
        c.tasks
            .iter()
            .map(|t| (t.vertex.to_string(), Value::Object(task_fields(c, t))))
            .collect()
    } else {
        Map::new()
    };
    m.insert("tasks".into(), Value::Object(tasks));
    match c.status {
        CheckpointStatus::Completed => {
            m.insert("external_path".into(), json!(c.external_path));
            m.insert("discarded".into(), json!(c.discarded));
        }
        CheckpointStatus::Failed => {
            let (at, message) = c.failure.clone().unwrap_or((0, String::new()));
            m.insert("failure_timestamp".into(), json!(at));
            m.insert("failure_message".into(), json!(message));
        }
        CheckpointStatus::InProgress => {}
    }
    Value::Object(m)
}

fn statistics(s: &CheckpointStatsSnapshot) -> Value {
    let zero = summary(&StatsSummary::of(&[0]));
    json!({
        "counts": {
            "restored": s.restored_count,
            "total": s.total,
            "in_progress": s.in_progress,
            "completed": s.completed,
            "failed": s.failed,
        },
        "summary": {
            "checkpointed_size": summary(&s.state_size),
            "state_size": summary(&s.state_size),
            "end_to_end_duration": summary(&s.end_to_end_duration),
            "alignment_buffered": zero,
            "processed_data": zero,
            "persisted_data": zero,
        },
        "latest": {
            "completed": s.latest_completed.as_ref().map(|c| checkpoint(c, false)),
            "savepoint": s.latest_savepoint.as_ref().map(|c| checkpoint(c, false)),
            "failed": s.latest_failed.as_ref().map(|c| checkpoint(c, false)),
            "restored": s.latest_restored.as_ref().map(|r| json!({
                "id": r.id,
                "restore_timestamp": r.restore_timestamp,
                "is_savepoint": r.is_savepoint,
                "external_path": r.external_path,
            })),
        },
        "history": s.history.iter().map(|c| checkpoint(c, false)).collect::<Vec<_>>(),
    })
}

async fn checkpoints(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let job = params::job_id(&job)?;
    let stats = s.gateway.request_checkpoint_stats(job).await?;
    let body = s.checkpoint_stats.get(job, &stats, || {
        serde_json::to_vec(&statistics(&stats)).unwrap_or_default()
    });
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        axum::body::Bytes::from_owner(body),
    )
        .into_response())
}

async fn checkpoint_config(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<Value>> {
    let stats = s
        .gateway
        .request_checkpoint_stats(params::job_id(&job)?)
        .await?;
    let c = &stats.config;
    Ok(Json(json!({
        "mode": "exactly_once",
        "interval": c.interval_ms,
        "timeout": c.timeout_ms,
        "min_pause": c.min_pause_ms,
        "max_concurrent": c.max_concurrent,
        "externalization": {
            "enabled": c.retain_on_cancellation,
            "delete_on_cancellation": !c.retain_on_cancellation,
        },
        "state_backend": "HashMapStateBackend",
        "checkpoint_storage": "FileSystemCheckpointStorage",
        "unaligned_checkpoints": false,
        "tolerable_failed_checkpoints": c.tolerable_failures,
        "aligned_checkpoint_timeout": 0,
        "checkpoints_after_tasks_finish": true,
        "state_changelog_enabled": false,
        "changelog_periodic_materialization_interval": 600000,
        "changelog_storage": "memory",
    })))
}

fn checkpoint_id(raw: &str) -> Result<u64, RestError> {
    raw.parse()
        .map_err(|_| RestError::bad_path_param("checkpointid", raw))
}

fn find(stats: &CheckpointStatsSnapshot, id: u64) -> Result<&CheckpointStats, RestError> {
    stats.find(id).ok_or_else(|| {
        RestError::not_found(format!(
            "Could not find checkpointing statistics for checkpoint {id}."
        ))
    })
}

async fn checkpoint_details(
    State(s): State<AppState>,
    Path((job, id)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let id = checkpoint_id(&id)?;
    let stats = s.gateway.request_checkpoint_stats(job).await?;
    Ok(Json(checkpoint(find(&stats, id)?, true)))
}

fn subtask(c: &CheckpointStats, st: &SubtaskCheckpointStats) -> Value {
    match st.ack_timestamp {
        Some(at) => json!({
            "className": "completed",
            "index": st.index,
            "ack_timestamp": at,
            "end_to_end_duration": (at - c.trigger_timestamp).max(0),
            "checkpointed_size": st.state_size,
            "state_size": st.state_size,
            "checkpoint": {"sync": st.sync_ms, "async": st.async_ms},
            "alignment": {"buffered": 0, "processed": 0, "persisted": 0, "duration": st.alignment_ms},
            "start_delay": st.start_delay_ms,
            "unaligned_checkpoint": false,
            "aborted": false,
            "status": "completed",
        }),
        None => json!({
            "className": "pending",
            "index": st.index,
            "status": "pending_or_failed",
        }),
    }
}

async fn task_checkpoint_details(
    State(s): State<AppState>,
    Path((job, id, vertex)): Path<(String, String, String)>,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let id = checkpoint_id(&id)?;
    let vertex = params::vertex_id(&vertex)?;
    let stats = s.gateway.request_checkpoint_stats(job).await?;
    let c = find(&stats, id)?;
    let t = c.tasks.iter().find(|t| t.vertex == vertex).ok_or_else(|| {
        RestError::not_found(format!(
            "There is no checkpoint statistics for task {vertex} in checkpoint {id}."
        ))
    })?;
    let acked: Vec<&SubtaskCheckpointStats> = t
        .subtasks
        .iter()
        .filter(|s| s.ack_timestamp.is_some())
        .collect();
    let of = |f: &dyn Fn(&SubtaskCheckpointStats) -> i64| {
        summary(&StatsSummary::of(
            &acked.iter().map(|s| f(s)).collect::<Vec<_>>(),
        ))
    };
    let mut m = task_fields(c, t);
    m.insert(
        "summary".into(),
        json!({
            "checkpointed_size": of(&|s| s.state_size as i64),
            "state_size": of(&|s| s.state_size as i64),
            "end_to_end_duration": of(&|s| s.ack_timestamp.unwrap_or(0) - c.trigger_timestamp),
            "checkpoint_duration": {"sync": of(&|s| s.sync_ms), "async": of(&|s| s.async_ms)},
            "alignment": {
                "buffered": of(&|_| 0),
                "processed": of(&|_| 0),
                "persisted": of(&|_| 0),
                "duration": of(&|s| s.alignment_ms),
            },
            "start_delay": of(&|s| s.start_delay_ms),
        }),
    );
    m.insert(
        "subtasks".into(),
        Value::Array(t.subtasks.iter().map(|st| subtask(c, st)).collect()),
    );
    Ok(Json(Value::Object(m)))
}

fn trigger_id(raw: Option<String>, class: &str) -> Result<Option<TriggerId>, RestError> {
    raw.map(|t| t.parse().map_err(|_| super::body::mismatch(class)))
        .transpose()
}

/// Flink's `CheckpointTriggerRequestBody`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CheckpointTriggerRequestBody {
    /// CONFIGURED, FULL or INCREMENTAL.
    checkpoint_type: Option<String>,
    trigger_id: Option<String>,
}

async fn trigger_checkpoint(
    State(s): State<AppState>,
    Path(job): Path<String>,
    body: Bytes,
) -> RestResult<(StatusCode, Json<TriggerResponse>)> {
    let job = params::job_id(&job)?;
    let class = "CheckpointTriggerRequestBody";
    let b: CheckpointTriggerRequestBody = super::body::parse(&body, class)?;
    if let Some(t) = &b.checkpoint_type {
        if !matches!(t.as_str(), "CONFIGURED" | "FULL" | "INCREMENTAL") {
            return Err(super::body::mismatch(class));
        }
    }
    let id = s
        .gateway
        .trigger_checkpoint(job, trigger_id(b.trigger_id, class)?)
        .await?;
    Ok(accepted(id))
}

pub(super) fn parse_trigger(raw: &str) -> Result<TriggerId, RestError> {
    raw.parse()
        .map_err(|_| RestError::bad_path_param("triggerid", raw))
}

pub(super) fn operation(state: OperationState, kind: OperationKind) -> AsynchronousOperationResult {
    let info = match state {
        OperationState::InProgress => {
            return AsynchronousOperationResult {
                status: QueueStatus::in_progress(),
                operation: None,
            }
        }
        OperationState::Done(Ok((id, location))) => match kind {
            OperationKind::Checkpoint => OperationInfo {
                checkpoint_id: Some(id),
                ..Default::default()
            },
            OperationKind::Savepoint => OperationInfo {
                location: Some(location),
                ..Default::default()
            },
            // Flink's AsynchronousOperationInfo: only a failure cause, left out on success.
            OperationKind::Rescaling | OperationKind::Disposal => OperationInfo::default(),
        },
        OperationState::Done(Err(cause)) => {
            let failure = FailureCause {
                class: "java.util.concurrent.CompletionException".into(),
                stack_trace: cause,
                serialized_throwable: None,
            };
            match kind {
                OperationKind::Checkpoint => OperationInfo {
                    checkpoint_failure: Some(failure),
                    ..Default::default()
                },
                OperationKind::Savepoint | OperationKind::Rescaling | OperationKind::Disposal => {
                    OperationInfo {
                        failure_cause: Some(failure),
                        ..Default::default()
                    }
                }
            }
        }
    };
    AsynchronousOperationResult {
        status: QueueStatus::completed(),
        operation: Some(info),
    }
}

/// The status of operation `trigger` of `kind` on `job`.
pub(super) async fn operation_status(
    s: &AppState,
    job: &str,
    trigger: &str,
    kind: OperationKind,
) -> RestResult<Json<AsynchronousOperationResult>> {
    let job = params::job_id(job)?;
    let trigger = parse_trigger(trigger)?;
    let state = s.gateway.request_operation(job, kind, trigger).await?;
    Ok(Json(operation(state, kind)))
}

async fn checkpoint_status(
    State(s): State<AppState>,
    Path((job, trigger)): Path<(String, String)>,
) -> RestResult<Json<AsynchronousOperationResult>> {
    operation_status(&s, &job, &trigger, OperationKind::Checkpoint).await
}

async fn savepoint_status(
    State(s): State<AppState>,
    Path((job, trigger)): Path<(String, String)>,
) -> RestResult<Json<AsynchronousOperationResult>> {
    operation_status(&s, &job, &trigger, OperationKind::Savepoint).await
}

fn format_type(raw: Option<String>, class: &str) -> Result<SavepointFormat, RestError> {
    match raw {
        None => Ok(SavepointFormat::Canonical),
        Some(f) => SavepointFormat::parse(&f).ok_or_else(|| super::body::mismatch(class)),
    }
}

/// Flink's `SavepointTriggerRequestBody`.
#[derive(Deserialize, utoipa::ToSchema)]
struct SavepointTriggerRequestBody {
    #[serde(rename = "target-directory")]
    target_directory: Option<String>,
    #[serde(rename = "cancel-job", default)]
    cancel_job: bool,
    #[serde(rename = "formatType")]
    format_type: Option<String>,
    #[serde(rename = "triggerId")]
    trigger_id: Option<String>,
}

async fn trigger_savepoint(
    State(s): State<AppState>,
    Path(job): Path<String>,
    body: Bytes,
) -> RestResult<(StatusCode, Json<TriggerResponse>)> {
    let job = params::job_id(&job)?;
    let class = "SavepointTriggerRequestBody";
    let b: SavepointTriggerRequestBody = super::body::parse(&body, class)?;
    let request = SavepointRequest {
        target_directory: b.target_directory,
        format: format_type(b.format_type, class)?,
        cancel_job: b.cancel_job,
        stop: false,
        trigger_id: trigger_id(b.trigger_id, class)?,
    };
    let id = s.gateway.trigger_savepoint(job, request).await?;
    Ok(accepted(id))
}

/// Flink's `StopWithSavepointRequestBody`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct StopWithSavepointRequestBody {
    target_directory: Option<String>,
    #[serde(default)]
    drain: bool,
    format_type: Option<String>,
    trigger_id: Option<String>,
}

async fn stop_job(
    State(s): State<AppState>,
    Path(job): Path<String>,
    body: Bytes,
) -> RestResult<(StatusCode, Json<TriggerResponse>)> {
    let job = params::job_id(&job)?;
    let class = "StopWithSavepointRequestBody";
    let b: StopWithSavepointRequestBody = super::body::parse(&body, class)?;
    // weir's sources end right after the savepoint either way; `drain` also lets event time
    // run to its end, which weir's watermarks do when inputs end.
    let _ = b.drain;
    let request = SavepointRequest {
        target_directory: b.target_directory,
        format: format_type(b.format_type, class)?,
        cancel_job: false,
        stop: true,
        trigger_id: trigger_id(b.trigger_id, class)?,
    };
    let id = s.gateway.trigger_savepoint(job, request).await?;
    Ok(accepted(id))
}
