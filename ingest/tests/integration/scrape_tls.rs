//! Scrape `tls_config` against a loopback HTTPS target whose certificates the test makes with
//! rcgen (a CA, a server certificate for `scrape.test` only, a client certificate), plus
//! `target_limit` and `keep_dropped_targets`.

use ingest::scrape::{GlobalConfig, ScrapeConfig, ScrapeManager, TargetHealth, TargetStatus};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::{Db, DbOptions};

struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
    server_cert: String,
    server_key: String,
}

impl Pki {
    fn new() -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["scrape.test".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            server_cert: cert.pem(),
            server_key: key.serialize_pem(),
            ca,
        };
        std::fs::write(pki.path("ca.pem"), pki.ca.pem()).unwrap();
        let ckey = KeyPair::generate().unwrap();
        let ccert = CertificateParams::new(vec!["client".to_string()])
            .unwrap()
            .signed_by(&ckey, &pki.ca)
            .unwrap();
        std::fs::write(pki.path("client.pem"), ccert.pem()).unwrap();
        std::fs::write(pki.path("client.key"), ckey.serialize_pem()).unwrap();
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Serves `metric 1` over HTTPS on a thread per connection. `client_ca`: require client
/// certificates issued by it. `tls12_only`: refuse TLS 1.3.
fn https_target(pki: &Pki, client_ca: Option<&Path>, tls12_only: bool) -> String {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .unwrap();
    let builder = match client_ca {
        Some(p) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(p).unwrap() {
                roots.add(c.unwrap()).unwrap();
            }
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(v)
        }
        None => builder.with_no_client_auth(),
    };
    let certs = CertificateDer::pem_slice_iter(pki.server_cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).unwrap();
    let cfg = Arc::new(builder.with_single_cert(certs, key).unwrap());
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for sock in l.incoming().map_while(Result::ok) {
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, sock);
                let mut buf = [0u8; 4096];
                let mut req = Vec::new();
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "# TYPE metric gauge\nmetric 1\n";
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    addr
}

