//! Alert instances and the state machine of alerting rules (inactive → pending → firing,
//! `for`, `keep_firing_for`, resolved-alert retention), as Prometheus runs it.

use crate::template::{expand, TemplateData};
use crate::value::RuleValue;
use std::collections::{BTreeMap, HashSet};
use storage::{Labels, LabelsBuilder, METRIC_NAME};

/// The name of the series carrying alert states.
pub const ALERTS_METRIC: &str = "ALERTS";
/// The name of the series carrying each alert's `activeAt` (for restoring `for` state).
pub const ALERTS_FOR_STATE_METRIC: &str = "ALERTS_FOR_STATE";
/// The label carrying the alert's name.
pub const ALERT_NAME_LABEL: &str = "alertname";
/// The label carrying the alert's state on `ALERTS`.
pub const ALERT_STATE_LABEL: &str = "alertstate";
/// How long a resolved alert is kept (and re-sent) after it resolved.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// The state of an alert (or of a rule: the most severe of its alerts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Not active (resolved).
    Inactive,
    /// Active, waiting for `for` to elapse.
    Pending,
    /// Active and firing.
    Firing,
}

impl AlertState {
    /// `inactive`, `pending` or `firing`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of a rule: a label set that the expression returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Labels: the sample's (without `__name__`), the rule's (templated) and `alertname`.
    pub labels: Labels,
    /// Templated annotations.
    pub annotations: BTreeMap<String, String>,
    /// The sample value of the last evaluation that returned it.
    pub value: f64,
    /// Current state.
    pub state: AlertState,
    /// When it became active (ms).
    pub active_at: i64,
    /// When it started firing (ms).
    pub fired_at: Option<i64>,
    /// When it resolved (ms).
    pub resolved_at: Option<i64>,
    /// When it was last sent to Alertmanager (ms).
    pub last_sent_at: Option<i64>,
    /// Until when the last notification is valid (ms).
    pub valid_until: i64,
    /// Since when it is kept firing by `keep_firing_for` (ms).
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    /// Whether it must be (re)sent at `ts`: Prometheus' rule — never while pending; at once
    /// after it resolved; otherwise every `resend_delay`.
    pub fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        match (self.resolved_at, self.last_sent_at) {
            (Some(r), Some(s)) if r > s => true,
            (_, None) => true,
            (_, Some(s)) => s + resend_delay_ms < ts,
        }
    }
}

/// The parts of an alerting rule the state machine needs.
#[derive(Clone, Debug)]
pub struct AlertingSpec {
    /// Alert name.
    pub name: String,
    /// `for` (ms).
    pub hold_ms: i64,
    /// `keep_firing_for` (ms).
    pub keep_firing_for_ms: i64,
    /// Label templates.
    pub labels: BTreeMap<String, String>,
    /// Annotation templates.
    pub annotations: BTreeMap<String, String>,
}

/// Context for templates.
#[derive(Clone, Debug, Default)]
pub struct TemplateContext {
    /// External labels.
    pub external_labels: BTreeMap<String, String>,
    /// External URL.
    pub external_url: String,
}

/// `l` as a name -> value map (what templates, the API and the notifier see).
pub(crate) fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

/// Expands a template, falling back (as Prometheus) to an error text in the result.
fn expand_or_error(kind: &str, name: &str, tmpl: &str, data: &TemplateData) -> String {
    match expand(tmpl, data) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(alert = name, "error expanding {kind} template: {e}");
            format!("<error expanding template: {e}>")
        }
    }
}

