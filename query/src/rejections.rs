//! Counters of queries the engine refused or stopped, by reason, for `/metrics`
//! (`sextant_query_rejected_total{reason}`), and of queries that had to wait for a free slot
//! under `--query.max-concurrency`; [`render`] writes both families.

use crate::error::QueryError;
use std::sync::atomic::{AtomicU64, Ordering};
use storage::metrics::Exposition;

static TIMEOUT: AtomicU64 = AtomicU64::new(0);
static QUEUE_TIMEOUT: AtomicU64 = AtomicU64::new(0);
static TOO_MANY_SAMPLES: AtomicU64 = AtomicU64::new(0);
static CANCELED: AtomicU64 = AtomicU64::new(0);
static QUEUED: AtomicU64 = AtomicU64::new(0);

/// Counts the failure of a query, if it is a limit's doing.
pub(crate) fn record(e: &QueryError) {
    let c = match e {
        QueryError::Timeout(w) if w == "query queue" => &QUEUE_TIMEOUT,
        QueryError::Timeout(_) => &TIMEOUT,
        QueryError::TooManySamples(_) => &TOO_MANY_SAMPLES,
        QueryError::Canceled(_) => &CANCELED,
        _ => return,
    };
    c.fetch_add(1, Ordering::Relaxed);
}

/// Counts a query that found every concurrency slot taken and waited.
pub(crate) fn queued() {
    QUEUED.fetch_add(1, Ordering::Relaxed);
}

/// `(reason, count)` of refused or stopped queries: `timeout` (`--query.timeout` during
/// evaluation), `queue_timeout` (the timeout passed while waiting for a slot),
/// `too_many_samples` (`--query.max-samples`), `canceled`.
pub fn rejected() -> [(&'static str, u64); 4] {
    [
        ("timeout", TIMEOUT.load(Ordering::Relaxed)),
        ("queue_timeout", QUEUE_TIMEOUT.load(Ordering::Relaxed)),
        ("too_many_samples", TOO_MANY_SAMPLES.load(Ordering::Relaxed)),
        ("canceled", CANCELED.load(Ordering::Relaxed)),
    ]
}

/// Queries that waited for a slot under `--query.max-concurrency`.
pub fn queued_total() -> u64 {
    QUEUED.load(Ordering::Relaxed)
}

/// Renders `sextant_query_rejected_total{reason}` and `sextant_query_queued_total` into `out`.
pub fn render(out: &mut Exposition) {
    let name = "sextant_query_rejected_total";
    out.family(
        name,
        "counter",
        "Queries stopped by a limit (timeout, queue_timeout, too_many_samples) or canceled.",
    );
    for (reason, v) in rejected() {
        out.sample(name, &[("reason", reason)], v as f64);
    }
    out.single(
        "sextant_query_queued_total",
        "counter",
        "Queries that waited for a free slot under --query.max-concurrency.",
        queued_total() as f64,
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_both_families() {
        let mut e = storage::metrics::Exposition::new();
        super::render(&mut e);
        let s = e.finish();
        for f in [
            "# TYPE sextant_query_rejected_total counter\n",
            "sextant_query_rejected_total{reason=\"timeout\"} ",
            "# TYPE sextant_query_queued_total counter\nsextant_query_queued_total ",
        ] {
            assert!(s.contains(f), "{f} missing from {s}");
        }
    }
}
