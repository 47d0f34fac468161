//! Value column codecs.
//!
//! - [`XOR`]: Gorilla XOR bit stream, the fallback for floats without an exact decimal form.
//! - [`CONSTANT`]: one raw value (8 bytes LE) repeated `count` times.
//! - [`DECIMAL`]: every finite value is exactly `m / 10^k` for one `k` in 0..=9; the integer
//!   mantissas `m` are stored raw, as deltas or as deltas-of-deltas, divided by their common
//!   divisor, bit-packed with PFOR. Non-finite values (staleness markers, NaN, ±Inf) are kept
//!   aside as "specials" with their position and raw bits.
//!
//! `DECIMAL` layout after the count:
//! `flags` u8 (bits 0-3 scale `k`, bits 4-5 mode: 0 raw / 1 delta / 2 delta-of-delta,
//! bit 6 specials present, bit 7 divisor present) |
//! [specials: count uvarint, then per special position gap uvarint + 8 bytes LE raw bits] |
//! [divisor uvarint >= 2] | delta: `m0` zigzag varint; dod: `m0`, `d1` zigzag varints |
//! PFOR of the remaining (divided) integers.

use super::bits::{BitReader, BitWriter};
use super::pfor::{self, Plan};
use super::varint::{put_uvarint, put_varint, uvarint_len, zigzag, ByteReader};
use super::xor::{XorDecoder, XorEncoder};
use super::ChunkError;

/// Codec id: Gorilla XOR.
pub(crate) const XOR: u8 = 1;
/// Codec id: constant column.
pub(crate) const CONSTANT: u8 = 2;
/// Codec id: exact decimals as bit-packed integers.
pub(crate) const DECIMAL: u8 = 3;

const MODE_RAW: u8 = 0;
const MODE_DELTA: u8 = 1;
const MODE_DOD: u8 = 2;
const FLAG_SPECIALS: u8 = 1 << 6;
const FLAG_DIVISOR: u8 = 1 << 7;

/// The largest decimal scale tried (values with more decimals use XOR).
const MAX_SCALE: usize = 9;
/// 10^k as exact `f64`s.
const POW10: [f64; MAX_SCALE + 1] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// The mantissa of `v` at scale `p = 10^k` if `v` is bit-exactly `m / p`.
#[inline]
fn mantissa(v: f64, p: f64) -> Option<i64> {
    let m = (v * p).round();
    if m.is_nan() || m.abs() >= 9.0e18 {
        return None;
    }
    let mi = m as i64;
    (to_float(mi, p).to_bits() == v.to_bits()).then_some(mi)
}

/// The decoder's inverse of [`mantissa`]; the encoder checks with this very function.
#[inline]
fn to_float(m: i64, p: f64) -> f64 {
    m as f64 / p
}

