//! The native histogram column: the histograms of one chunk (their timestamps live in a
//! timestamp column beside it, as for floats), columnar.
//!
//! A chunk holds histograms of one *family*: the same schema, zero threshold and custom
//! bounds ([`same_family`]; stale markers join any family). The bucket layout is stored once:
//! the union of every sample's populated buckets, per side, as spans; a sample that lacks a
//! bucket of the union has 0 there (decoded histograms carry the union layout, as
//! Prometheus' chunks give back a chunk's layout).
//!
//! Layout (all integers varints unless noted):
//! ```text
//! codec id u8 (= HISTOGRAM_V1) | count n | flags u8 (bit 0: every count integral)
//! schema (zigzag) | zero threshold f64 LE | custom bound count, each f64 LE
//! positive spans: count, then (offset zigzag, length) | negative spans: the same
//! hints: count of samples whose counter-reset hint is not "unknown", then (index, hint u8)
//! stale markers: count, then index gaps (first: index; then index - previous - 1)
//! sum: a value column (crate::chunk::encode_values)
//! integral:  transform u8 + PFOR of [count..., zero_count...]
//!            transform u8 + PFOR of the buckets, bucket-major (positive then negative):
//!            bucket 0's n counts, bucket 1's n counts, ...
//! otherwise: value columns of count, zero_count and the buckets (bucket-major)
//! ```
//! The stream mode byte (chosen per stream by encoded size) names the transform, `DELTA`
//! (each run of n values as its first value then differences) or `DOD` (first value, first
//! difference, then differences of differences), and whether the runs are packed as one PFOR
//! block or each as its own (flag `PER_RUN`, 2: every bucket gets its own base and width). Stale markers are stored as zero counts and decoded as
//! [`FloatHistogram::stale`].

use super::varint::{put_uvarint, put_varint, ByteReader};
use super::{decode_values, encode_values, pfor, ChunkError, MAX_COLUMN_SAMPLES};
use crate::model::{BucketSpan, CounterResetHint, FloatHistogram};

/// The codec id of the first histogram column layout.
pub(crate) const HISTOGRAM_V1: u8 = 1;
const FLAG_INTEGER: u8 = 1;
/// Run transform: first value, then differences.
const DELTA: u8 = 0;
/// Run transform: first value, first difference, then differences of differences.
const DOD: u8 = 1;
/// The most samples × layout buckets one histogram column may hold (bounds the memory a
/// decode takes; chunk cutters keep [`cells_bound`] under it).
pub const MAX_CHUNK_CELLS: usize = 1 << 22;
/// The most buckets (both sides) one histogram may have to be stored.
pub const MAX_HISTOGRAM_BUCKETS: usize = 1 << 16;

/// Buckets of `h`.
fn bucket_count(h: &FloatHistogram) -> usize {
    h.positive_buckets.len() + h.negative_buckets.len()
}

/// How much appending `h` after `prev` (the chunk's last sample) may grow the chunk's union
/// layout: nothing when the layouts are equal, else all of `h`'s buckets.
pub fn union_growth(prev: Option<&FloatHistogram>, h: &FloatHistogram) -> usize {
    match prev {
        Some(p) if p.positive_spans == h.positive_spans && p.negative_spans == h.negative_spans => 0,
        _ => bucket_count(h),
    }
}

/// An upper bound of the cells (samples × union buckets) of a chunk of `n` samples whose
/// union layout is at most `union` buckets.
pub fn cells_bound(n: usize, union: usize) -> usize {
    n.saturating_mul(union.max(1))
}

/// Whether `a` and `b` may share a chunk: same schema, zero threshold and custom bounds
/// (bit-exact), or one of them is a stale marker.
pub fn same_family(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    a.is_stale()
        || b.is_stale()
        || (a.schema == b.schema
            && a.zero_threshold.to_bits() == b.zero_threshold.to_bits()
            && a.custom_values.len() == b.custom_values.len()
            && a.custom_values
                .iter()
                .zip(&b.custom_values)
                .all(|(x, y)| x.to_bits() == y.to_bits()))
}

fn span_indices(spans: &[BucketSpan]) -> impl Iterator<Item = i32> + '_ {
    let mut next = 0i32;
    spans.iter().flat_map(move |s| {
        let start = next.wrapping_add(s.offset);
        next = start.wrapping_add(s.length as i32);
        (0..s.length as i32).map(move |k| start.wrapping_add(k))
    })
}

