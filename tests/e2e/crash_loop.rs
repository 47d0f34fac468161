//! `kill -9` at random points, and right when a block is being written (a head cut or a
//! compaction: a `<id>.tmp` directory exists) or a WAL segment was just started, while
//! remote-write load and queries run. Blocks are 2 s long and WAL segments 64 KiB so all of
//! these happen every few seconds. After every restart: every acknowledged sample is
//! queryable exactly once, the log reports no damage, and every block passes its checksums
//! (`sextant check`).

use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WRITERS: usize = 2;
const SERIES_PER_WRITER: usize = 8;
const KILLS: usize = 24;

/// Acknowledged samples: (writer, series) -> timestamps.
type Acked = Arc<Mutex<BTreeMap<(usize, usize), BTreeSet<i64>>>>;

/// One writer: requests of SERIES_PER_WRITER series x 3 samples, strictly increasing
/// timestamps near the wall clock, until `stop`. Errors (the server is down) are expected.
fn writer(base: Arc<Mutex<String>>, w: usize, acked: Acked, stop: Arc<AtomicBool>) {
    let mut last = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let t0 = now_ms().max(last + 1);
        let ts = [t0, t0 + 1, t0 + 2];
        last = t0 + 2;
        let mut req = prompb::WriteRequest::default();
        for s in 0..SERIES_PER_WRITER {
            let samples: Vec<(i64, f64)> = ts.iter().map(|&t| (t, (t % 100_000) as f64)).collect();
            req.timeseries.push(series(
                "crashloop",
                &[
                    ("w", &w.to_string()),
                    ("s", &s.to_string()),
                    ("pad", &"x".repeat(40)),
                ],
                &samples,
            ));
        }
        use prost::Message;
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap();
        let url = format!("{}/api/v1/write", base.lock().unwrap());
        let r = http_request(
            "POST",
            &url,
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
                for s in 0..SERIES_PER_WRITER {
                    a.entry((w, s)).or_default().extend(ts);
                }
            }
            Ok((400, _, b)) => {
                // Only "too old" (a sample that raced a head cut) may be refused; never silently.
                let msg = String::from_utf8_lossy(&b);
                assert!(msg.contains("out of bounds"), "unexpected 400: {msg}");
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Dashboard-ish queries hitting head and blocks; failures while the server is down are fine.
fn querier(base: Arc<Mutex<String>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let end = now_ms() as f64 / 1000.0;
        let b = base.lock().unwrap().clone();
        let _ = http_get(&format!(
            "{b}/api/v1/query_range?query={}&start={}&end={end}&step=1",
            enc("sum by (w) (rate(crashloop[5s]))"),
            end - 60.0
        ));
        let _ = http_get(&format!("{b}/api/v1/query?query={}", enc("count(crashloop)")));
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn block_tmp_dirs(data: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "tmp") && p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

fn wal_segments(data: &Path) -> usize {
    std::fs::read_dir(data.join("wal"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|c| c.is_ascii_digit())
                })
                .count()
        })
        .unwrap_or(0)
}

#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// A random moment.
    Random,
    /// While a block directory is being written (head cut or compaction).
    BlockWrite,
    /// Right after a new WAL segment appears.
    SegmentCut,
}

/// Waits for the moment `mode` describes (up to 15 s) and kills. Returns what was seen.
fn kill_at(server: &mut TestServer, data: &Path, mode: KillAt, rnd: &mut u64) -> &'static str {
    let deadline = Instant::now() + Duration::from_secs(15);
    let seen = match mode {
        KillAt::Random => {
            *rnd ^= *rnd << 13;
            *rnd ^= *rnd >> 7;
            *rnd ^= *rnd << 17;
            std::thread::sleep(Duration::from_millis(200 + *rnd % 1800));
            "random"
        }
        KillAt::BlockWrite => loop {
            if !block_tmp_dirs(data).is_empty() {
                break "block .tmp directory present";
            }
            if Instant::now() > deadline {
                break "timeout waiting for a block write";
            }
            std::thread::sleep(Duration::from_micros(200));
        },
        KillAt::SegmentCut => {
            let n = wal_segments(data);
            loop {
                if wal_segments(data) != n {
                    break "new WAL segment";
                }
                if Instant::now() > deadline {
                    break "timeout waiting for a segment cut";
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    };
    server.kill9();
    seen
}

/// All raw samples of `crashloop` per (w, s), via one instant matrix query.
fn stored(server: &TestServer, from_ms: i64, newest_ms: i64) -> BTreeMap<(usize, usize), Vec<i64>> {
    let end = now_ms().max(newest_ms) + 1000;
    let range_ms = end - from_ms + 1000;
    let url = server.url(&format!(
        "/api/v1/query?query={}&time={}",
        enc(&format!("crashloop[{range_ms}ms]")),
        end as f64 / 1000.0
    ));
    let (status, v) = get_json(&url);
    assert_eq!(status, 200, "{v}");
    let mut out = BTreeMap::new();
    for s in v["data"]["result"].as_array().unwrap() {
        let w: usize = s["metric"]["w"].as_str().unwrap().parse().unwrap();
        let k: usize = s["metric"]["s"].as_str().unwrap().parse().unwrap();
        let ts: Vec<i64> = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap() * 1000.0).round() as i64)
            .collect();
        out.insert((w, k), ts);
    }
    out
}

