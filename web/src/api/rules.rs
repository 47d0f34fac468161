//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers`, answered from a
//! [`RulesProvider`] the root fills from its rule manager with the response types defined
//! here ([`RuleGroup`], [`Rule`], [`Alert`]), in Prometheus' JSON shapes; the filters of
//! `/api/v1/rules` are applied here. Without a provider, empty lists (Grafana asks for them).

use super::error::ApiError;
use super::json::go_quote;
use super::params::Params;
use super::response::Success;
use crate::WebState;
use axum::extract::State;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;
use storage::time::{format_rfc3339, GO_ZERO_TIME};

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

/// An alert's state (`state` of alerts and of alerting rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Not active (an alerting rule without pending or firing alerts).
    Inactive,
    /// Active, waiting for `for` to pass.
    Pending,
    /// Active and sent.
    Firing,
}

/// Health of a rule's last evaluation.
///
/// Declared boilerplate: `rules::status::RuleHealth` is the same enum on the rules side; web
/// may not import rules nor rules web, and the root converts one into the other.
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

// The structs below serialise exactly as Sextant has always answered: keys in byte order
// (as a `serde_json` map writes them), so their fields are declared in that order.

/// One active alert (`/api/v1/alerts`, and `alerts` of an alerting rule).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// When it became active, ms since the epoch (`activeAt`).
    #[serde(rename = "activeAt", serialize_with = "go_time")]
    pub active_at_ms: i64,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// Since when `keep_firing_for` holds it, ms (`keepFiringSince`, absent when not held).
    #[serde(
        rename = "keepFiringSince",
        skip_serializing_if = "Option::is_none",
        serialize_with = "go_time_opt"
    )]
    pub keep_firing_since_ms: Option<i64>,
    /// Labels including `alertname`.
    pub labels: BTreeMap<String, String>,
    /// `pending` or `firing` (`inactive` only for resolved alerts inside a rule).
    pub state: AlertState,
    /// The last sample value, printed as Go's `strconv.FormatFloat(v, 'e', -1, 64)`.
    #[serde(serialize_with = "go_float_e")]
    pub value: f64,
}

/// An alerting rule of a group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertingRule {
    /// Its pending and firing alerts; `None` omits them (`exclude_alerts=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<Alert>>,
    /// Annotations (templates unexpanded).
    pub annotations: BTreeMap<String, String>,
    /// `for`, seconds (`duration`).
    #[serde(rename = "duration")]
    pub duration_secs: f64,
    /// How long the last evaluation took, seconds (`evaluationTime`).
    #[serde(rename = "evaluationTime")]
    pub evaluation_time_secs: f64,
    /// Health of the last evaluation.
    pub health: RuleHealth,
    /// `keep_firing_for`, seconds (`keepFiringFor`).
    #[serde(rename = "keepFiringFor")]
    pub keep_firing_for_secs: f64,
    /// Rule labels (templates unexpanded).
    pub labels: BTreeMap<String, String>,
    /// Error of the last evaluation (`lastError`, absent without one).
    #[serde(rename = "lastError", skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Timestamp of the last evaluation, ms (`lastEvaluation`; Go's zero time if never).
    #[serde(rename = "lastEvaluation", serialize_with = "go_time_opt")]
    pub last_evaluation_ms: Option<i64>,
    /// The `alert` name.
    pub name: String,
    /// The expression.
    pub query: String,
    /// The most severe state of its alerts.
    pub state: AlertState,
}

/// A recording rule of a group.
///
/// Declared boilerplate: it repeats fields of [`AlertingRule`] on purpose, since each struct
/// lists its keys in the byte order its JSON has always had (`#[serde(flatten)]` of a shared
/// part would reorder them).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordingRule {
    /// How long the last evaluation took, seconds (`evaluationTime`).
    #[serde(rename = "evaluationTime")]
    pub evaluation_time_secs: f64,
    /// Health of the last evaluation.
    pub health: RuleHealth,
    /// Rule labels (absent when empty).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Error of the last evaluation (`lastError`, absent without one).
    #[serde(rename = "lastError", skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Timestamp of the last evaluation, ms (`lastEvaluation`; Go's zero time if never).
    #[serde(rename = "lastEvaluation", serialize_with = "go_time_opt")]
    pub last_evaluation_ms: Option<i64>,
    /// The `record` name.
    pub name: String,
    /// The expression.
    pub query: String,
}

/// A rule of a group: `type` is `alerting` or `recording`.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// An alerting rule.
    Alerting(AlertingRule),
    /// A recording rule.
    Recording(RecordingRule),
}

