#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Head benchmarks: append throughput (samples/s on one core), select + decode throughput,
//! and memory per active series (printed once, measured from the process' resident set).
//!
//! Series look like node-exporter output (6 labels, 200 metric names per instance). The WAL
//! is on a temporary directory with the default 1 s fsync interval, as in production.
//!
//! Run: `cargo bench --bench head_append` (the memory and WAL replay figures are printed
//! first, on stderr).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::time::{Duration, Instant};
use storage::{Appendable, Db, DbOptions, Labels, MatchOp, Matcher, Queryable, SelectHints, SeriesRef};

const SCRAPE_MS: i64 = 15_000;

fn labels(i: usize) -> Labels {
    let metric = format!("node_metric_{}_total", i % 200);
    let instance = format!("host-{:05}.example.net:9100", i / 200);
    let cpu = (i % 8).to_string();
    Labels::from_pairs([
        ("__name__", metric.as_str()),
        ("job", "node"),
        ("instance", instance.as_str()),
        ("cpu", cpu.as_str()),
        ("mode", ["idle", "user", "system", "iowait"][i % 4]),
        ("env", "prod"),
    ])
}

/// A counter-like value with a little jitter, as real exporters produce.
fn value(i: usize, step: i64) -> f64 {
    (step as f64) * 12.5 + (i % 17) as f64 + ((step * 7 + i as i64) % 5) as f64 * 0.25
}

fn open(dir: &std::path::Path) -> Db {
    let mut o = DbOptions::new(dir);
    o.auto_maintenance = false;
    o.block_range_ms = i64::MAX / 4;
    o.retention_ms = 0;
    Db::open(o).expect("open db")
}

/// Appends one scrape (one sample per series) and returns the refs.
fn scrape(db: &Db, all: &[Labels], refs: &mut [SeriesRef], step: i64) {
    let mut a = db.appender();
    for (i, l) in all.iter().enumerate() {
        refs[i] = a
            .append(refs[i], l, step * SCRAPE_MS, value(i, step))
            .expect("append");
    }
    a.commit().expect("commit");
}

fn bench_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("head_append");
    g.measurement_time(Duration::from_secs(5)).sample_size(20);
    for n in [1_000usize, 10_000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(dir.path());
        let all: Vec<Labels> = (0..n).map(labels).collect();
        let mut refs = vec![SeriesRef::NONE; n];
        let mut step = 0;
        scrape(&db, &all, &mut refs, step);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("scrape_cached_refs/{n}_series"), |b| {
            b.iter(|| {
                step += 1;
                scrape(&db, &all, &mut refs, step);
            })
        });
        g.bench_function(format!("scrape_label_lookup/{n}_series"), |b| {
            b.iter(|| {
                step += 1;
                let mut none = vec![SeriesRef::NONE; n];
                scrape(&db, &all, &mut none, step);
            })
        });
    }
    g.finish();
}

fn bench_select(c: &mut Criterion) {
    let mut g = c.benchmark_group("head_select");
    g.measurement_time(Duration::from_secs(5)).sample_size(20);
    let (n, steps) = (1_000usize, 720i64); // 3 h of 15 s scrapes
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let all: Vec<Labels> = (0..n).map(labels).collect();
    let mut refs = vec![SeriesRef::NONE; n];
    for step in 0..steps {
        scrape(&db, &all, &mut refs, step);
    }
    let everything = [Matcher::new(MatchOp::Regex, "__name__", "node_.+").expect("matcher")];
    let (mint, maxt) = (0, steps * SCRAPE_MS);
    g.throughput(Throughput::Elements(n as u64 * steps as u64));
    g.bench_function(format!("all/{n}_series_x_{steps}"), |b| {
        b.iter(|| {
            let q = db.querier(mint, maxt).expect("querier");
            let r = q
                .select(&SelectHints { mint, maxt }, black_box(&everything))
                .expect("select");
            black_box(r.iter().map(|s| s.samples.len()).sum::<usize>())
        })
    });
    let one_metric = [Matcher::equal("__name__", "node_metric_7_total")];
    g.throughput(Throughput::Elements((n / 200) as u64 * steps as u64));
    g.bench_function("one_metric_name/5_series", |b| {
        b.iter_batched(
            || db.querier(mint, maxt).expect("querier"),
            |q| {
                q.select(&SelectHints { mint, maxt }, black_box(&one_metric))
                    .expect("select")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

/// Prints memory per active series: after creating the series (1 sample each) and after a
/// full 2 h block range of 15 s scrapes (480 samples each).
fn memory_report(_c: &mut Criterion) {
    let n = 50_000usize;
    let all: Vec<Labels> = (0..n).map(labels).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let before = rss_bytes();
    let db = open(dir.path());
    let mut refs = vec![SeriesRef::NONE; n];
    scrape(&db, &all, &mut refs, 0);
    let created = rss_bytes();
    let started = Instant::now();
    for step in 1..480 {
        scrape(&db, &all, &mut refs, step);
    }
    let secs = started.elapsed().as_secs_f64();
    let full = rss_bytes();
    let st = db.stats();
    let sample_bytes = db.head_sample_bytes();
    eprintln!(
        "memory/{n}_series: {:.0} B/series after 1 sample (labels, index, maps); \
         {:.0} B/series after 480 samples (RSS); head chunk data {:.2} B/sample; \
         {} samples, {} chunks, {} symbols; appended {:.2} M samples/s on one core",
        (created.saturating_sub(before)) as f64 / n as f64,
        (full.saturating_sub(before)) as f64 / n as f64,
        sample_bytes as f64 / st.head_samples as f64,
        st.head_samples,
        st.head_chunks,
        st.head_symbols,
        (n as f64 * 479.0) / secs / 1e6,
    );
    drop(db);
    let started = Instant::now();
    let db = open(dir.path());
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "replay/{n}_series: reopened in {secs:.2} s, {:.2} M samples/s from {} WAL bytes",
        db.stats().head_samples as f64 / secs / 1e6,
        db.stats().wal_bytes,
    );
}

criterion_group!(benches, memory_report, bench_append, bench_select);
criterion_main!(benches);
