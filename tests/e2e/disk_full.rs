//! A full disk: the data directory is on a 16 MiB tmpfs (the test mounts one; it needs root,
//! and says loudly when it cannot). When the disk fills, remote write answers a retryable
//! 5xx that says the disk is full, what was stored stays intact and queryable, and ingest
//! resumes by itself once space returns; after a restart everything acknowledged is there and
//! start-up finds no damage.

use crate::support::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// `n` series x `per` samples of `full_test{batch=...}` starting at `t0`.
fn batch(name: &str, n: usize, per: usize, t0: i64) -> prompb::WriteRequest {
    let mut req = prompb::WriteRequest::default();
    for s in 0..n {
        let samples: Vec<(i64, f64)> = (0..per)
            .map(|i| (t0 + i as i64 * 1000, (s * 7 + i) as f64 * 0.37))
            .collect();
        req.timeseries.push(series(
            "full_test",
            &[("batch", name), ("s", &s.to_string()), ("pad", &"p".repeat(60))],
            &samples,
        ));
    }
    req
}

fn count(server: &TestServer, batch: &str, t0: i64) -> usize {
    let url = server.url(&format!(
        "/api/v1/query?query={}&time={}",
        enc(&format!("count_over_time(full_test{{batch=\"{batch}\"}}[1h])")),
        (t0 + 1_800_000) as f64 / 1000.0
    ));
    let (status, v) = get_json(&url);
    assert_eq!(status, 200, "{v}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"][1].as_str().unwrap().parse::<f64>().unwrap() as usize)
        .sum()
}

/// Fills the file system holding `dir` with one file until it is full.
fn fill(dir: &Path) -> PathBuf {
    let p = dir.join("filler");
    let mut f = std::fs::File::create(&p).unwrap();
    let chunk = vec![0xA5u8; 64 * 1024];
    loop {
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    // Top up the last partial page.
    while f.write_all(&[1]).is_ok() {}
    p
}

#[test]
fn full_disk_answers_5xx_keeps_data_and_recovers() {
    let root = tempfile::tempdir().unwrap();
    let mnt = root.path().join("mnt");
    let _fs = match Tmpfs::mount(&mnt, "16m") {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!(
                "\n!!!!!!!! SKIPPED full_disk_answers_5xx_keeps_data_and_recovers: cannot mount a tmpfs \
                 ({e}); this test needs root !!!!!!!!\n"
            );
            return;
        }
    };
    let data = mnt.join("data");
    let mut server = TestServer::builder(&data)
        .arg("--storage.tsdb.wal-segment-size=1MB")
        .arg("--storage.tsdb.retention.time=0")
        .start();
    let t0 = 1_700_000_000_000i64;

    // Batch "a" fits.
    let (status, body) = remote_write(&server, &batch("a", 200, 60, t0));
    assert_eq!(status, 204, "{body}");
    let stored_a = count(&server, "a", t0);
    assert_eq!(stored_a, 200 * 60);

    // Disk full: batches are refused with a retryable status and a message naming the cause.
    let filler = fill(&mnt);
    let mut refused = 0;
    let mut last_body = String::new();
    for i in 0..5 {
        let (status, body) = remote_write(&server, &batch(&format!("b{i}"), 200, 60, t0));
        if status == 204 {
            // Fitted into the segment's last page; the next one will not.
            continue;
        }
        assert!(
            (500..600).contains(&status),
            "a full disk must answer 5xx (retryable), got {status}: {body}"
        );
        assert!(
            body.to_ascii_lowercase().contains("no space left"),
            "the error must say the disk is full: {body}"
        );
        refused += 1;
        last_body = body;
    }
    assert!(refused >= 4, "writes kept succeeding on a full disk");
    eprintln!("full disk answer: {last_body}");
    // What was stored is intact and still served.
    assert_eq!(count(&server, "a", t0), stored_a);

    // Space returns: ingest resumes without a restart.
    std::fs::remove_file(&filler).unwrap();
    let (status, body) = remote_write(&server, &batch("c", 200, 60, t0));
    assert_eq!(status, 204, "ingest did not resume after space returned: {body}");
    assert_eq!(count(&server, "c", t0), 200 * 60);

    // After a restart everything acknowledged is there and nothing is reported damaged.
    assert_eq!(server.terminate(), Some(0));
    server.restart();
    assert_eq!(count(&server, "a", t0), stored_a);
    assert_eq!(count(&server, "c", t0), 200 * 60);
    let log = server.log.lock().unwrap().clone();
    for l in &log {
        assert!(
            !(l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("panicked")),
            "start-up after a full disk reported: {l}"
        );
    }
    drop(server);
    crate::crash_loop::check_blocks(&data);
}
