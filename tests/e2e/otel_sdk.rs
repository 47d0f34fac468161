//! The OpenTelemetry Python SDK as a real client: `tests/otel/export_all.py` exports every
//! instrument kind (with dotted names and units) over OTLP/HTTP protobuf and OTLP/gRPC to the
//! running binary, and the translated series are checked through the query API; also over
//! TLS with basic authentication (HTTP and gRPC), the way an SDK behind a web configuration sends.
//!
//! The SDK comes from PyPI (`opentelemetry-sdk`, `opentelemetry-exporter-otlp-proto-http`,
//! `opentelemetry-exporter-otlp-proto-grpc`); `scripts/test.sh` installs them into a venv at
//! `<target dir>/otel-venv`. `SEXTANT_OTEL_PYTHON` names another interpreter. Without the
//! packages the test fails and says so: it does not pass silently.

use crate::support::*;
use std::path::PathBuf;
use std::process::Command;

/// The interpreter with the SDK: `$SEXTANT_OTEL_PYTHON`, else the venv scripts/test.sh makes
/// in the target directory (the one holding the binary under test).
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SEXTANT_OTEL_PYTHON") {
        return PathBuf::from(p);
    }
    let target = PathBuf::from(bin())
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.to_path_buf())
        .unwrap();
    let venv = target.join("otel-venv/bin/python");
    assert!(
        venv.exists(),
        "the OpenTelemetry SDK e2e test needs a Python venv with opentelemetry-sdk, \
         opentelemetry-exporter-otlp-proto-http and opentelemetry-exporter-otlp-proto-grpc at {} \
         (or SEXTANT_OTEL_PYTHON): run scripts/test.sh, which installs them",
        venv.display()
    );
    venv
}

/// The exporter script for `protocol` to `endpoint`, in an environment that names no other
/// endpoint or CA bundle (`REQUESTS_CA_BUNDLE` would win over `--ca-file` in `requests`).
fn exporter_command(protocol: &str, endpoint: &str, instance: &str) -> Command {
    let mut c = Command::new(python());
    c.arg(format!("{}/tests/otel/export_all.py", env!("CARGO_MANIFEST_DIR")))
        .args([
            "--protocol",
            protocol,
            "--endpoint",
            endpoint,
            "--instance",
            instance,
        ])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE");
    c
}

/// Runs the exporter; returns the trace id (hex) of the span its exemplars belong to.
fn export(protocol: &str, endpoint: &str, instance: &str) -> String {
    export_with(protocol, endpoint, instance, &[])
}

/// [`export`] with more arguments for the script (`--ca-file`, `--basic-auth`).
fn export_with(protocol: &str, endpoint: &str, instance: &str, extra: &[&str]) -> String {
    let out = exporter_command(protocol, endpoint, instance)
        .args(extra)
        .output()
        .expect("run python");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("MISSING PYTHON PACKAGE"),
        "the OpenTelemetry Python SDK is not installed ({stderr}); run scripts/test.sh, which installs it"
    );
    assert!(
        out.status.success(),
        "export over {protocol} failed: {}\n{stderr}",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("trace_id="))
        .unwrap_or_else(|| panic!("no trace id in {stdout}"))
        .to_string()
}

/// Exemplars of `q` as (series labels, [(exemplar labels, value, timestamp s)]).
#[allow(clippy::type_complexity)]
fn exemplars(server: &TestServer, q: &str) -> Vec<(serde_json::Value, Vec<(serde_json::Value, f64, f64)>)> {
    let (s, v) = get_json(&server.url(&format!("/api/v1/query_exemplars?query={}", enc(q))));
    assert_eq!(s, 200, "{v}");
    v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|s| {
            let ex = s["exemplars"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["labels"].clone(),
                        e["value"].as_str().unwrap().parse().unwrap(),
                        e["timestamp"].as_f64().unwrap(),
                    )
                })
                .collect();
            (s["seriesLabels"].clone(), ex)
        })
        .collect()
}

/// Measurements made in a sampled span carry exemplars: per histogram bucket the last value
/// that fell in it, on the `_bucket` series of its `le`; for the counter one of its values.
fn check_exemplars(server: &TestServer, instance: &str, trace_id: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let found = exemplars(
        server,
        &format!("rate(rpc_server_duration_seconds_bucket{{instance=\"{instance}\"}}[5m])"),
    );
    let mut got: Vec<(String, f64)> = Vec::new();
    for (series, ex) in &found {
        assert_eq!(
            series["__name__"], "rpc_server_duration_seconds_bucket",
            "{series}"
        );
        assert_eq!(series["job"], "sextant/sdk-e2e", "{series}");
        assert_eq!(ex.len(), 1, "{series}: {ex:?}");
        let (labels, value, ts) = &ex[0];
        assert_eq!(labels["trace_id"], trace_id, "{labels}");
        assert_eq!(labels["span_id"].as_str().map(str::len), Some(16), "{labels}");
        assert!((ts - now).abs() < 120.0, "exemplar time {ts} vs now {now}");
        got.push((series["le"].as_str().unwrap().to_string(), *value));
    }
    got.sort_by(|a, b| a.1.total_cmp(&b.1));
    let want: Vec<(String, f64)> = [("0.1", 0.05), ("1", 0.7), ("5", 3.0), ("+Inf", 9.0)]
        .iter()
        .map(|(l, v)| (l.to_string(), *v))
        .collect();
    assert_eq!(got, want);
    let found = exemplars(
        server,
        &format!("http_server_request_body_size_bytes_total{{instance=\"{instance}\"}}"),
    );
    assert_eq!(
        found.len(),
        1,
        "only the GET series was added to in the span: {found:?}"
    );
    assert_eq!(found[0].0["http_method"], "GET");
    let (labels, value, _) = &found[0].1[0];
    assert_eq!(labels["trace_id"], trace_id);
    assert!(*value == 100.0 || *value == 50.0, "{value}");
}

