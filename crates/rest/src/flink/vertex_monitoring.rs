//! What a vertex is doing: backpressure (from its subtasks' busy, idle and back-pressured time
//! per second), watermarks, and flame graphs.

use super::messages::JacksonDouble;
use super::metrics::Metric;
use super::vertices::vertex_of;
use crate::endpoint;
use crate::endpoint::{query, Endpoint, ParamKind, QueryParam};
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::params::{self, Query};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use serde::Serialize;
use utoipa::ToSchema;
use weir_gateway::flame_graph::FlameNode;
use weir_gateway::metrics::store::ComponentMetrics;
use weir_gateway::{FlameGraphType, VertexFlameGraph};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/backpressure", "Returns back-pressure information for a job vertex.", backpressure)
            .returns::<JobVertexBackPressureInfo>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/watermarks", "Returns the watermarks of all subtasks of a task.", watermarks)
            .returns::<super::metrics::MetricCollectionResponseBody>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/flamegraph", "Returns a flame graph of where the subtasks of a task spend their time.", flamegraph)
            .query(FLAME_GRAPH_QUERY)
            .returns::<FlameGraphInfo>(),
    ]
}

const FLAME_GRAPH_QUERY: &[QueryParam] = &[
    query(
        "type",
        ParamKind::OneOf(&["FULL", "ON_CPU", "OFF_CPU"]),
        "String value that specifies the Flame Graph type.",
    ),
    query(
        "subtaskindex",
        ParamKind::Integer,
        "Positive integer value that identifies a subtask.",
    ),
];

/// Flink's levels: back-pressured up to 10 % of the time is ok, up to 50 % low, above high.
pub fn level(ratio: f64) -> &'static str {
    if ratio > 0.5 {
        "high"
    } else if ratio > 0.1 {
        "low"
    } else {
        "ok"
    }
}

fn rank(level: &str) -> u8 {
    match level {
        "high" => 2,
        "low" => 1,
        _ => 0,
    }
}

/// A per-second time metric as a ratio of a second; absent (an ended subtask) is 0 as in Flink.
fn ratio(m: &ComponentMetrics, name: &str) -> f64 {
    m.get(name)
        .and_then(|v| v.parse::<f64>().ok())
        .map(|ms| ms / 1000.0)
        .unwrap_or(0.0)
}

/// `JobVertexBackPressureInfo`: `deprecated` (and nothing else) until the vertex's subtasks
/// have reported.
#[derive(Serialize, ToSchema)]
pub struct JobVertexBackPressureInfo {
    pub status: &'static str,
    #[serde(rename = "backpressureLevel", skip_serializing_if = "Option::is_none")]
    pub backpressure_level: Option<&'static str>,
    #[serde(rename = "end-timestamp", skip_serializing_if = "Option::is_none")]
    pub end_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtasks: Option<Vec<SubtaskBackPressureInfo>>,
    /// The level again under Flink's older name.
    #[serde(rename = "backpressure-level", skip_serializing_if = "Option::is_none")]
    pub backpressure_level_legacy: Option<&'static str>,
}

/// `JobVertexBackPressureInfo.SubtaskBackPressureInfo`.
#[derive(Serialize, ToSchema)]
pub struct SubtaskBackPressureInfo {
    pub subtask: usize,
    #[serde(rename = "backpressureLevel")]
    pub backpressure_level: &'static str,
    pub ratio: JacksonDouble,
    #[serde(rename = "idleRatio")]
    pub idle_ratio: JacksonDouble,
    #[serde(rename = "busyRatio")]
    pub busy_ratio: JacksonDouble,
    #[serde(rename = "backpressure-level")]
    pub backpressure_level_legacy: &'static str,
}