fn job(yaml: &str) -> ScrapeConfig {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn global() -> GlobalConfig {
    GlobalConfig {
        scrape_interval: storage::PromDuration(Duration::from_millis(300)),
        scrape_timeout: storage::PromDuration(Duration::from_millis(250)),
        ..GlobalConfig::default()
    }
}

/// Runs the jobs until every target has been scraped once; returns the statuses by job.
async fn scrape(jobs: Vec<ScrapeConfig>) -> Vec<TargetStatus> {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(DbOptions::new(dir.path())).unwrap());
    let mgr = ScrapeManager::new(db);
    let n: usize = jobs
        .iter()
        .map(|j| j.static_configs.iter().map(|s| s.targets.len()).sum::<usize>())
        .sum();
    mgr.apply_config(&global(), &jobs).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = mgr.targets();
        if t.len() == n && t.iter().all(|t| t.health != TargetHealth::Unknown) {
            mgr.stop().await;
            return t;
        }
        assert!(Instant::now() < deadline, "targets never scraped: {t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn by_job<'a>(t: &'a [TargetStatus], job: &str) -> &'a TargetStatus {
    t.iter()
        .find(|t| t.job == job)
        .unwrap_or_else(|| panic!("no {job} in {t:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_config_is_applied() {
    let pki = Pki::new();
    let addr = https_target(&pki, None, false);
    let ca = pki.path("ca.pem").display().to_string();
    let mk = |name: &str, tls: &str| {
        job(&format!(
            "job_name: {name}\nscheme: https\ntls_config:\n{tls}static_configs:\n  - targets: ['{addr}']\n"
        ))
    };
    let t = scrape(vec![
        // The certificate names scrape.test, not 127.0.0.1: the CA alone is not enough ...
        mk("ca_only", &format!("  ca_file: {ca}\n")),
        // ... but with server_name it verifies.
        mk(
            "server_name",
            &format!("  ca_file: {ca}\n  server_name: scrape.test\n"),
        ),
        mk(
            "wrong_name",
            &format!("  ca_file: {ca}\n  server_name: other.test\n"),
        ),
        mk("no_ca", "  server_name: scrape.test\n"),
        mk("insecure", "  insecure_skip_verify: true\n"),
    ])
    .await;
    let ok = by_job(&t, "server_name");
    assert_eq!(ok.health, TargetHealth::Up, "{}", ok.last_error);
    assert_eq!(
        by_job(&t, "insecure").health,
        TargetHealth::Up,
        "{}",
        by_job(&t, "insecure").last_error
    );
    for bad in ["ca_only", "wrong_name", "no_ca"] {
        let s = by_job(&t, bad);
        assert_eq!(s.health, TargetHealth::Down, "{bad}");
        assert!(
            s.last_error.to_lowercase().contains("certificate"),
            "{bad}: {}",
            s.last_error
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_and_min_version() {
    let pki = Pki::new();
    let mtls = https_target(&pki, Some(&pki.path("ca.pem")), false);
    let tls12 = https_target(&pki, None, true);
    let ca = pki.path("ca.pem").display().to_string();
    let cert = pki.path("client.pem").display().to_string();
    let key = pki.path("client.key").display().to_string();
    let mk = |name: &str, addr: &str, tls: &str| {
        job(&format!(
            "job_name: {name}\nscheme: https\ntls_config:\n  ca_file: {ca}\n  server_name: scrape.test\n{tls}static_configs:\n  - targets: ['{addr}']\n"
        ))
    };
    let t = scrape(vec![
        mk(
            "with_cert",
            &mtls,
            &format!("  cert_file: {cert}\n  key_file: {key}\n"),
        ),
        mk("without_cert", &mtls, ""),
        mk("tls12_ok", &tls12, "  min_version: TLS12\n"),
        mk("tls13_required", &tls12, "  min_version: TLS13\n"),
    ])
    .await;
    for (job, up) in [
        ("with_cert", true),
        ("without_cert", false),
        ("tls12_ok", true),
        ("tls13_required", false),
    ] {
        let s = by_job(&t, job);
        assert_eq!(s.health == TargetHealth::Up, up, "{job}: {}", s.last_error);
    }
    // Without the server_name override (reqwest's own TLS settings) client certs work too.
    let t = scrape(vec![job(&format!(
        "job_name: plain\nscheme: https\ntls_config:\n  insecure_skip_verify: true\n  cert_file: {cert}\n  key_file: {key}\nstatic_configs:\n  - targets: ['{mtls}']\n"
    ))])
    .await;
    assert_eq!(t[0].health, TargetHealth::Up, "{}", t[0].last_error);
}

#[test]
fn bad_tls_settings_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(DbOptions::new(dir.path())).unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let mgr = ScrapeManager::new(db);
    let e = mgr
        .apply_config(
            &global(),
            &[job(
                "job_name: a\ntls_config:\n  min_version: TLS14\nstatic_configs:\n  - targets: ['x:1']\n",
            )],
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("TLS14"), "{e}");
    let e = mgr
        .apply_config(
            &global(),
            &[job("job_name: a\ntls_config:\n  cert_file: /nonexistent/c.pem\n  key_file: /nonexistent/k.pem\nstatic_configs:\n  - targets: ['x:1']\n")],
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/c.pem"), "{e}");
    rt.block_on(mgr.stop());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_limit_marks_every_target_down_and_keep_dropped_targets_caps_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(DbOptions::new(dir.path())).unwrap());
    let mgr = ScrapeManager::new(db);
    let over = job(
        "job_name: over\ntarget_limit: 2\nstatic_configs:\n  - targets: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3']\n",
    );
    let drop = job(
        "job_name: drop\nkeep_dropped_targets: 2\nrelabel_configs:\n  - source_labels: [__address__]\n    regex: '.*:9'\n    action: keep\nstatic_configs:\n  - targets: ['h:1', 'h:2', 'h:3', 'h:4', 'h:9']\n",
    );
    mgr.apply_config(&global(), &[over, drop]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t: Vec<TargetStatus> = mgr.targets().into_iter().filter(|t| t.job == "over").collect();
        if t.len() == 3 && t.iter().all(|t| !t.last_error.is_empty()) {
            for s in &t {
                assert_eq!(s.health, TargetHealth::Down);
                assert_eq!(
                    s.last_error, "target_limit exceeded (number of targets: 3, limit: 2)",
                    "{s:?}"
                );
            }
            break;
        }
        assert!(Instant::now() < deadline, "{t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dropped: Vec<_> = mgr.dropped_targets();
    assert_eq!(dropped.len(), 2, "{dropped:?}");
    // Raising the limit clears the forced error: the targets are then tried (and refused).
    mgr.apply_config(
        &global(),
        &[job(
            "job_name: over\ntarget_limit: 3\nstatic_configs:\n  - targets: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3']\n",
        )],
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = mgr.targets();
        if t.len() == 3
            && t.iter()
                .all(|t| !t.last_error.is_empty() && !t.last_error.contains("target_limit"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "{t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    mgr.stop().await;
}
