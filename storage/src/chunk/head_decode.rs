//! The bulk decoder of [`super::HeadChunk`] bytes: what a query reads.
//!
//! [`super::HeadChunkIter`] reads the stream one field at a time through a bounds-checked
//! [`super::bits::BitReader`] (one 8-byte load per field, control bits one by one). This
//! decoder keeps up to 64 bits in a register and refills it a word at a time, reads each
//! control prefix with one `leading_ones`, and writes the samples of a time range straight
//! into the caller's vector. It gives exactly the iterator's samples for every input: on bytes
//! the encoder did not write it stops where the iterator stops (the samples before the bad
//! field), which the tests check on corrupted and truncated chunks.

use super::head::{DOD_BUCKETS, HEADER_LEN};
use super::varint::unzigzag;
use crate::Sample;

/// Bits of the stream held in a register, most significant first.
struct BitBuffer<'a> {
    buf: &'a [u8],
    /// Next byte of `buf` to load.
    next: usize,
    /// Buffered bits, left aligned; bits below the `have` valid ones are zero or the stream's
    /// own next bits (a word load may bring in more than it counts).
    acc: u64,
    /// Valid bits in `acc`.
    have: u32,
}

impl<'a> BitBuffer<'a> {
    fn new(buf: &'a [u8]) -> Self {
        BitBuffer {
            buf,
            next: 0,
            acc: 0,
            have: 0,
        }
    }

    /// Tops the register up to at least 56 valid bits, or to the end of the stream.
    #[inline(always)]
    fn refill(&mut self) {
        if let Some(w) = self.buf.get(self.next..self.next + 8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            // `have` < 56 here (callers refill only below the 56 they may need), so the shift is < 64.
            self.acc |= u64::from_be_bytes(a) >> self.have;
            let bytes = (63 - self.have) / 8;
            self.next += bytes as usize;
            self.have += bytes * 8;
        } else {
            while self.have <= 56 {
                let Some(&b) = self.buf.get(self.next) else { break };
                self.acc |= u64::from(b) << (56 - self.have);
                self.next += 1;
                self.have += 8;
            }
        }
    }

    /// Makes at least `n` (<= 56) bits available; `false` at the end of the stream.
    #[inline(always)]
    fn ensure(&mut self, n: u32) -> bool {
        if self.have < n {
            self.refill();
        }
        self.have >= n
    }

    /// Drops `n` (< 64, <= `have`) bits.
    #[inline(always)]
    fn skip(&mut self, n: u32) {
        self.acc <<= n;
        self.have -= n;
    }

    /// Reads `n` bits, 1 <= `n` <= 56, after a successful `ensure(n)`.
    #[inline(always)]
    fn take(&mut self, n: u32) -> u64 {
        let v = self.acc >> (64 - n);
        self.skip(n);
        v
    }

    /// Reads `n` bits, 0 <= `n` <= 64; `None` at the end of the stream.
    #[inline(always)]
    fn bits(&mut self, n: u32) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        if n > 56 {
            return self.wide(n);
        }
        if !self.ensure(n) {
            return None;
        }
        Some(self.take(n))
    }

    /// Reads `n` bits, 56 < `n` <= 64, in two parts (rare: raw first values and timestamps,
    /// 57+ significant XOR bits); kept out of line so that [`BitBuffer::bits`] inlines.
    #[cold]
    #[inline(never)]
    fn wide(&mut self, n: u32) -> Option<u64> {
        let hi = self.bits(n - 32)?;
        let lo = self.bits(32)?;
        Some((hi << 32) | lo)
    }

    /// A LEB128 value whose bytes sit in the bit stream.
    fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.bits(8)?;
            if shift == 63 && b > 1 {
                return None;
            }
            v |= (b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }
}

/// The XOR value state: previous bits and the window (`sig == 0`: none opened yet).
struct Xor {
    prev: u64,
    lead: u32,
    sig: u32,
}

impl Xor {
    /// The next value. Whether it opens a new window or reuses the last one is as random as
    /// the data, so both forms are read by one path (the choice made by selects, not a
    /// branch); only the one-bit "same value" form and the rare wide values branch.
    #[inline(always)]
    fn next(&mut self, r: &mut BitBuffer<'_>) -> Option<u64> {
        r.ensure(56);
        if r.have == 0 {
            return None;
        }
        if r.acc >> 63 == 0 {
            r.skip(1);
            return Some(self.prev);
        }
        // `11` + 5 bits of leading zeros + 6 bits of (significant bits - 1), or `10`.
        let opens = (r.acc >> 62) & 1 == 1;
        let hdr = (r.acc << 2) >> 53;
        let (lead, sig, ctrl) = if opens {
            (((hdr >> 6) & 0x1f) as u32, (hdr & 0x3f) as u32 + 1, 13)
        } else {
            (self.lead, self.sig, 2)
        };
        // A reuse before any window was opened, or a window wider than 64 bits.
        if sig == 0 || lead + sig > 64 {
            return None;
        }
        let need = ctrl + sig;
        let bits = if need < 64 && need <= r.have {
            let v = (r.acc << ctrl) >> (64 - sig);
            r.skip(need);
            v
        } else {
            if ctrl > r.have {
                return None;
            }
            r.skip(ctrl);
            r.bits(sig)?
        };
        self.lead = lead;
        self.sig = sig;
        self.prev ^= bits << (64 - lead - sig);
        Some(self.prev)
    }
}

