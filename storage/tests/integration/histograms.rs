//! Native histograms through the whole store: append rules, WAL replay, head cut into blocks,
//! compaction (including overlapping blocks), retention, deletion, snapshots and `check`.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use storage::block::{compact, write_block_with_histograms, Block};
use storage::{
    AppendError, Appendable, BucketSpan, CounterResetHint, Db, DbOptions, DecodeScratch, FloatHistogram,
    HistogramSample, Labels, MatchOp, Matcher, Queryable, Sample, SelectHints, SeriesRef,
};

const HOUR: i64 = 3600 * 1000;
const STEP: i64 = 60_000;

fn opts(dir: &std::path::Path) -> DbOptions {
    let mut o = DbOptions::new(dir);
    o.wal_fsync_interval = Duration::ZERO;
    o.auto_maintenance = false;
    o.retention_ms = 0;
    o
}

fn lbl(name: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", "api")])
}

/// A schema-3 latency histogram after `k` scrapes: 20 populated buckets growing to 40,
/// integer counts, a zero bucket and a negative bucket now and then.
pub(crate) fn latency(k: u64) -> FloatHistogram {
    let n = 20 + (k / 12).min(20) as u32;
    let positive_buckets: Vec<f64> = (0..n)
        .map(|i| ((k + 1) * (u64::from(i % 7) + 1)) as f64)
        .collect();
    let negative_buckets = vec![(k / 3) as f64];
    let zero_count = (k / 2) as f64;
    let count = zero_count + positive_buckets.iter().sum::<f64>() + negative_buckets[0];
    FloatHistogram {
        schema: 3,
        zero_threshold: 1e-128,
        zero_count,
        count,
        sum: count * 0.042,
        positive_spans: vec![BucketSpan::new(-5, n / 2), BucketSpan::new(1, n - n / 2)],
        negative_spans: vec![BucketSpan::new(2, 1)],
        positive_buckets,
        negative_buckets,
        ..Default::default()
    }
}

/// What a histogram means, layout aside: schema, counts, sum and the non-empty buckets.
type Norm = (i32, u64, u64, u64, Vec<(i32, u64)>, Vec<(i32, u64)>);

fn norm(h: &FloatHistogram) -> Norm {
    let side = |spans: &[BucketSpan], b: &[f64]| {
        let mut out = Vec::new();
        let mut next = 0i32;
        let mut it = b.iter();
        for s in spans {
            let start = next + s.offset;
            for k in 0..s.length as i32 {
                let c = *it.next().unwrap();
                if c != 0.0 {
                    out.push((start + k, c.to_bits()));
                }
            }
            next = start + s.length as i32;
        }
        out
    };
    if h.is_stale() {
        return (0, 0, 0, h.sum.to_bits(), Vec::new(), Vec::new());
    }
    (
        h.schema,
        h.count.to_bits(),
        h.zero_count.to_bits(),
        h.sum.to_bits(),
        side(&h.positive_spans, &h.positive_buckets),
        side(&h.negative_spans, &h.negative_buckets),
    )
}

fn norms(hs: &[HistogramSample]) -> Vec<(i64, Norm)> {
    hs.iter().map(|s| (s.t, norm(&s.h))).collect()
}

fn all_matcher() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()]
}

fn select(db: &Db, name: &str) -> (Vec<Sample>, Vec<HistogramSample>) {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let hints = SelectHints {
        mint: i64::MIN,
        maxt: i64::MAX,
    };
    let m = [Matcher::new(MatchOp::Equal, "__name__", name).unwrap()];
    let got = q.select(&hints, &m).unwrap();
    // The lazy path gives the same.
    let lazy = q.select_lazy(&hints, &m).unwrap();
    assert_eq!(got.len(), lazy.len().min(got.len()));
    let mut sc = DecodeScratch::new();
    let mut lazy_h = Vec::new();
    for l in &lazy {
        let h = l.decode_histograms(&mut sc).unwrap();
        assert!(l.has_histograms() || h.is_empty());
        lazy_h.extend(h);
    }
    match got.into_iter().next() {
        None => (Vec::new(), Vec::new()),
        Some(s) => {
            assert_eq!(norms(&lazy_h), norms(&s.histograms));
            (s.samples, s.histograms)
        }
    }
}

