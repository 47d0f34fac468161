//! Native histograms at the edges of PromQL, against Prometheus 3's semantics
//! (`promql/engine.go`, `promql/functions.go`): what mixes of floats and histograms give and
//! which annotation they raise, and how the operators that ignore histograms behave.
#![allow(clippy::unwrap_used)]

use query::{Engine, EngineOptions, QueryOutput, Value};
use storage::{Appendable, BucketSpan, Db, DbOptions, FloatHistogram, Labels, SeriesRef};

const MIN: i64 = 60_000;

/// `{count:3, sum:2.5, (0.5,1]:1, (1,2]:2}` scaled by `k`.
fn hist(k: f64) -> FloatHistogram {
    FloatHistogram {
        schema: 0,
        count: 3.0 * k,
        sum: 2.5 * k,
        positive_spans: vec![BucketSpan::new(0, 2)],
        positive_buckets: vec![1.0 * k, 2.0 * k],
        ..Default::default()
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    engine: Engine,
}

/// Every minute from 0 to 10m: `f{a="1"}` floats 1, 2, ...; `h{a="2"}` histograms growing;
/// `m{a="f"}` floats and `m{a="h"}` histograms (same name); `x` floats until 5m, then
/// histograms (a series that changes type).
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(DbOptions::new(dir.path())).unwrap();
    let l = |pairs: &[(&str, &str)]| Labels::from_pairs(pairs.iter().copied());
    let mut app = db.appender();
    for i in 0..=10 {
        let t = i * MIN;
        let k = (i + 1) as f64;
        app.append(SeriesRef::NONE, &l(&[("__name__", "f"), ("a", "1")]), t, k)
            .unwrap();
        app.append_histogram(SeriesRef::NONE, &l(&[("__name__", "h"), ("a", "2")]), t, &hist(k))
            .unwrap();
        app.append(SeriesRef::NONE, &l(&[("__name__", "m"), ("a", "f")]), t, k)
            .unwrap();
        app.append_histogram(SeriesRef::NONE, &l(&[("__name__", "m"), ("a", "h")]), t, &hist(k))
            .unwrap();
        let x = l(&[("__name__", "x")]);
        if i < 5 {
            app.append(SeriesRef::NONE, &x, t, k).unwrap();
        } else {
            app.append_histogram(SeriesRef::NONE, &x, t, &hist(k)).unwrap();
        }
    }
    app.commit().unwrap();
    Fixture {
        _dir: dir,
        db,
        engine: Engine::new(EngineOptions::default()),
    }
}

impl Fixture {
    fn at(&self, expr: &str, t: i64) -> QueryOutput {
        self.engine
            .instant(&self.db, expr, t)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
    }
}

/// (labels, float or histogram) of an instant vector.
fn vector(o: &QueryOutput) -> Vec<(String, Option<f64>, Option<FloatHistogram>)> {
    match &o.value {
        Value::Vector(v) => v
            .iter()
            .map(|s| {
                let f = if s.h.is_none() { Some(s.v) } else { None };
                (s.labels.to_string(), f, s.h.clone())
            })
            .collect(),
        other => panic!("not a vector: {other:?}"),
    }
}

#[track_caller]
fn assert_annotations(o: &QueryOutput, warnings: &[&str], infos: &[&str]) {
    assert_eq!(o.warnings, warnings, "warnings");
    assert_eq!(o.infos, infos, "infos");
}

const MIX_AGG: &str = "PromQL warning: encountered a mix of histograms and floats for aggregation";

#[test]
fn sum_and_avg_over_floats_and_histograms_warn_and_give_nothing() {
    let fx = fixture();
    for op in ["sum", "avg"] {
        let o = fx.at(&format!("{op}(m)"), 2 * MIN);
        assert!(vector(&o).is_empty(), "{op}: {:?}", vector(&o));
        assert_annotations(&o, &[MIX_AGG], &[]);
    }
    // Grouped apart, each group has one type and is answered.
    let o = fx.at("sum by (a) (m)", 2 * MIN);
    let v = vector(&o);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].1, Some(3.0));
    assert_eq!(v[1].2.as_ref().map(|h| h.count), Some(9.0));
    assert_annotations(&o, &[], &[]);
    // count and group count both.
    assert_eq!(vector(&fx.at("count(m)", 2 * MIN))[0].1, Some(2.0));
    assert_eq!(vector(&fx.at("group(m)", 2 * MIN))[0].1, Some(1.0));
}

