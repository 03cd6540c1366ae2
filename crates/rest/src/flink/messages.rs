//! Builders of Flink's JSON messages from gateway snapshots. Field names are Flink's, including
//! its odd ones (`jid`, `start-time`, `status-counts`); each function names the Flink message
//! class it produces.

use std::collections::BTreeMap;
use weir_core::ExecutionState;
use weir_gateway::snapshot::*;

pub use weir_core::now_ms;

/// `status-counts` / vertex `tasks`: every ExecutionState by its upper-case name.
#[derive(serde::Serialize, utoipa::ToSchema)]
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

/// `IOMetricsInfo`.
#[derive(serde::Serialize, utoipa::ToSchema)]
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

/// `JobDetails` (one entry of `/jobs/overview`), serialized straight from the overview: the
/// job list is the most polled endpoint, so it builds no intermediate JSON tree.
#[derive(serde::Serialize, utoipa::ToSchema)]
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
#[derive(serde::Serialize, utoipa::ToSchema)]
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

/// An input of a plan node.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PlanInputMessage<'a> {
    pub id: String,
    pub num: usize,
    pub exchange: &'static str,
    pub ship_strategy: &'a str,
}

/// A plan node (one vertex).
#[derive(serde::Serialize, utoipa::ToSchema)]
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
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Empty {}

/// `JobPlanInfo.plan`: one node per vertex, sinks first as Flink lists them.
#[derive(serde::Serialize, utoipa::ToSchema)]
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

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `JobDetailsInfo.JobVertexDetailsInfo` (a vertex in `/jobs/:jobid`).
#[derive(serde::Serialize, utoipa::ToSchema)]
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

/// Flink's `duration` of something that started at `start` and ended at `end` (-1 for
/// "not yet"): -1 before it started, up to `now` while it runs.
pub fn duration(start: i64, end: i64, now: i64) -> i64 {
    if start < 0 {
        -1
    } else if end >= 0 {
        end - start
    } else {
        now - start
    }
}

impl<'a> VertexSummary<'a> {
    pub fn of(v: &'a VertexSnapshot, now: i64) -> Self {
        let start = v.start_time();
        let end = v.end_time();
        let duration = duration(start, end, now);
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
#[derive(serde::Serialize, utoipa::ToSchema)]
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
#[derive(serde::Serialize, utoipa::ToSchema)]
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
#[derive(serde::Serialize, utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SubtaskExecutionAttemptDetailsInfo {
    pub subtask: usize,
    pub status: &'static str,
    pub attempt: u32,
    pub endpoint: String,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    pub metrics: IoMetrics,
    #[serde(rename = "taskmanager-id")]
    pub taskmanager_id: String,
    #[serde(rename = "status-duration")]
    pub status_duration: StatusDurations,
    #[serde(rename = "other-concurrent-attempts")]
    #[schema(no_recursion)]
    pub other_concurrent_attempts: Vec<SubtaskExecutionAttemptDetailsInfo>,
    /// Flink writes the start time twice, the second under its old name.
    #[serde(rename = "start_time")]
    pub start_time_legacy: i64,
}

impl SubtaskExecutionAttemptDetailsInfo {
    pub fn of(index: usize, a: &AttemptSnapshot, others: &[AttemptSnapshot], now: i64) -> Self {
        let start = a.start_time();
        let end = a.end_time();
        let duration = duration(start, end, now);
        SubtaskExecutionAttemptDetailsInfo {
            subtask: index,
            status: a.state.as_str(),
            attempt: a.attempt,
            endpoint: a.endpoint.clone().unwrap_or_else(|| "(unassigned)".into()),
            start_time: start,
            end_time: end,
            duration,
            metrics: IoMetrics::of(&a.io),
            taskmanager_id: a
                .task_manager
                .clone()
                .unwrap_or_else(|| "(unassigned)".into()),
            status_duration: StatusDurations::of(a, now),
            other_concurrent_attempts: others
                .iter()
                .map(|o| Self::of(index, o, &[], now))
                .collect(),
            start_time_legacy: start,
        }
    }
}

/// One figure over subtasks, as Flink's `aggregated` blocks give it.
#[derive(serde::Serialize, utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Distribution {
    pub min: i64,
    pub max: i64,
    pub avg: i64,
    pub sum: i64,
    pub median: i64,
    pub p25: i64,
    pub p75: i64,
    pub p95: i64,
}

