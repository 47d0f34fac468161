//! The notifier against a stub Alertmanager on loopback, alone and driven by the manager.

use super::*;
use crate::alerting_config::{AlertmanagerConfig, StaticConfig};
use crate::manager::{RuleManager, RuleManagerOptions, RuleSource};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use std::sync::atomic::AtomicUsize;
use storage::{Appendable, Db, DbOptions, Labels, Queryable, SeriesRef};

#[derive(Clone, Default)]
struct Stub {
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    fail_first: Arc<AtomicUsize>,
}

async fn receive(State(s): State<Stub>, Json(body): Json<serde_json::Value>) -> StatusCode {
    if s.fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    s.bodies.lock().push(body);
    StatusCode::OK
}

/// Starts a stub Alertmanager under `prefix`; returns its state and `host:port`.
async fn stub(prefix: &str, fail_first: usize) -> (Stub, String) {
    let s = Stub::default();
    s.fail_first.store(fail_first, Ordering::SeqCst);
    let app = Router::new()
        .route(&format!("{prefix}/api/v2/alerts"), post(receive))
        .with_state(s.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(l, app).await.unwrap();
    });
    (s, addr.to_string())
}

fn config(target: &str, prefix: &str) -> AlertingConfig {
    AlertingConfig {
        alertmanagers: vec![AlertmanagerConfig {
            scheme: "http".into(),
            path_prefix: prefix.into(),
            timeout: Some(Duration::from_secs(2)),
            api_version: "v2".into(),
            static_configs: vec![StaticConfig {
                targets: vec![target.into()],
                labels: BTreeMap::new(),
            }],
            ..Default::default()
        }],
        alert_relabel_configs: false,
    }
}

