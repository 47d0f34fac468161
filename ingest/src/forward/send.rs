//! One remote-write HTTP request and what its answer means: sent, retry later (5xx, 429,
//! network errors, with the server's `Retry-After` when given), or give up (other 4xx).

use super::config::{ProtobufMessage, RemoteWriteConfig};
use crate::client::{build_client, with_auth, HttpClientConfig, USER_AGENT};
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT as UA,
};
use std::time::Duration;

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying: the server or the network failed, or asked to slow down.
    Retryable {
        /// What happened.
        message: String,
        /// The server's `Retry-After`, if it gave one in seconds.
        retry_after: Option<Duration>,
    },
    /// Not worth retrying: the server refused the data (4xx), with its message.
    Rejected(String),
    /// 415 Unsupported Media Type: the server does not take this protocol version (a 2.0
    /// queue falls back to 1.0; for 1.0 it is a refusal like other 4xx).
    UnsupportedMediaType(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Retryable { message, .. } => f.write_str(message),
            SendError::Rejected(m) | SendError::UnsupportedMediaType(m) => f.write_str(m),
        }
    }
}

/// Sends request bodies to one endpoint.
#[derive(Debug)]
pub struct Sender {
    client: reqwest::Client,
    url: reqwest::Url,
    /// Headers of 1.0 and of 2.0 requests.
    headers_v1: HeaderMap,
    headers_v2: HeaderMap,
    http: HttpClientConfig,
    timeout: Duration,
    retry_on_429: bool,
}

impl Sender {
    /// A sender for `cfg`'s endpoint.
    pub fn new(cfg: &RemoteWriteConfig) -> Result<Sender, String> {
        let http = cfg.http();
        let client = build_client(&http, false)?;
        let url = reqwest::Url::parse(&cfg.url).map_err(|e| format!("invalid url {:?}: {e}", cfg.url))?;
        let mut headers = HeaderMap::new();
        for (k, v) in &cfg.headers {
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("invalid header name {k:?}"))?;
            let value = HeaderValue::from_str(v).map_err(|_| format!("invalid value for header {k:?}"))?;
            headers.insert(name, value);
        }
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(UA, HeaderValue::from_static(USER_AGENT));
        let with = |ct: &'static str, version: &'static str| {
            let mut h = headers.clone();
            h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
            h.insert(
                HeaderName::from_static("x-prometheus-remote-write-version"),
                HeaderValue::from_static(version),
            );
            h
        };
        Ok(Sender {
            client,
            url,
            headers_v1: with("application/x-protobuf", "0.1.0"),
            headers_v2: with(
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                "2.0.0",
            ),
            http,
            timeout: cfg.remote_timeout.0,
            retry_on_429: cfg.queue_config.retry_on_http_429,
        })
    }

    /// Sends `body` (snappy-compressed protobuf of `msg`) once.
    pub async fn send(&self, body: bytes::Bytes, msg: ProtobufMessage) -> Result<(), SendError> {
        let headers = match msg {
            ProtobufMessage::V1 => &self.headers_v1,
            ProtobufMessage::V2 => &self.headers_v2,
        };
        let mut req = self
            .client
            .post(self.url.clone())
            .headers(headers.clone())
            .timeout(self.timeout)
            .body(body);
        req = match with_auth(req, &self.http).await {
            Ok(r) => r,
            Err(e) => {
                return Err(SendError::Retryable {
                    message: e,
                    retry_after: None,
                })
            }
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Err(SendError::Retryable {
                    message: format!("request failed: {}", crate::client::error_chain(&e)),
                    retry_after: None,
                })
            }
        };
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.text().await.unwrap_or_default();
        let message = format!(
            "server returned HTTP status {status}: {}",
            truncate(body.trim(), 512)
        );
        classify(status.as_u16(), self.retry_on_429, message, retry_after)
    }
}

/// What a non-2xx status means.
fn classify(
    status: u16,
    retry_on_429: bool,
    message: String,
    retry_after: Option<Duration>,
) -> Result<(), SendError> {
    if status == 415 {
        Err(SendError::UnsupportedMediaType(message))
    } else if status >= 500 || (status == 429 && retry_on_429) {
        Err(SendError::Retryable { message, retry_after })
    } else {
        Err(SendError::Rejected(message))
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Exponential backoff between `min` and `max`, doubling after every failure.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `min`.
    pub fn new(min: Duration, max: Duration) -> Self {
        let min = min.max(Duration::from_millis(1));
        Backoff {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The delay before the next attempt; the server's `Retry-After` wins when given.
    pub fn delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        match retry_after {
            Some(r) => r.min(Duration::from_secs(300)),
            None => d,
        }
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_max() {
        let mut b = Backoff::new(Duration::from_millis(30), Duration::from_millis(200));
        let ds: Vec<u128> = (0..5).map(|_| b.delay(None).as_millis()).collect();
        assert_eq!(ds, vec![30, 60, 120, 200, 200]);
        assert_eq!(b.delay(Some(Duration::from_secs(3))), Duration::from_secs(3));
        b.reset();
        assert_eq!(b.delay(None), Duration::from_millis(30));
    }

    #[test]
    fn statuses() {
        let m = || "m".to_string();
        assert!(matches!(
            classify(500, true, m(), None),
            Err(SendError::Retryable { .. })
        ));
        assert!(matches!(
            classify(503, false, m(), None),
            Err(SendError::Retryable { .. })
        ));
        assert!(matches!(
            classify(429, true, m(), None),
            Err(SendError::Retryable { .. })
        ));
        assert!(matches!(
            classify(429, false, m(), None),
            Err(SendError::Rejected(_))
        ));
        assert!(matches!(
            classify(400, true, m(), None),
            Err(SendError::Rejected(_))
        ));
        assert!(matches!(
            classify(404, true, m(), None),
            Err(SendError::Rejected(_))
        ));
        assert!(matches!(
            classify(415, true, m(), None),
            Err(SendError::UnsupportedMediaType(_))
        ));
        assert_eq!(truncate("héllo", 2), "h");
    }
}