impl Rule {
    /// The `alert` or `record` name.
    pub fn name(&self) -> &str {
        match self {
            Rule::Alerting(r) => &r.name,
            Rule::Recording(r) => &r.name,
        }
    }
}

/// A rule's fields followed by its `type` (the last key in byte order).
#[derive(Serialize)]
struct Typed<'a, T: Serialize> {
    #[serde(flatten)]
    rule: &'a T,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Rule::Alerting(rule) => Typed {
                rule,
                kind: "alerting",
            }
            .serialize(s),
            Rule::Recording(rule) => Typed {
                rule,
                kind: "recording",
            }
            .serialize(s),
        }
    }
}

/// One rule group (`groups[]` of `/api/v1/rules`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleGroup {
    /// How long the last evaluation took, seconds (`evaluationTime`).
    #[serde(rename = "evaluationTime")]
    pub evaluation_time_secs: f64,
    /// The file it was loaded from.
    pub file: String,
    /// Evaluation interval, seconds.
    #[serde(rename = "interval")]
    pub interval_secs: f64,
    /// Timestamp of the last evaluation, ms (`lastEvaluation`; Go's zero time if never).
    #[serde(rename = "lastEvaluation", serialize_with = "go_time_opt")]
    pub last_evaluation_ms: Option<i64>,
    /// The group's `limit` (0 = none).
    pub limit: u64,
    /// Group name.
    pub name: String,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// Where rule and alert status comes from (the root fills it from its rule manager).
pub trait RulesProvider: Send + Sync {
    /// Every group, in load order, with every rule and its alerts.
    fn groups(&self) -> Vec<RuleGroup>;
    /// Every pending and firing alert.
    fn alerts(&self) -> Vec<Alert>;
}

/// The `data` of `/api/v1/rules`.
#[derive(Serialize)]
struct RulesData {
    groups: Vec<RuleGroup>,
}

/// The `data` of `/api/v1/alerts`.
#[derive(Serialize)]
struct AlertsData {
    alerts: Vec<Alert>,
}

/// Ms since the epoch as Go's `time.Time` JSON (RFC 3339, UTC, trailing zeros trimmed).
fn go_time_text(ms: i64) -> String {
    format_rfc3339(ms.div_euclid(1000), (ms.rem_euclid(1000) * 1_000_000) as u32)
}

fn go_time<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&go_time_text(*ms))
}

fn go_time_opt<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => go_time(ms, s),
        None => s.serialize_str(GO_ZERO_TIME),
    }
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: the shortest digits that read back as `v`,
/// with a signed exponent of at least two digits (`1e+00`, `1.23456e+02`, `5e-01`).
pub fn format_go_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{:e}", v.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if v.is_sign_negative() && v != 0.0 { "-" } else { "" };
    let exp_sign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{mant}e{exp_sign}{:02}", exp.abs())
}

fn go_float_e<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_go_e(*v))
}

/// The groups of `groups` that `q` selects, their rules filtered. Groups left without rules
/// by a type or name filter are omitted, as Prometheus does.
pub fn filter_groups(groups: Vec<RuleGroup>, q: &RulesQuery) -> Vec<RuleGroup> {
    let filtering_rules = q.rule_type.is_some() || !q.rule_names.is_empty();
    let mut out = Vec::new();
    for mut g in groups {
        if !q.rule_groups.is_empty() && !q.rule_groups.contains(&g.name) {
            continue;
        }
        if !q.files.is_empty() && !q.files.contains(&g.file) {
            continue;
        }
        g.rules.retain(|r| {
            let type_ok = !matches!(
                (q.rule_type.as_deref(), r),
                (Some("alert"), Rule::Recording(_)) | (Some("record"), Rule::Alerting(_))
            );
            type_ok && (q.rule_names.is_empty() || q.rule_names.iter().any(|n| n == r.name()))
        });
        if q.exclude_alerts {
            for r in &mut g.rules {
                if let Rule::Alerting(a) = r {
                    a.alerts = None;
                }
            }
        }
        if filtering_rules && g.rules.is_empty() {
            continue;
        }
        out.push(g);
    }
    out
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
    Success::json(&RulesData {
        groups: filter_groups(provider.groups(), &q),
    })
}