/// Sorted unique bucket indices used by any sample on one side.
fn union_indices<'a>(spans: impl Iterator<Item = &'a [BucketSpan]>) -> Vec<i32> {
    let mut all: Vec<i32> = Vec::new();
    let mut prev: Option<&[BucketSpan]> = None;
    for s in spans {
        // Consecutive samples usually share a layout: skip the repeat.
        if prev.is_some_and(|p| p == s) {
            continue;
        }
        all.extend(span_indices(s));
        prev = Some(s);
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// Spans covering exactly the sorted indices `idx`.
fn spans_of(idx: &[i32]) -> Vec<BucketSpan> {
    let mut out: Vec<BucketSpan> = Vec::new();
    let mut end = 0i32; // index after the previous span
    for (k, &i) in idx.iter().enumerate() {
        match out.last_mut() {
            Some(s) if k > 0 && i == end => {
                s.length += 1;
                end += 1;
            }
            _ => {
                let offset = if out.is_empty() { i } else { i - end };
                out.push(BucketSpan::new(offset, 1));
                end = i + 1;
            }
        }
    }
    out
}

/// Writes the counts of `(spans, buckets)` onto the union layout `union` (zeros elsewhere).
fn scatter(union: &[i32], spans: &[BucketSpan], buckets: &[f64], row: &mut [f64]) {
    row.fill(0.0);
    let mut j = 0;
    for (i, c) in span_indices(spans).zip(buckets) {
        while j < union.len() && union[j] < i {
            j += 1;
        }
        if let Some(slot) = row.get_mut(j) {
            *slot = *c;
        }
    }
}

fn integral(v: f64) -> bool {
    (0.0..9_007_199_254_740_992.0).contains(&v) && v.fract() == 0.0
}

fn put_spans(out: &mut Vec<u8>, spans: &[BucketSpan]) {
    put_uvarint(out, spans.len() as u64);
    for s in spans {
        put_varint(out, i64::from(s.offset));
        put_uvarint(out, u64::from(s.length));
    }
}

/// Transforms each run of `run` values in place.
fn transform(vals: &[i64], run: usize, how: u8) -> Vec<i64> {
    let mut out = Vec::with_capacity(vals.len());
    for r in vals.chunks(run.max(1)) {
        let (mut prev, mut prev_d) = (0i64, 0i64);
        for (k, &v) in r.iter().enumerate() {
            let d = v.wrapping_sub(prev);
            out.push(match (how, k) {
                (_, 0) => v,
                (DELTA, _) | (_, 1) => d,
                _ => d.wrapping_sub(prev_d),
            });
            prev = v;
            prev_d = d;
        }
    }
    out
}

fn untransform(vals: &mut [i64], run: usize, how: u8) {
    for r in vals.chunks_mut(run.max(1)) {
        let (mut prev, mut prev_d) = (0i64, 0i64);
        for (k, v) in r.iter_mut().enumerate() {
            let x = match (how, k) {
                (_, 0) => *v,
                (DELTA, _) | (_, 1) => prev.wrapping_add(*v),
                _ => prev.wrapping_add(prev_d.wrapping_add(*v)),
            };
            prev_d = x.wrapping_sub(prev);
            prev = x;
            *v = x;
        }
    }
}

/// Stream mode flag: every run is bit-packed on its own (its own base and width) instead
/// of all runs together.
const PER_RUN: u8 = 2;

/// Writes `vals` (runs of `run`) in the smallest of four forms: DELTA or DOD, packed as one
/// PFOR block or one per run (buckets of very different rates then get their own widths).
fn put_int_stream(out: &mut Vec<u8>, vals: &[i64], run: usize) {
    let mut best: Option<(usize, u8, Vec<i64>)> = None;
    for how in [DELTA, DOD] {
        let t = transform(vals, run, how);
        let joint = pfor::plan(&t).cost;
        let per_run: usize = t.chunks(run.max(1)).map(|r| pfor::plan(r).cost).sum();
        for (cost, mode) in [(joint, how), (per_run, how | PER_RUN)] {
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, mode, t.clone()));
            }
        }
    }
    let Some((_, mode, t)) = best else { return };
    out.push(mode);
    if mode & PER_RUN != 0 {
        for r in t.chunks(run.max(1)) {
            pfor::write(r, pfor::plan(r), out);
        }
    } else {
        pfor::write(&t, pfor::plan(&t), out);
    }
}

