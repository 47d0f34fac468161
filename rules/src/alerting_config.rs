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
    /// `alert_relabel_configs`: refused at load (see [`AlertingConfig::validate`]).
    #[serde(default, deserialize_with = "present")]
    pub alert_relabel_configs: bool,
}

/// Deserializes any value, recording only that it was present.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(true)
}

httpclient::http_client_struct! {
    /// One entry of `alerting.alertmanagers`, with Prometheus' HTTP client settings
    /// (`basic_auth`, `authorization`, `oauth2`, `tls_config`, `proxy_url`, `http_headers`,
    /// `follow_redirects`) applied to every request to its targets.
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
        /// Refused at load (see [`AlertingConfig::validate`]).
        #[serde(default, deserialize_with = "present")]
        pub relabel_configs: bool,
        /// Refused at load.
        #[serde(default, deserialize_with = "present")]
        pub alert_relabel_configs: bool,
        /// Refused at load (list the Alertmanagers in `static_configs`).
        #[serde(default, deserialize_with = "present")]
        pub file_sd_configs: bool,
    }
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
    /// `http`, no prefix, default timeout, `v2`, no targets, default client settings.
    fn default() -> Self {
        httpclient::with_http_client_defaults!(AlertmanagerConfig {
            scheme: default_scheme(),
            path_prefix: String::new(),
            timeout: None,
            api_version: default_api_version(),
            static_configs: Vec::new(),
            relabel_configs: false,
            alert_relabel_configs: false,
            file_sd_configs: false,
        })
    }
}

fn default_scheme() -> String {
    "http".into()
}

fn default_api_version() -> String {
    "v2".into()
}

/// One Alertmanager target: where alerts are posted, within what time, with which client
/// settings (authentication, TLS, headers, proxy).
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// `scheme://host:port/<prefix>/api/v2/alerts`.
    pub url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The Alertmanager entry's HTTP client settings.
    pub http: httpclient::HttpClientConfig,
}

/// Default Alertmanager request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl AlertingConfig {
    /// Checks values serde cannot: scheme, API version, targets.
    pub fn validate(&self) -> Result<(), String> {
        if self.alert_relabel_configs {
            return Err("alerting.alert_relabel_configs is not supported by Sextant yet; remove it (alerts are sent with their labels)".into());
        }
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
            for (set, name, instead) in [
                (
                    am.relabel_configs,
                    "relabel_configs",
                    "targets are used as listed",
                ),
                (
                    am.alert_relabel_configs,
                    "alert_relabel_configs",
                    "alerts are sent with their labels",
                ),
                (
                    am.file_sd_configs,
                    "file_sd_configs",
                    "list the Alertmanagers in static_configs",
                ),
            ] {
                if set {
                    return Err(format!(
                        "{at}.{name} is not supported by Sextant yet; remove it ({instead})"
                    ));
                }
            }
            am.http().validate(&at).map_err(|e| e.to_string())?;
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

    /// Every target's alert-push URL, with its timeout and client settings.
    pub fn endpoints(&self) -> Vec<Endpoint> {
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
                    out.push(Endpoint {
                        url: format!("{}://{t}{path}", am.scheme),
                        timeout: am.timeout.unwrap_or(DEFAULT_TIMEOUT),
                        http: am.http(),
                    });
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
        let c: AlertingConfig = storage::model::yaml::from_str(
            "alertmanagers:\n- scheme: https\n  path_prefix: /am/\n  timeout: 3s\n  api_version: v2\n  basic_auth: {username: u, password: p}\n  static_configs:\n  - targets: ['a:9093', 'b:9093']\n- static_configs:\n  - targets: ['c:9093']\n",
        )
        .unwrap();
        c.validate().unwrap();
        let eps: Vec<(String, Duration, bool)> = c
            .endpoints()
            .into_iter()
            .map(|e| (e.url, e.timeout, e.http.basic_auth.is_some()))
            .collect();
        assert_eq!(
            eps,
            vec![
                (
                    "https://a:9093/am/api/v2/alerts".to_string(),
                    Duration::from_secs(3),
                    true
                ),
                (
                    "https://b:9093/am/api/v2/alerts".to_string(),
                    Duration::from_secs(3),
                    true
                ),
                ("http://c:9093/api/v2/alerts".to_string(), DEFAULT_TIMEOUT, false),
            ]
        );
        let bad: AlertingConfig =
            storage::model::yaml::from_str("alertmanagers:\n- api_version: v1\n  static_configs: []\n")
                .unwrap();
        assert!(bad.validate().unwrap_err().contains("api_version"));
        assert!(storage::model::yaml::from_str::<AlertingConfig>("alertmanagers:\n- nope: 1\n").is_err());
        assert!(c.alertmanagers[1].timeout.is_none());
    }

    #[test]
    fn unapplied_settings_are_refused_by_name() {
        for (yaml, name) in [
            (
                "alert_relabel_configs: [{action: drop}]\n",
                "alerting.alert_relabel_configs",
            ),
            (
                "alertmanagers:\n- relabel_configs: [{action: drop}]\n",
                "alerting.alertmanagers[0].relabel_configs",
            ),
            (
                "alertmanagers:\n- file_sd_configs: [{files: [a.json]}]\n",
                "alerting.alertmanagers[0].file_sd_configs",
            ),
            (
                "alertmanagers:\n- basic_auth: {username: u, password: p, password_file: f}\n",
                "alerting.alertmanagers[0]: at most one of basic_auth password",
            ),
        ] {
            let c: AlertingConfig = storage::model::yaml::from_str(yaml).unwrap();
            let e = c.validate().unwrap_err();
            assert!(e.starts_with(name), "{name}: {e}");
        }
    }
}
