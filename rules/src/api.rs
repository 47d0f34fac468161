//! JSON bodies of `/api/v1/rules` and `/api/v1/alerts` (the `data` field) exactly as
//! Prometheus serves them, built from the status structs, for the web layer to wrap in its
//! `{"status":"success","data":...}` envelope.

use crate::status::{AlertStatus, GroupStatus, RuleStatus, RuleType};
use crate::template::gofmt;
use serde_json::{json, Map, Value};
use storage::time::{format_rfc3339_ms, GO_ZERO_TIME};

/// Go's `time.Time` JSON of an optional time: Go's zero time for `None`.
fn go_json_time(ms: Option<i64>) -> String {
    ms.map_or_else(|| GO_ZERO_TIME.to_string(), format_rfc3339_ms)
}

/// The query parameters of `/api/v1/rules`.
#[derive(Clone, Debug, Default)]
pub struct RulesFilter {
    /// `type=alert` or `type=record` (None = both).
    pub rule_type: Option<RuleType>,
    /// `rule_name[]` (empty = all).
    pub rule_names: Vec<String>,
    /// `rule_group[]` (empty = all).
    pub rule_groups: Vec<String>,
    /// `file[]` (empty = all).
    pub files: Vec<String>,
    /// `exclude_alerts=true`: omit the alerts of alerting rules.
    pub exclude_alerts: bool,
}

