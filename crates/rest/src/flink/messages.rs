//! Builders of Flink's JSON messages from gateway snapshots. Field names are Flink's, including
//! its odd ones (`jid`, `start-time`, `status-counts`); each function names the Flink message
//! class it produces.

use serde_json::{json, Map, Value};
use weir_core::ExecutionState;
use weir_gateway::snapshot::*;

/// A JSON response written into a buffer sized up front (axum's `Json` starts at 128 bytes
/// and grows by copying; hot endpoints know their size).
pub fn json_response<T: serde::Serialize>(value: &T, capacity: usize) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut out = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            out,
        )
            .into_response(),
        Err(e) => crate::error::RestError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("serializing the answer: {e}"),
        )
        .into_response(),
    }
}

pub use weir_core::now_ms;

fn state_name(s: ExecutionState) -> String {
    s.as_str().to_string()
}

/// `status-counts` / vertex `tasks`: every ExecutionState by its upper-case name.
#[derive(serde::Serialize)]
pub struct StateCounts {
    #[serde(rename = "CREATED")]
    pub created: usize,
    #[serde(rename = "SCHEDULED")]
    pub scheduled: usize,
    #[serde(rename = "DEPLOYING")]
    pub deploying: usize,
    #[serde(rename = "RUNNING")]
    pub running: usize,
    #[serde(rename = "FINISHED")]
    pub finished: usize,
    #[serde(rename = "CANCELING")]
    pub canceling: usize,
    #[serde(rename = "CANCELED")]
    pub canceled: usize,
    #[serde(rename = "FAILED")]
    pub failed: usize,
    #[serde(rename = "RECONCILING")]
    pub reconciling: usize,
    #[serde(rename = "INITIALIZING")]
    pub initializing: usize,
}

impl StateCounts {
    /// From counts in `ExecutionState::ALL` order.
    pub fn of(c: &[usize; 10]) -> Self {
        StateCounts {
            created: c[0],
            scheduled: c[1],
            deploying: c[2],
            running: c[3],
            finished: c[4],
            canceling: c[5],
            canceled: c[6],
            failed: c[7],
            reconciling: c[8],
            initializing: c[9],
        }
    }
}

/// `status-counts` as a JSON value.
pub fn status_counts(counts: &[usize; 10]) -> Value {
    serde_json::to_value(StateCounts::of(counts)).unwrap_or(Value::Null)
}

/// `IOMetricsInfo`.
#[derive(serde::Serialize)]
pub struct IoMetrics {
    #[serde(rename = "read-bytes")]
    pub read_bytes: u64,
    #[serde(rename = "read-bytes-complete")]
    pub read_bytes_complete: bool,
    #[serde(rename = "write-bytes")]
    pub write_bytes: u64,
    #[serde(rename = "write-bytes-complete")]
    pub write_bytes_complete: bool,
    #[serde(rename = "read-records")]
    pub read_records: u64,
    #[serde(rename = "read-records-complete")]
    pub read_records_complete: bool,
    #[serde(rename = "write-records")]
    pub write_records: u64,
    #[serde(rename = "write-records-complete")]
    pub write_records_complete: bool,
    #[serde(rename = "accumulated-backpressured-time")]
    pub back_pressured: u64,
    #[serde(rename = "accumulated-idle-time")]
    pub idle: u64,
    #[serde(rename = "accumulated-busy-time")]
    pub busy: f64,
}

impl IoMetrics {
    pub fn of(io: &IoStats) -> Self {
        IoMetrics {
            read_bytes: io.read_bytes,
            read_bytes_complete: true,
            write_bytes: io.write_bytes,
            write_bytes_complete: true,
            read_records: io.read_records,
            read_records_complete: true,
            write_records: io.write_records,
            write_records_complete: true,
            back_pressured: io.back_pressured_ms,
            idle: io.idle_ms,
            busy: (io.busy_ms * 1000.0).round() / 1000.0,
        }
    }
}

