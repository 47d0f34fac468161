//! OTLP metrics from the real OpenTelemetry SDKs' captured requests, over HTTP (protobuf,
//! gzip, JSON) and gRPC, into the running binary; then the translated series are queried.

use crate::support::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/otlp/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn series_count(server: &TestServer, q: &str) -> usize {
    let (s, v) = get_json(&server.url(&format!("/api/v1/series?match[]={}", enc(q))));
    assert_eq!(s, 200, "{v}");
    v["data"].as_array().unwrap().len()
}

fn post(server: &TestServer, body: &[u8], headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let (s, _, b) = http_request("POST", &server.url("/v1/metrics"), headers, body).unwrap();
    (s, b)
}

#[test]
fn otlp_http_protobuf_gzip_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();

    let (s, b) = post(
        &server,
        &fixture("py_http_cumulative.pb"),
        &[("Content-Type", "application/x-protobuf")],
    );
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    // One from the resource, one the application emits itself under the same name.
    assert_eq!(series_count(&server, "target_info{job=\"aztec/aztec-node\"}"), 2);
    assert!(
        series_count(
            &server,
            "{__name__=~\"aztec_circuit_simulation_duration_milliseconds_(bucket|sum|count)\"}"
        ) > 3
    );

    let (s, b) = post(
        &server,
        &fixture("py_http_cumulative.pb.gz"),
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "gzip"),
        ],
    );
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));

    let (s, b) = post(
        &server,
        &fixture("js_http_cumulative.json"),
        &[("Content-Type", "application/json")],
    );
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    // The JS exporter's request also carries an explicit `target_info` gauge.
    assert_eq!(
        series_count(&server, "target_info{job=\"aztec/aztec-prover-node\"}"),
        2
    );

    let before = series_count(&server, "{__name__=~\".+\"}");
    assert!(before > 10);
    // A broken message is a 400 naming the problem; what is stored stays.
    let (s, b) = post(
        &server,
        b"\xff\xff\xff garbage",
        &[("Content-Type", "application/x-protobuf")],
    );
    assert_eq!(s, 400, "{}", String::from_utf8_lossy(&b));
    assert!(!b.is_empty());
    let (s, _) = post(&server, b"{}", &[("Content-Type", "text/plain")]);
    assert_eq!(s, 415);
    assert_eq!(
        series_count(&server, "{__name__=~\".+\"}"),
        before,
        "a bad request changes nothing stored"
    );
}

#[test]
fn otlp_grpc_on_the_main_port() {
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use prost::Message;

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();
    let req = ExportMetricsServiceRequest::decode(fixture("py_grpc_cumulative.pb").as_slice()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The dedicated OTLP/gRPC port (as logged) and the main port both take exports.
    let log = server.log.lock().unwrap().join("\n");
    let grpc_addr = log
        .split("OTLP/gRPC listening on ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the OTLP/gRPC listener is logged")
        .to_string();
    let resp = rt.block_on(async {
        let mut client = MetricsServiceClient::connect(format!("http://{grpc_addr}"))
            .await
            .expect("connect");
        client.export(req.clone()).await.expect("export");
        let mut client = MetricsServiceClient::connect(server.base.clone())
            .await
            .expect("connect");
        client.export(req).await.expect("export")
    });
    let partial = resp.into_inner().partial_success;
    assert!(
        partial.is_none_or(|p| p.rejected_data_points == 0),
        "nothing rejected"
    );
    assert_eq!(series_count(&server, "target_info{job=\"aztec/aztec-node\"}"), 2);
}
