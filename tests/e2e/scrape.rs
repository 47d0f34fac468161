//! Scraping a real target: Debian's `prometheus-node-exporter` on loopback.

use crate::support::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

fn instant(server: &TestServer, q: &str) -> Vec<serde_json::Value> {
    let (s, v) = get_json(&server.url(&format!("/api/v1/query?query={}", enc(q))));
    assert_eq!(s, 200, "{v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn scrapes_a_real_node_exporter() {
    assert!(
        std::path::Path::new(NODE_EXPORTER).exists(),
        "this test needs Debian's prometheus-node-exporter at {NODE_EXPORTER}: run scripts/test.sh, which installs it"
    );
    let port = free_port();
    let _exporter = KillOnDrop(
        Command::new(NODE_EXPORTER)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node exporter"),
    );
    let dead = free_port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n        labels:\n          env: test\n  - job_name: dead\n    static_configs:\n      - targets: ['127.0.0.1:{dead}']\n"
        ),
    )
    .unwrap();
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();

    wait_for("up{job=\"node\"} == 1", || {
        instant(&server, "up{job=\"node\"} == 1").len() == 1
    });
    let up = instant(&server, "up{job=\"node\"}");
    assert_eq!(up[0]["metric"]["instance"], format!("127.0.0.1:{port}"));
    assert_eq!(up[0]["metric"]["env"], "test");
    // Real node_exporter series arrive with target labels.
    let cpu = instant(&server, "count(node_cpu_seconds_total{job=\"node\"}) > 0");
    assert_eq!(cpu.len(), 1, "node_cpu_seconds_total scraped");
    let samples = instant(&server, "scrape_samples_scraped{job=\"node\"}");
    let n: f64 = samples[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(n > 100.0, "node_exporter exposes hundreds of samples, got {n}");
    // The dead target is down, with an error on the targets page.
    wait_for("up{job=\"dead\"} == 0", || {
        instant(&server, "up{job=\"dead\"} == 0").len() == 1
    });
    let (s, targets) = get_json(&server.url("/api/v1/targets"));
    assert_eq!(s, 200);
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 2, "{targets}");
    let node = active.iter().find(|t| t["scrapePool"] == "node").unwrap();
    assert_eq!(node["health"], "up");
    let dead_t = active.iter().find(|t| t["scrapePool"] == "dead").unwrap();
    assert_eq!(dead_t["health"], "down");
    assert!(!dead_t["lastError"].as_str().unwrap().is_empty());
    // Metadata from the scrape is served.
    let (_, md) = get_json(&server.url("/api/v1/metadata?metric=node_cpu_seconds_total"));
    assert_eq!(md["data"]["node_cpu_seconds_total"][0]["type"], "counter", "{md}");
}

/// Labels of the series matching `selector` (through `/api/v1/series`).
fn series_of(server: &TestServer, selector: &str) -> Vec<serde_json::Value> {
    let (s, v) = get_json(&server.url(&format!("/api/v1/series?match[]={}", enc(selector))));
    assert_eq!(s, 200, "{v}");
    v["data"].as_array().cloned().unwrap_or_default()
}

/// A real target scraped in the protobuf format (Debian's Prometheus serves its own
/// `/metrics` in it when asked): the same series as the text scrape of the same target, the
/// same metadata; and `convert_classic_histograms_to_nhcb` storing its classic histograms
/// as native ones under the family name.
#[test]
fn scrapes_prometheus_in_protobuf_like_in_text() {
    let target = crate::reference::start_prometheus();
    let addr = target.base.trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n\
             \x20 - job_name: proto\n    scrape_protocols: [PrometheusProto]\n    static_configs: [{{targets: ['{addr}']}}]\n\
             \x20 - job_name: text\n    scrape_protocols: [PrometheusText0.0.4]\n    static_configs: [{{targets: ['{addr}']}}]\n\
             \x20 - job_name: nhcb\n    convert_classic_histograms_to_nhcb: true\n    static_configs: [{{targets: ['{addr}']}}]\n"
        ),
    )
    .unwrap();
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    for job in ["proto", "text", "nhcb"] {
        wait_for(&format!("up{{job=\"{job}\"}} == 1"), || {
            instant(&server, &format!("up{{job=\"{job}\"}} == 1")).len() == 1
        });
    }
    // Prometheus records a /metrics request after answering it: wait for the second scrape.
    wait_for("the /metrics request histogram in both scrapes", || {
        ["proto", "text"].iter().all(|job| {
            !series_of(
                &server,
                &format!(
                    "prometheus_http_request_duration_seconds_count{{job=\"{job}\",handler=\"/metrics\"}}"
                ),
            )
            .is_empty()
        })
    });
    // The same families by both formats: counters, gauges, summaries, classic histograms.
    let names = |job: &str| -> std::collections::BTreeSet<String> {
        series_of(&server, &format!("{{job=\"{job}\"}}"))
            .iter()
            .filter_map(|s| s["__name__"].as_str().map(str::to_string))
            .filter(|n| !n.starts_with("scrape_") && n != "up")
            .collect()
    };
    let (proto, text) = (names("proto"), names("text"));
    assert!(proto.len() > 100, "{proto:?}");
    let missing: Vec<_> = text.difference(&proto).collect();
    assert!(missing.is_empty(), "in the text scrape only: {missing:?}");
    for s in [
        "go_gc_duration_seconds{job=\"proto\",quantile=\"0.5\"}",
        "prometheus_http_request_duration_seconds_bucket{job=\"proto\",handler=\"/metrics\",le=\"+Inf\"}",
        "prometheus_http_request_duration_seconds_count{job=\"proto\",handler=\"/metrics\"}",
    ] {
        assert_eq!(series_of(&server, s).len(), 1, "{s}");
    }
    // Label values are the same strings (le formatting included).
    let les = |job: &str| -> std::collections::BTreeSet<String> {
        series_of(
            &server,
            &format!("prometheus_http_request_duration_seconds_bucket{{job=\"{job}\",handler=\"/metrics\"}}"),
        )
        .iter()
        .map(|s| s["le"].as_str().unwrap_or_default().to_string())
        .collect()
    };
    assert_eq!(les("proto"), les("text"));
    let (_, md) = get_json(&server.url("/api/v1/metadata?metric=prometheus_http_request_duration_seconds"));
    assert_eq!(
        md["data"]["prometheus_http_request_duration_seconds"][0]["type"], "histogram",
        "{md}"
    );
    // Converted: one native series per classic histogram, no _bucket series left.
    wait_for("a converted histogram", || {
        !series_of(
            &server,
            "prometheus_http_request_duration_seconds{job=\"nhcb\",handler=\"/metrics\"}",
        )
        .is_empty()
    });
    assert!(series_of(&server, "{job=\"nhcb\",__name__=~\".+_bucket\"}").is_empty());
    assert!(!series_of(&server, "go_goroutines{job=\"nhcb\"}").is_empty());
}
