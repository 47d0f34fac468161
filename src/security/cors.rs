//! CORS for the HTTP API, off unless `--web.cors.origin=<regex>` is given (Prometheus sends
//! CORS headers for every origin by default; Sextant does not, so a page on another site
//! cannot read metrics through a visitor's browser unless the operator allows it).
//!
//! With the flag, as Prometheus does: the regex is anchored (`^(?:regex)$`); a request to
//! `/api/v1/...` whose `Origin` matches gets `Access-Control-Allow-Origin` (`*` for `.*`,
//! else the origin itself) plus the allowed methods and headers; an `OPTIONS` pre-flight is
//! answered here, before authentication (browsers send pre-flights without credentials).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use regex::Regex;
use std::sync::Arc;

/// The compiled `--web.cors.origin`.
#[derive(Clone, Debug)]
pub struct Cors {
    origin: Regex,
    any: bool,
}

impl Cors {
    /// Compiles the flag's regex (anchored). The error names the flag.
    pub fn new(pattern: &str) -> Result<Cors, String> {
        let origin = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("invalid --web.cors.origin {pattern:?}: {e}"))?;
        Ok(Cors {
            origin,
            any: pattern == ".*",
        })
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    pub fn allow(&self, origin: &str) -> Option<HeaderValue> {
        if self.any {
            return Some(HeaderValue::from_static("*"));
        }
        if self.origin.is_match(origin) {
            HeaderValue::from_str(origin).ok()
        } else {
            None
        }
    }
}

/// The middleware; state `None` = the flag is not given.
pub async fn layer(State(cors): State<Option<Arc<Cors>>>, req: Request, next: Next) -> Response {
    let Some(cors) = cors else {
        return next.run(req).await;
    };
    if !req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let allowed = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .and_then(|o| cors.allow(o));
    let mut resp = if req.method() == Method::OPTIONS {
        (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"success","data":null}"#,
        )
            .into_response()
    } else {
        next.run(req).await
    };
    if let Some(origin) = allowed {
        let h = resp.headers_mut();
        for (k, v) in [
            (
                "access-control-allow-headers",
                "Accept, Authorization, Content-Type, Origin",
            ),
            ("access-control-allow-methods", "GET, POST, OPTIONS"),
            ("access-control-expose-headers", "Date"),
        ] {
            h.insert(k, HeaderValue::from_static(v));
        }
        h.append(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored() {
        let c = Cors::new(r"https://grafana\.example\.com").unwrap();
        assert!(c.allow("https://grafana.example.com").is_some());
        assert!(c.allow("https://grafana.example.com.evil.org").is_none());
        assert!(c.allow("https://evil.org/https://grafana.example.com").is_none());
        assert_eq!(Cors::new(".*").unwrap().allow("http://x").unwrap(), "*");
        assert!(Cors::new("(").unwrap_err().contains("--web.cors.origin"));
    }
}
