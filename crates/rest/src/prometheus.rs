//! The Prometheus reporter's scrape endpoint, on its own port as Flink's: `GET /metrics` (any
//! path answers, as Flink's reporter does) renders the live metrics of this process's query
//! services, so a scrape is as fresh as the counters themselves.

use axum::http::header;
use axum::response::IntoResponse;
use axum::Router;
use std::sync::Arc;
use weir_gateway::metrics::prometheus::render;
use weir_gateway::metrics::MetricQueryService;

/// Serves scrapes until `shutdown` resolves; `auth` says who may scrape (Prometheus sends a
/// bearer token or basic credentials from its scrape config), `tls` whether over TLS.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sources: Vec<Arc<MetricQueryService>>,
    auth: crate::auth::AuthPolicy,
    tls: Option<crate::tls::Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let guard = crate::auth::AuthGuard::new(auth, crate::auth::ErrorStyle::Text);
    let app = Router::new()
        .fallback(move || {
            let sources = sources.clone();
            async move { scrape(&sources) }
        })
        .layer(axum::middleware::from_fn_with_state(
            guard,
            crate::auth::guard,
        ));
    crate::server::serve(listener, app, tls, shutdown).await
}

fn scrape(sources: &[Arc<MetricQueryService>]) -> impl IntoResponse {
    let groups: Vec<_> = sources.iter().flat_map(|s| s.dump()).collect();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&groups),
    )
}
