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
pub mod node;
pub mod shade;
pub mod status;
pub mod submit;
pub mod telemetry;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use error::{StError, StResult};
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

/// A `POST` endpoint; v1 takes `PUT` for it too (Hazelcast's REST handler treats them alike).
fn write<H, T>(surface: Surface, handler: H) -> MethodRouter<Ctx>
where
    H: axum::handler::Handler<T, Ctx> + Clone,
    T: 'static,
{
    match surface {
        Surface::V1 => post(handler.clone()).put(handler),
        Surface::V2 => post(handler),
    }
}

/// Every SeaTunnel endpoint, in one table.
fn endpoints(surface: Surface) -> Router<Ctx> {
    Router::new()
        .route("/overview", get(jobs::overview))
        .route("/running-jobs", get(jobs::running_jobs))
        .route("/job-info", get(jobs::job_info_without_id))
        .route("/job-info/{id}", get(jobs::job_info))
        .route("/running-job", get(jobs::job_info_without_id))
        .route("/running-job/{id}", get(jobs::job_info))
        .route("/finished-jobs", get(jobs::finished_jobs))
        .route("/finished-jobs/{state}", get(jobs::finished_jobs_in_state))
        .route(
            "/system-monitoring-information",
            get(node::system_monitoring_information),
        )
        .route("/thread-dump", get(node::thread_dump))
        .route("/running-threads", get(node::running_threads))
        .route("/submit-job", write(surface, submit::submit_job))
        .route(
            "/submit-job/upload",
            write(surface, submit::submit_job_upload),
        )
        .route("/submit-jobs", write(surface, submit::submit_jobs))
        .route("/stop-job", write(surface, submit::stop_job))
        .route("/stop-jobs", write(surface, submit::stop_jobs))
        .route("/encrypt-config", write(surface, encrypt_config))
        .route("/update-tags", write(surface, node::update_tags))
        .route("/logs", get(logs::all_logs))
        .route("/logs/{name}", get(logs::logs_of))
        .route("/log", get(logs::node_logs))
        .route("/log/{name}", get(logs::log_file))
        .route("/get-all-log-name", get(logs::all_log_names))
        .route("/metrics", get(node::prometheus_metrics))
        .route("/openmetrics", get(node::open_metrics))
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
        .nest(V1_PREFIX, endpoints(Surface::V1))
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
    let api = endpoints(Surface::V2);
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
