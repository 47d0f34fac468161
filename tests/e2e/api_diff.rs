//! Differential HTTP API test: the data set of `reference::dataset` is remote-written to Sextant
//! and to Debian's Prometheus 2.42, then the same requests (GET and form POST) go to both and
//! the answers must be the same JSON: status code, envelope, data, and for errors
//! `errorType` and `error`.
//!
//! Only what legitimately differs is left out of a comparison, each exclusion next to the case
//! with its reason. Sextant follows Prometheus 3's API; where 3 changed what 2.42 answers,
//! the case says so.

use crate::reference::{loaded_pair, LoadedPair};
use crate::support::*;
use serde_json::Value;

/// One request's answer: status code and the body as JSON (a non-JSON body becomes a string).
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
}

fn call(base: &str, method: &str, path: &str, params: &[(&str, &str)]) -> Answer {
    let qs: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let qs = qs.join("&");
    let (status, _, body) = if method == "GET" {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = if qs.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}{sep}{qs}")
        };
        http_request("GET", &url, &[], b"").unwrap()
    } else {
        http_request(
            "POST",
            &format!("{base}{path}"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            qs.as_bytes(),
        )
        .unwrap()
    };
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).trim().to_string()));
    Answer { status, body }
}

/// Where two JSON values first differ (`None` if equal). Number-valued strings compare with a
/// relative tolerance of 1e-9 (both format floats the shortest round-trip way, but the
/// evaluation order of sums may differ in the last bit).
fn json_diff(path: &str, want: &Value, got: &Value) -> Option<String> {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                match b.get(k) {
                    None => return Some(format!("{path}.{k}: missing in sextant (reference {va})")),
                    Some(vb) => {
                        if let Some(d) = json_diff(&format!("{path}.{k}"), va, vb) {
                            return Some(d);
                        }
                    }
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}.{k}: only in sextant ({})", b[k]))
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if let Some(d) = json_diff(&format!("{path}[{i}]"), x, y) {
                    return Some(d);
                }
            }
            (a.len() != b.len())
                .then(|| format!("{path}: sextant has {} elements, reference {}", b.len(), a.len()))
        }
        (Value::String(a), Value::String(b)) if a != b => {
            // The same number written differently is a formatting difference, not a pass.
            let close = match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => {
                    x.to_bits() != y.to_bits()
                        && !x.is_nan()
                        && (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12)
                }
                _ => false,
            };
            (!close).then(|| format!("{path}: sextant {b:?}, reference {a:?}"))
        }
        _ => (want != got).then(|| format!("{path}: sextant {got}, reference {want}")),
    }
}

/// Removes a top-level key of the envelope (with the reason given at the call site).
fn drop_key(v: &mut Value, key: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
}

/// Prometheus 2.42 has no annotations: `infos` (and the info/warning texts that come from
/// Prometheus 3's annotations, e.g. "PromQL info: metric might not be a counter") exist only
/// in Sextant, which follows 3. The `limit` truncation warning is compared where it matters.
fn no_annotations(v: &mut Value) {
    drop_key(v, "infos");
    drop_key(v, "warnings");
}

/// Prometheus reports a bad regex with Go's regexp error text (`error parsing regexp: missing
/// closing ): ...`), Sextant with its own regex engine's: the position and the
/// `error parsing regexp:` prefix are compared, the engine-specific explanation is not.
fn regex_wording(v: &mut Value) {
    if let Some(e) = v["error"].as_str() {
        if let Some(i) = e.find("error parsing regexp:") {
            v["error"] = Value::String(e[..i + "error parsing regexp:".len()].to_string());
        }
    }
}

/// Prometheus' generated parser appends the grammar context to syntax errors (`unexpected
/// identifier "up" in grouping opts, expected "," or ")"`); Sextant's parser does not know
/// that context, so only the position and the `unexpected <token>` part are compared. Its
/// lexer also splits a bad duration differently (`bad duration syntax: "5"` where Sextant
/// says `bad number or duration syntax: 5x`): position and the `bad` are compared.
fn parse_wording(v: &mut Value) {
    regex_wording(v);
    let Some(e) = v["error"].as_str() else {
        return;
    };
    let mut e = e.to_string();
    if let Some(i) = e.find("parse error: unexpected ") {
        if let Some(j) = e[i..].find(" in ") {
            e.truncate(i + j);
        }
    }
    if let Some(i) = e.find("parse error: bad ") {
        e.truncate(i + "parse error: bad".len());
    }
    v["error"] = Value::String(e);
}