impl Distribution {
    /// Of `vals` (all zero when there are none).
    pub fn of(vals: &[f64]) -> Self {
        if vals.is_empty() {
            return Distribution::default();
        }
        let mut v = vals.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let pct = |p: f64| -> i64 {
            let idx = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
            v[idx.min(v.len() - 1)] as i64
        };
        let sum: f64 = v.iter().sum();
        Distribution {
            min: v[0] as i64,
            max: v[v.len() - 1] as i64,
            avg: (sum / v.len() as f64) as i64,
            sum: sum as i64,
            median: pct(50.0),
            p25: pct(25.0),
            p75: pct(75.0),
            p95: pct(95.0),
        }
    }
}

/// Flink's `aggregated` block: min/max/avg/sum/median/p25/p75/p95 of each figure over subtasks.
pub fn aggregated(values: &[(&str, Vec<f64>)]) -> BTreeMap<String, Distribution> {
    values
        .iter()
        .map(|(name, vals)| ((*name).to_string(), Distribution::of(vals)))
        .collect()
}

/// `AggregatedTaskDetailsInfo`: the I/O figures and state durations of a set of attempts.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AggregatedTaskDetailsInfo {
    pub metrics: BTreeMap<String, Distribution>,
    #[serde(rename = "status-duration")]
    pub status_duration: BTreeMap<String, Distribution>,
}

impl AggregatedTaskDetailsInfo {
    /// Of `attempts` (vertex details, vertex task managers).
    pub fn of(attempts: &[&AttemptSnapshot], now: i64) -> Self {
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
        AggregatedTaskDetailsInfo {
            metrics,
            status_duration: aggregated(&per_state),
        }
    }
}

/// `JobExceptionsInfoWithHistory.ExceptionInfo`: one failure. Fields without a value are left
/// out, as Flink's NON_NULL serialization does.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ExceptionInfo {
    #[serde(rename = "exceptionName")]
    pub exception_name: String,
    pub stacktrace: String,
    pub timestamp: i64,
    #[serde(rename = "failureLabels")]
    pub failure_labels: BTreeMap<String, String>,
    #[serde(rename = "taskName", skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(rename = "taskManagerId", skip_serializing_if = "Option::is_none")]
    pub task_manager_id: Option<String>,
}

impl ExceptionInfo {
    pub fn of(e: &ExceptionEntry) -> Self {
        ExceptionInfo {
            exception_name: e.exception_name.clone(),
            stacktrace: e.stacktrace.clone(),
            timestamp: e.timestamp,
            failure_labels: BTreeMap::new(),
            task_name: e.task_name.clone(),
            endpoint: e.endpoint.clone(),
            task_manager_id: e.task_manager_id.clone(),
        }
    }
}

/// `JobExceptionsInfoWithHistory.RootExceptionInfo`: a failure and those that came with it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RootExceptionInfo {
    #[serde(flatten)]
    pub exception: ExceptionInfo,
    #[serde(rename = "concurrentExceptions")]
    pub concurrent_exceptions: Vec<ExceptionInfo>,
}

impl RootExceptionInfo {
    pub fn of(e: &ExceptionEntry) -> Self {
        RootExceptionInfo {
            exception: ExceptionInfo::of(e),
            concurrent_exceptions: Vec::new(),
        }
    }
}

/// `ResourceProfileInfo`: weir counts slots as cores and keeps no memory budgets.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ResourceProfileInfo {
    #[serde(rename = "cpuCores")]
    pub cpu_cores: f64,
    #[serde(rename = "taskHeapMemory")]
    pub task_heap_memory: u64,
    #[serde(rename = "taskOffHeapMemory")]
    pub task_off_heap_memory: u64,
    #[serde(rename = "managedMemory")]
    pub managed_memory: u64,
    #[serde(rename = "networkMemory")]
    pub network_memory: u64,
    #[serde(rename = "extendedResources")]
    pub extended_resources: BTreeMap<String, f64>,
}

impl ResourceProfileInfo {
    pub fn of_slots(slots: usize) -> Self {
        ResourceProfileInfo {
            cpu_cores: slots as f64,
            task_heap_memory: 0,
            task_off_heap_memory: 0,
            managed_memory: 0,
            network_memory: 0,
            extended_resources: BTreeMap::new(),
        }
    }
}

/// `HardwareDescription`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HardwareDescription {
    #[serde(rename = "cpuCores")]
    pub cpu_cores: usize,
    #[serde(rename = "physicalMemory")]
    pub physical_memory: u64,
    #[serde(rename = "freeMemory")]
    pub free_memory: u64,
    #[serde(rename = "managedMemory")]
    pub managed_memory: u64,
}

