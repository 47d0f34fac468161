//! The embedded default configuration's self-scrape behind `--web.config.file`.
//!
//! A Prometheus user starting Sextant with a web configuration and no `--config.file` expects
//! `up{job="sextant"}` to be 1, as it is without one. So when a web configuration is given:
//!
//! - a secret is drawn for the process ([`SelfScrape::new`]); the `sextant` job of the embedded
//!   default sends it as `authorization: {type: Bearer, credentials: ...}` (a field Prometheus
//!   has, applied as in Prometheus), and the authentication layer accepts it for `GET /metrics`
//!   and for nothing else ([`SelfScrape::admits`]). It is never written to disk and changes
//!   at every start; `/api/v1/status/config` shows it as `<secret>`.
//! - with TLS on, the job scrapes `https` with `tls_config` naming the listener's own
//!   certificate chain as its CA (`ca_file`, or `ca` for an inline `cert`), plus a
//!   `server_name` from the certificate when it does not name the address scraped. The
//!   certificate is verified as for any target: the choice is checked here with rustls'
//!   verifier first. When no such choice verifies (a certificate issued by a CA that is not in
//!   the chain file), the job keeps the platform's roots and `server_name`, and a warning says
//!   the self-scrape may fail.
//! - when the listener asks for client certificates (`client_auth_type` other than
//!   `NoClientCert`), the job presents one of its own: at start a CA and a client certificate
//!   it signs are made for the process (kept in memory only, new at every start), the
//!   listener trusts that CA besides `client_ca_file`, and the job sends the certificate
//!   (`tls_config.cert`/`key`, shown as `<secret>`). A connection made with it skips
//!   `client_allowed_sans` (the certificate is known byte for byte) and may do nothing but
//!   `GET /metrics` ([`SelfScrape::is_own_certificate`], enforced by the auth layer).

use super::config::WebConfig;
use super::tls::TlsServerConfig;
use std::net::IpAddr;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::RootCertStore;

/// The self-scrape's secret and client identity for this process.
pub struct SelfScrape {
    token: String,
    client: ClientIdentity,
}

/// The self-scrape's client certificate and the ephemeral CA that signed it.
struct ClientIdentity {
    ca: CertificateDer<'static>,
    cert: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

impl ClientIdentity {
    /// A fresh CA (its key is dropped once it has signed) and a client certificate from it.
    fn new() -> Result<ClientIdentity, String> {
        let err = |e: rcgen::Error| format!("cannot make the self-scrape's client certificate: {e}");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "Sextant self-scrape CA (this process only)",
        );
        let ca_key = rcgen::KeyPair::generate().map_err(err)?;
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(err)?;
        let mut params =
            rcgen::CertificateParams::new(vec!["sextant-self-scrape".to_string()]).map_err(err)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Sextant self-scrape");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        let key = rcgen::KeyPair::generate().map_err(err)?;
        let cert = params.signed_by(&key, &*ca).map_err(err)?;
        Ok(ClientIdentity {
            ca: ca.der().clone(),
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key_pem: key.serialize_pem(),
        })
    }
}

impl std::fmt::Debug for SelfScrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelfScrape(<secret>)")
    }
}

/// The path the self-scrape's secret opens.
const SELF_SCRAPE_PATH: &str = "/metrics";

impl SelfScrape {
    /// A fresh 256-bit secret from the TLS provider's random source.
    pub fn new() -> Result<SelfScrape, String> {
        let mut bytes = [0u8; 32];
        rustls::crypto::aws_lc_rs::default_provider()
            .secure_random
            .fill(&mut bytes)
            .map_err(|_| "cannot draw the self-scrape secret: no secure random source".to_string())?;
        let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(SelfScrape {
            token,
            client: ClientIdentity::new()?,
        })
    }

