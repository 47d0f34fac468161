//! Scraping: `scrape_configs`, service discovery, targets, relabeling and scrape loops.
//!
//! # Layout
//! - [`config`]: `global` and `scrape_configs` with Prometheus' names and defaults, `validate()`.
//! - [`units`]: Prometheus durations (`1m30s`) and byte sizes (`10MB`).
//! - [`relabel`]: every relabel action, on [`storage::Labels`].

pub mod config;
pub mod relabel;
pub mod units;

pub use config::{GlobalConfig, ScrapeConfig, StaticConfig};
pub use relabel::{Action, RelabelConfig};
pub use units::{ByteSize, PromDuration};
