//! Starting each system on loopback with a fresh data directory, loading it, measuring it.

use crate::data::{Generator, StreamSpec, Workload};
use crate::query::{Query, QueryAnswer};
use crate::CompareArgs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The systems compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// This project.
    Sextant,
    /// Debian's prometheus.
    Prometheus,
    /// Debian's victoria-metrics (single node).
    VictoriaMetrics,
}

impl Kind {
    /// From the `--systems` list.
    pub(crate) fn parse(s: &str) -> Result<Kind, String> {
        match s {
            "sextant" => Ok(Kind::Sextant),
            "prometheus" => Ok(Kind::Prometheus),
            "victoria-metrics" | "victoriametrics" | "vm" => Ok(Kind::VictoriaMetrics),
            other => Err(format!(
                "unknown system {other:?}: use sextant, prometheus or victoria-metrics"
            )),
        }
    }

    /// Display name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Sextant => "Sextant",
            Kind::Prometheus => "Prometheus",
            Kind::VictoriaMetrics => "VictoriaMetrics",
        }
    }
}

/// What was measured for one system.
pub(crate) struct Measured {
    /// Which system.
    pub kind: Kind,
    /// Its version string.
    pub version: String,
    /// Samples acknowledged per second of wall time.
    pub ingest_rate: f64,
    /// Requests that were not acknowledged with 2xx.
    pub failed_requests: usize,
    /// Peak resident memory (VmHWM), bytes.
    pub peak_rss: u64,
    /// CPU seconds (user + system) spent by the process over the whole run.
    pub cpu_seconds: f64,
    /// CPU seconds (user + system) the process spent while the workload was being sent
    /// (read from `/proc/PID/stat` before the first request and after the last answer).
    pub ingest_cpu_seconds: f64,
    /// Peak resident memory (VmHWM) right after ingest, before any query, bytes.
    pub ingest_peak_rss: u64,
    /// Bytes of the data directory right after ingest (for Sextant and Prometheus before a
    /// block cut when the span is under 2 h: WAL + head chunks).
    pub disk_after_ingest: u64,
    /// Bytes on disk once persisted.
    pub disk_bytes: u64,
    /// How `disk_bytes` was taken.
    pub disk_how: &'static str,
    /// Per query: median latency and the answer.
    pub answers: Vec<(Duration, QueryAnswer)>,
}

