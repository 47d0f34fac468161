//! The embedded default configuration's self-scrape behind `--web.config.file`: with basic
//! authentication, and with TLS plus basic authentication, `up{job="sextant"}` is 1 (the job
//! authenticates with the per-process secret and verifies the listener's own certificate).

use crate::support::*;
use std::time::{Duration, Instant};

fn hash(pw: &str) -> String {
    bcrypt::hash(pw, 10).unwrap()
}

/// Starts Sextant on the embedded default configuration with `web_yml` (written to `dir`).
fn start(dir: &std::path::Path, web_yml: &str) -> TestServer {
    let cfg = dir.join("web.yml");
    std::fs::write(&cfg, web_yml).unwrap();
    TestServer::builder(&dir.join("data"))
        .embedded_config()
        .arg(format!("--web.config.file={}", cfg.display()))
        .no_ready_wait()
        .start()
}

/// Waits until `up{job="sextant"}` is 1, querying `base` as `admin`; panics with the last
/// answer and the server's log.
async fn wait_for_self_scrape(c: &reqwest::Client, base: &str, server: &TestServer) {
    let url = format!("{base}/api/v1/query?query={}", enc("up{job=\"sextant\"}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        match c.get(&url).basic_auth("admin", Some("admin-pw")).send().await {
            Ok(r) => {
                last = r.text().await.unwrap_or_default();
                let v: serde_json::Value = serde_json::from_str(&last).unwrap_or_default();
                if v["data"]["result"][0]["value"][1] == "1" {
                    return;
                }
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "up{{job=\"sextant\"}} never 1 at {base}: {last}; log: {:?}",
        server.log.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_scrape_works_with_basic_auth_and_with_tls() {
    let users = format!("basic_auth_users:\n  admin: '{}'\n", hash("admin-pw"));

    // Basic authentication over plain HTTP.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = start(plain_dir.path(), &users);
    assert!(plain.base.starts_with("http://"), "{}", plain.base);

    // TLS (a certificate for localhost only: the job verifies it with server_name) + basic auth.
    let tls_dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(tls_dir.path().join("server.crt"), cert.cert.pem()).unwrap();
    std::fs::write(
        tls_dir.path().join("server.key"),
        cert.signing_key.serialize_pem(),
    )
    .unwrap();
    let tls = start(
        tls_dir.path(),
        &format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{users}"),
    );
    assert!(tls.base.starts_with("https://"), "{}", tls.base);

    let plain_client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // The test reaches the TLS server by the name its certificate carries.
    let tls_client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve(
            "localhost",
            tls.base.trim_start_matches("https://").parse().unwrap(),
        )
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let tls_named = tls.base.replace("127.0.0.1", "localhost");
    tokio::join!(
        wait_for_self_scrape(&plain_client, &plain.base, &plain),
        wait_for_self_scrape(&tls_client, &tls_named, &tls),
    );

    // The secret is not shown, and opens nothing but /metrics: the API still wants a user.
    let (s, body) = get(&plain_client, &plain.url("/api/v1/status/config"), true).await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let yaml = v["data"]["yaml"].as_str().unwrap();
    assert!(yaml.contains("credentials: <secret>"), "{yaml}");
    let (s, _) = get(&plain_client, &plain.url("/api/v1/query?query=up"), false).await;
    assert_eq!(s, 401);
    let (s, _) = get(&plain_client, &plain.url("/metrics"), false).await;
    assert_eq!(s, 401, "/metrics without the secret or a user");
}

async fn get(c: &reqwest::Client, url: &str, auth: bool) -> (u16, String) {
    let mut r = c.get(url);
    if auth {
        r = r.basic_auth("admin", Some("admin-pw"));
    }
    let resp = r.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A client CA, and a client certificate it signs for `san`, as a reqwest identity.
fn client_ca_and_identity(san: &str) -> (String, reqwest::Identity) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "self-scrape test client CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec![san.to_string()]).unwrap();
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.signed_by(&key, &ca).unwrap();
    let id =
        reqwest::Identity::from_pem(format!("{}\n{}", cert.pem(), key.serialize_pem()).as_bytes()).unwrap();
    (ca.pem(), id)
}

/// With client certificates required (verified against `client_ca_file`, limited by
/// `client_allowed_sans`) the job presents the process's own certificate: `up` is 1, while
/// an operator's client still needs a certificate from the CA, a listed SAN and a password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_scrape_works_when_client_certificates_are_required() {
    let users = format!("basic_auth_users:\n  admin: '{}'\n", hash("admin-pw"));
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.path().join("server.crt"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), cert.signing_key.serialize_pem()).unwrap();
    let (ca_pem, operator) = client_ca_and_identity("operator.test");
    std::fs::write(dir.path().join("clients.pem"), ca_pem).unwrap();
    let server = start(
        dir.path(),
        &format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clients.pem\n  client_allowed_sans: [operator.test]\n{users}"
        ),
    );
    let addr = server.base.trim_start_matches("https://").parse().unwrap();
    let client = |id: Option<reqwest::Identity>| {
        let mut b = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
            .resolve("localhost", addr)
            .timeout(Duration::from_secs(10));
        if let Some(id) = id {
            b = b.identity(id);
        }
        b.build().unwrap()
    };
    let named = server.base.replace("127.0.0.1", "localhost");
    let with_cert = client(Some(operator));
    wait_for_self_scrape(&with_cert, &named, &server).await;

    // The operator's certificate alone opens nothing; without one the handshake fails.
    let (s, _) = get(&with_cert, &format!("{named}/metrics"), false).await;
    assert_eq!(s, 401);
    assert!(client(None).get(format!("{named}/metrics")).send().await.is_err());
    // The job's certificate and key are not shown.
    let (s, body) = get(&with_cert, &format!("{named}/api/v1/status/config"), true).await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let yaml = v["data"]["yaml"].as_str().unwrap();
    assert!(
        yaml.contains("key: <secret>") && !yaml.contains("PRIVATE KEY"),
        "{yaml}"
    );
}
