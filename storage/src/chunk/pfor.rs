//! Patched frame-of-reference bit packing of `i64` sequences.
//!
//! Layout (the count is known to the caller):
//! `base` zigzag varint | `width` u8 (0..=64) | exception count uvarint |
//! packed: `count` slots of `width` bits, little-endian, LSB first (`ceil(count*width/8)` bytes) |
//! exceptions: per exception, position gap uvarint (first: position; then position - previous - 1)
//! and the value as zigzag varint of `value - base`.
//!
//! Sparse variant (high bit of the width byte set): a bitmap of `ceil(count/8)` bytes follows
//! the exception count, bit `i` (LSB first) set when value `i` is not 0; slots and exceptions
//! then cover only the nonzero values, in order. It pays off when many values are 0 (deltas of
//! gauges and counters that often do not move).
//!
//! A slot holds `value - base` when `0 <= value - base < 2^width`; otherwise the slot is 0 and
//! the value is an exception. The encoder picks `base` among the few smallest values (so a
//! counter reset or one odd low value does not widen every slot) and the width that minimises
//! the total size.

use super::varint::{put_uvarint, put_varint, uvarint_len, zigzag, ByteReader};
use super::ChunkError;

/// How many of the smallest distinct values are tried as the base.
const BASE_CANDIDATES: usize = 4;

/// The chosen base and width, with the encoded size they give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) base: i64,
    pub(crate) width: u32,
    /// Encoded size in bytes (exact up to position-gap varints longer than one byte).
    pub(crate) cost: usize,
    /// How many values do not fit the slots.
    pub(crate) exceptions: usize,
    /// Whether zeros are taken out by a bitmap first.
    pub(crate) sparse: bool,
}

/// The width byte's flag for the sparse variant.
const SPARSE: u8 = 0x80;

/// Bits needed for `x` (0 for 0).
#[inline]
fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Chooses the variant, base and width for `vals`.
pub(crate) fn plan(vals: &[i64]) -> Plan {
    let n = vals.len();
    let zeros = vals.iter().filter(|&&v| v == 0).count();
    let dense = plan_dense(vals);
    // With few zeros the bitmap cannot pay for itself.
    if zeros * 8 < n || zeros == n {
        return dense;
    }
    let nonzero: Vec<i64> = vals.iter().copied().filter(|&v| v != 0).collect();
    let mut sparse = plan_dense(&nonzero);
    sparse.cost += n.div_ceil(8);
    sparse.sparse = true;
    if sparse.cost < dense.cost {
        sparse
    } else {
        dense
    }
}

/// Chooses base and width for `vals` without the bitmap.
fn plan_dense(vals: &[i64]) -> Plan {
    let Some(&first) = vals.first() else {
        return Plan {
            base: 0,
            width: 0,
            cost: 3,
            exceptions: 0,
            sparse: false,
        };
    };
    let (mut min, mut max) = (first, first);
    for &v in vals {
        min = min.min(v);
        max = max.max(v);
    }
    let mut best = cost_for_base(vals, min);
    let full = bit_len(max.wrapping_sub(min) as u64);
    if full >= 10 {
        // A few low outliers (a counter reset, one short interval) would widen every slot:
        // try the next smallest distinct values as the base, making the lower ones exceptions.
        for c in smallest_distinct(vals).into_iter().skip(1).flatten() {
            if bit_len(max.wrapping_sub(c) as u64) < full {
                let p = cost_for_base(vals, c);
                if p.cost < best.cost {
                    best = p;
                }
            }
        }
    }
    best
}

/// The [`BASE_CANDIDATES`] smallest distinct values, ascending.
fn smallest_distinct(vals: &[i64]) -> [Option<i64>; BASE_CANDIDATES] {
    let mut small = [i64::MAX; BASE_CANDIDATES];
    let mut ns = 0;
    for &v in vals {
        if ns < BASE_CANDIDATES || v < small[BASE_CANDIDATES - 1] {
            if let Err(i) = small[..ns].binary_search(&v) {
                let end = ns.min(BASE_CANDIDATES - 1);
                small.copy_within(i..end, i + 1);
                small[i] = v;
                ns = (ns + 1).min(BASE_CANDIDATES);
            }
        }
    }
    let mut out = [None; BASE_CANDIDATES];
    for (o, &v) in out.iter_mut().zip(&small[..ns]) {
        *o = Some(v);
    }
    out
}