struct Diff<'a> {
    pair: &'a LoadedPair,
    failures: Vec<String>,
    compared: usize,
    /// Comparisons where the reference answered 200 with non-empty data.
    non_empty: usize,
}

impl Diff<'_> {
    /// Sends the request with each of `methods` to both servers; after `norm` has been applied
    /// to both bodies, status and body must be equal.
    fn check(&mut self, methods: &[&str], path: &str, params: &[(&str, &str)], norm: &dyn Fn(&mut Value)) {
        for m in methods {
            let want = call(&self.pair.reference.base, m, path, params);
            let got = call(&self.pair.sextant.base, m, path, params);
            self.compared += 1;
            let what = format!("{m} {path} {params:?}");
            if want.status != got.status {
                self.failures.push(format!(
                    "{what}: status {}, reference {}: sextant {} / reference {}",
                    got.status, want.status, got.body, want.body
                ));
                continue;
            }
            let data = &want.body["data"];
            let result = if data.get("result").is_some() {
                &data["result"]
            } else {
                data
            };
            if want.status == 200
                && (result.as_array().is_some_and(|a| !a.is_empty())
                    || result.as_object().is_some_and(|o| !o.is_empty()))
            {
                self.non_empty += 1;
            }
            let (mut a, mut b) = (want.body, got.body);
            norm(&mut a);
            norm(&mut b);
            if let Some(d) = json_diff("", &a, &b) {
                self.failures.push(format!("{what}: {d}"));
            }
        }
    }

    /// Both must answer with an error of the same status, `errorType` and `error` text.
    fn error(&mut self, methods: &[&str], path: &str, params: &[(&str, &str)]) {
        self.error_with(methods, path, params, &|_| {});
    }

    /// As [`Diff::error`], but `norm` may rewrite the error text where the wording differs
    /// for a documented reason.
    fn error_with(
        &mut self,
        methods: &[&str],
        path: &str,
        params: &[(&str, &str)],
        norm: &dyn Fn(&mut Value),
    ) {
        self.check(methods, path, params, norm);
        // An error case that the reference answers with success is a broken case, not a pass.
        for m in methods {
            let want = call(&self.pair.reference.base, m, path, params);
            if want.status == 200 {
                self.failures.push(format!(
                    "{m} {path} {params:?}: reference did not fail: {}",
                    want.body
                ));
            }
        }
    }
}

const BOTH: &[&str] = &["GET", "POST"];
const GET: &[&str] = &["GET"];

