//! Remote write through the push router into a real `storage::Db`.

use crate::push_support::{fixture, post, Fixture};
use bytes::Bytes;
use ingest::PushLimits;
use prompb::{
    histogram, BucketSpan, Exemplar, Histogram, Label, MetadataV2, RequestV2, Sample, TimeSeries,
    TimeSeriesV2, WriteRequest,
};
use prost::Message;
use storage::{is_stale_nan, MetricType, Queryable, STALE_NAN};

const V1: &[(&str, &str)] = &[
    ("content-type", "application/x-protobuf"),
    ("content-encoding", "snappy"),
    ("x-prometheus-remote-write-version", "0.1.0"),
];
const V2: &[(&str, &str)] = &[
    (
        "content-type",
        "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    ),
    ("content-encoding", "snappy"),
    ("x-prometheus-remote-write-version", "2.0.0"),
];

fn snappy(b: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(b).unwrap()
}

fn label(n: &str, v: &str) -> Label {
    Label {
        name: Bytes::copy_from_slice(n.as_bytes()),
        value: Bytes::copy_from_slice(v.as_bytes()),
    }
}

fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels.iter().map(|(n, v)| label(n, v)).collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
        exemplars: vec![],
        histograms: vec![],
    }
}

fn v1_body(ts: Vec<TimeSeries>) -> Vec<u8> {
    snappy(
        &WriteRequest {
            timeseries: ts,
            metadata: vec![],
        }
        .encode_to_vec(),
    )
}

#[tokio::test]
async fn prometheus_242_capture_is_stored_exactly() {
    let f = Fixture::new();
    let body = fixture("remote_write/prometheus-2.42_samples.snappy.bin");
    let (status, _, text) = f.send(post("/api/v1/write", V1, body.clone())).await;
    assert_eq!(status, 204, "{text}");

    // Decode the capture independently and compare every series and value.
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    let req = WriteRequest::decode(raw.as_slice()).unwrap();
    assert_eq!(req.timeseries.len(), 500);
    let stored = f.all();
    let mut want = std::collections::BTreeMap::new();
    for ts in &req.timeseries {
        let l = storage::Labels::from_pairs(ts.labels.iter().map(|l| {
            (
                String::from_utf8(l.name.to_vec()).unwrap(),
                String::from_utf8(l.value.to_vec()).unwrap(),
            )
        }));
        assert_eq!(l.get("fixture"), Some("local"), "external label on {l}");
        let e: &mut Vec<(i64, u64)> = want.entry(l).or_default();
        for s in &ts.samples {
            e.push((s.timestamp, s.value.to_bits()));
        }
    }
    assert_eq!(stored.len(), want.len());
    for s in &stored {
        let got: Vec<(i64, u64)> = s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect();
        assert_eq!(Some(&got), want.get(&s.labels), "series {}", s.labels);
    }
    // A spot check that does not depend on the decoder.
    assert!(stored
        .iter()
        .any(|s| s.labels.metric_name() == Some("node_cpu_seconds_total")
            && s.labels.get("mode") == Some("idle")));
}

#[tokio::test]
async fn prometheus_242_metadata_is_kept() {
    let f = Fixture::new();
    let body = fixture("remote_write/prometheus-2.42_metadata.snappy.bin");
    let (status, _, text) = f.send(post("/api/v1/write", V1, body)).await;
    assert_eq!(status, 204, "{text}");
    assert!(f.all().is_empty(), "metadata-only request stores no samples");
    let md = f.db.metadata();
    assert!(md.len() > 400, "{} families", md.len());
    let cpu = &md["node_cpu_seconds_total"][0];
    assert_eq!(cpu.metric_type, MetricType::Counter);
    assert!(cpu.help.contains("CPU"), "{}", cpu.help);
    assert_eq!(md["node_load1"][0].metric_type, MetricType::Gauge);
}

