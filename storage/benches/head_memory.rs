#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Head memory and WAL size with dense series: every series holds thousands of samples
//! (1 s scrapes for 30 min by default), the shape where closed head chunks dominate memory.
//!
//! Prints, on one line per phase: resident set per series after creating them, resident set
//! and heap chunk bytes per sample after the samples, bytes of `chunks_head/` and of the WAL
//! per sample, append rate on one thread (WAL encoding and compression included), and the
//! WAL replay rate on reopen.
//!
//! Run (release build, the figures in docs/memory.md):
//! `cargo bench -p storage --bench head_memory` with, in the environment, `SERIES` (default 20000),
//! `SAMPLES` per series (default 1800), `HEAD_SPILL=on|off` (closed chunks to memory-mapped
//! files, default on), `WAL_COMPRESSION=on|off` (default on) and `BENCH_DIR` (a data
//! directory to use and keep instead of a temporary one). Run one setting per process:
//! the resident set of a second run in the same process would reuse the first one's freed memory.

use std::time::{Duration, Instant};
use storage::{Appendable, Db, DbOptions, Labels, SeriesRef};

const SCRAPE_MS: i64 = 1_000;

fn labels(i: usize) -> Labels {
    let metric = format!("node_metric_{}_total", i % 200);
    let instance = format!("host-{:05}.example.net:9100", i / 200);
    let cpu = (i % 8).to_string();
    Labels::from_pairs([
        ("__name__", metric.as_str()),
        ("job", "node"),
        ("instance", instance.as_str()),
        ("cpu", cpu.as_str()),
        ("mode", ["idle", "user", "system", "iowait"][i % 4]),
        ("env", "prod"),
    ])
}

/// Counters with a varying rate, gauges wandering, a few constants: roughly node_exporter.
fn value(i: usize, step: i64) -> f64 {
    match i % 4 {
        0 => (step as f64) * 12.5 + ((step * 7 + i as i64) % 5) as f64 * 0.25,
        1 => ((step / 10) as f64).sin().mul_add(100.0, 500.0).round(),
        2 => (i % 17) as f64,
        _ => (step * (1 + (i % 13) as i64)) as f64,
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

/// A size line (`RssAnon:`, `RssFile:`) of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<u64>().ok()))
        })
        .unwrap_or(0)
        * 1024
}

fn env_on(name: &str) -> bool {
    std::env::var(name).map_or(true, |v| v != "off" && v != "0" && v != "false")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    })
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let n = env_usize("SERIES", 20_000);
    let samples = env_usize("SAMPLES", 1_800) as i64;
    let spill = env_on("HEAD_SPILL");
    let compress = env_on("WAL_COMPRESSION");
    // `BENCH_DIR=<new dir>` keeps the data directory (to compare the WAL with other codecs).
    let dir = tempfile::tempdir().expect("tempdir");
    let path = std::env::var_os("BENCH_DIR").map_or_else(|| dir.path().to_path_buf(), Into::into);
    let mut o = DbOptions::new(&path);
    o.auto_maintenance = false;
    o.block_range_ms = i64::MAX / 4;
    o.retention_ms = 0;
    o.head_chunks_on_disk = spill;
    o.wal_compression = compress;
    let all: Vec<Labels> = (0..n).map(labels).collect();
    let before = rss_bytes();
    let db = Db::open(o.clone()).expect("open");
    let mut refs = vec![SeriesRef::NONE; n];
    let scrape = |db: &Db, refs: &mut [SeriesRef], step: i64| {
        let mut a = db.appender();
        for (i, l) in all.iter().enumerate() {
            refs[i] = a
                .append(refs[i], l, step * SCRAPE_MS, value(i, step))
                .expect("append");
        }
        a.commit().expect("commit");
    };
    scrape(&db, &mut refs, 0);
    let created = rss_bytes();
    let started = Instant::now();
    for step in 1..samples {
        scrape(&db, &mut refs, step);
    }
    let secs = started.elapsed().as_secs_f64();
    // Let the background spill pass (every 5 s) take the last chunks cut.
    if spill {
        std::thread::sleep(Duration::from_secs(6));
    }
    let full = rss_bytes();
    let st = db.stats();
    let total = st.head_samples as f64;
    let wal = dir_bytes(&path.join("wal"));
    eprintln!(
        "head_memory/{n}_series_x_{samples} spill={spill} wal_compression={compress}: \
         {:.0} B RSS/series after 1 sample; {:.2} B RSS/sample after {samples} samples ({:.0} B/series); \
         heap chunk data {:.2} B/sample; chunks_head {:.2} B/sample; WAL {:.2} B/sample; \
         WAL + chunks_head {:.2} B/sample; appended {:.2} M samples/s on one thread; \
         RssAnon {:.1} MiB, RssFile {:.1} MiB",
        created.saturating_sub(before) as f64 / n as f64,
        full.saturating_sub(created) as f64 / total,
        full.saturating_sub(before) as f64 / n as f64,
        db.head_sample_bytes() as f64 / total,
        st.head_chunks_disk_bytes as f64 / total,
        wal as f64 / total,
        (wal + st.head_chunks_disk_bytes) as f64 / total,
        total / secs / 1e6,
        status_bytes("RssAnon:") as f64 / 1048576.0,
        status_bytes("RssFile:") as f64 / 1048576.0,
    );
    drop(db);
    let started = Instant::now();
    let db = Db::open(o).expect("reopen");
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "replay/{n}_series_x_{samples} spill={spill} wal_compression={compress}: reopened in {secs:.2} s, \
         {:.2} M samples/s from {} WAL bytes",
        db.stats().head_samples as f64 / secs / 1e6,
        wal,
    );
}
