//! End to end with Debian's real `prometheus-alertmanager` as the receiver (skipped when it
//! is not installed): alerts sent by the notifier show up in Alertmanager's own API, also
//! when that Alertmanager serves TLS and requires basic auth (its `--web.config.file`).

#![allow(clippy::unwrap_used)]

use rules::{AlertingConfig, AlertmanagerConfig, Notifier, NotifierAlert, NotifierOptions, StaticConfig};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const BIN: &str = "/usr/bin/prometheus-alertmanager";

/// Kills the Alertmanager we started when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Alertmanager on a free loopback port with a black-hole receiver (and the web
/// configuration `web`, if any); the guard stops it.
fn start_alertmanager(dir: &Path, web: Option<&Path>) -> (Guard, u16) {
    let cfg = dir.join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(w) = web {
        cmd.arg(format!("--web.config.file={}", w.display()));
    }
    (Guard(cmd.spawn().unwrap()), port)
}

#[tokio::test]
async fn real_alertmanager_receives_alerts() {
    if !Path::new(BIN).exists() {
        eprintln!("prometheus-alertmanager not installed: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_guard, port) = start_alertmanager(dir.path(), None);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{base}/-/ready")).send().await {
            if r.status().is_success() {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "alertmanager did not become ready");

    let am = AlertingConfig {
        alertmanagers: vec![AlertmanagerConfig {
            scheme: "http".into(),
            path_prefix: String::new(),
            timeout: Some(Duration::from_secs(5)),
            api_version: "v2".into(),
            static_configs: vec![StaticConfig {
                targets: vec![format!("127.0.0.1:{port}")],
                labels: BTreeMap::new(),
            }],
            ..Default::default()
        }],
        alert_relabel_configs: false,
    };
    let n = Notifier::new(
        &am,
        NotifierOptions {
            external_labels: BTreeMap::from([("cluster".into(), "test".into())]),
            ..Default::default()
        },
    )
    .unwrap();
    n.run();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    n.send(vec![NotifierAlert {
        labels: BTreeMap::from([
            ("alertname".into(), "BeaconNodeNotSynced".into()),
            ("instance".into(), "node-1".into()),
        ]),
        annotations: BTreeMap::from([("summary".into(), "not synced".into())]),
        starts_at: now - 60_000,
        ends_at: Some(now + 240_000),
        generator_url: "http://sextant/graph?g0.expr=up&g0.tab=1".into(),
    }]);
    let mut got = serde_json::Value::Null;
    for _ in 0..100 {
        let v: serde_json::Value = client
            .get(format!("{base}/api/v2/alerts"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v.as_array().is_some_and(|a| !a.is_empty()) {
            got = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a = &got[0];
    assert_eq!(a["labels"]["alertname"], "BeaconNodeNotSynced", "{got}");
    assert_eq!(a["labels"]["cluster"], "test");
    assert_eq!(a["annotations"]["summary"], "not synced");
    assert_eq!(a["generatorURL"], "http://sextant/graph?g0.expr=up&g0.tab=1");
    assert_eq!(a["status"]["state"], "active");
    let url = format!("http://127.0.0.1:{port}/api/v2/alerts");
    // The counter is bumped once the POST returned, which may trail the alert's arrival.
    for _ in 0..100 {
        if n.stats().sent_total.get(&url) == Some(&1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("sent counter not updated: {:?}", n.stats());
}

/// An Alertmanager on TLS with basic auth: the notifier's `tls_config` and `basic_auth`
/// reach it; wrong credentials are refused (401) and counted as errors, nothing arrives.
#[tokio::test]
async fn real_alertmanager_behind_tls_and_basic_auth() {
    if !Path::new(BIN).exists() {
        eprintln!("prometheus-alertmanager not installed: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = dir.path().join("am.crt");
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(dir.path().join("am.key"), c.signing_key.serialize_pem()).unwrap();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  sextant: {hash}\n",
            cert.display(),
            dir.path().join("am.key").display()
        ),
    )
    .unwrap();
    let (_guard, port) = start_alertmanager(dir.path(), Some(&web));
    let ca = reqwest::Certificate::from_pem(c.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let base = format!("https://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = client
            .get(format!("{base}/-/ready"))
            .basic_auth("sextant", Some("s3cret"))
            .send()
            .await
        {
            if r.status().is_success() {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "alertmanager did not become ready");

    let yaml = |password: &str| {
        format!(
            "alertmanagers:\n- scheme: https\n  timeout: 5s\n  tls_config: {{ca_file: {}}}\n  basic_auth: {{username: sextant, password: {password}}}\n  static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n",
            cert.display()
        )
    };
    let url = format!("{base}/api/v2/alerts");
    let alert = |name: &str| {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        NotifierAlert {
            labels: BTreeMap::from([("alertname".into(), name.into())]),
            annotations: BTreeMap::new(),
            starts_at: now - 60_000,
            ends_at: Some(now + 240_000),
            generator_url: "http://sextant/graph".into(),
        }
    };
    let opts = || NotifierOptions {
        max_attempts: 1,
        ..Default::default()
    };

    // Wrong password: refused, counted as an error.
    let wrong: AlertingConfig = storage::model::yaml::from_str(&yaml("nope")).unwrap();
    let n = Notifier::new(&wrong, opts()).unwrap();
    n.run();
    n.send(vec![alert("Refused")]);
    let mut counted = false;
    for _ in 0..100 {
        if n.stats().errors_total.get(&url) == Some(&1) {
            counted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(counted, "refused send not counted: {:?}", n.stats());

    // Right password over TLS: the alert arrives.
    let right: AlertingConfig = storage::model::yaml::from_str(&yaml("s3cret")).unwrap();
    let n = Notifier::new(&right, opts()).unwrap();
    n.run();
    n.send(vec![alert("Delivered")]);
    let mut names = Vec::new();
    for _ in 0..100 {
        let v: serde_json::Value = client
            .get(&url)
            .basic_auth("sextant", Some("s3cret"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        names = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["labels"]["alertname"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if !names.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(names, ["Delivered"], "only the authenticated alert arrives");
}
