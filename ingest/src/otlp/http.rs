//! OTLP/HTTP: `POST /v1/metrics` (and Prometheus' `/api/v1/otlp/v1/metrics`).
//!
//! Bodies: `application/x-protobuf` (also `application/protobuf`) or `application/json`
//! (OTLP/JSON: lowerCamelCase fields, 64-bit integers as strings, enums as numbers);
//! `Content-Encoding: gzip` or none, 415 otherwise. Answers as the OTLP spec says: 200 with an
//! `ExportMetricsServiceResponse` in the request's encoding (with `partial_success` when points
//! were refused); 400 with a `google.rpc.Status` for a bad body; 413 over the size limits;
//! 503 (which OTLP senders retry) when storage failed.
//!
//! `POST /v1/traces` (OTLP/HTTP traces) shares the encodings and answers; its spans are counted
//! into span metrics ([`super::traces`]).

use super::OtlpState;
use crate::error::PushError;
use crate::push::body::{content_encoding, content_type, gzip_decompress};
use crate::push::rejections::{self, Protocol};
use crate::push::respond::{refuse, respond, Counted};
use crate::push::PushLimits;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::sync::Arc;
use storage::Appendable;

/// The body encoding of a request (and its answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Binary protobuf.
    Protobuf,
    /// OTLP/JSON.
    Json,
}

/// `google.rpc.Status`, the error body of OTLP/HTTP.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Picks the encoding from `Content-Type`.
pub fn negotiate(headers: &HeaderMap) -> Result<Encoding, PushError> {
    let (media, _) = content_type(headers)?;
    match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        other => Err(PushError::UnsupportedContentType {
            got: other.to_string(),
            accepted: "OTLP/HTTP accepts application/x-protobuf and application/json".into(),
        }),
    }
}

/// Decodes a metrics request body (already decompressed).
pub fn decode(enc: Encoding, body: &[u8]) -> Result<ExportMetricsServiceRequest, PushError> {
    decode_msg(enc, body, "ExportMetricsServiceRequest")
}

fn decode_msg<T: Message + Default + serde::de::DeserializeOwned>(
    enc: Encoding,
    body: &[u8],
    what: &str,
) -> Result<T, PushError> {
    match enc {
        Encoding::Protobuf => {
            T::decode(body).map_err(|e| PushError::Malformed(format!("decoding {what} (protobuf): {e}")))
        }
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| PushError::Malformed(format!("decoding {what} (JSON): {e}"))),
    }
}

