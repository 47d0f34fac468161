//! Scraping: `scrape_configs`, service discovery, targets and scrape loops. The HTTP client
//! settings and client are [`crate::client`]'s, relabeling is [`crate::relabel`]'s.
//!
//! # Layout
//! - [`config`]: `global` and `scrape_configs` with Prometheus' names and defaults, `validate()`.
//! - [`discovery`]: static, file and HTTP service discovery.
//! - [`target`]: from discovered groups to targets (relabeling, URL, labels) and their status.
//! - `scrape_loop`: one target's loop: fetch, parse, append, staleness, `up`/`scrape_*`.
//! - `meta_lines`: a target's HELP/TYPE/UNIT lines, shared between targets exposing the same.
//! - `series_cache`: a target's scrape cache, series text -> entry, keys in one arena.
//! - [`manager`]: [`ScrapeManager`], one pool per job, reload without losing data.

pub mod config;
pub mod discovery;
pub mod manager;
mod meta_lines;
mod scrape_loop;
mod series_cache;
pub mod target;
pub mod unsupported_sd;

pub use config::{ConfigError, GlobalConfig, ScrapeConfig, StaticConfig};
pub use manager::{ScrapeManager, TargetMetadata};
pub use scrape_loop::{accept_header, REPORT_SERIES};
pub use target::{DroppedTarget, TargetGroup, TargetHealth, TargetStatus};
