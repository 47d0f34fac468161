//! JSON rendering in Prometheus' exact formats: sample values as strings with Go's shortest
//! `'f'` formatting (`"NaN"`, `"+Inf"`, `"-Inf"`), timestamps as seconds with up to three
//! decimals, label sets as objects in label order, and query results
//! (`{"resultType":..., "result":...}`) written straight into a buffer.

use query::{InstantSample, Value};
use std::fmt::Write as _;
use storage::{FloatHistogram, Labels, Sample, Series};

/// Appends `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(esc);
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Replaces `<`, `>`, `&`, U+2028 and U+2029 by `\u` escapes, as Go's JSON encoder does by
/// default. These characters can only occur inside strings in JSON text, so the whole
/// document can be processed at once.
pub fn escape_html(s: String) -> String {
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Quotes `s` as Go's `%q` does (used in error messages).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Formats a sample value as Prometheus does (`jsonutil.MarshalFloat`: `strconv.FormatFloat`
/// with precision -1, in `'e'` format when `|v| < 1e-6` or `|v| >= 1e21` and `'f'` otherwise;
/// `NaN`, `+Inf`, `-Inf`): the shortest decimal that reads back as the same float, e.g.
/// `0.25`, `1e-07`, `1.5e+21`.
pub fn format_float(v: f64) -> String {
    let mut s = String::with_capacity(24);
    write_float(&mut s, v);
    s
}

/// The shortest round-trip decimal digits of a finite `v` (ties to even, as Go), without
/// leading or trailing zeros, with the sign and where the decimal point goes: after `point`
/// digits (zero or negative means before them, past the end means trailing zeros).
/// Zero gives no digits.
pub fn shortest_digits(v: f64) -> (bool, Vec<u8>, i32) {
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v);
    // ryu writes either a plain decimal ("0.3", "1.0") or an exponent form ("1e21", "1.5e-7").
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exp) = match s.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: Vec<u8> = Vec::with_capacity(24);
    digits.extend_from_slice(int_part.as_bytes());
    digits.extend_from_slice(frac_part.as_bytes());
    let mut point = int_part.len() as i32 + exp;
    let lead = digits.iter().take_while(|&&d| d == b'0').count();
    digits.drain(..lead);
    point -= lead as i32;
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    (neg, digits, point)
}

/// Appends a sample value as [`format_float`] formats it.
pub fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        write_exponent(out, v);
        return;
    }
    // Fast path: ryu's plain decimal form ("0.25", "1234.5", "1.0") is already Go's, but
    // for the ".0" it puts on integers.
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v);
    if !s.contains('e') {
        out.push_str(s.strip_suffix(".0").unwrap_or(s));
        return;
    }
    let (neg, digits, point) = shortest_digits(v);
    if neg {
        out.push('-');
    }
    if digits.is_empty() {
        out.push('0');
        return;
    }
    let n = digits.len() as i32;
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..-point {
            out.push('0');
        }
        out.push_str(text(&digits));
    } else if point >= n {
        out.push_str(text(&digits));
        for _ in 0..point - n {
            out.push('0');
        }
    } else {
        let (a, b) = digits.split_at(point as usize);
        out.push_str(text(a));
        out.push('.');
        out.push_str(text(b));
    }
}

/// Go's `'e'` format with the shortest digits: `d[.ddd]e±XX` (at least two exponent digits).
fn write_exponent(out: &mut String, v: f64) {
    let (neg, digits, point) = shortest_digits(v);
    if neg {
        out.push('-');
    }
    let Some((first, rest)) = digits.split_first() else {
        out.push_str("0e+00");
        return;
    };
    out.push(char::from(*first));
    if !rest.is_empty() {
        out.push('.');
        out.push_str(text(rest));
    }
    let exp = point - 1;
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    if exp.abs() < 10 {
        out.push('0');
    }
    out.push_str(&exp.abs().to_string());
}

/// ASCII digits as text (they are always valid UTF-8).
fn text(d: &[u8]) -> &str {
    std::str::from_utf8(d).unwrap_or("")
}