fn check_log_clean(log: &[String], round: usize) {
    for l in log {
        // Leftovers of an interrupted block write or delete are expected after a kill.
        let expected =
            l.contains("left by an interrupted write or delete") || l.contains("leftover temporary WAL file");
        let bad = l.contains(" ERROR ") || l.contains(" WARN ") || l.contains("panicked");
        assert!(
            expected || !bad,
            "round {round}: start-up reported a problem: {l}\nfull log: {log:#?}"
        );
    }
}

/// `sextant check <dir>`: every block's checksums; exit 0 when all are intact.
pub(crate) fn check_blocks(data: &Path) -> String {
    let out = std::process::Command::new(bin())
        .arg("check")
        .arg(data)
        .output()
        .expect("run sextant check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "sextant check failed: {text}");
    text
}

#[test]
fn kill_9_loop_under_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let mut server = TestServer::builder(&data)
        .arg("--storage.tsdb.min-block-duration=2s")
        .arg("--storage.tsdb.wal-segment-size=64KB")
        .arg("--storage.tsdb.wal-fsync-interval=10s")
        .start();
    let started_ms = now_ms();
    let base = Arc::new(Mutex::new(server.base.clone()));
    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for w in 0..WRITERS {
        let (b, a, s) = (base.clone(), acked.clone(), stop.clone());
        threads.push(std::thread::spawn(move || writer(b, w, a, s)));
    }
    {
        let (b, s) = (base.clone(), stop.clone());
        threads.push(std::thread::spawn(move || querier(b, s)));
    }
    let mut rnd = 0x9E37_79B9_7F4A_7C15u64;
    let mut seen = BTreeMap::<&str, usize>::new();
    let (mut tmp_left, mut compactions, mut cuts) = (0, 0, 0);
    for round in 0..KILLS {
        let mode = match round % 3 {
            0 => KillAt::Random,
            1 => KillAt::BlockWrite,
            _ => KillAt::SegmentCut,
        };
        // Let the load run a little after each restart.
        std::thread::sleep(Duration::from_millis(300));
        let what = kill_at(&mut server, &data, mode, &mut rnd);
        *seen.entry(what).or_default() += 1;
        if !block_tmp_dirs(&data).is_empty() {
            tmp_left += 1;
        }
        {
            let log = server.log.lock().unwrap();
            compactions += log.iter().filter(|l| l.contains("blocks compacted")).count();
            cuts += log.iter().filter(|l| l.contains("head cut into a block")).count();
        }
        // Freeze what counts as acknowledged: the writers' in-flight requests fail now.
        let snapshot = acked.lock().unwrap().clone();
        server.restart();
        *base.lock().unwrap() = server.base.clone();
        check_log_clean(&server.log.lock().unwrap(), round);
        // Writers stamp consecutive milliseconds, so a fast writer runs ahead of the wall clock.
        let newest = snapshot
            .values()
            .filter_map(|t| t.last().copied())
            .max()
            .unwrap_or(0);
        let got = stored(&server, started_ms, newest);
        for ((w, s), want) in &snapshot {
            let have = got.get(&(*w, *s)).cloned().unwrap_or_default();
            let have_set: BTreeSet<i64> = have.iter().copied().collect();
            assert_eq!(
                have.len(),
                have_set.len(),
                "round {round}: duplicate samples in w={w} s={s}"
            );
            let missing: Vec<&i64> = want.difference(&have_set).collect();
            assert!(
                missing.is_empty(),
                "round {round} ({mode:?}, {what}): {} acknowledged samples of w={w} s={s} missing, first {:?}",
                missing.len(),
                &missing[..missing.len().min(5)]
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let total: usize = acked.lock().unwrap().values().map(BTreeSet::len).sum();
    eprintln!(
        "kill -9 loop: {KILLS} kills {seen:?}; {tmp_left} left a block .tmp behind; \
         {cuts} head cuts and {compactions} compactions logged; {total} samples acknowledged"
    );
    assert!(total > 1000, "too little load got through: {total}");
    assert!(cuts > 0 && compactions > 0, "no block cut or compaction happened");
    assert!(
        seen.get("block .tmp directory present").copied().unwrap_or(0) > 0,
        "no kill landed during a block write: {seen:?}"
    );
    assert!(
        seen.get("new WAL segment").copied().unwrap_or(0) > 0,
        "no kill landed at a segment cut: {seen:?}"
    );
    server.terminate();
    check_blocks(&data);
}
