//! `/federate`: the latest sample of every series matching `match[]`, in the text exposition
//! format, as Prometheus' federation handler writes it (untyped families, explicit
//! timestamps, external labels appended where the series lacks them).

use super::params::{parse_matcher_sets, Params};
use crate::WebState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use storage::{is_stale_nan, Labels, SelectHints, METRIC_NAME};

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /federate?match[]=...`.
pub async fn federate(State(st): State<Arc<WebState>>, p: Params) -> Response {
    let selectors = p.all("match[]");
    let sets = match parse_matcher_sets(&selectors) {
        Ok(s) => s,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let maxt = super::now_ms();
    let mint = maxt - st.engine.options().lookback_delta_ms;
    let result = super::blocking(move || {
        let q = st
            .queryable
            .querier(mint, maxt)
            .map_err(super::ApiError::from_storage)?;
        let mut latest: BTreeSet<(Labels, i64, u64)> = BTreeSet::new();
        for set in &sets {
            for s in q
                .select(&SelectHints { mint, maxt }, set)
                .map_err(super::ApiError::from_storage)?
            {
                // The exposition format cannot carry staleness markers: drop such series.
                if let Some(last) = s.samples.iter().rev().find(|x| x.t <= maxt) {
                    if !is_stale_nan(last.v) {
                        latest.insert((s.labels, last.t, last.v.to_bits()));
                    }
                }
            }
        }
        Ok(render(
            latest.iter().map(|(l, t, v)| (l, *t, f64::from_bits(*v))),
            &st.external_labels,
        ))
    })
    .await;
    match result {
        Ok(body) => {
            let mut resp = body.into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
            resp
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{}\n", e.message)).into_response(),
    }
}

/// Renders samples (sorted by labels) as text exposition lines.
pub fn render<'a>(samples: impl Iterator<Item = (&'a Labels, i64, f64)>, external: &Labels) -> String {
    let mut out = String::new();
    let mut last_name: Option<String> = None;
    for (labels, t, v) in samples {
        let name = labels.metric_name().unwrap_or("");
        if last_name.as_deref() != Some(name) {
            let _ = writeln!(out, "# TYPE {name} untyped");
            last_name = Some(name.to_string());
        }
        out.push_str(name);
        let mut first = true;
        let own = labels.iter().filter(|l| l.name.as_ref() != METRIC_NAME);
        let ext = external.iter().filter(|l| labels.get(&l.name).is_none());
        for l in own.chain(ext) {
            out.push(if first { '{' } else { ',' });
            first = false;
            out.push_str(&l.name);
            out.push_str("=\"");
            storage::push_escaped_label_value(&mut out, &l.value);
            out.push('"');
        }
        if !first {
            out.push('}');
        }
        let _ = writeln!(out, " {} {t}", format_go_g(v));
    }
    out
}

/// A float as the exposition format writes it: Go's `strconv.FormatFloat(v, 'g', -1, 64)`
/// (`1e+06`, `0.29`, `1.795304828e+09`) with `NaN`, `+Inf`, `-Inf`, and `0` for both zeros.
pub fn format_go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if v == 0.0 {
        return "0".into();
    }
    let (neg, digits, point) = super::json::shortest_digits(v);
    let exp = point - 1;
    if (-4..6).contains(&exp) {
        return super::json::format_float(v);
    }
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    out.push(char::from(digits[0]));
    if digits.len() > 1 {
        out.push('.');
        out.extend(digits[1..].iter().map(|&d| char::from(d)));
    }
    let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_format() {
        let cases: &[(f64, &str)] = &[
            (2.5, "2.5"),
            (0.29, "0.29"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1795304828.0, "1.795304828e+09"),
            (0.0, "0"),
            (-0.0, "0"),
            (-1.1496366673247973e15, "-1.1496366673247972e+15"),
            (1e21, "1e+21"),
            (5e-324, "5e-324"),
            (-1e100, "-1e+100"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (v, want) in cases {
            assert_eq!(format_go_g(*v), *want);
        }
    }

    #[test]
    fn renders_like_the_fixture() {
        let a = Labels::from_pairs([("__name__", "node_load1"), ("instance", "i:1"), ("job", "node")]);
        let b = Labels::from_pairs([("__name__", "node_load15"), ("instance", "i:1"), ("job", "node")]);
        let ext = Labels::from_pairs([("fixture", "local"), ("job", "ignored")]);
        let got = render(
            [(&a, 1795304828096, 2.5), (&b, 1795304828096, 0.29)].into_iter(),
            &ext,
        );
        assert_eq!(
            got,
            "# TYPE node_load1 untyped\nnode_load1{instance=\"i:1\",job=\"node\",fixture=\"local\"} 2.5 1795304828096\n\
             # TYPE node_load15 untyped\nnode_load15{instance=\"i:1\",job=\"node\",fixture=\"local\"} 0.29 1795304828096\n"
        );
    }
}