fn encode_response<T: Message + serde::Serialize>(enc: Encoding, status: StatusCode, resp: &T) -> Response {
    let (ct, body) = match enc {
        Encoding::Protobuf => ("application/x-protobuf", resp.encode_to_vec()),
        Encoding::Json => (
            "application/json",
            serde_json::to_vec(resp).unwrap_or_else(|_| b"{}".to_vec()),
        ),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response()
}

fn error(enc: Encoding, e: &PushError) -> Response {
    // OTLP senders retry 429/502/503/504 only: every retryable condition is a 503.
    let status = if e.is_retryable() {
        tracing::warn!(error = %e, "OTLP request failed");
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        tracing::debug!(error = %e, "OTLP request refused");
        e.status()
    };
    let st = RpcStatus {
        code: if e.is_retryable() { 14 } else { 3 }, // UNAVAILABLE / INVALID_ARGUMENT
        message: e.to_string(),
    };
    let (ct, body) = match enc {
        Encoding::Protobuf => ("application/x-protobuf", st.encode_to_vec()),
        Encoding::Json => (
            "application/json",
            serde_json::json!({"code": st.code, "message": st.message})
                .to_string()
                .into_bytes(),
        ),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response()
}

/// What the OTLP/HTTP handlers keep between requests.
struct HttpState {
    /// Where samples go.
    db: Arc<dyn Appendable>,
    /// Size and count limits, OTLP translation options.
    limits: PushLimits,
    /// Delta accumulation and span metrics, shared by the metrics and traces routes.
    otlp: OtlpState,
}

/// The OTLP/HTTP routes (metrics at both paths, traces), writing to `db`.
pub fn router(db: Arc<dyn Appendable>, limits: PushLimits) -> Router {
    let state = Arc::new(HttpState {
        db,
        otlp: OtlpState::new(&limits.otlp),
        limits,
    });
    Router::new()
        .route("/v1/metrics", post(http_handler))
        .route("/api/v1/otlp/v1/metrics", post(http_handler))
        .route("/v1/traces", post(traces_handler))
        .with_state(state)
}

/// A request body read and checked: its encoding, whether it is gzip, the bytes.
type Prepared = (Encoding, bool, bytes::Bytes);

/// Negotiates an OTLP/HTTP request: its encoding and whether it is gzip; `Err` is the answer
/// to send.
fn negotiate_request(headers: &HeaderMap, proto: Protocol) -> Result<(Encoding, bool), Response> {
    let enc = negotiate(headers).map_err(|e| refuse(proto, &e))?;
    let error = |enc: Encoding, e: &PushError| {
        rejections::request(proto, e);
        error(enc, e)
    };
    let gzip = match content_encoding(headers) {
        Ok(c) if c.is_empty() || c == "identity" => false,
        Ok(c) if c == "gzip" => true,
        Ok(c) => {
            return Err(error(
                enc,
                &PushError::UnsupportedEncoding {
                    got: c,
                    accepted: "OTLP/HTTP accepts gzip or none".into(),
                },
            ))
        }
        Err(e) => return Err(error(enc, &e)),
    };
    Ok((enc, gzip))
}

/// Decompresses (if gzip) within the limit and decodes.
fn unpack<T: Message + Default + serde::de::DeserializeOwned>(
    p: &Prepared,
    limit: usize,
    what: &str,
) -> Result<T, PushError> {
    let (enc, gzip, bytes) = p;
    if *gzip {
        return decode_msg(*enc, &gzip_decompress(bytes, limit)?, what);
    }
    if bytes.len() > limit {
        return Err(PushError::TooLarge {
            what: "request body",
            size: bytes.len() as u64,
            limit: limit as u64,
        });
    }
    decode_msg(*enc, bytes, what)
}

/// The OTLP/HTTP metrics handler.
async fn http_handler(State(st): State<Arc<HttpState>>, headers: HeaderMap, body: Body) -> Response {
    serve(
        st,
        headers,
        body,
        Protocol::OtlpHttp,
        "ExportMetricsServiceRequest",
        |st, req: ExportMetricsServiceRequest| super::ingest(&*st.db, &st.otlp, &req, &st.limits),
        |out| {
            let partial_success = (out.rejected_points > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: out.rejected_points as i64,
                error_message: super::partial_success_message(&out),
            });
            ExportMetricsServiceResponse { partial_success }
        },
    )
    .await
}

/// The OTLP/HTTP traces handler (`/v1/traces`): spans are counted into span metrics.
async fn traces_handler(State(st): State<Arc<HttpState>>, headers: HeaderMap, body: Body) -> Response {
    serve(
        st,
        headers,
        body,
        Protocol::OtlpTraces,
        "ExportTraceServiceRequest",
        |st, req: ExportTraceServiceRequest| st.otlp.spans.ingest(&*st.db, &req, &st.limits, super::now_ms()),
        |out| {
            let partial_success = (out.rejected_spans > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: out.rejected_spans as i64,
                error_message: out.message.unwrap_or_default(),
            });
            ExportTraceServiceResponse { partial_success }
        },
    )
    .await
}

/// What both OTLP/HTTP handlers do: negotiate the request's encoding, read the body within the
/// limits, decode a `Req` (named `what` in errors) and let `ingest` store it on a blocking
/// thread, then answer 200 with the response `answer` builds from the outcome, in the
/// request's encoding (or the error in that encoding).
async fn serve<Req, Out, Resp>(
    st: Arc<HttpState>,
    headers: HeaderMap,
    body: Body,
    proto: Protocol,
    what: &'static str,
    ingest: impl FnOnce(&HttpState, Req) -> Result<Out, PushError> + Send + 'static,
    answer: impl FnOnce(Out) -> Resp,
) -> Response
where
    Req: Message + Default + serde::de::DeserializeOwned,
    Out: Counted + Send + 'static,
    Resp: Message + serde::Serialize,
{
    let (enc, gzip) = match negotiate_request(&headers, proto) {
        Ok(n) => n,
        Err(resp) => return resp,
    };
    let max_body_bytes = st.limits.max_body_bytes;
    let work = move |bytes: bytes::Bytes| {
        move || {
            let req: Req = unpack(&(enc, gzip, bytes), st.limits.max_decompressed_bytes, what)?;
            ingest(&st, req)
        }
    };
    let refused = |e: &PushError| error(enc, e);
    respond(
        proto,
        &headers,
        body,
        max_body_bytes,
        refused,
        work,
        |res| match res {
            Ok(out) => encode_response(enc, StatusCode::OK, &answer(out)),
            Err(e) => error(enc, &e),
        },
    )
    .await
}
