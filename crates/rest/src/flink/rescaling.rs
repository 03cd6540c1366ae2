//! Rescaling a running job: `PATCH /jobs/:id/rescaling?parallelism=N` (an asynchronous
//! operation with a trigger id, like savepoints) and the adaptive scheduler's
//! `GET/PUT /jobs/:id/resource-requirements`. Flink 2.3.0 answers 503/500 to these with its
//! default scheduler; weir rescales for real (checkpoint, redeploy at the new parallelism,
//! state redistributed by key group).

use super::checkpoints::{operation_status, parse_trigger};
use super::messages::{AsynchronousOperationResult, EmptyResponseBody, TriggerResponse};
use crate::endpoint;
use crate::endpoint::{query, Endpoint, ParamKind, QueryParam};
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::params::{self, Query};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use weir_gateway::{OperationKind, ParallelismBounds, ResourceRequirements};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(PATCH "/jobs/{jobid}/rescaling", "Triggers the rescaling of a job: every vertex after the sources gets the given parallelism.", trigger_rescaling)
            .query(RESCALING_QUERY)
            .returns::<TriggerResponse>(),
        endpoint!(GET "/jobs/{jobid}/rescaling/{triggerid}", "Returns the status of a rescaling operation.", rescaling_status)
            .returns::<AsynchronousOperationResult>(),
        endpoint!(GET "/jobs/{jobid}/resource-requirements", "Returns the parallelism bounds of every vertex of a job.", resource_requirements)
            .returns::<JobResourceRequirementsBody>(),
        endpoint!(PUT "/jobs/{jobid}/resource-requirements", "Changes the parallelism bounds of a job's vertices; each vertex is rescaled to its upper bound.", update_resource_requirements)
            .accepts::<JobResourceRequirementsBody>()
            .returns::<EmptyResponseBody>(),
    ]
}

const RESCALING_QUERY: &[QueryParam] = &[
    QueryParam {
        name: "parallelism",
        kind: ParamKind::Integer,
        required: true,
        description: "Positive integer value that specifies the desired parallelism.",
    },
    query(
        "triggerId",
        ParamKind::String,
        "32-character hexadecimal id that makes a repeated trigger idempotent.",
    ),
];

/// Flink's `JobResourceRequirementsBody`: per vertex id, its parallelism bounds (Flink writes
/// the map itself, through a Jackson any-getter).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobResourceRequirementsBody(pub BTreeMap<String, JobVertexResourceRequirements>);

/// `JobVertexResourceRequirements`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobVertexResourceRequirements {
    pub parallelism: Bounds,
}

/// `JobVertexResourceRequirements.Parallelism`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    #[serde(rename = "lowerBound")]
    pub lower_bound: i64,
    #[serde(rename = "upperBound")]
    pub upper_bound: i64,
}

async fn trigger_rescaling(
    State(s): State<AppState>,
    Path(job): Path<String>,
    RawQuery(query): RawQuery,
) -> RestResult<Json<TriggerResponse>> {
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
    Ok(Json(TriggerResponse {
        request_id: id.to_string(),
    }))
}

async fn rescaling_status(
    State(s): State<AppState>,
    Path((job, trigger)): Path<(String, String)>,
) -> RestResult<Json<AsynchronousOperationResult>> {
    operation_status(&s, &job, &trigger, OperationKind::Rescaling).await
}

async fn resource_requirements(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<JobResourceRequirementsBody>> {
    let requirements = s
        .gateway
        .request_job_resource_requirements(params::job_id(&job)?)
        .await?;
    let vertices = requirements
        .iter()
        .map(|(vertex, b)| {
            let bounds = JobVertexResourceRequirements {
                parallelism: Bounds {
                    lower_bound: b.lower_bound as i64,
                    upper_bound: b.upper_bound as i64,
                },
            };
            (vertex.to_string(), bounds)
        })
        .collect();
    Ok(Json(JobResourceRequirementsBody(vertices)))
}

async fn update_resource_requirements(
    State(s): State<AppState>,
    Path(job): Path<String>,
    body: Bytes,
) -> RestResult<Json<EmptyResponseBody>> {
    let job = params::job_id(&job)?;
    let class = "JobResourceRequirementsBody";
    let raw: JobResourceRequirementsBody = super::body::parse(&body, class)?;
    let mut requirements = ResourceRequirements::new();
    for (vertex, r) in raw.0 {
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
    Ok(Json(EmptyResponseBody {}))
}
