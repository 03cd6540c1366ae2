//! Artifacts (Flink's web-submission extension): upload a pipeline file, list, plan, run,
//! delete. weir's artifacts are SeaTunnel job files (`.conf`, `.hocon`, `.json`, `.sql`), stored in the
//! upload directory under `<uuid>_<name>`; names from clients are reduced to their last path
//! component, so nothing is written outside that directory (Flink's CVE-2020-17518).
//! `POST /jobs` (submitting a pipeline body directly) lives here too.

use super::jobs::JobPlanInfo;
use super::messages::{EmptyResponseBody, PlanMessage};
use crate::endpoint;
use crate::endpoint::{query, Endpoint, Media, ParamKind, QueryParam};
use crate::error::{RestError, RestResult};
use crate::json::Json;
use crate::params::Query;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use utoipa::ToSchema;
use weir_core::logdir::last_component;
use weir_gateway::{Format, JobSubmission};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(jars GET "/jars", "Returns the uploaded pipeline files.", list_jars)
            .returns::<JarListInfo>(),
        endpoint!(jars POST "/jars/upload", "Uploads a pipeline file (.conf, .hocon, .json or .sql) as multipart/form-data.", upload_jar)
            .accepts_as::<PipelineUpload>(Media::Multipart)
            .returns::<JarUploadResponseBody>(),
        endpoint!(jars DELETE "/jars/{jarid}", "Deletes an uploaded pipeline file.", delete_jar)
            .returns::<EmptyResponseBody>(),
        endpoint!(jars GET "/jars/{jarid}/plan", "Returns the plan of an uploaded pipeline.", plan_jar)
            .query(PLAN_QUERY)
            .returns::<JobPlanInfo>(),
        endpoint!(jars POST "/jars/{jarid}/plan", "Returns the plan of an uploaded pipeline.", plan_jar)
            .query(PLAN_QUERY)
            .accepts::<JarRunRequestBody>()
            .returns::<JobPlanInfo>(),
        endpoint!(jars POST "/jars/{jarid}/run", "Submits a job from an uploaded pipeline.", run_jar)
            .query(RUN_QUERY)
            .accepts::<JarRunRequestBody>()
            .returns::<JarRunResponseBody>(),
        endpoint!(jars POST "/jars/{jarid}/run-application", "Submits an application from an uploaded pipeline.", run_application)
            .query(RUN_QUERY)
            .accepts::<JarRunRequestBody>()
            .returns_with::<JarRunApplicationResponseBody>(202),
    ]
}

const PROGRAM_ARG: QueryParam = query(
    "programArg",
    ParamKind::String,
    "Comma-separated NAME=VALUE pairs that fill the pipeline's ${NAME} variables.",
);
const ENTRY_CLASS: QueryParam = query(
    "entry-class",
    ParamKind::String,
    "Ignored: a pipeline file has no entry class.",
);
const PARALLELISM: QueryParam = query(
    "parallelism",
    ParamKind::Integer,
    "Positive integer value that specifies the desired parallelism for the job.",
);
pub(super) const PLAN_QUERY: &[QueryParam] = &[PROGRAM_ARG, ENTRY_CLASS, PARALLELISM];
const RUN_QUERY: &[QueryParam] = &[
    query(
        "allowNonRestoredState",
        ParamKind::Boolean,
        "Boolean value that specifies whether the job submission should be rejected if the savepoint contains state that cannot be mapped back to the job.",
    ),
    query(
        "savepointPath",
        ParamKind::String,
        "String value that specifies the path of the savepoint to restore the job from.",
    ),
    PROGRAM_ARG,
    ENTRY_CLASS,
    PARALLELISM,
];

/// The query of `POST /jobs`.
pub const SUBMIT_QUERY: &[QueryParam] = &[PARALLELISM];

