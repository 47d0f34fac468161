//! Exemplars across reopen, WAL checkpoints and a torn WAL tail.

use super::*;
use crate::model::{Exemplar, Labels, MatchOp, Matcher, SeriesRef};

fn opts(dir: &std::path::Path) -> DbOptions {
    let mut o = DbOptions::new(dir);
    o.wal_fsync_interval = Duration::ZERO;
    o
}

fn series(job: &str) -> Labels {
    Labels::from_pairs([("__name__", "rpc_total"), ("job", job)])
}

fn ex(trace: &str, t: i64) -> Exemplar {
    Exemplar {
        labels: Labels::from_pairs([("trace_id", trace)]),
        value: t as f64 / 10.0,
        t,
    }
}

/// Every exemplar held, as (job, trace id, t).
fn held(db: &Db) -> Vec<(String, String, i64)> {
    let all = [vec![Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()]];
    db.select_exemplars(i64::MIN, i64::MAX, &all)
        .unwrap()
        .into_iter()
        .flat_map(|s| {
            let job = s.series_labels.get("job").unwrap_or("").to_string();
            s.exemplars.into_iter().map(move |e| {
                (
                    job.clone(),
                    e.labels.get("trace_id").unwrap_or("").to_string(),
                    e.t,
                )
            })
        })
        .collect()
}

/// Appends one sample with an exemplar per job at `t`.
fn write(db: &Db, jobs: &[&str], t: i64) {
    let mut a = db.appender();
    for j in jobs {
        a.append(SeriesRef::NONE, &series(j), t, t as f64).unwrap();
        a.append_exemplar(SeriesRef::NONE, &series(j), ex(&format!("{j}-{t}"), t))
            .unwrap();
    }
    a.commit().unwrap();
}

#[test]
fn exemplars_survive_reopen_including_exemplar_only_commits() {
    let d = tempfile::tempdir().unwrap();
    let before = {
        let db = Db::open(opts(d.path())).unwrap();
        write(&db, &["a", "b"], 1000);
        write(&db, &["a"], 2000);
        // An exemplar without a sample in its batch, and a repeat of the newest (not logged).
        let mut a = db.appender();
        a.append_exemplar(SeriesRef::NONE, &series("b"), ex("b-late", 2500))
            .unwrap();
        a.append_exemplar(SeriesRef::NONE, &series("a"), ex("a-2000", 2000))
            .unwrap();
        a.commit().unwrap();
        let h = held(&db);
        assert_eq!(h.len(), 4, "{h:?}");
        h
    };
    let db = Db::open(opts(d.path())).unwrap();
    assert_eq!(held(&db), before);
    assert_eq!(
        db.exemplar_stats().exemplars_appended,
        0,
        "restored, not appended"
    );
    // The restored ring goes on with the append rules: an older one is refused.
    let mut a = db.appender();
    assert!(a
        .append_exemplar(SeriesRef::NONE, &series("a"), ex("x", 1500))
        .is_err());
}

#[test]
fn a_rolled_back_or_failed_batch_logs_no_exemplar() {
    let d = tempfile::tempdir().unwrap();
    {
        let db = Db::open(opts(d.path())).unwrap();
        let mut a = db.appender();
        a.append_exemplar(SeriesRef::NONE, &series("a"), ex("gone", 1))
            .unwrap();
        a.rollback();
        write(&db, &["a"], 10);
        db.inner().wal.inject_write_failure();
        let mut a = db.appender();
        a.append_exemplar(SeriesRef::NONE, &series("a"), ex("refused", 20))
            .unwrap();
        assert!(a.commit().is_err());
        assert_eq!(held(&db).len(), 1, "not acknowledged, not stored");
    }
    let db = Db::open(opts(d.path())).unwrap();
    assert_eq!(held(&db), vec![("a".into(), "a-10".into(), 10)]);
}

#[test]
fn exemplars_survive_checkpoints_and_keep_ring_order() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.block_range_ms = 1000;
    o.auto_maintenance = false;
    o.wal_segment_size = 4096;
    o.max_exemplars = 50;
    let before = {
        let db = Db::open(o.clone()).unwrap();
        for t in (0..10_000).step_by(100) {
            write(&db, &["a", "b", "c"], t);
        }
        let segments = db.stats().wal_segments;
        db.run_maintenance();
        assert!(db.stats().wal_segments < segments, "checkpointed");
        let h = held(&db);
        assert_eq!(h.len(), 50);
        h
    };
    // The exemplars of the dropped segments come back from the checkpoint.
    let db = Db::open(o.clone()).unwrap();
    assert_eq!(held(&db), before);
    // A second checkpoint after the reopen still keeps them, and the oldest is evicted first.
    for t in (10_000..12_000).step_by(100) {
        write(&db, &["a"], t);
    }
    db.run_maintenance();
    let after = held(&db);
    drop(db);
    let db = Db::open(o).unwrap();
    assert_eq!(held(&db), after);
    let oldest_b = after.iter().filter(|(j, _, _)| j == "b").map(|x| x.2).min();
    let oldest_before_b = before.iter().filter(|(j, _, _)| j == "b").map(|x| x.2).min();
    assert!(oldest_b > oldest_before_b, "older exemplars evicted first");
}

#[test]
fn a_torn_wal_tail_loses_only_the_unacknowledged_exemplar_record() {
    let d = tempfile::tempdir().unwrap();
    {
        let db = Db::open(opts(d.path())).unwrap();
        write(&db, &["a"], 1000);
        write(&db, &["a"], 2000);
    }
    // Cut the newest segment inside its last record (what a crash mid-write leaves).
    let wal = d.path().join("wal");
    let mut segs: Vec<_> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|p| std::fs::metadata(p).unwrap().len() > 8)
        .collect();
    segs.sort();
    let last = segs.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    assert_eq!(held(&db), vec![("a".into(), "a-1000".into(), 1000)]);
}
