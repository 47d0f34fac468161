//! The HTTP client kit shared by scraping, HTTP service discovery and remote-write forwarding:
//! Prometheus' client settings and the reqwest client built from them.
//!
//! # Layout
//! - [`config`]: `basic_auth`, `authorization`, `tls_config`, `http_headers` and
//!   [`HttpClientConfig`], the settings gathered, with `validate()`.
//! - `fields`: the macros that write those settings inline into a config struct (serde's
//!   `flatten` does not combine with `deny_unknown_fields`).
//! - [`build`]: [`build_client`]: TLS, proxy, redirects, User-Agent.
//! - [`auth`]: the `Authorization` header and `http_headers` of each request.
//! - `tls`: the rustls configuration used when `tls_config.server_name` is set.

pub mod auth;
pub mod build;
pub mod config;
pub(crate) mod fields;
mod tls;

pub use auth::{auth_header, check_headers, with_auth};
pub use build::{build_client, error_chain, USER_AGENT};
pub use config::{Authorization, BasicAuth, HttpClientConfig, HttpHeader, TlsConfig};
