//! Relabeling with Prometheus' semantics: `relabel_configs` (targets) and
//! `metric_relabel_configs` (scraped series).
//!
//! Each rule joins the values of `source_labels` with `separator` and matches the result
//! against `regex`, fully anchored (`^(?s:regex)$`). Defaults as Prometheus': separator `;`,
//! regex `(.*)`, replacement `$1`, action `replace`. A missing label reads as the empty string;
//! setting a label to the empty string removes it.

use md5::{Digest, Md5};
use regex::Regex;
use serde::{Deserialize, Deserializer};
use std::fmt;
use storage::{Labels, LabelsBuilder};

/// What a rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Sets `target_label` to the expanded `replacement` when the regex matches.
    #[default]
    Replace,
    /// Drops the target/series unless the regex matches.
    Keep,
    /// Drops the target/series when the regex matches.
    Drop,
    /// Drops unless the joined source values equal the value of `target_label`.
    KeepEqual,
    /// Drops when the joined source values equal the value of `target_label`.
    DropEqual,
    /// Sets `target_label` to `md5(joined) % modulus`.
    HashMod,
    /// Copies every label whose name matches to the name given by `replacement`.
    LabelMap,
    /// Removes every label whose name matches.
    LabelDrop,
    /// Removes every label whose name does not match.
    LabelKeep,
    /// Sets `target_label` to the lowercased joined value.
    Lowercase,
    /// Sets `target_label` to the uppercased joined value.
    Uppercase,
}

impl Action {
    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return Err(serde::de::Error::custom(format!("unknown relabel action {s:?}"))),
        })
    }
}

/// The default regex of a rule.
pub const DEFAULT_REGEX: &str = "(.*)";

/// A relabel regex: the pattern as written plus its anchored compilation.
#[derive(Clone)]
pub struct RelabelRegex {
    source: String,
    re: Regex,
}

impl RelabelRegex {
    /// Compiles `pattern` anchored as `^(?s:pattern)$`.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let re = Regex::new(&format!("^(?s:{pattern})$"))
            .map_err(|e| format!("invalid relabel regex {pattern:?}: {e}"))?;
        Ok(RelabelRegex {
            source: pattern.to_string(),
            re,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled, anchored regex.
    pub fn regex(&self) -> &Regex {
        &self.re
    }
}

impl Default for RelabelRegex {
    fn default() -> Self {
        #[allow(clippy::unwrap_used)] // a constant pattern that is known to compile
        RelabelRegex::new(DEFAULT_REGEX).unwrap()
    }
}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl<'de> Deserialize<'de> for RelabelRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RelabelRegex::new(&s).map_err(serde::de::Error::custom)
    }
}

fn default_separator() -> String {
    ";".into()
}

fn default_replacement() -> String {
    "$1".into()
}

/// One relabel rule, as in `relabel_configs` / `metric_relabel_configs`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    /// Labels whose values are joined and matched.
    #[serde(default)]
    pub source_labels: Vec<String>,
    /// Joins the source values (default `;`).
    #[serde(default = "default_separator")]
    pub separator: String,
    /// The label written by replace, hashmod, lowercase, uppercase; compared by keepequal/dropequal.
    #[serde(default)]
    pub target_label: String,
    /// The anchored regex (default `(.*)`).
    #[serde(default)]
    pub regex: RelabelRegex,
    /// Modulus for hashmod.
    #[serde(default)]
    pub modulus: u64,
    /// Replacement with `$1`, `${name}` references (default `$1`).
    #[serde(default = "default_replacement")]
    pub replacement: String,
    /// The action (default replace).
    #[serde(default)]
    pub action: Action,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: default_separator(),
            target_label: String::new(),
            regex: RelabelRegex::default(),
            modulus: 0,
            replacement: default_replacement(),
            action: Action::Replace,
        }
    }
}

/// Whether `s` is a label name Prometheus' legacy scheme accepts (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_valid_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

