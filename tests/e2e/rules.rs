//! Rules end to end: a rule file from the configuration is evaluated, recorded series are
//! queryable, alerts fire and show on `/api/v1/rules` and `/api/v1/alerts`.

use crate::support::*;
use std::time::{Duration, Instant};

#[test]
fn recording_and_alerting_rules_run_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("test.rules.yml"),
        "groups:\n  - name: e2e\n    interval: 1s\n    rules:\n      - record: job:e2e_value:sum\n        expr: sum by (job) (e2e_value)\n      - alert: ValueHigh\n        expr: e2e_value > 5\n        labels:\n          severity: page\n        annotations:\n          summary: 'value is {{ $value }} on {{ $labels.instance }}'\n",
    )
    .unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        "global:\n  evaluation_interval: 1s\nrule_files: ['*.rules.yml']\n",
    )
    .unwrap();
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .arg("--rules.beacon-preset=false")
        .start();

    // Feed a series continuously so the rules have something at every evaluation.
    let feed = |server: &TestServer| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let req = prompb::WriteRequest {
            timeseries: vec![series(
                "e2e_value",
                &[("instance", "a"), ("job", "e2e")],
                &[(now, 7.0)],
            )],
            ..Default::default()
        };
        assert_eq!(remote_write(server, &req).0, 204);
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut firing = serde_json::Value::Null;
    while Instant::now() < deadline {
        feed(&server);
        let (_, alerts) = get_json(&server.url("/api/v1/alerts"));
        if alerts["data"]["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["state"] == "firing"))
        {
            firing = alerts;
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let alert = &firing["data"]["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "ValueHigh", "{firing}");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["annotations"]["summary"], "value is 7 on a");

    let (_, recorded) = get_json(&server.url(&format!("/api/v1/query?query={}", enc("job:e2e_value:sum"))));
    assert_eq!(recorded["data"]["result"][0]["value"][1], "7", "{recorded}");
    // `ALERTS` is written from the second evaluation on (the first one after start restores).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        feed(&server);
        let (_, v) = get_json(&server.url(&format!(
            "/api/v1/query?query={}",
            enc("ALERTS{alertname=\"ValueHigh\"}")
        )));
        if v["data"]["result"].as_array().is_some_and(|r| !r.is_empty()) {
            assert_eq!(v["data"]["result"][0]["metric"]["alertstate"], "firing", "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "no ALERTS series: {v}");
        std::thread::sleep(Duration::from_millis(300));
    }

    let (s, rules) = get_json(&server.url("/api/v1/rules"));
    assert_eq!(s, 200);
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "e2e", "{rules}");
    assert_eq!(group["rules"].as_array().unwrap().len(), 2);
    let (_, only_alerts) = get_json(&server.url("/api/v1/rules?type=alert"));
    assert_eq!(
        only_alerts["data"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn invalid_rule_file_is_named_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(\n",
    )
    .unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "rule_files: ['bad.yml']\n").unwrap();
    let out = std::process::Command::new(bin())
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yml"), "{err}");
}
