//! Native histograms side by side with a real Prometheus: the same histograms are
//! remote-written (1.0) to Sextant and to Debian's Prometheus 2.42 run with
//! `--enable-feature=native-histograms`, then the same instant and range queries must give the
//! same answers, value by value (histogram results bucket by bucket).
//!
//! The data covers integer and float histograms, positive, negative and zero buckets, a bucket
//! layout that grows, a schema change, a counter reset, and a series that starts mid-window.
//! Custom-bucket histograms (schema -53) are newer than 2.42 and are not compared here.
//!
//! Where Prometheus 3 answers differently from 2.42 Sextant follows 3: those queries are listed
//! in [`PROMETHEUS_3_DIFFERS`] with the reason, and for them the test only checks that Sextant
//! answers (status 200). Any other difference fails the test.

use crate::reference::{post_write, start_prometheus_with};
use crate::support::*;
use prompb::histogram::{Count, ZeroCount};
use prompb::{BucketSpan, Histogram, Label, TimeSeries, WriteRequest};
use serde_json::Value;
use std::collections::BTreeMap;

/// Queries whose 2.42 answer differs from Prometheus 3's, and why.
const PROMETHEUS_3_DIFFERS: &[(&str, &str)] = &[
    (
        "histogram_quantile(0.5, rpc_latency_seconds)",
        "Prometheus 3 interpolates exponentially within exponential buckets (promql/quantile.go), 2.42 linearly",
    ),
    (
        "histogram_quantile(0.9, rpc_latency_seconds)",
        "Prometheus 3 interpolates exponentially within exponential buckets (promql/quantile.go), 2.42 linearly",
    ),
    (
        "histogram_quantile(0.01, rpc_latency_seconds)",
        "Prometheus 3 interpolates exponentially within exponential buckets (promql/quantile.go), 2.42 linearly",
    ),
    (
        "histogram_quantile(0.9, rpc_size_bytes)",
        "Prometheus 3 interpolates exponentially within exponential buckets (promql/quantile.go), 2.42 linearly",
    ),
    (
        "histogram_quantile(0.9, rate(rpc_latency_seconds[5m]))",
        "Prometheus 3 interpolates exponentially within exponential buckets (promql/quantile.go), 2.42 linearly",
    ),
    (
        "histogram_quantile(0.9, sum(rate(rpc_latency_seconds[5m])))",
        "Prometheus 3 interpolates exponentially within exponential buckets (promql/quantile.go), 2.42 linearly",
    ),
    (
        "histogram_quantile(0.5, sum by (job) (rate(rpc_latency_seconds[5m])))",
        "Prometheus 3 interpolates exponentially within exponential buckets (promql/quantile.go), 2.42 linearly",
    ),
    (
        "rpc_latency_seconds * 2",
        "2.42 returns the histogram unscaled; Prometheus 3 multiplies every count and the sum by the scalar",
    ),
    (
        "rpc_latency_seconds / 4",
        "2.42 returns the histogram unscaled; Prometheus 3 divides every count and the sum by the scalar",
    ),
    (
        "resets(rpc_latency_seconds[20m])",
        "2.42 counts float resets only (0 here); Prometheus 3 counts histogram counter resets",
    ),
    (
        "changes(rpc_latency_seconds[20m])",
        "2.42 sees no float changes (0); Prometheus 3 counts changed histograms",
    ),
    (
        "last_over_time(rpc_latency_seconds[5m])",
        "2.42 returns 0 for a histogram range; Prometheus 3 returns the last histogram",
    ),
];

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Absolute bucket counts by index -> spans and deltas.
fn spans_deltas(buckets: &BTreeMap<i32, u64>) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let mut prev_count = 0i64;
    let mut next: Option<i32> = None;
    for (&i, &c) in buckets {
        match next {
            Some(n) if n == i => {
                if let Some(s) = spans.last_mut() {
                    s.length += 1;
                }
            }
            Some(n) => spans.push(BucketSpan {
                offset: i - n,
                length: 1,
            }),
            None => spans.push(BucketSpan { offset: i, length: 1 }),
        }
        deltas.push(c as i64 - prev_count);
        prev_count = c as i64;
        next = Some(i + 1);
    }
    (spans, deltas)
}

