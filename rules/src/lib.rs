//! Sextant's rules: recording and alerting rules evaluated on the PromQL engine, and the
//! Alertmanager notifier.
pub mod config;
pub mod duration;
pub mod error;
pub mod template;

pub use error::RuleError;
