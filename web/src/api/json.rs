//! JSON rendering in Prometheus' exact formats: sample values as strings with Go's shortest
//! `'f'` formatting (`"NaN"`, `"+Inf"`, `"-Inf"`), timestamps as seconds with up to three
//! decimals, label sets as objects in label order, and query results
//! (`{"resultType":..., "result":...}`) written straight into a buffer.

use query::{InstantSample, Value};
use std::fmt::Write as _;
use storage::{Labels, Sample, Series};

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

/// Formats a sample value as Prometheus does (`strconv.FormatFloat(v, 'f', -1, 64)` with
/// `NaN`, `+Inf`, `-Inf`): the shortest decimal that reads back as the same float, never
/// in exponent notation.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        // Rust's `Display` for f64 is the shortest round-trip representation without an
        // exponent, which is what Go's 'f' format with precision -1 produces.
        format!("{v}")
    }
}

/// Appends a millisecond timestamp as seconds: `1795304829.944`, `1795304769`, `-0.5`.
pub fn write_timestamp(out: &mut String, ms: i64) {
    let neg = ms < 0;
    let abs = ms.unsigned_abs();
    if neg {
        out.push('-');
    }
    let _ = write!(out, "{}", abs / 1000);
    let mut frac = abs % 1000;
    if frac != 0 {
        let mut width = 3;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        let _ = write!(out, ".{frac:0width$}");
    }
}

/// Appends a sample value as [`format_float`] writes it, without an intermediate string.
pub fn write_float(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str(&format_float(v));
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

fn write_vector(out: &mut String, v: &[InstantSample]) {
    out.push('[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(out, &s.labels);
        out.push_str(",\"value\":");
        write_point(out, s.t, s.v);
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
        out.push_str(",\"values\":");
        write_series_values(out, &s.samples);
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
            (1e21, "1000000000000000000000"),
            (1e-7, "0.0000001"),
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
        }]);
        assert_eq!(
            query_data(&v),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"node"},"value":[1795304829.944,"1"]}]}"#
        );
        let m = Value::Matrix(vec![Series {
            labels: l,
            samples: vec![Sample::new(1000, 0.5), Sample::new(16000, f64::NAN)],
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
