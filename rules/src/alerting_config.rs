//! The `alerting` section of `prometheus.yml`: where alerts are sent.

use crate::config::opt_serde;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use storage::model::yaml::nullable;

/// `alerting:` in `prometheus.yml`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// The Alertmanagers to send to.
    #[serde(default, deserialize_with = "nullable")]
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// `alert_relabel_configs`: accepted, not applied (see [`AlertingConfig::ignored_fields`]).
    #[serde(default, deserialize_with = "present")]
    pub alert_relabel_configs: bool,
}

/// Deserializes any value, recording only that it was present.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(true)
}

/// One entry of `alerting.alertmanagers`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// `http` (default) or `https`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Prefix of the API path (default empty).
    #[serde(default, deserialize_with = "nullable")]
    pub path_prefix: String,
    /// Per-request timeout (default 10 s).
    #[serde(default, deserialize_with = "opt_serde::deserialize")]
    pub timeout: Option<Duration>,
    /// Only `v2` is supported (Prometheus' default and only choice since 3.0).
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Statically listed targets (`host:port`).
    #[serde(default, deserialize_with = "nullable")]
    pub static_configs: Vec<StaticConfig>,
    /// Prometheus settings accepted but not applied (listed by
    /// [`AlertingConfig::ignored_fields`] so the caller can warn).
    #[serde(default, deserialize_with = "present")]
    pub relabel_configs: bool,
    /// Accepted, not applied.
    #[serde(default, deserialize_with = "present")]
    pub alert_relabel_configs: bool,
    /// Accepted, not applied.
    #[serde(default, deserialize_with = "present")]
    pub basic_auth: bool,
    /// Accepted, not applied.
    #[serde(default, deserialize_with = "present")]
    pub authorization: bool,
    /// Accepted, not applied.
    #[serde(default, deserialize_with = "present")]
    pub tls_config: bool,
    /// Accepted, not applied.
    #[serde(default, deserialize_with = "present")]
    pub follow_redirects: bool,
    /// Accepted, not applied.
    #[serde(default, deserialize_with = "present")]
    pub enable_http2: bool,
    /// Accepted, not applied.
    #[serde(default, deserialize_with = "present")]
    pub proxy_url: bool,
    /// Accepted, not applied (service discovery other than static configs).
    #[serde(default, deserialize_with = "present")]
    pub file_sd_configs: bool,
    /// Accepted, not applied.
    #[serde(default, deserialize_with = "present")]
    pub dns_sd_configs: bool,
}

/// `static_configs` entry.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default, deserialize_with = "nullable")]
    pub targets: Vec<String>,
    /// Target labels (accepted for compatibility, unused for Alertmanagers).
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
}

impl Default for AlertmanagerConfig {
    /// `http`, no prefix, default timeout, `v2`, no targets.
    fn default() -> Self {
        AlertmanagerConfig {
            scheme: default_scheme(),
            path_prefix: String::new(),
            timeout: None,
            api_version: default_api_version(),
            static_configs: Vec::new(),
            relabel_configs: false,
            alert_relabel_configs: false,
            basic_auth: false,
            authorization: false,
            tls_config: false,
            follow_redirects: false,
            enable_http2: false,
            proxy_url: false,
            file_sd_configs: false,
            dns_sd_configs: false,
        }
    }
}

fn default_scheme() -> String {
    "http".into()
}

fn default_api_version() -> String {
    "v2".into()
}

/// Default Alertmanager request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl AlertingConfig {
    /// Checks values serde cannot: scheme, API version, targets.
    pub fn validate(&self) -> Result<(), String> {
        for (i, am) in self.alertmanagers.iter().enumerate() {
            let at = format!("alerting.alertmanagers[{i}]");
            if am.scheme != "http" && am.scheme != "https" {
                return Err(format!(
                    "{at}: unsupported scheme {:?} (http or https)",
                    am.scheme
                ));
            }
            if am.api_version != "v2" {
                return Err(format!(
                    "{at}: unsupported api_version {:?} (only v2 is supported)",
                    am.api_version
                ));
            }
            for sc in &am.static_configs {
                for t in &sc.targets {
                    if t.is_empty() || t.contains('/') || t.contains(char::is_whitespace) {
                        return Err(format!("{at}: invalid target {t:?} (want host:port)"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Prometheus settings present in the section that Sextant accepts but does not apply
    /// (the caller should warn about them).
    pub fn ignored_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.alert_relabel_configs {
            out.push("alerting.alert_relabel_configs".to_string());
        }
        for (i, am) in self.alertmanagers.iter().enumerate() {
            for (set, name) in [
                (am.relabel_configs, "relabel_configs"),
                (am.alert_relabel_configs, "alert_relabel_configs"),
                (am.basic_auth, "basic_auth"),
                (am.authorization, "authorization"),
                (am.tls_config, "tls_config"),
                (am.follow_redirects, "follow_redirects"),
                (am.enable_http2, "enable_http2"),
                (am.proxy_url, "proxy_url"),
                (am.file_sd_configs, "file_sd_configs"),
                (am.dns_sd_configs, "dns_sd_configs"),
            ] {
                if set {
                    out.push(format!("alerting.alertmanagers[{i}].{name}"));
                }
            }
        }
        out
    }

    /// The alert-push URLs of every target, each with its timeout.
    pub fn endpoints(&self) -> Vec<(String, Duration)> {
        let mut out = Vec::new();
        for am in &self.alertmanagers {
            let prefix = am.path_prefix.trim_matches('/');
            let path = if prefix.is_empty() {
                "/api/v2/alerts".to_string()
            } else {
                format!("/{prefix}/api/v2/alerts")
            };
            for sc in &am.static_configs {
                for t in &sc.targets {
                    out.push((
                        format!("{}://{t}{path}", am.scheme),
                        am.timeout.unwrap_or(DEFAULT_TIMEOUT),
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_builds_urls() {
        let c: AlertingConfig = serde_saphyr::from_str(
            "alertmanagers:\n- scheme: https\n  path_prefix: /am/\n  timeout: 3s\n  api_version: v2\n  static_configs:\n  - targets: ['a:9093', 'b:9093']\n- static_configs:\n  - targets: ['c:9093']\n",
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(
            c.endpoints(),
            vec![
                (
                    "https://a:9093/am/api/v2/alerts".to_string(),
                    Duration::from_secs(3)
                ),
                (
                    "https://b:9093/am/api/v2/alerts".to_string(),
                    Duration::from_secs(3)
                ),
                ("http://c:9093/api/v2/alerts".to_string(), DEFAULT_TIMEOUT),
            ]
        );
        let bad: AlertingConfig =
            serde_saphyr::from_str("alertmanagers:\n- api_version: v1\n  static_configs: []\n").unwrap();
        assert!(bad.validate().unwrap_err().contains("api_version"));
        assert!(serde_saphyr::from_str::<AlertingConfig>("alertmanagers:\n- nope: 1\n").is_err());
        let c: AlertingConfig = serde_saphyr::from_str(
            "alert_relabel_configs: [{action: drop}]\nalertmanagers:\n- basic_auth: {username: u}\n  static_configs: [{targets: ['a:1']}]\n",
        )
        .unwrap();
        assert_eq!(
            c.ignored_fields(),
            vec![
                "alerting.alert_relabel_configs",
                "alerting.alertmanagers[0].basic_auth"
            ]
        );
        assert!(c.alertmanagers[0].timeout.is_none());
    }
}
