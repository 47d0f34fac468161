//! `/api/v1/metadata`, `/api/v1/targets`, `/api/v1/targets/metadata`.

use crate::common::*;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use storage::{Labels, MetricMetadata, MetricType};
use web::{ActiveTarget, DroppedTarget, TargetHealth, TargetMetadata, TargetsProvider};

fn meta(t: MetricType, help: &str) -> MetricMetadata {
    MetricMetadata {
        metric_type: t,
        help: help.into(),
        unit: String::new(),
    }
}

fn load_fixture_metadata(api: &TestApi) {
    api.add_metadata(
        "go_memstats_heap_released_bytes",
        meta(MetricType::Gauge, "Number of heap bytes released to OS."),
    );
    api.add_metadata(
        "go_memstats_sys_bytes",
        meta(MetricType::Gauge, "Number of bytes obtained from system."),
    );
    api.add_metadata(
        "prometheus_tsdb_compaction_duration_seconds",
        meta(MetricType::Histogram, "Duration of compaction runs"),
    );
    api.add_metadata(
        "prometheus_tsdb_out_of_order_samples_total",
        meta(
            MetricType::Counter,
            "Total number of out of order samples ingestion failed attempts due to out of order being disabled.",
        ),
    );
    api.add_metadata(
        "prometheus_wal_watcher_record_decode_failures_total",
        meta(
            MetricType::Counter,
            "Number of records read by the WAL watcher that resulted in an error when decoding.",
        ),
    );
}

#[tokio::test]
async fn metadata_matches_the_captured_reply() {
    let api = TestApi::new();
    load_fixture_metadata(&api);
    api.add_metadata("zzz_extra", meta(MetricType::Summary, "x"));
    let r = get(api.router(), "/api/v1/metadata?limit=5").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, fixture("metadata.json"));
}

#[tokio::test]
async fn metadata_filters_and_errors() {
    let api = TestApi::new();
    load_fixture_metadata(&api);
    let r = get(api.router(), "/api/v1/metadata?metric=go_memstats_sys_bytes").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"go_memstats_sys_bytes":[{"type":"gauge","help":"Number of bytes obtained from system.","unit":""}]}}"#
    );
    let r = get(api.router(), "/api/v1/metadata?metric=nosuch").await;
    assert_eq!(r.body, r#"{"status":"success","data":{}}"#);
    let r = get(api.router(), "/api/v1/metadata?limit=0").await;
    assert_eq!(r.body, r#"{"status":"success","data":{}}"#);
    let r = get(api.router(), "/api/v1/metadata").await;
    assert_eq!(r.json()["data"].as_object().unwrap().len(), 5);
    let r = get(api.router(), "/api/v1/metadata?limit=x").await;
    assert_error(&r, 400, "bad_data", "limit must be a number");
    let r = get(api.router(), "/api/v1/metadata?limit_per_metric=x").await;
    assert_error(&r, 400, "bad_data", "limit_per_metric must be a number");
}

struct FixtureTargets;

fn at(secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, nanos)
}

fn target(job: &str, port: u16, last: SystemTime, dur: f64) -> ActiveTarget {
    let addr = format!("127.0.0.1:{port}");
    ActiveTarget {
        discovered_labels: Labels::from_pairs([
            ("__address__", addr.as_str()),
            ("__metrics_path__", "/metrics"),
            ("__scheme__", "http"),
            ("__scrape_interval__", "5s"),
            ("__scrape_timeout__", "5s"),
            ("job", job),
        ]),
        labels: Labels::from_pairs([("instance", addr.as_str()), ("job", job)]),
        scrape_pool: job.into(),
        scrape_url: format!("http://{addr}/metrics"),
        global_url: format!("http://host.example:{port}/metrics"),
        last_error: String::new(),
        last_scrape: Some(last),
        last_scrape_duration: Duration::from_secs_f64(dur),
        health: TargetHealth::Up,
        scrape_interval: Duration::from_secs(5),
        scrape_timeout: Duration::from_secs(5),
    }
}

impl TargetsProvider for FixtureTargets {
    fn active(&self) -> Vec<ActiveTarget> {
        // Deliberately out of pool order: the API sorts by scrape pool.
        vec![
            target("prometheus", 39090, at(1795304825, 91050380), 0.001955513),
            target("node", 39100, at(1795304828, 96871799), 0.00631844),
        ]
    }

    fn dropped(&self) -> Vec<DroppedTarget> {
        vec![DroppedTarget {
            scrape_pool: "node".into(),
            discovered_labels: Labels::from_pairs([("__address__", "10.0.0.1:9100"), ("job", "node")]),
        }]
    }

