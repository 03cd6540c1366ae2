//! The web dashboard at `/:*`, as Flink's `WebContentHandler` serves it next to the API.
//!
//! With `web.dashboard.dir` set, the files of that directory are served (Flink's own dashboard
//! works unchanged this way: it uses relative URLs and hash routes, so it talks to the API on
//! the same port). Without it, weir's own dashboard ([`crate::dashboard`], embedded at build
//! time) is served; a binary built without that answers `/` and `/index.html` with a short page
//! that says where the API is and how to build the dashboard, rather than a JSON 404.

use crate::error::RestError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::path::{Path, PathBuf};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Why a dashboard directory cannot be served.
pub fn check_dashboard_dir(dir: &Path) -> Result<PathBuf, String> {
    let index = dir.join("index.html");
    if index.is_file() {
        Ok(dir.to_path_buf())
    } else {
        Err(format!(
            "web.dashboard.dir {} has no index.html: point it at the dashboard's files \
             (scripts/flink-dist.sh DIR puts Flink 2.3.0's in DIR/web)",
            dir.display()
        ))
    }
}

/// The fallback of the root router: a dashboard file, the landing page, or Flink's 404.
pub async fn web_content(State(s): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return RestError::no_route(&path).into_response();
    }
    match &s.settings.dashboard_dir {
        Some(dir) => {
            let served = ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .oneshot(req)
                .await;
            match served {
                Ok(r) if r.status() != StatusCode::NOT_FOUND => r.into_response(),
                _ => RestError::no_route(&path).into_response(),
            }
        }
        None => match crate::dashboard::asset(&path) {
            Some(a) => embedded(a, req.method() == Method::HEAD),
            None if path == "/" || path == "/index.html" => landing_page(&s).into_response(),
            None => RestError::no_route(&path).into_response(),
        },
    }
}

fn embedded(a: crate::dashboard::Asset, head: bool) -> Response {
    let cache = if a.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let headers = [
        (header::CONTENT_TYPE, a.content_type),
        (header::CACHE_CONTROL, cache),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    if head {
        (
            headers,
            [(header::CONTENT_LENGTH, a.bytes.len().to_string())],
        )
            .into_response()
    } else {
        (headers, a.bytes).into_response()
    }
}

/// What `/` answers in a binary built without the dashboard.
fn landing_page(s: &AppState) -> impl IntoResponse {
    let url = &s.settings.advertised_url;
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>weir</title></head>
<body>
<h1>weir {version}</h1>
<p>This is weir's JobManager. It answers Flink's REST API v1 here ({url}/v1/…, and on bare
paths such as <a href="overview">/overview</a> and <a href="jobs/overview">/jobs/overview</a>);
the API is described by <a href="v1/openapi.json">/v1/openapi.json</a>.</p>
<p>This binary was built without weir's dashboard. To have it here, build the dashboard
before weir, from weir's repository: <code>scripts/build-web.sh &amp;&amp; cargo build --release -p weir</code>
(it needs Node.js and npm).</p>
<p>To use Flink's own web dashboard with weir instead, fetch its files with
<code>scripts/flink-dist.sh DIR</code> and start weir with
<code>-D web.dashboard.dir=DIR/web</code>.</p>
</body>
</html>
"#,
        version = env!("CARGO_PKG_VERSION"),
    );
    ([(header::CACHE_CONTROL, "no-cache")], Html(body))
}
