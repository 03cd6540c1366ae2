//! Assembles the Flink API router and serves it, with Flink's transport rules: both `/v1` and
//! bare paths, trailing slashes ignored, 404 `Not found: <path>` for unknown routes and for
//! known routes with another method, 413 past `rest.server.max-content-length`, and the CORS
//! origin header on every response.

use crate::endpoint::Endpoint;
use crate::error::RestError;
use crate::settings::RestSettings;
use crate::state::{AppState, Inner};
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::convert::Infallible;
use std::sync::Arc;
use weir_gateway::RestfulGateway;

/// Every endpoint of the Flink API.
pub fn flink_endpoints() -> Vec<Endpoint> {
    let mut all = Vec::new();
    all.extend(crate::flink::cluster::endpoints());
    all.extend(crate::flink::jobs::endpoints());
    all.extend(crate::flink::vertices::endpoints());
    all.extend(crate::flink::taskmanagers::endpoints());
    all.extend(crate::flink::metrics::endpoints());
    all.extend(crate::flink::checkpoints::endpoints());
    all.extend(crate::flink::rescaling::endpoints());
    all.extend(crate::flink::savepoint_disposal::endpoints());
    all.extend(crate::flink::seatunnel_view::endpoints());
    all.extend(crate::flink::vertex_monitoring::endpoints());
    all.extend(crate::flink::jobmanager::endpoints());
    all.extend(crate::flink::profiler::endpoints());
    all.extend(crate::flink::jars::endpoints());
    all.extend(crate::flink::jar_check::endpoints());
    all.extend(crate::flink::applications::endpoints());
    all.extend(crate::openapi::endpoints());
    all
}

async fn no_route(req: Request) -> RestError {
    RestError::no_route(req.uri().path())
}

/// A path no endpoint has: under `/v1` that is Flink's 404; bare paths fall back to the web
/// content (the dashboard), as Flink's `/:*` does.
async fn unrouted(state: axum::extract::State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/v1" || path.starts_with("/v1/") {
        return RestError::no_route(path).into_response();
    }
    crate::web_content::web_content(state, req).await
}

/// Trailing slashes are ignored, as Flink strips them before routing; and the request body
/// becomes axum's, whatever the transport gave. Wraps every server's service from outside,
/// since path normalisation must happen before routing.
#[derive(Clone)]
struct TrimSlash<S>(S);

impl<S, B> tower::Service<axum::http::Request<B>> for TrimSlash<S>
where
    S: tower::Service<Request>,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let mut req = req.map(axum::body::Body::new);
        let path = req.uri().path();
        if path.len() > 1 && path.ends_with('/') {
            let trimmed = path.trim_end_matches('/');
            let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
            let new = match req.uri().query() {
                Some(q) => format!("{trimmed}?{q}"),
                None => trimmed.to_string(),
            };
            if let Ok(uri) = new.parse() {
                *req.uri_mut() = uri;
            }
        }
        self.0.call(req)
    }
}

/// The Flink API router over `gateway`.
pub fn flink_router(
    gateway: Arc<dyn RestfulGateway>,
    settings: RestSettings,
) -> impl tower::Service<
    Request,
    Response = Response,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<Response, Infallible>> + Send,
> + Clone
       + Send
       + 'static {
    let browser = Arc::new(settings.browser.clone());
    let auth = crate::auth::AuthGuard::new(settings.auth.clone(), crate::auth::ErrorStyle::Flink);
    let limit = settings.max_content_length;
    let state: AppState = Arc::new(Inner {
        gateway,
        settings,
        finished_lines: Default::default(),
        checkpoint_stats: Default::default(),
        job_details: Default::default(),
    });
    // Each endpoint at its bare path and under `/v1`, in one table: one lookup per request
    // (a nested `/v1` router cost a second lookup and a second set of path parameters).
    let mut routes: Router<AppState> = Router::new();
    for e in flink_endpoints() {
        if state.settings.serves(e.feature) {
            let mut methods = e.method_router();
            // Only these read a body; a GET carries no limit it would never consult.
            if e.method != crate::endpoint::Method::Get {
                methods = methods.layer(DefaultBodyLimit::max(limit));
            }
            routes = routes
                .route(e.path, methods.clone())
                .route(&format!("/v1{}", e.path), methods);
        }
    }
    let routes = routes
        .fallback(unrouted)
        .method_not_allowed_fallback(no_route)
        .with_state(state);
    let front = crate::flink_front::FlinkFront {
        routes,
        browser,
        auth,
    };
    // Outside the front, so the error rewriting and the guards see plain bodies.
    crate::compress::CompressWhenAsked::new(front)
}

/// How long a client may take to send a request's headers (Flink's Netty server closes such a
/// connection too); a half-sent request, or a connection opened and left idle, is closed after
/// it rather than held open.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a request body may go without sending a byte: a client that sends its headers and
/// then stalls mid-body is answered 408 and its connection closed, instead of holding a buffer
/// and a connection for ever. The clock restarts with every chunk, so a slow upload that keeps
/// sending is not cut off.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves once `stop` says true (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// How long shutting down waits for requests in flight.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves `router` on `listener` until `shutdown` resolves: HTTP/1.1 (over TLS when `tls` is
/// given) with [`HEADER_READ_TIMEOUT`] and [`BODY_READ_TIMEOUT`], then requests in flight get
/// [`SHUTDOWN_GRACE`] to finish.
pub async fn serve<S>(
    listener: tokio::net::TcpListener,
    service: S,
    tls: Option<crate::tls::Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    use hyper_util::service::TowerToHyperService;
    let app = tower_http::timeout::RequestBodyTimeout::new(TrimSlash(service), BODY_READ_TIMEOUT);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A failed accept (a client gone, no file descriptors left) ends one connection.
                Err(e) => {
                    tracing::debug!("accepting a REST connection: {e}");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let stop = stop_rx.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => serve_connection(stream, service, stop).await,
                Some(tls) => {
                    // The handshake gets the same time as a request's headers.
                    let handshake =
                        tokio::time::timeout(HEADER_READ_TIMEOUT, tls.acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(stream)) => serve_connection(stream, service, stop).await,
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                    }
                }
            }
        });
        // Reap finished connections so the set holds only open ones.
        while connections.try_join_next().is_some() {}
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE * 2, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// Serves one connection's requests until it closes or `stop` says true (then gracefully).
async fn serve_connection<S, T>(stream: S, service: T, mut stop: tokio::sync::watch::Receiver<bool>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<axum::body::Body>,
        > + Send
        + 'static,
    T::Future: Send + 'static,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}
