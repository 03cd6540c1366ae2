//! Vertex endpoints: details, subtasks, attempts, accumulators, subtask times and the
//! per-TaskManager view of a vertex.

use super::messages::{self, now_ms};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::params;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use weir_core::ExecutionState;
use weir_gateway::snapshot::{
    aggregate_state, state_index, AttemptSnapshot, JobSnapshot, SubtaskSnapshot, VertexSnapshot,
};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}", "Returns details of a task, with a summary of each subtask.", vertex_details),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/accumulators", "Returns user-defined accumulators of a task.", vertex_accumulators),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/accumulators", "Returns all user-defined accumulators of all subtasks of a task.", subtasks_accumulators),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}", "Returns details of the current execution attempt of a subtask.", subtask_details),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/attempts/{attempt}", "Returns details of an execution attempt of a subtask.", attempt_details),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/attempts/{attempt}/accumulators", "Returns the accumulators of an execution attempt of a subtask.", attempt_accumulators),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasktimes", "Returns time-related information for all subtasks of a task.", subtask_times),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/taskmanagers", "Returns task information aggregated by TaskManager.", vertex_taskmanagers),
    ]
}

/// The job snapshot and the vertex the path names.
pub(crate) async fn vertex_of(
    s: &AppState,
    job: &str,
    vertex: &str,
) -> RestResult<(JobSnapshot, usize)> {
    let job = params::job_id(job)?;
    let vid = params::vertex_id(vertex)?;
    let snapshot = s.gateway.request_job(job).await?;
    let index = snapshot
        .vertices
        .iter()
        .position(|v| v.id == vid)
        .ok_or_else(|| RestError::not_found(format!("JobVertex {vid} not found")))?;
    Ok((snapshot, index))
}

fn subtask_of<'a>(v: &'a VertexSnapshot, raw: &str) -> RestResult<&'a SubtaskSnapshot> {
    let i = params::index("subtaskindex", raw)?;
    v.subtasks
        .get(i)
        .ok_or_else(|| RestError::not_found(format!("Invalid subtask index for vertex {}", v.id)))
}

async fn vertex_details(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    let now = now_ms();
    let attempts: Vec<&AttemptSnapshot> = v.subtasks.iter().map(|st| &st.current).collect();
    Ok(Json(json!({
        "id": v.id.to_string(),
        "name": v.name,
        "parallelism": v.parallelism,
        "maxParallelism": v.max_parallelism,
        "now": now,
        "subtasks": v.subtasks.iter().map(|st| messages::attempt_details(st.index, &st.current, &[], now)).collect::<Vec<_>>(),
        "aggregated": messages::aggregated_attempts(&attempts, now),
    })))
}

async fn vertex_accumulators(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    Ok(Json(
        json!({ "id": snap.vertices[i].id.to_string(), "user-accumulators": [] }),
    ))
}

async fn subtasks_accumulators(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    Ok(Json(json!({
        "id": v.id.to_string(),
        "parallelism": v.parallelism,
        "subtasks": v.subtasks.iter().map(|st| json!({
            "subtask": st.index,
            "attempt": st.current.attempt,
            "endpoint": st.current.endpoint.clone().unwrap_or_else(|| "(unassigned)".into()),
            "user-accumulators": [],
        })).collect::<Vec<_>>(),
    })))
}

async fn subtask_details(
    State(s): State<AppState>,
    Path((job, vertex, sub)): Path<(String, String, String)>,
) -> RestResult<Json<Value>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let st = subtask_of(&snap.vertices[i], &sub)?;
    Ok(Json(messages::attempt_details(
        st.index,
        &st.current,
        &[],
        now_ms(),
    )))
}

fn attempt_of<'a>(st: &'a SubtaskSnapshot, raw: &str) -> RestResult<&'a AttemptSnapshot> {
    let n: u32 = raw
        .parse()
        .map_err(|_| RestError::bad_path_param("attempt", raw))?;
    st.attempt(n)
        .ok_or_else(|| RestError::not_found(format!("Invalid attempt num {n}")))
}