#[test]
fn aggregations_that_ignore_histograms_say_so() {
    let fx = fixture();
    for op in ["min", "max", "stddev", "stdvar"] {
        let o = fx.at(&format!("{op}(m)"), 2 * MIN);
        let v = vector(&o);
        assert_eq!(v.len(), 1, "{op}");
        assert!(v[0].1.is_some(), "{op}: only the float is aggregated");
        assert_annotations(
            &o,
            &[],
            &[&format!("PromQL info: ignored histogram in {op} aggregation")],
        );
        // Over histograms only: nothing.
        let o = fx.at(&format!("{op}(h)"), 2 * MIN);
        assert!(vector(&o).is_empty(), "{op}(h)");
    }
    let o = fx.at("quantile(0.5, m)", 2 * MIN);
    assert_eq!(vector(&o)[0].1, Some(3.0));
    assert_annotations(
        &o,
        &[],
        &["PromQL info: ignored histogram in quantile aggregation"],
    );
    for op in ["topk", "bottomk"] {
        let o = fx.at(&format!("{op}(5, m)"), 2 * MIN);
        let v = vector(&o);
        assert_eq!(v.len(), 1, "{op}");
        assert_eq!(v[0].0, "m{a=\"f\"}");
        assert_annotations(
            &o,
            &[],
            &[&format!("PromQL info: ignored histogram in {op} aggregation")],
        );
    }
}

#[test]
fn limitk_and_limit_ratio_keep_histograms() {
    let fx = fixture();
    let o = fx.at("limitk(5, m)", 2 * MIN);
    let v = vector(&o);
    assert_eq!(v.len(), 2);
    assert!(v.iter().any(|s| s.2.as_ref().is_some_and(|h| h.count == 9.0)));
    assert_annotations(&o, &[], &[]);
    let v = vector(&fx.at("limit_ratio(1, h)", 2 * MIN));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].2.as_ref().map(|h| h.sum), Some(7.5));
    // A range query keeps the histogram at every step.
    let r = fx.engine.range(&fx.db, "limitk(1, h)", 0, 4 * MIN, MIN).unwrap();
    match r.value {
        Value::Matrix(m) => {
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].histograms.len(), 5);
            assert!(m[0].samples.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn count_values_counts_histograms_by_their_text() {
    let fx = fixture();
    let v = vector(&fx.at("count_values(\"v\", m)", 0));
    let mut got: Vec<(String, Option<f64>)> = v.into_iter().map(|s| (s.0, s.1)).collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("{v=\"1\"}".to_string(), Some(1.0)),
            (
                "{v=\"{count:3, sum:2.5, (0.5,1]:1, (1,2]:2}\"}".to_string(),
                Some(1.0)
            ),
        ]
    );
}

#[test]
fn sort_drops_histograms_and_absent_sees_them() {
    let fx = fixture();
    for f in ["sort", "sort_desc"] {
        let v = vector(&fx.at(&format!("{f}(m)"), 2 * MIN));
        assert_eq!(v.len(), 1, "{f}");
        assert_eq!(v[0].0, "m{a=\"f\"}");
    }
    assert!(vector(&fx.at("absent(h)", 2 * MIN)).is_empty());
    assert!(vector(&fx.at("absent(x)", 8 * MIN)).is_empty());
    assert_eq!(vector(&fx.at("absent(nope)", 2 * MIN)).len(), 1);
    // timestamp() of a histogram, selected or computed.
    assert_eq!(vector(&fx.at("timestamp(h)", 2 * MIN))[0].1, Some(120.0));
    assert_eq!(vector(&fx.at("timestamp(h * 2)", 2 * MIN))[0].1, Some(120.0));
    // sort_by_label keeps them.
    assert_eq!(vector(&fx.at("sort_by_label(m, \"a\")", 2 * MIN)).len(), 2);
}

#[test]
fn comparisons_with_histograms() {
    let fx = fixture();
    // A histogram compared with a float is dropped, with an info.
    let o = fx.at("h > 1", 2 * MIN);
    assert!(vector(&o).is_empty());
    assert_annotations(
        &o,
        &[],
        &["PromQL info: incompatible sample types encountered for binary operator \">\": histogram > float"],
    );
    // == and != compare histograms with histograms.
    assert_eq!(vector(&fx.at("h == h", 2 * MIN)).len(), 1);
    assert!(vector(&fx.at("h != h", 2 * MIN)).is_empty());
    // Scaling applies to histograms.
    let v = vector(&fx.at("h * 2", 2 * MIN));
    assert_eq!(v[0].2.as_ref().map(|h| h.count), Some(18.0));
}

#[test]
fn rate_over_a_range_of_floats_and_histograms_warns_and_gives_nothing() {
    let fx = fixture();
    let o = fx.at("rate(x[4m])", 6 * MIN);
    assert!(vector(&o).is_empty(), "{:?}", vector(&o));
    assert_annotations(
        &o,
        &["PromQL warning: encountered a mix of histograms and floats for metric name \"x\""],
        &[],
    );
    // Once the window holds histograms only, the rate is a histogram.
    let v = vector(&fx.at("rate(x[4m])", 10 * MIN));
    assert!(v[0].2.is_some());
}

#[test]
fn histogram_quantile_over_a_float_without_le_warns() {
    let fx = fixture();
    let o = fx.at("histogram_quantile(0.5, f)", 2 * MIN);
    assert!(vector(&o).is_empty());
    assert_annotations(
        &o,
        &["PromQL warning: bucket label \"le\" is missing or has a malformed value of \"\""],
        &[],
    );
    // Native histograms need no `le`: no warning for them.
    let o = fx.at("histogram_quantile(0.5, h)", 2 * MIN);
    assert_eq!(vector(&o).len(), 1);
    assert_annotations(&o, &[], &[]);
}