/// A multipart upload holding one pipeline file.
#[derive(ToSchema)]
pub struct PipelineUpload {
    /// The pipeline file (its name ends in .conf, .hocon, .json or .sql).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

const PIPELINE_EXTENSIONS: [&str; 4] = [".conf", ".hocon", ".json", ".sql"];

/// The stored file of an artifact id, if it exists in the upload directory.
fn stored(s: &AppState, jar: &str) -> Option<PathBuf> {
    let name = last_component(jar)?;
    weir_core::logdir::ServedDir::new(&s.settings.upload_dir).resolve(name)
}

/// `JarListInfo`: the uploaded pipeline files.
#[derive(Serialize, ToSchema)]
pub struct JarListInfo {
    pub address: String,
    pub files: Vec<JarFileInfo>,
}

/// `JarListInfo.JarFileInfo`.
#[derive(Serialize, ToSchema)]
pub struct JarFileInfo {
    pub id: String,
    pub name: String,
    pub uploaded: i64,
    pub entry: Vec<JarEntryInfo>,
}

/// `JarListInfo.JarEntryInfo`: a pipeline file's one "entry", itself.
#[derive(Serialize, ToSchema)]
pub struct JarEntryInfo {
    pub name: String,
    pub description: String,
}

async fn list_jars(State(s): State<AppState>) -> Json<JarListInfo> {
    let files = weir_core::logdir::ServedDir::new(&s.settings.upload_dir)
        .list()
        .into_iter()
        .map(|f| {
            let name = f
                .name
                .split_once('_')
                .map(|(_, n)| n.to_string())
                .unwrap_or_else(|| f.name.clone());
            let format = if Format::from_path(&name) == Format::Json {
                "JSON"
            } else {
                "HOCON"
            };
            JarFileInfo {
                id: f.name,
                uploaded: f.mtime,
                entry: vec![JarEntryInfo {
                    name: name.clone(),
                    description: format!("SeaTunnel pipeline ({format})"),
                }],
                name,
            }
        })
        .collect();
    Json(JarListInfo {
        address: s.settings.advertised_url.clone(),
        files,
    })
}

/// The longest uploaded file name kept (255 bytes less the `<uuid>_` prefix).
const MAX_UPLOAD_NAME_BYTES: usize = 200;

/// Checks an uploaded file's name and says what to do when it is not a pipeline.
fn check_upload_name(raw: &str) -> RestResult<String> {
    let name = last_component(raw)
        .ok_or_else(|| RestError::bad_request("The uploaded file has no usable name."))?;
    // The stored name is `<uuid>_<name>`; file systems take 255 bytes.
    if name.len() > MAX_UPLOAD_NAME_BYTES {
        return Err(RestError::bad_request(format!(
            "The file name is {} bytes long; upload it under a name of at most {MAX_UPLOAD_NAME_BYTES} bytes.",
            name.len()
        )));
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".jar") {
        return Err(RestError::bad_request(format!(
            "'{name}' is a Java jar: weir runs SeaTunnel pipeline files, not jars. Upload the job's .conf, .hocon, .json or .sql file instead."
        )));
    }
    if !PIPELINE_EXTENSIONS.iter().any(|e| lower.ends_with(e)) {
        return Err(RestError::bad_request(format!(
            "Only pipeline files can be uploaded (.conf, .hocon, .json or .sql); got '{name}'."
        )));
    }
    Ok(name.to_string())
}

/// `JarUploadResponseBody`.
#[derive(Serialize, ToSchema)]
pub struct JarUploadResponseBody {
    pub filename: String,
    /// Always `success`.
    pub status: &'static str,
}

async fn upload_jar(
    State(s): State<AppState>,
    request: Request,
) -> RestResult<Json<JarUploadResponseBody>> {
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| {
        RestError::bad_request(format!(
            "Expected a multipart/form-data upload with one pipeline file: {e}"
        ))
    })?;
    let mut upload: Option<(String, Bytes)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| RestError::reading_body(&e, "multipart upload"))?
    {
        let Some(file_name) = field.file_name().map(str::to_string) else {
            continue;
        };
        if upload.is_some() {
            return Err(RestError::bad_request("Expected 1 file, received more."));
        }
        let name = check_upload_name(&file_name)?;
        let bytes = field
            .bytes()
            .await
            .map_err(|e| RestError::reading_body(&e, "multipart upload"))?;
        upload = Some((name, bytes));
    }
    let (name, bytes) =
        upload.ok_or_else(|| RestError::bad_request("Exactly 1 file must be sent, received 0."))?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err(RestError::bad_request(format!(
            "'{name}' is not a text file: pipeline files are UTF-8 text."
        )));
    }
    std::fs::create_dir_all(&s.settings.upload_dir).map_err(|e| {
        RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Cannot create the upload directory: {e}"),
        )
    })?;
    let id = format!("{}_{name}", uuid::Uuid::new_v4());
    let path = s.settings.upload_dir.join(&id);
    std::fs::write(&path, &bytes).map_err(|e| {
        RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Cannot store the upload: {e}"),
        )
    })?;
    Ok(Json(JarUploadResponseBody {
        filename: path.display().to_string(),
        status: "success",
    }))
}