/// Values from which [`cost_for_base`] tallies into four interleaved histograms (fewer: one,
/// whose clearing and merging would otherwise cost more than the tally).
const SPLIT_TALLY_FROM: usize = 1024;

/// The best width for a given base.
fn cost_for_base(vals: &[i64], base: i64) -> Plan {
    let mut below_cost = 0usize;
    let mut below = 0usize;
    let mut tally = |h: &mut [u32; 65], v: i64| {
        let d = v.wrapping_sub(base);
        if v < base {
            below += 1;
            below_cost += 1 + uvarint_len(zigzag(d));
        } else {
            h[bit_len(d as u64) as usize] += 1;
        }
    };
    let mut hist = [0usize; 65];
    if vals.len() < SPLIT_TALLY_FROM {
        // A head chunk's 120 values: one histogram, no merge.
        let mut one = [0u32; 65];
        for &v in vals {
            tally(&mut one, v);
        }
        for (h, &c) in hist.iter_mut().zip(&one) {
            *h = c as usize;
        }
    } else {
        // Four interleaved histograms so consecutive equal widths do not serialise on one counter.
        let mut hists = [[0u32; 65]; 4];
        let mut quads = vals.chunks_exact(4);
        for q in &mut quads {
            let [h0, h1, h2, h3] = &mut hists;
            tally(h0, q[0]);
            tally(h1, q[1]);
            tally(h2, q[2]);
            tally(h3, q[3]);
        }
        for &v in quads.remainder() {
            tally(&mut hists[0], v);
        }
        for (l, h) in hist.iter_mut().enumerate() {
            *h = hists.iter().map(|x| x[l] as usize).sum();
        }
    }
    let n = vals.len();
    // Widths above the longest value cost more and save nothing: start the walk there.
    let longest = hist.iter().rposition(|&c| c > 0).unwrap_or(0) as u32;
    // Walk widths from 64 down, accumulating the cost of values that no longer fit.
    let mut exc = below;
    let mut exc_cost = below_cost;
    let fixed = uvarint_len(zigzag(base)) + 1;
    let mut best = Plan {
        base,
        width: 64,
        cost: usize::MAX,
        exceptions: 0,
        sparse: false,
    };
    for w in (0..=longest).rev() {
        if w < longest {
            let l = (w + 1) as usize;
            exc += hist[l];
            // zigzag of a positive d of l bits has l + 1 bits.
            exc_cost += hist[l] * (1 + (l + 1).div_ceil(7));
        }
        let cost = fixed + uvarint_len(exc as u64) + (n * w as usize).div_ceil(8) + exc_cost;
        if cost <= best.cost {
            best = Plan {
                base,
                width: w,
                cost,
                exceptions: exc,
                sparse: false,
            };
        }
    }
    best
}

/// Writes `vals` as planned.
pub(crate) fn write(vals: &[i64], plan: Plan, out: &mut Vec<u8>) {
    let Plan {
        base,
        width: w,
        exceptions: exc,
        sparse,
        ..
    } = plan;
    put_varint(out, base);
    out.push(w as u8 | if sparse { SPARSE } else { 0 });
    put_uvarint(out, exc as u64);
    if sparse {
        let start = out.len();
        out.resize(start + vals.len().div_ceil(8), 0);
        let bitmap = out.get_mut(start..).unwrap_or(&mut []);
        for (i, &v) in vals.iter().enumerate() {
            if v != 0 {
                bitmap[i / 8] |= 1 << (i % 8);
            }
        }
        let nonzero: Vec<i64> = vals.iter().copied().filter(|&v| v != 0).collect();
        write_slots(&nonzero, base, w, exc, out);
    } else {
        write_slots(vals, base, w, exc, out);
    }
}