/// Appends the codec id, count and body for `vs`.
pub(crate) fn encode(vs: &[f64], out: &mut Vec<u8>) {
    let n = vs.len();
    if let Some(first) = vs.first() {
        let b = first.to_bits();
        if vs.iter().all(|v| v.to_bits() == b)
            && mantissa(*first, 1.0).is_none_or(|m| uvarint_len(zigzag(m)) > 4)
        {
            out.push(CONSTANT);
            put_uvarint(out, n as u64);
            out.extend_from_slice(&b.to_le_bytes());
            return;
        }
    }
    let start = out.len();
    if let Some(cost) = try_decimal(vs, out) {
        // Decimals with many significant digits can lose to XOR: measure when in doubt.
        if cost <= 2 * n {
            return;
        }
        let mut alt = Vec::new();
        alt.push(XOR);
        put_uvarint(&mut alt, n as u64);
        encode_xor(vs, &mut alt);
        if alt.len() < out.len() - start {
            out.truncate(start);
            out.extend_from_slice(&alt);
        }
        return;
    }
    out.push(XOR);
    put_uvarint(out, n as u64);
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

/// Writes a `DECIMAL` column if the values allow one; returns its size.
fn try_decimal(vs: &[f64], out: &mut Vec<u8>) -> Option<usize> {
    let n = vs.len();
    if n == 0 {
        return None;
    }
    // Smallest scale that fits every finite value, found in one monotone pass.
    let mut k = 0usize;
    let mut specials = 0usize;
    for &v in vs {
        if !v.is_finite() {
            specials += 1;
            continue;
        }
        while mantissa(v, POW10[k]).is_none() {
            k += 1;
            if k > MAX_SCALE {
                return None;
            }
        }
    }
    if specials * 2 > n {
        return None;
    }
    let p = POW10[k];
    // Mantissas; a special repeats the previous mantissa so it costs a zero delta.
    let mut ms = Vec::with_capacity(n);
    let mut prev = None;
    for &v in vs {
        if v.is_finite() {
            let m = mantissa(v, p)?;
            if prev.is_none() {
                // Leading specials take the first finite mantissa.
                ms.iter_mut().for_each(|x| *x = m);
            }
            prev = Some(m);
            ms.push(m);
        } else {
            ms.push(prev.unwrap_or(0));
        }
    }
    prev?;

    // Candidate sequences: raw, deltas, deltas-of-deltas.
    let raw = ms.clone();
    let deltas: Vec<i64> = ms.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let dods: Vec<i64> = deltas.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let mut best: Option<(u8, Vec<i64>, u64, Plan, usize)> = None;
    for (mode, mut seq) in [(MODE_RAW, raw), (MODE_DELTA, deltas), (MODE_DOD, dods)] {
        if mode == MODE_DOD && n < 3 || mode == MODE_DELTA && n < 2 {
            continue;
        }
        let g = divisor(&seq);
        if g > 1 {
            let gi = g as i64;
            for x in seq.iter_mut() {
                *x /= gi;
            }
        }
        let plan = pfor::plan(&seq);
        let prefix = match mode {
            MODE_RAW => 0,
            MODE_DELTA => uvarint_len(zigzag(ms[0])),
            _ => uvarint_len(zigzag(ms[0])) + uvarint_len(zigzag(ms[1].wrapping_sub(ms[0]))),
        };
        let cost = plan.cost + prefix + if g > 1 { uvarint_len(g) } else { 0 };
        if best.as_ref().is_none_or(|b| cost < b.4) {
            best = Some((mode, seq, g, plan, cost));
        }
    }
    let (mode, seq, g, plan, _) = best?;

    let start = out.len();
    out.push(DECIMAL);
    put_uvarint(out, n as u64);
    let mut flags = k as u8 | (mode << 4);
    if specials > 0 {
        flags |= FLAG_SPECIALS;
    }
    if g > 1 {
        flags |= FLAG_DIVISOR;
    }
    out.push(flags);
    if specials > 0 {
        put_uvarint(out, specials as u64);
        let mut next = 0usize;
        for (i, v) in vs.iter().enumerate() {
            if !v.is_finite() {
                put_uvarint(out, (i - next) as u64);
                out.extend_from_slice(&v.to_bits().to_le_bytes());
                next = i + 1;
            }
        }
    }
    if g > 1 {
        put_uvarint(out, g);
    }
    match mode {
        MODE_DELTA => put_varint(out, ms[0]),
        MODE_DOD => {
            put_varint(out, ms[0]);
            put_varint(out, ms[1].wrapping_sub(ms[0]));
        }
        _ => {}
    }
    pfor::write(&seq, plan, out);
    Some(out.len() - start)
}

/// The greatest common divisor of all values (1 when none is nonzero or it exceeds `i64::MAX`).
fn divisor(seq: &[i64]) -> u64 {
    let mut g = 0u64;
    for &x in seq {
        if x != 0 {
            g = gcd(g, x.unsigned_abs());
            if g == 1 {
                return 1;
            }
        }
    }
    if g == 0 || g > i64::MAX as u64 {
        1
    } else {
        g
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Decodes the body of a column whose codec id and count were read.
pub(crate) fn decode(
    codec: u8,
    n: usize,
    r: &mut ByteReader<'_>,
    out: &mut Vec<f64>,
) -> Result<(), ChunkError> {
    match codec {
        XOR => decode_xor(r, n, out),
        CONSTANT => {
            if n == 0 {
                return Ok(());
            }
            let b = r.bytes(8, "constant value")?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            out.extend(std::iter::repeat_n(f64::from_bits(u64::from_le_bytes(a)), n));
            Ok(())
        }
        DECIMAL => decode_decimal(r, n, out),
        id => Err(ChunkError::UnknownCodec { column: "value", id }),
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

fn decode_decimal(r: &mut ByteReader<'_>, n: usize, out: &mut Vec<f64>) -> Result<(), ChunkError> {
    let flags = r.u8("decimal flags")?;
    let k = usize::from(flags & 0x0f);
    let mode = (flags >> 4) & 0x03;
    let p = *POW10.get(k).ok_or_else(|| ChunkError::Invalid {
        what: "decimal scale",
        detail: format!("{k} > {MAX_SCALE}"),
    })?;
    let min_n = match mode {
        MODE_RAW => 1,
        MODE_DELTA => 2,
        MODE_DOD => 3,
        m => {
            return Err(ChunkError::Invalid {
                what: "decimal mode",
                detail: format!("unknown mode {m}"),
            })
        }
    };
    if n < min_n {
        return Err(ChunkError::Invalid {
            what: "decimal column",
            detail: format!("mode {mode} needs at least {min_n} values, has {n}"),
        });
    }
    let mut specials: Vec<(usize, u64)> = Vec::new();
    if flags & FLAG_SPECIALS != 0 {
        let c = r.uvarint("special value count")?;
        if c > n as u64 || c > (r.remaining() / 9) as u64 {
            return Err(ChunkError::Invalid {
                what: "special value count",
                detail: format!("{c} specials for {n} values and {} bytes", r.remaining()),
            });
        }
        specials.reserve(c as usize);
        let mut next = 0u64;
        for _ in 0..c {
            let pos = next
                .checked_add(r.uvarint("special value position")?)
                .filter(|&p| p < n as u64)
                .ok_or_else(|| ChunkError::Invalid {
                    what: "special value position",
                    detail: format!("past the {n} values"),
                })?;
            let b = r.bytes(8, "special value")?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            specials.push((pos as usize, u64::from_le_bytes(a)));
            next = pos + 1;
        }
    }
    let g = if flags & FLAG_DIVISOR != 0 {
        let g = r.uvarint("decimal divisor")?;
        if !(2..=i64::MAX as u64).contains(&g) {
            return Err(ChunkError::Invalid {
                what: "decimal divisor",
                detail: format!("{g}"),
            });
        }
        g as i64
    } else {
        1
    };
    let start = out.len();
    // Integers are decoded in place as bit patterns, then turned into floats.
    match mode {
        MODE_RAW => {
            pfor::decode(r, n, out)?;
            for x in out.get_mut(start..).unwrap_or(&mut []) {
                let m = pfor::Slot::to_i64(*x).wrapping_mul(g);
                *x = to_float(m, p);
            }
        }
        MODE_DELTA => {
            let m0 = r.varint("first mantissa")?;
            out.push(f64::from_bits(0));
            pfor::decode(r, n - 1, out)?;
            let col = out.get_mut(start..).unwrap_or(&mut []);
            let mut m = m0;
            if let Some((first, rest)) = col.split_first_mut() {
                *first = to_float(m0, p);
                for x in rest {
                    m = m.wrapping_add(pfor::Slot::to_i64(*x).wrapping_mul(g));
                    *x = to_float(m, p);
                }
            }
        }
        _ => {
            let m0 = r.varint("first mantissa")?;
            let d1 = r.varint("first mantissa delta")?;
            out.push(f64::from_bits(0));
            out.push(f64::from_bits(0));
            pfor::decode(r, n - 2, out)?;
            let col = out.get_mut(start..).unwrap_or(&mut []);
            let mut m = m0.wrapping_add(d1);
            let mut d = d1;
            if let [a, b, rest @ ..] = col {
                *a = to_float(m0, p);
                *b = to_float(m, p);
                for x in rest {
                    d = d.wrapping_add(pfor::Slot::to_i64(*x).wrapping_mul(g));
                    m = m.wrapping_add(d);
                    *x = to_float(m, p);
                }
            }
        }
    }
    for (pos, bits) in specials {
        if let Some(x) = out.get_mut(start + pos) {
            *x = f64::from_bits(bits);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn size(vs: &[f64]) -> (u8, usize) {
        let mut out = Vec::new();
        encode(vs, &mut out);
        let mut r = ByteReader::new(&out);
        let codec = r.u8("").unwrap();
        let n = r.uvarint("").unwrap() as usize;
        let mut back = Vec::new();
        decode(codec, n, &mut r, &mut back).unwrap();
        assert_eq!(r.remaining(), 0);
        let a: Vec<u64> = vs.iter().map(|v| v.to_bits()).collect();
        let b: Vec<u64> = back.iter().map(|v| v.to_bits()).collect();
        assert_eq!(a, b);
        (codec, out.len())
    }

    #[test]
    fn picks_the_right_codec() {
        assert_eq!(size(&[1.0; 120]).0, DECIMAL);
        assert!(size(&[1.0; 120]).1 <= 8);
        assert_eq!(size(&[f64::NAN; 120]), (CONSTANT, 10));
        assert_eq!(size(&[0.1 + 0.2; 120]).0, CONSTANT);
        // 2-decimal counter: small deltas.
        let cpu: Vec<f64> = (0..120)
            .map(|i| (1_000_000 + i * 13 + (i * i) % 7) as f64 / 100.0)
            .collect();
        let (c, s) = size(&cpu);
        assert_eq!(c, DECIMAL);
        assert!(s < 60, "{s}");
        // Memory gauge in pages: divisor.
        let mem: Vec<f64> = (0..120)
            .map(|i| (1_000_000 + (i * 37) % 11) as f64 * 4096.0)
            .collect();
        let (c, s) = size(&mem);
        assert_eq!(c, DECIMAL);
        assert!(s < 70, "{s}");
        // A stale marker at the end keeps the decimal codec.
        let mut stale = cpu.clone();
        stale[119] = crate::STALE_NAN;
        assert_eq!(size(&stale).0, DECIMAL);
        // Full-entropy floats fall back to XOR.
        let sums: Vec<f64> = (0..120).map(|i| (i as f64).sqrt() * 1.234_567_89).collect();
        assert_eq!(size(&sums).0, XOR);
        // -0.0 has no decimal form.
        assert_eq!(size(&[-0.0, 1.0]).0, XOR);
    }

    #[test]
    fn divisor_is_exact() {
        assert_eq!(divisor(&[0, 4096, -8192]), 4096);
        assert_eq!(divisor(&[0, 0]), 1);
        assert_eq!(divisor(&[i64::MIN]), 1);
        assert_eq!(divisor(&[3, 5]), 1);
    }
}
