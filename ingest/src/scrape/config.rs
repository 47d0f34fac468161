//! `global` and `scrape_configs` as in Prometheus' configuration file: the same field names,
//! the same defaults, and unknown fields rejected by name.
//!
//! The root crate reads the YAML (with `serde-saphyr`) into its own struct holding
//! `global: GlobalConfig` and `scrape_configs: Vec<ScrapeConfig>`, then calls [`validate`]
//! for the checks serde cannot make. [`ScrapeConfig::resolve`] applies the global defaults.

pub use crate::error::ConfigError;
use crate::relabel::RelabelConfig;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use storage::{ByteSize, PromDuration};

fn default_scrape_interval() -> PromDuration {
    PromDuration::secs(60)
}

fn default_scrape_timeout() -> PromDuration {
    PromDuration::secs(10)
}

fn default_true() -> bool {
    true
}

/// The `global` section (the fields that concern scraping are used; the others are accepted
/// so that an existing `prometheus.yml` loads).
///
/// Declared boilerplate: many fields repeat in [`ScrapeConfig`], as in Prometheus' config, but
/// with their own defaults and meaning there (unset or 0 = this global value); one shared
/// `#[serde(flatten)]` part would lose `deny_unknown_fields`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Default scrape interval (1m).
    #[serde(default = "default_scrape_interval")]
    pub scrape_interval: PromDuration,
    /// Default scrape timeout: 10s, or the interval when that is shorter. Left out (or 0) in
    /// the file, it is filled in by [`GlobalConfig::apply_defaults`].
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub scrape_timeout: PromDuration,
    /// Default protocols to negotiate, in order of preference.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    /// Default rule evaluation interval (applied by the rule manager).
    #[serde(default = "default_scrape_interval")]
    pub evaluation_interval: PromDuration,
    /// Default query offset of rule groups (applied by the rule manager).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub rule_query_offset: Option<PromDuration>,
    /// Labels added to series and alerts when talking to external systems.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub external_labels: BTreeMap<String, String>,
    /// Query log file: refused when set (no query log).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub query_log_file: Option<String>,
    /// Scrape failure log file: refused when set.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub scrape_failure_log_file: Option<String>,
    /// Default body size limit (0 = none).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub body_size_limit: ByteSize,
    /// Default sample limit per scrape (0 = none).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub sample_limit: u64,
    /// Default limit of targets per job (0 = none).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub target_limit: u64,
    /// Default limit of labels per series (0 = none).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub label_limit: u64,
    /// Default limit of a label name's length (0 = none).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub label_name_length_limit: u64,
    /// Default limit of a label value's length (0 = none).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub label_value_length_limit: u64,
    /// How many dropped targets to keep for the targets page (0 = all).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub keep_dropped_targets: u64,
    /// Only "utf8" (how Sextant validates names, Prometheus 3's default); others are refused.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub metric_name_validation_scheme: Option<String>,
    /// Only "allow-utf-8"; others are refused.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub metric_name_escaping_scheme: Option<String>,
    /// Default of the jobs' `always_scrape_classic_histograms` (false).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub always_scrape_classic_histograms: Option<bool>,
    /// Default of the jobs' `convert_classic_histograms_to_nhcb` (false).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    /// Default of the jobs' `scrape_native_histograms` (false).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub scrape_native_histograms: Option<bool>,
    /// Only `false`; `true` is refused (the extra report series are not written).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub extra_scrape_metrics: Option<bool>,
}

impl GlobalConfig {
    /// Fills in what the file left out (or set to 0) and checks the intervals, in Prometheus'
    /// order: the interval first (1m), then the timeout against it (an explicit timeout over
    /// the interval is an error; an unset one is the smaller of 10s and the interval), then the
    /// evaluation interval (1m).
    pub fn apply_defaults(&mut self) -> Result<(), ConfigError> {
        if self.scrape_interval.get().is_zero() {
            self.scrape_interval = default_scrape_interval();
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err(ConfigError(format!(
                "global scrape timeout greater than scrape interval (scrape_timeout {}, scrape_interval {})",
                self.scrape_timeout, self.scrape_interval
            )));
        }
        if self.scrape_timeout.get().is_zero() {
            self.scrape_timeout = default_scrape_timeout().min(self.scrape_interval);
        }
        if self.evaluation_interval.get().is_zero() {
            self.evaluation_interval = default_scrape_interval();
        }
        Ok(())
    }

