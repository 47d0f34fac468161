//! `tls_server_config` -> a rustls server configuration (provider: aws-lc-rs, the one the
//! rest of Sextant's TLS already uses).
//!
//! Mapping of exporter-toolkit's options (Go's `crypto/tls` names) onto rustls:
//! - `min_version`/`max_version`: rustls speaks TLS 1.2 and 1.3 only; a minimum of `TLS10`
//!   or `TLS11` is raised to 1.2 (with a warning), a maximum below 1.2 is refused.
//! - `cipher_suites`: the TLS 1.2 suites allowed, by IANA/Go name, in the server's preference
//!   order; TLS 1.3 suites are not configurable (as in Go).
//! - `curve_preferences`: `X25519`, `CurveP256`, `CurveP384`, `X25519MLKEM768`.
//! - `client_auth_type`: `NoClientCert`, `RequestClientCert`, `RequireAnyClientCert`,
//!   `VerifyClientCertIfGiven`, `RequireAndVerifyClientCert` (the last two need a client CA).
//! - `client_allowed_sans`: DNS names and IP addresses, checked after the handshake
//!   ([`client_san_allowed`]; webpki's matching, so a wildcard certificate matches a name).

use serde::Deserialize;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

/// `tls_server_config`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// Inline PEM certificate (chain).
    #[serde(default)]
    pub cert: Option<String>,
    /// Inline PEM private key.
    #[serde(default)]
    pub key: Option<String>,
    /// Inline PEM CA bundle for client certificates.
    #[serde(default)]
    pub client_ca: Option<String>,
    /// Certificate (chain) file.
    #[serde(default)]
    pub cert_file: Option<String>,
    /// Private key file.
    #[serde(default)]
    pub key_file: Option<String>,
    /// Go's `tls.ClientAuthType` name.
    #[serde(default)]
    pub client_auth_type: Option<String>,
    /// CA bundle file for client certificates.
    #[serde(default)]
    pub client_ca_file: Option<String>,
    /// Client certificate SANs allowed in (DNS names and IP addresses); empty = any.
    #[serde(default)]
    pub client_allowed_sans: Vec<String>,
    /// `TLS10` .. `TLS13` (default `TLS12`).
    #[serde(default)]
    pub min_version: Option<String>,
    /// `TLS10` .. `TLS13` (default `TLS13`).
    #[serde(default)]
    pub max_version: Option<String>,
    /// TLS 1.2 cipher suites by Go name.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    /// Whether the server's order of `cipher_suites` wins (default true).
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    /// Key-exchange groups by Go name, in preference order.
    #[serde(default)]
    pub curve_preferences: Vec<String>,
}

impl TlsServerConfig {
    /// Whether the section asks for TLS at all (exporter-toolkit: an empty section is plain HTTP).
    pub fn is_enabled(&self) -> bool {
        self.cert.is_some() || self.cert_file.is_some() || self.key.is_some() || self.key_file.is_some()
    }
}

/// Parses one `client_allowed_sans` entry: a DNS name or an IP address (e-mail and URI SANs,
/// which exporter-toolkit also matches, are refused with an error).
pub fn allowed_san(s: &str) -> Result<ServerName<'static>, String> {
    if s.contains('@') || s.contains("://") {
        return Err(format!(
            "tls_server_config.client_allowed_sans: {s:?}: only DNS names and IP addresses are supported"
        ));
    }
    ServerName::try_from(s.to_string())
        .map_err(|e| format!("tls_server_config.client_allowed_sans: {s:?}: {e}"))
}

/// Whether the client's certificate (the first of `chain`) carries one of `allowed` as a
/// DNS or IP subject alternative name. An empty `allowed` lets everyone in.
pub fn client_san_allowed(chain: Option<&[CertificateDer<'_>]>, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(cert) = chain.and_then(|c| c.first()) else {
        return false;
    };
    let Ok(ee) = webpki::EndEntityCert::try_from(cert) else {
        return false;
    };
    allowed
        .iter()
        .any(|s| allowed_san(s).is_ok_and(|name| ee.verify_is_valid_for_subject_name(&name).is_ok()))
}

/// Builds the rustls configuration, reading the files named; every error names its field.
pub fn build(t: &TlsServerConfig) -> Result<Arc<ServerConfig>, String> {
    build_with_alpn(t, true, None)
}

