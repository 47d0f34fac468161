//! The skeleton every push handler shares: read the body within the limit, run the decoding
//! and appending on a blocking thread (counting its sample rejections under the protocol),
//! count the request into the ingest metrics, answer.

use super::body::read_body;
use super::rejections::{self, Protocol};
use super::writer::WriteOutcome;
use crate::error::PushError;
use crate::metrics;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// What a request stored, as counted by the ingest metrics (`appended`).
pub(crate) trait Counted {
    /// Float samples, histograms and exemplars stored.
    fn counts(&self) -> (usize, usize, usize);
}

impl Counted for WriteOutcome {
    fn counts(&self) -> (usize, usize, usize) {
        (self.samples, self.histograms, self.exemplars)
    }
}

/// Counts the result of a request of protocol `p` into the ingest metrics.
pub(crate) fn count<T: Counted>(p: Protocol, res: &Result<T, PushError>) {
    match res {
        Ok(out) => {
            let (samples, histograms, exemplars) = out.counts();
            metrics::ingest().appended(p, samples, histograms, exemplars);
        }
        Err(_) => metrics::ingest().failed(p),
    }
}

/// Answers a push request of protocol `p`: reads `body` within `max_body_bytes` (a failure
/// is counted as a refused request and answered by `refused`), calls `work` with the bytes on
/// the request's task and runs the closure it returns on a blocking thread, counts the result
/// ([`count`]; an error is also counted as a refused request), then lets `answer` turn the
/// result into the response.
pub(crate) async fn respond<T, J>(
    p: Protocol,
    headers: &HeaderMap,
    body: Body,
    max_body_bytes: usize,
    refused: impl FnOnce(&PushError) -> Response,
    work: impl FnOnce(Bytes) -> J,
    answer: impl FnOnce(Result<T, PushError>) -> Response,
) -> Response
where
    T: Counted + Send + 'static,
    J: FnOnce() -> Result<T, PushError> + Send + 'static,
{
    let bytes = match read_body(headers, body, max_body_bytes).await {
        Ok(b) => b,
        Err(e) => {
            rejections::request(p, &e);
            return refused(&e);
        }
    };
    let res = blocking_as(p, work(bytes)).await;
    count(p, &res);
    if let Err(e) = &res {
        rejections::request(p, e);
    }
    answer(res)
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
pub(crate) fn refuse(p: Protocol, e: &PushError) -> Response {
    rejections::request(p, e);
    error_response(e)
}

/// [`blocking`], counting the sample rejections of `f` for protocol `p`.
pub(crate) async fn blocking_as<T: Send + 'static>(
    p: Protocol,
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
