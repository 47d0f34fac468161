//! `bench forward`: the compare workload remote-written into a forwarder, which relays it by
//! remote write to a fresh VictoriaMetrics on loopback; timed until VictoriaMetrics has every
//! acknowledged sample (its `vm_rows_inserted_total{type="promremotewrite"}` reaches the count,
//! whatever protocol the forwarder speaks to it).
//!
//! Forwarders (`--forwarders`, run in turn, `--runs` times each): `sextant-agent`
//! (`sextant --agent`), `sextant` (stores and forwards), `vmagent` and `prometheus` (the
//! server with `--web.enable-remote-write-receiver` and `remote_write`). The data is dated an
//! hour ahead, so that every sample is newer than every forwarder's start: Prometheus' WAL
//! watcher forwards only samples newer than its own start.
//!
//! With `--outage-secs N` the run measures a catch-up instead: VictoriaMetrics is not running
//! while the load is pushed, and starts N seconds after the push began; the catch-up rate is
//! the samples divided by the time from VictoriaMetrics being ready to it holding them all.
//!
//! `--generate-while-sending` generates the load while pushing it (the 500 k-series run,
//! `--targets 877`, would otherwise hold every request in memory); `--sextant-flags` passes
//! extra flags to the Sextant forwarders (to compare settings run for run).
//!
//! Reported per run: end-to-end samples/s, forwarder CPU per sample, forwarder peak RSS; with
//! several forwarders, the median and spread of each one's ratio to the first.

