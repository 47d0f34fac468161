//! Exemplars: a sample of an individual event (typically a trace) attached to a series.

use super::labels::Labels;

/// One exemplar: its own labels (e.g. `trace_id`), a value and a timestamp (ms).
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// The exemplar's labels (not the series'), at most 128 UTF-8 characters of names and
    /// values together, as OpenMetrics requires.
    pub labels: Labels,
    /// The observed value.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
}

impl Exemplar {
    /// Same labels, same timestamp and the same value bits.
    pub fn same_as(&self, other: &Exemplar) -> bool {
        self.t == other.t && self.value.to_bits() == other.value.to_bits() && self.labels == other.labels
    }
}

/// The exemplars of one series, oldest first (the answer of `query_exemplars`).
#[derive(Clone, Debug, PartialEq)]
pub struct ExemplarSeries {
    /// The series' labels.
    pub series_labels: Labels,
    /// Its exemplars in the queried range, oldest first.
    pub exemplars: Vec<Exemplar>,
}

/// Most UTF-8 characters the names and values of an exemplar's labels may have together
/// (OpenMetrics' limit, which Prometheus enforces).
pub const EXEMPLAR_MAX_LABEL_CHARS: usize = 128;
