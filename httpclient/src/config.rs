//! The HTTP client settings Prometheus writes inline in `scrape_configs`, `http_sd_configs`
//! and `remote_write` entries: `basic_auth`, `authorization`, `tls_config`, `http_headers`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Why a configuration (`scrape_configs`, `remote_write`, an HTTP client section) is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// `basic_auth`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub username: String,
    /// A file holding the user name.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub username_file: Option<String>,
    /// The password.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub password: Option<String>,
    /// A file holding the password (read at every scrape, so rotation works).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub password_file: Option<String>,
}

fn default_auth_type() -> String {
    "Bearer".into()
}

/// `authorization`: an `Authorization: <type> <credentials>` header.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme (default `Bearer`).
    #[serde(default = "default_auth_type", rename = "type")]
    pub auth_type: String,
    /// The credentials.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub credentials: Option<String>,
    /// A file holding the credentials (read at every scrape).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub credentials_file: Option<String>,
}

/// `tls_config`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s) to verify the server with (PEM file).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub ca_file: Option<String>,
    /// CA certificate(s) inline (PEM).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub ca: Option<String>,
    /// Client certificate (PEM file) for mutual TLS.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub cert_file: Option<String>,
    /// Client certificate inline (PEM).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub cert: Option<String>,
    /// Client key (PEM file) for mutual TLS.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub key_file: Option<String>,
    /// Client key inline (PEM).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub key: Option<String>,
    /// Server name to verify (SNI) instead of the host of the URL.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub server_name: Option<String>,
    /// Skip verification of the server's certificate.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version (`TLS12`, `TLS13`).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub min_version: Option<String>,
}

/// A relative `path` made relative to `dir` (absolute and empty paths stay), as Prometheus
/// resolves the files a configuration names against the configuration file's directory.
pub fn join_dir(dir: &Path, path: &mut Option<String>) {
    if let Some(p) = path.as_mut() {
        if !p.is_empty() && !Path::new(p.as_str()).is_absolute() {
            *p = dir.join(p.as_str()).to_string_lossy().into_owned();
        }
    }
}

impl TlsConfig {
    /// Makes the CA, certificate and key file paths relative to `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.ca_file);
        join_dir(dir, &mut self.cert_file);
        join_dir(dir, &mut self.key_file);
    }
}

/// One `http_headers` entry: values sent as they are, secrets (same, but hidden), and files
/// whose content is read at every request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpHeader {
    /// Plain values.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub values: Vec<String>,
    /// Secret values.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub secrets: Vec<String>,
    /// Files holding values.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub files: Vec<String>,
}

/// `oauth2`: the client-credentials grant. A token is fetched from `token_url` before the
/// first request, kept until shortly before it expires, and sent as `Authorization`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    /// The client ID.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub client_id: String,
    /// The client secret.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub client_secret: Option<String>,
    /// A file holding the client secret (read at every token request).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub client_secret_file: Option<String>,
    /// Scopes asked for.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub scopes: Vec<String>,
    /// The token endpoint.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub token_url: String,
    /// Extra form parameters of the token request.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub endpoint_params: BTreeMap<String, String>,
    /// TLS settings of the token request.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub tls_config: TlsConfig,
    /// HTTP proxy of the token request.
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub proxy_url: Option<String>,
}

/// The HTTP client settings shared by scraping and `http_sd_configs` (written inline in both,
/// as in Prometheus' files).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpClientConfig {
    /// Extra request headers.
    pub http_headers: BTreeMap<String, HttpHeader>,
    /// Basic authentication.
    pub basic_auth: Option<BasicAuth>,
    /// The Authorization header.
    pub authorization: Option<Authorization>,
    /// Bearer token (old form of `authorization`).
    pub bearer_token: Option<String>,
    /// Bearer token file (old form of `authorization.credentials_file`).
    pub bearer_token_file: Option<String>,
    /// OAuth 2.0 client credentials.
    pub oauth2: Option<OAuth2>,
    /// TLS settings.
    pub tls_config: TlsConfig,
    /// HTTP proxy URL.
    pub proxy_url: Option<String>,
    /// Whether to follow redirects (default true).
    pub follow_redirects: bool,
    /// Whether HTTP/2 may be negotiated (TLS ALPN); `false` keeps to HTTP/1.1.
    pub enable_http2: bool,
    /// Hosts, domains and networks (comma-separated) reached without `proxy_url`.
    pub no_proxy: Option<String>,
    /// Take the proxy from `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY`.
    pub proxy_from_environment: bool,
}