/// Instant query at now: (labels, value) per series.
fn instant(server: &TestServer, q: &str) -> Vec<(serde_json::Value, f64)> {
    let (s, v) = get_json(&server.url(&format!("/api/v1/query?query={}", enc(q))));
    assert_eq!(s, 200, "{v}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"].clone(),
                r["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// The single value of `q`; fails naming the query when there is not exactly one series.
fn one(server: &TestServer, q: &str) -> f64 {
    let r = instant(server, q);
    assert_eq!(r.len(), 1, "{q} -> {r:?}");
    r[0].1
}

fn check_translation(server: &TestServer, instance: &str) {
    let sel = |name: &str, extra: &str| {
        let sep = if extra.is_empty() { "" } else { "," };
        format!("{name}{{job=\"sextant/sdk-e2e\",instance=\"{instance}\"{sep}{extra}}}")
    };
    // Counter, unit By: `_bytes_total`, attributes with dots become underscores.
    assert_eq!(
        one(
            server,
            &sel("http_server_request_body_size_bytes_total", "http_method=\"GET\"")
        ),
        150.0
    );
    assert_eq!(
        one(
            server,
            &sel(
                "http_server_request_body_size_bytes_total",
                "http_method=\"POST\""
            )
        ),
        7.0
    );
    // Up-down counter (non-monotonic sum): a gauge; the `{connection}` annotation is dropped.
    assert_eq!(
        one(server, &sel("db_client_connections_usage", "pool=\"main\"")),
        7.0
    );
    // Synchronous gauge.
    assert_eq!(one(server, &sel("peer_count", "network=\"mainnet\"")), 12.0);
    // Explicit-bucket histogram, unit s.
    let h = "rpc_server_duration_seconds";
    for (le, want) in [("0.1", 1.0), ("1", 3.0), ("5", 4.0), ("+Inf", 5.0)] {
        let q = sel(
            &format!("{h}_bucket"),
            &format!("rpc_method=\"getBlock\",le=\"{le}\""),
        );
        assert_eq!(one(server, &q), want, "{q}");
    }
    assert_eq!(one(server, &sel(&format!("{h}_count"), "")), 5.0);
    assert!((one(server, &sel(&format!("{h}_sum"), "")) - 13.25).abs() < 1e-9);
    // Exponential histogram (a view's aggregation), stored as a native histogram.
    let e = "block_processing_time_milliseconds";
    let es = sel(e, "");
    assert_eq!(one(server, &format!("histogram_count({es})")), 4.0);
    assert_eq!(one(server, &format!("histogram_sum({es})")), 15.0);
    // Values 1, 2, 4, 8 each sit exactly on a bucket's upper bound (powers of two).
    for (upper, want) in [(1.0, 0.25), (2.0, 0.5), (4.0, 0.75), (8.0, 1.0)] {
        let q = format!("histogram_fraction(0, {upper}, {es})");
        let got = one(server, &q);
        assert!((got - want).abs() < 1e-9, "{q} = {got}, want {want}");
    }
    // Observable gauge with unit 1: `_ratio`.
    assert_eq!(
        one(server, &sel("system_cpu_utilization_ratio", "cpu=\"0\"")),
        0.25
    );
    assert_eq!(
        one(server, &sel("system_cpu_utilization_ratio", "cpu=\"1\"")),
        0.75
    );
    // Observable counter, unit s: `_seconds_total`.
    assert_eq!(one(server, &sel("process_uptime_seconds_total", "")), 42.5);
    // Observable up-down counter, unit By: a gauge in `_bytes`.
    assert_eq!(
        one(server, &sel("process_memory_heap_bytes", "space=\"old\"")),
        2048.0
    );

    // Resource attributes other than service.* go to target_info.
    let ti = instant(server, &sel("target_info", ""));
    assert_eq!(ti.len(), 1, "{ti:?}");
    let (labels, v) = &ti[0];
    assert_eq!(*v, 1.0);
    assert_eq!(labels["deployment_environment"], "test", "{labels}");
    assert_eq!(labels["telemetry_sdk_language"], "python", "{labels}");
    assert!(labels.get("service_name").is_none(), "{labels}");
    // Nothing else of the SDK's arrived under this instance.
    let all = instant(
        server,
        &format!("count by (__name__) ({{instance=\"{instance}\"}})"),
    );
    let mut names: Vec<&str> = all.iter().map(|(m, _)| m["__name__"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "block_processing_time_milliseconds",
            "db_client_connections_usage",
            "http_server_request_body_size_bytes_total",
            "peer_count",
            "process_memory_heap_bytes",
            "process_uptime_seconds_total",
            "rpc_server_duration_seconds_bucket",
            "rpc_server_duration_seconds_count",
            "rpc_server_duration_seconds_sum",
            "system_cpu_utilization_ratio",
            "target_info",
        ]
    );
}

#[test]
fn opentelemetry_python_sdk_over_http_and_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();
    let grpc_addr = grpc_address(&server);

    let trace = export("http", &server.url("/v1/metrics"), "http-1");
    check_translation(&server, "http-1");
    check_exemplars(&server, "http-1", &trace);
    let trace = export("grpc", &format!("http://{grpc_addr}"), "grpc-1");
    check_translation(&server, "grpc-1");
    check_exemplars(&server, "grpc-1", &trace);
    // An expression without selectors has no exemplars: `null`, as Prometheus answers.
    let (s, v) = get_json(&server.url("/api/v1/query_exemplars?query=1%2B1"));
    assert_eq!((s, &v["data"]), (200, &serde_json::Value::Null), "{v}");

    // Metadata (help, type, unit) is kept from the SDK's descriptions.
    let (s, v) = get_json(&server.url("/api/v1/metadata?metric=rpc_server_duration_seconds"));
    assert_eq!(s, 200, "{v}");
    let m = &v["data"]["rpc_server_duration_seconds"][0];
    assert_eq!(m["type"], "histogram", "{v}");
    assert_eq!(m["help"], "rpc latency", "{v}");
    let (_, v) = get_json(&server.url("/api/v1/metadata?metric=http_server_request_body_size_bytes_total"));
    let (_, v2) = get_json(&server.url("/api/v1/metadata?metric=http_server_request_body_size_bytes"));
    let t = v["data"]["http_server_request_body_size_bytes_total"][0]["type"]
        .as_str()
        .or(v2["data"]["http_server_request_body_size_bytes"][0]["type"].as_str());
    assert_eq!(t, Some("counter"), "{v} {v2}");
}

/// The OTLP/gRPC address a server logged (`OTLP/gRPC listening on ADDR`).
fn grpc_address(server: &TestServer) -> String {
    let log = server.log.lock().unwrap().join("\n");
    log.split("OTLP/gRPC listening on ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the OTLP/gRPC listener is logged")
        .to_string()
}

#[test]
fn opentelemetry_python_sdk_over_tls_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    // A CA and a server certificate it signed (OpenSSL, under the SDK, wants a CA as anchor).
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sextant test CA");
    let issuer = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let server_cert = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, issuer.pem()).unwrap();
    std::fs::write(dir.path().join("server.crt"), server_cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
    let hash = |pw: &str| bcrypt::hash(pw, 10).unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  sdk: '{}'\n  reader: '{}'\nsextant:\n  roles:\n    sdk: write\n    reader: read\n",
            hash("sdk-pw"),
            hash("read-pw")
        ),
    )
    .unwrap();
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--web.config.file={}", web.display()))
        .no_ready_wait()
        .start();
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let grpc = grpc_address(&server);
    let ca_arg = ca.display().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(issuer.pem().as_bytes()).unwrap())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let query = |q: &str| -> serde_json::Value {
        rt.block_on(async {
            let r = client
                .get(format!("{}/api/v1/query?query={}", server.base, enc(q)))
                .basic_auth("reader", Some("read-pw"))
                .send()
                .await
                .unwrap();
            r.json().await.unwrap()
        })
    };
    // Ready (the database may still be opening when the listener is up).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while query("1")["status"] != "success" {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    for (protocol, endpoint, instance) in [
        ("http", format!("{}/v1/metrics", server.base), "https-1"),
        ("grpc", format!("https://{grpc}"), "grpcs-1"),
    ] {
        // Without credentials the export is refused ...
        let refused = exporter_command(protocol, &endpoint, instance)
            .args(["--ca-file", &ca_arg])
            .output()
            .unwrap();
        assert!(
            !refused.status.success(),
            "{protocol}: exported without credentials"
        );
        // ... with the write role it is stored, over TLS verified against the test's CA.
        export_with(
            protocol,
            &endpoint,
            instance,
            &["--ca-file", &ca_arg, "--basic-auth", "sdk:sdk-pw"],
        );
        let v = query(&format!(
            "http_server_request_body_size_bytes_total{{instance=\"{instance}\",http_method=\"GET\"}}"
        ));
        assert_eq!(v["data"]["result"][0]["value"][1], "150", "{protocol}: {v}");
    }
}
