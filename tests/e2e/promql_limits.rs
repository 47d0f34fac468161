//! Query limits against the reference: both servers started with the same small
//! `--query.max-samples` or `--query.timeout`, loaded with the same data; queries over the
//! limit must fail with Prometheus' status code, `errorType` and message.

use crate::reference::{dataset, post_write, start_prometheus_with};
use crate::support::*;

/// Starts both with `flags`, loads 20 minutes of the differential data set, and returns
/// them with the last data timestamp (s).
fn pair(flags: &[&str]) -> (crate::reference::Reference, TestServer, tempfile::TempDir, i64) {
    let reference = start_prometheus_with(flags);
    let dir = tempfile::tempdir().unwrap();
    let mut b = TestServer::builder(dir.path());
    for f in flags {
        b = b.arg(*f);
    }
    let sextant = b.start();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let base_ms = (now_ms - 30 * 60 * 1000) / 60_000 * 60_000;
    let steps = 80;
    for req in dataset(base_ms, steps) {
        post_write(&reference.base, &req);
        post_write(&sextant.base, &req);
    }
    (reference, sextant, dir, (base_ms + (steps - 1) * 15_000) / 1000)
}

/// Sends `path` to both; status, `errorType` and `error` must be equal and an error.
fn same_error(reference: &str, sextant: &TestServer, path: &str, failures: &mut Vec<String>) {
    let (s1, want) = get_json(&format!("{reference}{path}"));
    let (s2, got) = get_json(&sextant.url(path));
    if s1 == 200 {
        failures.push(format!("{path}: reference did not fail: {want}"));
    } else if s1 != s2 || want["errorType"] != got["errorType"] || want["error"] != got["error"] {
        failures.push(format!("{path}: sextant {s2} {got}, reference {s1} {want}"));
    }
}

#[test]
fn too_many_samples_fail_like_reference() {
    let (reference, sextant, _dir, end_s) = pair(&["--query.max-samples=100"]);
    let mut failures = Vec::new();
    for q in ["up[1h]", "node_cpu_seconds_total", "max_over_time(up[10m:15s])"] {
        let path = format!("/api/v1/query?query={}&time={end_s}", enc(q));
        if q == "node_cpu_seconds_total" {
            // 12 series fit as an instant query; as a range query 12 x 21 points do not.
            let (s1, _) = get_json(&format!("{}{path}", reference.base));
            let (s2, _) = get_json(&sextant.url(&path));
            assert_eq!((s1, s2), (200, 200), "{q} fits the limit as an instant query");
        } else {
            same_error(&reference.base, &sextant, &path, &mut failures);
        }
        let range = format!(
            "/api/v1/query_range?query={}&start={}&end={end_s}&step=60",
            enc(q),
            end_s - 1200
        );
        if q != "up[1h]" {
            same_error(&reference.base, &sextant, &range, &mut failures);
        }
    }
    // Under the limit, both answer.
    let ok = format!("/api/v1/query?query={}&time={end_s}", enc("sum(up)"));
    assert_eq!(get_json(&sextant.url(&ok)).0, 200);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn timeouts_fail_like_reference() {
    let (reference, sextant, _dir, end_s) = pair(&["--query.timeout=50ms"]);
    let mut failures = Vec::new();
    // A subquery with a 1 ms step: millions of steps, far beyond 50 ms in either engine.
    for q in [
        "sum(count_over_time(node_cpu_seconds_total[20m:1ms]))",
        "max_over_time(sum(node_cpu_seconds_total)[20m:1ms])",
    ] {
        let path = format!("/api/v1/query?query={}&time={end_s}", enc(q));
        same_error(&reference.base, &sextant, &path, &mut failures);
    }
    let ok = format!("/api/v1/query?query={}&time={end_s}", enc("sum(up)"));
    assert_eq!(get_json(&sextant.url(&ok)).0, 200);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
