//! Prometheus remote write, versions 1.0 (`prometheus.WriteRequest`) and 2.0
//! (`io.prometheus.write.v2.Request`).
//!
//! Flow: `POST /api/v1/write` -> [`negotiate`] picks the version from `Content-Type` (415 for
//! anything else) and checks `Content-Encoding` -> the body is read within the size limit ->
//! [`ingest`] (on a blocking thread) decompresses snappy (declared length checked first),
//! decodes the protobuf, checks the request-wide limits, then [`write`] validates each series
//! and appends its samples; native histograms become classic bucket series
//! ([`crate::push::histogram`]). Invalid series are refused one by one (400 naming the first),
//! the valid ones are committed; a storage failure rolls everything back (5xx, retry).
//!
//! - `handler`: the route, its state (the series cache) and the answers.
//! - `proto`: the message types.
//! - `wire`: walking 1.0 requests without decoding them whole.
//! - `series_cache`: validated label sets remembered between requests.
//! - `write`: series validation and appending, both versions.

pub mod handler;
pub(crate) use prompb as proto;
pub mod series_cache;
pub mod wire;
mod write;

use crate::error::PushError;
use crate::push::body::{content_encoding, content_type, snappy_decompress};
use crate::push::writer::{SeriesWriter, WriteOutcome};
use crate::push::PushLimits;
use axum::http::HeaderMap;
use bytes::Bytes;
use prost::Message;
use series_cache::SeriesCache;
use storage::Appendable;

pub use write::{histogram_from_wire, write_v1, write_v2};

/// The 2.0 `proto` parameter value.
pub const PROTO_V2: &str = "io.prometheus.write.v2.Request";
/// The 1.0 `proto` parameter value.
pub const PROTO_V1: &str = "prometheus.WriteRequest";
/// Response header: float samples written (2.0).
pub const HEADER_SAMPLES_WRITTEN: &str = "x-prometheus-remote-write-samples-written";
/// Response header: histogram samples written (2.0).
pub const HEADER_HISTOGRAMS_WRITTEN: &str = "x-prometheus-remote-write-histograms-written";
/// Response header: exemplars written (2.0).
pub const HEADER_EXEMPLARS_WRITTEN: &str = "x-prometheus-remote-write-exemplars-written";

/// The remote-write protocol version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `prometheus.WriteRequest`.
    V1,
    /// `io.prometheus.write.v2.Request`.
    V2,
}

/// Picks the version from the headers as the 2.0 spec says: `Content-Type:
/// application/x-protobuf` with no `proto` parameter (or no `Content-Type` at all) is 1.0,
/// `proto=io.prometheus.write.v2.Request` is 2.0, anything else is 415. `Content-Encoding`
/// must be `snappy` (a missing one is taken as snappy, as Prometheus does for old 1.0 senders).
pub fn negotiate(headers: &HeaderMap) -> Result<Version, PushError> {
    let enc = content_encoding(headers)?;
    if !(enc.is_empty() || enc == "snappy") {
        return Err(PushError::UnsupportedEncoding {
            got: enc,
            accepted: "remote write accepts only snappy".into(),
        });
    }
    let (media, params) = content_type(headers)?;
    if !(media.is_empty() || media == "application/x-protobuf") {
        return Err(PushError::UnsupportedContentType {
            got: media,
            accepted: "remote write accepts application/x-protobuf".into(),
        });
    }
    match params.iter().find(|(k, _)| k == "proto").map(|(_, v)| v.as_str()) {
        None | Some(PROTO_V1) => Ok(Version::V1),
        Some(PROTO_V2) => Ok(Version::V2),
        Some(other) => Err(PushError::UnsupportedContentType {
            got: format!("application/x-protobuf;proto={other}"),
            accepted: format!("remote write accepts proto={PROTO_V1} or proto={PROTO_V2}"),
        }),
    }
}

