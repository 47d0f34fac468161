//! The queues' self-metrics, named as Prometheus names them
//! (`prometheus_remote_storage_*`, labelled `remote_name` and `url`), and their rendering in
//! the text exposition format (through [`storage::metrics::Exposition`]).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use storage::metrics::Exposition;

/// Counters and gauges of one queue (all updated lock-free).
#[derive(Debug, Default)]
pub struct QueueMetrics {
    /// Samples read from the WAL and handed to shards.
    pub samples_in: AtomicU64,
    /// Samples sent successfully.
    pub samples_sent: AtomicU64,
    /// Samples the remote end refused (non-retryable).
    pub samples_failed: AtomicU64,
    /// Samples sent again after a retryable failure (counted per attempt).
    pub samples_retried: AtomicU64,
    /// Samples dropped before sending (relabeling, unknown series, too old).
    pub samples_dropped: AtomicU64,
    /// Samples in shards, not yet sent.
    pub samples_pending: AtomicI64,
    /// Compressed bytes sent.
    pub bytes_sent: AtomicU64,
    /// Requests that failed (any reason).
    pub requests_failed: AtomicU64,
    /// Total seconds spent in requests, in nanoseconds.
    pub send_nanos: AtomicU64,
    /// Requests sent successfully.
    pub requests_sent: AtomicU64,
    /// Newest timestamp (ms) read from the WAL.
    pub highest_read_ms: AtomicI64,
    /// Newest timestamp (ms) sent successfully.
    pub highest_sent_ms: AtomicI64,
    /// Current shards.
    pub shards: AtomicU64,
    /// Shards wanted by the last computation (the bits of an `f64`, as Prometheus' gauge
    /// is unrounded).
    pub shards_desired_bits: AtomicU64,
    /// Samples waiting (unread in the WAL and in shards) at the last shard computation.
    pub backlog_samples: AtomicU64,
    /// Exemplars (`send_exemplars: true`; all 0 otherwise, as in Prometheus).
    pub exemplars: KindCounters,
    /// Native histogram samples (`send_native_histograms: true`).
    pub histograms: KindCounters,
    /// Metadata entries sent.
    pub metadata_sent: AtomicU64,
    /// Metadata entries that failed.
    pub metadata_failed: AtomicU64,
    /// WAL segments skipped because they were truncated before this queue read them.
    pub segments_skipped: AtomicU64,
    /// WAL records read.
    pub records_read: AtomicU64,
    /// Segment the reader is in.
    pub current_segment: AtomicU64,
}

/// Counters of one kind of data besides float samples.
#[derive(Debug, Default)]
pub struct KindCounters {
    /// Sent.
    pub sent: AtomicU64,
    /// Refused.
    pub failed: AtomicU64,
    /// Retried.
    pub retried: AtomicU64,
    /// Dropped before sending.
    pub dropped: AtomicU64,
    /// Waiting in shards.
    pub pending: AtomicI64,
}

impl QueueMetrics {
    /// `prometheus_remote_storage_shards_desired`.
    pub fn shards_desired(&self) -> f64 {
        f64::from_bits(self.shards_desired_bits.load(Ordering::Relaxed))
    }

    /// Float samples, histograms and exemplars waiting in shards.
    pub fn pending(&self) -> i64 {
        (self.samples_pending.load(Ordering::Relaxed)
            + self.histograms.pending.load(Ordering::Relaxed)
            + self.exemplars.pending.load(Ordering::Relaxed))
        .max(0)
    }
}

/// What one queue's rendering needs besides its counters.
#[derive(Debug)]
pub struct QueueLabels<'a> {
    /// `remote_name`.
    pub name: &'a str,
    /// `url`.
    pub url: &'a str,
    /// Configured bounds and batch size.
    pub min_shards: usize,
    /// Configured bounds and batch size.
    pub max_shards: usize,
    /// Configured batch size.
    pub max_samples_per_send: usize,
    /// Per-shard buffer.
    pub capacity: usize,
}

