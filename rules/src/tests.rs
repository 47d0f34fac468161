//! Tests of the manager: recording rules, chaining, staleness, `ALERTS` series, errors,
//! restore of `for` state after a restart, reload.

use crate::alert::AlertState;
use crate::manager::{RuleManager, RuleManagerOptions, RuleSource};
use crate::status::RuleHealth;
use std::path::PathBuf;
use std::sync::Arc;
use storage::{
    is_stale_nan, Appendable, Db, DbOptions, Labels, Matcher, Queryable, SelectHints, Series, SeriesRef,
};

const T: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;

fn open_db(dir: &std::path::Path) -> Arc<Db> {
    let mut o = DbOptions::new(dir);
    o.auto_maintenance = false;
    Arc::new(Db::open(o).unwrap())
}

fn manager(db: &Arc<Db>, rules: &str) -> RuleManager {
    let engine = Arc::new(query::Engine::new(query::EngineOptions::default()));
    let opts = RuleManagerOptions {
        run_evaluations: false,
        ..Default::default()
    };
    let m = RuleManager::new(db.clone(), db.clone(), engine, opts);
    m.load_sources(&[src(rules)]).unwrap();
    m
}

fn src(text: &str) -> RuleSource {
    RuleSource {
        name: PathBuf::from("test.yml"),
        text: text.to_string(),
    }
}

fn feed(db: &Db, labels: &[(&str, &str)], from: i64, to: i64, v: f64) {
    let l = Labels::from_pairs(labels.iter().copied());
    let mut app = db.appender();
    let mut t = from;
    while t < to {
        app.append(SeriesRef::NONE, &l, t, v).unwrap();
        t += 15_000;
    }
    app.commit().unwrap();
}

/// `up{job, instance}` = 1 every 15s from `T` until `to`.
fn feed_up(db: &Db, job: &str, instance: &str, to: i64) {
    feed(
        db,
        &[("__name__", "up"), ("job", job), ("instance", instance)],
        T,
        to,
        1.0,
    );
}

fn select(db: &Db, name: &str) -> Vec<Series> {
    let q = db.querier(0, i64::MAX).unwrap();
    q.select(
        &SelectHints {
            mint: 0,
            maxt: i64::MAX,
        },
        &[Matcher::equal("__name__", name)],
    )
    .unwrap()
}

const RECORDING: &str = r#"
groups:
  - name: rec
    interval: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {team: infra}
      - record: job:up:double
        expr: job:up:sum * 2
"#;

#[test]
fn recording_rules_write_chained_series_and_staleness_markers() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    feed_up(&db, "a", "1", T + 30 * MIN);
    feed_up(&db, "a", "2", T + 30 * MIN);
    feed_up(&db, "b", "3", T + 2 * MIN);
    let m = manager(&db, RECORDING);
    m.eval_group_at("rec", T + MIN).unwrap();

    let sum = select(&db, "job:up:sum");
    assert_eq!(sum.len(), 2);
    assert_eq!(
        sum[0].labels,
        Labels::from_pairs([("__name__", "job:up:sum"), ("job", "a"), ("team", "infra")])
    );
    assert_eq!(sum[0].samples[0].t, T + MIN);
    assert_eq!(sum[0].samples[0].v, 2.0);
    assert_eq!(sum[1].samples[0].v, 1.0);
    // The second rule sees the first one's output of the same evaluation.
    let dbl = select(&db, "job:up:double");
    assert_eq!(dbl.len(), 2);
    assert_eq!(dbl[0].samples[0].v, 4.0);
    assert_eq!(dbl[0].labels.get("__name__"), Some("job:up:double"));

    // job b's input ends; past the lookback its recorded series gets a staleness marker.
    m.eval_group_at("rec", T + 10 * MIN).unwrap();
    let sum = select(&db, "job:up:sum");
    let b = sum.iter().find(|s| s.labels.get("job") == Some("b")).unwrap();
    assert_eq!(b.samples.len(), 2);
    assert!(is_stale_nan(b.samples[1].v));
    assert_eq!(b.samples[1].t, T + 10 * MIN);
    let a = sum.iter().find(|s| s.labels.get("job") == Some("a")).unwrap();
    assert_eq!(a.samples.last().unwrap().v, 2.0);
    // Only once.
    m.eval_group_at("rec", T + 11 * MIN).unwrap();
    let sum = select(&db, "job:up:sum");
    let b = sum.iter().find(|s| s.labels.get("job") == Some("b")).unwrap();
    assert_eq!(b.samples.len(), 2);

    let st = m.groups();
    assert_eq!(st[0].rules[0].health, RuleHealth::Ok);
    assert_eq!(st[0].rules[0].last_evaluation_ms, Some(T + 11 * MIN));
    assert_eq!(st[0].interval_secs, 60.0);
    assert_eq!(st[0].last_evaluation_ms, Some(T + 11 * MIN));
}

