//! Sextant ingestion: everything that turns bytes from outside into samples appended to
//! [`storage::Appendable`].
//!
//! # Layout
//! - `exposition`: Prometheus text and OpenMetrics parsers (pure, no I/O).
//! - `scrape`: the scrape manager, targets, relabeling, scrape loops.
//! - `remote_write`: Prometheus remote write v1/v2 decoding and the push endpoint.
//! - `otlp`: OTLP metrics decoding, translation to Prometheus series, HTTP and gRPC endpoints.

pub mod exposition;
pub mod otlp;
pub mod remote_write;
pub mod scrape;

pub use exposition::{
    parse as parse_exposition, Format as ExpositionFormat, ParseError, Parsed, ParsedSample,
};
pub use scrape::{GlobalConfig, ScrapeConfig, ScrapeManager, TargetHealth, TargetStatus};
