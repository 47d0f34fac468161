#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What self-observability costs on the hot paths: a counter add, a histogram observation,
//! an `info_span!` with tracing off (the log subscriber rejects spans, so it is the disabled
//! fast path), the HTTP middleware's bookkeeping, and rendering `/metrics` (text, then
//! OpenMetrics).
//!
//! Run: `cargo bench --bench self_metrics`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use storage::metrics::{Counter, Exposition, Histogram, LATENCY_BUCKETS};
use tracing_subscriber::layer::SubscriberExt;

fn recording(c: &mut Criterion) {
    let counter = Counter::new();
    c.bench_function("counter_add", |b| b.iter(|| counter.add(black_box(3))));
    let h = Histogram::new(LATENCY_BUCKETS);
    let mut v = 0.0f64;
    c.bench_function("histogram_observe", |b| {
        b.iter(|| {
            v = (v + 0.0137) % 2.0;
            h.observe(black_box(v));
        })
    });
    let http = web::http_metrics::http();
    c.bench_function("http_record", |b| {
        b.iter(|| http.record(black_box("/api/v1/query"), 200, 0.002))
    });
}

fn spans(c: &mut Criterion) {
    let sub = tracing_subscriber::registry().with(sextant::logging::log_layer(
        tracing_subscriber::EnvFilter::new("info"),
    ));
    tracing::subscriber::with_default(sub, || {
        c.bench_function("info_span_tracing_off", |b| {
            b.iter(|| {
                let s = tracing::info_span!("query.select", mint = black_box(1i64), maxt = 2i64).entered();
                black_box(&s);
            })
        });
    });
}

fn render(c: &mut Criterion) {
    // A page the size of a running server's (about 90 families, 300 series).
    let mut page = Exposition::new();
    ingest::metrics::render(&mut page);
    query::metrics::render(&mut page);
    for i in 0..20 {
        web::http_metrics::http().record(&format!("/api/v1/handler{i}"), 200, 0.001);
    }
    web::http_metrics::render(&mut page);
    let text = page.finish();
    println!("page: {} bytes, {} lines", text.len(), text.lines().count());
    c.bench_function("render_ingest_query_http", |b| {
        b.iter(|| {
            let mut e = Exposition::new();
            ingest::metrics::render(&mut e);
            query::metrics::render(&mut e);
            web::http_metrics::render(&mut e);
            black_box(e.finish())
        })
    });
    c.bench_function("to_openmetrics", |b| {
        b.iter(|| black_box(sextant::openmetrics::to_openmetrics(&text)))
    });
}

criterion_group!(benches, recording, spans, render);
criterion_main!(benches);
