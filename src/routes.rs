//! The HTTP surface: the routers of `web` (API, UI), `ingest` (push endpoints, OTLP/gRPC) and
//! this crate (`/metrics`, `/-/reload`) merged, with the agent-mode gate, request metrics and
//! `--web.config.file` protection around them.

use crate::adapters;
use crate::parts::Parts;
use crate::reload::{lifecycle_routes, ReloadRequest};
use crate::settings::Settings;
use std::sync::Arc;

/// The whole application the main listener serves.
pub fn app(
    settings: &Settings,
    parts: &Parts,
    reload_tx: tokio::sync::mpsc::Sender<ReloadRequest>,
) -> axum::Router {
    let agent = settings.flags.agent;
    let limits = settings.push_limits.clone();
    let app = web::router(Arc::new(web_state(settings, parts)))
        .merge(metrics_route(parts))
        .merge(lifecycle_routes(settings.flags.enable_lifecycle, reload_tx))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::agent::refuse_queries(agent, req, next)
        }))
        .merge(ingest::push_router(parts.appendable.clone(), limits.clone()))
        // OTLP over gRPC is served on the same listener (HTTP/2 cleartext) as everything else.
        .merge(ingest::otlp::grpc::otlp_grpc_router(
            parts.appendable.clone(),
            limits,
        ))
        // The gRPC router's fallback answers every unknown path with gRPC's UNIMPLEMENTED;
        // HTTP clients must get Prometheus' 404 instead.
        .fallback(web::fallback)
        // Counts every request by route pattern and status (`prometheus_http_requests_total`).
        .layer(axum::middleware::from_fn(web::http_metrics::track));
    crate::security::protect(app, settings.security.clone(), settings.cors.clone())
}

/// What the web layer serves from: storage, engine, and the other crates through adapters.
fn web_state(settings: &Settings, parts: &Parts) -> web::WebState {
    let mut st = web::WebState::new(parts.late.clone(), parts.engine.clone(), parts.ready.clone());
    st.targets = Arc::new(adapters::targets::ScrapeTargets(parts.scrape.clone()));
    st.flags = settings.flags.as_map().into_iter().collect();
    st.config_yaml = crate::security::secrets::mask(&settings.config.text);
    st.external_labels = storage::Labels::from_pairs(settings.config.config.global.external_labels.iter());
    st.storage_retention = settings.flags.retention_time.clone();
    st.enable_admin_api = settings.flags.enable_admin_api;
    st.admin = Some(Arc::new(adapters::admin::DbAdmin(parts.late.clone())));
    st.tsdb_stats = Some(Arc::new(adapters::tsdb_stats::HeadStatsFromDb(
        parts.late.clone(),
    )));
    st.rules = Some(Arc::new(adapters::rules::RulesStatus(
        parts.rules.manager.clone(),
    )));
    st.remote_write = Some(Arc::new(adapters::remote_write::ForwardStatus(
        parts.forward.clone(),
    )));
    st
}

/// `GET /metrics`: the sources of [`crate::self_metrics`], as text or OpenMetrics.
fn metrics_route(parts: &Parts) -> axum::Router {
    let self_metrics = Arc::new(crate::self_metrics::SelfMetrics::new(
        crate::self_metrics::sources(
            parts.late.clone(),
            parts.scrape.clone(),
            parts.rules.clone(),
            parts.forward.clone(),
        ),
    ));
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let m = self_metrics.clone();
            async move { crate::openmetrics::respond(&headers, m.render()) }
        }),
    )
}