    /// The timeout jobs inherit: the configured one, or (not yet filled in) the smaller of 10s
    /// and the interval.
    fn effective_scrape_timeout(&self) -> PromDuration {
        if self.scrape_timeout.get().is_zero() {
            default_scrape_timeout().min(self.scrape_interval)
        } else {
            self.scrape_timeout
        }
    }
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: default_scrape_interval(),
            scrape_timeout: default_scrape_timeout(),
            scrape_protocols: None,
            evaluation_interval: default_scrape_interval(),
            rule_query_offset: None,
            external_labels: BTreeMap::new(),
            query_log_file: None,
            scrape_failure_log_file: None,
            body_size_limit: ByteSize(0),
            sample_limit: 0,
            target_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            keep_dropped_targets: 0,
            metric_name_validation_scheme: None,
            metric_name_escaping_scheme: None,
            always_scrape_classic_histograms: None,
            convert_classic_histograms_to_nhcb: None,
            scrape_native_histograms: None,
            extra_scrape_metrics: None,
        }
    }
}

/// A scrape protocol name as in `scrape_protocols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum ScrapeProtocol {
    /// The protobuf exposition format (delimited `io.prometheus.client.MetricFamily`).
    PrometheusProto,
    /// OpenMetrics 0.0.1.
    #[serde(rename = "OpenMetricsText0.0.1")]
    OpenMetricsText0_0_1,
    /// OpenMetrics 1.0.0.
    #[serde(rename = "OpenMetricsText1.0.0")]
    OpenMetricsText1_0_0,
    /// Prometheus text 0.0.4.
    #[serde(rename = "PrometheusText0.0.4")]
    PrometheusText0_0_4,
    /// Prometheus text 1.0.0 (UTF-8 names).
    #[serde(rename = "PrometheusText1.0.0")]
    PrometheusText1_0_0,
}

impl ScrapeProtocol {
    /// The media type sent in `Accept`; `None` for protocols Sextant cannot parse.
    pub fn media_type(self) -> Option<&'static str> {
        match self {
            ScrapeProtocol::PrometheusProto => Some(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
            ),
            ScrapeProtocol::OpenMetricsText0_0_1 => Some("application/openmetrics-text;version=0.0.1"),
            ScrapeProtocol::OpenMetricsText1_0_0 => Some("application/openmetrics-text;version=1.0.0"),
            ScrapeProtocol::PrometheusText0_0_4 => Some("text/plain;version=0.0.4"),
            ScrapeProtocol::PrometheusText1_0_0 => Some("text/plain;version=1.0.0"),
        }
    }

    /// Prometheus' default order with native histograms on: protobuf first, then as
    /// [`ScrapeProtocol::defaults`].
    pub fn defaults_with_protobuf() -> Vec<ScrapeProtocol> {
        let mut v = vec![ScrapeProtocol::PrometheusProto];
        v.extend(Self::defaults());
        v
    }

    /// Prometheus' default order (without protobuf): OpenMetrics first, then text.
    pub fn defaults() -> Vec<ScrapeProtocol> {
        vec![
            ScrapeProtocol::OpenMetricsText1_0_0,
            ScrapeProtocol::OpenMetricsText0_0_1,
            ScrapeProtocol::PrometheusText1_0_0,
            ScrapeProtocol::PrometheusText0_0_4,
        ]
    }
}

/// A `static_configs` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` targets.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub targets: Vec<String>,
    /// Labels added to every target.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub labels: BTreeMap<String, String>,
}

fn default_file_sd_refresh() -> PromDuration {
    PromDuration::secs(300)
}

