//! Retention by size end to end: with `--storage.tsdb.retention.size` and two-second blocks,
//! the oldest blocks are deleted first as data arrives, the WAL is never deleted to make room,
//! and the newest data stays queryable. (A full disk is `tests/e2e/disk_full.rs`.)

use crate::support::*;
use std::time::{Duration, Instant};

/// Samples stored in the 400 ms up to `t_ms` (one round), over all series.
fn count_at(server: &TestServer, t_ms: i64) -> f64 {
    let (s, v) = get_json(&server.url(&format!(
        "/api/v1/query?query={}&time={}",
        enc("sum(count_over_time(ret_test[400ms]))"),
        t_ms as f64 / 1000.0
    )));
    assert_eq!(s, 200, "{v}");
    v["data"]["result"][0]["value"][1]
        .as_str()
        .map_or(0.0, |x| x.parse().unwrap())
}

#[test]
fn size_retention_deletes_the_oldest_blocks_and_keeps_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let limit: u64 = 150 << 10;
    let server = TestServer::builder(dir.path())
        .arg("--storage.tsdb.min-block-duration=2s")
        .arg("--storage.tsdb.wal-segment-size=64KB")
        .arg("--storage.tsdb.retention.size=150KB")
        // Uncompressed WAL records keep the sizes this test is dimensioned for (the limit must
        // be reached by blocks plus WAL); compression is covered by the storage tests.
        .arg("--storage.tsdb.wal-compression=false")
        .start();
    // 60 rounds, 500 ms apart in sample time, 400 series each: 30 s of data, 15 blocks.
    let t0 = 1_700_000_000_000i64;
    let series_per_round = 400;
    let pad = "p".repeat(40);
    for round in 0..60i64 {
        let t = t0 + round * 500;
        let req = prompb::WriteRequest {
            timeseries: (0..series_per_round)
                .map(|s| {
                    series(
                        "ret_test",
                        &[("s", &s.to_string()), ("pad", &pad)],
                        &[(t, (round * 1000 + s) as f64)],
                    )
                })
                .collect(),
            ..Default::default()
        };
        let (s, b) = remote_write(&server, &req);
        assert_eq!(s, 204, "round {round}: {b}");
    }
    // Maintenance runs when the head spans 1.5 block ranges; wait for it to settle.
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&server, "sextant_tsdb_retention_deleted_blocks_total") < 1.0 {
        assert!(
            Instant::now() < deadline,
            "no block deleted by size retention: {:?}",
            server.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A retention pass that ran while the rounds were still arriving saw a WAL the next cut
    // shortens; once maintenance has caught up (at the latest its next 60 s round), blocks
    // and WAL fit the limit together.
    let deadline = Instant::now() + Duration::from_secs(90);
    let (blocks, wal) = loop {
        let blocks = metric(&server, "prometheus_tsdb_storage_blocks_bytes");
        let wal = metric(&server, "prometheus_tsdb_wal_storage_size_bytes");
        if blocks + wal <= limit as f64 {
            break (blocks, wal);
        }
        assert!(
            Instant::now() < deadline,
            "blocks {blocks} B + WAL {wal} B over the {limit} B limit"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // The WAL was not deleted to make room: its segments are all there from the start of the
    // head, and the newest data (in the head) answers in full.
    assert!(wal > 0.0);
    assert_eq!(count_at(&server, t0 + 59 * 500), series_per_round as f64);
    // The oldest round went with its block.
    assert_eq!(count_at(&server, t0), 0.0, "the oldest block was deleted first");
    // Deleted oldest first: the blocks go in ascending time order.
    let log = server.log.lock().unwrap().join("\n");
    let deleted: Vec<i64> = log
        .lines()
        .filter(|l| l.contains("block deleted by retention"))
        .filter_map(|l| {
            l.split("min_time=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(!deleted.is_empty(), "{log}");
    assert!(deleted.windows(2).all(|w| w[0] <= w[1]), "{deleted:?}");
    assert!(!log.contains("ERROR"), "{log}");
    println!(
        "size retention: {} blocks deleted (min_time {deleted:?}), {blocks} B of blocks and {wal} B of WAL kept under {limit} B",
        deleted.len()
    );
}
