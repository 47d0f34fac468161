//! OTLP through the push router (HTTP) and the gRPC service into a real `storage::Db`, with
//! the captures of real OpenTelemetry SDKs in `tests/fixtures/otlp/`.

use crate::push_support::{fixture, post, Fixture};
use ingest::otlp::{otlp_grpc_router, otlp_grpc_service};
use ingest::{OtlpOptions, PushLimits};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point, ExponentialHistogram,
    ExponentialHistogramDataPoint, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use std::sync::Arc;
use storage::{is_stale_nan, MetricType, Queryable};

const PB: &[(&str, &str)] = &[("content-type", "application/x-protobuf")];
const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const PY_INSTANCE: &str = "6f9d2c1e-8b3a-4f0e-9d55-1c2b3a4d5e6f";
const JS_INSTANCE: &str = "b1c2d3e4-0000-4a4a-9b9b-123456789abc";

/// The text of a series: `extra` is `k="v", ...` (any order); job/instance are added.
fn with_job(name: &str, extra: &str, job: &str, instance: &str) -> String {
    let mut pairs = vec![
        ("__name__".to_string(), name.to_string()),
        ("job".to_string(), job.to_string()),
        ("instance".to_string(), instance.to_string()),
    ];
    for kv in extra.split(", ").filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap();
        pairs.push((k.to_string(), v.trim_matches('"').to_string()));
    }
    storage::Labels::from_pairs(pairs).to_string()
}

fn py(name: &str, extra: &str) -> String {
    with_job(name, extra, "aztec/aztec-node", PY_INSTANCE)
}

fn values(f: &Fixture, series: &str) -> Vec<f64> {
    f.series(series).into_iter().map(|(_, v)| v).collect()
}

/// (count, sum) of each native histogram sample of `series`.
fn histogram_counts(f: &Fixture, series: &str) -> Vec<(f64, f64)> {
    f.histograms(series)
        .into_iter()
        .map(|h| (h.h.count, h.h.sum))
        .collect()
}

/// Labels and values of everything stored, for comparing two ingests.
fn dump(f: &Fixture) -> Vec<(String, Vec<(i64, u64)>)> {
    f.all()
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect()
}

fn decode_response(body: &[u8]) -> ExportMetricsServiceResponse {
    ExportMetricsServiceResponse::decode(body).unwrap()
}

