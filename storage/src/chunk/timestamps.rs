//! Timestamp column codecs: first timestamp, then bit-packed deltas or deltas-of-deltas.
//!
//! - [`DELTA_PFOR`]: `t0` zigzag varint | PFOR of the `count - 1` deltas.
//! - [`DOD_PFOR`]: `t0` zigzag varint | first delta zigzag varint | PFOR of the `count - 2`
//!   deltas-of-deltas.
//!
//! Scrape jitter makes deltas vary by a few ms around the interval: a frame of reference over
//! the deltas packs them in ~log2(jitter range) bits, fewer than deltas-of-deltas (twice the
//! range); a missed scrape becomes one exception. The encoder plans both and keeps the smaller.

use super::pfor;
use super::varint::{put_uvarint, put_varint, uvarint_len, zigzag, ByteReader};
use super::ChunkError;

/// Codec id: deltas, bit-packed.
pub(crate) const DELTA_PFOR: u8 = 1;
/// Codec id: deltas-of-deltas, bit-packed.
pub(crate) const DOD_PFOR: u8 = 2;

/// Appends the codec id, count and body for `ts`.
pub(crate) fn encode(ts: &[i64], out: &mut Vec<u8>) {
    let n = ts.len();
    if n < 3 {
        out.push(DELTA_PFOR);
        put_uvarint(out, n as u64);
        if let Some(&t0) = ts.first() {
            put_varint(out, t0);
            let deltas: Vec<i64> = ts.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
            pfor::write(&deltas, pfor::plan(&deltas), out);
        }
        return;
    }
    let deltas: Vec<i64> = ts.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let dods: Vec<i64> = deltas.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let pd = pfor::plan(&deltas);
    let pdd = pfor::plan(&dods);
    let d1 = deltas[0];
    if pdd.cost + uvarint_len(zigzag(d1)) < pd.cost {
        out.push(DOD_PFOR);
        put_uvarint(out, n as u64);
        put_varint(out, ts[0]);
        put_varint(out, d1);
        pfor::write(&dods, pdd, out);
    } else {
        out.push(DELTA_PFOR);
        put_uvarint(out, n as u64);
        put_varint(out, ts[0]);
        pfor::write(&deltas, pd, out);
    }
}

/// Decodes the body of a column whose codec id and count were read.
pub(crate) fn decode(
    codec: u8,
    n: usize,
    r: &mut ByteReader<'_>,
    out: &mut Vec<i64>,
) -> Result<(), ChunkError> {
    match codec {
        DELTA_PFOR => {
            if n == 0 {
                return Ok(());
            }
            let t0 = r.varint("first timestamp")?;
            let start = out.len();
            out.push(t0);
            pfor::decode(r, n - 1, out)?;
            let col = out.get_mut(start..).unwrap_or(&mut []);
            let mut t = t0;
            for x in col.iter_mut().skip(1) {
                t = t.wrapping_add(*x);
                *x = t;
            }
        }
        DOD_PFOR => {
            if n < 2 {
                return Err(ChunkError::Invalid {
                    what: "timestamp column",
                    detail: format!("delta-of-delta codec with {n} samples"),
                });
            }
            let t0 = r.varint("first timestamp")?;
            let d1 = r.varint("first timestamp delta")?;
            let start = out.len();
            out.push(t0);
            out.push(t0.wrapping_add(d1));
            pfor::decode(r, n - 2, out)?;
            let col = out.get_mut(start..).unwrap_or(&mut []);
            let mut t = t0.wrapping_add(d1);
            let mut d = d1;
            for x in col.iter_mut().skip(2) {
                d = d.wrapping_add(*x);
                t = t.wrapping_add(d);
                *x = t;
            }
        }
        id => {
            return Err(ChunkError::UnknownCodec {
                column: "timestamp",
                id,
            })
        }
    }
    Ok(())
}
