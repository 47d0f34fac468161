//! The request middleware of `--web.config.file`: rate limit, basic authentication, roles,
//! extra response headers.
//!
//! Authentication follows exporter-toolkit: every path is protected when `basic_auth_users`
//! is set (including `/-/healthy` and `/-/ready`); a missing or wrong password gets
//! `401 Unauthorized` with `WWW-Authenticate: Basic`. A bcrypt verification costs tens of
//! milliseconds at cost 10, so results are cached per (user, hash, password) and at most
//! [`MAX_CONCURRENT_BCRYPT`] run at once, on blocking threads; an unknown user is checked
//! against a dummy hash so that timing does not reveal which users exist.
//!
//! Roles (Sextant's `sextant.roles` extension): `write` may push (remote write, OTLP over
//! HTTP and gRPC, text import), `read` may query (API, UI, federation, remote read,
//! `/metrics`), `admin` may do both plus the admin API and `/-/reload`, `/-/quit`. Any
//! authenticated user may ask `/-/healthy` and `/-/ready`. A user without the needed role
//! gets `403 Forbidden`.

use super::config::{RateLimit, Roles, WebConfig};
use super::WebSecurity;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Bcrypt verifications running at once; more wait (a flood of wrong passwords cannot take
/// every blocking thread).
pub const MAX_CONCURRENT_BCRYPT: usize = 4;
/// Cached verification results kept before the cache is emptied.
const CACHE_CAPACITY: usize = 1024;

static UNAUTHORIZED: AtomicU64 = AtomicU64::new(0);
static FORBIDDEN: AtomicU64 = AtomicU64::new(0);
static RATE_LIMITED: AtomicU64 = AtomicU64::new(0);

/// `(reason, count)` of requests refused here, for `/metrics`.
pub fn rejected() -> [(&'static str, u64); 3] {
    [
        ("unauthorized", UNAUTHORIZED.load(Ordering::Relaxed)),
        ("forbidden", FORBIDDEN.load(Ordering::Relaxed)),
        ("rate_limited", RATE_LIMITED.load(Ordering::Relaxed)),
    ]
}

/// Renders `sextant_http_rejected_requests_total{reason}` (requests refused by
/// `--web.config.file`: `unauthorized` 401, `forbidden` 403, `rate_limited` 429) into `out`.
pub fn render_rejections(out: &mut storage::metrics::Exposition) {
    let name = "sextant_http_rejected_requests_total";
    out.family(
        name,
        "counter",
        "HTTP requests refused by the web configuration: unauthorized, forbidden, rate_limited.",
    );
    for (reason, v) in rejected() {
        out.sample(name, &[("reason", reason)], v as f64);
    }
}

/// What a path needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Any authenticated user (health and readiness).
    Any,
    /// The `read` role.
    Read,
    /// The `write` role.
    Write,
    /// The `admin` role.
    Admin,
}

impl Need {
    fn allowed(self, r: Roles) -> bool {
        match self {
            Need::Any => true,
            Need::Read => r.read || r.admin,
            Need::Write => r.write || r.admin,
            Need::Admin => r.admin,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Need::Any => "use",
            Need::Read => "read (role read)",
            Need::Write => "write (role write)",
            Need::Admin => "use the admin endpoints (role admin)",
        }
    }
}

/// The role a request path needs.
pub fn need(path: &str) -> Need {
    match path {
        "/-/healthy" | "/-/ready" => Need::Any,
        "/api/v1/write"
        | "/v1/metrics"
        | "/api/v1/otlp/v1/metrics"
        | "/v1/traces"
        | "/api/v1/otlp/v1/traces"
        | "/api/v1/import/prometheus" => Need::Write,
        "/-/reload" | "/-/quit" => Need::Admin,
        p if p.starts_with("/opentelemetry.proto.collector.") => Need::Write,
        p if p.starts_with("/api/v1/admin/") => Need::Admin,
        _ => Need::Read,
    }
}

/// Results of bcrypt verifications, and the gate that limits how many run at once.
pub(crate) struct CredentialCache {
    verified: Mutex<HashMap<(String, String, String), bool>>,
    gate: tokio::sync::Semaphore,
}

impl Default for CredentialCache {
    fn default() -> Self {
        CredentialCache {
            verified: Mutex::new(HashMap::new()),
            gate: tokio::sync::Semaphore::new(MAX_CONCURRENT_BCRYPT),
        }
    }
}

impl CredentialCache {
    /// Whether `password` matches `hash`, from the cache or by running bcrypt.
    async fn check(&self, user: &str, hash: &str, password: &str) -> bool {
        let key = (user.to_string(), hash.to_string(), password.to_string());
        if let Some(&ok) = self.verified.lock().get(&key) {
            return ok;
        }
        let Ok(_permit) = self.gate.acquire().await else {
            return false;
        };
        let (h, p) = (hash.to_string(), password.to_string());
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(p, &h).unwrap_or(false))
            .await
            .unwrap_or(false);
        let mut v = self.verified.lock();
        if v.len() >= CACHE_CAPACITY {
            v.clear();
        }
        v.insert(key, ok);
        ok
    }
}

