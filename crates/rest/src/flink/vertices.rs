//! Vertex endpoints: details, subtasks, attempts, accumulators, subtask times and the
//! per-TaskManager view of a vertex.

use super::messages::{
    self, now_ms, AggregatedTaskDetailsInfo, IoMetrics, StateCounts,
    SubtaskExecutionAttemptDetailsInfo,
};
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::params;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use weir_core::ExecutionState;
use weir_gateway::snapshot::{
    aggregate_state, state_index, AttemptSnapshot, JobSnapshot, SubtaskSnapshot, VertexSnapshot,
};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}", "Returns details of a task, with a summary of each subtask.", vertex_details)
            .returns::<JobVertexDetailsInfo>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/accumulators", "Returns user-defined accumulators of a task.", vertex_accumulators)
            .returns::<JobVertexAccumulatorsInfo>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/accumulators", "Returns all user-defined accumulators of all subtasks of a task.", subtasks_accumulators)
            .returns::<SubtasksAllAccumulatorsInfo>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}", "Returns details of the current execution attempt of a subtask.", subtask_details)
            .returns::<SubtaskExecutionAttemptDetailsInfo>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/attempts/{attempt}", "Returns details of an execution attempt of a subtask.", attempt_details)
            .returns::<SubtaskExecutionAttemptDetailsInfo>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/attempts/{attempt}/accumulators", "Returns the accumulators of an execution attempt of a subtask.", attempt_accumulators)
            .returns::<SubtaskExecutionAttemptAccumulatorsInfo>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/subtasktimes", "Returns time-related information for all subtasks of a task.", subtask_times)
            .returns::<SubtasksTimesInfo>(),
        endpoint!(GET "/jobs/{jobid}/vertices/{vertexid}/taskmanagers", "Returns task information aggregated by TaskManager.", vertex_taskmanagers)
            .returns::<JobVertexTaskManagersInfo>(),
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

/// `JobVertexDetailsInfo`.
#[derive(Serialize, ToSchema)]
pub struct JobVertexDetailsInfo {
    pub id: String,
    pub name: String,
    pub parallelism: usize,
    #[serde(rename = "maxParallelism")]
    pub max_parallelism: usize,
    pub now: i64,
    pub subtasks: Vec<SubtaskExecutionAttemptDetailsInfo>,
    pub aggregated: AggregatedTaskDetailsInfo,
}

async fn vertex_details(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<JobVertexDetailsInfo>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    let now = now_ms();
    let attempts: Vec<&AttemptSnapshot> = v.subtasks.iter().map(|st| &st.current).collect();
    Ok(Json(JobVertexDetailsInfo {
        id: v.id.to_string(),
        name: v.name.clone(),
        parallelism: v.parallelism,
        max_parallelism: v.max_parallelism,
        now,
        subtasks: v
            .subtasks
            .iter()
            .map(|st| SubtaskExecutionAttemptDetailsInfo::of(st.index, &st.current, &[], now))
            .collect(),
        aggregated: AggregatedTaskDetailsInfo::of(&attempts, now),
    }))
}