/// One integer histogram sample.
fn int_histogram(
    t: i64,
    schema: i32,
    zero: u64,
    pos: &BTreeMap<i32, u64>,
    neg: &BTreeMap<i32, u64>,
    sum: f64,
) -> Histogram {
    let (ps, pd) = spans_deltas(pos);
    let (ns, nd) = spans_deltas(neg);
    let count = zero + pos.values().sum::<u64>() + neg.values().sum::<u64>();
    Histogram {
        count: Some(Count::CountInt(count)),
        sum,
        schema,
        zero_threshold: 0.001,
        zero_count: Some(ZeroCount::ZeroCountInt(zero)),
        negative_spans: ns,
        negative_deltas: nd,
        positive_spans: ps,
        positive_deltas: pd,
        timestamp: t,
        ..Default::default()
    }
}

/// One float histogram sample (absolute counts).
fn float_histogram(t: i64, schema: i32, zero: f64, pos: &BTreeMap<i32, f64>, sum: f64) -> Histogram {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut counts = Vec::new();
    let mut next: Option<i32> = None;
    for (&i, &c) in pos {
        match next {
            Some(n) if n == i => {
                if let Some(s) = spans.last_mut() {
                    s.length += 1;
                }
            }
            Some(n) => spans.push(BucketSpan {
                offset: i - n,
                length: 1,
            }),
            None => spans.push(BucketSpan { offset: i, length: 1 }),
        }
        counts.push(c);
        next = Some(i + 1);
    }
    Histogram {
        count: Some(Count::CountFloat(zero + pos.values().sum::<f64>())),
        sum,
        schema,
        zero_threshold: 0.001,
        zero_count: Some(ZeroCount::ZeroCountFloat(zero)),
        positive_spans: spans,
        positive_counts: counts,
        timestamp: t,
        ..Default::default()
    }
}

fn labels(name: &str, case: &str) -> Vec<Label> {
    vec![
        Label::new("__name__", name),
        Label::new("case", case),
        Label::new("job", "hist"),
    ]
}

/// The data: `steps` samples 15 s apart from `base_ms`, 1.234 s off the evaluation grid.
fn dataset(base_ms: i64, steps: i64) -> Vec<WriteRequest> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut series: Vec<TimeSeries> = ["grow", "reset", "late", "schema"]
        .iter()
        .map(|c| TimeSeries {
            labels: labels("rpc_latency_seconds", c),
            ..Default::default()
        })
        .collect();
    series.push(TimeSeries {
        labels: labels("rpc_size_bytes", "float"),
        ..Default::default()
    });
    let mut grow: (u64, BTreeMap<i32, u64>, BTreeMap<i32, u64>, f64) = Default::default();
    let mut reset = grow.clone();
    let mut late = grow.clone();
    let mut fine = grow.clone();
    let mut float_pos: BTreeMap<i32, f64> = BTreeMap::new();
    let mut float_zero = 0.0;
    let mut float_sum = 0.0;
    for step in 0..steps {
        let t = base_ms + step * 15_000 + 1234;
        // grow: schema 1, observations spread over positive, negative and zero buckets.
        for state in [&mut grow, &mut reset, &mut late] {
            for _ in 0..(3 + rng.below(5)) {
                match rng.below(10) {
                    0 => state.0 += 1,
                    1 | 2 => *state.2.entry(rng.below(4) as i32 - 1).or_insert(0) += 1,
                    _ => *state.1.entry(rng.below(8) as i32 - 2).or_insert(0) += 1,
                }
                state.3 += rng.below(100) as f64 / 10.0 - 2.0;
            }
        }
        series[0]
            .histograms
            .push(int_histogram(t, 1, grow.0, &grow.1, &grow.2, grow.3));
        // reset: the counter restarts two thirds of the way in.
        if step == steps * 2 / 3 {
            reset = Default::default();
            *reset.1.entry(0).or_insert(0) += 1;
            reset.3 = 0.5;
        }
        series[1]
            .histograms
            .push(int_histogram(t, 1, reset.0, &reset.1, &reset.2, reset.3));
        // late: only from the middle on.
        if step >= steps / 2 {
            series[2]
                .histograms
                .push(int_histogram(t, 1, late.0, &late.1, &late.2, late.3));
        }
        // schema: written at schema 2 for the first half, then at schema 1 (the same
        // observations at half the resolution), so aggregation over time meets two schemas.
        for _ in 0..4 {
            *fine.1.entry(rng.below(8) as i32).or_insert(0) += 1;
            fine.3 += 1.5;
        }
        if step < steps / 2 {
            series[3]
                .histograms
                .push(int_histogram(t, 2, 0, &fine.1, &BTreeMap::new(), fine.3));
        } else {
            let mut coarse: BTreeMap<i32, u64> = BTreeMap::new();
            for (&i, &c) in &fine.1 {
                *coarse.entry(((i - 1) >> 1) + 1).or_insert(0) += c;
            }
            series[3]
                .histograms
                .push(int_histogram(t, 1, 0, &coarse, &BTreeMap::new(), fine.3));
        }
        // float: schema 0, fractional counts (as a rate recorded by an agent would be).
        for _ in 0..3 {
            *float_pos.entry(rng.below(6) as i32).or_insert(0.0) += 0.25;
            float_sum += 0.75;
        }
        float_zero += 0.125;
        series[4]
            .histograms
            .push(float_histogram(t, 0, float_zero, &float_pos, float_sum));
    }
    series
        .into_iter()
        .map(|s| WriteRequest {
            timeseries: vec![s],
            ..Default::default()
        })
        .collect()
}