    /// The CA of the self-scrape's client certificate, which the listener trusts.
    pub fn client_ca(&self) -> &CertificateDer<'static> {
        &self.client.ca
    }

    /// Whether a TLS client presented the self-scrape's own certificate (the leaf of `chain`).
    pub fn is_own_certificate(&self, chain: Option<&[CertificateDer<'_>]>) -> bool {
        chain
            .and_then(|c| c.first())
            .is_some_and(|leaf| leaf.as_ref() == self.client.cert.as_ref())
    }

    /// The one request the self-scrape makes: `GET /metrics`.
    pub fn is_scrape_request(method: &axum::http::Method, path: &str) -> bool {
        method == axum::http::Method::GET && path == SELF_SCRAPE_PATH
    }

    /// Whether a request is the self-scrape: `GET /metrics` with `Authorization: Bearer
    /// <secret>` (compared in constant time).
    pub fn admits(&self, method: &axum::http::Method, path: &str, headers: &axum::http::HeaderMap) -> bool {
        if !Self::is_scrape_request(method, path) {
            return false;
        }
        let Some(v) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, given)) = v.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer") && equal_in_constant_time(given.trim(), &self.token)
    }

    /// The lines to add to the embedded default's `sextant` job (indented for it) so that it
    /// reaches a listener configured by `web` at `target_ip`: the secret, and with TLS the
    /// scheme and how to verify the certificate.
    pub fn job_settings(&self, web: &WebConfig, target_ip: IpAddr) -> String {
        let mut out = format!(
            "    authorization:\n      type: Bearer\n      credentials: {}\n",
            self.token
        );
        let Some(t) = web.tls_server_config.as_ref().filter(|t| t.is_enabled()) else {
            return out;
        };
        out.push_str("    scheme: https\n");
        let verification = match chain(t) {
            Ok(chain) => verification(&chain, target_ip),
            Err(e) => {
                tracing::warn!("self-scrape: cannot read the listener's certificate: {e}");
                None
            }
        };
        let mut tls = String::new();
        match verification {
            Some(Verification { own_ca, server_name }) => {
                if own_ca {
                    match (&t.cert_file, &t.cert) {
                        (Some(f), _) if !f.is_empty() => tls.push_str(&format!("      ca_file: {}\n", quoted(f))),
                        (_, Some(pem)) => tls.push_str(&format!("      ca: {}\n", quoted(pem))),
                        _ => {}
                    }
                }
                if let Some(n) = server_name {
                    tls.push_str(&format!("      server_name: {}\n", quoted(&n)));
                }
            }
            None => tracing::warn!(
                "self-scrape: the listener's certificate does not verify against its own chain for {target_ip} or any name it carries; the embedded default's self-scrape uses the platform's roots and may fail"
            ),
        }
        if asks_for_client_cert(t) {
            tls.push_str(&format!("      cert: {}\n", quoted(&self.client.cert_pem)));
            tls.push_str(&format!("      key: {}\n", quoted(&self.client.key_pem)));
        }
        if !tls.is_empty() {
            out.push_str("    tls_config:\n");
            out.push_str(&tls);
        }
        out
    }
}

/// How the self-scrape verifies the listener's certificate.
#[derive(Debug, PartialEq)]
struct Verification {
    /// Whether the chain the listener serves is the CA (else the platform's roots).
    own_ca: bool,
    /// The name to verify instead of the address, if the certificate does not name it.
    server_name: Option<String>,
}

/// Whether the listener asks clients for a certificate.
fn asks_for_client_cert(t: &TlsServerConfig) -> bool {
    !matches!(t.client_auth_type.as_deref(), None | Some("" | "NoClientCert"))
}

fn chain(t: &TlsServerConfig) -> Result<Vec<CertificateDer<'static>>, String> {
    super::tls::read_certs(
        t.cert.as_deref(),
        t.cert_file.as_deref(),
        "tls_server_config.cert_file",
    )
}

