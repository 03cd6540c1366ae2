//! Log files: `/logs` (every node's files; in weir the JobManager's log directory, which holds
//! the cluster log and each job's `job-<id>.log`), `/logs/:jobId` (the files of one job),
//! `/logs/:file` and `/log/:file` (a file's text), `/log` (this node's files with relative
//! links), `/get-all-log-name`. A file name is reduced to its last path component by the
//! gateway, so `..` leads nowhere; a missing file is a bare 400, as in SeaTunnel.

use super::error::StResult;
use super::messages::{LogLink, LogLinks, LogNames};
use super::Ctx;
use crate::json::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use weir_gateway::{LogFile, LogSource};

async fn files(ctx: &Ctx) -> Vec<LogFile> {
    let mut files = ctx
        .gateway()
        .request_log_list(LogSource::JobManager)
        .await
        .unwrap_or_default();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

fn node_name(ctx: &Ctx) -> String {
    super::host_port(&ctx.base_url()).to_string()
}

/// A listing as SeaTunnel's HTML page or, with `?format=json`, its JSON array.
fn listing(
    ctx: &Ctx,
    files: &[LogFile],
    query: Option<&str>,
    relative: bool,
) -> StResult<Response> {
    let params = ctx.params(query)?;
    let node = node_name(ctx);
    let link = |name: &str| {
        if relative {
            format!("log/{name}")
        } else {
            format!("{}/logs/{name}", ctx.base_url())
        }
    };
    if params
        .get("format")
        .is_some_and(|f| f.eq_ignore_ascii_case("json"))
    {
        let entries = files
            .iter()
            .map(|f| LogLink {
                node: node.clone(),
                log_link: link(&f.name),
                log_name: f.name.clone(),
            })
            .collect();
        return Ok(Json(LogLinks(entries)).into_response());
    }
    let mut html = String::from(
        "<html><head><title>Seatunnel log</title></head><body><h2>Seatunnel log</h2><ul>",
    );
    for f in files {
        html.push_str(&format!(
            "<li><a href=\"{}\">{node}-{}</a></li>",
            escape(&link(&f.name)),
            escape(&f.name)
        ));
    }
    html.push_str("</ul></body></html>");
    Ok(([(header::CONTENT_TYPE, "text/html;charset=utf-8")], html).into_response())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A file's text, or SeaTunnel's bare 400 when there is no such file.
async fn content(ctx: &Ctx, name: &str) -> Response {
    match ctx.gateway().request_log(LogSource::JobManager, name).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "text/plain;charset=utf-8")], bytes).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// `GET /logs`: every log file, with links to their content.
pub async fn all_logs(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> StResult<Response> {
    let files = files(&ctx).await;
    listing(&ctx, &files, q.as_deref(), false)
}

/// `GET /logs/:jobId` lists that job's files; `GET /logs/:file` (a name with an extension)
/// answers the file's text.
pub async fn logs_of(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> StResult<Response> {
    if name.contains('.') {
        return Ok(content(&ctx, &name).await);
    }
    let files: Vec<LogFile> = files(&ctx)
        .await
        .into_iter()
        .filter(|f| f.name.contains(&name))
        .collect();
    listing(&ctx, &files, q.as_deref(), false)
}

/// `GET /log`: this node's files, linked relatively.
pub async fn node_logs(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> StResult<Response> {
    let files = files(&ctx).await;
    listing(&ctx, &files, q.as_deref(), true)
}

/// `GET /log/:file`: a file's text.
pub async fn log_file(State(ctx): State<Ctx>, Path(name): Path<String>) -> Response {
    content(&ctx, &name).await
}

/// `GET /get-all-log-name`: the file names.
pub async fn all_log_names(State(ctx): State<Ctx>) -> Json<LogNames> {
    Json(LogNames(
        files(&ctx).await.into_iter().map(|f| f.name).collect(),
    ))
}
