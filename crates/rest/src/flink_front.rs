//! The one service in front of the Flink routes: the browser rules, then authentication, then
//! the routes, then Flink's JSON error bodies, in a single call per request.
//!
//! These were three `from_fn` middlewares, each of which boxed and cloned the rest of the stack
//! and allocated a future per request; at tens of thousands of requests per second that was a
//! sixth of the server's time on a small answer (issue 19). The rules themselves live where
//! they did ([`BrowserPolicy::admit`], [`AuthGuard::admit`]); this only applies them in order.

use crate::auth::AuthGuard;
use crate::browser_guard::{allow_origin, BrowserPolicy};
use crate::error::RestError;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::convert::Infallible;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The Flink API's routes behind its guards.
#[derive(Clone)]
pub struct FlinkFront {
    pub routes: Router,
    pub browser: Arc<BrowserPolicy>,
    pub auth: Arc<AuthGuard>,
}

impl tower::Service<Request> for FlinkFront {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The routes are always ready (axum's `Router` is).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let origin = match self.browser.admit(&req) {
            ControlFlow::Continue(origin) => origin,
            ControlFlow::Break(answer) => return Box::pin(std::future::ready(Ok(answer))),
        };
        // Authentication comes after the browser rules, so a CORS preflight (which carries no
        // credentials) is answered without them, and a refusal is readable by the page.
        if let ControlFlow::Break(mut refusal) = self.auth.admit(&req) {
            allow_origin(&mut refusal, origin);
            return Box::pin(std::future::ready(Ok(refusal)));
        }
        let routed = tower::Service::call(&mut self.routes, req);
        Box::pin(async move {
            let Ok(answer) = routed.await;
            let mut answer = flink_error_body(answer).await;
            allow_origin(&mut answer, origin);
            Ok(answer)
        })
    }
}

/// Rewrites a bodiless or plain-text error status (the body limit, a malformed extractor) into
/// Flink's JSON `{"errors": [...]}`; anything else passes as it is.
pub async fn flink_error_body(response: Response) -> Response {
    let status = response.status();
    if status.is_success() || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json {
        return response;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return RestError::too_large().into_response();
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let msg = String::from_utf8_lossy(&text).trim().to_string();
    let msg = if msg.is_empty() {
        parts.status.to_string()
    } else {
        msg
    };
    RestError::new(parts.status, msg).into_response()
}
