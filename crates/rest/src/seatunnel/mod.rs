//! SeaTunnel's REST API over the same `RestfulGateway` as Flink's, so SeaTunnel's scripts,
//! schedulers and web UI drive weir unchanged. It is served twice, as SeaTunnel serves it:
//! v2 on its own port (`seatunnel.engine.http.*`, default 8080, optional context path) and v1
//! under `/hazelcast/rest/maps` on the port SeaTunnel's Hazelcast member listens on
//! (`seatunnel.engine.rest-v1.*`, default 5801). Both answer the same; v1 also takes `PUT` for
//! its `POST`s and parses query strings its own stricter way.
//!
//! The wire contract is `shared/reference/seatunnel/rest.md`: ids and numbers as strings where
//! SeaTunnel sends strings, PascalCase metric keys, `{"status":"fail","message":...}` errors.
//! A SeaTunnel job id is the same job's Flink id read as a number (see `JobId::generate`).
//!
//! | file | endpoints |
//! |---|---|
//! | `jobs.rs` | `/overview`, `/running-jobs`, `/job-info/:id`, `/running-job/:id`, `/finished-jobs[/:state]` |
//! | `submit.rs` | `/submit-job`, `/submit-job/upload`, `/submit-jobs`, `/stop-job`, `/stop-jobs` |
//! | `shade.rs` (+ `encrypt_config` here) | `/encrypt-config` |
//! | `node.rs` | `/system-monitoring-information`, `/thread-dump`, `/running-threads`, `/update-tags`, `/metrics`, `/openmetrics` |
//! | `logs.rs` | `/logs[/:jobId or :file]`, `/log[/:file]`, `/get-all-log-name` |

pub mod dag;
pub mod error;
pub mod job_info;
pub mod job_metrics;
pub mod jobs;
pub mod logs;
pub mod messages;
pub mod node;
pub mod shade;
pub mod status;
pub mod submit;
pub mod telemetry;

use crate::endpoint;
use crate::endpoint::{query, Endpoint, Media, Method, ParamKind, QueryParam};
use crate::json::Json;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, MethodFilter};
use axum::Router;
use error::{StError, StResult};
use messages::{
    JobInfo, JobInfoList, LogLinks, LogNames, OverviewInfo, RunningThreads, StatusMessage,
    StoppedJob, StoppedJobs, SubmittedJob, SubmittedJobs, SystemMonitoringInformation, ThreadDump,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use weir_gateway::RestfulGateway;

/// v1's path prefix (SeaTunnel's `RestConstant.CONTEXT_PATH`).
pub const V1_PREFIX: &str = "/hazelcast/rest/maps";

/// The SeaTunnel API level weir answers as (`projectVersion` of `/overview`).
pub const SEATUNNEL_API_VERSION: &str = "2.3.9";

/// How the SeaTunnel servers behave.
#[derive(Debug, Clone)]
pub struct SeaTunnelSettings {
    /// `seatunnel.engine.http.context-path`: v2's path prefix ("" for none).
    pub context_path: String,
    /// Where stop-with-savepoint writes when neither the job nor the cluster configures
    /// `execution.checkpointing.savepoint-dir`.
    pub savepoint_dir: String,
    /// `http://host:port` of the v1 and v2 servers (for log links), once bound.
    pub v1_url: Option<String>,
    pub v2_url: Option<String>,
    /// Request bodies larger than this are refused (`rest.server.max-content-length`).
    pub max_content_length: usize,
    /// What browsers may do (the same rules as the Flink API's).
    pub browser: crate::browser_guard::BrowserPolicy,
    /// Who may call (the same credentials as the Flink API's).
    pub auth: crate::auth::AuthPolicy,
}

impl Default for SeaTunnelSettings {
    fn default() -> Self {
        Self {
            context_path: String::new(),
            savepoint_dir: std::env::temp_dir()
                .join("weir-savepoints")
                .display()
                .to_string(),
            v1_url: None,
            v2_url: None,
            max_content_length: 104_857_600,
            browser: crate::browser_guard::BrowserPolicy::default(),
            auth: crate::auth::AuthPolicy::open(),
        }
    }
}

/// Which of SeaTunnel's two front-ends answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    V1,
    V2,
}

/// What both front-ends share: they are one node.
pub struct Node {
    pub gateway: Arc<dyn RestfulGateway>,
    pub settings: SeaTunnelSettings,
}

/// Handler state: the node and the front-end the request came through.
#[derive(Clone)]
pub struct Ctx {
    pub node: Arc<Node>,
    pub surface: Surface,
}