#[test]
fn query_offset_shifts_the_query_and_sample_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    feed(&db, &[("__name__", "up"), ("job", "a")], T, T + 30 * MIN, 1.0);
    let m = manager(
        &db,
        "groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: r\n    expr: up\n",
    );
    m.eval_group_at("g", T + 5 * MIN).unwrap();
    let r = select(&db, "r");
    assert_eq!(r[0].samples[0].t, T + 4 * MIN);
}

#[test]
fn global_rule_query_offset_is_the_default_of_groups() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    feed(&db, &[("__name__", "up"), ("job", "a")], T, T + 30 * MIN, 1.0);
    let engine = Arc::new(query::Engine::new(query::EngineOptions::default()));
    let opts = RuleManagerOptions {
        run_evaluations: false,
        default_query_offset: std::time::Duration::from_secs(120),
        ..Default::default()
    };
    let m = RuleManager::new(db.clone(), db.clone(), engine, opts);
    m.load_sources(&[src(
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n- name: own\n  query_offset: 1m\n  rules:\n  - record: s\n    expr: up\n",
    )])
    .unwrap();
    m.eval_group_at("g", T + 5 * MIN).unwrap();
    m.eval_group_at("own", T + 5 * MIN).unwrap();
    assert_eq!(
        select(&db, "r")[0].samples[0].t,
        T + 3 * MIN,
        "the global default"
    );
    assert_eq!(
        select(&db, "s")[0].samples[0].t,
        T + 4 * MIN,
        "the group's own offset wins"
    );
}

#[test]
fn rule_errors_make_rules_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    feed_up(&db, "a", "1", T + 30 * MIN);
    feed_up(&db, "a", "2", T + 30 * MIN);
    let m = manager(
        &db,
        r#"
groups:
  - name: g
    rules:
      - record: dup
        expr: up
        labels: {instance: ""}
  - name: limited
    limit: 1
    rules:
      - record: lim
        expr: up
      - alert: A
        expr: up
"#,
    );
    m.eval_group_at("g", T + MIN).unwrap();
    m.eval_group_at("limited", T + MIN).unwrap();
    let st = m.groups();
    assert_eq!(st[0].rules[0].health, RuleHealth::Err);
    assert!(st[0].rules[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("same labelset"));
    assert_eq!(st[1].rules[0].health, RuleHealth::Err);
    assert!(st[1].rules[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("exceeded limit 1 with 2 series"));
    assert!(st[1].rules[1]
        .last_error
        .as_deref()
        .unwrap()
        .contains("exceeded limit of 1 with 2 alerts"));
    assert!(select(&db, "dup").is_empty());
    assert!(m.eval_group_at("nope", T).is_err());
}

const ALERTING: &str = r#"
groups:
  - name: alerts
    interval: 1m
    rules:
      - alert: HighValue
        expr: x > 10
        for: 20m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} is {{ $value }}"}
"#;

#[test]
fn alerts_series_follow_the_state_and_go_stale() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    feed(
        &db,
        &[("__name__", "x"), ("instance", "i")],
        T,
        T + 30 * MIN,
        20.0,
    );
    feed(
        &db,
        &[("__name__", "x"), ("instance", "i")],
        T + 30 * MIN,
        T + 60 * MIN,
        1.0,
    );
    let m = manager(&db, ALERTING);
    let engine = query::Engine::new(query::EngineOptions::default());
    let q = |expr: &str, t: i64| match engine.instant(&*db, expr, t).unwrap().value {
        query::Value::Vector(v) => v.into_iter().map(|s| (s.labels, s.v)).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let mut t = T;
    while t <= T + 40 * MIN {
        m.eval_group_at("alerts", t).unwrap();
        t += MIN;
    }
    // The first evaluation writes no ALERTS (restore runs after it), later ones do.
    let pending = q("ALERTS{alertstate=\"pending\"}", T + 5 * MIN);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0.get("alertname"), Some("HighValue"));
    assert_eq!(pending[0].0.get("severity"), Some("page"));
    let fs = q("ALERTS_FOR_STATE", T + 5 * MIN);
    assert_eq!(fs[0].1, (T / 1000) as f64);
    assert!(q("ALERTS{alertstate=\"firing\"}", T + 19 * MIN).is_empty());
    assert_eq!(q("ALERTS{alertstate=\"firing\"}", T + 20 * MIN).len(), 1);
    // Pending's series went stale the moment it fired.
    assert!(q("ALERTS{alertstate=\"pending\"}", T + 20 * MIN).is_empty());
    // Resolved: stale at once, not after the 5 m lookback.
    assert!(q("ALERTS", T + 31 * MIN).is_empty());
    assert!(q("ALERTS_FOR_STATE", T + 31 * MIN).is_empty());
    // Resolved alerts stay in the rule (inactive) but not in /api/v1/alerts.
    assert!(m.alerts().is_empty());
    assert_eq!(m.groups()[0].rules[0].state, AlertState::Inactive);
}