/// Renders every queue's metrics (one `# HELP`/`# TYPE` per family) into `out`, and
/// `prometheus_remote_storage_highest_timestamp_in_seconds` (unlabelled, as Prometheus':
/// the newest timestamp ingested, `highest_ingested_ms`, when known).
pub fn render(
    out: &mut Exposition,
    queues: &[(QueueLabels<'_>, &QueueMetrics)],
    highest_ingested_ms: Option<i64>,
) {
    if queues.is_empty() {
        return;
    }
    if let Some(ms) = highest_ingested_ms {
        let name = "prometheus_remote_storage_highest_timestamp_in_seconds";
        out.family(
            name,
            "gauge",
            "Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.",
        );
        out.sample(name, &[], secs(ms));
    }
    type Get = fn(&QueueLabels<'_>, &QueueMetrics) -> f64;
    let families: &[(&str, &str, &str, Get)] = &[
        ("prometheus_remote_storage_samples_total", "counter", "Total number of samples sent to remote storage.", |_, m| m.samples_sent.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_samples_failed_total", "counter", "Total number of samples which failed on send to remote storage, non-recoverable errors.", |_, m| m.samples_failed.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_samples_retried_total", "counter", "Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.", |_, m| m.samples_retried.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_samples_dropped_total", "counter", "Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to an unknown reference ID or because they were too old.", |_, m| m.samples_dropped.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_samples_pending", "gauge", "The number of samples pending in the queues shards to be sent to the remote storage.", |_, m| m.samples_pending.load(Ordering::Relaxed).max(0) as f64),
        ("prometheus_remote_storage_samples_in_total", "counter", "Samples read from the WAL by this queue.", |_, m| m.samples_in.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_bytes_total", "counter", "The total number of bytes of data (not metadata) sent by the queue after compression.", |_, m| m.bytes_sent.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_metadata_total", "counter", "Total number of metadata entries sent to remote storage.", |_, m| m.metadata_sent.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_metadata_failed_total", "counter", "Total number of metadata entries which failed on send to remote storage.", |_, m| m.metadata_failed.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_shards", "gauge", "The number of shards used for parallel sending to the remote storage.", |_, m| m.shards.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_shards_desired", "gauge", "The number of shards that the queues shard calculation wants to run based on the rate of samples in vs. samples out.", |_, m| m.shards_desired()),
        ("sextant_remote_storage_backlog_samples", "gauge", "Samples waiting to be sent (unread in the WAL plus queued in shards) at the last shard computation.", |_, m| m.backlog_samples.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_exemplars_total", "counter", "Total number of exemplars sent to remote storage.", |_, m| m.exemplars.sent.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_exemplars_failed_total", "counter", "Total number of exemplars which failed on send to remote storage, non-recoverable errors.", |_, m| m.exemplars.failed.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_exemplars_retried_total", "counter", "Total number of exemplars which failed on send to remote storage but were retried because the send error was recoverable.", |_, m| m.exemplars.retried.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_exemplars_dropped_total", "counter", "Total number of exemplars which were dropped after being read from the WAL before being sent via remote write.", |_, m| m.exemplars.dropped.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_exemplars_pending", "gauge", "The number of exemplars pending in the queues shards to be sent to the remote storage.", |_, m| m.exemplars.pending.load(Ordering::Relaxed).max(0) as f64),
        ("prometheus_remote_storage_histograms_total", "counter", "Total number of histograms sent to remote storage.", |_, m| m.histograms.sent.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_histograms_failed_total", "counter", "Total number of histograms which failed on send to remote storage, non-recoverable errors.", |_, m| m.histograms.failed.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_histograms_retried_total", "counter", "Total number of histograms which failed on send to remote storage but were retried because the send error was recoverable.", |_, m| m.histograms.retried.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_histograms_dropped_total", "counter", "Total number of histograms which were dropped after being read from the WAL before being sent via remote write.", |_, m| m.histograms.dropped.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_histograms_pending", "gauge", "The number of histograms pending in the queues shards to be sent to the remote storage.", |_, m| m.histograms.pending.load(Ordering::Relaxed).max(0) as f64),
        ("prometheus_remote_storage_shards_min", "gauge", "The minimum number of shards that the queue is allowed to run.", |q, _| q.min_shards as f64),
        ("prometheus_remote_storage_shards_max", "gauge", "The maximum number of shards that the queue is allowed to run.", |q, _| q.max_shards as f64),
        ("prometheus_remote_storage_shard_capacity", "gauge", "The capacity of each shard of the queue used for parallel sending to the remote storage.", |q, _| q.capacity as f64),
        ("prometheus_remote_storage_max_samples_per_send", "gauge", "The maximum number of samples to be sent, in a single request, to the remote storage.", |q, _| q.max_samples_per_send as f64),
        ("prometheus_remote_storage_queue_highest_sent_timestamp_seconds", "gauge", "Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.", |_, m| secs(m.highest_sent_ms.load(Ordering::Relaxed))),
        ("prometheus_remote_storage_queue_highest_timestamp_seconds", "gauge", "Highest timestamp read from the WAL by this queue, in seconds since epoch.", |_, m| secs(m.highest_read_ms.load(Ordering::Relaxed))),
        ("sextant_remote_storage_sent_batch_seconds_total", "counter", "Total seconds spent sending batches to remote storage.", |_, m| m.send_nanos.load(Ordering::Relaxed) as f64 / 1e9),
        ("sextant_remote_storage_sent_batches_total", "counter", "Batches sent successfully to remote storage.", |_, m| m.requests_sent.load(Ordering::Relaxed) as f64),
        ("prometheus_remote_storage_requests_failed_total", "counter", "Remote-write requests that failed (retried or not).", |_, m| m.requests_failed.load(Ordering::Relaxed) as f64),
        ("prometheus_wal_watcher_records_read_total", "counter", "Number of records read by the WAL watcher from the WAL.", |_, m| m.records_read.load(Ordering::Relaxed) as f64),
        ("prometheus_wal_watcher_current_segment", "gauge", "Current segment the WAL watcher is reading records from.", |_, m| m.current_segment.load(Ordering::Relaxed) as f64),
        ("sextant_remote_storage_wal_segments_skipped_total", "counter", "WAL segments truncated before this queue sent them (their samples were not forwarded).", |_, m| m.segments_skipped.load(Ordering::Relaxed) as f64),
    ];
    for (name, kind, help, get) in families {
        out.family(name, kind, help);
        for (q, m) in queues {
            out.sample(name, &[("remote_name", q.name), ("url", q.url)], get(q, m));
        }
    }
}

fn secs(ms: i64) -> f64 {
    if ms == i64::MIN || ms <= 0 {
        0.0
    } else {
        ms as f64 / 1000.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_once_per_queue() {
        let m = QueueMetrics::default();
        m.samples_sent.store(42, Ordering::Relaxed);
        m.highest_sent_ms.store(1_500, Ordering::Relaxed);
        let q = QueueLabels {
            name: "vm",
            url: "http://127.0.0.1:1/api/v1/write",
            min_shards: 1,
            max_shards: 4,
            max_samples_per_send: 100,
            capacity: 1000,
        };
        let mut e = Exposition::new();
        render(&mut e, &[(q, &m)], Some(2_000));
        let out = e.finish();
        assert!(out.contains(
            "prometheus_remote_storage_samples_total{remote_name=\"vm\",url=\"http://127.0.0.1:1/api/v1/write\"} 42\n"
        ));
        assert!(
            out.contains("prometheus_remote_storage_highest_timestamp_in_seconds 2\n"),
            "{out}"
        );
        assert!(out.contains("prometheus_remote_storage_queue_highest_sent_timestamp_seconds{remote_name=\"vm\",url=\"http://127.0.0.1:1/api/v1/write\"} 1.5\n"));
        assert_eq!(
            out.matches("# TYPE prometheus_remote_storage_shards gauge")
                .count(),
            1
        );
        // The output parses as exposition text.
        let parsed = crate::exposition::parse_format(out.as_bytes(), crate::ExpositionFormat::PrometheusText);
        assert!(parsed.is_ok(), "{parsed:?}");
    }
}
