//! The embedded web UI: a few static files compiled into the binary.
//!
//! `GET /` and the client-side routes (`/graph` or `/query`, `/targets`, `/rules`, `/alerts`, `/status`,
//! `/dashboards/{name}`) all
//! answer `index.html`; the browser-side router (`web/ui/app.js`) picks the page. The other assets
//! live under `/ui/`. Every response carries a strong `ETag` (a hash of the file) and
//! `Cache-Control: no-cache`, so browsers revalidate cheaply and get `304 Not Modified`; the
//! vendored chart library is versioned by its path and may be cached for a day.
//!
//! For UI development, set `SEXTANT_UI_DIR=web/ui`: the files are then read from that directory on
//! every request instead of from the binary (only the names listed in [`ASSETS`] are served).
//!
//! The files (plain ES modules, no build step; about 160 KB, 58 KB gzipped):
//! - `index.html`, `app.css`, `app.js` (client-side router), `dom.js`, `api.js` (Prometheus API
//!   client and formatting);
//! - `explorer.js` + `complete.js` (query explorer and PromQL completion), `chart.js` (uPlot time
//!   series and canvas heatmaps), `targets.js`, `status.js`,
//!   `rules.js` (rule groups), `alerts.js` (alerting rules by state);
//! - `beacon.js` (the beacon-chain dashboard as data), `sextant.js` (Sextant's own dashboard as
//!   data), `dashboard.js` (draws them), `nodes.js`
//!   (pure helpers), `grafana.js` (the same definition as Grafana JSON; `tests/ui/gen-grafana.mjs`
//!   writes `dashboards/grafana/beacon.json` with it);
//! - `vendor/`: uPlot 1.6.32 (MIT), unmodified.

use axum::{
    extract::Path,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use std::sync::OnceLock;

/// One embedded file.
#[derive(Debug)]
pub(crate) struct Asset {
    /// Path below `web/ui/` (and below `/ui/` in URLs).
    pub path: &'static str,
    /// The `Content-Type` header value.
    pub content_type: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
    /// `Cache-Control` header value.
    pub cache_control: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";
const TEXT: &str = "text/plain; charset=utf-8";
const REVALIDATE: &str = "no-cache";
const VENDOR: &str = "public, max-age=86400";

macro_rules! asset {
    ($path:literal, $ct:expr, $cache:expr) => {
        Asset {
            path: $path,
            content_type: $ct,
            body: include_bytes!(concat!("../ui/", $path)),
            cache_control: $cache,
        }
    };
}

/// Every file of the UI, in one place.
pub(crate) static ASSETS: &[Asset] = &[
    asset!("index.html", HTML, REVALIDATE),
    asset!("app.css", CSS, REVALIDATE),
    asset!("app.js", JS, REVALIDATE),
    asset!("api.js", JS, REVALIDATE),
    asset!("dom.js", JS, REVALIDATE),
    asset!("chart.js", JS, REVALIDATE),
    asset!("complete.js", JS, REVALIDATE),
    asset!("explorer.js", JS, REVALIDATE),
    asset!("targets.js", JS, REVALIDATE),
    asset!("status.js", JS, REVALIDATE),
    asset!("rules.js", JS, REVALIDATE),
    asset!("alerts.js", JS, REVALIDATE),
    asset!("dashboard.js", JS, REVALIDATE),
    asset!("nodes.js", JS, REVALIDATE),
    asset!("beacon.js", JS, REVALIDATE),
    asset!("sextant.js", JS, REVALIDATE),
    asset!("grafana.js", JS, REVALIDATE),
    asset!("favicon.svg", SVG, REVALIDATE),
    asset!("vendor/uPlot.iife.min.js", JS, VENDOR),
    asset!("vendor/uPlot.min.css", CSS, VENDOR),
    asset!("vendor/uPlot.LICENSE", TEXT, VENDOR),
    asset!("vendor/README.md", TEXT, VENDOR),
];

/// Paths the client-side router handles; each answers `index.html`.
const APP_ROUTES: &[&str] = &[
    "/",
    "/graph",
    "/query",
    "/targets",
    "/rules",
    "/alerts",
    "/status",
    "/dashboards",
];

/// The router serving the UI; merge it into the API router (any state type: the UI reads none).
pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let mut router = Router::new();
    for route in APP_ROUTES {
        router = router.route(route, get(index));
    }
    router
        .route("/dashboards/{name}", get(index))
        .route("/ui/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// Finds the asset called `path` (relative to `web/ui/`).
pub(crate) fn find(path: &str) -> Option<(usize, &'static Asset)> {
    ASSETS.iter().enumerate().find(|(_, a)| a.path == path)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some((i, asset)) = find(path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, TEXT)],
            format!("no UI asset named {path:?}\n"),
        )
            .into_response();
    };
    if let Some(dir) = std::env::var_os("SEXTANT_UI_DIR") {
        return serve_from_disk(std::path::Path::new(&dir), asset);
    }
    let etag = &etags()[i];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let common = [
        (header::ETAG, HeaderValue::from_str(etag)),
        (
            header::CACHE_CONTROL,
            Ok(HeaderValue::from_static(asset.cache_control)),
        ),
    ];
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))],
            asset.body,
        )
            .into_response()
    };
    for (name, value) in common {
        if let Ok(value) = value {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn serve_from_disk(dir: &std::path::Path, asset: &Asset) -> Response {
    let file = dir.join(asset.path);
    match std::fs::read(&file) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, TEXT)],
            format!("reading UI file {}: {e}\n", file.display()),
        )
            .into_response(),
    }
}

