//! Label-value escaping for the Prometheus text exposition format.

/// Appends `v` to `out` with `\`, `"` and newline escaped, as the text format writes
/// label values.
pub fn push_escaped_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `v` with `\`, `"` and newline escaped, as the text format writes label values.
pub fn escape_label_value(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    push_escaped_label_value(&mut s, v);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_label_value("plain"), "plain");
        assert_eq!(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_label_value("ünï\tcode"), "ünï\tcode");
        let mut out = String::from("x=\"");
        push_escaped_label_value(&mut out, "\"");
        assert_eq!(out, "x=\"\\\"");
    }
}
