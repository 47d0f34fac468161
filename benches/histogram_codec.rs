#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Native histogram codec benchmark: bytes per histogram sample of Sextant's histogram
//! column (plus its timestamp column) against an exact size model of Prometheus' histogram
//! chunk (`tsdb/chunkenc/histogram.go`: layout once per chunk, varbit delta-of-delta
//! timestamps, count and zero count, XOR sum, varbit delta-of-delta of the bucket deltas),
//! and encode/decode speed.
//!
//! Data (fixed seed): latency histograms scraped every 15 s for 8 h. Each scrape adds 50-150
//! observations drawn log-normally (median 40 ms, sigma half a power of two), so about 20
//! buckets are populated at first and rare tail buckets keep appearing (layout changes),
//! ~35 at the end for schema 3.
//! Shapes:
//! - `s3-int`: schema 3, integer counts (what client libraries expose);
//! - `s3-float`: the same divided by 3 (float counts, e.g. a recording rule's output);
//! - `s0-int`: schema 0 (coarse, ~6 buckets).
//!
//! Both codecs see the same chunks: runs of `n` samples (120 = Prometheus' head chunk
//! default, 480 = Sextant's 2 h block chunk at 15 s). Prometheus recodes a chunk on new
//! buckets so that it has the union layout, as Sextant's column does. Prometheus also cuts
//! histogram chunks at about 1 KiB (`TargetBytesPerHistogramChunk`); its size with that rule
//! is printed too (smaller chunks, so more headers and raw first samples).
//!
//! Run: `cargo bench --bench histogram_codec`; `HIST_BENCH_SIZES_ONLY=1` prints sizes only.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use storage::chunk::{decode_histograms, decode_timestamps, encode_histograms, encode_timestamps};
use storage::{BucketSpan, FloatHistogram};

const STEPS: usize = 1920; // 8 h at 15 s
const START_MS: i64 = 1_767_225_600_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn f64(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        (-2.0 * self.f64().ln()).sqrt() * (std::f64::consts::TAU * self.f64()).cos()
    }
}

/// Histograms (timestamps, cumulative histograms) of one series.
fn series(schema: i32, divide: f64, seed: u64) -> (Vec<i64>, Vec<FloatHistogram>) {
    let mut rng = Rng(seed);
    let mut counts: std::collections::BTreeMap<i32, u64> = Default::default();
    let (mut total, mut sum) = (0u64, 0.0f64);
    let mut ts = Vec::with_capacity(STEPS);
    let mut hs = Vec::with_capacity(STEPS);
    let factor = 2f64.powi(schema);
    for step in 0..STEPS {
        let n = 50 + rng.next() % 101;
        for _ in 0..n {
            let v = 0.040 * (rng.normal() * 0.5 * std::f64::consts::LN_2).exp();
            let idx = (v.log2() * factor).ceil() as i32;
            *counts.entry(idx).or_default() += 1;
            total += 1;
            sum += v;
        }
        // Jitter of a few ms, as real scrapes have.
        ts.push(START_MS + step as i64 * 15_000 + (rng.next() % 20) as i64);
        let idx: Vec<i32> = counts.keys().copied().collect();
        let mut spans: Vec<BucketSpan> = Vec::new();
        let mut end = 0i32;
        for (k, &i) in idx.iter().enumerate() {
            match spans.last_mut() {
                Some(s) if k > 0 && i == end => s.length += 1,
                _ => spans.push(BucketSpan::new(if k == 0 { i } else { i - end }, 1)),
            }
            end = i + 1;
        }
        hs.push(FloatHistogram {
            schema,
            zero_threshold: 2f64.powi(-128),
            count: total as f64 / divide,
            sum: sum / divide,
            positive_spans: spans,
            positive_buckets: counts.values().map(|&c| c as f64 / divide).collect(),
            ..Default::default()
        });
    }
    (ts, hs)
}

// ------------------------------------------------------------- Prometheus size model

fn bit_range(x: i64, nbits: u32) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= 1i64 << (nbits - 1)
}

