//! Sextant's HTTP face: the Prometheus HTTP API, health endpoints and the UI (skeleton).

use axum::{routing::get, Router};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod ui;

/// Everything the web layer serves from.
pub struct WebState {
    /// The storage to read from.
    pub queryable: Arc<dyn storage::Queryable>,
    /// The PromQL engine.
    pub engine: Arc<query::Engine>,
    /// Set once start-up (WAL replay) is done; `/-/ready` answers 503 until then.
    pub ready: Arc<AtomicBool>,
}

/// The router for the API, health endpoints and UI.
pub fn router(state: Arc<WebState>) -> Router {
    let ready = state.ready.clone();
    Router::new()
        .route("/-/healthy", get(|| async { "Sextant is Healthy.\n" }))
        .route(
            "/-/ready",
            get(move || {
                let ready = ready.clone();
                async move {
                    if ready.load(Ordering::Acquire) {
                        (axum::http::StatusCode::OK, "Sextant is Ready.\n")
                    } else {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
                    }
                }
            }),
        )
        .merge(ui::routes())
}
