//! `kill -9` durability: a child process appends batches and reports each acknowledged
//! commit; the parent kills it with SIGKILL mid-stream, reopens the data directory and
//! checks that every acknowledged sample is there.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use storage::{Appendable, Db, DbOptions, Labels, Matcher, Queryable, SelectHints, SeriesRef};

const DIR_ENV: &str = "SEXTANT_STORAGE_CRASH_DIR";
const SERIES: usize = 20;

fn opts(dir: &std::path::Path) -> DbOptions {
    let mut o = DbOptions::new(dir);
    o.wal_fsync_interval = Duration::from_secs(60); // durability from write(), not fsync
    o.wal_segment_size = 16 * 1024;
    o
}

fn labels(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "crash_test"), ("i", &i.to_string())])
}

/// The child: appends forever, printing `ack <t>` after each commit. A no-op unless the
/// parent test started this binary with the environment variable set.
#[test]
fn child_writer() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let db = Db::open(opts(std::path::Path::new(&dir))).unwrap();
    let mut refs = [SeriesRef::NONE; SERIES];
    for t in 0.. {
        let mut a = db.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            *r = a.append(*r, &labels(i), t * 1000, t as f64).unwrap();
        }
        a.commit().unwrap();
        println!("ack {t}");
    }
}

#[test]
fn acknowledged_samples_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash::child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut acked = -1i64;
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(t) = line.strip_prefix("ack ") {
            acked = t.trim().parse().unwrap();
            if acked >= 300 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(acked >= 300, "child stopped early at {acked}");
    let db = Db::open(opts(dir.path())).unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let got = q
        .select(
            &SelectHints {
                mint: i64::MIN,
                maxt: i64::MAX,
            },
            &[Matcher::equal("__name__", "crash_test")],
        )
        .unwrap();
    assert_eq!(got.len(), SERIES);
    for s in got {
        assert!(
            s.samples.len() as i64 > acked,
            "{}: {} samples, {acked} acked",
            s.labels,
            s.samples.len()
        );
        for (k, x) in s.samples.iter().enumerate() {
            assert_eq!(x.t, k as i64 * 1000, "no gap in {}", s.labels);
        }
    }
}

const HIST_DIR_ENV: &str = "SEXTANT_STORAGE_HIST_CRASH_DIR";

fn hist(t: i64) -> storage::FloatHistogram {
    let c = t as f64;
    storage::FloatHistogram {
        schema: 3,
        count: 3.0 * c,
        sum: c / 2.0,
        positive_spans: vec![storage::BucketSpan::new(-1, 3)],
        positive_buckets: vec![c, c, c],
        ..Default::default()
    }
}

/// The child for histograms: like [`child_writer`], with native histogram samples.
#[test]
fn child_histogram_writer() {
    let Some(dir) = std::env::var_os(HIST_DIR_ENV) else {
        return;
    };
    let db = Db::open(opts(std::path::Path::new(&dir))).unwrap();
    let mut refs = [SeriesRef::NONE; SERIES];
    for t in 0.. {
        let mut a = db.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            *r = a.append_histogram(*r, &labels(i), t * 1000, &hist(t)).unwrap();
        }
        a.commit().unwrap();
        println!("ack {t}");
    }
}

#[test]
fn acknowledged_histograms_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash::child_histogram_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HIST_DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut acked = -1i64;
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(t) = line.strip_prefix("ack ") {
            acked = t.trim().parse().unwrap();
            if acked >= 300 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(acked >= 300, "child stopped early at {acked}");
    let db = Db::open(opts(dir.path())).unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let got = q
        .select(
            &SelectHints {
                mint: i64::MIN,
                maxt: i64::MAX,
            },
            &[Matcher::equal("__name__", "crash_test")],
        )
        .unwrap();
    assert_eq!(got.len(), SERIES);
    for s in got {
        assert!(s.samples.is_empty());
        assert!(
            s.histograms.len() as i64 > acked,
            "{}: {} histograms, {acked} acked",
            s.labels,
            s.histograms.len()
        );
        for (k, x) in s.histograms.iter().enumerate() {
            assert_eq!(x.t, k as i64 * 1000, "no gap in {}", s.labels);
            assert_eq!(x.h.count, hist(k as i64).count);
        }
    }
}
