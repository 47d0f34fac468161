//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers`. Sextant evaluates no rules
//! yet, so these answer with empty lists in Prometheus' shapes (Grafana asks for them).

use super::error::ApiError;
use super::json::go_quote;
use super::params::Params;
use super::response::Success;

/// `GET /api/v1/rules`: `{"groups":[]}`; `type` must be `alert`, `record` or absent.
pub async fn rules(p: Params) -> Result<Success, ApiError> {
    let typ = p.get("type").to_ascii_lowercase();
    if !matches!(typ.as_str(), "" | "alert" | "record") {
        return Err(ApiError::invalid_param(
            "type",
            format!("not supported value {}", go_quote(&typ)),
        ));
    }
    Ok(Success::raw(r#"{"groups":[]}"#.into()))
}

/// `GET /api/v1/alerts`: `{"alerts":[]}`.
pub async fn alerts() -> Success {
    Success::raw(r#"{"alerts":[]}"#.into())
}

/// `GET /api/v1/alertmanagers`: no Alertmanagers are configured.
pub async fn alertmanagers() -> Success {
    Success::raw(r#"{"activeAlertmanagers":[],"droppedAlertmanagers":[]}"#.into())
}

/// `GET /api/v1/notifications`: server notifications (none).
pub async fn notifications() -> Success {
    Success::raw("[]".into())
}
