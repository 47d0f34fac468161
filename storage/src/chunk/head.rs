//! The appendable head chunk: Gorilla-style delta-of-delta timestamps and XOR values.
//!
//! Byte layout (see `storage/docs/format/chunks.md`):
//! `count u32 LE` then one bit stream: `t0` (bit-aligned LEB128 of zigzag), `v0` (64 bits),
//! `t1 - t0` (bit-aligned LEB128), `v1` XOR, then per sample a delta-of-delta bucket and an XOR value.

use super::bits::{BitReader, BitWriter};
use super::varint::{unzigzag, zigzag};
use super::xor::{XorDecoder, XorEncoder};
use super::ChunkError;
use crate::Sample;

/// Bytes before the bit stream: the sample count as `u32` little endian.
pub(super) const HEADER_LEN: usize = 4;

/// Delta-of-delta buckets after the `0` (dod == 0) case: (prefix, prefix bits, payload bits).
/// The payload is the dod in two's complement of that many bits.
pub(super) const DOD_BUCKETS: [(u64, u32, u32); 4] =
    [(0b10, 2, 7), (0b110, 3, 9), (0b1110, 4, 12), (0b11110, 5, 32)];
/// Prefix for a dod that fits none of the buckets: followed by 64 raw bits.
const DOD_RAW: (u64, u32) = (0b11111, 5);

/// Appendable chunk used by the in-memory head (Gorilla-style: delta-of-delta timestamps,
/// XOR floats). Values round-trip bit-exactly, NaN payloads such as [`crate::STALE_NAN`] included.
#[derive(Clone, Debug)]
pub struct HeadChunk {
    /// `count u32 LE` followed by the bit stream.
    buf: Vec<u8>,
    w: BitWriter,
    count: u32,
    t_first: i64,
    t_last: i64,
    /// Last timestamp delta (wrapping difference).
    delta: i64,
    xor: Option<XorEncoder>,
}

impl Default for HeadChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl HeadChunk {
    /// The address of the chunk's last byte, where the next append writes (`0` when empty):
    /// a prefetch hint.
    pub fn tail_addr(&self) -> usize {
        match self.buf.last() {
            Some(b) => b as *const u8 as usize,
            None => 0,
        }
    }

    /// An empty chunk.
    pub fn new() -> Self {
        HeadChunk {
            buf: vec![0; HEADER_LEN],
            w: BitWriter::new(),
            count: 0,
            t_first: 0,
            t_last: 0,
            delta: 0,
            xor: None,
        }
    }

    /// Appends a sample. The caller guarantees `t > self.max_time()` when the chunk is not empty
    /// (timestamps are stored as wrapping differences, so any order round-trips, but
    /// `min_time`/`max_time` assume increasing order).
    ///
    /// # Panics
    /// After `u32::MAX` samples (a chunk of at least 1 GiB).
    pub fn append(&mut self, t: i64, v: f64) {
        let bits = v.to_bits();
        let buf = &mut self.buf;
        match self.count {
            0 => {
                put_bit_uvarint(&mut self.w, buf, zigzag(t));
                self.xor = Some(XorEncoder::first(&mut self.w, buf, bits));
                self.t_first = t;
            }
            1 => {
                let d = t.wrapping_sub(self.t_last);
                put_bit_uvarint(&mut self.w, buf, zigzag(d));
                self.delta = d;
                if let Some(x) = self.xor.as_mut() {
                    x.push(&mut self.w, buf, bits);
                }
            }
            _ => {
                let d = t.wrapping_sub(self.t_last);
                let dod = d.wrapping_sub(self.delta);
                put_dod(&mut self.w, buf, dod);
                self.delta = d;
                if let Some(x) = self.xor.as_mut() {
                    x.push(&mut self.w, buf, bits);
                }
            }
        }
        self.t_last = t;
        self.count = self
            .count
            .checked_add(1)
            .expect("HeadChunk holds at most u32::MAX samples");
        self.buf[..HEADER_LEN].copy_from_slice(&self.count.to_le_bytes());
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the chunk holds no sample.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Timestamp of the first sample (meaningless when empty).
    pub fn min_time(&self) -> i64 {
        self.t_first
    }

    /// Timestamp of the last sample (meaningless when empty).
    pub fn max_time(&self) -> i64 {
        self.t_last
    }

    /// Memory held by the encoded data (allocated capacity of the buffer), in bytes.
    /// The encoded length alone is `as_bytes().len()`.
    pub fn size_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Iterates the samples in append order.
    pub fn iter(&self) -> HeadChunkIter<'_> {
        HeadChunkIter {
            r: BitReader::new(self.buf.get(HEADER_LEN..).unwrap_or(&[])),
            left: self.count,
            i: 0,
            t: 0,
            delta: 0,
            xor: None,
        }
    }

