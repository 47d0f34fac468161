//! Damaged files in a real data directory: a torn WAL tail, a flipped byte in a WAL segment,
//! in a block's index and in a block's chunks, a missing `meta.json`. Each time start-up
//! names the damaged file in its log, serves every sample that is not in the damaged part,
//! leaves the damaged files in place, and never panics.

use crate::support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Samples per (k label) -> timestamps.
type Data = BTreeMap<String, Vec<i64>>;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == "lock") {
            continue;
        }
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn block_dirs(data: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    v.sort();
    v
}

fn block_range(dir: &Path) -> (i64, i64) {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    (v["min_time"].as_i64().unwrap(), v["max_time"].as_i64().unwrap())
}

fn wal_segments(data: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data.join("wal"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    v.sort();
    v
}

fn flip(file: &Path, at: usize) {
    let mut b = std::fs::read(file).unwrap();
    assert!(at < b.len(), "{} has {} bytes", file.display(), b.len());
    b[at] ^= 0x5A;
    std::fs::write(file, b).unwrap();
}

/// Every raw sample of `corr`, per `k`.
fn read_all(server: &TestServer, from: i64, to: i64) -> Data {
    let url = server.url(&format!(
        "/api/v1/query?query={}&time={}",
        enc(&format!("corr[{}ms]", to - from + 1)),
        to as f64 / 1000.0
    ));
    let (status, v) = get_json(&url);
    assert_eq!(status, 200, "{v}");
    let mut out = Data::new();
    for s in v["data"]["result"].as_array().unwrap() {
        let k = s["metric"]["k"].as_str().unwrap().to_string();
        let ts = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap() * 1000.0).round() as i64)
            .collect();
        out.insert(k, ts);
    }
    out
}

/// Builds a data directory with several 10-minute blocks and a head: 3 series every 15 s over
/// the hour before `end`, in 6 requests, then one last request with `k="last"`.
fn build_pristine(data: &Path, end: i64) -> Data {
    let mut server = TestServer::builder(data)
        .arg("--storage.tsdb.min-block-duration=10m")
        .start();
    let start = end - 3_600_000;
    let mut want = Data::new();
    for part in 0..6 {
        let mut req = prompb::WriteRequest::default();
        for k in 0..3 {
            let samples: Vec<(i64, f64)> = (0..40)
                .map(|i| {
                    let t = start + (part * 40 + i) * 15_000;
                    (t, (k * 1000 + part * 40 + i) as f64)
                })
                .collect();
            want.entry(k.to_string())
                .or_default()
                .extend(samples.iter().map(|s| s.0));
            req.timeseries
                .push(series("corr", &[("k", &k.to_string())], &samples));
        }
        let (status, body) = remote_write(&server, &req);
        assert_eq!(status, 204, "{body}");
    }
    // Wait for the head cut (woken by the appends).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while block_dirs(data).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no blocks were cut");
        std::thread::sleep(Duration::from_millis(50));
        // Another append wakes maintenance if the first wake-up raced.
        let req = prompb::WriteRequest {
            timeseries: vec![series("wake", &[], &[(now_ms(), 1.0)])],
            ..Default::default()
        };
        remote_write(&server, &req);
    }
    // Let the cuts and compactions of this round finish.
    std::thread::sleep(Duration::from_secs(2));
    let req = prompb::WriteRequest {
        timeseries: vec![series("corr", &[("k", "last")], &[(end, 7.0)])],
        ..Default::default()
    };
    let (status, body) = remote_write(&server, &req);
    assert_eq!(status, 204, "{body}");
    want.insert("last".into(), vec![end]);
    assert_eq!(server.terminate(), Some(0));
    want
}

fn log_mentions(server: &TestServer, needle: &str) -> bool {
    server.log.lock().unwrap().iter().any(|l| l.contains(needle))
}

fn assert_no_panic(server: &TestServer) {
    let log = server.log.lock().unwrap();
    assert!(!log.iter().any(|l| l.contains("panicked")), "{log:#?}");
}

