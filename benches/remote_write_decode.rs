#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Remote-write ingest throughput, in samples/s on one core.
//!
//! Payloads:
//! - `capture`: the real Prometheus 2.42 request in `tests/fixtures/remote_write/` (500 series
//!   from node_exporter and Prometheus itself, 1 sample each, snappy-compressed);
//! - `catchup_2000x5`: the capture's label sets for 4 instances (2000 series) with 5 samples
//!   each, as a sender catching up after a pause sends them;
//! - each also as remote write 2.0 (symbol table), encoded from the same series.
//!
//! Cases:
//! - `decode_prost`: snappy + the message tree with prost (the reference decoder);
//! - `decode_stream`: snappy + the streaming decoder the receiver uses (`wire::walk_v1`);
//! - `decode_translate`: the whole receiver path (decode, label validation and interning,
//!   building label sets, the appender calls) into an appender that drops the samples, so the
//!   figure is ingest's own cost;
//! - `ingest_db`: the same into a real `storage::Db` (WAL, head), new timestamps per batch.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ingest::remote_write::series_cache::SeriesCache;
use ingest::remote_write::wire::{walk_v1, Item};
use ingest::remote_write::{decode_v1, ingest, Version};
use ingest::PushLimits;
use prompb::{Label, RequestV2, Sample, TimeSeries, TimeSeriesV2, WriteRequest};
use prost::Message;
use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use storage::{AppendError, Appendable, Appender, Labels, SeriesRef};

fn load(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/remote_write")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// An appender that keeps nothing: measures the receiver alone.
struct Discard;
struct DiscardAppender;

impl Appendable for Discard {
    fn appender(&self) -> Box<dyn Appender + Send + '_> {
        Box::new(DiscardAppender)
    }
}

impl Appender for DiscardAppender {
    fn append(&mut self, _r: SeriesRef, l: &Labels, _t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        black_box((l, v));
        Ok(SeriesRef(1))
    }
    fn commit(self: Box<Self>) -> Result<(), AppendError> {
        Ok(())
    }
    fn rollback(self: Box<Self>) {}
}

fn snappy(b: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(b).expect("snappy")
}

/// The capture's series, replicated for `instances` instances with `samples` samples each,
/// starting at `t0`.
fn synthetic(base: &WriteRequest, instances: usize, samples: usize, t0: i64) -> WriteRequest {
    let mut ts = Vec::new();
    for i in 0..instances {
        for s in &base.timeseries {
            let labels = s
                .labels
                .iter()
                .map(|l| {
                    if l.name.as_ref() == b"instance" && i > 0 {
                        Label {
                            name: l.name.clone(),
                            value: format!("{}-{i}", String::from_utf8_lossy(&l.value))
                                .into_bytes()
                                .into(),
                        }
                    } else {
                        l.clone()
                    }
                })
                .collect();
            let v0 = s.samples.first().map_or(0.0, |x| x.value);
            ts.push(TimeSeries {
                labels,
                samples: (0..samples)
                    .map(|k| Sample {
                        value: v0 + k as f64,
                        timestamp: t0 + 15_000 * k as i64,
                    })
                    .collect(),
                exemplars: vec![],
                histograms: vec![],
            });
        }
    }
    WriteRequest {
        timeseries: ts,
        metadata: vec![],
    }
}

/// The same series as a 2.0 request.
fn to_v2(r: &WriteRequest) -> RequestV2 {
    let mut symbols: Vec<bytes::Bytes> = vec![bytes::Bytes::new()];
    let mut index: HashMap<bytes::Bytes, u32> = HashMap::new();
    let mut sym = |b: &bytes::Bytes| {
        *index.entry(b.clone()).or_insert_with(|| {
            symbols.push(b.clone());
            (symbols.len() - 1) as u32
        })
    };
    let timeseries = r
        .timeseries
        .iter()
        .map(|t| TimeSeriesV2 {
            labels_refs: t
                .labels
                .iter()
                .flat_map(|l| [sym(&l.name), sym(&l.value)])
                .collect(),
            samples: t.samples.clone(),
            ..Default::default()
        })
        .collect();
    RequestV2 { symbols, timeseries }
}

fn count(r: &WriteRequest) -> u64 {
    r.timeseries.iter().map(|t| t.samples.len() as u64).sum()
}

fn bench(c: &mut Criterion) {
    let limits = PushLimits::default();
    let capture_body = load("prometheus-2.42_samples.snappy.bin");
    let capture = decode_v1(&capture_body, &limits).expect("capture decodes");
    let t0 = capture.timeseries[0].samples[0].timestamp;
    let catchup = synthetic(&capture, 4, 5, t0);
    let payloads = [("capture", capture.clone()), ("catchup_2000x5", catchup)];

    // Warm across iterations, as in a receiver that sees the same series every interval.
    let cache = SeriesCache::new(1 << 20);
    let mut g = c.benchmark_group("remote_write");
    for (name, req) in &payloads {
        let v1 = snappy(&req.encode_to_vec());
        let v2 = snappy(&to_v2(req).encode_to_vec());
        g.throughput(Throughput::Elements(count(req)));
        g.bench_function(format!("decode_prost/v1/{name}"), |b| {
            b.iter(|| decode_v1(black_box(&v1), &limits).expect("decode"))
        });
        g.bench_function(format!("decode_stream/v1/{name}"), |b| {
            b.iter(|| {
                let raw = snap::raw::Decoder::new()
                    .decompress_vec(black_box(&v1))
                    .expect("snappy");
                let mut n = 0usize;
                walk_v1::<()>(&raw, |item| {
                    if let Item::Series(s) = item {
                        let s = &*s;
                        n += s.samples.len() + s.labels.len();
                    }
                    Ok(())
                })
                .expect("walk");
                n
            })
        });
        g.bench_function(format!("decode_translate/v1/{name}"), |b| {
            b.iter(|| {
                let out = ingest(&Discard, Version::V1, black_box(&v1), &limits, &cache).expect("ingest");
                assert_eq!(out.samples as u64, count(req));
            })
        });
        g.bench_function(format!("decode_translate/v2/{name}"), |b| {
            b.iter(|| {
                let out = ingest(&Discard, Version::V2, black_box(&v2), &limits, &cache).expect("ingest");
                assert_eq!(out.samples as u64, count(req));
            })
        });
    }

    // Into the real database: every batch is the capture at a later time.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = storage::Db::open(storage::DbOptions::new(dir.path())).expect("open db");
    // Timestamps near now: the database refuses data older than its retention.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let mut next_t = now_ms - 3_600_000;
    let db_cache = SeriesCache::new(1 << 20);
    g.throughput(Throughput::Elements(count(&capture)));
    g.bench_function("ingest_db/v1/capture", |b| {
        b.iter_batched(
            || {
                next_t += 15_000;
                snappy(&synthetic(&capture, 1, 1, next_t).encode_to_vec())
            },
            |body| {
                let out = ingest(&db, Version::V1, &body, &limits, &db_cache).expect("ingest");
                assert_eq!(out.error, None, "{out:?}");
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
