//! Sextant's rules: recording and alerting rules evaluated on the PromQL engine, and the
//! Alertmanager notifier.
//!
//! # Layout
//! - [`config`]: rule files in Prometheus' format, validation, `rule_files` globs.
//! - [`alerting_config`]: the `alerting` section of `prometheus.yml` (each Alertmanager entry
//!   with `httpclient`'s client settings).
//! - `context`: the manager's options and the context the group tasks share.
//! - [`manager`]: [`RuleManager`], loading, per-group evaluation tasks and status.
//! - `group`: one group's evaluation: queries, appends, staleness, restore of `for` state.
//! - [`alert`]: the alert state machine and the `ALERTS` / `ALERTS_FOR_STATE` series.
//! - [`template`]: the template engine for labels and annotations (supported subset there).
//! - [`notifier`]: Alertmanager v2 client with a queue, batches and retries; each target's
//!   requests carry its entry's authentication, TLS and headers.
//! - [`status`]: plain structs of groups, rules and alerts; the root converts them into
//!   web's response types for `/api/v1/rules` and `/api/v1/alerts`.
//! - [`presets`]: the embedded beacon-node alert rules.
//! - [`value`]: a result sample's value, float or native histogram.
//!
//! # Semantics
//! As Prometheus 3: groups are evaluated at multiples of their interval shifted by a stable
//! per-group offset; rules in a group run in order and see earlier rules' output; recorded
//! series that disappear get staleness markers; the first evaluation after start writes no
//! `ALERTS` series and is followed by the restore of `for` state from `ALERTS_FOR_STATE`
//! (within the outage tolerance, keeping at least the grace period); resolved alerts are kept
//! and re-sent for 15 minutes, firing alerts re-sent every `resend_delay`.

pub mod alert;
pub mod alerting_config;
pub mod config;
mod context;
pub mod error;
mod group;
pub mod manager;
pub mod notifier;
pub mod presets;
pub mod status;
pub mod template;
pub mod value;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use alert::AlertState;
pub use alerting_config::{AlertingConfig, AlertmanagerConfig, StaticConfig};
pub use error::RuleError;
pub use manager::{rule_files_for_config, RuleManager, RuleManagerOptions, RuleSource};
pub use notifier::{Notifier, NotifierAlert, NotifierOptions, NotifierStats};
pub use status::{AlertStatus, GroupStatus, RuleHealth, RuleStatus, RuleType};
pub use value::RuleValue;