/// `GET /api/v1/alerts`.
pub async fn alerts(State(st): State<Arc<WebState>>) -> Result<Success, ApiError> {
    match st.rules.as_ref() {
        Some(provider) => Success::json(&AlertsData {
            alerts: provider.alerts(),
        }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn groups() -> Vec<RuleGroup> {
        let alert = Alert {
            active_at_ms: 1_700_000_000_000,
            annotations: BTreeMap::from([("summary".into(), "s".into())]),
            keep_firing_since_ms: None,
            labels: BTreeMap::from([("alertname".into(), "A".into())]),
            state: AlertState::Firing,
            value: 1.0,
        };
        vec![RuleGroup {
            evaluation_time_secs: 0.5,
            file: "/r.yml".into(),
            interval_secs: 60.0,
            last_evaluation_ms: Some(1_700_000_060_000),
            limit: 0,
            name: "g".into(),
            rules: vec![
                Rule::Alerting(AlertingRule {
                    alerts: Some(vec![alert]),
                    annotations: BTreeMap::from([("summary".into(), "s".into())]),
                    duration_secs: 300.0,
                    evaluation_time_secs: 0.25,
                    health: RuleHealth::Ok,
                    keep_firing_for_secs: 0.0,
                    labels: BTreeMap::new(),
                    last_error: None,
                    last_evaluation_ms: Some(1_700_000_060_000),
                    name: "A".into(),
                    query: "up == 0".into(),
                    state: AlertState::Firing,
                }),
                Rule::Recording(RecordingRule {
                    evaluation_time_secs: 0.0,
                    health: RuleHealth::Err,
                    labels: BTreeMap::new(),
                    last_error: Some("boom".into()),
                    last_evaluation_ms: None,
                    name: "r".into(),
                    query: "sum(up)".into(),
                }),
            ],
        }]
    }

    #[test]
    fn rules_body_matches_prometheus_byte_for_byte() {
        // A `serde_json::Value` writes its keys in byte order: the bytes served before the
        // response types were typed.
        let want = json!({"groups": [{
            "name": "g", "file": "/r.yml", "interval": 60.0, "limit": 0,
            "evaluationTime": 0.5, "lastEvaluation": "2023-11-14T22:14:20Z",
            "rules": [
                {"state": "firing", "name": "A", "query": "up == 0", "duration": 300.0,
                 "keepFiringFor": 0.0, "labels": {}, "annotations": {"summary": "s"},
                 "alerts": [{"labels": {"alertname": "A"}, "annotations": {"summary": "s"},
                             "state": "firing", "activeAt": "2023-11-14T22:13:20Z", "value": "1e+00"}],
                 "health": "ok", "evaluationTime": 0.25,
                 "lastEvaluation": "2023-11-14T22:14:20Z", "type": "alerting"},
                {"name": "r", "query": "sum(up)", "health": "err", "lastError": "boom",
                 "evaluationTime": 0.0, "lastEvaluation": "0001-01-01T00:00:00Z", "type": "recording"}
            ]
        }]});
        let got = serde_json::to_string(&RulesData { groups: groups() }).unwrap();
        assert_eq!(got, serde_json::to_string(&want).unwrap());
        let q = |f: fn(&mut RulesQuery)| {
            let mut q = RulesQuery::default();
            f(&mut q);
            serde_json::to_value(filter_groups(groups(), &q)).unwrap()
        };
        assert_eq!(
            q(|q| q.rule_type = Some("record".into()))[0]["rules"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(q(|q| q.rule_names = vec!["nope".into()]), json!([]));
        assert!(q(|q| q.exclude_alerts = true)[0]["rules"][0]
            .get("alerts")
            .is_none());
        assert_eq!(q(|q| q.rule_groups = vec!["other".into()]), json!([]));
        let alerts = match &groups()[0].rules[0] {
            Rule::Alerting(r) => r.alerts.clone().unwrap(),
            Rule::Recording(_) => unreachable!(),
        };
        let a = serde_json::to_value(AlertsData { alerts }).unwrap();
        assert_eq!(a["alerts"][0]["value"], "1e+00");
        assert!(a["alerts"][0].get("keepFiringSince").is_none());
    }

    #[test]
    fn alert_values_print_like_go() {
        assert_eq!(format_go_e(1.0), "1e+00");
        assert_eq!(format_go_e(0.5), "5e-01");
        assert_eq!(format_go_e(123.456), "1.23456e+02");
        assert_eq!(format_go_e(-2.0), "-2e+00");
        assert_eq!(format_go_e(0.0), "0e+00");
        assert_eq!(format_go_e(-0.0), "0e+00");
        assert_eq!(format_go_e(1e100), "1e+100");
        assert_eq!(format_go_e(f64::NAN), "NaN");
        assert_eq!(format_go_e(f64::NEG_INFINITY), "-Inf");
    }
}
