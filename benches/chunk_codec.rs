#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity,
    clippy::manual_clamp
)]
//! Sample codec benchmark: bytes/sample and encode/decode speed of the Gorilla head chunk and
//! the dense block columns, on Prometheus-like data.
//!
//! Data (fixed seed, so sizes are deterministic):
//! - synthetic node_exporter-like targets of ~100 series sharing one scrape: 15 s interval,
//!   0-30 ms uniform jitter, 0.3 % missed scrapes, 2 % of targets restart once (counters reset);
//!   mix of 2-decimal CPU-seconds counters, integer byte counters, 4 KiB-page memory gauges,
//!   1-decimal temperatures, constants and classic histograms (11 buckets + `+Inf` + `_count` +
//!   `_sum` with full-entropy float observations);
//! - "fixture" targets: every sample of `tests/fixtures/exposition/*.txt` starts a series at its
//!   real value, evolving as its `# TYPE` says (counters grow, gauges walk) in the value's own
//!   decimal precision; untyped/info stay constant.
//!
//! Run: `cargo bench --bench chunk_codec` (sizes are printed first, then criterion timings).
//! `CHUNK_BENCH_SIZES_ONLY=1` prints the sizes and skips timing.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use storage::chunk::{decode_timestamps, decode_values, encode_timestamps, encode_values, HeadChunk};

const STEPS: usize = 1920; // 8 h at 15 s
const SYNTH_TARGETS: usize = 40;
const SERIES_PER_TARGET: usize = 100;
const CHUNK_SIZES: [usize; 3] = [120, 480, 1920];

/// splitmix64: small, fixed-seed, good enough for data shapes.
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
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + self.f64() * (hi.ln() - lo.ln())).exp()
    }
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    CpuCounter,
    ByteCounter,
    MemGauge,
    Temperature,
    Constant,
    HistBucket,
    HistSum,
    FixtureCounter,
    FixtureGauge,
    FixtureConstant,
}

struct Series {
    kind: Kind,
    target: usize,
    values: Vec<f64>,
}

struct Dataset {
    /// Timestamps per target (all series of a target share them).
    targets: Vec<Vec<i64>>,
    series: Vec<Series>,
}

fn target_timestamps(rng: &mut Rng) -> Vec<i64> {
    let start = 1_700_000_000_000i64 + rng.below(15_000) as i64;
    let mut ts = Vec::with_capacity(STEPS);
    for i in 0..STEPS as i64 {
        if !rng.chance(0.003) {
            ts.push(start + i * 15_000 + rng.below(31) as i64);
        }
    }
    ts
}

/// Smallest k with `v == m / 10^k` exactly, if any in 0..=9.
fn decimals(v: f64) -> Option<i32> {
    (0..=9).find(|&k| {
        let p = 10f64.powi(k);
        let m = (v * p).round();
        m.abs() < 9e15 && m / p == v
    })
}

