//! Database unit tests: semantics, reopen, poisoning, locking, concurrency.

use super::*;
use crate::api::SelectHints;
use crate::error::AppendError;
use crate::model::{Labels, MatchOp, Matcher, Sample, SeriesRef, STALE_NAN};

fn opts(dir: &std::path::Path) -> DbOptions {
    let mut o = DbOptions::new(dir);
    o.wal_fsync_interval = Duration::ZERO;
    o
}

fn lbl(name: &str, job: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", job)])
}

fn select(db: &Db, ms: &[Matcher], mint: i64, maxt: i64) -> Vec<(Labels, Vec<Sample>)> {
    db.querier(mint, maxt)
        .unwrap()
        .select(&SelectHints { mint, maxt }, ms)
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect()
}

fn all(db: &Db) -> Vec<(Labels, Vec<Sample>)> {
    select(
        db,
        &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
        i64::MIN,
        i64::MAX,
    )
}

#[test]
fn append_commit_select_and_reopen() {
    let d = tempfile::tempdir().unwrap();
    {
        let db = Db::open(opts(d.path())).unwrap();
        let mut a = db.appender();
        let r = a.append(SeriesRef::NONE, &lbl("up", "b"), 1000, 1.0).unwrap();
        assert_eq!(a.append(r, &lbl("up", "b"), 2000, 0.0).unwrap(), r);
        a.append(SeriesRef::NONE, &lbl("up", "a"), 1500, STALE_NAN)
            .unwrap();
        assert!(all(&db).is_empty(), "not visible before commit");
        a.commit().unwrap();
        let got = all(&db);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, lbl("up", "a"), "sorted by labels");
        assert_eq!(got[1].1, vec![Sample::new(1000, 1.0), Sample::new(2000, 0.0)]);
        let mut a = db.appender();
        a.append(SeriesRef::NONE, &lbl("up", "c"), 5, 5.0).unwrap();
        a.rollback();
        assert_eq!(all(&db).len(), 2);
        assert_eq!(db.stats().head_samples, 3);
    }
    let db = Db::open(opts(d.path())).unwrap();
    let got = all(&db);
    assert_eq!(got.len(), 2);
    assert!(
        got[0].1[0].v.to_bits() == STALE_NAN.to_bits(),
        "stale marker bit-exact"
    );
    assert_eq!(got[1].1.len(), 2);
    let q = db.querier(0, 10_000).unwrap();
    assert_eq!(q.label_values("job", &[]).unwrap(), vec!["a", "b"]);
    assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__", "job"]);
    assert_eq!(
        q.series(&[Matcher::equal("job", "a")]).unwrap(),
        vec![lbl("up", "a")]
    );
    let q = db.querier(1600, 10_000).unwrap();
    assert_eq!(
        q.label_values("job", &[]).unwrap(),
        vec!["b"],
        "a has no data in range"
    );
}

#[test]
fn duplicate_and_out_of_order_rules() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.out_of_order_window_ms = 1000;
    let db = Db::open(o).unwrap();
    let l = lbl("m", "x");
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &l, 10_000, 1.0).unwrap();
    // Within the batch: same value no-op, different value rejected.
    a.append(SeriesRef::NONE, &l, 10_000, 1.0).unwrap();
    assert!(matches!(
        a.append(SeriesRef::NONE, &l, 10_000, 2.0),
        Err(AppendError::DuplicateTimestamp { t: 10_000 })
    ));
    a.append(SeriesRef::NONE, &l, 9_500, 3.0).unwrap();
    assert!(matches!(
        a.append(SeriesRef::NONE, &l, 8_000, 3.0),
        Err(AppendError::OutOfOrder { .. })
    ));
    a.commit().unwrap();
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &l, 9_500, 3.0).unwrap();
    assert!(matches!(
        a.append(SeriesRef::NONE, &l, 9_500, 4.0),
        Err(AppendError::DuplicateTimestamp { .. })
    ));
    assert!(matches!(
        a.append(SeriesRef::NONE, &l, 10_000, 4.0),
        Err(AppendError::DuplicateTimestamp { .. })
    ));
    a.append(SeriesRef::NONE, &l, 9_200, 5.0).unwrap();
    a.append(SeriesRef::NONE, &l, 11_000, 6.0).unwrap();
    a.commit().unwrap();
    let want = vec![
        Sample::new(9_200, 5.0),
        Sample::new(9_500, 3.0),
        Sample::new(10_000, 1.0),
        Sample::new(11_000, 6.0),
    ];
    assert_eq!(all(&db)[0].1, want);
    assert_eq!(
        select(&db, &[Matcher::equal("job", "x")], 9_300, 10_500)[0].1,
        want[1..3].to_vec()
    );
    assert_eq!(db.stats().out_of_order_samples, 2);
    drop(db);
    let db = Db::open(opts(d.path())).unwrap();
    assert_eq!(
        all(&db)[0].1,
        want,
        "replay with a different window keeps what was accepted"
    );
}

