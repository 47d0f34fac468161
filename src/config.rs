//! The configuration file, `prometheus.yml`-compatible, and the embedded default.
//!
//! Loading follows Prometheus' (defaults, inheritance from `global`, validation order,
//! paths relative to the file). A setting is applied or refused: sections and keys
//! Prometheus has and Sextant does not apply (`remote_read`, `tracing`, `runtime`, some
//! `storage.tsdb` and `otlp` keys) are refused at load with a message naming them, and an
//! unknown field anywhere is an error that names it, as in Prometheus.

use ingest::{GlobalConfig, ScrapeConfig};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use storage::model::yaml::{self, nullable};

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

/// The line of [`DEFAULT_CONFIG`] that starts the self-scrape job.
const SELF_JOB_LINE: &str = "  - job_name: sextant\n";

/// The whole configuration file. A key written with no value (only comments under it) is the
/// same as the key left out, as in Prometheus.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Global defaults.
    #[serde(default, deserialize_with = "nullable")]
    pub global: GlobalConfig,
    /// What to scrape (after loading, with the jobs of `scrape_config_files` appended).
    #[serde(default, deserialize_with = "nullable")]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Globs of files holding more `scrape_configs` (relative to the configuration file's
    /// directory); read at every load and reload.
    #[serde(default, deserialize_with = "nullable")]
    pub scrape_config_files: Vec<String>,
    /// Rule files (globs, relative to the configuration file's directory).
    #[serde(default, deserialize_with = "nullable")]
    pub rule_files: Vec<String>,
    /// Where alerts are sent.
    #[serde(default, deserialize_with = "nullable")]
    pub alerting: rules::AlertingConfig,
    /// Where everything ingested is forwarded by remote write (Prometheus' fields and defaults).
    #[serde(default, deserialize_with = "nullable")]
    pub remote_write: Vec<ingest::forward::RemoteWriteConfig>,
    /// Querying remote stores: refused at load (see [`refuse_unapplied_sections`]).
    #[serde(default, deserialize_with = "nullable")]
    pub remote_read: Option<IgnoredAny>,
    /// `storage.tsdb` (out-of-order window, retention) and `storage.exemplars`.
    #[serde(default, deserialize_with = "nullable")]
    pub storage: Option<StorageConfig>,
    /// Tracing of Sextant itself: refused at load; Sextant takes the `OTEL_*` variables.
    #[serde(default, deserialize_with = "nullable")]
    pub tracing: Option<IgnoredAny>,
    /// OTLP translation options.
    #[serde(default, deserialize_with = "nullable")]
    pub otlp: Option<OtlpConfig>,
    /// Go runtime settings: refused at load (Sextant is not a Go program).
    #[serde(default, deserialize_with = "nullable")]
    pub runtime: Option<IgnoredAny>,
}

/// `otlp`, Prometheus' OTLP translation options. The two Sextant applies are fields; the
/// others are accepted only at the value that describes what Sextant does.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// Resource attributes copied onto every series of the resource.
    #[serde(default, deserialize_with = "nullable")]
    pub promote_resource_attributes: Vec<String>,
    /// Add `otel_scope_name`, `otel_scope_version` and scope attributes to every series.
    #[serde(default, deserialize_with = "nullable")]
    pub promote_scope_metadata: bool,
    /// Only `UnderscoreEscapingWithSuffixes` (what Sextant does) is accepted.
    #[serde(default, deserialize_with = "nullable")]
    pub translation_strategy: Option<String>,
    /// Only `false` is accepted.
    #[serde(default, deserialize_with = "nullable")]
    pub promote_all_resource_attributes: bool,
    /// Only empty is accepted (it goes with `promote_all_resource_attributes`).
    #[serde(default, deserialize_with = "nullable")]
    pub ignore_resource_attributes: Vec<String>,
    /// Only `false` is accepted.
    #[serde(default, deserialize_with = "nullable")]
    pub keep_identifying_resource_attributes: bool,
    /// Only `false` is accepted (native histograms are not stored yet).
    #[serde(default, deserialize_with = "nullable")]
    pub convert_histograms_to_nhcb: bool,
    /// Only `false` is accepted.
    #[serde(default, deserialize_with = "nullable")]
    pub label_name_underscore_sanitization: bool,
    /// Only `false` is accepted.
    #[serde(default, deserialize_with = "nullable")]
    pub label_name_preserve_multiple_underscores: bool,
}

