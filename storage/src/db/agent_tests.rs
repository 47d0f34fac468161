//! Agent mode's head: no float samples kept, order and duplicate checks against each series'
//! newest sample, silent series dropped, the same behaviour after a reopen.

use super::*;
use crate::api::LatestSample;
use crate::error::AppendError;
use crate::model::{Labels, Sample, SeriesRef};

fn agent_opts(dir: &std::path::Path) -> DbOptions {
    let mut o = DbOptions::new(dir);
    o.wal_fsync_interval = Duration::ZERO;
    o.agent = true;
    o.auto_maintenance = false;
    o.hold_wal_until_told = true;
    o
}

fn lbl(job: &str) -> Labels {
    Labels::from_pairs([("__name__", "up"), ("job", job)])
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn floats_are_checked_against_the_newest_but_not_stored() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(agent_opts(d.path())).unwrap();
    let mut a = db.appender();
    for i in 0..500 {
        a.append(SeriesRef::NONE, &lbl("a"), 1_000 + i * 15_000, i as f64)
            .unwrap();
    }
    a.commit().unwrap();
    let st = db.stats();
    assert_eq!(st.head_series, 1);
    assert_eq!(st.head_samples, 0, "no float sample is stored");
    assert_eq!(st.head_chunks, 0);
    let newest = 1_000 + 499 * 15_000;
    let mut a = db.appender();
    assert_eq!(
        a.latest_sample(&lbl("a")),
        Some(LatestSample::Float(Sample::new(newest, 499.0)))
    );
    a.append(SeriesRef::NONE, &lbl("a"), newest, 499.0)
        .expect("the same sample again is a harmless duplicate");
    assert!(matches!(
        a.append(SeriesRef::NONE, &lbl("a"), newest, 1.0),
        Err(AppendError::DuplicateTimestamp { .. })
    ));
    assert!(matches!(
        a.append(SeriesRef::NONE, &lbl("a"), newest - 1, 1.0),
        Err(AppendError::OutOfOrder { .. })
    ));
    a.commit().unwrap();
}

#[test]
fn truncation_drops_silent_series_and_keeps_active_ones() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(agent_opts(d.path())).unwrap();
    let old = now_ms() - AGENT_HEAD_WINDOW_MS - 10 * 60_000;
    let mut a = db.appender();
    let active = a.append(SeriesRef::NONE, &lbl("active"), old, 1.0).unwrap();
    a.append(SeriesRef::NONE, &lbl("silent"), old, 1.0).unwrap();
    a.commit().unwrap();
    let mut a = db.appender();
    a.append(active, &lbl("active"), now_ms(), 2.0).unwrap();
    a.commit().unwrap();
    db.run_maintenance();
    assert_eq!(db.stats().head_series, 1, "the silent series is gone");
    let mut a = db.appender();
    let again = a
        .append(SeriesRef::NONE, &lbl("active"), now_ms() + 1, 3.0)
        .unwrap();
    assert_eq!(again, active, "the active series kept its reference");
    a.commit().unwrap();
    // A second round with nothing newly silent keeps it.
    db.run_maintenance();
    assert_eq!(db.stats().head_series, 1);
}

#[test]
fn the_newest_sample_comes_back_after_a_reopen() {
    let d = tempfile::tempdir().unwrap();
    let t = now_ms();
    {
        let db = Db::open(agent_opts(d.path())).unwrap();
        let mut a = db.appender();
        a.append(SeriesRef::NONE, &lbl("a"), t - 1_000, 1.0).unwrap();
        a.append(SeriesRef::NONE, &lbl("a"), t, 2.0).unwrap();
        a.commit().unwrap();
    }
    let db = Db::open(agent_opts(d.path())).unwrap();
    assert_eq!(db.stats().head_series, 1);
    assert_eq!(db.stats().head_samples, 0);
    let mut a = db.appender();
    assert_eq!(
        a.latest_sample(&lbl("a")),
        Some(LatestSample::Float(Sample::new(t, 2.0)))
    );
    assert!(matches!(
        a.append(SeriesRef::NONE, &lbl("a"), t - 500, 1.5),
        Err(AppendError::OutOfOrder { .. })
    ));
    a.append(SeriesRef::NONE, &lbl("a"), t + 1_000, 3.0).unwrap();
    a.commit().unwrap();
}

#[test]
fn no_postings_unless_the_per_metric_limit_counts_through_them() {
    let d = tempfile::tempdir().unwrap();
    let db = Db::open(agent_opts(d.path())).unwrap();
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &lbl("a"), 1_000, 1.0).unwrap();
    a.append(SeriesRef::NONE, &lbl("b"), 1_000, 1.0).unwrap();
    a.commit().unwrap();
    assert_eq!(db.stats().head_series, 2);
    assert!(
        db.label_cardinality().is_empty(),
        "an agent's head keeps no postings"
    );

    let d = tempfile::tempdir().unwrap();
    let mut o = agent_opts(d.path());
    o.max_series_per_metric = 2;
    let db = Db::open(o).unwrap();
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &lbl("a"), 1_000, 1.0).unwrap();
    a.append(SeriesRef::NONE, &lbl("b"), 1_000, 1.0).unwrap();
    assert!(matches!(
        a.append(SeriesRef::NONE, &lbl("c"), 1_000, 1.0),
        Err(AppendError::TooManySeries { per_metric: true, .. })
    ));
    a.commit().unwrap();
    assert!(!db.label_cardinality().is_empty());
}