fn read_int_stream(r: &mut ByteReader<'_>, n: usize, run: usize) -> Result<Vec<i64>, ChunkError> {
    let mode = r.u8("histogram stream mode")?;
    let how = mode & !PER_RUN;
    if how != DELTA && how != DOD {
        return Err(ChunkError::Invalid {
            what: "histogram stream mode",
            detail: format!("{mode}"),
        });
    }
    let mut v = Vec::with_capacity(n);
    if mode & PER_RUN != 0 {
        let mut left = n;
        while left > 0 {
            let k = left.min(run.max(1));
            pfor::decode::<i64>(r, k, &mut v)?;
            left -= k;
        }
    } else {
        pfor::decode::<i64>(r, n, &mut v)?;
    }
    untransform(&mut v, run, how);
    Ok(v)
}

/// Appends one histogram column for `hs` (the histograms of one chunk, in time order).
///
/// # Panics
/// If `hs` holds more than [`MAX_COLUMN_SAMPLES`] histograms or histograms of different
/// families (see [`same_family`]): callers cut chunks at family changes.
pub fn encode_histograms(hs: &[&FloatHistogram], out: &mut Vec<u8>) {
    let n = hs.len();
    assert!(n <= MAX_COLUMN_SAMPLES, "histogram column of {n} samples");
    let live: Vec<&FloatHistogram> = hs.iter().copied().filter(|h| !h.is_stale()).collect();
    let proto = live.first().copied();
    assert!(
        live.iter().all(|h| proto.is_none_or(|p| same_family(p, h))),
        "histograms of different schema, zero threshold or custom bounds in one chunk"
    );
    let pos = union_indices(live.iter().map(|h| h.positive_spans.as_slice()));
    let neg = union_indices(live.iter().map(|h| h.negative_spans.as_slice()));
    let nb = pos.len() + neg.len();
    // Bucket-major dense matrix.
    let mut dense = vec![0.0f64; nb * n];
    let mut row = vec![0.0f64; nb];
    for (k, h) in hs.iter().enumerate() {
        if h.is_stale() {
            continue;
        }
        scatter(
            &pos,
            &h.positive_spans,
            &h.positive_buckets,
            &mut row[..pos.len()],
        );
        scatter(
            &neg,
            &h.negative_spans,
            &h.negative_buckets,
            &mut row[pos.len()..],
        );
        for (b, v) in row.iter().enumerate() {
            dense[b * n + k] = *v;
        }
    }
    let counts: Vec<f64> = hs
        .iter()
        .map(|h| if h.is_stale() { 0.0 } else { h.count })
        .chain(hs.iter().map(|h| if h.is_stale() { 0.0 } else { h.zero_count }))
        .collect();
    let int = counts.iter().chain(&dense).all(|&v| integral(v));

    out.push(HISTOGRAM_V1);
    put_uvarint(out, n as u64);
    out.push(if int { FLAG_INTEGER } else { 0 });
    let (schema, zt, custom) = proto.map_or((0, 0.0, &[][..]), |p| {
        (p.schema, p.zero_threshold, p.custom_values.as_slice())
    });
    put_varint(out, i64::from(schema));
    out.extend_from_slice(&zt.to_bits().to_le_bytes());
    put_uvarint(out, custom.len() as u64);
    for c in custom {
        out.extend_from_slice(&c.to_bits().to_le_bytes());
    }
    put_spans(out, &spans_of(&pos));
    put_spans(out, &spans_of(&neg));
    let hints: Vec<(usize, u8)> = hs
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.is_stale() && h.counter_reset_hint != CounterResetHint::Unknown)
        .map(|(k, h)| (k, h.counter_reset_hint.number() as u8))
        .collect();
    put_uvarint(out, hints.len() as u64);
    for (k, h) in hints {
        put_uvarint(out, k as u64);
        out.push(h);
    }
    let stale: Vec<usize> = (0..n).filter(|&k| hs[k].is_stale()).collect();
    put_uvarint(out, stale.len() as u64);
    let mut next = 0;
    for k in stale {
        put_uvarint(out, (k - next) as u64);
        next = k + 1;
    }
    let sums: Vec<f64> = hs.iter().map(|h| h.sum).collect();
    encode_values(&sums, out);
    if int {
        let ci: Vec<i64> = counts.iter().map(|&v| v as i64).collect();
        put_int_stream(out, &ci, n);
        let bi: Vec<i64> = dense.iter().map(|&v| v as i64).collect();
        put_int_stream(out, &bi, n);
    } else {
        encode_values(&counts[..n], out);
        encode_values(&counts[n..], out);
        // Pieces, so that no value column exceeds MAX_COLUMN_SAMPLES.
        for piece in dense.chunks(MAX_COLUMN_SAMPLES) {
            encode_values(piece, out);
        }
    }
}