#[test]
fn invalid_labels_are_rejected_and_batch_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    let mut a = db.appender();
    assert!(matches!(
        a.append(SeriesRef::NONE, &Labels::empty(), 1, 1.0),
        Err(AppendError::InvalidLabels { .. })
    ));
    assert!(matches!(
        a.append(SeriesRef::NONE, &Labels::from_pairs([("", "x")]), 1, 1.0),
        Err(AppendError::InvalidLabels { .. })
    ));
    // A stale cached reference with other labels is not trusted.
    a.append(SeriesRef(12345), &lbl("ok", "1"), 1, 1.0).unwrap();
    a.commit().unwrap();
    assert_eq!(all(&db).len(), 1);
}

#[test]
fn poisoned_after_write_failure() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &lbl("m", "x"), 1, 1.0).unwrap();
    a.commit().unwrap();
    db.inner().wal.inject_write_failure();
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &lbl("m", "x"), 2, 1.0).unwrap();
    assert!(matches!(a.commit(), Err(AppendError::Io(_))));
    assert_eq!(all(&db)[0].1.len(), 1, "failed commit is not visible");
    let mut a = db.appender();
    assert!(matches!(
        a.append(SeriesRef::NONE, &lbl("m", "x"), 3, 1.0),
        Err(AppendError::Poisoned)
    ));
    assert!(db.stats().wal_poisoned);
}

#[test]
fn data_dir_is_locked() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    assert!(matches!(Db::open(opts(d.path())), Err(DbError::Locked(_))));
    db.close().unwrap();
    drop(db);
    Db::open(opts(d.path())).unwrap();
}

