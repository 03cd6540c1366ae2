//! Cluster-wide endpoints: `/config`, `/overview`, `DELETE /cluster`, `/datasets`.

use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::params;
use crate::settings::FLINK_API_VERSION;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/config", "Returns the configuration of the web UI.", dashboard_config),
        endpoint!(GET "/overview", "Returns an overview over the cluster.", cluster_overview),
        endpoint!(DELETE "/cluster", "Shuts down the cluster.", shutdown_cluster),
        endpoint!(GET "/datasets", "Returns all cluster data sets (weir keeps none).", list_datasets),
        endpoint!(DELETE "/datasets/{datasetid}", "Triggers the deletion of a cluster data set.", delete_dataset),
        endpoint!(GET "/datasets/delete/{triggerid}", "Returns the status of a data set deletion.", delete_dataset_status),
    ]
}

/// `DashboardConfiguration`.
async fn dashboard_config(State(s): State<AppState>) -> Json<Value> {
    let offset_ms = 0; // weir reports times in UTC
    Json(json!({
        "refresh-interval": s.settings.refresh_interval_ms,
        "timezone-name": "Coordinated Universal Time",
        "timezone-offset": offset_ms,
        "flink-version": FLINK_API_VERSION,
        "flink-revision": format!("weir {}", env!("CARGO_PKG_VERSION")),
        "features": {
            "web-submit": s.settings.web_submit,
            "web-cancel": s.settings.web_cancel,
            "web-rescale": false,
            "web-history": false,
        },
    }))
}

/// `ClusterOverviewWithVersion`.
async fn cluster_overview(State(s): State<AppState>) -> Json<Value> {
    let o = s.gateway.request_cluster_overview().await;
    Json(json!({
        "taskmanagers": o.task_managers,
        "slots-total": o.slots_total,
        "slots-available": o.slots_available,
        "taskmanagers-blocked": 0,
        "slots-free-and-blocked": 0,
        "jobs-running": o.jobs_running,
        "jobs-finished": o.jobs_finished,
        "jobs-cancelled": o.jobs_cancelled,
        "jobs-failed": o.jobs_failed,
        "flink-version": FLINK_API_VERSION,
        "flink-commit": format!("weir {}", env!("CARGO_PKG_VERSION")),
    }))
}

async fn shutdown_cluster(State(s): State<AppState>) -> Json<Value> {
    s.gateway.shut_down_cluster().await;
    Json(json!({}))
}

async fn list_datasets() -> Json<Value> {
    Json(json!({ "dataSets": [] }))
}

/// weir keeps no cluster data sets, so a deletion is accepted and reports the data set missing.
async fn delete_dataset(Path(id): Path<String>) -> RestResult<(StatusCode, Json<Value>)> {
    if id.parse::<weir_core::JobId>().is_err() {
        return Err(RestError::bad_path_param("datasetid", &id));
    }
    // The trigger id encodes the data set, so the status call can answer without state.
    Ok(super::messages::accepted(id))
}

async fn delete_dataset_status(Path(trigger): Path<String>) -> RestResult<Json<Value>> {
    params::job_id(&trigger).map_err(|_| RestError::bad_path_param("triggerid", &trigger))?;
    Ok(Json(json!({
        "status": {"id": "COMPLETED"},
        "operation": {
            "failure-cause": {
                "class": "weir.NotFoundException",
                "stack-trace": format!("Cluster data set {trigger} does not exist: weir keeps no cluster data sets."),
                "serialized-throwable": "",
            }
        }
    })))
}
