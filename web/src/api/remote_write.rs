//! `GET /api/v1/status/remote_write` (a Sextant extension): the remote-write queues that forward
//! what Sextant ingests, as the root's [`RemoteWriteProvider`] reports them.

use super::{ApiError, Success};
use crate::WebState;
use axum::extract::State;
use serde::Serialize;
use std::sync::Arc;

/// One forwarding queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteWriteQueue {
    /// `remote_name`.
    pub name: String,
    /// Endpoint.
    pub url: String,
    /// `prometheus.WriteRequest` or `io.prometheus.write.v2.Request`.
    pub protobuf_message: String,
    /// Running shards.
    pub shards: u64,
    /// Shards the last computation wanted (unrounded).
    pub shards_desired: f64,
    /// `queue_config.min_shards`.
    pub min_shards: usize,
    /// `queue_config.max_shards`.
    pub max_shards: usize,
    /// Samples waiting (unread in the WAL plus in shards) at the last shard computation.
    pub backlog_samples: u64,
    /// Newest timestamp read from the WAL (ms), if any.
    pub highest_read_timestamp: Option<i64>,
    /// Samples waiting to be sent.
    pub samples_pending: i64,
    /// Samples sent.
    pub samples_sent: u64,
    /// Samples the remote end refused.
    pub samples_failed: u64,
    /// Samples retried after a recoverable error.
    pub samples_retried: u64,
    /// Samples dropped before sending (relabeling, unknown series).
    pub samples_dropped: u64,
    /// Exemplars waiting to be sent (`send_exemplars: true`).
    pub exemplars_pending: i64,
    /// Exemplars sent.
    pub exemplars_sent: u64,
    /// Exemplars the remote end refused.
    pub exemplars_failed: u64,
    /// Exemplars retried after a recoverable error.
    pub exemplars_retried: u64,
    /// Exemplars dropped before sending (relabeling, unknown series, too old).
    pub exemplars_dropped: u64,
    /// Newest timestamp sent (ms), if any.
    pub highest_sent_timestamp: Option<i64>,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// The WAL position sent up to (`segment:offset`).
    pub wal_position: Option<String>,
}

/// Supplies the queues (implemented by the root over the forwarding manager in `ingest`).
pub trait RemoteWriteProvider: Send + Sync {
    /// The queues now.
    fn queues(&self) -> Vec<RemoteWriteQueue>;
}

/// `GET /api/v1/status/remote_write`: `[]` when nothing is forwarded.
pub async fn remote_write(State(st): State<Arc<WebState>>) -> Result<Success, ApiError> {
    let queues = st.remote_write.as_ref().map(|p| p.queues()).unwrap_or_default();
    Success::json(&queues)
}
