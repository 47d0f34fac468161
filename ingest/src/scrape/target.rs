//! Targets: from discovered target groups, through `relabel_configs`, to a scrape URL and
//! the labels every scraped series gets. Also the status the targets page shows.
//!
//! Label conventions (as Prometheus): before relabeling a target carries `__address__`,
//! `job`, `__scheme__`, `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__`,
//! `__param_<name>` (first value of each `params` entry) and the discovery's `__meta_*` labels.
//! After relabeling, `__meta_*` labels are removed, `instance` defaults to `__address__`,
//! the URL is built from `__scheme__://__address____metrics_path__?__param_*`, and the labels
//! starting with `__` are not attached to series.

use super::config::ScrapeConfig;
use crate::relabel;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime};
use storage::PromDuration;
use storage::{Labels, LabelsBuilder};

/// `__address__`
pub const ADDRESS_LABEL: &str = "__address__";
/// `__scheme__`
pub const SCHEME_LABEL: &str = "__scheme__";
/// `__metrics_path__`
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
/// `__scrape_interval__`
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
/// `__scrape_timeout__`
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
/// Prefix of labels that become URL parameters.
pub const PARAM_LABEL_PREFIX: &str = "__param_";
/// Prefix of discovery metadata labels.
pub const META_LABEL_PREFIX: &str = "__meta_";
/// `job`
pub const JOB_LABEL: &str = "job";
/// `instance`
pub const INSTANCE_LABEL: &str = "instance";

/// A group of targets sharing labels, as service discovery yields them (and as file_sd and
/// http_sd files are written: `[{"targets": [...], "labels": {...}}]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetGroup {
    /// `host:port` addresses.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels for every target of the group.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Where the group came from (file and index, URL, `static/<n>`); not part of the file.
    #[serde(skip)]
    pub source: String,
}

/// A target ready to be scraped.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The job.
    pub job: String,
    /// The full scrape URL.
    pub url: String,
    /// Labels attached to every series from this target (no `__` labels).
    pub labels: Labels,
    /// Labels after relabeling, `__` labels included.
    pub all_labels: Labels,
    /// Labels before relabeling (what discovery found).
    pub discovered_labels: Labels,
    /// Scrape interval (from `__scrape_interval__`).
    pub interval: Duration,
    /// Scrape timeout (from `__scrape_timeout__`).
    pub timeout: Duration,
}

impl Target {
    /// A stable identity of the target: its labels and URL. Decides the scrape offset within
    /// the interval and whether a reload keeps the target running.
    pub fn hash(&self) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        self.labels.hash(&mut h);
        self.url.hash(&mut h);
        h.finish()
    }
}

/// What relabeling made of one discovered target.
#[derive(Clone, Debug, PartialEq)]
pub enum Populated {
    /// To be scraped.
    Active(Target),
    /// Dropped by relabeling; kept for the targets page.
    Dropped(Labels),
}

