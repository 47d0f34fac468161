//! Property test: random batches across many series (in order, out of order within the
//! window, duplicates, rollbacks) with reopens (WAL replay) and block cuts, compactions and
//! WAL checkpoints in between; every select must
//! equal a simple model, and every rejection must be justified by the model.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;
use storage::{
    AppendError, Appendable, Db, DbOptions, Labels, MatchOp, Matcher, Queryable, SelectHints, SeriesRef,
    STALE_NAN,
};

const WINDOW: i64 = 50;

#[derive(Clone, Debug)]
enum Op {
    /// (series, time step, value code) per sample; commit or roll back.
    Batch(Vec<(u8, i64, u8)>, bool),
    Reopen,
    /// Cut blocks, compact, apply retention.
    Maintain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (prop::collection::vec((0u8..12, -8i64..12, 0u8..4), 1..40), prop::bool::weighted(0.85))
            .prop_map(|(s, c)| Op::Batch(s, c)),
        1 => Just(Op::Reopen),
        2 => Just(Op::Maintain),
    ]
}

fn labels(i: u8) -> Labels {
    Labels::from_pairs([
        ("__name__", if i.is_multiple_of(3) { "a" } else { "b" }),
        ("i", &i.to_string()),
        ("odd", if i % 2 == 1 { "yes" } else { "" }),
    ])
}

fn value(code: u8, t: i64) -> f64 {
    match code {
        0 => STALE_NAN,
        1 => 1.0,
        _ => t as f64 * 0.25,
    }
}

type Model = BTreeMap<Labels, BTreeMap<i64, u64>>;

fn open(dir: &std::path::Path) -> Db {
    let mut o = DbOptions::new(dir);
    o.out_of_order_window_ms = WINDOW;
    o.wal_fsync_interval = Duration::from_millis(50);
    o.wal_segment_size = 4096;
    o.block_range_ms = 100;
    o.retention_ms = 0;
    o.auto_maintenance = false;
    Db::open(o).unwrap()
}

fn check(db: &Db, model: &Model, mint: i64, maxt: i64, ms: &[Matcher]) {
    let q = db.querier(mint, maxt).unwrap();
    let got = q.select(&SelectHints { mint, maxt }, ms).unwrap();
    let want: Vec<(Labels, Vec<(i64, u64)>)> = model
        .iter()
        .filter(|(l, _)| ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
        .map(|(l, s)| {
            (
                l.clone(),
                s.range(mint..=maxt).map(|(&t, &v)| (t, v)).collect::<Vec<_>>(),
            )
        })
        .filter(|(_, s)| !s.is_empty())
        .collect();
    let got: Vec<(Labels, Vec<(i64, u64)>)> = got
        .into_iter()
        .map(|s| (s.labels, s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect()))
        .collect();
    assert_eq!(got, want, "range {mint}..={maxt} matchers {ms:?}");
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path());
    let mut model: Model = BTreeMap::new();
    let mut clock: BTreeMap<u8, i64> = BTreeMap::new();
    let mut refs: BTreeMap<u8, SeriesRef> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Maintain => db.run_maintenance(),
            Op::Reopen => {
                drop(db);
                db = open(dir.path());
                refs.clear();
            }
            Op::Batch(samples, commit) => {
                let mut a = db.appender();
                let mut pending: Model = BTreeMap::new();
                for (s, step, code) in samples {
                    let l = labels(s);
                    let base = clock.entry(s).or_insert(1000);
                    let t = *base + step * 10;
                    let v = value(code, t);
                    let committed = model.get(&l);
                    let batch = pending.get(&l);
                    let existing = batch
                        .and_then(|m| m.get(&t))
                        .or_else(|| committed.and_then(|m| m.get(&t)))
                        .copied();
                    let newest = committed
                        .and_then(|m| m.keys().next_back())
                        .max(batch.and_then(|m| m.keys().next_back()))
                        .copied();
                    let r = refs.get(&s).copied().unwrap_or(SeriesRef::NONE);
                    match a.append(r, &l, t, v) {
                        Ok(r) => {
                            refs.insert(s, r);
                            if let Some(e) = existing {
                                assert_eq!(e, v.to_bits(), "accepted a different value at {t}");
                            } else {
                                assert!(
                                    newest.is_none_or(|n| t >= n - WINDOW),
                                    "accepted {t} older than window"
                                );
                                pending.entry(l).or_default().insert(t, v.to_bits());
                            }
                            *base = (*base).max(t);
                        }
                        Err(AppendError::DuplicateTimestamp { t: et }) => {
                            assert_eq!(et, t);
                            assert!(
                                existing.is_some_and(|e| e != v.to_bits()),
                                "bogus duplicate at {t}"
                            );
                        }
                        Err(AppendError::OutOfBounds { t: et, min_valid }) => {
                            assert_eq!(et, t);
                            assert!(t < min_valid, "bogus out of bounds");
                            assert_eq!(min_valid, db.stats().min_valid_time);
                        }
                        Err(AppendError::OutOfOrder { .. }) => {
                            let n = newest.expect("out of order needs a newest sample");
                            assert!(t < n - WINDOW, "bogus out of order {t} vs newest {n}");
                        }
                        Err(e) => panic!("unexpected error {e}"),
                    }
                }
                if commit {
                    a.commit().unwrap();
                    for (l, s) in pending {
                        model.entry(l).or_default().extend(s);
                    }
                } else {
                    a.rollback();
                }
            }
        }
        check(
            &db,
            &model,
            i64::MIN,
            i64::MAX,
            &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
        );
    }
    check(&db, &model, 1100, 1300, &[Matcher::equal("__name__", "b")]);
    check(
        &db,
        &model,
        900,
        1250,
        &[
            Matcher::equal("odd", ""),
            Matcher::new(MatchOp::NotRegex, "i", "1|2").unwrap(),
        ],
    );
    check(
        &db,
        &model,
        1000,
        1000,
        &[Matcher::new(MatchOp::Regex, "i", "1.*").unwrap()],
    );
    drop(db);
    let db = open(dir.path());
    check(
        &db,
        &model,
        i64::MIN,
        i64::MAX,
        &[Matcher::new(MatchOp::NotEqual, "__name__", "").unwrap()],
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn appends_and_reopens_match_the_model(ops in prop::collection::vec(op(), 1..25)) {
        run(ops);
    }
}