/// Writes the slots and exceptions of `vals`.
fn write_slots(vals: &[i64], base: i64, w: u32, exc: usize, out: &mut Vec<u8>) {
    let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
    let fits = |v: i64| v >= base && (v.wrapping_sub(base) as u64) & !mask == 0;
    debug_assert_eq!(vals.iter().filter(|&&v| !fits(v)).count(), exc);
    if w > 0 {
        let mut acc = 0u64;
        let mut nb = 0u32;
        for &v in vals {
            let x = if fits(v) { v.wrapping_sub(base) as u64 } else { 0 };
            acc |= x << nb;
            nb += w;
            if nb >= 64 {
                out.extend_from_slice(&acc.to_le_bytes());
                nb -= 64;
                acc = if nb > 0 { x >> (w - nb) } else { 0 };
            }
        }
        out.extend_from_slice(&acc.to_le_bytes()[..nb.div_ceil(8) as usize]);
    }
    if exc > 0 {
        let mut next = 0usize;
        for (i, &v) in vals.iter().enumerate() {
            if !fits(v) {
                put_uvarint(out, (i - next) as u64);
                put_varint(out, v.wrapping_sub(base));
                next = i + 1;
            }
        }
    }
}

/// Encodes `vals` with the best plan.
#[cfg(test)]
pub(crate) fn encode(vals: &[i64], out: &mut Vec<u8>) {
    write(vals, plan(vals), out);
}

/// An output element that can carry an `i64` (values are decoded in place as bit patterns).
pub(crate) trait Slot: Copy {
    fn from_i64(v: i64) -> Self;
    fn to_i64(self) -> i64;
}

impl Slot for i64 {
    #[inline]
    fn from_i64(v: i64) -> Self {
        v
    }
    #[inline]
    fn to_i64(self) -> i64 {
        self
    }
}

impl Slot for f64 {
    #[inline]
    fn from_i64(v: i64) -> Self {
        f64::from_bits(v as u64)
    }
    #[inline]
    fn to_i64(self) -> i64 {
        self.to_bits() as i64
    }
}

#[inline]
fn load64(b: &[u8], i: usize) -> u64 {
    if let Some(s) = b.get(i..i + 8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    } else {
        let mut a = [0u8; 8];
        let rest = b.get(i..).unwrap_or(&[]);
        a[..rest.len()].copy_from_slice(rest);
        u64::from_le_bytes(a)
    }
}