/// `IOMetricsInfo` as a JSON value.
pub fn io_metrics(io: &IoStats) -> Value {
    serde_json::to_value(IoMetrics::of(io)).unwrap_or(Value::Null)
}

/// `JobDetails` (one entry of `/jobs/overview`), serialized straight from the overview: the
/// job list is the most polled endpoint, so it builds no intermediate JSON tree.
#[derive(serde::Serialize)]
pub struct JobDetailsMessage<'a> {
    pub jid: String,
    pub name: &'a str,
    #[serde(rename = "jobType")]
    pub job_type: &'static str,
    #[serde(rename = "schedulerType")]
    pub scheduler_type: &'static str,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    pub state: &'static str,
    #[serde(rename = "last-modification")]
    pub last_modification: i64,
    pub tasks: TaskCountsLower,
    #[serde(rename = "pending-operators")]
    pub pending_operators: u32,
}

/// `JobDetails.tasks`: lower-case state names plus `total`.
#[derive(serde::Serialize)]
pub struct TaskCountsLower {
    pub created: usize,
    pub scheduled: usize,
    pub deploying: usize,
    pub running: usize,
    pub finished: usize,
    pub canceling: usize,
    pub canceled: usize,
    pub failed: usize,
    pub reconciling: usize,
    pub initializing: usize,
    pub total: usize,
}

impl<'a> JobDetailsMessage<'a> {
    pub fn of(o: &'a JobOverview) -> Self {
        let t = &o.tasks;
        JobDetailsMessage {
            jid: o.job_id.to_string(),
            name: &o.name,
            job_type: o.job_type.as_str(),
            scheduler_type: "Default",
            start_time: o.start_time,
            end_time: o.end_time,
            duration: o.duration,
            state: o.status.as_str(),
            last_modification: o.last_modification,
            // ExecutionState::ALL order: created, scheduled, deploying, running, finished,
            // canceling, canceled, failed, reconciling, initializing.
            tasks: TaskCountsLower {
                created: t[0],
                scheduled: t[1],
                deploying: t[2],
                running: t[3],
                finished: t[4],
                canceling: t[5],
                canceled: t[6],
                failed: t[7],
                reconciling: t[8],
                initializing: t[9],
                total: t.iter().sum(),
            },
            pending_operators: 0,
        }
    }
}

/// `JobDetails` as a JSON value (for messages that embed it).
pub fn job_details(o: &JobOverview) -> Value {
    serde_json::to_value(JobDetailsMessage::of(o)).unwrap_or(Value::Null)
}

/// An input of a plan node.
#[derive(serde::Serialize)]
pub struct PlanInputMessage<'a> {
    pub id: String,
    pub num: usize,
    pub exchange: &'static str,
    pub ship_strategy: &'a str,
}

/// A plan node (one vertex).
#[derive(serde::Serialize)]
pub struct PlanNode<'a> {
    pub id: String,
    pub operator: &'static str,
    pub parallelism: usize,
    pub operator_strategy: &'static str,
    pub description: String,
    pub optimizer_properties: Empty,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<PlanInputMessage<'a>>,
}

/// `{}`.
#[derive(serde::Serialize)]
pub struct Empty {}

/// `JobPlanInfo.plan`: one node per vertex, sinks first as Flink lists them.
#[derive(serde::Serialize)]
pub struct PlanMessage<'a> {
    pub jid: String,
    pub name: &'a str,
    #[serde(rename = "type")]
    pub job_type: &'static str,
    pub nodes: Vec<PlanNode<'a>>,
}

