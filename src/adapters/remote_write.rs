//! Adapts the remote-write queues (in `ingest`) to the web layer's status endpoint, and the
//! configuration's external labels to what the queues add.

use ingest::forward::ForwardManager;
use std::sync::Arc;
use web::{RemoteWriteProvider, RemoteWriteQueue};

/// The forwarding manager seen through `web`'s [`RemoteWriteProvider`].
pub struct ForwardStatus(pub Arc<ForwardManager>);

impl RemoteWriteProvider for ForwardStatus {
    fn queues(&self) -> Vec<RemoteWriteQueue> {
        self.0
            .statuses()
            .into_iter()
            .map(|q| RemoteWriteQueue {
                name: q.name,
                url: q.url,
                protobuf_message: q.protobuf_message,
                shards: q.shards,
                shards_desired: q.shards_desired,
                min_shards: q.min_shards,
                max_shards: q.max_shards,
                backlog_samples: q.backlog,
                highest_read_timestamp: (q.highest_read_ms != i64::MIN).then_some(q.highest_read_ms),
                samples_pending: q.pending,
                samples_sent: q.sent,
                samples_failed: q.failed,
                samples_retried: q.retried,
                samples_dropped: q.dropped,
                exemplars_pending: q.exemplars.pending,
                exemplars_sent: q.exemplars.sent,
                exemplars_failed: q.exemplars.failed,
                exemplars_retried: q.exemplars.retried,
                exemplars_dropped: q.exemplars.dropped,
                highest_sent_timestamp: (q.highest_sent_ms != i64::MIN).then_some(q.highest_sent_ms),
                last_error: q.last_error,
                wal_position: q.position,
            })
            .collect()
    }
}

/// `global.external_labels`, added to forwarded series that lack them.
pub fn external_labels(c: &crate::config::Config) -> storage::Labels {
    storage::Labels::from_pairs(c.global.external_labels.iter())
}