impl OtlpConfig {
    /// Refuses an option set to a value Sextant does not implement, naming it.
    fn check(&self) -> Result<(), String> {
        if let Some(t) = &self.translation_strategy {
            if t != "UnderscoreEscapingWithSuffixes" {
                return Err(format!(
                    "otlp.translation_strategy {t:?} is not supported: Sextant translates OTLP names as UnderscoreEscapingWithSuffixes"
                ));
            }
        }
        for (set, name) in [
            (
                self.promote_all_resource_attributes,
                "promote_all_resource_attributes",
            ),
            (
                !self.ignore_resource_attributes.is_empty(),
                "ignore_resource_attributes",
            ),
            (
                self.keep_identifying_resource_attributes,
                "keep_identifying_resource_attributes",
            ),
            (self.convert_histograms_to_nhcb, "convert_histograms_to_nhcb"),
            (
                self.label_name_underscore_sanitization,
                "label_name_underscore_sanitization",
            ),
            (
                self.label_name_preserve_multiple_underscores,
                "label_name_preserve_multiple_underscores",
            ),
        ] {
            if set {
                return Err(format!(
                    "otlp.{name} is not supported by Sextant; remove it (Sextant applies promote_resource_attributes and promote_scope_metadata)"
                ));
            }
        }
        Ok(())
    }
}

/// `storage.tsdb`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    /// How far behind a series' newest sample an out-of-order sample is accepted; overrides
    /// `--storage.tsdb.out-of-order-time-window`.
    #[serde(default, deserialize_with = "nullable")]
    pub out_of_order_time_window: Option<storage::PromDuration>,
    /// Retention; refused (Sextant takes `--storage.tsdb.retention.time` / `.size`).
    #[serde(default, deserialize_with = "nullable")]
    pub retention: Option<IgnoredAny>,
    /// Refused (no such compaction in Sextant).
    #[serde(default, deserialize_with = "nullable")]
    pub stale_series_compaction_threshold: Option<IgnoredAny>,
    /// Refused (Sextant has one chunk encoding, chosen by measurement).
    #[serde(default, deserialize_with = "nullable")]
    pub chunk_encoding: Option<IgnoredAny>,
}

/// Refuses, naming it, every section or key Prometheus has that Sextant does not apply (a
/// setting is either applied or refused, never silently ignored).
fn refuse_unapplied_sections(c: &Config) -> Result<(), String> {
    if c.remote_read.is_some() {
        return Err("remote_read is not supported: Sextant answers queries from its own storage only; remove the section (Grafana can query the remote store as a data source of its own)".into());
    }
    if c.tracing.is_some() {
        return Err("tracing is not configured in the file: Sextant exports its own traces when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (or OTEL_EXPORTER_OTLP_ENDPOINT) is set; remove the section".into());
    }
    if c.runtime.is_some() {
        return Err(
            "runtime (gogc) tunes Go's garbage collector and has no meaning for Sextant; remove the section"
                .into(),
        );
    }
    if let Some(tsdb) = c.storage.as_ref().and_then(|s| s.tsdb.as_ref()) {
        if tsdb.retention.is_some() {
            return Err("storage.tsdb.retention is not read from the file: use --storage.tsdb.retention.time and --storage.tsdb.retention.size".into());
        }
        for (set, name) in [
            (
                tsdb.stale_series_compaction_threshold.is_some(),
                "stale_series_compaction_threshold",
            ),
            (tsdb.chunk_encoding.is_some(), "chunk_encoding"),
        ] {
            if set {
                return Err(format!(
                    "storage.tsdb.{name} is not supported by Sextant; remove it"
                ));
            }
        }
    }
    if let Some(o) = &c.otlp {
        o.check()?;
    }
    Ok(())
}

