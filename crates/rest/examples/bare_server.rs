//! The limit for weir's REST figures (bench/rest_limit.sh): a bare HTTP/1.1 server on the same
//! stack (tokio's multi-thread runtime, hyper) that answers every request with the bytes of a
//! file, as `application/json`, and does nothing else. What weir's `/jobs/:id` costs beyond
//! this is routing, middleware and producing the answer.
//!
//!   cargo run --release -p weir-rest --example bare_server -- ANSWER_FILE
//!
//! Prints `listening on 127.0.0.1:PORT` (a free port) and serves until killed.

use axum::body::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: bare_server ANSWER_FILE")?;
    let answer = Bytes::from(std::fs::read(&path).map_err(|e| format!("reading {path}: {e}"))?);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            println!("listening on {}", listener.local_addr()?);
            loop {
                let (stream, _) = listener.accept().await?;
                let answer = answer.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_: Request<_>| {
                        let body = Full::new(answer.clone());
                        async move {
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .header("content-type", "application/json")
                                    .body(body)
                                    .unwrap_or_default(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        })
}
