//! Reading request bodies within limits, and decompressing them without bombs.

use crate::error::PushError;
use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::io::Read;

/// Reads the whole body, refusing (413) more than `limit` bytes: at once when
/// `Content-Length` says so, otherwise as soon as the stream passes the limit.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, PushError> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(PushError::TooLarge {
                what: "request body",
                size: len,
                limit: limit as u64,
            });
        }
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(PushError::TooLarge {
            what: "request body",
            size: limit as u64 + 1,
            limit: limit as u64,
        }),
        Err(e) => Err(PushError::Malformed(format!(
            "reading the request body failed: {e}"
        ))),
    }
}

/// Decompresses a snappy block-format body (remote write), checking the declared length
/// against `limit` before allocating.
pub fn snappy_decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, PushError> {
    let len = snap::raw::decompress_len(body)
        .map_err(|e| PushError::Malformed(format!("body is not snappy-compressed: {}", snappy_reason(&e))))?;
    if len > limit {
        return Err(PushError::TooLarge {
            what: "decompressed body (snappy declared length)",
            size: len as u64,
            limit: limit as u64,
        });
    }
    let mut out = vec![0u8; len];
    let n = snap::raw::Decoder::new()
        .decompress(body, &mut out)
        .map_err(|e| PushError::Malformed(format!("corrupt snappy body: {}", snappy_reason(&e))))?;
    out.truncate(n);
    Ok(out)
}

/// The snap crate's message without its own leading "snappy: " (the caller's sentence names
/// snappy once).
fn snappy_reason(e: &snap::Error) -> String {
    let m = e.to_string();
    m.strip_prefix("snappy: ").map(str::to_string).unwrap_or(m)
}

/// Decompresses a gzip body, refusing output past `limit` bytes.
pub fn gzip_decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, PushError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let mut d = flate2::read::MultiGzDecoder::new(body).take(limit as u64 + 1);
    d.read_to_end(&mut out)
        .map_err(|e| PushError::Malformed(format!("gzip: corrupt body: {e}")))?;
    if out.len() > limit {
        return Err(PushError::TooLarge {
            what: "decompressed body (gzip)",
            size: out.len() as u64,
            limit: limit as u64,
        });
    }
    Ok(out)
}

/// The `Content-Encoding` header, lowercased and trimmed ("" when absent).
pub fn content_encoding(headers: &HeaderMap) -> Result<String, PushError> {
    match headers.get(header::CONTENT_ENCODING) {
        None => Ok(String::new()),
        Some(v) => {
            v.to_str()
                .map(|s| s.trim().to_ascii_lowercase())
                .map_err(|_| PushError::UnsupportedEncoding {
                    got: String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    accepted: "the header is not valid text".into(),
                })
        }
    }
}

/// The `Content-Type` header split into the lowercased media type and its parameters.
pub fn content_type(headers: &HeaderMap) -> Result<(String, Vec<(String, String)>), PushError> {
    let Some(v) = headers.get(header::CONTENT_TYPE) else {
        return Ok((String::new(), Vec::new()));
    };
    let s = v.to_str().map_err(|_| PushError::UnsupportedContentType {
        got: String::from_utf8_lossy(v.as_bytes()).into_owned(),
        accepted: "the header is not valid text".into(),
    })?;
    let mut parts = s.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            ))
        })
        .collect();
    Ok((media, params))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn snappy_roundtrip_and_bomb() {
        let data = vec![7u8; 100_000];
        let c = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(snappy_decompress(&c, 1 << 20).unwrap(), data);
        let e = snappy_decompress(&c, 1000).unwrap_err();
        assert!(matches!(e, PushError::TooLarge { size: 100_000, .. }), "{e}");
        // truncated
        let e = snappy_decompress(&c[..c.len() / 2], 1 << 20).unwrap_err();
        assert!(e.to_string().contains("snappy"), "{e}");
        // declared length huge (varint 0xffffffff)
        let e = snappy_decompress(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0], 1 << 20).unwrap_err();
        assert!(
            matches!(e, PushError::TooLarge { .. } | PushError::Malformed(_)),
            "{e}"
        );
    }

    #[test]
    fn gzip_limit() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&vec![0u8; 50_000]).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(gzip_decompress(&gz, 50_000).unwrap().len(), 50_000);
        assert!(matches!(
            gzip_decompress(&gz, 49_999),
            Err(PushError::TooLarge { .. })
        ));
        assert!(matches!(
            gzip_decompress(b"not gzip", 10),
            Err(PushError::Malformed(_))
        ));
    }

    #[test]
    fn content_type_params() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/x-protobuf; proto=io.prometheus.write.v2.Request"
                .parse()
                .unwrap(),
        );
        let (m, p) = content_type(&h).unwrap();
        assert_eq!(m, "application/x-protobuf");
        assert_eq!(
            p,
            vec![("proto".to_string(), "io.prometheus.write.v2.Request".to_string())]
        );
    }
}
