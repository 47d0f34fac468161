//! Tests of snapshots and deletion.

use super::*;
use crate::api::SelectHints;
use crate::model::{Labels, MatchOp, Matcher, Sample, SeriesRef};

const HOUR: i64 = 3600 * 1000;

fn opts(dir: &std::path::Path) -> DbOptions {
    let mut o = DbOptions::new(dir);
    o.wal_fsync_interval = Duration::ZERO;
    o.auto_maintenance = false;
    o.retention_ms = 0;
    o
}

fn lbl(name: &str, job: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", job)])
}

fn all(db: &Db) -> Vec<(Labels, Vec<Sample>)> {
    let m = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
    db.querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(
            &SelectHints {
                mint: i64::MIN,
                maxt: i64::MAX,
            },
            &m,
        )
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect()
}

/// Appends one sample per minute for `[from, to)` to series `up{job=a|b}` and `x{job=a}`.
fn fill(db: &Db, from: i64, to: i64) {
    let mut a = db.appender();
    let mut t = from;
    while t < to {
        for l in [lbl("up", "a"), lbl("up", "b"), lbl("x", "a")] {
            a.append(SeriesRef::NONE, &l, t, t as f64).unwrap();
        }
        t += 60_000;
    }
    a.commit().unwrap();
}

/// A db with two persisted blocks and data in the head.
fn db_with_blocks(dir: &std::path::Path) -> Db {
    let db = Db::open(opts(dir)).unwrap();
    fill(&db, 0, 7 * HOUR);
    db.run_maintenance();
    assert!(db.blocks().len() >= 2, "{:?}", db.blocks());
    db
}

fn open_copy(snapshot: &std::path::Path) -> (tempfile::TempDir, Db) {
    // Open the snapshot from another path, as an operator restoring it would.
    let other = tempfile::tempdir().unwrap();
    let dst = other.path().join("data");
    std::fs::rename(snapshot, &dst).unwrap();
    let db = Db::open(opts(&dst)).unwrap();
    (other, db)
}

#[test]
fn snapshot_with_head_has_everything_and_live_db_keeps_working() {
    let d = tempfile::tempdir().unwrap();
    let db = db_with_blocks(d.path());
    let before = all(&db);
    let info = db.snapshot_in_data_dir(true).unwrap();
    assert!(info.dir.starts_with(d.path().join("snapshots")));
    assert_eq!(info.blocks.len(), db.blocks().len());
    assert!(info.head_block.is_some());
    // The live database goes on: more appends, maintenance, reopen.
    fill(&db, 7 * HOUR, 8 * HOUR);
    db.run_maintenance();
    assert!(all(&db)[0].1.len() > before[0].1.len());
    let (_keep, snap) = open_copy(&info.dir);
    assert_eq!(all(&snap), before);
    let q = snap.querier(0, 10 * HOUR).unwrap();
    assert_eq!(q.label_values("job", &[]).unwrap(), vec!["a", "b"]);
    drop(db);
    let db = Db::open(opts(d.path())).unwrap();
    assert_eq!(all(&db)[0].1.len(), 8 * 60);
}

#[test]
fn snapshot_without_head_has_only_blocks() {
    let d = tempfile::tempdir().unwrap();
    let db = db_with_blocks(d.path());
    let info = db.snapshot(&d.path().join("snap"), false).unwrap();
    assert!(info.head_block.is_none());
    let block_end = db.blocks().iter().map(|b| b.max_time).max().unwrap();
    let expect: Vec<(Labels, Vec<Sample>)> = all(&db)
        .into_iter()
        .map(|(l, s)| (l, s.into_iter().filter(|s| s.t < block_end).collect()))
        .collect();
    let (_keep, snap) = open_copy(&info.dir);
    assert_eq!(all(&snap), expect);
    assert!(all(&snap)[0].1.len() < all(&db)[0].1.len());
}

#[test]
fn snapshot_of_an_empty_db_opens_empty() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    let info = db.snapshot_in_data_dir(true).unwrap();
    assert!(info.blocks.is_empty() && info.head_block.is_none());
    let (_keep, snap) = open_copy(&info.dir);
    assert!(all(&snap).is_empty());
    fill(&db, 0, HOUR);
    assert_eq!(all(&db).len(), 3);
}
