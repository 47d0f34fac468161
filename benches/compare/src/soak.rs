//! `cargo run --release -p bench -- soak`: sustained remote-write ingest at a fixed rate for a
//! long time, with dashboard-like queries running beside it. Records samples acknowledged vs.
//! samples the database returns at the end (lost must be 0), resident memory over time (must
//! plateau), query latency percentiles and errors, and writes a markdown report.
//!
//! Every sample is unique: series slot `i` is `soak_m{i % metrics}{instance="i{i / metrics}"}`
//! (see [`crate::soak_gen`] for the series, their churn and the requests), one sample per
//! round at the round's wall-clock timestamp. A request that fails with 5xx or a transport
//! error is retried (as Prometheus' remote write does) and counted as an error; only answers
//! 2xx count as acknowledged.
//!
//! With `--churn-fraction`, that share of the series is replaced (a new `gen` label) every
//! `--churn-every-s` from `--churn-after-min` on, as pod restarts do; the report gives the
//! figures of the steady phase and of the churn phase apart, and the final check counts every
//! series that ever existed, the replaced ones included.

use crate::soak_gen::{Churn, RequestWriter};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storage::now_ms;

/// Options of `soak`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SoakArgs {
    /// How long to ingest, in minutes.
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Active series; each gets one sample per round.
    #[arg(long, default_value_t = 100_000)]
    pub series: usize,
    /// Round interval in milliseconds (rate = series * 1000 / interval); `--rate` overrides it.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// Target rate in samples per second (sets the round interval to series / rate).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Share of the series replaced by new ones at each churn event (0: no churn).
    #[arg(long, default_value_t = 0.0)]
    pub churn_fraction: f64,
    /// Seconds between two churn events.
    #[arg(long, default_value_t = 180.0)]
    pub churn_every_s: f64,
    /// Minutes of steady load before the first churn event (default: half the run).
    #[arg(long)]
    pub churn_after_min: Option<f64>,
    /// Distinct metric names the series are spread over.
    #[arg(long, default_value_t = 100)]
    pub metrics: usize,
    /// Samples per remote-write request.
    #[arg(long, default_value_t = 2000)]
    pub samples_per_request: usize,
    /// Concurrent sending connections.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Concurrent dashboard query loops.
    #[arg(long, default_value_t = 2)]
    pub query_loops: usize,
    /// Pause between two dashboard refreshes of one loop, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub query_pause_ms: u64,
    /// `--storage.tsdb.min-block-duration` given to Sextant (short, so blocks are cut and
    /// compacted during the run and the head's memory can level off; `2h` is the default of
    /// Prometheus and Sextant).
    #[arg(long, default_value = "5m")]
    pub block_duration: String,
    /// The sextant binary (build it with `cargo build --release` first).
    #[arg(long, default_value = "target/release/sextant")]
    pub sextant_bin: PathBuf,
    /// Data directory (must not exist; removed at the end unless --keep).
    #[arg(long, default_value = "/tmp/sextant-soak")]
    pub data: PathBuf,
    /// Keep the data directory.
    #[arg(long)]
    pub keep: bool,
    /// Where to write the report (markdown).
    #[arg(long, default_value = "soak-report.md")]
    pub out: PathBuf,
}

/// Counters shared by the tasks.
#[derive(Default)]
struct Counters {
    acked_samples: AtomicU64,
    acked_requests: AtomicU64,
    rejected_samples: AtomicU64,
    write_errors: AtomicU64,
    write_retries: AtomicU64,
    rounds_late: AtomicU64,
    query_errors: AtomicU64,
    queries: AtomicU64,
}

impl SoakArgs {
    /// Time between two rounds.
    fn interval(&self) -> Duration {
        match self.rate {
            Some(r) if r > 0.0 => Duration::from_secs_f64(self.series as f64 / r),
            _ => Duration::from_millis(self.interval_ms.max(1)),
        }
    }

    /// The churn schedule.
    fn churn(&self) -> Churn {
        let after = self.churn_after_min.unwrap_or(self.minutes / 2.0).max(0.0);
        Churn::new(
            self.series,
            self.churn_fraction,
            Duration::from_secs_f64(after * 60.0),
            Duration::from_secs_f64(self.churn_every_s.max(0.001)),
        )
    }
}