fn synth_target(rng: &mut Rng, target: usize, n: usize, out: &mut Vec<Series>) {
    let restart_at = if rng.chance(0.02) {
        Some(rng.below(n as u64) as usize)
    } else {
        None
    };
    // Thresholds scaled so that 1 - F of the draws are histograms (14 series each): about
    // 35 % of all series are histogram series, as in the compression research mix.
    const F: f64 = 0.963 / 0.65;
    let mut made = 0;
    while made < SERIES_PER_TARGET {
        let r = rng.f64();
        let mut push = |kind, values| {
            out.push(Series { kind, target, values });
        };
        if r < 0.20 * F {
            // CPU seconds: k/100, mostly small steps, some idle.
            let idle = rng.chance(0.3);
            let mut m = rng.below(10_000_000) as i64;
            let v = (0..n)
                .map(|i| {
                    if Some(i) == restart_at {
                        m = 0;
                    }
                    m += if idle {
                        i64::from(rng.chance(0.1))
                    } else {
                        rng.below(16) as i64
                    };
                    m as f64 / 100.0
                })
                .collect();
            push(Kind::CpuCounter, v);
            made += 1;
        } else if r < 0.35 * F {
            let rate = rng.log_uniform(10.0, 10e6) * 15.0;
            let idle = rng.chance(0.1);
            let mut c = rng.below(1 << 40) as f64;
            let v = (0..n)
                .map(|i| {
                    if Some(i) == restart_at {
                        c = 0.0;
                    }
                    if !idle {
                        c += (rate * (0.5 + rng.f64())).round();
                    }
                    c
                })
                .collect();
            push(Kind::ByteCounter, v);
            made += 1;
        } else if r < 0.47 * F {
            let mut pages = 10_000 + rng.below(4_000_000) as i64;
            let v = (0..n)
                .map(|_| {
                    if rng.chance(0.7) {
                        pages = (pages + rng.below(401) as i64 - 200).max(0);
                    }
                    (pages * 4096) as f64
                })
                .collect();
            push(Kind::MemGauge, v);
            made += 1;
        } else if r < 0.55 * F {
            let mut d = 300 + rng.below(500) as i64;
            let v = (0..n)
                .map(|_| {
                    d += rng.below(7) as i64 - 3;
                    d as f64 / 10.0
                })
                .collect();
            push(Kind::Temperature, v);
            made += 1;
        } else if r < 0.65 * F {
            let c = if rng.chance(0.5) {
                1.0
            } else {
                (rng.below(1 << 36) * 512) as f64
            };
            push(Kind::Constant, vec![c; n]);
            made += 1;
        } else {
            // A classic histogram: 11 buckets + +Inf + _count + _sum.
            let les = [
                0.005,
                0.01,
                0.025,
                0.05,
                0.1,
                0.25,
                0.5,
                1.0,
                2.5,
                5.0,
                10.0,
                f64::INFINITY,
            ];
            let mut counts = [0u64; 12];
            let mut sum = 0.0f64;
            let rate = rng.log_uniform(0.1, 50.0);
            let mean = rng.log_uniform(0.005, 2.0);
            let mut buckets: Vec<Vec<f64>> = (0..12).map(|_| Vec::with_capacity(n)).collect();
            let mut count_v = Vec::with_capacity(n);
            let mut sum_v = Vec::with_capacity(n);
            for i in 0..n {
                if Some(i) == restart_at {
                    counts = [0; 12];
                    sum = 0.0;
                }
                let obs = rng.below((rate * 15.0 * 2.0) as u64 + 1);
                for _ in 0..obs {
                    let x = rng.exp(mean);
                    sum += x;
                    for (c, le) in counts.iter_mut().zip(les) {
                        if x <= le {
                            *c += 1;
                        }
                    }
                }
                for (b, c) in buckets.iter_mut().zip(counts) {
                    b.push(c as f64);
                }
                count_v.push(counts[11] as f64);
                sum_v.push(sum);
            }
            for b in buckets {
                push(Kind::HistBucket, b);
            }
            push(Kind::HistBucket, count_v);
            push(Kind::HistSum, sum_v);
            made += 14;
        }
    }
}

