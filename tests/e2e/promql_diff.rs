//! Differential PromQL test: the same data is remote-written to Sextant and to Debian's
//! reference Prometheus (`/usr/bin/prometheus`, installed by `scripts/test.sh`), then a corpus
//! of instant and range queries must give the same answers from both.
//!
//! The corpus is `promql_corpus.txt` (one expression per line; a leading `! ` marks an
//! expression the reference must reject, whose status, `errorType` and message are compared).
//! Every expression runs as instant queries at five times and as a range query; it passes when
//! all six answers match. Mismatches fail the test unless `promql_allowlist.txt` lists the
//! expression with a reason (Prometheus 3 semantics Sextant follows where 2.42 differs,
//! functions added after 2.42, wording of messages). The test prints `N passed, M failed`.
//!
//! Sample timestamps sit off the evaluation grid (by 1.234 s plus a per-series jitter),
//! evaluation times are multiples of 5 s and subquery ranges are not (nor multiples of 5 s
//! away from a multiple of their step), so the difference between Prometheus 2
//! (closed range start) and 3 (left-open) never matters. Debian's Prometheus is 2.42; where 3
//! changed behaviour (UTF-8 label names, `atan2` dropping the name, new functions) the
//! allow-list says so.

use crate::reference::loaded_pair;
use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// One query result reduced to comparable form: label set -> values (t in ms, value bits).
fn normalise(v: &Value) -> (String, BTreeMap<String, Vec<(i64, String)>>) {
    let data = &v["data"];
    let rt = data["resultType"].as_str().unwrap_or("").to_string();
    let mut out = BTreeMap::new();
    let point = |p: &Value| {
        (
            (p[0].as_f64().unwrap() * 1000.0).round() as i64,
            p[1].as_str().unwrap().to_string(),
        )
    };
    match rt.as_str() {
        "scalar" | "string" => {
            out.insert(String::new(), vec![point(&data["result"])]);
        }
        _ => {
            for s in data["result"].as_array().unwrap() {
                let key = s["metric"].to_string();
                let pts = if let Some(vals) = s["values"].as_array() {
                    vals.iter().map(point).collect()
                } else {
                    vec![point(&s["value"])]
                };
                out.insert(key, pts);
            }
        }
    }
    (rt, out)
}

type Answer = BTreeMap<String, Vec<(i64, String)>>;

/// A short description of where two answers first differ.
fn first_difference(rt1: &str, a: &Answer, rt2: &str, b: &Answer) -> String {
    if rt1 != rt2 {
        return format!("result type {rt2}, reference {rt1}");
    }
    for (k, va) in a {
        let Some(vb) = b.get(k) else {
            return format!(
                "missing series {k} (sextant has {} series, reference {})",
                b.len(),
                a.len()
            );
        };
        for (i, x) in va.iter().enumerate() {
            match vb.get(i) {
                Some(y) if x.0 == y.0 && close(&x.1, &y.1) => {}
                Some(y) => return format!("series {k} point {i}: sextant {y:?}, reference {x:?}"),
                None => {
                    return format!(
                        "series {k}: sextant has {} points, reference {}",
                        vb.len(),
                        va.len()
                    )
                }
            }
        }
        if vb.len() != va.len() {
            return format!(
                "series {k}: sextant has {} points, reference {}",
                vb.len(),
                va.len()
            );
        }
    }
    let extra: Vec<&String> = b.keys().filter(|k| !a.contains_key(*k)).take(3).collect();
    format!("extra series in sextant: {extra:?}")
}

fn close(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => {
            (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12)
        }
        _ => false,
    }
}

/// The corpus: valid expressions and (prefixed `! `) expressions the reference rejects.
const CORPUS: &str = include_str!("promql_corpus.txt");
/// Reviewed mismatches: `query: <expr>` then `reason: <why>`.
const ALLOWLIST: &str = include_str!("promql_allowlist.txt");

/// Parses the corpus into (expression, must fail) pairs.
fn corpus() -> Vec<(String, bool)> {
    CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix("! ") {
            Some(bad) => (bad.to_string(), true),
            None => (l.to_string(), false),
        })
        .collect()
}

/// Parses the allow-list into expression -> reason; every entry must have a reason.
fn allowlist() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending: Option<String> = None;
    for (no, line) in ALLOWLIST.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(q) = line.strip_prefix("query: ") {
            assert!(
                pending.is_none(),
                "promql_allowlist.txt line {}: query without reason before it",
                no + 1
            );
            pending = Some(q.to_string());
        } else if let Some(r) = line.strip_prefix("reason: ") {
            let q = pending
                .take()
                .unwrap_or_else(|| panic!("promql_allowlist.txt line {}: reason without query", no + 1));
            assert!(
                !r.trim().is_empty(),
                "promql_allowlist.txt line {}: empty reason",
                no + 1
            );
            assert!(
                out.insert(q.clone(), r.to_string()).is_none(),
                "promql_allowlist.txt: {q} listed twice"
            );
        } else {
            panic!(
                "promql_allowlist.txt line {}: expected `query: ` or `reason: `",
                no + 1
            );
        }
    }
    assert!(
        pending.is_none(),
        "promql_allowlist.txt: last query has no reason"
    );
    out
}

