//! Metrics endpoints (Flink's FLIP-7 handlers): each reads the MetricStore the gateway hands
//! over (fetched anew when older than `metrics.fetcher.update-interval`) and answers with
//! Flink's shapes: a top-level array of `{"id"}`, `{"id","value"}` or aggregates.

use super::messages::JacksonDouble;
use crate::endpoint;
use crate::endpoint::{query, Endpoint, ParamKind, QueryParam};
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::params::{self, Query};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use weir_core::JobId;
use weir_gateway::metrics::query::{self, Aggregation};
use weir_gateway::metrics::store::{ComponentMetrics, JobMetricStore};
use weir_gateway::metrics::MetricStore;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobmanager/metrics", "Provides access to JobManager metrics.", jobmanager_metrics)
            .query(SINGLE_QUERY)
            .returns::<MetricCollectionResponseBody>(),
        endpoint!(GET "/taskmanagers/metrics", "Provides access to aggregated TaskManager metrics.", taskmanagers_metrics)
            .query(TASKMANAGERS_QUERY)
            .returns::<AggregatedMetricsResponseBody>(),
        endpoint!(GET "/taskmanagers/{taskmanagerid}/metrics", "Provides access to TaskManager metrics.", taskmanager_metrics)
            .query(SINGLE_QUERY)
            .returns::<MetricCollectionResponseBody>(),
        endpoint!(GET "/jobs/metrics", "Provides access to aggregated job metrics.", jobs_metrics)
            .query(JOBS_QUERY)
            .returns::<AggregatedMetricsResponseBody>(),
        endpoint!(GET "/jobs/{jobid}/metrics", "Provides access to job metrics.", job_metrics)
            .query(SINGLE_QUERY)
            .returns::<MetricCollectionResponseBody>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/metrics", "Provides access to task metrics.", vertex_metrics)
            .query(SINGLE_QUERY)
            .returns::<MetricCollectionResponseBody>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics", "Provides access to aggregated subtask metrics.", subtasks_metrics)
            .query(SUBTASKS_QUERY)
            .returns::<AggregatedMetricsResponseBody>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/metrics", "Provides access to subtask metrics.", subtask_metrics)
            .query(SINGLE_QUERY)
            .returns::<MetricCollectionResponseBody>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/jm-operator-metrics", "Provides access to JobManager operator metrics.", jm_operator_metrics)
            .query(SINGLE_QUERY)
            .returns::<MetricCollectionResponseBody>(),
    ]
}

const GET: QueryParam = query(
    "get",
    ParamKind::String,
    "Comma-separated list of string values to select specific metrics.",
);
const AGG: QueryParam = query(
    "agg",
    ParamKind::String,
    "Comma-separated list of aggregation modes which should be calculated (min, max, sum, avg, skew).",
);
const SINGLE_QUERY: &[QueryParam] = &[GET];
const TASKMANAGERS_QUERY: &[QueryParam] = &[
    GET,
    AGG,
    query(
        "taskmanagers",
        ParamKind::String,
        "Comma-separated list of 32-character hexadecimal strings to select specific task managers.",
    ),
];
const JOBS_QUERY: &[QueryParam] = &[
    GET,
    AGG,
    query(
        "jobs",
        ParamKind::String,
        "Comma-separated list of 32-character hexadecimal strings to select specific jobs.",
    ),
];
const SUBTASKS_QUERY: &[QueryParam] = &[
    GET,
    AGG,
    query(
        "subtasks",
        ParamKind::String,
        "Comma-separated list of integer ranges (e.g. \"1,3,5-9\") to select specific subtasks.",
    ),
];

/// `MetricCollectionResponseBody`: a component's metric ids, or the values asked for.
#[derive(Serialize, ToSchema)]
pub struct MetricCollectionResponseBody(pub Vec<Metric>);

/// `Metric`: an id, and its value when asked for by `get`.
#[derive(Serialize, ToSchema)]
pub struct Metric {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `AggregatedMetricsResponseBody`: the ids over the components, or with `get` each metric's
/// aggregates (those `agg` asked for; all by default).
#[derive(Serialize, ToSchema)]
pub struct AggregatedMetricsResponseBody(pub Vec<AggregatedMetric>);

/// `AggregatedMetric`.
#[derive(Serialize, ToSchema, Default)]
pub struct AggregatedMetric {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<JacksonDouble>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<JacksonDouble>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg: Option<JacksonDouble>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<JacksonDouble>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skew: Option<JacksonDouble>,
}

/// The `get` parameter as a list of ids.
fn get_param(q: &Query) -> Option<Vec<String>> {
    query::metric_names(q.get("get"))
}

fn single(component: Option<&ComponentMetrics>, q: &Query) -> Json<MetricCollectionResponseBody> {
    let get = get_param(q);
    Json(MetricCollectionResponseBody(
        query::component(component, get.as_deref())
            .into_iter()
            .map(|e| Metric {
                id: e.id,
                value: e.value,
            })
            .collect(),
    ))
}

/// Answers an aggregating request over `components`.
fn aggregated(
    components: &[&ComponentMetrics],
    q: &Query,
) -> RestResult<Json<AggregatedMetricsResponseBody>> {
    let aggs = Aggregation::parse_list(q.get("agg"))
        .map_err(|bad| RestError::bad_query_param("agg", &bad))?;
    let get = get_param(q);
    let d = |v: Option<f64>| v.map(JacksonDouble);
    let entries = match query::aggregate(components, get.as_deref(), &aggs) {
        Ok(entries) => entries
            .into_iter()
            .map(|e| AggregatedMetric {
                id: e.id,
                min: d(e.min),
                max: d(e.max),
                avg: d(e.avg),
                sum: d(e.sum),
                skew: d(e.skew),
            })
            .collect(),
        Err(ids) => ids
            .into_iter()
            .map(|e| AggregatedMetric {
                id: e.id,
                ..Default::default()
            })
            .collect(),
    };
    Ok(Json(AggregatedMetricsResponseBody(entries)))
}

fn job_store(store: &MetricStore, job: JobId) -> Option<&JobMetricStore> {
    store.jobs.get(&job).map(|j| j.as_ref())
}

async fn jobmanager_metrics(
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<MetricCollectionResponseBody>> {
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
) -> RestResult<Json<MetricCollectionResponseBody>> {
    let store = s.gateway.request_metric_store().await;
    let tm = store.taskmanagers.get(&id).map(|m| m.as_ref());
    Ok(single(tm, &Query::parse(raw.as_deref())))
}

async fn taskmanagers_metrics(
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<AggregatedMetricsResponseBody>> {
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
) -> RestResult<Json<AggregatedMetricsResponseBody>> {
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
) -> RestResult<Json<MetricCollectionResponseBody>> {
    let job = params::job_id(&job)?;
    let store = s.gateway.request_metric_store().await;
    let m = job_store(&store, job).map(|j| j.metrics.as_ref());
    Ok(single(m, &Query::parse(raw.as_deref())))
}

async fn vertex_metrics(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> RestResult<Json<MetricCollectionResponseBody>> {
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
) -> RestResult<Json<AggregatedMetricsResponseBody>> {
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
) -> RestResult<Json<MetricCollectionResponseBody>> {
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
) -> RestResult<Json<MetricCollectionResponseBody>> {
    let job = params::job_id(&job)?;
    let vertex = params::vertex_id(&vertex)?;
    let store = s.gateway.request_metric_store().await;
    let m = job_store(&store, job)
        .and_then(|j| j.jm_operators.get(&vertex))
        .map(|m| m.as_ref());
    Ok(single(m, &Query::parse(raw.as_deref())))
}