/// Bits of each delta-of-delta form by its count of leading ones (0 to 4): the prefix with
/// its closing zero, and the payload ([`DOD_BUCKETS`]'s widths, 0 for `dod == 0`).
const DOD_PREFIX_BITS: [u32; 5] = [1, 2, 3, 4, 5];
const DOD_PAYLOAD_BITS: [u32; 5] = [
    0,
    DOD_BUCKETS[0].2,
    DOD_BUCKETS[1].2,
    DOD_BUCKETS[2].2,
    DOD_BUCKETS[3].2,
];

/// The next timestamp delta-of-delta. The four short forms (at most 5 + 32 bits) are read
/// without branching on which one it is: jittered scrape timestamps pick them at random, and
/// a mispredicted branch per sample costs more than the rest of the decoding.
#[inline(always)]
fn dod(r: &mut BitBuffer<'_>) -> Option<i64> {
    r.ensure(37);
    let ones = r.acc.leading_ones();
    if ones >= 5 {
        // `11111` + 64 raw bits.
        if r.have < 5 {
            return None;
        }
        r.skip(5);
        return r.bits(64).map(|x| x as i64);
    }
    let prefix = DOD_PREFIX_BITS[ones as usize];
    let payload = DOD_PAYLOAD_BITS[ones as usize];
    let used = prefix + payload;
    if used > r.have {
        return None;
    }
    // The payload, left aligned, sign-extended by an arithmetic shift; `payload == 0` (the
    // `0` form) gives 0 through the mask.
    let aligned = (r.acc << prefix) as i64;
    let mask = -i64::from(payload != 0);
    let v = (aligned >> (64 - payload.max(1))) & mask;
    r.skip(used);
    Some(v)
}