/// Series shaped after the real values of the exposition fixtures.
fn fixture_targets(rng: &mut Rng, ds: &mut Dataset) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/exposition");
    let files = [
        "node_exporter.txt",
        "prometheus.txt",
        "lodestar.txt",
        "vero.txt",
        "nodeos.txt",
        "edgeless.openmetrics.txt",
    ];
    for f in files {
        let Ok(text) = std::fs::read_to_string(format!("{dir}/{f}")) else {
            eprintln!("fixture {f} missing, skipped");
            continue;
        };
        let target = ds.targets.len();
        let ts = target_timestamps(rng);
        let n = ts.len();
        ds.targets.push(ts);
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut it = rest.split_whitespace();
                if let (Some(name), Some(t)) = (it.next(), it.next()) {
                    types.insert(name.to_string(), t.to_string());
                }
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (name, rest) = match line.find('{') {
                Some(i) => match line.rfind('}') {
                    Some(j) => (&line[..i], &line[j + 1..]),
                    None => continue,
                },
                None => match line.split_once(' ') {
                    Some((a, b)) => (a, b),
                    None => continue,
                },
            };
            let Some(Ok(v0)) = rest.split_whitespace().next().map(str::parse::<f64>) else {
                continue;
            };
            let family = ["_total", "_bucket", "_count", "_sum", "_created", "_info"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| types.contains_key(*b)))
                .unwrap_or(name);
            let ty = types.get(family).map(String::as_str).unwrap_or("untyped");
            let kind = match ty {
                _ if !v0.is_finite() || name.ends_with("_created") || name.ends_with("_info") => {
                    Kind::FixtureConstant
                }
                "counter" | "histogram" | "summary" if !name.contains("quantile") => Kind::FixtureCounter,
                "gauge" => Kind::FixtureGauge,
                _ => Kind::FixtureConstant,
            };
            let values: Vec<f64> = match (kind, decimals(v0)) {
                (Kind::FixtureConstant, _) => vec![v0; n],
                (_, Some(k)) => {
                    let p = 10f64.powi(k);
                    let mut m = (v0 * p).round() as i64;
                    let scale = ((m.unsigned_abs() / 1000).max(1)).min(1 << 30);
                    let counter = kind == Kind::FixtureCounter;
                    let still = rng.chance(0.3);
                    (0..n)
                        .map(|_| {
                            if !still {
                                m += if counter {
                                    rng.below(scale + 1) as i64
                                } else if rng.chance(0.5) {
                                    rng.below(2 * scale + 1) as i64 - scale as i64
                                } else {
                                    0
                                };
                            }
                            m as f64 / p
                        })
                        .collect()
                }
                (_, None) => {
                    // A float without a short decimal form (e.g. `_sum`): full-entropy steps.
                    let mut v = v0;
                    (0..n)
                        .map(|_| {
                            v += v.abs() * 1e-4 * rng.f64();
                            v
                        })
                        .collect()
                }
            };
            ds.series.push(Series { kind, target, values });
        }
    }
}

fn dataset() -> Dataset {
    let mut rng = Rng(42);
    let mut ds = Dataset {
        targets: Vec::new(),
        series: Vec::new(),
    };
    for t in 0..SYNTH_TARGETS {
        let ts = target_timestamps(&mut rng);
        let n = ts.len();
        ds.targets.push(ts);
        synth_target(&mut rng, t, n, &mut ds.series);
    }
    fixture_targets(&mut rng, &mut ds);
    ds
}

/// One column-sized piece of one series.
struct Piece<'a> {
    target: usize,
    kind: Kind,
    offset: usize,
    ts: &'a [i64],
    vs: &'a [f64],
}

fn pieces(ds: &Dataset, size: usize) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    for s in &ds.series {
        let ts = &ds.targets[s.target];
        for (i, (tc, vc)) in ts.chunks(size).zip(s.values.chunks(size)).enumerate() {
            out.push(Piece {
                target: s.target,
                kind: s.kind,
                offset: i * size,
                ts: tc,
                vs: vc,
            });
        }
    }
    out
}

fn gorilla(p: &Piece<'_>) -> HeadChunk {
    let mut c = HeadChunk::new();
    for (&t, &v) in p.ts.iter().zip(p.vs) {
        c.append(t, v);
    }
    c
}

#[derive(Default)]
struct Tally {
    samples: usize,
    g_total: usize,
    g_ts: usize,
    b_ts: usize,
    b_vals: usize,
    b_ts_shared: usize,
}