/// One query answered: (dashboard panel, latency ms, seconds into the run).
type Latency = (usize, f64, f64);

/// One RSS observation.
struct RssPoint {
    elapsed_s: f64,
    rss_bytes: u64,
    acked: u64,
    cpu_s: f64,
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(args: &SoakArgs) -> Result<Server, String> {
    if args.data.exists() {
        return Err(format!(
            "{} exists; remove it or pass another --data",
            args.data.display()
        ));
    }
    std::fs::create_dir_all(&args.data).map_err(|e| format!("cannot create {}: {e}", args.data.display()))?;
    let cfg = args.data.join("soak.yml");
    std::fs::write(&cfg, "scrape_configs: []\n").map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let log = std::fs::File::create(args.data.join("sextant.log")).map_err(|e| e.to_string())?;
    let child = Command::new(&args.sextant_bin)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--otlp.grpc-listen-address=")
        .arg(format!(
            "--storage.tsdb.path={}",
            args.data.join("tsdb").display()
        ))
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.min-block-duration={}",
            args.block_duration
        ))
        .arg("--rules.beacon-preset=false")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", args.sextant_bin.display()))?;
    Ok(Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

fn proc_rss_cpu(pid: u32) -> (u64, f64) {
    (
        crate::system::proc_status_bytes(pid, "VmRSS:"),
        crate::system::proc_cpu_secs(pid),
    )
}

#[allow(clippy::too_many_arguments)] // one writer task's whole configuration, passed once at spawn
async fn writer(
    args: Arc<SoakArgs>,
    client: reqwest::Client,
    base: String,
    worker: usize,
    t0: Instant,
    start_ms: i64,
    rounds: u64,
    c: Arc<Counters>,
) {
    let url = format!("{base}/api/v1/write");
    let chunks: Vec<(usize, usize)> = (0..args.series)
        .step_by(args.samples_per_request)
        .map(|f| (f, (f + args.samples_per_request).min(args.series)))
        .enumerate()
        .filter(|(j, _)| j % args.connections == worker)
        .map(|(_, r)| r)
        .collect();
    let interval = args.interval();
    let churn = args.churn();
    let mut requests = RequestWriter::new(args.metrics);
    for round in 0..rounds {
        let offset = interval.mul_f64(round as f64);
        let due = t0 + offset;
        let now = Instant::now();
        if due > now {
            tokio::time::sleep(due - now).await;
        } else if now - due > interval {
            c.rounds_late.fetch_add(1, Ordering::Relaxed);
        }
        let ts = start_ms + offset.as_millis() as i64;
        let events = churn.events(offset);
        for &(from, to) in &chunks {
            let body = requests.round(&churn, events, from, to, ts, |i| {
                (round * 10 + (i as u64 % 7)) as f64
            });
            let n = (to - from) as u64;
            let mut attempt = 0;
            loop {
                let r = client
                    .post(&url)
                    .header("Content-Type", "application/x-protobuf")
                    .header("Content-Encoding", "snappy")
                    .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                    .body(body.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        c.acked_samples.fetch_add(n, Ordering::Relaxed);
                        c.acked_requests.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Ok(r) if r.status().is_client_error() => {
                        c.write_errors.fetch_add(1, Ordering::Relaxed);
                        c.rejected_samples.fetch_add(n, Ordering::Relaxed);
                        let msg = r.text().await.unwrap_or_default();
                        eprintln!("soak: write rejected (not retried): {msg}");
                        break;
                    }
                    other => {
                        c.write_errors.fetch_add(1, Ordering::Relaxed);
                        if let Err(e) = &other {
                            eprintln!("soak: write failed: {e}");
                        } else if let Ok(r) = other {
                            eprintln!("soak: write failed: {}", r.status());
                        }
                        attempt += 1;
                        if attempt > 10 {
                            eprintln!("soak: giving up on a request after 10 retries");
                            break;
                        }
                        c.write_retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                    }
                }
            }
        }
    }
}

/// The dashboard: (label, query, range seconds or 0 for instant, step).
fn dashboard() -> Vec<(&'static str, &'static str, i64, i64)> {
    vec![
        ("instant sum rate", "sum(rate(soak_m1[1m]))", 0, 0),
        ("instant topk", "topk(5, rate(soak_m2[5m]))", 0, 0),
        ("instant count all", "count({job=\"soak\"})", 0, 0),
        (
            "range 15m sum by instance",
            "sum by (instance) (rate(soak_m3{instance=~\"i1.?\"}[1m]))",
            900,
            15,
        ),
        ("range 1h count", "count(soak_m4)", 3600, 60),
        (
            "range 30m max_over_time",
            "max(max_over_time(soak_m5[5m]))",
            1800,
            30,
        ),
    ]
}

async fn query_loop(
    client: reqwest::Client,
    base: String,
    pause: Duration,
    stop: Arc<std::sync::atomic::AtomicBool>,
    lat: Arc<Mutex<Vec<Latency>>>,
    c: Arc<Counters>,
    t0: Instant,
) {
    let panels = dashboard();
    while !stop.load(Ordering::Relaxed) {
        for (i, (_, q, range, step)) in panels.iter().enumerate() {
            let end = now_ms() as f64 / 1000.0;
            let req = if *range == 0 {
                client
                    .get(format!("{base}/api/v1/query"))
                    .query(&[("query", q.to_string()), ("time", format!("{end:.3}"))])
            } else {
                client.get(format!("{base}/api/v1/query_range")).query(&[
                    ("query", q.to_string()),
                    ("start", format!("{:.3}", end - *range as f64)),
                    ("end", format!("{end:.3}")),
                    ("step", step.to_string()),
                ])
            };
            let t = Instant::now();
            let ok = match req.send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                Ok(r) => {
                    eprintln!("soak: query {q} failed: {}", r.status());
                    false
                }
                Err(e) => {
                    eprintln!("soak: query {q} failed: {e}");
                    false
                }
            };
            c.queries.fetch_add(1, Ordering::Relaxed);
            if ok {
                lat.lock()
                    .map(|mut l| l.push((i, t.elapsed().as_secs_f64() * 1000.0, t0.elapsed().as_secs_f64())))
                    .ok();
            } else {
                c.query_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(pause).await;
    }
}

/// What the database holds of the run: (samples, distinct series), every series that ever
/// existed (replaced ones included) counted.
async fn count_stored(
    client: &reqwest::Client,
    base: &str,
    metrics: usize,
    first_ms: i64,
    last_ms: i64,
) -> Result<(u64, u64), String> {
    let range_ms = last_ms - first_ms + 1000;
    let (mut samples, mut series) = (0u64, 0u64);
    for m in 0..metrics {
        samples += scalar(
            client,
            base,
            &format!("sum(count_over_time(soak_m{m}[{range_ms}ms]))"),
            last_ms,
        )
        .await?;
        series += scalar(
            client,
            base,
            &format!("count(count_over_time(soak_m{m}[{range_ms}ms]))"),
            last_ms,
        )
        .await?;
    }
    Ok((samples, series))
}

/// The value of the one-element instant query `q` at `at_ms` (0 when empty).
async fn scalar(client: &reqwest::Client, base: &str, q: &str, at_ms: i64) -> Result<u64, String> {
    let r = client
        .get(format!("{base}/api/v1/query"))
        .query(&[
            ("query", q.to_string()),
            ("time", format!("{:.3}", at_ms as f64 / 1000.0)),
        ])
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .map_err(|e| format!("{q}: {e}"))?;
    let v: serde_json::Value = r.json().await.map_err(|e| format!("{q}: {e}"))?;
    let n = v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0);
    Ok(n as u64)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

/// Runs the soak; returns an error when samples were lost.
pub(crate) fn run(args: SoakArgs) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(run_async(Arc::new(args)))
}

async fn run_async(args: Arc<SoakArgs>) -> Result<(), String> {
    let server = start_server(&args)?;
    let pid = server.child.id();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !client
        .get(format!("{}/-/ready", server.base))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        if Instant::now() > deadline {
            return Err("sextant did not become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let interval = args.interval();
    let rounds = ((args.minutes * 60.0) / interval.as_secs_f64()).ceil().max(1.0) as u64;
    let rate = args.series as f64 / interval.as_secs_f64();
    let churn = args.churn();
    eprintln!(
        "soak: {} series every {:.1} ms = {rate:.0} samples/s for {} min ({rounds} rounds), {} query loops, churn {} series every {:.0} s from {:.1} min",
        args.series,
        interval.as_secs_f64() * 1000.0,
        args.minutes,
        args.query_loops,
        churn.per_event,
        churn.period.as_secs_f64(),
        churn.start.as_secs_f64() / 60.0
    );
    let c = Arc::new(Counters::default());
    let t0 = Instant::now();
    let start_ms = now_ms();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lat = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for w in 0..args.connections {
        writers.push(tokio::spawn(writer(
            args.clone(),
            client.clone(),
            server.base.clone(),
            w,
            t0,
            start_ms,
            rounds,
            c.clone(),
        )));
    }
    let mut queriers = Vec::new();
    for _ in 0..args.query_loops {
        queriers.push(tokio::spawn(query_loop(
            client.clone(),
            server.base.clone(),
            Duration::from_millis(args.query_pause_ms),
            stop.clone(),
            lat.clone(),
            c.clone(),
            t0,
        )));
    }
    // Sample RSS every 10 s until the writers are done.
    let mut rss: Vec<RssPoint> = Vec::new();
    let sampler_stop = stop.clone();
    let all_writers = tokio::spawn(async move {
        for w in writers {
            let _ = w.await;
        }
        sampler_stop.store(true, Ordering::Relaxed);
    });
    let csv_path = args.out.with_extension("rss.csv");
    let mut csv = String::from("elapsed_s,rss_mib,acked_samples,cpu_s\n");
    while !stop.load(Ordering::Relaxed) {
        let (r, cpu) = proc_rss_cpu(pid);
        let p = RssPoint {
            elapsed_s: t0.elapsed().as_secs_f64(),
            rss_bytes: r,
            acked: c.acked_samples.load(Ordering::Relaxed),
            cpu_s: cpu,
        };
        csv.push_str(&format!(
            "{:.0},{:.1},{},{:.1}\n",
            p.elapsed_s,
            mib(p.rss_bytes),
            p.acked,
            p.cpu_s
        ));
        if rss.len().checked_rem(6) == Some(0) {
            eprintln!(
                "soak: {:>5.0} s  rss {:>7.1} MiB  acked {}  write errors {}  queries {}  query errors {}",
                p.elapsed_s,
                mib(p.rss_bytes),
                p.acked,
                c.write_errors.load(Ordering::Relaxed),
                c.queries.load(Ordering::Relaxed),
                c.query_errors.load(Ordering::Relaxed)
            );
        }
        rss.push(p);
        let _ = std::fs::write(&csv_path, &csv);
        for _ in 0..100 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let _ = all_writers.await;
    for q in queriers {
        let _ = q.await;
    }
    let ingest_s = t0.elapsed().as_secs_f64();
    let last_offset = interval.mul_f64((rounds - 1) as f64);
    let last_ms = start_ms + last_offset.as_millis() as i64;
    let events = churn.events(last_offset);
    let want_series = churn.distinct_series(events);
    eprintln!("soak: ingest done after {ingest_s:.0} s; counting stored samples ...");
    let count_t = Instant::now();
    let (stored, stored_series) =
        count_stored(&client, &server.base, args.metrics, start_ms, last_ms).await?;
    let count_s = count_t.elapsed().as_secs_f64();
    let (_, cpu_s) = proc_rss_cpu(pid);
    let acked = c.acked_samples.load(Ordering::Relaxed);
    let lost = acked.saturating_sub(stored);
    let log = std::fs::read_to_string(args.data.join("sextant.log")).unwrap_or_default();
    let log_errors = log.lines().filter(|l| l.contains("ERROR")).count();
    let log_warns = log.lines().filter(|l| l.contains("WARN")).count();
    let blocks = std::fs::read_dir(args.data.join("tsdb"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join("meta.json").exists())
                .count()
        })
        .unwrap_or(0);
    drop(server);

    let lat = lat.lock().map(|l| l.clone()).unwrap_or_default();
    let totals = Totals {
        rate,
        ingest_s,
        acked,
        stored,
        lost,
        cpu_s,
        count_s,
        log_errors,
        log_warns,
        blocks,
        churn_events: events,
        want_series,
        stored_series,
    };
    let report = render(&args, &totals, &c, &rss, &lat, &churn);
    println!("{report}");
    std::fs::write(&args.out, &report).map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    eprintln!("wrote {} and {}", args.out.display(), csv_path.display());
    if !args.keep {
        let _ = std::fs::remove_dir_all(&args.data);
    }
    if lost > 0 {
        return Err(format!("{lost} acknowledged samples are missing"));
    }
    if stored_series < want_series {
        return Err(format!(
            "{} of the {want_series} series written are missing",
            want_series - stored_series
        ));
    }
    Ok(())
}

/// The run's end figures.
struct Totals {
    rate: f64,
    ingest_s: f64,
    acked: u64,
    stored: u64,
    lost: u64,
    cpu_s: f64,
    count_s: f64,
    log_errors: usize,
    log_warns: usize,
    blocks: usize,
    churn_events: u64,
    want_series: u64,
    stored_series: u64,
}

fn render(
    args: &SoakArgs,
    t: &Totals,
    c: &Counters,
    rss: &[RssPoint],
    lat: &[Latency],
    churn: &Churn,
) -> String {
    let Totals {
        rate,
        ingest_s,
        acked,
        stored,
        lost,
        cpu_s,
        count_s,
        log_errors,
        log_warns,
        blocks,
        ..
    } = *t;
    let mut s = String::new();
    let pace = match args.rate {
        Some(r) => format!("--rate {r}"),
        None => format!("--interval-ms {}", args.interval_ms),
    };
    let churn_args = if churn.per_event > 0 {
        format!(
            " --churn-fraction {} --churn-every-s {} --churn-after-min {:.1}",
            args.churn_fraction,
            args.churn_every_s,
            churn.start.as_secs_f64() / 60.0
        )
    } else {
        String::new()
    };
    s.push_str(&format!(
        "Command: `cargo run --release -p bench -- soak --minutes {} --series {} {pace} --connections {} --query-loops {} --block-duration {}{churn_args}`\n\n",
        args.minutes, args.series, args.connections, args.query_loops, args.block_duration
    ));
    s.push_str("| figure | value |\n|---|---:|\n");
    let row = |s: &mut String, k: &str, v: String| s.push_str(&format!("| {k} | {v} |\n"));
    row(&mut s, "target rate (samples/s)", format!("{rate:.0}"));
    row(&mut s, "ingest wall time (s)", format!("{ingest_s:.0}"));
    row(
        &mut s,
        "achieved rate (acked samples/s)",
        format!("{:.0}", acked as f64 / ingest_s),
    );
    row(&mut s, "samples acknowledged", acked.to_string());
    row(&mut s, "samples returned by queries", stored.to_string());
    row(&mut s, "**samples lost**", format!("**{lost}**"));
    row(&mut s, "churn events", t.churn_events.to_string());
    row(
        &mut s,
        "series written (replaced ones included) / stored",
        format!("{} / {}", t.want_series, t.stored_series),
    );
    row(
        &mut s,
        "samples rejected (4xx)",
        c.rejected_samples.load(Ordering::Relaxed).to_string(),
    );
    row(
        &mut s,
        "requests acknowledged",
        c.acked_requests.load(Ordering::Relaxed).to_string(),
    );
    row(
        &mut s,
        "write errors (5xx/transport, retried)",
        c.write_errors.load(Ordering::Relaxed).to_string(),
    );
    row(
        &mut s,
        "rounds started late (sender behind)",
        c.rounds_late.load(Ordering::Relaxed).to_string(),
    );
    row(
        &mut s,
        "dashboard queries",
        c.queries.load(Ordering::Relaxed).to_string(),
    );
    row(
        &mut s,
        "query errors",
        c.query_errors.load(Ordering::Relaxed).to_string(),
    );
    row(&mut s, "sextant CPU seconds", format!("{cpu_s:.0}"));
    row(&mut s, "blocks on disk at the end", blocks.to_string());
    row(
        &mut s,
        "sextant log lines ERROR / WARN",
        format!("{log_errors} / {log_warns}"),
    );
    row(&mut s, "final count queries (s)", format!("{count_s:.1}"));
    // Memory: max per third of the run.
    let n = rss.len();
    if n >= 3 {
        let third = |a: usize, b: usize| rss[a..b].iter().map(|p| p.rss_bytes).max().unwrap_or(0);
        let (t1, t2, t3) = (third(0, n / 3), third(n / 3, 2 * n / 3), third(2 * n / 3, n));
        row(&mut s, "peak RSS, first third (MiB)", format!("{:.0}", mib(t1)));
        row(&mut s, "peak RSS, second third (MiB)", format!("{:.0}", mib(t2)));
        row(&mut s, "peak RSS, last third (MiB)", format!("{:.0}", mib(t3)));
        row(
            &mut s,
            "last third / second third",
            format!("{:.2}", t3 as f64 / t2.max(1) as f64),
        );
    }
    s.push_str(
        "\n### RSS over time (every 5 minutes)\n\n| minute | RSS MiB | acked samples |\n|---:|---:|---:|\n",
    );
    let mut next = 0.0;
    for p in rss {
        if p.elapsed_s >= next {
            s.push_str(&format!(
                "| {:.0} | {:.0} | {} |\n",
                p.elapsed_s / 60.0,
                mib(p.rss_bytes),
                p.acked
            ));
            next += 300.0;
        }
    }
    if let Some(p) = rss.last() {
        s.push_str(&format!(
            "| {:.1} (end) | {:.0} | {} |\n",
            p.elapsed_s / 60.0,
            mib(p.rss_bytes),
            p.acked
        ));
    }
    s.push_str(&phases(rss, lat, churn, ingest_s));
    s.push_str("\n### Query latency (ms)\n\n| panel | query | n | p50 | p90 | p99 | max |\n|---|---|---:|---:|---:|---:|---:|\n");
    let mut all: Vec<f64> = lat.iter().map(|x| x.1).collect();
    all.sort_by(f64::total_cmp);
    for (i, (label, q, _, _)) in dashboard().iter().enumerate() {
        let mut v: Vec<f64> = lat.iter().filter(|x| x.0 == i).map(|x| x.1).collect();
        v.sort_by(f64::total_cmp);
        s.push_str(&format!(
            "| {label} | `{q}` | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            v.len(),
            percentile(&v, 0.5),
            percentile(&v, 0.9),
            percentile(&v, 0.99),
            v.last().copied().unwrap_or(f64::NAN)
        ));
    }
    s.push_str(&format!(
        "| all | | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.9),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(f64::NAN)
    ));
    s
}

/// Per-phase figures: the steady phase before the first churn event and the churn phase after
/// it (one row when there is no churn).
fn phases(rss: &[RssPoint], lat: &[Latency], churn: &Churn, end_s: f64) -> String {
    let start = churn.start.as_secs_f64();
    let mut spans = vec![("steady", 0.0, end_s)];
    if churn.per_event > 0 && start < end_s {
        spans = vec![("steady", 0.0, start), ("churn", start, end_s)];
    }
    let mut s = String::from(
        "\n### Phases\n\n| phase | from min | to min | acked samples/s | CPU cores | RSS start MiB | RSS peak MiB | RSS end MiB | queries | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (name, from, to) in spans {
        let pts: Vec<&RssPoint> = rss
            .iter()
            .filter(|p| p.elapsed_s >= from && p.elapsed_s <= to)
            .collect();
        let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
            continue;
        };
        let secs = (last.elapsed_s - first.elapsed_s).max(1e-9);
        let peak = pts.iter().map(|p| p.rss_bytes).max().unwrap_or(0);
        let mut q: Vec<f64> = lat
            .iter()
            .filter(|l| l.2 >= from && l.2 < to)
            .map(|l| l.1)
            .collect();
        q.sort_by(f64::total_cmp);
        s.push_str(&format!(
            "| {name} | {:.1} | {:.1} | {:.0} | {:.2} | {:.0} | {:.0} | {:.0} | {} | {:.1} | {:.1} | {:.1} |\n",
            from / 60.0,
            to / 60.0,
            last.acked.saturating_sub(first.acked) as f64 / secs,
            (last.cpu_s - first.cpu_s) / secs,
            mib(first.rss_bytes),
            mib(peak),
            mib(last.rss_bytes),
            q.len(),
            percentile(&q, 0.5),
            percentile(&q, 0.99),
            q.last().copied().unwrap_or(f64::NAN)
        ));
    }
    s
}
