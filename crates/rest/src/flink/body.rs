//! Request bodies read as Flink reads them: an empty body is `{}`, unknown fields are ignored,
//! and anything that does not fit is a 400 `Request did not match expected format X.`.

use crate::error::RestError;
use serde::de::DeserializeOwned;

/// Parses a JSON request body of Flink message class `class`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], class: &str) -> Result<T, RestError> {
    let text = std::str::from_utf8(bytes).unwrap_or("");
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_json::from_str(text).map_err(|_| mismatch(class))
}

/// Flink's 400 for a body (or a field of it) that does not fit message class `class`.
pub fn mismatch(class: &str) -> RestError {
    RestError::bad_request(format!("Request did not match expected format {class}."))
}
