//! The public block column API: header (codec id, count), limits, dispatch.

use super::varint::ByteReader;
use super::{timestamps, values, ChunkError, MAX_COLUMN_SAMPLES};

fn check_count(n: usize) {
    assert!(
        n <= MAX_COLUMN_SAMPLES,
        "column of {n} samples exceeds MAX_COLUMN_SAMPLES"
    );
}

fn read_header(r: &mut ByteReader<'_>, what: &'static str) -> Result<(u8, usize), ChunkError> {
    let codec = r.u8(what)?;
    let n = r.uvarint("sample count")?;
    if n > MAX_COLUMN_SAMPLES as u64 {
        return Err(ChunkError::TooManySamples {
            count: n,
            max: MAX_COLUMN_SAMPLES,
        });
    }
    Ok((codec, n as usize))
}

/// Appends one encoded timestamp column (milliseconds, any order, densest for increasing
/// timestamps at a steady interval) to `out`.
///
/// # Panics
/// If `ts` holds more than [`MAX_COLUMN_SAMPLES`] timestamps.
pub fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    check_count(ts.len());
    timestamps::encode(ts, out);
}

/// Decodes one timestamp column from the start of `buf`, appending to `out`; returns the bytes
/// consumed. On error `out` is left as it was.
pub fn decode_timestamps(buf: &[u8], out: &mut Vec<i64>) -> Result<usize, ChunkError> {
    let len0 = out.len();
    let mut r = ByteReader::new(buf);
    let res = read_header(&mut r, "timestamp codec id")
        .and_then(|(codec, n)| timestamps::decode(codec, n, &mut r, out));
    match res {
        Ok(()) => Ok(r.pos()),
        Err(e) => {
            out.truncate(len0);
            Err(e)
        }
    }
}

/// Appends one encoded value column (bit-exact, NaN payloads kept) to `out`.
///
/// # Panics
/// If `vs` holds more than [`MAX_COLUMN_SAMPLES`] values.
pub fn encode_values(vs: &[f64], out: &mut Vec<u8>) {
    check_count(vs.len());
    values::encode(vs, out);
}

/// Decodes one value column from the start of `buf`, appending to `out`; returns the bytes
/// consumed. On error `out` is left as it was.
pub fn decode_values(buf: &[u8], out: &mut Vec<f64>) -> Result<usize, ChunkError> {
    let len0 = out.len();
    let mut r = ByteReader::new(buf);
    let res =
        read_header(&mut r, "value codec id").and_then(|(codec, n)| values::decode(codec, n, &mut r, out));
    match res {
        Ok(()) => Ok(r.pos()),
        Err(e) => {
            out.truncate(len0);
            Err(e)
        }
    }
}