/// Appends a millisecond timestamp as seconds: `1795304829.944`, `1795304769`, `-0.5`.
pub fn write_timestamp(out: &mut String, ms: i64) {
    let abs = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    let mut ib = itoa::Buffer::new();
    out.push_str(ib.format(abs / 1000));
    let frac = abs % 1000;
    if frac != 0 {
        let d = [
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ];
        let keep = if d[2] != b'0' {
            3
        } else if d[1] != b'0' {
            2
        } else {
            1
        };
        out.push('.');
        out.push_str(std::str::from_utf8(&d[..keep]).unwrap_or(""));
    }
}

/// Appends `[<seconds>,"<value>"]`.
pub fn write_point(out: &mut String, ms: i64, v: f64) {
    out.push('[');
    write_timestamp(out, ms);
    out.push_str(",\"");
    write_float(out, v);
    out.push_str("\"]");
}

/// Appends a label set as a JSON object in label order.
pub fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name);
        out.push(':');
        write_str(out, &l.value);
    }
    out.push('}');
}

/// Appends a native histogram as Prometheus' `jsonutil.MarshalHistogram` does:
/// `{"count":"..","sum":"..","buckets":[[boundary_rule,"lower","upper","count"],..]}`, the
/// buckets as `AllBucketIterator` yields them (bounds clamped to the zero threshold, the zero
/// bucket only when it holds observations), empty ones left out, and no `buckets` member
/// when every bucket is empty.
pub fn write_histogram(out: &mut String, h: &FloatHistogram) {
    out.push_str("{\"count\":\"");
    write_float(out, h.count);
    out.push_str("\",\"sum\":\"");
    write_float(out, h.sum);
    out.push('"');
    let zt = h.zero_threshold;
    let custom = h.uses_custom_buckets();
    let mut found = false;
    for mut b in h.buckets() {
        if b.count == 0.0 {
            continue;
        }
        if !(custom || b.lower_inclusive && b.upper_inclusive) {
            if b.upper < 0.0 && b.upper > -zt {
                b.upper = -zt;
            } else if b.lower > 0.0 && b.lower < zt {
                b.lower = zt;
            }
        }
        out.push_str(if found { "," } else { ",\"buckets\":[" });
        found = true;
        let _ = write!(out, "[{},\"", b.boundary_rule());
        write_float(out, b.lower);
        out.push_str("\",\"");
        write_float(out, b.upper);
        out.push_str("\",\"");
        write_float(out, b.count);
        out.push_str("\"]");
    }
    if found {
        out.push(']');
    }
    out.push('}');
}

/// Appends `[ts, {histogram}]`.
pub fn write_histogram_point(out: &mut String, ms: i64, h: &FloatHistogram) {
    out.push('[');
    write_timestamp(out, ms);
    out.push(',');
    write_histogram(out, h);
    out.push(']');
}

fn write_vector(out: &mut String, v: &[InstantSample]) {
    out.push('[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(out, &s.labels);
        match &s.h {
            None => {
                out.push_str(",\"value\":");
                write_point(out, s.t, s.v);
            }
            Some(h) => {
                out.push_str(",\"histogram\":");
                write_histogram_point(out, s.t, h);
            }
        }
        out.push('}');
    }
    out.push(']');
}

fn write_series_values(out: &mut String, samples: &[Sample]) {
    out.push('[');
    for (i, s) in samples.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_point(out, s.t, s.v);
    }
    out.push(']');
}

fn write_matrix(out: &mut String, m: &[Series]) {
    out.push('[');
    for (i, s) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(out, &s.labels);
        // As Prometheus: `values` only with floats, `histograms` only with histograms.
        if !s.samples.is_empty() || s.histograms.is_empty() {
            out.push_str(",\"values\":");
            write_series_values(out, &s.samples);
        }
        if !s.histograms.is_empty() {
            out.push_str(",\"histograms\":[");
            for (j, p) in s.histograms.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                write_histogram_point(out, p.t, &p.h);
            }
            out.push(']');
        }
        out.push('}');
    }
    out.push(']');
}

/// The `resultType` name of a query value.
pub fn result_type(v: &Value) -> &'static str {
    match v {
        Value::Scalar { .. } => "scalar",
        Value::String { .. } => "string",
        Value::Vector(_) => "vector",
        Value::Matrix(_) => "matrix",
    }
}