/// A `file_sd_configs` entry: JSON or YAML files listing target groups, re-read when their
/// modification time changes (checked every `refresh_interval`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// File paths; the last path component may contain `*` and `?` wildcards.
    pub files: Vec<String>,
    /// How often to check the files (default 5m).
    #[serde(default = "default_file_sd_refresh")]
    pub refresh_interval: PromDuration,
}

fn default_http_sd_refresh() -> PromDuration {
    PromDuration::secs(60)
}

httpclient::http_client_struct! {
    /// An `http_sd_configs` entry: a URL returning target groups as JSON.
    #[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HttpSdConfig {
        /// The URL to fetch.
        pub url: String,
        /// How often to fetch it (default 60s).
        #[serde(default = "default_http_sd_refresh")]
        pub refresh_interval: PromDuration,
    }
}

fn default_metrics_path() -> String {
    "/metrics".into()
}

fn default_scheme() -> String {
    "http".into()
}

httpclient::http_client_struct! {
    /// One `scrape_configs` entry. Fields left out take the `global` value (intervals, limits) or
    /// Prometheus' default; [`ScrapeConfig::resolve`] fills them in.
    ///
    /// Declared boilerplate: the fields it shares with [`GlobalConfig`] are declared again here
    /// (see there why).
    #[derive(Clone, Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ScrapeConfig {
        /// The job name, the default `job` label.
        pub job_name: String,
        /// How often to scrape (default: global).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub scrape_interval: Option<PromDuration>,
        /// Per-scrape timeout (default: global, capped at the interval).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub scrape_timeout: Option<PromDuration>,
        /// Protocols to negotiate in order of preference (default: global, then Prometheus').
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
        /// Format to assume when the target's Content-Type is missing or unknown.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub fallback_scrape_protocol: Option<ScrapeProtocol>,
        /// HTTP path (default `/metrics`).
        #[serde(default = "default_metrics_path")]
        pub metrics_path: String,
        /// `http` or `https` (default `http`).
        #[serde(default = "default_scheme")]
        pub scheme: String,
        /// URL query parameters.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub params: BTreeMap<String, Vec<String>>,
        /// Keep the target's labels on conflict instead of renaming them to `exported_*`.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub honor_labels: bool,
        /// Use the timestamps the target exposes (default true).
        #[serde(default = "default_true")]
        pub honor_timestamps: bool,
        /// Mark series with explicit timestamps stale too when they disappear.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub track_timestamps_staleness: bool,
        /// Ask for gzip (default true).
        #[serde(default = "default_true")]
        pub enable_compression: bool,
        /// Only "utf8"; others are refused.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub metric_name_validation_scheme: Option<String>,
        /// Only "allow-utf-8"; others are refused.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub metric_name_escaping_scheme: Option<String>,
        /// Also keep the classic buckets of histograms scraped as native ones (false; the
        /// global value when left out).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub always_scrape_classic_histograms: Option<bool>,
        /// The older name of `always_scrape_classic_histograms`.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub scrape_classic_histograms: Option<bool>,
        /// Store classic histograms as native histograms with custom buckets (schema -53);
        /// their classic series are kept too when `always_scrape_classic_histograms` is set.
        /// The global value when left out.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub convert_classic_histograms_to_nhcb: Option<bool>,
        /// Store native histograms as histograms, asking targets for the protobuf format first
        /// (false: the global value when left out; then native histograms are read as their
        /// classic buckets).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub scrape_native_histograms: Option<bool>,
        /// Most buckets a native histogram may have (0 = no limit); larger ones have their
        /// resolution reduced until they fit, and the scrape fails if even schema -4 is over.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub native_histogram_bucket_limit: Option<u64>,
        /// Smallest growth factor between neighbouring buckets; finer native histograms have
        /// their resolution reduced until the factor is at least this.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub native_histogram_min_bucket_factor: Option<f64>,
        /// How many dropped targets to keep for `/api/v1/targets` (0 = all; unset = global).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub keep_dropped_targets: Option<u64>,
        /// Scrape failure log file: refused when set.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub scrape_failure_log_file: Option<String>,
        /// Per-scrape sample limit after metric relabeling (0 = global).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub sample_limit: u64,
        /// Most targets after relabeling (0 = global); over it every target of the job is down
        /// with "target_limit exceeded".
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub target_limit: u64,
        /// Labels per series limit (0 = global).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub label_limit: u64,
        /// Label name length limit (0 = global).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub label_name_length_limit: u64,
        /// Label value length limit (0 = global).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub label_value_length_limit: u64,
        /// Uncompressed body size limit (0 = global).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub body_size_limit: ByteSize,
        /// Target relabeling.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub relabel_configs: Vec<RelabelConfig>,
        /// Series relabeling after each scrape.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub metric_relabel_configs: Vec<RelabelConfig>,
        /// Static targets.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub static_configs: Vec<StaticConfig>,
        /// File-based discovery.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub file_sd_configs: Vec<FileSdConfig>,
        /// HTTP-based discovery.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub http_sd_configs: Vec<HttpSdConfig>,
    }
}

