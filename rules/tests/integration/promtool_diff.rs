//! Differential test against Debian's Prometheus (2.42): Sextant evaluates a rule file on
//! some series, and `promtool test rules` checks, on the same series and rules, that
//! Prometheus computes exactly the recorded series, `ALERTS`, and firing alerts (labels and
//! expanded annotations) that Sextant did. Skipped when `promtool` is not installed.
//!
//! Windows are chosen so that no sample sits on a range boundary (Prometheus 2 ranges are
//! closed, Prometheus 3's left-open) and counters start far from zero (extrapolation order
//! changed in 2.51).

#![allow(clippy::unwrap_used)]

use rules::{AlertState, RuleManager, RuleManagerOptions, RuleSource};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use storage::{Appendable, Db, DbOptions, Labels, SeriesRef};

const RULES: &str = r#"
groups:
  - name: diff
    interval: 1m
    rules:
      - record: job:requests:rate150s
        expr: sum by (job) (rate(requests_total[150s]))
        labels:
          source: rules
      - record: job:requests:ratio
        expr: job:requests:rate150s / on(job) group_left sum by (job) (up)
      - record: instance:up:count
        expr: count without (instance) (up == 1)
      - record: total:scalar
        expr: scalar(sum(up)) * 2
      - alert: InstanceDown
        expr: up == 0
        for: 3m
        labels:
          severity: page
          owner: "team-{{ $labels.job }}"
        annotations:
          summary: "{{ $labels.instance }} of {{ $labels.job }} down"
          value: "{{ $value }} {{ humanize 12345.678 }} {{ humanizeDuration 3725 }} {{ humanizeDuration 0.0015 }}"
          more: "{{ humanizeTimestamp 1700000000.5 }} {{ 0.000012 | humanize }} {{ humanize1024 2048 }} {{ humanize 1e30 }}"
          text: "{{ $labels.instance | stripPort | toUpper }} {{ title \"foo bar\" }} {{ if eq $value 0.0 }}zero{{ else }}nonzero{{ end }} {{ printf \"%5.1f|%-4d|%x|%q\" 3.25 7 255 \"q\" }}"
      - alert: DbFlap
        expr: up{job="db"} == 0
        keep_firing_for: 4m
        labels:
          severity: info
      - alert: HighRate
        expr: sum by (job) (rate(requests_total[150s])) > 1.5
        for: 2m
        annotations:
          summary: "rate {{ printf \"%.3f\" $value }} ({{ $value | humanizePercentage }})"
"#;

struct Input {
    labels: Vec<(&'static str, &'static str)>,
    values: Vec<f64>,
}

fn inputs() -> Vec<Input> {
    let n = 31;
    let up = |down_from: usize, down_to: usize| -> Vec<f64> {
        (0..n)
            .map(|i| {
                if (down_from..down_to).contains(&i) {
                    0.0
                } else {
                    1.0
                }
            })
            .collect()
    };
    let counter = |start: f64, per_min: &dyn Fn(usize) -> f64| -> Vec<f64> {
        let mut v = start;
        (0..n)
            .map(|i| {
                v += per_min(i);
                v
            })
            .collect()
    };
    vec![
        Input {
            labels: vec![("__name__", "up"), ("job", "api"), ("instance", "a:1")],
            values: up(5, 15),
        },
        Input {
            labels: vec![("__name__", "up"), ("job", "api"), ("instance", "b:1")],
            values: up(99, 99),
        },
        Input {
            labels: vec![("__name__", "up"), ("job", "db"), ("instance", "c:1")],
            values: up(20, 22),
        },
        Input {
            labels: vec![
                ("__name__", "requests_total"),
                ("job", "api"),
                ("instance", "a:1"),
            ],
            values: counter(10_000.0, &|i| if (8..20).contains(&i) { 150.0 } else { 30.0 }),
        },
        Input {
            labels: vec![("__name__", "requests_total"), ("job", "db"), ("instance", "c:1")],
            // Ends at 12 min: its recorded series disappears (staleness).
            values: counter(5_000.0, &|_| 12.0).into_iter().take(13).collect(),
        },
    ]
}

fn promtool() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/promtool");
    p.exists().then_some(p)
}

