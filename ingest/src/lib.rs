//! Sextant ingestion: everything that turns bytes from outside into samples appended to
//! [`storage::Appendable`].
//!
//! # Layout
//! - `exposition`: Prometheus text and OpenMetrics parsers (pure, no I/O).
//! - `client`: the HTTP client kit shared by scraping, HTTP discovery and forwarding: auth,
//!   TLS, `http_headers`, proxy, redirects, and the reqwest client built from them.
//! - `relabel`: every relabel action, on [`storage::Labels`] (scrape targets and series,
//!   `write_relabel_configs`).
//! - `scrape`: `scrape_configs`, service discovery, targets, scrape loops, the manager.
//! - `router`: the push router ([`push_router`]), merging the routes of each protocol.
//! - `push`: what the push protocols share: limits, body reading, label validation,
//!   native-histogram conversion, the batch writer, rejection counts, the handler skeleton
//!   (`respond`); and `push::import`, the text import endpoint.
//! - `remote_write`: Prometheus remote write v1/v2: decoding, writing, the series cache, and
//!   its handler (`remote_write::handler`).
//! - `otlp`: OTLP metrics decoding, translation to Prometheus series, span metrics, the
//!   OTLP/HTTP routes (`otlp::http`) and the gRPC service.
//! - `forward`: remote-write forwarding from the WAL (queues, shards, retries).
//! - `metrics`: ingestion's self-metrics (samples per protocol, scrapes) and their rendering.
//! - `error`: [`PushError`], the push endpoints' errors and their HTTP statuses, and
//!   [`ConfigError`].
//!
//! Dependencies go one way: `router` -> protocols (`remote_write`, `otlp`, `push::import`)
//! -> `push`; `scrape` and `forward` -> `client`, `relabel`.

pub use httpclient as client;
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