async fn delete_jar(
    State(s): State<AppState>,
    Path(jar): Path<String>,
) -> RestResult<Json<EmptyResponseBody>> {
    let path = stored(&s, &jar).ok_or_else(|| {
        RestError::bad_request(format!(
            "File {jar} does not exist in {}.",
            s.settings.upload_dir.display()
        ))
    })?;
    std::fs::remove_file(&path).map_err(|e| {
        RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Failed to delete jar {jar}: {e}"),
        )
    })?;
    Ok(Json(EmptyResponseBody {}))
}

/// Flink's `JarRunRequestBody` / `JarPlanRequestBody`, the fields weir maps.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JarRunRequestBody {
    /// NAME=VALUE pairs that fill the pipeline's `${NAME}` variables.
    program_args_list: Option<Vec<String>>,
    /// The same, as one string.
    program_args: Option<String>,
    parallelism: Option<i64>,
    job_id: Option<String>,
    savepoint_path: Option<String>,
    flink_configuration: Option<BTreeMap<String, String>>,
    /// Accepted and ignored: a pipeline file has no entry class.
    #[allow(dead_code)]
    entry_class: Option<String>,
    /// Accepted; weir does not act on it yet (a restore maps the state its operators find).
    #[allow(dead_code)]
    allow_non_restored_state: Option<bool>,
    /// Accepted; weir does not act on it yet.
    #[allow(dead_code)]
    restore_mode: Option<String>,
    /// Accepted; weir does not act on it yet.
    #[allow(dead_code)]
    claim_mode: Option<String>,
    /// Accepted and ignored: an application's id is its one job's id.
    #[allow(dead_code)]
    application_id: Option<String>,
}

/// Builds the submission of an uploaded artifact from the body and query of a run/plan call.
pub(super) fn submission(
    s: &AppState,
    jar: &str,
    body: &Bytes,
    query: Option<&str>,
    class: &str,
) -> RestResult<JobSubmission> {
    let path = stored(s, jar)
        .ok_or_else(|| RestError::not_found(format!("Jar file {jar} does not exist.")))?;
    let b: JarRunRequestBody = super::body::parse(body, class)?;
    let q = Query::parse(query);
    let savepoint_path = b
        .savepoint_path
        .clone()
        .or_else(|| q.get("savepointPath").map(str::to_string))
        .filter(|p| !p.trim().is_empty());
    let text = std::fs::read_to_string(&path).map_err(|e| {
        RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Cannot read {jar}: {e}"),
        )
    })?;
    let mut args: Vec<String> = b.program_args_list.clone().unwrap_or_default();
    if args.is_empty() {
        let joined = b
            .program_args
            .clone()
            .or_else(|| q.get("programArg").map(str::to_string))
            .unwrap_or_default();
        args = joined
            .split([' ', ','])
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
    }
    let mut variables = HashMap::new();
    for a in args {
        let a = a.trim_start_matches("-i").trim().to_string();
        match a.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                variables.insert(k.trim().to_string(), v.to_string());
            }
            _ => {
                return Err(RestError::bad_request(format!(
                    "Program argument '{a}' is not NAME=VALUE: weir's program arguments fill ${{NAME}} variables of the pipeline."
                )))
            }
        }
    }
    let parallelism = match b.parallelism.or(q.int("parallelism")?) {
        Some(p) if p > 0 => Some(p as usize),
        Some(-1) => None, // Flink's "use the default"
        Some(p) => {
            return Err(RestError::bad_request(format!(
                "parallelism must be positive, got {p}"
            )))
        }
        None => None,
    };
    let job_id = match &b.job_id {
        Some(id) => Some(id.parse().map_err(|_| super::body::mismatch(class))?),
        None => None,
    };
    let name = jar.split_once('_').map(|(_, n)| n).unwrap_or(jar);
    Ok(JobSubmission {
        text,
        format: Format::from_path(name),
        parallelism,
        variables,
        job_id,
        config: {
            let mut config = b.flink_configuration.unwrap_or_default();
            if let Some(p) = savepoint_path {
                config.insert(weir_gateway::RECOVERY_PATH_KEY.into(), p);
            }
            config
        },
        origin: Some(jar.to_string()),
        resume_previous: false,
    })
}