fn labels_json(l: &Labels) -> String {
    let name = l.get("__name__").unwrap_or("");
    let rest: Vec<String> = l
        .iter()
        .filter(|l| &*l.name != "__name__")
        .map(|l| format!("{}={:?}", l.name, &*l.value))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

#[test]
fn recorded_series_and_alerts_match_prometheus() {
    let Some(promtool) = promtool() else {
        eprintln!("promtool not installed: skipping the differential rules test");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut o = DbOptions::new(dir.path().join("db"));
    o.auto_maintenance = false;
    let db = Arc::new(Db::open(o).unwrap());
    let inputs = inputs();
    {
        let mut app = db.appender();
        for inp in &inputs {
            let l = Labels::from_pairs(inp.labels.iter().copied());
            for (i, v) in inp.values.iter().enumerate() {
                app.append(SeriesRef::NONE, &l, i as i64 * 60_000, *v).unwrap();
            }
        }
        app.commit().unwrap();
    }
    let engine = Arc::new(query::Engine::new(query::EngineOptions::default()));
    let m = RuleManager::new(
        db.clone(),
        db.clone(),
        engine.clone(),
        RuleManagerOptions {
            run_evaluations: false,
            ..Default::default()
        },
    );
    m.load_sources(&[RuleSource {
        name: "rules.yml".into(),
        text: RULES.into(),
    }])
    .unwrap();

    let checkpoints = [4, 7, 9, 12, 16, 19, 20, 21, 22, 23, 25, 26, 27, 30];
    let mut alert_tests = Vec::new();
    let mut expr_tests = Vec::new();
    for minute in 0..=30i64 {
        let t = minute * 60_000;
        m.eval_group_at("diff", t).unwrap();
        for g in m.groups() {
            for r in &g.rules {
                assert_eq!(r.last_error, None, "{} at {minute}m", r.name);
            }
        }
        if !checkpoints.contains(&minute) {
            continue;
        }
        for alertname in ["InstanceDown", "HighRate", "DbFlap"] {
            let firing: Vec<_> = m
                .alerts()
                .into_iter()
                .filter(|a| a.state == AlertState::Firing && a.labels["alertname"] == alertname)
                .map(|a| {
                    let mut labels = a.labels.clone();
                    labels.remove("alertname");
                    json!({"exp_labels": labels, "exp_annotations": a.annotations})
                })
                .collect();
            alert_tests.push(
                json!({"eval_time": format!("{minute}m"), "alertname": alertname, "exp_alerts": firing}),
            );
        }
        for expr in [
            "{__name__=~\"job:.*|instance:.*|total:.*\"}",
            "ALERTS",
            "ALERTS_FOR_STATE",
        ] {
            let out = engine.instant(&*db, expr, t).unwrap();
            let query::Value::Vector(v) = out.value else {
                panic!()
            };
            let samples: Vec<_> = v
                .iter()
                .map(|s| json!({"labels": labels_json(&s.labels), "value": s.v}))
                .collect();
            expr_tests.push(json!({"expr": expr, "eval_time": format!("{minute}m"), "exp_samples": samples}));
        }
    }
    // Sanity: the scenario exercises what it should.
    let all = serde_json::to_string(&alert_tests).unwrap();
    assert!(all.contains("team-api") && all.contains("rate 2.500 (250%)") && all.contains("a:1 of api down"));
    assert!(serde_json::to_string(&expr_tests)
        .unwrap()
        .contains("ALERTS_FOR_STATE"));

    let series: Vec<_> = inputs
        .iter()
        .map(|inp| {
            let l = Labels::from_pairs(inp.labels.iter().copied());
            let vals: Vec<String> = inp.values.iter().map(|v| format!("{v}")).collect();
            json!({"series": labels_json(&l), "values": vals.join(" ")})
        })
        .collect();
    let test = json!({
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": alert_tests,
            "promql_expr_test": expr_tests,
        }]
    });
    std::fs::write(dir.path().join("rules.yml"), RULES).unwrap();
    let test_path = dir.path().join("test.yml");
    std::fs::write(&test_path, serde_json::to_string_pretty(&test).unwrap()).unwrap();
    if let Ok(keep) = std::env::var("RULES_DIFF_KEEP") {
        std::fs::write(
            PathBuf::from(&keep).join("test.yml"),
            serde_json::to_string_pretty(&test).unwrap(),
        )
        .unwrap();
        std::fs::write(PathBuf::from(&keep).join("rules.yml"), RULES).unwrap();
    }
    let out = Command::new(promtool)
        .arg("test")
        .arg("rules")
        .arg(&test_path)
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool disagrees:\n{text}");
    assert!(text.contains("SUCCESS"), "{text}");
}
