#![cfg_attr(test, allow(clippy::unwrap_used))]
//! Sextant's HTTP face: the Prometheus HTTP API, health endpoints and the UI.
//!
//! # Layout
//! - [`api`]: the Prometheus HTTP API (`/api/v1/...`, `/federate`), one module per group of
//!   endpoints; every handler returns `Result<Success, ApiError>` and the envelope is built in
//!   one place (`api::response`), errors mapped to status codes in one place (`api::error`).
//! - [`http_metrics`]: requests by handler and code, and their durations (a middleware).
//! - [`WebState`]: everything the handlers read (storage, engine, build and runtime facts, the
//!   scrape manager's targets through [`TargetsProvider`], TSDB statistics through
//!   [`TsdbStatsProvider`]).
//!
//! The API follows Prometheus 3's HTTP API: the same paths, parameters, JSON shapes, error
//! types and status codes, GET and form-encoded POST alike.

pub mod api;
pub mod http_metrics;

pub use api::admin::AdminApi;
pub use api::remote_write::{RemoteWriteProvider, RemoteWriteQueue};
pub use api::rules::{
    Alert, AlertState, AlertingRule, RecordingRule, Rule, RuleGroup, RuleHealth, RulesProvider, RulesQuery,
};
pub use api::status::{BuildInfo, HeadStats, TsdbStatsProvider};
pub use api::targets::{
    ActiveTarget, DroppedTarget, NoTargets, TargetHealth, TargetMetadata, TargetsProvider,
};

use axum::{routing::get, Router};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use storage::Labels;

mod ui;

/// Everything the web layer serves from.
pub struct WebState {
    /// The storage to read from.
    pub queryable: Arc<dyn storage::Queryable>,
    /// The PromQL engine.
    pub engine: Arc<query::Engine>,
    /// Set once start-up (WAL replay) is done; `/-/ready` answers 503 until then.
    pub ready: Arc<AtomicBool>,
    /// What `/api/v1/status/buildinfo` reports.
    pub build_info: BuildInfo,
    /// Command-line flags by Prometheus name, for `/api/v1/status/flags`.
    pub flags: BTreeMap<String, String>,
    /// The loaded configuration file as YAML, for `/api/v1/status/config`.
    pub config_yaml: String,
    /// The scrape manager's view of its targets.
    pub targets: Arc<dyn TargetsProvider>,
    /// Head statistics for `/api/v1/status/tsdb`; `None` computes what it can from the queryable.
    pub tsdb_stats: Option<Arc<dyn TsdbStatsProvider>>,
    /// When the process started (runtime info).
    pub start_time: SystemTime,
    /// The configured retention as Prometheus shows it (e.g. `15d`), for runtime info.
    pub storage_retention: String,
    /// `global.external_labels`: added by `/federate` and remote read to series that lack them.
    pub external_labels: Labels,
    /// `--web.enable-admin-api`: whether the admin endpoints may be used.
    pub enable_admin_api: bool,
    /// The storage's administrative operations, if it supports them.
    pub admin: Option<Arc<dyn AdminApi>>,
    /// Rule and alert status for `/api/v1/rules` and `/api/v1/alerts`; `None` = no rules.
    pub rules: Option<Arc<dyn RulesProvider>>,
    /// Remote-write queues for `/api/v1/status/remote_write`; `None` = nothing forwarded.
    pub remote_write: Option<Arc<dyn RemoteWriteProvider>>,
}

impl WebState {
    /// A state with the given storage, engine and readiness flag, and defaults for the rest:
    /// Prometheus-compatible build info, no flags, empty config, no targets, start time now.
    pub fn new(
        queryable: Arc<dyn storage::Queryable>,
        engine: Arc<query::Engine>,
        ready: Arc<AtomicBool>,
    ) -> Self {
        WebState {
            queryable,
            engine,
            ready,
            build_info: BuildInfo::default(),
            flags: BTreeMap::new(),
            config_yaml: String::new(),
            targets: Arc::new(NoTargets),
            tsdb_stats: None,
            start_time: SystemTime::now(),
            storage_retention: String::new(),
            external_labels: Labels::empty(),
            enable_admin_api: false,
            admin: None,
            rules: None,
            remote_write: None,
        }
    }
}

/// The router for the API, health endpoints and UI.
pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route(
            "/-/healthy",
            get(|| async { "Sextant is Healthy.\n" }).head(|| async {}),
        )
        .route("/-/ready", get(ready).head(ready))
        .merge(api::routes().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::ready_gate,
        )))
        .with_state(state)
        .merge(ui::routes())
        // Fastest gzip: a range query's JSON shrinks almost as much as at the default level,
        // in a fraction of the time (compression was a quarter of a typical query's CPU).
        .layer(
            tower_http::compression::CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest),
        )
}

/// The answer for paths nothing else serves: Prometheus' plain-text `404 page not found`.
/// A gRPC request (OTLP shares the listener) gets gRPC's `UNIMPLEMENTED` instead, as a gRPC
/// server answers an unknown method. Install it on the final, merged router.
pub async fn fallback(req: axum::extract::Request) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let grpc = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"));
    if grpc {
        return (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/grpc"),
                (header::HeaderName::from_static("grpc-status"), "12"),
            ],
        )
            .into_response();
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "404 page not found\n",
    )
        .into_response()
}

async fn ready(
    axum::extract::State(state): axum::extract::State<Arc<WebState>>,
) -> (axum::http::StatusCode, &'static str) {
    if state.ready.load(Ordering::Acquire) {
        (axum::http::StatusCode::OK, "Sextant is Ready.\n")
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
    }
}
