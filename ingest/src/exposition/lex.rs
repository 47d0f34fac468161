//! Byte-level lexing shared by both formats: names, quoted strings, numbers, escapes.
//!
//! Every function takes the line and a position and returns the token's end, so the parser
//! never copies; unescaping happens only when a backslash is present.

use std::borrow::Cow;

/// Whether `b` may start a metric name (`[a-zA-Z_:]`).
#[inline]
pub(crate) fn is_metric_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

/// Whether `b` may continue a metric name (`[a-zA-Z0-9_:]`).
#[inline]
pub(crate) fn is_metric_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// Whether `b` may start a label name (`[a-zA-Z_]`).
#[inline]
pub(crate) fn is_label_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// Whether `b` may continue a label name (`[a-zA-Z0-9_]`).
#[inline]
pub(crate) fn is_label_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Index of the first byte at or after `pos` that is not a space or tab.
#[inline]
pub(crate) fn skip_blank(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && (b[pos] == b' ' || b[pos] == b'\t') {
        pos += 1;
    }
    pos
}

/// End of the run of bytes from `pos` for which `ok` holds.
#[inline]
pub(crate) fn take_while(b: &[u8], mut pos: usize, ok: impl Fn(u8) -> bool) -> usize {
    while pos < b.len() && ok(b[pos]) {
        pos += 1;
    }
    pos
}

/// End of a non-blank token starting at `pos` (up to a space, tab or end of line).
#[inline]
pub(crate) fn token_end(b: &[u8], pos: usize) -> usize {
    take_while(b, pos, |c| c != b' ' && c != b'\t')
}

/// Finds the closing quote of a string whose opening quote is at `open`.
/// Returns the index of the closing quote and whether a backslash occurred inside.
#[inline]
pub(crate) fn quoted_end(b: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut i = open + 1;
    let mut escaped = false;
    while i < b.len() {
        match b[i] {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// Undoes the escapes of a label value or OpenMetrics HELP: `\\`, `\"`, `\n`.
/// Other backslash sequences are kept as written (Prometheus does the same).
pub(crate) fn unescape(s: &str, has_escape: bool) -> Cow<'_, str> {
    if !has_escape {
        return Cow::Borrowed(s);
    }
    unescape_with(s, true)
}

/// Undoes the escapes of a Prometheus text HELP line: `\\` and `\n` only.
pub(crate) fn unescape_help_text(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    unescape_with(s, false)
}

fn unescape_with(s: &str, quotes: bool) -> Cow<'_, str> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Parses a sample value as Go's `strconv.ParseFloat` would for exposition bodies:
/// decimal and exponent forms, `NaN`, `+Inf`, `-Inf` (any case).
#[inline]
pub(crate) fn parse_value(s: &str) -> Option<f64> {
    // Rust accepts "infinity"/"inf"/"nan" in any case with an optional sign, like Go.
    s.parse::<f64>().ok()
}

/// Parses an OpenMetrics timestamp (seconds, possibly with decimals or an exponent) into
/// milliseconds, exactly for plain decimals (rounded to the nearest ms).
pub(crate) fn parse_seconds_to_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let plain = !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit() || c == b'.');
    if plain && digits.bytes().filter(|&c| c == b'.').count() <= 1 {
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let fb = frac.as_bytes();
        let mut ms: i64 = 0;
        for i in 0..3 {
            ms = ms * 10 + fb.get(i).map_or(0, |d| i64::from(d - b'0'));
        }
        if fb.get(3).is_some_and(|&d| d >= b'5') {
            ms += 1;
        }
        let total = whole.checked_mul(1000)?.checked_add(ms)?;
        return Some(if neg { -total } else { total });
    }
    let f: f64 = s.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let ms = (f * 1000.0).round();
    if ms.abs() >= 9.2e18 {
        return None;
    }
    Some(ms as i64)
}

/// Formats a float as OpenMetrics (and Go's `strconv.FormatFloat(f, 'g', -1, 64)`) writes
/// it, with `.0` added to integers: `1.0`, `0.25`, `1e+06`, `1e-05`, `+Inf`, `NaN`.
/// Used to normalise `le` and `quantile` label values so `le="1"` and `le="1.0"` are one series.
pub(super) fn format_openmetrics_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    // Shortest round-trip digits and the decimal exponent.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut s = if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{f}")
    };
    if !s.contains(['.', 'e']) {
        s.push_str(".0");
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_seconds(input: &str, want: Option<i64>) {
        assert_eq!(parse_seconds_to_ms(input), want, "{input:?}");
    }

    #[test]
    fn seconds_to_ms() {
        check_seconds("1520879607.789", Some(1_520_879_607_789));
        check_seconds("1520879607", Some(1_520_879_607_000));
        check_seconds("1.5", Some(1500));
        check_seconds("0.0015", Some(2));
        check_seconds("-1.25", Some(-1250));
        check_seconds(".5", Some(500));
        check_seconds("1.5e3", Some(1_500_000));
        check_seconds("NaN", None);
        check_seconds("+Inf", None);
        check_seconds("abc", None);
        check_seconds(".", None);
        check_seconds("1.2.3", None);
    }

    #[test]
    fn openmetrics_floats() {
        for (f, want) in [
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-1.0, "-1.0"),
            (0.25, "0.25"),
            (100000.0, "100000.0"),
            (1e6, "1e+06"),
            (1.5e6, "1.5e+06"),
            (1e19, "1e+19"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (2.5e-10, "2.5e-10"),
            (123.456, "123.456"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(format_openmetrics_float(f), want, "{f}");
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#"a\"b\\c\nd\x"#, true), "a\"b\\c\nd\\x");
        assert_eq!(unescape_help_text(r#"a\"b\\c\nd"#), "a\\\"b\\c\nd");
        assert!(matches!(unescape("plain", false), Cow::Borrowed(_)));
    }

    #[test]
    fn values() {
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_value("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_value("1.0456789e+07"), Some(1.0456789e7));
        assert_eq!(parse_value("1.0456789E7"), Some(1.0456789e7));
        assert_eq!(parse_value("x"), None);
    }
}
