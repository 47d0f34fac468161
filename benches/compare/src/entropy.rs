//! `bench entropy --block DIR`: how far the block codec is from the empirical entropy of the
//! data it stores.
//!
//! For every chunk of a block it rebuilds the symbol streams the codec packs and compares the
//! bytes the codec writes for that chunk (re-encoded with `storage::chunk`, exactly what the
//! block holds) with zero-order empirical entropies of those streams:
//!
//! - timestamps, once per distinct timestamp column (series of one scrape share it): the
//!   deltas of deltas `dod[i] = (t[i] - t[i-1]) - (t[i-1] - t[i-2])`, and the grid residuals
//!   `t[i] - t0 - round((t[i] - t0) / step) * step` with `step` the median interval;
//! - values, per chunk: when every finite value of the chunk is an exact decimal `m / 10^k`
//!   (`k <= 9`, the smallest), the deltas `m[i] - m[i-1]`; otherwise the XOR of consecutive
//!   IEEE bit patterns.
//!
//! Two entropy models per stream, both memoryless (each symbol independent, first symbols of
//! a chunk not counted): **pooled**, one symbol distribution over the whole block (a code the
//! decoder would have to know beforehand), and **per series**, one distribution per series
//! over all its chunks (an adaptive bound that ignores the cost of describing the
//! distribution; optimistic for short series). Both are `H = -sum p(x) log2 p(x)` over
//! observed frequencies, reported in bits per symbol and as bytes per sample of the block.

use std::collections::HashMap;
use std::path::PathBuf;
use storage::block::Block;
use storage::chunk::{encode_timestamps, encode_values};
use storage::{MatchOp, Matcher};

/// Options of `entropy`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct EntropyArgs {
    /// A block directory (for example one written by a snapshot: `<data>/snapshots/<name>/<ulid>`).
    #[arg(long)]
    pub(crate) block: PathBuf,
}

/// Symbol counts of one stream.
#[derive(Default)]
struct Hist {
    counts: HashMap<i128, u64>,
    n: u64,
}

impl Hist {
    fn add(&mut self, x: i128) {
        *self.counts.entry(x).or_insert(0) += 1;
        self.n += 1;
    }
    /// Total information in bits: `n * H0`.
    fn bits(&self) -> f64 {
        let n = self.n as f64;
        self.counts
            .values()
            .map(|&c| {
                let c = c as f64;
                -c * (c / n).log2()
            })
            .sum()
    }
    fn merge(&mut self, o: &Hist) {
        for (&k, &c) in &o.counts {
            *self.counts.entry(k).or_insert(0) += c;
        }
        self.n += o.n;
    }
}

/// The smallest `k <= 9` such that every finite value is exactly `m / 10^k`, with the `m`s.
fn decimal(vs: &[f64]) -> Option<Vec<i64>> {
    'k: for k in 0..=9 {
        let p = 10f64.powi(k);
        let mut ms = Vec::with_capacity(vs.len());
        let mut last = 0i64;
        for &v in vs {
            if !v.is_finite() {
                ms.push(last);
                continue;
            }
            let m = (v * p).round();
            if m.abs() >= 9.0e15 || (m / p).to_bits() != v.to_bits() {
                continue 'k;
            }
            last = m as i64;
            ms.push(last);
        }
        return Some(ms);
    }
    None
}

fn median_step(ts: &[i64]) -> i64 {
    let mut d: Vec<i64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    d.sort_unstable();
    d.get(d.len() / 2).copied().unwrap_or(1).max(1)
}

