//! API errors: the one place where a failure gets its `errorType` and HTTP status code,
//! as Prometheus' `returnAPIError` and `respondError` do.

use axum::http::StatusCode;
use std::fmt;

/// The `errorType` of an error envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    /// A bad parameter or an expression that does not parse (400).
    BadData,
    /// Evaluation failed (422).
    Execution,
    /// The query ran out of time (503).
    Timeout,
    /// The query was canceled (499, "client closed request", as Prometheus).
    Canceled,
    /// Something broke inside (500).
    Internal,
    /// The thing asked for does not exist (404).
    NotFound,
    /// Not available yet (503).
    Unavailable,
}

impl ErrorType {
    /// The name used in the envelope's `errorType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::NotFound => "not_found",
            ErrorType::Unavailable => "unavailable",
        }
    }

    /// The HTTP status code Prometheus answers with for this type.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Timeout | ErrorType::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            // Non-standard "client closed request", which Prometheus uses for canceled queries.
            ErrorType::Canceled => StatusCode::from_u16(499).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed API call: its type and the message shown as `error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The error type (decides the status code).
    pub kind: ErrorType,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// A `bad_data` error.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorType::BadData, message)
    }

    /// A `bad_data` error naming the parameter: `invalid parameter "<name>": <err>`.
    pub fn invalid_param(name: &str, err: impl fmt::Display) -> Self {
        Self::bad_data(format!(
            "invalid parameter {}: {err}",
            super::json::go_quote(name)
        ))
    }

    /// An `internal` error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, message)
    }

    /// An `execution` error.
    pub fn execution(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Execution, message)
    }

    /// A query engine failure, typed as Prometheus' `returnAPIError` does: parse errors are
    /// bad data about the `query` parameter, timeouts and cancellations keep their type,
    /// storage failures are internal, everything else (including too many samples) is an
    /// execution error.
    pub fn from_query(err: query::QueryError) -> Self {
        use query::QueryError as Q;
        let kind = match &err {
            Q::Parse(msg) => return Self::invalid_param("query", msg),
            Q::Timeout(_) => ErrorType::Timeout,
            Q::Canceled(_) => ErrorType::Canceled,
            Q::Storage(_) => ErrorType::Internal,
            Q::Execution(_) | Q::TooManySamples(_) => ErrorType::Execution,
        };
        Self::new(kind, err.to_string())
    }

    /// A storage failure while listing series, labels or values. Prometheus passes these
    /// through `returnAPIError` unwrapped, which makes them execution errors.
    pub fn from_storage(err: storage::QueryError) -> Self {
        Self::execution(err.to_string())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_match_prometheus() {
        assert_eq!(ErrorType::BadData.status(), StatusCode::BAD_REQUEST);
        assert_eq!(ErrorType::Execution.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(ErrorType::Timeout.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(ErrorType::Canceled.status().as_u16(), 499);
        assert_eq!(ErrorType::Internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(ErrorType::NotFound.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn query_errors_are_typed() {
        let e = ApiError::from_query(query::QueryError::Parse(
            "1:5: parse error: unclosed left parenthesis".into(),
        ));
        assert_eq!(e.kind, ErrorType::BadData);
        assert_eq!(
            e.message,
            "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"
        );
        let e = ApiError::from_query(query::QueryError::Timeout("expression evaluation".into()));
        assert_eq!(e.kind, ErrorType::Timeout);
        assert_eq!(e.message, "query timed out in expression evaluation");
        let e = ApiError::from_query(query::QueryError::TooManySamples("query execution".into()));
        assert_eq!(e.kind, ErrorType::Execution);
        let e = ApiError::from_query(query::QueryError::Canceled("x".into()));
        assert_eq!(e.kind, ErrorType::Canceled);
    }
}