fn sizes(ds: &Dataset) {
    let total: usize = ds.series.iter().map(|s| s.values.len()).sum();
    println!(
        "\nchunk codec sizes: {} series, {} targets, {total} samples",
        ds.series.len(),
        ds.targets.len()
    );
    println!("| chunk | codec | B/sample | ts B/sample | value B/sample | B/sample, ts once per target |");
    println!("|---:|---|---:|---:|---:|---:|");
    let mut by_kind: BTreeMap<(usize, Kind), (usize, usize, usize)> = BTreeMap::new();
    // (size, fixture?) -> (samples, gorilla bytes, block ts bytes, block value bytes, shared ts bytes)
    let mut by_group: BTreeMap<(usize, bool), (usize, usize, usize, usize, usize)> = BTreeMap::new();
    for size in CHUNK_SIZES {
        let mut t = Tally::default();
        let mut seen_ts = std::collections::HashSet::new();
        let mut buf = Vec::new();
        for p in pieces(ds, size) {
            let n = p.ts.len();
            t.samples += n;
            let g = gorilla(&p);
            t.g_total += g.as_bytes().len();
            // Gorilla interleaves: time cost = same timestamps with constant values,
            // minus the 64-bit first value and 1 bit per repeated value.
            let mut gt = HeadChunk::new();
            for &ts in p.ts {
                gt.append(ts, 0.0);
            }
            let g_ts = gt.as_bytes().len() - 8 - (n - 1) / 8;
            t.g_ts += g_ts;
            buf.clear();
            encode_timestamps(p.ts, &mut buf);
            let ts_len = buf.len();
            encode_values(p.vs, &mut buf);
            let v_len = buf.len() - ts_len;
            t.b_ts += ts_len;
            t.b_vals += v_len;
            let first_of_target = seen_ts.insert((p.target, p.offset));
            if first_of_target {
                t.b_ts_shared += ts_len;
            }
            // Verify bit-exact round trips while at it.
            let mut dts = Vec::new();
            let used = decode_timestamps(&buf, &mut dts).expect("decode ts");
            let mut dvs = Vec::new();
            decode_values(&buf[used..], &mut dvs).expect("decode values");
            assert_eq!(dts, p.ts);
            assert!(dvs.iter().zip(p.vs).all(|(a, b)| a.to_bits() == b.to_bits()));
            assert!(g
                .iter()
                .zip(p.ts.iter().zip(p.vs))
                .all(|(s, (&t, v))| s.t == t && s.v.to_bits() == v.to_bits()));
            let e = by_group.entry((size, p.target >= SYNTH_TARGETS)).or_default();
            e.0 += n;
            e.1 += g.as_bytes().len();
            e.2 += ts_len;
            e.3 += v_len;
            if first_of_target {
                e.4 += ts_len;
            }
            let e = by_kind.entry((size, p.kind)).or_default();
            e.0 += n;
            e.1 += g.as_bytes().len() - g_ts;
            e.2 += v_len;
        }
        let s = t.samples as f64;
        println!(
            "| {size} | gorilla (HeadChunk) | {:.2} | {:.2} | {:.2} | {:.2} |",
            t.g_total as f64 / s,
            t.g_ts as f64 / s,
            (t.g_total - t.g_ts) as f64 / s,
            (t.g_total - t.g_ts) as f64 / s + t.b_ts_shared as f64 / s,
        );
        println!(
            "| {size} | block columns | {:.2} | {:.2} | {:.2} | {:.2} |",
            (t.b_ts + t.b_vals) as f64 / s,
            t.b_ts as f64 / s,
            t.b_vals as f64 / s,
            (t.b_vals + t.b_ts_shared) as f64 / s,
        );
    }
    println!("\nby data set (B/sample):");
    println!("| chunk | data | samples | gorilla | block | block values | block, ts once per target |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for ((size, fixture), (n, g, bt, bv, shared)) in by_group {
        let name = if fixture {
            "fixture-shaped"
        } else {
            "synthetic node_exporter-like"
        };
        let f = n as f64;
        println!(
            "| {size} | {name} | {n} | {:.2} | {:.2} | {:.2} | {:.2} |",
            g as f64 / f,
            (bt + bv) as f64 / f,
            bv as f64 / f,
            (bv + shared) as f64 / f
        );
    }
    println!("\nvalue bytes/sample by series kind (gorilla / block):");
    println!("| chunk | kind | samples | gorilla | block |");
    println!("|---:|---|---:|---:|---:|");
    for ((size, kind), (n, g, b)) in by_kind {
        println!(
            "| {size} | {kind:?} | {n} | {:.2} | {:.2} |",
            g as f64 / n as f64,
            b as f64 / n as f64
        );
    }
    println!();
}

