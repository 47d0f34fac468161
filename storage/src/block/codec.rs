//! The column codecs blocks use, behind one seam so the implementation can be swapped.
//!
//! Interim: a small private codec (delta-of-delta varint timestamps, byte-trimmed XOR values)
//! with the same signatures as `storage::chunk`'s dense column codecs; replaced by those once
//! they land. Every column is self-delimiting and starts with its sample count.

use crate::index::encoding::{Decoder, PutExt};

/// A column that does not decode.
#[derive(Debug)]
pub(crate) struct CodecError(pub String);

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(e: crate::index::encoding::DecodeError) -> CodecError {
    CodecError(format!("{} at column byte {}", e.reason, e.offset))
}

/// Appends the encoded timestamps to `out`.
pub(crate) fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    out.put_uvarint(ts.len() as u64);
    let (mut prev, mut delta) = (0i64, 0i64);
    for (i, &t) in ts.iter().enumerate() {
        match i {
            0 => out.put_varint(t),
            1 => {
                delta = t.wrapping_sub(prev);
                out.put_varint(delta);
            }
            _ => {
                let d = t.wrapping_sub(prev);
                out.put_varint(d.wrapping_sub(delta));
                delta = d;
            }
        }
        prev = t;
    }
}

/// Decodes one timestamp column from the start of `buf`, appending to `out`; returns the
/// number of bytes consumed.
pub(crate) fn decode_timestamps(buf: &[u8], out: &mut Vec<i64>) -> Result<usize, CodecError> {
    let mut d = Decoder::new(buf, 0);
    let n = d.uvarint_max(buf.len() as u64, "timestamp count").map_err(err)?;
    out.reserve(n as usize);
    let (mut prev, mut delta) = (0i64, 0i64);
    for i in 0..n {
        let t = match i {
            0 => d.varint().map_err(err)?,
            1 => {
                delta = d.varint().map_err(err)?;
                prev.wrapping_add(delta)
            }
            _ => {
                delta = delta.wrapping_add(d.varint().map_err(err)?);
                prev.wrapping_add(delta)
            }
        };
        out.push(t);
        prev = t;
    }
    Ok(d.offset() as usize)
}

/// Appends the encoded values to `out`: per value, the XOR with the previous value's bits,
/// as a control byte (0 for "same value", else `0x80 | trailing_zero_bytes << 3 | (len - 1)`)
/// followed by the non-zero middle bytes.
pub(crate) fn encode_values(vs: &[f64], out: &mut Vec<u8>) {
    out.put_uvarint(vs.len() as u64);
    let mut prev = 0u64;
    for v in vs {
        let bits = v.to_bits();
        let x = bits ^ prev;
        prev = bits;
        if x == 0 {
            out.push(0);
            continue;
        }
        let tz = x.trailing_zeros() / 8;
        let lz = x.leading_zeros() / 8;
        let len = 8 - tz - lz;
        out.push(0x80 | ((tz as u8) << 3) | (len as u8 - 1));
        let mid = x >> (tz * 8);
        out.extend_from_slice(&mid.to_le_bytes()[..len as usize]);
    }
}

/// Decodes one value column from the start of `buf`, appending to `out`; returns the number
/// of bytes consumed.
pub(crate) fn decode_values(buf: &[u8], out: &mut Vec<f64>) -> Result<usize, CodecError> {
    let mut d = Decoder::new(buf, 0);
    let n = d.uvarint_max(buf.len() as u64, "value count").map_err(err)?;
    out.reserve(n as usize);
    let mut prev = 0u64;
    for _ in 0..n {
        let c = d.bytes(1).map_err(err)?[0];
        if c != 0 {
            if c & 0x80 == 0 {
                return Err(CodecError(format!("bad value control byte {c:#x}")));
            }
            let tz = u32::from((c >> 3) & 7);
            let len = usize::from(c & 7) + 1;
            if tz as usize + len > 8 {
                return Err(CodecError(format!("bad value control byte {c:#x}")));
            }
            let mut b = [0u8; 8];
            b[..len].copy_from_slice(d.bytes(len).map_err(err)?);
            prev ^= u64::from_le_bytes(b) << (tz * 8);
        }
        out.push(f64::from_bits(prev));
    }
    Ok(d.offset() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ts = vec![1_000, 16_000, 31_002, 46_001, 61_000, -5, i64::MAX, i64::MIN];
        let vs = vec![
            0.0,
            1.5,
            1.5,
            f64::NAN,
            crate::STALE_NAN,
            -0.0,
            1e300,
            f64::INFINITY,
        ];
        let mut b = Vec::new();
        encode_timestamps(&ts, &mut b);
        let tl = b.len();
        encode_values(&vs, &mut b);
        let mut t2 = Vec::new();
        let mut v2 = Vec::new();
        assert_eq!(decode_timestamps(&b, &mut t2).unwrap(), tl);
        assert_eq!(decode_values(&b[tl..], &mut v2).unwrap(), b.len() - tl);
        assert_eq!(ts, t2);
        assert!(vs.iter().zip(&v2).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(decode_values(&b[tl..b.len() - 1], &mut v2).is_err());
        assert!(decode_timestamps(&[], &mut t2).is_err());
    }
}