use crate::data::{self, ShapeSeries, Workload};
use crate::system::{proc_stats, send_all};
use crate::CompareArgs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `forward` besides the workload's.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ForwardArgs {
    /// The workload (same options as `compare`; `--systems` is ignored).
    #[command(flatten)]
    pub load: CompareArgs,
    /// `queue_config.max_shards` of the Sextant and Prometheus queues.
    #[arg(long, default_value_t = 50)]
    pub max_shards: usize,
    /// `protobuf_message` of the Sextant queue.
    #[arg(long, default_value = "prometheus.WriteRequest")]
    pub protobuf_message: String,
    /// Forwarders to run, comma separated: sextant-agent, sextant, vmagent, prometheus.
    #[arg(long, default_value = "sextant-agent,vmagent")]
    pub forwarders: String,
    /// Runs of each forwarder (interleaved: a, b, a, b, ...).
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Measure a catch-up: the receiver starts this many seconds after the push begins (0: the
    /// receiver runs throughout).
    #[arg(long, default_value_t = 0)]
    pub outage_secs: u64,
    /// Extra flags for the Sextant forwarders, space separated (for instance
    /// `--storage.tsdb.wal-compression=false`), to compare settings run for run.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub sextant_flags: String,
    /// The vmagent binary.
    #[arg(long, default_value = "/usr/bin/vmagent")]
    pub vmagent_bin: PathBuf,
    /// The Prometheus binary (2.x server).
    #[arg(long, default_value = "/usr/bin/prometheus")]
    pub prometheus_bin: PathBuf,
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

async fn wait_ready(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !client
        .get(url)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        if Instant::now() > deadline {
            return Err(format!("{url} did not become ready"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The sum of a metric's series (`name` or `name{...}`, optionally only lines containing
/// `with`) on `base/metrics`; -1 when unreachable.
async fn metric_sum(client: &reqwest::Client, base: &str, name: &str, with: &str) -> f64 {
    let Ok(r) = client.get(format!("{base}/metrics")).send().await else {
        return -1.0;
    };
    let text = r.text().await.unwrap_or_default();
    let mut sum = 0.0;
    for l in text.lines() {
        let Some(rest) = l.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) || !l.contains(with) {
            continue;
        }
        sum += l
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    }
    sum
}

/// One forwarder under test.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Forwarder {
    SextantAgent,
    Sextant,
    Vmagent,
    Prometheus,
}

impl Forwarder {
    fn parse(s: &str) -> Result<Forwarder, String> {
        Ok(match s.trim() {
            "sextant-agent" => Forwarder::SextantAgent,
            "sextant" => Forwarder::Sextant,
            "vmagent" => Forwarder::Vmagent,
            "prometheus" => Forwarder::Prometheus,
            o => {
                return Err(format!(
                    "unknown forwarder {o:?} (sextant-agent, sextant, vmagent, prometheus)"
                ))
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Forwarder::SextantAgent => "sextant --agent",
            Forwarder::Sextant => "sextant (remote_write)",
            Forwarder::Vmagent => "vmagent",
            Forwarder::Prometheus => "prometheus 2.42 (remote_write)",
        }
    }

    /// Starts it on `port`, forwarding to `vm_write`, with its data under `dir`; returns the
    /// process and its readiness URL.
    fn start(
        self,
        args: &ForwardArgs,
        port: u16,
        vm_write: &str,
        dir: &Path,
    ) -> Result<(Killed, String), String> {
        let base = format!("http://127.0.0.1:{port}");
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut cmd = match self {
            Forwarder::SextantAgent | Forwarder::Sextant => {
                let cfg = dir.join("sextant.yml");
                std::fs::write(
                    &cfg,
                    format!(
                        "scrape_configs: []\nremote_write:\n  - url: {vm_write}\n    name: vm\n    protobuf_message: {}\n    queue_config: {{max_shards: {}}}\n",
                        args.protobuf_message, args.max_shards
                    ),
                )
                .map_err(|e| e.to_string())?;
                let mut c = Command::new(&args.load.sextant_bin);
                c.arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
                    .arg(format!("--config.file={}", cfg.display()))
                    .arg("--otlp.grpc-listen-address=")
                    .arg("--storage.tsdb.retention.time=100y");
                if self == Forwarder::SextantAgent {
                    c.arg("--agent");
                }
                c.args(args.sextant_flags.split_whitespace());
                c
            }
            Forwarder::Vmagent => {
                let mut c = Command::new(&args.vmagent_bin);
                c.arg(format!("-httpListenAddr=127.0.0.1:{port}"))
                    .arg(format!("-remoteWrite.url={vm_write}"))
                    .arg(format!("-remoteWrite.tmpDataPath={}", dir.join("tmp").display()));
                c
            }
            Forwarder::Prometheus => {
                let cfg = dir.join("prometheus.yml");
                std::fs::write(
                    &cfg,
                    format!(
                        "global:\n  scrape_interval: 15s\nremote_write:\n  - url: {vm_write}\n    queue_config: {{max_shards: {}}}\n",
                        args.max_shards
                    ),
                )
                .map_err(|e| e.to_string())?;
                let mut c = Command::new(&args.prometheus_bin);
                c.arg(format!("--config.file={}", cfg.display()))
                    .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--web.enable-remote-write-receiver")
                    .arg("--storage.tsdb.retention.time=100y");
                c
            }
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.name()))?;
        let ready = match self {
            Forwarder::Vmagent => format!("{base}/health"),
            _ => format!("{base}/-/ready"),
        };
        Ok((Killed(child), ready))
    }
}

fn start_vm(dir: &Path, port: u16) -> Result<Killed, String> {
    Ok(Killed(
        Command::new("/usr/bin/victoria-metrics")
            .arg(format!("-storageDataPath={}", dir.display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg("-retentionPeriod=100y")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start victoria-metrics: {e}"))?,
    ))
}

/// What one run measured.
#[derive(Clone, Debug)]
struct RunResult {
    forwarder: Forwarder,
    /// Samples per second from the first push to the last sample in VictoriaMetrics.
    rate: f64,
    /// Forwarder CPU seconds per sample, in microseconds.
    cpu_us: f64,
    /// Forwarder peak RSS, bytes.
    rss: u64,
    /// With an outage: samples per second from the receiver being ready to it holding all.
    catch_up: Option<f64>,
    line: String,
}

/// Runs the forwarding benchmark.
pub(crate) fn run(args: &ForwardArgs, shape: &[ShapeSeries]) -> Result<String, String> {
    let forwarders: Vec<Forwarder> = args
        .forwarders
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Forwarder::parse)
        .collect::<Result<_, _>>()?;
    if forwarders.is_empty() {
        return Err("--forwarders is empty".into());
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    // An hour ahead: newer than every forwarder's start for the whole benchmark.
    let start_ms = (now_ms + 3_600_000) / 60_000 * 60_000;
    // `--generate-while-sending` (the 500 k-series run): the bench holds a few requests per
    // connection instead of the whole load, at the price of generating on the same cores.
    let w = if args.load.generate_while_sending {
        data::streamed(shape, &args.load, start_ms)
    } else {
        data::generate(shape, &args.load, start_ms)
    };
    eprintln!(
        "workload: {} samples, {} series, dated {} .. {} ms",
        w.samples, w.series, w.start_ms, w.end_ms
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    for run in 0..args.runs.max(1) {
        for &f in &forwarders {
            let r = rt.block_on(run_one(args, &w, f))?;
            eprintln!("run {}: {}", run + 1, r.line);
            results.push(r);
        }
    }
    Ok(summary(&results, &forwarders, &w))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn summary(results: &[RunResult], forwarders: &[Forwarder], w: &Workload) -> String {
    let mut out = format!(
        "{} samples, {} series, {} run(s) each\n\n| forwarder | end-to-end samples/s (median, min-max) | CPU per sample (µs) | peak RSS (MiB) | catch-up samples/s |\n|---|---:|---:|---:|---:|\n",
        w.samples,
        w.series,
        results.len() / forwarders.len().max(1)
    );
    for &f in forwarders {
        let rs: Vec<&RunResult> = results.iter().filter(|r| r.forwarder == f).collect();
        let mut rate: Vec<f64> = rs.iter().map(|r| r.rate).collect();
        let mut cpu: Vec<f64> = rs.iter().map(|r| r.cpu_us).collect();
        let mut rss: Vec<f64> = rs.iter().map(|r| r.rss as f64 / (1 << 20) as f64).collect();
        let mut cu: Vec<f64> = rs.iter().filter_map(|r| r.catch_up).collect();
        let (lo, hi) = (
            rate.iter().copied().fold(f64::INFINITY, f64::min),
            rate.iter().copied().fold(0.0, f64::max),
        );
        out.push_str(&format!(
            "| {} | {:.0} k ({:.0}-{:.0} k) | {:.2} | {:.0} | {} |\n",
            f.name(),
            median(&mut rate) / 1e3,
            lo / 1e3,
            hi / 1e3,
            median(&mut cpu),
            median(&mut rss),
            if cu.is_empty() {
                "-".to_string()
            } else {
                format!("{:.0} k", median(&mut cu) / 1e3)
            }
        ));
    }
    // Ratios to the first forwarder, run by run (runs are interleaved, so run i of each
    // forwarder saw similar machine conditions).
    let first = forwarders[0];
    for &f in &forwarders[1..] {
        let a: Vec<&RunResult> = results.iter().filter(|r| r.forwarder == first).collect();
        let b: Vec<&RunResult> = results.iter().filter(|r| r.forwarder == f).collect();
        let mut rate: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x.rate / y.rate).collect();
        let mut cpu: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y.cpu_us / x.cpu_us).collect();
        let spread = |v: &[f64]| {
            (
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(0.0, f64::max),
            )
        };
        let (rl, rh) = spread(&rate);
        let (cl, ch) = spread(&cpu);
        out.push_str(&format!(
            "\n{} vs {}: rate x{:.2} (runs {rl:.2}-{rh:.2}); CPU per sample {}'s / {}'s = x{:.2} (runs {cl:.2}-{ch:.2})",
            first.name(),
            f.name(),
            median(&mut rate),
            f.name(),
            first.name(),
            median(&mut cpu),
        ));
        let mut cu: Vec<f64> = a
            .iter()
            .zip(&b)
            .filter_map(|(x, y)| Some(x.catch_up? / y.catch_up?))
            .collect();
        if !cu.is_empty() {
            out.push_str(&format!("; catch-up x{:.2}", median(&mut cu)));
        }
    }
    out.push('\n');
    out
}

async fn run_one(args: &ForwardArgs, w: &Workload, f: Forwarder) -> Result<RunResult, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())?;
    let tmp = std::env::temp_dir().join(format!("sextant-bench-forward-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let (vm_port, fw_port) = (free_port()?, free_port()?);
    let vm_base = format!("http://127.0.0.1:{vm_port}");
    let vm_write = format!("{vm_base}/api/v1/write");
    let mut vm = None;
    if args.outage_secs == 0 {
        vm = Some(start_vm(&tmp.join("vm"), vm_port)?);
        wait_ready(&client, &format!("{vm_base}/health")).await?;
    }
    let (fw, ready) = f.start(args, fw_port, &vm_write, &tmp.join("fw"))?;
    wait_ready(&client, &ready).await?;
    let fw_base = format!("http://127.0.0.1:{fw_port}");
    let cpu0 = proc_stats(fw.0.id()).1;
    let started = Instant::now();
    let (push_secs, failed) = send_all(&client, &fw_base, w).await;
    if failed > 0 {
        return Err(format!("{}: {failed} push requests failed", f.name()));
    }
    let mut vm_ready_at = None;
    if args.outage_secs > 0 {
        let at = started + Duration::from_secs(args.outage_secs);
        tokio::time::sleep_until(at.into()).await;
        vm = Some(start_vm(&tmp.join("vm"), vm_port)?);
        wait_ready(&client, &format!("{vm_base}/health")).await?;
        vm_ready_at = Some(Instant::now());
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut inserted;
    loop {
        inserted = metric_sum(&client, &vm_base, "vm_rows_inserted_total", "promremotewrite").await
            + metric_sum(&client, &vm_base, "vm_rows_inserted_total", "type=\"vmimport\"").await;
        if inserted >= w.samples as f64 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{}: only {inserted} of {} samples in VictoriaMetrics after 30 min",
                f.name(),
                w.samples
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = started.elapsed().as_secs_f64();
    let catch_up = vm_ready_at.map(|t| w.samples as f64 / t.elapsed().as_secs_f64());
    let (rss, cpu1) = proc_stats(fw.0.id());
    let cpu = cpu1 - cpu0;
    drop(fw);
    drop(vm);
    let _ = std::fs::remove_dir_all(&tmp);
    let rate = w.samples as f64 / total;
    let line = format!(
        "{}: {} samples in {total:.1} s = {:.0} samples/s end to end (push {push_secs:.1} s){}; CPU {cpu:.1} s = {:.2} µs/sample; peak RSS {:.0} MiB; VictoriaMetrics inserted {inserted}",
        f.name(),
        w.samples,
        rate,
        catch_up
            .map(|c| format!(", catch-up {c:.0} samples/s"))
            .unwrap_or_default(),
        cpu / w.samples as f64 * 1e6,
        rss as f64 / (1 << 20) as f64,
    );
    Ok(RunResult {
        forwarder: f,
        rate,
        cpu_us: cpu / w.samples as f64 * 1e6,
        rss,
        catch_up,
        line,
    })
}
