//! Query results as the API sees them.

use storage::{FloatHistogram, Labels, Series};

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    /// The series' labels.
    pub labels: Labels,
    /// Evaluation timestamp (ms).
    pub t: i64,
    /// The value (0 for a histogram sample).
    pub v: f64,
    /// The histogram, for a native-histogram sample (then `v` is meaningless).
    pub h: Option<FloatHistogram>,
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
    /// A range vector (instant query of a range selector or subquery) or a range-query
    /// result: series sorted by labels, points in time order.
    Matrix(Vec<Series>),
}

/// A result with the warnings gathered while evaluating it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOutput {
    /// The value.
    pub value: Value,
    /// Non-fatal warnings (Prometheus' `warnings`).
    pub warnings: Vec<String>,
    /// Informational notes (Prometheus' `infos`), e.g. a histogram fixed for monotonicity.
    pub infos: Vec<String>,
}
