//! `bench histograms`: native histograms remote-written (1.0) into Sextant and into
//! Prometheus 2.42 run with `--enable-feature=native-histograms`, one after the other on
//! loopback with fresh data directories: histogram samples per second and CPU per histogram
//! sample while ingesting, bytes per histogram sample on disk (admin snapshot), and the latency
//! of `histogram_quantile(0.9, sum(rate(h[5m])))` over the whole span.
//!
//! The data: `--series` latency histograms at schema 3 (about 9 % wide buckets), each with
//! observations spread log-normally so 20-40 buckets are populated and the layout grows over
//! time, one sample per `--interval-seconds`, integer counts, as a client library exposes them.

use crate::data::Workload;
use crate::query::Query;
use crate::system::{self, Kind};
use prompb::histogram::{Count, ZeroCount};
use prompb::{BucketSpan, Histogram, Label, TimeSeries, WriteRequest};
use prost::Message;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Options of `histograms`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct HistogramArgs {
    /// Histogram series.
    #[arg(long, default_value_t = 2000)]
    pub(crate) series: usize,
    /// Time span of the data, in minutes.
    #[arg(long, default_value_t = 60)]
    pub(crate) span_minutes: i64,
    /// Seconds between samples of a series.
    #[arg(long, default_value_t = 15)]
    pub(crate) interval_seconds: i64,
    /// Histogram samples per remote-write request.
    #[arg(long, default_value_t = 500)]
    pub(crate) per_request: usize,
    /// Concurrent connections sending.
    #[arg(long, default_value_t = 4)]
    pub(crate) connections: usize,
    /// Systems, comma separated: sextant, prometheus.
    #[arg(long, default_value = "sextant,prometheus")]
    pub(crate) systems: String,
    /// The sextant binary.
    #[arg(long, default_value = "target/release/sextant")]
    pub(crate) sextant_bin: PathBuf,
    /// Query repetitions (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub(crate) query_runs: usize,
}

struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn encode(h: &BTreeMap<i32, u64>, t: i64, sum: f64) -> Histogram {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let (mut prev, mut next) = (0i64, None::<i32>);
    for (&i, &c) in h {
        match next {
            Some(n) if n == i => {
                if let Some(s) = spans.last_mut() {
                    s.length += 1;
                }
            }
            Some(n) => spans.push(BucketSpan {
                offset: i - n,
                length: 1,
            }),
            None => spans.push(BucketSpan { offset: i, length: 1 }),
        }
        deltas.push(c as i64 - prev);
        prev = c as i64;
        next = Some(i + 1);
    }
    Histogram {
        count: Some(Count::CountInt(h.values().sum())),
        sum,
        schema: 3,
        zero_threshold: 1e-128,
        zero_count: Some(ZeroCount::ZeroCountInt(0)),
        positive_spans: spans,
        positive_deltas: deltas,
        timestamp: t,
        ..Default::default()
    }
}

/// The requests, per connection in time order, and the sample count.
fn generate(args: &HistogramArgs, start_ms: i64) -> Workload {
    let steps = (args.span_minutes * 60 / args.interval_seconds.max(1)).max(1);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut state: Vec<(BTreeMap<i32, u64>, f64)> = vec![Default::default(); args.series];
    let conns = args.connections.max(1);
    let mut requests: Vec<Vec<Vec<u8>>> = vec![Vec::new(); conns];
    let mut samples = 0u64;
    let per_request = args.per_request.max(1);
    for step in 0..steps {
        let t = start_ms + step * args.interval_seconds * 1000;
        let mut batch: Vec<TimeSeries> = Vec::with_capacity(per_request);
        let mut next_conn = 0usize;
        for (s, (buckets, sum)) in state.iter_mut().enumerate() {
            // Latencies around 20 ms (log-normal), a few dozen observations per interval.
            let n = 10 + (rng.unit() * 40.0) as usize;
            for _ in 0..n {
                let z = (rng.unit() + rng.unit() + rng.unit() - 1.5) * 2.0;
                let v = 0.02 * (z * 0.8).exp();
                // Bucket index at schema 3: ceil(log2(v) * 8).
                let idx = (v.log2() * 8.0).ceil() as i32;
                *buckets.entry(idx).or_insert(0) += 1;
                *sum += v;
            }
            batch.push(TimeSeries {
                labels: vec![
                    Label::new("__name__", "bench_request_duration_seconds"),
                    Label::new("instance", &format!("host-{}:9100", s / 10)),
                    Label::new("job", "bench"),
                    Label::new("route", &format!("/api/{}", s % 10)),
                ],
                histograms: vec![encode(buckets, t, *sum)],
                ..Default::default()
            });
            samples += 1;
            if batch.len() == per_request {
                let body = snap::raw::Encoder::new()
                    .compress_vec(
                        &WriteRequest {
                            timeseries: std::mem::take(&mut batch),
                            ..Default::default()
                        }
                        .encode_to_vec(),
                    )
                    .unwrap_or_default();
                requests[next_conn % conns].push(body);
                next_conn += 1;
            }
        }
        if !batch.is_empty() {
            let body = snap::raw::Encoder::new()
                .compress_vec(
                    &WriteRequest {
                        timeseries: batch,
                        ..Default::default()
                    }
                    .encode_to_vec(),
                )
                .unwrap_or_default();
            requests[next_conn % conns].push(body);
        }
    }
    Workload {
        requests,
        stream: None,
        samples,
        series: args.series,
        start_ms,
        end_ms: start_ms + (steps - 1) * args.interval_seconds * 1000,
    }
}