/// Advances the alerts of one rule with the samples its expression returned at `ts`.
///
/// Returns the number of pending + firing alerts, or an error when two samples map to the same
/// alert labels or the `limit` is exceeded (then every alert is dropped, as Prometheus does).
pub fn advance(
    spec: &AlertingSpec,
    active: &mut BTreeMap<Labels, Alert>,
    samples: &[(Labels, RuleValue)],
    ts: i64,
    limit: u64,
    ctx: &TemplateContext,
) -> Result<usize, String> {
    let mut seen = HashSet::new();
    let mut fresh: Vec<Alert> = Vec::with_capacity(samples.len());
    for (metric, sample) in samples {
        let v = sample.alert_value();
        let data = TemplateData {
            labels: labels_map(metric),
            external_labels: ctx.external_labels.clone(),
            external_url: ctx.external_url.clone(),
            value: v,
            histogram: sample.histogram_text(),
        };
        let mut b: LabelsBuilder = metric.to_builder();
        b.remove(METRIC_NAME);
        for (n, t) in &spec.labels {
            let val = expand_or_error("label", &spec.name, t, &data);
            b.set(n, &val);
        }
        b.set(ALERT_NAME_LABEL, &spec.name);
        let labels = b.build();
        let annotations = spec
            .annotations
            .iter()
            .map(|(n, t)| (n.clone(), expand_or_error("annotation", &spec.name, t, &data)))
            .collect();
        if !seen.insert(labels.clone()) {
            return Err("vector contains metrics with the same labelset after applying alert labels".into());
        }
        fresh.push(Alert {
            labels,
            annotations,
            value: v,
            state: AlertState::Pending,
            active_at: ts,
            fired_at: None,
            resolved_at: None,
            last_sent_at: None,
            valid_until: 0,
            keep_firing_since: None,
        });
    }
    for a in fresh {
        match active.get_mut(&a.labels) {
            Some(old) if old.state != AlertState::Inactive => {
                old.value = a.value;
                old.annotations = a.annotations;
            }
            _ => {
                active.insert(a.labels.clone(), a);
            }
        }
    }
    let mut n_active = 0;
    let mut remove = Vec::new();
    for (key, a) in active.iter_mut() {
        if !seen.contains(key) {
            let mut keep_firing = false;
            if a.state == AlertState::Firing && spec.keep_firing_for_ms > 0 {
                let since = *a.keep_firing_since.get_or_insert(ts);
                keep_firing = ts - since < spec.keep_firing_for_ms;
            }
            if a.state == AlertState::Pending || a.resolved_at.is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
            {
                remove.push(key.clone());
            }
            if a.state != AlertState::Inactive && !keep_firing {
                a.state = AlertState::Inactive;
                a.resolved_at = Some(ts);
            }
            if !keep_firing {
                continue;
            }
        } else {
            a.keep_firing_since = None;
        }
        n_active += 1;
        if a.state == AlertState::Pending && ts - a.active_at >= spec.hold_ms {
            a.state = AlertState::Firing;
            a.fired_at = Some(ts);
        }
    }
    for k in remove {
        active.remove(&k);
    }
    if limit > 0 && n_active as u64 > limit {
        active.clear();
        return Err(format!("exceeded limit of {limit} with {n_active} alerts"));
    }
    Ok(n_active)
}

/// The `ALERTS` and `ALERTS_FOR_STATE` samples of the pending and firing alerts.
pub fn state_samples(active: &BTreeMap<Labels, Alert>) -> Vec<(Labels, f64)> {
    let mut out = Vec::new();
    for a in active.values() {
        if a.state == AlertState::Inactive {
            continue;
        }
        let mut b = a.labels.to_builder();
        b.set(METRIC_NAME, ALERTS_METRIC);
        b.set(ALERT_STATE_LABEL, a.state.as_str());
        out.push((b.build(), 1.0));
        out.push((for_state_labels(&a.labels), (a.active_at / 1000) as f64));
    }
    out
}

