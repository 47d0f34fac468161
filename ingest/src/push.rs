//! The push endpoints: one axum router the root mounts on its HTTP listener.
//!
//! | route | protocol |
//! |---|---|
//! | `POST /api/v1/write` | Prometheus remote write 1.0 and 2.0 ([`crate::remote_write`]) |
//! | `POST /v1/metrics`, `POST /api/v1/otlp/v1/metrics` | OTLP/HTTP metrics, protobuf or JSON, optionally gzip ([`crate::otlp`]) |
//! | `POST /v1/traces` | OTLP/HTTP traces, counted into span metrics ([`crate::otlp::traces`]) |
//! | `POST /api/v1/import/prometheus` | Prometheus text exposition (batch jobs) |
//!
//! `POST /api/v1/import/prometheus` takes the text format (or OpenMetrics), optionally gzip;
//! samples without a timestamp get the arrival time ([`import`]).
//!
//! OTLP/gRPC is a separate tonic service, [`crate::otlp::otlp_grpc_service`].
//!
//! Every request is decoded and appended on a blocking thread (decoding is CPU work and
//! appending may write the WAL), as one [`storage::Appender`] batch.

pub mod body;
pub mod histogram;
pub mod import;
pub(crate) mod labels;
mod limits;
pub mod rejections;
pub mod series_cache;
pub mod writer;

pub use limits::{OtlpOptions, PushLimits};
pub use writer::WriteOutcome;

use crate::error::PushError;
use crate::metrics::{self, Protocol};
use crate::remote_write::{self, Version};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::sync::Arc;
use storage::Appendable;

/// Series whose validated labels are remembered between remote-write requests.
const SERIES_CACHE_CAPACITY: usize = 1 << 20;

/// What every push handler shares.
pub(crate) struct PushState {
    /// Where samples go.
    pub db: Arc<dyn Appendable>,
    /// Limits and OTLP options.
    pub limits: PushLimits,
    /// OTLP translation state (delta accumulation).
    pub otlp: crate::otlp::OtlpState,
    /// Validated remote-write label sets between requests.
    pub series: series_cache::SeriesCache,
}

/// The push router: remote write, OTLP/HTTP and text import, all writing to `appendable`.
pub fn push_router(appendable: Arc<dyn Appendable>, limits: PushLimits) -> Router {
    let state = Arc::new(PushState {
        db: appendable,
        otlp: crate::otlp::OtlpState::new(&limits.otlp),
        series: series_cache::SeriesCache::new(SERIES_CACHE_CAPACITY),
        limits,
    });
    Router::new()
        .route("/api/v1/write", post(remote_write_handler))
        .route("/v1/metrics", post(crate::otlp::http_handler))
        .route("/api/v1/otlp/v1/metrics", post(crate::otlp::http_handler))
        .route("/v1/traces", post(crate::otlp::traces_handler))
        .route("/api/v1/import/prometheus", post(import_handler))
        // Body size is enforced by each handler with a clear message.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// A plain-text error answer (what Prometheus' receivers send).
pub(crate) fn error_response(e: &PushError) -> Response {
    if e.is_retryable() {
        tracing::warn!(error = %e, "push request failed");
    } else {
        tracing::debug!(error = %e, "push request refused");
    }
    (
        e.status(),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        format!("{e}\n"),
    )
        .into_response()
}

/// Counts a request refused as a whole for `p`, then answers it.
pub(crate) fn refuse(p: rejections::Protocol, e: &PushError) -> Response {
    rejections::request(p, e);
    error_response(e)
}

/// [`blocking`], counting the sample rejections of `f` for protocol `p`.
pub(crate) async fn blocking_as<T: Send + 'static>(
    p: rejections::Protocol,
    f: impl FnOnce() -> Result<T, PushError> + Send + 'static,
) -> Result<T, PushError> {
    blocking(move || {
        let _scope = rejections::enter(p);
        f()
    })
    .await
}

/// Runs `f` on a blocking thread; a panic there becomes a 500.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PushError> + Send + 'static,
) -> Result<T, PushError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PushError::Internal(format!("ingest task failed: {e}")))?
}

async fn remote_write_handler(State(st): State<Arc<PushState>>, headers: HeaderMap, body: Body) -> Response {
    let version = match remote_write::negotiate(&headers) {
        Ok(v) => v,
        Err(e) => return refuse(Protocol::RemoteWriteV1, &e),
    };
    let proto = if version == Version::V2 {
        Protocol::RemoteWriteV2
    } else {
        Protocol::RemoteWriteV1
    };
    let bytes = match body::read_body(&headers, body, st.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return refuse(proto, &e),
    };
    let st2 = st.clone();
    let span = tracing::info_span!("remote_write", protocol = proto.as_str(), bytes = bytes.len());
    let res = blocking_as(proto, move || {
        let _g = span.enter();
        remote_write::ingest(&*st2.db, version, &bytes, &st2.limits, &st2.series)
    })
    .await;
    match &res {
        Ok(out) => metrics::ingest().appended(proto, out.samples, out.histograms, out.exemplars),
        Err(_) => metrics::ingest().failed(proto),
    }
    match res {
        Ok(out) => {
            let mut resp = match out.clone().into_result() {
                Ok(_) => StatusCode::NO_CONTENT.into_response(),
                Err(e) => error_response(&e),
            };
            if version == Version::V2 {
                let h = resp.headers_mut();
                h.insert(
                    remote_write::HEADER_SAMPLES_WRITTEN,
                    HeaderValue::from(out.samples),
                );
                h.insert(
                    remote_write::HEADER_HISTOGRAMS_WRITTEN,
                    HeaderValue::from(out.histograms),
                );
                h.insert(
                    remote_write::HEADER_EXEMPLARS_WRITTEN,
                    HeaderValue::from(out.exemplars),
                );
            }
            resp
        }
        Err(e) => {
            let mut resp = refuse(proto, &e);
            if version == Version::V2 && !e.is_retryable() {
                for h in [
                    remote_write::HEADER_SAMPLES_WRITTEN,
                    remote_write::HEADER_HISTOGRAMS_WRITTEN,
                    remote_write::HEADER_EXEMPLARS_WRITTEN,
                ] {
                    resp.headers_mut().insert(h, HeaderValue::from(0u32));
                }
            }
            resp
        }
    }
}

async fn import_handler(State(st): State<Arc<PushState>>, headers: HeaderMap, body: Body) -> Response {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let import = rejections::Protocol::Import;
    let gzip = match body::content_encoding(&headers) {
        Ok(c) if c.is_empty() || c == "identity" => false,
        Ok(c) if c == "gzip" => true,
        Ok(c) => {
            return refuse(
                import,
                &PushError::UnsupportedEncoding(format!("{c} (import accepts gzip)")),
            )
        }
        Err(e) => return refuse(import, &e),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = match body::read_body(&headers, body, st.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return refuse(import, &e),
    };
    let st2 = st.clone();
    let res = blocking_as(import, move || {
        let limit = st2.limits.max_decompressed_bytes;
        let raw = if gzip {
            std::borrow::Cow::Owned(body::gzip_decompress(&bytes, limit)?)
        } else {
            std::borrow::Cow::Borrowed(&bytes[..])
        };
        import::ingest_text(&*st2.db, &raw, &content_type, now_ms, &st2.limits)
    })
    .await;
    match &res {
        Ok(out) => metrics::ingest().appended(Protocol::Import, out.samples, out.histograms, out.exemplars),
        Err(_) => metrics::ingest().failed(Protocol::Import),
    }
    match res.and_then(WriteOutcome::into_result) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refuse(import, &e),
    }
}
