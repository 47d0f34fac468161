//! `cargo run --release -p bench -- compare`: ingest the same realistic data into Sextant,
//! Prometheus and VictoriaMetrics in turn, on loopback with fresh data directories, and compare
//! ingest rate, peak memory, bytes on disk per sample and query latency; check their answers
//! agree; print one table and write it to `BENCHMARKS.md`.

mod data;
mod entropy;
mod forward;
mod histograms;
mod query;
mod report;
mod soak;
mod soak_gen;
mod system;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// In the output file, everything from this line on is kept when the table is rewritten.
const KEEP_MARKER: &str = "<!-- Sections from here on are kept when `bench compare` rewrites this file. -->";

#[derive(Parser, Debug)]
#[command(name = "bench", about = "Side-by-side benchmarks for Sextant")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Remote-write load benchmark against Prometheus and VictoriaMetrics.
    Compare(CompareArgs),
    /// Forwarding throughput: the same load pushed into a forwarder (sextant --agent, sextant,
    /// vmagent, Prometheus), relayed to VictoriaMetrics; optionally after an outage.
    Forward(forward::ForwardArgs),
    /// Native histograms: ingest, bytes on disk and quantile latency, Sextant beside Prometheus
    /// 2.42 with `--enable-feature=native-histograms`.
    Histograms(histograms::HistogramArgs),
    /// Sustained remote-write ingest plus dashboard queries for a long time (samples lost,
    /// memory over time, query latency).
    Soak(soak::SoakArgs),
    /// How far a block's codec is from the empirical entropy of its timestamps and values.
    Entropy(entropy::EntropyArgs),
}

/// Options of `compare`.
#[derive(clap::Args, Debug, Clone)]
pub struct CompareArgs {
    /// Number of simulated node_exporter targets (each about 570 series: the shape file plus a
    /// synthetic HTTP latency histogram; 175 targets give 100k series).
    #[arg(long, default_value_t = 100)]
    pub targets: usize,
    /// Time span of generated data, in minutes.
    #[arg(long, default_value_t = 120)]
    pub span_minutes: i64,
    /// Scrape interval of the generated data, in seconds.
    #[arg(long, default_value_t = 15)]
    pub interval_seconds: i64,
    /// Samples per remote-write request (Prometheus' max_samples_per_send is 2000).
    #[arg(long, default_value_t = 2000)]
    pub samples_per_request: usize,
    /// Concurrent connections (shards) sending.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Systems to run, comma separated: sextant, prometheus, victoria-metrics.
    #[arg(long, default_value = "sextant,prometheus,victoria-metrics")]
    pub systems: String,
    /// The sextant binary (build it with `cargo build --release` first).
    #[arg(long, default_value = "target/release/sextant")]
    pub sextant_bin: PathBuf,
    /// The exposition file whose series shape every target.
    #[arg(long, default_value = "tests/fixtures/exposition/node_exporter.txt")]
    pub shape: PathBuf,
    /// Where to write the report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub out: PathBuf,
    /// Query repetitions (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub query_runs: usize,
    /// Generate the request bodies while sending (a bounded queue per connection) instead
    /// of preparing them all before the clock: the dense variant (`--interval-seconds 1`,
    /// 100k+ series) would otherwise hold gigabytes of bodies. The generator then shares the
    /// CPU with the system measured (in `forward`, the forwarder's CPU per sample is still
    /// its own; the push time and end-to-end rate include generating).
    #[arg(long)]
    pub generate_while_sending: bool,
    /// Keep each system's data directory (and the snapshot's blocks) instead of deleting it,
    /// for `bench entropy`; the paths are printed.
    #[arg(long)]
    pub keep_data: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Compare(args) => run_compare(args),
        Cmd::Forward(args) => run_forward(args),
        Cmd::Soak(args) => soak::run(args),
        Cmd::Histograms(args) => histograms::run(&args),
        Cmd::Entropy(args) => entropy::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_forward(args: forward::ForwardArgs) -> Result<(), String> {
    let shape = std::fs::read_to_string(&args.load.shape)
        .map_err(|e| format!("cannot read shape file {}: {e}", args.load.shape.display()))?;
    let families = data::parse_shape(&shape)?;
    println!("{}", forward::run(&args, &families)?);
    Ok(())
}

fn run_compare(args: CompareArgs) -> Result<(), String> {
    let shape = std::fs::read_to_string(&args.shape)
        .map_err(|e| format!("cannot read shape file {}: {e}", args.shape.display()))?;
    let mut shape = shape;
    if !shape.ends_with('\n') {
        shape.push('\n');
    }
    shape.push_str(data::SYNTHETIC_HISTOGRAM);
    let families = data::parse_shape(&shape)?;
    eprintln!(
        "generating {} targets x {} series x {} min at {} s ...",
        args.targets,
        families.len(),
        args.span_minutes,
        args.interval_seconds
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    // End a little in the past so every system shows all of it (VictoriaMetrics hides the last 30 s).
    let end_ms = (now_ms - 120_000) / 60_000 * 60_000;
    let start_ms = end_ms - args.span_minutes * 60_000;
    let workload = if args.generate_while_sending {
        let w = data::streamed(&families, &args, start_ms);
        eprintln!("{} samples, generated while sending", w.samples);
        w
    } else {
        let w = data::generate(&families, &args, start_ms);
        eprintln!(
            "prepared {} samples in {} requests ({:.1} MB compressed)",
            w.samples,
            w.requests.iter().map(Vec::len).sum::<usize>(),
            w.requests.iter().flatten().map(|b| b.len()).sum::<usize>() as f64 / 1e6
        );
        w
    };
    let queries = report::queries(workload.start_ms, workload.end_ms);
    let mut results = Vec::new();
    for name in args.systems.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = system::Kind::parse(name)?;
        eprintln!("== {name}");
        results.push(system::run(kind, &args, &workload, &queries)?);
    }
    let table = report::render(&args, &workload, &queries, &results);
    println!("{table}");
    // Hand-written sections after the marker (other benchmarks' results, notes) are kept.
    let mut text = table.clone();
    if let Some(kept) = std::fs::read_to_string(&args.out)
        .ok()
        .and_then(|old| old.find(KEEP_MARKER).map(|i| old[i..].to_string()))
    {
        text.push('\n');
        text.push_str(&kept);
    }
    std::fs::write(&args.out, &text).map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
