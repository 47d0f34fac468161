#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Block benchmarks: bytes/sample on disk and select + decode throughput.
//!
//! Data: the series of `tests/fixtures/exposition/node_exporter.txt` scraped from
//! `BLOCK_BENCH_TARGETS` targets (default 100) every 15 s for 2 h, with 0-30 ms of jitter
//! shared by all series of a target. Counters grow by realistic steps (integers for integer
//! counters, 2 decimals for seconds), most gauges stay constant, the rest random-walk at the
//! precision of their fixture value.
//!
//! Run: `cargo bench --bench block_select` (prints the size figures before the timings).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::collections::HashMap;
use std::sync::Arc;
use storage::block::{write_block_stats, Block};
use storage::{Labels, MatchOp, Matcher, Sample};

const STEP_MS: i64 = 15_000;
const STEPS: i64 = 480;
const START_MS: i64 = 1_750_000_000_000 - 1_750_000_000_000 % (2 * 3600 * 1000);

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Gauge,
}

struct Template {
    pairs: Vec<(String, String)>,
    kind: Kind,
    start: f64,
}

/// Parses the fixture's sample lines (text exposition format, simple cases only).
fn templates() -> Vec<Template> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/exposition/node_exporter.txt"
    ))
    .expect("fixture");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split_whitespace();
            if let (Some(n), Some(t)) = (it.next(), it.next()) {
                types.insert(n.to_string(), t.to_string());
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut pairs = vec![("__name__".to_string(), name.to_string())];
        for kv in labels.split("\",").filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').expect("label");
            pairs.push((k.trim_matches(',').to_string(), v.trim_matches('"').to_string()));
        }
        let base = name
            .trim_end_matches("_total")
            .trim_end_matches("_count")
            .trim_end_matches("_sum");
        let ty = types
            .get(name)
            .or_else(|| types.get(base))
            .map_or("untyped", String::as_str);
        let kind = if ty == "counter"
            || name.ends_with("_total")
            || name.ends_with("_count")
            || name.ends_with("_sum")
        {
            Kind::Counter
        } else {
            Kind::Gauge
        };
        out.push(Template {
            pairs,
            kind,
            start: value.parse().unwrap_or(0.0),
        });
    }
    out
}

/// Decimal places of the shortest representation of `v` (capped at 6).
fn decimals(v: f64) -> i32 {
    let s = format!("{v}");
    s.split_once('.').map_or(0, |(_, f)| f.len().min(6) as i32)
}

fn samples(t: &Template, target: usize, series: usize, ts: &[i64]) -> Vec<Sample> {
    let mut rng = Rng((target as u64 + 1) * 1_000_003 + series as u64 * 7919 + 1);
    let dec = decimals(t.start);
    let scale = 10f64.powi(dec);
    let mut v = t.start;
    let moving = t.kind == Kind::Counter && t.start != 0.0 || rng.below(10) < 3;
    let mut out = Vec::with_capacity(ts.len());
    for &time in ts {
        out.push(Sample::new(time, v));
        if !moving {
            continue;
        }
        v = match t.kind {
            Kind::Counter if dec == 0 => v + rng.below((t.start.abs() / 1e4).max(3.0) as u64) as f64,
            Kind::Counter => ((v * 100.0).round() + rng.below(15) as f64) / 100.0,
            Kind::Gauge if dec == 0 => {
                v + (rng.below(5) as f64 - 2.0) * (t.start.abs() / 1e3).max(1.0).round()
            }
            Kind::Gauge => ((v * scale).round() + rng.below(21) as f64 - 10.0) / scale,
        };
    }
    out
}

fn build(dir: &std::path::Path, targets: usize) -> (Arc<Block>, storage::block::ColumnStats) {
    let tmpl = templates();
    // Shared jittered timestamps per target.
    let ts: Vec<Vec<i64>> = (0..targets)
        .map(|i| {
            let mut rng = Rng(i as u64 * 31 + 7);
            let offset = rng.below(STEP_MS as u64) as i64;
            (0..STEPS)
                .map(|k| START_MS + offset + k * STEP_MS + rng.below(31) as i64)
                .collect()
        })
        .collect();
    let mut order: Vec<(Labels, usize, usize)> = Vec::with_capacity(targets * tmpl.len());
    for target in 0..targets {
        for (si, t) in tmpl.iter().enumerate() {
            let mut pairs = t.pairs.clone();
            pairs.push(("instance".into(), format!("host-{target:03}:9100")));
            pairs.push(("job".into(), "node".into()));
            order.push((Labels::from_pairs(pairs), target, si));
        }
    }
    order.sort_by(|a, b| a.0.cmp(&b.0));
    order.dedup_by(|a, b| a.0 == b.0);
    let series = order.into_iter().map(|(l, target, si)| {
        let s = samples(&tmpl[si], target, si, &ts[target]);
        (l, s)
    });
    let end = START_MS + (STEPS + 1) * STEP_MS;
    let (meta, stats) = write_block_stats(dir, series, START_MS, end).expect("write block");
    (Arc::new(Block::open(&dir.join(&meta.id)).expect("open")), stats)
}

fn bench(c: &mut Criterion) {
    let targets: usize = std::env::var("BLOCK_BENCH_TARGETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = std::time::Instant::now();
    let (block, stats) = build(dir.path(), targets);
    let write_s = t0.elapsed().as_secs_f64();
    let m = block.meta();
    let n = m.num_samples as f64;
    println!(
        "block_select data: {targets} targets, {} series, {} samples, written in {write_s:.2} s ({:.1} M samples/s)",
        m.num_series,
        m.num_samples,
        n / write_s / 1e6
    );
    println!(
        "block_select size: {:.3} bytes/sample on disk ({} bytes: index {} B), timestamps {:.3} B/sample, values {:.3} B/sample, {} columns written, {} deduplicated",
        block.size_bytes() as f64 / n,
        block.size_bytes(),
        block.index().size_bytes(),
        stats.ts_bytes as f64 / n,
        stats.value_bytes as f64 / n,
        stats.written,
        stats.deduplicated
    );

    let cases: Vec<(&str, Vec<Matcher>)> = vec![
        (
            "one_metric_all_targets",
            vec![Matcher::equal("__name__", "node_cpu_seconds_total")],
        ),
        (
            "one_target_all_metrics",
            vec![Matcher::equal("instance", "host-007:9100")],
        ),
        (
            "regex_node_all",
            vec![Matcher::new(MatchOp::Regex, "__name__", "node_.*").expect("regex")],
        ),
    ];
    let mut g = c.benchmark_group("block_select");
    g.sample_size(10);
    let mint_10m = START_MS + 3600 * 1000;
    for (name, ms) in &cases {
        // The full 2 h, then a 10-minute window (only overlapping chunks are decoded).
        for (suffix, lo, hi) in [("", i64::MIN, i64::MAX), ("_10m", mint_10m, mint_10m + 600_000)] {
            let total: usize = block
                .select(ms, lo, hi)
                .expect("select")
                .iter()
                .map(|s| s.samples.len())
                .sum();
            g.throughput(Throughput::Elements(total as u64));
            g.bench_function(format!("{name}{suffix}"), |b| {
                b.iter(|| block.select(ms, lo, hi).expect("select"));
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