fn varbit_int(v: i64) -> u64 {
    match v {
        0 => 1,
        _ if bit_range(v, 3) => 5,
        _ if bit_range(v, 6) => 9,
        _ if bit_range(v, 9) => 13,
        _ if bit_range(v, 12) => 17,
        _ if bit_range(v, 18) => 24,
        _ if bit_range(v, 25) => 32,
        _ if bit_range(v, 56) => 64,
        _ => 72,
    }
}

fn varbit_uint(v: u64) -> u64 {
    match v {
        0 => 1,
        _ if v < 1 << 3 => 5,
        _ if v < 1 << 6 => 9,
        _ if v < 1 << 9 => 13,
        _ if v < 1 << 12 => 17,
        _ if v < 1 << 18 => 24,
        _ if v < 1 << 25 => 32,
        _ if v < 1 << 56 => 64,
        _ => 72,
    }
}

/// Bits of `xorWrite` (Prometheus' XOR float encoding), updating its state.
fn xor_bits(new: f64, cur: f64, leading: &mut u8, trailing: &mut u8) -> u64 {
    let delta = new.to_bits() ^ cur.to_bits();
    if delta == 0 {
        return 1;
    }
    let nl = (delta.leading_zeros() as u8).min(31);
    let nt = delta.trailing_zeros() as u8;
    if *leading != 0xff && nl >= *leading && nt >= *trailing {
        return 2 + u64::from(64 - *leading - *trailing);
    }
    *leading = nl;
    *trailing = nt;
    2 + 5 + 6 + u64::from(64 - nl - nt)
}

/// The union layout of `hs` and each histogram's buckets on it, as bucket deltas (the
/// integer histogram form Prometheus encodes).
fn on_union(hs: &[FloatHistogram]) -> (Vec<BucketSpan>, Vec<Vec<i64>>) {
    let idx_of = |h: &FloatHistogram| -> Vec<i32> {
        let mut out = Vec::new();
        let mut next = 0;
        for s in &h.positive_spans {
            let start = next + s.offset;
            out.extend(start..start + s.length as i32);
            next = start + s.length as i32;
        }
        out
    };
    let mut union: Vec<i32> = hs.iter().flat_map(idx_of).collect();
    union.sort_unstable();
    union.dedup();
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut end = 0i32;
    for (k, &i) in union.iter().enumerate() {
        match spans.last_mut() {
            Some(s) if k > 0 && i == end => s.length += 1,
            _ => spans.push(BucketSpan::new(if k == 0 { i } else { i - end }, 1)),
        }
        end = i + 1;
    }
    let rows = hs
        .iter()
        .map(|h| {
            let mut abs = vec![0i64; union.len()];
            for (i, c) in idx_of(h).into_iter().zip(&h.positive_buckets) {
                if let Ok(p) = union.binary_search(&i) {
                    abs[p] = *c as i64;
                }
            }
            let mut prev = 0;
            abs.iter()
                .map(|&a| {
                    let d = a - prev;
                    prev = a;
                    d
                })
                .collect()
        })
        .collect();
    (spans, rows)
}

