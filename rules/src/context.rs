//! What rule evaluation needs: the manager's settings and the context every group task
//! shares (the stores and the engine).

use crate::notifier::Notifier;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use storage::{Appendable, Queryable};

/// Settings of the rule manager (mostly from `prometheus.yml` `global`).
#[derive(Clone, Debug)]
pub struct RuleManagerOptions {
    /// `global.evaluation_interval`: the interval of groups without one (default 1 m).
    pub default_interval: Duration,
    /// `global.rule_query_offset`: the query offset of groups without one (default 0).
    pub default_query_offset: Duration,
    /// `global.external_labels`: `$externalLabels` in templates.
    pub external_labels: BTreeMap<String, String>,
    /// `--web.external-url`: `$externalURL` and the base of alerts' `generatorURL`.
    pub external_url: String,
    /// `--rules.alert.for-outage-tolerance` (default 1 h): how far back `for` state is restored.
    pub outage_tolerance: Duration,
    /// `--rules.alert.for-grace-period` (default 10 m): minimum pending time after a restore.
    pub for_grace_period: Duration,
    /// `--rules.alert.resend-delay` (default 1 m): how often firing alerts are re-sent.
    pub resend_delay: Duration,
    /// Where alerts go; `None` = nowhere.
    pub notifier: Option<Arc<Notifier>>,
    /// Spawn an evaluation task per group on [`crate::RuleManager::load`] (default true). Tests turn it
    /// off and drive evaluation with [`crate::RuleManager::eval_group_at`].
    pub run_evaluations: bool,
}

impl Default for RuleManagerOptions {
    fn default() -> Self {
        RuleManagerOptions {
            default_interval: Duration::from_secs(60),
            default_query_offset: Duration::ZERO,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
            resend_delay: Duration::from_secs(60),
            notifier: None,
            run_evaluations: true,
        }
    }
}

/// What every evaluation needs; shared with the group tasks.
pub(crate) struct EvalCtx {
    pub queryable: Arc<dyn Queryable>,
    pub appendable: Arc<dyn Appendable>,
    pub engine: Arc<query::Engine>,
    pub opts: RuleManagerOptions,
}