/// Runs the analysis and prints a Markdown table.
pub(crate) fn run(args: &EntropyArgs) -> Result<(), String> {
    let block =
        Block::open(&args.block).map_err(|e| format!("cannot open block {}: {e}", args.block.display()))?;
    let all = Matcher::new(MatchOp::Regex, "__name__", ".+").map_err(|e| e.to_string())?;
    let series = block
        .select(std::slice::from_ref(&all), i64::MIN, i64::MAX)
        .map_err(|e| format!("reading block: {e}"))?;
    let idx = block.index();
    let ordinals = idx
        .select_postings(&[all])
        .map_err(|e| format!("reading postings: {e}"))?;
    let mut metas = HashMap::new();
    for o in ordinals {
        let (labels, chunks) = idx.series(o).map_err(|e| format!("reading series {o}: {e}"))?;
        metas.insert(labels, chunks);
    }
    let (mut dod, mut resid) = (Hist::default(), Hist::default());
    let mut vpooled = Hist::default();
    let mut vper_series_bits = 0.0;
    let (mut ts_bytes, mut v_bytes, mut samples, mut ts_columns, mut ts_samples) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut decimal_chunks, mut xor_chunks) = (0u64, 0u64);
    let mut seen_ts = std::collections::HashSet::new();
    let mut buf = Vec::new();
    for s in &series {
        let Some(chunks) = metas.get(&s.labels) else {
            continue;
        };
        let mut vh = Hist::default();
        let mut at = 0usize;
        for c in chunks {
            let n = c.num_samples as usize;
            let Some(part) = s.samples.get(at..at + n) else {
                break;
            };
            at += n;
            samples += n as u64;
            let ts: Vec<i64> = part.iter().map(|p| p.t).collect();
            let vs: Vec<f64> = part.iter().map(|p| p.v).collect();
            if seen_ts.insert(c.ts_ref) {
                buf.clear();
                encode_timestamps(&ts, &mut buf);
                ts_bytes += buf.len() as u64;
                ts_columns += 1;
                ts_samples += n as u64;
                for w in ts.windows(3) {
                    dod.add(((w[2] - w[1]) - (w[1] - w[0])) as i128);
                }
                let step = median_step(&ts);
                for &t in &ts[1..] {
                    let k = ((t - ts[0]) as f64 / step as f64).round() as i64;
                    resid.add((t - ts[0] - k * step) as i128);
                }
            }
            buf.clear();
            encode_values(&vs, &mut buf);
            v_bytes += buf.len() as u64;
            match decimal(&vs) {
                Some(ms) => {
                    decimal_chunks += 1;
                    for w in ms.windows(2) {
                        vh.add(w[1] as i128 - w[0] as i128);
                    }
                }
                None => {
                    xor_chunks += 1;
                    for w in vs.windows(2) {
                        vh.add((w[1].to_bits() ^ w[0].to_bits()) as i128);
                    }
                }
            }
        }
        vper_series_bits += vh.bits();
        vpooled.merge(&vh);
    }
    let per_sample = |bits: f64| bits / 8.0 / samples.max(1) as f64;
    let per_sym = |bits: f64, n: u64| bits / n.max(1) as f64;
    println!("block {}: {} series, {samples} samples, {ts_columns} distinct timestamp columns ({ts_samples} timestamps); value chunks: {decimal_chunks} decimal, {xor_chunks} other (XOR symbols)\n", args.block.display(), series.len());
    println!("| stream | codec bytes/sample | pooled H0 bits/symbol | pooled bytes/sample | per-series H0 bytes/sample |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| timestamps: dod | {:.4} | {:.3} | {:.4} | |",
        ts_bytes as f64 / samples.max(1) as f64,
        per_sym(dod.bits(), dod.n),
        per_sample(dod.bits())
    );
    println!(
        "| timestamps: grid residual | | {:.3} | {:.4} | |",
        per_sym(resid.bits(), resid.n),
        per_sample(resid.bits())
    );
    println!(
        "| values | {:.4} | {:.3} | {:.4} | {:.4} |",
        v_bytes as f64 / samples.max(1) as f64,
        per_sym(vpooled.bits(), vpooled.n),
        per_sample(vpooled.bits()),
        per_sample(vper_series_bits)
    );
    println!(
        "\nblock chunk files: {:.4} bytes/sample (column headers and chunk framing included)",
        block_chunk_bytes(&args.block) as f64 / samples.max(1) as f64
    );
    Ok(())
}

fn block_chunk_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir.join("chunks"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