/// A file named by `scrape_config_files`: more jobs, in the same format.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrapeConfigFile {
    #[serde(default, deserialize_with = "nullable")]
    scrape_configs: Vec<ScrapeConfig>,
}

/// The `storage` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `storage.tsdb`: the out-of-order window.
    #[serde(default, deserialize_with = "nullable")]
    pub tsdb: Option<TsdbConfig>,
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
        Self::load_with_self(path, "localhost:9090", "")
    }

    /// Like [`LoadedConfig::load`], with the address the embedded default scrapes as Sextant
    /// and `self_job_settings` (YAML lines indented for a job, e.g. scheme and credentials)
    /// added to its `sextant` job.
    pub fn load_with_self(
        path: Option<&Path>,
        self_target: &str,
        self_job_settings: &str,
    ) -> Result<LoadedConfig, String> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read config file {}: {e}", p.display()))?,
            None => DEFAULT_CONFIG
                .replace("__SELF__", self_target)
                .replace(SELF_JOB_LINE, &format!("{SELF_JOB_LINE}{self_job_settings}")),
        };
        let name = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<embedded default>".into());
        let dir = path.map(|p| p.parent().unwrap_or(Path::new("")).to_path_buf());
        let config =
            parse_in(&text, dir.as_deref()).map_err(|e| format!("invalid config file {name}: {e}"))?;
        Ok(LoadedConfig {
            config,
            text,
            source: path.map(Path::to_path_buf),
        })
    }

    /// `storage.tsdb.out_of_order_time_window` in milliseconds, if the file sets it.
    pub fn out_of_order_window_ms(&self) -> Option<i64> {
        let d = self
            .config
            .storage
            .as_ref()?
            .tsdb
            .as_ref()?
            .out_of_order_time_window?;
        Some(i64::try_from(d.get().as_millis()).unwrap_or(i64::MAX))
    }

    /// The settings applied at start-up only (`otlp`, `storage.tsdb`), to tell a reload that
    /// changed them.
    pub fn startup_only_settings(&self) -> String {
        let tsdb = self.config.storage.as_ref().and_then(|s| s.tsdb.as_ref());
        format!(
            "{:?} {:?}",
            self.config
                .otlp
                .as_ref()
                .map(|o| (&o.promote_resource_attributes, o.promote_scope_metadata)),
            tsdb.and_then(|t| t.out_of_order_time_window)
        )
    }

    /// Refuses what Prometheus refuses in agent mode: rule files, alerting and remote read.
    pub fn check_agent_mode(&self) -> Result<(), String> {
        let c = &self.config;
        if !c.alerting.alertmanagers.is_empty() || c.alerting.alert_relabel_configs {
            return Err("field alerting is not allowed in agent mode".into());
        }
        if !c.rule_files.is_empty() {
            return Err("field rule_files is not allowed in agent mode".into());
        }
        Ok(())
    }
}

/// Parses configuration text as it would be loaded from the current directory.
pub fn parse(text: &str) -> Result<Config, String> {
    parse_in(text, Some(Path::new("")))
}

/// Parses and validates configuration text the way Prometheus loads a file: the global
/// defaults first, then `${VAR}` expansion in `external_labels`, the `rule_files` and
/// `scrape_config_files` patterns checked, the jobs of `scrape_config_files` (relative to
/// `dir`, the file's directory) appended, and every job and `remote_write` entry validated.
/// An empty file is the empty configuration.
pub fn parse_in(text: &str, dir: Option<&Path>) -> Result<Config, String> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    refuse_unsupported_discovery(text, None)?;
    let mut config: Config = yaml::from_str(text)?;
    refuse_unapplied_sections(&config)?;
    config.global.apply_defaults().map_err(|e| e.to_string())?;
    expand_external_labels(&mut config.global.external_labels);
    for (kind, patterns) in [
        ("rule file", &config.rule_files),
        ("scrape config file", &config.scrape_config_files),
    ] {
        for p in patterns {
            if p.is_empty() || glob::Pattern::new(p).is_err() {
                return Err(format!("invalid {kind} path {p:?}"));
            }
        }
    }
    ingest::scrape::config::validate(&config.global, &config.scrape_configs).map_err(|e| e.to_string())?;
    if let Some(dir) = dir {
        for job in &mut config.scrape_configs {
            job.set_directory(dir);
        }
        for rw in &mut config.remote_write {
            rw.set_http_directory(dir);
        }
        for am in &mut config.alerting.alertmanagers {
            am.set_http_directory(dir);
        }
        let more = read_scrape_config_files(dir, &config)?;
        config.scrape_configs.extend(more);
    }
    ingest::forward::config::validate(&config.remote_write).map_err(|e| e.to_string())?;
    config.alerting.validate()?;
    Ok(config)
}