impl Ctx {
    pub fn gateway(&self) -> &dyn RestfulGateway {
        self.node.gateway.as_ref()
    }

    /// The base URL of this front-end's SeaTunnel paths (`http://host:port/hazelcast/rest/maps`
    /// on v1, `http://host:port<context path>` on v2).
    pub fn base_url(&self) -> String {
        let s = &self.node.settings;
        match self.surface {
            Surface::V1 => format!("{}{V1_PREFIX}", s.v1_url.clone().unwrap_or_default()),
            Surface::V2 => format!("{}{}", s.v2_url.clone().unwrap_or_default(), s.context_path),
        }
    }

    /// Query parameters as this front-end parses them: v2 as a servlet container does (a key
    /// without `=` has an empty value), v1 as SeaTunnel's own splitter does (a key without `=`
    /// is refused).
    pub fn params(&self, raw: Option<&str>) -> StResult<HashMap<String, String>> {
        let mut out = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = match pair.split_once('=') {
                Some(kv) => kv,
                None if self.surface == Surface::V1 => {
                    return Err(StError::bad_request("Invalid Params format in Params."))
                }
                None => (pair, ""),
            };
            out.entry(crate::params::decode(k))
                .or_insert_with(|| crate::params::decode(v));
        }
        Ok(out)
    }
}

/// SeaTunnel's literal error for a request without a body (or only blanks).
pub fn require_body(body: &Bytes) -> StResult<()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(StError::empty_body());
    }
    Ok(())
}

/// A request body as JSON: SeaTunnel's two literal errors for an empty or unparsable one.
pub fn json_body(body: &Bytes) -> StResult<Value> {
    require_body(body)?;
    serde_json::from_slice(body).map_err(|_| StError::invalid_json())
}

/// A JSON value as SeaTunnel's Java code reads it with `toString()`: a string as it is, null as
/// empty, anything else as its JSON text.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `host:port` of an `http://host:port/...` URL.
pub fn host_port(url: &str) -> &str {
    let rest = url
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    rest.split('/').next().unwrap_or_default()
}

/// `POST /encrypt-config`: the job config with its sources' and sinks' sensitive options
/// hidden by the shade its `env` names.
async fn encrypt_config(body: Bytes) -> StResult<Json<Value>> {
    let config = json_body(&body)?;
    if !config.is_object() {
        return Err(StError::invalid_json());
    }
    Ok(Json(shade::encrypt(config)?))
}

/// Why a submission answers 500: SeaTunnel's status for every exception of its engine.
const ENGINE_REFUSED: &str = "The engine refused the job (a job file it cannot parse or run, an unknown plugin, a job id already used): SeaTunnel's status for an engine exception, with what to fix in the message.";
/// Why a stop answers 500.
const SAVEPOINT_REFUSED: &str = "A stop with a savepoint of a job that is not running: SeaTunnel's status for an engine exception.";

const PAGE: &[QueryParam] = &[
    query(
        "page",
        ParamKind::Integer,
        "Page number, from 1 (with rows).",
    ),
    query(
        "rows",
        ParamKind::Integer,
        "Jobs per page; all when absent.",
    ),
];
const LOG_FORMAT: &[QueryParam] = &[query(
    "format",
    ParamKind::OneOf(&["json", "html"]),
    "json for a JSON listing; an HTML page otherwise.",
)];
const SUBMIT: &[QueryParam] = &[
    query(
        "jobId",
        ParamKind::Integer,
        "The id the job gets (a positive number).",
    ),
    query(
        "jobName",
        ParamKind::String,
        "The job's name, over env's job.name.",
    ),
    query(
        "isStartWithSavePoint",
        ParamKind::Boolean,
        "Resume job jobId from its savepoint.",
    ),
    query(
        "format",
        ParamKind::OneOf(&["json", "hocon"]),
        "The body's format (json by default).",
    ),
];

/// A job config in SeaTunnel's JSON form (`env`, `source`, `transform`, `sink`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct JobConfigObject(std::collections::BTreeMap<String, Value>);

/// `/stop-job`'s body.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct StopJobRequest {
    /// The job's id, a number or a string holding one.
    #[schema(value_type = i64)]
    job_id: Value,
    is_stop_with_save_point: Option<bool>,
    force: Option<bool>,
}

/// `/stop-jobs`' body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct StopJobsRequest(Vec<StopJobRequest>);

/// `/submit-jobs`' body: job configs in SeaTunnel's JSON form, each with optional `params`
/// (`jobId`, `jobName`, `isStartWithSavePoint`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SubmitJobsRequest(Vec<JobConfigObject>);

