//! Upper bounds of the standard exponential bucket schemas (-4..=8), bit for bit the values
//! Prometheus uses (`getBoundExponential` in `model/histogram/generic.go`), so that bucket
//! bounds in API answers, `histogram_quantile` and `histogram_fraction` equal Prometheus'.
//!
//! For schema `s <= 0` a bound is an exact power of two. For `s > 0` Prometheus multiplies a
//! power of two by a fraction in `[0.5, 1)` from a table of `2^(k/2^s) / 2`. That table is
//! *not* correctly rounded: most entries are one to four units in the last place below the
//! nearest double, one is an ulp above (the schema-1 entry is `0.7071067811865475`, one ulp
//! below `sqrt(0.5)`).
//! Its entries are exactly what this construction gives, which we therefore use: start from
//! `0.5` and `1/sqrt(2)` (schema 1), then for each finer schema `s` split every bucket by
//! multiplying its lower fraction by `2^(1/2^s)` (`2` square-rooted `s` times), in double
//! precision. Every schema's fractions are the schema-8 fractions at a stride, as in
//! Prometheus' table.

use super::histogram::MAX_EXPONENTIAL_SCHEMA;
use std::sync::OnceLock;

/// Fractions per schema-8 bucket: entry `k` stands for `2^(k/256) / 2`.
const FRACTIONS: usize = 1 << MAX_EXPONENTIAL_SCHEMA;

/// The schema-8 fractions, built once.
fn fractions() -> &'static [f64; FRACTIONS] {
    static TABLE: OnceLock<[f64; FRACTIONS]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0.0; FRACTIONS];
        t[0] = 0.5;
        t[FRACTIONS / 2] = 1.0 / 2f64.sqrt();
        let mut root = 2f64.sqrt();
        let mut stride = FRACTIONS / 2;
        while stride > 1 {
            // root = 2^(1/2^s) for the schema s whose buckets are half as wide as `stride`.
            root = root.sqrt();
            let half = stride / 2;
            for k in (0..FRACTIONS).step_by(stride) {
                t[k + half] = t[k] * root;
            }
            stride = half;
        }
        t
    })
}

