//! `POST /api/v1/write`: the remote-write handler and its state.

use super::series_cache::SeriesCache;
use super::{ingest, negotiate, Version};
use super::{HEADER_EXEMPLARS_WRITTEN, HEADER_HISTOGRAMS_WRITTEN, HEADER_SAMPLES_WRITTEN};
use crate::metrics::Protocol;
use crate::push::respond::{error_response, refuse, respond};
use crate::push::PushLimits;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::sync::Arc;
use storage::Appendable;

/// Series whose validated labels are remembered between remote-write requests.
const SERIES_CACHE_CAPACITY: usize = 1 << 20;

/// What the remote-write handler keeps between requests.
struct RemoteWriteState {
    /// Where samples go.
    db: Arc<dyn Appendable>,
    /// Size and count limits.
    limits: PushLimits,
    /// Validated label sets between requests.
    series: SeriesCache,
}

/// The remote-write route, writing to `db`.
pub fn router(db: Arc<dyn Appendable>, limits: PushLimits) -> Router {
    let state = Arc::new(RemoteWriteState {
        db,
        limits,
        series: SeriesCache::new(SERIES_CACHE_CAPACITY),
    });
    Router::new()
        .route("/api/v1/write", post(handler))
        .with_state(state)
}

async fn handler(State(st): State<Arc<RemoteWriteState>>, headers: HeaderMap, body: Body) -> Response {
    let version = match negotiate(&headers) {
        Ok(v) => v,
        Err(e) => return refuse(Protocol::RemoteWriteV1, &e),
    };
    let proto = if version == Version::V2 {
        Protocol::RemoteWriteV2
    } else {
        Protocol::RemoteWriteV1
    };
    let max_body_bytes = st.limits.max_body_bytes;
    let work = move |bytes: bytes::Bytes| {
        let span = tracing::info_span!("remote_write", protocol = proto.as_str(), bytes = bytes.len());
        move || {
            let _g = span.enter();
            ingest(&*st.db, version, &bytes, &st.limits, &st.series)
        }
    };
    respond(
        proto,
        &headers,
        body,
        max_body_bytes,
        error_response,
        work,
        |res| match res {
            Ok(out) => {
                let mut resp = match out.clone().into_result() {
                    Ok(_) => StatusCode::NO_CONTENT.into_response(),
                    Err(e) => error_response(&e),
                };
                if version == Version::V2 {
                    let h = resp.headers_mut();
                    h.insert(HEADER_SAMPLES_WRITTEN, HeaderValue::from(out.samples));
                    h.insert(HEADER_HISTOGRAMS_WRITTEN, HeaderValue::from(out.histograms));
                    h.insert(HEADER_EXEMPLARS_WRITTEN, HeaderValue::from(out.exemplars));
                }
                resp
            }
            Err(e) => {
                let mut resp = error_response(&e);
                if version == Version::V2 && !e.is_retryable() {
                    for h in [
                        HEADER_SAMPLES_WRITTEN,
                        HEADER_HISTOGRAMS_WRITTEN,
                        HEADER_EXEMPLARS_WRITTEN,
                    ] {
                        resp.headers_mut().insert(h, HeaderValue::from(0u32));
                    }
                }
                resp
            }
        },
    )
    .await
}