impl<'a> PlanMessage<'a> {
    pub fn of(s: &'a JobSnapshot) -> Self {
        PlanMessage {
            jid: s.job_id.to_string(),
            name: &s.name,
            job_type: s.job_type.as_str(),
            nodes: s
                .vertices
                .iter()
                .rev()
                .map(|v| PlanNode {
                    id: v.id.to_string(),
                    operator: "",
                    parallelism: v.parallelism,
                    operator_strategy: "",
                    description: v
                        .operators
                        .iter()
                        .map(|o| format!("{}<br/>", html_escape(o)))
                        .collect(),
                    optimizer_properties: Empty {},
                    inputs: v
                        .inputs
                        .iter()
                        .enumerate()
                        .map(|(num, i)| PlanInputMessage {
                            id: i.vertex.to_string(),
                            num,
                            exchange: "pipelined_bounded",
                            ship_strategy: &i.ship_strategy,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The plan as a JSON value.
pub fn plan(s: &JobSnapshot) -> Value {
    serde_json::to_value(PlanMessage::of(s)).unwrap_or(Value::Null)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `JobDetailsInfo.JobVertexDetailsInfo` (a vertex in `/jobs/:jobid`).
#[derive(serde::Serialize)]
pub struct VertexSummary<'a> {
    pub id: String,
    #[serde(rename = "slotSharingGroupId")]
    pub slot_sharing_group_id: String,
    pub name: &'a str,
    #[serde(rename = "maxParallelism")]
    pub max_parallelism: usize,
    pub parallelism: usize,
    pub status: &'static str,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    pub tasks: StateCounts,
    pub metrics: IoMetrics,
}

impl<'a> VertexSummary<'a> {
    pub fn of(v: &'a VertexSnapshot, now: i64) -> Self {
        let start = v.start_time();
        let end = v.end_time();
        let duration = if start < 0 {
            -1
        } else if end >= 0 {
            end - start
        } else {
            now - start
        };
        VertexSummary {
            id: v.id.to_string(),
            // One slot sharing group per job, as Flink's default.
            slot_sharing_group_id: format!("{:032x}", v.id.0 ^ 0x5107_5107),
            name: &v.name,
            max_parallelism: v.max_parallelism,
            parallelism: v.parallelism,
            status: v.state().as_str(),
            start_time: start,
            end_time: end,
            duration,
            tasks: StateCounts::of(&v.state_counts()),
            metrics: IoMetrics::of(&v.io()),
        }
    }
}

/// Job status timestamps (`JobDetailsInfo.timestamps`).
#[derive(serde::Serialize)]
pub struct JobTimestamps {
    #[serde(rename = "INITIALIZING")]
    pub initializing: i64,
    #[serde(rename = "CREATED")]
    pub created: i64,
    #[serde(rename = "RUNNING")]
    pub running: i64,
    #[serde(rename = "FAILING")]
    pub failing: i64,
    #[serde(rename = "FAILED")]
    pub failed: i64,
    #[serde(rename = "CANCELLING")]
    pub cancelling: i64,
    #[serde(rename = "CANCELED")]
    pub canceled: i64,
    #[serde(rename = "FINISHED")]
    pub finished: i64,
    #[serde(rename = "RESTARTING")]
    pub restarting: i64,
    #[serde(rename = "SUSPENDED")]
    pub suspended: i64,
    #[serde(rename = "RECONCILING")]
    pub reconciling: i64,
}

/// `JobDetailsInfo` (`/jobs/:jobid`), serialized straight from the snapshot.
#[derive(serde::Serialize)]
pub struct JobDetailsInfo<'a> {
    pub jid: String,
    #[serde(rename = "application-id")]
    pub application_id: String,
    pub name: &'a str,
    #[serde(rename = "isStoppable")]
    pub is_stoppable: bool,
    pub state: &'static str,
    #[serde(rename = "job-type")]
    pub job_type: &'static str,
    #[serde(rename = "schedulerType")]
    pub scheduler_type: &'static str,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    #[serde(rename = "maxParallelism")]
    pub max_parallelism: i64,
    pub now: i64,
    pub timestamps: JobTimestamps,
    pub vertices: Vec<VertexSummary<'a>>,
    #[serde(rename = "status-counts")]
    pub status_counts: StateCounts,
    pub plan: PlanMessage<'a>,
    // No `stream-graph`: Flink 2.3.0 leaves the key out for a job it runs from a job graph, and
    // its dashboard reads `stream-graph.nodes` whenever the key is present (an empty object
    // makes every job page fail with "Job failed during initialization of JobManager").
    #[serde(rename = "pending-operators")]
    pub pending_operators: u32,
}

impl<'a> JobDetailsInfo<'a> {
    pub fn of(s: &'a JobSnapshot, now: i64) -> Self {
        // JobStatus::ALL order: INITIALIZING, CREATED, RUNNING, FAILING, FAILED, CANCELLING,
        // CANCELED, FINISHED, RESTARTING, SUSPENDED, RECONCILING.
        let t = &s.timestamps;
        JobDetailsInfo {
            jid: s.job_id.to_string(),
            application_id: s.job_id.to_string(),
            name: &s.name,
            is_stoppable: false,
            state: s.status.as_str(),
            job_type: s.job_type.as_str(),
            scheduler_type: "Default",
            start_time: s.start_time(),
            end_time: s.end_time(),
            duration: s.duration(now),
            max_parallelism: s.max_parallelism,
            now,
            timestamps: JobTimestamps {
                initializing: t[0],
                created: t[1],
                running: t[2],
                failing: t[3],
                failed: t[4],
                cancelling: t[5],
                canceled: t[6],
                finished: t[7],
                restarting: t[8],
                suspended: t[9],
                reconciling: t[10],
            },
            vertices: s
                .vertices
                .iter()
                .map(|v| VertexSummary::of(v, now))
                .collect(),
            status_counts: StateCounts::of(&s.task_counts()),
            plan: PlanMessage::of(s),
            pending_operators: 0,
        }
    }
}

/// The states Flink's `status-duration` always reports, in the order an attempt goes through
/// them.
const DURATION_STATES: [ExecutionState; 5] = [
    ExecutionState::Created,
    ExecutionState::Scheduled,
    ExecutionState::Deploying,
    ExecutionState::Initializing,
    ExecutionState::Running,
];

/// Milliseconds an attempt spent in each state (`status-duration`): always all five keys, -1
/// for a state it never entered, as Flink 2.3.0 answers (its dashboard reads every key).
#[derive(serde::Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusDurations {
    #[serde(rename = "CREATED")]
    pub created: i64,
    #[serde(rename = "SCHEDULED")]
    pub scheduled: i64,
    #[serde(rename = "DEPLOYING")]
    pub deploying: i64,
    #[serde(rename = "INITIALIZING")]
    pub initializing: i64,
    #[serde(rename = "RUNNING")]
    pub running: i64,
}

impl StatusDurations {
    pub fn of(a: &AttemptSnapshot, now: i64) -> Self {
        let d = |s| a.state_duration(s, now);
        StatusDurations {
            created: d(ExecutionState::Created),
            scheduled: d(ExecutionState::Scheduled),
            deploying: d(ExecutionState::Deploying),
            initializing: d(ExecutionState::Initializing),
            running: d(ExecutionState::Running),
        }
    }

    fn get(&self, s: ExecutionState) -> i64 {
        match s {
            ExecutionState::Created => self.created,
            ExecutionState::Scheduled => self.scheduled,
            ExecutionState::Deploying => self.deploying,
            ExecutionState::Initializing => self.initializing,
            _ => self.running,
        }
    }
}

/// `SubtaskExecutionAttemptDetailsInfo`.
pub fn attempt_details(
    index: usize,
    a: &AttemptSnapshot,
    others: &[AttemptSnapshot],
    now: i64,
) -> Value {
    let start = a.start_time();
    let end = a.end_time();
    let duration = if start < 0 {
        -1
    } else if end >= 0 {
        end - start
    } else {
        now - start
    };
    json!({
        "subtask": index,
        "status": state_name(a.state),
        "attempt": a.attempt,
        "endpoint": a.endpoint.clone().unwrap_or_else(|| "(unassigned)".into()),
        "start-time": start,
        "end-time": end,
        "duration": duration,
        "metrics": io_metrics(&a.io),
        "taskmanager-id": a.task_manager.clone().unwrap_or_else(|| "(unassigned)".into()),
        "status-duration": StatusDurations::of(a, now),
        "other-concurrent-attempts": others.iter().map(|o| attempt_details(index, o, &[], now)).collect::<Vec<_>>(),
        "start_time": start,
    })
}

/// Flink's `aggregated` block: min/max/avg/sum/median/p25/p75/p95 over subtasks.
pub fn aggregated(values: &[(&str, Vec<f64>)]) -> Value {
    let mut m = Map::new();
    for (name, vals) in values {
        m.insert((*name).to_string(), distribution(vals));
    }
    Value::Object(m)
}

fn distribution(vals: &[f64]) -> Value {
    if vals.is_empty() {
        return json!({"min": 0, "max": 0, "avg": 0, "sum": 0, "median": 0, "p25": 0, "p75": 0, "p95": 0});
    }
    let mut v = vals.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let pct = |p: f64| -> i64 {
        let idx = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
        v[idx.min(v.len() - 1)] as i64
    };
    let sum: f64 = v.iter().sum();
    json!({
        "min": v[0] as i64,
        "max": v[v.len() - 1] as i64,
        "avg": (sum / v.len() as f64) as i64,
        "sum": sum as i64,
        "median": pct(50.0),
        "p25": pct(25.0),
        "p75": pct(75.0),
        "p95": pct(95.0),
    })
}

/// The `aggregated` block of a set of attempts (vertex details, vertex task managers).
pub fn aggregated_attempts(attempts: &[&AttemptSnapshot], now: i64) -> Value {
    let io = |f: fn(&IoStats) -> f64| attempts.iter().map(|a| f(&a.io)).collect::<Vec<f64>>();
    let metrics = aggregated(&[
        ("read-bytes", io(|i| i.read_bytes as f64)),
        ("write-bytes", io(|i| i.write_bytes as f64)),
        ("read-records", io(|i| i.read_records as f64)),
        ("write-records", io(|i| i.write_records as f64)),
        (
            "accumulated-backpressured-time",
            io(|i| i.back_pressured_ms as f64),
        ),
        ("accumulated-idle-time", io(|i| i.idle_ms as f64)),
        ("accumulated-busy-time", io(|i| i.busy_ms)),
    ]);
    let durations: Vec<StatusDurations> = attempts
        .iter()
        .map(|a| StatusDurations::of(a, now))
        .collect();
    let per_state: Vec<(&str, Vec<f64>)> = DURATION_STATES
        .iter()
        .map(|s| {
            let vals = durations.iter().map(|d| d.get(*s) as f64).collect();
            (s.as_str(), vals)
        })
        .collect();
    json!({
        "metrics": metrics,
        "status-duration": aggregated(&per_state),
    })
}

/// An exception history entry (`JobExceptionsInfoWithHistory.RootExceptionInfo`). Fields
/// without a value are left out, as Flink's NON_NULL serialization does.
pub fn exception_entry(e: &ExceptionEntry) -> Value {
    let mut entry = json!({
        "exceptionName": e.exception_name,
        "stacktrace": e.stacktrace,
        "timestamp": e.timestamp,
        "failureLabels": {},
        "concurrentExceptions": [],
    });
    for (key, value) in [
        ("taskName", &e.task_name),
        ("endpoint", &e.endpoint),
        ("taskManagerId", &e.task_manager_id),
    ] {
        if let Some(v) = value {
            entry[key] = json!(v);
        }
    }
    entry
}

/// `TaskManagerInfo` (an entry of `/taskmanagers`).
pub fn task_manager_info(t: &TaskManagerInfo, now: i64) -> Value {
    let used = t.slots_total.saturating_sub(t.slots_free);
    let resource = |slots: usize| {
        json!({
            "cpuCores": slots as f64,
            "taskHeapMemory": 0,
            "taskOffHeapMemory": 0,
            "managedMemory": 0,
            "networkMemory": 0,
            "extendedResources": {},
        })
    };
    json!({
        "id": t.id,
        "path": t.path,
        "dataPort": t.data_port,
        "jmxPort": -1,
        "timeSinceLastHeartbeat": if t.last_heartbeat > 0 { t.last_heartbeat } else { now },
        "slotsNumber": t.slots_total,
        "freeSlots": t.slots_free,
        "assignedTasks": t.allocated.iter().map(|a| a.assigned_tasks).sum::<usize>().max(used),
        "totalResource": resource(t.slots_total),
        "freeResource": resource(t.slots_free),
        "hardware": {
            "cpuCores": t.hardware.cpu_cores,
            "physicalMemory": t.hardware.physical_memory,
            "freeMemory": t.hardware.free_memory,
            "managedMemory": 0,
        },
        "memoryConfiguration": {
            "frameworkHeap": 0,
            "taskHeap": 0,
            "frameworkOffHeap": 0,
            "taskOffHeap": 0,
            "networkMemory": 0,
            "managedMemory": 0,
            "jvmMetaspace": 0,
            "jvmOverhead": 0,
            "totalFlinkMemory": t.process_memory,
            "totalProcessMemory": t.process_memory,
        },
        "blocked": false,
    })
}

/// A `{"key","value"}` list (`/jobmanager/config`).
pub fn config_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a String)>) -> Value {
    Value::Array(
        entries
            .map(|(k, v)| json!({"key": k, "value": crate::secrets::shown(k, v)}))
            .collect(),
    )
}

/// `EnvironmentInfo`: weir's process facts under Flink's JVM field names.
pub fn environment() -> Value {
    json!({
        "jvm": {
            "version": format!("weir {} (Rust)", env!("CARGO_PKG_VERSION")),
            "arch": std::env::consts::ARCH,
            "options": crate::secrets::masked_args(std::env::args().skip(1)),
        },
        // weir's code is one binary; it is the whole of its "classpath".
        "classpath": classpath(),
    })
}

/// The running binary's path, Flink's `classpath` of weir.
fn classpath() -> Vec<String> {
    std::env::current_exe()
        .map(|p| vec![p.display().to_string()])
        .unwrap_or_else(|_| vec![format!("weir-{}", env!("CARGO_PKG_VERSION"))])
}

/// A double as Flink's Jackson writes it: non-finite values become the string `"NaN"`.
pub fn jackson_double(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        json!("NaN")
    }
}

/// Flink's `TriggerResponse`: 202 with the id to poll the operation's status by.
pub fn accepted(request_id: impl std::fmt::Display) -> (axum::http::StatusCode, axum::Json<Value>) {
    (
        axum::http::StatusCode::ACCEPTED,
        axum::Json(json!({ "request-id": request_id.to_string() })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_counts_follow_execution_state_order() {
        let names: Vec<String> = ExecutionState::ALL
            .iter()
            .map(|s| state_name(*s).to_lowercase())
            .collect();
        assert_eq!(
            names,
            [
                "created",
                "scheduled",
                "deploying",
                "running",
                "finished",
                "canceling",
                "canceled",
                "failed",
                "reconciling",
                "initializing"
            ]
        );
    }

    #[test]
    fn distributions_have_flinks_fields() {
        let d = distribution(&[1.0, 2.0, 3.0, 10.0]);
        assert_eq!(d["min"], 1);
        assert_eq!(d["max"], 10);
        assert_eq!(d["sum"], 16);
        assert_eq!(d["avg"], 4);
        let e = distribution(&[]);
        assert_eq!(e["sum"], 0);
    }
}