/// Reads `n` values written by [`write`], appending them to `out`.
pub(crate) fn decode<T: Slot>(r: &mut ByteReader<'_>, n: usize, out: &mut Vec<T>) -> Result<(), ChunkError> {
    let base = r.varint("bit-packing base")?;
    let wb = r.u8("bit-packing width")?;
    let sparse = wb & SPARSE != 0;
    let w = u32::from(wb & !SPARSE);
    if w > 64 {
        return Err(ChunkError::Invalid {
            what: "bit-packing width",
            detail: format!("{w} > 64"),
        });
    }
    let exc = r.uvarint("exception count")?;
    // Each exception takes at least two bytes.
    if exc > n as u64 || exc > (r.remaining() / 2) as u64 {
        return Err(ChunkError::Invalid {
            what: "exception count",
            detail: format!("{exc} exceptions for {n} values and {} bytes", r.remaining()),
        });
    }
    let bitmap = if sparse {
        Some(r.bytes(n.div_ceil(8), "nonzero bitmap")?)
    } else {
        None
    };
    let is_set = |b: &[u8], i: usize| b.get(i / 8).is_some_and(|x| x & (1 << (i % 8)) != 0);
    // The number of slots: all values, or the nonzero ones.
    let total = n;
    let n = match bitmap {
        Some(b) => count_set(b, total),
        None => n,
    };
    if exc > n as u64 {
        return Err(ChunkError::Invalid {
            what: "exception count",
            detail: format!("{exc} exceptions for {n} nonzero values"),
        });
    }
    let packed = r.bytes((n * w as usize).div_ceil(8), "bit-packed values")?;
    let start = out.len();
    out.reserve(total);
    if w == 0 {
        out.extend(std::iter::repeat_n(T::from_i64(base), n));
    } else {
        let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
        let mut bitpos = 0usize;
        for _ in 0..n {
            let byte = bitpos >> 3;
            let sh = (bitpos & 7) as u32;
            let mut x = load64(packed, byte) >> sh;
            if w + sh > 64 {
                x |= u64::from(packed.get(byte + 8).copied().unwrap_or(0)) << (64 - sh);
            }
            out.push(T::from_i64(base.wrapping_add((x & mask) as i64)));
            bitpos += w as usize;
        }
    }
    let mut next = 0usize;
    for _ in 0..exc {
        let gap = r.uvarint("exception position")?;
        let pos = (next as u64)
            .checked_add(gap)
            .filter(|&p| p < n as u64)
            .ok_or_else(|| ChunkError::Invalid {
                what: "exception position",
                detail: format!("position past the {n} values"),
            })? as usize;
        let d = r.varint("exception value")?;
        if let Some(slot) = out.get_mut(start + pos) {
            *slot = T::from_i64(base.wrapping_add(d));
        }
        next = pos + 1;
    }
    if let Some(b) = bitmap {
        // Spread the nonzero values to their positions, from the back so none is overwritten
        // before it is moved (the j-th nonzero value never sits after position j).
        out.resize(start + total, T::from_i64(0));
        let col = out.get_mut(start..).unwrap_or(&mut []);
        let mut j = n;
        for i in (0..total).rev() {
            if is_set(b, i) {
                j -= 1;
                col[i] = col[j];
            } else {
                col[i] = T::from_i64(0);
            }
        }
    }
    Ok(())
}

/// Set bits among the first `n` bits of `b` (LSB first).
fn count_set(b: &[u8], n: usize) -> usize {
    let full = n / 8;
    let mut c: usize = b.iter().take(full).map(|x| x.count_ones() as usize).sum();
    if !n.is_multiple_of(8) {
        c += (b.get(full).copied().unwrap_or(0) & ((1u8 << (n % 8)) - 1)).count_ones() as usize;
    }
    c
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn round_trip(vals: &[i64]) -> usize {
        let mut out = Vec::new();
        encode(vals, &mut out);
        let p = plan(vals);
        let mut r = ByteReader::new(&out);
        let mut back: Vec<i64> = vec![7];
        decode(&mut r, vals.len(), &mut back).unwrap();
        assert_eq!(&back[1..], vals);
        assert_eq!(r.pos(), out.len());
        assert!(
            p.cost <= out.len() + vals.len() / 64 + 1,
            "plan {} vs real {}",
            p.cost,
            out.len()
        );
        out.len()
    }

    #[test]
    fn shapes_round_trip_and_are_small() {
        assert_eq!(round_trip(&[]), 3);
        assert_eq!(round_trip(&[5; 1000]), 3);
        assert_eq!(
            round_trip(&[i64::MIN, i64::MAX, 0, -1, 1]),
            round_trip(&[i64::MIN, i64::MAX, 0, -1, 1])
        );
        // Jitter 0..=30 around 15000: 5 bits a value.
        let jitter: Vec<i64> = (0..480).map(|i| 15_000 + (i * 7919 % 31)).collect();
        assert!(round_trip(&jitter) <= 480 * 5 / 8 + 8);
        // Same with one missed scrape and one counter-reset-like low outlier.
        let mut outl = jitter.clone();
        outl[100] = 30_011;
        outl[300] = -123_456_789;
        assert!(round_trip(&outl) <= 480 * 5 / 8 + 16);
        let wide: Vec<i64> = (0..100i64)
            .map(|i| i.wrapping_mul(0x0123_4567_89ab_cdef_i64.wrapping_mul(i)))
            .collect();
        round_trip(&wide);
        let all64: Vec<i64> = (0..77)
            .map(|i| if i % 2 == 0 { i64::MIN } else { i64::MAX - i })
            .collect();
        round_trip(&all64);
    }
}
