//! Why reading a request body failed, decided in one place for every handler that reads one:
//! a stalled client, a body past the size limit, or a malformed body each get their own status
//! and a message saying what to fix, whether the body came as bytes or as a multipart upload.

use crate::server::BODY_READ_TIMEOUT;
use axum::http::StatusCode;
use std::error::Error;

/// What went wrong while reading a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyFault {
    /// The client stopped sending mid-body for longer than [`BODY_READ_TIMEOUT`].
    Stalled,
    /// The body is longer than `rest.server.max-content-length`.
    TooLarge,
    /// The body arrived but is not what the endpoint takes; the text says how.
    Malformed(String),
}

impl BodyFault {
    /// Classifies `error` by walking its causes (the timeout and the length limit are found
    /// however many layers of extractor and multipart parser wrap them).
    pub fn of(error: &(dyn Error + 'static)) -> Self {
        // A `Box<dyn Error>` re-boxed as a value is a link whose type is the box and whose
        // source skips what it holds, so each link is also known by its text.
        let stalled = "data was not received within the designated timeout";
        let too_large = "length limit exceeded";
        let mut cause: Option<&(dyn Error + 'static)> = Some(error);
        while let Some(e) = cause {
            let text = e.to_string();
            if e.is::<tower_http::timeout::TimeoutError>() || text.ends_with(stalled) {
                return Self::Stalled;
            }
            if e.is::<http_body_util::LengthLimitError>() || text.ends_with(too_large) {
                return Self::TooLarge;
            }
            cause = e.source();
        }
        Self::Malformed(error.to_string())
    }

    /// The status this fault is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Stalled => StatusCode::REQUEST_TIMEOUT,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// What the client is told, `what` naming the body ("multipart upload", "request body").
    pub fn message(&self, what: &str) -> String {
        match self {
            Self::Stalled => format!(
                "The {what} stalled: no data came for {} s, so the request body was abandoned. \
                 Send the request body without pauses.",
                BODY_READ_TIMEOUT.as_secs()
            ),
            Self::TooLarge => {
                "Request entity too large. Try to raise [rest.server.max-content-length]".into()
            }
            Self::Malformed(e) => format!("Malformed {what}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Box<dyn Error + Send + Sync>);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Error parsing `multipart/form-data` request")
        }
    }
    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(self.0.as_ref())
        }
    }

    #[tokio::test]
    async fn faults_are_found_below_the_wrappers() {
        use http_body_util::BodyExt;
        let body = http_body_util::Full::new(axum::body::Bytes::from_static(b"four"));
        let Err(too_large) = http_body_util::Limited::new(body, 3).collect().await else {
            panic!("a 4-byte body passed a 3-byte limit");
        };
        let wrapped = Wrapper(Box::new(axum::Error::new(too_large)));
        assert_eq!(BodyFault::of(&wrapped), BodyFault::TooLarge);
        // As the router sees it: a link that shows the limit's text but not its type.
        let hidden = Wrapper("length limit exceeded".into());
        assert_eq!(BodyFault::of(&hidden), BodyFault::TooLarge);
        let plain = Wrapper("unexpected end of part".into());
        assert_eq!(
            BodyFault::of(&plain),
            BodyFault::Malformed("Error parsing `multipart/form-data` request".into())
        );
        assert_eq!(BodyFault::of(&plain).status(), StatusCode::BAD_REQUEST);
        assert!(BodyFault::Stalled
            .message("multipart upload")
            .contains("no data came for 10 s"));
    }
}
