//! Starting and stopping jobs: `/submit-job` (JSON or HOCON body), `/submit-job/upload`
//! (multipart `config_file`), `/submit-jobs`, `/stop-job`, `/stop-jobs`.

use super::error::{StError, StResult};
use super::jobs::{find_job, parse_job_id};
use super::messages::{StoppedJob, StoppedJobId, StoppedJobs, SubmittedJob, SubmittedJobs};
use super::{json_body, require_body, shade, value_text, Ctx};
use crate::json::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, RawQuery, Request, State};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use weir_core::JobId;
use weir_gateway::pipeline::hocon_input::parse_hocon;
use weir_gateway::{Format, JobSubmission, SavepointFormat, SavepointRequest};

/// The options of one submission (query parameters, or `params` of a `/submit-jobs` entry).
#[derive(Debug, Default)]
struct SubmitParams {
    job_id: Option<i64>,
    job_name: Option<String>,
    start_with_savepoint: bool,
}

impl SubmitParams {
    fn from_map(map: &HashMap<String, String>) -> StResult<Self> {
        if map.contains_key("dryRun") {
            return Err(StError::bad_request("Dry-run is only supported via CLI"));
        }
        let job_id = match map.get("jobId").map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some(raw) => Some(positive_id(raw)?),
            None => None,
        };
        let start_with_savepoint = map
            .get("isStartWithSavePoint")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if start_with_savepoint && job_id.is_none() {
            return Err(StError::bad_request(
                "Please provide jobId when start with save point.",
            ));
        }
        Ok(Self {
            job_id,
            job_name: map.get("jobName").filter(|n| !n.trim().is_empty()).cloned(),
            start_with_savepoint,
        })
    }
}

/// A job id a caller chose: a positive 64-bit number, as SeaTunnel issues.
fn positive_id(raw: &str) -> StResult<i64> {
    let id = parse_job_id(raw)?;
    if id <= 0 {
        return Err(StError::bad_request(format!(
            "jobId must be a positive number, got {id}."
        )));
    }
    Ok(id)
}

/// The job file in the JSON job form, when it parses; HOCON that uses what only the full
/// parser understands (`${VAR}` substitutions) is left to it.
fn config_value(text: &str, format: Format) -> StResult<Option<Value>> {
    match format {
        Format::Json => {
            let v: Value = serde_json::from_str(text).map_err(|_| StError::invalid_json())?;
            if !v.is_object() {
                return Err(StError::invalid_json());
            }
            Ok(Some(v))
        }
        Format::Hocon => Ok(parse_hocon(text).ok().map(|d| d.root)),
        Format::Sql => Ok(weir_gateway::pipeline::sql_input::to_hocon(text)
            .ok()
            .and_then(|hocon| parse_hocon(&hocon).ok())
            .map(|d| d.root)),
    }
}

/// Submits one job: SeaTunnel's id rules, its checks and its shades, then the gateway.
async fn submit_one(
    ctx: &Ctx,
    text: String,
    format: Format,
    params: SubmitParams,
    origin: Option<String>,
) -> StResult<SubmittedJob> {
    let mut value = config_value(&text, format)?;
    if let Some(v) = &mut value {
        shade::check_blocks(v)?;
        if shade::identifier(v).is_some() {
            shade::decrypt(v)?;
        }
        if let Some(name) = &params.job_name {
            if let Some(Value::Object(env)) = v.get_mut("env") {
                env.insert("job.name".into(), Value::String(name.clone()));
            } else if let Value::Object(root) = v {
                root.insert("env".into(), json!({ "job.name": name }));
            }
        }
    }
    let mut resume_previous = false;
    if let Some(id) = params.job_id {
        if let Some(existing) = find_job(ctx, id).await {
            if !existing.status.is_terminal() {
                // SeaTunnel accepts a running job's id again as a no-op.
                return Ok(SubmittedJob {
                    job_id: id.to_string(),
                    job_name: existing.name,
                });
            }
            if !params.start_with_savepoint {
                return Err(StError::internal(format!(
                    "The job id {id} has already been submitted and is not starting with a savepoint."
                )));
            }
        }
        resume_previous = params.start_with_savepoint;
    }
    // The file goes on as it came unless something in it changed (shade, job name).
    let rewritten = value.is_some()
        && (format == Format::Json
            || params.job_name.is_some()
            || value.as_ref().and_then(shade::identifier).is_some());
    let (text, format) = match value {
        Some(v) if rewritten => (v.to_string(), Format::Json),
        _ => (text, format),
    };
    let mut submission = JobSubmission::new(text, format);
    submission.job_id = params.job_id.and_then(JobId::from_seatunnel);
    submission.resume_previous = resume_previous;
    submission.origin = origin;
    let gateway = ctx.gateway();
    let job = gateway.submit_job(submission).await?;
    let name = gateway
        .request_job(job)
        .await
        .map(|s| s.name)
        .unwrap_or_default();
    Ok(SubmittedJob {
        job_id: job.seatunnel_id().to_string(),
        job_name: name,
    })
}

