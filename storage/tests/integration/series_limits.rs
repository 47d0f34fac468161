//! Cardinality limits: `max_active_series` and `max_series_per_metric` refuse new series
//! with a client error naming the limit, keep accepting samples of existing series, and do
//! not apply to WAL replay (lowering a limit never loses data at restart).

#![allow(clippy::unwrap_used)]

use storage::{AppendError, Appendable, Db, DbOptions, Labels, SeriesRef};

fn labels(name: &str, i: usize) -> Labels {
    Labels::from_pairs([("__name__", name), ("i", &i.to_string())])
}

fn opts(dir: &std::path::Path, total: usize, per_metric: usize) -> DbOptions {
    let mut o = DbOptions::new(dir);
    o.auto_maintenance = false;
    o.max_active_series = total;
    o.max_series_per_metric = per_metric;
    o
}

#[test]
fn limits_refuse_new_series_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(opts(dir.path(), 5, 3)).unwrap();
    let mut a = db.appender();
    for i in 0..3 {
        a.append(SeriesRef::NONE, &labels("a", i), 1000, 1.0).unwrap();
    }
    let e = a.append(SeriesRef::NONE, &labels("a", 3), 1000, 1.0).unwrap_err();
    assert!(
        matches!(
            e,
            AppendError::TooManySeries {
                per_metric: true,
                limit: 3,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_client_error());
    assert!(e.to_string().contains("--storage.max-series-per-metric"), "{e}");
    // Another metric still has room, up to the total.
    a.append(SeriesRef::NONE, &labels("b", 0), 1000, 1.0).unwrap();
    a.append(SeriesRef::NONE, &labels("b", 1), 1000, 1.0).unwrap();
    let e = a.append(SeriesRef::NONE, &labels("c", 0), 1000, 1.0).unwrap_err();
    assert!(
        matches!(
            e,
            AppendError::TooManySeries {
                per_metric: false,
                limit: 5,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("--storage.max-active-series"), "{e}");
    // Existing series keep taking samples.
    a.append(SeriesRef::NONE, &labels("a", 0), 2000, 2.0).unwrap();
    a.commit().unwrap();
    db.close().unwrap();
    drop(db);

    // Reopened with a lower limit: replay keeps all five series.
    let db = Db::open(opts(dir.path(), 2, 1)).unwrap();
    assert_eq!(db.stats().head_series, 5);
    let mut a = db.appender();
    a.append(SeriesRef::NONE, &labels("b", 1), 3000, 3.0).unwrap();
    assert!(a.append(SeriesRef::NONE, &labels("d", 0), 3000, 3.0).is_err());
    a.commit().unwrap();
    db.close().unwrap();
}