/// The first way to verify `chain` (leaf first) when connecting to `ip` that rustls accepts:
/// the chain as its own CA for the address, then for each DNS name of the leaf (a wildcard
/// stands for one name it covers). `None` when none does; then, if the leaf names a host,
/// the platform's roots with that name (not checked here).
fn verification(chain: &[CertificateDer<'static>], ip: IpAddr) -> Option<Verification> {
    let leaf = chain.first()?;
    let mut names: Vec<String> = vec![ip.to_string()];
    if let Ok(ee) = webpki::EndEntityCert::try_from(leaf) {
        names.extend(ee.valid_dns_names().map(|n| match n.strip_prefix("*.") {
            Some(rest) => format!("sextant.{rest}"),
            None => n.to_string(),
        }));
    }
    let mut roots = RootCertStore::empty();
    for c in chain {
        let _ = roots.add(c.clone());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .ok();
    for (i, name) in names.iter().enumerate() {
        let Ok(server_name) = ServerName::try_from(name.clone()) else {
            continue;
        };
        let ok = verifier.as_ref().is_some_and(|v| {
            v.verify_server_cert(leaf, &chain[1..], &server_name, &[], UnixTime::now())
                .is_ok()
        });
        if ok {
            return Some(Verification {
                own_ca: true,
                server_name: (i > 0).then(|| name.clone()),
            });
        }
    }
    names.get(1).map(|n| Verification {
        own_ca: false,
        server_name: Some(n.clone()),
    })
}

/// A YAML scalar for `s` (a JSON string is valid YAML).
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn equal_in_constant_time(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Method};

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        h
    }

    #[test]
    fn the_secret_opens_get_metrics_only() {
        let s = SelfScrape::new().unwrap();
        assert_eq!(s.token.len(), 64);
        assert_ne!(s.token, SelfScrape::new().unwrap().token, "fresh per process");
        let ok = bearer(&s.token);
        assert!(s.admits(&Method::GET, "/metrics", &ok));
        assert!(!s.admits(&Method::POST, "/metrics", &ok));
        assert!(!s.admits(&Method::GET, "/api/v1/query", &ok));
        assert!(!s.admits(&Method::GET, "/metrics", &bearer("0")));
        assert!(!s.admits(&Method::GET, "/metrics", &HeaderMap::new()));
        assert!(!format!("{s:?}").contains(&s.token));
    }

    fn cert(names: &[&str]) -> Vec<CertificateDer<'static>> {
        let c = rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        vec![c.cert.der().clone()]
    }

    #[test]
    fn verification_prefers_the_address_then_a_name_of_the_certificate() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            verification(&cert(&["localhost", "127.0.0.1"]), ip),
            Some(Verification {
                own_ca: true,
                server_name: None
            })
        );
        assert_eq!(
            verification(&cert(&["sextant.internal"]), ip),
            Some(Verification {
                own_ca: true,
                server_name: Some("sextant.internal".into())
            })
        );
        assert_eq!(
            verification(&cert(&["*.example.org"]), ip),
            Some(Verification {
                own_ca: true,
                server_name: Some("sextant.example.org".into())
            })
        );
    }

    #[test]
    fn job_settings_are_valid_yaml_for_the_job() {
        let s = SelfScrape::new().unwrap();
        let plain = s.job_settings(&WebConfig::default(), "127.0.0.1".parse().unwrap());
        assert!(
            plain.contains("credentials: ") && !plain.contains("https"),
            "{plain}"
        );
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let web = WebConfig {
            tls_server_config: Some(TlsServerConfig {
                cert: Some(c.cert.pem()),
                key: Some(c.signing_key.serialize_pem()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let tls = s.job_settings(&web, "127.0.0.1".parse().unwrap());
        let job =
            format!("  - job_name: sextant\n{tls}    static_configs:\n      - targets: ['127.0.0.1:1']\n");
        let v: serde_json::Value = serde_saphyr::from_str(&job).unwrap();
        assert_eq!(v[0]["scheme"], "https");
        assert_eq!(v[0]["tls_config"]["server_name"], "localhost");
        assert_eq!(v[0]["tls_config"]["ca"], c.cert.pem());
        assert_eq!(v[0]["authorization"]["credentials"], s.token);
        assert!(
            v[0]["tls_config"]["cert"].is_null(),
            "no client certificate unless asked"
        );

        let mut asks = web.clone();
        if let Some(t) = asks.tls_server_config.as_mut() {
            t.client_auth_type = Some("RequireAnyClientCert".into());
        }
        let tls = s.job_settings(&asks, "127.0.0.1".parse().unwrap());
        let job =
            format!("  - job_name: sextant\n{tls}    static_configs:\n      - targets: ['127.0.0.1:1']\n");
        let v: serde_json::Value = serde_saphyr::from_str(&job).unwrap();
        assert_eq!(v[0]["tls_config"]["cert"], s.client.cert_pem);
        assert_eq!(v[0]["tls_config"]["key"], s.client.key_pem);
    }

    #[test]
    fn the_client_certificate_verifies_against_the_own_ca_only() {
        let s = SelfScrape::new().unwrap();
        let verify = |ca: &CertificateDer<'static>| {
            let mut roots = RootCertStore::empty();
            roots.add(ca.clone()).unwrap();
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            v.verify_client_cert(&s.client.cert, &[], UnixTime::now()).is_ok()
        };
        assert!(verify(s.client_ca()));
        let other = SelfScrape::new().unwrap();
        assert!(!verify(other.client_ca()), "another process's CA");
        assert!(s.is_own_certificate(Some(std::slice::from_ref(&s.client.cert))));
        assert!(!s.is_own_certificate(Some(std::slice::from_ref(&other.client.cert))));
        assert!(!s.is_own_certificate(None));
    }
}