impl RelabelConfig {
    /// Checks what the field types cannot: required fields per action and fields that an
    /// action does not use. Mirrors Prometheus' checks and messages.
    pub fn validate(&self) -> Result<(), String> {
        let a = self.action;
        if a == Action::HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            a,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(format!(
                "relabel configuration for {a} action requires 'target_label' value"
            ));
        }
        let templated = a == Action::Replace && self.target_label.contains('$');
        if needs_target && !templated && a != Action::HashMod && !is_valid_label_name(&self.target_label) {
            return Err(format!(
                "{:?} is invalid 'target_label' for {a} action",
                self.target_label
            ));
        }
        if a == Action::HashMod && !is_valid_label_name(&self.target_label) {
            return Err(format!(
                "{:?} is invalid 'target_label' for {a} action",
                self.target_label
            ));
        }
        let defaults = RelabelConfig::default();
        if matches!(a, Action::LabelDrop | Action::LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != defaults.separator
                || self.replacement != defaults.replacement)
        {
            return Err(format!("{a} action requires only 'regex', and no other fields"));
        }
        if matches!(a, Action::KeepEqual | Action::DropEqual)
            && (self.regex != defaults.regex
                || self.modulus != 0
                || self.separator != defaults.separator
                || self.replacement != defaults.replacement)
        {
            return Err(format!(
                "{a} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if a == Action::LabelMap && !self.replacement.contains('$') && !is_valid_label_name(&self.replacement)
        {
            return Err(format!(
                "{:?} is invalid 'replacement' for {a} action",
                self.replacement
            ));
        }
        Ok(())
    }
}

/// Applies `rules` in order. `None` when a rule dropped the set (keep/drop/keepequal/dropequal).
pub fn relabel(labels: &Labels, rules: &[RelabelConfig]) -> Option<Labels> {
    if rules.is_empty() {
        return Some(labels.clone());
    }
    let mut b = labels.to_builder();
    for r in rules {
        if !apply(&mut b, r) {
            return None;
        }
    }
    Some(b.build())
}

/// Applies one rule to a builder; `false` means drop.
pub fn apply(b: &mut LabelsBuilder, r: &RelabelConfig) -> bool {
    let joined = join_sources(b, r);
    let re = r.regex.regex();
    match r.action {
        Action::Drop => {
            if re.is_match(&joined) {
                return false;
            }
        }
        Action::Keep => {
            if !re.is_match(&joined) {
                return false;
            }
        }
        Action::DropEqual => {
            if b.get(&r.target_label).unwrap_or("") == joined {
                return false;
            }
        }
        Action::KeepEqual => {
            if b.get(&r.target_label).unwrap_or("") != joined {
                return false;
            }
        }
        Action::Replace => {
            let Some(caps) = re.captures(&joined) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&r.target_label, &mut target);
            if target.is_empty() {
                return true;
            }
            let mut value = String::new();
            caps.expand(&r.replacement, &mut value);
            if value.is_empty() {
                b.remove(&target);
            } else {
                b.set(&target, &value);
            }
        }
        Action::Lowercase => {
            b.set(&r.target_label, &joined.to_lowercase());
        }
        Action::Uppercase => {
            b.set(&r.target_label, &joined.to_uppercase());
        }
        Action::HashMod => {
            let digest = Md5::digest(joined.as_bytes());
            let mut tail = [0u8; 8];
            tail.copy_from_slice(&digest[8..16]);
            let m = u64::from_be_bytes(tail) % r.modulus.max(1);
            b.set(&r.target_label, &m.to_string());
        }
        Action::LabelMap => {
            let snapshot = b.build();
            for l in snapshot.iter() {
                if let Some(caps) = re.captures(&l.name) {
                    let mut name = String::new();
                    caps.expand(&r.replacement, &mut name);
                    if !name.is_empty() {
                        b.set_arc(name.into(), l.value.clone());
                    }
                }
            }
        }
        Action::LabelDrop => {
            b.retain(|n| !re.is_match(n));
        }
        Action::LabelKeep => {
            b.retain(|n| re.is_match(n));
        }
    }
    true
}

fn join_sources(b: &LabelsBuilder, r: &RelabelConfig) -> String {
    match r.source_labels.as_slice() {
        [] => String::new(),
        [one] => b.get(one).unwrap_or("").to_string(),
        many => {
            let mut s = String::new();
            for (i, n) in many.iter().enumerate() {
                if i > 0 {
                    s.push_str(&r.separator);
                }
                s.push_str(b.get(n).unwrap_or(""));
            }
            s
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
