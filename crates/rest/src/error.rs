//! Flink's error responses: `{"errors": [...]}` with the status the failure calls for.

use crate::json::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use weir_gateway::GatewayError;

/// An error answered to a REST client.
#[derive(Debug, Clone)]
pub struct RestError {
    pub status: StatusCode,
    pub messages: Vec<String>,
}

impl RestError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            messages: vec![message.into()],
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// Flink's wording for a path parameter that does not parse.
    pub fn bad_path_param(name: &str, value: &str) -> Self {
        Self::bad_request(format!(
            "Bad request, could not parse parameters: Cannot resolve path parameter ({name}) from value \"{value}\"."
        ))
    }

    /// Flink's wording for a query parameter that does not parse.
    pub fn bad_query_param(name: &str, value: &str) -> Self {
        Self::bad_request(format!(
            "Bad request, could not parse parameters: Cannot resolve query parameter ({name}) from value \"{value}\"."
        ))
    }

    /// Flink's answer to a body past `rest.server.max-content-length`.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request entity too large. Try to raise [rest.server.max-content-length]",
        )
    }

    /// A failed read of a request body (`what` names it: "multipart upload", "request body").
    pub fn reading_body(error: &(dyn std::error::Error + 'static), what: &str) -> Self {
        let fault = crate::body_fault::BodyFault::of(error);
        Self::new(fault.status(), fault.message(what))
    }

    /// Flink's answer to an unknown route (or a known route with another method).
    pub fn no_route(path: &str) -> Self {
        Self::not_found(format!("Not found: {path}"))
    }
}

impl From<GatewayError> for RestError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, m),
            GatewayError::BadRequest(m) => Self::new(StatusCode::BAD_REQUEST, m),
            GatewayError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            // Flink answers its dead or unsupported endpoints with 500 and two messages.
            GatewayError::NotSupported(m) | GatewayError::Internal(m) => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                messages: vec![
                    "Internal server error.".into(),
                    format!("<Exception on server side:\n{m}\nEnd of exception on server side>"),
                ],
            },
        }
    }
}

/// Flink's `ErrorResponseBody`: what every failed request answers.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorResponseBody {
    /// What went wrong and what to change, most important first.
    pub errors: Vec<String>,
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorResponseBody {
                errors: self.messages,
            }),
        )
            .into_response()
    }
}

/// Result of a handler.
pub type RestResult<T> = Result<T, RestError>;
