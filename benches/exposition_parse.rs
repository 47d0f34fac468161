#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Exposition parsing throughput on the real fixtures (`tests/fixtures/exposition/`).
//!
//! Three cases per fixture: `pull` walks the borrowed entries, `hinted` does the same with each
//! line hinted with its series of the previous body (the scrape hot path, `next_entry_hinted`),
//! `owned` builds every label set (`ingest::exposition::parse`).
//! Throughput is reported in lines, so criterion prints lines/s on one core.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ingest::exposition::{parse_format, Entry, Format, Parser};
use std::hint::black_box;
use std::path::PathBuf;

const FIXTURES: &[(&str, Format)] = &[
    ("node_exporter.txt", Format::PrometheusText),
    ("prometheus.txt", Format::PrometheusText),
    ("lodestar.txt", Format::PrometheusText),
    ("lodestar.openmetrics.txt", Format::OpenMetrics),
    ("vero.txt", Format::PrometheusText),
    ("vero.openmetrics.txt", Format::OpenMetrics),
    ("nodeos.txt", Format::PrometheusText),
    ("edgeless.openmetrics.txt", Format::OpenMetrics),
];

fn load(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exposition")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("exposition_parse");
    for &(name, format) in FIXTURES {
        let body = load(name);
        let lines = body.iter().filter(|&&b| b == b'\n').count() as u64;
        g.throughput(Throughput::Elements(lines));
        g.bench_function(format!("pull/{name}"), |b| {
            b.iter(|| {
                let mut sum = 0.0;
                let mut p = Parser::new(black_box(&body), format).unwrap();
                while let Some(e) = p.next_entry().unwrap() {
                    if let Entry::Sample(s) = e {
                        sum += s.value;
                        for (n, v) in s.labels.iter() {
                            black_box((n, v));
                        }
                    }
                }
                sum
            })
        });
        // The scrape hot path: each line hinted with the series at its position last time.
        let series: Vec<String> = Parser::new(&body, format)
            .unwrap()
            .filter_map(|e| match e.unwrap() {
                Entry::Sample(s) => Some(s.series.to_string()),
                _ => None,
            })
            .collect();
        g.bench_function(format!("hinted/{name}"), |b| {
            b.iter(|| {
                let mut sum = 0.0;
                let mut next = series.iter();
                let mut hint = next.next();
                let mut p = Parser::new(black_box(&body), format).unwrap();
                while let Some((e, _)) = p.next_entry_hinted(hint.map(String::as_str)).unwrap() {
                    if let Entry::Sample(s) = e {
                        sum += s.value;
                        hint = next.next();
                    }
                }
                sum
            })
        });
        g.bench_function(format!("owned/{name}"), |b| {
            b.iter(|| parse_format(black_box(&body), format).unwrap().samples.len())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
