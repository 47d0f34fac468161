//! Status, rules/alerts, health endpoints, compression.

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use web::{HeadStats, TsdbStatsProvider};

#[tokio::test]
async fn buildinfo_is_semver_without_features() {
    let api = TestApi::new();
    let r = get(api.router(), "/api/v1/status/buildinfo").await;
    assert_eq!(r.status, 200);
    let j = r.json();
    let v = j["data"]["version"].as_str().unwrap();
    let parts: Vec<&str> = v.split('.').collect();
    assert_eq!(parts.len(), 3, "{v}");
    assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{v}");
    for k in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(j["data"][k].is_string(), "{k}");
    }
    // A non-empty `features` would make Grafana treat us as Mimir.
    assert!(j["data"].get("features").is_none());
}

#[tokio::test]
async fn flags_config_runtimeinfo() {
    let api = TestApi::new();
    let mut st = api.state();
    st.flags.insert("query.lookback-delta".into(), "5m".into());
    st.config_yaml = "global:\n  scrape_interval: 15s\n".into();
    st.storage_retention = "15d".into();
    let router = web::router(Arc::new(st));
    let r = get(router.clone(), "/api/v1/status/flags").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"query.lookback-delta":"5m"}}"#
    );
    let r = get(router.clone(), "/api/v1/status/config").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"yaml":"global:\n  scrape_interval: 15s\n"}}"#
    );
    let r = get(router, "/api/v1/status/runtimeinfo").await;
    let d = &r.json()["data"];
    for k in [
        "startTime",
        "CWD",
        "hostname",
        "serverTime",
        "reloadConfigSuccess",
        "lastConfigTime",
        "corruptionCount",
        "goroutineCount",
        "GOMAXPROCS",
        "GOMEMLIMIT",
        "GOGC",
        "GODEBUG",
        "storageRetention",
    ] {
        assert!(d.get(k).is_some(), "missing {k}: {d}");
    }
    assert_eq!(d["storageRetention"], "15d");
    assert!(d["startTime"].as_str().unwrap().ends_with('Z'));
}

struct Head;
impl TsdbStatsProvider for Head {
    fn head_stats(&self) -> HeadStats {
        HeadStats {
            num_series: 3,
            chunk_count: 3,
            min_time: 1000,
            max_time: 2000,
            histogram_series: 1,
            histogram_samples: 7,
        }
    }
}

#[tokio::test]
async fn tsdb_cardinality() {
    let api = TestApi::new();
    api.add(
        &[("__name__", "up"), ("job", "a"), ("instance", "1")],
        &[(1000, 1.0)],
    );
    api.add(
        &[("__name__", "up"), ("job", "b"), ("instance", "1")],
        &[(1500, 1.0)],
    );
    api.add(
        &[("__name__", "load"), ("job", "a"), ("instance", "1")],
        &[(2000, 1.0)],
    );
    api.add(&[("__name__", "outside"), ("job", "a")], &[(9000, 1.0)]);
    let mut st = api.state();
    st.tsdb_stats = Some(Arc::new(Head));
    let router = web::router(Arc::new(st));
    let r = get(router.clone(), "/api/v1/status/tsdb?limit=2").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["data"],
        serde_json::json!({
            "headStats": {"numSeries": 3, "numLabelPairs": 5, "chunkCount": 3, "minTime": 1000, "maxTime": 2000, "numHistogramSeries": 1, "numHistogramSamples": 7},
            "seriesCountByMetricName": [{"name": "up", "value": 2}, {"name": "load", "value": 1}],
            "labelValueCountByLabelName": [{"name": "__name__", "value": 2}, {"name": "job", "value": 2}],
            "memoryInBytesByLabelName": [{"name": "__name__", "value": 8}, {"name": "instance", "value": 3}],
            "seriesCountByLabelValuePair": [{"name": "instance=1", "value": 3}, {"name": "__name__=up", "value": 2}],
        })
    );
    for bad in ["0", "x", "-1"] {
        let r = get(router.clone(), &format!("/api/v1/status/tsdb?limit={bad}")).await;
        assert_error(&r, 400, "bad_data", "limit must be a positive number");
    }
    let r = get(router, "/api/v1/status/tsdb?limit=10001").await;
    assert_error(&r, 400, "bad_data", "limit must not exceed 10000");
    // Without a head-stats provider the whole range counts.
    let r = get(api.router(), "/api/v1/status/tsdb").await;
    assert_eq!(r.json()["data"]["headStats"]["numSeries"], 4);
}

#[tokio::test]
async fn rules_alerts_walreplay() {
    let api = TestApi::new();
    let r = get(api.router(), "/api/v1/rules").await;
    assert_eq!(r.body, r#"{"status":"success","data":{"groups":[]}}"#);
    let r = get(api.router(), "/api/v1/rules?type=record").await;
    assert_eq!(r.status, 200);
    let r = get(api.router(), "/api/v1/rules?type=bogus").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"type\": not supported value \"bogus\"",
    );
    let r = get(api.router(), "/api/v1/alerts").await;
    assert_eq!(r.body, r#"{"status":"success","data":{"alerts":[]}}"#);
    let r = get(api.router(), "/api/v1/status/walreplay").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"min":0,"max":0,"current":0}}"#
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let api = TestApi::new();
    let st = api.state();
    let ready = st.ready.clone();
    let router = web::router(Arc::new(st));
    let r = get(router.clone(), "/-/healthy").await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (200, "Sextant is Healthy.\n")
    );
    ready.store(false, Ordering::Release);
    let r = get(router.clone(), "/-/ready").await;
    assert_eq!(r.status, 503);
    ready.store(true, Ordering::Release);
    let r = get(router, "/-/ready").await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, "Sextant is Ready.\n"));
}

#[tokio::test]
async fn gzip_when_accepted() {
    let api = TestApi::new();
    for i in 0..50 {
        api.add(&[("__name__", "m"), ("i", &i.to_string())], &[(1000, 1.0)]);
    }
    let req = Request::get("/api/v1/series?match[]=m")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let r = api.router();
    let resp = tower::ServiceExt::oneshot(r, req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("content-encoding").unwrap(), "gzip");
    let plain = get(api.router(), "/api/v1/series?match[]=m").await;
    assert!(plain.headers.get("content-encoding").is_none());
}

#[tokio::test]
async fn unknown_api_path_is_404() {
    let api = TestApi::new();
    let r = get(api.router(), "/api/v1/nosuch").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn no_cors_in_the_web_layer() {
    // CORS is the root's (`--web.cors.origin`, off by default): the API router adds none.
    let api = TestApi::new();
    let req = Request::get("/api/v1/labels")
        .header("origin", "http://grafana.example")
        .body(Body::empty())
        .unwrap();
    let r = send(api.router(), req).await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn notifications_and_scrape_pools() {
    let api = TestApi::new();
    let r = get(api.router(), "/api/v1/notifications").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    let r = get(api.router(), "/api/v1/scrape_pools").await;
    assert_eq!(r.body, r#"{"status":"success","data":{"scrapePools":[]}}"#);
}

#[tokio::test]
async fn api_unavailable_until_ready() {
    let api = TestApi::new();
    let st = api.state();
    st.ready.store(false, Ordering::Release);
    let ready = st.ready.clone();
    let router = web::router(Arc::new(st));
    let r = get(router.clone(), "/api/v1/labels").await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (503, "Service Unavailable"));
    let r = get(router.clone(), "/-/healthy").await;
    assert_eq!(r.status, 200);
    ready.store(true, Ordering::Release);
    let r = get(router, "/api/v1/labels").await;
    assert_eq!(r.status, 200);
}