/// Renders a query result as the `data` member: `{"resultType":"...","result":...}`.
pub fn query_data(v: &Value) -> String {
    let mut out = String::with_capacity(match v {
        Value::Vector(x) => 64 + x.len() * 96,
        Value::Matrix(m) => 64 + m.iter().map(|s| 64 + s.samples.len() * 24).sum::<usize>(),
        _ => 64,
    });
    out.push_str("{\"resultType\":\"");
    out.push_str(result_type(v));
    out.push_str("\",\"result\":");
    match v {
        Value::Scalar { t, v } => write_point(&mut out, *t, *v),
        Value::String { t, s } => {
            out.push('[');
            write_timestamp(&mut out, *t);
            out.push(',');
            write_str(&mut out, s);
            out.push(']');
        }
        Value::Vector(x) => write_vector(&mut out, x),
        Value::Matrix(m) => write_matrix(&mut out, m),
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e6, "1000000"),
            (1e21, "1e+21"),
            (9.99e20, "999000000000000000000"),
            (1e-7, "1e-07"),
            (1e-6, "0.000001"),
            (-1.5e-7, "-1.5e-07"),
            (1.2345e300, "1.2345e+300"),
            (5e-324, "5e-324"),
            (-0.0, "-0"),
            (0.09000000000000001, "0.09000000000000001"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (-2.5, "-2.5"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float(*v), *want, "{v}");
        }
    }

    #[test]
    fn floats_are_shortest_plain_decimals() {
        // Rust's `Display` for f64 is also the shortest round-trip digits without an exponent
        // (which Prometheus uses for 1e-6 <= |v| < 1e21);
        // it differs only on exact ties, where Go (like ryu) rounds half to even.
        assert_eq!(format_float(-1.1496366673247973e15), "-1149636667324797.2");
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut fixed = vec![
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e-7,
            1.5e300,
            123.456,
            100.0,
            0.000123,
            -1e22,
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            fixed.push(f64::from_bits(x));
            fixed.push((x % 10_000_000) as f64 / 1000.0);
        }
        for v in fixed.into_iter().filter(|v| v.is_finite()) {
            let got = format_float(v);
            assert_eq!(got.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{got}");
            if v != 0.0 && !(1e-6..1e21).contains(&v.abs()) {
                continue; // exponent form, checked above
            }
            assert!(!got.contains('e'), "{got}");
            assert_eq!(got.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{got}");
            assert_eq!(got.len(), format!("{v}").len(), "{v:e}: {got}");
        }
    }

    #[track_caller]
    fn ts(ms: i64, want: &str) {
        let mut s = String::new();
        write_timestamp(&mut s, ms);
        assert_eq!(s, want);
    }

    #[test]
    fn timestamps_as_seconds() {
        ts(1795304829944, "1795304829.944");
        ts(1795304769000, "1795304769");
        ts(1795304769900, "1795304769.9");
        ts(1795304769050, "1795304769.05");
        ts(1795304769001, "1795304769.001");
        ts(0, "0");
        ts(-1500, "-1.5");
        ts(-1, "-0.001");
    }

    #[test]
    fn strings_escaped() {
        let mut s = String::new();
        write_str(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\u0001é\"");
        assert_eq!(go_quote("a\"b\x01"), "\"a\\\"b\\x01\"");
    }

    #[test]
    fn query_data_shapes() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "node")]);
        let v = Value::Vector(vec![InstantSample {
            labels: l.clone(),
            t: 1795304829944,
            v: 1.0,
            h: None,
        }]);
        assert_eq!(
            query_data(&v),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"node"},"value":[1795304829.944,"1"]}]}"#
        );
        let m = Value::Matrix(vec![Series {
            labels: l,
            samples: vec![Sample::new(1000, 0.5), Sample::new(16000, f64::NAN)],
            histograms: Vec::new(),
        }]);
        assert_eq!(
            query_data(&m),
            r#"{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"node"},"values":[[1,"0.5"],[16,"NaN"]]}]}"#
        );
        assert_eq!(
            query_data(&Value::Scalar { t: 4000, v: 2.0 }),
            r#"{"resultType":"scalar","result":[4,"2"]}"#
        );
        assert_eq!(
            query_data(&Value::String {
                t: 4000,
                s: "x".into()
            }),
            r#"{"resultType":"string","result":[4,"x"]}"#
        );
        assert_eq!(
            query_data(&Value::Vector(vec![])),
            r#"{"resultType":"vector","result":[]}"#
        );
    }
}