/// A bcrypt hash no password is known for, so an unknown user costs as much as a known one.
async fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return h;
    }
    let h = tokio::task::spawn_blocking(|| {
        let secret = format!("{:?}{:?}", Instant::now(), std::thread::current().id());
        bcrypt::hash(secret, 10).unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    DUMMY.get_or_init(|| h)
}

/// Exporter-toolkit's `rate_limit`: a token bucket refilled one token per interval.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// `None` when the interval is 0 (no limit).
    pub fn new(r: &RateLimit) -> Result<Option<RateLimiter>, String> {
        let interval = storage::PromDuration::parse(r.interval.trim())
            .map_err(|e| format!("rate_limit.interval: {e}"))?
            .0;
        if interval.is_zero() {
            return Ok(None);
        }
        if r.burst == 0 {
            return Err("rate_limit.burst: must be at least 1 (0 would refuse every request)".into());
        }
        Ok(Some(RateLimiter {
            interval,
            burst: f64::from(r.burst),
            state: Mutex::new((f64::from(r.burst), Instant::now())),
        }))
    }

    /// Takes a token if one is left.
    pub fn allow(&self) -> bool {
        let mut s = self.state.lock();
        let now = Instant::now();
        let refill = now.duration_since(s.1).as_secs_f64() / self.interval.as_secs_f64();
        s.0 = (s.0 + refill).min(self.burst);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A refusal as a gRPC client understands it: HTTP 200 with `grpc-status` (tonic reads a
/// plain 401 body as a corrupt message).
fn grpc_refusal(code: u8, message: &str) -> Response {
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    h.insert("grpc-status", HeaderValue::from(u16::from(code)));
    if let Ok(v) = HeaderValue::from_str(&message.replace(|c: char| !c.is_ascii_graphic() && c != ' ', "_")) {
        h.insert("grpc-message", v);
    }
    r
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

fn unauthorized(grpc: bool) -> Response {
    let mut r = if grpc {
        grpc_refusal(16, "Unauthorized") // UNAUTHENTICATED
    } else {
        text(StatusCode::UNAUTHORIZED, "Unauthorized\n".into())
    };
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
    r
}

/// The user and password of an `Authorization: Basic` header.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// The authenticated user, or `None` (401).
async fn authenticate(sec: &WebSecurity, c: &WebConfig, headers: &HeaderMap) -> Option<String> {
    let (user, password) = credentials(headers)?;
    match c.basic_auth_users.get(&user) {
        Some(hash) => sec.cache.check(&user, hash, &password).await.then_some(user),
        None => {
            let dummy = dummy_hash().await;
            let _ = sec.cache.check("", dummy, &password).await;
            None
        }
    }
}

/// The middleware; install it with `axum::middleware::from_fn_with_state(security, layer)`.
pub async fn layer(State(sec): State<Arc<WebSecurity>>, req: Request, next: Next) -> Response {
    let active = sec.current();
    let c = &active.config;
    let grpc = is_grpc(req.headers());
    let mut resp = 'answer: {
        if let Some(l) = &active.limiter {
            if !l.allow() {
                RATE_LIMITED.fetch_add(1, Ordering::Relaxed);
                break 'answer if grpc {
                    grpc_refusal(8, "Too Many Requests") // RESOURCE_EXHAUSTED
                } else {
                    text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n".into())
                };
            }
        }
        let own_certificate = req
            .extensions()
            .get::<axum::extract::ConnectInfo<super::listener::TlsPeer>>()
            .is_some_and(|c| c.0.self_scrape_certificate);
        if own_certificate
            && !super::self_scrape::SelfScrape::is_scrape_request(req.method(), req.uri().path())
        {
            FORBIDDEN.fetch_add(1, Ordering::Relaxed);
            let msg = "the self-scrape's client certificate opens GET /metrics only";
            break 'answer if grpc {
                grpc_refusal(7, msg) // PERMISSION_DENIED
            } else {
                text(StatusCode::FORBIDDEN, format!("{msg}\n"))
            };
        }
        let self_scrape = sec
            .self_scrape
            .as_ref()
            .is_some_and(|s| s.admits(req.method(), req.uri().path(), req.headers()));
        if !c.basic_auth_users.is_empty() && !self_scrape {
            let Some(user) = authenticate(&sec, c, req.headers()).await else {
                UNAUTHORIZED.fetch_add(1, Ordering::Relaxed);
                break 'answer unauthorized(grpc);
            };
            let need = need(req.uri().path());
            if !need.allowed(c.roles_of(&user)) {
                FORBIDDEN.fetch_add(1, Ordering::Relaxed);
                let msg = format!("user {user:?} may not {}", need.verb());
                break 'answer if grpc {
                    grpc_refusal(7, &msg) // PERMISSION_DENIED
                } else {
                    text(StatusCode::FORBIDDEN, msg + "\n")
                };
            }
        }
        next.run(req).await
    };
    for (name, value) in &c.http_server_config.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers_mut().insert(n, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rejections() {
        let mut e = storage::metrics::Exposition::new();
        render_rejections(&mut e);
        assert!(e
            .as_str()
            .contains("sextant_http_rejected_requests_total{reason=\"unauthorized\"} "));
    }

    #[test]
    fn paths() {
        assert_eq!(need("/api/v1/write"), Need::Write);
        assert_eq!(
            need("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"),
            Need::Write
        );
        assert_eq!(need("/api/v1/query"), Need::Read);
        assert_eq!(need("/metrics"), Need::Read);
        assert_eq!(need("/api/v1/admin/tsdb/snapshot"), Need::Admin);
        assert_eq!(need("/-/ready"), Need::Any);
        let w = Roles {
            write: true,
            ..Roles::default()
        };
        assert!(Need::Write.allowed(w) && !Need::Read.allowed(w) && !Need::Admin.allowed(w));
        assert!(Need::Admin.allowed(Roles::ALL));
    }

    #[test]
    fn basic_header() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Basic YWxpY2U6c2VjOnJldA==".parse().unwrap(),
        );
        assert_eq!(credentials(&h), Some(("alice".into(), "sec:ret".into())));
        h.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(credentials(&h), None);
        h.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(credentials(&h), None);
    }

    #[test]
    fn rate_limiter() {
        let l = RateLimiter::new(&RateLimit {
            interval: "1h".into(),
            burst: 2,
        })
        .unwrap()
        .unwrap();
        assert!(l.allow() && l.allow() && !l.allow());
        assert!(RateLimiter::new(&RateLimit {
            interval: "0s".into(),
            burst: 0
        })
        .unwrap()
        .is_none());
        assert!(RateLimiter::new(&RateLimit {
            interval: "1s".into(),
            burst: 0
        })
        .is_err());
    }

    #[tokio::test]
    async fn cache_avoids_second_bcrypt() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let c = CredentialCache::default();
        assert!(c.check("u", &hash, "pw").await);
        assert!(!c.check("u", &hash, "nope").await);
        assert_eq!(c.verified.lock().len(), 2);
        assert!(c.check("u", &hash, "pw").await);
        assert_eq!(c.verified.lock().len(), 2);
    }

    /// A connection made with the self-scrape's own client certificate may `GET /metrics`
    /// and nothing else, even where no user is configured.
    #[tokio::test]
    async fn the_self_scrape_certificate_opens_get_metrics_only() {
        use axum::routing::get;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        std::fs::write(&path, "{}\n").unwrap();
        let sec = super::super::WebSecurity::load(Some(&path)).unwrap();
        let mark = |own: bool| {
            move |mut req: Request, next: Next| async move {
                let peer = super::super::listener::TlsPeer {
                    addr: "127.0.0.1:1".parse().unwrap(),
                    self_scrape_certificate: own,
                };
                req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                next.run(req).await
            }
        };
        let app = || {
            super::super::protect(
                axum::Router::new()
                    .route("/metrics", get(|| async { "m" }))
                    .route("/api/v1/query", get(|| async { "q" }).post(|| async { "q" })),
                sec.clone(),
                None,
            )
        };
        let serve = |app: axum::Router| async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(l, app).await });
            format!("http://{addr}")
        };
        let own = serve(app().layer(axum::middleware::from_fn(mark(true)))).await;
        let other = serve(app().layer(axum::middleware::from_fn(mark(false)))).await;
        let c = reqwest::Client::new();
        let status = |r: reqwest::RequestBuilder| async move { r.send().await.unwrap().status().as_u16() };
        assert_eq!(status(c.get(format!("{own}/metrics"))).await, 200);
        assert_eq!(status(c.get(format!("{own}/api/v1/query"))).await, 403);
        assert_eq!(status(c.post(format!("{own}/metrics"))).await, 403);
        assert_eq!(status(c.get(format!("{other}/api/v1/query"))).await, 200);
    }
}