/// Query results reduced to comparable form: labels -> points, each a float or a histogram
/// as (count, sum, buckets).
fn normalise(v: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let data = &v["data"];
    let point = |p: &Value| -> String { format!("{} {}", p[0], p[1]) };
    let hist = |p: &Value| -> String {
        let h = &p[1];
        let buckets: Vec<String> = h["buckets"]
            .as_array()
            .map(|b| b.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default();
        format!(
            "{} h count={} sum={} buckets={}",
            p[0],
            h["count"],
            h["sum"],
            buckets.join(",")
        )
    };
    if data["resultType"] == "scalar" {
        out.insert(String::new(), vec![point(&data["result"])]);
        return out;
    }
    for s in data["result"].as_array().cloned().unwrap_or_default() {
        let mut pts = Vec::new();
        if let Some(p) = s.get("value") {
            pts.push(point(p));
        }
        if let Some(p) = s.get("histogram") {
            pts.push(hist(p));
        }
        for p in s["values"].as_array().cloned().unwrap_or_default() {
            pts.push(point(&p));
        }
        for p in s["histograms"].as_array().cloned().unwrap_or_default() {
            pts.push(hist(&p));
        }
        pts.sort();
        out.insert(s["metric"].to_string(), pts);
    }
    out
}

/// Whether two normalised points agree: the same text, or the same numbers within 1e-9
/// relative.
fn same_point(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let nums = |s: &str| -> Vec<String> {
        s.split(|c: char| {
            !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e' || c == '+' || c.is_alphabetic())
        })
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
    };
    let (x, y) = (nums(a), nums(b));
    x.len() == y.len()
        && x.iter().zip(&y).all(|(p, q)| {
            p == q
                || match (p.parse::<f64>(), q.parse::<f64>()) {
                    (Ok(p), Ok(q)) => (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1e-12),
                    _ => false,
                }
        })
}

fn difference(want: &BTreeMap<String, Vec<String>>, got: &BTreeMap<String, Vec<String>>) -> Option<String> {
    if want.keys().ne(got.keys()) {
        return Some(format!(
            "series {:?}, reference {:?}",
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        ));
    }
    for (k, w) in want {
        let g = &got[k];
        if w.len() != g.len() {
            return Some(format!("{k}: {} points, reference {}", g.len(), w.len()));
        }
        for (a, b) in w.iter().zip(g) {
            if !same_point(a, b) {
                return Some(format!("{k}: {b}\n      reference {a}"));
            }
        }
    }
    None
}

const QUERIES: &[&str] = &[
    "rpc_latency_seconds",
    "rpc_size_bytes",
    "histogram_count(rpc_latency_seconds)",
    "histogram_sum(rpc_latency_seconds)",
    "histogram_count(rpc_size_bytes)",
    "histogram_sum(rpc_size_bytes)",
    "histogram_quantile(0.5, rpc_latency_seconds)",
    "histogram_quantile(0.9, rpc_latency_seconds)",
    "histogram_quantile(0.01, rpc_latency_seconds)",
    "histogram_quantile(0.9, rpc_size_bytes)",
    "histogram_fraction(0, 1, rpc_latency_seconds)",
    "histogram_fraction(-1, 0.5, rpc_latency_seconds)",
    "rate(rpc_latency_seconds[5m])",
    "increase(rpc_latency_seconds[5m])",
    "histogram_count(rate(rpc_latency_seconds[5m]))",
    "histogram_sum(rate(rpc_latency_seconds[5m]))",
    "histogram_quantile(0.9, rate(rpc_latency_seconds[5m]))",
    "histogram_quantile(0.9, sum(rate(rpc_latency_seconds[5m])))",
    "histogram_quantile(0.5, sum by (job) (rate(rpc_latency_seconds[5m])))",
    "sum(rpc_latency_seconds)",
    "sum by (case) (rpc_latency_seconds)",
    "count(rpc_latency_seconds)",
    "rpc_latency_seconds * 2",
    "rpc_latency_seconds / 4",
    "resets(rpc_latency_seconds[20m])",
    "changes(rpc_latency_seconds[20m])",
    "count_over_time(rpc_latency_seconds[5m])",
    "last_over_time(rpc_latency_seconds[5m])",
    "rate(rpc_size_bytes[5m])",
];

/// Sextant and Prometheus 2.42 give the same answers over the same native histograms.
#[test]
fn native_histogram_queries_match_prometheus() {
    let reference = start_prometheus_with(&["--enable-feature=native-histograms"]);
    let dir = tempfile::tempdir().unwrap();
    let sextant = TestServer::builder(dir.path()).start();
    let steps = 120; // 30 min at 15 s
    let base_ms = (now_ms() - 40 * 60 * 1000) / 60_000 * 60_000;
    for req in dataset(base_ms, steps) {
        post_write(&reference.base, &req);
        post_write(&sextant.base, &req);
    }
    let end_s = (base_ms + (steps - 1) * 15_000) / 1000;
    let start_s = base_ms / 1000;
    let mut failures = Vec::new();
    let mut passed = 0;
    for q in QUERIES {
        let mut urls = Vec::new();
        for t in [start_s + 100, start_s + 905, end_s - 200, end_s] {
            urls.push(format!("/api/v1/query?query={}&time={t}", enc(q)));
        }
        urls.push(format!(
            "/api/v1/query_range?query={}&start={}&end={end_s}&step=60",
            enc(q),
            start_s + 60
        ));
        let differs = PROMETHEUS_3_DIFFERS.iter().any(|(d, _)| d == q);
        let mut bad = None;
        for u in &urls {
            let (ws, want) = get_json(&format!("{}{u}", reference.base));
            let (gs, got) = get_json(&sextant.url(u));
            if gs != 200 {
                bad = Some(format!("{u}: status {gs}: {got}"));
                break;
            }
            if differs {
                continue;
            }
            assert_eq!(ws, 200, "reference refused {u}: {want}");
            if let Some(d) = difference(&normalise(&want), &normalise(&got)) {
                bad = Some(format!("{u}: {d}"));
                break;
            }
        }
        match bad {
            None => passed += 1,
            Some(b) => failures.push(format!("{q}\n    {b}")),
        }
    }
    println!("{passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "differences from Prometheus:\n  {}",
        failures.join("\n  ")
    );
}
