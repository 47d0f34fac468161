//! The admin API over HTTP: a snapshot opens as a data directory of its own; deleted series
//! stay deleted across a restart.

#![allow(clippy::unwrap_used)]

use crate::support::{enc, http_request, now_ms, prompb, query_range, remote_write, series, TestServer};

/// `snap_test{job="a"|"b"}`, one sample every 15 s for the 10 minutes before `end`.
fn write_data(s: &TestServer, end: i64) {
    let points =
        |k: f64| -> Vec<(i64, f64)> { (0..40).map(|i| (end - (40 - i) * 15_000, k + i as f64)).collect() };
    let req = prompb::WriteRequest {
        timeseries: vec![
            series("snap_test", &[("job", "a")], &points(0.0)),
            series("snap_test", &[("job", "b")], &points(1000.0)),
        ],
        ..Default::default()
    };
    let (status, body) = remote_write(s, &req);
    assert_eq!(status, 204, "{body}");
}

fn post(s: &TestServer, path: &str) -> (u16, String) {
    let (st, _, b) = http_request("POST", &s.url(path), &[], b"").expect("POST");
    (st, String::from_utf8_lossy(&b).to_string())
}

fn jobs(result: &[(serde_json::Value, Vec<(i64, f64)>)]) -> Vec<String> {
    result
        .iter()
        .map(|(m, _)| m["job"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn snapshot_serves_as_a_data_directory_and_deletions_persist() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut a = TestServer::builder(&data).arg("--web.enable-admin-api").start();
    let end = now_ms() / 1000 * 1000;
    write_data(&a, end);
    let (start_s, end_s) = ((end - 600_000) as f64 / 1000.0, end as f64 / 1000.0);
    let before = query_range(&a, "snap_test", start_s, end_s, 15.0);
    assert_eq!(jobs(&before), vec!["a", "b"]);

    let (status, body) = post(&a, "/api/v1/admin/tsdb/snapshot");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let name = v["data"]["name"].as_str().expect("snapshot name").to_string();
    let snap_dir = data.join("snapshots").join(&name);
    assert!(snap_dir.is_dir(), "{}", snap_dir.display());

    // A second server on the snapshot directory sees the same data.
    let b = TestServer::builder(&snap_dir).start();
    assert_eq!(query_range(&b, "snap_test", start_s, end_s, 15.0), before);
    drop(b);

    // Delete job="a"; job="b" stays, before and after a restart.
    let (status, body) = post(
        &a,
        &format!(
            "/api/v1/admin/tsdb/delete_series?match[]={}",
            enc(r#"snap_test{job="a"}"#)
        ),
    );
    assert_eq!(status, 204, "{body}");
    let after = query_range(&a, "snap_test", start_s, end_s, 15.0);
    assert_eq!(jobs(&after), vec!["b"]);
    assert_eq!(after[0], before[1]);
    a.terminate();
    a.restart();
    assert_eq!(query_range(&a, "snap_test", start_s, end_s, 15.0), after);
    let (status, body) = post(&a, "/api/v1/admin/tsdb/clean_tombstones");
    assert_eq!(status, 204, "{body}");
    assert_eq!(query_range(&a, "snap_test", start_s, end_s, 15.0), after);
}

#[test]
fn admin_api_is_off_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::builder(dir.path()).start();
    let (status, body) = post(&s, "/api/v1/admin/tsdb/snapshot");
    assert_eq!(status, 503, "{body}");
    assert!(!dir.path().join("snapshots").exists());
}
