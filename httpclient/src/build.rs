//! Builds the reqwest client of a scrape pool, an `http_sd_configs` entry or a `remote_write`
//! queue: TLS, proxy, redirects.

use super::config::HttpClientConfig;
use std::time::Duration;

/// The User-Agent sent with scrapes and discovery requests.
pub const USER_AGENT: &str = concat!("Sextant/", env!("CARGO_PKG_VERSION"));

fn read_bytes(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("unable to read {what} file {path}: {e}"))
}

/// Builds the client. `compression` asks for gzip and decompresses transparently.
pub fn build_client(cfg: &HttpClientConfig, compression: bool) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .gzip(compression)
        .connect_timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(if cfg.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    let tls = &cfg.tls_config;
    super::tls::check_min_version(tls.min_version.as_deref())?;
    let ca = match (&tls.ca, &tls.ca_file) {
        (Some(pem), _) => Some(pem.as_bytes().to_vec()),
        (None, Some(f)) => Some(read_bytes(f, "CA")?),
        (None, None) => None,
    };
    let cert = match (&tls.cert, &tls.cert_file) {
        (Some(pem), _) => Some(pem.as_bytes().to_vec()),
        (None, Some(f)) => Some(read_bytes(f, "client certificate")?),
        (None, None) => None,
    };
    let key = match (&tls.key, &tls.key_file) {
        (Some(pem), _) => Some(pem.as_bytes().to_vec()),
        (None, Some(f)) => Some(read_bytes(f, "client key")?),
        (None, None) => None,
    };
    if cert.is_some() != key.is_some() {
        return Err("tls_config: client cert and key must be configured together".into());
    }
    let server_name = tls.server_name.as_deref().filter(|s| !s.is_empty());
    match server_name {
        Some(name) if !tls.insecure_skip_verify => {
            // Verification against `server_name` needs our own rustls configuration.
            let cert_key = cert.as_deref().zip(key.as_deref());
            let rc = super::tls::client_config(tls, name, ca.as_deref(), cert_key)?;
            b = b.tls_backend_preconfigured(rc);
        }
        _ => {
            if let Some(pem) = ca {
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| format!("invalid CA certificate: {e}"))?;
                if certs.is_empty() {
                    return Err("no certificate found in the CA file".into());
                }
                for c in certs {
                    b = b.add_root_certificate(c);
                }
            }
            if let (Some(mut cert), Some(key)) = (cert, key) {
                cert.push(b'\n');
                cert.extend_from_slice(&key);
                let id = reqwest::Identity::from_pem(&cert)
                    .map_err(|e| format!("invalid client certificate or key: {e}"))?;
                b = b.identity(id);
            }
            if tls.insecure_skip_verify {
                b = b.tls_danger_accept_invalid_certs(true);
            }
            match tls.min_version.as_deref() {
                Some("TLS13") => b = b.tls_version_min(reqwest::tls::Version::TLS_1_3),
                Some(_) => b = b.tls_version_min(reqwest::tls::Version::TLS_1_2),
                None => {}
            }
        }
    }
    if let Some(p) = &cfg.proxy_url {
        let mut proxy =
            reqwest::Proxy::all(p.as_str()).map_err(|e| format!("invalid proxy_url {p:?}: {e}"))?;
        if let Some(hosts) = &cfg.no_proxy {
            proxy = proxy.no_proxy(reqwest::NoProxy::from_string(hosts));
        }
        b = b.proxy(proxy);
    } else if !cfg.proxy_from_environment {
        // reqwest reads HTTP_PROXY/HTTPS_PROXY/NO_PROXY unless told not to; Prometheus only
        // with proxy_from_environment.
        b = b.no_proxy();
    }
    if !cfg.enable_http2 {
        b = b.http1_only();
    }
    b.build()
        .map_err(|e| format!("building HTTP client: {}", error_chain(&e)))
}

/// An error with its causes, `a: b: c`, since reqwest's own message omits them.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let msg = c.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = c.source();
    }
    s
}