/// The body as text; SeaTunnel's message when there is none.
fn body_text(body: &Bytes) -> StResult<String> {
    require_body(body)?;
    // Refused before it is copied or parsed (a parse takes several times the text's size).
    let max = weir_gateway::pipeline::config::MAX_JOB_FILE_BYTES;
    if body.len() > max {
        return Err(StError::bad_request(format!(
            "The job config is {} bytes, more than the {} MiB a job file may have.",
            body.len(),
            max >> 20
        )));
    }
    String::from_utf8(body.to_vec())
        .map_err(|_| StError::bad_request("The request body is not UTF-8 text."))
}

/// `format=hocon` or `json` (the default; unknown values fall back to it, as in SeaTunnel).
fn body_format(params: &HashMap<String, String>) -> StResult<Format> {
    match params.get("format").map(|f| f.trim().to_ascii_lowercase()) {
        Some(f) if f == "hocon" => Ok(Format::Hocon),
        Some(f) if f == "sql" => Ok(Format::Sql),
        _ => Ok(Format::Json),
    }
}

/// `POST /submit-job[?jobId=&jobName=&isStartWithSavePoint=&format=]`.
pub async fn submit_job(
    State(ctx): State<Ctx>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> StResult<Json<SubmittedJob>> {
    let map = ctx.params(q.as_deref())?;
    let params = SubmitParams::from_map(&map)?;
    let format = body_format(&map)?;
    let text = body_text(&body)?;
    Ok(Json(submit_one(&ctx, text, format, params, None).await?))
}

/// `POST /submit-job/upload`: a multipart form whose `config_file` is the job file; its
/// extension picks the parser (`.json`, else HOCON).
pub async fn submit_job_upload(
    State(ctx): State<Ctx>,
    RawQuery(q): RawQuery,
    request: Request,
) -> StResult<Json<SubmittedJob>> {
    let map = ctx.params(q.as_deref())?;
    let params = SubmitParams::from_map(&map)?;
    let mut form = Multipart::from_request(request, &()).await.map_err(|e| {
        StError::bad_request(format!(
            "Expected a multipart/form-data upload with the job file in field 'config_file': {e}"
        ))
    })?;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| StError::reading_body(&e, "multipart upload"))?
    {
        if field.name() != Some("config_file") {
            continue;
        }
        let name = field.file_name().unwrap_or("job.conf").to_string();
        let format = Format::from_path(&name);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| StError::reading_body(&e, "multipart upload"))?;
        let text = body_text(&bytes)?;
        return Ok(Json(
            submit_one(&ctx, text, format, params, Some(name)).await?,
        ));
    }
    Err(StError::bad_request(
        "The upload has no field named 'config_file'; send the job file in it.",
    ))
}

/// `POST /submit-jobs`: an array of JSON job configs, each with optional `params`; submitted
/// in order, the first failure ends the request (earlier jobs stay submitted).
pub async fn submit_jobs(State(ctx): State<Ctx>, body: Bytes) -> StResult<Json<SubmittedJobs>> {
    let Value::Array(entries) = json_body(&body)? else {
        return Err(StError::invalid_json());
    };
    let mut out = Vec::new();
    for entry in entries {
        let Value::Object(mut config) = entry else {
            continue;
        };
        let params: HashMap<String, String> = match config.remove("params") {
            Some(Value::Object(p)) => p.into_iter().map(|(k, v)| (k, value_text(&v))).collect(),
            _ => HashMap::new(),
        };
        let params = SubmitParams::from_map(&params)?;
        let text = Value::Object(config).to_string();
        out.push(submit_one(&ctx, text, Format::Json, params, None).await?);
    }
    Ok(Json(SubmittedJobs(out)))
}

