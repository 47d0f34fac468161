//! Forwarding: everything Sextant ingests, sent by remote write to another system (Mimir,
//! Cortex, Thanos Receive, VictoriaMetrics, Prometheus), read back from Sextant's own WAL so
//! that an outage of the remote end or a restart loses nothing the WAL still holds.
//!
//! # Layout
//! - `config`: the `remote_write` entries of the configuration file (Prometheus' fields and
//!   defaults).
//! - `queue`: one queue: the WAL reader thread, the shards, resharding (see its diagram).
//! - `encode`: batches to 1.0 / 2.0 protobuf + snappy, through `wire` (protobuf writing by
//!   hand into reused buffers).
//! - `series`: the series a queue sends, in slots its samples refer to.
//! - `exemplar`: `send_exemplars`: the series of a WAL exemplar, and the exemplar messages.
//! - `send`: one HTTP request, what its status means (415 -> 1.0 fallback), and the backoff.
//! - `shards`: how many shards a queue runs (Prometheus' desired-shards calculation).
//! - `position`: which WAL records are fully sent, persisted under `<data>/forward/`.
//! - `metrics`: `prometheus_remote_storage_*` self-metrics.
//! - `manager`: [`ForwardManager`], the queues of the current configuration.

pub mod config;
pub mod encode;
pub mod exemplar;
pub mod manager;
pub mod metrics;
pub mod position;
pub mod queue;
pub mod send;
pub mod series;
pub mod shards;
pub mod wire;

pub use config::{MetadataConfig, ProtobufMessage, QueueConfig, RemoteWriteConfig};
pub use manager::ForwardManager;
pub use queue::{ExemplarCounts, Queue, QueueStatus};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