/// Runs a manager over [from, to] every minute, "crashes", and restarts a new one at
/// `restart`; returns the restored alert's activeAt and the first firing time.
fn restart_scenario(pending_before_crash_min: i64, down_min: i64) -> (i64, i64, i64) {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    feed(
        &db,
        &[("__name__", "x"), ("instance", "i")],
        T,
        T + 120 * MIN,
        20.0,
    );
    {
        let m = manager(&db, ALERTING);
        let mut t = T;
        while t <= T + pending_before_crash_min * MIN {
            m.eval_group_at("alerts", t).unwrap();
            t += MIN;
        }
        assert_eq!(m.alerts()[0].state, AlertState::Pending);
    }
    let restart = T + (pending_before_crash_min + down_min) * MIN;
    let m = manager(&db, ALERTING);
    m.eval_group_at("alerts", restart).unwrap();
    let active_at = m.alerts()[0].active_at_ms;
    let mut t = restart;
    while m.alerts()[0].state != AlertState::Firing {
        t += MIN;
        assert!(t < restart + 60 * MIN, "never fired");
        m.eval_group_at("alerts", t).unwrap();
    }
    (restart, active_at, t)
}

#[test]
fn for_state_is_restored_after_a_restart() {
    // 5 m pending, 5 m down: 15 m remain (more than the 10 m grace): activeAt shifts by the
    // downtime, so it fires 15 m after the restart.
    let (restart, active_at, fired) = restart_scenario(5, 5);
    assert_eq!(active_at, T + 5 * MIN);
    assert_eq!(fired, restart + 15 * MIN);

    // 15 m pending, 2 m down: 5 m remain, less than the grace period: it gets the grace period.
    let (restart, active_at, fired) = restart_scenario(15, 2);
    assert_eq!(active_at, restart + 10 * MIN - 20 * MIN);
    assert_eq!(fired, restart + 10 * MIN);
}

#[test]
fn for_state_is_not_restored_past_the_outage_tolerance() {
    let (restart, active_at, fired) = restart_scenario(5, 70);
    assert_eq!(active_at, restart);
    assert_eq!(fired, restart + 20 * MIN);
}

#[test]
fn reload_keeps_alert_state_and_marks_removed_rules_stale() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    feed(
        &db,
        &[("__name__", "x"), ("instance", "i")],
        T,
        T + 30 * MIN,
        20.0,
    );
    let with_rec = format!("{ALERTING}      - record: x_copy\n        expr: x\n");
    let m = manager(&db, &with_rec);
    for i in 0..3 {
        m.eval_group_at("alerts", T + i * MIN).unwrap();
    }
    assert_eq!(select(&db, "x_copy")[0].samples.len(), 3);
    let before = m.alerts();
    m.load_sources(&[src(ALERTING)]).unwrap();
    assert_eq!(m.alerts(), before);
    assert_eq!(m.groups()[0].rules.len(), 1);
    let copy = &select(&db, "x_copy")[0];
    assert!(is_stale_nan(copy.samples.last().unwrap().v));
    // An invalid reload changes nothing.
    let err = m.load_sources(&[src(
        "groups:\n- name: alerts\n  rules:\n  - alert: A\n    expr: 'x >'\n",
    )]);
    assert!(err.unwrap_err().to_string().contains("test.yml"));
    assert_eq!(m.alerts(), before);
    // Still the same alert: it fires 20 m after it first became active.
    for i in 3..=20 {
        m.eval_group_at("alerts", T + i * MIN).unwrap();
    }
    assert_eq!(m.alerts()[0].state, AlertState::Firing);
}

#[test]
fn load_reads_files_and_reports_all_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    let m = manager(&db, "groups: []");
    let good = dir.path().join("good.yml");
    std::fs::write(&good, RECORDING).unwrap();
    m.load(std::slice::from_ref(&good)).unwrap();
    assert_eq!(m.groups()[0].file, good.display().to_string());
    let bad1 = dir.path().join("bad1.yml");
    let bad2 = dir.path().join("bad2.yml");
    std::fs::write(
        &bad1,
        "groups:\n- name: a\n  rules:\n  - record: 'a b'\n    expr: up\n",
    )
    .unwrap();
    std::fs::write(&bad2, "groups: [").unwrap();
    let e = m.load(&[bad1, bad2]).unwrap_err().to_string();
    assert!(e.contains("bad1.yml") && e.contains("bad2.yml"), "{e}");
    let e = m.load(&[dir.path().join("missing.yml")]).unwrap_err().to_string();
    assert!(e.contains("missing.yml"), "{e}");
    assert_eq!(m.groups().len(), 1);
}

