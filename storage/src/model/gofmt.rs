//! Go's shortest `%g` float formatting, which Prometheus uses wherever it prints a float
//! without a fixed precision: histogram strings, the text exposition format, `le` labels.

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` with `NaN`, `+Inf` and `-Inf`: the shortest
/// decimal that reads back as `v`, in exponent form when the exponent is below -4 or at
/// least 6 (`0.5`, `100000`, `1e+06`, `1.5e-07`, `-0`).
pub fn format_go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0");
    }
    let (digits, exp) = shortest_digits(v.abs());
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs());
    }
    let n = digits.len() as i32;
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        format!("{sign}0.{zeros}{digits}")
    } else if exp + 1 >= n {
        let zeros = "0".repeat((exp + 1 - n) as usize);
        format!("{sign}{digits}{zeros}")
    } else {
        let (int, frac) = digits.split_at((exp + 1) as usize);
        format!("{sign}{int}.{frac}")
    }
}

/// The shortest round-tripping decimal digits of a finite positive `v` (ties to even, as
/// Go), without leading or trailing zeros, and the decimal exponent of the first digit.
fn shortest_digits(v: f64) -> (String, i32) {
    let mut buf = ryu::Buffer::new();
    // ryu writes "1.5e-7", "1e21", "0.001" or "123.0".
    let s = buf.format_finite(v);
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_string();
    (digits, int.len() as i32 + exp - lead as i32 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go() {
        let cases: &[(f64, &str)] = &[
            (2.5, "2.5"),
            (0.29, "0.29"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (100000.0, "100000"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1795304828.0, "1.795304828e+09"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (-1.1496366673247973e15, "-1.1496366673247972e+15"),
            (1e21, "1e+21"),
            (5e-324, "5e-324"),
            (-1e100, "-1e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.7071067811865475, "0.7071067811865475"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (v, want) in cases {
            assert_eq!(format_go_g(*v), *want, "{v:e}");
        }
    }
}
