//! Go-compatible number formatting (`%v`, `%g`, `%.4g`, `%e`, `%f`) for templates.

/// Decimal digits of |v| without leading or trailing zeros, and the decimal point position:
/// |v| = 0.D × 10^dp. `prec` = significant digits to round to, or `None` for the shortest
/// round-tripping digits.
fn digits(v: f64, prec: Option<usize>) -> (Vec<u8>, i32) {
    if v == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match prec {
        None => format!("{:e}", v.abs()),
        Some(p) => format!("{:.*e}", p.max(1) - 1, v.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(|b| b.is_ascii_digit()).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    (d, exp + 1)
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

fn fmt_e(neg: bool, d: &[u8], dp: i32, decimals: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push(d.first().map(|&c| c as char).unwrap_or('0'));
    if decimals > 0 {
        out.push('.');
        for i in 1..=decimals {
            out.push(d.get(i).map(|&c| c as char).unwrap_or('0'));
        }
    }
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

fn fmt_f(neg: bool, d: &[u8], dp: i32, decimals: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(d.get(i).map(|&c| c as char).unwrap_or('0'));
        }
    } else {
        out.push('0');
    }
    if decimals > 0 {
        out.push('.');
        for i in 0..decimals as i32 {
            let idx = dp + i;
            let c = if idx < 0 {
                b'0'
            } else {
                d.get(idx as usize).copied().unwrap_or(b'0')
            };
            out.push(c as char);
        }
    }
    out
}

/// Go's `%g` (`prec = None`: shortest, as `%v` prints a float64) and `%.Ng`.
pub fn format_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative() && v != 0.0;
    let (d, dp) = digits(v, prec);
    let nd = d.len() as i32;
    let (prec, eprec) = match prec {
        None => (nd, 6),
        Some(p) => {
            let p = p.max(1) as i32;
            let e = if p > nd && nd >= dp { nd } else { p };
            (p, e)
        }
    };
    let exp = dp - 1;
    if !d.is_empty() && (exp < -4 || exp >= eprec) {
        let p = prec.min(nd);
        return fmt_e(neg, &d, dp, (p - 1).max(0) as usize);
    }
    let p = if prec > dp { nd } else { prec };
    fmt_f(neg, &d, dp, (p - dp).max(0) as usize)
}

/// Go's `%.Ne` (default precision 6).
pub fn format_e(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative() && v != 0.0;
    let (d, dp) = digits(v, Some(prec + 1));
    fmt_e(neg, &d, dp, prec)
}

/// Go's `%.Nf` (default precision 6).
pub fn format_f(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    format!("{v:.prec$}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn matches_go() {
        assert_eq!(format_g(0.0, None), "0");
        assert_eq!(format_g(1.0, None), "1");
        assert_eq!(format_g(0.5, None), "0.5");
        assert_eq!(format_g(100000.0, None), "100000");
        assert_eq!(format_g(1e6, None), "1e+06");
        assert_eq!(format_g(1234567.0, None), "1.234567e+06");
        assert_eq!(format_g(0.0001, None), "0.0001");
        assert_eq!(format_g(0.00001, None), "1e-05");
        assert_eq!(format_g(-2.5, None), "-2.5");
        assert_eq!(format_g(f64::NAN, None), "NaN");
        assert_eq!(format_g(f64::INFINITY, None), "+Inf");
        assert_eq!(format_g(1234.0, Some(4)), "1234");
        assert_eq!(format_g(12345.0, Some(4)), "1.234e+04");
        assert_eq!(format_g(1.0, Some(4)), "1");
        assert_eq!(format_g(1.5, Some(4)), "1.5");
        assert_eq!(format_g(0.0, Some(4)), "0");
        assert_eq!(format_g(123.456, Some(4)), "123.5");
        assert_eq!(format_g(0.000012, Some(4)), "1.2e-05");
        assert_eq!(format_e(1500.0, 6), "1.500000e+03");
        assert_eq!(format_e(0.0, 2), "0.00e+00");
        assert_eq!(format_f(1.23456, 2), "1.23");
    }
}
