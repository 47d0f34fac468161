//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers`, answered from a
//! [`RulesProvider`] the root fills from its rule manager; without one, empty lists in
//! Prometheus' shapes (Grafana asks for them).

use super::error::ApiError;
use super::json::go_quote;
use super::params::Params;
use super::response::Success;

use crate::WebState;
use axum::extract::State;
use std::sync::Arc;

/// The filters of `/api/v1/rules`, as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RulesQuery {
    /// `type`: `Some("alert")`, `Some("record")` or `None` for both.
    pub rule_type: Option<String>,
    /// `rule_name[]`.
    pub rule_names: Vec<String>,
    /// `rule_group[]`.
    pub rule_groups: Vec<String>,
    /// `file[]`.
    pub files: Vec<String>,
    /// `exclude_alerts=true`.
    pub exclude_alerts: bool,
}

/// Where rule and alert status comes from (the root's rule manager).
pub trait RulesProvider: Send + Sync {
    /// The `data` object of `/api/v1/rules` (`{"groups": [...]}`).
    fn rules(&self, q: &RulesQuery) -> serde_json::Value;
    /// The `data` object of `/api/v1/alerts` (`{"alerts": [...]}`).
    fn alerts(&self) -> serde_json::Value;
}

/// `GET /api/v1/rules`; `type` must be `alert`, `record` or absent.
pub async fn rules(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let typ = p.get("type").to_ascii_lowercase();
    if !matches!(typ.as_str(), "" | "alert" | "record") {
        return Err(ApiError::invalid_param(
            "type",
            format!("not supported value {}", go_quote(&typ)),
        ));
    }
    let Some(provider) = st.rules.as_ref() else {
        return Ok(Success::raw(r#"{"groups":[]}"#.into()));
    };
    let q = RulesQuery {
        rule_type: (!typ.is_empty()).then_some(typ),
        rule_names: p.all("rule_name[]").into_iter().map(str::to_string).collect(),
        rule_groups: p.all("rule_group[]").into_iter().map(str::to_string).collect(),
        files: p.all("file[]").into_iter().map(str::to_string).collect(),
        exclude_alerts: p.get("exclude_alerts") == "true",
    };
    Success::json(&provider.rules(&q))
}

/// `GET /api/v1/alerts`.
pub async fn alerts(State(st): State<Arc<WebState>>) -> Result<Success, ApiError> {
    match st.rules.as_ref() {
        Some(provider) => Success::json(&provider.alerts()),
        None => Ok(Success::raw(r#"{"alerts":[]}"#.into())),
    }
}

/// `GET /api/v1/alertmanagers`: no Alertmanagers are configured.
pub async fn alertmanagers() -> Success {
    Success::raw(r#"{"activeAlertmanagers":[],"droppedAlertmanagers":[]}"#.into())
}

/// `GET /api/v1/notifications`: server notifications (none).
pub async fn notifications() -> Success {
    Success::raw("[]".into())
}
