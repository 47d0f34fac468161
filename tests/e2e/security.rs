//! `--web.config.file` end to end: HTTPS with a certificate made in the test, basic
//! authentication with bcrypt (cost 10) hashes, roles (a push-only user cannot query), the
//! plain-HTTP refusal, a start-up error naming the bad field, and a password change picked up
//! without a restart. Also: CORS only with `--web.cors.origin`, admin API off by default,
//! no path traversal through the UI assets.

use crate::support::*;
use std::time::{Duration, Instant};

struct Tls {
    dir: tempfile::TempDir,
    cert_pem: String,
}

fn make_cert() -> Tls {
    let dir = tempfile::tempdir().unwrap();
    let c =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    std::fs::write(dir.path().join("server.crt"), c.cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), c.signing_key.serialize_pem()).unwrap();
    Tls {
        dir,
        cert_pem: c.cert.pem(),
    }
}

fn hash(pw: &str) -> String {
    let h = bcrypt::hash(pw, 10).unwrap();
    assert!(h.starts_with("$2b$10$") || h.starts_with("$2y$10$"), "{h}");
    h
}

/// admin (every role), pusher (write), reader (read).
fn web_config(reader_pw: &str) -> String {
    format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  admin: '{}'\n  pusher: '{}'\n  reader: '{}'\nsextant:\n  roles:\n    pusher: write\n    reader: [read]\n",
        hash("admin-pw"),
        hash("push-pw"),
        hash(reader_pw)
    )
}

