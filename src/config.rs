//! The configuration file, `prometheus.yml`-compatible, and the embedded default.
//!
//! Sections Sextant does not implement yet (`remote_read`, `storage`, ...) are
//! accepted and reported with a warning, so an existing Prometheus file loads unchanged; an
//! unknown field anywhere is an error that names it, as in Prometheus.

use ingest::{GlobalConfig, ScrapeConfig};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::path::Path;

/// The configuration used when no `--config.file` is given. `__SELF__` is replaced by the
/// address Sextant listens on, so it scrapes itself; a beacon node on the same machine serves
/// the beacon metrics specification's metrics on port 8008 by default, so that is scraped too
/// (a target that is not there shows as down on the targets page).
pub const DEFAULT_CONFIG: &str = "\
# Sextant's embedded default configuration (prometheus.yml format).
# Point --config.file at your own prometheus.yml to scrape your nodes.
global:
  scrape_interval: 15s
  scrape_timeout: 10s
  evaluation_interval: 15s
scrape_configs:
  - job_name: sextant
    static_configs:
      - targets: ['__SELF__']
  - job_name: beacon
    static_configs:
      - targets: ['127.0.0.1:8008']
";

/// The whole configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Global defaults.
    #[serde(default)]
    pub global: GlobalConfig,
    /// What to scrape.
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Rule files (globs, relative to the configuration file's directory).
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Where alerts are sent.
    #[serde(default)]
    pub alerting: rules::AlertingConfig,
    /// Where everything ingested is forwarded by remote write (Prometheus' fields and defaults).
    #[serde(default)]
    pub remote_write: Vec<ingest::forward::RemoteWriteConfig>,
    /// Not implemented yet: accepted with a warning.
    pub remote_read: Option<IgnoredAny>,
    /// `storage.exemplars` is applied at start-up; `storage.tsdb` is accepted with a warning.
    pub storage: Option<StorageConfig>,
    /// Not implemented yet: accepted with a warning.
    pub tracing: Option<IgnoredAny>,
    /// Not implemented yet: accepted with a warning.
    pub otlp: Option<IgnoredAny>,
    /// Not implemented yet: accepted with a warning.
    pub runtime: Option<IgnoredAny>,
    /// Not implemented yet: accepted with a warning.
    pub scrape_config_files: Option<IgnoredAny>,
}

/// The `storage` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Not implemented yet: accepted with a warning.
    pub tsdb: Option<IgnoredAny>,
    /// Exemplar storage.
    pub exemplars: Option<ExemplarsConfig>,
}

/// `storage.exemplars`, as Prometheus'.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemplarsConfig {
    /// Capacity of the exemplar ring shared by all series (0 or negative: none kept).
    pub max_exemplars: Option<i64>,
}

impl Config {
    /// `storage.exemplars.max_exemplars`, if set (negative counts as 0).
    pub fn max_exemplars(&self) -> Option<usize> {
        self.storage
            .as_ref()
            .and_then(|s| s.exemplars.as_ref())
            .and_then(|e| e.max_exemplars)
            .map(|n| usize::try_from(n).unwrap_or(0))
    }
}

/// A parsed configuration with the text it came from (for `/api/v1/status/config`).
#[derive(Debug)]
pub struct LoadedConfig {
    /// The parsed file.
    pub config: Config,
    /// The YAML text as read.
    pub text: String,
    /// Where it came from (`None` = embedded default).
    pub source: Option<std::path::PathBuf>,
}

impl LoadedConfig {
    /// Reads and parses `path`, or the embedded default (scraping `localhost:9090` as itself)
    /// when `None`.
    pub fn load(path: Option<&Path>) -> Result<LoadedConfig, String> {
        Self::load_with_self(path, "localhost:9090")
    }