async fn attempt_details(
    State(s): State<AppState>,
    Path((job, vertex, sub, attempt)): Path<(String, String, String, String)>,
) -> RestResult<Json<Value>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let st = subtask_of(&snap.vertices[i], &sub)?;
    let a = attempt_of(st, &attempt)?;
    Ok(Json(messages::attempt_details(st.index, a, &[], now_ms())))
}

async fn attempt_accumulators(
    State(s): State<AppState>,
    Path((job, vertex, sub, attempt)): Path<(String, String, String, String)>,
) -> RestResult<Json<Value>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    let st = subtask_of(v, &sub)?;
    let a = attempt_of(st, &attempt)?;
    Ok(Json(json!({
        "subtask": st.index,
        "attempt": a.attempt,
        "id": format!("{}_{}_{}_{}", snap.job_id, v.id, st.index, a.attempt),
        "user-accumulators": [],
    })))
}

async fn subtask_times(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    let now = now_ms();
    let subtasks: Vec<Value> = v
        .subtasks
        .iter()
        .map(|st| {
            let a = &st.current;
            let mut ts = Map::new();
            for (state, t) in ExecutionState::ALL.iter().zip(a.timestamps.iter()) {
                ts.insert(
                    serde_json::to_value(state)
                        .ok()
                        .and_then(|x| x.as_str().map(String::from))
                        .unwrap_or_default(),
                    json!(t),
                );
            }
            let created = a.timestamps[state_index(ExecutionState::Created)];
            let end = if a.end_time() > 0 { a.end_time() } else { now };
            json!({
                "subtask": st.index,
                "endpoint": a.endpoint.clone().unwrap_or_else(|| "(unassigned)".into()),
                "duration": if created > 0 { end - created } else { -1 },
                "timestamps": Value::Object(ts),
            })
        })
        .collect();
    Ok(Json(
        json!({ "id": v.id.to_string(), "name": v.name, "now": now, "subtasks": subtasks }),
    ))
}

async fn vertex_taskmanagers(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<Value>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    let now = now_ms();
    let mut by_tm: BTreeMap<(String, String), Vec<&AttemptSnapshot>> = BTreeMap::new();
    for st in &v.subtasks {
        let a = &st.current;
        let key = (
            a.endpoint.clone().unwrap_or_else(|| "(unassigned)".into()),
            a.task_manager
                .clone()
                .unwrap_or_else(|| "(unassigned)".into()),
        );
        by_tm.entry(key).or_default().push(a);
    }
    let taskmanagers: Vec<Value> = by_tm
        .iter()
        .map(|((endpoint, tm), attempts)| {
            let mut counts = [0usize; 10];
            let mut io = weir_gateway::IoStats::default();
            for a in attempts {
                counts[state_index(a.state)] += 1;
                io += a.io;
            }
            let start = attempts.iter().map(|a| a.start_time()).filter(|t| *t > 0).min().unwrap_or(-1);
            let all_done = attempts.iter().all(|a| a.state.is_terminal());
            let end = if all_done { attempts.iter().map(|a| a.end_time()).max().unwrap_or(-1) } else { -1 };
            let duration = if start < 0 { -1 } else if end >= 0 { end - start } else { now - start };
            json!({
                "endpoint": endpoint,
                "status": serde_json::to_value(aggregate_state(&counts, attempts.len())).unwrap_or(Value::Null),
                "start-time": start,
                "end-time": end,
                "duration": duration,
                "metrics": messages::io_metrics(&io),
                "status-counts": messages::status_counts(&counts),
                "taskmanager-id": tm,
                "aggregated": messages::aggregated_attempts(attempts, now),
            })
        })
        .collect();
    Ok(Json(
        json!({ "id": v.id.to_string(), "name": v.name, "now": now, "taskmanagers": taskmanagers }),
    ))
}
