//! Metrics endpoints (Flink's FLIP-7 handlers): each reads the MetricStore the gateway hands
//! over (fetched anew when older than `metrics.fetcher.update-interval`) and answers with
//! Flink's shapes: a top-level array of `{"id"}`, `{"id","value"}` or aggregates.

use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::params::{self, Query};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::Value;
use std::collections::BTreeMap;
use weir_core::JobId;
use weir_gateway::metrics::query::{self, Aggregation};
use weir_gateway::metrics::store::{ComponentMetrics, JobMetricStore};
use weir_gateway::metrics::MetricStore;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobmanager/metrics", "Provides access to JobManager metrics.", jobmanager_metrics),
        endpoint!(GET "/taskmanagers/metrics", "Provides access to aggregated TaskManager metrics.", taskmanagers_metrics),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/metrics", "Provides access to TaskManager metrics.", taskmanager_metrics),
        endpoint!(GET "/jobs/metrics", "Provides access to aggregated job metrics.", jobs_metrics),
        endpoint!(GET "/jobs/{jobid}/metrics", "Provides access to job metrics.", job_metrics),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/metrics", "Provides access to task metrics.", vertex_metrics),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics", "Provides access to aggregated subtask metrics.", subtasks_metrics),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/metrics", "Provides access to subtask metrics.", subtask_metrics),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/jm-operator-metrics", "Provides access to JobManager operator metrics.", jm_operator_metrics),
    ]
}

/// The `get` parameter as a list of ids.
fn get_param(q: &Query) -> Option<Vec<String>> {
    query::metric_names(q.get("get"))
}

fn single(component: Option<&ComponentMetrics>, q: &Query) -> Json<Value> {
    let get = get_param(q);
    Json(serde_json::to_value(query::component(component, get.as_deref())).unwrap_or_default())
}

/// Answers an aggregating request over `components`.
fn aggregated(components: &[&ComponentMetrics], q: &Query) -> RestResult<Json<Value>> {
    let aggs = Aggregation::parse_list(q.get("agg"))
        .map_err(|bad| RestError::bad_query_param("agg", &bad))?;
    let get = get_param(q);
    let value = match query::aggregate(components, get.as_deref(), &aggs) {
        Ok(entries) => serde_json::to_value(entries),
        Err(ids) => serde_json::to_value(ids),
    };
    Ok(Json(value.unwrap_or_default()))
}

fn job_store(store: &MetricStore, job: JobId) -> Option<&JobMetricStore> {
    store.jobs.get(&job).map(|j| j.as_ref())
}

async fn jobmanager_metrics(
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
    let store = s.gateway.request_metric_store().await;
    Ok(single(
        Some(&store.jobmanager),
        &Query::parse(raw.as_deref()),
    ))
}

async fn taskmanager_metrics(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
    let store = s.gateway.request_metric_store().await;
    let tm = store.taskmanagers.get(&id).map(|m| m.as_ref());
    Ok(single(tm, &Query::parse(raw.as_deref())))
}

async fn taskmanagers_metrics(
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
    let q = Query::parse(raw.as_deref());
    let store = s.gateway.request_metric_store().await;
    let wanted: Option<Vec<&str>> = q
        .get("taskmanagers")
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(str::trim).collect());
    let components: Vec<&ComponentMetrics> = store
        .taskmanagers
        .iter()
        .filter(|(id, _)| wanted.as_ref().is_none_or(|w| w.contains(&id.as_str())))
        .map(|(_, m)| m.as_ref())
        .collect();
    aggregated(&components, &q)
}

async fn jobs_metrics(
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
    let q = Query::parse(raw.as_deref());
    let wanted: Option<Vec<JobId>> = match q.get("jobs").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            v.split(',')
                .map(|id| {
                    id.trim()
                        .parse()
                        .map_err(|_| RestError::bad_query_param("jobs", v))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let store = s.gateway.request_metric_store().await;
    let components: Vec<&ComponentMetrics> = store
        .jobs
        .iter()
        .filter(|(id, _)| wanted.as_ref().is_none_or(|w| w.contains(id)))
        .map(|(_, j)| j.metrics.as_ref())
        .collect();
    aggregated(&components, &q)
}

async fn job_metrics(
    State(s): State<AppState>,
    Path(job): Path<String>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let store = s.gateway.request_metric_store().await;
    let m = job_store(&store, job).map(|j| j.metrics.as_ref());
    Ok(single(m, &Query::parse(raw.as_deref())))
}

async fn vertex_metrics(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let vertex = params::vertex_id(&vertex)?;
    let store = s.gateway.request_metric_store().await;
    let m = job_store(&store, job).map(|j| j.vertex_metrics(vertex));
    Ok(single(m.as_ref(), &Query::parse(raw.as_deref())))
}

async fn subtasks_metrics(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
    let q = Query::parse(raw.as_deref());
    let job = params::job_id(&job)?;
    let vertex = params::vertex_id(&vertex)?;
    let store = s.gateway.request_metric_store().await;
    let wanted = q
        .get("subtasks")
        .filter(|v| !v.is_empty())
        .map(query::subtask_ranges);
    let empty = BTreeMap::new();
    let subtasks = job_store(&store, job)
        .and_then(|j| j.tasks.get(&vertex))
        .map(|t| t.as_ref())
        .unwrap_or(&empty);
    let components: Vec<&ComponentMetrics> = subtasks
        .iter()
        .filter(|(i, _)| wanted.as_ref().is_none_or(|w| w.contains(i)))
        .map(|(_, s)| &s.metrics)
        .collect();
    aggregated(&components, &q)
}

async fn subtask_metrics(
    State(s): State<AppState>,
    Path((job, vertex, index)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let vertex = params::vertex_id(&vertex)?;
    let index = params::index("subtaskindex", &index)?;
    let store = s.gateway.request_metric_store().await;
    let m = job_store(&store, job)
        .and_then(|j| j.subtask(vertex, index))
        .map(|s| &s.metrics);
    Ok(single(m, &Query::parse(raw.as_deref())))
}

async fn jm_operator_metrics(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let vertex = params::vertex_id(&vertex)?;
    let store = s.gateway.request_metric_store().await;
    let m = job_store(&store, job)
        .and_then(|j| j.jm_operators.get(&vertex))
        .map(|m| m.as_ref());
    Ok(single(m, &Query::parse(raw.as_deref())))
}
