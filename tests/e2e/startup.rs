//! Start-up, health, flags and configuration errors.

use crate::support::*;
use std::process::Command;

#[test]
fn healthy_and_ready_answer_like_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();
    let (s, body) = http_get(&server.url("/-/healthy")).unwrap();
    assert_eq!(s, 200);
    assert!(String::from_utf8_lossy(&body).contains("Healthy"));
    let (s, _) = http_get(&server.url("/-/ready")).unwrap();
    assert_eq!(s, 200);
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("Listening on http://127.0.0.1:"), "{log}");
    assert!(
        log.contains(&dir.path().display().to_string()),
        "start-up names the data dir: {log}"
    );
}

#[test]
fn sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::builder(dir.path()).start();
    assert_eq!(server.terminate(), Some(0));
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("SIGTERM"), "{log}");
}

#[test]
fn version_and_help() {
    let out = Command::new(bin()).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sextant "));
    let out = Command::new(bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--config.file",
        "--storage.tsdb.path",
        "--storage.tsdb.retention.time",
        "--storage.tsdb.retention.size",
        "--web.listen-address",
        "--log.level",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn bad_config_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_intervall: 15s\n").unwrap();
    let out = Command::new(bin())
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
    assert!(err.contains("scrape_intervall"), "{err}");
}

#[test]
fn bad_flag_values_are_named() {
    let out = Command::new(bin())
        .arg("--storage.tsdb.retention.time=15x")
        .arg("--web.listen-address=127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("storage.tsdb.retention.time"));
}