    /// The encoded chunk, self-contained: [`HeadChunk::from_bytes`] restores it and it can be
    /// appended to afterwards.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Iterates the samples of bytes from [`HeadChunk::as_bytes`] without restoring the
    /// encoder state (a closed chunk keeps only its bytes). Bytes not written by
    /// [`HeadChunk::append`] end the iteration early instead of failing.
    pub fn iter_bytes(b: &[u8]) -> HeadChunkIter<'_> {
        let mut c = [0u8; HEADER_LEN];
        if let Some(hdr) = b.get(..HEADER_LEN) {
            c.copy_from_slice(hdr);
        }
        HeadChunkIter {
            r: BitReader::new(b.get(HEADER_LEN..).unwrap_or(&[])),
            left: u32::from_le_bytes(c),
            i: 0,
            t: 0,
            delta: 0,
            xor: None,
        }
    }

    /// Appends to `out` the samples of bytes from [`HeadChunk::as_bytes`] whose timestamps
    /// are in `[lo, hi]`, in order: the samples [`HeadChunk::iter_bytes`] gives in that range,
    /// decoded in bulk (several times faster; what queries use).
    pub fn decode_range_into(b: &[u8], lo: i64, hi: i64, out: &mut Vec<Sample>) {
        super::head_decode::decode_range_into(b, lo, hi, out);
    }

    /// Restores a chunk from [`HeadChunk::as_bytes`], checking every sample: a truncated or
    /// corrupt buffer, trailing bytes or non-increasing timestamps are errors.
    pub fn from_bytes(b: &[u8]) -> Result<Self, ChunkError> {
        let hdr = b.get(..HEADER_LEN).ok_or(ChunkError::Truncated {
            what: "head chunk header",
        })?;
        let mut c = [0u8; 4];
        c.copy_from_slice(hdr);
        let count = u32::from_le_bytes(c);
        let stream = b.get(HEADER_LEN..).unwrap_or(&[]);
        // Every sample takes at least 2 bits; the first two far more.
        if count as usize > stream.len().saturating_mul(4) {
            return Err(ChunkError::Truncated {
                what: "head chunk samples",
            });
        }
        let mut it = HeadChunkIter {
            r: BitReader::new(stream),
            left: count,
            i: 0,
            t: 0,
            delta: 0,
            xor: None,
        };
        let mut t_first = 0;
        let mut prev_t = 0;
        for i in 0..count {
            let s = it.step()?;
            if i == 0 {
                t_first = s.t;
            } else if s.t <= prev_t {
                return Err(ChunkError::Invalid {
                    what: "head chunk timestamps",
                    detail: format!("sample {i} has timestamp {} not after {prev_t}", s.t),
                });
            }
            prev_t = s.t;
        }
        let used_bits = it.r.bit_pos();
        if used_bits.div_ceil(8) != stream.len() {
            return Err(ChunkError::TrailingBytes {
                n: stream.len() - used_bits.div_ceil(8),
            });
        }
        // Continue exactly where the stream ends.
        let xor = it.xor.map(|x| x.to_encoder());
        Ok(HeadChunk {
            buf: b.to_vec(),
            w: BitWriter::with_free((stream.len() * 8 - used_bits) as u32),
            count,
            t_first,
            t_last: prev_t,
            delta: it.delta,
            xor,
        })
    }
}

