//! Snappy (block format) for request bodies whose repeats the encoder already knows.
//!
//! A 1.0 request is mostly label pairs that other series of the same request carry too
//! (`__name__`, `job`, `instance`, ...). A general compressor finds those repeats by hashing
//! every position of the input; the encoder knows where each pair starts and ends, so it
//! marks them ([`HintedSnappy::mark`]) as it writes them and only those runs are looked up,
//! once per pair. Everything not marked is emitted as literals. The output is ordinary
//! snappy (literals and 2-byte-offset copies, as the reference compressor emits), decoded by
//! any receiver; it is somewhat larger than a general compressor's and costs a fraction of
//! its CPU.
//!
//! Exactness: a copy is recorded only after the bytes at its source were compared with the
//! marked run, so a hash collision or a stale table entry costs a missed repeat, never a
//! wrong byte.

/// Bits of the table of last positions (4096 entries).
const TABLE_BITS: u32 = 12;
/// Longest copy offset of a 2-byte-offset copy.
const MAX_OFFSET: usize = 65_535;
/// Longest copy of one element.
const MAX_COPY: usize = 64;
/// Shortest run worth a copy (a copy element is 3 bytes).
const MIN_COPY: usize = 4;

/// One copy found: `len` bytes at `at` repeat the bytes `offset` earlier.
#[derive(Clone, Copy, Debug)]
struct Copy {
    at: u32,
    len: u32,
    offset: u32,
}

/// The marks of one body, then its compression. Reused across bodies.
#[derive(Debug)]
pub struct HintedSnappy {
    /// Last position (plus one; 0 = none) of a run by its hash.
    table: Vec<u32>,
    /// Copies found, in order, not overlapping.
    copies: Vec<Copy>,
}

impl Default for HintedSnappy {
    fn default() -> Self {
        HintedSnappy {
            table: vec![0; 1 << TABLE_BITS],
            copies: Vec::new(),
        }
    }
}

/// The little-endian word of `b[at..at + 8]` (`b` holds at least that).
#[inline]
fn word8(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The little-endian word of `b[at..at + 4]`.
#[inline]
fn word4(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u64::from(u32::from_le_bytes(w))
}

/// The first and last (possibly overlapping) words of a run of at least [`MIN_COPY`] bytes:
/// what its hash is made of, compared first when checking a source.
#[inline]
fn ends(run: &[u8]) -> (u64, u64) {
    let n = run.len();
    if n >= 8 {
        (word8(run, 0), word8(run, n - 8))
    } else {
        (word4(run, 0), word4(run, n - 4))
    }
}

/// Whether `a` and `b` (the same length) hold the same bytes, word by word (the runs are
/// short: a call to `memcmp` costs more than comparing them).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n < 8 {
        return a == b;
    }
    let mut i = 0;
    while i + 8 <= n {
        if word8(a, i) != word8(b, i) {
            return false;
        }
        i += 8;
    }
    word8(a, n - 8) == word8(b, n - 8)
}

