//! `/federate` scraped by a real Prometheus: Debian's 2.42 with
//! `--enable-feature=native-histograms` asks for the protobuf format and must store the
//! native histograms Sextant federates exactly as Sextant holds them (same JSON answer, bucket
//! by bucket); one without the flag asks for text and gets the floats, with `instance=""`
//! dropping out under `honor_labels` as in Prometheus-to-Prometheus federation.
//!
//! 2.42 recognises a protobuf histogram with float counts as native only when its zero
//! threshold is positive (`isNativeHistogram` in its `protobufparse.go`), so the histograms
//! here have one, as client libraries' histograms do.

use crate::reference::{post_write, start_prometheus_config};
use crate::support::*;
use prompb::histogram::{Count, ZeroCount};
use prompb::{BucketSpan, Histogram, Label, Sample, TimeSeries, WriteRequest};
use serde_json::Value;
use std::time::{Duration, Instant};

fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
    pairs.iter().map(|(n, v)| Label::new(n, v)).collect()
}

/// The data, all within the federation lookback: an integer histogram at schema 3 with
/// negative, zero and positive buckets; a float histogram at schema 7; a float series
/// without `instance`.
fn data(t: i64) -> WriteRequest {
    let int = |t: i64, k: u64| Histogram {
        count: Some(Count::CountInt(10 * k)),
        sum: 3.75 * k as f64,
        schema: 3,
        zero_threshold: 0.001,
        zero_count: Some(ZeroCount::ZeroCountInt(k)),
        negative_spans: vec![BucketSpan {
            offset: -3,
            length: 2,
        }],
        negative_deltas: vec![k as i64, 0],
        positive_spans: vec![
            BucketSpan { offset: 1, length: 3 },
            BucketSpan { offset: 5, length: 1 },
        ],
        positive_deltas: vec![k as i64, k as i64, -(k as i64), 2 * k as i64],
        timestamp: t,
        ..Default::default()
    };
    let float = Histogram {
        count: Some(Count::CountFloat(6.5)),
        sum: 41.25,
        schema: 7,
        zero_threshold: 2f64.powi(-128),
        zero_count: Some(ZeroCount::ZeroCountFloat(0.5)),
        positive_spans: vec![
            BucketSpan {
                offset: 37,
                length: 2,
            },
            BucketSpan {
                offset: 250,
                length: 1,
            },
        ],
        positive_counts: vec![1.25, 2.75, 2.0],
        timestamp: t,
        ..Default::default()
    };
    WriteRequest {
        timeseries: vec![
            TimeSeries {
                labels: labels(&[
                    ("__name__", "fed_latency_seconds"),
                    ("instance", "app:1"),
                    ("job", "app"),
                ]),
                histograms: vec![int(t - 30_000, 1), int(t, 2)],
                ..Default::default()
            },
            TimeSeries {
                labels: labels(&[("__name__", "fed_ratio"), ("job", "app")]),
                histograms: vec![float],
                ..Default::default()
            },
            TimeSeries {
                labels: labels(&[("__name__", "fed_gauge"), ("job", "app")]),
                samples: vec![Sample {
                    value: 0.29,
                    timestamp: t,
                }],
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

fn federating_config(target: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n    params:\n      'match[]': ['{{__name__=~\"fed_.*\"}}']\n    static_configs:\n      - targets: ['{target}']\n"
    )
}

/// The `result` of an instant query at `t_ms`.
fn result(base: &str, query: &str, t_ms: i64) -> Value {
    let (s, body) = get_json(&format!(
        "{base}/api/v1/query?query={}&time={}",
        enc(query),
        t_ms as f64 / 1000.0
    ));
    assert_eq!(s, 200, "{base}: {query}: {body}");
    body["data"]["result"].clone()
}

/// Waits until `query` at `t_ms` has data on `base`.
fn wait_for(base: &str, query: &str, t_ms: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = result(base, query, t_ms);
        if r.as_array().is_some_and(|a| !a.is_empty()) {
            return r;
        }
        assert!(Instant::now() < deadline, "{base} never federated {query}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn prometheus_federates_native_histograms_from_sextant() {
    let dir = tempfile::tempdir().unwrap();
    let sextant = TestServer::builder(dir.path()).start();
    let t = now_ms() - 20_000;
    post_write(&sextant.base, &data(t));
    let target = sextant.base.trim_start_matches("http://").to_string();
    let native = start_prometheus_config(
        &federating_config(&target),
        &["--enable-feature=native-histograms"],
    );
    let classic = start_prometheus_config(&federating_config(&target), &[]);

    // Protobuf: the histograms arrive whole, the float too.
    for q in ["fed_latency_seconds", "fed_ratio", "fed_gauge"] {
        let got = wait_for(&native.base, q, t);
        let want = result(&sextant.base, q, t);
        assert_eq!(got, want, "{q} federated in protobuf");
    }
    let h = &result(&sextant.base, "fed_latency_seconds", t)[0]["histogram"][1];
    assert_eq!(h["count"], "20");
    // The federated series' labels lost the empty instance (honor_labels).
    let g = result(&native.base, "fed_gauge", t);
    assert_eq!(g[0]["metric"]["instance"], Value::Null);
    // The previous histogram sample is not federated: only the newest is.
    assert_eq!(
        result(&native.base, "fed_latency_seconds", t - 30_000)
            .as_array()
            .map(Vec::len),
        Some(0)
    );

    // Text: the float arrives; exponential histograms cannot be written in text.
    let got = wait_for(&classic.base, "fed_gauge", t);
    assert_eq!(got, result(&sextant.base, "fed_gauge", t));
    let (_, up) = get_json(&format!("{}/api/v1/query?query=up", classic.base));
    assert_eq!(
        up["data"]["result"][0]["value"][1], "1",
        "text scrape failed: {up}"
    );
    for q in [
        "fed_latency_seconds",
        "fed_ratio",
        "{__name__=~\"fed_latency_seconds_.*\"}",
    ] {
        assert_eq!(
            result(&classic.base, q, t).as_array().map(Vec::len),
            Some(0),
            "{q} in text"
        );
    }
}
