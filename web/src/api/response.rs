//! The response envelope, built by one function for successes and errors alike:
//! `{"status":..., "data":..., "errorType":..., "error":..., "warnings":[...], "infos":[...]}`
//! with the fields in Prometheus' order and absent fields omitted.

use super::error::{ApiError, ErrorType};
use super::json;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A successful API result: the `data` member (already rendered as JSON) plus annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Success {
    data: String,
    warnings: Vec<String>,
    infos: Vec<String>,
}

impl Success {
    /// A result whose `data` is `value` serialised with serde.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, ApiError> {
        serde_json::to_string(value)
            .map(Self::raw)
            .map_err(|e| ApiError::internal(format!("error marshaling response: {e}")))
    }

    /// A result whose `data` is the given JSON text (the caller guarantees it is valid JSON).
    pub fn raw(data_json: String) -> Self {
        Success {
            data: data_json,
            warnings: Vec::new(),
            infos: Vec::new(),
        }
    }

    /// Adds `warnings`.
    pub fn with_warnings(mut self, warnings: impl IntoIterator<Item = String>) -> Self {
        self.warnings.extend(warnings);
        self
    }

    /// Adds `infos`.
    pub fn with_infos(mut self, infos: impl IntoIterator<Item = String>) -> Self {
        self.infos.extend(infos);
        self
    }

    /// The rendered `data` member.
    pub fn data_json(&self) -> &str {
        &self.data
    }
}

/// Renders the envelope. The only place an API body is put together.
pub fn envelope(result: Result<&Success, &ApiError>) -> String {
    let mut out = String::with_capacity(result.map(|s| s.data.len()).unwrap_or(0) + 64);
    let (warnings, infos): (&[String], &[String]) = match result {
        Ok(s) => {
            out.push_str(r#"{"status":"success","data":"#);
            out.push_str(&s.data);
            (&s.warnings, &s.infos)
        }
        Err(e) => {
            out.push_str(r#"{"status":"error","errorType":"#);
            json::write_str(&mut out, e.kind.as_str());
            out.push_str(r#","error":"#);
            json::write_str(&mut out, &e.message);
            (&[], &[])
        }
    };
    for (name, list) in [("warnings", warnings), ("infos", infos)] {
        if list.is_empty() {
            continue;
        }
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":[");
        for (i, w) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_str(&mut out, w);
        }
        out.push(']');
    }
    out.push('}');
    json::escape_html(out)
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// The HTTP response for an error (built here, beside the envelope, so that `error.rs` only
/// types failures). Server-side failures are logged.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.kind == ErrorType::Internal {
            tracing::warn!(error = %self.message, "API request failed");
        }
        json_response(self.kind.status(), envelope(Err(&self)))
    }
}

impl IntoResponse for Success {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, envelope(Ok(&self)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_envelope() {
        let s = Success::json(&["a", "b"]).unwrap();
        assert_eq!(envelope(Ok(&s)), r#"{"status":"success","data":["a","b"]}"#);
        let s = s.with_warnings(["results truncated due to limit".to_string()]);
        assert_eq!(
            envelope(Ok(&s)),
            r#"{"status":"success","data":["a","b"],"warnings":["results truncated due to limit"]}"#
        );
        let s = s.with_infos(["i".to_string()]);
        assert!(envelope(Ok(&s)).ends_with(r#""warnings":["results truncated due to limit"],"infos":["i"]}"#));
    }

    #[test]
    fn error_envelope_matches_fixture() {
        let e = ApiError::invalid_param("query", "1:5: parse error: unclosed left parenthesis");
        assert_eq!(
            envelope(Err(&e)),
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}"#
        );
    }

    #[test]
    fn html_characters_escaped_as_go_does() {
        let s = Success::json(&["a<b>&c"]).unwrap();
        assert_eq!(
            envelope(Ok(&s)),
            r#"{"status":"success","data":["a\u003cb\u003e\u0026c"]}"#
        );
    }
}
