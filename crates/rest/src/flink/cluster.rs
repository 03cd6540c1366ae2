//! Cluster-wide endpoints: `/config`, `/overview`, `DELETE /cluster`, `/datasets`.

use super::messages::{self, EmptyResponseBody, FailureCause, TriggerResponse};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::params;
use crate::settings::FLINK_API_VERSION;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/config", "Returns the configuration of the web UI.", dashboard_config)
            .returns::<DashboardConfiguration>(),
        endpoint!(GET "/overview", "Returns an overview over the cluster.", cluster_overview)
            .returns::<ClusterOverviewWithVersion>(),
        endpoint!(DELETE "/cluster", "Shuts down the cluster.", shutdown_cluster)
            .returns::<EmptyResponseBody>(),
        endpoint!(GET "/datasets", "Returns all cluster data sets (weir keeps none).", list_datasets)
            .returns::<ClusterDataSetListResponseBody>(),
        endpoint!(DELETE "/datasets/{datasetid}", "Triggers the deletion of a cluster data set.", delete_dataset)
            .returns_with::<TriggerResponse>(202),
        endpoint!(GET "/datasets/delete/{triggerid}", "Returns the status of a data set deletion.", delete_dataset_status)
            .returns::<DataSetDeletionResult>(),
    ]
}

/// `DashboardConfiguration`: what Flink's dashboard reads first.
#[derive(Serialize, ToSchema)]
pub struct DashboardConfiguration {
    #[serde(rename = "refresh-interval")]
    pub refresh_interval: i64,
    #[serde(rename = "timezone-name")]
    pub timezone_name: &'static str,
    #[serde(rename = "timezone-offset")]
    pub timezone_offset: i64,
    #[serde(rename = "flink-version")]
    pub flink_version: &'static str,
    #[serde(rename = "flink-revision")]
    pub flink_revision: String,
    pub features: DashboardFeatures,
}

/// `DashboardConfiguration.Features`: which buttons the dashboard shows.
#[derive(Serialize, ToSchema)]
pub struct DashboardFeatures {
    #[serde(rename = "web-submit")]
    pub web_submit: bool,
    #[serde(rename = "web-cancel")]
    pub web_cancel: bool,
    #[serde(rename = "web-rescale")]
    pub web_rescale: bool,
    #[serde(rename = "web-history")]
    pub web_history: bool,
}

async fn dashboard_config(State(s): State<AppState>) -> Json<DashboardConfiguration> {
    Json(DashboardConfiguration {
        refresh_interval: s.settings.refresh_interval_ms,
        timezone_name: "Coordinated Universal Time",
        // weir reports times in UTC.
        timezone_offset: 0,
        flink_version: FLINK_API_VERSION,
        flink_revision: format!("weir {}", env!("CARGO_PKG_VERSION")),
        features: DashboardFeatures {
            web_submit: s.settings.web_submit,
            web_cancel: s.settings.web_cancel,
            web_rescale: false,
            web_history: false,
        },
    })
}

/// `ClusterOverviewWithVersion`.
#[derive(Serialize, ToSchema)]
pub struct ClusterOverviewWithVersion {
    pub taskmanagers: usize,
    #[serde(rename = "slots-total")]
    pub slots_total: usize,
    #[serde(rename = "slots-available")]
    pub slots_available: usize,
    #[serde(rename = "taskmanagers-blocked")]
    pub taskmanagers_blocked: usize,
    #[serde(rename = "slots-free-and-blocked")]
    pub slots_free_and_blocked: usize,
    #[serde(rename = "jobs-running")]
    pub jobs_running: usize,
    #[serde(rename = "jobs-finished")]
    pub jobs_finished: usize,
    #[serde(rename = "jobs-cancelled")]
    pub jobs_cancelled: usize,
    #[serde(rename = "jobs-failed")]
    pub jobs_failed: usize,
    #[serde(rename = "flink-version")]
    pub flink_version: &'static str,
    #[serde(rename = "flink-commit")]
    pub flink_commit: String,
}

async fn cluster_overview(State(s): State<AppState>) -> axum::response::Response {
    let o = s.gateway.request_cluster_overview().await;
    let body = ClusterOverviewWithVersion {
        taskmanagers: o.task_managers,
        slots_total: o.slots_total,
        slots_available: o.slots_available,
        taskmanagers_blocked: 0,
        slots_free_and_blocked: 0,
        jobs_running: o.jobs_running,
        jobs_finished: o.jobs_finished,
        jobs_cancelled: o.jobs_cancelled,
        jobs_failed: o.jobs_failed,
        flink_version: FLINK_API_VERSION,
        flink_commit: format!("weir {}", env!("CARGO_PKG_VERSION")),
    };
    // Every open dashboard polls this; the answer is about 240 bytes.
    crate::json::response(&body, 320)
}

async fn shutdown_cluster(State(s): State<AppState>) -> Json<EmptyResponseBody> {
    s.gateway.shut_down_cluster().await;
    Json(EmptyResponseBody {})
}

/// `ClusterDataSetListResponseBody`.
#[derive(Serialize, ToSchema)]
pub struct ClusterDataSetListResponseBody {
    #[serde(rename = "dataSets")]
    pub data_sets: Vec<ClusterDataSetEntry>,
}

/// `ClusterDataSetEntry`.
#[derive(Serialize, ToSchema)]
pub struct ClusterDataSetEntry {
    pub id: String,
    #[serde(rename = "isComplete")]
    pub is_complete: bool,
}

async fn list_datasets() -> Json<ClusterDataSetListResponseBody> {
    Json(ClusterDataSetListResponseBody {
        data_sets: Vec::new(),
    })
}

/// weir keeps no cluster data sets, so a deletion is accepted and reports the data set missing.
async fn delete_dataset(Path(id): Path<String>) -> RestResult<(StatusCode, Json<TriggerResponse>)> {
    if id.parse::<weir_core::JobId>().is_err() {
        return Err(RestError::bad_path_param("datasetid", &id));
    }
    // The trigger id encodes the data set, so the status call can answer without state.
    Ok(messages::accepted(id))
}

/// `AsynchronousOperationResult` of a data set deletion: always done, always failed.
#[derive(Serialize, ToSchema)]
pub struct DataSetDeletionResult {
    pub status: messages::QueueStatus,
    pub operation: DataSetDeletionInfo,
}

/// `AsynchronousOperationInfo`: the failure cause.
#[derive(Serialize, ToSchema)]
pub struct DataSetDeletionInfo {
    #[serde(rename = "failure-cause")]
    pub failure_cause: FailureCause,
}

async fn delete_dataset_status(
    Path(trigger): Path<String>,
) -> RestResult<Json<DataSetDeletionResult>> {
    params::job_id(&trigger).map_err(|_| RestError::bad_path_param("triggerid", &trigger))?;
    Ok(Json(DataSetDeletionResult {
        status: messages::QueueStatus::completed(),
        operation: DataSetDeletionInfo {
            failure_cause: FailureCause {
                class: "weir.NotFoundException".into(),
                stack_trace: format!(
                    "Cluster data set {trigger} does not exist: weir keeps no cluster data sets."
                ),
                serialized_throwable: Some(String::new()),
            },
        },
    }))
}