/// Like [`build`], offering HTTP/2 through ALPN only when `http2` is set; `extra_client_ca`
/// is trusted for client certificates besides `client_ca_file` (the self-scrape's own
/// ephemeral CA, see [`super::self_scrape`]).
pub fn build_with_alpn(
    t: &TlsServerConfig,
    http2: bool,
    extra_client_ca: Option<&CertificateDer<'static>>,
) -> Result<Arc<ServerConfig>, String> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    restrict_suites(&mut provider, &t.cipher_suites)?;
    restrict_groups(&mut provider, &t.curve_preferences)?;
    let versions = versions(t.min_version.as_deref(), t.max_version.as_deref())?;
    let provider = Arc::new(provider);
    let certs = read_certs(
        t.cert.as_deref(),
        t.cert_file.as_deref(),
        "tls_server_config.cert_file",
    )?;
    let key = read_key(t)?;
    let verifier = client_verifier(t, &provider, extra_client_ca)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls_server_config: the certificate and key cannot be used together: {e}"))?;
    cfg.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    cfg.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(cfg))
}

fn version_rank(field: &str, v: &str) -> Result<u8, String> {
    match v {
        "TLS10" => Ok(10),
        "TLS11" => Ok(11),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        other => Err(format!(
            "tls_server_config.{field}: unknown TLS version {other:?} (use TLS10, TLS11, TLS12 or TLS13)"
        )),
    }
}

fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let lo = version_rank("min_version", min.unwrap_or("TLS12"))?;
    let hi = version_rank("max_version", max.unwrap_or("TLS13"))?;
    if lo < 12 {
        tracing::warn!(
            "tls_server_config.min_version {lo}: TLS below 1.2 is not supported; the minimum is TLS 1.2"
        );
    }
    if hi < 12 {
        return Err("tls_server_config.max_version: TLS below 1.2 is not supported".into());
    }
    if lo > hi {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let mut v = Vec::new();
    if lo <= 12 {
        v.push(&rustls::version::TLS12);
    }
    if hi >= 13 {
        v.push(&rustls::version::TLS13);
    }
    Ok(v)
}

fn suite_name(s: &rustls::SupportedCipherSuite) -> String {
    format!("{:?}", s.suite())
}

fn restrict_suites(p: &mut CryptoProvider, names: &[String]) -> Result<(), String> {
    if names.is_empty() {
        return Ok(());
    }
    let tls12: Vec<_> = p
        .cipher_suites
        .iter()
        .filter(|s| s.tls13().is_none())
        .cloned()
        .collect();
    let mut chosen: Vec<rustls::SupportedCipherSuite> = p
        .cipher_suites
        .iter()
        .filter(|s| s.tls13().is_some())
        .cloned()
        .collect();
    for name in names {
        // Go also spells the ChaCha suites without the hash.
        let alt = format!("{name}_SHA256");
        let Some(s) = tls12
            .iter()
            .find(|s| suite_name(s) == *name || suite_name(s) == alt)
        else {
            return Err(format!(
                "tls_server_config.cipher_suites: unsupported cipher suite {name:?} (supported: {})",
                tls12.iter().map(suite_name).collect::<Vec<_>>().join(", ")
            ));
        };
        chosen.push(*s);
    }
    p.cipher_suites = chosen;
    Ok(())
}

fn restrict_groups(p: &mut CryptoProvider, names: &[String]) -> Result<(), String> {
    if names.is_empty() {
        return Ok(());
    }
    let mut chosen = Vec::new();
    for name in names {
        let want = match name.as_str() {
            "X25519" => "X25519",
            "CurveP256" | "P256" => "secp256r1",
            "CurveP384" | "P384" => "secp384r1",
            "X25519MLKEM768" => "X25519MLKEM768",
            _ => "",
        };
        let Some(g) = p
            .kx_groups
            .iter()
            .find(|g| !want.is_empty() && format!("{:?}", g.name()) == want)
        else {
            return Err(format!(
                "tls_server_config.curve_preferences: unsupported curve {name:?} (supported: X25519, CurveP256, CurveP384, X25519MLKEM768)"
            ));
        };
        chosen.push(*g);
    }
    p.kx_groups = chosen;
    Ok(())
}

fn read_pem(inline: Option<&str>, file: Option<&str>, field: &str) -> Result<(Vec<u8>, String), String> {
    match (inline, file) {
        (Some(pem), _) => Ok((pem.as_bytes().to_vec(), "inline PEM".into())),
        (None, Some(f)) if !f.is_empty() => std::fs::read(f)
            .map(|b| (b, f.to_string()))
            .map_err(|e| format!("{field}: cannot read {f}: {e}")),
        _ => Err(format!("{field}: missing")),
    }
}

pub(crate) fn read_certs(
    inline: Option<&str>,
    file: Option<&str>,
    field: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let (pem, what) = read_pem(inline, file, field)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{field}: {what} is not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{field}: no certificate found in {what}"));
    }
    Ok(certs)
}

fn read_key(t: &TlsServerConfig) -> Result<PrivateKeyDer<'static>, String> {
    let field = "tls_server_config.key_file";
    let (pem, what) = read_pem(t.key.as_deref(), t.key_file.as_deref(), field)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| format!("{field}: no usable private key in {what}: {e}"))
}

