//! `/metrics` moves when the work happens: remote write, queries, HTTP requests; and it is
//! valid OpenMetrics when the scraper asks for it.

use crate::support::*;

/// The value of the series written exactly as `series` (name plus rendered labels).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

fn metrics(server: &TestServer) -> String {
    let (s, body) = http_get(&server.url("/metrics")).unwrap();
    assert_eq!(s, 200);
    String::from_utf8(body).unwrap()
}

#[test]
fn counters_rise_with_remote_write_queries_and_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();
    let appended = "sextant_ingest_samples_appended_total{protocol=\"remote_write_v1\"}";
    let head = "prometheus_tsdb_head_samples_appended_total";
    let created = "prometheus_tsdb_head_series_created_total";
    let instant = "sextant_query_duration_seconds_count{kind=\"instant\"}";
    let http_ok = "prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/query\"}";
    let http_bad = "prometheus_http_requests_total{code=\"400\",handler=\"/api/v1/query\"}";
    let writes = "prometheus_http_requests_total{code=\"204\",handler=\"/api/v1/write\"}";

    let before = metrics(&server);
    let t = now_ms();
    let batch: Vec<_> = (0..7)
        .map(|i| {
            let pts: Vec<(i64, f64)> = (0..3).map(|j| (t - 3000 + j * 1000, j as f64)).collect();
            series("selfobs_test", &[("i", &i.to_string())], &pts)
        })
        .collect();
    let (s, b) = remote_write(
        &server,
        &prompb::WriteRequest {
            timeseries: batch,
            ..Default::default()
        },
    );
    assert_eq!(s, 204, "{b}");
    let after = metrics(&server);
    assert_eq!(value(&after, appended) - value(&before, appended), 21.0);
    assert_eq!(value(&after, head) - value(&before, head), 21.0);
    assert_eq!(value(&after, created) - value(&before, created), 7.0);
    assert_eq!(value(&after, writes) - value(&before, writes), 1.0);

    let (s, _) = get_json(&server.url("/api/v1/query?query=count(selfobs_test)"));
    assert_eq!(s, 200);
    let (s, _) = get_json(&server.url("/api/v1/query?query=count(("));
    assert_eq!(s, 400);
    let last = metrics(&server);
    assert_eq!(
        value(&last, instant) - value(&after, instant),
        2.0,
        "both queries reach the engine"
    );
    assert_eq!(value(&last, http_ok) - value(&after, http_ok), 1.0);
    assert_eq!(value(&last, http_bad) - value(&after, http_bad), 1.0);
    assert!(value(&last, "prometheus_engine_query_samples_total") >= 7.0);
    assert!(last
        .contains("prometheus_http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"+Inf\"}"));
    assert!(last.contains("prometheus_build_info{"), "{last}");
    assert!(last.contains("prometheus_tsdb_wal_fsync_duration_seconds_count"));
}

#[test]
fn metrics_are_openmetrics_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();
    let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (s, headers, body) =
        http_request("GET", &server.url("/metrics"), &[("Accept", accept)], b"").unwrap();
    assert_eq!(s, 200);
    let ct = headers.iter().find(|(k, _)| k == "content-type").unwrap();
    assert!(
        ct.1.starts_with("application/openmetrics-text; version=1.0.0"),
        "{ct:?}"
    );
    let text = String::from_utf8(body).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let parsed = ingest::parse_exposition(text.as_bytes(), &ct.1)
        .unwrap_or_else(|e| panic!("not OpenMetrics: {e}\n{text}"));
    assert!(parsed.samples.len() > 50);
    // Counter families are named without `_total`; their samples keep it.
    assert!(
        text.contains("# TYPE prometheus_tsdb_compactions counter\n"),
        "{text}"
    );
    assert!(text.contains("\nprometheus_tsdb_compactions_total 0\n"), "{text}");
    let mut families = std::collections::HashSet::new();
    for l in text.lines() {
        assert!(!l.is_empty(), "no blank lines in OpenMetrics");
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap().to_string();
            assert!(families.insert(name.clone()), "family {name} declared twice");
        }
    }
    // The default stays the text format.
    let (_, headers, body) = http_request("GET", &server.url("/metrics"), &[], b"").unwrap();
    let ct = headers.iter().find(|(k, _)| k == "content-type").unwrap();
    assert!(ct.1.starts_with("text/plain; version=0.0.4"), "{ct:?}");
    assert!(!String::from_utf8(body).unwrap().contains("# EOF"));
}

/// Debian's Prometheus (which asks for OpenMetrics first) scrapes `/metrics` without error,
/// with every area's families present: forwarding, rules, HTTP, engine, TSDB.
#[test]
fn prometheus_scrapes_self_metrics_as_openmetrics() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let prometheus = "/usr/bin/prometheus";
    assert!(
        std::path::Path::new(prometheus).exists(),
        "this test needs Debian's prometheus at {prometheus}: run scripts/test.sh, which installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sextant.yml");
    // A forwarding queue to a closed port, so the remote-storage families are there too.
    std::fs::write(
        &cfg,
        "scrape_configs: []\nremote_write:\n  - url: http://127.0.0.1:1/api/v1/write\n",
    )
    .unwrap();
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pcfg = dir.path().join("prometheus.yml");
    let target = server.base.trim_start_matches("http://");
    std::fs::write(
        &pcfg,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sx\n    static_configs:\n      - targets: ['{target}']\n"),
    )
    .unwrap();
    let _prom = KillOnDrop(
        Command::new(prometheus)
            .arg(format!("--config.file={}", pcfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("prom").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let target = loop {
        if let Ok((200, body)) = http_get(&format!("{base}/api/v1/targets")) {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let t = v["data"]["activeTargets"][0].clone();
            if t["health"] == "up" || !t["lastError"].as_str().unwrap_or("").is_empty() {
                break t;
            }
        }
        assert!(Instant::now() < deadline, "prometheus never scraped sextant");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(target["health"], "up", "{target}");
    assert_eq!(target["lastError"], "", "{target}");
    for name in [
        "prometheus_tsdb_head_series",
        "prometheus_tsdb_compactions_total",
        "prometheus_tsdb_wal_fsync_duration_seconds_count",
        "prometheus_engine_query_duration_seconds_count",
        "prometheus_http_requests_total",
        "prometheus_remote_storage_samples_total",
        "prometheus_rule_evaluations_total",
        "sextant_ingest_samples_appended_total",
        "sextant_build_info",
    ] {
        let (_, v) = get_json(&format!(
            "{base}/api/v1/query?query={}",
            enc(&format!("count({name}{{job=\"sx\"}})"))
        ));
        assert!(
            v["data"]["result"].as_array().is_some_and(|r| !r.is_empty()),
            "{name} not scraped by prometheus: {v}"
        );
    }
}