    fn metadata(&self) -> Vec<TargetMetadata> {
        vec![
            TargetMetadata {
                target: Labels::from_pairs([("instance", "127.0.0.1:39100"), ("job", "node")]),
                metric: "node_load1".into(),
                metadata: meta(MetricType::Gauge, "1m load average."),
            },
            TargetMetadata {
                target: Labels::from_pairs([("instance", "127.0.0.1:39090"), ("job", "prometheus")]),
                metric: "up".into(),
                metadata: meta(MetricType::Gauge, "up"),
            },
        ]
    }
}

fn targets_router(api: &TestApi) -> axum::Router {
    let mut st = api.state();
    st.targets = Arc::new(FixtureTargets);
    web::router(Arc::new(st))
}

#[tokio::test]
async fn targets_match_the_captured_reply() {
    let api = TestApi::new();
    let r = get(targets_router(&api), "/api/v1/targets?state=active").await;
    assert_eq!(r.status, 200);
    let mut got = r.json();
    let mut want: serde_json::Value = serde_json::from_str(&fixture("targets.json")).unwrap();
    // Prometheus 3 adds `droppedTargetCounts` (2.42, which recorded the fixture, did not).
    assert_eq!(got["data"]["droppedTargetCounts"], serde_json::json!({"node": 1}));
    got["data"].as_object_mut().unwrap().remove("droppedTargetCounts");
    want["data"]["droppedTargets"] = serde_json::json!([]);
    assert_eq!(got, want);
    // Field order within a target as Prometheus writes it.
    let fixture_text = fixture("targets.json");
    let first_target =
        &fixture_text[fixture_text.find("{\"discoveredLabels\"").unwrap()..fixture_text.find("},{").unwrap()];
    assert!(r.body.contains(first_target), "{}\nlacks\n{first_target}", r.body);
}

#[tokio::test]
async fn targets_state_and_pool_filters() {
    let api = TestApi::new();
    let r = get(targets_router(&api), "/api/v1/targets?state=dropped").await;
    let j = r.json();
    assert_eq!(j["data"]["activeTargets"], serde_json::json!([]));
    assert_eq!(
        j["data"]["droppedTargets"],
        serde_json::json!([{"discoveredLabels": {"__address__": "10.0.0.1:9100", "job": "node"}}])
    );
    let r = get(targets_router(&api), "/api/v1/targets?scrapePool=prometheus").await;
    let j = r.json();
    assert_eq!(j["data"]["activeTargets"].as_array().unwrap().len(), 1);
    assert_eq!(j["data"]["droppedTargets"], serde_json::json!([]));
    let r = get(targets_router(&api), "/api/v1/targets").await;
    let j = r.json();
    assert_eq!(j["data"]["activeTargets"].as_array().unwrap().len(), 2);
    assert_eq!(j["data"]["droppedTargets"].as_array().unwrap().len(), 1);
    // Without a scrape manager: empty lists.
    let r = get(api.router(), "/api/v1/targets").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}}"#
    );
}

#[tokio::test]
async fn never_scraped_target_shows_go_zero_time() {
    struct Fresh;
    impl TargetsProvider for Fresh {
        fn active(&self) -> Vec<ActiveTarget> {
            let mut t = target("node", 1, at(0, 0), 0.0);
            t.last_scrape = None;
            t.health = TargetHealth::Unknown;
            t.scrape_interval = Duration::from_secs(90);
            vec![t]
        }
    }
    let api = TestApi::new();
    let mut st = api.state();
    st.targets = Arc::new(Fresh);
    let r = get(web::router(Arc::new(st)), "/api/v1/targets").await;
    let t = &r.json()["data"]["activeTargets"][0];
    assert_eq!(t["lastScrape"], "0001-01-01T00:00:00Z");
    assert_eq!(t["health"], "unknown");
    assert_eq!(t["scrapeInterval"], "1m30s");
    assert_eq!(t["lastScrapeDuration"], 0.0);
}

#[tokio::test]
async fn targets_metadata() {
    let api = TestApi::new();
    let r = get(
        targets_router(&api),
        &format!("/api/v1/targets/metadata?match_target={}", enc("{job=\"node\"}")),
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":[{"target":{"instance":"127.0.0.1:39100","job":"node"},"metric":"node_load1","type":"gauge","help":"1m load average.","unit":""}]}"#
    );
    let r = get(targets_router(&api), "/api/v1/targets/metadata?metric=up").await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 1);
    let r = get(targets_router(&api), "/api/v1/targets/metadata?limit=1").await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 1);
    let r = get(targets_router(&api), "/api/v1/targets/metadata?match_target=%7B").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid parameter \"match_target\": "));
    let r = get(api.router(), "/api/v1/targets/metadata").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
}
