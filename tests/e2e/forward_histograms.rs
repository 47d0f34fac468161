//! Native histograms forwarded (`send_native_histograms: true`): remote-written into one
//! Sextant, relayed by remote write 1.0 to Debian's Prometheus 2.42 (run with
//! `--enable-feature=native-histograms`) and by remote write 2.0 to a second Sextant; what
//! each receiver answers for `histogram_count`, `histogram_sum` and the buckets must be what
//! was written. A queue left at the default (`false`) sends no histogram, as Prometheus'.
//!
//! Custom-bucket histograms (schema -53) are newer than 2.42, which refuses them: the
//! Prometheus queue drops that series by `write_relabel_configs`; the second Sextant gets it.

use crate::reference::start_prometheus_with;
use crate::support::*;
use prompb::histogram::{Count, ZeroCount};
use prompb::{BucketSpan, Histogram, Label, TimeSeries, WriteRequest};
use serde_json::Value;
use std::time::{Duration, Instant};

const STEPS: i64 = 20;
const STEP_MS: i64 = 15_000;

fn labels(name: &str) -> Vec<Label> {
    vec![Label::new("__name__", name), Label::new("job", "fwdh")]
}

/// Step `j` of each series: an integer histogram (negative, zero and positive buckets), a
/// float histogram, a custom-bucket one; counts grow with `j`.
fn histograms_at(j: i64, t: i64) -> [(&'static str, Histogram); 3] {
    let k = j as u64 + 1;
    let int = Histogram {
        count: Some(Count::CountInt(6 * k)),
        sum: 3.5 * k as f64,
        schema: 1,
        zero_threshold: 0.001,
        zero_count: Some(ZeroCount::ZeroCountInt(k)),
        negative_spans: vec![BucketSpan { offset: 1, length: 1 }],
        negative_deltas: vec![k as i64],
        positive_spans: vec![
            BucketSpan {
                offset: -1,
                length: 2,
            },
            BucketSpan { offset: 2, length: 1 },
        ],
        positive_deltas: vec![k as i64, 0, k as i64],
        timestamp: t,
        ..Default::default()
    };
    let f = k as f64 + 0.25;
    let float = Histogram {
        count: Some(Count::CountFloat(3.0 * f)),
        sum: 10.0 * f,
        schema: 0,
        zero_threshold: 0.001,
        zero_count: Some(ZeroCount::ZeroCountFloat(f)),
        positive_spans: vec![BucketSpan { offset: 0, length: 2 }],
        positive_counts: vec![f, f],
        timestamp: t,
        ..Default::default()
    };
    let custom = Histogram {
        count: Some(Count::CountInt(3 * k)),
        sum: 0.7 * k as f64,
        schema: -53,
        positive_spans: vec![BucketSpan { offset: 0, length: 3 }],
        positive_deltas: vec![k as i64, 0, 0],
        custom_values: vec![0.1, 0.5],
        timestamp: t,
        ..Default::default()
    };
    [("fwdh_int", int), ("fwdh_float", float), ("fwdh_custom", custom)]
}

/// Expected `histogram_count` and `histogram_sum` of `name` at step `j`.
fn expected(name: &str, j: i64) -> (f64, f64) {
    let k = (j + 1) as f64;
    match name {
        "fwdh_int" => (6.0 * k, 3.5 * k),
        "fwdh_float" => (3.0 * (k + 0.25), 10.0 * (k + 0.25)),
        _ => (3.0 * k, 0.7 * k),
    }
}

fn push(server: &TestServer, base: i64) {
    let mut req = WriteRequest::default();
    for name in ["fwdh_int", "fwdh_float", "fwdh_custom"] {
        req.timeseries.push(TimeSeries {
            labels: labels(name),
            ..Default::default()
        });
    }
    for j in 0..STEPS {
        for (i, (_, h)) in histograms_at(j, base + j * STEP_MS).into_iter().enumerate() {
            req.timeseries[i].histograms.push(h);
        }
    }
    let (s, b) = remote_write(server, &req);
    assert!(s == 204 || s == 200, "push failed: {s} {b}");
}

/// `query` over the written range on `base` (a Prometheus API), as one (t, value) list.
fn range_values(base: &str, query: &str, start_ms: i64) -> Vec<(i64, f64)> {
    let url = format!(
        "{base}/api/v1/query_range?query={}&start={}&end={}&step=15",
        enc(query),
        start_ms as f64 / 1000.0,
        (start_ms + (STEPS - 1) * STEP_MS) as f64 / 1000.0
    );
    let (s, v) = get_json(&url);
    assert_eq!(s, 200, "{base} {query}: {v}");
    let Some(r) = v["data"]["result"].as_array().and_then(|r| r.first()) else {
        return Vec::new();
    };
    r["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                p[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// The instant histogram of `name` at `t_ms` (`{count, sum, buckets}` as the API renders it).
fn instant_histogram(base: &str, name: &str, t_ms: i64) -> Value {
    let url = format!("{base}/api/v1/query?query={name}&time={}", t_ms as f64 / 1000.0);
    let (s, v) = get_json(&url);
    assert_eq!(s, 200, "{v}");
    v["data"]["result"][0]["histogram"][1].clone()
}

/// Asserts two rendered histograms agree: count, sum, each bucket's boundary rule and count
/// exactly, its bounds to 1e-12 (Prometheus 2.42 computes exponential bounds with a different
/// float formula, off in the last digit).
#[track_caller]
fn same_buckets(got: &Value, want: &Value, what: &str) {
    let num = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN);
    assert_eq!(got["count"], want["count"], "{what}: count");
    assert_eq!(got["sum"], want["sum"], "{what}: sum");
    let (g, w) = (
        got["buckets"].as_array().unwrap(),
        want["buckets"].as_array().unwrap(),
    );
    assert_eq!(g.len(), w.len(), "{what}: buckets {got} vs {want}");
    for (a, b) in g.iter().zip(w) {
        assert_eq!(a[0], b[0], "{what}: boundary rule {a} vs {b}");
        assert_eq!(a[3], b[3], "{what}: bucket count {a} vs {b}");
        for i in [1, 2] {
            let (x, y) = (num(&a[i]), num(&b[i]));
            assert!(
                (x - y).abs() <= 1e-12 * y.abs().max(1e-300),
                "{what}: bound {a} vs {b}"
            );
        }
    }
}

fn metric(server: &TestServer, metric: &str, queue: &str) -> f64 {
    let (_, body) = http_get(&server.url("/metrics")).unwrap();
    let prefix = format!("{metric}{{remote_name=\"{queue}\",");
    String::from_utf8(body)
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1.0)
}

#[test]
fn native_histograms_reach_prometheus_by_v1_and_sextant_by_v2() {
    let prom = start_prometheus_with(&["--enable-feature=native-histograms"]);
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = TestServer::builder(sink_dir.path()).start();
    let off_dir = tempfile::tempdir().unwrap();
    let off = TestServer::builder(off_dir.path()).start();
    let dir = tempfile::tempdir().unwrap();
    let queue = "queue_config: {batch_send_deadline: 100ms, max_samples_per_send: 7, min_backoff: 20ms, max_backoff: 300ms}";
    let cfg = dir.path().join("sextant.yml");
    std::fs::write(
        &cfg,
        format!(
            "scrape_configs: []\nremote_write:\n\
             - url: {}/api/v1/write\n  name: prom\n  send_native_histograms: true\n  {queue}\n  write_relabel_configs:\n    - {{source_labels: [__name__], regex: fwdh_custom, action: drop}}\n\
             - url: {}\n  name: sink\n  protobuf_message: io.prometheus.write.v2.Request\n  send_native_histograms: true\n  {queue}\n\
             - url: {}\n  name: off\n  {queue}\n",
            prom.base,
            sink.url("/api/v1/write"),
            off.url("/api/v1/write"),
        ),
    )
    .unwrap();
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    let base = (now_ms() - 10 * 60 * 1000) / 1000 * 1000;
    push(&server, base);
    let sent = |q: &str| metric(&server, "prometheus_remote_storage_histograms_total", q);
    let deadline = Instant::now() + Duration::from_secs(60);
    while sent("prom") < (2 * STEPS) as f64 || sent("sink") < (3 * STEPS) as f64 {
        assert!(
            Instant::now() < deadline,
            "histograms sent: prom {}, sink {}",
            sent("prom"),
            sent("sink")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sent("prom"), (2 * STEPS) as f64, "no duplicates");
    assert_eq!(sent("sink"), (3 * STEPS) as f64);
    for q in ["prom", "sink"] {
        assert_eq!(
            metric(&server, "prometheus_remote_storage_histograms_failed_total", q),
            0.0
        );
    }
    let receivers: [(&str, &str, &[&str]); 2] = [
        ("Prometheus 2.42 (1.0)", &prom.base, &["fwdh_int", "fwdh_float"]),
        (
            "Sextant (2.0)",
            &sink.base,
            &["fwdh_int", "fwdh_float", "fwdh_custom"],
        ),
    ];
    for (what, url, names) in receivers {
        for name in names {
            let want_count: Vec<(i64, f64)> = (0..STEPS)
                .map(|j| (base + j * STEP_MS, expected(name, j).0))
                .collect();
            let want_sum: Vec<(i64, f64)> = (0..STEPS)
                .map(|j| (base + j * STEP_MS, expected(name, j).1))
                .collect();
            let got_sum = range_values(url, &format!("histogram_sum({name})"), base);
            let close = got_sum.len() == want_sum.len()
                && got_sum
                    .iter()
                    .zip(&want_sum)
                    .all(|(a, b)| a.0 == b.0 && (a.1 - b.1).abs() < 1e-9 * b.1.abs().max(1.0));
            assert_eq!(
                range_values(url, &format!("histogram_count({name})"), base),
                want_count,
                "{what}: histogram_count({name})"
            );
            assert!(
                close,
                "{what}: histogram_sum({name}): got {got_sum:?}, want {want_sum:?}"
            );
        }
    }
    // The buckets, as each receiver renders them, agree with the source Sextant's.
    for name in ["fwdh_int", "fwdh_float"] {
        for j in [0, STEPS / 2, STEPS - 1] {
            let t = base + j * STEP_MS;
            let local = instant_histogram(&server.base, name, t);
            assert!(
                local["buckets"].as_array().is_some_and(|b| !b.is_empty()),
                "{local}"
            );
            same_buckets(
                &instant_histogram(&prom.base, name, t),
                &local,
                &format!("Prometheus: {name} at step {j}"),
            );
            assert_eq!(
                instant_histogram(&sink.base, name, t),
                local,
                "Sextant (2.0): {name} at step {j}"
            );
        }
    }
    let local = instant_histogram(&server.base, "fwdh_custom", base);
    assert_eq!(
        instant_histogram(&sink.base, "fwdh_custom", base),
        local,
        "custom buckets over 2.0"
    );
    // The queue left at send_native_histograms: false sent none.
    assert_eq!(sent("off"), 0.0);
    assert_eq!(
        range_values(&off.base, "histogram_count(fwdh_int)", base),
        Vec::new()
    );
}