/// Waits (a little) for a log line containing `needle`.
fn wait_log(server: &TestServer, needle: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if log_mentions(server, needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `want` without the samples in `[lo, hi]`.
fn without_range(want: &Data, lo: i64, hi: i64) -> Data {
    want.iter()
        .map(|(k, ts)| {
            (
                k.clone(),
                ts.iter()
                    .copied()
                    .filter(|t| *t < lo || *t > hi)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, ts)| !ts.is_empty())
        .collect()
}

/// Everything in `at_least` is in `got`, and `got` holds nothing that was not written. (The
/// range of a skipped block may still come back from the WAL when it has not been
/// checkpointed yet.)
fn assert_between(got: &Data, at_least: &Data, written: &Data) {
    for (k, ts) in at_least {
        let have = got.get(k).cloned().unwrap_or_default();
        let missing: Vec<&i64> = ts.iter().filter(|t| !have.contains(t)).collect();
        assert!(missing.is_empty(), "{k}: {} valid samples missing", missing.len());
    }
    for (k, ts) in got {
        let w = written.get(k).cloned().unwrap_or_default();
        assert!(
            ts.iter().all(|t| w.contains(t)),
            "{k}: samples that were never written"
        );
    }
}

#[test]
fn damaged_files_are_named_and_valid_data_is_kept() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    let end = now_ms() / 1000 * 1000 - 60_000;
    let want = build_pristine(&pristine, end);
    let (from, to) = (end - 3_700_000, end + 1);
    let blocks = block_dirs(&pristine);
    assert!(blocks.len() >= 2, "{blocks:?}");
    let segs = wal_segments(&pristine);
    let last_seg = segs
        .iter()
        .rev()
        .find(|p| std::fs::metadata(p).unwrap().len() > 8)
        .unwrap()
        .clone();
    let last_seg_name = last_seg.file_name().unwrap().to_owned();

    // A copy of the pristine directory serves everything.
    {
        let d = root.path().join("copy");
        copy_dir(&pristine, &d);
        let s = TestServer::builder(&d).start();
        assert_eq!(read_all(&s, from, to), want);
    }

    // 1. Torn WAL tail: the last record (k="last") is cut in half.
    {
        let d = root.path().join("torn");
        copy_dir(&pristine, &d);
        let seg = d.join("wal").join(&last_seg_name);
        let len = std::fs::metadata(&seg).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        let s = TestServer::builder(&d).start();
        assert!(
            wait_log(&s, &seg.display().to_string()),
            "torn tail not named: {:#?}",
            s.log.lock().unwrap()
        );
        let mut expect = want.clone();
        expect.remove("last");
        assert_eq!(read_all(&s, from, to), expect);
        assert_no_panic(&s);
    }

    // 2. A flipped byte inside a samples record in the middle of the last WAL segment: the
    //    log names the segment; only that record is lost (at most one request: 3 x 40
    //    samples); everything after it, `k="last"` included, and every block stay.
    {
        let d = root.path().join("walflip");
        copy_dir(&pristine, &d);
        let seg = d.join("wal").join(&last_seg_name);
        let buf = std::fs::read(&seg).unwrap();
        // Frames (storage/docs/format/wal.md): len u32 LE, crc u32 LE, type u8, payload.
        let mut frames = Vec::new();
        let mut off = 8;
        while off + 9 <= buf.len() {
            let len = u32::from_le_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
            frames.push((off, buf[off + 8], len));
            off += 9 + len;
        }
        let &(at, _, len) = frames[..frames.len().saturating_sub(3)]
            .iter()
            .rev()
            // The low seven bits are the type; the high bit marks a snappy-compressed payload.
            .find(|f| f.1 & 0x7f == 2 && f.2 > 100)
            .expect("a large samples record in the middle of the segment");
        flip(&seg, at + 9 + len / 2);
        let s = TestServer::builder(&d).start();
        assert!(
            wait_log(&s, &seg.display().to_string()),
            "WAL damage not named: {:#?}",
            s.log.lock().unwrap()
        );
        let got = read_all(&s, from, to);
        assert_eq!(
            got.get("last"),
            want.get("last"),
            "records after the damage were lost"
        );
        let mut missing = 0;
        for (k, ts) in &want {
            let have = got.get(k).cloned().unwrap_or_default();
            assert!(have.iter().all(|t| ts.contains(t)), "unexpected samples in {k}");
            missing += ts.len() - have.len();
        }
        assert!(missing <= 120, "{missing} samples lost for one damaged record");
        for b in &blocks {
            let (lo, hi) = block_range(b);
            for (k, ts) in &want {
                let in_block: Vec<i64> = ts.iter().copied().filter(|t| *t >= lo && *t < hi).collect();
                let have: Vec<i64> = got[k].iter().copied().filter(|t| *t >= lo && *t < hi).collect();
                assert_eq!(have, in_block, "block data of {k} lost");
            }
        }
        assert_no_panic(&s);
    }

    // 3. A flipped byte in the oldest block's index: that block is skipped (and kept on disk),
    //    everything else is served.
    {
        let d = root.path().join("indexflip");
        copy_dir(&pristine, &d);
        let b = d.join(blocks[0].file_name().unwrap());
        let (lo, hi) = block_range(&b);
        let index = b.join("index");
        let len = std::fs::metadata(&index).unwrap().len() as usize;
        flip(&index, len / 2);
        let s = TestServer::builder(&d).start();
        assert!(
            wait_log(&s, &index.display().to_string()),
            "index damage not named: {:#?}",
            s.log.lock().unwrap()
        );
        assert_between(&read_all(&s, from, to), &without_range(&want, lo, hi - 1), &want);
        assert!(index.is_file(), "the damaged block must be left in place");
        assert_no_panic(&s);
    }

    // 4. A flipped byte in the oldest block's chunks: named at start-up; the series whose
    //    column is damaged fails with an error naming the file; every other block serves.
    {
        let d = root.path().join("chunkflip");
        copy_dir(&pristine, &d);
        let b = d.join(blocks[0].file_name().unwrap());
        let (lo, hi) = block_range(&b);
        let chunk = b.join("chunks").join("000001");
        let len = std::fs::metadata(&chunk).unwrap().len() as usize;
        flip(&chunk, len - 2);
        let s = TestServer::builder(&d).start();
        assert!(
            wait_log(&s, &chunk.display().to_string()),
            "chunk damage not named: {:#?}",
            s.log.lock().unwrap()
        );
        // From the damaged block's end on, everything is there (the block may hold a sample
        // at exactly its exclusive end, which a read from `hi` must still return).
        let after = read_all(&s, hi, to);
        assert_eq!(after, without_range(&want, i64::MIN, hi - 1));
        // Inside it, a query either answers with intact data or fails naming the file.
        let url = s.url(&format!(
            "/api/v1/query?query={}&time={}",
            enc(&format!("corr[{}ms]", hi - lo)),
            (hi - 1) as f64 / 1000.0
        ));
        let (status, v) = get_json(&url);
        if status != 200 {
            assert!(v["error"].as_str().unwrap().contains("000001"), "{v}");
        }
        assert_no_panic(&s);
    }

    // 5. A missing meta.json: the block is named and skipped, the rest is served.
    {
        let d = root.path().join("nometa");
        copy_dir(&pristine, &d);
        let b = d.join(blocks[1].file_name().unwrap());
        let (lo, hi) = block_range(&b);
        std::fs::remove_file(b.join("meta.json")).unwrap();
        let s = TestServer::builder(&d).start();
        assert!(
            wait_log(&s, &b.display().to_string()),
            "missing meta.json not named: {:#?}",
            s.log.lock().unwrap()
        );
        assert_between(&read_all(&s, from, to), &without_range(&want, lo, hi - 1), &want);
        assert!(
            b.join("index").is_file(),
            "the block's files must be left in place"
        );
        assert_no_panic(&s);
    }
}