impl ScrapeConfig {
    /// A job with Prometheus' defaults and no targets.
    pub fn new(job_name: impl Into<String>) -> Self {
        httpclient::with_http_client_defaults!(ScrapeConfig {
            job_name: job_name.into(),
            scrape_interval: None,
            scrape_timeout: None,
            scrape_protocols: None,
            fallback_scrape_protocol: None,
            metrics_path: default_metrics_path(),
            scheme: default_scheme(),
            params: BTreeMap::new(),
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            enable_compression: true,
            metric_name_validation_scheme: None,
            metric_name_escaping_scheme: None,
            always_scrape_classic_histograms: None,
            scrape_classic_histograms: None,
            convert_classic_histograms_to_nhcb: None,
            scrape_native_histograms: None,
            native_histogram_bucket_limit: None,
            native_histogram_min_bucket_factor: None,
            keep_dropped_targets: None,
            scrape_failure_log_file: None,
            sample_limit: 0,
            target_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            body_size_limit: ByteSize(0),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            static_configs: Vec::new(),
            file_sd_configs: Vec::new(),
            http_sd_configs: Vec::new(),
        })
    }

    /// The job with the global defaults filled in, as Prometheus does when loading: the
    /// interval and timeout from `global` (a timeout left out is capped at the interval),
    /// limits left at 0 take the global limit.
    pub fn resolve(&self, global: &GlobalConfig) -> ScrapeConfig {
        let mut c = self.clone();
        // 0 is the same as left out, as in Prometheus.
        let interval = c
            .scrape_interval
            .filter(|d| !d.get().is_zero())
            .unwrap_or(global.scrape_interval);
        c.scrape_interval = Some(interval);
        let timeout = match c.scrape_timeout.filter(|d| !d.get().is_zero()) {
            Some(t) => t,
            None => global.effective_scrape_timeout().min(interval),
        };
        c.scrape_timeout = Some(timeout);
        let native = c
            .scrape_native_histograms
            .or(global.scrape_native_histograms)
            .unwrap_or(false);
        c.scrape_native_histograms = Some(native);
        c.convert_classic_histograms_to_nhcb = Some(
            c.convert_classic_histograms_to_nhcb
                .or(global.convert_classic_histograms_to_nhcb)
                .unwrap_or(false),
        );
        c.always_scrape_classic_histograms = Some(
            c.always_scrape_classic_histograms
                .or(c.scrape_classic_histograms)
                .or(global.always_scrape_classic_histograms)
                .unwrap_or(false),
        );
        if c.scrape_protocols.is_none() {
            c.scrape_protocols = Some(global.scrape_protocols.clone().unwrap_or_else(|| {
                if native {
                    ScrapeProtocol::defaults_with_protobuf()
                } else {
                    ScrapeProtocol::defaults()
                }
            }));
        }
        fn or(v: &mut u64, g: u64) {
            if *v == 0 {
                *v = g;
            }
        }
        or(&mut c.sample_limit, global.sample_limit);
        or(&mut c.target_limit, global.target_limit);
        or(&mut c.label_limit, global.label_limit);
        or(&mut c.label_name_length_limit, global.label_name_length_limit);
        or(&mut c.label_value_length_limit, global.label_value_length_limit);
        or(&mut c.body_size_limit.0, global.body_size_limit.0);
        c
    }