/// Decompresses and decodes a 1.0 body.
pub fn decode_v1(body: &[u8], limits: &PushLimits) -> Result<proto::WriteRequest, PushError> {
    let raw = snappy_decompress(body, limits.max_decompressed_bytes)?;
    proto::WriteRequest::decode(Bytes::from(raw))
        .map_err(|e| PushError::Malformed(format!("decoding prometheus.WriteRequest: {e}")))
}

/// Decompresses and decodes a 2.0 body.
pub fn decode_v2(body: &[u8], limits: &PushLimits) -> Result<proto::RequestV2, PushError> {
    let raw = snappy_decompress(body, limits.max_decompressed_bytes)?;
    proto::RequestV2::decode(Bytes::from(raw))
        .map_err(|e| PushError::Malformed(format!("decoding {PROTO_V2}: {e}")))
}

/// Refuses a request over the series or sample count limits.
pub(crate) fn check_counts(series: usize, samples: usize, limits: &PushLimits) -> Result<(), PushError> {
    if series > limits.max_series_per_request {
        return Err(PushError::TooMany {
            what: "series",
            count: series,
            limit: limits.max_series_per_request,
        });
    }
    if samples > limits.max_samples_per_request {
        return Err(PushError::TooMany {
            what: "samples",
            count: samples,
            limit: limits.max_samples_per_request,
        });
    }
    Ok(())
}

/// Decodes a snappy-compressed body of `version` and writes it to `db` in one batch.
///
/// `Ok` means the batch was committed; its `error` names refused series, if any (the
/// caller answers 400 then). `Err` means nothing was stored.
///
/// `cache` keeps validated label sets between requests; use one per `db`
/// ([`SeriesCache::new`]).
pub fn ingest(
    db: &dyn Appendable,
    version: Version,
    body: &[u8],
    limits: &PushLimits,
    cache: &SeriesCache,
) -> Result<WriteOutcome, PushError> {
    match version {
        Version::V1 => {
            let raw = snappy_decompress(body, limits.max_decompressed_bytes)?;
            SeriesWriter::batch(db, |w| write_v1(w, &raw, limits, cache)).map(|((), out)| out)
        }
        Version::V2 => {
            let req = decode_v2(body, limits)?;
            let samples = req
                .timeseries
                .iter()
                .map(|t| t.samples.len() + t.histograms.len())
                .sum();
            check_counts(req.timeseries.len(), samples, limits)?;
            SeriesWriter::batch(db, |w| write_v2(w, &req, limits, cache)).map(|((), out)| out)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::header;

    fn h(ct: Option<&str>, enc: Option<&str>) -> HeaderMap {
        let mut m = HeaderMap::new();
        if let Some(ct) = ct {
            m.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        }
        if let Some(enc) = enc {
            m.insert(header::CONTENT_ENCODING, enc.parse().unwrap());
        }
        m
    }

    #[test]
    fn negotiation() {
        assert_eq!(
            negotiate(&h(Some("application/x-protobuf"), Some("snappy"))).unwrap(),
            Version::V1
        );
        assert_eq!(negotiate(&h(None, None)).unwrap(), Version::V1);
        assert_eq!(
            negotiate(&h(
                Some("application/x-protobuf;proto=prometheus.WriteRequest"),
                None
            ))
            .unwrap(),
            Version::V1
        );
        assert_eq!(
            negotiate(&h(
                Some("application/x-protobuf; proto=io.prometheus.write.v2.Request"),
                Some("snappy")
            ))
            .unwrap(),
            Version::V2
        );
        let e = negotiate(&h(Some("application/json"), None)).unwrap_err();
        assert_eq!(e.status(), 415);
        let e = negotiate(&h(Some("application/x-protobuf;proto=foo.Bar"), None)).unwrap_err();
        assert_eq!(e.status(), 415);
        assert!(e.to_string().contains("foo.Bar"));
        let e = negotiate(&h(Some("application/x-protobuf"), Some("zstd"))).unwrap_err();
        assert_eq!(e.status(), 415);
    }
}
