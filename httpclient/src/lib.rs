//! The HTTP client kit shared by scraping, HTTP service discovery, remote-write forwarding
//! (in `ingest`) and the Alertmanager notifier (in `rules`): Prometheus' client settings and
//! the reqwest client built from them. A leaf crate (it depends on `storage` for the YAML
//! null rule only), so both sides use one implementation.
//!
//! # Layout
//! - [`config`]: `basic_auth`, `authorization`, `tls_config`, `http_headers` and
//!   [`HttpClientConfig`], the settings gathered, with `validate()`.
//! - [`fields`]: the macros ([`http_client_struct!`], [`with_http_client_defaults!`]) that write those settings inline into a config struct (serde's
//!   `flatten` does not combine with `deny_unknown_fields`).
//! - [`build`]: [`build_client`]: TLS, proxy, redirects, User-Agent.
//! - [`auth`]: the `Authorization` header and `http_headers` of each request.
//! - [`oauth2`]: client-credentials tokens, fetched and cached for `oauth2`.
//! - `tls`: the rustls configuration used when `tls_config.server_name` is set.

pub mod auth;
pub mod build;
pub mod config;
pub mod fields;
pub mod oauth2;
mod tls;

pub use auth::{auth_header, with_auth};
pub use build::{build_client, error_chain, USER_AGENT};
pub use config::{Authorization, BasicAuth, ConfigError, HttpClientConfig, HttpHeader, OAuth2, TlsConfig};