/// A started system; killed on drop.
pub(crate) struct Proc {
    /// The process.
    pub(crate) child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    _dir: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn version_of(bin: &str, arg: &str) -> String {
    Command::new(bin)
        .arg(arg)
        .output()
        .map(|o| {
            let s = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
            s.lines().next().unwrap_or("").trim().to_string()
        })
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| {
            // Debian's victoria-metrics is built without a version string: ask dpkg.
            let pkg = Path::new(bin).file_name()?.to_str()?.to_string();
            let out = Command::new("dpkg-query")
                .args(["-W", "-f", "${Version}", &pkg])
                .output()
                .ok()?;
            let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (!v.is_empty()).then(|| format!("{pkg} {v} (Debian package)"))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Starts `kind` on a free loopback port with its data in `dir` and waits until it is ready;
/// `prometheus_extra` are extra flags for Prometheus (feature flags).
pub(crate) async fn start(
    kind: Kind,
    sextant_bin: &Path,
    dir: &Path,
    client: &reqwest::Client,
    prometheus_extra: &[&str],
) -> Result<(Proc, String), String> {
    let port = free_port()?;
    let data = dir.join("data");
    let (mut cmd, version) = match kind {
        Kind::Sextant => {
            let bin = sextant_bin.display().to_string();
            let mut c = Command::new(&bin);
            c.arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg("--storage.tsdb.retention.time=100y")
                .arg("--web.enable-admin-api");
            (c, version_of(&bin, "--version"))
        }
        Kind::Prometheus => {
            let cfg = dir.join("prometheus.yml");
            std::fs::write(&cfg, "global:\n  scrape_interval: 15s\n").map_err(|e| e.to_string())?;
            let mut c = Command::new("/usr/bin/prometheus");
            c.arg(format!("--config.file={}", cfg.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--web.enable-remote-write-receiver")
                .arg("--web.enable-admin-api")
                .arg("--storage.tsdb.retention.time=100y")
                .args(prometheus_extra);
            (c, version_of("/usr/bin/prometheus", "--version"))
        }
        Kind::VictoriaMetrics => {
            let mut c = Command::new("/usr/bin/victoria-metrics");
            c.arg(format!("-storageDataPath={}", data.display()))
                .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
                .arg("-retentionPeriod=100y")
                .arg("-search.disableCache")
                .arg("-search.latencyOffset=0s");
            (c, version_of("/usr/bin/victoria-metrics", "--version"))
        }
    };
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", kind.name()))?;
    let base = format!("http://127.0.0.1:{port}");
    let proc = Proc {
        child,
        base,
        _dir: dir.to_path_buf(),
    };
    let ready = match kind {
        Kind::VictoriaMetrics => "/health",
        _ => "/-/ready",
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if client
            .get(format!("{}{ready}", proc.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{} did not become ready", kind.name()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((proc, version))
}

/// `VmHWM` (peak resident set) and user+system CPU seconds of a process.
pub(crate) fn proc_stats(pid: u32) -> (u64, f64) {
    (proc_status_bytes(pid, "VmHWM:"), proc_cpu_secs(pid))
}

/// Resets a process' `VmHWM` to its current resident set (`/proc/<pid>/clear_refs`, value 5);
/// false if the kernel refused.
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// A size line (`VmRSS:`, `VmHWM:`, ...) of `/proc/<pid>/status`, in bytes (0 if unreadable).
pub(crate) fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<u64>().ok()))
        })
        .unwrap_or(0)
        * 1024
}

/// User+system CPU seconds of a process from `/proc/<pid>/stat` (0 if unreadable).
pub(crate) fn proc_cpu_secs(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = after.split_whitespace().collect();
            let ut: f64 = f.get(11)?.parse().ok()?;
            let st: f64 = f.get(12)?.parse().ok()?;
            Some((ut + st) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Total size of regular files under `dir`.
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_bytes(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Sends the workload: one task per connection, each in time order. Returns (seconds, failures).
pub(crate) async fn send_all(client: &reqwest::Client, base: &str, w: &Workload) -> (f64, usize) {
    if let Some(spec) = &w.stream {
        return send_streamed(client, base, spec).await;
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for bodies in &w.requests {
        // The bodies were prepared before the clock started; cloning a Vec<u8> per request is
        // the only copy, the same for every system.
        let bodies: Vec<Vec<u8>> = bodies.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(bodies.len().max(1));
        for b in bodies {
            let _ = tx.try_send(b);
        }
        drop(tx);
        tasks.push(tokio::spawn(send_from(
            client.clone(),
            format!("{base}/api/v1/write"),
            rx,
        )));
    }
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap_or(1);
    }
    (started.elapsed().as_secs_f64(), failed)
}

/// Requests queued per connection while generating as the load is sent.
const STREAM_QUEUE: usize = 16;

/// Sends a load generated while sending: one thread generates intervals in order and hands
/// each body to its connection's bounded queue, so the bench holds at most
/// `STREAM_QUEUE` bodies per connection.
async fn send_streamed(client: &reqwest::Client, base: &str, spec: &StreamSpec) -> (f64, usize) {
    let started = Instant::now();
    let conns = spec.args.connections.max(1);
    let mut senders = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_QUEUE);
        senders.push(tx);
        tasks.push(tokio::spawn(send_from(
            client.clone(),
            format!("{base}/api/v1/write"),
            rx,
        )));
    }
    let spec = spec.clone();
    let generator = std::thread::spawn(move || {
        let mut g = Generator::new(&spec.shape, &spec.args, spec.start_ms);
        while g.next_step(&mut |c, b| {
            // A closed queue means its task ended: its requests count as failed there.
            let _ = senders[c].blocking_send(b);
        }) {}
    });
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap_or(1);
    }
    if generator.join().is_err() {
        failed += 1;
    }
    (started.elapsed().as_secs_f64(), failed)
}

/// Posts every body from `rx` to `url` in order; returns the requests not acknowledged.
async fn send_from(
    client: reqwest::Client,
    url: String,
    mut rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
) -> usize {
    let mut failed = 0;
    while let Some(b) = rx.recv().await {
        let r = client
            .post(&url)
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(b)
            .send()
            .await;
        if !r.is_ok_and(|r| r.status().is_success()) {
            failed += 1;
        }
    }
    failed
}

/// Bytes of the data once persisted, and how they were taken: for Prometheus and Sextant a
/// snapshot through the admin API (which writes the head as a block); for VictoriaMetrics its
/// data dir after a forced flush. `None` as the how when the snapshot failed.
pub(crate) async fn disk_after_snapshot(
    kind: Kind,
    client: &reqwest::Client,
    base: &str,
    tmp: &Path,
) -> (u64, Option<&'static str>) {
    match kind {
        Kind::Prometheus | Kind::Sextant => {
            let r = client
                .post(format!("{base}/api/v1/admin/tsdb/snapshot"))
                .send()
                .await;
            let name = match r {
                Ok(r) => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["data"]["name"].as_str().map(String::from)),
                Err(_) => None,
            };
            match name {
                Some(n) => (
                    dir_bytes(&tmp.join("data").join("snapshots").join(n)),
                    Some("snapshot of head and blocks (admin API)"),
                ),
                None => (0, None),
            }
        }
        Kind::VictoriaMetrics => (
            dir_bytes(&tmp.join("data")),
            Some("data dir after /internal/force_flush"),
        ),
    }
}

/// Runs one system through the whole benchmark.
pub(crate) fn run(
    kind: Kind,
    args: &CompareArgs,
    w: &Workload,
    queries: &[Query],
) -> Result<Measured, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(run_async(kind, args, w, queries))
}

async fn run_async(
    kind: Kind,
    args: &CompareArgs,
    w: &Workload,
    queries: &[Query],
) -> Result<Measured, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())?;
    let tmp = std::env::temp_dir().join(format!("sextant-bench-{}-{}", kind.name(), std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let (mut proc, version) = start(kind, &args.sextant_bin, &tmp, &client, &[]).await?;
    let pid = proc.child.id();
    eprintln!("  {version}: ingesting ...");
    let (_, cpu_before) = proc_stats(pid);
    let (secs, failed) = send_all(&client, &proc.base, w).await;
    let (ingest_peak_rss, cpu_after) = proc_stats(pid);
    let ingest_cpu_seconds = (cpu_after - cpu_before).max(0.0);
    let ingest_rate = w.samples as f64 / secs;
    let disk_after_ingest = dir_bytes(&tmp.join("data"));
    eprintln!(
        "  ingested {} samples in {secs:.1} s ({ingest_rate:.0}/s), {failed} failed requests, {ingest_cpu_seconds:.2} CPU s ({:.3} µs/sample), peak RSS {:.1} MiB",
        w.samples,
        ingest_cpu_seconds * 1e6 / w.samples.max(1) as f64,
        ingest_peak_rss as f64 / 1048576.0
    );
    if kind == Kind::VictoriaMetrics {
        let _ = client
            .get(format!("{}/internal/force_flush", proc.base))
            .send()
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let mut answers = Vec::new();
    // The whole run's peak: VmHWM is reset before every query (so that each query's own peak
    // can be printed), so the maximum is kept here.
    let mut peak_rss = proc_stats(pid).0;
    for q in queries {
        let reset = reset_peak_rss(pid);
        let mut times = Vec::new();
        let mut answer = QueryAnswer::default();
        for _ in 0..args.query_runs.max(1) {
            let t0 = Instant::now();
            answer = q.run(&client, &proc.base).await;
            times.push(t0.elapsed());
        }
        times.sort();
        let q_peak = proc_stats(pid).0;
        peak_rss = peak_rss.max(q_peak);
        eprintln!(
            "    {:>8.1} ms  peak RSS {:>7.1} MiB{}  (RssAnon {:.1}, RssFile {:.1} MiB after)  {}",
            times[times.len() / 2].as_secs_f64() * 1e3,
            q_peak as f64 / 1048576.0,
            if reset {
                ""
            } else {
                " (whole run; VmHWM not resettable)"
            },
            proc_status_bytes(pid, "RssAnon:") as f64 / 1048576.0,
            proc_status_bytes(pid, "RssFile:") as f64 / 1048576.0,
            q.expr
        );
        answers.push((times[times.len() / 2], answer));
    }
    // Prometheus and Sextant: a snapshot through the admin API writes the head as a block, the
    // form data takes once persisted. VictoriaMetrics: its data dir after a forced flush.
    let cpu_seconds = proc_stats(pid).1;
    let (disk_bytes, disk_how) = match disk_after_snapshot(kind, &client, &proc.base, &tmp).await {
        (bytes, Some(how)) => (bytes, how),
        (_, None) => {
            let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(120);
            while proc.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (
                dir_bytes(&tmp.join("data")),
                "data dir after SIGTERM (no snapshot API)",
            )
        }
    };
    let _ = proc.child.kill();
    let _ = proc.child.wait();
    if args.keep_data {
        eprintln!("  data kept in {}", tmp.display());
    } else {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(Measured {
        kind,
        version,
        ingest_rate,
        failed_requests: failed,
        peak_rss,
        cpu_seconds,
        ingest_cpu_seconds,
        ingest_peak_rss,
        disk_after_ingest,
        disk_bytes,
        disk_how,
        answers,
    })
}
