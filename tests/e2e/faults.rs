//! SIGTERM in the middle of remote-write load loses nothing acknowledged; a snapshot taken
//! under load restores into a new data directory (the original deleted) with all its data.

use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Acked = Arc<Mutex<BTreeMap<String, BTreeSet<i64>>>>;

/// Sends requests of 10 series (`load{w, s}`) with increasing timestamps until `stop`,
/// recording what was answered 204.
fn load(base: String, w: usize, acked: Acked, stop: Arc<AtomicBool>) {
    let mut t = now_ms() - 3_600_000;
    while !stop.load(Ordering::Relaxed) {
        let ts: Vec<i64> = (0..5).map(|i| t + i * 1000).collect();
        t += 5000;
        let mut req = prompb::WriteRequest::default();
        for s in 0..10 {
            let samples: Vec<(i64, f64)> = ts.iter().map(|&t| (t, s as f64)).collect();
            req.timeseries.push(series(
                "load",
                &[("w", &w.to_string()), ("s", &s.to_string())],
                &samples,
            ));
        }
        use prost::Message;
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap();
        let r = http_request(
            "POST",
            &format!("{base}/api/v1/write"),
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "snappy"),
                ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ],
            &body,
        );
        match r {
            Ok((204, _, _)) => {
                let mut a = acked.lock().unwrap();
                for s in 0..10 {
                    a.entry(format!("{w}/{s}"))
                        .or_default()
                        .extend(ts.iter().copied());
                }
            }
            // Refused or cut off by the shutdown: not acknowledged.
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn stored(server: &TestServer, from: i64) -> BTreeMap<String, BTreeSet<i64>> {
    let end = now_ms() + 60_000;
    let url = server.url(&format!(
        "/api/v1/query?query={}&time={}",
        enc(&format!("load[{}ms]", end - from)),
        end as f64 / 1000.0
    ));
    let (status, v) = get_json(&url);
    assert_eq!(status, 200, "{v}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let key = format!(
                "{}/{}",
                s["metric"]["w"].as_str().unwrap(),
                s["metric"]["s"].as_str().unwrap()
            );
            let ts = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap() * 1000.0).round() as i64)
                .collect();
            (key, ts)
        })
        .collect()
}

fn assert_all_there(
    want: &BTreeMap<String, BTreeSet<i64>>,
    got: &BTreeMap<String, BTreeSet<i64>>,
    what: &str,
) {
    let total: usize = want.values().map(BTreeSet::len).sum();
    assert!(total > 0, "{what}: no load got through");
    for (k, ts) in want {
        let have = got.get(k).cloned().unwrap_or_default();
        let missing = ts.difference(&have).count();
        assert_eq!(
            missing, 0,
            "{what}: {missing} acknowledged samples of {k} missing"
        );
    }
}

fn start_load(
    server: &TestServer,
    writers: usize,
) -> (Acked, Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>) {
    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let threads = (0..writers)
        .map(|w| {
            let (b, a, s) = (server.base.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || load(b, w, a, s))
        })
        .collect();
    (acked, stop, threads)
}

#[test]
fn sigterm_under_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::builder(dir.path())
        .arg("--storage.tsdb.wal-fsync-interval=1m")
        .start();
    let from = now_ms() - 3_700_000;
    let (acked, stop, threads) = start_load(&server, 3);
    std::thread::sleep(Duration::from_millis(1500));
    // SIGTERM while requests are in flight; the writers keep going until it is down.
    assert_eq!(server.terminate(), Some(0), "unclean exit on SIGTERM");
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let want = acked.lock().unwrap().clone();
    server.restart();
    assert_all_there(&want, &stored(&server, from), "after SIGTERM");
}

fn dir_has_blocks(p: &Path) -> bool {
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().any(|e| e.path().join("meta.json").is_file()))
        .unwrap_or(false)
}

#[test]
fn snapshot_under_load_restores_into_a_new_directory() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let server = TestServer::builder(&data)
        .arg("--web.enable-admin-api")
        .arg("--storage.tsdb.min-block-duration=2m")
        .start();
    let from = now_ms() - 3_700_000;
    let (acked, stop, threads) = start_load(&server, 2);
    // Let blocks be cut (an hour of data at 2 m blocks), then snapshot while writes go on.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !dir_has_blocks(&data) {
        assert!(std::time::Instant::now() < deadline, "no block was cut");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    // Everything acknowledged before the snapshot request must be in the snapshot.
    let before = acked.lock().unwrap().clone();
    let (status, _, body) =
        http_request("POST", &server.url("/api/v1/admin/tsdb/snapshot"), &[], b"").unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let name = v["data"]["name"].as_str().unwrap();
    drop(server);

    // Restore: move the snapshot out, delete the original data directory entirely, and start
    // a new server on the snapshot.
    let restored = root.path().join("restored");
    std::fs::rename(data.join("snapshots").join(name), &restored).unwrap();
    std::fs::remove_dir_all(&data).unwrap();
    assert!(dir_has_blocks(&restored), "the snapshot has no blocks");
    let server = TestServer::builder(&restored).start();
    assert_all_there(&before, &stored(&server, from), "restored snapshot");
    // The restored server takes new writes.
    let req = prompb::WriteRequest {
        timeseries: vec![series("after_restore", &[], &[(now_ms(), 1.0)])],
        ..Default::default()
    };
    let (status, body) = remote_write(&server, &req);
    assert_eq!(status, 204, "{body}");
    drop(server);
    crate::crash_loop::check_blocks(&restored);
}
