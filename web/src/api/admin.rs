//! `/api/v1/admin/tsdb/{delete_series,clean_tombstones,snapshot}`, behind
//! `--web.enable-admin-api`. The work is done by an [`AdminApi`] the storage side supplies;
//! while the flag is off every call answers `unavailable` ("admin APIs disabled") as Prometheus.

use super::error::{ApiError, ErrorType};
use super::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use super::response::Success;
use crate::WebState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use storage::Matcher;

/// Administrative storage operations.
pub trait AdminApi: Send + Sync {
    /// Marks samples of series matching any of `matcher_sets` in `[start, end]` (ms) deleted.
    fn delete_series(&self, matcher_sets: &[Vec<Matcher>], start: i64, end: i64) -> Result<(), String>;
    /// Rewrites data without the deleted samples.
    fn clean_tombstones(&self) -> Result<(), String>;
    /// Writes a snapshot under the data directory's `snapshots/`; returns its directory name.
    fn snapshot(&self, skip_head: bool) -> Result<String, String>;
}

fn admin(st: &WebState) -> Result<Arc<dyn AdminApi>, ApiError> {
    if !st.enable_admin_api {
        return Err(ApiError::new(ErrorType::Unavailable, "admin APIs disabled"));
    }
    st.admin.clone().ok_or_else(|| {
        ApiError::new(
            ErrorType::Unavailable,
            "admin APIs are not supported by this storage",
        )
    })
}

/// `POST|PUT /api/v1/admin/tsdb/delete_series`: `match[]` (required), `start`, `end`; 204.
pub async fn delete_series(State(st): State<Arc<WebState>>, p: Params) -> Result<Response, ApiError> {
    let a = admin(&st)?;
    if p.all("match[]").is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let start = p.time_or("start", MIN_TIME_MS)?;
    let end = p.time_or("end", MAX_TIME_MS)?;
    let sets = p.matcher_sets()?;
    super::blocking(move || a.delete_series(&sets, start, end).map_err(ApiError::internal)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST|PUT /api/v1/admin/tsdb/clean_tombstones`; 204.
pub async fn clean_tombstones(State(st): State<Arc<WebState>>) -> Result<Response, ApiError> {
    let a = admin(&st)?;
    super::blocking(move || a.clean_tombstones().map_err(ApiError::internal)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST|PUT /api/v1/admin/tsdb/snapshot?skip_head=<bool>`: `{"name": "<dir>"}`.
pub async fn snapshot(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let a = admin(&st)?;
    let skip_head = match p.get("skip_head") {
        "" => false,
        v => parse_go_bool(v).ok_or_else(|| {
            ApiError::bad_data(format!(
                "unable to parse boolean 'skip_head' argument: strconv.ParseBool: parsing {}: invalid syntax",
                super::json::go_quote(v)
            ))
        })?,
    };
    let name = super::blocking(move || a.snapshot(skip_head).map_err(ApiError::internal)).await?;
    #[derive(serde::Serialize)]
    struct Name {
        name: String,
    }
    Success::json(&Name { name })
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