/// One stop request of `/stop-job(s)`.
struct StopRequest {
    id: i64,
    with_savepoint: bool,
    force: bool,
}

fn stop_request(v: &Value) -> StResult<StopRequest> {
    let Value::Object(o) = v else {
        return Err(StError::invalid_json());
    };
    let id = match o.get("jobId") {
        None | Some(Value::Null) => return Err(StError::bad_request("jobId cannot be empty.")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(StError::bad_request("jobId cannot be empty."))
        }
        Some(v) => parse_job_id(&value_text(v))?,
    };
    let flag = |key: &str| match o.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    Ok(StopRequest {
        id,
        with_savepoint: flag("isStopWithSavePoint"),
        force: flag("force"),
    })
}

/// Where a stop-with-savepoint writes: the job's configured savepoint directory, else the
/// cluster's, else the SeaTunnel servers' default.
async fn savepoint_dir(ctx: &Ctx, config: &Map<String, Value>) -> String {
    const KEYS: [&str; 2] = [
        "execution.checkpointing.savepoint-dir",
        "state.savepoints.dir",
    ];
    if let Some(dir) = KEYS
        .iter()
        .find_map(|k| config.get(*k).and_then(Value::as_str))
    {
        return dir.to_string();
    }
    let cluster = ctx.gateway().request_cluster_config().await;
    KEYS.iter()
        .find_map(|k| cluster.get(*k).filter(|d| !d.trim().is_empty()).cloned())
        .unwrap_or_else(|| ctx.node.settings.savepoint_dir.clone())
}

/// Stops one job: a cancel (also `force`), or a savepoint and then the end of the job.
async fn stop_one(ctx: &Ctx, request: &StopRequest) -> StResult<()> {
    let Some(job) = find_job(ctx, request.id).await else {
        // SeaTunnel's master ignores a stop of a job it does not know.
        return Ok(());
    };
    let gateway = ctx.gateway();
    if request.force || !request.with_savepoint {
        // Stopping an ended job is a no-op, as in SeaTunnel.
        if !job.status.is_terminal() {
            gateway.cancel_job(job.job_id).await?;
        }
        return Ok(());
    }
    if job.status.is_terminal() {
        return Err(StError::internal(format!(
            "The job with id '{}' not running, save point failed",
            request.id
        )));
    }
    let config: Map<String, Value> = job
        .config
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let dir = savepoint_dir(ctx, &config).await;
    gateway
        .trigger_savepoint(
            job.job_id,
            SavepointRequest {
                target_directory: Some(dir),
                format: SavepointFormat::Canonical,
                cancel_job: false,
                stop: true,
                trigger_id: None,
            },
        )
        .await?;
    Ok(())
}

/// `POST /stop-job`: `{"jobId": …, "isStopWithSavePoint": bool, "force": bool}`.
pub async fn stop_job(State(ctx): State<Ctx>, body: Bytes) -> StResult<Json<StoppedJob>> {
    let request = stop_request(&json_body(&body)?)?;
    stop_one(&ctx, &request).await?;
    Ok(Json(StoppedJob {
        job_id: request.id.to_string(),
    }))
}

/// `POST /stop-jobs`: an array of stop requests; answers each id as a JSON number, as
/// SeaTunnel does (and, unlike SeaTunnel, takes ids given as strings too).
pub async fn stop_jobs(State(ctx): State<Ctx>, body: Bytes) -> StResult<Json<StoppedJobs>> {
    let Value::Array(entries) = json_body(&body)? else {
        return Err(StError::invalid_json());
    };
    let requests = entries
        .iter()
        .map(stop_request)
        .collect::<StResult<Vec<_>>>()?;
    let mut out = Vec::new();
    for r in &requests {
        stop_one(&ctx, r).await?;
        out.push(StoppedJobId { job_id: r.id });
    }
    Ok(Json(StoppedJobs(out)))
}
