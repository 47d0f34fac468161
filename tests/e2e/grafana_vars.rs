//! Grafana's variable interpolation for the Prometheus data source, as the dashboards test
//! needs it: `$var`, `${var}`, `${var:format}` and `[[var]]`, the built-in interval and range
//! macros, and multi-value / "All" values written as regex alternations.
//!
//! Grafana (public/app/plugins/datasource/prometheus, `interpolateQueryExpr`) escapes a
//! single-valued variable with "regular" escaping (backslash and single quote) and writes a
//! multi-valued or "All" variable without an explicit all-value as `(v1|v2|...)` with regex
//! metacharacters escaped; `${var:pipe}`, `${var:csv}`, `${var:raw}` and `${var:regex}`
//! choose other formats.

use std::collections::BTreeMap;

/// A variable's current value.
#[derive(Clone, Debug)]
pub(crate) enum VarValue {
    /// One value (a query variable with one selection, a constant, an interval).
    Single(String),
    /// Several values (a multi-value selection, or "All" without a custom all-value).
    Multi(Vec<String>),
}

/// Escapes a single value the way Grafana's `prometheusRegularEscape` does.
fn regular_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Escapes regex metacharacters for use inside a PromQL string (`prometheusSpecialRegexEscape`).
fn regex_escape(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if "\\^$*+?.()|{}[]".contains(c) {
            out.push_str("\\\\");
        }
        out.push(c);
    }
    out
}

fn format_value(v: &VarValue, fmt: Option<&str>) -> String {
    match (v, fmt) {
        (VarValue::Single(s), None) => regular_escape(s),
        (VarValue::Single(s), Some("regex")) => regex_escape(s),
        (VarValue::Single(s), Some(_)) => s.clone(),
        (VarValue::Multi(vs), None | Some("regex")) => match vs.as_slice() {
            [one] => regex_escape(one),
            _ => format!(
                "({})",
                vs.iter().map(|s| regex_escape(s)).collect::<Vec<_>>().join("|")
            ),
        },
        (VarValue::Multi(vs), Some("pipe")) => vs.join("|"),
        (VarValue::Multi(vs), Some("csv")) => vs.join(","),
        (VarValue::Multi(vs), Some(_)) => vs.join(","),
    }
}

/// Replaces every variable reference in `expr` whose name is in `vars`; unknown names are left
/// as they are (the test then sees them fail to parse, which is the point).
pub(crate) fn interpolate(expr: &str, vars: &BTreeMap<String, VarValue>) -> String {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(i) = rest.find(['$', '[']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        // `${name}` / `${name:format}`
        if let Some(body) = tail.strip_prefix("${") {
            if let Some(end) = body.find('}') {
                let inner = &body[..end];
                let (name, fmt) = match inner.split_once(':') {
                    Some((n, f)) => (n, Some(f)),
                    None => (inner, None),
                };
                if let Some(v) = vars.get(name) {
                    out.push_str(&format_value(v, fmt));
                    rest = &body[end + 1..];
                    continue;
                }
            }
        }
        // `[[name]]` (deprecated syntax); PromQL's own `[` is left alone.
        if let Some(body) = tail.strip_prefix("[[") {
            if let Some(end) = body.find("]]") {
                let inner = &body[..end];
                let (name, fmt) = match inner.split_once(':') {
                    Some((n, f)) => (n, Some(f)),
                    None => (inner, None),
                };
                if let Some(v) = vars.get(name) {
                    out.push_str(&format_value(v, fmt));
                    rest = &body[end + 2..];
                    continue;
                }
            }
        }
        // `$name`: the longest identifier that names a variable.
        if let Some(body) = tail.strip_prefix('$') {
            let n = body.find(|c: char| !ident(c)).unwrap_or(body.len());
            if let Some(v) = vars.get(&body[..n]) {
                out.push_str(&format_value(v, None));
                rest = &body[n..];
                continue;
            }
        }
        let c = tail.chars().next().map_or(1, char::len_utf8);
        out.push_str(&tail[..c]);
        rest = &tail[c..];
    }
    out.push_str(rest);
    out
}

/// The built-in variables for a range query of `range_s` seconds at `step_s`, with the data
/// source's scrape interval `scrape_s` (Grafana's default is 15 s):
/// `$__interval` = the step, `$__rate_interval` = max(step + scrape, 4 x scrape),
/// `$__range` in seconds, and their `_ms`/`_s` forms.
pub(crate) fn builtins(range_s: i64, step_s: i64, scrape_s: i64) -> BTreeMap<String, VarValue> {
    let rate = (step_s + scrape_s).max(4 * scrape_s);
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), VarValue::Single(v));
    };
    put("__interval", format!("{step_s}s"));
    put("__interval_ms", (step_s * 1000).to_string());
    put("__rate_interval", format!("{rate}s"));
    put("__rate_interval_ms", (rate * 1000).to_string());
    put("__range", format!("{range_s}s"));
    put("__range_s", range_s.to_string());
    put("__range_ms", (range_s * 1000).to_string());
    // The pre-7.2 name of `$__interval`, still used by older dashboards.
    put("interval", format!("{step_s}s"));
    m
}

#[test]
fn interpolates_like_grafana() {
    let mut vars = builtins(3600, 15, 15);
    vars.insert("instance".into(), VarValue::Single("host:9100".into()));
    vars.insert(
        "host".into(),
        VarValue::Multi(vec!["a.b:1".into(), "c-d:2".into()]),
    );
    vars.insert("one".into(), VarValue::Multi(vec!["x.y".into()]));
    assert_eq!(
        interpolate("rate(x{instance=\"$instance\"}[$__rate_interval])", &vars),
        "rate(x{instance=\"host:9100\"}[60s])"
    );
    assert_eq!(
        interpolate("x{host=~\"$host\"}", &vars),
        "x{host=~\"(a\\\\.b:1|c-d:2)\"}"
    );
    assert_eq!(interpolate("x{h=~\"${one}\"}", &vars), "x{h=~\"x\\\\.y\"}");
    assert_eq!(
        interpolate("x{h=~\"${host:pipe}\"}", &vars),
        "x{h=~\"a.b:1|c-d:2\"}"
    );
    assert_eq!(
        interpolate("x{i=\"[[instance]]\"}[5m]", &vars),
        "x{i=\"host:9100\"}[5m]"
    );
    assert_eq!(
        interpolate("increase(x[$__range]) / $__range_s", &vars),
        "increase(x[3600s]) / 3600"
    );
    // `$__interval_ms` is not `$__interval` followed by `_ms`.
    assert_eq!(interpolate("$__interval_ms", &vars), "15000");
    // Unknown variables stay.
    assert_eq!(interpolate("x[$nope]", &vars), "x[$nope]");
    vars.insert("q".into(), VarValue::Single("it's".into()));
    assert_eq!(interpolate("'$q'", &vars), "'it\\'s'");
}
