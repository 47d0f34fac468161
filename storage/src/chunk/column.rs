//! Block column codecs: dispatch on the codec id byte.

use super::bits::{BitReader, BitWriter};
use super::varint::{put_uvarint, put_varint, ByteReader};
use super::xor::{XorDecoder, XorEncoder};
use super::{ChunkError, MAX_COLUMN_SAMPLES};

/// Timestamp codec ids.
pub(crate) mod ts_codec {
    /// First timestamp then zigzag varint deltas.
    pub(crate) const DELTA_VARINT: u8 = 1;
}

/// Value codec ids.
pub(crate) mod value_codec {
    /// First value raw then Gorilla XOR bit stream.
    pub(crate) const XOR: u8 = 1;
}

fn check_count(n: usize) {
    assert!(
        n <= MAX_COLUMN_SAMPLES,
        "column of {n} samples exceeds MAX_COLUMN_SAMPLES"
    );
}

fn read_count(r: &mut ByteReader<'_>) -> Result<usize, ChunkError> {
    let n = r.uvarint("sample count")?;
    if n > MAX_COLUMN_SAMPLES as u64 {
        return Err(ChunkError::TooManySamples {
            count: n,
            max: MAX_COLUMN_SAMPLES,
        });
    }
    Ok(n as usize)
}

/// Appends one encoded timestamp column (milliseconds, any order) to `out`.
///
/// # Panics
/// If `ts` holds more than [`MAX_COLUMN_SAMPLES`] timestamps.
pub fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    check_count(ts.len());
    out.push(ts_codec::DELTA_VARINT);
    put_uvarint(out, ts.len() as u64);
    let mut prev = 0i64;
    for &t in ts {
        put_varint(out, t.wrapping_sub(prev));
        prev = t;
    }
}

/// Decodes one timestamp column from the start of `buf`, appending to `out`; returns the bytes
/// consumed.
pub fn decode_timestamps(buf: &[u8], out: &mut Vec<i64>) -> Result<usize, ChunkError> {
    let len0 = out.len();
    decode_timestamps_inner(buf, out).inspect_err(|_| out.truncate(len0))
}

fn decode_timestamps_inner(buf: &[u8], out: &mut Vec<i64>) -> Result<usize, ChunkError> {
    let mut r = ByteReader::new(buf);
    let codec = r.u8("timestamp codec id")?;
    let n = read_count(&mut r)?;
    match codec {
        ts_codec::DELTA_VARINT => {
            if n > r.remaining() {
                return Err(ChunkError::Truncated {
                    what: "timestamp deltas",
                });
            }
            out.reserve(n);
            let mut prev = 0i64;
            for _ in 0..n {
                prev = prev.wrapping_add(r.varint("timestamp delta")?);
                out.push(prev);
            }
        }
        id => {
            return Err(ChunkError::UnknownCodec {
                column: "timestamp",
                id,
            })
        }
    }
    Ok(r.pos())
}

/// Appends one encoded value column (bit-exact, NaN payloads kept) to `out`.
///
/// # Panics
/// If `vs` holds more than [`MAX_COLUMN_SAMPLES`] values.
pub fn encode_values(vs: &[f64], out: &mut Vec<u8>) {
    check_count(vs.len());
    out.push(value_codec::XOR);
    put_uvarint(out, vs.len() as u64);
    encode_xor(vs, out);
}

fn encode_xor(vs: &[f64], out: &mut Vec<u8>) {
    let Some((first, rest)) = vs.split_first() else {
        return;
    };
    let mut w = BitWriter::new();
    let mut enc = XorEncoder::first(&mut w, out, first.to_bits());
    for v in rest {
        enc.push(&mut w, out, v.to_bits());
    }
}

fn decode_xor(r: &mut ByteReader<'_>, n: usize, out: &mut Vec<f64>) -> Result<(), ChunkError> {
    if n == 0 {
        return Ok(());
    }
    let rest = r.rest();
    // The first value takes 64 bits, every other at least one.
    if n - 1 > rest.len().saturating_sub(8).saturating_mul(8) {
        return Err(ChunkError::Truncated { what: "xor values" });
    }
    let mut br = BitReader::new(rest);
    let (mut dec, v0) = XorDecoder::first(&mut br)?;
    out.reserve(n);
    out.push(f64::from_bits(v0));
    for _ in 1..n {
        out.push(f64::from_bits(dec.next(&mut br)?));
    }
    r.advance(br.bytes_used(), "xor values")
}

/// Decodes one value column from the start of `buf`, appending to `out`; returns the bytes consumed.
pub fn decode_values(buf: &[u8], out: &mut Vec<f64>) -> Result<usize, ChunkError> {
    let len0 = out.len();
    decode_values_inner(buf, out).inspect_err(|_| out.truncate(len0))
}

fn decode_values_inner(buf: &[u8], out: &mut Vec<f64>) -> Result<usize, ChunkError> {
    let mut r = ByteReader::new(buf);
    let codec = r.u8("value codec id")?;
    let n = read_count(&mut r)?;
    match codec {
        value_codec::XOR => decode_xor(&mut r, n, out)?,
        id => return Err(ChunkError::UnknownCodec { column: "value", id }),
    }
    Ok(r.pos())
}