/// Iterator over the samples of a [`HeadChunk`].
#[derive(Clone, Debug)]
pub struct HeadChunkIter<'a> {
    r: BitReader<'a>,
    left: u32,
    i: u32,
    t: i64,
    delta: i64,
    xor: Option<XorDecoder>,
}

impl HeadChunkIter<'_> {
    fn step(&mut self) -> Result<Sample, ChunkError> {
        let v = match self.i {
            0 => {
                self.t = unzigzag(get_bit_uvarint(&mut self.r, "first timestamp")?);
                let (x, v) = XorDecoder::first(&mut self.r)?;
                self.xor = Some(x);
                v
            }
            1 => {
                self.delta = unzigzag(get_bit_uvarint(&mut self.r, "first delta")?);
                self.t = self.t.wrapping_add(self.delta);
                self.next_value()?
            }
            _ => {
                let dod = get_dod(&mut self.r)?;
                self.delta = self.delta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.delta);
                self.next_value()?
            }
        };
        self.i += 1;
        self.left -= 1;
        Ok(Sample {
            t: self.t,
            v: f64::from_bits(v),
        })
    }

    fn next_value(&mut self) -> Result<u64, ChunkError> {
        match self.xor.as_mut() {
            Some(x) => x.next(&mut self.r),
            None => Err(ChunkError::Invalid {
                what: "head chunk",
                detail: "value before the first".into(),
            }),
        }
    }
}

impl Iterator for HeadChunkIter<'_> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        if self.left == 0 {
            return None;
        }
        match self.step() {
            Ok(s) => Some(s),
            Err(_) => {
                // Unreachable for chunks built by `append` or checked by `from_bytes`.
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

/// Writes `v` as LEB128 bytes inside the bit stream.
fn put_bit_uvarint(w: &mut BitWriter, buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        w.bits(buf, (v & 0x7f) | 0x80, 8);
        v >>= 7;
    }
    w.bits(buf, v, 8);
}

fn get_bit_uvarint(r: &mut BitReader<'_>, what: &'static str) -> Result<u64, ChunkError> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = r.bits(8).ok_or(ChunkError::Truncated { what })?;
        if shift == 63 && b > 1 {
            return Err(ChunkError::VarintOverflow { what });
        }
        v |= (b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
        shift += 7;
        if shift > 63 {
            return Err(ChunkError::VarintOverflow { what });
        }
    }
}

#[inline]
fn put_dod(w: &mut BitWriter, buf: &mut Vec<u8>, dod: i64) {
    if dod == 0 {
        w.bit(buf, false);
        return;
    }
    for &(prefix, plen, bits) in &DOD_BUCKETS {
        let lim = 1i64 << (bits - 1);
        if (-lim..lim).contains(&dod) {
            w.bits(buf, prefix, plen);
            w.bits(buf, (dod as u64) & ((1u64 << bits) - 1), bits);
            return;
        }
    }
    w.bits(buf, DOD_RAW.0, DOD_RAW.1);
    w.bits(buf, dod as u64, 64);
}

#[inline]
fn get_dod(r: &mut BitReader<'_>) -> Result<i64, ChunkError> {
    const T: ChunkError = ChunkError::Truncated {
        what: "timestamp delta-of-delta",
    };
    let ones = r.unary(5).ok_or(T)?;
    if ones == 0 {
        return Ok(0);
    }
    if ones == 5 {
        return Ok(r.bits(64).ok_or(T)? as i64);
    }
    let bits = DOD_BUCKETS[(ones - 1) as usize].2;
    let raw = r.bits(bits).ok_or(T)?;
    // Sign-extend from `bits`.
    let shift = 64 - bits;
    Ok(((raw << shift) as i64) >> shift)
}