/// The jobs of the files `scrape_config_files` names (globs relative to `dir`), each file's
/// jobs validated against the global defaults; a job name used twice is an error naming where
/// it was first seen.
fn read_scrape_config_files(dir: &Path, config: &Config) -> Result<Vec<ScrapeConfig>, String> {
    let mut first_seen: BTreeMap<String, String> = config
        .scrape_configs
        .iter()
        .map(|j| (j.job_name.clone(), "main config file".to_string()))
        .collect();
    let mut out = Vec::new();
    for pattern in &config.scrape_config_files {
        let full = dir.join(pattern);
        let paths = glob::glob(&full.to_string_lossy())
            .map_err(|e| format!("invalid scrape config file path {pattern:?}: {e}"))?;
        let mut files: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
        files.sort();
        for file in files {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("{name:?}: cannot read scrape config file: {e}"))?;
            if text.trim().is_empty() {
                continue;
            }
            refuse_unsupported_discovery(&text, Some(&name))?;
            let parsed: ScrapeConfigFile = yaml::from_str(&text).map_err(|e| format!("{name:?}: {e}"))?;
            ingest::scrape::config::validate(&config.global, &parsed.scrape_configs)
                .map_err(|e| format!("{name:?}: {e}"))?;
            let file_dir = file.parent().unwrap_or(dir);
            for mut job in parsed.scrape_configs {
                job.set_directory(file_dir);
                if let Some(first) = first_seen.get(&job.job_name) {
                    return Err(format!(
                        "{name:?}: found multiple scrape configs with job name {:?}, first found in {first}",
                        job.job_name
                    ));
                }
                first_seen.insert(job.job_name.clone(), format!("{name:?}"));
                out.push(job);
            }
        }
    }
    Ok(out)
}

/// A job (or Alertmanager entry) seen loosely: its name and the keys it uses.
#[derive(Deserialize)]
struct LooseSection {
    #[serde(default)]
    job_name: Option<String>,
    #[serde(flatten)]
    keys: BTreeMap<String, IgnoredAny>,
}

#[derive(Default, Deserialize)]
struct LooseAlerting {
    #[serde(default, deserialize_with = "nullable")]
    alertmanagers: Vec<LooseSection>,
}

#[derive(Deserialize)]
struct LooseConfig {
    #[serde(default, deserialize_with = "nullable")]
    scrape_configs: Vec<LooseSection>,
    #[serde(default, deserialize_with = "nullable")]
    alerting: LooseAlerting,
}

/// Refuses, with one line naming the job and the mechanism, a service discovery Sextant does
/// not implement (checked before the strict parse, so this is the error the user sees rather
/// than "unknown field"). Text that does not even parse loosely is left to the strict parse.
fn refuse_unsupported_discovery(text: &str, file: Option<&str>) -> Result<(), String> {
    let Ok(loose) = yaml::from_str::<LooseConfig>(text) else {
        return Ok(());
    };
    let prefix = file.map(|f| format!("{f:?}: ")).unwrap_or_default();
    let jobs = loose.scrape_configs.iter().map(|j| {
        let name = j.job_name.as_deref().unwrap_or("");
        (format!("{prefix}job {name:?}"), j)
    });
    let managers = loose
        .alerting
        .alertmanagers
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("{prefix}alerting.alertmanagers[{i}]"), a));
    for (place, section) in jobs.chain(managers) {
        for key in section.keys.keys() {
            if let Some(msg) = ingest::scrape::unsupported_sd::refusal(&place, key) {
                return Err(msg);
            }
        }
    }
    Ok(())
}

