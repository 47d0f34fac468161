//! The engine's error vocabulary, mapped to the API's `errorType` by the web layer.

/// Why a query failed; mapped to the API's `errorType` by the web layer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The expression does not parse or does not type-check (`bad_data`, 400).
    #[error("{0}")]
    Parse(String),
    /// Evaluation failed (`execution`, 422).
    #[error("{0}")]
    Execution(String),
    /// The query ran past `--query.timeout` (`timeout`, 503).
    #[error("query timed out in {0}")]
    Timeout(String),
    /// The query was canceled (`canceled`, 503).
    #[error("query was canceled in {0}")]
    Canceled(String),
    /// Too many samples (`execution`, 422).
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(String),
    /// Storage failed (`internal`, 500).
    #[error(transparent)]
    Storage(#[from] storage::QueryError),
}

impl QueryError {
    /// Shorthand for an execution error.
    pub(crate) fn exec(msg: impl Into<String>) -> Self {
        QueryError::Execution(msg.into())
    }
}

/// Result alias of the engine.
pub(crate) type Result<T, E = QueryError> = std::result::Result<T, E>;
