//! Rescaling a running job: `PATCH /jobs/:id/rescaling?parallelism=N` (an asynchronous
//! operation with a trigger id, like savepoints) and the adaptive scheduler's
//! `GET/PUT /jobs/:id/resource-requirements`. Flink 2.3.0 answers 503/500 to these with its
//! default scheduler; weir rescales for real (checkpoint, redeploy at the new parallelism,
//! state redistributed by key group).

use super::checkpoints::{operation_status, parse_trigger};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::params::{self, Query};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use weir_gateway::{OperationKind, ParallelismBounds, ResourceRequirements};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(PATCH "/jobs/{jobid}/rescaling", "Triggers the rescaling of a job: every vertex after the sources gets the given parallelism.", trigger_rescaling),
        endpoint!(GET "/jobs/{jobid}/rescaling/{triggerid}", "Returns the status of a rescaling operation.", rescaling_status),
        endpoint!(GET "/jobs/{jobid}/resource-requirements", "Returns the parallelism bounds of every vertex of a job.", resource_requirements),
        endpoint!(PUT "/jobs/{jobid}/resource-requirements", "Changes the parallelism bounds of a job's vertices; each vertex is rescaled to its upper bound.", update_resource_requirements),
    ]
}

async fn trigger_rescaling(
    State(s): State<AppState>,
    Path(job): Path<String>,
    RawQuery(query): RawQuery,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let q = Query::parse(query.as_deref());
    let parallelism = match q.int("parallelism")? {
        Some(p) if p >= 1 => p as usize,
        Some(p) => return Err(RestError::bad_query_param("parallelism", &p.to_string())),
        None => return Err(RestError::bad_request(
            "Missing query parameter 'parallelism': give the new parallelism, e.g. ?parallelism=4.",
        )),
    };
    let trigger_id = match q.get("triggerId") {
        Some(raw) => Some(parse_trigger(raw)?),
        None => None,
    };
    let id = s
        .gateway
        .trigger_rescaling(job, parallelism, trigger_id)
        .await?;
    Ok(Json(json!({ "request-id": id.to_string() })))
}

async fn rescaling_status(
    State(s): State<AppState>,
    Path((job, trigger)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    operation_status(&s, &job, &trigger, OperationKind::Rescaling).await
}

async fn resource_requirements(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<Value>> {
    let requirements = s
        .gateway
        .request_job_resource_requirements(params::job_id(&job)?)
        .await?;
    let vertices: Map<String, Value> = requirements
        .iter()
        .map(|(vertex, b)| {
            let bounds =
                json!({"parallelism": {"lowerBound": b.lower_bound, "upperBound": b.upper_bound}});
            (vertex.to_string(), bounds)
        })
        .collect();
    Ok(Json(Value::Object(vertices)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Bounds {
    #[serde(rename = "lowerBound")]
    lower_bound: i64,
    #[serde(rename = "upperBound")]
    upper_bound: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VertexRequirements {
    parallelism: Bounds,
}

async fn update_resource_requirements(
    State(s): State<AppState>,
    Path(job): Path<String>,
    body: Bytes,
) -> RestResult<Json<Value>> {
    let job = params::job_id(&job)?;
    let class = "JobResourceRequirementsBody";
    let raw: BTreeMap<String, VertexRequirements> = super::body::parse(&body, class)?;
    let mut requirements = ResourceRequirements::new();
    for (vertex, r) in raw {
        let vertex = params::vertex_id(&vertex)?;
        let bound = |v: i64| usize::try_from(v).ok().filter(|&v| v >= 1);
        let (Some(lower_bound), Some(upper_bound)) = (
            bound(r.parallelism.lower_bound),
            bound(r.parallelism.upper_bound),
        ) else {
            return Err(RestError::bad_request(format!(
                "The parallelism bounds of vertex {vertex} must be positive, got lowerBound {} and upperBound {}.",
                r.parallelism.lower_bound, r.parallelism.upper_bound
            )));
        };
        requirements.insert(
            vertex,
            ParallelismBounds {
                lower_bound,
                upper_bound,
            },
        );
    }
    s.gateway
        .update_job_resource_requirements(job, requirements)
        .await?;
    Ok(Json(json!({})))
}