/// The upper bound of the exponential bucket `index` at `schema` (`-4..=8`): `2^(index /
/// 2^schema)` as Prometheus computes it (exact at powers of two; the last finite bucket ends
/// at `f64::MAX` rather than overflowing, as in Prometheus).
pub fn exponential_upper_bound(index: i32, schema: i32) -> f64 {
    if schema <= 0 {
        let exp = i64::from(index) << (-schema).min(62);
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    if schema > MAX_EXPONENTIAL_SCHEMA {
        // Not a schema storage accepts; keep the arithmetic meaningful anyway.
        return (f64::from(index) / f64::from(1i32 << schema.min(30))).exp2();
    }
    let frac_index = index & ((1 << schema) - 1);
    let frac = fractions()[(frac_index << (MAX_EXPONENTIAL_SCHEMA - schema)) as usize];
    let exp = i64::from(index >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// `x * 2^exp` (Go's `math.Ldexp` for the exponents bucket bounds use): exact while the result
/// is a normal number, rounded once when it is subnormal.
fn ldexp(x: f64, exp: i64) -> f64 {
    let mut x = x;
    let mut e = exp;
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
        if x.is_infinite() {
            return x;
        }
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
        if x == 0.0 {
            return x;
        }
    }
    x * 2f64.powi(e as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::histogram::MIN_EXPONENTIAL_SCHEMA;

    /// Units in the last place between two positive doubles.
    fn ulps(a: f64, b: f64) -> i64 {
        a.to_bits() as i64 - b.to_bits() as i64
    }

    #[test]
    fn powers_of_two_are_exact_at_every_schema() {
        for schema in MIN_EXPONENTIAL_SCHEMA..=MAX_EXPONENTIAL_SCHEMA {
            for power in -60i32..=60 {
                // Bucket index whose upper bound is 2^power, when the schema has one.
                let index = if schema >= 0 {
                    power << schema
                } else if power % (1 << -schema) == 0 {
                    power >> -schema
                } else {
                    continue;
                };
                assert_eq!(
                    exponential_upper_bound(index, schema),
                    2f64.powi(power),
                    "schema {schema}, index {index}"
                );
            }
        }
        // The last finite bucket ends at the largest double; the next is the +Inf bucket.
        assert_eq!(exponential_upper_bound(1024, 0), f64::MAX);
        assert_eq!(exponential_upper_bound(1024 << 8, 8), f64::MAX);
        assert_eq!(exponential_upper_bound(256, -2), f64::MAX);
        assert_eq!(exponential_upper_bound(1025, 0), f64::INFINITY);
        assert_eq!(exponential_upper_bound(-1074, 0), 5e-324);
        assert_eq!(exponential_upper_bound(-1075, 0), 0.0);
    }

    #[test]
    fn bounds_increase_strictly_and_agree_across_schemas() {
        for schema in MIN_EXPONENTIAL_SCHEMA..=MAX_EXPONENTIAL_SCHEMA {
            // Indices whose bounds are normal doubles.
            let lim = if schema < 0 { 1000 >> -schema } else { 600 };
            let mut prev = 0.0;
            for index in -lim..lim {
                let b = exponential_upper_bound(index, schema);
                assert!(b > prev, "schema {schema}: bound {index} = {b} after {prev}");
                prev = b;
                if schema < MAX_EXPONENTIAL_SCHEMA {
                    // A bound of a coarser schema is a bound of every finer one.
                    assert_eq!(b, exponential_upper_bound(index * 2, schema + 1));
                }
            }
        }
    }

    #[test]
    fn fractions_are_within_a_few_ulps_of_the_true_value() {
        // Prometheus' fractions are between one ulp above and four ulps below 2^(k/256)/2
        // rounded to the nearest double, which is found exactly (see `exactly_rounded`).
        let mut exact = 0;
        for k in 0..FRACTIONS {
            let nearest = exactly_rounded(k);
            let got = fractions()[k];
            let d = ulps(nearest, got);
            assert!(
                (-1..=4).contains(&d),
                "fraction {k}: {got} is {d} ulps from {nearest}"
            );
            exact += usize::from(d == 0);
        }
        // Far from all: this is Prometheus' table, not the correctly rounded one.
        assert!(exact < FRACTIONS / 2, "{exact} fractions correctly rounded");
        // Pinned values: the schema-1 fraction is 1/sqrt(2) rounded by a division, one ulp
        // below sqrt(0.5); fractions that coincide with the nearest double stay exact.
        assert_eq!(fractions()[128], 0.7071067811865475);
        assert_eq!(ulps(0.5f64.sqrt(), fractions()[128]), 1);
        // Prometheus' sqrt(2) bound is an ulp below the correctly rounded constant.
        assert_eq!(ulps(std::f64::consts::SQRT_2, exponential_upper_bound(1, 1)), 1);
        assert_eq!(exponential_upper_bound(1, 8), 1.0027112750502025);
        // Four ulps below the nearest double 0.9838856116165879.
        assert_eq!(fractions()[250], 0.9838856116165875);
    }

    /// `2^(k/256) / 2` rounded to the nearest double, found exactly: starting from `exp2`, a
    /// candidate `c = m * 2^-53` is the nearest double when the true value `v` lies between
    /// the midpoints `(2m - 1) * 2^-54` and `(2m + 1) * 2^-54`. As `v^256 = 2^(k - 256)`,
    /// `v < (2m + 1) * 2^-54` exactly when `(2m + 1)^256 > 2^(k - 256 + 54 * 256)`, which a
    /// bit length answers (`(2m + 1)^256` is odd, so never a power of two).
    fn exactly_rounded(k: usize) -> f64 {
        let mut c = (k as f64 / 256.0).exp2() / 2.0;
        if k == 0 {
            return c;
        }
        let power = k as u64 + 53 * 256;
        for _ in 0..8 {
            let m = (c.to_bits() & ((1 << 52) - 1)) | (1 << 52);
            let above = odd_power_bits(2 * m + 1) > power;
            let below = odd_power_bits(2 * m - 1) <= power;
            match (below, above) {
                (true, true) => return c,
                (false, _) => c = f64::from_bits(c.to_bits() - 1),
                (_, false) => c = f64::from_bits(c.to_bits() + 1),
            }
        }
        panic!("no nearest double found for fraction {k}");
    }

    /// The bit length of `x^256` (x odd, below 2^55), by eight squarings of a little-endian
    /// big integer.
    fn odd_power_bits(x: u64) -> u64 {
        let mut n: Vec<u32> = vec![x as u32, (x >> 32) as u32];
        for _ in 0..8 {
            let mut r = vec![0u64; 2 * n.len() + 1];
            for (i, &a) in n.iter().enumerate() {
                let mut carry = 0u64;
                for (j, &b) in n.iter().enumerate() {
                    let t = r[i + j] + u64::from(a) * u64::from(b) + carry;
                    r[i + j] = t & 0xffff_ffff;
                    carry = t >> 32;
                }
                let mut p = i + n.len();
                while carry > 0 {
                    let t = r[p] + carry;
                    r[p] = t & 0xffff_ffff;
                    carry = t >> 32;
                    p += 1;
                }
            }
            n = r.into_iter().map(|v| v as u32).collect();
            while n.last() == Some(&0) {
                n.pop();
            }
        }
        let top = *n.last().unwrap_or(&0);
        (n.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros())
    }
}
