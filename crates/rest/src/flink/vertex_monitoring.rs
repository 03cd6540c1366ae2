//! What a vertex is doing: backpressure (from its subtasks' busy, idle and back-pressured time
//! per second), watermarks, and flame graphs.

use super::vertices::vertex_of;
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::params::{self, Query};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::{json, Value};
use weir_gateway::metrics::store::ComponentMetrics;
use weir_gateway::FlameGraphType;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/backpressure", "Returns back-pressure information for a job vertex.", backpressure),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/watermarks", "Returns the watermarks of all subtasks of a task.", watermarks),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/flamegraph", "Returns a flame graph of where the subtasks of a task spend their time.", flamegraph),
    ]
}

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

async fn backpressure(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let vertex = params::vertex_id(&vertex)?;
    let store = s.gateway.request_metric_store().await;
    let subtasks = store.jobs.get(&job).and_then(|j| j.tasks.get(&vertex));
    let Some(subtasks) = subtasks.filter(|t| !t.is_empty()) else {
        return Ok(Json(json!({ "status": "deprecated" })));
    };
    let mut overall = "ok";
    let rows: Vec<Value> = subtasks
        .iter()
        .map(|(i, st)| {
            let r = ratio(&st.metrics, "backPressuredTimeMsPerSecond");
            let l = level(r);
            if rank(l) > rank(overall) {
                overall = l;
            }
            json!({
                "subtask": i,
                "backpressureLevel": l,
                "ratio": super::messages::jackson_double(r),
                "idleRatio": super::messages::jackson_double(ratio(&st.metrics, "idleTimeMsPerSecond")),
                "busyRatio": super::messages::jackson_double(ratio(&st.metrics, "busyTimeMsPerSecond")),
                "backpressure-level": l,
            })
        })
        .collect();
    Ok(Json(json!({
        "status": "ok",
        "backpressureLevel": overall,
        "end-timestamp": store.fetched_at_ms,
        "subtasks": rows,
        "backpressure-level": overall,
    })))
}

async fn watermarks(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    let (snapshot, index) = vertex_of(&s, &job, &vertex).await?;
    let v = &snapshot.vertices[index];
    let store = s.gateway.request_metric_store().await;
    let metrics = store
        .jobs
        .get(&snapshot.job_id)
        .map(|j| j.vertex_metrics(v.id))
        .unwrap_or_default();
    let out: Vec<Value> = (0..v.parallelism)
        .filter_map(|i| {
            let id = format!("{i}.currentInputWatermark");
            metrics
                .get(&id)
                .map(|value| json!({ "id": id, "value": value }))
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

async fn flamegraph(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
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
    Ok(Json(serde_json::to_value(graph).unwrap_or_default()))
}