/// Builds the target for `address` in `group` under `cfg` (resolved). `Err` names what is
/// wrong (no address, bad interval), and such targets are neither active nor dropped.
pub fn populate(cfg: &ScrapeConfig, group: &TargetGroup, address: &str) -> Result<Populated, String> {
    let mut b = LabelsBuilder::new();
    for (n, v) in &group.labels {
        b.set(n, v);
    }
    b.set(ADDRESS_LABEL, address);
    let interval = PromDuration(cfg.interval()).to_string();
    let timeout = PromDuration(cfg.timeout()).to_string();
    for (n, v) in [
        (JOB_LABEL, cfg.job_name.as_str()),
        (SCRAPE_INTERVAL_LABEL, interval.as_str()),
        (SCRAPE_TIMEOUT_LABEL, timeout.as_str()),
        (METRICS_PATH_LABEL, cfg.metrics_path.as_str()),
        (SCHEME_LABEL, cfg.scheme.as_str()),
    ] {
        if b.get(n).is_none() {
            b.set(n, v);
        }
    }
    for (k, vs) in &cfg.params {
        let name = format!("{PARAM_LABEL_PREFIX}{k}");
        if let Some(v) = vs.first() {
            if b.get(&name).is_none() {
                b.set(&name, v);
            }
        }
    }
    let discovered = b.build();
    for rule in &cfg.relabel_configs {
        if !relabel::apply(&mut b, rule) {
            return Ok(Populated::Dropped(discovered));
        }
    }
    let Some(addr) = b.get(ADDRESS_LABEL).map(str::to_string) else {
        return Err(format!("target {discovered}: no address"));
    };
    if addr.contains('/') {
        return Err(format!("target {discovered}: {addr:?} is not a valid hostname"));
    }
    // Relabeling may have set any scheme; only HTTP(S) is ever fetched (no file://, ftp://).
    match b.get(SCHEME_LABEL) {
        Some("http" | "https") | None => {}
        Some(other) => {
            return Err(format!(
                "target {discovered}: scheme {other:?} is not supported (only http and https)"
            ))
        }
    }
    let parse_dur = |name: &str| -> Result<Duration, String> {
        let v = b.get(name).unwrap_or("");
        PromDuration::parse(v)
            .map(PromDuration::get)
            .map_err(|e| format!("target {discovered}: error parsing {name}: {e}"))
    };
    let interval = parse_dur(SCRAPE_INTERVAL_LABEL)?;
    let timeout = parse_dur(SCRAPE_TIMEOUT_LABEL)?;
    if interval.is_zero() {
        return Err(format!("target {discovered}: scrape interval cannot be 0"));
    }
    if timeout.is_zero() {
        return Err(format!("target {discovered}: scrape timeout cannot be 0"));
    }
    if timeout > interval {
        return Err(format!(
            "target {discovered}: scrape timeout cannot be greater than scrape interval ({} > {})",
            PromDuration(timeout),
            PromDuration(interval)
        ));
    }
    b.retain(|n| !n.starts_with(META_LABEL_PREFIX));
    if b.get(INSTANCE_LABEL).is_none() {
        b.set(INSTANCE_LABEL, &addr);
    }
    let all = b.build();
    let url = scrape_url(cfg, &all);
    b.retain(|n| !n.starts_with("__"));
    Ok(Populated::Active(Target {
        job: cfg.job_name.clone(),
        url,
        labels: b.build(),
        all_labels: all,
        discovered_labels: discovered,
        interval,
        timeout,
    }))
}

/// `scheme://address/path?params` from the relabeled labels; `__param_*` labels override
/// the configured `params`.
fn scrape_url(cfg: &ScrapeConfig, labels: &Labels) -> String {
    let scheme = labels.get(SCHEME_LABEL).unwrap_or("http");
    let addr = labels.get(ADDRESS_LABEL).unwrap_or("");
    let path = labels.get(METRICS_PATH_LABEL).unwrap_or("/metrics");
    let mut params: BTreeMap<String, Vec<String>> = cfg.params.clone();
    for l in labels.iter() {
        if let Some(name) = l.name.strip_prefix(PARAM_LABEL_PREFIX) {
            params.insert(name.to_string(), vec![l.value.to_string()]);
        }
    }
    let mut url = format!("{scheme}://{addr}");
    if !path.starts_with('/') {
        url.push('/');
    }
    url.push_str(path);
    let mut first = !path.contains('?');
    for (k, vs) in &params {
        for v in vs {
            url.push(if first { '?' } else { '&' });
            first = false;
            url.push_str(&query_escape(k));
            url.push('=');
            url.push_str(&query_escape(v));
        }
    }
    url
}

/// Percent-encodes a query component like Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A target's health, as on Prometheus' targets page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetHealth {
    /// Not scraped yet.
    Unknown,
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
}

impl TargetHealth {
    /// `"up"`, `"down"` or `"unknown"`, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetHealth::Unknown => "unknown",
            TargetHealth::Up => "up",
            TargetHealth::Down => "down",
        }
    }
}

/// One active target for `/api/v1/targets` and the targets page.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetStatus {
    /// The job (scrape pool).
    pub job: String,
    /// The URL scraped.
    pub scrape_url: String,
    /// Labels attached to the target's series.
    pub labels: Labels,
    /// Labels before relabeling.
    pub discovered_labels: Labels,
    /// Health after the last scrape.
    pub health: TargetHealth,
    /// When the last scrape started (None before the first).
    pub last_scrape: Option<SystemTime>,
    /// How long the last scrape took.
    pub last_scrape_duration: Duration,
    /// The last scrape's error, empty when it succeeded.
    pub last_error: String,
    /// The scrape interval.
    pub scrape_interval: Duration,
    /// The scrape timeout.
    pub scrape_timeout: Duration,
}