    /// Makes every relative file path of the job (file_sd files, credential, TLS and header
    /// files, also those of its http_sd entries) relative to `dir`, the directory of the file
    /// the job was read from, as Prometheus does.
    pub fn set_directory(&mut self, dir: &std::path::Path) {
        self.set_http_directory(dir);
        for f in &mut self.file_sd_configs {
            for path in &mut f.files {
                let mut p = Some(std::mem::take(path));
                crate::client::config::join_dir(dir, &mut p);
                *path = p.unwrap_or_default();
            }
        }
        for h in &mut self.http_sd_configs {
            h.set_http_directory(dir);
        }
    }

    /// The resolved scrape interval (global default if unset).
    pub fn interval(&self) -> Duration {
        self.scrape_interval.map_or(Duration::from_secs(60), |d| d.get())
    }

    /// The resolved scrape timeout (global default if unset).
    pub fn timeout(&self) -> Duration {
        self.scrape_timeout.map_or(Duration::from_secs(10), |d| d.get())
    }
}

/// Refuses, naming it, a setting whose value asks for what Sextant does not do (the values
/// that describe what it does are accepted).
fn refuse_unapplied(
    place: &str,
    validation: Option<&str>,
    escaping: Option<&str>,
    failure_log: Option<&str>,
    extra_metrics: Option<bool>,
) -> Result<(), ConfigError> {
    if let Some(v) = validation.filter(|v| !v.is_empty() && *v != "utf8") {
        return Err(ConfigError(format!(
            "{place}metric_name_validation_scheme {v:?} is not supported: Sextant validates names as UTF-8 (\"utf8\", Prometheus 3's default)"
        )));
    }
    if let Some(v) = escaping.filter(|v| !v.is_empty() && *v != "allow-utf-8") {
        return Err(ConfigError(format!(
            "{place}metric_name_escaping_scheme {v:?} is not supported: Sextant keeps UTF-8 names as they are (\"allow-utf-8\")"
        )));
    }
    if failure_log.is_some_and(|f| !f.is_empty()) {
        return Err(ConfigError(format!(
            "{place}scrape_failure_log_file is not supported: scrape failures are logged and shown on the targets page; remove it"
        )));
    }
    if extra_metrics == Some(true) {
        return Err(ConfigError(format!(
            "{place}extra_scrape_metrics: true is not supported: Sextant writes up, scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling and scrape_series_added"
        )));
    }
    Ok(())
}