/// A cheap hash of a run: its length and its first and last words.
#[inline]
fn run_hash(n: usize, (head, tail): (u64, u64)) -> u32 {
    let x = (head ^ tail.rotate_left(29) ^ (n as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> (64 - TABLE_BITS)) as u32
}

impl HintedSnappy {
    /// Starts a new body (the table's entries stay: they are checked before use).
    pub fn reset(&mut self) {
        self.copies.clear();
    }

    /// Marks `body[at..]` (the run the encoder just wrote, up to the end of `body`) as
    /// likely to repeat earlier bytes of `body`. Runs must be marked in order.
    #[inline]
    pub fn mark(&mut self, body: &[u8], at: usize) {
        let Some(run) = body.get(at..) else { return };
        let len = run.len();
        if len < MIN_COPY || body.len() > u32::MAX as usize {
            return;
        }
        // First, the bytes after the last copy's source: runs that follow each other in an
        // earlier series extend one copy instead of starting another.
        if let Some(last) = self.copies.last_mut() {
            let src = at.wrapping_sub(last.offset as usize);
            if last.at + last.len == at as u32 && src + len <= at && same(&body[src..src + len], run) {
                last.len += len as u32;
                return;
            }
        }
        let e = ends(run);
        let slot = run_hash(len, e) as usize;
        let prev = self.table[slot] as usize;
        self.table[slot] = at as u32 + 1;
        if prev == 0 {
            return;
        }
        let src = prev - 1;
        if src + len > at || at - src > MAX_OFFSET {
            return;
        }
        let source = &body[src..src + len];
        if ends(source) != e || !same(source, run) {
            return;
        }
        let offset = (at - src) as u32;
        if let Some(last) = self.copies.last_mut() {
            if last.at + last.len == at as u32 && last.offset == offset {
                last.len += len as u32;
                return;
            }
        }
        self.copies.push(Copy {
            at: at as u32,
            len: len as u32,
            offset,
        });
    }

    /// Compresses `body` (whose runs were marked) into `out` (cleared first).
    pub fn compress(&self, body: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(body.len() / 2 + 16);
        put_varint(out, body.len() as u64);
        let mut at = 0usize;
        for c in &self.copies {
            let (start, mut len) = (c.at as usize, c.len as usize);
            put_literal(out, &body[at..start]);
            while len > 0 {
                // Pieces of at most MAX_COPY, none shorter than MIN_COPY.
                let piece = if len > MAX_COPY && len - MAX_COPY < MIN_COPY {
                    MAX_COPY - MIN_COPY
                } else {
                    len.min(MAX_COPY)
                };
                put_copy(out, c.offset as usize, piece);
                len -= piece;
            }
            at = start + c.len as usize;
        }
        put_literal(out, &body[at..]);
    }
}

fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// A literal element (tag `00`): lengths up to 60 in the tag, longer ones in 1-4 bytes.
fn put_literal(out: &mut Vec<u8>, lit: &[u8]) {
    if lit.is_empty() {
        return;
    }
    let n = lit.len() - 1;
    if n < 60 {
        out.push((n as u8) << 2);
    } else {
        let bytes = (n.ilog2() / 8 + 1) as usize;
        out.push(((59 + bytes) as u8) << 2);
        out.extend_from_slice(&(n as u32).to_le_bytes()[..bytes]);
    }
    out.extend_from_slice(lit);
}

/// A copy element with a 2-byte offset (tag `10`), `len` in 1..=64.
fn put_copy(out: &mut Vec<u8>, offset: usize, len: usize) {
    out.push((((len - 1) as u8) << 2) | 0b10);
    out.extend_from_slice(&(offset as u16).to_le_bytes());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn decode(b: &[u8]) -> Vec<u8> {
        snap::raw::Decoder::new().decompress_vec(b).unwrap()
    }

    /// Writes `runs` one after the other, marking those flagged.
    fn roundtrip(runs: &[(&[u8], bool)]) -> (Vec<u8>, Vec<u8>) {
        let mut h = HintedSnappy::default();
        let mut body = Vec::new();
        for (r, m) in runs {
            let at = body.len();
            body.extend_from_slice(r);
            if *m {
                h.mark(&body, at);
            }
        }
        let mut out = Vec::new();
        h.compress(&body, &mut out);
        (body, out)
    }

    #[test]
    fn repeats_become_copies_and_decode_exactly() {
        let pair: &[u8] = b"\x0a\x0f\x0a\x03job\x12\x08node-exp";
        let (body, out) = roundtrip(&[(pair, true), (b"xyz", false), (pair, true), (pair, true)]);
        assert_eq!(decode(&out), body);
        assert!(out.len() < body.len(), "{} >= {}", out.len(), body.len());
    }

    #[test]
    fn adjacent_repeats_merge_and_long_copies_split() {
        let a: Vec<u8> = (0..50u8).collect();
        let b: Vec<u8> = (100..140u8).collect();
        let (body, out) = roundtrip(&[(&a, true), (&b, true), (b"--", false), (&a, true), (&b, true)]);
        assert_eq!(decode(&out), body);
        // 90 bytes copied at one offset: two copy elements (64 + 26... or 60 + 30), no more.
        let mut h = HintedSnappy::default();
        let mut body2 = Vec::new();
        for r in [&a, &b, &a, &b] {
            let at = body2.len();
            body2.extend_from_slice(r);
            h.mark(&body2, at);
        }
        assert_eq!(h.copies.len(), 1);
        assert_eq!(h.copies[0].len, 90);
    }

    #[test]
    fn long_literals_and_odd_copy_lengths() {
        for n in [0usize, 1, 59, 60, 61, 255, 256, 257, 65_536, 70_000] {
            let lit: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            let run: Vec<u8> = (0..(n % 70 + 4)).map(|i| (i * 13 % 256) as u8).collect();
            let (body, out) = roundtrip(&[(&run, true), (&lit, false), (&run, true)]);
            assert_eq!(decode(&out), body, "n = {n}");
        }
        for len in [4usize, 63, 64, 65, 66, 67, 68, 69, 128, 129, 200] {
            let run: Vec<u8> = (0..len).map(|i| (i % 256) as u8 ^ 0x5a).collect();
            let (body, out) = roundtrip(&[(&run, true), (b"ab", false), (&run, true)]);
            assert_eq!(decode(&out), body, "len = {len}");
        }
    }

    #[test]
    fn far_or_stale_sources_are_not_copied() {
        let pair: &[u8] = b"\x0a\x0c\x0a\x03cpu\x12\x0512345";
        let filler = vec![7u8; 70_000];
        let (body, out) = roundtrip(&[(pair, true), (&filler, false), (pair, true)]);
        assert_eq!(decode(&out), body);
        // A table entry left by another body, pointing at other bytes now.
        let mut h = HintedSnappy::default();
        let mut body = pair.to_vec();
        h.mark(&body, 0);
        h.reset();
        body.clear();
        body.extend_from_slice(b"\x0a\x0c\x0a\x03cpu\x12\x0599999");
        body.extend_from_slice(pair);
        h.mark(&body, 14);
        assert!(h.copies.is_empty());
        let mut out = Vec::new();
        h.compress(&body, &mut out);
        assert_eq!(decode(&out), body);
    }

    #[test]
    fn random_bodies_decode_exactly() {
        let mut x: u64 = 0x1234_5678;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let vocab: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                (0..(4 + i % 30))
                    .map(|j| ((i * 31 + j * 7) % 256) as u8)
                    .collect()
            })
            .collect();
        for _ in 0..200 {
            let mut h = HintedSnappy::default();
            let mut body = Vec::new();
            for _ in 0..(next() % 3000) {
                let at = body.len();
                if next() % 3 == 0 {
                    let n = (next() % 12) as usize;
                    body.extend((0..n).map(|_| next() as u8));
                } else {
                    body.extend_from_slice(&vocab[(next() % 40) as usize]);
                    h.mark(&body, at);
                }
            }
            let mut out = Vec::new();
            h.compress(&body, &mut out);
            assert_eq!(decode(&out), body);
            h.reset();
        }
    }
}