/// `TaskExecutorMemoryConfiguration`: weir has no JVM memory model; only the process total.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TaskExecutorMemoryConfiguration {
    #[serde(rename = "frameworkHeap")]
    pub framework_heap: u64,
    #[serde(rename = "taskHeap")]
    pub task_heap: u64,
    #[serde(rename = "frameworkOffHeap")]
    pub framework_off_heap: u64,
    #[serde(rename = "taskOffHeap")]
    pub task_off_heap: u64,
    #[serde(rename = "networkMemory")]
    pub network_memory: u64,
    #[serde(rename = "managedMemory")]
    pub managed_memory: u64,
    #[serde(rename = "jvmMetaspace")]
    pub jvm_metaspace: u64,
    #[serde(rename = "jvmOverhead")]
    pub jvm_overhead: u64,
    #[serde(rename = "totalFlinkMemory")]
    pub total_flink_memory: u64,
    #[serde(rename = "totalProcessMemory")]
    pub total_process_memory: u64,
}

/// `TaskManagerInfo` (an entry of `/taskmanagers`, and the start of `/taskmanagers/:id`).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TaskManagerInfoMessage {
    pub id: String,
    pub path: String,
    #[serde(rename = "dataPort")]
    pub data_port: i32,
    #[serde(rename = "jmxPort")]
    pub jmx_port: i32,
    #[serde(rename = "timeSinceLastHeartbeat")]
    pub time_since_last_heartbeat: i64,
    #[serde(rename = "slotsNumber")]
    pub slots_number: usize,
    #[serde(rename = "freeSlots")]
    pub free_slots: usize,
    #[serde(rename = "assignedTasks")]
    pub assigned_tasks: usize,
    #[serde(rename = "totalResource")]
    pub total_resource: ResourceProfileInfo,
    #[serde(rename = "freeResource")]
    pub free_resource: ResourceProfileInfo,
    pub hardware: HardwareDescription,
    #[serde(rename = "memoryConfiguration")]
    pub memory_configuration: TaskExecutorMemoryConfiguration,
    pub blocked: bool,
}

impl TaskManagerInfoMessage {
    pub fn of(t: &TaskManagerInfo, now: i64) -> Self {
        let used = t.slots_total.saturating_sub(t.slots_free);
        TaskManagerInfoMessage {
            id: t.id.clone(),
            path: t.path.clone(),
            data_port: t.data_port,
            jmx_port: -1,
            time_since_last_heartbeat: if t.last_heartbeat > 0 {
                t.last_heartbeat
            } else {
                now
            },
            slots_number: t.slots_total,
            free_slots: t.slots_free,
            assigned_tasks: t
                .allocated
                .iter()
                .map(|a| a.assigned_tasks)
                .sum::<usize>()
                .max(used),
            total_resource: ResourceProfileInfo::of_slots(t.slots_total),
            free_resource: ResourceProfileInfo::of_slots(t.slots_free),
            hardware: HardwareDescription {
                cpu_cores: t.hardware.cpu_cores,
                physical_memory: t.hardware.physical_memory,
                free_memory: t.hardware.free_memory,
                managed_memory: 0,
            },
            memory_configuration: TaskExecutorMemoryConfiguration {
                framework_heap: 0,
                task_heap: 0,
                framework_off_heap: 0,
                task_off_heap: 0,
                network_memory: 0,
                managed_memory: 0,
                jvm_metaspace: 0,
                jvm_overhead: 0,
                total_flink_memory: t.process_memory,
                total_process_memory: t.process_memory,
            },
            blocked: false,
        }
    }
}

/// One `{"key","value"}` of a configuration listing, secrets masked.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ConfigurationInfoEntry {
    pub key: String,
    pub value: String,
}

/// `ConfigurationInfo` (`/jobmanager/config`): a list of entries.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ConfigurationInfo(pub Vec<ConfigurationInfoEntry>);

impl ConfigurationInfo {
    pub fn of<'a>(entries: impl Iterator<Item = (&'a String, &'a String)>) -> Self {
        ConfigurationInfo(
            entries
                .map(|(k, v)| ConfigurationInfoEntry {
                    key: k.clone(),
                    value: crate::secrets::shown(k, v).to_string(),
                })
                .collect(),
        )
    }
}

/// `EnvironmentInfo`: weir's process facts under Flink's JVM field names.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EnvironmentInfo {
    pub jvm: JvmInfo,
    /// weir's code is one binary; it is the whole of its "classpath".
    pub classpath: Vec<String>,
}

/// `EnvironmentInfo.JVMInfo`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct JvmInfo {
    pub version: String,
    pub arch: &'static str,
    pub options: Vec<String>,
}

impl EnvironmentInfo {
    pub fn of_process() -> Self {
        EnvironmentInfo {
            jvm: JvmInfo {
                version: format!("weir {} (Rust)", env!("CARGO_PKG_VERSION")),
                arch: std::env::consts::ARCH,
                options: crate::secrets::masked_args(std::env::args().skip(1)),
            },
            classpath: classpath(),
        }
    }
}