#[tokio::test]
async fn native_histograms_are_stored_as_histograms() {
    let f = Fixture::new();
    let base = [("__name__", "rpc_seconds"), ("job", "api")];
    // Integer exponential histogram, schema 0: positive buckets 0 and 1 (upper bounds 1, 2),
    // zero bucket 1 observation.
    let mut exp = series(&base, &[]);
    exp.histograms.push(Histogram {
        count: Some(histogram::Count::CountInt(6)),
        sum: 7.5,
        schema: 0,
        zero_threshold: 0.001,
        zero_count: Some(histogram::ZeroCount::ZeroCountInt(1)),
        positive_spans: vec![BucketSpan { offset: 0, length: 2 }],
        positive_deltas: vec![2, 1], // 2, 3
        timestamp: 1000,
        ..Default::default()
    });
    // Float histogram with custom buckets (schema -53).
    let mut custom = series(&[("__name__", "size_bytes"), ("job", "api")], &[]);
    custom.histograms.push(Histogram {
        count: Some(histogram::Count::CountFloat(5.0)),
        sum: 1234.0,
        schema: -53,
        positive_spans: vec![
            BucketSpan { offset: 0, length: 1 },
            BucketSpan { offset: 1, length: 1 },
        ],
        positive_counts: vec![1.0, 3.0],
        custom_values: vec![100.0, 500.0, 1000.0],
        timestamp: 1000,
        ..Default::default()
    });
    // An integer histogram whose count is not its buckets' sum is refused, naming the series.
    let mut bad = series(&[("__name__", "bad_seconds"), ("job", "api")], &[]);
    bad.histograms.push(Histogram {
        count: Some(histogram::Count::CountInt(9)),
        sum: 1.0,
        schema: 0,
        positive_spans: vec![BucketSpan { offset: 0, length: 1 }],
        positive_deltas: vec![2],
        timestamp: 1000,
        ..Default::default()
    });
    let (status, _, text) = f
        .send(post("/api/v1/write", V1, v1_body(vec![exp, custom, bad])))
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("bad_seconds") && text.contains("2 observations found in buckets, but the count is 9"),
        "{text}"
    );
    let names = f.names();
    assert_eq!(
        names.len(),
        2,
        "one series per histogram, the bad one left out: {names:?}"
    );
    let h = f.histograms(r#"rpc_seconds{job="api"}"#);
    assert_eq!(h.len(), 1, "{names:?}");
    assert_eq!(h[0].t, 1000);
    assert_eq!((h[0].h.count, h[0].h.sum, h[0].h.zero_count), (6.0, 7.5, 1.0));
    assert_eq!(h[0].h.positive_buckets, vec![2.0, 3.0]);
    assert_eq!(h[0].h.zero_threshold, 0.001);
    assert!(
        f.series(r#"rpc_seconds{job="api"}"#).is_empty(),
        "no float samples"
    );
    let c = f.histograms(r#"size_bytes{job="api"}"#);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].h.schema, -53);
    assert_eq!(c[0].h.custom_values, vec![100.0, 500.0, 1000.0]);
    assert_eq!(c[0].h.positive_buckets, vec![1.0, 3.0]);
    assert_eq!(c[0].h.count, 5.0);
}

#[tokio::test]
async fn v2_request_with_symbols_metadata_and_created_timestamp() {
    let f = Fixture::new();
    let symbols: Vec<Bytes> = [
        "",
        "__name__",
        "http_requests_total",
        "job",
        "api",
        "Requests served.",
        "temp_celsius",
        "celsius",
        "trace_id",
        "abc",
        "latency_seconds",
    ]
    .iter()
    .map(|s| Bytes::from_static(s.as_bytes()))
    .collect();
    let req = RequestV2 {
        symbols,
        timeseries: vec![
            TimeSeriesV2 {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![Sample {
                    value: 10.0,
                    timestamp: 2000,
                }],
                histograms: vec![],
                exemplars: vec![prompb::ExemplarV2 {
                    labels_refs: vec![8, 9],
                    value: 1.0,
                    timestamp: 2000,
                }],
                metadata: Some(MetadataV2 {
                    r#type: 1,
                    help_ref: 5,
                    unit_ref: 0,
                }),
                created_timestamp: 1000,
            },
            TimeSeriesV2 {
                labels_refs: vec![1, 6, 3, 4],
                samples: vec![
                    Sample {
                        value: 21.5,
                        timestamp: 2000,
                    },
                    Sample {
                        value: STALE_NAN,
                        timestamp: 3000,
                    },
                ],
                metadata: Some(MetadataV2 {
                    r#type: 2,
                    help_ref: 0,
                    unit_ref: 7,
                }),
                ..Default::default()
            },
            TimeSeriesV2 {
                labels_refs: vec![1, 10, 3, 4],
                histograms: vec![Histogram {
                    count: Some(histogram::Count::CountInt(2)),
                    sum: 0.75,
                    schema: 1,
                    positive_spans: vec![BucketSpan {
                        offset: -1,
                        length: 2,
                    }],
                    positive_deltas: vec![1, 0],
                    timestamp: 2000,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    };
    let (status, headers, text) = f
        .send(post("/api/v1/write", V2, snappy(&req.encode_to_vec())))
        .await;
    assert_eq!(status, 204, "{text}");
    assert_eq!(headers["x-prometheus-remote-write-samples-written"], "3");
    assert_eq!(headers["x-prometheus-remote-write-histograms-written"], "1");
    assert_eq!(headers["x-prometheus-remote-write-exemplars-written"], "1");
    let ex =
        f.db.select_exemplars(0, i64::MAX, &[vec![storage::Matcher::equal("job", "api")]])
            .unwrap();
    assert_eq!(ex.len(), 1, "{ex:?}");
    assert_eq!(
        ex[0].series_labels.to_string(),
        r#"http_requests_total{job="api"}"#
    );
    assert_eq!(ex[0].exemplars[0].labels.to_string(), r#"{trace_id="abc"}"#);
    assert_eq!((ex[0].exemplars[0].value, ex[0].exemplars[0].t), (1.0, 2000));
    assert_eq!(
        f.series(r#"http_requests_total{job="api"}"#),
        vec![(1000, 0.0), (2000, 10.0)],
        "created timestamp gives a zero sample"
    );
    let temp = f.series(r#"temp_celsius{job="api"}"#);
    assert_eq!(temp[0], (2000, 21.5));
    assert!(is_stale_nan(temp[1].1), "staleness marker kept bit-exact");
    // schema 1: bucket -1 upper bound 2^(-1/2), bucket 0 upper bound 1; stored as one
    // native histogram.
    let h = f.histograms(r#"latency_seconds{job="api"}"#);
    assert_eq!(h.len(), 1, "{:?}", f.names());
    assert_eq!((h[0].t, h[0].h.count, h[0].h.sum), (2000, 2.0, 0.75));
    let b = h[0].h.buckets();
    assert_eq!(b.len(), 2);
    assert!(
        (b[0].upper - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15,
        "{b:?}"
    );
    assert_eq!((b[1].upper, b[1].count), (1.0, 1.0));
    let md = f.db.metadata();
    assert_eq!(md["http_requests_total"][0].metric_type, MetricType::Counter);
    assert_eq!(md["http_requests_total"][0].help, "Requests served.");
    assert_eq!(md["temp_celsius"][0].unit, "celsius");
}

#[tokio::test]
async fn invalid_series_are_refused_alone() {
    let f = Fixture::new();
    let mut bad_utf8 = series(&[("__name__", "x")], &[(1, 1.0)]);
    bad_utf8.labels.push(Label {
        name: Bytes::from_static(b"l"),
        value: Bytes::from_static(&[0xff, 0xfe]),
    });
    let mut with_exemplar = series(&[("__name__", "good"), ("job", "a")], &[(1000, 1.0)]);
    with_exemplar.exemplars.push(Exemplar {
        labels: vec![label("trace_id", "t")],
        value: 1.0,
        timestamp: 1000,
    });
    let body = v1_body(vec![
        with_exemplar,
        series(&[("__name__", "dup"), ("a", "1"), ("a", "2")], &[(1000, 1.0)]),
        series(&[("job", "noname")], &[(1000, 1.0)]),
        series(&[("__name__", "empty"), ("", "v")], &[(1000, 1.0)]),
        bad_utf8,
        // Unsorted labels are sorted, as Prometheus does.
        series(&[("job", "b"), ("__name__", "good")], &[(1000, 2.0)]),
    ]);
    let (status, _, text) = f.send(post("/api/v1/write", V1, body)).await;
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains(r#"duplicate label name "a""#) && text.contains("dup{"),
        "{text}"
    );
    assert!(text.contains("and 3 more problems"), "{text}");
    assert_eq!(
        f.names(),
        vec![r#"good{job="a"}"#.to_string(), r#"good{job="b"}"#.to_string()]
    );
}

#[tokio::test]
async fn v1_exemplars_are_stored_duplicates_ignored_and_out_of_order_dropped() {
    let f = Fixture::new();
    let with = |samples: &[(i64, f64)], ex: &[(&str, f64, i64)]| {
        let mut s = series(&[("__name__", "rpc_total"), ("job", "api")], samples);
        s.exemplars = ex
            .iter()
            .map(|&(trace, value, timestamp)| Exemplar {
                labels: vec![label("trace_id", trace), label("span_id", "s1")],
                value,
                timestamp,
            })
            .collect();
        s
    };
    let body = v1_body(vec![with(&[(1000, 1.0)], &[("a", 0.5, 900), ("b", 0.7, 1000)])]);
    let (status, _, text) = f.send(post("/api/v1/write", V1, body)).await;
    assert_eq!(status, 204, "{text}");
    // Resent (as a sender does with the same exemplar) plus one out of order: both are
    // dropped without failing the request or the samples.
    let body = v1_body(vec![with(&[(2000, 2.0)], &[("b", 0.7, 1000), ("c", 0.9, 950)])]);
    let (status, _, text) = f.send(post("/api/v1/write", V1, body)).await;
    assert_eq!(status, 204, "{text}");
    assert_eq!(
        f.series(r#"rpc_total{job="api"}"#),
        vec![(1000, 1.0), (2000, 2.0)]
    );
    let got =
        f.db.select_exemplars(
            0,
            i64::MAX,
            &[vec![storage::Matcher::equal("__name__", "rpc_total")]],
        )
        .unwrap();
    assert_eq!(got.len(), 1);
    let e: Vec<(String, f64, i64)> = got[0]
        .exemplars
        .iter()
        .map(|e| (e.labels.to_string(), e.value, e.t))
        .collect();
    assert_eq!(
        e,
        vec![
            (r#"{span_id="s1", trace_id="a"}"#.to_string(), 0.5, 900),
            (r#"{span_id="s1", trace_id="b"}"#.to_string(), 0.7, 1000),
        ]
    );
    // Time range filter.
    let got =
        f.db.select_exemplars(950, 2000, &[vec![storage::Matcher::equal("job", "api")]])
            .unwrap();
    assert_eq!(got[0].exemplars.len(), 1);
}

#[tokio::test]
async fn out_of_order_samples_are_a_client_error_and_keep_stored_data() {
    let f = Fixture::new();
    let ok = v1_body(vec![series(&[("__name__", "m")], &[(2000, 1.0), (3000, 2.0)])]);
    assert_eq!(f.send(post("/api/v1/write", V1, ok)).await.0, 204);
    let old = v1_body(vec![
        series(&[("__name__", "m")], &[(1000, 9.0)]),
        series(&[("__name__", "n")], &[(1000, 5.0)]),
    ]);
    let (status, _, text) = f.send(post("/api/v1/write", V1, old)).await;
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("series m") && text.contains("out of order"),
        "{text}"
    );
    assert_eq!(f.series("m"), vec![(2000, 1.0), (3000, 2.0)]);
    assert_eq!(f.series("n"), vec![(1000, 5.0)]);
}

#[tokio::test]
async fn corrupt_bodies_get_the_right_status_and_store_nothing() {
    let f = Fixture::new();
    let good = v1_body(vec![series(&[("__name__", "kept")], &[(1000, 1.0)])]);
    assert_eq!(f.send(post("/api/v1/write", V1, good.clone())).await.0, 204);

    // Truncated snappy.
    let (s, _, t) = f
        .send(post("/api/v1/write", V1, good[..good.len() - 3].to_vec()))
        .await;
    assert_eq!(s, 400, "{t}");
    assert!(t.contains("snappy"), "{t}");
    // Valid snappy, protobuf garbage.
    let (s, _, t) = f
        .send(post(
            "/api/v1/write",
            V1,
            snappy(&[0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]),
        ))
        .await;
    assert_eq!(s, 400, "{t}");
    assert!(t.contains("prometheus.WriteRequest"), "{t}");
    // A snappy bomb: the declared length is 4 GiB.
    let (s, _, t) = f
        .send(post(
            "/api/v1/write",
            V1,
            vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x00],
        ))
        .await;
    assert_eq!(s, 413, "{t}");
    assert!(t.contains("declared length"), "{t}");
    // Wrong content type and encoding.
    let (s, _, t) = f
        .send(post(
            "/api/v1/write",
            &[("content-type", "application/json")],
            good.clone(),
        ))
        .await;
    assert_eq!(s, 415, "{t}");
    let (s, _, t) = f
        .send(post(
            "/api/v1/write",
            &[(
                "content-type",
                "application/x-protobuf;proto=io.prometheus.write.v3.Request",
            )],
            good.clone(),
        ))
        .await;
    assert_eq!(s, 415, "{t}");
    let (s, _, _) = f
        .send(post(
            "/api/v1/write",
            &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "gzip"),
            ],
            good.clone(),
        ))
        .await;
    assert_eq!(s, 415);
    // v2 symbols table not starting with "".
    let bad_v2 = RequestV2 {
        symbols: vec![Bytes::from_static(b"x")],
        timeseries: vec![],
    };
    let (s, _, t) = f
        .send(post("/api/v1/write", V2, snappy(&bad_v2.encode_to_vec())))
        .await;
    assert_eq!(s, 400, "{t}");
    assert!(t.contains("symbols[0]"), "{t}");

    assert_eq!(f.names(), vec!["kept".to_string()]);
    assert_eq!(f.series("kept"), vec![(1000, 1.0)]);
}

#[tokio::test]
async fn limits_are_enforced() {
    let f = Fixture::with_limits(PushLimits {
        max_body_bytes: 200,
        max_decompressed_bytes: 1000,
        max_series_per_request: 2,
        max_label_value_bytes: 8,
        ..PushLimits::default()
    });
    let big = vec![0u8; 201];
    let (s, _, t) = f.send(post("/api/v1/write", V1, big)).await;
    assert_eq!(s, 413, "{t}");
    assert!(
        t.contains("request body of 201 bytes exceeds the limit of 200"),
        "{t}"
    );
    let three = v1_body(vec![
        series(&[("__name__", "a")], &[(1, 1.0)]),
        series(&[("__name__", "b")], &[(1, 1.0)]),
        series(&[("__name__", "c")], &[(1, 1.0)]),
    ]);
    let (s, _, t) = f.send(post("/api/v1/write", V1, three)).await;
    assert_eq!(s, 413, "{t}");
    assert!(t.contains("3 series"), "{t}");
    let long = v1_body(vec![
        series(&[("__name__", "a"), ("v", "123456789")], &[(1, 1.0)]),
        series(&[("__name__", "b")], &[(1, 1.0)]),
    ]);
    let (s, _, t) = f.send(post("/api/v1/write", V1, long)).await;
    assert_eq!(s, 400, "{t}");
    assert!(t.contains("label \"v\" has 9 bytes"), "{t}");
    assert_eq!(f.names(), vec!["b".to_string()]);
}

#[tokio::test]
async fn repeated_requests_reuse_validated_series() {
    let f = Fixture::new();
    for (t, v) in [(1000, 1.0), (2000, 2.0), (3000, 3.0)] {
        let body = v1_body(vec![
            series(&[("__name__", "a"), ("job", "x")], &[(t, v)]),
            // unsorted as sent, sorted when stored
            series(&[("job", "x"), ("__name__", "b")], &[(t, v * 10.0)]),
            series(&[("__name__", "bad"), ("a", "1"), ("a", "1")], &[(t, v)]),
        ]);
        let (s, _, text) = f.send(post("/api/v1/write", V1, body)).await;
        assert_eq!(s, 400, "{text}");
        assert!(
            text.contains("duplicate label name"),
            "the bad series is refused every time: {text}"
        );
        let req = RequestV2 {
            symbols: ["", "__name__", "c", "job", "x"]
                .iter()
                .map(|s| Bytes::from_static(s.as_bytes()))
                .collect(),
            timeseries: vec![TimeSeriesV2 {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![Sample {
                    value: v,
                    timestamp: t,
                }],
                ..Default::default()
            }],
        };
        let (s, _, text) = f
            .send(post("/api/v1/write", V2, snappy(&req.encode_to_vec())))
            .await;
        assert_eq!(s, 204, "{text}");
    }
    assert_eq!(
        f.series(r#"a{job="x"}"#),
        vec![(1000, 1.0), (2000, 2.0), (3000, 3.0)]
    );
    assert_eq!(
        f.series(r#"b{job="x"}"#),
        vec![(1000, 10.0), (2000, 20.0), (3000, 30.0)]
    );
    assert_eq!(
        f.series(r#"c{job="x"}"#),
        vec![(1000, 1.0), (2000, 2.0), (3000, 3.0)]
    );
    assert_eq!(f.names().len(), 3);
}
