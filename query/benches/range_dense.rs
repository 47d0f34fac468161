#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Range functions over dense windows: 2,000 counters and 100 classic histograms (10 buckets)
//! sampled every second for 30 minutes, so a 5 m window holds 300 samples per series, queried
//! over the whole span as a dashboard would (the dense `bench compare` queries' shape).
//!
//! Prints the median latency of 7 runs per query, after one warm-up run: first with the
//! closed chunks on the heap as appended, then after a spill pass (as a server holds them).
//! Run: `cargo bench -p query --bench range_dense`.

use query::{Engine, EngineOptions};
use std::time::Instant;
use storage::{Appendable, Db, DbOptions, Labels, SeriesRef};

const SCRAPE_MS: i64 = 1_000;
const SPAN_MS: i64 = 30 * 60 * 1000;
const COUNTERS: usize = 2_000;
const HISTOGRAMS: usize = 100;
const BUCKETS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];

/// A tiny deterministic PRNG (xorshift), so the data set is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn load(db: &Db) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let samples = SPAN_MS / SCRAPE_MS + 1;
    let counters: Vec<Labels> = (0..COUNTERS)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", "node_cpu_seconds_total".to_string()),
                ("cpu", (i % 16).to_string()),
                ("instance", format!("node-{:04}:9100", i / 16)),
                ("mode", "user".to_string()),
            ])
        })
        .collect();
    let buckets: Vec<Vec<Labels>> = (0..HISTOGRAMS)
        .map(|h| {
            BUCKETS
                .iter()
                .map(|le| {
                    Labels::from_pairs([
                        ("__name__", "http_request_duration_seconds_bucket".to_string()),
                        ("instance", format!("node-{h:04}:9100")),
                        ("le", le.to_string()),
                    ])
                })
                .collect()
        })
        .collect();
    let mut values = vec![0.0f64; COUNTERS];
    let mut counts = vec![[0.0f64; BUCKETS.len()]; HISTOGRAMS];
    let mut refs = vec![SeriesRef::NONE; COUNTERS + HISTOGRAMS * BUCKETS.len()];
    for s in 0..samples {
        let t = s * SCRAPE_MS + 7;
        let mut app = db.appender();
        for (i, l) in counters.iter().enumerate() {
            // A reset now and then, as restarts do.
            values[i] = if rng.next() < 0.0005 {
                0.0
            } else {
                values[i] + (rng.next() * 100.0).round() / 100.0
            };
            refs[i] = app.append(refs[i], l, t, values[i]).expect("append");
        }
        for (h, ls) in buckets.iter().enumerate() {
            let n = (rng.next() * 8.0) as usize;
            for _ in 0..n {
                let x = rng.next() * rng.next() * 3.0;
                for (b, le) in BUCKETS.iter().enumerate() {
                    if *le == "+Inf" || x <= le.parse::<f64>().expect("bound") {
                        counts[h][b] += 1.0;
                    }
                }
            }
            for (b, l) in ls.iter().enumerate() {
                let k = COUNTERS + h * BUCKETS.len() + b;
                refs[k] = app.append(refs[k], l, t, counts[h][b]).expect("append");
            }
        }
        app.commit().expect("commit");
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = DbOptions::new(dir.path());
    o.auto_maintenance = false;
    let db = Db::open(o).expect("open");
    let started = Instant::now();
    load(&db);
    eprintln!(
        "loaded {} samples in {:.1} s",
        db.stats().head_samples,
        started.elapsed().as_secs_f64()
    );
    let engine = Engine::new(EngineOptions::default());
    let (start, end) = (0, SPAN_MS);
    let queries = [
        ("sum(rate(node_cpu_seconds_total[5m]))", 15_000),
        ("rate(node_cpu_seconds_total[5m])", 15_000),
        ("increase(node_cpu_seconds_total[5m])", 15_000),
        ("max_over_time(node_cpu_seconds_total[5m])", 15_000),
        ("avg_over_time(node_cpu_seconds_total[5m])", 15_000),
        (
            "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
            60_000,
        ),
    ];
    // First as just appended (closed chunks on the heap, Gorilla-coded), then as a running
    // server holds them after its spill pass (in `chunks_head/`, as block columns).
    for state in ["heap", "spilled"] {
        if state == "spilled" {
            let moved = db.spill_head_chunks();
            eprintln!("spilled {moved} closed chunks to chunks_head/");
        }
        run_queries(&db, &engine, &queries, start, end, state);
    }
}

fn run_queries(db: &Db, engine: &Engine, queries: &[(&str, i64)], start: i64, end: i64, state: &str) {
    for &(q, step) in queries {
        let _ = engine.range(db, q, start, end, step).expect("query");
        let mut ms: Vec<f64> = (0..7)
            .map(|_| {
                let t0 = Instant::now();
                let out = engine.range(db, q, start, end, step).expect("query");
                std::hint::black_box(out);
                t0.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        eprintln!(
            "range_dense [{state}] `{q}` step {} s: median {:.1} ms (min {:.1}, max {:.1})",
            step / 1000,
            ms[3],
            ms[0],
            ms[6]
        );
    }
}
