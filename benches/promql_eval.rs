#![allow(clippy::unwrap_used, clippy::expect_used)]
//! PromQL range-query latency over a synthetic data set: 10 000 series (9 000 counters in
//! 100 jobs plus 100 classic histograms of 10 buckets) with 2 h of samples every 15 s,
//! evaluated as 2 h range queries with a 30 s step (241 steps), as a dashboard would.
//!
//! Run: `cargo bench --bench promql_eval`.

use criterion::{criterion_group, criterion_main, Criterion};
use query::{Engine, EngineOptions};
use std::time::Duration;
use storage::{Appendable, Db, DbOptions, Labels, SeriesRef};

const SCRAPE_MS: i64 = 15_000;
const RANGE_MS: i64 = 2 * 3600 * 1000;
const STEP_MS: i64 = 30_000;
const COUNTERS: usize = 9_000;
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
    let samples = RANGE_MS / SCRAPE_MS + 1;
    let mut app = db.appender();
    for i in 0..COUNTERS {
        let l = Labels::from_pairs([
            ("__name__", "http_requests_total".to_string()),
            ("job", format!("job-{}", i % 100)),
            ("instance", format!("10.0.{}.{}:9100", i / 250, i % 250)),
        ]);
        let mut r = SeriesRef::NONE;
        let mut v = 0.0;
        for s in 0..samples {
            v += (rng.next() * 20.0).floor();
            r = app.append(r, &l, s * SCRAPE_MS, v).expect("append");
        }
    }
    for h in 0..HISTOGRAMS {
        let mut counts = [0.0f64; BUCKETS.len()];
        let refs: Vec<Labels> = BUCKETS
            .iter()
            .map(|le| {
                Labels::from_pairs([
                    ("__name__", "request_duration_seconds_bucket".to_string()),
                    ("job", format!("job-{}", h % 10)),
                    ("instance", format!("10.1.0.{h}:9100")),
                    ("le", le.to_string()),
                ])
            })
            .collect();
        for s in 0..samples {
            let n = (rng.next() * 50.0) as usize;
            for _ in 0..n {
                let x = rng.next() * rng.next() * 3.0;
                for (b, le) in BUCKETS.iter().enumerate() {
                    if *le == "+Inf" || x <= le.parse::<f64>().expect("bound") {
                        counts[b] += 1.0;
                    }
                }
            }
            for (b, l) in refs.iter().enumerate() {
                app.append(SeriesRef::NONE, l, s * SCRAPE_MS, counts[b])
                    .expect("append");
            }
        }
    }
    app.commit().expect("commit");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(DbOptions::new(dir.path())).expect("open");
    load(&db);
    let engine = Engine::new(EngineOptions::default());
    let (start, end) = (0, RANGE_MS);
    let queries = [
        ("selector_10k", "http_requests_total"),
        ("rate_10k", "rate(http_requests_total[5m])"),
        (
            "sum_by_job_rate_10k",
            "sum by (job) (rate(http_requests_total[5m]))",
        ),
        ("topk_rate_10k", "topk(5, rate(http_requests_total[5m]))"),
        (
            "histogram_quantile_1k_buckets",
            "histogram_quantile(0.9, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))",
        ),
        (
            "high_card_sum_by_instance",
            "sum by (instance) (http_requests_total)",
        ),
    ];
    let mut g = c.benchmark_group("promql_range_2h_step30s");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for (name, q) in queries {
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = engine.range(&db, q, start, end, STEP_MS).expect("query");
                std::hint::black_box(out);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