#[test]
fn concurrent_appenders() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.wal_fsync_interval = Duration::from_millis(5);
    let db = Db::open(o).unwrap();
    let threads = 4;
    let per = 300;
    std::thread::scope(|s| {
        for th in 0..threads {
            let db = &db;
            s.spawn(move || {
                for i in 0..per {
                    let mut a = db.appender();
                    for k in 0..10 {
                        // Every thread writes its own series and a shared one (same value).
                        let own = Labels::from_pairs([
                            ("__name__", "own"),
                            ("t", &th.to_string()),
                            ("k", &k.to_string()),
                        ]);
                        a.append(SeriesRef::NONE, &own, i, i as f64).unwrap();
                    }
                    let shared = Labels::from_pairs([("__name__", "shared")]);
                    match a.append(SeriesRef::NONE, &shared, i, i as f64) {
                        Ok(_) | Err(AppendError::OutOfOrder { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                    a.commit().unwrap();
                    let q = db.querier(0, i).unwrap();
                    let got = q
                        .select(
                            &SelectHints { mint: 0, maxt: i },
                            &[Matcher::equal("t", th.to_string())],
                        )
                        .unwrap();
                    assert_eq!(got.len(), 10);
                    assert!(got.iter().all(|s| s.samples.len() == i as usize + 1));
                }
            });
        }
    });
    let got = all(&db);
    assert_eq!(got.len(), threads * 10 + 1);
    for s in &got[..got.len() - 1] {
        assert_eq!(s.1.len(), per as usize);
    }
    let st = db.stats();
    assert_eq!(st.head_series, threads * 10 + 1);
    drop(db);
    let db = Db::open(opts(d.path())).unwrap();
    assert_eq!(all(&db), got);
}

fn fill(db: &Db, series: usize, until: i64) {
    for t in (0..until).step_by(100) {
        let mut a = db.appender();
        for s in 0..series {
            a.append(
                SeriesRef::NONE,
                &lbl("m", &s.to_string()),
                t,
                (t as f64) * 0.5 + s as f64,
            )
            .unwrap();
        }
        if t < 500 {
            a.append(SeriesRef::NONE, &lbl("old", "gone"), t, 1.0).unwrap();
        }
        a.commit().unwrap();
    }
}

#[test]
fn head_is_cut_into_blocks_compacted_and_expired() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.block_range_ms = 1000;
    o.auto_maintenance = false;
    o.wal_segment_size = 4096;
    o.retention_ms = 0;
    let db = Db::open(o.clone()).unwrap();
    fill(&db, 20, 10_000);
    let before = all(&db);
    assert_eq!(before.len(), 21);
    let segments_before = db.stats().wal_segments;
    db.run_maintenance();
    let st = db.stats();
    assert_eq!(st.min_valid_time, 9000);
    assert!(
        st.blocks >= 1 && st.blocks < 9,
        "cut and compacted: {} blocks",
        st.blocks
    );
    assert!(
        st.wal_segments < segments_before,
        "WAL checkpointed: {segments_before} -> {}",
        st.wal_segments
    );
    assert!(
        st.head_samples <= 20 * 10 + 20 * 10,
        "head truncated: {}",
        st.head_samples
    );
    assert_eq!(all(&db), before, "blocks + head answer the same");
    assert_eq!(
        select(&db, &[Matcher::equal("job", "3")], 850, 9150)[0].1.len(),
        83
    );
    {
        let q = db.querier(0, 600).unwrap();
        assert!(q.label_values("job", &[]).unwrap().contains(&"gone".to_string()));
        assert_eq!(
            q.series(&[Matcher::equal("__name__", "old")]).unwrap(),
            vec![lbl("old", "gone")]
        );
    }
    let mut a = db.appender();
    assert!(matches!(
        a.append(SeriesRef::NONE, &lbl("m", "1"), 8999, 1.0),
        Err(AppendError::OutOfBounds {
            t: 8999,
            min_valid: 9000
        })
    ));
    drop(a);
    let blocks = db.blocks();
    drop(db);

    let db = Db::open(o.clone()).unwrap();
    assert_eq!(db.blocks(), blocks);
    assert_eq!(all(&db), before, "after reopen");
    drop(db);

    o.retention_ms = 1000;
    let db = Db::open(o.clone()).unwrap();
    db.run_maintenance();
    let after = all(&db);
    assert!(db.stats().blocks < blocks.len());
    assert!(after.iter().all(|(_, s)| s[0].t >= 1000), "old blocks dropped");
    assert!(after.iter().all(|(_, s)| s.last().unwrap().t == 9900));
    drop(db);

    o.retention_ms = 0;
    o.retention_bytes = 1;
    let db = Db::open(o).unwrap();
    db.run_maintenance();
    assert_eq!(db.stats().blocks, 0);
    assert!(
        all(&db).iter().all(|(_, s)| s[0].t >= 9000),
        "only the head is left"
    );
}

#[test]
fn metadata_is_kept_across_reopen_and_not_relogged() {
    use crate::model::{MetricMetadata, MetricType};
    let d = tempfile::tempdir().unwrap();
    let meta = MetricMetadata {
        metric_type: MetricType::Counter,
        help: "Requests.".into(),
        unit: "".into(),
    };
    {
        let db = Db::open(opts(d.path())).unwrap();
        let mut a = db.appender();
        a.update_metadata("http_requests_total", meta.clone()).unwrap();
        a.commit().unwrap();
        let wal = db.stats().wal_bytes;
        let mut a = db.appender();
        a.update_metadata("http_requests_total", meta.clone()).unwrap();
        a.commit().unwrap();
        assert_eq!(
            db.stats().wal_bytes,
            wal,
            "unchanged metadata is not logged again"
        );
    }
    let db = Db::open(opts(d.path())).unwrap();
    assert_eq!(db.metadata().get("http_requests_total"), Some(&vec![meta]));
}

#[test]
fn readers_never_miss_committed_samples_while_blocks_are_cut() {
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.block_range_ms = 200;
    o.retention_ms = 0;
    o.wal_segment_size = 4096;
    o.wal_fsync_interval = Duration::from_millis(10);
    let db = Db::open(o).unwrap();
    let last = AtomicI64::new(-1);
    let done = AtomicBool::new(false);
    let n = 8;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut refs = vec![SeriesRef::NONE; n];
            for i in 0..600i64 {
                let mut a = db.appender();
                for (k, r) in refs.iter_mut().enumerate() {
                    *r = a.append(*r, &lbl("m", &k.to_string()), i * 10, i as f64).unwrap();
                }
                a.commit().unwrap();
                last.store(i, Ordering::Release);
            }
            done.store(true, Ordering::Release);
        });
        s.spawn(|| {
            while !done.load(Ordering::Acquire) {
                let l = last.load(Ordering::Acquire);
                if l < 0 {
                    continue;
                }
                let got = select(&db, &[Matcher::equal("__name__", "m")], 0, l * 10);
                assert_eq!(got.len(), n);
                for (_, samples) in &got {
                    let ts: Vec<i64> = samples.iter().map(|s| s.t).collect();
                    let want: Vec<i64> = (0..=l).map(|i| i * 10).collect();
                    assert_eq!(ts, want, "a committed sample went missing");
                }
            }
        });
    });
    // The background thread cut blocks meanwhile (or does so now, woken by a new appender).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while db.stats().blocks == 0 && std::time::Instant::now() < deadline {
        drop(db.appender());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(db.stats().blocks > 0, "background maintenance cut blocks");
    let got = all(&db);
    assert!(got.iter().all(|(_, s)| s.len() == 600));
}