impl RulesFilter {
    /// Parses the `type` parameter (`alert`, `record`, or empty).
    pub fn parse_type(s: &str) -> Result<Option<RuleType>, String> {
        match s {
            "" => Ok(None),
            "alert" => Ok(Some(RuleType::Alerting)),
            "record" => Ok(Some(RuleType::Recording)),
            other => Err(format!("unsupported type {other:?}, must be 'alert' or 'record'")),
        }
    }
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`, how alert values are printed.
pub fn format_alert_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    // Shortest digits, then exponent form with as many decimals as needed.
    let s = format!("{:e}", v.abs());
    let (mant, _) = s.split_once('e').unwrap_or((&s, "0"));
    let decimals = mant.split_once('.').map_or(0, |(_, f)| f.len());
    let out = gofmt::format_e(v.abs(), decimals);
    if v.is_sign_negative() && v != 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

fn alert_json(a: &AlertStatus) -> Value {
    let mut m = Map::new();
    m.insert("labels".into(), json!(a.labels));
    m.insert("annotations".into(), json!(a.annotations));
    m.insert("state".into(), json!(a.state.as_str()));
    m.insert("activeAt".into(), json!(format_rfc3339_ms(a.active_at_ms)));
    if let Some(k) = a.keep_firing_since_ms {
        m.insert("keepFiringSince".into(), json!(format_rfc3339_ms(k)));
    }
    m.insert("value".into(), json!(format_alert_value(a.value)));
    Value::Object(m)
}

fn rule_json(r: &RuleStatus, exclude_alerts: bool) -> Value {
    let mut m = Map::new();
    match r.rule_type {
        RuleType::Alerting => {
            m.insert("state".into(), json!(r.state.as_str()));
            m.insert("name".into(), json!(r.name));
            m.insert("query".into(), json!(r.query));
            m.insert("duration".into(), json!(r.duration_secs));
            m.insert("keepFiringFor".into(), json!(r.keep_firing_for_secs));
            m.insert("labels".into(), json!(r.labels));
            m.insert("annotations".into(), json!(r.annotations));
            if !exclude_alerts {
                m.insert(
                    "alerts".into(),
                    Value::Array(r.alerts.iter().map(alert_json).collect()),
                );
            }
        }
        RuleType::Recording => {
            m.insert("name".into(), json!(r.name));
            m.insert("query".into(), json!(r.query));
            if !r.labels.is_empty() {
                m.insert("labels".into(), json!(r.labels));
            }
        }
    }
    m.insert("health".into(), json!(r.health.as_str()));
    if let Some(e) = &r.last_error {
        m.insert("lastError".into(), json!(e));
    }
    m.insert("evaluationTime".into(), json!(r.evaluation_time_secs));
    m.insert("lastEvaluation".into(), json!(go_json_time(r.last_evaluation_ms)));
    m.insert(
        "type".into(),
        json!(match r.rule_type {
            RuleType::Alerting => "alerting",
            RuleType::Recording => "recording",
        }),
    );
    Value::Object(m)
}

/// The `data` of `/api/v1/rules`: `{"groups":[...]}`. Groups left without rules by the filter
/// are omitted (as Prometheus does when filtering by type or name).
pub fn rules_data(groups: &[GroupStatus], f: &RulesFilter) -> Value {
    let filtering_rules = f.rule_type.is_some() || !f.rule_names.is_empty();
    let mut out = Vec::new();
    for g in groups {
        if !f.rule_groups.is_empty() && !f.rule_groups.contains(&g.name) {
            continue;
        }
        if !f.files.is_empty() && !f.files.contains(&g.file) {
            continue;
        }
        let rules: Vec<Value> = g
            .rules
            .iter()
            .filter(|r| f.rule_type.is_none_or(|t| t == r.rule_type))
            .filter(|r| f.rule_names.is_empty() || f.rule_names.contains(&r.name))
            .map(|r| rule_json(r, f.exclude_alerts))
            .collect();
        if filtering_rules && rules.is_empty() {
            continue;
        }
        out.push(json!({
            "name": g.name,
            "file": g.file,
            "rules": rules,
            "interval": g.interval_secs,
            "limit": g.limit,
            "evaluationTime": g.evaluation_time_secs,
            "lastEvaluation": go_json_time(g.last_evaluation_ms),
        }));
    }
    json!({ "groups": out })
}

/// The `data` of `/api/v1/alerts`: `{"alerts":[...]}`.
pub fn alerts_data(alerts: &[AlertStatus]) -> Value {
    json!({ "alerts": alerts.iter().map(alert_json).collect::<Vec<_>>() })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::alert::AlertState;
    use crate::status::RuleHealth;
    use std::collections::BTreeMap;

    fn groups() -> Vec<GroupStatus> {
        let alert = AlertStatus {
            labels: BTreeMap::from([("alertname".into(), "A".into())]),
            annotations: BTreeMap::from([("summary".into(), "s".into())]),
            state: AlertState::Firing,
            active_at_ms: 1_700_000_000_000,
            keep_firing_since_ms: None,
            value: 1.0,
        };
        vec![GroupStatus {
            name: "g".into(),
            file: "/r.yml".into(),
            interval_secs: 60.0,
            limit: 0,
            evaluation_time_secs: 0.5,
            last_evaluation_ms: Some(1_700_000_060_000),
            rules: vec![
                RuleStatus {
                    rule_type: RuleType::Alerting,
                    name: "A".into(),
                    query: "up == 0".into(),
                    labels: BTreeMap::new(),
                    annotations: BTreeMap::from([("summary".into(), "s".into())]),
                    duration_secs: 300.0,
                    keep_firing_for_secs: 0.0,
                    health: RuleHealth::Ok,
                    last_error: None,
                    evaluation_time_secs: 0.25,
                    last_evaluation_ms: Some(1_700_000_060_000),
                    state: AlertState::Firing,
                    alerts: vec![alert],
                },
                RuleStatus {
                    rule_type: RuleType::Recording,
                    name: "r".into(),
                    query: "sum(up)".into(),
                    labels: BTreeMap::new(),
                    annotations: BTreeMap::new(),
                    duration_secs: 0.0,
                    keep_firing_for_secs: 0.0,
                    health: RuleHealth::Err,
                    last_error: Some("boom".into()),
                    evaluation_time_secs: 0.0,
                    last_evaluation_ms: None,
                    state: AlertState::Inactive,
                    alerts: vec![],
                },
            ],
        }]
    }

    #[test]
    fn rules_body_matches_prometheus() {
        let v = rules_data(&groups(), &RulesFilter::default());
        assert_eq!(
            v,
            json!({"groups": [{
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
            }]})
        );
        let f = RulesFilter {
            rule_type: RulesFilter::parse_type("record").unwrap(),
            ..Default::default()
        };
        let v = rules_data(&groups(), &f);
        assert_eq!(v["groups"][0]["rules"].as_array().unwrap().len(), 1);
        let f = RulesFilter {
            rule_names: vec!["nope".into()],
            ..Default::default()
        };
        assert_eq!(rules_data(&groups(), &f), json!({"groups": []}));
        let f = RulesFilter {
            exclude_alerts: true,
            ..Default::default()
        };
        assert!(rules_data(&groups(), &f)["groups"][0]["rules"][0]
            .get("alerts")
            .is_none());
        assert!(RulesFilter::parse_type("x").is_err());
        let a = alerts_data(&groups()[0].rules[0].alerts);
        assert_eq!(a["alerts"][0]["value"], "1e+00");
    }

    #[test]
    fn alert_values_print_like_go() {
        assert_eq!(format_alert_value(1.0), "1e+00");
        assert_eq!(format_alert_value(0.5), "5e-01");
        assert_eq!(format_alert_value(123.456), "1.23456e+02");
        assert_eq!(format_alert_value(-2.0), "-2e+00");
        assert_eq!(format_alert_value(0.0), "0e+00");
        assert_eq!(format_alert_value(f64::NAN), "NaN");
    }
}