/// Bytes of one Prometheus histogram chunk holding `hs` at `ts` (integer counts).
fn prometheus_chunk_bytes(ts: &[i64], hs: &[FloatHistogram]) -> u64 {
    let (spans, rows) = on_union(hs);
    let mut bits = 0u64;
    // Layout: zero threshold (a power of two: one byte), schema, spans (+ empty negative).
    bits += 8 + varbit_int(i64::from(hs[0].schema));
    bits += varbit_uint(spans.len() as u64);
    for s in &spans {
        bits += varbit_uint(u64::from(s.length)) + varbit_int(i64::from(s.offset));
    }
    bits += varbit_uint(0);
    let nb = rows[0].len();
    let (mut pt, mut ptd) = (0i64, 0i64);
    let (mut pc, mut pcd, mut pz, mut pzd) = (0i64, 0i64, 0i64, 0i64);
    let mut pb = vec![0i64; nb];
    let mut pbd = vec![0i64; nb];
    let mut psum = 0.0;
    let (mut lead, mut trail) = (0xffu8, 0u8);
    for (k, (&t, h)) in ts.iter().zip(hs).enumerate() {
        let (c, z) = (h.count as i64, h.zero_count as i64);
        if k == 0 {
            bits += varbit_int(t) + varbit_uint(c as u64) + varbit_uint(z as u64) + 64;
            bits += rows[0].iter().map(|&b| varbit_int(b)).sum::<u64>();
            pb.clone_from(&rows[0]);
        } else {
            let (td, cd, zd) = (t - pt, c - pc, z - pz);
            bits += varbit_int(td - ptd) + varbit_int(cd - pcd) + varbit_int(zd - pzd);
            bits += xor_bits(h.sum, psum, &mut lead, &mut trail);
            for i in 0..nb {
                let d = rows[k][i] - pb[i];
                bits += varbit_int(d - pbd[i]);
                pbd[i] = d;
                pb[i] = rows[k][i];
            }
            ptd = td;
            pcd = cd;
            pzd = zd;
        }
        pt = t;
        pc = c;
        pz = z;
        psum = h.sum;
    }
    3 + bits.div_ceil(8)
}

/// Bytes of one Prometheus float histogram chunk (`float_histogram.go`: first sample's
/// count, zero count, sum and buckets raw, then XOR of each against its previous value, each
/// bucket with its own XOR state).
fn prometheus_float_chunk_bytes(ts: &[i64], hs: &[FloatHistogram]) -> u64 {
    let (spans, _) = on_union(hs);
    let mut bits = 8 + varbit_int(i64::from(hs[0].schema)) + varbit_uint(spans.len() as u64) + varbit_uint(0);
    for s in &spans {
        bits += varbit_uint(u64::from(s.length)) + varbit_int(i64::from(s.offset));
    }
    // Absolute counts on the union layout.
    let idx = |h: &FloatHistogram| -> Vec<i32> {
        let mut out = Vec::new();
        let mut next = 0;
        for s in &h.positive_spans {
            let start = next + s.offset;
            out.extend(start..start + s.length as i32);
            next = start + s.length as i32;
        }
        out
    };
    let mut union: Vec<i32> = hs.iter().flat_map(idx).collect();
    union.sort_unstable();
    union.dedup();
    let rows: Vec<Vec<f64>> = hs
        .iter()
        .map(|h| {
            let mut row = vec![0.0; union.len()];
            for (i, c) in idx(h).into_iter().zip(&h.positive_buckets) {
                if let Ok(p) = union.binary_search(&i) {
                    row[p] = *c;
                }
            }
            row
        })
        .collect();
    let nf = 3 + union.len();
    let mut state = vec![(0xffu8, 0u8); nf];
    let (mut pt, mut ptd) = (0i64, 0i64);
    let mut prev: Vec<f64> = Vec::new();
    for (k, (&t, h)) in ts.iter().zip(hs).enumerate() {
        let mut fields = vec![h.count, h.zero_count, h.sum];
        fields.extend_from_slice(&rows[k]);
        if k == 0 {
            bits += varbit_int(t) + 64 * nf as u64;
        } else {
            let td = t - pt;
            bits += varbit_int(td - ptd);
            ptd = td;
            for (i, v) in fields.iter().enumerate() {
                let (l, tr) = &mut state[i];
                bits += xor_bits(*v, prev[i], l, tr);
            }
        }
        pt = t;
        prev = fields;
    }
    3 + bits.div_ceil(8)
}

/// Prometheus' own cutting: a new chunk once the current one reaches ~1 KiB (at least 10
/// samples). Returns total bytes.
fn prometheus_cut_bytes(ts: &[i64], hs: &[FloatHistogram]) -> u64 {
    let (mut total, mut start) = (0u64, 0usize);
    let mut i = start + 1;
    while start < hs.len() {
        while i < hs.len() && (i - start < 10 || prometheus_chunk_bytes(&ts[start..i], &hs[start..i]) < 1024)
        {
            i += 1;
        }
        total += prometheus_chunk_bytes(&ts[start..i], &hs[start..i]);
        start = i;
        i = start + 1;
    }
    total
}