/// Runs the benchmark and prints one table.
pub(crate) fn run(args: &HistogramArgs) -> Result<(), String> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    let end_ms = (now_ms - 120_000) / 60_000 * 60_000;
    let w = generate(args, end_ms - args.span_minutes * 60_000);
    eprintln!(
        "prepared {} histogram samples ({} series) in {} requests ({:.1} MB compressed)",
        w.samples,
        w.series,
        w.requests.iter().map(Vec::len).sum::<usize>(),
        w.requests.iter().flatten().map(Vec::len).sum::<usize>() as f64 / 1e6
    );
    let query = Query {
        expr: "histogram_quantile(0.9, sum(rate(bench_request_duration_seconds[5m])))".into(),
        step_s: Some(60),
        start_s: w.start_ms / 1000 + 300,
        end_s: w.end_ms / 1000,
    };
    let mut rows = Vec::new();
    for name in args.systems.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = Kind::parse(name)?;
        if kind == Kind::VictoriaMetrics {
            return Err(
                "VictoriaMetrics 1.79 does not take native histograms; use sextant,prometheus".into(),
            );
        }
        eprintln!("== {name}");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rows.push(rt.block_on(measure(kind, args, &w, &query))?);
    }
    println!("| system | histogram samples/s | CPU µs / histogram sample | peak RSS MiB | disk bytes / histogram sample | quantile query ms (median) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!("{r}");
    }
    Ok(())
}

async fn measure(kind: Kind, args: &HistogramArgs, w: &Workload, query: &Query) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())?;
    let tmp = std::env::temp_dir().join(format!(
        "sextant-bench-hist-{}-{}",
        kind.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let (proc, version) = system::start(
        kind,
        &args.sextant_bin,
        &tmp,
        &client,
        &["--enable-feature=native-histograms"],
    )
    .await?;
    let pid = proc.child.id();
    let (_, cpu0) = system::proc_stats(pid);
    let (secs, failed) = system::send_all(&client, &proc.base, w).await;
    let (rss, cpu1) = system::proc_stats(pid);
    if failed > 0 {
        return Err(format!("{}: {failed} requests failed", kind.name()));
    }
    let mut times = Vec::new();
    let mut answer = None;
    for _ in 0..args.query_runs.max(1) {
        let t0 = Instant::now();
        let a = query.run(&client, &proc.base).await;
        times.push(t0.elapsed());
        answer = Some(a);
    }
    times.sort();
    if let Some(e) = answer.and_then(|a| a.error) {
        return Err(format!("{}: quantile query failed: {e}", kind.name()));
    }
    let (disk, _) = system::disk_after_snapshot(kind, &client, &proc.base, &tmp).await;
    drop(proc);
    let _ = std::fs::remove_dir_all(&tmp);
    let n = w.samples.max(1) as f64;
    Ok(format!(
        "| {version} | {:.0} | {:.2} | {:.1} | {:.2} | {:.1} |",
        n / secs,
        (cpu1 - cpu0).max(0.0) * 1e6 / n,
        rss as f64 / 1048576.0,
        disk as f64 / n,
        times[times.len() / 2].as_secs_f64() * 1000.0
    ))
}
