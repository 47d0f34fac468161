//! Shared helpers for the push endpoint tests: a Db in a temp dir, the router, requests.

use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use ingest::{push_router, PushLimits};
use std::path::PathBuf;
use std::sync::Arc;
use storage::{Db, DbOptions, MatchOp, Matcher, Queryable, SelectHints, Series};
use tower::ServiceExt;

/// A router over a fresh Db.
pub(crate) struct Fixture {
    pub db: Arc<Db>,
    pub router: Router,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Self::with_limits(PushLimits::default())
    }

    pub(crate) fn with_limits(limits: PushLimits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(DbOptions::new(dir.path())).unwrap());
        let router = push_router(db.clone(), limits);
        Fixture {
            db,
            router,
            _dir: dir,
        }
    }

    /// A fresh router over the same database, as after a restart: what the endpoints keep
    /// between requests (OTLP delta totals) is gone, what was stored stays.
    pub(crate) fn restart_endpoints(&mut self, limits: PushLimits) {
        self.router = push_router(self.db.clone(), limits);
    }

    /// Sends one request; returns status, headers and body text.
    pub(crate) async fn send(&self, req: Request<Body>) -> (u16, axum::http::HeaderMap, String) {
        let (s, h, b) = self.send_raw(req).await;
        (s, h, String::from_utf8_lossy(&b).into_owned())
    }

    /// Sends one request; returns status, headers and body bytes.
    pub(crate) async fn send_raw(&self, req: Request<Body>) -> (u16, axum::http::HeaderMap, Vec<u8>) {
        let resp: Response<Body> = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, headers, body.to_vec())
    }

    /// Every stored series, sorted by labels.
    pub(crate) fn all(&self) -> Vec<Series> {
        self.select(&[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()])
    }

    pub(crate) fn select(&self, ms: &[Matcher]) -> Vec<Series> {
        let q = self.db.querier(i64::MIN, i64::MAX).unwrap();
        q.select(
            &SelectHints {
                mint: i64::MIN,
                maxt: i64::MAX,
            },
            ms,
        )
        .unwrap()
    }

    /// The samples of the series with exactly these labels.
    pub(crate) fn series(&self, text: &str) -> Vec<(i64, f64)> {
        self.all()
            .into_iter()
            .find(|s| s.labels.to_string() == text)
            .map(|s| s.samples.iter().map(|x| (x.t, x.v)).collect())
            .unwrap_or_default()
    }

    /// The native histogram samples of the series with exactly these labels.
    pub(crate) fn histograms(&self, text: &str) -> Vec<storage::HistogramSample> {
        self.all()
            .into_iter()
            .find(|s| s.labels.to_string() == text)
            .map(|s| s.histograms)
            .unwrap_or_default()
    }

    /// Series names (labels as text) stored.
    pub(crate) fn names(&self) -> Vec<String> {
        self.all().into_iter().map(|s| s.labels.to_string()).collect()
    }
}

/// The repository's test fixtures directory.
pub(crate) fn fixture(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// A POST request with the given headers.
pub(crate) fn post(path: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::post(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).unwrap()
}