fn client(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn write_body(name: &str) -> Vec<u8> {
    use prost::Message;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let req = prompb::WriteRequest {
        timeseries: vec![series(name, &[("job", "sec")], &[(now, 42.0)])],
        ..Default::default()
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

async fn push(c: &reqwest::Client, base: &str, user: &str, pw: &str, name: &str) -> reqwest::Response {
    c.post(format!("{base}/api/v1/write"))
        .basic_auth(user, Some(pw))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(write_body(name))
        .send()
        .await
        .unwrap()
}

async fn get(
    c: &reqwest::Client,
    url: &str,
    auth: Option<(&str, &str)>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut r = c.get(url);
    if let Some((u, p)) = auth {
        r = r.basic_auth(u, Some(p));
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_basic_auth_and_roles() {
    let tls = make_cert();
    let cfg = tls.dir.path().join("web.yml");
    std::fs::write(&cfg, web_config("read-pw")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg(format!("--web.config.file={}", cfg.display()))
        .no_ready_wait()
        .start();
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let base = server.base.clone();
    let c = client(&tls.cert_pem);

    // Ready over HTTPS with credentials (the health endpoints are protected too).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = c
            .get(format!("{base}/-/ready"))
            .basic_auth("admin", Some("admin-pw"))
            .send()
            .await
        {
            if r.status() == 200 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "never ready: {:?}",
            server.log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Plain HTTP to the TLS port: Go's 400 answer, nothing served.
    let plain = base.replace("https://", "http://");
    let (s, _, b) = http_request("GET", &format!("{plain}/api/v1/query?query=1"), &[], b"").unwrap();
    assert_eq!(s, 400);
    assert!(String::from_utf8_lossy(&b).contains("HTTP request to an HTTPS server"));

    // No or wrong credentials: 401 with a Basic challenge, on health endpoints too.
    for (path, auth) in [
        ("/api/v1/query?query=1", None),
        ("/-/healthy", None),
        ("/api/v1/query?query=1", Some(("reader", "wrong"))),
        ("/api/v1/query?query=1", Some(("nobody", "read-pw"))),
    ] {
        let (s, h, _) = get(&c, &format!("{base}{path}"), auth).await;
        assert_eq!(s, 401, "{path} {auth:?}");
        assert_eq!(h.get("www-authenticate").unwrap(), "Basic");
        assert_eq!(
            h.get("x-frame-options").unwrap(),
            "deny",
            "configured headers on every answer"
        );
    }

    // The push-only user writes but may not read.
    let r = push(&c, &base, "pusher", "push-pw", "sec_pushed").await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    let (s, _, body) = get(
        &c,
        &format!("{base}/api/v1/query?query=sec_pushed"),
        Some(("pusher", "push-pw")),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("pusher"), "{body}");

    // The reader reads what was pushed, may not write or use the admin API.
    let (s, _, body) = get(
        &c,
        &format!("{base}/api/v1/query?query=sec_pushed"),
        Some(("reader", "read-pw")),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("\"42\""), "{body}");
    let r = push(&c, &base, "reader", "read-pw", "sec_reader").await;
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{base}/api/v1/admin/tsdb/snapshot"))
        .basic_auth("reader", Some("read-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (s, _, _) = get(&c, &format!("{base}/-/healthy"), Some(("pusher", "push-pw"))).await;
    assert_eq!(s, 200, "any user may ask for health");

    // The refusals are counted.
    let (s, _, m) = get(&c, &format!("{base}/metrics"), Some(("admin", "admin-pw"))).await;
    assert_eq!(s, 200);
    let value = |name: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    assert!(
        value("sextant_http_rejected_requests_total{reason=\"unauthorized\"}") >= 4.0,
        "{m}"
    );
    assert!(
        value("sextant_http_rejected_requests_total{reason=\"forbidden\"}") >= 3.0,
        "{m}"
    );

    // OTLP/gRPC listener: TLS too, so plain text is refused the same way.
    let grpc = server
        .log
        .lock()
        .unwrap()
        .iter()
        .find_map(|l| {
            let i = l.find("OTLP/gRPC listening on ")?;
            Some(l[i + 23..].split_whitespace().next()?.to_string())
        })
        .unwrap();
    let (s, _, _) = http_request("GET", &format!("http://{grpc}/"), &[], b"").unwrap();
    assert_eq!(s, 400);

    // A new password for the reader is picked up without a restart.
    std::fs::write(&cfg, web_config("new-read-pw")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, _, _) = get(
            &c,
            &format!("{base}/api/v1/query?query=1"),
            Some(("reader", "new-read-pw")),
        )
        .await;
        if s == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "new password never accepted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, _, _) = get(
        &c,
        &format!("{base}/api/v1/query?query=1"),
        Some(("reader", "read-pw")),
    )
    .await;
    assert_eq!(s, 401, "the old password no longer works");
}

fn start_fails(args: &[String]) -> String {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .arg("--web.listen-address=127.0.0.1:0")
        .arg("--otlp.grpc-listen-address=")
        .arg(format!("--storage.tsdb.path={}", data.path().display()))
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "started with {args:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn bad_web_config_stops_startup_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let write = |text: &str| {
        let p = dir.path().join("web.yml");
        std::fs::write(&p, text).unwrap();
        format!("--web.config.file={}", p.display())
    };
    let e = start_fails(&[write(
        "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
    )]);
    assert!(e.contains("cert_file") && e.contains("missing.crt"), "{e}");
    let e = start_fails(&[write("basic_auth_users:\n  alice: hunter2\n")]);
    assert!(e.contains("basic_auth_users.alice"), "{e}");
    let e = start_fails(&[write("tls_server_config:\n  certfile: a\n")]);
    assert!(e.contains("certfile"), "{e}");
    let e = start_fails(&["--web.cors.origin=(".to_string()]);
    assert!(e.contains("--web.cors.origin"), "{e}");
    let e = start_fails(&["--ingest.max-body-size=0".to_string()]);
    assert!(e.contains("--ingest.max-body-size"), "{e}");
}

#[test]
fn cors_only_with_the_flag() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path()).start();
    let origin = [("Origin", "https://grafana.example.com")];
    let (s, h, _) = http_request("GET", &server.url("/api/v1/labels"), &origin, b"").unwrap();
    assert_eq!(s, 200);
    assert!(
        !h.iter().any(|(k, _)| k.starts_with("access-control-")),
        "no CORS headers without the flag: {h:?}"
    );
    let (s, _, _) = http_request("OPTIONS", &server.url("/api/v1/query"), &origin, b"").unwrap();
    assert_ne!(s, 200, "no pre-flight success without the flag");
    drop(server);

    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg(r"--web.cors.origin=https://grafana\.example\.com")
        .start();
    let header =
        |h: &[(String, String)], name: &str| h.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (s, h, _) = http_request("GET", &server.url("/api/v1/labels"), &origin, b"").unwrap();
    assert_eq!(s, 200);
    assert_eq!(
        header(&h, "access-control-allow-origin").as_deref(),
        Some("https://grafana.example.com")
    );
    // Anchored: a longer origin that contains the allowed one does not match.
    let (_, h, _) = http_request(
        "GET",
        &server.url("/api/v1/labels"),
        &[("Origin", "https://grafana.example.com.evil.org")],
        b"",
    )
    .unwrap();
    assert_eq!(header(&h, "access-control-allow-origin"), None);
    let (s, h, _) = http_request(
        "OPTIONS",
        &server.url("/api/v1/query"),
        &[
            ("Origin", "https://grafana.example.com"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    )
    .unwrap();
    assert_eq!(s, 200);
    assert_eq!(
        header(&h, "access-control-allow-methods").as_deref(),
        Some("GET, POST, OPTIONS")
    );
}

#[test]
fn admin_api_is_off_by_default() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path()).start();
    for path in [
        "/api/v1/admin/tsdb/snapshot",
        "/api/v1/admin/tsdb/delete_series?match[]=up",
        "/api/v1/admin/tsdb/clean_tombstones",
    ] {
        let (s, _, b) = http_request("POST", &server.url(path), &[], b"").unwrap();
        let b = String::from_utf8_lossy(&b);
        assert_eq!(s, 503, "{path}: {b}");
        assert!(b.contains("admin APIs disabled"), "{path}: {b}");
    }
    assert!(!data.path().join("snapshots").exists());
}

#[test]
fn ui_assets_cannot_escape() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path()).start();
    let (s, _, _) = http_request("GET", &server.url("/ui/app.js"), &[], b"").unwrap();
    assert_eq!(s, 200);
    for path in [
        "/ui/../Cargo.toml",
        "/ui/../../Cargo.toml",
        "/ui/%2e%2e/Cargo.toml",
        "/ui/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/ui/..%2f..%2fCargo.toml",
        "/ui/vendor/../../../../etc/passwd",
        "/ui//etc/passwd",
        "/ui/%2fetc%2fpasswd",
        "/ui/..%5c..%5cCargo.toml",
        "/../../etc/passwd",
        "/dashboards/..%2f..%2fetc%2fpasswd",
    ] {
        let (s, _, b) = http_request("GET", &server.url(path), &[], b"").unwrap();
        let b = String::from_utf8_lossy(&b);
        assert!(
            !b.contains("root:") && !b.contains("[workspace]"),
            "{path} leaked a file"
        );
        if path.starts_with("/dashboards/") {
            // The client-side route answers index.html for any dashboard name.
            assert!(s == 200 && b.contains("<html") || s == 404, "{path}: {s}");
        } else {
            assert_eq!(s, 404, "{path}: {b}");
        }
    }
}

/// OTLP/gRPC goes through the same authentication and roles: no credentials is
/// `UNAUTHENTICATED`, a read-only user `PERMISSION_DENIED`, the push user succeeds; on both
/// the dedicated port and the main one.
#[test]
fn otlp_grpc_needs_the_write_role() {
    use base64::Engine as _;
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use prost::Message;

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("web.yml");
    std::fs::write(
        &cfg,
        format!(
            "basic_auth_users:\n  pusher: '{}'\n  reader: '{}'\nsextant:\n  roles:\n    pusher: write\n    reader: read\n",
            hash("push-pw"),
            hash("read-pw")
        ),
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg(format!("--web.config.file={}", cfg.display()))
        .no_ready_wait()
        .start();
    let grpc_addr = server
        .log
        .lock()
        .unwrap()
        .join("\n")
        .split("OTLP/gRPC listening on ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    let fixture = std::fs::read(format!(
        "{}/tests/fixtures/otlp/py_grpc_cumulative.pb",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let req = ExportMetricsServiceRequest::decode(fixture.as_slice()).unwrap();
    let basic = |u: &str, p: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for url in [format!("http://{grpc_addr}"), server.base.clone()] {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut client = loop {
                match MetricsServiceClient::connect(url.clone()).await {
                    Ok(c) => break c,
                    Err(e) => {
                        assert!(Instant::now() < deadline, "{e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            };
            let e = client.export(req.clone()).await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
            let mut r = tonic::Request::new(req.clone());
            r.metadata_mut()
                .insert("authorization", basic("reader", "read-pw").parse().unwrap());
            let e = client.export(r).await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
            // The pusher's export may race start-up (storage opening): retry until it lands.
            loop {
                let mut r = tonic::Request::new(req.clone());
                r.metadata_mut()
                    .insert("authorization", basic("pusher", "push-pw").parse().unwrap());
                match client.export(r).await {
                    Ok(_) => break,
                    Err(e) => {
                        assert!(Instant::now() < deadline, "{e:?}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
    });
}

/// `RequireAndVerifyClientCert`: only clients with a certificate from `client_ca_file` get in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    let tls = make_cert();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sextant test client CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap()).unwrap();
    std::fs::write(tls.dir.path().join("clients.pem"), ca.pem()).unwrap();
    let identity = |signed_by_ca: bool| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["client".to_string()]).unwrap();
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = if signed_by_ca {
            p.signed_by(&key, &ca).unwrap()
        } else {
            p.self_signed(&key).unwrap()
        };
        reqwest::Identity::from_pem(format!("{}\n{}", cert.pem(), key.serialize_pem()).as_bytes()).unwrap()
    };
    let cfg = tls.dir.path().join("web.yml");
    std::fs::write(
        &cfg,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clients.pem\n",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg(format!("--web.config.file={}", cfg.display()))
        .no_ready_wait()
        .start();
    let root = reqwest::Certificate::from_pem(tls.cert_pem.as_bytes()).unwrap();
    let with = |id: Option<reqwest::Identity>| {
        let mut b = reqwest::Client::builder()
            .add_root_certificate(root.clone())
            .timeout(Duration::from_secs(30));
        if let Some(id) = id {
            b = b.identity(id);
        }
        b.build().unwrap()
    };
    let good = with(Some(identity(true)));
    let url = format!("{}/-/ready", server.base);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = good.get(&url).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "never ready: {:?}",
            server.log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        with(None).get(&url).send().await.is_err(),
        "no client certificate"
    );
    assert!(
        with(Some(identity(false))).get(&url).send().await.is_err(),
        "a certificate from another issuer"
    );

    // client_allowed_sans, changed while running: another name keeps the client out, its own
    // name lets it in again.
    let sans = |name: &str| {
        std::fs::write(
            &cfg,
            format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clients.pem\n  client_allowed_sans: [{name}]\n"),
        )
        .unwrap();
    };
    let id = identity(true);
    let wait_for = |want_ok: bool| {
        let (id, url, with) = (id.clone(), url.clone(), &with);
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let ok = with(Some(id.clone()))
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                if ok == want_ok {
                    return;
                }
                assert!(Instant::now() < deadline, "client_allowed_sans never applied");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    sans("someone-else");
    wait_for(false).await;
    sans("client");
    wait_for(true).await;
}

/// `rate_limit`: a burst, then `429` until the bucket refills; counted.
#[test]
fn rate_limit_answers_429() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("web.yml");
    std::fs::write(&cfg, "rate_limit:\n  interval: 1h\n  burst: 3\n").unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg(format!("--web.config.file={}", cfg.display()))
        .no_ready_wait()
        .start();
    let statuses: Vec<u16> = (0..5)
        .map(|_| {
            http_request("GET", &server.url("/-/healthy"), &[], b"")
                .unwrap()
                .0
        })
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
}

/// A renewed certificate (files rewritten in place) is served to new connections without a
/// restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewed_certificate_applies_without_restart() {
    let old = make_cert();
    let cfg = old.dir.path().join("web.yml");
    std::fs::write(
        &cfg,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg(format!("--web.config.file={}", cfg.display()))
        .no_ready_wait()
        .start();
    let url = format!("{}/-/healthy", server.base);
    let ok_with = |pem: String, url: String| async move {
        // A new client: a new connection, so a new handshake.
        client(&pem)
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok_with(old.cert_pem.clone(), url.clone()).await {
        assert!(Instant::now() < deadline, "never served the first certificate");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let new = make_cert();
    for f in ["server.crt", "server.key"] {
        std::fs::copy(new.dir.path().join(f), old.dir.path().join(f)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok_with(new.cert_pem.clone(), url.clone()).await {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !ok_with(old.cert_pem.clone(), url.clone()).await,
        "the old certificate is gone"
    );
}

/// `/api/v1/status/config` shows `<secret>` instead of the scrape jobs' passwords and tokens.
#[test]
fn status_config_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        "scrape_configs:\n  - job_name: guarded\n    basic_auth:\n      username: scraper\n      password: s3cr3t-pw\n    static_configs:\n      - targets: ['127.0.0.1:1']\n  - job_name: tokened\n    authorization:\n      credentials: s3cr3t-token\n    static_configs:\n      - targets: ['127.0.0.1:2']\n",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    let (s, v) = get_json(&server.url("/api/v1/status/config"));
    assert_eq!(s, 200);
    let yaml = v["data"]["yaml"].as_str().unwrap();
    assert!(!yaml.contains("s3cr3t"), "{yaml}");
    assert!(
        yaml.contains("password: <secret>") && yaml.contains("username: scraper"),
        "{yaml}"
    );
}
