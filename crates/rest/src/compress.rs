//! Gzip for the clients that ask for it, and nothing in the way of the ones that do not.
//!
//! tower-http's compression negotiates per request, but on every request it also wraps the
//! body (which the router then boxes again) and runs its future: about 1.8 k instructions per
//! request even for a client that sent no `Accept-Encoding` (issue 19, counted with callgrind),
//! which is what REST clients and the CLI are. Such requests go straight to the routes here;
//! their answers get only the `Vary: Accept-Encoding` tower-http would have added (decided by the
//! same predicate), so a cache still tells the two kinds of answer apart. Requests that do ask
//! (browsers, the dashboard) go through tower-http as before.

use crate::flink_front::FlinkFront;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tower_http::compression::predicate::{And, DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::{Compression, ResponseFuture};

/// Which answers are worth compressing: what tower-http compresses by default (not images,
/// gRPC or event streams), and nothing under 1 KiB, where the header costs more than it saves.
pub type Compressible = And<DefaultPredicate, SizeAbove>;

fn compressible() -> Compressible {
    DefaultPredicate::new().and(SizeAbove::new(1024))
}

/// The Flink front with compression for requests that carry `Accept-Encoding`.
#[derive(Clone)]
pub struct CompressWhenAsked {
    plain: FlinkFront,
    gzip: Compression<FlinkFront, Compressible>,
    predicate: Compressible,
}

impl CompressWhenAsked {
    pub fn new(front: FlinkFront) -> Self {
        // The fastest level: the answers are fresh each time and the CPU is the server's.
        let gzip = Compression::new(front.clone())
            .quality(tower_http::CompressionLevel::Fastest)
            .compress_when(compressible());
        CompressWhenAsked {
            plain: front,
            gzip,
            predicate: compressible(),
        }
    }
}

impl tower::Service<Request> for CompressWhenAsked {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The front is always ready (see `FlinkFront::poll_ready`), and so is its compression.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Answer {
        if req.headers().contains_key(header::ACCEPT_ENCODING) {
            Answer::Gzip(tower::Service::call(&mut self.gzip, req))
        } else {
            Answer::Plain(
                tower::Service::call(&mut self.plain, req),
                self.predicate.clone(),
            )
        }
    }
}

type FrontFuture = <FlinkFront as tower::Service<Request>>::Future;

/// The answer of either path.
pub enum Answer {
    Plain(FrontFuture, Compressible),
    Gzip(ResponseFuture<FrontFuture, Compressible>),
}

impl Future for Answer {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Answer::Plain(answer, predicate) => {
                let Ok(mut answer) = ready!(Pin::new(answer).poll(cx));
                if varies(&answer, predicate) {
                    answer
                        .headers_mut()
                        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
                }
                Poll::Ready(Ok(answer))
            }
            Answer::Gzip(answer) => Pin::new(answer)
                .poll(cx)
                .map_ok(IntoResponse::into_response),
        }
    }
}

/// Whether a client that asked for compression could have got `answer` compressed, which is
/// when tower-http names `Accept-Encoding` in `Vary`.
fn varies(answer: &Response, predicate: &Compressible) -> bool {
    let h = answer.headers();
    !h.contains_key(header::CONTENT_ENCODING)
        && !h.contains_key(header::CONTENT_RANGE)
        && predicate.should_compress(answer)
        && !h.get_all(header::VARY).iter().any(|v| {
            let name = header::ACCEPT_ENCODING.as_str().as_bytes();
            v.as_bytes()
                .windows(name.len())
                .any(|w| w.eq_ignore_ascii_case(name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthGuard, AuthPolicy, ErrorStyle};
    use crate::browser_guard::BrowserPolicy;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use tower::ServiceExt;

    fn service() -> CompressWhenAsked {
        let routes = axum::Router::new()
            .route("/big", get(|| async { "x".repeat(4096) }))
            .route("/small", get(|| async { "tiny" }))
            .route(
                "/varies",
                get(|| async { ([(header::VARY, "Accept-Encoding")], "y".repeat(4096)) }),
            );
        CompressWhenAsked::new(FlinkFront {
            routes,
            browser: Arc::new(BrowserPolicy::default()),
            auth: AuthGuard::new(AuthPolicy::default(), ErrorStyle::Flink),
        })
    }

    async fn get_with(path: &str, accept: Option<&str>) -> (Response, Vec<u8>) {
        let mut req = Request::builder().uri(path).header("host", "127.0.0.1");
        if let Some(a) = accept {
            req = req.header(header::ACCEPT_ENCODING, a);
        }
        let req = req.body(axum::body::Body::empty()).unwrap();
        let answer = service().oneshot(req).await.unwrap();
        let (parts, body) = answer.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (
            Response::from_parts(parts, axum::body::Body::empty()),
            bytes,
        )
    }

    fn vary(r: &Response) -> Vec<&str> {
        r.headers()
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    #[tokio::test]
    async fn answers_vary_on_accept_encoding_whether_or_not_it_was_sent() {
        let (plain, body) = get_with("/big", None).await;
        assert_eq!(body.len(), 4096, "not compressed");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(vary(&plain), vec!["accept-encoding"]);

        let (gzip, body) = get_with("/big", Some("gzip")).await;
        assert_eq!(gzip.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(body.len() < 100, "compressed: {} bytes", body.len());
        assert_eq!(vary(&gzip), vec!["accept-encoding"]);

        let (named, _) = get_with("/varies", None).await;
        assert_eq!(
            vary(&named),
            vec!["Accept-Encoding"],
            "named once, not twice"
        );

        // Under 1 KiB nothing is compressed, so nothing varies.
        let (small, body) = get_with("/small", None).await;
        assert_eq!((body.as_slice(), vary(&small).len()), (&b"tiny"[..], 0));
        let (small, _) = get_with("/small", Some("gzip")).await;
        assert!(small.headers().get(header::CONTENT_ENCODING).is_none());
        assert!(vary(&small).is_empty());
    }
}