async fn plan_jar(
    State(s): State<AppState>,
    Path(jar): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> RestResult<axum::response::Response> {
    let sub = submission(&s, &jar, &body, q.as_deref(), "JarPlanRequestBody")?;
    let snapshot = s.gateway.preview_job(sub).await?;
    Ok(crate::json::response(
        &JobPlanInfo {
            plan: PlanMessage::of(&snapshot),
        },
        256 + snapshot.vertices.len() * 512,
    ))
}

/// `JarRunResponseBody`.
#[derive(Serialize, ToSchema)]
pub struct JarRunResponseBody {
    pub jobid: String,
    #[serde(rename = "applicationId")]
    pub application_id: String,
}

/// `JarRunApplicationResponseBody`.
#[derive(Serialize, ToSchema)]
pub struct JarRunApplicationResponseBody {
    pub applicationid: String,
}

async fn run_jar(
    State(s): State<AppState>,
    Path(jar): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> RestResult<Json<JarRunResponseBody>> {
    let sub = submission(&s, &jar, &body, q.as_deref(), "JarRunRequestBody")?;
    let id = s.gateway.submit_job(sub).await?;
    Ok(Json(JarRunResponseBody {
        jobid: id.to_string(),
        application_id: id.to_string(),
    }))
}

async fn run_application(
    State(s): State<AppState>,
    Path(jar): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> RestResult<(StatusCode, Json<JarRunApplicationResponseBody>)> {
    let sub = submission(
        &s,
        &jar,
        &body,
        q.as_deref(),
        "JarRunApplicationRequestBody",
    )?;
    let id = s.gateway.submit_job(sub).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(JarRunApplicationResponseBody {
            applicationid: id.to_string(),
        }),
    ))
}

/// `POST /jobs`: the body is the pipeline itself (JSON or HOCON), or a multipart upload holding
/// it. Flink's Java JobGraph submissions get a 400 that says what weir takes instead.
pub async fn submit_job_body(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    request: Request,
) -> RestResult<(StatusCode, Json<JobSubmitResponseBody>)> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let java_graph = || {
        RestError::bad_request(
            "weir runs SeaTunnel pipelines, not Java JobGraphs: send the pipeline file (JSON or HOCON) as the request body, or upload it with POST /jars/upload.",
        )
    };
    let (text, name) = if content_type.starts_with("multipart/") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| RestError::bad_request(format!("Malformed multipart upload: {e}")))?;
        let mut found = None;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| RestError::reading_body(&e, "multipart upload"))?
        {
            let file = field.file_name().map(str::to_string);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| RestError::reading_body(&e, "multipart upload"))?;
            match file {
                Some(f) => {
                    let name = check_upload_name(&f)?;
                    let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                        RestError::bad_request(format!("'{name}' is not UTF-8 text."))
                    })?;
                    found = Some((text, name));
                }
                None => {
                    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    if v.get("jobGraphFileName").is_some()
                        || v.get("executionPlanFileName").is_some()
                    {
                        return Err(java_graph());
                    }
                }
            }
        }
        found
            .ok_or_else(|| RestError::bad_request("The multipart upload holds no pipeline file."))?
    } else {
        let bytes = Bytes::from_request(request, &())
            .await
            .map_err(|e| RestError::reading_body(&e, "request body"))?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| RestError::bad_request("The request body is not UTF-8 text."))?;
        if text.trim().is_empty() {
            return Err(RestError::bad_request(
                "The request body is empty: send the pipeline file as the body.",
            ));
        }
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if v.get("jobGraphFileName").is_some() || v.get("executionPlanFileName").is_some() {
            return Err(java_graph());
        }
        let name = if v.is_object() {
            "body.json"
        } else {
            "body.conf"
        };
        (text, name.to_string())
    };
    let q = Query::parse(q.as_deref());
    let mut sub = JobSubmission::new(text, Format::from_path(&name));
    sub.parallelism = q.int("parallelism")?.filter(|p| *p > 0).map(|p| p as usize);
    sub.origin = Some(name);
    let id = s.gateway.submit_job(sub).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(JobSubmitResponseBody {
            job_url: format!("/jobs/{id}"),
        }),
    ))
}

/// `JobSubmitResponseBody`: where the new job is.
#[derive(Serialize, ToSchema)]
pub struct JobSubmitResponseBody {
    #[serde(rename = "jobUrl")]
    pub job_url: String,
}
