#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Forwarding's encode path, in samples/s on one core: a shard's batch of queued samples to
//! the snappy-compressed remote-write body it sends.
//!
//! Batches (2000 samples, Prometheus' default `max_samples_per_send`; series with 8 labels
//! shaped like node_exporter's, fixed values so every run encodes the same bytes):
//! - `2000x1`: 2000 series, one sample each (a queue keeping up with scrapes);
//! - `200x10`: 200 series, ten samples each (a queue catching up after an outage).
//!
//! Cases:
//! - `v1_handwritten` / `v2_handwritten`: [`BatchEncoder`], what the queues run (labels
//!   encoded once per series, buffers and the snappy encoder reused);
//! - `v1_prost_baseline`: what the queues did before, kept here as the reference: group the
//!   batch by series in a hash map, build the `prompb` message tree (labels cloned per series
//!   per batch), `encode_to_vec`, a new snappy encoder per request.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ingest::forward::encode::{BatchEncoder, OutSeries, QueuedSample, SampleValue};
use ingest::forward::series::SeriesTable;
use ingest::forward::ProtobufMessage;
use prost::Message;
use std::hint::black_box;
use storage::Labels;

const BATCH: usize = 2000;

fn labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", format!("node_cpu_seconds_total_{}", i % 50)),
        ("cpu", format!("{}", i % 16)),
        ("instance", format!("host-{:04}.example.internal:9100", i / 50)),
        ("job", "node".to_string()),
        ("mode", ["idle", "user", "system", "iowait"][i % 4].to_string()),
        ("region", "eu-west-1".to_string()),
        ("cluster", "prod-a".to_string()),
        ("env", "production".to_string()),
    ])
}

/// A table of `series` series and a batch giving each `per_series` samples, interleaved as a
/// WAL record orders them (by time, then series).
fn setup(series: usize, per_series: usize) -> (SeriesTable, Vec<QueuedSample>) {
    let mut table = SeriesTable::default();
    let slots: Vec<u32> = (0..series)
        .map(|i| table.insert(OutSeries::new(labels(i))))
        .collect();
    let mut batch = Vec::with_capacity(series * per_series);
    for step in 0..per_series {
        for (i, &slot) in slots.iter().enumerate() {
            batch.push(QueuedSample {
                series: slot,
                t: 1_700_000_000_000 + step as i64 * 15_000,
                value: SampleValue::Float((i * 7 + step) as f64 * 0.25),
                seq: step as u64,
            });
        }
    }
    (table, batch)
}

/// Labels as the old queue kept them: prost messages built once per series (and cloned
/// into every batch).
fn proto_labels(table: &SeriesTable) -> Vec<Vec<prompb::Label>> {
    (0..table.len() as u32)
        .map(|slot| {
            table
                .get(slot)
                .and_then(|s| s.labels.as_ref())
                .map(|labels| {
                    labels
                        .iter()
                        .map(|l| prompb::Label::new(&l.name, &l.value))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// The encoder the queues used before the hand-written one (see the crate doc).
fn prost_baseline(batch: &[QueuedSample], proto_labels: &[Vec<prompb::Label>]) -> Vec<u8> {
    let mut index: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    let mut groups: Vec<(u32, Vec<prompb::Sample>)> = Vec::new();
    for s in batch {
        let i = *index.entry(s.series).or_insert_with(|| {
            groups.push((s.series, Vec::new()));
            groups.len() - 1
        });
        if let SampleValue::Float(v) = s.value {
            groups[i].1.push(prompb::Sample {
                value: v,
                timestamp: s.t,
            });
        }
    }
    let pb = prompb::WriteRequest {
        timeseries: groups
            .into_iter()
            .map(|(slot, samples)| prompb::TimeSeries {
                labels: proto_labels[slot as usize].clone(),
                samples,
                ..Default::default()
            })
            .collect(),
        metadata: Vec::new(),
    }
    .encode_to_vec();
    snap::raw::Encoder::new().compress_vec(&pb).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("forward_encode");
    g.throughput(Throughput::Elements(BATCH as u64));
    for (name, series, per) in [("2000x1", 2000, 1), ("200x10", 200, 10)] {
        let (table, batch) = setup(series, per);
        assert_eq!(batch.len(), BATCH);
        let old_labels = proto_labels(&table);
        let mut enc = BatchEncoder::default();
        let (body, raw) = enc.encode(ProtobufMessage::V1, &batch, &table, None);
        eprintln!(
            "forward_encode/{name}: 1.0 body {} bytes snappy, {raw} protobuf ({:.1} bytes/sample)",
            body.len(),
            body.len() as f64 / BATCH as f64
        );
        g.bench_function(format!("{name}/v1_handwritten"), |b| {
            b.iter(|| black_box(enc.encode(ProtobufMessage::V1, black_box(&batch), &table, None)))
        });
        g.bench_function(format!("{name}/v2_handwritten"), |b| {
            b.iter(|| black_box(enc.encode(ProtobufMessage::V2, black_box(&batch), &table, None)))
        });
        g.bench_function(format!("{name}/v1_prost_baseline"), |b| {
            b.iter(|| black_box(prost_baseline(black_box(&batch), &old_labels)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
