//! Errors a gateway call can answer with; the REST layer maps each kind to a status code.

use thiserror::Error;

/// Why a gateway call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GatewayError {
    /// The job, vertex, task manager, file or operation does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be served as asked (400).
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state, e.g. cancelling a finished job (409).
    #[error("{0}")]
    Conflict(String),
    /// The operation exists in Flink's API but weir does not offer it yet (500, like Flink's
    /// dead endpoints).
    #[error("{0}")]
    NotSupported(String),
    /// Anything else (500).
    #[error("{0}")]
    Internal(String),
}

impl GatewayError {
    /// Flink's wording for an unknown job.
    pub fn job_not_found(job: impl std::fmt::Display) -> Self {
        GatewayError::NotFound(format!("Job {job} not found"))
    }

    /// The clear "not yet" answer for calls owned by work still to come.
    pub fn not_yet(what: &str) -> Self {
        GatewayError::NotSupported(format!("{what} is not supported by weir yet"))
    }
}
