//! The HTTP client settings Prometheus writes inline in `scrape_configs`, `http_sd_configs`
//! and `remote_write` entries: `basic_auth`, `authorization`, `tls_config`, `http_headers`.

use crate::error::ConfigError;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `basic_auth`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    #[serde(default)]
    pub username: String,
    /// A file holding the user name.
    #[serde(default)]
    pub username_file: Option<String>,
    /// The password.
    #[serde(default)]
    pub password: Option<String>,
    /// A file holding the password (read at every scrape, so rotation works).
    #[serde(default)]
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
    #[serde(default)]
    pub credentials: Option<String>,
    /// A file holding the credentials (read at every scrape).
    #[serde(default)]
    pub credentials_file: Option<String>,
}

/// `tls_config`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s) to verify the server with (PEM file).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// CA certificate(s) inline (PEM).
    #[serde(default)]
    pub ca: Option<String>,
    /// Client certificate (PEM file) for mutual TLS.
    #[serde(default)]
    pub cert_file: Option<String>,
    /// Client certificate inline (PEM).
    #[serde(default)]
    pub cert: Option<String>,
    /// Client key (PEM file) for mutual TLS.
    #[serde(default)]
    pub key_file: Option<String>,
    /// Client key inline (PEM).
    #[serde(default)]
    pub key: Option<String>,
    /// Server name to verify (SNI) instead of the host of the URL.
    #[serde(default)]
    pub server_name: Option<String>,
    /// Skip verification of the server's certificate.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version (`TLS12`, `TLS13`).
    #[serde(default)]
    pub min_version: Option<String>,
}

/// One `http_headers` entry: values sent as they are, secrets (same, but hidden), and files
/// whose content is read at every request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpHeader {
    /// Plain values.
    #[serde(default)]
    pub values: Vec<String>,
    /// Secret values.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Files holding values.
    #[serde(default)]
    pub files: Vec<String>,
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
    /// TLS settings.
    pub tls_config: TlsConfig,
    /// HTTP proxy URL.
    pub proxy_url: Option<String>,
    /// Whether to follow redirects (default true).
    pub follow_redirects: bool,
    /// Whether to use HTTP/2 (accepted; the client negotiates).
    pub enable_http2: bool,
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
        super::auth::check_headers(self).map_err(|e| ConfigError(format!("{what}: {e}")))?;
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
