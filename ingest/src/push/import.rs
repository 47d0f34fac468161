//! `POST /api/v1/import/prometheus`: Prometheus text exposition (or OpenMetrics) pushed by
//! batch jobs, parsed with the scrape parser ([`crate::exposition`]).
//!
//! - `Content-Type` picks the format (OpenMetrics for `application/openmetrics-text`,
//!   Prometheus text otherwise); `Content-Encoding: gzip` is accepted.
//! - Samples without a timestamp get the time the request arrived.
//! - A body that does not parse is refused whole (400 naming the line); series over the
//!   per-series limits are refused alone (400 naming the first), the others kept.
//! - HELP/TYPE/UNIT lines become metric metadata.
//!
//! [`router`] is the route; [`ingest_text`] the decoding and writing.

use super::body::{content_encoding, gzip_decompress};
use super::labels::LabelsCollector;
use super::rejections::Protocol;
use super::respond::{error_response, refuse, respond};
use super::writer::{SeriesWriter, WriteOutcome};
use super::PushLimits;
use crate::error::PushError;
use crate::exposition;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::sync::Arc;
use storage::{Appendable, SeriesRef};

/// What the import handler needs.
struct ImportState {
    /// Where samples go.
    db: Arc<dyn Appendable>,
    /// Size and count limits.
    limits: PushLimits,
}

/// The import route, writing to `db`.
pub fn router(db: Arc<dyn Appendable>, limits: PushLimits) -> Router {
    Router::new()
        .route("/api/v1/import/prometheus", post(handler))
        .with_state(Arc::new(ImportState { db, limits }))
}

async fn handler(State(st): State<Arc<ImportState>>, headers: HeaderMap, body: Body) -> Response {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let import = Protocol::Import;
    let gzip = match content_encoding(&headers) {
        Ok(c) if c.is_empty() || c == "identity" => false,
        Ok(c) if c == "gzip" => true,
        Ok(c) => {
            return refuse(
                import,
                &PushError::UnsupportedEncoding {
                    got: c,
                    accepted: "import accepts gzip or none".into(),
                },
            )
        }
        Err(e) => return refuse(import, &e),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let max_body_bytes = st.limits.max_body_bytes;
    let work = move |bytes: bytes::Bytes| {
        move || {
            let limit = st.limits.max_decompressed_bytes;
            let raw = if gzip {
                std::borrow::Cow::Owned(gzip_decompress(&bytes, limit)?)
            } else {
                std::borrow::Cow::Borrowed(&bytes[..])
            };
            ingest_text(&*st.db, &raw, &content_type, now_ms, &st.limits)
        }
    };
    respond(
        import,
        &headers,
        body,
        max_body_bytes,
        error_response,
        work,
        |res| match res {
            Ok(out) => match out.into_result() {
                Ok(_) => StatusCode::NO_CONTENT.into_response(),
                Err(e) => refuse(import, &e),
            },
            Err(e) => error_response(&e),
        },
    )
    .await
}

/// Parses `body` (already decompressed) and writes it to `db` in one batch; `now_ms` is the
/// timestamp of samples that have none.
pub fn ingest_text(
    db: &dyn Appendable,
    body: &[u8],
    content_type: &str,
    now_ms: i64,
    limits: &PushLimits,
) -> Result<WriteOutcome, PushError> {
    let parsed = exposition::parse(body, content_type)
        .map_err(|e| PushError::Malformed(format!("parsing the exposition body: {e}")))?;
    if parsed.samples.len() > limits.max_samples_per_request {
        return Err(PushError::TooMany {
            what: "samples",
            count: parsed.samples.len(),
            limit: limits.max_samples_per_request,
        });
    }
    let mut c = LabelsCollector::default();
    SeriesWriter::batch(db, |w| {
        for s in &parsed.samples {
            c.clear();
            for l in s.labels.iter() {
                c.push(l.name.clone(), l.value.clone());
            }
            let labels = match c.finish(limits) {
                Ok(l) => l,
                Err(e) => {
                    w.reject(1, || e);
                    continue;
                }
            };
            let t = s.timestamp_ms.unwrap_or(now_ms);
            if w.append(&mut SeriesRef(0), &labels, t, s.value)? {
                w.count_sample();
            }
        }
        for (family, meta) in &parsed.metadata {
            w.metadata(family, meta.clone())?;
        }
        Ok(())
    })
    .map(|((), out)| out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use storage::{Db, DbOptions, MatchOp, Matcher, MetricType, Queryable, SelectHints};

    #[test]
    fn text_with_and_without_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(DbOptions::new(dir.path())).unwrap();
        let body = b"# HELP jobs_done Jobs done.\n# TYPE jobs_done counter\njobs_done{queue=\"a\"} 3\njobs_done{queue=\"b\"} 4 1000\n";
        let out = ingest_text(&db, body, "text/plain", 5000, &PushLimits::default()).unwrap();
        assert_eq!(out.samples, 2);
        assert_eq!(out.error, None);
        let q = db.querier(0, i64::MAX).unwrap();
        let s = q
            .select(
                &SelectHints {
                    mint: 0,
                    maxt: i64::MAX,
                },
                &[Matcher::new(MatchOp::Equal, "__name__", "jobs_done").unwrap()],
            )
            .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].samples[0].t, s[0].samples[0].v), (5000, 3.0));
        assert_eq!((s[1].samples[0].t, s[1].samples[0].v), (1000, 4.0));
        assert_eq!(db.metadata()["jobs_done"][0].metric_type, MetricType::Counter);

        let e = ingest_text(&db, b"ok 1\nbad{ 2\n", "text/plain", 0, &PushLimits::default()).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
