//! Sextant ingestion: everything that turns bytes from outside into samples appended to
//! [`storage::Appendable`].
//!
//! # Layout
//! - `exposition`: Prometheus text and OpenMetrics parsers (pure, no I/O).
//! - `scrape`: the scrape manager, targets, relabeling, scrape loops.
//! - `push`: the push router ([`push_router`]): limits, body reading, label validation,
//!   native-histogram conversion and the batch writer shared by the push protocols.
//! - `remote_write`: Prometheus remote write v1/v2 decoding and writing.
//! - `forward`: remote-write forwarding from the WAL (queues, shards, retries).
//! - `otlp`: OTLP metrics decoding, translation to Prometheus series, HTTP and gRPC endpoints.
//! - `metrics`: ingestion's self-metrics (samples per protocol, scrapes) and their rendering.
//! - `error`: [`PushError`], the push endpoints' errors and their HTTP statuses.

pub mod client;
pub mod error;
pub mod exposition;
pub mod forward;
pub mod metrics;
pub mod otlp;
pub mod push;
pub mod relabel;
pub mod remote_write;
pub mod router;
pub mod scrape;

pub use error::{ConfigError, PushError};
pub use push::{OtlpOptions, PushLimits, WriteOutcome};
pub use router::push_router;

pub use exposition::{
    parse as parse_exposition, Format as ExpositionFormat, ParseError, Parsed, ParsedSample,
};
pub use scrape::{GlobalConfig, ScrapeConfig, ScrapeManager, TargetHealth, TargetStatus};