#[test]
fn histograms_follow_the_append_rules_and_are_visible_after_commit() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    let h = lbl("http_latency_seconds");
    let mut a = db.appender();
    let r = a
        .append_histogram(SeriesRef::NONE, &h, 1000, &latency(0))
        .unwrap();
    a.append_histogram(r, &h, 2000, &latency(1)).unwrap();
    // The same timestamp again: the same histogram is a no-op, another one a duplicate.
    a.append_histogram(r, &h, 2000, &latency(1)).unwrap();
    assert!(matches!(
        a.append_histogram(r, &h, 2000, &latency(5)),
        Err(AppendError::DuplicateTimestamp { t: 2000 })
    ));
    // A float at a histogram's timestamp within the batch.
    assert!(matches!(
        a.append(r, &h, 2000, 1.0),
        Err(AppendError::DuplicateTimestamp { t: 2000 })
    ));
    // Invalid: names the series and the problem.
    let mut bad = latency(2);
    bad.count = 1.0;
    match a.append_histogram(r, &h, 3000, &bad) {
        Err(AppendError::InvalidHistogram { labels, reason }) => {
            assert!(labels.contains("http_latency_seconds"), "{labels}");
            assert!(!reason.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        select(&db, "http_latency_seconds").1.is_empty(),
        "not visible before commit"
    );
    a.commit().unwrap();
    let (fs, hs) = select(&db, "http_latency_seconds");
    assert!(fs.is_empty());
    assert_eq!(
        norms(&hs),
        vec![(1000, norm(&latency(0))), (2000, norm(&latency(1)))]
    );

    // After the commit: a float at a histogram timestamp and the reverse are duplicates;
    // an older histogram is out of order.
    let mut a = db.appender();
    assert!(matches!(
        a.append(SeriesRef::NONE, &h, 1000, 1.0),
        Err(AppendError::DuplicateTimestamp { t: 1000 })
    ));
    assert!(matches!(
        a.append_histogram(SeriesRef::NONE, &h, 1500, &latency(3)),
        Err(AppendError::OutOfOrder { .. })
    ));
    // The series switches to floats, then back, and a stale marker ends it.
    a.append(SeriesRef::NONE, &h, 3000, 7.0).unwrap();
    a.append(SeriesRef::NONE, &h, 4000, 8.0).unwrap();
    assert!(matches!(
        a.append_histogram(SeriesRef::NONE, &h, 4000, &latency(3)),
        Err(AppendError::DuplicateTimestamp { t: 4000 })
    ));
    let mut reset = latency(0);
    reset.counter_reset_hint = CounterResetHint::CounterReset;
    a.append_histogram(SeriesRef::NONE, &h, 5000, &reset).unwrap();
    a.append_histogram(SeriesRef::NONE, &h, 6000, &FloatHistogram::stale())
        .unwrap();
    a.commit().unwrap();
    let (fs, hs) = select(&db, "http_latency_seconds");
    assert_eq!(fs, vec![Sample::new(3000, 7.0), Sample::new(4000, 8.0)]);
    assert_eq!(
        hs.iter().map(|s| s.t).collect::<Vec<_>>(),
        vec![1000, 2000, 5000, 6000]
    );
    assert_eq!(hs[2].h.counter_reset_hint, CounterResetHint::CounterReset);
    assert!(hs[3].h.is_stale());
    let st = db.stats();
    assert_eq!(st.head_histogram_samples, 4);
    assert_eq!(st.head_histogram_series, 1);
    assert_eq!(st.head_samples, 6);

    // Float-only series have no histograms, lazily or not.
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &lbl("up"), 1000, 1.0).unwrap();
    a.commit().unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let lazy = q
        .select_lazy(
            &SelectHints {
                mint: i64::MIN,
                maxt: i64::MAX,
            },
            &[Matcher::new(MatchOp::Equal, "__name__", "up").unwrap()],
        )
        .unwrap();
    assert!(!lazy[0].has_histograms());
}

/// Appends a float series and a histogram series, one sample a minute over `[from, to)`.
fn fill(db: &Db, from: i64, to: i64) {
    let mut a = db.appender();
    let mut t = from;
    while t < to {
        a.append(SeriesRef::NONE, &lbl("up"), t, t as f64).unwrap();
        let k = (t / STEP) as u64;
        a.append_histogram(SeriesRef::NONE, &lbl("lat"), t, &latency(k))
            .unwrap();
        t += STEP;
    }
    a.commit().unwrap();
}

fn expected(from: i64, to: i64) -> Vec<(i64, Norm)> {
    (from / STEP..to / STEP)
        .map(|k| (k * STEP, norm(&latency(k as u64))))
        .collect()
}

