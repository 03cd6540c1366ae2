//! SeaTunnel's error answers: `{"status":"fail","message":"..."}`, 400 for what the caller must
//! fix and 500 for everything else, with the literal messages its clients match on.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use weir_gateway::GatewayError;

/// An error answered to a SeaTunnel client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StError {
    pub status: StatusCode,
    pub message: String,
}

impl StError {
    /// A 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// A 500: the engine could not do what was asked.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }

    /// A failed read of a request body (`what` names it).
    pub fn reading_body(error: &(dyn std::error::Error + 'static), what: &str) -> Self {
        let fault = crate::body_fault::BodyFault::of(error);
        Self {
            status: fault.status(),
            message: fault.message(what),
        }
    }

    pub fn empty_body() -> Self {
        Self::bad_request("Request body is empty.")
    }

    pub fn invalid_json() -> Self {
        Self::bad_request("Invalid JSON format in request body.")
    }
}

impl From<GatewayError> for StError {
    /// SeaTunnel answers 500 for every engine exception; its 400s are the request checks above.
    fn from(e: GatewayError) -> Self {
        let message = e.to_string();
        StError::internal(if message.trim().is_empty() {
            "the engine failed without a message".to_string()
        } else {
            message
        })
    }
}

impl IntoResponse for StError {
    fn into_response(self) -> Response {
        let body = super::messages::StErrorBody {
            status: "fail",
            message: self.message,
        };
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            serde_json::to_string(&body).unwrap_or_default(),
        )
            .into_response()
    }
}

/// What a SeaTunnel handler returns.
pub type StResult<T> = Result<T, StError>;