fn read_f64(r: &mut ByteReader<'_>, what: &'static str) -> Result<f64, ChunkError> {
    let b = r.bytes(8, what)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(f64::from_bits(u64::from_le_bytes(a)))
}

fn read_count(r: &mut ByteReader<'_>, max: usize, what: &'static str) -> Result<usize, ChunkError> {
    let n = r.uvarint(what)?;
    if n > max as u64 {
        return Err(ChunkError::Invalid {
            what,
            detail: format!("{n} exceeds {max}"),
        });
    }
    Ok(n as usize)
}

fn read_spans(r: &mut ByteReader<'_>) -> Result<(Vec<BucketSpan>, usize), ChunkError> {
    let ns = read_count(r, r.remaining(), "histogram span count")?;
    let mut spans = Vec::with_capacity(ns);
    let mut total = 0usize;
    for k in 0..ns {
        let off = r.varint("histogram span offset")?;
        let len = r.uvarint("histogram span length")?;
        let offset = i32::try_from(off).ok().filter(|&o| k == 0 || o >= 0);
        let (Some(offset), Ok(length)) = (offset, u32::try_from(len)) else {
            return Err(ChunkError::Invalid {
                what: "histogram span",
                detail: format!("offset {off}, length {len}"),
            });
        };
        total = total.saturating_add(length as usize);
        spans.push(BucketSpan::new(offset, length));
    }
    if total > MAX_CHUNK_CELLS {
        return Err(ChunkError::Invalid {
            what: "histogram layout",
            detail: format!("{total} buckets"),
        });
    }
    Ok((spans, total))
}

fn read_floats(r: &mut ByteReader<'_>, n: usize, what: &'static str) -> Result<Vec<f64>, ChunkError> {
    let mut v = Vec::with_capacity(n.min(MAX_COLUMN_SAMPLES));
    let used = decode_values(r.rest(), &mut v)?;
    r.advance(used, what)?;
    if v.len() != n {
        return Err(ChunkError::Invalid {
            what,
            detail: format!("{} values, expected {n}", v.len()),
        });
    }
    Ok(v)
}

/// Decodes one histogram column from the start of `buf`, appending to `out`; returns the
/// bytes consumed. On error `out` is left as it was.
pub fn decode_histograms(buf: &[u8], out: &mut Vec<FloatHistogram>) -> Result<usize, ChunkError> {
    let mut r = ByteReader::new(buf);
    let len0 = out.len();
    match decode_inner(&mut r, out) {
        Ok(()) => Ok(r.pos()),
        Err(e) => {
            out.truncate(len0);
            Err(e)
        }
    }
}

/// The number of histograms in the column at the start of `buf`, without decoding it.
pub fn histogram_count(buf: &[u8]) -> Result<usize, ChunkError> {
    let mut r = ByteReader::new(buf);
    let codec = r.u8("histogram codec id")?;
    if codec != HISTOGRAM_V1 {
        return Err(ChunkError::UnknownCodec {
            column: "histogram",
            id: codec,
        });
    }
    read_count(&mut r, MAX_COLUMN_SAMPLES, "histogram count")
}