/// `/submit-job/upload`'s form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct JobFileUpload {
    /// The job file (`.json`, else HOCON).
    #[schema(value_type = String, format = Binary)]
    config_file: Vec<u8>,
}

/// Every SeaTunnel endpoint, in one table: the v2 paths (v1 serves them under
/// `/hazelcast/rest/maps`, and takes `PUT` for each `POST`).
pub fn endpoints() -> Vec<Endpoint<Ctx>> {
    vec![
        endpoint!(GET "/overview", "Slots and workers of the nodes whose tags match the query, and the cluster's job counts.", jobs::overview)
            .returns::<OverviewInfo>(),
        endpoint!(GET "/running-jobs", "Jobs that have not ended, newest first.", jobs::running_jobs)
            .query(PAGE)
            .returns::<JobInfoList>(),
        endpoint!(GET "/job-info", "Refused: the job id is missing.", jobs::job_info_without_id)
            .returns::<JobInfo>(),
        endpoint!(GET "/job-info/{id}", "A job, running or ended; only its id when unknown.", jobs::job_info)
            .returns::<JobInfo>(),
        endpoint!(GET "/running-job", "Refused: the job id is missing.", jobs::job_info_without_id)
            .returns::<JobInfo>(),
        endpoint!(GET "/running-job/{id}", "A job (the old name of /job-info).", jobs::job_info)
            .returns::<JobInfo>(),
        endpoint!(GET "/finished-jobs", "Ended jobs, oldest end first.", jobs::finished_jobs)
            .query(PAGE)
            .returns::<JobInfoList>(),
        endpoint!(GET "/finished-jobs/{state}", "Ended jobs in one state (FINISHED, CANCELED, FAILED, SAVEPOINT_DONE, ...).", jobs::finished_jobs_in_state)
            .query(PAGE)
            .returns::<JobInfoList>(),
        endpoint!(GET "/system-monitoring-information", "The node's memory, load, threads and queues.", node::system_monitoring_information)
            .returns::<SystemMonitoringInformation>(),
        endpoint!(GET "/thread-dump", "The node's threads.", node::thread_dump)
            .returns::<ThreadDump>(),
        endpoint!(GET "/running-threads", "The node's thread names.", node::running_threads)
            .returns::<RunningThreads>(),
        endpoint!(POST "/submit-job", "Submits a job file (JSON, or HOCON with format=hocon).", submit::submit_job)
            .query(SUBMIT)
            .accepts_as::<JobConfigObject>(Media::Json)
            .accepts_as::<String>(Media::Text)
            .fails_with(500, ENGINE_REFUSED)
            .returns::<SubmittedJob>(),
        endpoint!(POST "/submit-job/upload", "Submits a job file uploaded as config_file.", submit::submit_job_upload)
            .query(SUBMIT)
            .accepts_as::<JobFileUpload>(Media::Multipart)
            .fails_with(500, ENGINE_REFUSED)
            .returns::<SubmittedJob>(),
        endpoint!(POST "/submit-jobs", "Submits several jobs, in order.", submit::submit_jobs)
            .accepts::<SubmitJobsRequest>()
            .fails_with(500, ENGINE_REFUSED)
            .returns::<SubmittedJobs>(),
        endpoint!(POST "/stop-job", "Stops a job: cancels it, or takes a savepoint and ends it.", submit::stop_job)
            .accepts::<StopJobRequest>()
            .fails_with(500, SAVEPOINT_REFUSED)
            .returns::<StoppedJob>(),
        endpoint!(POST "/stop-jobs", "Stops several jobs.", submit::stop_jobs)
            .accepts::<StopJobsRequest>()
            .fails_with(500, SAVEPOINT_REFUSED)
            .returns::<StoppedJobs>(),
        endpoint!(POST "/encrypt-config", "The job config with its sources' and sinks' sensitive options hidden by its env's shade.", encrypt_config)
            .accepts::<JobConfigObject>()
            .returns::<JobConfigObject>(),
        endpoint!(POST "/update-tags", "Replaces this node's tags ({} clears them).", node::update_tags)
            .accepts::<std::collections::BTreeMap<String, String>>()
            .returns::<StatusMessage>(),
        endpoint!(GET "/logs", "Every log file, with links to their content.", logs::all_logs)
            .query(LOG_FORMAT)
            .returns_html()
            .or_returns::<LogLinks>(Media::Json),
        endpoint!(GET "/logs/{name}", "A job's log files (a job id), or a file's text (a name with an extension).", logs::logs_of)
            .query(LOG_FORMAT)
            .returns_html()
            .or_returns::<LogLinks>(Media::Json)
            .or_returns::<String>(Media::Text)
            .bare(400, "There is no such log file (SeaTunnel's bare 400)."),
        endpoint!(GET "/log", "This node's log files, linked relatively.", logs::node_logs)
            .query(LOG_FORMAT)
            .returns_html()
            .or_returns::<LogLinks>(Media::Json),
        endpoint!(GET "/log/{name}", "A log file's text.", logs::log_file)
            .returns_text()
            .bare(400, "There is no such log file (SeaTunnel's bare 400)."),
        endpoint!(GET "/get-all-log-name", "The log file names.", logs::all_log_names)
            .returns::<LogNames>(),
        endpoint!(GET "/metrics", "The node's metrics in Prometheus text.", node::prometheus_metrics)
            .returns_text(),
        endpoint!(GET "/openmetrics", "The node's metrics in OpenMetrics text.", node::open_metrics)
            .returns_as::<String>(Media::OpenMetrics),
        endpoint!(GET "/openapi.json", "This OpenAPI document.", openapi_json)
            .returns::<Value>(),
    ]
}

