//! The error vocabulary of the storage boundary.

use std::path::PathBuf;

/// Why an append or a commit failed.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The sample is older than the series' newest sample by more than the out-of-order window.
    #[error("out of order sample: timestamp {t} is older than the newest sample {newest} of the series by more than the out-of-order window")]
    OutOfOrder {
        /// The rejected timestamp.
        t: i64,
        /// The newest timestamp of the series.
        newest: i64,
    },
    /// The sample is older than the oldest time the database still accepts (already in blocks
    /// or past retention).
    #[error("out of bounds: timestamp {t} is older than the minimum accepted time {min_valid}")]
    OutOfBounds {
        /// The rejected timestamp.
        t: i64,
        /// The minimum accepted timestamp.
        min_valid: i64,
    },
    /// A sample with the same timestamp and a different value already exists.
    #[error("duplicate sample for timestamp {t} with a different value")]
    DuplicateTimestamp {
        /// The timestamp.
        t: i64,
    },
    /// The labels are not valid (empty, bad names, no metric name, ...).
    #[error("invalid labels {labels}: {reason}")]
    InvalidLabels {
        /// The labels as text.
        labels: String,
        /// What is wrong.
        reason: String,
    },
    /// A configured limit was hit (active series, ...).
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// Creating the series would pass a cardinality limit (`max_active_series`, or
    /// `max_series_per_metric` when `per_metric`). The sender's fault: not retried.
    #[error("{}", if *per_metric {
        format!("series {labels} refused: its metric already has {limit} series, the per-metric limit (--storage.max-series-per-metric)")
    } else {
        format!("series {labels} refused: the head already has {limit} active series, the limit (--storage.max-active-series)")
    })]
    TooManySeries {
        /// Whether the per-metric limit (rather than the total) was hit.
        per_metric: bool,
        /// The limit.
        limit: usize,
        /// The refused series.
        labels: String,
    },
    /// An exemplar's labels are longer than OpenMetrics allows.
    #[error("exemplar label set has {chars} characters, more than the allowed 128")]
    ExemplarLabelsTooLong {
        /// Characters of names and values together.
        chars: usize,
    },
    /// An exemplar is not newer than the newest exemplar of its series.
    #[error("out of order exemplar: timestamp {t} is not after the newest exemplar {newest} of the series")]
    OutOfOrderExemplar {
        /// The rejected timestamp.
        t: i64,
        /// The newest exemplar timestamp of the series.
        newest: i64,
    },
    /// A native histogram sample is not valid.
    #[error("invalid native histogram for series {labels}: {reason}")]
    InvalidHistogram {
        /// The series' labels as text.
        labels: String,
        /// What is wrong.
        reason: String,
    },
    /// The store does not keep this kind of sample.
    #[error("{0}")]
    Unsupported(&'static str),
    /// An earlier write or fsync failed; the database refuses writes until restarted.
    #[error("storage is poisoned after an earlier write failure; restart required")]
    Poisoned,
    /// Writing the WAL failed (disk full, I/O error). Retryable.
    #[error("write-ahead log write failed: {0}")]
    Io(#[from] std::io::Error),
}

impl AppendError {
    /// Whether the sender caused the error (remote write answers 400, no retry) rather than
    /// the server (500, retry).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            AppendError::OutOfOrder { .. }
                | AppendError::OutOfBounds { .. }
                | AppendError::DuplicateTimestamp { .. }
                | AppendError::InvalidLabels { .. }
                | AppendError::TooManySeries { .. }
                | AppendError::ExemplarLabelsTooLong { .. }
                | AppendError::OutOfOrderExemplar { .. }
                | AppendError::InvalidHistogram { .. }
                | AppendError::Unsupported(_)
        )
    }
}

/// A damaged file: which one, where, and what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("corrupt file {} at offset {offset}: {reason}", file.display())]
pub struct CorruptionError {
    /// The damaged file.
    pub file: PathBuf,
    /// Byte offset of the damage.
    pub offset: u64,
    /// What was found.
    pub reason: String,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A file needed for the answer is corrupt.
    #[error(transparent)]
    Corruption(#[from] CorruptionError),
    /// An I/O error while reading.
    #[error("storage read failed: {0}")]
    Io(#[from] std::io::Error),
    /// The selection is too large.
    #[error("{0}")]
    TooLarge(String),
}

/// Why the database could not be opened or closed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// I/O on the data directory failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Damaged on-disk state that could not be worked around.
    #[error(transparent)]
    Corruption(#[from] CorruptionError),
    /// Another process holds the data directory.
    #[error("data directory {} is locked by another process", .0.display())]
    Locked(PathBuf),
}
