//! `scrape_configs` as in Prometheus' configuration file (skeleton; extended by the scrape work).

use serde::Deserialize;

/// One `scrape_configs` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// The job name, the default `job` label.
    pub job_name: String,
    /// Static targets.
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
}

/// A `static_configs` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` targets.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels added to every target.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}