/// Appends to `out` the samples of the encoded chunk `b` (as [`super::HeadChunk::as_bytes`]
/// gives it) whose timestamps are in `[lo, hi]`, in order, stopping after the first sample
/// past `hi` (timestamps ascend in chunks built by appending). Bytes not written by the
/// encoder end the decoding early, with the samples before the bad field appended, exactly
/// as [`super::HeadChunk::iter_bytes`] would give them.
pub(crate) fn decode_range_into(b: &[u8], lo: i64, hi: i64, out: &mut Vec<Sample>) {
    let mut c = [0u8; HEADER_LEN];
    let Some(hdr) = b.get(..HEADER_LEN) else { return };
    c.copy_from_slice(hdr);
    let count = u32::from_le_bytes(c) as usize;
    if count == 0 {
        return;
    }
    let mut r = BitBuffer::new(b.get(HEADER_LEN..).unwrap_or(&[]));
    // Every sample takes at least 2 bits: a corrupt count cannot make the reserve huge.
    out.reserve(count.min(r.buf.len().saturating_mul(4) + 2));
    let Some(t0) = r.uvarint() else { return };
    let Some(v0) = r.bits(64) else { return };
    let mut t = unzigzag(t0);
    let mut xor = Xor {
        prev: v0,
        lead: 0,
        sig: 0,
    };
    let push = |t: i64, v: u64, out: &mut Vec<Sample>| -> bool {
        if t > hi {
            return false;
        }
        if t >= lo {
            out.push(Sample {
                t,
                v: f64::from_bits(v),
            });
        }
        true
    };
    if !push(t, v0, out) || count == 1 {
        return;
    }
    let Some(d) = r.uvarint() else { return };
    let mut delta = unzigzag(d);
    t = t.wrapping_add(delta);
    let Some(v) = xor.next(&mut r) else { return };
    if !push(t, v, out) {
        return;
    }
    for _ in 2..count {
        let Some(dod) = dod(&mut r) else { return };
        delta = delta.wrapping_add(dod);
        t = t.wrapping_add(delta);
        let Some(v) = xor.next(&mut r) else { return };
        if !push(t, v, out) {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::HeadChunk;
    use super::*;
    use proptest::prelude::*;

    fn slow(b: &[u8], lo: i64, hi: i64) -> Vec<Sample> {
        HeadChunk::iter_bytes(b)
            .take_while(|s| s.t <= hi)
            .filter(|s| s.t >= lo)
            .collect()
    }

    fn fast(b: &[u8], lo: i64, hi: i64) -> Vec<Sample> {
        let mut out = vec![Sample { t: -1, v: 0.0 }];
        decode_range_into(b, lo, hi, &mut out);
        out.remove(0);
        out
    }

    fn same(a: &[Sample], b: &[Sample]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.t == y.t && x.v.to_bits() == y.v.to_bits())
    }

    fn chunk(samples: &[(i64, f64)]) -> HeadChunk {
        let mut c = HeadChunk::new();
        for &(t, v) in samples {
            c.append(t, v);
        }
        c
    }

    #[test]
    fn every_field_width_round_trips() {
        // Timestamp steps hitting each delta-of-delta bucket and the raw form, values hitting
        // every XOR case (same, window reused, new window, 64 significant bits, NaN payloads).
        let mut s = Vec::new();
        let mut t = -5_000_000_000i64;
        let steps = [
            1i64,
            1,
            2,
            70,
            300,
            2_000,
            5_000,
            3_000_000_000,
            1,
            15_000,
            15_001,
            14_999,
        ];
        let values = [
            0.0,
            0.0,
            1.5,
            -1.5,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            1e300,
            3.0,
            3.0000001,
        ];
        for i in 0..400 {
            t += steps[i % steps.len()];
            let v = if i % 37 == 0 {
                f64::from_bits(0x8000_0000_0000_0001 ^ (i as u64) << 40)
            } else {
                values[i % values.len()] + (i / 50) as f64
            };
            s.push((t, v));
        }
        let c = chunk(&s);
        let all = fast(c.as_bytes(), i64::MIN, i64::MAX);
        assert_eq!(all.len(), s.len());
        assert!(same(&all, &slow(c.as_bytes(), i64::MIN, i64::MAX)));
        let (lo, hi) = (s[100].0, s[250].0);
        let part = fast(c.as_bytes(), lo, hi);
        assert_eq!(part.len(), 151);
        assert!(same(&part, &slow(c.as_bytes(), lo, hi)));
    }

    #[test]
    fn empty_and_short_inputs() {
        assert!(fast(&[], 0, 10).is_empty());
        assert!(fast(&[1, 0], 0, 10).is_empty());
        assert!(fast(HeadChunk::new().as_bytes(), 0, 10).is_empty());
        let c = chunk(&[(5, 1.0)]);
        assert!(same(&fast(c.as_bytes(), 0, 10), &[Sample { t: 5, v: 1.0 }]));
        assert!(fast(c.as_bytes(), 6, 10).is_empty());
    }

    proptest! {
        #[test]
        fn matches_the_iterator_on_chunks(
            steps in proptest::collection::vec(1i64..100_000, 1..300),
            vals in proptest::collection::vec(any::<u64>(), 300),
            repeat in 0usize..4,
            lo in -10i64..2_000_000,
            width in 0i64..20_000_000,
        ) {
            let mut t = 0i64;
            let s: Vec<(i64, f64)> = steps.iter().enumerate().map(|(i, d)| {
                t += d;
                // Repeated values exercise the one-bit case.
                let v = if repeat > 0 && i % (repeat + 1) != 0 { vals[0] } else { vals[i] };
                (t, f64::from_bits(v))
            }).collect();
            let c = chunk(&s);
            let b = c.as_bytes();
            prop_assert!(same(&fast(b, i64::MIN, i64::MAX), &slow(b, i64::MIN, i64::MAX)));
            prop_assert!(same(&fast(b, lo, lo + width), &slow(b, lo, lo + width)));
        }

        #[test]
        fn matches_the_iterator_on_damaged_bytes(
            n in 2usize..200,
            cut in 0usize..2_000,
            flips in proptest::collection::vec((0usize..2_000, 0u8..8), 0..6),
        ) {
            let s: Vec<(i64, f64)> = (0..n).map(|i| (i as i64 * 1_000 + (i as i64 * 7 % 13), (i * i) as f64 / 3.0)).collect();
            let c = chunk(&s);
            let mut b = c.as_bytes().to_vec();
            for (at, bit) in flips {
                let len = b.len();
                b[at % len] ^= 1 << bit;
            }
            b.truncate(cut.min(b.len()));
            prop_assert!(same(&fast(&b, i64::MIN, i64::MAX), &slow(&b, i64::MIN, i64::MAX)));
        }

        #[test]
        fn matches_the_iterator_on_random_bytes(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert!(same(&fast(&b, i64::MIN, i64::MAX), &slow(&b, i64::MIN, i64::MAX)));
        }
    }
}