fn opts() -> NotifierOptions {
    NotifierOptions {
        retry_backoff: Duration::from_millis(10),
        external_labels: BTreeMap::from([("cluster".to_string(), "main".to_string())]),
        ..Default::default()
    }
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn posts_v2_payloads_and_retries() {
    let (s, addr) = stub("", 1).await;
    let n = Notifier::new(&config(&addr, ""), opts()).unwrap();
    n.run();
    n.send(vec![NotifierAlert {
        labels: BTreeMap::from([("alertname".to_string(), "A".to_string())]),
        annotations: BTreeMap::from([("summary".to_string(), "s".to_string())]),
        starts_at: 1_700_000_000_000,
        ends_at: Some(1_700_000_240_000),
        generator_url: "http://x/graph?g0.expr=up&g0.tab=1".into(),
    }]);
    wait_for("the retried batch", || !s.bodies.lock().is_empty()).await;
    let body = s.bodies.lock()[0].clone();
    assert_eq!(
        body,
        serde_json::json!([{
            "labels": {"alertname": "A", "cluster": "main"},
            "annotations": {"summary": "s"},
            "startsAt": "2023-11-14T22:13:20.000Z",
            "endsAt": "2023-11-14T22:17:20.000Z",
            "generatorURL": "http://x/graph?g0.expr=up&g0.tab=1"
        }])
    );
    let url = format!("http://{addr}/api/v2/alerts");
    wait_for("counters", || n.stats().sent_total.get(&url) == Some(&1)).await;
    let st = n.stats();
    assert_eq!(st.errors_total.get(&url), None);
    assert_eq!(st.alertmanagers_discovered, 1);
    assert_eq!(st.queue_length, 0);
    let mut e = storage::metrics::Exposition::new();
    n.render_metrics(&mut e);
    let text = e.finish();
    assert!(
        text.contains(&format!(
            "prometheus_notifications_sent_total{{alertmanager=\"{url}\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains("prometheus_notifications_queue_capacity 10000"),
        "{text}"
    );
}

#[tokio::test]
async fn unreachable_alertmanager_counts_errors_and_full_queue_drops() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let mut o = opts();
    o.queue_capacity = 2;
    let n = Notifier::new(&config(&addr, ""), o).unwrap();
    let alert = |i: usize| NotifierAlert {
        labels: BTreeMap::from([("alertname".to_string(), format!("A{i}"))]),
        annotations: BTreeMap::new(),
        starts_at: 0,
        ends_at: None,
        generator_url: String::new(),
    };
    n.send((0..3).map(alert).collect());
    assert_eq!(n.stats().dropped_total, 1);
    assert_eq!(n.stats().queue_length, 2);
    n.run();
    let url = format!("http://{addr}/api/v2/alerts");
    wait_for("errors", || n.stats().errors_total.get(&url) == Some(&2)).await;
}

#[test]
fn rejects_unsupported_settings() {
    let mut c = config("a:1", "");
    c.alertmanagers[0].api_version = "v1".into();
    assert!(Notifier::new(&c, opts()).unwrap_err().contains("api_version"));
    let mut c = config("a:1", "");
    c.alertmanagers[0].scheme = "ftp".into();
    assert!(Notifier::new(&c, opts()).unwrap_err().contains("scheme"));
}

const T: i64 = 1_700_000_000_000;

#[tokio::test]
async fn manager_sends_firing_resends_and_resolved_alerts() {
    let (s, addr) = stub("/am", 0).await;
    let n = Notifier::new(&config(&addr, "/am/"), opts()).unwrap();
    n.run();
    let dir = tempfile::tempdir().unwrap();
    let mut o = DbOptions::new(dir.path());
    o.auto_maintenance = false;
    let db = Arc::new(Db::open(o).unwrap());
    {
        let l = Labels::from_pairs([("__name__", "x"), ("instance", "i")]);
        let mut app = db.appender();
        for i in 0..20 {
            let v = if i < 12 { 20.0 } else { 1.0 };
            app.append(SeriesRef::NONE, &l, T + i * 15_000, v).unwrap();
        }
        app.commit().unwrap();
    }
    let engine = Arc::new(query::Engine::new(query::EngineOptions::default()));
    let m = RuleManager::new(
        db.clone(),
        db.clone(),
        engine,
        RuleManagerOptions {
            run_evaluations: false,
            external_url: "http://sextant:9090/".into(),
            notifier: Some(n.clone()),
            ..Default::default()
        },
    );
    m.load_sources(&[RuleSource {
        name: "n.yml".into(),
        text: "groups:\n- name: g\n  interval: 15s\n  rules:\n  - alert: Big\n    expr: x > 10\n    annotations: {summary: '{{ $labels.instance }}={{ $value }}'}\n".into(),
    }])
    .unwrap();
    let eval = |t: i64| m.eval_group_at("g", t).unwrap();
    eval(T); // fires at once (for: 0): sent
    eval(T + 30_000); // not re-sent within a minute
    eval(T + 61_000); // re-sent
    eval(T + 180_000); // resolved (x is 1 from T+180s): sent with endsAt = resolution
                       // The sends were queued without yielding: they may arrive in one batch or several.
    let sent = || -> Vec<serde_json::Value> {
        let b = s.bodies.lock();
        b.iter()
            .flat_map(|b| b.as_array().cloned().unwrap_or_default())
            .collect()
    };
    wait_for("three alerts", || sent().len() == 3).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let alerts = sent();
    assert_eq!(alerts.len(), 3, "{alerts:?}");
    let first = &alerts[0];
    assert_eq!(
        first["labels"],
        serde_json::json!({"alertname": "Big", "instance": "i", "cluster": "main"})
    );
    assert_eq!(first["annotations"]["summary"], "i=20");
    assert_eq!(first["startsAt"], "2023-11-14T22:13:20.000Z");
    // Valid for 4 × max(resend delay, interval) = 4 min.
    assert_eq!(first["endsAt"], "2023-11-14T22:17:20.000Z");
    assert_eq!(
        first["generatorURL"],
        "http://sextant:9090/graph?g0.expr=x+%3E+10&g0.tab=1"
    );
    assert_eq!(alerts[1]["endsAt"], "2023-11-14T22:18:21.000Z");
    assert_eq!(alerts[2]["endsAt"], "2023-11-14T22:16:20.000Z");
    assert_eq!(alerts[2]["startsAt"], "2023-11-14T22:13:20.000Z");
}

#[tokio::test]
async fn groups_run_on_their_own_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = DbOptions::new(dir.path());
    o.auto_maintenance = false;
    let db = Arc::new(Db::open(o).unwrap());
    let engine = Arc::new(query::Engine::new(query::EngineOptions::default()));
    let m = RuleManager::new(db.clone(), db.clone(), engine, RuleManagerOptions::default());
    m.load_sources(&[RuleSource {
        name: "t.yml".into(),
        text: "groups:\n- name: fast\n  interval: 50ms\n  rules:\n  - record: one\n    expr: vector(1)\n"
            .into(),
    }])
    .unwrap();
    wait_for("two evaluations", || {
        m.groups()[0].rules[0].last_evaluation_ms.is_some()
            && db
                .querier(0, i64::MAX)
                .unwrap()
                .select(
                    &storage::SelectHints {
                        mint: 0,
                        maxt: i64::MAX,
                    },
                    &[storage::Matcher::equal("__name__", "one")],
                )
                .unwrap()
                .first()
                .is_some_and(|s| s.samples.len() >= 2)
    })
    .await;
    let g = &m.groups()[0];
    assert_eq!(g.rules[0].health, crate::status::RuleHealth::Ok);
    // Evaluation timestamps are aligned to the interval plus the group's offset.
    let t = g.last_evaluation_ms.unwrap();
    let series = db
        .querier(0, i64::MAX)
        .unwrap()
        .select(
            &storage::SelectHints {
                mint: 0,
                maxt: i64::MAX,
            },
            &[storage::Matcher::equal("__name__", "one")],
        )
        .unwrap();
    let ts: Vec<i64> = series[0].samples.iter().map(|s| s.t).collect();
    assert!(ts.windows(2).all(|w| (w[1] - w[0]) % 50 == 0), "{ts:?}");
    assert!(ts.contains(&t) || t > *ts.last().unwrap());
    m.stop();
}