fn client_verifier(
    t: &TlsServerConfig,
    provider: &Arc<CryptoProvider>,
    extra_client_ca: Option<&CertificateDer<'static>>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
    let has_ca = t.client_ca.is_some() || t.client_ca_file.as_deref().is_some_and(|f| !f.is_empty());
    let kind = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let verified = |optional: bool| -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
        if !has_ca {
            return Err(format!(
                "tls_server_config.client_ca_file: client_auth_type {kind} needs a client CA"
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        for c in read_certs(
            t.client_ca.as_deref(),
            t.client_ca_file.as_deref(),
            "tls_server_config.client_ca_file",
        )? {
            roots
                .add(c)
                .map_err(|e| format!("tls_server_config.client_ca_file: bad CA certificate: {e}"))?;
        }
        if let Some(ca) = extra_client_ca {
            roots
                .add(ca.clone())
                .map_err(|e| format!("the self-scrape's client CA cannot be used: {e}"))?;
        }
        let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        if optional {
            b = b.allow_unauthenticated();
        }
        b.build()
            .map(Some)
            .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))
    };
    match kind {
        "NoClientCert" if has_ca => Err(
            "tls_server_config.client_auth_type: client CAs are configured without a client auth policy (set RequireAndVerifyClientCert)"
                .into(),
        ),
        "NoClientCert" => Ok(None),
        "RequestClientCert" | "RequireAnyClientCert" => Ok(Some(Arc::new(AnyClientCert {
            required: kind == "RequireAnyClientCert",
            algs: provider.signature_verification_algorithms,
        }))),
        "VerifyClientCertIfGiven" => verified(true),
        "RequireAndVerifyClientCert" => verified(false),
        other => Err(format!(
            "tls_server_config.client_auth_type: invalid value {other:?} (use NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
        )),
    }
}

/// Go's `RequestClientCert`/`RequireAnyClientCert`: a client certificate is asked for (or
/// required) but not checked against any CA; only the handshake signature is verified.
///
/// Declared boilerplate: the signature methods are the ones rustls' `ClientCertVerifier`
/// declares (httpclient's `VerifyAs` has the same ones for `ServerCertVerifier`); here each
/// checks with `algs`.
#[derive(Debug)]
struct AnyClientCert {
    required: bool,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.required
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(dir: &std::path::Path) -> (String, String) {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.join("c.pem");
        let key = dir.join("k.pem");
        std::fs::write(&cert, c.cert.pem()).unwrap();
        std::fs::write(&key, c.signing_key.serialize_pem()).unwrap();
        (cert.display().to_string(), key.display().to_string())
    }

    fn cfg(cert: &str, key: &str) -> TlsServerConfig {
        TlsServerConfig {
            cert_file: Some(cert.into()),
            key_file: Some(key.into()),
            ..TlsServerConfig::default()
        }
    }

    #[test]
    fn builds_and_checks_options() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path());
        let c = build(&cfg(&cert, &key)).unwrap();
        assert_eq!(c.alpn_protocols[0], b"h2");
        let c = build_with_alpn(&cfg(&cert, &key), false, None).unwrap();
        assert_eq!(c.alpn_protocols, vec![b"http/1.1".to_vec()]);

        let mut t = cfg(&cert, &key);
        t.cipher_suites = vec!["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into()];
        t.curve_preferences = vec!["X25519".into(), "CurveP256".into()];
        t.min_version = Some("TLS12".into());
        build(&t).unwrap();

        t.cipher_suites = vec!["TLS_RSA_WITH_RC4_128_SHA".into()];
        let e = build(&t).unwrap_err();
        assert!(e.contains("cipher_suites") && e.contains("RC4"), "{e}");

        let mut t = cfg(&cert, &key);
        t.min_version = Some("TLS14".into());
        assert!(build(&t).unwrap_err().contains("min_version"));
        let mut t = cfg(&cert, &key);
        t.client_auth_type = Some("RequireAndVerifyClientCert".into());
        assert!(build(&t).unwrap_err().contains("client_ca_file"));
        t.client_ca_file = Some(cert.clone());
        build(&t).unwrap();
        t.client_auth_type = Some("Sometimes".into());
        assert!(build(&t).unwrap_err().contains("client_auth_type"));
        let mut t = cfg(&cert, &key);
        t.client_auth_type = Some("RequireAnyClientCert".into());
        build(&t).unwrap();

        // key of another certificate
        let other = tempfile::tempdir().unwrap();
        let (_, key2) = self_signed(other.path());
        let e = build(&cfg(&cert, &key2)).unwrap_err();
        assert!(e.contains("certificate and key"), "{e}");
        let e = build(&cfg(&key, &key)).unwrap_err();
        assert!(e.contains("cert_file"), "{e}");
    }
}
