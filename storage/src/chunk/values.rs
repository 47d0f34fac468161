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
    let x = v * p;
    // Round to nearest without a libm call: below 2^51 adding 1.5 * 2^52 leaves no fraction
    // bits. Which way ties go does not matter: the result is checked below.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let m = if x.abs() < 2_251_799_813_685_248.0 {
        (x + MAGIC) - MAGIC
    } else if x.is_finite() && x.abs() < 9.0e18 {
        x.round()
    } else {
        return None;
    };
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
    if n == 0 {
        out.push(XOR);
        put_uvarint(out, 0);
        return;
    }
    if let Some(ints) = decimal_mantissas(vs) {
        let plan = plan_ints(&ints);
        // Decimals with many significant digits can lose to the float codecs: compare then.
        if plan.cost <= 2 * n {
            write_ints(vs, &ints, plan, out);
            return;
        }
        return encode_floats(vs, Some((ints, plan)), out);
    }
    encode_floats(vs, None, out);
}

/// Values without a cheap decimal form: the smallest of XOR, PFOR over the bit patterns, and
/// the decimal plan if there is one.
fn encode_floats(vs: &[f64], decimal: Option<(Ints, IntPlan)>, out: &mut Vec<u8>) {
    let start = out.len();
    out.push(XOR);
    put_uvarint(out, vs.len() as u64);
    encode_xor(vs, out);
    let xor_len = out.len() - start;
    let mut best: Option<(Ints, IntPlan)> = None;
    if let Some(bits) = bit_patterns(vs) {
        let plan = plan_ints(&bits);
        best = Some((bits, plan));
    }
    if let Some((ints, plan)) = decimal {
        if best.as_ref().is_none_or(|b| plan.cost < b.1.cost) {
            best = Some((ints, plan));
        }
    }
    if let Some((ints, plan)) = best {
        // +3: codec, count and flags, roughly.
        if plan.cost + 3 < xor_len {
            out.truncate(start);
            write_ints(vs, &ints, plan, out);
        }
    }
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

/// Values turned into integers: decimal mantissas at one scale, or raw bit patterns.
struct Ints {
    /// 0..=9 for decimals, [`SCALE_BITS`] for bit patterns.
    scale: u8,
    /// One integer per value; a special repeats its predecessor (leading ones the first).
    ms: Vec<i64>,
    /// Number of non-finite values kept aside.
    specials: usize,
}

/// The scale nibble that marks raw bit patterns instead of decimal mantissas.
const SCALE_BITS: u8 = 15;

/// Fills in the integers of the specials (non-finite values) from their neighbours.
fn fill_specials(vs: &[f64], ms: &mut [i64]) -> Option<usize> {
    let first = vs.iter().position(|v| v.is_finite())?;
    let mut specials = 0;
    let mut prev = ms[first];
    for (v, m) in vs.iter().zip(ms.iter_mut()) {
        if v.is_finite() {
            prev = *m;
        } else {
            specials += 1;
            *m = prev;
        }
    }
    Some(specials)
}

/// The exact decimal form of `vs`, if every finite value has one at a common scale.
fn decimal_mantissas(vs: &[f64]) -> Option<Ints> {
    let n = vs.len();
    // Smallest scale that fits every finite value, found in one monotone pass that keeps the
    // mantissas; those found before the last scale increase are recomputed.
    let mut k = 0usize;
    let mut ms = Vec::with_capacity(n);
    let mut valid_from = 0;
    for (i, &v) in vs.iter().enumerate() {
        if !v.is_finite() {
            ms.push(0);
            continue;
        }
        loop {
            if let Some(m) = mantissa(v, POW10[k]) {
                ms.push(m);
                break;
            }
            k += 1;
            valid_from = i;
            if k > MAX_SCALE {
                return None;
            }
        }
    }
    let p = POW10[k];
    for (m, &v) in ms.iter_mut().zip(vs).take(valid_from) {
        if v.is_finite() {
            *m = mantissa(v, p)?;
        }
    }
    let specials = fill_specials(vs, &mut ms)?;
    (specials * 2 <= n).then_some(Ints {
        scale: k as u8,
        ms,
        specials,
    })
}

/// The bit patterns of `vs` as integers (monotone in the value for positive floats).
fn bit_patterns(vs: &[f64]) -> Option<Ints> {
    let mut ms: Vec<i64> = vs.iter().map(|v| v.to_bits() as i64).collect();
    let specials = fill_specials(vs, &mut ms)?;
    (specials * 2 <= vs.len()).then_some(Ints {
        scale: SCALE_BITS,
        ms,
        specials,
    })
}

/// How integers are laid out: mode, divided sequence, divisor, bit-packing plan.
struct IntPlan {
    mode: u8,
    seq: Vec<i64>,
    g: u64,
    plan: Plan,
    /// Estimated body size (without codec, count, flags and specials).
    cost: usize,
}

/// Chooses raw, delta or delta-of-delta, whichever packs smallest. Modes that cannot win
/// are not planned: raw only when its range is about as narrow as the deltas' slots,
/// delta-of-delta only when deltas need several bits.
fn plan_ints(ints: &Ints) -> IntPlan {
    let ms = &ints.ms;
    let n = ms.len();
    let specials = ints.specials * 9;
    let make = |mode: u8, mut seq: Vec<i64>| {
        let g = divisor(&seq);
        if g > 1 {
            let gi = g as i64;
            seq.iter_mut().for_each(|x| *x /= gi);
        }
        let plan = pfor::plan(&seq);
        let prefix = match mode {
            MODE_RAW => 0,
            MODE_DELTA => uvarint_len(zigzag(ms[0])),
            _ => uvarint_len(zigzag(ms[0])) + uvarint_len(zigzag(ms[1].wrapping_sub(ms[0]))),
        };
        let cost = plan.cost + prefix + if g > 1 { uvarint_len(g) } else { 0 } + specials;
        IntPlan {
            mode,
            seq,
            g,
            plan,
            cost,
        }
    };
    if n < 2 {
        return make(MODE_RAW, ms.clone());
    }
    let deltas: Vec<i64> = ms.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let dods: Vec<i64> = if n >= 3 {
        deltas.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect()
    } else {
        Vec::new()
    };
    let mut best = make(MODE_DELTA, deltas);
    let (min, max) = ms
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &m| (lo.min(m), hi.max(m)));
    let raw_width = 64 - (max.wrapping_sub(min) as u64).leading_zeros();
    if raw_width <= best.plan.width + 2 {
        let raw = make(MODE_RAW, ms.clone());
        if raw.cost < best.cost {
            best = raw;
        }
    }
    if n >= 3 && best.plan.width >= 4 {
        let dod = make(MODE_DOD, dods);
        if dod.cost < best.cost {
            best = dod;
        }
    }
    best
}