/// Checks what serde cannot: unique job names, timeouts within intervals, known schemes,
/// relabel rules complete for their action, auth settings not contradicting each other.
pub fn validate(global: &GlobalConfig, scrape_configs: &[ScrapeConfig]) -> Result<(), ConfigError> {
    let mut global = global.clone();
    global.apply_defaults()?;
    let global = &global;
    refuse_unapplied(
        "global: ",
        global.metric_name_validation_scheme.as_deref(),
        global.metric_name_escaping_scheme.as_deref(),
        global.scrape_failure_log_file.as_deref(),
        global.extra_scrape_metrics,
    )?;
    if global.query_log_file.as_deref().is_some_and(|f| !f.is_empty()) {
        return Err(ConfigError(
            "global: query_log_file is not supported: Sextant writes no query log (its traces and /metrics time queries); remove it".into(),
        ));
    }
    for name in global.external_labels.keys() {
        if !crate::relabel::is_valid_label_name(name) {
            return Err(ConfigError(format!(
                "{name:?} is not a valid label name in external_labels"
            )));
        }
    }
    let mut seen = HashSet::new();
    for sc in scrape_configs {
        let job = &sc.job_name;
        if job.is_empty() {
            return Err(ConfigError("job_name is empty".into()));
        }
        if !seen.insert(job.as_str()) {
            return Err(ConfigError(format!(
                "found multiple scrape configs with job name {job:?}"
            )));
        }
        refuse_unapplied(
            &format!("job {job:?}: "),
            sc.metric_name_validation_scheme.as_deref(),
            sc.metric_name_escaping_scheme.as_deref(),
            sc.scrape_failure_log_file.as_deref(),
            None,
        )?;
        let r = sc.resolve(global);
        if r.interval().is_zero() {
            return Err(ConfigError(format!(
                "scrape interval must be greater than 0 for scrape config with job name {job:?}"
            )));
        }
        if r.timeout() > r.interval() {
            return Err(ConfigError(format!(
                "scrape timeout greater than scrape interval for scrape config with job name {job:?} (scrape_timeout {}, scrape_interval {})",
                storage::PromDuration(r.timeout()),
                storage::PromDuration(r.interval())
            )));
        }
        if r.timeout().is_zero() {
            return Err(ConfigError(format!(
                "scrape timeout must be greater than 0 for scrape config with job name {job:?}"
            )));
        }
        if sc.scheme != "http" && sc.scheme != "https" {
            return Err(ConfigError(format!(
                "scheme {:?} of job {job:?} is not supported (http or https)",
                sc.scheme
            )));
        }
        if !sc.metrics_path.starts_with('/') {
            return Err(ConfigError(format!(
                "metrics_path {:?} of job {job:?} must start with '/'",
                sc.metrics_path
            )));
        }
        if let Some(p) = &sc.scrape_protocols {
            if p.is_empty() {
                return Err(ConfigError(format!("scrape_protocols of job {job:?} is empty")));
            }
        }
        sc.http().validate(&format!("job {job:?}"))?;
        for (kind, rules) in [
            ("relabel_configs", &sc.relabel_configs),
            ("metric_relabel_configs", &sc.metric_relabel_configs),
        ] {
            for (i, rule) in rules.iter().enumerate() {
                rule.validate()
                    .map_err(|e| ConfigError(format!("job {job:?}: {kind}[{i}]: {e}")))?;
            }
        }
        for (i, st) in sc.static_configs.iter().enumerate() {
            for t in &st.targets {
                // As Prometheus: a URL is caught here only when no relabeling could turn it
                // into a parameter (a probe's `__param_target`); otherwise the address is
                // checked per target after relabeling.
                if t.is_empty() || (t.contains('/') && sc.relabel_configs.is_empty()) {
                    return Err(ConfigError(format!(
                        "job {job:?}: static_configs[{i}]: {t:?} is not a valid hostname (host:port)"
                    )));
                }
            }
            for name in st.labels.keys() {
                if !crate::relabel::is_valid_label_name(name) {
                    return Err(ConfigError(format!(
                        "job {job:?}: static_configs[{i}]: {name:?} is not a valid label name"
                    )));
                }
            }
        }
        for (i, f) in sc.file_sd_configs.iter().enumerate() {
            for path in &f.files {
                let name = std::path::Path::new(path)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("");
                let dir = std::path::Path::new(path)
                    .parent()
                    .and_then(|d| d.to_str())
                    .unwrap_or("");
                if dir.contains(['*', '?', '[']) {
                    return Err(ConfigError(format!(
                        "job {job:?}: file_sd_configs[{i}]: wildcards are only allowed in the last path element: {path:?}"
                    )));
                }
                let ext_ok =
                    [".json", ".yml", ".yaml"].iter().any(|e| name.ends_with(e)) || name.ends_with('*');
                if !ext_ok {
                    return Err(ConfigError(format!(
                        "job {job:?}: file_sd_configs[{i}]: path {path:?} is not a valid file path (.json, .yml or .yaml)"
                    )));
                }
            }
        }
        for (i, h) in sc.http_sd_configs.iter().enumerate() {
            if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "job {job:?}: http_sd_configs[{i}]: URL scheme must be 'http' or 'https'"
                )));
            }
            h.http().validate(&format!("job {job:?}: http_sd_configs[{i}]"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