/// Bytes of Sextant's columns (timestamps + histograms) for one chunk.
fn sextant_chunk_bytes(ts: &[i64], hs: &[FloatHistogram]) -> (u64, u64) {
    let mut a = Vec::new();
    encode_timestamps(ts, &mut a);
    let mut b = Vec::new();
    let refs: Vec<&FloatHistogram> = hs.iter().collect();
    encode_histograms(&refs, &mut b);
    (a.len() as u64, b.len() as u64)
}

type Shape = (&'static str, i32, f64);
const SHAPES: [Shape; 3] = [("s3-int", 3, 1.0), ("s3-float", 3, 3.0), ("s0-int", 0, 1.0)];
const SERIES: u64 = 8;

fn print_sizes() {
    println!(
        "histogram codec sizes, bytes per histogram sample ({SERIES} series x {STEPS} samples per shape)"
    );
    println!(
        "{:<10} {:>5} {:>8} {:>10} {:>10} {:>10} {:>12} {:>14}",
        "shape", "chunk", "buckets", "sextant", "(ts col)", "(hist col)", "prometheus", "prom 1KiB cut"
    );
    for (name, schema, div) in SHAPES {
        for n in [120usize, 480] {
            let (mut ours_ts, mut ours_h, mut prom, mut prom_cut, mut samples, mut buckets) =
                (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
            for s in 0..SERIES {
                let (ts, hs) = series(schema, div, 42 + s);
                buckets += hs.iter().map(|h| h.positive_buckets.len() as u64).sum::<u64>();
                for (tc, hc) in ts.chunks(n).zip(hs.chunks(n)) {
                    let (a, b) = sextant_chunk_bytes(tc, hc);
                    ours_ts += a;
                    ours_h += b;
                    prom += if div == 1.0 {
                        prometheus_chunk_bytes(tc, hc)
                    } else {
                        prometheus_float_chunk_bytes(tc, hc)
                    };
                }
                if div == 1.0 {
                    prom_cut += prometheus_cut_bytes(&ts, &hs);
                }
                samples += hs.len() as u64;
            }
            let per = |b: u64| b as f64 / samples as f64;
            let prom_txt = |b: u64| {
                if div == 1.0 || b == prom {
                    format!("{:.2}", per(b))
                } else {
                    "-".into()
                }
            };
            println!(
                "{:<10} {:>5} {:>8.1} {:>10.2} {:>10.2} {:>10.2} {:>12} {:>14}",
                name,
                n,
                buckets as f64 / samples as f64,
                per(ours_ts + ours_h),
                per(ours_ts),
                per(ours_h),
                prom_txt(prom),
                prom_txt(prom_cut),
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    print_sizes();
    if std::env::var_os("HIST_BENCH_SIZES_ONLY").is_some() {
        return;
    }
    let mut g = c.benchmark_group("histogram_codec");
    for (name, schema, div) in SHAPES {
        let (ts, hs) = series(schema, div, 42);
        let (tc, hc) = (&ts[..120], &hs[..120]);
        let refs: Vec<&FloatHistogram> = hc.iter().collect();
        let mut tbuf = Vec::new();
        encode_timestamps(tc, &mut tbuf);
        let mut hbuf = Vec::new();
        encode_histograms(&refs, &mut hbuf);
        g.throughput(Throughput::Elements(120));
        g.bench_with_input(BenchmarkId::new("encode", name), &refs, |b, refs| {
            b.iter(|| {
                let mut out = Vec::new();
                encode_histograms(black_box(refs), &mut out);
                out
            })
        });
        g.bench_with_input(BenchmarkId::new("decode", name), &(tbuf, hbuf), |b, (tb, hb)| {
            b.iter(|| {
                let mut t = Vec::new();
                decode_timestamps(black_box(tb), &mut t).unwrap();
                let mut h = Vec::new();
                decode_histograms(black_box(hb), &mut h).unwrap();
                (t, h)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
