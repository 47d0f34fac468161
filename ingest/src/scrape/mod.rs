//! Scraping: `scrape_configs`, service discovery, targets, relabeling and scrape loops.
//!
//! # Layout
//! - [`config`]: `global` and `scrape_configs` with Prometheus' names and defaults, `validate()`.
//! - [`units`]: Prometheus durations (`1m30s`) and byte sizes (`10MB`).
//! - [`relabel`]: every relabel action, on [`storage::Labels`].
//! - [`discovery`]: static, file and HTTP service discovery.
//! - [`target`]: from discovered groups to targets (relabeling, URL, labels) and their status.
//! - `scrape_loop`: one target's loop: fetch, parse, append, staleness, `up`/`scrape_*`.
//! - `meta_lines`: a target's HELP/TYPE/UNIT lines, shared between targets exposing the same.
//! - `series_cache`: a target's scrape cache, series text -> entry, keys in one arena.
//! - [`manager`]: [`ScrapeManager`], one pool per job, reload without losing data.
//! - [`http`]: the HTTP client per job (TLS, auth, proxy, redirects).
//! - `tls`: the rustls configuration used when `tls_config.server_name` is set.

pub mod config;
pub mod discovery;
pub mod http;
pub(crate) mod http_client_fields;
pub mod manager;
mod meta_lines;
pub mod relabel;
mod scrape_loop;
mod series_cache;
pub mod target;
mod tls;
pub mod units;
pub mod unsupported_sd;

pub use config::{ConfigError, GlobalConfig, ScrapeConfig, StaticConfig};
pub use manager::{ScrapeManager, TargetMetadata};
pub use relabel::{Action, RelabelConfig};
pub use scrape_loop::{accept_header, REPORT_SERIES};
pub use target::{DroppedTarget, TargetGroup, TargetHealth, TargetStatus};
pub use units::{ByteSize, PromDuration};
