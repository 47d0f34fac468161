//! Agent mode (`--agent`): Sextant scrapes and receives, forwards everything by remote write,
//! and keeps only the WAL the queues still need. Queries are refused, as Prometheus' agent does.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

/// How often agent mode drops WAL segments every queue has sent.
const TRUNCATE_EVERY: Duration = Duration::from_secs(5);

/// API paths that read stored data, which an agent does not keep.
const QUERY_PATHS: &[&str] = &[
    "/api/v1/query",
    "/api/v1/query_range",
    "/api/v1/query_exemplars",
    "/api/v1/series",
    "/api/v1/labels",
    "/api/v1/label/",
    "/api/v1/rules",
    "/api/v1/alerts",
    "/api/v1/status/tsdb",
    "/api/v1/read",
    "/api/v1/export",
    "/api/v1/admin/",
    "/federate",
];

fn is_query_path(path: &str) -> bool {
    QUERY_PATHS.iter().any(|p| {
        if p.ends_with('/') {
            path.starts_with(p)
        } else {
            path == *p
        }
    })
}

/// Middleware: in agent mode, answers the query API with Prometheus' 503 `unavailable` error.
pub async fn refuse_queries(agent: bool, req: Request, next: Next) -> Response {
    if agent && is_query_path(req.uri().path()) {
        let body = serde_json::json!({
            "status": "error",
            "errorType": "unavailable",
            "error": "unavailable with Sextant Agent (started with --agent: data is forwarded by remote_write, not stored for queries)",
        });
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    next.run(req).await
}

/// Drops the WAL segments every remote-write queue has sent past (all closed segments when
/// there is no queue), every [`TRUNCATE_EVERY`].
pub async fn truncate_wal_loop(db: Arc<storage::Db>, forward: Arc<ingest::forward::ForwardManager>) {
    let mut tick = tokio::time::interval(TRUNCATE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(needed) = forward.min_needed_segment() else {
            continue;
        };
        let upto = needed.min(db.wal_active_segment());
        let db = db.clone();
        let r = tokio::task::spawn_blocking(move || db.truncate_wal_before(upto)).await;
        match r {
            Ok(Ok(st)) if st.segments_removed > 0 => tracing::info!(
                segments = st.segments_removed,
                bytes = st.bytes_removed,
                series = st.series_kept,
                "agent: WAL segments sent by every queue removed"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "agent: WAL truncation failed; will retry"),
            Err(e) => tracing::error!(error = %e, "agent: WAL truncation task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_paths() {
        assert!(is_query_path("/api/v1/query"));
        assert!(is_query_path("/api/v1/label/job/values"));
        assert!(is_query_path("/federate"));
        assert!(!is_query_path("/api/v1/write"));
        assert!(!is_query_path("/api/v1/targets"));
        assert!(!is_query_path("/api/v1/query_rangex"));
        assert!(!is_query_path("/metrics"));
    }
}
