//! Exemplars in and out: pushed by remote write, scraped from an OpenMetrics target, then read
//! back through `/api/v1/query_exemplars` in Prometheus' JSON shape.

use crate::support::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn exemplars(server: &TestServer, q: &str, range: &str) -> serde_json::Value {
    let (s, v) = get_json(&server.url(&format!("/api/v1/query_exemplars?query={}{range}", enc(q))));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "success");
    v["data"].clone()
}

fn with_exemplars(mut ts: prompb::TimeSeries, ex: &[(&str, f64, i64)]) -> prompb::TimeSeries {
    ts.exemplars = ex
        .iter()
        .map(|&(trace, value, timestamp)| prompb::Exemplar {
            labels: vec![prompb::Label::new("trace_id", trace)],
            value,
            timestamp,
        })
        .collect();
    ts
}

#[test]
fn remote_write_exemplars_are_queryable() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();
    let req = prompb::WriteRequest {
        timeseries: vec![
            with_exemplars(
                series(
                    "api_requests_total",
                    &[("job", "api"), ("code", "200")],
                    &[(1_000, 1.0), (2_000, 3.0)],
                ),
                &[("aaa", 1.0, 1_000), ("bbb", 2.0, 2_000)],
            ),
            with_exemplars(
                series(
                    "api_requests_total",
                    &[("job", "api"), ("code", "500")],
                    &[(2_000, 1.0)],
                ),
                &[("ccc", 1.0, 2_000)],
            ),
            with_exemplars(
                series("other_total", &[("job", "x")], &[(2_000, 1.0)]),
                &[("ddd", 1.0, 2_000)],
            ),
        ],
        ..Default::default()
    };
    let (s, b) = remote_write(&server, &req);
    assert_eq!(s, 204, "{b}");

    // Exactly Prometheus' documented shape, sorted by series labels.
    let data = exemplars(
        &server,
        "sum(rate(api_requests_total{job=\"api\"}[5m]))",
        "&start=0&end=10",
    );
    let want: serde_json::Value = serde_json::from_str(
        r#"[{"seriesLabels":{"__name__":"api_requests_total","code":"200","job":"api"},
             "exemplars":[{"labels":{"trace_id":"aaa"},"value":"1","timestamp":1},
                          {"labels":{"trace_id":"bbb"},"value":"2","timestamp":2}]},
            {"seriesLabels":{"__name__":"api_requests_total","code":"500","job":"api"},
             "exemplars":[{"labels":{"trace_id":"ccc"},"value":"1","timestamp":2}]}]"#,
    )
    .unwrap();
    assert_eq!(data, want);
    // start/end bound the exemplars' time; several selectors are OR-ed.
    let data = exemplars(
        &server,
        "api_requests_total{code=\"200\"} + other_total",
        "&start=1.5&end=2",
    );
    let n: Vec<usize> = data
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["exemplars"].as_array().unwrap().len())
        .collect();
    assert_eq!(n, vec![1, 1], "{data}");
    // POST with a form body works the same.
    let (s, _, b) = http_request(
        "POST",
        &server.url("/api/v1/query_exemplars"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("query={}", enc("other_total")).as_bytes(),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"][0]["exemplars"][0]["labels"]["trace_id"], "ddd");
    // Bad input as Prometheus answers it.
    let (s, v) = get_json(&server.url("/api/v1/query_exemplars?query=a&start=10&end=1"));
    assert_eq!((s, v["errorType"].as_str()), (400, Some("bad_data")), "{v}");
    let (s, v) = get_json(&server.url("/api/v1/query_exemplars?query=sum("));
    assert_eq!((s, v["errorType"].as_str()), (400, Some("bad_data")), "{v}");
}

#[test]
fn exemplar_limit_flag_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path())
        .arg("--storage.exemplars.exemplars-limit=2")
        .start();
    let req = prompb::WriteRequest {
        timeseries: vec![
            with_exemplars(series("a_total", &[], &[(1_000, 1.0)]), &[("1", 1.0, 1_000)]),
            with_exemplars(series("b_total", &[], &[(1_000, 1.0)]), &[("2", 1.0, 1_100)]),
            with_exemplars(series("c_total", &[], &[(1_000, 1.0)]), &[("3", 1.0, 1_200)]),
        ],
        ..Default::default()
    };
    assert_eq!(remote_write(&server, &req).0, 204);
    let data = exemplars(&server, "{__name__=~\".+_total\"}", "");
    let names: Vec<&str> = data
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seriesLabels"]["__name__"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b_total", "c_total"], "{data}");
}

/// Serves one OpenMetrics body to every request, until dropped.
struct OmTarget {
    addr: String,
}

fn serve_openmetrics(body: &'static str) -> OmTarget {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut s in l.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    OmTarget { addr }
}

