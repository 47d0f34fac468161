//! OpenTelemetry tracing: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans of queries,
//! remote-write requests and scrapes reach a collector stub on loopback, over gRPC or
//! HTTP/protobuf; without it no exporter starts.

use crate::support::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Span names and resource `service.name`s received by a stub.
#[derive(Clone, Default)]
struct Received {
    spans: Arc<Mutex<Vec<String>>>,
    services: Arc<Mutex<Vec<String>>>,
}

impl Received {
    fn take(&self, req: ExportTraceServiceRequest) {
        for rs in req.resource_spans {
            if let Some(r) = &rs.resource {
                for a in &r.attributes {
                    if a.key == "service.name" {
                        if let Some(v) = a.value.as_ref().and_then(|v| v.value.as_ref()) {
                            self.services.lock().unwrap().push(format!("{v:?}"));
                        }
                    }
                }
            }
            for ss in rs.scope_spans {
                for s in ss.spans {
                    self.spans.lock().unwrap().push(s.name);
                }
            }
        }
    }

    fn wait_for(&self, names: &[&str]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.spans.lock().unwrap().clone();
            if names.iter().all(|n| got.iter().any(|g| g == n)) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "spans {names:?} not all received: {got:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.take(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Starts a collector stub on 127.0.0.1 (gRPC `TraceService` and HTTP `POST /v1/traces` on
/// the same port); returns its address and what it receives.
fn collector(rt: &tokio::runtime::Runtime) -> (String, Received) {
    let received = Received::default();
    let http = received.clone();
    let grpc = tonic::service::Routes::new(TraceServiceServer::new(received.clone())).into_axum_router();
    let app = grpc.route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let r = http.clone();
            async move {
                use prost::Message;
                match ExportTraceServiceRequest::decode(body) {
                    Ok(req) => {
                        r.take(req);
                        (axum::http::StatusCode::OK, Vec::new())
                    }
                    Err(e) => (axum::http::StatusCode::BAD_REQUEST, e.to_string().into_bytes()),
                }
            }
        }),
    );
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), received)
}

fn otel_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|c| c.contains("OpenTelemetry") || c.contains("sextant-otel"))
        .count()
}

fn exercise(server: &TestServer) {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let (s, b) = remote_write(
        server,
        &prompb::WriteRequest {
            timeseries: vec![series("traced", &[("a", "b")], &[(t, 1.0)])],
            ..Default::default()
        },
    );
    assert_eq!(s, 204, "{b}");
    let (s, v) = get_json(&server.url("/api/v1/query?query=sum(traced)"));
    assert_eq!(s, 200, "{v}");
}

fn traced_server(transport: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (endpoint, received) = collector(&rt);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("scrape.yml");
    std::fs::write(
        &cfg,
        "scrape_configs:\n- job_name: self\n  scrape_interval: 1s\n  static_configs:\n  - targets: ['127.0.0.1:1']\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = TestServer::builder(&data)
        .arg(format!("--config.file={}", cfg.display()))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", transport)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        .start();
    assert!(otel_threads(server.pid().unwrap()) >= 1, "the exporter runs");
    exercise(&server);
    let got = received.wait_for(&[
        "remote_write",
        "query",
        "query.parse",
        "query.select",
        "query.evaluate",
        "scrape",
    ]);
    assert!(
        !got.iter()
            .any(|n| n.starts_with("HTTP") || n.contains("h2") || n.contains("hyper")),
        "only Sextant's spans: {got:?}"
    );
    let services = received.services.lock().unwrap().clone();
    assert!(services.iter().all(|s| s.contains("sextant")), "{services:?}");
}

#[test]
fn spans_reach_a_grpc_collector() {
    traced_server("grpc");
}

#[test]
fn spans_reach_an_http_protobuf_collector() {
    traced_server("http/protobuf");
}

#[test]
fn no_exporter_without_an_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .start();
    exercise(&server);
    assert_eq!(otel_threads(server.pid().unwrap()), 0);
    let log = server.log.lock().unwrap().join("\n");
    assert!(!log.contains("OpenTelemetry"), "{log}");
}
