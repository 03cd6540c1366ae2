//! Between gateway values and wire values: errors as gRPC statuses and back, and the JSON
//! carried in `bytes` fields.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use weir_gateway::GatewayError;

/// A gateway error as a status the other side maps back to the same error.
pub fn status(e: GatewayError) -> Status {
    match e {
        GatewayError::NotFound(m) => Status::not_found(m),
        GatewayError::BadRequest(m) => Status::invalid_argument(m),
        GatewayError::Conflict(m) => Status::failed_precondition(m),
        GatewayError::NotSupported(m) => Status::unimplemented(m),
        GatewayError::Internal(m) => Status::internal(m),
    }
}

/// A status from the other side as a gateway error; a transport failure says which peer
/// could not be reached.
pub fn error(s: Status, peer: &str) -> GatewayError {
    let message = s.message().to_string();
    match s.code() {
        Code::NotFound => GatewayError::NotFound(message),
        Code::InvalidArgument => GatewayError::BadRequest(message),
        Code::FailedPrecondition => GatewayError::Conflict(message),
        Code::Unimplemented => GatewayError::NotSupported(message),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            GatewayError::Internal(format!("{peer} cannot be reached: {message}"))
        }
        _ => GatewayError::Internal(message),
    }
}

pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing weir's own plain data types cannot fail (no maps with non-string keys).
    serde_json::to_vec(value).unwrap_or_default()
}

pub fn from_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, Status> {
    serde_json::from_slice(bytes)
        .map_err(|e| Status::invalid_argument(format!("{what} is not valid: {e}")))
}

/// The same, on the calling side (a reply that cannot be read is the peer's fault).
pub fn reply_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, GatewayError> {
    serde_json::from_slice(bytes)
        .map_err(|e| GatewayError::Internal(format!("{what} from the peer is not valid: {e}")))
}

pub fn job_id(text: &str) -> Result<weir_core::JobId, Status> {
    text.parse()
        .map_err(|_| Status::invalid_argument(format!("'{text}' is not a job id")))
}

/// A lazily connected channel to the service at `address` (`host:port`), with the timeouts and
/// keep-alives both sides use; it connects again after a break.
pub fn channel(address: &str) -> Result<Channel, String> {
    Ok(Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| format!("'{address}' is not an address: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20))
        .connect_lazy())
}

/// The answer of a call that returns nothing.
pub fn empty() -> tonic::Response<crate::proto::Empty> {
    tonic::Response::new(crate::proto::Empty {})
}
