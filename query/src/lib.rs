//! Sextant's PromQL engine (skeleton: the API the web layer builds against).

use std::time::Duration;
use storage::{Labels, Queryable, Series};

/// Engine limits and settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (default 5 m).
    pub lookback_delta_ms: i64,
    /// Maximum time a query may run.
    pub timeout: Duration,
    /// Maximum samples a query may hold in memory at once.
    pub max_samples: usize,
    /// Maximum queries evaluated at once; more wait.
    pub max_concurrency: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            max_concurrency: 20,
        }
    }
}

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    /// The series' labels.
    pub labels: Labels,
    /// Evaluation timestamp (ms).
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// A query result.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar at a timestamp.
    Scalar {
        /// ms
        t: i64,
        /// value
        v: f64,
    },
    /// A string at a timestamp.
    String {
        /// ms
        t: i64,
        /// value
        s: String,
    },
    /// An instant vector.
    Vector(Vec<InstantSample>),
    /// A range vector / range-query result.
    Matrix(Vec<Series>),
}

/// A result with the warnings gathered while evaluating it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOutput {
    /// The value.
    pub value: Value,
    /// Non-fatal warnings (Prometheus' `warnings`).
    pub warnings: Vec<String>,
}

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

/// The PromQL engine.
#[derive(Debug)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    /// A new engine.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `expr` at `t` (ms).
    pub fn instant(&self, q: &dyn Queryable, expr: &str, t: i64) -> Result<QueryOutput, QueryError> {
        let _ = (q, expr, t);
        Err(QueryError::Execution(
            "PromQL evaluation is not implemented yet".into(),
        ))
    }

    /// Evaluates `expr` from `start` to `end` (ms, inclusive) every `step` ms.
    pub fn range(
        &self,
        q: &dyn Queryable,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryOutput, QueryError> {
        let _ = (q, expr, start, end, step);
        Err(QueryError::Execution(
            "PromQL evaluation is not implemented yet".into(),
        ))
    }
}
