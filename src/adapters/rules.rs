//! Adapts the rule manager (in `rules`) to `/api/v1/rules` and `/api/v1/alerts` (in `web`):
//! rules' own status structs converted into web's response types.

use rules::{AlertStatus, GroupStatus, RuleManager, RuleStatus, RuleType};
use std::sync::Arc;
use web::{Alert, AlertState, AlertingRule, RecordingRule, Rule, RuleGroup, RuleHealth, RulesProvider};

/// The rule manager seen through `web`'s [`RulesProvider`].
pub struct RulesStatus(pub Arc<RuleManager>);

impl RulesProvider for RulesStatus {
    fn groups(&self) -> Vec<RuleGroup> {
        self.0.groups().into_iter().map(group).collect()
    }

    fn alerts(&self) -> Vec<Alert> {
        self.0.alerts().into_iter().map(alert).collect()
    }
}

fn state(s: rules::AlertState) -> AlertState {
    match s {
        rules::AlertState::Inactive => AlertState::Inactive,
        rules::AlertState::Pending => AlertState::Pending,
        rules::AlertState::Firing => AlertState::Firing,
    }
}

fn health(h: rules::RuleHealth) -> RuleHealth {
    match h {
        rules::RuleHealth::Unknown => RuleHealth::Unknown,
        rules::RuleHealth::Ok => RuleHealth::Ok,
        rules::RuleHealth::Err => RuleHealth::Err,
    }
}

fn alert(a: AlertStatus) -> Alert {
    Alert {
        active_at_ms: a.active_at_ms,
        annotations: a.annotations,
        keep_firing_since_ms: a.keep_firing_since_ms,
        labels: a.labels,
        state: state(a.state),
        value: a.value,
    }
}

fn rule(r: RuleStatus) -> Rule {
    match r.rule_type {
        RuleType::Alerting => Rule::Alerting(AlertingRule {
            alerts: Some(r.alerts.into_iter().map(alert).collect()),
            annotations: r.annotations,
            duration_secs: r.duration_secs,
            evaluation_time_secs: r.evaluation_time_secs,
            health: health(r.health),
            keep_firing_for_secs: r.keep_firing_for_secs,
            labels: r.labels,
            last_error: r.last_error,
            last_evaluation_ms: r.last_evaluation_ms,
            name: r.name,
            query: r.query,
            state: state(r.state),
        }),
        RuleType::Recording => Rule::Recording(RecordingRule {
            evaluation_time_secs: r.evaluation_time_secs,
            health: health(r.health),
            labels: r.labels,
            last_error: r.last_error,
            last_evaluation_ms: r.last_evaluation_ms,
            name: r.name,
            query: r.query,
        }),
    }
}

fn group(g: GroupStatus) -> RuleGroup {
    RuleGroup {
        evaluation_time_secs: g.evaluation_time_secs,
        file: g.file,
        interval_secs: g.interval_secs,
        last_evaluation_ms: g.last_evaluation_ms,
        limit: g.limit,
        name: g.name,
        rules: g.rules.into_iter().map(rule).collect(),
    }
}