impl HttpClientConfig {
    /// Checks that the auth and TLS settings do not contradict each other.
    pub fn validate(&self, what: &str) -> Result<(), ConfigError> {
        let n = usize::from(self.basic_auth.is_some())
            + usize::from(self.authorization.is_some())
            + usize::from(self.bearer_token.is_some() || self.bearer_token_file.is_some());
        if n > 1 {
            return Err(ConfigError(format!(
                "{what}: at most one of basic_auth, authorization and bearer_token & bearer_token_file must be configured"
            )));
        }
        if self.proxy_from_environment && self.proxy_url.is_some() {
            return Err(ConfigError(format!(
                "{what}: if proxy_from_environment is configured, proxy_url must not be configured"
            )));
        }
        if self.no_proxy.is_some() && self.proxy_url.is_none() {
            return Err(ConfigError(format!(
                "{what}: if no_proxy is configured, proxy_url must also be configured"
            )));
        }
        if let Some(o) = &self.oauth2 {
            if n > 0 {
                return Err(ConfigError(format!(
                    "{what}: at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
                )));
            }
            if o.client_id.is_empty() {
                return Err(ConfigError(format!(
                    "{what}: oauth2 client_id must be configured"
                )));
            }
            if o.client_secret.is_some() && o.client_secret_file.is_some() {
                return Err(ConfigError(format!(
                    "{what}: at most one of oauth2 client_secret & client_secret_file must be configured"
                )));
            }
            if o.token_url.is_empty() {
                return Err(ConfigError(format!(
                    "{what}: oauth2 token_url must be configured"
                )));
            }
            if !(o.token_url.starts_with("http://") || o.token_url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "{what}: oauth2 token_url {:?} must be an http or https URL",
                    o.token_url
                )));
            }
        }
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err(ConfigError(format!(
                "{what}: at most one of bearer_token & bearer_token_file must be configured"
            )));
        }
        if let Some(a) = &self.authorization {
            if a.credentials.is_some() && a.credentials_file.is_some() {
                return Err(ConfigError(format!(
                    "{what}: at most one of authorization credentials & credentials_file must be configured"
                )));
            }
            if a.auth_type.eq_ignore_ascii_case("basic") {
                return Err(ConfigError(format!(
                    "{what}: authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
                )));
            }
        }
        if let Some(b) = &self.basic_auth {
            if b.password.is_some() && b.password_file.is_some() {
                return Err(ConfigError(format!(
                    "{what}: at most one of basic_auth password & password_file must be configured"
                )));
            }
        }
        check_headers(self).map_err(|e| ConfigError(format!("{what}: {e}")))?;
        let t = &self.tls_config;
        if t.ca.is_some() && t.ca_file.is_some() {
            return Err(ConfigError(format!(
                "{what}: at most one of ca and ca_file must be configured"
            )));
        }
        if (t.cert.is_some() || t.cert_file.is_some()) != (t.key.is_some() || t.key_file.is_some()) {
            return Err(ConfigError(format!(
                "{what}: client cert and key must be configured together (cert_file/key_file)"
            )));
        }
        if let Some(v) = &t.min_version {
            if !matches!(v.as_str(), "TLS10" | "TLS11" | "TLS12" | "TLS13") {
                return Err(ConfigError(format!("{what}: unknown TLS version {v:?}")));
            }
        }
        Ok(())
    }
}

/// Headers that HTTP itself or Prometheus' remote protocols own, so no configured header
/// may set them: a `remote_write` entry's `headers` are checked against this list.
pub const PROTOCOL_HEADERS: &[&str] = &[
    "host",
    "authorization",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
];

/// Headers that `http_headers` may not set beyond [`PROTOCOL_HEADERS`] (the client owns them).
const CLIENT_HEADERS: &[&str] = &[
    "x-prometheus-scrape-timeout-seconds",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Checks `http_headers` names and values.
pub fn check_headers(cfg: &HttpClientConfig) -> Result<(), String> {
    for (name, h) in &cfg.http_headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!("invalid HTTP header name {name:?}"));
        }
        let lower = name.to_ascii_lowercase();
        if PROTOCOL_HEADERS.iter().chain(CLIENT_HEADERS).any(|r| *r == lower) {
            return Err(format!("setting header {name:?} is not allowed"));
        }
        for v in h.values.iter().chain(&h.secrets) {
            if reqwest::header::HeaderValue::from_str(v).is_err() {
                return Err(format!("invalid value for HTTP header {name:?}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_settings_are_checked_as_prometheus_does() {
        let env_and_url = HttpClientConfig {
            proxy_from_environment: true,
            proxy_url: Some("http://127.0.0.1:3128".into()),
            ..HttpClientConfig::default()
        };
        let e = env_and_url.validate("job \"a\"").expect_err("both");
        assert!(e.0.contains("proxy_from_environment"), "{e}");
        let no_proxy_alone = HttpClientConfig {
            no_proxy: Some("localhost".into()),
            ..HttpClientConfig::default()
        };
        let e = no_proxy_alone.validate("job \"a\"").expect_err("no_proxy alone");
        assert!(e.0.contains("no_proxy"), "{e}");
        let ok = HttpClientConfig {
            no_proxy: Some("localhost,127.0.0.0/8".into()),
            proxy_url: Some("http://127.0.0.1:3128".into()),
            enable_http2: false,
            follow_redirects: true,
            ..HttpClientConfig::default()
        };
        ok.validate("job \"a\"").expect("valid");
        crate::build_client(&ok, false).expect("a client with a proxy, exceptions and HTTP/1.1 only");
    }
}