/// `UserAccumulator`: weir pipelines define none, so every list of them is empty.
#[derive(Serialize, ToSchema)]
pub struct UserAccumulator {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// `JobVertexAccumulatorsInfo`.
#[derive(Serialize, ToSchema)]
pub struct JobVertexAccumulatorsInfo {
    pub id: String,
    #[serde(rename = "user-accumulators")]
    pub user_accumulators: Vec<UserAccumulator>,
}

async fn vertex_accumulators(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<JobVertexAccumulatorsInfo>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    Ok(Json(JobVertexAccumulatorsInfo {
        id: snap.vertices[i].id.to_string(),
        user_accumulators: Vec::new(),
    }))
}

/// `SubtasksAllAccumulatorsInfo`.
#[derive(Serialize, ToSchema)]
pub struct SubtasksAllAccumulatorsInfo {
    pub id: String,
    pub parallelism: usize,
    pub subtasks: Vec<SubtaskAccumulatorsInfo>,
}

/// `SubtasksAllAccumulatorsInfo.SubtaskAccumulatorsInfo`.
#[derive(Serialize, ToSchema)]
pub struct SubtaskAccumulatorsInfo {
    pub subtask: usize,
    pub attempt: u32,
    pub endpoint: String,
    #[serde(rename = "user-accumulators")]
    pub user_accumulators: Vec<UserAccumulator>,
}

fn endpoint_of(a: &AttemptSnapshot) -> String {
    a.endpoint.clone().unwrap_or_else(|| "(unassigned)".into())
}

async fn subtasks_accumulators(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<SubtasksAllAccumulatorsInfo>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    Ok(Json(SubtasksAllAccumulatorsInfo {
        id: v.id.to_string(),
        parallelism: v.parallelism,
        subtasks: v
            .subtasks
            .iter()
            .map(|st| SubtaskAccumulatorsInfo {
                subtask: st.index,
                attempt: st.current.attempt,
                endpoint: endpoint_of(&st.current),
                user_accumulators: Vec::new(),
            })
            .collect(),
    }))
}

async fn subtask_details(
    State(s): State<AppState>,
    Path((job, vertex, sub)): Path<(String, String, String)>,
) -> RestResult<Json<SubtaskExecutionAttemptDetailsInfo>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let st = subtask_of(&snap.vertices[i], &sub)?;
    Ok(Json(SubtaskExecutionAttemptDetailsInfo::of(
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
) -> RestResult<Json<SubtaskExecutionAttemptDetailsInfo>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let st = subtask_of(&snap.vertices[i], &sub)?;
    let a = attempt_of(st, &attempt)?;
    Ok(Json(SubtaskExecutionAttemptDetailsInfo::of(
        st.index,
        a,
        &[],
        now_ms(),
    )))
}

/// `SubtaskExecutionAttemptAccumulatorsInfo`.
#[derive(Serialize, ToSchema)]
pub struct SubtaskExecutionAttemptAccumulatorsInfo {
    pub subtask: usize,
    pub attempt: u32,
    pub id: String,
    #[serde(rename = "user-accumulators")]
    pub user_accumulators: Vec<UserAccumulator>,
}

async fn attempt_accumulators(
    State(s): State<AppState>,
    Path((job, vertex, sub, attempt)): Path<(String, String, String, String)>,
) -> RestResult<Json<SubtaskExecutionAttemptAccumulatorsInfo>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    let st = subtask_of(v, &sub)?;
    let a = attempt_of(st, &attempt)?;
    Ok(Json(SubtaskExecutionAttemptAccumulatorsInfo {
        subtask: st.index,
        attempt: a.attempt,
        id: format!("{}_{}_{}_{}", snap.job_id, v.id, st.index, a.attempt),
        user_accumulators: Vec::new(),
    }))
}

/// `SubtasksTimesInfo`.
#[derive(Serialize, ToSchema)]
pub struct SubtasksTimesInfo {
    pub id: String,
    pub name: String,
    pub now: i64,
    pub subtasks: Vec<SubtaskTimeInfo>,
}

/// `SubtasksTimesInfo.SubtaskTimeInfo`: when the current attempt entered each state.
#[derive(Serialize, ToSchema)]
pub struct SubtaskTimeInfo {
    pub subtask: usize,
    pub endpoint: String,
    pub duration: i64,
    pub timestamps: BTreeMap<&'static str, i64>,
}

async fn subtask_times(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<SubtasksTimesInfo>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    let now = now_ms();
    let subtasks = v
        .subtasks
        .iter()
        .map(|st| {
            let a = &st.current;
            let timestamps = ExecutionState::ALL
                .iter()
                .zip(a.timestamps.iter())
                .map(|(state, t)| (state.as_str(), *t))
                .collect();
            let created = a.timestamps[state_index(ExecutionState::Created)];
            let end = if a.end_time() > 0 { a.end_time() } else { now };
            SubtaskTimeInfo {
                subtask: st.index,
                endpoint: endpoint_of(a),
                duration: if created > 0 { end - created } else { -1 },
                timestamps,
            }
        })
        .collect();
    Ok(Json(SubtasksTimesInfo {
        id: v.id.to_string(),
        name: v.name.clone(),
        now,
        subtasks,
    }))
}

/// `JobVertexTaskManagersInfo`: a vertex's subtasks grouped by the TaskManager running them.
#[derive(Serialize, ToSchema)]
pub struct JobVertexTaskManagersInfo {
    pub id: String,
    pub name: String,
    pub now: i64,
    pub taskmanagers: Vec<VertexTaskManagerInfo>,
}

/// `JobVertexTaskManagersInfo.TaskManagersInfo`.
#[derive(Serialize, ToSchema)]
pub struct VertexTaskManagerInfo {
    pub endpoint: String,
    pub status: &'static str,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    pub metrics: IoMetrics,
    #[serde(rename = "status-counts")]
    pub status_counts: StateCounts,
    #[serde(rename = "taskmanager-id")]
    pub taskmanager_id: String,
    pub aggregated: AggregatedTaskDetailsInfo,
}

async fn vertex_taskmanagers(
    State(s): State<AppState>,
    Path((job, vertex)): Path<(String, String)>,
) -> RestResult<Json<JobVertexTaskManagersInfo>> {
    let (snap, i) = vertex_of(&s, &job, &vertex).await?;
    let v = &snap.vertices[i];
    let now = now_ms();
    let mut by_tm: BTreeMap<(String, String), Vec<&AttemptSnapshot>> = BTreeMap::new();
    for st in &v.subtasks {
        let a = &st.current;
        let key = (
            endpoint_of(a),
            a.task_manager
                .clone()
                .unwrap_or_else(|| "(unassigned)".into()),
        );
        by_tm.entry(key).or_default().push(a);
    }
    let taskmanagers = by_tm
        .into_iter()
        .map(|((endpoint, tm), attempts)| {
            let mut counts = [0usize; 10];
            let mut io = weir_gateway::IoStats::default();
            for a in &attempts {
                counts[state_index(a.state)] += 1;
                io += a.io;
            }
            let start = attempts
                .iter()
                .map(|a| a.start_time())
                .filter(|t| *t > 0)
                .min()
                .unwrap_or(-1);
            let all_done = attempts.iter().all(|a| a.state.is_terminal());
            let end = if all_done {
                attempts.iter().map(|a| a.end_time()).max().unwrap_or(-1)
            } else {
                -1
            };
            VertexTaskManagerInfo {
                endpoint,
                status: aggregate_state(&counts, attempts.len()).as_str(),
                start_time: start,
                end_time: end,
                duration: messages::duration(start, end, now),
                metrics: IoMetrics::of(&io),
                status_counts: StateCounts::of(&counts),
                taskmanager_id: tm,
                aggregated: AggregatedTaskDetailsInfo::of(&attempts, now),
            }
        })
        .collect();
    Ok(Json(JobVertexTaskManagersInfo {
        id: v.id.to_string(),
        name: v.name.clone(),
        now,
        taskmanagers,
    }))
}
