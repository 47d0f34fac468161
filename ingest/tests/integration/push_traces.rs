//! OTLP traces counted into span metrics (HTTP and gRPC).

use crate::push_support::{post, Fixture};
use ingest::otlp::otlp_grpc_router;
use ingest::PushLimits;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use std::sync::Arc;
use storage::Queryable;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn span(name: &str, start_s: u64, dur_ms: u64, status: i32) -> Span {
    Span {
        name: name.into(),
        kind: 1,
        start_time_unix_nano: start_s * 1_000_000_000,
        end_time_unix_nano: start_s * 1_000_000_000 + dur_ms * 1_000_000,
        status: Some(Status {
            code: status,
            ..Default::default()
        }),
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "vero"), kv("service.instance.id", "v1")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

const PB: &[(&str, &str)] = &[("content-type", "application/x-protobuf")];

fn value(f: &Fixture, name: &str, extra: &[(&str, &str)]) -> f64 {
    let mut pairs = vec![
        ("__name__", name),
        ("instance", "v1"),
        ("job", "vero"),
        ("service_name", "vero"),
        ("span_kind", "SPAN_KIND_INTERNAL"),
    ];
    pairs.extend_from_slice(extra);
    let text = storage::Labels::from_pairs(pairs).to_string();
    let s = f.series(&text);
    assert!(!s.is_empty(), "{text} not in {:#?}", f.names());
    s.last().unwrap().1
}

#[tokio::test]
async fn spans_become_call_counters_and_duration_histograms() {
    let f = Fixture::new();
    let first = request(vec![
        span("attestation", 100, 300, 1),
        span("attestation", 112, 1200, 1),
        span("block_proposal", 100, 50, 2),
    ]);
    let (s, _, body) = f.send_raw(post("/v1/traces", PB, first.encode_to_vec())).await;
    assert_eq!(s, 200);
    assert_eq!(
        ExportTraceServiceResponse::decode(body.as_slice())
            .unwrap()
            .partial_success,
        None
    );
    let ok = [("span_name", "attestation"), ("status_code", "STATUS_CODE_OK")];
    assert_eq!(value(&f, "traces_span_metrics_calls_total", &ok), 2.0);
    assert_eq!(value(&f, "traces_span_metrics_duration_seconds_count", &ok), 2.0);
    assert!((value(&f, "traces_span_metrics_duration_seconds_sum", &ok) - 1.5).abs() < 1e-9);
    let le = |b: &'static str| [ok[0], ok[1], ("le", b)];
    assert_eq!(
        value(&f, "traces_span_metrics_duration_seconds_bucket", &le("0.2")),
        0.0
    );
    assert_eq!(
        value(&f, "traces_span_metrics_duration_seconds_bucket", &le("0.4")),
        1.0
    );
    assert_eq!(
        value(&f, "traces_span_metrics_duration_seconds_bucket", &le("1.4")),
        2.0
    );
    assert_eq!(
        value(&f, "traces_span_metrics_duration_seconds_bucket", &le("+Inf")),
        2.0
    );
    let err = [
        ("span_name", "block_proposal"),
        ("status_code", "STATUS_CODE_ERROR"),
    ];
    assert_eq!(value(&f, "traces_span_metrics_calls_total", &err), 1.0);

    // A later export (JSON this time) adds up; a broken span is refused as partial success.
    let second = request(vec![span("attestation", 124, 100, 1), {
        let mut s = span("broken", 130, 1, 0);
        s.end_time_unix_nano = 1;
        s
    }]);
    let json = serde_json::to_vec(&second).unwrap();
    let (s, _, body) = f
        .send(post("/v1/traces", &[("content-type", "application/json")], json))
        .await;
    assert_eq!(s, 200, "{body}");
    let resp: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(resp["partialSuccess"]["rejectedSpans"], 1, "{body}");
    assert_eq!(value(&f, "traces_span_metrics_calls_total", &ok), 3.0);
    assert_eq!(
        value(&f, "traces_span_metrics_duration_seconds_bucket", &le("0.2")),
        1.0
    );
    assert!(f.names().iter().all(|n| !n.contains("broken")));
}

#[tokio::test]
async fn grpc_trace_service() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(storage::Db::open(storage::DbOptions::new(dir.path())).unwrap());
    let router = otlp_grpc_router(db.clone(), PushLimits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut client = TraceServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let resp = client
        .export(request(vec![span("sync_committee", 10, 20, 0)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.partial_success, None);
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let names = q.label_values("span_name", &[]).unwrap();
    assert_eq!(names, vec!["sync_committee"]);
    server.abort();
}