/// The `ALERTS_FOR_STATE` labels of an alert.
pub fn for_state_labels(alert_labels: &Labels) -> Labels {
    let mut b = alert_labels.to_builder();
    b.set(METRIC_NAME, ALERTS_FOR_STATE_METRIC);
    b.build()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(hold_s: i64, keep_s: i64) -> AlertingSpec {
        AlertingSpec {
            name: "HighLoad".into(),
            hold_ms: hold_s * 1000,
            keep_firing_for_ms: keep_s * 1000,
            labels: BTreeMap::from([("severity".into(), "page".into())]),
            annotations: BTreeMap::from([(
                "summary".into(),
                "{{ $labels.instance }} at {{ $value }} ({{ $labels.__name__ }})".into(),
            )]),
        }
    }

    fn sample(v: f64) -> Vec<(Labels, RuleValue)> {
        vec![(
            Labels::from_pairs([("__name__", "load"), ("instance", "a")]),
            RuleValue::Float(v),
        )]
    }

    fn only(active: &BTreeMap<Labels, Alert>) -> &Alert {
        assert_eq!(active.len(), 1);
        active.values().next().unwrap()
    }

    #[test]
    fn pending_firing_resolved_and_retention() {
        let s = spec(60, 0);
        let ctx = TemplateContext::default();
        let mut active = BTreeMap::new();
        assert_eq!(advance(&s, &mut active, &sample(5.0), 0, 0, &ctx).unwrap(), 1);
        let a = only(&active);
        assert_eq!(a.state, AlertState::Pending);
        assert_eq!(a.active_at, 0);
        assert_eq!(a.labels.get("alertname"), Some("HighLoad"));
        assert_eq!(a.labels.get("severity"), Some("page"));
        assert_eq!(a.labels.get("__name__"), None);
        assert_eq!(a.annotations["summary"], "a at 5 (load)");
        advance(&s, &mut active, &sample(6.0), 30_000, 0, &ctx).unwrap();
        assert_eq!(only(&active).state, AlertState::Pending);
        assert_eq!(only(&active).annotations["summary"], "a at 6 (load)");
        advance(&s, &mut active, &sample(6.0), 60_000, 0, &ctx).unwrap();
        assert_eq!(only(&active).state, AlertState::Firing);
        assert_eq!(only(&active).fired_at, Some(60_000));
        assert_eq!(advance(&s, &mut active, &[], 90_000, 0, &ctx).unwrap(), 0);
        assert_eq!(only(&active).state, AlertState::Inactive);
        assert_eq!(only(&active).resolved_at, Some(90_000));
        // Kept for 15 minutes after resolving, then dropped.
        advance(&s, &mut active, &[], 90_000 + RESOLVED_RETENTION_MS, 0, &ctx).unwrap();
        assert_eq!(active.len(), 1);
        advance(&s, &mut active, &[], 91_000 + RESOLVED_RETENTION_MS, 0, &ctx).unwrap();
        assert!(active.is_empty());
    }

    #[test]
    fn pending_alert_that_clears_is_dropped_and_restarts() {
        let s = spec(60, 0);
        let ctx = TemplateContext::default();
        let mut active = BTreeMap::new();
        advance(&s, &mut active, &sample(1.0), 0, 0, &ctx).unwrap();
        advance(&s, &mut active, &[], 30_000, 0, &ctx).unwrap();
        assert!(active.is_empty());
        advance(&s, &mut active, &sample(1.0), 45_000, 0, &ctx).unwrap();
        assert_eq!(only(&active).active_at, 45_000);
        advance(&s, &mut active, &sample(1.0), 90_000, 0, &ctx).unwrap();
        assert_eq!(only(&active).state, AlertState::Pending);
    }

    #[test]
    fn zero_for_fires_at_once_and_keep_firing_for_holds() {
        let s = spec(0, 60);
        let ctx = TemplateContext::default();
        let mut active = BTreeMap::new();
        advance(&s, &mut active, &sample(1.0), 0, 0, &ctx).unwrap();
        assert_eq!(only(&active).state, AlertState::Firing);
        assert_eq!(advance(&s, &mut active, &[], 30_000, 0, &ctx).unwrap(), 1);
        assert_eq!(only(&active).state, AlertState::Firing);
        assert_eq!(only(&active).keep_firing_since, Some(30_000));
        advance(&s, &mut active, &[], 80_000, 0, &ctx).unwrap();
        assert_eq!(only(&active).state, AlertState::Firing);
        advance(&s, &mut active, &[], 90_000, 0, &ctx).unwrap();
        assert_eq!(only(&active).state, AlertState::Inactive);
        // Returning again resets it to pending (for = 0: firing at once).
        advance(&s, &mut active, &sample(1.0), 100_000, 0, &ctx).unwrap();
        assert_eq!(only(&active).state, AlertState::Firing);
        assert_eq!(only(&active).active_at, 100_000);
    }

    #[test]
    fn keep_firing_for_resets_when_the_condition_returns() {
        let s = spec(0, 60);
        let ctx = TemplateContext::default();
        let mut active = BTreeMap::new();
        advance(&s, &mut active, &sample(1.0), 0, 0, &ctx).unwrap();
        advance(&s, &mut active, &[], 30_000, 0, &ctx).unwrap();
        advance(&s, &mut active, &sample(1.0), 40_000, 0, &ctx).unwrap();
        assert_eq!(only(&active).keep_firing_since, None);
        assert_eq!(only(&active).active_at, 0);
    }

    #[test]
    fn limit_and_duplicates() {
        let s = spec(0, 0);
        let ctx = TemplateContext::default();
        let mut active = BTreeMap::new();
        let two = vec![
            (
                Labels::from_pairs([("__name__", "x"), ("i", "1")]),
                RuleValue::Float(1.0),
            ),
            (
                Labels::from_pairs([("__name__", "x"), ("i", "2")]),
                RuleValue::Float(1.0),
            ),
        ];
        let e = advance(&s, &mut active, &two, 0, 1, &ctx).unwrap_err();
        assert!(e.contains("exceeded limit of 1 with 2 alerts"), "{e}");
        assert!(active.is_empty());
        let dup = vec![
            (
                Labels::from_pairs([("__name__", "x"), ("i", "1")]),
                RuleValue::Float(1.0),
            ),
            (
                Labels::from_pairs([("__name__", "y"), ("i", "1")]),
                RuleValue::Float(1.0),
            ),
        ];
        let e = advance(&s, &mut active, &dup, 0, 0, &ctx).unwrap_err();
        assert!(e.contains("same labelset"), "{e}");
    }

    #[test]
    fn needs_sending_follows_prometheus() {
        let mut a = Alert {
            labels: Labels::empty(),
            annotations: BTreeMap::new(),
            value: 1.0,
            state: AlertState::Pending,
            active_at: 0,
            fired_at: None,
            resolved_at: None,
            last_sent_at: None,
            valid_until: 0,
            keep_firing_since: None,
        };
        assert!(!a.needs_sending(0, 60_000));
        a.state = AlertState::Firing;
        assert!(a.needs_sending(0, 60_000));
        a.last_sent_at = Some(0);
        assert!(!a.needs_sending(60_000, 60_000));
        assert!(a.needs_sending(60_001, 60_000));
        a.state = AlertState::Inactive;
        a.resolved_at = Some(10_000);
        assert!(a.needs_sending(10_000, 60_000));
    }

    #[test]
    fn state_series() {
        let s = spec(60, 0);
        let mut active = BTreeMap::new();
        advance(
            &s,
            &mut active,
            &sample(1.0),
            120_000,
            0,
            &TemplateContext::default(),
        )
        .unwrap();
        let out = state_samples(&active);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0.get("__name__"), Some("ALERTS"));
        assert_eq!(out[0].0.get("alertstate"), Some("pending"));
        assert_eq!(out[0].1, 1.0);
        assert_eq!(out[1].0.get("__name__"), Some("ALERTS_FOR_STATE"));
        assert_eq!(out[1].0.get("alertstate"), None);
        assert_eq!(out[1].1, 120.0);
    }
}