/// The SeaTunnel endpoints on `surface`'s router.
fn router(surface: Surface) -> Router<Ctx> {
    let mut r = Router::new();
    for e in endpoints() {
        let filter = match (surface, e.method) {
            // Hazelcast's REST handler treats PUT as POST.
            (Surface::V1, Method::Post) => MethodFilter::POST.or(MethodFilter::PUT),
            _ => e.method.filter(),
        };
        r = r.route(e.path, (e.route)(filter));
    }
    r
}

/// The OpenAPI document of the SeaTunnel endpoints, with the paths as this front-end serves
/// them.
pub fn document(prefix: &str) -> utoipa::openapi::OpenApi {
    let all = endpoints();
    let refs: Vec<&Endpoint<Ctx>> = all.iter().collect();
    crate::openapi::build(
        &refs,
        prefix,
        crate::endpoint::schema_of::<messages::StErrorBody>,
        "weir's SeaTunnel REST API",
        "SeaTunnel's REST API (v2; v1 serves the same under /hazelcast/rest/maps and takes PUT for each POST).",
    )
}

async fn openapi_json(State(ctx): State<Ctx>) -> Json<utoipa::openapi::OpenApi> {
    let prefix = match ctx.surface {
        Surface::V1 => V1_PREFIX.to_string(),
        Surface::V2 => ctx.node.settings.context_path.clone(),
    };
    Json(document(&prefix))
}

async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

/// SeaTunnel's two routers over one node: v1 (paths under `/hazelcast/rest/maps`, plus
/// Hazelcast's own `/hazelcast/rest/cluster` and `/hazelcast/rest/instance/*metrics`) and v2
/// (paths under the context path). Serve each with `crate::serve` on its own listener.
pub fn routers(gateway: Arc<dyn RestfulGateway>, settings: SeaTunnelSettings) -> (Router, Router) {
    let limit = settings.max_content_length;
    let browser = Arc::new(settings.browser.clone());
    let auth =
        crate::auth::AuthGuard::new(settings.auth.clone(), crate::auth::ErrorStyle::SeaTunnel);
    let context_path = settings.context_path.trim_end_matches('/').to_string();
    let node = Arc::new(Node {
        gateway,
        settings: SeaTunnelSettings {
            context_path: context_path.clone(),
            ..settings
        },
    });
    let v1_state = Ctx {
        node: node.clone(),
        surface: Surface::V1,
    };
    let v1 = Router::new()
        .nest(V1_PREFIX, router(Surface::V1))
        .route("/hazelcast/rest/cluster", get(node::hazelcast_cluster))
        .route(
            "/hazelcast/rest/instance/metrics",
            get(node::prometheus_metrics),
        )
        .route(
            "/hazelcast/rest/instance/openmetrics",
            get(node::open_metrics),
        )
        .fallback(not_found)
        .with_state(v1_state)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            crate::auth::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            browser.clone(),
            crate::browser_guard::guard,
        ));
    let v2_state = Ctx {
        node,
        surface: Surface::V2,
    };
    let api = router(Surface::V2);
    let v2 = if context_path.is_empty() {
        api
    } else {
        Router::new().nest(&context_path, api)
    };
    let v2 = v2
        .fallback(not_found)
        .with_state(v2_state)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            auth,
            crate::auth::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            browser,
            crate::browser_guard::guard,
        ));
    (v1, v2)
}