#[test]
fn openmetrics_scrape_exemplars_are_stored() {
    let target = serve_openmetrics(
        "# TYPE rpc_duration_seconds histogram\n\
         rpc_duration_seconds_bucket{le=\"0.5\"} 3 # {trace_id=\"abc123\"} 0.3 1700000000.250\n\
         rpc_duration_seconds_bucket{le=\"+Inf\"} 4 # {trace_id=\"def456\",span_id=\"01\"} 2.5\n\
         rpc_duration_seconds_count 4\n\
         rpc_duration_seconds_sum 3.4\n\
         # TYPE jobs counter\n\
         jobs_total 7 # {trace_id=\"fff\"} 1 1700000001\n\
         # EOF\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: om\n    static_configs:\n      - targets: ['{}']\n",
            target.addr
        ),
    )
    .unwrap();
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    let deadline = Instant::now() + Duration::from_secs(30);
    let data = loop {
        let d = exemplars(&server, "{job=\"om\"}", "");
        if d.as_array().is_some_and(|a| a.len() == 3) {
            break d;
        }
        assert!(Instant::now() < deadline, "no exemplars scraped: {d}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let by_name = |name: &str, le: Option<&str>| {
        data.as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["seriesLabels"]["__name__"] == name && le.is_none_or(|le| s["seriesLabels"]["le"] == le)
            })
            .unwrap_or_else(|| panic!("{name} {le:?} in {data}"))
            .clone()
    };
    let b = by_name("rpc_duration_seconds_bucket", Some("0.5"));
    assert_eq!(b["seriesLabels"]["instance"], target.addr.as_str());
    assert_eq!(
        b["exemplars"][0]["labels"],
        serde_json::json!({"trace_id": "abc123"})
    );
    assert_eq!(b["exemplars"][0]["value"], "0.3");
    assert_eq!(b["exemplars"][0]["timestamp"], 1700000000.25);
    // Without a timestamp the exemplar gets the scrape's time; repeated scrapes of the same
    // exemplar do not pile up.
    let inf = by_name("rpc_duration_seconds_bucket", Some("+Inf"));
    assert_eq!(inf["exemplars"][0]["labels"]["span_id"], "01");
    let t = inf["exemplars"][0]["timestamp"].as_f64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - t).abs() < 60.0, "scrape time {now}, got {t}");
    let c = by_name("jobs_total", None);
    assert_eq!(c["exemplars"].as_array().unwrap().len(), 1);
    std::thread::sleep(Duration::from_millis(2500));
    let again = exemplars(&server, "jobs_total", "");
    assert_eq!(again[0]["exemplars"].as_array().unwrap().len(), 1, "{again}");
}

/// Every exemplar the server holds, as (series name, trace id, timestamp ms).
fn held(server: &TestServer) -> Vec<(String, String, i64)> {
    let data = exemplars(server, "{__name__=~\".+\"}", "&start=0&end=100000");
    let mut out = Vec::new();
    for s in data.as_array().unwrap() {
        let name = s["seriesLabels"]["__name__"].as_str().unwrap().to_string();
        for e in s["exemplars"].as_array().unwrap() {
            let t = (e["timestamp"].as_f64().unwrap() * 1000.0).round() as i64;
            out.push((
                name.clone(),
                e["labels"]["trace_id"].as_str().unwrap().to_string(),
                t,
            ));
        }
    }
    out
}

#[test]
fn exemplars_survive_restart_and_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::builder(dir.path()).start();
    let write = |server: &TestServer, round: i64| {
        let t = round * 1_000;
        let req = prompb::WriteRequest {
            timeseries: vec![
                with_exemplars(
                    series("rpc_total", &[("job", "a")], &[(t, round as f64)]),
                    &[(&format!("a{round}"), 1.0, t)],
                ),
                // An exemplar sent without a sample of its series in the request.
                with_exemplars(
                    series("rpc_errors_total", &[("job", "a")], &[]),
                    &[(&format!("e{round}"), 1.0, t + 1)],
                ),
            ],
            ..Default::default()
        };
        let (s, b) = remote_write(server, &req);
        assert_eq!(s, 204, "{b}");
    };
    write(&server, 1);
    write(&server, 2);
    let before = held(&server);
    assert_eq!(before.len(), 4, "{before:?}");

    // Clean restart (SIGTERM).
    assert_eq!(server.terminate(), Some(0));
    server.restart();
    assert_eq!(held(&server), before, "after a clean restart");

    // Acknowledged, then kill -9 right away: nothing acknowledged is lost.
    write(&server, 3);
    let before = held(&server);
    assert_eq!(before.len(), 6, "{before:?}");
    server.kill9();
    server.restart();
    assert_eq!(held(&server), before, "after kill -9");
    // The restored ring keeps Prometheus' rules: an older exemplar is refused, a newer stored.
    write(&server, 4);
    assert_eq!(held(&server).len(), 8);
}