async fn backpressure(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<JobVertexBackPressureInfo>> {
    let job = params::job_id(&job)?;
    let vertex = params::vertex_id(&vertex)?;
    let store = s.gateway.request_metric_store().await;
    let subtasks = store.jobs.get(&job).and_then(|j| j.tasks.get(&vertex));
    let Some(subtasks) = subtasks.filter(|t| !t.is_empty()) else {
        return Ok(Json(JobVertexBackPressureInfo {
            status: "deprecated",
            backpressure_level: None,
            end_timestamp: None,
            subtasks: None,
            backpressure_level_legacy: None,
        }));
    };
    let mut overall = "ok";
    let rows = subtasks
        .iter()
        .map(|(i, st)| {
            let r = ratio(&st.metrics, "backPressuredTimeMsPerSecond");
            let l = level(r);
            if rank(l) > rank(overall) {
                overall = l;
            }
            SubtaskBackPressureInfo {
                subtask: *i,
                backpressure_level: l,
                ratio: JacksonDouble(r),
                idle_ratio: JacksonDouble(ratio(&st.metrics, "idleTimeMsPerSecond")),
                busy_ratio: JacksonDouble(ratio(&st.metrics, "busyTimeMsPerSecond")),
                backpressure_level_legacy: l,
            }
        })
        .collect();
    Ok(Json(JobVertexBackPressureInfo {
        status: "ok",
        backpressure_level: Some(overall),
        end_timestamp: Some(store.fetched_at_ms),
        subtasks: Some(rows),
        backpressure_level_legacy: Some(overall),
    }))
}

async fn watermarks(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<super::metrics::MetricCollectionResponseBody>> {
    let (snapshot, index) = vertex_of(&s, &job, &vertex).await?;
    let v = &snapshot.vertices[index];
    let store = s.gateway.request_metric_store().await;
    let metrics = store
        .jobs
        .get(&snapshot.job_id)
        .map(|j| j.vertex_metrics(v.id))
        .unwrap_or_default();
    let out = (0..v.parallelism)
        .filter_map(|i| {
            let id = format!("{i}.currentInputWatermark");
            metrics.get(&id).map(|value| Metric {
                value: Some(value.clone()),
                id,
            })
        })
        .collect();
    Ok(Json(super::metrics::MetricCollectionResponseBody(out)))
}

/// `VertexFlameGraph`: `data` is absent while there is nothing to show.
#[derive(Serialize, ToSchema)]
pub struct FlameGraphInfo {
    #[serde(rename = "endTimestamp")]
    pub end_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<FlameGraphNode>,
}

/// `VertexFlameGraph.Node`: `value` samples passed through it.
#[derive(Serialize, ToSchema)]
pub struct FlameGraphNode {
    pub name: String,
    pub value: u64,
    #[schema(no_recursion)]
    pub children: Vec<FlameGraphNode>,
}

impl FlameGraphNode {
    fn of(n: FlameNode) -> Self {
        FlameGraphNode {
            name: n.name,
            value: n.value,
            children: n.children.into_iter().map(Self::of).collect(),
        }
    }
}

impl FlameGraphInfo {
    fn of(g: VertexFlameGraph) -> Self {
        FlameGraphInfo {
            end_timestamp: g.end_timestamp,
            data: g.data.map(FlameGraphNode::of),
        }
    }
}

async fn flamegraph(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<FlameGraphInfo>> {
    let q = Query::parse(raw.as_deref());
    let kind = match q.get("type").filter(|t| !t.is_empty()) {
        None => FlameGraphType::Full,
        Some(t) => FlameGraphType::parse(t).ok_or_else(|| RestError::bad_query_param("type", t))?,
    };
    let subtask = match q.get("subtaskindex").filter(|t| !t.is_empty()) {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<usize>()
                .map_err(|_| RestError::bad_query_param("subtaskindex", v))?,
        ),
    };
    let job = params::job_id(&job)?;
    let vertex = params::vertex_id(&vertex)?;
    let graph = s
        .gateway
        .request_flame_graph(job, vertex, kind, subtask)
        .await?;
    Ok(Json(FlameGraphInfo::of(graph)))
}