fn decode_inner(r: &mut ByteReader<'_>, out: &mut Vec<FloatHistogram>) -> Result<(), ChunkError> {
    let codec = r.u8("histogram codec id")?;
    if codec != HISTOGRAM_V1 {
        return Err(ChunkError::UnknownCodec {
            column: "histogram",
            id: codec,
        });
    }
    let n = read_count(r, MAX_COLUMN_SAMPLES, "histogram count")?;
    let flags = r.u8("histogram flags")?;
    let int = flags & FLAG_INTEGER != 0;
    let schema = r.varint("histogram schema")?;
    let schema = i32::try_from(schema).map_err(|_| ChunkError::Invalid {
        what: "histogram schema",
        detail: format!("{schema}"),
    })?;
    let zero_threshold = read_f64(r, "histogram zero threshold")?;
    let nc = read_count(r, r.remaining() / 8, "histogram custom bound count")?;
    let mut custom_values = Vec::with_capacity(nc);
    for _ in 0..nc {
        custom_values.push(read_f64(r, "histogram custom bound")?);
    }
    let (pspans, np) = read_spans(r)?;
    let (nspans, nn) = read_spans(r)?;
    let nb = np + nn;
    if nb.saturating_mul(n) > MAX_CHUNK_CELLS {
        return Err(ChunkError::Invalid {
            what: "histogram column",
            detail: format!("{n} samples of {nb} buckets"),
        });
    }
    let nh = read_count(r, n, "histogram hint count")?;
    let mut hints = vec![CounterResetHint::Unknown; n];
    for _ in 0..nh {
        let k = read_count(r, n.saturating_sub(1), "histogram hint index")?;
        hints[k] = CounterResetHint::from_number(i32::from(r.u8("histogram hint")?));
    }
    let ns = read_count(r, n, "histogram stale count")?;
    let mut stale = vec![false; n];
    let mut next = 0usize;
    for _ in 0..ns {
        let gap = read_count(r, n, "histogram stale index")?;
        let k = next + gap;
        let Some(s) = stale.get_mut(k) else {
            return Err(ChunkError::Invalid {
                what: "histogram stale index",
                detail: format!("{k} of {n}"),
            });
        };
        *s = true;
        next = k + 1;
    }
    let sums = read_floats(r, n, "histogram sum column")?;
    let (count, zero, dense): (Vec<f64>, Vec<f64>, Vec<f64>) = if int {
        let c = read_int_stream(r, 2 * n, n)?;
        let b = read_int_stream(r, nb * n, n)?;
        (
            c[..n].iter().map(|&v| v as f64).collect(),
            c[n..].iter().map(|&v| v as f64).collect(),
            b.iter().map(|&v| v as f64).collect(),
        )
    } else {
        (
            read_floats(r, n, "histogram count column")?,
            read_floats(r, n, "histogram zero count column")?,
            {
                let mut d = Vec::with_capacity(nb * n);
                while d.len() < nb * n {
                    let k = (nb * n - d.len()).min(MAX_COLUMN_SAMPLES);
                    d.extend(read_floats(r, k, "histogram bucket column")?);
                }
                d
            },
        )
    };
    out.reserve(n);
    for k in 0..n {
        if stale[k] {
            out.push(FloatHistogram::stale());
            continue;
        }
        out.push(FloatHistogram {
            counter_reset_hint: hints[k],
            schema,
            zero_threshold,
            zero_count: zero[k],
            count: count[k],
            sum: sums[k],
            positive_spans: pspans.clone(),
            negative_spans: nspans.clone(),
            positive_buckets: (0..np).map(|b| dense[b * n + k]).collect(),
            negative_buckets: (np..nb).map(|b| dense[b * n + k]).collect(),
            custom_values: custom_values.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;

    type Side = Vec<(i32, u64)>;

    /// The (index, count) pairs with a count, per side: what a layout change must keep.
    fn norm(h: &FloatHistogram) -> (Side, Side) {
        let side = |s: &[BucketSpan], b: &[f64]| {
            span_indices(s)
                .zip(b.iter())
                .filter(|(_, c)| **c != 0.0)
                .map(|(i, c)| (i, c.to_bits()))
                .collect()
        };
        (
            side(&h.positive_spans, &h.positive_buckets),
            side(&h.negative_spans, &h.negative_buckets),
        )
    }

    fn hist(i: u64, int: bool) -> FloatHistogram {
        let f = if int { 1.0 } else { 0.25 };
        let mut h = FloatHistogram {
            schema: 3,
            zero_threshold: 1e-128,
            zero_count: (i * 2) as f64 * f,
            count: 0.0,
            sum: 12.5 * i as f64,
            positive_spans: vec![BucketSpan::new(-2, 3), BucketSpan::new(2, 2)],
            negative_spans: vec![BucketSpan::new(1, 1)],
            positive_buckets: vec![i as f64 * f, 2.0 * i as f64 * f, 3.0, 4.0 * f, i as f64],
            negative_buckets: vec![(i % 3) as f64],
            ..Default::default()
        };
        if i > 5 {
            // A new bucket appears.
            h.positive_spans.push(BucketSpan::new(0, 1));
            h.positive_buckets.push(i as f64);
        }
        h.count =
            h.zero_count + h.positive_buckets.iter().sum::<f64>() + h.negative_buckets.iter().sum::<f64>();
        h
    }

    fn roundtrip(hs: &[FloatHistogram]) -> Vec<FloatHistogram> {
        let refs: Vec<&FloatHistogram> = hs.iter().collect();
        let mut buf = Vec::new();
        encode_histograms(&refs, &mut buf);
        buf.push(0xEE); // a following column
        let mut out = Vec::new();
        let used = decode_histograms(&buf, &mut out).unwrap();
        assert_eq!(used, buf.len() - 1);
        assert_eq!(histogram_count(&buf).unwrap(), hs.len());
        out
    }

    #[track_caller]
    fn check_same(a: &[FloatHistogram], b: &[FloatHistogram]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            if x.is_stale() {
                assert!(y.is_stale());
                continue;
            }
            assert_eq!(norm(x), norm(y));
            assert_eq!(x.count.to_bits(), y.count.to_bits());
            assert_eq!(x.zero_count.to_bits(), y.zero_count.to_bits());
            assert_eq!(x.sum.to_bits(), y.sum.to_bits());
            assert_eq!((x.schema, x.counter_reset_hint), (y.schema, y.counter_reset_hint));
            assert_eq!(x.zero_threshold.to_bits(), y.zero_threshold.to_bits());
            assert_eq!(x.custom_values, y.custom_values);
            y.validate().unwrap();
        }
    }

    #[test]
    fn integer_and_float_histograms_round_trip_with_layout_changes() {
        for int in [true, false] {
            let mut hs: Vec<FloatHistogram> = (0..120).map(|i| hist(i, int)).collect();
            hs[7].counter_reset_hint = CounterResetHint::CounterReset;
            hs[9] = FloatHistogram::stale();
            check_same(&hs, &roundtrip(&hs));
        }
        check_same(&[], &roundtrip(&[]));
        let only_stale = vec![FloatHistogram::stale(); 3];
        check_same(&only_stale, &roundtrip(&only_stale));
    }

    #[test]
    fn custom_buckets_round_trip() {
        let h = FloatHistogram {
            schema: crate::model::CUSTOM_BUCKETS_SCHEMA,
            count: 3.0,
            sum: 1.5,
            positive_spans: vec![BucketSpan::new(0, 2)],
            positive_buckets: vec![1.0, 2.0],
            custom_values: vec![0.1, 0.5, 1.0],
            ..Default::default()
        };
        check_same(&[h.clone(), h.clone()], &roundtrip(&[h.clone(), h]));
    }

    #[test]
    fn families() {
        let a = hist(1, true);
        let mut b = a.clone();
        assert!(same_family(&a, &b));
        b.schema = 2;
        assert!(!same_family(&a, &b));
        assert!(same_family(&a, &FloatHistogram::stale()));
        let s = FloatHistogram { sum: STALE_NAN, ..b };
        assert!(same_family(&a, &s));
    }

    #[test]
    fn damage_gives_errors_not_panics() {
        let hs: Vec<FloatHistogram> = (0..50).map(|i| hist(i, i % 2 == 0)).collect();
        let refs: Vec<&FloatHistogram> = hs.iter().collect();
        let mut buf = Vec::new();
        encode_histograms(&refs, &mut buf);
        for cut in 0..buf.len() {
            let mut out = Vec::new();
            assert!(decode_histograms(&buf[..cut], &mut out).is_err(), "cut at {cut}");
            assert!(out.is_empty());
        }
        for i in 0..buf.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut b = buf.clone();
                b[i] ^= x;
                let mut out = Vec::new();
                let _ = decode_histograms(&b, &mut out);
            }
        }
    }
}
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod stream_tests {
    use super::*;
    #[test]
    fn int_streams_round_trip() {
        for run in [0usize, 1, 3, 50, 120] {
            for k in 0..6u64 {
                let vals: Vec<i64> = (0..run * 5)
                    .map(|i| match k {
                        0 => 0,
                        1 => i as i64,
                        2 => ((i * 7919) % 13) as i64 * (i / run) as i64,
                        3 => {
                            if i % 3 == 0 {
                                0
                            } else {
                                (i * i) as i64
                            }
                        }
                        4 => (i % run) as i64 * 1000 + (i / run) as i64,
                        _ => ((i as u64).wrapping_mul(0x9e37_79b9) % 100_000) as i64,
                    })
                    .collect();
                let mut buf = Vec::new();
                put_int_stream(&mut buf, &vals, run);
                buf.push(0xAB);
                let mut r = ByteReader::new(&buf);
                let got = read_int_stream(&mut r, vals.len(), run)
                    .unwrap_or_else(|e| panic!("run {run} k {k} mode {}: {e}", buf[0]));
                assert_eq!(got, vals, "run {run} k {k}");
                assert_eq!(r.rest(), &[0xAB]);
            }
        }
    }
}
