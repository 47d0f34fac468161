//! OAuth 2.0 client credentials (`oauth2` in an HTTP client configuration), as Prometheus'
//! clients do: a token is asked of `token_url` with `grant_type=client_credentials`, the
//! client ID and secret as HTTP basic auth (each form-encoded, RFC 6749 section 2.3.1), the
//! scopes and `endpoint_params` in the form; it is kept until ten seconds before `expires_in`
//! runs out (a token without `expires_in` is kept, as Go's oauth2 package keeps it) and
//! sent as `Authorization: <token_type> <access_token>`.

use super::config::{HttpClientConfig, OAuth2};
use parking_lot::Mutex;
use reqwest::header::HeaderValue;
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// How long before its expiry a token is replaced (Go's oauth2 package uses the same margin).
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// How long a token request may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct CachedToken {
    header: HeaderValue,
    expires: Option<Instant>,
}

/// Tokens by everything that identifies the grant (a changed secret asks anew).
static TOKENS: LazyLock<Mutex<HashMap<String, CachedToken>>> = LazyLock::new(Default::default);

/// The `Authorization` header for `cfg`: the cached token while it is fresh, else a new one.
pub async fn authorization(cfg: &OAuth2) -> Result<HeaderValue, String> {
    let secret = match (&cfg.client_secret, &cfg.client_secret_file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("oauth2: unable to read client secret file {f}: {e}"))?,
        (None, None) => String::new(),
    };
    let key = cache_key(cfg, &secret);
    if let Some(t) = TOKENS.lock().get(&key) {
        if t.expires.is_none_or(|e| Instant::now() + EXPIRY_MARGIN < e) {
            return Ok(t.header.clone());
        }
    }
    let token = fetch(cfg, &secret).await?;
    TOKENS.lock().insert(key, token.clone());
    Ok(token.header)
}

fn cache_key_prefix(cfg: &OAuth2) -> String {
    format!("{}\u{0}{}\u{0}", cfg.token_url, cfg.client_id)
}

fn cache_key(cfg: &OAuth2, secret: &str) -> String {
    let mut k = cache_key_prefix(cfg);
    k.push_str(secret);
    for s in &cfg.scopes {
        k.push('\u{0}');
        k.push_str(s);
    }
    for (n, v) in &cfg.endpoint_params {
        k.push('\u{1}');
        k.push_str(n);
        k.push('=');
        k.push_str(v);
    }
    k
}

