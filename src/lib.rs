//! Sextant: a single-binary, Prometheus-compatible monitoring backend.
//!
//! # Layout
//! - [`adapters`]: the trait impls that connect crates: targets, rules, remote-write status,
//!   TSDB statistics and the admin API (snapshot, delete series, clean tombstones) for `web`.
//! - [`agent`]: `--agent` mode: the query API refused, the WAL truncated once every remote-write
//!   queue has sent it.
//! - [`alerting`]: recording and alerting rules and notifications: built, reloaded, measured.
//! - [`check`]: `sextant check config|rules|data`: promtool-compatible checks of configuration
//!   and rule files, and the read-only integrity check of a data directory.
//! - [`cli`]: command-line flags, named like Prometheus' own so Sextant is a drop-in.
//! - [`config`]: the `prometheus.yml`-compatible configuration file and the embedded default.
//! - [`demo`]: `--demo`'s simulated beacon nodes, served on loopback and scraped like any target.
//! - [`settings`]: flags to typed settings, checked before anything starts.
//! - [`server`]: `run`, the list of parts it starts in order, and their ordered stop.
//! - [`parts`]: the components every part shares, created before anything listens.
//! - [`routes`]: the routers of `ingest`, `web` and this crate merged and protected.
//! - [`listeners`]: the HTTP listener and OTLP/gRPC's own port.
//! - [`reload`]: SIGHUP and `/-/reload`: the configuration re-applied.
//! - [`shutdown`]: turns SIGINT/SIGTERM into an ordered stop.
//! - [`late_db`]: a handle to the database that answers "starting up" until WAL replay is done,
//!   so the listener can come up (and `/-/ready` say 503) before the data is loaded.
//! - [`logging`]: tracing set-up from `--log.level`.
//! - [`self_metrics`]: `/metrics`, Sextant's own process, storage, ingest, query and HTTP figures.
//! - [`openmetrics`]: `/metrics` content negotiation and the conversion to OpenMetrics.
//! - [`telemetry`]: OpenTelemetry tracing from the `OTEL_*` environment variables.
//! - [`security`]: `--web.config.file` (TLS, basic auth with roles, headers, rate limit),
//!   `--web.cors.origin`, and the counter of the requests they refuse.
//!
//! Data flows one way: `ingest` appends to `storage`; `query` reads `storage`; `web` serves
//! `query`; `rules` evaluates through `query` and writes to `storage`. Two leaf crates hold
//! what several sides share: `prompb` (the remote-write/read messages: ingest, web, tests,
//! benches) and `httpclient` (Prometheus' HTTP client settings and client: ingest's scrapes,
//! discovery and forwarding, and rules' Alertmanager notifier). Only this crate knows every
//! other one.

pub mod adapters;
pub mod agent;
pub mod alerting;
pub mod allocator;
pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod late_db;
pub mod listeners;
pub mod logging;
pub mod openmetrics;
pub mod parts;
pub mod reload;
pub mod routes;
pub mod security;
pub mod self_metrics;
pub mod server;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

/// Anything that stops Sextant from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file or a flag is invalid.
    #[error("{0}")]
    Config(String),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened or closed.
    #[error(transparent)]
    Db(#[from] storage::DbError),
    /// Any other I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// Loads the configuration named by the flags, then runs until SIGINT/SIGTERM.
pub fn run_from_flags(flags: cli::Flags) -> Result<(), Error> {
    let settings = settings::Settings::from_flags(&flags)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sextant")
        .build()
        .map_err(|source| Error::Io {
            context: "starting the async runtime".into(),
            source,
        })?;
    runtime.block_on(async move {
        // Before anything else, so a SIGTERM during start-up stops Sextant in order.
        let stop = shutdown::signal();
        let listener = listeners::bind(&settings.listen_address).await?;
        server::run(listener, settings, stop).await
    })
}
