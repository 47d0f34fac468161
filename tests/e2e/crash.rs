//! Acknowledged writes survive `kill -9` and a clean restart.

use crate::support::*;

fn write_batch(server: &TestServer, batch: i64, series_n: usize) {
    let mut req = prompb::WriteRequest::default();
    for s in 0..series_n {
        let inst = format!("node-{s}");
        let samples: Vec<(i64, f64)> = (0..10)
            .map(|i| {
                (
                    1_700_000_000_000 + (batch * 10 + i) * 15_000,
                    (batch * 10 + i) as f64,
                )
            })
            .collect();
        req.timeseries.push(series(
            "crash_test_total",
            &[("instance", &inst), ("job", "crash")],
            &samples,
        ));
    }
    let (status, body) = remote_write(server, &req);
    assert_eq!(status, 204, "remote write failed: {body}");
}

fn count_samples(server: &TestServer, batches: i64) -> usize {
    let start = 1_700_000_000.0;
    let end = start + (batches * 10 - 1) as f64 * 15.0;
    let res = query_range(server, "crash_test_total", start, end, 15.0);
    res.iter().map(|(_, v)| v.len()).sum()
}

#[test]
fn acknowledged_samples_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::builder(dir.path())
        .arg("--storage.tsdb.wal-fsync-interval=10s")
        .start();
    let series_n = 20;
    for round in 0..3 {
        for b in 0..5 {
            write_batch(&server, round * 5 + b, series_n);
        }
        server.kill9();
        server.restart();
        let batches = (round + 1) * 5;
        assert_eq!(
            count_samples(&server, batches),
            series_n * batches as usize * 10,
            "after kill -9 #{round}"
        );
    }
    assert_eq!(server.terminate(), Some(0));
    server.restart();
    assert_eq!(count_samples(&server, 15), series_n * 150);
}
