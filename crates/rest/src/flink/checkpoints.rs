//! Checkpoint and savepoint endpoints: statistics, configuration and details (read from the
//! statistics snapshot the JobMaster republishes on every checkpoint event, so a completed
//! checkpoint shows on the very next request), and the asynchronous checkpoint, savepoint and
//! stop triggers with their status calls.

use super::checkpoint_messages::{
    CheckpointConfigInfo, CheckpointStatistics, CheckpointingStatistics,
    TaskCheckpointStatisticsWithSubtaskDetails,
};
use super::messages::{
    accepted, AsynchronousOperationResult, FailureCause, OperationInfo, QueueStatus,
    TriggerResponse,
};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::params;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use weir_core::TriggerId;
use weir_gateway::{
    CheckpointStats, CheckpointStatsSnapshot, OperationKind, OperationState, SavepointFormat,
    SavepointRequest,
};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobs/{jobid}/checkpoints", "Returns checkpointing statistics for a job.", checkpoints)
            .returns::<CheckpointingStatistics>(),
        endpoint!(POST "/jobs/{jobid}/checkpoints", "Triggers a checkpoint.", trigger_checkpoint)
            .accepts::<CheckpointTriggerRequestBody>()
            .returns_with::<TriggerResponse>(202),
        endpoint!(GET "/jobs/{jobid}/checkpoints/config", "Returns the checkpointing configuration.", checkpoint_config)
            .returns::<CheckpointConfigInfo>(),
        endpoint!(GET "/jobs/{jobid}/checkpoints/details/{checkpointid}", "Returns details for a checkpoint.", checkpoint_details)
            .returns::<CheckpointStatistics>(),
        endpoint!(GET "/jobs/{jobid}/checkpoints/details/{checkpointid}/subtasks/{vertexid}", "Returns checkpoint statistics for a task and its subtasks.", task_checkpoint_details)
            .returns::<TaskCheckpointStatisticsWithSubtaskDetails>(),
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

async fn checkpoints(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let job = params::job_id(&job)?;
    let stats = s.gateway.request_checkpoint_stats(job).await?;
    let body = s.checkpoint_stats.get(job, &stats, || {
        serde_json::to_vec(&CheckpointingStatistics::of(&stats))
            .unwrap_or_default()
            .into()
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
) -> RestResult<Json<CheckpointConfigInfo>> {
    let stats = s
        .gateway
        .request_checkpoint_stats(params::job_id(&job)?)
        .await?;
    Ok(Json(CheckpointConfigInfo::of(&stats.config)))
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
) -> RestResult<Json<CheckpointStatistics>> {
    let job = params::job_id(&job)?;
    let id = checkpoint_id(&id)?;
    let stats = s.gateway.request_checkpoint_stats(job).await?;
    Ok(Json(CheckpointStatistics::of(find(&stats, id)?, true)))
}

async fn task_checkpoint_details(
    State(s): State<AppState>,
    Path((job, id, vertex)): Path<(String, String, String)>,
) -> RestResult<Json<TaskCheckpointStatisticsWithSubtaskDetails>> {
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
    Ok(Json(TaskCheckpointStatisticsWithSubtaskDetails::of(c, t)))
}

fn trigger_id(raw: Option<String>, class: &str) -> Result<Option<TriggerId>, RestError> {
    raw.map(|t| t.parse().map_err(|_| super::body::mismatch(class)))
        .transpose()
}

/// Flink's `CheckpointTriggerRequestBody`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CheckpointTriggerRequestBody {
    #[schema(pattern = "^(CONFIGURED|FULL|INCREMENTAL)$")]
    checkpoint_type: Option<String>,
    /// Makes a repeated trigger the same operation.
    #[schema(pattern = "^[0-9a-fA-F]{32}$")]
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
    #[schema(pattern = "^(CANONICAL|NATIVE)$")]
    format_type: Option<String>,
    #[serde(rename = "triggerId")]
    #[schema(pattern = "^[0-9a-fA-F]{32}$")]
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
    #[schema(pattern = "^(CANONICAL|NATIVE)$")]
    format_type: Option<String>,
    #[schema(pattern = "^[0-9a-fA-F]{32}$")]
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