/// A target dropped by relabeling, for the targets page.
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedTarget {
    /// The job (scrape pool).
    pub job: String,
    /// Labels before relabeling.
    pub discovered_labels: Labels,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scrape::config::GlobalConfig;

    fn cfg(yaml: &str) -> ScrapeConfig {
        let c: ScrapeConfig = serde_saphyr::from_str(yaml).unwrap();
        c.resolve(&GlobalConfig::default())
    }

    fn group(targets: &[&str], labels: &[(&str, &str)]) -> TargetGroup {
        TargetGroup {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            labels: labels
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            source: "test".into(),
        }
    }

    #[track_caller]
    fn active(c: &ScrapeConfig, g: &TargetGroup, addr: &str) -> Target {
        match populate(c, g, addr).unwrap() {
            Populated::Active(t) => t,
            Populated::Dropped(l) => panic!("dropped: {l}"),
        }
    }

    #[test]
    fn defaults() {
        let c = cfg("job_name: node\n");
        let t = active(&c, &group(&["h:9100"], &[("env", "prod")]), "h:9100");
        assert_eq!(t.url, "http://h:9100/metrics");
        assert_eq!(
            t.labels,
            Labels::from_pairs([("env", "prod"), ("instance", "h:9100"), ("job", "node")])
        );
        assert_eq!(t.discovered_labels.get("__scrape_interval__"), Some("1m"));
        assert_eq!(t.discovered_labels.get("__scrape_timeout__"), Some("10s"));
        assert_eq!(t.interval, Duration::from_secs(60));
    }

    #[test]
    fn relabel_address_scheme_path_params() {
        let c = cfg(r#"
job_name: blackbox
metrics_path: /probe
params:
  module: [http_2xx]
relabel_configs:
  - source_labels: [__address__]
    target_label: __param_target
  - source_labels: [__param_target]
    target_label: instance
  - target_label: __address__
    replacement: 127.0.0.1:9115
  - target_label: __scheme__
    replacement: https
  - target_label: __meta_x
    replacement: gone
"#);
        let t = active(&c, &group(&["example.com"], &[]), "example.com");
        assert_eq!(
            t.url,
            "https://127.0.0.1:9115/probe?module=http_2xx&target=example.com"
        );
        assert_eq!(
            t.labels,
            Labels::from_pairs([("instance", "example.com"), ("job", "blackbox")])
        );
        assert_eq!(t.all_labels.get("__meta_x"), None);
    }

    #[test]
    fn dropped_and_errors() {
        let c = cfg("job_name: a\nrelabel_configs:\n  - source_labels: [__address__]\n    regex: 'skip.*'\n    action: drop\n");
        let g = group(&[], &[]);
        assert!(
            matches!(populate(&c, &g, "skip:1").unwrap(), Populated::Dropped(l) if l.get("__address__") == Some("skip:1"))
        );
        let c = cfg("job_name: a\nrelabel_configs:\n  - target_label: __address__\n    replacement: ''\n");
        assert!(populate(&c, &g, "h:1").unwrap_err().contains("no address"));
        for scheme in ["file", "ftp", "gopher", "HTTP"] {
            let c = cfg(&format!(
                "job_name: a\nrelabel_configs:\n  - target_label: __scheme__\n    replacement: {scheme}\n"
            ));
            let e = populate(&c, &g, "h:1").unwrap_err();
            assert!(e.contains(&format!("scheme {scheme:?} is not supported")), "{e}");
        }
        let c =
            cfg("job_name: a\nrelabel_configs:\n  - target_label: __scrape_timeout__\n    replacement: 2m\n");
        assert!(populate(&c, &g, "h:1")
            .unwrap_err()
            .contains("greater than scrape interval"));
        let c = cfg("job_name: a\nrelabel_configs:\n  - target_label: __scrape_interval__\n    replacement: 30s\n  - target_label: __scrape_timeout__\n    replacement: 3s\n");
        let t = active(&c, &g, "h:1");
        assert_eq!(
            (t.interval, t.timeout),
            (Duration::from_secs(30), Duration::from_secs(3))
        );
    }

    #[test]
    fn query_escaping() {
        assert_eq!(query_escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