#[test]
fn a_sample_from_the_future_does_not_cut_recent_data() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.auto_maintenance = false;
    o.block_range_ms = 1000;
    let db = Db::open(o).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &lbl("m", "now"), now - 500, 1.0)
        .unwrap();
    a.append(SeriesRef::NONE, &lbl("m", "future"), now + 365 * 86_400_000, 1.0)
        .unwrap();
    a.commit().unwrap();
    db.run_maintenance();
    assert_eq!(db.stats().blocks, 0);
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &lbl("m", "now"), now, 2.0).unwrap();
    a.commit().unwrap();
}

#[test]
fn big_batches_replay_in_parallel_in_log_order() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.out_of_order_window_ms = 10_000;
    let before = {
        let db = Db::open(o.clone()).unwrap();
        // Each commit is one samples record of 3000 (> the parallel threshold); the third
        // batch is out of order, the fourth repeats a timestamp with the same value.
        for (t, v) in [(10_000, 1.0), (20_000, 2.0), (15_000, 1.5), (20_000, 2.0)] {
            let mut a = db.appender();
            for s in 0..3000 {
                a.append(SeriesRef::NONE, &lbl("big", &s.to_string()), t, v + s as f64)
                    .unwrap();
            }
            a.commit().unwrap();
        }
        all(&db)
    };
    assert_eq!(before.len(), 3000);
    assert!(before
        .iter()
        .all(|(_, s)| s.iter().map(|x| x.t).collect::<Vec<_>>() == [10_000, 15_000, 20_000]));
    let db = Db::open(o).unwrap();
    assert_eq!(all(&db), before);
    assert_eq!(db.stats().head_samples, 9000);
    assert_eq!(db.stats().out_of_order_samples, 3000);
}

#[test]
fn metrics_count_appends_refusals_fsyncs_and_compactions() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.block_range_ms = 1000;
    o.auto_maintenance = false;
    o.wal_segment_size = 4096;
    o.retention_ms = 0;
    let db = Db::open(o).unwrap();
    let m0 = db.metrics();
    assert_eq!(m0.head_samples_appended, 0);
    let mut a = db.appender();
    for s in 0..5 {
        a.append(SeriesRef::NONE, &lbl("x", &s.to_string()), 1000, 1.0)
            .unwrap();
    }
    a.commit().unwrap();
    let m = db.metrics();
    assert_eq!(m.head_samples_appended, 5);
    assert_eq!(m.head_series_created, 5);
    assert!(m.wal_fsync_seconds.count >= 1, "fsync per commit is timed");
    let mut a = db.appender();
    assert!(a.append(SeriesRef::NONE, &lbl("x", "0"), 500, 1.0).is_err());
    assert!(a.append(SeriesRef::NONE, &lbl("x", "1"), 1000, 2.0).is_err());
    a.rollback();
    let m = db.metrics();
    assert_eq!(m.out_of_order_rejected_samples, 1);
    assert_eq!(m.duplicate_samples, 1);
    fill(&db, 3, 10_000);
    db.run_maintenance();
    let m = db.metrics();
    assert!(m.head_cuts >= 1 && m.compactions >= m.head_cuts, "{m:?}");
    assert_eq!(m.compaction_seconds.count, m.compactions);
    assert!(m.head_truncations >= 1 && m.head_series_removed >= 1, "{m:?}");
    assert_eq!(m.compactions_failed, 0);
}

