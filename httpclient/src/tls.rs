//! The rustls client configuration for a `tls_config` with `server_name`: reqwest verifies the
//! certificate against the URL's host, Prometheus against `server_name` when it is set (to
//! scrape by IP a target whose certificate names a host). The verifier here wraps the usual
//! one (the configured CA, or the platform's roots) and hands it `server_name` instead.
//!
//! The SNI sent is still the URL's host (reqwest sets it); only verification uses
//! `server_name`.

use super::config::TlsConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// Verifies as `inner` does, for `name` whatever host was connected to.
///
/// Declared boilerplate: the signature methods are the ones rustls' `ServerCertVerifier`
/// declares (the server's `AnyClientCert` has the same ones for `ClientCertVerifier`); here
/// each delegates to `inner`.
#[derive(Debug)]
struct VerifyAs {
    inner: Arc<dyn ServerCertVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for VerifyAs {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The rustls client config for `tls` (which has a `server_name`): CA (`ca`/`ca_file`, else
/// the platform roots), client certificate, minimum version. `ca`, `cert` and `key` are the
/// PEM contents already read from the config or files.
pub(crate) fn client_config(
    tls: &TlsConfig,
    server_name: &str,
    ca: Option<&[u8]>,
    cert_key: Option<(&[u8], &[u8])>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|e| format!("invalid tls_config.server_name {server_name:?}: {e}"))?;
    let inner: Arc<dyn ServerCertVerifier> = match ca {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(pem) {
                let c = c.map_err(|e| format!("invalid CA certificate: {e}"))?;
                roots.add(c).map_err(|e| format!("invalid CA certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err("no certificate found in the CA file".into());
            }
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("building the certificate verifier: {e}"))?
        }
        None => Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| format!("loading the platform's root certificates: {e}"))?,
        ),
    };
    let versions: &[&rustls::SupportedProtocolVersion] = match tls.min_version.as_deref() {
        Some("TLS13") => &[&rustls::version::TLS13],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(VerifyAs { inner, name }));
    let cfg = match cert_key {
        Some((cert, key)) => {
            let certs = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("invalid client certificate: {e}"))?;
            if certs.is_empty() {
                return Err("no certificate found in the client certificate".into());
            }
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("invalid client key: {e}"))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("invalid client certificate or key: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(cfg)
}

/// Checks that only known `min_version` values are used (Prometheus: TLS10..TLS13; TLS 1.0
/// and 1.1 are not supported by rustls, so they mean 1.2 here).
pub(crate) fn check_min_version(v: Option<&str>) -> Result<(), String> {
    match v {
        None | Some("TLS10" | "TLS11" | "TLS12" | "TLS13") => Ok(()),
        Some(other) => Err(format!(
            "unknown TLS version {other:?} in tls_config.min_version (want TLS10, TLS11, TLS12 or TLS13)"
        )),
    }
}
