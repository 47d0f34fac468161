//! Every expression of the Sextant dashboard (`dashboards/grafana/sextant.json`, generated from
//! the UI's definition) evaluates without error against Sextant's own metrics, scraped by the
//! embedded default configuration; the core panels have data.

use crate::support::*;
use std::time::{Duration, Instant};

fn expand(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "1h")
        .replace("$job", ".+")
        .replace("$instance", ".+")
}

fn query(server: &TestServer, expr: &str) -> serde_json::Value {
    let (s, v) = get_json(&server.url(&format!("/api/v1/query?query={}", enc(expr))));
    assert_eq!(s, 200, "{expr}: {v}");
    assert_eq!(v["status"], "success", "{expr}: {v}");
    v
}

#[test]
fn every_sextant_dashboard_expression_evaluates_on_self_metrics() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dashboards/grafana/sextant.json");
    let dash: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vars: Vec<&str> = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["datasource", "job", "instance"]);
    let mut exprs: Vec<(String, String)> = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            exprs.push((
                p["title"].as_str().unwrap().to_string(),
                t["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert!(exprs.len() > 30, "{}", exprs.len());

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).embedded_config().start();
    // Two self-scrapes (15 s apart), so rates have two points.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = query(
            &server,
            "count_over_time(sextant_build_info{job=\"sextant\"}[5m])",
        );
        if v["data"]["result"][0]["value"][1]
            .as_str()
            .is_some_and(|n| n.parse::<f64>().unwrap() >= 2.0)
        {
            break;
        }
        assert!(Instant::now() < deadline, "no two self-scrapes in 60 s: {v}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let must_have_data = [
        "Up",
        "Version",
        "Head series",
        "Samples appended per second",
        "Samples appended per protocol",
        "Requests by handler",
        "Query stages p90 (queue, parse, evaluation, sort)",
        "WAL fsync duration",
        "Resident memory",
        "CPU (cores)",
    ];
    for (title, expr) in &exprs {
        let v = query(&server, &expand(expr));
        if must_have_data.contains(&title.as_str()) {
            let r = &v["data"]["result"];
            assert!(
                r.as_array().is_some_and(|a| !a.is_empty()),
                "panel {title}: {expr} has no data: {v}"
            );
        }
    }
}
