//! OTLP delta temporality across restarts: a delta stream of a sum, an explicit-bucket
//! histogram and an exponential histogram, with a clean restart and a `kill -9` in the middle.
//! The cumulative totals must go on from what was acknowledged (no reset, nothing counted
//! twice), and a request resent after the kill must not be counted again.

use crate::support::*;

/// One OTLP/JSON export of the three delta series at `t_ns`, each adding the same amounts.
fn export(t_ns: u64) -> Vec<u8> {
    let t = t_ns.to_string();
    let start = (t_ns - 1_000_000_000).to_string();
    serde_json::json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "deltas"}}]},
        "scopeMetrics": [{"metrics": [
            {"name": "jobs", "sum": {"aggregationTemporality": 1, "isMonotonic": true,
                "dataPoints": [{"asInt": "3", "startTimeUnixNano": start, "timeUnixNano": t}]}},
            {"name": "wait", "histogram": {"aggregationTemporality": 1,
                "dataPoints": [{"count": "3", "sum": 6.0, "bucketCounts": ["1", "1", "1"],
                    "explicitBounds": [1.0, 5.0], "startTimeUnixNano": start, "timeUnixNano": t}]}},
            {"name": "size", "exponentialHistogram": {"aggregationTemporality": 1,
                "dataPoints": [{"count": "3", "sum": 7.0, "scale": 0, "zeroCount": "0",
                    "positive": {"offset": 0, "bucketCounts": ["1", "2"]},
                    "startTimeUnixNano": start, "timeUnixNano": t}]}}
        ]}]
    }]})
    .to_string()
    .into_bytes()
}

/// Sends one export; returns the rejected data points the answer reports.
fn send(server: &TestServer, t_ns: u64) -> i64 {
    let (s, _, b) = http_request(
        "POST",
        &server.url("/v1/metrics"),
        &[("Content-Type", "application/json")],
        &export(t_ns),
    )
    .unwrap();
    let body = String::from_utf8_lossy(&b).to_string();
    assert_eq!(s, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let rejected = &v["partialSuccess"]["rejectedDataPoints"];
    rejected
        .as_str()
        .map(|s| s.parse().unwrap())
        .or(rejected.as_i64())
        .unwrap_or(0)
}

/// The value of the instant query `q` at `t_s`, or NaN without a result.
fn value(server: &TestServer, q: &str, t_s: f64) -> f64 {
    let (s, v) = get_json(&server.url(&format!("/api/v1/query?query={}&time={t_s}", enc(q))));
    assert_eq!(s, 200, "{v}");
    v["data"]["result"][0]["value"][1]
        .as_str()
        .map_or(f64::NAN, |x| x.parse().unwrap())
}

#[test]
fn delta_totals_resume_after_restart_and_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::builder(dir.path()).start();
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let t0 = now_ns - 60_000_000_000;
    let t = |round: u64| t0 + round * 1_000_000_000;
    for round in 1..=2 {
        assert_eq!(send(&server, t(round)), 0);
    }
    assert_eq!(server.terminate(), Some(0));
    server.restart();
    for round in 3..=4 {
        assert_eq!(send(&server, t(round)), 0);
    }
    server.kill9();
    server.restart();
    // Round 4 resent (its answer was lost, as far as the sender knows): not counted again.
    assert_eq!(send(&server, t(4)), 3, "all three points refused as not newer");
    for round in 5..=6 {
        assert_eq!(send(&server, t(round)), 0);
    }
    let at = t(6) as f64 / 1e9;
    let checks = [
        ("jobs_total", 18.0),
        ("wait_count", 18.0),
        ("wait_sum", 36.0),
        ("wait_bucket{le=\"1\"}", 6.0),
        ("wait_bucket{le=\"5\"}", 12.0),
        ("wait_bucket{le=\"+Inf\"}", 18.0),
        ("histogram_count(size)", 18.0),
        ("histogram_sum(size)", 42.0),
        // OTLP scale 0, offset 0: bucket (1, 2] gets 1 per round, (2, 4] gets 2.
        ("histogram_fraction(1, 2, size) * histogram_count(size)", 6.0),
        ("histogram_fraction(2, 4, size) * histogram_count(size)", 12.0),
        // One value per round, never a reset: the increase over the stream is 5 rounds' worth.
        ("resets(jobs_total[5m])", 0.0),
        ("resets(wait_count[5m])", 0.0),
    ];
    let mut failures = Vec::new();
    for (q, want) in checks {
        let got = value(&server, q, at);
        if (got - want).abs() > 1e-9 {
            failures.push(format!("{q}: got {got}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
