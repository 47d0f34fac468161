//! HTTP self-metrics: requests by handler and status code, and their durations, as
//! Prometheus names them (`prometheus_http_requests_total{handler,code}`,
//! `prometheus_http_request_duration_seconds{handler}`). The handler is the route pattern
//! (axum's [`MatchedPath`]), so the label set stays bounded; paths no route matches count as
//! `other`.
//!
//! [`track`] is an axum middleware; the root installs it on the merged router so every
//! listener route (API, UI, push endpoints, `/metrics`) is counted.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Instant;
use storage::metrics::{Counter, Exposition, Gauge, Histogram, LATENCY_BUCKETS};

/// The figures of one handler.
#[derive(Debug)]
struct HandlerMetrics {
    duration: Histogram,
    codes: Mutex<BTreeMap<u16, u64>>,
}

/// Requests by handler.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    handlers: RwLock<HashMap<String, Arc<HandlerMetrics>>>,
    /// Requests being served.
    pub in_flight: Gauge,
    /// Requests answered, all handlers.
    pub total: Counter,
}

impl HttpMetrics {
    fn handler(&self, name: &str) -> Arc<HandlerMetrics> {
        if let Some(h) = self
            .handlers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return h.clone();
        }
        self.handlers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(HandlerMetrics {
                    duration: Histogram::new(LATENCY_BUCKETS),
                    codes: Mutex::new(BTreeMap::new()),
                })
            })
            .clone()
    }

    /// Records one answered request.
    pub fn record(&self, handler: &str, code: u16, seconds: f64) {
        let h = self.handler(handler);
        h.duration.observe(seconds);
        *h.codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(code)
            .or_default() += 1;
        self.total.inc();
    }

    /// Requests answered by `handler` with `code` so far.
    pub fn requests(&self, handler: &str, code: u16) -> u64 {
        let map = self.handlers.read().unwrap_or_else(PoisonError::into_inner);
        map.get(handler).map_or(0, |h| {
            h.codes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&code)
                .copied()
                .unwrap_or(0)
        })
    }
}

/// The process-wide HTTP figures.
pub fn http() -> &'static HttpMetrics {
    static M: OnceLock<HttpMetrics> = OnceLock::new();
    M.get_or_init(HttpMetrics::default)
}

/// The middleware: times the request until its response head is ready, then counts it.
pub async fn track(req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| prometheus_handler_name(p.as_str()));
    let m = http();
    let started = Instant::now();
    let resp = {
        let _in_flight = m.in_flight.track();
        next.run(req).await
    };
    m.record(&handler, resp.status().as_u16(), started.elapsed().as_secs_f64());
    resp
}

/// A route pattern as Prometheus names its handlers: axum's `{param}` segments become
/// `:param` (`/api/v1/label/:name/values`), and a `{*rest}` wildcard becomes `*rest`.
fn prometheus_handler_name(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match name.strip_prefix('*') {
                    Some(wild) => {
                        out.push('*');
                        out.push_str(wild);
                    }
                    None => {
                        out.push(':');
                        out.push_str(name);
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Renders the HTTP figures.
pub fn render(out: &mut Exposition) {
    let m = http();
    let handlers: Vec<(String, Arc<HandlerMetrics>)> = {
        let map = m.handlers.read().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<_> = map.iter().map(|(k, h)| (k.clone(), h.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let name = "prometheus_http_requests_total";
    out.family(name, "counter", "Counter of HTTP requests.");
    for (handler, h) in &handlers {
        let codes = h.codes.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for (code, n) in codes {
            let code = code.to_string();
            out.sample(name, &[("code", &code), ("handler", handler)], n as f64);
        }
    }
    let name = "prometheus_http_request_duration_seconds";
    out.family(name, "histogram", "Histogram of latencies for HTTP requests.");
    for (handler, h) in &handlers {
        out.histogram(name, &[("handler", handler)], &h.duration.snapshot());
    }
    out.single(
        "sextant_http_requests_in_flight",
        "gauge",
        "HTTP requests being served.",
        m.in_flight.get() as f64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn counts_by_route_pattern_and_code() {
        let app = axum::Router::new()
            .route("/t/{name}", get(|| async { "x" }))
            .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "no") })
            .layer(axum::middleware::from_fn(track));
        let before = http().requests("/t/:name", 200);
        let other = http().requests("other", 404);
        for uri in ["/t/a", "/t/b", "/nope"] {
            let r = app
                .clone()
                .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let _ = r.status();
        }
        assert_eq!(http().requests("/t/:name", 200), before + 2);
        assert_eq!(http().requests("other", 404), other + 1);
        let mut e = Exposition::new();
        render(&mut e);
        assert!(e
            .as_str()
            .contains("prometheus_http_requests_total{code=\"200\",handler=\"/t/:name\"}"));
        assert!(e
            .as_str()
            .contains("prometheus_http_request_duration_seconds_bucket{handler=\"/t/:name\",le=\"+Inf\"}"));
    }
}

#[cfg(test)]
mod handler_name_tests {
    use super::prometheus_handler_name;

    #[test]
    fn route_patterns_take_prometheus_handler_names() {
        assert_eq!(prometheus_handler_name("/api/v1/query"), "/api/v1/query");
        assert_eq!(
            prometheus_handler_name("/api/v1/label/{name}/values"),
            "/api/v1/label/:name/values"
        );
        assert_eq!(prometheus_handler_name("/static/{*path}"), "/static/*path");
        assert_eq!(prometheus_handler_name("/odd/{unclosed"), "/odd/{unclosed");
    }
}