#[tokio::test]
async fn python_cumulative_protobuf() {
    let f = Fixture::new();
    let (s, h, body) = f
        .send_raw(post("/v1/metrics", PB, fixture("otlp/py_http_cumulative.pb")))
        .await;
    assert_eq!(s, 200, "{body:?}");
    assert_eq!(h["content-type"], "application/x-protobuf");
    assert_eq!(decode_response(&body).partial_success, None);

    assert_eq!(
        values(
            &f,
            &py("aztec_sequencer_block_count_total", r#"aztec_status="built""#)
        ),
        vec![6.0]
    );
    assert_eq!(
        values(
            &f,
            &py("aztec_sequencer_block_count_total", r#"aztec_status="failed""#)
        ),
        vec![2.0]
    );
    assert_eq!(values(&f, &py("aztec_mempool_tx_count", "")), vec![32.0]);
    assert_eq!(values(&f, &py("aztec_archiver_block_height", "")), vec![48213.0]);
    assert_eq!(
        values(&f, &py("aztec_node_receive_tx_count_total", "")),
        vec![34.0]
    );
    assert_eq!(
        values(
            &f,
            &py(
                "aztec_sequencer_block_build_mana_per_second",
                r#"aztec_sequencer_state="publishing_block""#
            )
        ),
        vec![1250000.5]
    );
    assert_eq!(
        values(
            &f,
            &py("aztec_db_map_size_bytes", r#"aztec_db_type="world_state""#)
        ),
        vec![137438953472.0]
    );
    assert_eq!(
        values(
            &f,
            &py("process_cpu_time_seconds_total", r#"process_cpu_state="user""#)
        ),
        vec![812.5]
    );
    // Explicit-bucket histogram: cumulative buckets, count, sum.
    let circuit = r#"aztec_circuit_protocol_circuit_name="base-parity""#;
    for (le, v) in [
        ("10", 0.0),
        ("25", 4.0),
        ("50", 6.0),
        ("10000", 6.0),
        ("+Inf", 6.0),
    ] {
        let l = py(
            "aztec_circuit_simulation_duration_milliseconds_bucket",
            &format!(r#"{circuit}, le="{le}""#),
        );
        assert_eq!(values(&f, &l), vec![v], "{l}");
    }
    assert_eq!(
        values(
            &f,
            &py("aztec_circuit_simulation_duration_milliseconds_count", circuit)
        ),
        vec![6.0]
    );
    assert_eq!(
        values(
            &f,
            &py("aztec_circuit_simulation_duration_milliseconds_sum", circuit)
        ),
        vec![117.0]
    );

    // target_info from the resource, exactly as the README lists it.
    let ti = format!(
        r#"target_info{{aztec_node_role="sequencer", aztec_rollup_version="canonical", deployment_environment="testnet", host_name="aztec-seq-1", instance="{PY_INSTANCE}", job="aztec/aztec-node", os_type="linux", service_version="2.0.3", telemetry_sdk_language="python", telemetry_sdk_name="opentelemetry", telemetry_sdk_version="1.45.2"}}"#
    );
    assert_eq!(values(&f, &ti), vec![1.0]);
    // The app's own target_info gauge is a separate series, not merged into the generated one.
    assert_eq!(
        values(
            &f,
            &py(
                "target_info",
                r#"aztec_node_role="sequencer", service_name="aztec-node""#
            )
        ),
        vec![1.0]
    );
    let names = f.names();
    assert!(
        names
            .iter()
            .all(|n| n.contains(&format!(r#"instance="{PY_INSTANCE}""#))),
        "{names:?}"
    );

    let md = f.db.metadata();
    let c = &md["aztec_sequencer_block_count_total"][0];
    assert_eq!(c.metric_type, MetricType::Counter);
    let h = &md["aztec_circuit_simulation_duration_milliseconds"][0];
    assert_eq!(h.metric_type, MetricType::Histogram);
    assert_eq!(h.unit, "milliseconds");
    assert!(!h.help.is_empty());
    assert_eq!(md["aztec_mempool_tx_count"][0].metric_type, MetricType::Gauge);
}

#[tokio::test]
async fn gzip_and_json_views_give_the_same_series() {
    let plain = Fixture::new();
    assert_eq!(
        plain
            .send(post("/v1/metrics", PB, fixture("otlp/py_http_cumulative.pb")))
            .await
            .0,
        200
    );
    // protobuf's MessageToJson view of the same request, on Prometheus' path.
    let json = Fixture::new();
    let (s, h, body) = json
        .send(post(
            "/api/v1/otlp/v1/metrics",
            JSON,
            fixture("otlp/py_http_cumulative.protojson.json"),
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(dump(&json), dump(&plain));

    // The gzip capture is a separate run with the same shape.
    let gz = Fixture::new();
    let (s, _, body) = gz
        .send(post(
            "/v1/metrics",
            &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "gzip"),
            ],
            fixture("otlp/py_http_cumulative.pb.gz"),
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    let shape = |f: &Fixture| {
        let mut n: Vec<String> = f.all().into_iter().map(|s| s.labels.to_string()).collect();
        n.dedup();
        n
    };
    assert_eq!(shape(&gz), shape(&plain));
}

#[tokio::test]
async fn python_delta_rounds_add_up_to_the_cumulative_totals() {
    let f = Fixture::new();
    for file in [
        "otlp/py_http_delta_round1.pb",
        "otlp/py_http_delta_observables_only.pb",
        "otlp/py_http_delta_round2.pb",
    ] {
        let (s, _, body) = f.send_raw(post("/v1/metrics", PB, fixture(file))).await;
        assert_eq!(s, 200, "{file}: {body:?}");
        assert_eq!(decode_response(&body).partial_success, None, "{file}");
    }
    let last = |s: &str| *values(&f, s).last().unwrap();
    assert_eq!(
        last(&py(
            "aztec_sequencer_block_count_total",
            r#"aztec_status="built""#
        )),
        6.0
    );
    assert_eq!(
        last(&py(
            "aztec_sequencer_block_count_total",
            r#"aztec_status="failed""#
        )),
        2.0
    );
    assert_eq!(last(&py("aztec_mempool_tx_count", "")), 32.0);
    let circuit = r#"aztec_circuit_protocol_circuit_name="base-parity""#;
    assert_eq!(
        last(&py(
            "aztec_circuit_simulation_duration_milliseconds_count",
            circuit
        )),
        6.0
    );
    assert_eq!(
        last(&py("aztec_circuit_simulation_duration_milliseconds_sum", circuit)),
        117.0
    );
    // Counters never go down across the rounds.
    for s in f.all() {
        if s.labels.metric_name().is_some_and(|n| n.ends_with("_total")) {
            assert!(s.samples.windows(2).all(|w| w[1].v >= w[0].v), "{}", s.labels);
        }
    }

    // Sending round 1 again: its points are older than the totals, so they are refused and
    // reported as partial success; nothing changes.
    let before = dump(&f);
    let (s, _, body) = f
        .send_raw(post("/v1/metrics", PB, fixture("otlp/py_http_delta_round1.pb")))
        .await;
    assert_eq!(s, 200, "{body:?}");
    let ps = decode_response(&body).partial_success.expect("partial success");
    assert!(ps.rejected_data_points > 0);
    assert!(ps.error_message.contains("not newer"), "{}", ps.error_message);
    let after = dump(&f);
    let changed: Vec<_> = after
        .iter()
        .filter(|a| a.0.contains("_total") && !before.contains(a))
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
}

#[tokio::test]
async fn delta_totals_resume_from_storage_after_a_restart() {
    let rounds = [
        "otlp/py_http_delta_round1.pb",
        "otlp/py_http_delta_observables_only.pb",
        "otlp/py_http_delta_round2.pb",
    ];
    let continuous = Fixture::new();
    for file in rounds {
        let (s, _, body) = continuous.send_raw(post("/v1/metrics", PB, fixture(file))).await;
        assert_eq!(s, 200, "{file}: {body:?}");
    }
    // The same rounds with the delta state lost before each round after the first.
    let mut restarted = Fixture::new();
    for (i, file) in rounds.iter().enumerate() {
        if i > 0 {
            restarted.restart_endpoints(PushLimits::default());
        }
        let (s, _, body) = restarted.send_raw(post("/v1/metrics", PB, fixture(file))).await;
        assert_eq!(s, 200, "{file}: {body:?}");
        assert_eq!(decode_response(&body).partial_success, None, "{file}");
    }
    assert_eq!(dump(&restarted), dump(&continuous));
    let hist = |f: &Fixture| {
        f.db.querier(i64::MIN, i64::MAX)
            .unwrap()
            .select(
                &storage::SelectHints {
                    mint: i64::MIN,
                    maxt: i64::MAX,
                },
                &[storage::Matcher::new(storage::MatchOp::Regex, "__name__", ".+").unwrap()],
            )
            .unwrap()
            .into_iter()
            .filter(|s| !s.histograms.is_empty())
            .map(|s| (s.labels.to_string(), s.histograms))
            .collect::<Vec<_>>()
    };
    assert_eq!(hist(&restarted), hist(&continuous), "native histograms");
    // A round resent after the restart is refused as not newer, not counted twice.
    restarted.restart_endpoints(PushLimits::default());
    let before = dump(&restarted);
    let (s, _, body) = restarted
        .send_raw(post("/v1/metrics", PB, fixture("otlp/py_http_delta_round2.pb")))
        .await;
    assert_eq!(s, 200, "{body:?}");
    let ps = decode_response(&body).partial_success.expect("partial success");
    assert!(ps.error_message.contains("not newer"), "{}", ps.error_message);
    assert_eq!(dump(&restarted), before);
}

#[tokio::test]
async fn delta_can_be_refused_instead() {
    let f = Fixture::with_limits(PushLimits {
        otlp: OtlpOptions {
            convert_delta_to_cumulative: false,
            ..OtlpOptions::default()
        },
        ..PushLimits::default()
    });
    let (s, _, body) = f
        .send_raw(post("/v1/metrics", PB, fixture("otlp/py_http_delta_round1.pb")))
        .await;
    assert_eq!(s, 200, "{body:?}");
    let ps = decode_response(&body).partial_success.expect("partial success");
    assert!(ps.rejected_data_points > 0);
    assert!(
        ps.error_message.contains("delta temporality is not accepted"),
        "{}",
        ps.error_message
    );
    // Gauges and cumulative up-down counters of the same request are kept.
    assert_eq!(values(&f, &py("aztec_archiver_block_height", "")), vec![48213.0]);
    assert!(f
        .names()
        .iter()
        .all(|n| !n.starts_with("aztec_sequencer_block_count_total")));
}

#[tokio::test]
async fn python_exponential_histograms_as_native_histograms() {
    let f = Fixture::new();
    let (s, _, body) = f
        .send(post(
            "/v1/metrics",
            PB,
            fixture("otlp/py_http_exponential_cumulative.pb"),
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    let req =
        ExportMetricsServiceRequest::decode(fixture("otlp/py_http_exponential_cumulative.pb").as_slice())
            .unwrap();
    let mut checked = 0;
    for m in req
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
    {
        let Some(Data::ExponentialHistogram(h)) = &m.data else {
            continue;
        };
        let base = if m.unit == "ms" {
            "aztec_circuit_simulation_duration_milliseconds"
        } else if m.unit == "s" {
            "aztec_circuit_proving_duration_seconds"
        } else {
            continue;
        };
        for p in &h.data_points {
            let circuit = match &p.attributes[0].value.as_ref().unwrap().value {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                _ => panic!("attribute"),
            };
            let sel = format!(r#"aztec_circuit_protocol_circuit_name="{circuit}""#);
            let stored = f.histograms(&py(base, &sel));
            assert_eq!(stored.len(), 1, "{base}{{{sel}}} in {:?}", f.names());
            let h = &stored[0].h;
            assert_eq!(h.validate(), Ok(()));
            assert_eq!((h.count, h.sum), (p.count as f64, p.sum.unwrap()));
            // Scales above 8 are merged down to 8 (index >> (scale - 8)).
            let scale = p.scale.min(8);
            assert_eq!(h.schema, scale);
            let base_v = 2f64.powf(2f64.powi(-scale));
            let pos = p.positive.as_ref().unwrap();
            let first = pos.bucket_counts.iter().position(|&c| c > 0).unwrap() as i32 + pos.offset;
            let first = first >> (p.scale - scale);
            let want_ub = base_v.powi(first + 1);
            let buckets = h.buckets();
            let lowest = buckets.iter().find(|b| b.count > 0.0 && b.lower >= 0.0).unwrap();
            assert!(
                (lowest.upper - want_ub).abs() <= want_ub * 1e-9,
                "upper bound {want_ub} of bucket {first} in {buckets:?}"
            );
            // The buckets hold every observation.
            let total: f64 = buckets.iter().map(|b| b.count).sum();
            assert_eq!(total, p.count as f64);
            checked += 1;
        }
    }
    assert!(checked >= 3, "checked {checked} exponential points");
}

#[tokio::test]
async fn javascript_json_exports() {
    let f = Fixture::new();
    let (s, _, body) = f
        .send(post("/v1/metrics", JSON, fixture("otlp/js_http_cumulative.json")))
        .await;
    assert_eq!(s, 200, "{body}");
    let resp: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(resp.get("partialSuccess").is_none_or(|p| p.is_null()), "{body}");
    let js = |name: &str, extra: &str| with_job(name, extra, "aztec/aztec-prover-node", JS_INSTANCE);
    let ti = format!(
        r#"target_info{{aztec_node_role="prover-node", aztec_rollup_version="canonical", instance="{JS_INSTANCE}", job="aztec/aztec-prover-node", service_version="2.0.3"}}"#
    );
    assert_eq!(values(&f, &ti), vec![1.0]);
    assert_eq!(
        values(
            &f,
            &js(
                "target_info",
                r#"aztec_node_role="prover-node", service_name="aztec-prover-node""#
            )
        ),
        vec![1.0]
    );
    let names = f.names();
    assert!(
        names.iter().any(|n| n.starts_with(
            r#"aztec_proving_queue_enqueued_jobs_count_total{aztec_proving_job_type="PUBLIC_VM""#
        )),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("aztec_proving_queue_active_jobs_count{")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("aztec_archiver_block_height{")),
        "{names:?}"
    );
    let rr = r#"aztec_circuit_protocol_circuit_name="root-rollup""#;
    // An exponential histogram: stored as a native histogram under the metric's name.
    assert_eq!(
        histogram_counts(&f, &js("aztec_circuit_proving_duration_seconds", rr)),
        vec![(3.0, 15.954)]
    );
    let bp = r#"aztec_circuit_protocol_circuit_name="base-parity""#;
    assert_eq!(
        values(
            &f,
            &js("aztec_circuit_simulation_duration_milliseconds_count", bp)
        ),
        vec![4.0]
    );
    assert_eq!(
        values(&f, &js("aztec_circuit_simulation_duration_milliseconds_sum", bp)),
        vec![134.0]
    );

    // JS delta rounds (counters and histograms delta, up-down counter cumulative).
    let d = Fixture::new();
    for file in ["otlp/js_http_delta_round1.json", "otlp/js_http_delta_round2.json"] {
        let (s, _, body) = d.send(post("/v1/metrics", JSON, fixture(file))).await;
        assert_eq!(s, 200, "{file}: {body}");
        assert!(!body.contains("rejected"), "{file}: {body}");
    }
    for s in d.all() {
        if s.labels
            .metric_name()
            .is_some_and(|n| n.ends_with("_total") || n.ends_with("_count"))
        {
            assert!(
                s.samples.windows(2).all(|w| w[1].v >= w[0].v),
                "{} {:?}",
                s.labels,
                s.samples
            );
        }
    }
}

#[tokio::test]
async fn grpc_export_over_a_real_connection() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(storage::Db::open(storage::DbOptions::new(dir.path())).unwrap());
    let router = otlp_grpc_router(db.clone(), PushLimits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let mut client = MetricsServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let req = ExportMetricsServiceRequest::decode(fixture("otlp/py_grpc_cumulative.pb").as_slice()).unwrap();
    let resp = client.export(req).await.unwrap().into_inner();
    assert_eq!(resp.partial_success, None);

    // The same message over HTTP gives the same series.
    let http = Fixture::new();
    assert_eq!(
        http.send(post("/v1/metrics", PB, fixture("otlp/py_grpc_cumulative.pb")))
            .await
            .0,
        200
    );
    let grpc_dump: Vec<String> = {
        let q = db.querier(i64::MIN, i64::MAX).unwrap();
        q.series(&[storage::Matcher::new(storage::MatchOp::Regex, "__name__", ".+").unwrap()])
            .unwrap()
            .into_iter()
            .map(|l| l.to_string())
            .collect()
    };
    assert_eq!(grpc_dump, http.names());
    assert!(grpc_dump.len() > 50);

    // A bad point is reported as partial success over gRPC too.
    let bad = request(vec![gauge_metric("g", vec![point(0, 1.0, 0)])]);
    let resp = client.export(bad).await.unwrap().into_inner();
    let ps = resp.partial_success.unwrap();
    assert_eq!(ps.rejected_data_points, 1);
    assert!(
        ps.error_message.contains("without a timestamp"),
        "{}",
        ps.error_message
    );
    server.abort();
    // The service type itself is usable with any tonic server.
    let _svc = otlp_grpc_service(db, PushLimits::default());
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn point(t_ms: u64, v: f64, flags: u32) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![kv("http.method", "GET")],
        time_unix_nano: t_ms * 1_000_000,
        value: Some(number_data_point::Value::AsDouble(v)),
        flags,
        ..Default::default()
    }
}

fn gauge_metric(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: "1".into(),
        data: Some(Data::Gauge(Gauge { data_points: points })),
        ..Default::default()
    }
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "svc"), kv("k8s.pod.name", "pod-1")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "lib".into(),
                    version: "1.2".into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test]
async fn staleness_summaries_options_and_partial_success() {
    let f = Fixture::with_limits(PushLimits {
        otlp: OtlpOptions {
            promote_resource_attributes: vec!["k8s.pod.name".into()],
            promote_scope_metadata: true,
            ..OtlpOptions::default()
        },
        ..PushLimits::default()
    });
    let summary = Metric {
        name: "rpc.latency".into(),
        unit: "s".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                time_unix_nano: 5_000_000_000,
                count: 10,
                sum: 2.5,
                quantile_values: vec![
                    opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile {
                        quantile: 0.5,
                        value: 0.2,
                    },
                    opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile {
                        quantile: 0.99,
                        value: 0.9,
                    },
                ],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let bad_scale = Metric {
        name: "coarse".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: 2,
            data_points: vec![ExponentialHistogramDataPoint {
                time_unix_nano: 5_000_000_000,
                scale: -10,
                count: 1,
                positive: Some(Buckets {
                    offset: 0,
                    bucket_counts: vec![1],
                }),
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let no_temporality = Metric {
        name: "requests".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![point(5000, 1.0, 0)],
            aggregation_temporality: 0,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    let req = request(vec![
        gauge_metric("cpu.utilization", vec![point(4000, 0.5, 0), point(5000, 0.0, 1)]),
        summary,
        bad_scale,
        no_temporality,
    ]);
    let (s, _, body) = f.send_raw(post("/v1/metrics", PB, req.encode_to_vec())).await;
    assert_eq!(s, 200, "{body:?}");
    let ps = decode_response(&body).partial_success.unwrap();
    assert_eq!(ps.rejected_data_points, 2, "{}", ps.error_message);
    assert!(ps.error_message.contains("scale -10"), "{}", ps.error_message);

    let common =
        r#"instance="", job="svc", k8s_pod_name="pod-1", otel_scope_name="lib", otel_scope_version="1.2""#
            .replace(r#"instance="", "#, "");
    let g = f.series(&format!(
        r#"cpu_utilization_ratio{{http_method="GET", {common}}}"#
    ));
    assert_eq!(g.len(), 2, "{:?}", f.names());
    assert_eq!(g[0], (4000, 0.5));
    assert!(is_stale_nan(g[1].1), "NO_RECORDED_VALUE is a staleness marker");
    assert_eq!(
        f.series(&format!(r#"rpc_latency_seconds{{{common}, quantile="0.99"}}"#)),
        vec![(5000, 0.9)]
    );
    assert_eq!(
        f.series(&format!(r#"rpc_latency_seconds_sum{{{common}}}"#)),
        vec![(5000, 2.5)]
    );
    assert_eq!(
        f.series(&format!(r#"rpc_latency_seconds_count{{{common}}}"#)),
        vec![(5000, 10.0)]
    );
    assert_eq!(
        f.series(r#"target_info{job="svc", k8s_pod_name="pod-1"}"#),
        vec![(5000, 1.0)]
    );
    assert_eq!(
        f.db.metadata()["rpc_latency_seconds"][0].metric_type,
        MetricType::Summary
    );
}

#[tokio::test]
async fn bad_requests() {
    let f = Fixture::with_limits(PushLimits {
        max_body_bytes: 10_000,
        max_decompressed_bytes: 20_000,
        ..PushLimits::default()
    });
    let good = request(vec![gauge_metric("kept", vec![point(1000, 1.0, 0)])]).encode_to_vec();
    assert_eq!(f.send(post("/v1/metrics", PB, good)).await.0, 200);

    let (s, _, t) = f
        .send(post("/v1/metrics", &[("content-type", "text/plain")], "x"))
        .await;
    assert_eq!(s, 415, "{t}");
    let (s, h, t) = f.send(post("/v1/metrics", PB, vec![0x0a, 0xff, 0x01])).await;
    assert_eq!(s, 400, "{t}");
    assert_eq!(h["content-type"], "application/x-protobuf");
    assert!(t.contains("ExportMetricsServiceRequest"), "{t}");
    let (s, _, t) = f
        .send(post("/v1/metrics", JSON, r#"{"resourceMetrics": 5}"#))
        .await;
    assert_eq!(s, 400, "{t}");
    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert!(v["message"].as_str().unwrap().contains("JSON"), "{t}");
    let (s, _, t) = f
        .send(post(
            "/v1/metrics",
            &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "gzip"),
            ],
            "not gzip",
        ))
        .await;
    assert_eq!(s, 400, "{t}");
    assert!(t.contains("gzip"), "{t}");
    let (s, _, _) = f
        .send(post(
            "/v1/metrics",
            &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "br"),
            ],
            "x",
        ))
        .await;
    assert_eq!(s, 415);
    let (s, _, t) = f.send(post("/v1/metrics", PB, vec![0u8; 10_001])).await;
    assert_eq!(s, 413, "{t}");
    // A gzip bomb: small on the wire, over the decompressed limit.
    let bomb = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 1_000_000]).unwrap();
        e.finish().unwrap()
    };
    assert!(bomb.len() < 10_000);
    let (s, _, t) = f
        .send(post(
            "/v1/metrics",
            &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "gzip"),
            ],
            bomb,
        ))
        .await;
    assert_eq!(s, 413, "{t}");
    assert!(t.contains("decompressed"), "{t}");

    assert_eq!(
        f.names(),
        vec![
            r#"kept_ratio{http_method="GET", job="svc"}"#.to_string(),
            r#"target_info{job="svc", k8s_pod_name="pod-1"}"#.to_string()
        ]
    );
}

#[tokio::test]
async fn exemplars_on_sums_and_exponential_buckets_but_not_gauges() {
    use opentelemetry_proto::tonic::metrics::v1::{exemplar, Exemplar};
    let f = Fixture::new();
    let ex = |t_ms: u64, v: f64, trace: u8| Exemplar {
        filtered_attributes: vec![kv("user.id", "u1")],
        time_unix_nano: t_ms * 1_000_000,
        span_id: vec![0xab; 8],
        trace_id: vec![trace; 16],
        value: Some(exemplar::Value::AsDouble(v)),
    };
    let mut sum_point = point(2000, 5.0, 0);
    sum_point.exemplars = vec![ex(1500, 2.0, 1)];
    let mut gauge_point = point(2000, 1.0, 0);
    gauge_point.exemplars = vec![ex(1500, 1.0, 2)];
    let req = request(vec![
        Metric {
            name: "req.count".into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![sum_point],
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            ..Default::default()
        },
        gauge_metric("load", vec![gauge_point]),
        Metric {
            name: "lat".into(),
            unit: "s".into(),
            data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                aggregation_temporality: 2,
                data_points: vec![ExponentialHistogramDataPoint {
                    time_unix_nano: 2_000_000_000,
                    count: 3,
                    sum: Some(7.0),
                    scale: 0,
                    // Buckets (1,2], (2,4], (4,8].
                    positive: Some(Buckets {
                        offset: 0,
                        bucket_counts: vec![1, 1, 1],
                    }),
                    // Out of time order on purpose: stored oldest first.
                    exemplars: vec![ex(1900, 5.0, 3), ex(1800, 1.5, 4)],
                    ..Default::default()
                }],
            })),
            ..Default::default()
        },
    ]);
    let (status, _, _) = f.send(post("/v1/metrics", PB, req.encode_to_vec())).await;
    assert_eq!(status, 200);
    let all =
        f.db.select_exemplars(0, i64::MAX, &[vec![storage::Matcher::equal("job", "svc")]])
            .unwrap();
    let got: Vec<(String, String, f64, i64)> = all
        .iter()
        .flat_map(|s| {
            s.exemplars
                .iter()
                .map(move |e| (s.series_labels.to_string(), e.labels.to_string(), e.value, e.t))
        })
        .collect();
    let trace = |b: u8| format!("{b:02x}").repeat(16);
    assert_eq!(
        got,
        vec![
            (
                r#"lat_seconds{job="svc"}"#.to_string(),
                format!(
                    r#"{{span_id="abababababababab", trace_id="{}", user_id="u1"}}"#,
                    trace(4)
                ),
                1.5,
                1800
            ),
            (
                r#"lat_seconds{job="svc"}"#.to_string(),
                format!(
                    r#"{{span_id="abababababababab", trace_id="{}", user_id="u1"}}"#,
                    trace(3)
                ),
                5.0,
                1900
            ),
            (
                r#"req_count_total{http_method="GET", job="svc"}"#.to_string(),
                format!(
                    r#"{{span_id="abababababababab", trace_id="{}", user_id="u1"}}"#,
                    trace(1)
                ),
                2.0,
                1500
            ),
        ]
    );
}
