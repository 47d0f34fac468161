//! Timestamp column codecs: first timestamp, then bit-packed deltas or deltas-of-deltas.
//!
//! - [`DELTA_PFOR`]: `t0` zigzag varint | PFOR of the `count - 1` deltas.
//! - [`DOD_PFOR`]: `t0` zigzag varint | first delta zigzag varint | PFOR of the `count - 2`
//!   deltas-of-deltas.
//! - [`GRID_PFOR`]: `t0` zigzag varint | `step` uvarint | PFOR of the `count - 1` grid gaps
//!   (`k[i] - k[i-1] - 1`: 0, or the number of missed scrapes) | PFOR of the `count - 1`
//!   residuals `t[i] - t0 - k[i] * step`. With uniform scrape jitter of `J` ms the residuals
//!   span `J` values where deltas span `2J`: one bit less per sample.
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
/// Codec id: a regular grid with bit-packed gaps and residuals.
pub(crate) const GRID_PFOR: u8 = 3;

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
    let pd = pfor::plan(&deltas);
    let d1 = deltas[0];
    let grid = plan_grid(ts, &deltas);
    // Deltas-of-deltas only pay off for irregular timestamps that drift steadily; skip them
    // when deltas or the grid pack into a byte a sample.
    let regular = pd.cost <= n || grid.as_ref().is_some_and(|g| g.cost <= n);
    let dods: Vec<i64> = if regular {
        Vec::new()
    } else {
        deltas.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect()
    };
    let pdd = pfor::plan(&dods);
    let dod_cost = if regular {
        usize::MAX
    } else {
        pdd.cost + uvarint_len(zigzag(d1))
    };
    if let Some(g) = grid.filter(|g| g.cost < pd.cost.min(dod_cost)) {
        out.push(GRID_PFOR);
        put_uvarint(out, n as u64);
        put_varint(out, ts[0]);
        put_uvarint(out, g.step);
        pfor::write(&g.gaps, g.pgaps, out);
        pfor::write(&g.res, g.pres, out);
    } else if dod_cost < pd.cost {
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

/// A planned grid encoding.
struct Grid {
    step: u64,
    gaps: Vec<i64>,
    res: Vec<i64>,
    pgaps: pfor::Plan,
    pres: pfor::Plan,
    cost: usize,
}

/// Plans the grid codec for strictly increasing timestamps (`None` otherwise).
fn plan_grid(ts: &[i64], deltas: &[i64]) -> Option<Grid> {
    if deltas.iter().any(|&d| d <= 0) {
        return None;
    }
    let t0 = *ts.first()?;
    let span = ts.last()?.checked_sub(t0)?;
    // The typical interval: the median of up to 64 evenly spread deltas.
    let stride = deltas.len().div_ceil(64);
    let mut sample: Vec<i64> = deltas.iter().step_by(stride).copied().collect();
    let mid = sample.len() / 2;
    let (_, &mut median, _) = sample.select_nth_unstable(mid);
    // Refined over the whole span so that rounding does not drift.
    let steps = span.checked_add(median / 2)? / median;
    if steps <= 0 {
        return None;
    }
    let step = span.checked_add(steps / 2)? / steps;
    if step <= 0 {
        return None;
    }
    let mut gaps = Vec::with_capacity(deltas.len());
    let mut res = Vec::with_capacity(deltas.len());
    let mut prev_k = 0i64;
    for &t in &ts[1..] {
        // No overflow: 0 < t - t0 <= span.
        let off = t - t0;
        let k = off.checked_add(step / 2)? / step;
        gaps.push(k - prev_k - 1);
        res.push(off - k * step);
        prev_k = k;
    }
    let pgaps = pfor::plan(&gaps);
    let pres = pfor::plan(&res);
    let cost = pgaps.cost + pres.cost + uvarint_len(step as u64);
    Some(Grid {
        step: step as u64,
        gaps,
        res,
        pgaps,
        pres,
        cost,
    })
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
        GRID_PFOR => {
            if n < 2 {
                return Err(ChunkError::Invalid {
                    what: "timestamp column",
                    detail: format!("grid codec with {n} samples"),
                });
            }
            let t0 = r.varint("first timestamp")?;
            let step = r.uvarint("grid step")? as i64;
            let start = out.len();
            out.push(t0);
            // Gaps are decoded into the output, then residuals into a scratch column.
            pfor::decode(r, n - 1, out)?;
            let mut res = Vec::new();
            pfor::decode(r, n - 1, &mut res)?;
            let col = out.get_mut(start + 1..).unwrap_or(&mut []);
            let mut k = 0i64;
            for (x, res_i) in col.iter_mut().zip(res) {
                k = k.wrapping_add(*x).wrapping_add(1);
                *x = t0.wrapping_add(k.wrapping_mul(step)).wrapping_add(res_i);
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
