//! The test server: a router over a temporary database, plus request helpers.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use storage::{Appendable, Db, DbOptions, Labels, MetricMetadata, SeriesRef};
use tower::ServiceExt;
use web::WebState;

/// A response as the tests look at it.
pub(crate) struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    /// The body parsed as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `Content-Type` header.
    pub(crate) fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A database in a temporary directory and the state/router over it.
pub(crate) struct TestApi {
    _dir: tempfile::TempDir,
    pub db: Arc<Db>,
}

impl TestApi {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(DbOptions::new(dir.path())).unwrap());
        TestApi { _dir: dir, db }
    }

    /// The default state over this database (tests may adjust it before building the router).
    pub(crate) fn state(&self) -> WebState {
        WebState::new(
            self.db.clone(),
            Arc::new(query::Engine::new(query::EngineOptions::default())),
            Arc::new(AtomicBool::new(true)),
        )
    }

    pub(crate) fn router(&self) -> Router {
        web::router(Arc::new(self.state()))
    }

    /// Appends one series' samples `(ms, value)` and commits.
    pub(crate) fn add(&self, labels: &[(&str, &str)], samples: &[(i64, f64)]) {
        let l = Labels::from_pairs(labels.iter().copied());
        let mut app = self.db.appender();
        for &(t, v) in samples {
            app.append(SeriesRef::NONE, &l, t, v).unwrap();
        }
        app.commit().unwrap();
    }

    /// Records metric metadata.
    pub(crate) fn add_metadata(&self, family: &str, meta: MetricMetadata) {
        let mut app = self.db.appender();
        app.update_metadata(family, meta).unwrap();
        app.commit().unwrap();
    }
}

/// Sends `req` to `router`.
pub(crate) async fn send(router: Router, req: Request<Body>) -> Resp {
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Resp {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// `GET uri`.
pub(crate) async fn get(router: Router, uri: &str) -> Resp {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// `POST uri` with a form-encoded body.
pub(crate) async fn post_form(router: Router, uri: &str, form: &str) -> Resp {
    let req = Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap();
    send(router, req).await
}

/// Percent-encodes a query-string value.
pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A captured Prometheus reply from `tests/fixtures/local/api/`.
pub(crate) fn fixture(name: &str) -> String {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "fixtures",
        "local",
        "api",
        name,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
        .trim_end()
        .to_string()
}

/// Asserts an error envelope with the given type, message and status code.
#[track_caller]
pub(crate) fn assert_error(r: &Resp, status: u16, error_type: &str, message: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.content_type(), "application/json");
    let want = serde_json::json!({"status": "error", "errorType": error_type, "error": message});
    assert_eq!(r.json(), want, "body: {}", r.body);
    // Field order as Prometheus writes it.
    assert!(
        r.body.starts_with(r#"{"status":"error","errorType":"#),
        "{}",
        r.body
    );
}

/// The two `up` series of the captured fixtures plus a few others, at `t` ms.
pub(crate) fn load_up(api: &TestApi, t: i64) {
    api.add(
        &[
            ("__name__", "up"),
            ("instance", "127.0.0.1:39090"),
            ("job", "prometheus"),
        ],
        &[(t, 1.0)],
    );
    api.add(
        &[
            ("__name__", "up"),
            ("instance", "127.0.0.1:39100"),
            ("job", "node"),
        ],
        &[(t, 1.0)],
    );
    api.add(
        &[
            ("__name__", "node_load1"),
            ("instance", "127.0.0.1:39100"),
            ("job", "node"),
        ],
        &[(t, 2.5)],
    );
}