/// Strong ETags, one per asset in [`ASSETS`] order, computed once.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{:016x}-{:x}\"", fnv1a(a.body), a.body.len()))
            .collect()
    })
}

/// 64-bit FNV-1a, enough to tell versions of a file apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(uri: &str, if_none_match: Option<&str>) -> Response {
        let mut req = Request::get(uri);
        if let Some(tag) = if_none_match {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        routes::<()>()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn body_bytes(resp: Response) -> Vec<u8> {
        axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .unwrap()
            .to_vec()
    }

    fn expected_type(path: &str) -> &'static str {
        match path.rsplit_once('.').map(|(_, ext)| ext) {
            Some("html") => HTML,
            Some("js") => JS,
            Some("css") => CSS,
            Some("svg") => SVG,
            _ => TEXT,
        }
    }

    #[tokio::test]
    async fn every_asset_is_served_with_its_content_type_and_etag() {
        for asset in ASSETS {
            let resp = get(&format!("/ui/{}", asset.path), None).await;
            assert_eq!(resp.status(), StatusCode::OK, "{}", asset.path);
            let ct = resp.headers()[header::CONTENT_TYPE].to_str().unwrap();
            assert_eq!(ct, expected_type(asset.path), "{}", asset.path);
            assert!(resp.headers().contains_key(header::ETAG), "{}", asset.path);
            assert!(
                resp.headers().contains_key(header::CACHE_CONTROL),
                "{}",
                asset.path
            );
            assert_eq!(body_bytes(resp).await, asset.body, "{}", asset.path);
        }
    }

    #[tokio::test]
    async fn app_routes_serve_index_html() {
        let index = find("index.html").unwrap().1.body;
        for &uri in APP_ROUTES.iter().chain(&["/dashboards/beacon"]) {
            let resp = get(uri, None).await;
            assert_eq!(resp.status(), StatusCode::OK, "{uri}");
            assert_eq!(resp.headers()[header::CONTENT_TYPE], HTML, "{uri}");
            assert_eq!(body_bytes(resp).await, index, "{uri}");
        }
    }

    #[tokio::test]
    async fn matching_etag_gives_not_modified() {
        let first = get("/ui/app.js", None).await;
        let tag = first.headers()[header::ETAG].to_str().unwrap().to_string();
        let second = get("/ui/app.js", Some(&tag)).await;
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        assert!(body_bytes(second).await.is_empty());
        let other = get("/ui/app.js", Some("\"something-else\"")).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_asset_is_404_naming_it() {
        let resp = get("/ui/../Cargo.toml", None).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = get("/ui/nope.js", None).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(String::from_utf8(body_bytes(resp).await)
            .unwrap()
            .contains("nope.js"));
    }

    #[tokio::test]
    async fn dev_mode_reads_the_file_from_disk() {
        let dir = std::env::temp_dir().join(format!("sextant-ui-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app.js"), "// edited on disk\n").unwrap();
        let asset = find("app.js").unwrap().1;
        let resp = serve_from_disk(&dir, asset);
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], JS);
        assert_eq!(body_bytes(resp).await, b"// edited on disk\n");
        let missing = serve_from_disk(&dir, find("app.css").unwrap().1);
        assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(String::from_utf8(body_bytes(missing).await)
            .unwrap()
            .contains("app.css"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn index_references_only_embedded_assets() {
        let index = std::str::from_utf8(find("index.html").unwrap().1.body).unwrap();
        for part in index.split("\"/ui/").skip(1) {
            let path = part.split('"').next().unwrap();
            assert!(find(path).is_some(), "index.html references missing {path}");
        }
    }

    #[test]
    fn every_file_in_the_ui_directory_is_embedded() {
        fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else {
                    let rel = path.strip_prefix(base).unwrap().to_string_lossy();
                    out.push(rel.replace('\\', "/"));
                }
            }
        }
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut files = Vec::new();
        walk(&base, &base, &mut files);
        for file in files {
            assert!(find(&file).is_some(), "web/ui/{file} is not listed in ASSETS");
        }
    }

    #[test]
    fn module_imports_resolve_to_embedded_assets() {
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).unwrap();
            for part in text.split(" from './").skip(1) {
                let path = part.split('\'').next().unwrap();
                assert!(find(path).is_some(), "{} imports missing {path}", asset.path);
            }
        }
    }
}
