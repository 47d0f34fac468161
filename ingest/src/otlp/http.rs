//! OTLP/HTTP: `POST /v1/metrics` (and Prometheus' `/api/v1/otlp/v1/metrics`).
//!
//! Bodies: `application/x-protobuf` (also `application/protobuf`) or `application/json`
//! (OTLP/JSON: lowerCamelCase fields, 64-bit integers as strings, enums as numbers);
//! `Content-Encoding: gzip` or none, 415 otherwise. Answers as the OTLP spec says: 200 with an
//! `ExportMetricsServiceResponse` in the request's encoding (with `partial_success` when points
//! were refused); 400 with a `google.rpc.Status` for a bad body; 413 over the size limits;
//! 503 (which OTLP senders retry) when storage failed.

use crate::error::PushError;
use crate::push::body::{content_encoding, content_type, gzip_decompress, read_body};
use crate::push::{blocking, PushState};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;
use std::sync::Arc;

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
        other => Err(PushError::UnsupportedContentType(format!(
            "{other} (OTLP/HTTP accepts application/x-protobuf and application/json)"
        ))),
    }
}

/// Decodes a request body (already decompressed).
pub fn decode(enc: Encoding, body: &[u8]) -> Result<ExportMetricsServiceRequest, PushError> {
    match enc {
        Encoding::Protobuf => ExportMetricsServiceRequest::decode(body).map_err(|e| {
            PushError::Malformed(format!("decoding ExportMetricsServiceRequest (protobuf): {e}"))
        }),
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| PushError::Malformed(format!("decoding ExportMetricsServiceRequest (JSON): {e}"))),
    }
}

fn encode_response(enc: Encoding, status: StatusCode, resp: &ExportMetricsServiceResponse) -> Response {
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

/// The OTLP/HTTP metrics handler.
pub(crate) async fn http_handler(
    State(st): State<Arc<PushState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let enc = match negotiate(&headers) {
        Ok(e) => e,
        Err(e) => return crate::push::error_response(&e),
    };
    let gzip = match content_encoding(&headers) {
        Ok(c) if c.is_empty() || c == "identity" => false,
        Ok(c) if c == "gzip" => true,
        Ok(c) => {
            return error(
                enc,
                &PushError::UnsupportedEncoding(format!("{c} (OTLP/HTTP accepts gzip)")),
            )
        }
        Err(e) => return error(enc, &e),
    };
    let bytes = match read_body(&headers, body, st.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return error(enc, &e),
    };
    let st2 = st.clone();
    let res = blocking(move || {
        let req = if gzip {
            decode(enc, &gzip_decompress(&bytes, st2.limits.max_decompressed_bytes)?)?
        } else {
            if bytes.len() > st2.limits.max_decompressed_bytes {
                return Err(PushError::TooLarge {
                    what: "request body",
                    size: bytes.len() as u64,
                    limit: st2.limits.max_decompressed_bytes as u64,
                });
            }
            decode(enc, &bytes)?
        };
        super::ingest(&*st2.db, &st2.otlp, &req, &st2.limits)
    })
    .await;
    match res {
        Ok(out) => {
            let partial_success = (out.rejected_points > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: out.rejected_points as i64,
                error_message: super::partial_success_message(&out),
            });
            encode_response(
                enc,
                StatusCode::OK,
                &ExportMetricsServiceResponse { partial_success },
            )
        }
        Err(e) => error(enc, &e),
    }
}