#[test]
fn http_api_answers_like_reference_prometheus() {
    let pair = loaded_pair();
    let base_s = pair.base_ms / 1000;
    let end_s = pair.end_s();
    let mut d = Diff {
        pair: &pair,
        failures: Vec::new(),
        compared: 0,
        non_empty: 0,
    };
    let s = |t: i64| t.to_string();
    let (t0, t1, tmid) = (s(base_s), s(end_s), s(base_s + 1800));
    let (early_end, late_start) = (s(base_s + 600), s(end_s - 600));
    let none = &|_: &mut Value| {};

    // --- /api/v1/series -----------------------------------------------------------------
    for params in [
        vec![("match[]", "up")],
        vec![("match[]", "up"), ("match[]", "node_hwmon_temp_celsius")],
        vec![
            ("match[]", "{job=\"node\"}"),
            ("match[]", "{instance=\"node-a:9100\"}"),
        ],
        vec![("match[]", "{__name__=~\"node_.*|up\", instance=~\"node-[ab].*\"}")],
        vec![("match[]", "{__name__!=\"\"}")],
        vec![("match[]", "up"), ("start", &t0), ("end", &t1)],
        // beacon_head_slot stops two thirds in: absent from a late window.
        vec![
            ("match[]", "beacon_head_slot"),
            ("start", &late_start),
            ("end", &t1),
        ],
        vec![
            ("match[]", "beacon_head_slot"),
            ("start", &t0),
            ("end", &early_end),
        ],
        vec![
            ("match[]", "{job=\"beacon\"}"),
            ("start", "2000-01-01T00:00:00Z"),
            ("end", "2000-01-02T00:00:00Z"),
        ],
        vec![("match[]", "nonexistent_metric")],
        vec![("match[]", "up"), ("end", &t1)],
        vec![("match[]", "up"), ("start", &tmid)],
    ] {
        d.check(BOTH, "/api/v1/series", &params, none);
    }

    // --- /api/v1/labels ---------------------------------------------------------------------
    for params in [
        vec![],
        vec![("start", t0.as_str()), ("end", t1.as_str())],
        vec![("match[]", "up")],
        vec![
            ("match[]", "up"),
            ("match[]", "http_request_duration_seconds_bucket"),
        ],
        vec![("match[]", "{job=\"node\"}"), ("start", &t0), ("end", &t1)],
        vec![("match[]", "nonexistent_metric")],
        // Grafana's MATCH_ALL_LABELS.
        vec![("match[]", "{__name__!=\"\"}"), ("start", &t0), ("end", &t1)],
        vec![("start", "2000-01-01T00:00:00Z"), ("end", "2000-01-02T00:00:00Z")],
    ] {
        d.check(BOTH, "/api/v1/labels", &params, none);
    }

    // --- /api/v1/label/<name>/values (GET only: Grafana never POSTs here, and Prometheus
    // registers no POST route for it) -------------------------------------------------------
    for name in ["__name__", "job", "instance", "le", "mode", "nonexistent"] {
        let path = format!("/api/v1/label/{name}/values");
        for params in [
            vec![],
            vec![("start", t0.as_str()), ("end", t1.as_str())],
            vec![("match[]", "up")],
            vec![("match[]", "{job=\"node\"}"), ("match[]", "{job=\"api\"}")],
            vec![("match[]", "{__name__=~\"node_.*\"}")],
            vec![("match[]", "{__name__!=\"\"}"), ("start", &t0), ("end", &t1)],
            vec![("start", "2000-01-01T00:00:00Z"), ("end", "2000-01-02T00:00:00Z")],
        ] {
            d.check(GET, &path, &params, none);
        }
        // With match[] and a window in which some matching series have no samples, Prometheus
        // (2.42 and 3 alike) still lists their values: its head index filters label values by
        // block time range only, not by each series' samples. Sextant keeps only series with
        // samples in the window, i.e. exactly the series Prometheus' own /api/v1/series
        // returns for the same match[] and window; compare against those.
        let window = [
            ("match[]", "{job=~\"beacon|api\"}"),
            ("start", late_start.as_str()),
            ("end", t1.as_str()),
        ];
        let series = call(&pair.reference.base, "GET", "/api/v1/series", &window);
        let mut want: Vec<String> = series.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s[name].as_str().map(str::to_string))
            .collect();
        want.sort();
        want.dedup();
        let got = call(&pair.sextant.base, "GET", &path, &window);
        d.compared += 1;
        if got.status != 200 || got.body["data"] != serde_json::json!(want) {
            d.failures.push(format!(
                "GET {path} {window:?}: sextant {}, values in reference /api/v1/series {want:?}",
                got.body
            ));
        }
    }

    // --- limit ------------------------------------------------------------------------------
    // Prometheus 2.42 predates the `limit` parameter of series, labels and label values
    // (added in 2.51) and ignores it; Prometheus 3 returns the first `limit` items of the
    // sorted answer and the warning "results truncated due to limit". So Sextant's limited
    // answer must be the prefix of the reference's unlimited one, with that warning.
    for (path, extra) in [
        ("/api/v1/series", vec![("match[]", "{__name__!=\"\"}")]),
        ("/api/v1/labels", vec![]),
        ("/api/v1/label/__name__/values", vec![]),
        ("/api/v1/label/instance/values", vec![("match[]", "up")]),
    ] {
        for limit in ["1", "2", "1000"] {
            let mut params = extra.clone();
            params.push(("limit", limit));
            let want = call(&pair.reference.base, "GET", path, &extra);
            let got = call(&pair.sextant.base, "GET", path, &params);
            d.compared += 1;
            let n: usize = limit.parse().unwrap();
            let all = want.body["data"].as_array().unwrap();
            let prefix: Vec<Value> = all.iter().take(n).cloned().collect();
            let truncated = all.len() > n;
            let warnings = got.body.get("warnings").cloned().unwrap_or(Value::Null);
            let want_warnings = if truncated {
                serde_json::json!(["results truncated due to limit"])
            } else {
                Value::Null
            };
            if got.status != 200 || got.body["data"] != Value::Array(prefix) || warnings != want_warnings {
                d.failures.push(format!(
                    "{path} limit={limit}: sextant {}, reference (unlimited) {}",
                    got.body, want.body
                ));
            }
        }
    }

    // --- query and query_range ---------------------------------------------------------------
    let step_floor = |t: i64, step: i64| (t / step * step).to_string();
    let (fs, fe) = (step_floor(end_s - 3000, 60), step_floor(end_s, 60));
    let half_s = format!("{}.5", end_s - 1200);
    let half_e = format!("{}.5", end_s);
    let rfc = |t: i64| {
        // RFC 3339 in UTC without a date library: days since the epoch to a civil date.
        let (days, secs) = (t.div_euclid(86400), t.rem_euclid(86400));
        let z = days + 719468;
        let era = z.div_euclid(146097);
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    };
    let (rs, re) = (rfc(end_s - 1800), rfc(end_s));
    let rfc_frac = format!("{}.250Z", rfc(end_s - 300).trim_end_matches('Z'));
    let range_exprs = [
        "up",
        "rate(node_cpu_seconds_total{mode=\"user\"}[5m])",
        "sum by (job) (up)",
        "1 + 1",
        "time()",
        "nonexistent_metric",
        "beacon_head_slot",
    ];
    for q in range_exprs {
        for (start, end, step) in [
            // Grafana floors start and end to a multiple of the step.
            (fs.as_str(), fe.as_str(), "60"),
            // Float seconds.
            (half_s.as_str(), half_e.as_str(), "15"),
            (half_s.as_str(), half_e.as_str(), "37.5"),
            // Step as a duration.
            (fs.as_str(), fe.as_str(), "15s"),
            (fs.as_str(), fe.as_str(), "1m"),
            (fs.as_str(), fe.as_str(), "1m30s"),
            // RFC 3339 times.
            (rs.as_str(), re.as_str(), "30"),
            (rfc_frac.as_str(), re.as_str(), "30"),
            // start == end: one point.
            (fe.as_str(), fe.as_str(), "60"),
            // A step larger than the range: one point at start.
            (fs.as_str(), fe.as_str(), "86400"),
        ] {
            d.check(
                BOTH,
                "/api/v1/query_range",
                &[("query", q), ("start", start), ("end", end), ("step", step)],
                &no_annotations,
            );
        }
    }
    let instant_exprs = [
        "up",
        "1 + 1",
        "scalar(sum(up))",
        "\"a string\"",
        "time()",
        "nonexistent_metric",
        "up[5m]",
        "rate(node_cpu_seconds_total[5m])",
        "count by (job) ({__name__=~\".+\"})",
        "vector(1) * 0.1",
        "-1 / 0",
        "0 / 0",
        // Number formatting: Prometheus writes values without exponent.
        "vector(1e-7)",
        "vector(1e21)",
        "vector(-0.0000123)",
        "vector(123456789.123)",
        "scalar(vector(2 ^ 60))",
        "vector(1 / 3)",
        "-vector(0)",
    ];
    for q in instant_exprs {
        for t in [t1.as_str(), half_e.as_str(), re.as_str(), rfc_frac.as_str(), "4"] {
            d.check(
                BOTH,
                "/api/v1/query",
                &[("query", q), ("time", t)],
                &no_annotations,
            );
        }
    }
    // `time` omitted: evaluated at "now", which differs by the milliseconds between the two
    // requests; the timestamps and time-derived values are dropped, the rest compared.
    let drop_now = |v: &mut Value| {
        no_annotations(v);
        let r = &mut v["data"]["result"];
        if let Some(a) = r.as_array_mut() {
            if a.first().is_some_and(Value::is_number) {
                a[0] = Value::Null; // scalar/string: [t, "v"]
            }
            for s in a.iter_mut() {
                if let Some(p) = s.get_mut("value") {
                    p[0] = Value::Null;
                }
            }
        }
    };
    for q in [
        "1 + 1",
        "vector(1)",
        "\"s\"",
        "nonexistent_metric",
        "count(up offset 45m)",
    ] {
        d.check(BOTH, "/api/v1/query", &[("query", q)], &drop_now);
    }
    // Grafana sends the data source's query timeout.
    d.check(
        BOTH,
        "/api/v1/query_range",
        &[
            ("query", "up"),
            ("start", &fs),
            ("end", &fe),
            ("step", "60"),
            ("timeout", "30s"),
        ],
        none,
    );
    d.check(
        BOTH,
        "/api/v1/query",
        &[("query", "up"), ("time", &t1), ("timeout", "30s")],
        none,
    );
    d.error(
        BOTH,
        "/api/v1/query",
        &[("query", "up"), ("time", &t1), ("timeout", "abc")],
    );
    // Grafana's exemplar probe: `query=test`, start and end in milliseconds. Neither stores
    // exemplars (2.42 has exemplar storage off by default), so both answer an empty list.
    let (ms_s, ms_e) = (format!("{}000", end_s - 3600), format!("{end_s}000"));
    d.check(
        BOTH,
        "/api/v1/query_exemplars",
        &[("query", "test"), ("start", &ms_s), ("end", &ms_e)],
        none,
    );
    d.check(
        BOTH,
        "/api/v1/query_exemplars",
        &[("query", "up"), ("start", &fs), ("end", &fe)],
        none,
    );
    // Grafana's "Save & test".
    d.check(BOTH, "/api/v1/query", &[("query", "1+1"), ("time", "4")], none);

    // --- errors -------------------------------------------------------------------------------
    let q_range = |q: &'static str, st: &str, en: &str, step: &str| -> Vec<(&'static str, String)> {
        vec![
            ("query", q.to_string()),
            ("start", st.to_string()),
            ("end", en.to_string()),
            ("step", step.to_string()),
        ]
    };
    let range_errors: Vec<Vec<(&str, String)>> = vec![
        q_range("sum(", &fs, &fe, "60"),
        q_range("up", "abc", &fe, "60"),
        q_range("up", &fs, "", "60"),
        q_range("up", &fs, &fe, "abc"),
        q_range("up", &fs, &fe, ""),
        q_range("up", &fe, &fs, "60"),
        q_range("up", &fs, &fe, "0"),
        q_range("up", &fs, &fe, "-15"),
        // 3000 s at 0.25 s: 12,000 points.
        q_range("up", &fs, &fe, "0.25"),
        q_range("up", "0", "11001", "1"),
        q_range("rate(up)", &fs, &fe, "60"),
        vec![("start", fs.clone()), ("end", fe.clone()), ("step", "60".into())],
    ];
    for params in &range_errors {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // Prometheus 3 wraps query_range's parse errors as `invalid parameter "query": ...`,
        // as it always did for /api/v1/query; 2.42 answers the bare parse error.
        d.error_with(BOTH, "/api/v1/query_range", &params, &|v| {
            if let Some(e) = v["error"].as_str() {
                v["error"] = Value::String(
                    e.strip_prefix("invalid parameter \"query\": ")
                        .unwrap_or(e)
                        .to_string(),
                );
            }
        });
    }
    // 11,000 points exactly is allowed.
    d.check(
        BOTH,
        "/api/v1/query_range",
        &[("query", "1"), ("start", "0"), ("end", "10999"), ("step", "1")],
        none,
    );
    for q in [
        "sum(",
        "up{",
        "foo{job=~\"(\"}",
        "rate(up)",
        "up +",
        "1 +* 2",
        "sum(rate(x[5m])",
        "{job=\"\"}",
        "topk(\"a\", up)",
        "up[5m] + 1",
        "up{job=\"a\"",
        "rate(up[5m]",
        "sum by (job up)",
        "up[5m",
        "up{job=}",
        "abs()",
        "abs(up, up)",
        "foo(up)",
        "1 2",
        "up == ",
        ")",
        "up}",
        "\"unterminated",
        "rate(up[5x])",
        "sum(up) by",
        "count_values(up)",
        "up{job=\"a\",,}",
        "-",
        "sum(up) + on(job",
        "label_replace(up, \"a\")",
    ] {
        d.error_with(
            BOTH,
            "/api/v1/query",
            &[("query", q), ("time", &t1)],
            &parse_wording,
        );
    }
    d.error(BOTH, "/api/v1/query", &[("time", &t1)]);
    d.error(BOTH, "/api/v1/query", &[("query", "up"), ("time", "abc")]);
    d.error(BOTH, "/api/v1/series", &[]);
    d.error(BOTH, "/api/v1/series", &[("start", &t0)]);
    for m in [
        "up{",
        "{job=~\".*\"}",
        "rate(up[5m])",
        "{job=~\"(\"}",
        "up offset 5m",
    ] {
        d.error_with(BOTH, "/api/v1/series", &[("match[]", m)], &regex_wording);
        d.error_with(BOTH, "/api/v1/labels", &[("match[]", m)], &regex_wording);
        d.error_with(GET, "/api/v1/label/job/values", &[("match[]", m)], &regex_wording);
    }
    d.error(BOTH, "/api/v1/series", &[("match[]", "up"), ("start", "abc")]);
    d.error(
        BOTH,
        "/api/v1/query_range",
        &[
            ("query", "up"),
            ("start", &rs),
            ("end", "2020-13-01T00:00:00Z"),
            ("step", "60"),
        ],
    );
    d.check(
        BOTH,
        "/api/v1/query",
        &[
            ("query", "up"),
            (
                "time",
                &format!("{}+01:00", rfc(end_s + 3600).trim_end_matches('Z')),
            ),
        ],
        &no_annotations,
    );
    d.error(BOTH, "/api/v1/labels", &[("end", "abc")]);
    d.error(GET, "/api/v1/label/job/values", &[("start", "x")]);
    // Unknown endpoint: both answer 404 with a plain-text body.
    d.error(GET, "/api/v1/nonexistent", &[]);
    d.error(GET, "/api/v1/label/job", &[]);

    // --- buildinfo and metadata -------------------------------------------------------------
    // buildinfo: the same keys with string values; the values are each build's own.
    d.check(GET, "/api/v1/status/buildinfo", &[], &|v| {
        if let Some(o) = v["data"].as_object_mut() {
            for val in o.values_mut() {
                assert!(val.is_string(), "buildinfo value {val} is not a string");
                *val = Value::Null;
            }
        }
    });
    let bi = call(&pair.sextant.base, "GET", "/api/v1/status/buildinfo", &[]);
    let version = bi.body["data"]["version"].as_str().unwrap_or("").to_string();
    let semver = version.split('.').count() == 3
        && version
            .split(['.', '-', '+'])
            .take(3)
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        semver,
        "buildinfo version {version:?} is not semver (Grafana needs it)"
    );
    // Remote write v1 carries no metadata, so both have none.
    for params in [vec![], vec![("metric", "up")], vec![("limit", "1")]] {
        d.check(GET, "/api/v1/metadata", &params, none);
    }

    // federate without match[] and with a bad one.
    d.compared += 1;
    for params in [vec![], vec![("match[]", "up{")]] {
        let want = call(&pair.reference.base, "GET", "/federate", &params);
        let got = call(&pair.sextant.base, "GET", "/federate", &params);
        if want.status != got.status {
            d.failures.push(format!(
                "/federate {params:?}: status {} ({}), reference {} ({})",
                got.status, got.body, want.status, want.body
            ));
        }
    }

    // --- federate -----------------------------------------------------------------------------
    for params in [
        vec![("match[]", "up")],
        vec![("match[]", "{job=\"node\"}"), ("match[]", "beacon_head_slot")],
        vec![("match[]", "{__name__=~\"http_.*\"}")],
    ] {
        let want = call(&pair.reference.base, "GET", "/federate", &params);
        let got = call(&pair.sextant.base, "GET", "/federate", &params);
        d.compared += 1;
        let lines = |a: &Answer| {
            let mut l: Vec<String> = a
                .body
                .as_str()
                .unwrap_or("")
                .lines()
                .map(str::to_string)
                .collect();
            l.sort();
            l
        };
        let (a, b) = (lines(&want), lines(&got));
        if want.status != got.status || a != b {
            let only_ref: Vec<&String> = a.iter().filter(|l| !b.contains(l)).take(5).collect();
            let only_sx: Vec<&String> = b.iter().filter(|l| !a.contains(l)).take(5).collect();
            d.failures.push(format!(
                "/federate {params:?}: status {} vs {}; only in reference {only_ref:?}; only in sextant {only_sx:?}",
                got.status, want.status
            ));
        }
    }

    let compared = d.compared;
    eprintln!(
        "api_diff: {compared} requests compared, {} with data",
        d.non_empty
    );
    // Most success comparisons must have had something to compare, or the data did not load.
    assert!(
        d.non_empty > 250,
        "only {} of {compared} reference answers had data",
        d.non_empty
    );
    assert!(
        d.failures.is_empty(),
        "{} of {compared} requests differ:\n{}",
        d.failures.len(),
        d.failures.join("\n")
    );
}