#[test]
fn self_metrics_count_evaluations_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    let m = manager(
        &db,
        r#"
groups:
  - name: g
    rules:
      - record: ok
        expr: vector(1)
      - record: bad
        expr: vector(1) or label_replace(vector(2), "a", "x", "", "")
        labels: {a: ""}
"#,
    );
    m.eval_group_at("g", T).unwrap();
    m.eval_group_at("g", T + MIN).unwrap();
    let mut e = storage::metrics::Exposition::new();
    m.render_metrics(&mut e);
    let text = e.finish();
    assert!(
        text.contains("prometheus_rule_evaluations_total{rule_group=\"test.yml;g\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("prometheus_rule_group_iterations_total{rule_group=\"test.yml;g\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("prometheus_rule_group_rules{rule_group=\"test.yml;g\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("prometheus_rule_group_interval_seconds{rule_group=\"test.yml;g\"} 60"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE prometheus_rule_evaluation_failures_total counter"),
        "{text}"
    );
    assert!(
        text.contains("prometheus_rule_evaluation_failures_total{rule_group=\"test.yml;g\"} 2"),
        "{text}"
    );
}

#[test]
fn short_for_is_not_restored() {
    // `for` below the grace period: Prometheus does not restore, the alert starts over.
    let short = ALERTING.replace("for: 20m", "for: 5m");
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    feed(
        &db,
        &[("__name__", "x"), ("instance", "i")],
        T,
        T + 60 * MIN,
        20.0,
    );
    {
        let m = manager(&db, &short);
        for i in 0..=3 {
            m.eval_group_at("alerts", T + i * MIN).unwrap();
        }
    }
    let m = manager(&db, &short);
    m.eval_group_at("alerts", T + 5 * MIN).unwrap();
    assert_eq!(m.alerts()[0].active_at_ms, T + 5 * MIN);
    assert_eq!(m.alerts()[0].state, AlertState::Pending);
}

const HISTOGRAM_RULES: &str = r#"
groups:
  - name: hist
    interval: 1m
    rules:
      - record: job:h:sum
        expr: sum by (job) (h)
      - record: job:h:count
        expr: histogram_count(job:h:sum)
      - alert: HistogramPresent
        expr: h
        annotations: {summary: "{{ $value }}"}
"#;

#[test]
fn histogram_results_are_recorded_as_histograms_and_alert_with_value_zero() {
    use storage::{BucketSpan, FloatHistogram};
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    let h = FloatHistogram {
        schema: 0,
        count: 3.0,
        sum: 2.5,
        positive_spans: vec![BucketSpan::new(0, 2)],
        positive_buckets: vec![1.0, 2.0],
        ..Default::default()
    };
    let l = Labels::from_pairs([("__name__", "h"), ("job", "a"), ("instance", "1")]);
    let mut app = db.appender();
    for k in 0..8 {
        app.append_histogram(SeriesRef::NONE, &l, T + k * 15_000, &h)
            .unwrap();
    }
    app.commit().unwrap();
    let m = manager(&db, HISTOGRAM_RULES);
    m.eval_group_at("hist", T + MIN).unwrap();

    let sum = select(&db, "job:h:sum");
    assert_eq!(sum.len(), 1);
    assert!(sum[0].samples.is_empty());
    assert_eq!(sum[0].histograms.len(), 1);
    assert_eq!(sum[0].histograms[0].t, T + MIN);
    assert_eq!(sum[0].histograms[0].h.count, 3.0);
    assert_eq!(sum[0].histograms[0].h.positive_buckets, vec![1.0, 2.0]);
    // The next rule reads the recorded histogram.
    let count = select(&db, "job:h:count");
    assert_eq!(count[0].samples[0].v, 3.0);
    assert!(m.groups()[0].rules.iter().all(|r| r.health == RuleHealth::Ok));

    // The alert's value is 0 and its template's $value the histogram, as in Prometheus.
    let alerts = m.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].value, 0.0);
    assert_eq!(
        alerts[0].annotations.get("summary").map(String::as_str),
        Some("{count:3, sum:2.5, (0.5,1]:1, (1,2]:2}")
    );

    // Input gone: the recorded histogram series gets a staleness marker.
    m.eval_group_at("hist", T + 10 * MIN).unwrap();
    let sum = select(&db, "job:h:sum");
    let last_float = sum[0].samples.last().map(|s| s.v);
    let last_hist = sum[0].histograms.last().map(|s| s.h.is_stale());
    assert!(
        last_float.is_some_and(is_stale_nan) || last_hist == Some(true),
        "{sum:?}"
    );
}
