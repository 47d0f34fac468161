//! Errors of the push endpoints and the one place they become HTTP status codes.
//!
//! The rule (Prometheus' remote-write handler, the remote-write 2.0 spec and the OTLP spec
//! agree): the sender's fault is a 4xx and is not retried; only conditions that may pass on a
//! retry (storage I/O, a poisoned database) are 5xx.

use axum::http::StatusCode;
use storage::AppendError;

pub use httpclient::ConfigError;

/// Why a push request failed as a whole (or partly, for [`PushError::InvalidSeries`]).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The `Content-Type` names a format this endpoint does not speak (415).
    #[error("unsupported content type {got:?}: {accepted}")]
    UnsupportedContentType {
        /// The header as sent.
        got: String,
        /// What the endpoint takes instead, as a sentence part ("remote write accepts ...").
        accepted: String,
    },
    /// The `Content-Encoding` is not one this endpoint accepts (415).
    #[error("unsupported content encoding {got:?}: {accepted}")]
    UnsupportedEncoding {
        /// The header as sent.
        got: String,
        /// What the endpoint takes instead, as a sentence part ("remote write accepts ...").
        accepted: String,
    },
    /// The body (compressed or decompressed) is larger than the configured limit (413).
    #[error("{what} of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Which size: "request body", "decompressed body", ...
        what: &'static str,
        /// The size seen (or declared).
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The request carries more series or samples than allowed (413).
    #[error("request has {count} {what}, more than the limit of {limit}")]
    TooMany {
        /// "series" or "samples".
        what: &'static str,
        /// How many the request has.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The body could not be decoded (bad compression, bad protobuf/JSON) (400).
    #[error("{0}")]
    Malformed(String),
    /// Some series or samples were invalid; the valid ones were stored (400). The message
    /// names the first bad series.
    #[error("{message}")]
    InvalidSeries {
        /// The first problem, naming its series, plus how many more there were.
        message: String,
        /// Number of samples (and histogram samples) rejected.
        rejected: usize,
    },
    /// Storage failed in a way worth retrying (5xx). Nothing of the request was committed.
    #[error("storage error: {0}")]
    Storage(AppendError),
    /// The request was cut off or the server task failed (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl PushError {
    /// The HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            PushError::UnsupportedContentType { .. } | PushError::UnsupportedEncoding { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            PushError::TooLarge { .. } | PushError::TooMany { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            PushError::Malformed(_) | PushError::InvalidSeries { .. } => StatusCode::BAD_REQUEST,
            PushError::Storage(AppendError::Poisoned) => StatusCode::SERVICE_UNAVAILABLE,
            PushError::Storage(AppendError::LimitExceeded(_)) => StatusCode::SERVICE_UNAVAILABLE,
            PushError::Storage(_) | PushError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether a sender should retry the same request later.
    pub fn is_retryable(&self) -> bool {
        self.status().is_server_error()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            PushError::UnsupportedContentType {
                got: "x".into(),
                accepted: "y".into()
            }
            .status(),
            415
        );
        assert_eq!(PushError::Malformed("x".into()).status(), 400);
        assert_eq!(
            PushError::TooLarge {
                what: "request body",
                size: 2,
                limit: 1
            }
            .status(),
            413
        );
        let io = PushError::Storage(AppendError::Io(std::io::Error::other("disk full")));
        assert_eq!(io.status(), 500);
        assert!(io.is_retryable());
        assert_eq!(PushError::Storage(AppendError::Poisoned).status(), 503);
        assert!(!PushError::Malformed("x".into()).is_retryable());
    }
}