fn bench(c: &mut Criterion) {
    let ds = dataset();
    sizes(&ds);
    if std::env::var_os("CHUNK_BENCH_SIZES_ONLY").is_some() {
        return;
    }
    // Timing on a slice of the data (every 8th series) to keep iterations short.
    let sub = Dataset {
        targets: ds.targets.clone(),
        series: ds
            .series
            .iter()
            .step_by(8)
            .map(|s| Series {
                kind: s.kind,
                target: s.target,
                values: s.values.clone(),
            })
            .collect(),
    };
    for size in [120, 480] {
        let ps = pieces(&sub, size);
        let samples: usize = ps.iter().map(|p| p.ts.len()).sum();
        let mut g = c.benchmark_group(format!("chunk_{size}"));
        g.throughput(Throughput::Elements(samples as u64));
        g.sample_size(10);
        g.warm_up_time(std::time::Duration::from_millis(500));
        g.measurement_time(std::time::Duration::from_secs(2));
        g.bench_function(BenchmarkId::new("encode", "gorilla"), |b| {
            b.iter(|| {
                let mut total = 0;
                for p in &ps {
                    total += gorilla(p).as_bytes().len();
                }
                black_box(total)
            })
        });
        g.bench_function(BenchmarkId::new("encode", "block"), |b| {
            let mut buf = Vec::new();
            b.iter(|| {
                let mut total = 0;
                for p in &ps {
                    buf.clear();
                    encode_timestamps(p.ts, &mut buf);
                    encode_values(p.vs, &mut buf);
                    total += buf.len();
                }
                black_box(total)
            })
        });
        let chunks: Vec<HeadChunk> = ps.iter().map(gorilla).collect();
        g.bench_function(BenchmarkId::new("decode", "gorilla"), |b| {
            b.iter(|| {
                let mut acc = 0i64;
                for c in &chunks {
                    for s in c.iter() {
                        acc = acc.wrapping_add(s.t ^ s.v.to_bits() as i64);
                    }
                }
                black_box(acc)
            })
        });
        g.bench_function(BenchmarkId::new("decode", "gorilla_bulk"), |b| {
            let mut out = Vec::with_capacity(size);
            b.iter(|| {
                let mut acc = 0i64;
                for c in &chunks {
                    out.clear();
                    HeadChunk::decode_range_into(c.as_bytes(), i64::MIN, i64::MAX, &mut out);
                    acc = acc.wrapping_add(out[out.len() - 1].t ^ out[out.len() - 1].v.to_bits() as i64);
                }
                black_box(acc)
            })
        });
        let cols: Vec<Vec<u8>> = ps
            .iter()
            .map(|p| {
                let mut buf = Vec::new();
                encode_timestamps(p.ts, &mut buf);
                encode_values(p.vs, &mut buf);
                buf
            })
            .collect();
        g.bench_function(BenchmarkId::new("decode", "block"), |b| {
            let mut ts = Vec::with_capacity(size);
            let mut vs = Vec::with_capacity(size);
            b.iter(|| {
                let mut acc = 0i64;
                for col in &cols {
                    ts.clear();
                    vs.clear();
                    let used = decode_timestamps(col, &mut ts).expect("ts");
                    decode_values(&col[used..], &mut vs).expect("values");
                    acc = acc.wrapping_add(ts[ts.len() - 1] ^ vs[vs.len() - 1].to_bits() as i64);
                }
                black_box(acc)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
