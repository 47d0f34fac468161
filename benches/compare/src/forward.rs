//! `bench forward`: the compare workload pushed into Sextant, which forwards it by remote write
//! to a VictoriaMetrics on loopback. Measures how fast the queue empties the WAL (samples
//! forwarded per second, from the first push to the last sample acknowledged by VictoriaMetrics),
//! Sextant's CPU seconds and peak memory, and checks VictoriaMetrics got every sample.

use crate::data::Workload;
use crate::system::{proc_stats, send_all};
use crate::CompareArgs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `forward` besides the workload's.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ForwardArgs {
    /// The workload (same options as `compare`; `--systems` is ignored).
    #[command(flatten)]
    pub load: CompareArgs,
    /// `queue_config.max_shards` of the forwarding queue.
    #[arg(long, default_value_t = 8)]
    pub max_shards: usize,
    /// `protobuf_message` of the queue.
    #[arg(long, default_value = "prometheus.WriteRequest")]
    pub protobuf_message: String,
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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// A metric of the queue from Sextant's `/metrics`.
async fn metric(client: &reqwest::Client, base: &str, name: &str) -> f64 {
    let Ok(r) = client.get(format!("{base}/metrics")).send().await else {
        return -1.0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1.0)
}

/// Runs the forwarding benchmark.
pub(crate) fn run(args: &ForwardArgs, w: &Workload) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(run_async(args, w))
}

async fn run_async(args: &ForwardArgs, w: &Workload) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())?;
    let tmp = std::env::temp_dir().join(format!("sextant-bench-forward-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let (vm_port, sx_port) = (free_port()?, free_port()?);
    let vm = Killed(
        Command::new("/usr/bin/victoria-metrics")
            .arg(format!("-storageDataPath={}", tmp.join("vm").display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{vm_port}"))
            .arg("-retentionPeriod=100y")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start victoria-metrics: {e}"))?,
    );
    let vm_base = format!("http://127.0.0.1:{vm_port}");
    wait_ready(&client, &format!("{vm_base}/health")).await?;
    let cfg = tmp.join("sextant.yml");
    std::fs::write(
        &cfg,
        format!(
            "scrape_configs: []\nremote_write:\n  - url: {vm_base}/api/v1/write\n    name: vm\n    protobuf_message: {}\n    queue_config: {{max_shards: {}}}\n",
            args.protobuf_message, args.max_shards
        ),
    )
    .map_err(|e| e.to_string())?;
    let sextant = Killed(
        Command::new(&args.load.sextant_bin)
            .arg(format!("--web.listen-address=127.0.0.1:{sx_port}"))
            .arg(format!("--storage.tsdb.path={}", tmp.join("sextant").display()))
            .arg(format!("--config.file={}", cfg.display()))
            .arg("--otlp.grpc-listen-address=")
            .arg("--storage.tsdb.retention.time=100y")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", args.load.sextant_bin.display()))?,
    );
    let base = format!("http://127.0.0.1:{sx_port}");
    wait_ready(&client, &format!("{base}/-/ready")).await?;
    let (cpu0, vm_cpu0) = (proc_stats(sextant.0.id()).1, proc_stats(vm.0.id()).1);
    eprintln!(
        "pushing {} samples into Sextant, forwarding to VictoriaMetrics ...",
        w.samples
    );
    let started = Instant::now();
    let (push_secs, failed) = send_all(&client, &base, w).await;
    eprintln!(
        "  pushed in {push_secs:.1} s ({:.0}/s), {failed} failed requests",
        w.samples as f64 / push_secs
    );
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut max_shards = 0.0f64;
    loop {
        let sent = metric(&client, &base, "prometheus_remote_storage_samples_total").await;
        max_shards = max_shards.max(metric(&client, &base, "prometheus_remote_storage_shards").await);
        if sent >= w.samples as f64 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {sent} of {} samples forwarded after 30 min",
                w.samples
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let total = started.elapsed().as_secs_f64();
    let (rss, cpu1) = proc_stats(sextant.0.id());
    let vm_cpu1 = proc_stats(vm.0.id()).1;
    let failed_samples = metric(&client, &base, "prometheus_remote_storage_samples_failed_total").await;
    let _ = client.get(format!("{vm_base}/internal/force_flush")).send().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let q = format!(
        "{vm_base}/api/v1/query?query=sum(count_over_time({{__name__!=\"\"}}[{}m]))&time={}",
        args.load.span_minutes + 5,
        (w.end_ms + 60_000) / 1000
    );
    let vm_count = match client.get(&q).send().await {
        Ok(r) => r
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| {
                v["data"]["result"][0]["value"][1]
                    .as_str()
                    .and_then(|s| s.parse::<f64>().ok())
            })
            .unwrap_or(-1.0),
        Err(_) => -1.0,
    };
    let report = format!(
        "forwarded {} samples ({} series) to VictoriaMetrics in {total:.1} s: {:.0} samples/s end to end \
         (push alone {push_secs:.1} s); queue shards up to {max_shards}; failed samples {failed_samples}; \
         Sextant CPU {:.1} s ({:.2} cores over the run), peak RSS {:.0} MiB; VictoriaMetrics CPU {:.1} s; \
         VictoriaMetrics counts {vm_count} samples",
        w.samples,
        w.series,
        w.samples as f64 / total,
        cpu1 - cpu0,
        (cpu1 - cpu0) / total,
        rss as f64 / (1 << 20) as f64,
        vm_cpu1 - vm_cpu0,
    );
    drop(sextant);
    drop(vm);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(report)
}
