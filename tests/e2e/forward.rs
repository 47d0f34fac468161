//! Forwarding by remote write to real receivers on loopback: Debian's `prometheus`
//! (`--web.enable-remote-write-receiver`) and Debian's `victoria-metrics`, plus a second
//! Sextant for remote write 2.0 (neither Debian receiver speaks it).
//!
//! The outage test stops the receivers for `SEXTANT_FORWARD_OUTAGE_SECS` seconds (default 8,
//! so CI stays well under a minute; set it to 300 for the "several minutes" run).

use crate::support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const VICTORIA: &str = "/usr/bin/victoria-metrics";

/// Spacing of the pushed samples: 100 ms, so that even a long outage run (the load pushes 50
/// steps a second) stays in the past, where every receiver shows it.
const STEP_MS: i64 = 100;

/// Series -> samples, series written as sorted `name=value` pairs.
type Data = BTreeMap<String, Vec<(i64, f64)>>;

/// Which receiver program.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Prometheus,
    Victoria,
    /// Another Sextant (the remote write 2.0 receiver), on a fixed port so it can restart.
    Sextant,
}

/// A receiver process that can be stopped and started again on the same port and data.
struct Receiver {
    kind: Kind,
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Receiver {
    fn start(kind: Kind) -> Receiver {
        let bin = match kind {
            Kind::Prometheus => PROMETHEUS,
            Kind::Victoria => VICTORIA,
            Kind::Sextant => bin(),
        };
        assert!(
            Path::new(bin).exists(),
            "the forwarding tests need {bin}: run scripts/test.sh, which installs it"
        );
        let mut r = Receiver {
            kind,
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        r.resume();
        r
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.base())
    }

    /// Starts the process (again) and waits until it is ready.
    fn resume(&mut self) {
        self.spawn();
        self.wait_ready();
    }

    /// Starts the process (again) without waiting.
    fn spawn(&mut self) {
        let data = self.dir.path().join("data");
        let mut cmd = match self.kind {
            Kind::Prometheus => {
                let cfg = self.dir.path().join("prometheus.yml");
                std::fs::write(&cfg, "global:\n  scrape_interval: 15s\n").unwrap();
                let mut c = Command::new(PROMETHEUS);
                c.arg(format!("--config.file={}", cfg.display()))
                    .arg(format!("--storage.tsdb.path={}", data.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
                    .arg("--web.enable-remote-write-receiver");
                c
            }
            Kind::Victoria => {
                let mut c = Command::new(VICTORIA);
                c.arg("-httpListenAddr")
                    .arg(format!("127.0.0.1:{}", self.port))
                    .arg("-storageDataPath")
                    .arg(&data)
                    .arg("-search.disableCache")
                    .arg("-search.latencyOffset=0s");
                c
            }
            Kind::Sextant => {
                let cfg = self.dir.path().join("sink.yml");
                std::fs::write(&cfg, "scrape_configs: []\n").unwrap();
                let mut c = Command::new(bin());
                c.arg(format!("--config.file={}", cfg.display()))
                    .arg(format!("--storage.tsdb.path={}", data.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
                    .arg("--otlp.grpc-listen-address=");
                c
            }
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start receiver");
        self.child = Some(child);
    }

    /// Waits until the process answers its readiness endpoint.
    fn wait_ready(&self) {
        let ready = match self.kind {
            Kind::Prometheus | Kind::Sextant => "/-/ready",
            Kind::Victoria => "/health",
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while http_get(&format!("{}{ready}", self.base())).map(|r| r.0).ok() != Some(200) {
            assert!(Instant::now() < deadline, "receiver did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the process with SIGTERM, as an operator would (VictoriaMetrics keeps recent
    /// rows in memory and loses them on SIGKILL); the data directory stays.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while !matches!(c.try_wait(), Ok(Some(_))) {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Every sample of series whose name starts with `prefix`.
    fn samples(&self, prefix: &str) -> Data {
        self.select(&format!("{{__name__=~\"{prefix}.*\"}}"), now_ms() + 1000)
    }

    /// Every sample of the series `selector` picks, up to `end_ms`.
    fn select(&self, selector: &str, end_ms: i64) -> Data {
        match self.kind {
            Kind::Prometheus | Kind::Sextant => instant_matrix(&self.base(), selector, end_ms),
            Kind::Victoria => {
                let (s, _) = http_get(&format!("{}/internal/force_flush", self.base())).unwrap();
                assert_eq!(s, 200);
                let url = format!(
                    "{}/api/v1/export?match[]={}&start=0&end={}",
                    self.base(),
                    enc(selector),
                    end_ms as f64 / 1000.0
                );
                let (s, body) = http_get(&url).unwrap();
                assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
                let mut out = Data::new();
                for line in String::from_utf8(body).unwrap().lines().filter(|l| !l.is_empty()) {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    let key = series_key(&v["metric"]);
                    let ts = v["timestamps"].as_array().unwrap();
                    let vs = v["values"].as_array().unwrap();
                    let e = out.entry(key).or_default();
                    for (t, x) in ts.iter().zip(vs) {
                        e.push((t.as_i64().unwrap(), x.as_f64().unwrap()));
                    }
                }
                for v in out.values_mut() {
                    v.sort_by_key(|p| p.0);
                    v.retain(|p| p.0 <= end_ms);
                }
                out
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn series_key(metric: &serde_json::Value) -> String {
    let m = metric.as_object().unwrap();
    let mut pairs: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// Raw samples through the Prometheus API: `selector[2h]` at `end_ms`.
fn instant_matrix(base: &str, selector: &str, end_ms: i64) -> Data {
    let q = format!("{selector}[2h]");
    let url = format!(
        "{base}/api/v1/query?query={}&time={}",
        enc(&q),
        end_ms as f64 / 1000.0
    );
    let (s, v) = get_json(&url);
    assert_eq!(s, 200, "{v}");
    let mut out = Data::new();
    for r in v["data"]["result"].as_array().unwrap() {
        let vals = r["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                    p[1].as_str().unwrap().parse::<f64>().unwrap(),
                )
            })
            .collect();
        out.insert(series_key(&r["metric"]), vals);
    }
    out
}

/// A config file forwarding to `urls` (name, url, protobuf message) with quick batches and
/// short backoffs.
fn forward_config(dir: &Path, urls: &[(&str, String, &str)]) -> PathBuf {
    forward_config_scraping(dir, urls, None)
}

/// Like [`forward_config`], also scraping `target` (host:port) every second as job `vmself`.
fn forward_config_scraping(dir: &Path, urls: &[(&str, String, &str)], target: Option<&str>) -> PathBuf {
    let mut y = match target {
        Some(t) => format!(
            "scrape_configs:\n  - job_name: vmself\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['{t}']\nremote_write:\n"
        ),
        None => String::from("scrape_configs: []\nremote_write:\n"),
    };
    for (name, url, msg) in urls {
        y.push_str(&format!(
            "  - url: {url}\n    name: {name}\n    protobuf_message: {msg}\n    queue_config: {{batch_send_deadline: 100ms, min_backoff: 20ms, max_backoff: 300ms, max_samples_per_send: 500, capacity: 2000, max_shards: 4}}\n"
        ));
    }
    let p = dir.join("sextant.yml");
    std::fs::write(&p, y).unwrap();
    p
}

/// Pushes `steps` samples for each of `series` series named `prefix{i=...}`: sample j is at
/// `base + j * STEP_MS` with value `i * 1e6 + j`.
fn push(server: &TestServer, prefix: &str, series: usize, base: i64, from: usize, to: usize) {
    for chunk in (from..to).collect::<Vec<_>>().chunks(20) {
        let ts = (0..series)
            .map(|i| {
                let samples: Vec<(i64, f64)> = chunk
                    .iter()
                    .map(|&j| (base + j as i64 * STEP_MS, (i * 1_000_000 + j) as f64))
                    .collect();
                crate::support::series(prefix, &[("i", &i.to_string())], &samples)
            })
            .collect();
        let (s, b) = remote_write(
            server,
            &prompb::WriteRequest {
                timeseries: ts,
                ..Default::default()
            },
        );
        assert!(s == 204 || s == 200, "push failed: {s} {b}");
    }
}

/// Asserts `got == want`, describing the first differences briefly when not.
#[track_caller]
fn check(got: &Data, want: &Data, what: &str) {
    if got == want {
        return;
    }
    let mut diffs = Vec::new();
    for k in want.keys().chain(got.keys().filter(|k| !want.contains_key(*k))) {
        let (g, w) = (
            got.get(k).cloned().unwrap_or_default(),
            want.get(k).cloned().unwrap_or_default(),
        );
        if g != w {
            let first = g
                .iter()
                .zip(&w)
                .position(|(a, b)| a != b)
                .unwrap_or(g.len().min(w.len()));
            diffs.push(format!(
                "{k}: got {} samples, want {}; first difference at #{first}: got {:?}, want {:?}",
                g.len(),
                w.len(),
                g.get(first),
                w.get(first)
            ));
        }
    }
    diffs.truncate(5);
    panic!("{what}: data differs:\n{}", diffs.join("\n"));
}

fn expected(prefix: &str, series: usize, base: i64, steps: usize) -> Data {
    (0..series)
        .map(|i| {
            (
                format!("__name__={prefix},i={i}"),
                (0..steps)
                    .map(|j| (base + j as i64 * STEP_MS, (i * 1_000_000 + j) as f64))
                    .collect(),
            )
        })
        .collect()
}

/// `metric{remote_name="name"}` from Sextant's /metrics.
fn queue_metric(server: &TestServer, metric: &str, name: &str) -> f64 {
    let (_, body) = http_get(&server.url("/metrics")).unwrap();
    let text = String::from_utf8(body).unwrap();
    let prefix = format!("{metric}{{remote_name=\"{name}\",");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1.0)
}

/// Waits until queue `name` has sent `n` samples and holds none.
fn wait_sent(server: &TestServer, name: &str, n: f64, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let sent = queue_metric(server, "prometheus_remote_storage_samples_total", name);
        let pending = queue_metric(server, "prometheus_remote_storage_samples_pending", name);
        if sent >= n && pending == 0.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "queue {name}: {sent} of {n} samples sent, {pending} pending"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn forwarded_data_matches_on_prometheus_victoriametrics_and_sextant_v2() {
    let prom = Receiver::start(Kind::Prometheus);
    let vm = Receiver::start(Kind::Victoria);
    let dir2 = tempfile::tempdir().unwrap();
    let sink = TestServer::builder(dir2.path()).start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = forward_config_scraping(
        dir.path(),
        &[
            ("prom", prom.write_url(), "prometheus.WriteRequest"),
            ("vm", vm.write_url(), "prometheus.WriteRequest"),
            (
                "sink",
                sink.url("/api/v1/write"),
                "io.prometheus.write.v2.Request",
            ),
        ],
        Some(&format!("127.0.0.1:{}", vm.port)),
    );
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    let (series, steps) = (20, 300);
    let base = (now_ms() - 20 * 60 * 1000) / 1000 * 1000;
    push(&server, "fwd_load", series, base, 0, steps);
    let want = expected("fwd_load", series, base, steps);
    // Scraped samples count too, so wait for the data itself rather than for a count.
    let deadline = Instant::now() + Duration::from_secs(30);
    while prom.samples("fwd_load") != want
        || vm.samples("fwd_load") != want
        || instant_matrix(&sink.base, "{__name__=~\"fwd_load.*\"}", now_ms() + 1000) != want
    {
        if Instant::now() > deadline {
            break; // the checks below say what differs
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for q in ["prom", "vm", "sink"] {
        assert_eq!(
            queue_metric(&server, "prometheus_remote_storage_samples_failed_total", q),
            0.0
        );
    }
    let local = instant_matrix(&server.base, "{__name__=~\"fwd_load.*\"}", now_ms() + 1000);
    check(&local, &want, "Sextant itself");
    check(&prom.samples("fwd_load"), &want, "Prometheus");
    check(&vm.samples("fwd_load"), &want, "VictoriaMetrics");
    check(
        &instant_matrix(&sink.base, "{__name__=~\"fwd_load.*\"}", now_ms() + 1000),
        &want,
        "Sextant over remote write 2.0",
    );
    // Scraped series are forwarded too: Sextant scrapes VictoriaMetrics' /metrics every second;
    // `up` and `scrape_samples_scraped` up to a cut-off (the third scrape) match everywhere.
    let sel = "{job=\"vmself\",__name__=~\"up|scrape_samples_scraped\"}";
    let deadline = Instant::now() + Duration::from_secs(30);
    let cut = loop {
        let now = instant_matrix(&server.base, sel, now_ms() + 1000);
        if let Some(up) = now.get(&format!("__name__=up,instance=127.0.0.1:{},job=vmself", vm.port)) {
            if up.len() >= 3 {
                break up[2].0;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Sextant did not scrape VictoriaMetrics: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let local = instant_matrix(&server.base, sel, cut);
    assert_eq!(local.len(), 2, "{local:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while (prom.select(sel, cut) != local
        || vm.select(sel, cut) != local
        || instant_matrix(&sink.base, sel, cut) != local)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    check(&prom.select(sel, cut), &local, "scraped series on Prometheus");
    check(&vm.select(sel, cut), &local, "scraped series on VictoriaMetrics");
    check(
        &instant_matrix(&sink.base, sel, cut),
        &local,
        "scraped series on Sextant (2.0)",
    );
    // The queues are on the self-metrics.
    assert_eq!(
        queue_metric(&server, "prometheus_remote_storage_shards_max", "vm"),
        4.0
    );
    // And on the status endpoint the UI shows.
    let (s, v) = get_json(&server.url("/api/v1/status/remote_write"));
    assert_eq!(s, 200, "{v}");
    let queues = v["data"].as_array().unwrap();
    assert_eq!(queues.len(), 3, "{v}");
    assert_eq!(queues[2]["name"], "sink");
    assert_eq!(queues[2]["protobufMessage"], "io.prometheus.write.v2.Request");
    assert!(
        queues[1]["samplesSent"].as_u64().unwrap() >= (series * steps) as u64,
        "{v}"
    );
}

#[test]
fn receiver_outage_loses_nothing_and_duplicates_nothing() {
    let outage: u64 = std::env::var("SEXTANT_FORWARD_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let mut prom = Receiver::start(Kind::Prometheus);
    let mut vm = Receiver::start(Kind::Victoria);
    let dir = tempfile::tempdir().unwrap();
    let cfg = forward_config(
        dir.path(),
        &[
            ("prom", prom.write_url(), "prometheus.WriteRequest"),
            ("vm", vm.write_url(), "prometheus.WriteRequest"),
        ],
    );
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    let series = 10;
    let base = (now_ms() - 30 * 60 * 1000) / 1000 * 1000;
    // Steady load before, during and after the outage: one step per 20 ms.
    let mut step = 0;
    let load = |until: Instant, step: &mut usize| {
        while Instant::now() < until {
            push(&server, "fwd_outage", series, base, *step, *step + 1);
            *step += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    load(Instant::now() + Duration::from_secs(2), &mut step);
    prom.stop();
    vm.stop();
    load(Instant::now() + Duration::from_secs(outage), &mut step);
    let retried = queue_metric(&server, "prometheus_remote_storage_samples_retried_total", "vm");
    assert!(retried > 0.0, "the outage caused retries");
    prom.resume();
    vm.resume();
    load(Instant::now() + Duration::from_secs(2), &mut step);
    let n = (series * step) as f64;
    for q in ["prom", "vm"] {
        wait_sent(&server, q, n, Duration::from_secs(40));
        // Prometheus refuses out-of-order samples with 400 (counted as failed): none means
        // every series arrived in order.
        assert_eq!(
            queue_metric(&server, "prometheus_remote_storage_samples_failed_total", q),
            0.0
        );
    }
    let want = expected("fwd_outage", series, base, step);
    // VictoriaMetrics keeps duplicates: equality means every sample arrived exactly once.
    check(
        &vm.samples("fwd_outage"),
        &want,
        "VictoriaMetrics after the outage",
    );
    check(&prom.samples("fwd_outage"), &want, "Prometheus after the outage");
}

#[test]
fn sextant_restart_resumes_from_the_wal() {
    let mut vm = Receiver::start(Kind::Victoria);
    let dir = tempfile::tempdir().unwrap();
    let cfg = forward_config(dir.path(), &[("vm", vm.write_url(), "prometheus.WriteRequest")]);
    let mut server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    let series = 5;
    let base = (now_ms() - 10 * 60 * 1000) / 1000 * 1000;
    push(&server, "fwd_restart", series, base, 0, 100);
    wait_sent(&server, "vm", (series * 100) as f64, Duration::from_secs(20));
    // The receiver goes away; data keeps coming; Sextant is restarted with it unsent.
    vm.stop();
    push(&server, "fwd_restart", series, base, 100, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.terminate(), Some(0));
    vm.resume();
    server.restart();
    push(&server, "fwd_restart", series, base, 200, 250);
    // Counters start again at 0 after the restart: 150 steps are sent by the new process.
    wait_sent(&server, "vm", (series * 150) as f64, Duration::from_secs(30));
    check(
        &vm.samples("fwd_restart"),
        &expected("fwd_restart", series, base, 250),
        "every sample once, across the restart",
    );
    // A crash (kill -9) loses nothing either (a few samples may be sent twice).
    vm.stop();
    push(&server, "fwd_restart", series, base, 250, 300);
    server.kill9();
    vm.resume();
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = vm.samples("fwd_restart");
        let mut dedup = got.clone();
        for v in dedup.values_mut() {
            v.dedup();
        }
        if dedup == expected("fwd_restart", series, base, 300) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "samples lost after kill -9: {:?}",
            got.values().map(Vec::len).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn agent_mode_forwards_refuses_queries_and_trims_its_wal() {
    let vm = Receiver::start(Kind::Victoria);
    let dir = tempfile::tempdir().unwrap();
    let cfg = forward_config(dir.path(), &[("vm", vm.write_url(), "prometheus.WriteRequest")]);
    let data = dir.path().join("data");
    let server = TestServer::builder(&data)
        .arg(format!("--config.file={}", cfg.display()))
        .arg("--agent")
        .arg("--storage.tsdb.wal-segment-size=64KB")
        .start();
    let series = 20;
    let base = (now_ms() - 30 * 60 * 1000) / 1000 * 1000;
    push(&server, "fwd_agent", series, base, 0, 1000);
    wait_sent(&server, "vm", (series * 1000) as f64, Duration::from_secs(30));
    check(
        &vm.samples("fwd_agent"),
        &expected("fwd_agent", series, base, 1000),
        "agent to VictoriaMetrics",
    );
    // No query API.
    let (s, v) = get_json(&server.url("/api/v1/query?query=up"));
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["errorType"], "unavailable");
    assert!(v["error"].as_str().unwrap().contains("Agent"), "{v}");
    // Segments every queue has sent are removed (the truncation runs every 5 s).
    let segments = || {
        std::fs::read_dir(data.join("wal"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .count()
    };
    let truncated = || {
        server
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("WAL segments sent by every queue removed"))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while segments() > 2 || !truncated() {
        assert!(
            Instant::now() < deadline,
            "WAL not truncated: {} segments",
            segments()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !data.read_dir().unwrap().any(|e| {
            let n = e.unwrap().file_name().to_string_lossy().to_string();
            n.len() == 26 && n.chars().all(|c| c.is_ascii_alphanumeric())
        }),
        "no blocks in agent mode"
    );
}

/// Per series, the samples with exact repeats (a resend after a crash) removed; returns them
/// and how many repeats there were.
fn without_resends(got: &Data) -> (Data, usize) {
    let mut repeats = 0;
    let mut out = got.clone();
    for v in out.values_mut() {
        let before = v.len();
        v.dedup();
        repeats += before - v.len();
    }
    (out, repeats)
}

/// The scenario, in little over a minute: a sustained load into an agent forwarding
/// to Prometheus and VictoriaMetrics (1.0) and another Sextant (2.0); every receiver stopped
/// for `SEXTANT_FORWARD_OUTAGE_SECS` (default 12) while the load goes on; the receivers back,
/// and the forwarder killed with SIGKILL while it catches up, then restarted. Every
/// acknowledged sample arrives everywhere. Per-series order: Prometheus and Sextant refuse a
/// sample older than the series' newest, so a reordered sample would be missing there;
/// repeats (the documented resend after a crash) are counted and bounded.
#[test]
fn outage_then_kill_during_catch_up_loses_nothing_on_any_receiver() {
    let outage: u64 = std::env::var("SEXTANT_FORWARD_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let mut receivers = [
        (
            "prom",
            Receiver::start(Kind::Prometheus),
            "prometheus.WriteRequest",
        ),
        ("vm", Receiver::start(Kind::Victoria), "prometheus.WriteRequest"),
        (
            "sink",
            Receiver::start(Kind::Sextant),
            "io.prometheus.write.v2.Request",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<(&str, String, &str)> = receivers
        .iter()
        .map(|(n, r, m)| (*n, r.write_url(), *m))
        .collect();
    let mut y = String::from("scrape_configs: []\nremote_write:\n");
    for (name, url, msg) in &urls {
        // Small batches and few shards, so the catch-up lasts long enough to be interrupted.
        y.push_str(&format!(
            "  - url: {url}\n    name: {name}\n    protobuf_message: {msg}\n    queue_config: {{batch_send_deadline: 100ms, min_backoff: 20ms, max_backoff: 300ms, max_samples_per_send: 200, capacity: 1000, min_shards: 1, max_shards: 3}}\n"
        ));
    }
    let cfg = dir.path().join("sextant.yml");
    std::fs::write(&cfg, y).unwrap();
    let mut server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .arg("--agent")
        .arg("--storage.tsdb.wal-segment-size=64KB")
        .start();
    let series = 200;
    let base = (now_ms() - 40 * 60 * 1000) / 1000 * 1000;
    let mut step = 0;
    let load = |server: &TestServer, until: Instant, step: &mut usize| {
        while Instant::now() < until {
            push(server, "fwd_kill", series, base, *step, *step + 1);
            *step += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    load(&server, Instant::now() + Duration::from_secs(3), &mut step);
    for (_, r, _) in receivers.iter_mut() {
        r.stop();
    }
    load(&server, Instant::now() + Duration::from_secs(outage), &mut step);
    let backlog = (series * step) as f64;
    for (_, r, _) in receivers.iter_mut() {
        r.spawn();
    }
    for (_, r, _) in receivers.iter() {
        r.wait_ready();
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent: Vec<f64> = ["prom", "vm", "sink"]
        .iter()
        .map(|q| queue_metric(&server, "prometheus_remote_storage_samples_total", q))
        .collect();
    eprintln!("killing the forwarder during the catch-up: {sent:?} of {backlog} samples sent");
    server.kill9();
    server.restart();
    load(&server, Instant::now() + Duration::from_secs(2), &mut step);
    let want = expected("fwd_kill", series, base, step);
    let deadline = Instant::now() + Duration::from_secs(60);
    for (name, r, _) in &receivers {
        loop {
            let (got, repeats) = without_resends(&r.samples("fwd_kill"));
            if got == want {
                eprintln!("{name}: every sample arrived; {repeats} resent after the crash");
                // The resend bound: what was sent after the last saved position (saved every
                // second) plus what was in flight, which is below one backlog.
                assert!((repeats as f64) < backlog, "{name}: {repeats} repeats");
                break;
            }
            if Instant::now() > deadline {
                check(&got, &want, name);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    // Agent mode trimmed the WAL the queues had sent, during or after the catch-up.
    let (_, body) = http_get(&server.url("/metrics")).unwrap();
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("prometheus_remote_storage_shards_desired{"),
        "{text}"
    );
}