/// Writes a `DECIMAL` column.
fn write_ints(vs: &[f64], ints: &Ints, p: IntPlan, out: &mut Vec<u8>) {
    let ms = &ints.ms;
    out.push(DECIMAL);
    put_uvarint(out, vs.len() as u64);
    let mut flags = ints.scale | (p.mode << 4);
    if ints.specials > 0 {
        flags |= FLAG_SPECIALS;
    }
    if p.g > 1 {
        flags |= FLAG_DIVISOR;
    }
    out.push(flags);
    if ints.specials > 0 {
        put_uvarint(out, ints.specials as u64);
        let mut next = 0usize;
        for (i, v) in vs.iter().enumerate() {
            if !v.is_finite() {
                put_uvarint(out, (i - next) as u64);
                out.extend_from_slice(&v.to_bits().to_le_bytes());
                next = i + 1;
            }
        }
    }
    if p.g > 1 {
        put_uvarint(out, p.g);
    }
    match p.mode {
        MODE_DELTA => put_varint(out, ms[0]),
        MODE_DOD => {
            put_varint(out, ms[0]);
            put_varint(out, ms[1].wrapping_sub(ms[0]));
        }
        _ => {}
    }
    pfor::write(&p.seq, p.plan, out);
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
    let k = flags & 0x0f;
    let mode = (flags >> 4) & 0x03;
    // Decimal scale, or `None` for raw bit patterns.
    let p = if k == SCALE_BITS {
        None
    } else {
        Some(*POW10.get(usize::from(k)).ok_or_else(|| ChunkError::Invalid {
            what: "decimal scale",
            detail: format!("{k} is neither 0..={MAX_SCALE} nor {SCALE_BITS}"),
        })?)
    };
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
    let (m0, d1) = match mode {
        MODE_RAW => (0, 0),
        MODE_DELTA => (r.varint("first mantissa")?, 0),
        _ => (r.varint("first mantissa")?, r.varint("first mantissa delta")?),
    };
    let head = usize::from(mode);
    out.extend(std::iter::repeat_n(0.0, head));
    pfor::decode(r, n - head, out)?;
    let col = out.get_mut(start..).unwrap_or(&mut []);
    match p {
        Some(p) => rebuild(mode, col, m0, d1, g, |m| to_float(m, p)),
        None => rebuild(mode, col, m0, d1, g, |m| f64::from_bits(m as u64)),
    }
    for (pos, bits) in specials {
        if let Some(x) = out.get_mut(start + pos) {
            *x = f64::from_bits(bits);
        }
    }
    Ok(())
}

/// Turns the decoded (divided) integers of `col` into floats, undoing delta coding.
/// `col` starts with `mode` placeholders for the values carried by `m0` and `d1`.
#[inline]
fn rebuild<F: Fn(i64) -> f64>(mode: u8, col: &mut [f64], m0: i64, d1: i64, g: i64, f: F) {
    let int = |x: f64| pfor::Slot::to_i64(x).wrapping_mul(g);
    match mode {
        MODE_RAW => col.iter_mut().for_each(|x| *x = f(int(*x))),
        MODE_DELTA => {
            if let Some((first, rest)) = col.split_first_mut() {
                *first = f(m0);
                let mut m = m0;
                for x in rest {
                    m = m.wrapping_add(int(*x));
                    *x = f(m);
                }
            }
        }
        _ => {
            if let [a, b, rest @ ..] = col {
                let mut m = m0.wrapping_add(d1);
                let mut d = d1;
                *a = f(m0);
                *b = f(m);
                for x in rest {
                    d = d.wrapping_add(int(*x));
                    m = m.wrapping_add(d);
                    *x = f(m);
                }
            }
        }
    }
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
        // Full-entropy floats leave the decimal path.
        let sums: Vec<f64> = (0..120).map(|i| (i as f64).sqrt() * 1.234_567_89).collect();
        let mut xor = vec![XOR];
        put_uvarint(&mut xor, 120);
        encode_xor(&sums, &mut xor);
        assert!(size(&sums).1 <= xor.len());
        // A growing float sum packs its bit patterns better than XOR.
        let mut acc = 1000.0f64;
        let grow: Vec<f64> = (0..480)
            .map(|i| {
                acc += ((i * 7919) % 101) as f64 * 0.001_234_567;
                acc
            })
            .collect();
        let (c, s) = size(&grow);
        let mut xor = vec![XOR];
        put_uvarint(&mut xor, 480);
        encode_xor(&grow, &mut xor);
        assert_eq!(c, DECIMAL);
        assert!(s < xor.len(), "{s} vs xor {}", xor.len());
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