    /// Like [`LoadedConfig::load`], with the address the embedded default scrapes as Sextant.
    pub fn load_with_self(path: Option<&Path>, self_target: &str) -> Result<LoadedConfig, String> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read config file {}: {e}", p.display()))?,
            None => DEFAULT_CONFIG.replace("__SELF__", self_target),
        };
        let name = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<embedded default>".into());
        let config = parse(&text).map_err(|e| format!("invalid config file {name}: {e}"))?;
        Ok(LoadedConfig {
            config,
            text,
            source: path.map(Path::to_path_buf),
        })
    }

    /// Names of present sections that Sextant accepts but does not act on yet.
    pub fn unsupported_sections(&self) -> Vec<&'static str> {
        let c = &self.config;
        let mut v = Vec::new();
        for (present, name) in [
            (c.remote_read.is_some(), "remote_read"),
            (
                c.storage.as_ref().is_some_and(|s| s.tsdb.is_some()),
                "storage.tsdb",
            ),
            (c.tracing.is_some(), "tracing"),
            (c.otlp.is_some(), "otlp"),
            (c.runtime.is_some(), "runtime"),
            (c.scrape_config_files.is_some(), "scrape_config_files"),
        ] {
            if present {
                v.push(name);
            }
        }
        v
    }
}

/// Parses configuration text. An empty file is the empty configuration.
pub fn parse(text: &str) -> Result<Config, String> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let config: Config = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    ingest::scrape::config::validate(&config.global, &config.scrape_configs).map_err(|e| e.to_string())?;
    ingest::forward::config::validate(&config.remote_write).map_err(|e| e.to_string())?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses() {
        let c = LoadedConfig::load_with_self(None, "127.0.0.1:1234").expect("default config");
        let jobs: Vec<&str> = c
            .config
            .scrape_configs
            .iter()
            .map(|s| s.job_name.as_str())
            .collect();
        assert_eq!(jobs, ["sextant", "beacon"]);
        assert!(c.text.contains("127.0.0.1:1234"));
        assert_eq!(c.config.global.scrape_interval.0.as_millis(), 15_000);
    }

    #[test]
    fn unknown_field_is_named() {
        let e = parse("global:\n  scrape_intervall: 15s\n").expect_err("unknown field");
        assert!(e.contains("scrape_intervall"), "{e}");
    }

    #[test]
    fn unsupported_sections_are_accepted() {
        let c = parse("rule_files: [a.yml]\nremote_read:\n  - url: http://x/api/v1/read\n").expect("ok");
        assert!(c.remote_read.is_some());
        assert_eq!(c.rule_files, ["a.yml"]);
    }

    #[test]
    fn remote_write_is_parsed_and_checked() {
        let c = parse("remote_write:\n  - url: http://x/api/v1/write\n    queue_config: {max_shards: 3}\n")
            .expect("ok");
        assert_eq!(c.remote_write[0].queue_config.max_shards, 3);
        assert_eq!(c.remote_write[0].queue_config.capacity, 10_000);
        let e = parse("remote_write:\n  - url: http://x/api/v1/write\n    queue_config: {max_shardz: 3}\n")
            .expect_err("unknown");
        assert!(e.contains("max_shardz"), "{e}");
        let e = parse("remote_write:\n  - url: x\n").expect_err("bad url");
        assert!(e.contains("remote_write[0]"), "{e}");
    }

    #[test]
    fn storage_exemplars_section() {
        let c = parse("storage:\n  exemplars:\n    max_exemplars: 5000\n").expect("ok");
        assert_eq!(c.max_exemplars(), Some(5000));
        assert_eq!(
            parse("storage:\n  exemplars:\n    max_exemplars: -1\n")
                .unwrap()
                .max_exemplars(),
            Some(0)
        );
        assert_eq!(parse("").unwrap().max_exemplars(), None);
        let e = parse("storage:\n  exemplars:\n    max_exemplar: 1\n").expect_err("unknown field");
        assert!(e.contains("max_exemplar"), "{e}");
    }

    #[test]
    fn duplicate_jobs_rejected() {
        let e = parse("scrape_configs:\n  - job_name: a\n  - job_name: a\n").expect_err("dup");
        assert!(e.contains("multiple"), "{e}");
    }

    #[test]
    fn bad_duration_rejected() {
        assert!(parse("global:\n  scrape_interval: 15x\n").is_err());
    }
}
