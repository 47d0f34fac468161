//! Queries cannot take the server down: a query over every series with a long range is
//! refused by `--query.max-samples` with Prometheus' error; `--query.timeout` and a client
//! that goes away stop the evaluation itself (the server's CPU goes back to idle); heavy
//! queries past `--query.max-concurrency` wait in the queue instead of running.
//!
//! The heavy query is a range query over a day at 15 s steps of `quantile_over_time` over a
//! two-hour one-second subquery (5760 windows of 7200 values to sort; about a minute on a
//! debug build, no stored data needed). CPU is read from `/proc/<pid>/stat`; the bounds are
//! generous (an idle server uses a few percent of a core, a running query up to a whole one,
//! less when other tests share the machine).

use crate::support::*;
use std::io::Write;
use std::time::{Duration, Instant};

/// The path of the heavy range query (see the module doc).
fn heavy() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "/api/v1/query_range?query={}&start={}&end={now}&step=15",
        enc("quantile_over_time(0.5, vector((time() * 7919) % 1013)[2h:1s])"),
        now - 86_400
    )
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(server: &TestServer) -> f64 {
    let pid = server.pid().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// CPU the process uses over `d`, in cores.
fn cpu_load(server: &TestServer, d: Duration) -> f64 {
    let before = cpu_seconds(server);
    std::thread::sleep(d);
    (cpu_seconds(server) - before) / d.as_secs_f64()
}

/// Waits until no query is running or queued (`prometheus_engine_queries` 0).
fn wait_no_query(server: &TestServer, within: Duration) {
    let deadline = Instant::now() + within;
    while metric(server, "prometheus_engine_queries") > 0.0 {
        assert!(
            Instant::now() < deadline,
            "a query is still evaluating {within:?} later"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn max_samples_refuses_a_query_over_everything_with_prometheus_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path())
        .arg("--query.max-samples=5000")
        .start();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // 50 series x 240 samples (one hour at 15 s).
    let ts: Vec<prompb::TimeSeries> = (0..50)
        .map(|i| {
            let samples: Vec<(i64, f64)> = (0..240).map(|k| (now - (240 - k) * 15_000, k as f64)).collect();
            series(&format!("m{}", i % 5), &[("i", &i.to_string())], &samples)
        })
        .collect();
    let req = prompb::WriteRequest {
        timeseries: ts,
        ..Default::default()
    };
    assert_eq!(remote_write(&server, &req).0, 204);
    let end = now as f64 / 1000.0;
    for path in [
        format!(
            "/api/v1/query?query={}&time={end}",
            enc("count_over_time({__name__=~\".+\"}[1h])")
        ),
        format!(
            "/api/v1/query_range?query={}&start={}&end={end}&step=15",
            enc("sum(rate({__name__=~\".+\"}[5m]))"),
            end - 3600.0
        ),
    ] {
        let (s, v) = get_json(&server.url(&path));
        assert_eq!(s, 422, "{path}: {v}");
        assert_eq!(v["errorType"], "execution", "{v}");
        assert_eq!(
            v["error"], "query processing would load too many samples into memory in query execution",
            "{v}"
        );
    }
    // Within the limit the same data answers.
    let (s, v) = get_json(&server.url(&format!(
        "/api/v1/query?query={}&time={end}",
        enc("count(count_over_time({__name__=~\".+\"}[1m]))")
    )));
    assert_eq!(
        (s, &v["data"]["result"][0]["value"][1]),
        (200, &serde_json::json!("50")),
        "{v}"
    );
}

#[test]
fn timeout_stops_the_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).arg("--query.timeout=2s").start();
    let (s, v) = get_json(&server.url(&heavy()));
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["errorType"], "timeout", "{v}");
    assert_eq!(v["error"], "query timed out in expression evaluation", "{v}");
    wait_no_query(&server, Duration::from_secs(5));
    let load = cpu_load(&server, Duration::from_secs(2));
    assert!(
        load < 0.5,
        "after the timeout the server still uses {load:.2} cores"
    );
    assert!(metric(&server, "sextant_query_rejected_total{reason=\"timeout\"}") >= 1.0);
}

#[test]
fn a_client_that_goes_away_cancels_its_query() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(conn, "GET {} HTTP/1.1\r\nHost: {addr}\r\n\r\n", heavy()).unwrap();
    // The query is running (no limit would stop it for minutes) ...
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&server, "prometheus_engine_queries") < 1.0 {
        assert!(Instant::now() < deadline, "the query never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let busy = cpu_seconds(&server);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(metric(&server, "prometheus_engine_queries"), 1.0, "still running");
    assert!(cpu_seconds(&server) > busy, "the heavy query uses CPU");
    // ... until the client hangs up.
    conn.shutdown(std::net::Shutdown::Both).unwrap();
    drop(conn);
    wait_no_query(&server, Duration::from_secs(10));
    let load = cpu_load(&server, Duration::from_secs(2));
    assert!(
        load < 0.5,
        "after the client left the server still uses {load:.2} cores"
    );
    assert!(metric(&server, "sextant_query_rejected_total{reason=\"canceled\"}") >= 1.0);
}

#[test]
fn heavy_queries_past_max_concurrency_wait_in_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path())
        .arg("--query.max-concurrency=1")
        .arg("--query.timeout=3s")
        .start();
    let url = server.url(&heavy());
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || get_json(&url))
        })
        .collect();
    let answers: Vec<(u16, serde_json::Value)> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    // One evaluated until its timeout; the others waited for the slot and timed out there.
    let mut errors: Vec<String> = answers
        .iter()
        .map(|(s, v)| {
            assert_eq!(*s, 503, "{v}");
            v["error"].as_str().unwrap().to_string()
        })
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        [
            "query timed out in expression evaluation",
            "query timed out in query queue",
            "query timed out in query queue"
        ]
    );
    assert!(metric(&server, "sextant_query_queued_total") >= 2.0);
    assert_eq!(metric(&server, "prometheus_engine_queries_concurrent_max"), 1.0);
    wait_no_query(&server, Duration::from_secs(5));
}
