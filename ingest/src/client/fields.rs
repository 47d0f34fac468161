//! The HTTP client fields Prometheus writes inline in `scrape_configs`, `http_sd_configs` and
//! `remote_write` entries (`basic_auth`, `authorization`, `tls_config`, `proxy_url`, ...).
//!
//! Serde's `flatten` does not combine with `deny_unknown_fields`, which every config struct
//! needs to name a misspelt field. So instead of a flattened [`HttpClientConfig`] field, each
//! struct gets the fields written out by [`http_client_struct!`], together with a method
//! `http()` that gathers them, and its constructor fills them with
//! [`with_http_client_defaults!`].
//!
//! [`HttpClientConfig`]: super::config::HttpClientConfig

/// Always true (serde default).
pub(crate) fn default_true() -> bool {
    true
}

/// Declares a config struct with its own fields followed by Prometheus' inline HTTP client
/// fields, and `fn http(&self) -> HttpClientConfig` returning them.
macro_rules! http_client_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Basic authentication.
            #[serde(default)]
            pub basic_auth: Option<$crate::client::config::BasicAuth>,
            /// The Authorization header.
            #[serde(default)]
            pub authorization: Option<$crate::client::config::Authorization>,
            /// Bearer token (old form of `authorization`).
            #[serde(default)]
            pub bearer_token: Option<String>,
            /// Bearer token file (old form of `authorization.credentials_file`).
            #[serde(default)]
            pub bearer_token_file: Option<String>,
            /// TLS settings.
            #[serde(default)]
            pub tls_config: $crate::client::config::TlsConfig,
            /// HTTP proxy URL.
            #[serde(default)]
            pub proxy_url: Option<String>,
            /// Whether to follow redirects (default true).
            #[serde(default = "crate::client::fields::default_true")]
            pub follow_redirects: bool,
            /// Whether to use HTTP/2 (accepted; the client negotiates).
            #[serde(default = "crate::client::fields::default_true")]
            pub enable_http2: bool,
            /// Extra request headers (`values`, `secrets`, `files`).
            #[serde(default)]
            pub http_headers: std::collections::BTreeMap<String, $crate::client::config::HttpHeader>,
            /// Accepted for compatibility (proxying is configured with `proxy_url`).
            #[serde(default)]
            pub no_proxy: Option<String>,
            /// Accepted for compatibility.
            #[serde(default)]
            pub proxy_from_environment: Option<bool>,
        }

        impl $name {
            /// The HTTP client settings of this entry.
            pub fn http(&self) -> $crate::client::config::HttpClientConfig {
                $crate::client::config::HttpClientConfig {
                    basic_auth: self.basic_auth.clone(),
                    authorization: self.authorization.clone(),
                    bearer_token: self.bearer_token.clone(),
                    bearer_token_file: self.bearer_token_file.clone(),
                    tls_config: self.tls_config.clone(),
                    proxy_url: self.proxy_url.clone(),
                    follow_redirects: self.follow_redirects,
                    enable_http2: self.enable_http2,
                    http_headers: self.http_headers.clone(),
                }
            }
        }
    };
}

/// Builds a struct declared with [`http_client_struct!`] from its own fields, the HTTP client
/// fields taking Prometheus' defaults.
macro_rules! with_http_client_defaults {
    ($name:ident { $( $field:ident : $value:expr ),* $(,)? }) => {
        $name {
            $( $field: $value, )*
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            tls_config: $crate::client::config::TlsConfig::default(),
            proxy_url: None,
            follow_redirects: true,
            enable_http2: true,
            http_headers: std::collections::BTreeMap::new(),
            no_proxy: None,
            proxy_from_environment: None,
        }
    };
}

pub(crate) use http_client_struct;
pub(crate) use with_http_client_defaults;