#[test]
fn histograms_replay_from_the_wal_after_a_reopen() {
    let d = tempfile::tempdir().unwrap();
    {
        let db = Db::open(opts(d.path())).unwrap();
        fill(&db, 0, HOUR);
        let mut a = db.appender();
        a.append_histogram(SeriesRef::NONE, &lbl("lat"), HOUR, &FloatHistogram::stale())
            .unwrap();
        a.commit().unwrap();
    }
    let db = Db::open(opts(d.path())).unwrap();
    let (_, hs) = select(&db, "lat");
    assert_eq!(hs.len(), 61);
    assert_eq!(norms(&hs[..60]), expected(0, HOUR));
    assert!(hs[60].h.is_stale());
    assert_eq!(db.stats().head_histogram_samples, 61);
}

#[test]
fn histograms_go_through_blocks_compaction_deletion_snapshots_and_check() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(opts(d.path())).unwrap();
    fill(&db, 0, 7 * HOUR);
    db.run_maintenance();
    assert!(db.blocks().len() >= 2, "{:?}", db.blocks());
    let (fs, hs) = select(&db, "lat");
    assert!(fs.is_empty());
    assert_eq!(norms(&hs), expected(0, 7 * HOUR));
    assert_eq!(select(&db, "up").0.len(), 7 * 60);

    // Snapshot with the head: everything there.
    let snap = db.snapshot_in_data_dir(true).unwrap();
    {
        let other = tempfile::tempdir().unwrap();
        let dst = other.path().join("data");
        std::fs::rename(&snap.dir, &dst).unwrap();
        let copy = Db::open(opts(&dst)).unwrap();
        assert_eq!(norms(&select(&copy, "lat").1), expected(0, 7 * HOUR));
    }

    // Delete an hour of histograms spanning a block and the head; survives reopen.
    let m = [Matcher::new(MatchOp::Equal, "__name__", "lat").unwrap()];
    db.delete_series(&m, 2 * HOUR, 3 * HOUR - 1).unwrap();
    let mut want = expected(0, 2 * HOUR);
    want.extend(expected(3 * HOUR, 7 * HOUR));
    assert_eq!(norms(&select(&db, "lat").1), want);
    drop(db);
    let db = Db::open(opts(d.path())).unwrap();
    assert_eq!(norms(&select(&db, "lat").1), want);
    fill(&db, 7 * HOUR, 12 * HOUR);
    db.run_maintenance();
    want.extend(expected(7 * HOUR, 12 * HOUR));
    assert_eq!(norms(&select(&db, "lat").1), want);
    db.close().unwrap();
    drop(db);

    let report = storage::check::check_dir(d.path()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert!(report.samples > 0);
}

#[test]
fn overlapping_blocks_with_histograms_merge_newest_wins() {
    let d = tempfile::tempdir().unwrap();
    let series = |ks: std::ops::Range<u64>, bump: f64| {
        let hs: Vec<HistogramSample> = ks
            .clone()
            .map(|k| {
                let mut h = latency(k);
                h.sum += bump;
                HistogramSample {
                    t: k as i64 * STEP,
                    h,
                }
            })
            .collect();
        vec![(lbl("lat"), Vec::new(), hs)]
    };
    let (a, _) =
        write_block_with_histograms(d.path(), series(0..100, 0.0).into_iter(), 0, 200 * STEP).unwrap();
    let (b, _) =
        write_block_with_histograms(d.path(), series(50..150, 1.0).into_iter(), 50 * STEP, 200 * STEP)
            .unwrap();
    let blocks = [a, b].map(|m| std::sync::Arc::new(Block::open(&d.path().join(&m.id)).unwrap()));
    let merged = compact(d.path(), &blocks).unwrap();
    assert_eq!(merged.num_samples, 150);
    let blk = Block::open(&d.path().join(&merged.id)).unwrap();
    let got = blk.select(&all_matcher(), i64::MIN, i64::MAX).unwrap();
    assert_eq!(got.len(), 1);
    let hs = &got[0].histograms;
    assert_eq!(hs.len(), 150);
    // The block with the later start wins where both have a sample.
    assert_eq!(hs[10].h.sum, latency(10).sum);
    assert_eq!(hs[60].h.sum, latency(60).sum + 1.0);
    assert!(blk.verify_chunks().unwrap() > 0);
}
