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

/// The first segment to keep so that the segments from it on hold at most `max_bytes`
/// (`segments`: index and size, oldest first), or `None` when they all fit.
fn first_within(segments: &[(u64, u64)], max_bytes: u64) -> Option<u64> {
    let mut total: u64 = segments.iter().map(|s| s.1).sum();
    for &(index, bytes) in segments {
        if total <= max_bytes {
            return Some(index).filter(|_| index != segments[0].0);
        }
        total -= bytes;
    }
    segments.last().map(|s| s.0)
}

/// The WAL's segment files (index, bytes), oldest first.
fn wal_segments(dir: &std::path::Path) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((name.parse().ok()?, e.metadata().ok()?.len()))
        })
        .collect();
    v.sort_unstable();
    v
}

/// Drops the WAL segments every remote-write queue has sent past (all closed segments when
/// there is no queue), every [`TRUNCATE_EVERY`]; and, when the WAL outgrows `max_bytes` (0: no
/// limit), the oldest segments even if a queue has not sent them, with a warning.
pub async fn truncate_wal_loop(
    db: Arc<storage::Db>,
    forward: Arc<ingest::forward::ForwardManager>,
    max_bytes: u64,
) {
    let mut tick = tokio::time::interval(TRUNCATE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let needed = forward.min_needed_segment();
        let over = if max_bytes > 0 {
            first_within(&wal_segments(&db.wal_dir()), max_bytes)
        } else {
            None
        };
        let upto = match (needed, over) {
            (Some(n), Some(o)) if o > n => {
                tracing::warn!(segments = o - n, max_bytes, "agent: WAL over --storage.forward.wal-max-size: removing segments remote-write queues have not sent; their samples will not be forwarded (counted in sextant_remote_storage_wal_segments_skipped_total)");
                o
            }
            (None, Some(o)) => {
                tracing::warn!(max_bytes, "agent: WAL over --storage.forward.wal-max-size: removing segments remote-write queues have not sent; their samples will not be forwarded (counted in sextant_remote_storage_wal_segments_skipped_total)");
                o
            }
            (Some(n), _) => n,
            (None, None) => continue,
        };
        let upto = upto.min(db.wal_active_segment());
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
    fn size_cap_keeps_the_newest_segments() {
        let segs = [(3, 100), (4, 100), (5, 100), (6, 50)];
        assert_eq!(first_within(&segs, 1000), None);
        assert_eq!(first_within(&segs, 350), None);
        assert_eq!(first_within(&segs, 300), Some(4));
        assert_eq!(first_within(&segs, 150), Some(5));
        assert_eq!(first_within(&segs, 10), Some(6));
        assert_eq!(first_within(&[], 10), None);
    }

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
