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

/// Always true (serde default of `follow_redirects` and `enable_http2`).
pub fn default_true() -> bool {
    true
}

/// Declares a config struct with its own fields followed by Prometheus' inline HTTP client
/// fields, and `fn http(&self) -> HttpClientConfig` returning them.
#[macro_export]
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
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub basic_auth: Option<$crate::config::BasicAuth>,
            /// The Authorization header.
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub authorization: Option<$crate::config::Authorization>,
            /// Bearer token (old form of `authorization`).
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub bearer_token: Option<String>,
            /// Bearer token file (old form of `authorization.credentials_file`).
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub bearer_token_file: Option<String>,
            /// OAuth 2.0 client credentials.
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub oauth2: Option<$crate::config::OAuth2>,
            /// TLS settings.
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub tls_config: $crate::config::TlsConfig,
            /// HTTP proxy URL.
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub proxy_url: Option<String>,
            /// Whether to follow redirects (default true).
            #[serde(default = "httpclient::fields::default_true")]
            pub follow_redirects: bool,
            /// Whether HTTP/2 may be negotiated (TLS ALPN); `false` keeps to HTTP/1.1.
            #[serde(default = "httpclient::fields::default_true")]
            pub enable_http2: bool,
            /// Extra request headers (`values`, `secrets`, `files`).
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub http_headers: std::collections::BTreeMap<String, $crate::config::HttpHeader>,
            /// Hosts, domains and networks (comma-separated) reached without `proxy_url`.
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub no_proxy: Option<String>,
            /// Take the proxy from `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY`.
            #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
            pub proxy_from_environment: Option<bool>,
        }

        impl $name {
            /// Makes the relative file paths of the HTTP client settings (credential, TLS
            /// and header files) relative to `dir`, the configuration file's directory.
            pub fn set_http_directory(&mut self, dir: &std::path::Path) {
                use $crate::config::join_dir;
                if let Some(b) = self.basic_auth.as_mut() {
                    join_dir(dir, &mut b.username_file);
                    join_dir(dir, &mut b.password_file);
                }
                if let Some(a) = self.authorization.as_mut() {
                    join_dir(dir, &mut a.credentials_file);
                }
                if let Some(o) = self.oauth2.as_mut() {
                    join_dir(dir, &mut o.client_secret_file);
                    o.tls_config.set_directory(dir);
                }
                join_dir(dir, &mut self.bearer_token_file);
                self.tls_config.set_directory(dir);
                for h in self.http_headers.values_mut() {
                    for f in h.files.iter_mut() {
                        let mut path = Some(std::mem::take(f));
                        join_dir(dir, &mut path);
                        *f = path.unwrap_or_default();
                    }
                }
            }

            /// The HTTP client settings of this entry.
            pub fn http(&self) -> $crate::config::HttpClientConfig {
                $crate::config::HttpClientConfig {
                    basic_auth: self.basic_auth.clone(),
                    authorization: self.authorization.clone(),
                    bearer_token: self.bearer_token.clone(),
                    bearer_token_file: self.bearer_token_file.clone(),
                    oauth2: self.oauth2.clone(),
                    tls_config: self.tls_config.clone(),
                    proxy_url: self.proxy_url.clone(),
                    follow_redirects: self.follow_redirects,
                    enable_http2: self.enable_http2,
                    no_proxy: self.no_proxy.clone(),
                    proxy_from_environment: self.proxy_from_environment.unwrap_or(false),
                    http_headers: self.http_headers.clone(),
                }
            }
        }
    };
}

/// Builds a struct declared with [`http_client_struct!`] from its own fields, the HTTP client
/// fields taking Prometheus' defaults.
#[macro_export]
macro_rules! with_http_client_defaults {
    ($name:ident { $( $field:ident : $value:expr ),* $(,)? }) => {
        $name {
            $( $field: $value, )*
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            oauth2: None,
            tls_config: $crate::config::TlsConfig::default(),
            proxy_url: None,
            follow_redirects: true,
            enable_http2: true,
            http_headers: std::collections::BTreeMap::new(),
            no_proxy: None,
            proxy_from_environment: None,
        }
    };
}
