//! Rules and alerts: builds the rule manager and notifier from the configuration, reloads them,
//! and renders their self-metrics (their API status is adapted in [`crate::adapters::rules`]).

use crate::config::LoadedConfig;
use std::path::PathBuf;
use std::sync::Arc;
use storage::{Appendable, Queryable};

/// The running rule manager and (when Alertmanagers are configured) notifier.
pub struct Rules {
    /// Evaluates the groups.
    pub manager: Arc<rules::RuleManager>,
    /// Sends alerts; `None` without `alerting.alertmanagers`.
    pub notifier: Option<Arc<rules::Notifier>>,
    /// Whether the embedded beacon-node preset is loaded.
    pub beacon_preset: bool,
}

/// The rule files of `config`, resolved against its directory (the working directory for the
/// embedded default).
fn rule_files(config: &LoadedConfig) -> Result<Vec<PathBuf>, String> {
    let base = config
        .source
        .clone()
        .unwrap_or_else(|| PathBuf::from("prometheus.yml"));
    rules::rule_files_for_config(&base, &config.config.rule_files).map_err(|e| e.to_string())
}

impl Rules {
    /// Starts the notifier (if any) and creates the manager; nothing is evaluated until
    /// [`Rules::load`]. Must run inside the runtime.
    pub fn new(
        config: &LoadedConfig,
        queryable: Arc<dyn Queryable>,
        appendable: Arc<dyn Appendable>,
        engine: Arc<query::Engine>,
        beacon_preset: bool,
    ) -> Result<Rules, String> {
        let c = &config.config;
        let notifier = if c.alerting.alertmanagers.is_empty() {
            None
        } else {
            let n = rules::Notifier::new(
                &c.alerting,
                rules::NotifierOptions {
                    external_labels: c.global.external_labels.clone(),
                    ..Default::default()
                },
            )?;
            n.run();
            Some(n)
        };
        let manager = Arc::new(rules::RuleManager::new(
            queryable,
            appendable,
            engine,
            rules::RuleManagerOptions {
                default_interval: c.global.evaluation_interval.0,
                default_query_offset: c
                    .global
                    .rule_query_offset
                    .map_or(std::time::Duration::ZERO, |d| d.0),
                external_labels: c.global.external_labels.clone(),
                notifier: notifier.clone(),
                ..Default::default()
            },
        ));
        Ok(Rules {
            manager,
            notifier,
            beacon_preset,
        })
    }

    /// Loads (or reloads) the rule files of `config`; on error the running rules stay.
    pub fn load(&self, config: &LoadedConfig) -> Result<(), String> {
        let files = rule_files(config)?;
        let extra = if self.beacon_preset {
            vec![rules::RuleSource::beacon_preset()]
        } else {
            Vec::new()
        };
        self.manager
            .load_with(&files, &extra)
            .map_err(|e| e.to_string())?;
        if let Some(n) = &self.notifier {
            n.apply_config(&config.config.alerting)?;
        }
        tracing::info!(
            files = files.len(),
            beacon_preset = self.beacon_preset,
            "Rules loaded"
        );
        Ok(())
    }

    /// Renders the rule and notification self-metrics into `out`.
    pub fn render_metrics(&self, out: &mut storage::metrics::Exposition) {
        self.manager.render_metrics(out);
        if let Some(n) = &self.notifier {
            n.render_metrics(out);
        }
    }
}
