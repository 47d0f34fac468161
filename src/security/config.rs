//! The web configuration file (`--web.config.file`), in the format of Prometheus'
//! exporter-toolkit: `tls_server_config`, `http_server_config`, `basic_auth_users`,
//! `rate_limit`, plus Sextant's own `sextant:` section (per-user roles).
//!
//! Parsing is strict: an unknown field, a bad value or an unreadable file is an error that
//! names the field, so a typo never silently leaves the server open.

pub use super::tls::TlsServerConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// TLS for the listener; absent (or empty) = plain HTTP.
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    /// HTTP options: HTTP/2 and extra response headers.
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    /// User name -> bcrypt hash. Empty = no authentication.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
    /// Token-bucket rate limit over all requests.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Sextant's extension: roles per user.
    #[serde(default)]
    pub sextant: SextantSection,
}

/// `http_server_config`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Offer HTTP/2 over TLS (ALPN `h2`); default true.
    #[serde(default = "yes")]
    pub http2: bool,
    /// Extra response headers (only the security headers exporter-toolkit allows).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        HttpServerConfig {
            http2: true,
            headers: BTreeMap::new(),
        }
    }
}

fn yes() -> bool {
    true
}

/// `rate_limit`: at most one request per `interval`, with bursts of `burst`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Time between two requests (`0` disables the limiter).
    pub interval: String,
    /// Requests allowed at once.
    #[serde(default)]
    pub burst: u32,
}

/// `sextant:`, Sextant's extension of the format.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SextantSection {
    /// User -> roles (`read`, `write`, `admin`; one name or a list). Users of
    /// `basic_auth_users` not listed here have every role.
    #[serde(default)]
    pub roles: BTreeMap<String, OneOrMany>,
}

/// A YAML scalar or a list of them.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `role`
    One(String),
    /// `[role, role]`
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// What a user may do. `admin` includes the other two.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    /// Query APIs, UI, federation, remote read, `/metrics`.
    pub read: bool,
    /// Push endpoints: remote write, OTLP (HTTP and gRPC), import.
    pub write: bool,
    /// Admin APIs and lifecycle endpoints (`/-/reload`, `/-/quit`).
    pub admin: bool,
}

impl Roles {
    /// Every role.
    pub const ALL: Roles = Roles {
        read: true,
        write: true,
        admin: true,
    };
}

/// Response headers exporter-toolkit lets the file set, and the values it accepts
/// (`None`: any value).
const ALLOWED_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Content-Security-Policy", None),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-XSS-Protection", None),
    ("Strict-Transport-Security", None),
];

/// Parses the file's text, checks every field, and resolves relative file names against
/// `base` (the file's directory, as exporter-toolkit does).
pub fn parse(text: &str, base: &Path) -> Result<WebConfig, String> {
    let mut c: WebConfig = if text.trim().is_empty() {
        WebConfig::default()
    } else {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())?
    };
    if let Some(t) = &mut c.tls_server_config {
        for f in [&mut t.cert_file, &mut t.key_file, &mut t.client_ca_file]
            .into_iter()
            .flatten()
        {
            if !f.is_empty() && Path::new(f.as_str()).is_relative() {
                *f = base.join(f.as_str()).display().to_string();
            }
        }
    }
    validate(&c)?;
    Ok(c)
}

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<WebConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&text, &base)
}

