//! `POST /api/v1/read`: Prometheus remote read (snappy-compressed protobuf `ReadRequest` in,
//! `ReadResponse` with raw samples out). Only the `SAMPLES` response type is served; a client
//! that accepts nothing but streamed chunks is told so with a 400.
//!
//! Matchers equal to an external label are dropped before selecting, and external labels are
//! added to the returned series where absent, as Prometheus' read handler does.

use crate::WebState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prompb as proto;
use prost::Message;
use std::sync::Arc;
use storage::{MatchOp, Matcher, SelectHints};

/// Prometheus' default `--storage.remote.read-sample-limit`.
pub const READ_SAMPLE_LIMIT: usize = 50_000_000;

/// A stored histogram as remote read sends it: the integer form (delta-encoded buckets) when
/// every count is whole, as the client wrote it, the float form otherwise.
fn histogram_to_wire(t: i64, h: &storage::FloatHistogram) -> proto::Histogram {
    use proto::histogram::{Count, ZeroCount};
    let spans = |s: &[storage::BucketSpan]| {
        s.iter()
            .map(|s| proto::BucketSpan {
                offset: s.offset,
                length: s.length,
            })
            .collect()
    };
    let mut out = proto::Histogram {
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        positive_spans: spans(&h.positive_spans),
        negative_spans: spans(&h.negative_spans),
        reset_hint: h.counter_reset_hint.number(),
        timestamp: t,
        custom_values: h.custom_values.clone(),
        ..Default::default()
    };
    match h.to_integer() {
        Some(ih) => {
            out.count = Some(Count::CountInt(ih.count));
            out.zero_count = Some(ZeroCount::ZeroCountInt(ih.zero_count));
            out.positive_deltas = ih.positive_deltas;
            out.negative_deltas = ih.negative_deltas;
        }
        None => {
            out.count = Some(Count::CountFloat(h.count));
            out.zero_count = Some(ZeroCount::ZeroCountFloat(h.zero_count));
            out.positive_counts = h.positive_buckets.clone();
            out.negative_counts = h.negative_buckets.clone();
        }
    }
    out
}

fn bad_request(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, format!("{}\n", msg.into())).into_response()
}

fn to_matchers(q: &proto::Query, st: &WebState) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::with_capacity(q.matchers.len());
    for m in &q.matchers {
        let op = match m.r#type {
            0 => MatchOp::Equal,
            1 => MatchOp::NotEqual,
            2 => MatchOp::Regex,
            3 => MatchOp::NotRegex,
            t => return Err(format!("invalid matcher type {t}")),
        };
        // A matcher that only restates an external label is answered by adding the label.
        if op == MatchOp::Equal && st.external_labels.get(&m.name) == Some(m.value.as_str()) {
            continue;
        }
        out.push(Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Answers a decoded request; errors carry the status code (400 for the client's mistakes,
/// 500 for storage failures).
pub fn answer(st: &WebState, req: &proto::ReadRequest) -> Result<proto::ReadResponse, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let internal = |e: storage::QueryError| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let samples_ok = req.accepted_response_types.is_empty()
        || req
            .accepted_response_types
            .contains(&(proto::ResponseType::Samples as i32));
    if !samples_ok {
        return Err(bad(format!(
            "server does not support any of the requested response types: {:?}; supported: [SAMPLES]",
            req.accepted_response_types
        )));
    }
    let mut total = 0usize;
    let mut results = Vec::with_capacity(req.queries.len());
    for q in &req.queries {
        let matchers = to_matchers(q, st).map_err(bad)?;
        let querier = st
            .queryable
            .querier(q.start_timestamp_ms, q.end_timestamp_ms)
            .map_err(internal)?;
        let hints = SelectHints {
            mint: q.start_timestamp_ms,
            maxt: q.end_timestamp_ms,
        };
        let series = querier.select(&hints, &matchers).map_err(internal)?;
        let mut ts = Vec::with_capacity(series.len());
        for s in series {
            total += s.samples.len() + s.histograms.len();
            if total > READ_SAMPLE_LIMIT {
                return Err(bad(format!("exceeded sample limit ({READ_SAMPLE_LIMIT})")));
            }
            let mut labels: Vec<proto::Label> = s
                .labels
                .iter()
                .map(|l| proto::Label::new(&l.name, &l.value))
                .collect();
            for e in st.external_labels.iter() {
                if s.labels.get(&e.name).is_none() {
                    labels.push(proto::Label::new(&e.name, &e.value));
                }
            }
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            ts.push(proto::TimeSeries {
                labels,
                samples: s
                    .samples
                    .iter()
                    .map(|x| proto::Sample {
                        value: x.v,
                        timestamp: x.t,
                    })
                    .collect(),
                histograms: s
                    .histograms
                    .iter()
                    .map(|h| histogram_to_wire(h.t, &h.h))
                    .collect(),
                ..Default::default()
            });
        }
        results.push(proto::QueryResult { timeseries: ts });
    }
    Ok(proto::ReadResponse { results })
}

/// `POST /api/v1/read`.
pub async fn read(State(st): State<Arc<WebState>>, body: Bytes) -> Response {
    let raw = match snap::raw::Decoder::new().decompress_vec(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("decoding snappy body: {e}")),
    };
    let req = match proto::ReadRequest::decode(raw.as_slice()) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("decoding ReadRequest: {e}")),
    };
    let result = super::blocking(move || Ok(answer(&st, &req))).await;
    let resp = match result {
        Ok(Ok(r)) => r,
        Ok(Err((code, msg))) => return (code, format!("{msg}\n")).into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("{}\n", e.message)).into_response(),
    };
    let compressed = match snap::raw::Encoder::new().compress_vec(&resp.encode_to_vec()) {
        Ok(c) => c,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("encoding response: {e}\n"),
            )
                .into_response()
        }
    };
    let mut r = compressed.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("snappy"));
    r
}
