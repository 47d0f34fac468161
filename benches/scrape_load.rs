#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Scrape load: `N` targets of node_exporter size (`tests/fixtures/exposition/node_exporter.txt`,
//! 507 series) every `I` seconds for `D` seconds, scraped by Sextant's `ScrapeManager` into a
//! `storage::Db`, then by Prometheus (`/usr/bin/prometheus`) and VictoriaMetrics
//! (`/usr/bin/victoria-metrics -promscrape.config=...`), each if installed, with the same
//! config. Reports CPU seconds per second and peak RSS of each scraper. The fixture server runs
//! in a child process, so its CPU is not counted for any of them.
//!
//! Run: `cargo bench --bench scrape_load -- [targets] [interval_s] [duration_s]`
//! (defaults 1000, 15, 60). `SCRAPE_LOAD_ONLY=sextant,victoria` runs a subset. Not a
//! criterion bench: it measures a steady state, not a function.

use ingest::scrape::{GlobalConfig, ScrapeConfig, ScrapeManager, StaticConfig};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::PromDuration;

fn fixture() -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exposition/node_exporter.txt");
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// `--serve`: serve the fixture on 127.0.0.1:0 and print the port.
fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let body = axum::body::Bytes::from(fixture());
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let body = body.clone();
                async move {
                    (
                        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        std::io::stdout().flush().expect("flush");
        axum::serve(listener, app).await.expect("serve");
    });
}

/// utime + stime of a process in seconds, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// Peak resident set size in MiB, from `/proc/<pid>/status`.
fn peak_rss_mib(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn sextant(addr: &str, targets: usize, interval: u64, duration: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let db = Arc::new(storage::Db::open(storage::DbOptions::new(dir.path())).expect("db"));
        let mgr = ScrapeManager::new(db.clone());
        let mut job = ScrapeConfig::new("node");
        job.static_configs = (0..targets)
            .map(|i| StaticConfig {
                targets: vec![addr.to_string()],
                labels: [("shard".to_string(), i.to_string())].into_iter().collect(),
            })
            .collect();
        let global = GlobalConfig {
            scrape_interval: PromDuration::secs(interval),
            ..GlobalConfig::default()
        };
        mgr.apply_config(&global, &[job]).expect("config");
        // Warm-up: every target scrapes once (series created).
        tokio::time::sleep(Duration::from_secs(interval + 1)).await;
        let (c0, t0) = (cpu_seconds("self"), Instant::now());
        tokio::time::sleep(Duration::from_secs(duration)).await;
        let (c1, t1) = (cpu_seconds("self"), Instant::now());
        let up = mgr.targets().iter().filter(|t| t.health == ingest::TargetHealth::Up).count();
        println!(
            "sextant:    {targets} targets every {interval}s: {:.3} CPU s/s, peak RSS {:.0} MiB, {up} targets up",
            (c1 - c0) / (t1 - t0).as_secs_f64(),
            peak_rss_mib("self"),
        );
        mgr.stop().await;
        let _ = db.close();
    });
}

/// The same scrape config for Prometheus and VictoriaMetrics: one job, `targets` static
/// groups (the same address, a distinct `shard` label each).
fn scrape_yaml(addr: &str, targets: usize, interval: u64) -> String {
    let mut cfg = format!(
        "global:\n  scrape_interval: {interval}s\nscrape_configs:\n  - job_name: node\n    static_configs:\n"
    );
    for i in 0..targets {
        cfg.push_str(&format!(
            "      - targets: ['{addr}']\n        labels: {{shard: '{i}'}}\n"
        ));
    }
    cfg
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Runs an external scraper (`args` get the config path, data dir and port), measures its CPU
/// over `duration` after a warm-up of one interval, and prints one line.
fn external(
    name: &str,
    bin: &str,
    args: impl Fn(&std::path::Path, &std::path::Path, u16) -> Vec<String>,
    addr: &str,
    targets: usize,
    interval: u64,
    duration: u64,
) {
    if !std::path::Path::new(bin).exists() {
        println!("{name}: {bin} not installed, skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg_path = dir.path().join("scrape.yml");
    std::fs::write(&cfg_path, scrape_yaml(addr, targets, interval)).expect("write config");
    let mut child = Command::new(bin)
        .args(args(&cfg_path, &dir.path().join("data"), free_port()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    let pid = child.id().to_string();
    std::thread::sleep(Duration::from_secs(interval + 1));
    let (c0, t0) = (cpu_seconds(&pid), Instant::now());
    std::thread::sleep(Duration::from_secs(duration));
    let (c1, t1) = (cpu_seconds(&pid), Instant::now());
    println!(
        "{name:<11} {targets} targets every {interval}s: {:.3} CPU s/s, peak RSS {:.0} MiB",
        (c1 - c0) / (t1 - t0).as_secs_f64(),
        peak_rss_mib(&pid),
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn prometheus(addr: &str, targets: usize, interval: u64, duration: u64) {
    external(
        "prometheus:",
        "/usr/bin/prometheus",
        |cfg, data, port| {
            vec![
                format!("--config.file={}", cfg.display()),
                format!("--storage.tsdb.path={}", data.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ]
        },
        addr,
        targets,
        interval,
        duration,
    );
}

fn victoria_metrics(addr: &str, targets: usize, interval: u64, duration: u64) {
    external(
        "victoria:",
        "/usr/bin/victoria-metrics",
        |cfg, data, port| {
            vec![
                format!("-promscrape.config={}", cfg.display()),
                format!("-storageDataPath={}", data.display()),
                format!("-httpListenAddr=127.0.0.1:{port}"),
            ]
        },
        addr,
        targets,
        interval,
        duration,
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--bench"))
        .collect();
    if args.first().map(String::as_str) == Some("--serve") {
        serve();
        return;
    }
    let num = |i: usize, d: u64| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (targets, interval, duration) = (num(0, 1000) as usize, num(1, 15), num(2, 60));
    let exe = std::env::current_exe().expect("current exe");
    let mut server = Command::new(exe)
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start fixture server");
    let mut line = String::new();
    if let Some(out) = server.stdout.take() {
        BufReader::new(out).read_line(&mut line).expect("server port");
    }
    let addr = format!("127.0.0.1:{}", line.trim());
    let only = std::env::var("SCRAPE_LOAD_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    if run("sextant") {
        sextant(&addr, targets, interval, duration);
    }
    if run("prometheus") {
        prometheus(&addr, targets, interval, duration);
    }
    if run("victoria") {
        victoria_metrics(&addr, targets, interval, duration);
    }
    let _ = server.kill();
    let _ = server.wait();
}