#[test]
fn wide_selects_decode_in_parallel_and_stay_sorted() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    let mut a = db.appender();
    // More series than the parallel threshold, appended in reverse label order.
    for i in (0..700).rev() {
        let l = lbl("wide", &format!("j{i:04}"));
        let mut r = SeriesRef::NONE;
        for t in 0..5 {
            r = a.append(r, &l, t * 1000, (i * 10 + t as usize) as f64).unwrap();
        }
    }
    a.commit().unwrap();
    let got = select(&db, &[Matcher::equal("__name__", "wide")], 1000, 3000);
    assert_eq!(got.len(), 700);
    for (i, (l, s)) in got.iter().enumerate() {
        assert_eq!(*l, lbl("wide", &format!("j{i:04}")));
        let want: Vec<Sample> = (1..4)
            .map(|t| Sample::new(t * 1000, (i * 10 + t as usize) as f64))
            .collect();
        assert_eq!(*s, want);
    }
}

#[test]
fn samples_cut_into_a_block_between_append_and_commit_are_not_acknowledged() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.block_range_ms = 1000;
    o.auto_maintenance = false;
    o.retention_ms = 0;
    let db = Db::open(o).unwrap();
    // Validated while t=500 is still writable...
    let mut late = db.appender();
    late.append(SeriesRef::NONE, &lbl("late", "a"), 500, 1.0).unwrap();
    late.append(SeriesRef::NONE, &lbl("late", "b"), 20_000, 2.0)
        .unwrap();
    // ...then the head moves on and its oldest range is cut into a block.
    fill(&db, 2, 10_000);
    db.run_maintenance();
    let floor = db.stats().head_min_time;
    assert!(floor > 500, "the head was cut (min time {floor})");
    let err = late
        .commit()
        .expect_err("a batch with samples that were not stored is refused");
    assert!(matches!(err, AppendError::OutOfBounds { t: 500, .. }), "{err}");
    // The rest of the batch is stored.
    let got = select(&db, &[Matcher::equal("__name__", "late")], 0, 30_000);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, vec![Sample::new(20_000, 2.0)]);
}

#[test]
fn a_reference_naming_another_series_falls_back_to_the_labels() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    let mut a = db.appender();
    let r = a.append(SeriesRef::NONE, &lbl("one", "a"), 1000, 1.0).unwrap();
    a.commit().unwrap();
    // A stale cache hands out `one`'s reference for another label set.
    let mut a = db.appender();
    let r2 = a.append(r, &lbl("two", "b"), 2000, 2.0).unwrap();
    a.commit().unwrap();
    assert_ne!(r, r2);
    let one = select(&db, &[Matcher::equal("__name__", "one")], 0, 5000);
    assert_eq!(one[0].1, vec![Sample::new(1000, 1.0)]);
    let two = select(&db, &[Matcher::equal("__name__", "two")], 0, 5000);
    assert_eq!(two[0].1, vec![Sample::new(2000, 2.0)]);
}

#[test]
fn series_labels_are_the_heads_own_set() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    let mut a = db.appender();
    let given = lbl("one", "a");
    let r = a.append(SeriesRef::NONE, &given, 1000, 1.0).unwrap();
    let kept = a.series_labels(r).unwrap();
    assert_eq!(kept, given);
    assert!(
        a.series_labels(SeriesRef(r.0 + 1000)).is_none(),
        "not in this batch"
    );
    a.commit().unwrap();
    // A later batch given the kept set and the reference appends to the same series.
    let mut a = db.appender();
    assert_eq!(a.append(r, &kept, 2000, 2.0).unwrap(), r);
    assert!(a.series_labels(r).is_some_and(|l| l == kept));
    a.commit().unwrap();
    let one = select(&db, &[Matcher::equal("__name__", "one")], 0, 5000);
    assert_eq!(one[0].1, vec![Sample::new(1000, 1.0), Sample::new(2000, 2.0)]);
}