fn validate(c: &WebConfig) -> Result<(), String> {
    if let Some(t) = &c.tls_server_config {
        validate_tls(t)?;
    }
    for (name, value) in &c.http_server_config.headers {
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(h, _)| h.eq_ignore_ascii_case(name)) else {
            return Err(format!(
                "http_server_config.headers: HTTP header {name:?} can not be configured (allowed: {})",
                ALLOWED_HEADERS
                    .iter()
                    .map(|(h, _)| *h)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        if let Some(values) = allowed {
            if !values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
                return Err(format!(
                    "http_server_config.headers.{name}: invalid value {value:?} (accepted: {})",
                    values.join(", ")
                ));
            }
        }
        if axum::http::HeaderValue::from_str(value).is_err() {
            return Err(format!(
                "http_server_config.headers.{name}: value contains characters not allowed in a header"
            ));
        }
    }
    for (user, hash) in &c.basic_auth_users {
        if user.contains(':') {
            return Err(format!(
                "basic_auth_users: user name {user:?} contains ':', which basic authentication cannot carry"
            ));
        }
        let cost = bcrypt_cost(hash).ok_or_else(|| {
            format!("basic_auth_users.{user}: not a bcrypt hash (expected $2a$, $2b$ or $2y$ followed by the cost, e.g. the output of `htpasswd -nBC 10 \"\"`)")
        })?;
        if cost < 10 {
            tracing::warn!(
                "basic_auth_users.{user}: bcrypt cost {cost} is below 10; use a cost of at least 10"
            );
        }
    }
    if let Some(r) = &c.rate_limit {
        storage::PromDuration::parse(r.interval.trim()).map_err(|e| format!("rate_limit.interval: {e}"))?;
    }
    for (user, roles) in &c.sextant.roles {
        if !c.basic_auth_users.contains_key(user) {
            return Err(format!("sextant.roles.{user}: no such user in basic_auth_users"));
        }
        parse_roles(roles).map_err(|e| format!("sextant.roles.{user}: {e}"))?;
    }
    Ok(())
}

/// The cost of a bcrypt hash (`$2y$10$...` -> 10), if it looks like one.
pub fn bcrypt_cost(hash: &str) -> Option<u32> {
    let mut parts = hash.split('$');
    let (Some(""), Some(v), Some(cost), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if !matches!(v, "2a" | "2b" | "2y" | "2x") || rest.len() != 53 {
        return None;
    }
    cost.parse().ok().filter(|c| (4..=31).contains(c))
}

fn parse_roles(r: &OneOrMany) -> Result<Roles, String> {
    let mut out = Roles::default();
    let items = r.items();
    if items.is_empty() {
        return Err("no role given (use read, write or admin)".into());
    }
    for item in items {
        match item {
            "read" => out.read = true,
            "write" => out.write = true,
            "admin" => out = Roles::ALL,
            other => return Err(format!("unknown role {other:?} (use read, write or admin)")),
        }
    }
    Ok(out)
}

impl WebConfig {
    /// The roles of `user` (every role unless `sextant.roles` lists the user).
    pub fn roles_of(&self, user: &str) -> Roles {
        match self.sextant.roles.get(user) {
            Some(r) => parse_roles(r).unwrap_or_default(),
            None => Roles::ALL,
        }
    }

    /// Whether TLS is configured.
    pub fn tls_enabled(&self) -> bool {
        self.tls_server_config
            .as_ref()
            .is_some_and(TlsServerConfig::is_enabled)
    }
}

fn validate_tls(t: &TlsServerConfig) -> Result<(), String> {
    if !t.is_enabled() {
        if t.client_ca_file.is_some() || t.client_ca.is_some() || t.client_auth_type.is_some() {
            return Err("tls_server_config: client certificate options need cert_file and key_file".into());
        }
        return Ok(());
    }
    if t.cert.is_some() && t.cert_file.is_some() {
        return Err("tls_server_config: cert and cert_file are mutually exclusive".into());
    }
    if t.key.is_some() && t.key_file.is_some() {
        return Err("tls_server_config: key and key_file are mutually exclusive".into());
    }
    if t.client_ca.is_some() && t.client_ca_file.is_some() {
        return Err("tls_server_config: client_ca and client_ca_file are mutually exclusive".into());
    }
    if t.cert.is_none() && t.cert_file.as_deref().unwrap_or("").is_empty() {
        return Err("tls_server_config.cert_file: missing (a key is set but no certificate)".into());
    }
    if t.key.is_none() && t.key_file.as_deref().unwrap_or("").is_empty() {
        return Err("tls_server_config.key_file: missing (a certificate is set but no key)".into());
    }
    if !t.client_allowed_sans.is_empty() {
        let kind = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
        if !matches!(kind, "RequireAnyClientCert" | "RequireAndVerifyClientCert") {
            return Err(format!(
                "tls_server_config.client_allowed_sans: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert, not {kind}"
            ));
        }
        for san in &t.client_allowed_sans {
            super::tls::allowed_san(san)?;
        }
    }
    // The rest (files, versions, suites, curves, client auth) is checked by building it.
    super::tls::build(t).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

    fn p(text: &str) -> Result<WebConfig, String> {
        parse(text, Path::new("/"))
    }

    #[test]
    fn empty_and_users() {
        let c = p("").unwrap();
        assert!(!c.tls_enabled());
        assert!(c.basic_auth_users.is_empty());
        let c = p(&format!("basic_auth_users:\n  alice: {HASH}\n")).unwrap();
        assert_eq!(c.roles_of("alice"), Roles::ALL);
        assert!(c.http_server_config.http2);
    }

    #[test]
    fn errors_name_the_field() {
        let e = p("tls_server_config:\n  cert_fil: a\n").unwrap_err();
        assert!(e.contains("cert_fil"), "{e}");
        let e = p("basic_auth_users:\n  bob: plain\n").unwrap_err();
        assert!(e.contains("basic_auth_users.bob"), "{e}");
        let e = p("tls_server_config:\n  cert_file: /nonexistent/c.pem\n").unwrap_err();
        assert!(e.contains("key_file"), "{e}");
        let e = p("tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: /nonexistent/k.pem\n")
            .unwrap_err();
        assert!(e.contains("cert_file") && e.contains("/nonexistent/c.pem"), "{e}");
        let e = p("http_server_config:\n  headers:\n    X-Frame-Options: allow\n").unwrap_err();
        assert!(e.contains("X-Frame-Options"), "{e}");
        let e = p("http_server_config:\n  headers:\n    Server: x\n").unwrap_err();
        assert!(e.contains("Server"), "{e}");
        let e = p(&format!(
            "basic_auth_users:\n  a: {HASH}\nsextant:\n  roles:\n    b: read\n"
        ))
        .unwrap_err();
        assert!(e.contains("sextant.roles.b"), "{e}");
        let e = p(&format!(
            "basic_auth_users:\n  a: {HASH}\nsextant:\n  roles:\n    a: reader\n"
        ))
        .unwrap_err();
        assert!(e.contains("sextant.roles.a") && e.contains("reader"), "{e}");
        let tls = "tls_server_config:\n  cert_file: c\n  key_file: k\n";
        let e = p(&format!("{tls}  client_allowed_sans: [a.example]\n")).unwrap_err();
        assert!(
            e.contains("client_allowed_sans") && e.contains("NoClientCert"),
            "{e}"
        );
        let e = p(&format!(
            "{tls}  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [me@example.com]\n"
        ))
        .unwrap_err();
        assert!(e.contains("only DNS names and IP addresses"), "{e}");
        let e = p("rate_limit:\n  interval: 1x\n  burst: 2\n").unwrap_err();
        assert!(e.contains("rate_limit.interval"), "{e}");
    }

    #[test]
    fn roles() {
        let c = p(&format!(
            "basic_auth_users:\n  w: {HASH}\n  r: {HASH}\n  rw: {HASH}\n  a: {HASH}\nsextant:\n  roles:\n    w: write\n    r: [read]\n    rw: [read, write]\n    a: admin\n"
        ))
        .unwrap();
        assert_eq!(
            c.roles_of("w"),
            Roles {
                write: true,
                ..Roles::default()
            }
        );
        assert!(c.roles_of("r").read && !c.roles_of("r").write);
        assert!(c.roles_of("rw").read && c.roles_of("rw").write && !c.roles_of("rw").admin);
        assert_eq!(c.roles_of("a"), Roles::ALL);
    }

    #[test]
    fn bcrypt_costs() {
        assert_eq!(bcrypt_cost(HASH), Some(10));
        assert_eq!(bcrypt_cost("$2y$10$short"), None);
        assert_eq!(bcrypt_cost("plain"), None);
    }
}