/// Compares one request's answers; `None` when they match.
fn compare(want_status: u16, want: &Value, got_status: u16, got: &Value, must_fail: bool) -> Option<String> {
    if want_status != got_status {
        return Some(format!(
            "status {got_status}, reference {want_status}: sextant {got}, reference {want}"
        ));
    }
    if want_status != 200 {
        if want["errorType"] != got["errorType"] || want["error"] != got["error"] {
            return Some(format!(
                "error differs: sextant {} {}, reference {} {}",
                got["errorType"], got["error"], want["errorType"], want["error"]
            ));
        }
        return None;
    }
    if must_fail {
        return Some(format!("reference did not fail: {want}"));
    }
    let (rt1, a) = normalise(want);
    let (rt2, b) = normalise(got);
    let same = rt1 == rt2
        && a.len() == b.len()
        && a.iter().all(|(k, va)| {
            b.get(k).is_some_and(|vb| {
                va.len() == vb.len() && va.iter().zip(vb).all(|(x, y)| x.0 == y.0 && close(&x.1, &y.1))
            })
        });
    (!same).then(|| first_difference(&rt1, &a, &rt2, &b))
}

/// Every function the engine knows, every aggregation, binary operator and modifier appears in
/// the corpus (checked without the servers, so a new function cannot slip by untested).
#[test]
fn promql_corpus_covers_every_function_and_operator() {
    let corpus: Vec<String> = corpus()
        .into_iter()
        .filter(|(_, bad)| !bad)
        .map(|(q, _)| q)
        .collect();
    let has = |needle: &str| corpus.iter().any(|q| q.contains(needle));
    let mut missing: Vec<String> = query::supported_functions()
        .into_iter()
        .filter(|f| !has(&format!("{f}(")))
        .map(str::to_string)
        .collect();
    for agg in [
        "sum",
        "avg",
        "min",
        "max",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    ] {
        if !has(&format!("{agg}("))
            || !has(&format!("{agg} by ("))
                && !has(&format!("{agg} without ("))
                && !has(&format!("{agg}(up) by"))
        {
            missing.push(format!("aggregation {agg} (with and without grouping)"));
        }
    }
    for op in [
        " + ",
        " - ",
        " * ",
        " / ",
        " % ",
        " ^ ",
        " atan2 ",
        " == ",
        " != ",
        " > ",
        " < ",
        " >= ",
        " <= ",
        " bool ",
        " and ",
        " or ",
        " unless ",
        " on (",
        " ignoring (",
        " group_left",
        " group_right",
        " offset ",
        " offset -",
        " @ start()",
        " @ end()",
        ":]",
        ":1m]",
        "=~",
        "!~",
        "!=\"",
    ] {
        if !has(op) {
            missing.push(format!("operator/modifier {op:?}"));
        }
    }
    assert!(missing.is_empty(), "promql_corpus.txt lacks: {missing:?}");
}

#[test]
fn promql_answers_match_reference_prometheus() {
    let corpus = corpus();
    let allowed = allowlist();
    let in_corpus: std::collections::BTreeSet<&str> = corpus.iter().map(|(q, _)| q.as_str()).collect();
    let stale: Vec<&String> = allowed
        .keys()
        .filter(|q| !in_corpus.contains(q.as_str()))
        .collect();
    assert!(
        stale.is_empty(),
        "promql_allowlist.txt lists expressions not in the corpus: {stale:?}"
    );

    let pair = loaded_pair();
    let (reference, sextant, base_ms) = (&pair.reference, &pair.sextant, pair.base_ms);
    let end_s = pair.end_s();
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut unexpected = Vec::new();
    let mut allowed_failures = 0usize;
    let mut allowed_but_pass = Vec::new();
    let (mut non_empty, mut range_queries, mut instant_queries) = (0usize, 0usize, 0usize);
    for (q, must_fail) in &corpus {
        let mut urls = Vec::new();
        // Near the start of the data (extrapolation edges), in the middle, and at the end.
        for t in [
            base_ms / 1000 + 45,
            base_ms / 1000 + 200,
            end_s - 1800,
            end_s - 600,
            end_s,
        ] {
            urls.push(format!("/api/v1/query?query={}&time={t}", enc(q)));
        }
        urls.push(format!(
            "/api/v1/query_range?query={}&start={}&end={end_s}&step=60",
            enc(q),
            end_s - 3000
        ));
        let mut diffs = Vec::new();
        for path in urls {
            if path.contains("query_range") {
                range_queries += 1;
            } else {
                instant_queries += 1;
            }
            let (s1, want) = get_json(&format!("{}{}", reference.base, path));
            let (s2, got) = get_json(&sextant.url(&path));
            if s1 == 200 && want["data"]["result"].as_array().is_some_and(|a| !a.is_empty()) {
                non_empty += 1;
            }
            if let Some(d) = compare(s1, &want, s2, &got, *must_fail) {
                let kind = if path.contains("query_range") {
                    "range"
                } else {
                    "instant"
                };
                diffs.push(format!(
                    "{kind} {}: {d}",
                    path.split('&').skip(1).collect::<Vec<_>>().join("&")
                ));
            }
            if *must_fail {
                break; // Errors do not depend on the time.
            }
        }
        if diffs.is_empty() {
            passed += 1;
            if allowed.contains_key(q) {
                allowed_but_pass.push(q.clone());
            }
        } else {
            failed += 1;
            match allowed.get(q) {
                Some(_) => allowed_failures += 1,
                None => unexpected.push(format!("{q}\n    {}", diffs.join("\n    "))),
            }
        }
    }
    eprintln!(
        "promql_diff: {passed} passed, {failed} failed ({allowed_failures} of them allow-listed) \
         of {} expressions; {instant_queries} instant and {range_queries} range queries, {non_empty} non-empty reference answers",
        corpus.len()
    );
    for q in &allowed_but_pass {
        eprintln!("promql_diff: allow-listed but now passes (remove it from the allow-list): {q}");
    }
    assert!(
        non_empty > corpus.len() * 3,
        "too few non-empty reference answers ({non_empty}): the data did not load"
    );
    assert!(
        unexpected.is_empty(),
        "{} expressions differ from the reference and are not in promql_allowlist.txt:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}
