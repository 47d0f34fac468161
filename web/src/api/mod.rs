//! The Prometheus HTTP API (`/api/v1/...` and `/federate`).
//!
//! Request flow: [`params::Params`] gathers form values from the query string and a
//! form-encoded POST body (body first, as Go's `Request.Form`); a handler parses what it needs
//! (every bad value becomes `invalid parameter "<name>": ...`), does the work on a blocking
//! thread, and returns `Result<Success, ApiError>`; [`response`] renders the one envelope
//! `{status, data, errorType, error, warnings, infos}`, [`error`] chooses the status code.
//!
//! Modules: [`query`] (query, query_range, exemplars, format/parse), [`series`] (series,
//! labels, label values), [`metadata`], [`targets`], [`status`], [`rules`] (rules, alerts,
//! notifications), [`federate`], [`export`] (raw export, JSON lines and CSV), [`remote_read`], [`remote_write`] (forwarding queues),
//! [`admin`]; helpers [`params`] (parameters and their parsers), [`json`] (number and value
//! formatting). Time and duration text forms are `storage`'s ([`storage::time`]).
//!
//! Every `/api/v1` route answers 503 until the server is ready. CORS is added by the root
//! only when `--web.cors.origin` is given.

pub mod admin;
pub mod error;
pub mod export;
pub mod federate;
pub mod json;
pub mod metadata;
pub mod params;
pub mod query;
pub mod remote_read;
pub mod remote_write;
pub mod response;
pub mod rules;
pub mod series;
pub mod status;
pub mod targets;

use crate::WebState;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub use error::{ApiError, ErrorType};
pub use response::Success;

/// The API routes (state still to be supplied).
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route(
            "/api/v1/query_exemplars",
            get(query::exemplars).post(query::exemplars),
        )
        .route("/api/v1/format_query", get(query::format).post(query::format))
        .route("/api/v1/parse_query", get(query::parse).post(query::parse))
        .route("/api/v1/series", get(series::series).post(series::series))
        .route("/api/v1/labels", get(series::labels).post(series::labels))
        .route("/api/v1/label/{name}/values", get(series::label_values))
        .route("/api/v1/metadata", get(metadata::metadata))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/targets/metadata", get(metadata::targets_metadata))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/status/walreplay", get(status::walreplay))
        .route("/api/v1/status/remote_write", get(remote_write::remote_write))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alertmanagers", get(rules::alertmanagers))
        .route("/api/v1/read", post(remote_read::read))
        .route(
            "/api/v1/export",
            get(export::export_json).post(export::export_json),
        )
        .route(
            "/api/v1/export/csv",
            get(export::export_csv).post(export::export_csv),
        )
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(admin::delete_series).put(admin::delete_series),
        )
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(admin::clean_tombstones).put(admin::clean_tombstones),
        )
        .route(
            "/api/v1/admin/tsdb/snapshot",
            post(admin::snapshot).put(admin::snapshot),
        )
        .route("/api/v1/scrape_pools", get(targets::scrape_pools))
        .route("/api/v1/notifications", get(rules::notifications))
        .route("/federate", get(federate::federate))
}

/// Until start-up is done, the API answers 503 `Service Unavailable` as Prometheus does.
pub async fn ready_gate(
    axum::extract::State(st): axum::extract::State<Arc<WebState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if st.ready.load(std::sync::atomic::Ordering::Acquire) {
        next.run(req).await
    } else {
        axum::response::IntoResponse::into_response((
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
        ))
    }
}

/// Runs blocking work (storage reads, query evaluation) off the async runtime.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(ApiError::internal(format!("request handler failed: {e}"))),
    }
}

pub(crate) use storage::now_ms;
