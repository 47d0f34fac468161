//! Plain status structs for `/api/v1/rules` and `/api/v1/alerts` (times in ms since the epoch,
//! durations in seconds, as the API prints them after conversion).

use crate::alert::AlertState;
use serde::Serialize;
use std::collections::BTreeMap;

/// Health of a rule's last evaluation.
///
/// Declared boilerplate: `web::api::rules::RuleHealth` is the same enum on the API side; rules
/// may not import web nor web rules, and the root converts one into the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleHealth {
    /// Not evaluated yet.
    Unknown,
    /// The last evaluation succeeded.
    Ok,
    /// The last evaluation failed (`lastError` says why).
    Err,
}

impl RuleHealth {
    /// `unknown`, `ok` or `err`, as the API prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleHealth::Unknown => "unknown",
            RuleHealth::Ok => "ok",
            RuleHealth::Err => "err",
        }
    }
}

/// Recording or alerting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleType {
    /// A recording rule (`type: "recording"`).
    Recording,
    /// An alerting rule (`type: "alerting"`).
    Alerting,
}

/// One active alert (`/api/v1/alerts`, and `alerts` of a rule).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertStatus {
    /// Labels including `alertname`.
    pub labels: BTreeMap<String, String>,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// `pending` or `firing` (`inactive` only for resolved alerts inside rule status).
    pub state: AlertState,
    /// When it became active (ms).
    pub active_at_ms: i64,
    /// Since when `keep_firing_for` holds it (ms).
    pub keep_firing_since_ms: Option<i64>,
    /// The last sample value (the API prints it as a string).
    pub value: f64,
}

/// One rule of a group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleStatus {
    /// Recording or alerting.
    pub rule_type: RuleType,
    /// The `record` or `alert` name.
    pub name: String,
    /// The expression (`query`).
    pub query: String,
    /// Rule labels (templates unexpanded).
    pub labels: BTreeMap<String, String>,
    /// Annotations (templates unexpanded; empty for recording rules).
    pub annotations: BTreeMap<String, String>,
    /// `for` in seconds (`duration`; 0 for recording rules).
    pub duration_secs: f64,
    /// `keep_firing_for` in seconds (`keepFiringFor`).
    pub keep_firing_for_secs: f64,
    /// Health of the last evaluation.
    pub health: RuleHealth,
    /// Error of the last evaluation (`lastError`).
    pub last_error: Option<String>,
    /// How long the last evaluation took, seconds (`evaluationTime`).
    pub evaluation_time_secs: f64,
    /// Evaluation timestamp of the last evaluation (`lastEvaluation`, ms).
    pub last_evaluation_ms: Option<i64>,
    /// The most severe state of the rule's alerts (`inactive` for recording rules).
    pub state: AlertState,
    /// The rule's alerts (pending and firing).
    pub alerts: Vec<AlertStatus>,
}

/// One rule group (`/api/v1/rules` `groups[]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupStatus {
    /// Group name.
    pub name: String,
    /// The file it was loaded from.
    pub file: String,
    /// Evaluation interval, seconds.
    pub interval_secs: f64,
    /// The group's `limit` (0 = none).
    pub limit: u64,
    /// The rules.
    pub rules: Vec<RuleStatus>,
    /// How long the last evaluation took, seconds (`evaluationTime`).
    pub evaluation_time_secs: f64,
    /// Evaluation timestamp of the last evaluation (`lastEvaluation`, ms).
    pub last_evaluation_ms: Option<i64>,
}
