//! `POST /savepoint-disposal` and its status: deletes a savepoint (or retained checkpoint)
//! directory as an asynchronous operation, as Flink does. The path must hold a `_metadata`
//! file, so a mistyped path fails the operation instead of deleting an arbitrary directory.

use super::checkpoints::{operation, parse_trigger};
use super::messages::{AsynchronousOperationResult, TriggerResponse};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use weir_gateway::OperationKind;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(POST "/savepoint-disposal", "Triggers the disposal of a savepoint.", trigger_disposal)
            .accepts::<SavepointDisposalRequest>()
            .returns::<TriggerResponse>(),
        endpoint!(GET "/savepoint-disposal/{triggerid}", "Returns the status of a savepoint disposal operation.", disposal_status)
            .returns::<AsynchronousOperationResult>(),
    ]
}

/// Flink's `SavepointDisposalRequest`.
#[derive(Deserialize, utoipa::ToSchema)]
struct SavepointDisposalRequest {
    #[serde(rename = "savepoint-path")]
    savepoint_path: Option<String>,
    #[serde(rename = "triggerId")]
    #[schema(pattern = "^[0-9a-fA-F]{32}$")]
    trigger_id: Option<String>,
}

async fn trigger_disposal(
    State(s): State<AppState>,
    body: Bytes,
) -> RestResult<Json<TriggerResponse>> {
    let b: SavepointDisposalRequest = super::body::parse(&body, "SavepointDisposalRequest")?;
    let Some(path) = b.savepoint_path.filter(|p| !p.trim().is_empty()) else {
        return Err(RestError::bad_request(
            "Field 'savepoint-path' is required: the savepoint directory to dispose.",
        ));
    };
    let trigger_id = match b.trigger_id {
        Some(raw) => Some(parse_trigger(&raw)?),
        None => None,
    };
    let id = s
        .gateway
        .trigger_savepoint_disposal(path, trigger_id)
        .await?;
    Ok(Json(TriggerResponse {
        request_id: id.to_string(),
    }))
}

async fn disposal_status(
    State(s): State<AppState>,
    Path(trigger): Path<String>,
) -> RestResult<Json<AsynchronousOperationResult>> {
    let trigger = parse_trigger(&trigger)?;
    let state = s
        .gateway
        .request_operation(OperationKind::NO_JOB, OperationKind::Disposal, trigger)
        .await
        .map_err(|_| {
            RestError::not_found(format!(
                "There is no savepoint disposal operation with triggerId={trigger}."
            ))
        })?;
    Ok(Json(operation(state, OperationKind::Disposal)))
}
