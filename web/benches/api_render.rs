//! API rendering and request costs: the JSON writer for large range-query results, and full
//! `/api/v1/series` and `/api/v1/query_range` requests through the router over a database.
//!
//! Run: `cargo bench -p web --bench api_render`.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::Request;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use query::Value;
use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use storage::{Appendable, Db, DbOptions, Labels, Sample, Series, SeriesRef};
use tower::ServiceExt;

const T0: i64 = 1_700_000_000_000;

fn matrix(series: usize, points: usize) -> Value {
    // Fixed pseudo-random values so the output is realistic (not all "1").
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    Value::Matrix(
        (0..series)
            .map(|i| Series {
                labels: Labels::from_pairs([
                    ("__name__", "http_requests_total".to_string()),
                    ("instance", format!("10.0.{}.{}:9100", i / 256, i % 256)),
                    ("job", "api".to_string()),
                ]),
                samples: (0..points)
                    .map(|k| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        Sample::new(T0 + k as i64 * 15_000, (x % 1_000_000) as f64 / 1000.0)
                    })
                    .collect(),
                histograms: Vec::new(),
            })
            .collect(),
    )
}

fn render(c: &mut Criterion) {
    let m = matrix(100, 1_000);
    let mut g = c.benchmark_group("render");
    g.throughput(Throughput::Elements(100 * 1_000));
    g.bench_function("matrix_100x1000", |b| {
        b.iter(|| black_box(web::api::json::query_data(black_box(&m))))
    });
    g.finish();
}

fn requests(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(DbOptions::new(dir.path())).unwrap());
    {
        let mut app = db.appender();
        for i in 0..10_000 {
            let l = Labels::from_pairs([
                ("__name__", "node_cpu_seconds_total".to_string()),
                ("cpu", (i % 16).to_string()),
                ("instance", format!("host-{}", i / 16)),
                ("mode", "idle".to_string()),
            ]);
            for k in 0..20 {
                app.append(SeriesRef::NONE, &l, T0 + k * 15_000, (k * 15) as f64)
                    .unwrap();
            }
        }
        app.commit().unwrap();
    }
    let state = Arc::new(web::WebState::new(
        db.clone(),
        Arc::new(query::Engine::new(query::EngineOptions::default())),
        Arc::new(AtomicBool::new(true)),
    ));
    let router = web::router(state);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = |uri: String| {
        let router = router.clone();
        rt.block_on(async move {
            let resp = router
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap()
                .len()
        })
    };
    let mut g = c.benchmark_group("request");
    g.sample_size(20);
    g.bench_function("series_10k", |b| {
        b.iter(|| run("/api/v1/series?match[]=node_cpu_seconds_total".into()))
    });
    let q = "sum%20by%20(cpu)%20(rate(node_cpu_seconds_total%5B1m%5D))";
    let uri = format!(
        "/api/v1/query_range?query={q}&start={}&end={}&step=15",
        T0 / 1000 + 60,
        T0 / 1000 + 285
    );
    g.bench_function("query_range_sum_rate_10k", |b| b.iter(|| run(uri.clone())));
    g.bench_function("label_values_instance", |b| {
        b.iter(|| run("/api/v1/label/instance/values".into()))
    });
    g.finish();
}

criterion_group!(benches, render, requests);
criterion_main!(benches);
