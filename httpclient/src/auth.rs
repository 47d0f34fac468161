//! The authentication and `http_headers` of each request (files are re-read at every request
//! so rotated secrets are picked up, as Prometheus does).

use super::config::HttpClientConfig;
use reqwest::header::{HeaderValue, AUTHORIZATION};

fn read_file(path: &str, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("unable to read {what} file {path}: {e}"))
}

/// The `Authorization` header for a request, reading credential files now.
pub fn auth_header(cfg: &HttpClientConfig) -> Result<Option<HeaderValue>, String> {
    let value = if let Some(ba) = &cfg.basic_auth {
        let user = match &ba.username_file {
            Some(f) => read_file(f, "username")?,
            None => ba.username.clone(),
        };
        let pass = match (&ba.password, &ba.password_file) {
            (Some(p), _) => p.clone(),
            (None, Some(f)) => read_file(f, "password")?,
            (None, None) => String::new(),
        };
        format!("Basic {}", base64(format!("{user}:{pass}").as_bytes()))
    } else if let Some(a) = &cfg.authorization {
        let cred = match (&a.credentials, &a.credentials_file) {
            (Some(c), _) => c.clone(),
            (None, Some(f)) => read_file(f, "credentials")?,
            (None, None) => String::new(),
        };
        format!("{} {cred}", a.auth_type)
    } else if let Some(t) = &cfg.bearer_token {
        format!("Bearer {t}")
    } else if let Some(f) = &cfg.bearer_token_file {
        format!("Bearer {}", read_file(f, "bearer token")?)
    } else {
        return Ok(None);
    };
    let mut v = HeaderValue::from_str(&value)
        .map_err(|_| "credentials contain characters not allowed in an HTTP header".to_string())?;
    v.set_sensitive(true);
    Ok(Some(v))
}

/// Adds the auth header and the `http_headers` to a request (credential and header files
/// are read now; an `oauth2` token is fetched when there is no fresh one).
pub async fn with_auth(
    req: reqwest::RequestBuilder,
    cfg: &HttpClientConfig,
) -> Result<reqwest::RequestBuilder, String> {
    let header = match &cfg.oauth2 {
        Some(o) => Some(super::oauth2::authorization(o).await?),
        None => auth_header(cfg)?,
    };
    let mut req = match header {
        Some(v) => req.header(AUTHORIZATION, v),
        None => req,
    };
    for (name, h) in &cfg.http_headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid HTTP header name {name:?}"))?;
        let mut values: Vec<(String, bool)> = h.values.iter().map(|v| (v.clone(), false)).collect();
        values.extend(h.secrets.iter().map(|v| (v.clone(), true)));
        for f in &h.files {
            values.push((read_file(f, "header")?, true));
        }
        for (v, secret) in values {
            let mut hv =
                HeaderValue::from_str(&v).map_err(|_| format!("invalid value for HTTP header {name}"))?;
            hv.set_sensitive(secret);
            req = req.header(name.clone(), hv);
        }
    }
    Ok(req)
}

/// Standard base64 with padding (for basic auth).
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{Authorization, BasicAuth};

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn auth_headers() {
        let mut c = HttpClientConfig {
            basic_auth: Some(BasicAuth {
                username: "user".into(),
                username_file: None,
                password: Some("pass".into()),
                password_file: None,
            }),
            ..Default::default()
        };
        assert_eq!(auth_header(&c).unwrap().unwrap(), "Basic dXNlcjpwYXNz");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("token");
        std::fs::write(&f, "s3cret\n").unwrap();
        c.basic_auth = None;
        c.authorization = Some(Authorization {
            auth_type: "Bearer".into(),
            credentials: None,
            credentials_file: Some(f.to_string_lossy().into_owned()),
        });
        assert_eq!(auth_header(&c).unwrap().unwrap(), "Bearer s3cret");
        c.authorization = None;
        c.bearer_token_file = Some("/nonexistent/token".into());
        assert!(auth_header(&c).unwrap_err().contains("/nonexistent/token"));
        c.bearer_token_file = None;
        assert!(auth_header(&c).unwrap().is_none());
    }
}
