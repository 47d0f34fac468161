//! Adapts the rule manager (in `rules`) to `/api/v1/rules` and `/api/v1/alerts` (in `web`).

use std::sync::Arc;

/// The rule manager seen through `web`'s [`web::RulesProvider`].
pub struct RulesStatus(pub Arc<rules::RuleManager>);

impl web::RulesProvider for RulesStatus {
    fn rules(&self, q: &web::RulesQuery) -> serde_json::Value {
        let filter = rules::api::RulesFilter {
            rule_type: match q.rule_type.as_deref() {
                Some("alert") => Some(rules::RuleType::Alerting),
                Some("record") => Some(rules::RuleType::Recording),
                _ => None,
            },
            rule_names: q.rule_names.clone(),
            rule_groups: q.rule_groups.clone(),
            files: q.files.clone(),
            exclude_alerts: q.exclude_alerts,
        };
        rules::api::rules_data(&self.0.groups(), &filter)
    }

    fn alerts(&self) -> serde_json::Value {
        rules::api::alerts_data(&self.0.alerts())
    }
}
