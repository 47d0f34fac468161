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
fn sigterm_during_start_up_stops_cleanly() {
    // From the moment the listener is up the signal handlers are installed, so a SIGTERM
    // while storage is still opening is an ordered stop (exit 0), not the default kill.
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::builder(dir.path()).no_ready_wait().start();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("Listening on"))
    {
        assert!(std::time::Instant::now() < deadline, "never listened");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(server.terminate(), Some(0));
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

#[test]
fn embedded_default_scrapes_itself_and_the_local_beacon_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).embedded_config().start();
    let (s, body) = http_get(&server.url("/metrics")).unwrap();
    assert_eq!(s, 200);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
    assert!(text.contains("prometheus_tsdb_head_series"), "{text}");
    let (_, targets) = get_json(&server.url("/api/v1/targets"));
    let active = targets["data"]["activeTargets"].as_array().unwrap().clone();
    let jobs: Vec<&str> = active.iter().map(|t| t["scrapePool"].as_str().unwrap()).collect();
    assert!(jobs.contains(&"sextant") && jobs.contains(&"beacon"), "{targets}");
    let me = active.iter().find(|t| t["scrapePool"] == "sextant").unwrap();
    assert_eq!(
        me["scrapeUrl"],
        format!("{}/metrics", server.base),
        "self-scrape points at the bound port"
    );
    let beacon = active.iter().find(|t| t["scrapePool"] == "beacon").unwrap();
    assert_eq!(beacon["scrapeUrl"], "http://127.0.0.1:8008/metrics");
}

#[test]
fn reload_over_http_applies_a_good_config_and_rejects_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "scrape_configs: []\n").unwrap();
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .arg("--web.enable-lifecycle")
        .start();
    let jobs = || -> Vec<String> {
        let (_, t) = get_json(&server.url("/api/v1/targets"));
        t["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["scrapePool"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(jobs().is_empty());
    std::fs::write(
        &cfg,
        "scrape_configs:\n  - job_name: added\n    static_configs:\n      - targets: ['127.0.0.1:1']\n",
    )
    .unwrap();
    let (s, _, _) = http_request("POST", &server.url("/-/reload"), &[], b"").unwrap();
    assert_eq!(s, 200);
    assert_eq!(jobs(), ["added"]);
    std::fs::write(
        &cfg,
        "scrape_configs:\n  - job_name: bad\n    scrape_intervall: 1s\n",
    )
    .unwrap();
    let (s, _, body) = http_request("POST", &server.url("/-/reload"), &[], b"").unwrap();
    assert_eq!(s, 500);
    assert!(String::from_utf8_lossy(&body).contains("scrape_intervall"));
    assert_eq!(jobs(), ["added"], "the running configuration stays");
}

#[test]
fn reload_needs_the_lifecycle_flag() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();
    let (s, _, _) = http_request("POST", &server.url("/-/reload"), &[], b"").unwrap();
    assert_eq!(s, 403);
}

/// The environment of a running process, as `NAME=value` strings.
fn environ_of(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    raw.split(|&b| b == 0)
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

#[test]
fn malloc_asks_for_huge_pages_where_the_kernel_gives_them_on_request() {
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    let dir = tempfile::tempdir().unwrap();
    // (glibc rewrites the variable in place when it holds several tunables, so the one-tunable
    // case is the one `/proc/<pid>/environ` shows faithfully.)
    let server = TestServer::builder(dir.path()).env("GLIBC_TUNABLES", "").start();
    let env = environ_of(server.pid().unwrap());
    let tunables = env.iter().find(|e| e.starts_with("GLIBC_TUNABLES="));
    let expected = if thp.contains("[madvise]") {
        "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"
    } else {
        // Huge pages always or never given: nothing to ask for, no re-execution.
        "GLIBC_TUNABLES="
    };
    assert_eq!(tunables.map(String::as_str), Some(expected), "THP mode {thp:?}");
    let (s, _) = http_get(&server.url("/-/ready")).unwrap();
    assert_eq!(s, 200);
    // An operator's own choice is kept.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path())
        .env("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0")
        .start();
    let env = environ_of(server.pid().unwrap());
    assert!(
        env.iter().any(|e| e == "GLIBC_TUNABLES=glibc.malloc.hugetlb=0"),
        "{env:?}"
    );
}
