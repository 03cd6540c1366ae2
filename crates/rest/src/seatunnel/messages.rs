//! SeaTunnel's JSON messages as typed structs, with SeaTunnel's field names (ids, counts and
//! times as strings where SeaTunnel sends strings; PascalCase metric keys). The wire contract is
//! `shared/reference/seatunnel/rest.md`.

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// SeaTunnel's error answer: `{"status":"fail","message":...}`.
#[derive(Serialize, ToSchema)]
pub struct StErrorBody {
    /// Always `fail`.
    pub status: &'static str,
    pub message: String,
}

/// `/update-tags`' answer: `{"status":"success","message":...}`.
#[derive(Serialize, ToSchema)]
pub struct StatusMessage {
    pub status: &'static str,
    pub message: &'static str,
}

/// `GET /overview`: the slots and workers of the matching nodes, the cluster's job counts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverviewInfo {
    pub project_version: &'static str,
    pub git_commit_abbrev: &'static str,
    pub total_slot: String,
    pub unassigned_slot: String,
    pub workers: String,
    pub running_jobs: String,
    pub finished_jobs: String,
    pub failed_jobs: String,
    pub cancelled_jobs: String,
    pub pending_jobs: String,
}

/// A job as `/running-jobs`, `/finished-jobs` and `/job-info` show it. A running job has
/// `envOptions`, `isStartWithSavePoint` and `startTime`; an ended one `errorMsg` (null when it
/// did not fail) and `finishTime`; an unknown id only `jobId`.
#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    pub job_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_options: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_dag: Option<JobDag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin_jars_urls: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_start_with_save_point: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<JobMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
}

/// A list of jobs.
#[derive(Serialize, ToSchema)]
pub struct JobInfoList(pub Vec<JobInfo>);

/// SeaTunnel's `jobDag`: sources, fused transform chains and sinks as vertices, grouped into
/// pipelines.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobDag {
    pub job_id: String,
    pub env_options: BTreeMap<String, String>,
    /// Per pipeline id (from 1, in order), its edges.
    pub pipeline_edges: PipelineEdges,
    /// An array despite its name, as SeaTunnel sends it.
    pub vertex_info_map: Vec<DagVertexInfo>,
}

/// Pipeline id → its edges, as a JSON object in pipeline order ("1", "2", ..., "10").
#[derive(Default)]
pub struct PipelineEdges(pub Vec<(usize, Vec<DagEdge>)>);

impl Serialize for PipelineEdges {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (id, edges) in &self.0 {
            m.serialize_entry(&id.to_string(), edges)?;
        }
        m.end()
    }
}

impl utoipa::PartialSchema for PipelineEdges {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <BTreeMap<String, Vec<DagEdge>> as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for PipelineEdges {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            DagEdge::name().into(),
            <DagEdge as utoipa::PartialSchema>::schema(),
        ));
    }
}

/// One edge of a pipeline.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DagEdge {
    pub input_vertex_id: String,
    pub target_vertex_id: String,
}

/// One vertex of the DAG.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DagVertexInfo {
    pub vertex_id: usize,
    #[serde(rename = "type")]
    pub kind: String,
    pub vertex_name: String,
    pub table_paths: Vec<String>,
}

/// A job's `metrics`: counts as integer strings, rates as doubles in strings, totals and per
/// table; all 16 keys always present.
#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "PascalCase")]
pub struct JobMetrics {
    pub source_received_count: String,
    pub sink_write_count: String,
    pub source_received_bytes: String,
    pub sink_write_bytes: String,
    #[serde(rename = "SourceReceivedQPS")]
    pub source_received_qps: String,
    #[serde(rename = "SinkWriteQPS")]
    pub sink_write_qps: String,
    pub source_received_bytes_per_seconds: String,
    pub sink_write_bytes_per_seconds: String,
    pub table_source_received_count: BTreeMap<String, String>,
    pub table_sink_write_count: BTreeMap<String, String>,
    pub table_source_received_bytes: BTreeMap<String, String>,
    pub table_sink_write_bytes: BTreeMap<String, String>,
    #[serde(rename = "TableSourceReceivedQPS")]
    pub table_source_received_qps: BTreeMap<String, String>,
    #[serde(rename = "TableSinkWriteQPS")]
    pub table_sink_write_qps: BTreeMap<String, String>,
    pub table_source_received_bytes_per_seconds: BTreeMap<String, String>,
    pub table_sink_write_bytes_per_seconds: BTreeMap<String, String>,
}

/// `/submit-job`'s answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmittedJob {
    pub job_id: String,
    pub job_name: String,
}

/// `/submit-jobs`' answer.
#[derive(Serialize, ToSchema)]
pub struct SubmittedJobs(pub Vec<SubmittedJob>);

/// `/stop-job`'s answer: the id as a string.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoppedJob {
    pub job_id: String,
}

/// One entry of `/stop-jobs`' answer: the id as a number, as SeaTunnel sends it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoppedJobId {
    pub job_id: i64,
}

/// `/stop-jobs`' answer.
#[derive(Serialize, ToSchema)]
pub struct StoppedJobs(pub Vec<StoppedJobId>);

/// Named values in a fixed order (a JSON object of strings), for answers SeaTunnel builds from
/// a flat list of facts (`/system-monitoring-information`).
#[derive(Default)]
pub struct OrderedStrings(pub Vec<(String, String)>);

impl Serialize for OrderedStrings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl utoipa::PartialSchema for OrderedStrings {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <BTreeMap<String, String> as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for OrderedStrings {}

/// `/system-monitoring-information`: one entry per node (weir answers as one node).
#[derive(Serialize, ToSchema)]
pub struct SystemMonitoringInformation(pub Vec<OrderedStrings>);

/// One thread of `/thread-dump`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadDumpEntry {
    pub thread_name: String,
    pub thread_id: u64,
    pub thread_state: String,
    pub stack_trace: String,
}

/// `/thread-dump`.
#[derive(Serialize, ToSchema)]
pub struct ThreadDump(pub Vec<ThreadDumpEntry>);

/// One thread of `/running-threads`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunningThread {
    pub thread_name: String,
    pub class_loader: String,
}

/// `/running-threads`.
#[derive(Serialize, ToSchema)]
pub struct RunningThreads(pub Vec<RunningThread>);

/// One file of a `/logs?format=json` listing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogLink {
    pub node: String,
    pub log_link: String,
    pub log_name: String,
}

/// A `/logs?format=json` listing.
#[derive(Serialize, ToSchema)]
pub struct LogLinks(pub Vec<LogLink>);

/// `/get-all-log-name`.
#[derive(Serialize, ToSchema)]
pub struct LogNames(pub Vec<String>);

/// Hazelcast's `/hazelcast/rest/cluster`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HazelcastCluster {
    pub members: Vec<HazelcastMember>,
    pub connection_count: u32,
    pub all_connection_count: u32,
}

/// One member of the Hazelcast cluster.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HazelcastMember {
    pub address: String,
    pub lite_member: bool,
    pub local_member: bool,
    pub uuid: String,
    pub member_version: &'static str,
}
