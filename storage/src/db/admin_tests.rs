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

fn matcher(name: &str, value: &str) -> Matcher {
    Matcher::equal(name, value)
}

fn job_values(db: &Db) -> Vec<String> {
    db.querier(i64::MIN, i64::MAX)
        .unwrap()
        .label_values("job", &[])
        .unwrap()
}

/// Samples of `up{job="a"}`, `up{job="b"}` and `x{job="a"}` after deleting
/// `up{job="a"}` in `[1h, 5h]` and all of `x`.
fn check_deleted(db: &Db) {
    let got = all(db);
    let names: Vec<String> = got.iter().map(|(l, _)| l.to_string()).collect();
    assert_eq!(
        names,
        vec![r#"up{job="a"}"#, r#"up{job="b"}"#],
        "x is gone entirely"
    );
    let a = &got[0].1;
    assert!(
        a.iter().all(|s| s.t < HOUR || s.t > 5 * HOUR),
        "deleted range comes back"
    );
    assert_eq!(a.len(), 7 * 60 - (4 * 60 + 1));
    assert_eq!(got[1].1.len(), 7 * 60, "other series untouched");
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    assert_eq!(
        q.label_values("__name__", &[]).unwrap(),
        vec!["up"],
        "x gone from label values"
    );
    assert!(q.series(&[matcher("__name__", "x")]).unwrap().is_empty());
    let q = db.querier(2 * HOUR, 4 * HOUR).unwrap();
    assert_eq!(
        q.series(&[matcher("job", "a")]).unwrap().len(),
        0,
        "nothing of job=a left in 2h..4h"
    );
}

fn delete_sample_set(db: &Db) {
    let st = db
        .delete_series(&[matcher("__name__", "up"), matcher("job", "a")], HOUR, 5 * HOUR)
        .unwrap();
    assert!(st.block_tombstones >= 2 && st.head_samples > 0, "{st:?}");
    db.delete_series(&[matcher("__name__", "x")], i64::MIN, i64::MAX)
        .unwrap();
}

#[test]
fn delete_series_hides_data_in_blocks_and_head_and_survives_restart() {
    let d = tempfile::tempdir().unwrap();
    let db = db_with_blocks(d.path());
    delete_sample_set(&db);
    check_deleted(&db);
    assert_eq!(job_values(&db), vec!["a", "b"]);
    drop(db);
    let db = Db::open(opts(d.path())).unwrap();
    check_deleted(&db);
    // Cutting and compacting the head afterwards keeps them deleted.
    fill(&db, 7 * HOUR, 12 * HOUR);
    db.run_maintenance();
    drop(db);
    let db = Db::open(opts(d.path())).unwrap();
    let got = all(&db);
    assert!(got[0].1.iter().all(|s| s.t < HOUR || s.t > 5 * HOUR));
    assert_eq!(got[0].1.len(), 12 * 60 - (4 * 60 + 1));
}

#[test]
fn samples_appended_after_a_head_deletion_survive_replay() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    fill(&db, 0, HOUR);
    db.delete_series(&[matcher("job", "b")], 0, 10 * HOUR).unwrap();
    fill(&db, HOUR, 2 * HOUR);
    let expect = all(&db);
    assert_eq!(expect[1].0, lbl("up", "b"));
    assert_eq!(expect[1].1.len(), 60);
    drop(db);
    let db = Db::open(opts(d.path())).unwrap();
    assert_eq!(all(&db), expect);
}

#[test]
fn clean_tombstones_rewrites_blocks_without_deleted_samples() {
    let d = tempfile::tempdir().unwrap();
    let db = db_with_blocks(d.path());
    delete_sample_set(&db);
    let before_ids: Vec<String> = db.blocks().into_iter().map(|b| b.id).collect();
    let samples_before: u64 = db.blocks().iter().map(|b| b.num_samples).sum();
    assert!(db.clean_tombstones().unwrap() >= 2);
    let after = db.blocks();
    assert!(
        after.iter().all(|b| !before_ids.contains(&b.id)),
        "blocks rewritten"
    );
    assert!(after.iter().map(|b| b.num_samples).sum::<u64>() < samples_before);
    for b in &after {
        assert!(!d.path().join(&b.id).join("tombstones").exists());
    }
    check_deleted(&db);
    assert_eq!(db.clean_tombstones().unwrap(), 0, "nothing left to clean");
    drop(db);
    let db = Db::open(opts(d.path())).unwrap();
    check_deleted(&db);
}

#[test]
fn snapshot_keeps_tombstones() {
    let d = tempfile::tempdir().unwrap();
    let db = db_with_blocks(d.path());
    delete_sample_set(&db);
    let info = db.snapshot_in_data_dir(true).unwrap();
    let (_keep, snap) = open_copy(&info.dir);
    check_deleted(&snap);
}

#[test]
fn a_damaged_tombstones_file_skips_its_block_by_name() {
    let d = tempfile::tempdir().unwrap();
    let db = db_with_blocks(d.path());
    delete_sample_set(&db);
    let id = db.blocks()[0].id.clone();
    drop(db);
    let p = d.path().join(&id).join("tombstones");
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len();
    b[n - 1] ^= 0xff;
    std::fs::write(&p, &b).unwrap();
    assert!(crate::block::Block::open(&d.path().join(&id))
        .unwrap_err()
        .to_string()
        .contains("tombstones"));
    let db = Db::open(opts(d.path())).unwrap();
    assert!(db.blocks().iter().all(|b| b.id != id));
    assert!(!all(&db).is_empty());
}
