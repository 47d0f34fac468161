//! Limits through the push router and the OTLP/gRPC service, for the protocols the root's
//! end-to-end tests do not cover (remote write 2.0, OTLP/gRPC): the answer names the limit
//! and `ingest::push::rejections` counts it under the right protocol and reason.

use crate::push_support::{fixture, post, Fixture};
use bytes::Bytes;
use ingest::otlp::otlp_grpc_router;
use ingest::push::rejections::{requests_snapshot, samples_snapshot, Count};
use ingest::PushLimits;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prompb::{RequestV2, Sample, TimeSeriesV2};
use prost::Message;
use std::sync::Arc;

const V2: &[(&str, &str)] = &[
    (
        "content-type",
        "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    ),
    ("content-encoding", "snappy"),
    ("x-prometheus-remote-write-version", "2.0.0"),
];

fn get(v: &[Count], protocol: &str, reason: &str) -> u64 {
    v.iter()
        .find(|c| c.protocol == protocol && c.reason == reason)
        .map_or(0, |c| c.value)
}

/// A v2 request: one series per entry of `series` (label pairs), one sample each.
fn v2(series: &[&[(&str, &str)]], samples_each: usize) -> Vec<u8> {
    let mut symbols = vec![String::new()];
    let mut sym = |s: &str| -> u32 {
        if let Some(i) = symbols.iter().position(|x| x == s) {
            return i as u32;
        }
        symbols.push(s.to_string());
        (symbols.len() - 1) as u32
    };
    let timeseries = series
        .iter()
        .map(|ls| TimeSeriesV2 {
            labels_refs: ls.iter().flat_map(|(n, v)| [sym(n), sym(v)]).collect(),
            samples: (0..samples_each)
                .map(|i| Sample {
                    value: 1.0,
                    timestamp: 1000 * (i as i64 + 1),
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let req = RequestV2 {
        symbols: symbols.into_iter().map(Bytes::from).collect(),
        timeseries,
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

#[tokio::test]
async fn remote_write_v2_limits() {
    let f = Fixture::with_limits(PushLimits {
        max_series_per_request: 2,
        max_samples_per_request: 4,
        max_label_name_bytes: 8,
        max_labels_per_series: 3,
        ..PushLimits::default()
    });
    let p = "remote_write_v2";
    let (r0, s0) = (requests_snapshot(), samples_snapshot());

    let three: [&[(&str, &str)]; 3] = [&[("__name__", "a")], &[("__name__", "b")], &[("__name__", "c")]];
    let (s, _, t) = f.send(post("/api/v1/write", V2, v2(&three, 1))).await;
    assert_eq!(s, 413, "{t}");
    assert!(
        t.contains("request has 3 series, more than the limit of 2"),
        "{t}"
    );

    let (s, _, t) = f.send(post("/api/v1/write", V2, v2(&three[..1], 5))).await;
    assert_eq!(s, 413, "{t}");
    assert!(
        t.contains("request has 5 samples, more than the limit of 4"),
        "{t}"
    );

    let (s, _, t) = f
        .send(post(
            "/api/v1/write",
            V2,
            v2(
                &[&[("__name__", "a"), ("long_name_x", "1")], &[("__name__", "ok")]],
                1,
            ),
        ))
        .await;
    assert_eq!(s, 400, "{t}");
    assert!(
        t.contains("label name of 11 bytes is longer than the limit of 8"),
        "{t}"
    );

    let (s, _, t) = f
        .send(post(
            "/api/v1/write",
            V2,
            v2(&[&[("__name__", "a"), ("b", "1"), ("c", "1"), ("d", "1")]], 1),
        ))
        .await;
    assert_eq!(s, 400, "{t}");
    assert!(t.contains("has 4 labels, more than the limit of 3"), "{t}");
    assert_eq!(f.names(), vec!["ok".to_string()]);

    let (r1, s1) = (requests_snapshot(), samples_snapshot());
    for reason in ["series_per_request", "samples_per_request"] {
        assert_eq!(get(&r1, p, reason) - get(&r0, p, reason), 1, "{reason}");
    }
    for reason in ["label_name_length", "labels_per_series"] {
        assert_eq!(get(&s1, p, reason) - get(&s0, p, reason), 1, "{reason}");
    }
}

#[tokio::test]
async fn otlp_grpc_limits() {
    let serve = |limits: PushLimits| async move {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(storage::Db::open(storage::DbOptions::new(dir.path())).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = otlp_grpc_router(db, limits);
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let client = MetricsServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        (client, server, dir)
    };
    let req = ExportMetricsServiceRequest::decode(fixture("otlp/py_grpc_cumulative.pb").as_slice()).unwrap();
    let p = "otlp_grpc";
    let (r0, s0) = (requests_snapshot(), samples_snapshot());

    let (mut client, server, _dir) = serve(PushLimits {
        max_samples_per_request: 3,
        ..PushLimits::default()
    })
    .await;
    let e = client.export(req.clone()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("more than the limit of 3"), "{e:?}");
    server.abort();

    let (mut client, server, _dir) = serve(PushLimits {
        max_label_value_bytes: 4,
        ..PushLimits::default()
    })
    .await;
    let resp = client.export(req).await.unwrap().into_inner();
    let ps = resp.partial_success.unwrap();
    assert!(ps.rejected_data_points > 0);
    assert!(
        ps.error_message.contains("more than the limit of 4"),
        "{}",
        ps.error_message
    );
    server.abort();

    let (r1, s1) = (requests_snapshot(), samples_snapshot());
    assert_eq!(
        get(&r1, p, "samples_per_request") - get(&r0, p, "samples_per_request"),
        1
    );
    assert_eq!(
        get(&s1, p, "label_value_length") - get(&s0, p, "label_value_length"),
        ps.rejected_data_points as u64
    );
}