#[test]
fn handles_append_directly_until_their_series_is_collected() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.block_range_ms = 1000;
    o.auto_maintenance = false;
    o.retention_ms = 0;
    let db = Db::open(o).unwrap();
    let mut a = db.appender();
    let r = a.append(SeriesRef::NONE, &lbl("held", "x"), 100, 1.0).unwrap();
    let h = a.handle(r).unwrap();
    assert_eq!(h.series_ref(), r);
    assert_eq!(h.labels(), &lbl("held", "x"));
    a.commit().unwrap();

    let mut a = db.appender();
    assert_eq!(a.append_to(&h, 200, 2.0).unwrap(), Some(r));
    assert_eq!(a.append_to(&h, 300, 3.0).unwrap(), Some(r));
    // Validated like any append: the same timestamp with another value is refused.
    assert!(matches!(
        a.append_to(&h, 300, 4.0),
        Err(AppendError::DuplicateTimestamp { .. })
    ));
    a.commit().unwrap();
    let got = select(
        &db,
        &[Matcher::new(MatchOp::Equal, "__name__", "held").unwrap()],
        0,
        1000,
    );
    assert_eq!(
        got[0].1.iter().map(|s| s.v).collect::<Vec<_>>(),
        vec![1.0, 2.0, 3.0]
    );

    // A handle of another database is not used there.
    let d2 = tempfile::tempdir().unwrap();
    let other = Db::open(opts(d2.path())).unwrap();
    let mut a = other.appender();
    assert_eq!(a.append_to(&h, 400, 1.0).unwrap(), None);
    a.rollback();

    // Once the series has left the head, the handle says so and the caller goes by labels.
    fill(&db, 2, 10_000);
    db.run_maintenance();
    assert!(db.metrics().head_series_removed >= 1);
    let mut a = db.appender();
    assert_eq!(a.append_to(&h, 10_100, 1.0).unwrap(), None);
    let r2 = a.append(SeriesRef::NONE, &lbl("held", "x"), 10_100, 1.0).unwrap();
    assert_ne!(a.handle(r2).unwrap().series_ref(), r);
    a.commit().unwrap();
}

#[test]
fn handles_racing_garbage_collection_never_lose_an_acknowledged_sample() {
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.auto_maintenance = false;
    let db = Db::open(o).unwrap();
    let head = &db.inner.head;
    let mut a = db.appender();
    let r = a.append(SeriesRef::NONE, &lbl("raced", "x"), 5, 0.0).unwrap();
    let mut h = a.handle(r).unwrap();
    a.commit().unwrap();
    let done = AtomicBool::new(false);
    // The floor the appender has written its sample for.
    let acked = AtomicI64::new(0);
    let (mut by_handle, mut by_labels) = (0, 0);
    std::thread::scope(|sc| {
        // The collector, in rounds: the floor passes the series' only sample, leaving it
        // empty, and the collection that drops it races with the append of the next sample.
        sc.spawn(|| {
            for i in 1..=2000i64 {
                head.raise_floor(i * 10);
                head.truncate();
                while acked.load(Ordering::SeqCst) < i * 10 && !done.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
            }
            done.store(true, Ordering::SeqCst);
        });
        let ms = [Matcher::new(MatchOp::Equal, "__name__", "raced").unwrap()];
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            while !done.load(Ordering::SeqCst) {
                let floor = head.floor();
                if floor <= acked.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                    continue;
                }
                let t = floor + 5;
                let mut a = db.appender();
                let appended = match a.append_to(&h, t, 1.0) {
                    Ok(Some(_)) => {
                        by_handle += 1;
                        true
                    }
                    Ok(None) => {
                        by_labels += 1;
                        match a.append(SeriesRef::NONE, &lbl("raced", "x"), t, 1.0) {
                            Ok(r) => {
                                h = a.handle(r).unwrap();
                                true
                            }
                            Err(AppendError::OutOfBounds { .. }) => false,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    Err(AppendError::OutOfBounds { .. }) => false,
                    Err(e) => panic!("{e}"),
                };
                // Not acknowledged when the floor passed it before the commit.
                if appended && a.commit().is_ok() {
                    let seen = select(&db, &ms, t, t)
                        .iter()
                        .any(|(_, s)| s.iter().any(|s| s.t == t));
                    assert!(
                        seen || head.floor() > t,
                        "sample at {t} lost (floor {})",
                        head.floor()
                    );
                }
                acked.store(floor, Ordering::SeqCst);
            }
        }));
        done.store(true, Ordering::SeqCst);
        if let Err(p) = result {
            std::panic::resume_unwind(p);
        }
    });
    // Both ways were taken: the handle while its series lived, labels once it was dropped.
    assert!(by_handle > 0 && by_labels > 0, "{by_handle} {by_labels}");
}