/// Asks `token_url` for a token.
async fn fetch(cfg: &OAuth2, secret: &str) -> Result<CachedToken, String> {
    let client_cfg = HttpClientConfig {
        tls_config: cfg.tls_config.clone(),
        proxy_url: cfg.proxy_url.clone(),
        follow_redirects: true,
        ..HttpClientConfig::default()
    };
    let client = super::build_client(&client_cfg, false)?;
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    let scope = cfg.scopes.join(" ");
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    for (n, v) in &cfg.endpoint_params {
        form.push((n, v));
    }
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let user = form_urlencoded::byte_serialize(cfg.client_id.as_bytes()).collect::<String>();
    let pass = form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
    let resp = client
        .post(&cfg.token_url)
        .basic_auth(user, Some(pass))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(TOKEN_TIMEOUT)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            format!(
                "oauth2: token request to {}: {}",
                cfg.token_url,
                super::error_chain(&e)
            )
        })?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("oauth2: reading the token response of {}: {e}", cfg.token_url))?;
    if !status.is_success() {
        let detail: String = text.chars().take(200).collect();
        return Err(format!(
            "oauth2: token endpoint {} answered {status}: {}",
            cfg.token_url,
            detail.trim()
        ));
    }
    parse_token(&text).map_err(|e| format!("oauth2: token response of {}: {e}", cfg.token_url))
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// Reads a token endpoint's JSON answer.
fn parse_token(text: &str) -> Result<CachedToken, String> {
    let t: TokenResponse = serde_json::from_str(text).map_err(|e| format!("not a token: {e}"))?;
    if t.access_token.is_empty() {
        return Err("no access_token in the answer".into());
    }
    // `expires_in` is a number of seconds; some servers send it as a string.
    let secs = match &t.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.parse::<f64>().ok(),
        _ => None,
    };
    let expires = secs
        .filter(|s| *s > 0.0 && s.is_finite())
        .map(|s| Instant::now() + Duration::from_secs_f64(s.min(1e9)));
    let kind = match t.token_type.to_ascii_lowercase().as_str() {
        "" | "bearer" => "Bearer".to_string(),
        "mac" => "MAC".to_string(),
        "basic" => "Basic".to_string(),
        _ => t.token_type.clone(),
    };
    let mut header = HeaderValue::from_str(&format!("{kind} {}", t.access_token))
        .map_err(|_| "the token has characters not allowed in an HTTP header".to_string())?;
    header.set_sensitive(true);
    Ok(CachedToken { header, expires })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers() {
        let t =
            parse_token(r#"{"access_token":"abc","token_type":"bearer","expires_in":3600}"#).expect("token");
        assert_eq!(t.header.to_str().ok(), Some("Bearer abc"));
        assert!(t.expires.is_some());
        let t = parse_token(r#"{"access_token":"abc","expires_in":"60"}"#).expect("string expiry");
        assert!(t.expires.is_some());
        let t = parse_token(r#"{"access_token":"abc"}"#).expect("no expiry");
        assert!(t.expires.is_none());
        assert!(parse_token(r#"{"error":"invalid_client"}"#).is_err());
        assert!(parse_token(r#"{"access_token":""}"#).is_err());
        assert!(parse_token(r#"{"access_token":"a\nb"}"#).is_err());
    }

    /// A token endpoint and a protected endpoint on loopback: the token is fetched once with
    /// the client's credentials and form, then reused.
    #[tokio::test]
    async fn fetches_once_then_reuses_the_token() {
        use axum::extract::State;
        use axum::http::{HeaderMap, StatusCode};
        use axum::routing::{get, post};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        let token_calls = Arc::new(AtomicUsize::new(0));
        let calls = token_calls.clone();
        let app = axum::Router::new()
            .route(
                "/token",
                post(move |headers: HeaderMap, body: String| {
                    let calls = calls.clone();
                    async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        // "id:s3cr%26t" form-encoded, then base64.
                        let auth = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        let ok_auth = auth == "Basic aWQ6czNjciUyNnQ=";
                        let ok_form = body.contains("grant_type=client_credentials")
                            && body.contains("scope=read+write")
                            && body.contains("audience=sextant");
                        if ok_auth && ok_form {
                            (
                                StatusCode::OK,
                                r#"{"access_token":"tok","token_type":"bearer","expires_in":3600}"#
                                    .to_string(),
                            )
                        } else {
                            (StatusCode::UNAUTHORIZED, format!("auth {auth} body {body}"))
                        }
                    }
                }),
            )
            .route(
                "/metrics",
                get(|State(()): State<()>, headers: HeaderMap| async move {
                    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                        Some("Bearer tok") => StatusCode::OK,
                        _ => StatusCode::FORBIDDEN,
                    }
                }),
            )
            .with_state(());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });

        let cfg = HttpClientConfig {
            oauth2: Some(OAuth2 {
                client_id: "id".into(),
                client_secret: Some("s3cr&t".into()),
                scopes: vec!["read".into(), "write".into()],
                token_url: format!("http://{addr}/token"),
                endpoint_params: [("audience".to_string(), "sextant".to_string())].into(),
                ..OAuth2::default()
            }),
            follow_redirects: true,
            ..HttpClientConfig::default()
        };
        let client = super::super::build_client(&cfg, false).expect("client");
        for _ in 0..3 {
            let req = super::super::with_auth(client.get(format!("http://{addr}/metrics")), &cfg)
                .await
                .expect("token");
            let resp = req.send().await.expect("send");
            assert_eq!(resp.status(), 200);
        }
        assert_eq!(token_calls.load(Ordering::SeqCst), 1, "the token is reused");

        // A refused token request is an error naming the endpoint and the status.
        let mut bad = cfg.clone();
        if let Some(o) = bad.oauth2.as_mut() {
            o.client_secret = Some("wrong".into());
        }
        let e = super::super::with_auth(client.get(format!("http://{addr}/metrics")), &bad)
            .await
            .expect_err("refused");
        assert!(e.contains("/token") && e.contains("401"), "{e}");
    }
}