/// `$VAR` and `${VAR}` in external label values replaced by the environment's value (unset:
/// empty, with a warning), `$$` by `$`, as Prometheus 3 does.
fn expand_external_labels(labels: &mut BTreeMap<String, String>) {
    for (name, value) in labels.iter_mut() {
        if value.contains('$') {
            let expanded = expand_env(value, |var| std::env::var(var).ok());
            if expanded != *value {
                tracing::debug!(label = %name, input = %value, output = %expanded, "external label expanded");
            }
            *value = expanded;
        }
    }
}

/// Go's `os.Expand` with Prometheus' mapping: `$$` is `$`, an unset variable is empty.
fn expand_env(s: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, used) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", after.len()), // "${" without "}": Go drops it
            }
        } else if let Some(after_dollar) = after.strip_prefix('$') {
            out.push('$');
            rest = after_dollar;
            continue;
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                // A lone "$" (at the end or before punctuation) stays as written.
                out.push('$');
                rest = after;
                continue;
            }
            (&after[..end], end)
        };
        if !name.is_empty() {
            match lookup(name).filter(|v| !v.is_empty()) {
                Some(v) => out.push_str(&v),
                None => tracing::warn!(name, "empty environment variable in external_labels"),
            }
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses() {
        let c = LoadedConfig::load_with_self(None, "127.0.0.1:1234", "").expect("default config");
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
    fn unapplied_sections_are_refused_by_name() {
        for (yaml, name) in [
            (
                "remote_read:\n  - url: http://127.0.0.1:1/api/v1/read\n",
                "remote_read",
            ),
            ("tracing:\n  endpoint: 127.0.0.1:4317\n", "tracing"),
            ("runtime:\n  gogc: 50\n", "runtime"),
            (
                "storage:\n  tsdb:\n    retention:\n      time: 1d\n",
                "storage.tsdb.retention",
            ),
            (
                "otlp:\n  translation_strategy: NoTranslation\n",
                "otlp.translation_strategy",
            ),
            (
                "otlp:\n  keep_identifying_resource_attributes: true\n",
                "otlp.keep_identifying_resource_attributes",
            ),
        ] {
            let e = parse(yaml).expect_err(name);
            assert!(e.starts_with(name), "{name}: {e}");
        }
        let c = parse("storage:\n  tsdb:\n    out_of_order_time_window: 30m\notlp:\n  promote_resource_attributes: [service.namespace]\n  translation_strategy: UnderscoreEscapingWithSuffixes\n")
            .expect("applied keys");
        assert_eq!(
            c.otlp.map(|o| o.promote_resource_attributes),
            Some(vec!["service.namespace".to_string()])
        );
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

    #[test]
    fn null_sections_are_empty_as_in_prometheus() {
        // Prometheus' own example prometheus.yml: everything under these keys commented out.
        let c = parse(
            "global:\n  # scrape_interval: 15s\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets:\n          # - alertmanager:9093\nrule_files:\n  # - \"first_rules.yml\"\nscrape_configs:\n  - job_name: a\n    static_configs:\n      - targets:\n        labels:\n",
        )
        .expect("null lists and sections");
        assert!(c.rule_files.is_empty());
        assert!(c.scrape_configs[0].static_configs[0].targets.is_empty());
        assert_eq!(c.global.scrape_interval.0.as_secs(), 60);
    }

    #[test]
    fn a_fast_global_interval_needs_no_timeout() {
        for interval in ["1s", "5s", "12s"] {
            let c = parse(&format!(
                "global:\n  scrape_interval: {interval}\nscrape_configs:\n  - job_name: a\n"
            ))
            .unwrap_or_else(|e| panic!("{interval}: {e}"));
            assert!(c.global.scrape_timeout <= c.global.scrape_interval);
        }
    }

    #[test]
    fn unsupported_discovery_is_one_clear_line() {
        let e = parse("scrape_configs:\n  - job_name: pods\n    kubernetes_sd_configs:\n      - role: pod\n")
            .expect_err("kubernetes");
        assert!(e.starts_with("job \"pods\": kubernetes_sd_configs"), "{e}");
        assert!(e.contains("file_sd_configs") && !e.contains('\n'), "{e}");
        let e = parse("alerting:\n  alertmanagers:\n    - dns_sd_configs:\n        - names: [am.local]\n")
            .expect_err("dns in alerting");
        assert!(e.contains("alerting.alertmanagers[0]: dns_sd_configs"), "{e}");
    }

    #[test]
    fn unknown_field_lists_the_allowed_fields_once() {
        let e = parse("scrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n").expect_err("unknown");
        assert_eq!(e.matches("expected one of").count(), 1, "{e}");
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn bad_rule_file_pattern_is_named() {
        let e = parse("rule_files: ['rules/[a.yml']\n").expect_err("bad glob");
        assert!(e.contains("invalid rule file path"), "{e}");
    }

    #[test]
    fn scrape_config_files_add_jobs() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("conf.d")).expect("mkdir");
        std::fs::write(
            dir.path().join("conf.d/a.yml"),
            "scrape_configs:\n  - job_name: extra\n    static_configs:\n      - targets: ['x:1']\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("conf.d/b.yml"), "").expect("write");
        let main = dir.path().join("prometheus.yml");
        std::fs::write(
            &main,
            "scrape_config_files: ['conf.d/*.yml']\nscrape_configs:\n  - job_name: main\n",
        )
        .expect("write");
        let c = LoadedConfig::load(Some(&main)).expect("load");
        let jobs: Vec<&str> = c
            .config
            .scrape_configs
            .iter()
            .map(|j| j.job_name.as_str())
            .collect();
        assert_eq!(jobs, ["main", "extra"]);
        std::fs::write(
            dir.path().join("conf.d/c.yml"),
            "scrape_configs:\n  - job_name: main\n",
        )
        .expect("write");
        let e = LoadedConfig::load(Some(&main)).expect_err("duplicate");
        assert!(
            e.contains("c.yml") && e.contains("first found in main config file"),
            "{e}"
        );
    }

    #[test]
    fn env_expansion_in_external_labels() {
        let env = |k: &str| match k {
            "REGION" => Some("eu1".to_string()),
            _ => None,
        };
        assert_eq!(expand_env("${REGION}-a", env), "eu1-a");
        assert_eq!(expand_env("$REGION/b", env), "eu1/b");
        assert_eq!(expand_env("cost $$5", env), "cost $5");
        assert_eq!(expand_env("x${UNSET}y", env), "xy");
        assert_eq!(expand_env("plain", env), "plain");
        assert_eq!(expand_env("end$", env), "end$");
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let main = dir.path().join("prometheus.yml");
        std::fs::write(
            &main,
            "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password_file: secrets/pw}\n    tls_config: {ca_file: /etc/ca.pem, cert_file: c.pem, key_file: k.pem}\n    file_sd_configs:\n      - files: ['targets/*.json']\nremote_write:\n  - url: http://127.0.0.1:1/api/v1/write\n    authorization: {credentials_file: token}\n",
        )
        .expect("write");
        let c = LoadedConfig::load(Some(&main)).expect("load");
        let d = dir.path().to_string_lossy().into_owned();
        let job = &c.config.scrape_configs[0];
        let pw = job.basic_auth.as_ref().and_then(|b| b.password_file.clone());
        assert_eq!(pw, Some(format!("{d}/secrets/pw")));
        assert_eq!(
            job.tls_config.ca_file.as_deref(),
            Some("/etc/ca.pem"),
            "absolute stays"
        );
        assert_eq!(job.tls_config.cert_file, Some(format!("{d}/c.pem")));
        assert_eq!(job.file_sd_configs[0].files, [format!("{d}/targets/*.json")]);
        let rw = c.config.remote_write[0]
            .authorization
            .as_ref()
            .and_then(|a| a.credentials_file.clone());
        assert_eq!(rw, Some(format!("{d}/token")));
    }
}
