//! The crate's errors.

use std::path::PathBuf;

/// Why rule files could not be loaded or a group could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A rule file could not be read.
    #[error("reading rule file {file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A rule file is not valid YAML of the expected shape.
    #[error("{file}: {msg}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// What the parser said.
        msg: String,
    },
    /// A group or rule is invalid; `rule` is empty for group-level errors.
    #[error("{}", format_invalid(file, group, rule, msg))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The group's name.
        group: String,
        /// The rule: `rule N ("name")`, or empty for group-level problems.
        rule: String,
        /// What is wrong.
        msg: String,
    },
    /// Several files failed; every error is listed.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Multiple(Vec<RuleError>),
    /// A `rule_files` glob pattern is malformed.
    #[error("invalid rule_files pattern {pattern:?}: {msg}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// What is wrong.
        msg: String,
    },
    /// No group of that name is loaded (from [`crate::RuleManager::eval_group_at`]).
    #[error("no rule group named {0:?}")]
    NoSuchGroup(String),
    /// Writing the group's results to storage failed.
    #[error("appending rule results: {0}")]
    Append(String),
}

fn format_invalid(file: &std::path::Path, group: &str, rule: &str, msg: &str) -> String {
    if rule.is_empty() {
        format!("{}: group {group:?}: {msg}", file.display())
    } else {
        format!("{}: group {group:?}, {rule}: {msg}", file.display())
    }
}
