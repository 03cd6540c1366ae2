//! `POST /jars/:jarid/check`, weir's addition to the web-submission API: checks an uploaded
//! pipeline without running it and answers every problem of the file typed (line, block,
//! plugin, option, hint) with 200, or the plan when there is none. `/jars/:jarid/plan` says the
//! same problems as one 400 message, which is what Flink's clients expect; this is for clients
//! that mark each problem where it is (weir's dashboard).

use super::jars::{submission, JarRunRequestBody, PLAN_QUERY};
use super::messages::PlanMessage;
use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::RestResult;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use serde::Serialize;
use utoipa::ToSchema;
use weir_gateway::{JobCheck, JobFileProblem};

pub fn endpoints() -> Vec<Endpoint> {
    vec![endpoint!(jars POST "/jars/{jarid}/check", "Checks an uploaded pipeline without running it: every problem of the file with its line and option, or the plan (weir).", check_jar)
        .query(PLAN_QUERY)
        .accepts::<JarRunRequestBody>()
        .returns::<JarCheckResponseBody>()]
}

/// The answer of a check: `problems` is empty exactly when `plan` is present.
#[derive(Serialize, ToSchema)]
pub struct JarCheckResponseBody<'a> {
    /// Every problem found, in file order as the checker met them.
    pub problems: Vec<JobFileProblemInfo>,
    /// The same problems as the one message a submission of this file would fail with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The job the file would run, when it has no problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanMessage<'a>>,
}

/// One problem of a job file.
#[derive(Serialize, ToSchema)]
pub struct JobFileProblemInfo {
    /// 1-based line in the file, when the format gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// `env`, `source`, `transform` or `sink`; absent for the file as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    /// Position of the plugin inside its block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The plugin name as typed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The option the problem is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl From<JobFileProblem> for JobFileProblemInfo {
    fn from(p: JobFileProblem) -> Self {
        Self {
            line: p.line,
            block: Some(p.block).filter(|b| !b.is_empty()),
            index: p.index,
            plugin: p.plugin,
            option: p.option,
            message: p.message,
            hint: p.hint,
        }
    }
}

async fn check_jar(
    State(s): State<AppState>,
    Path(jar): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> RestResult<axum::response::Response> {
    let sub = submission(&s, &jar, &body, q.as_deref(), "JarPlanRequestBody")?;
    let check = s.gateway.check_job(sub).await?;
    let (body, hint) = match &check {
        JobCheck::Valid(snapshot) => (
            JarCheckResponseBody {
                problems: Vec::new(),
                message: None,
                plan: Some(PlanMessage::of(snapshot)),
            },
            256 + snapshot.vertices.len() * 512,
        ),
        JobCheck::Invalid(p) => (
            JarCheckResponseBody {
                problems: p.problems.iter().cloned().map(Into::into).collect(),
                message: Some(p.message.clone()),
                plan: None,
            },
            256 + p.message.len() * 2,
        ),
    };
    Ok(crate::json::response(&body, hint))
}