#[test]
fn spilled_head_chunks_answer_the_same_through_deletes_cuts_and_reopen() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.block_range_ms = 10_000;
    o.auto_maintenance = false;
    o.retention_ms = 0;
    let spill_dir = d.path().join(crate::format::HEAD_CHUNKS_DIRNAME);
    let db = Db::open(o.clone()).unwrap();
    fill(&db, 20, 30_000);
    let spilled = db.inner().head.spill_closed_chunks(0);
    assert!(spilled.chunks >= 40, "{spilled:?}");
    assert!(db.stats().head_chunks_disk_bytes > 0);
    assert_eq!(std::fs::read_dir(&spill_dir).unwrap().count(), 1);
    let heap_after = db.head_sample_bytes();
    // The open chunks and the chunk list are all that is left on the heap.
    assert!(heap_after < 20 * 2_000, "{heap_after} heap bytes for 20 series");
    // Deleting a range rewrites a series on the heap; the rest stays on disk.
    db.delete_series(&[Matcher::equal("job", "3")], 1_000, 1_999)
        .unwrap();
    let before = all(&db);
    let three = &before.iter().find(|(l, _)| *l == lbl("m", "3")).unwrap().1;
    assert_eq!(three.len(), 300 - 10);
    let seven = &before.iter().find(|(l, _)| *l == lbl("m", "7")).unwrap().1;
    assert_eq!(seven.len(), 300);
    assert!(seven.iter().enumerate().all(|(i, s)| s.t == i as i64 * 100));
    // A cut moves the oldest data into blocks and drops its chunks and then their files.
    db.run_maintenance();
    let st = db.stats();
    assert!(st.blocks >= 1, "cut: {st:?}");
    assert_eq!(all(&db), before, "blocks + spilled head answer the same");
    assert!(st.head_chunks_disk_bytes <= spilled.bytes + 8);
    drop(db);
    assert_eq!(
        std::fs::read_dir(&spill_dir).unwrap().count(),
        0,
        "the last chunk in a file removes it"
    );
    // kill -9 is a drop without the files being removed by their last chunk: the next open
    // ignores them and replays the WAL.
    std::fs::write(spill_dir.join("99999999"), b"junk of a killed process").unwrap();
    let db = Db::open(o.clone()).unwrap();
    assert!(!spill_dir.join("99999999").exists());
    assert_eq!(all(&db), before, "after reopen");
    drop(db);
    // Opened without spilling: the directory is emptied and everything stays on the heap.
    o.head_chunks_on_disk = false;
    let db = Db::open(o).unwrap();
    assert_eq!(
        db.inner().head.spill_closed_chunks(0),
        crate::head::SpillStats::default()
    );
    assert_eq!(all(&db), before);
    assert_eq!(std::fs::read_dir(&spill_dir).unwrap().count(), 0);
}

#[test]
fn readers_see_every_committed_sample_while_chunks_spill() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.auto_maintenance = false;
    o.wal_fsync_interval = Duration::from_secs(1);
    let db = Db::open(o).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let committed = std::sync::atomic::AtomicI64::new(-1);
    std::thread::scope(|sc| {
        sc.spawn(|| {
            for t in 0..3_000i64 {
                let mut a = db.appender();
                for s in 0..10 {
                    a.append(SeriesRef::NONE, &lbl("m", &s.to_string()), t, t as f64)
                        .unwrap();
                }
                a.commit().unwrap();
                committed.store(t, std::sync::atomic::Ordering::SeqCst);
            }
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        sc.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                db.inner().head.spill_closed_chunks(0);
            }
        });
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let upto = committed.load(std::sync::atomic::Ordering::SeqCst);
            for (_, samples) in all(&db) {
                let seen = samples.iter().take_while(|s| s.t <= upto).count() as i64;
                assert_eq!(seen, upto + 1, "every committed sample visible");
                assert!(samples
                    .iter()
                    .enumerate()
                    .all(|(i, s)| s.t == i as i64 && s.v == i as f64));
            }
        }
    });
    db.inner().head.spill_closed_chunks(0);
    let got = all(&db);
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|(_, s)| s.len() == 3_000));
    assert!(db.stats().head_chunks_disk_bytes > 0);
}
