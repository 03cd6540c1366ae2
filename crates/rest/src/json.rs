//! JSON answers serialized straight into the response's buffer.
//!
//! axum's `Json` serializes through a `BytesMut` writer that starts at 128 bytes and grows by
//! copying; counted with callgrind, `/overview`'s 240-byte answer took twice the instructions
//! that way that it takes written into a `Vec` (issue 19). This is the same tuple type for
//! handlers (`Json(body)`, `Json<T>` in signatures), answering `application/json` as axum's
//! does; an answer that cannot be serialized is a 500 saying so, in Flink's error shape.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON answer (a response type only; request bodies are read by `flink::body`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        response(&self.0, 256)
    }
}

/// `value` as a JSON answer, written into a buffer of `capacity` bytes to start with (hot
/// endpoints know their size).
pub fn response<T: Serialize>(value: &T, capacity: usize) -> Response {
    let mut out = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], out).into_response(),
        Err(e) => crate::error::RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("serializing the answer: {e}"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn an_answer_is_its_json_with_the_json_content_type() {
        let answer = Json(serde_json::json!({"a": [1, "x"]})).into_response();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()[header::CONTENT_TYPE], "application/json");
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"a":[1,"x"]}"#);
    }

    #[tokio::test]
    async fn what_cannot_be_serialized_is_a_500_that_says_so() {
        let mut keys = std::collections::HashMap::new();
        keys.insert((1, 2), "a map with non-string keys");
        let answer = Json(keys).into_response();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("serializing the answer"));
    }
}
