//! Rule files in Prometheus' format: parsing, validation and `rule_files` glob expansion.

use crate::error::RuleError;
use crate::template::Template;
use promql_parser::parser::value::ValueType;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use storage::model::yaml::nullable;

/// One rule file: a list of groups.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The groups, evaluated independently.
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<GroupConfig>,
}

/// A rule group as written in a file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// Unique (within the file) group name.
    pub name: String,
    /// Evaluation interval; the global `evaluation_interval` when absent.
    #[serde(default, deserialize_with = "opt_serde::deserialize")]
    pub interval: Option<Duration>,
    /// Maximum series a recording rule / alerts an alerting rule may produce (0 = no limit).
    #[serde(default, deserialize_with = "nullable")]
    pub limit: u64,
    /// How far back in time the group queries (to wait for late data).
    #[serde(default, deserialize_with = "opt_serde::deserialize")]
    pub query_offset: Option<Duration>,
    /// Labels added to every rule of the group (a rule's own labels win).
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    /// The rules, evaluated in order.
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<RuleConfig>,
}

/// A recording or alerting rule as written in a file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Name of the recorded metric (recording rules).
    #[serde(default, deserialize_with = "nullable")]
    pub record: Option<String>,
    /// Name of the alert (alerting rules).
    #[serde(default, deserialize_with = "nullable")]
    pub alert: Option<String>,
    /// The PromQL expression.
    #[serde(default, deserialize_with = "nullable")]
    pub expr: String,
    /// How long an alert is pending before it fires.
    #[serde(default, rename = "for", deserialize_with = "opt_serde::deserialize")]
    pub for_: Option<Duration>,
    /// How long an alert keeps firing after its condition cleared.
    #[serde(default, deserialize_with = "opt_serde::deserialize")]
    pub keep_firing_for: Option<Duration>,
    /// Labels added to the results (templated for alerting rules).
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the alerts (templated).
    #[serde(default, deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
}