/// The running binary's path, Flink's `classpath` of weir.
fn classpath() -> Vec<String> {
    std::env::current_exe()
        .map(|p| vec![p.display().to_string()])
        .unwrap_or_else(|_| vec![format!("weir-{}", env!("CARGO_PKG_VERSION"))])
}

/// A double as Flink's Jackson writes it: non-finite values become the strings `"NaN"`,
/// `"Infinity"` and `"-Infinity"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JacksonDouble(pub f64);

impl serde::Serialize for JacksonDouble {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            v if v.is_nan() => s.serialize_str("NaN"),
            v if v.is_infinite() && v > 0.0 => s.serialize_str("Infinity"),
            v if v.is_infinite() => s.serialize_str("-Infinity"),
            v => s.serialize_f64(v),
        }
    }
}

impl utoipa::PartialSchema for JacksonDouble {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["NaN", "Infinity", "-Infinity"])),
            )
            .description(Some("A number, or \"NaN\" when there is none."))
            .into()
    }
}

impl utoipa::ToSchema for JacksonDouble {}

/// Flink's `TriggerResponse`: the id to poll an asynchronous operation's status by.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TriggerResponse {
    #[serde(rename = "request-id")]
    pub request_id: String,
}

/// `QueueStatus`: whether an asynchronous operation is done.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct QueueStatus {
    pub id: QueueStatusId,
}

/// `QueueStatus.Id`.
#[derive(serde::Serialize, utoipa::ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueueStatusId {
    InProgress,
    Completed,
}

impl QueueStatus {
    pub fn completed() -> Self {
        QueueStatus {
            id: QueueStatusId::Completed,
        }
    }

    pub fn in_progress() -> Self {
        QueueStatus {
            id: QueueStatusId::InProgress,
        }
    }
}

/// `AsynchronousOperationResult`: a trigger's status and, once done, its outcome (`null` while
/// in progress, as Flink writes it).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AsynchronousOperationResult {
    pub status: QueueStatus,
    pub operation: Option<OperationInfo>,
}

/// A finished operation's outcome. Flink's classes differ per operation: a checkpoint's
/// `CheckpointInfo` has `checkpointId` or `failureCause`; a savepoint's `SavepointInfo` has
/// `location` or `failure-cause`; rescaling and disposal (`AsynchronousOperationInfo`) only
/// `failure-cause`. Absent fields are left out.
#[derive(serde::Serialize, utoipa::ToSchema, Default)]
pub struct OperationInfo {
    #[serde(rename = "checkpointId", skip_serializing_if = "Option::is_none")]
    pub checkpoint_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// A checkpoint's failure.
    #[serde(rename = "failureCause", skip_serializing_if = "Option::is_none")]
    pub checkpoint_failure: Option<FailureCause>,
    /// Any other operation's failure.
    #[serde(rename = "failure-cause", skip_serializing_if = "Option::is_none")]
    pub failure_cause: Option<FailureCause>,
}

/// A failure as Flink's `SerializedThrowable` JSON shows it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FailureCause {
    pub class: String,
    #[serde(rename = "stack-trace")]
    pub stack_trace: String,
    /// Java's serialized form, which weir has none of: empty or null.
    #[serde(rename = "serialized-throwable")]
    pub serialized_throwable: Option<String>,
}

/// Flink's `EmptyResponseBody`: `{}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EmptyResponseBody {}

/// `{}` with `status` (202 for cancels and heartbeats).
pub fn empty(
    status: axum::http::StatusCode,
) -> (axum::http::StatusCode, crate::json::Json<EmptyResponseBody>) {
    (status, crate::json::Json(EmptyResponseBody {}))
}

/// 202 with the [`TriggerResponse`] of `request_id`.
pub fn accepted(
    request_id: impl std::fmt::Display,
) -> (axum::http::StatusCode, crate::json::Json<TriggerResponse>) {
    (
        axum::http::StatusCode::ACCEPTED,
        crate::json::Json(TriggerResponse {
            request_id: request_id.to_string(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_counts_follow_execution_state_order() {
        let names: Vec<String> = ExecutionState::ALL
            .iter()
            .map(|s| s.as_str().to_lowercase())
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
        let d = serde_json::to_value(Distribution::of(&[1.0, 2.0, 3.0, 10.0])).unwrap();
        assert_eq!(d["min"], 1);
        assert_eq!(d["max"], 10);
        assert_eq!(d["sum"], 16);
        assert_eq!(d["avg"], 4);
        assert_eq!(d["p95"], 10);
        assert_eq!(Distribution::of(&[]).sum, 0);
    }
}