/// Reads, parses and validates one rule file.
pub fn load_file(path: &Path) -> Result<RuleFile, RuleError> {
    let text = std::fs::read_to_string(path).map_err(|source| RuleError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse_rule_file(path, &text)
}

/// Parses and validates the text of a rule file; `path` names it in errors.
pub fn parse_rule_file(path: &Path, text: &str) -> Result<RuleFile, RuleError> {
    let file: RuleFile = if text.trim().is_empty() {
        RuleFile::default()
    } else {
        storage::model::yaml::from_str(text).map_err(|msg| RuleError::Parse {
            file: path.to_path_buf(),
            msg,
        })?
    };
    let errors = validate(path, &file);
    match errors.len() {
        0 => Ok(file),
        1 => Err(errors.into_iter().next().expect("one error")),
        _ => Err(RuleError::Multiple(errors)),
    }
}

/// Whether `s` is a valid (legacy) metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `s` is a valid (legacy) label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every problem of a parsed file, each naming the file, group and rule.
fn validate(path: &Path, file: &RuleFile) -> Vec<RuleError> {
    let mut errs = Vec::new();
    let mut names = HashSet::new();
    for g in &file.groups {
        let gerr = |msg: String| RuleError::Invalid {
            file: path.to_path_buf(),
            group: g.name.clone(),
            rule: String::new(),
            msg,
        };
        if g.name.is_empty() {
            errs.push(gerr("group name must not be empty".into()));
        } else if !names.insert(g.name.as_str()) {
            errs.push(gerr(format!(
                "group name {:?} is repeated in the same file",
                g.name
            )));
        }
        if g.interval == Some(Duration::ZERO) {
            errs.push(gerr("interval must be greater than 0".into()));
        }
        for (n, v) in &g.labels {
            if !is_valid_label_name(n) || n == storage::METRIC_NAME {
                errs.push(gerr(format!("invalid group label name {n:?} (value {v:?})")));
            }
        }
        for (i, r) in g.rules.iter().enumerate() {
            let name = r.record.as_deref().or(r.alert.as_deref()).unwrap_or("");
            let rerr = |msg: String| RuleError::Invalid {
                file: path.to_path_buf(),
                group: g.name.clone(),
                rule: format!("rule {} ({name:?})", i + 1),
                msg,
            };
            for msg in validate_rule(r) {
                errs.push(rerr(msg));
            }
        }
    }
    errs
}

/// Problems of one rule, as messages.
fn validate_rule(r: &RuleConfig) -> Vec<String> {
    let mut out = Vec::new();
    match (&r.record, &r.alert) {
        (Some(_), Some(_)) => out.push("only one of 'record' and 'alert' must be set".into()),
        (None, None) => out.push("one of 'record' or 'alert' must be set".into()),
        _ => {}
    }
    if r.expr.trim().is_empty() {
        out.push("field 'expr' must be set in rule".into());
    } else {
        match query::durations::parse(&r.expr) {
            Err(e) => out.push(format!("could not parse expression {:?}: {e}", r.expr)),
            Ok(ast) => match ast.value_type() {
                ValueType::Vector | ValueType::Scalar => {}
                other => out.push(format!(
                    "expression {:?} evaluates to {other}, must be an instant vector or scalar",
                    r.expr
                )),
            },
        }
    }
    if let Some(rec) = &r.record {
        if !is_valid_metric_name(rec) {
            out.push(format!("invalid recording rule name: {rec:?}"));
        }
        if r.for_.is_some() {
            out.push("invalid field 'for' in recording rule".into());
        }
        if r.keep_firing_for.is_some() {
            out.push("invalid field 'keep_firing_for' in recording rule".into());
        }
        if !r.annotations.is_empty() {
            out.push("invalid field 'annotations' in recording rule".into());
        }
    }
    if let Some(a) = &r.alert {
        if a.is_empty() {
            out.push("alert name must not be empty".into());
        }
    }
    for (n, v) in &r.labels {
        if !is_valid_label_name(n) || n == storage::METRIC_NAME {
            out.push(format!("invalid label name: {n:?}"));
        }
        if r.alert.is_some() {
            if let Err(e) = Template::parse(v) {
                out.push(format!("label {n:?}: invalid template: {e}"));
            }
        }
    }
    for (n, v) in &r.annotations {
        if !is_valid_label_name(n) {
            out.push(format!("invalid annotation name: {n:?}"));
        }
        if let Err(e) = Template::parse(v) {
            out.push(format!("annotation {n:?}: invalid template: {e}"));
        }
    }
    out
}

/// Expands `rule_files` patterns (shell globs, relative to `base_dir`, the directory of the
/// configuration file) into sorted, unique paths. A pattern matching nothing yields nothing,
/// as in Prometheus.
pub fn resolve_rule_files(base_dir: &Path, patterns: &[String]) -> Result<Vec<PathBuf>, RuleError> {
    let mut out = Vec::new();
    for p in patterns {
        let full = if Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            base_dir.join(p)
        };
        let full_s = full.to_string_lossy().into_owned();
        let paths = glob::glob(&full_s).map_err(|e| RuleError::Glob {
            pattern: p.clone(),
            msg: e.to_string(),
        })?;
        for entry in paths {
            let path = entry.map_err(|e| RuleError::Glob {
                pattern: p.clone(),
                msg: e.to_string(),
            })?;
            if path.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Serde adapter for `Option<Duration>` fields written as Prometheus duration strings
/// ([`storage::parse_duration`], at most `i64::MAX` milliseconds as rule times are `i64`).
pub(crate) mod opt_serde {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    /// Deserializes an optional Prometheus duration string.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let Some(s) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let d = storage::parse_duration(&s).map_err(serde::de::Error::custom)?;
        if d.as_millis() > i64::MAX as u128 {
            return Err(serde::de::Error::custom(format!("duration out of range: {s:?}")));
        }
        Ok(Some(d))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_rule_file(Path::new("r.yml"), text).unwrap_err().to_string()
    }

    #[test]
    fn parses_a_full_file() {
        let f = parse_rule_file(
            Path::new("r.yml"),
            r#"
groups:
  - name: g
    interval: 30s
    limit: 10
    query_offset: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {team: a}
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} down"}
"#,
        )
        .unwrap();
        let g = &f.groups[0];
        assert_eq!(g.interval, Some(Duration::from_secs(30)));
        assert_eq!(g.query_offset, Some(Duration::from_secs(60)));
        assert_eq!(g.limit, 10);
        assert_eq!(g.rules[1].for_, Some(Duration::from_secs(300)));
        assert_eq!(g.rules[1].keep_firing_for, Some(Duration::from_secs(60)));
    }

    #[test]
    fn errors_name_file_group_and_rule() {
        let e = err("groups:\n- name: g\n  rules:\n  - record: 'bad name'\n    expr: up\n");
        assert!(
            e.contains("r.yml") && e.contains("\"g\"") && e.contains("rule 1"),
            "{e}"
        );
        assert!(e.contains("invalid recording rule name"), "{e}");

        let e = err("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 'sum(('\n");
        assert!(
            e.contains("could not parse expression") && e.contains("\"A\""),
            "{e}"
        );

        // A number of seconds no duration holds: refused, not a panic of the parser crate.
        let e = err("groups:\n- name: g\n  rules:\n  - record: x\n    expr: 'rate(up[1e30])'\n");
        assert!(e.contains("duration out of range"), "{e}");

        let e = err("groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n");
        assert!(e.contains("repeated"), "{e}");

        let e = err("groups:\n- name: g\n  rules:\n  - record: x\n    expr: '\"str\"'\n");
        assert!(e.contains("must be an instant vector"), "{e}");

        let e = err("groups:\n- name: g\n  rules:\n  - record: x\n    expr: up[5m]\n");
        assert!(e.contains("must be an instant vector"), "{e}");

        let e = err("groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n    for: 1m\n");
        assert!(e.contains("'for'"), "{e}");

        let e = err("groups:\n- name: g\n  rules:\n  - record: x\n    alert: y\n    expr: up\n");
        assert!(e.contains("only one"), "{e}");

        let e = err("groups:\n- name: g\n  rules:\n  - expr: up\n");
        assert!(e.contains("one of 'record' or 'alert'"), "{e}");

        let e = err("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels: {'1x': y}\n");
        assert!(e.contains("invalid label name"), "{e}");

        let e = err("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations: {s: '{{ $labels.x '}\n");
        assert!(e.contains("invalid template"), "{e}");

        let e = err("groups:\n- name: g\n  bogus: 1\n  rules: []\n");
        assert!(e.contains("r.yml") && e.contains("bogus"), "{e}");

        let e = err("groups:\n- name: g\n  interval: 5x\n  rules: []\n");
        assert!(e.contains("not a valid duration"), "{e}");
    }

    #[test]
    fn globs_relative_to_the_config_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rules")).unwrap();
        std::fs::write(dir.path().join("rules/a.yml"), "groups: []").unwrap();
        std::fs::write(dir.path().join("rules/b.yml"), "groups: []").unwrap();
        std::fs::write(dir.path().join("rules/c.txt"), "").unwrap();
        let files = resolve_rule_files(dir.path(), &["rules/*.yml".into(), "rules/a.yml".into()]).unwrap();
        assert_eq!(
            files,
            vec![dir.path().join("rules/a.yml"), dir.path().join("rules/b.yml")]
        );
        assert!(resolve_rule_files(dir.path(), &["[".into()]).is_err());
    }
}
