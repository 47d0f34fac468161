//! Label matchers with Prometheus' semantics: regular expressions are fully anchored and
//! `.` matches a newline (Prometheus 3); a missing label matches as the empty string.

use regex::Regex;
use std::fmt;

/// The four matcher operators of PromQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        })
    }
}

/// A regular expression that is not valid.
#[derive(Debug, thiserror::Error)]
#[error("invalid regular expression {pattern:?} for label {name:?}: {reason}")]
pub struct MatcherError {
    /// The label name the matcher was for.
    pub name: String,
    /// The pattern as given.
    pub pattern: String,
    /// What the regex compiler said.
    pub reason: String,
}

/// One label matcher, e.g. `job=~"api|web"`.
#[derive(Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The operator.
    pub op: MatchOp,
    /// The value or pattern as written (unanchored).
    pub value: String,
    /// The compiled, anchored regex (for the regex operators), or a literal fast path.
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Literal,
    /// `.*`: matches everything.
    Any,
    /// `.+`: matches any non-empty value.
    NonEmpty,
    /// `a|b|c` of plain literals.
    Set(Vec<String>),
    Regex(Regex),
}

impl Matcher {
    /// Builds a matcher; compiles the regex anchored as `^(?s:pattern)$`.
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let kind = match op {
            MatchOp::Equal | MatchOp::NotEqual => Kind::Literal,
            MatchOp::Regex | MatchOp::NotRegex => {
                if value == ".*" {
                    Kind::Any
                } else if value == ".+" {
                    Kind::NonEmpty
                } else if let Some(set) = literal_alternation(&value) {
                    Kind::Set(set)
                } else {
                    let re = Regex::new(&format!("^(?s:{value})$")).map_err(|e| MatcherError {
                        name: name.clone(),
                        pattern: value.clone(),
                        reason: e.to_string(),
                    })?;
                    Kind::Regex(re)
                }
            }
        };
        Ok(Matcher {
            name,
            op,
            value,
            kind,
        })
    }

    /// Shorthand for an `=` matcher (cannot fail).
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            kind: Kind::Literal,
        }
    }

    /// Whether `value` (the empty string for a missing label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        let positive = match &self.kind {
            Kind::Literal => value == self.value,
            Kind::Any => true,
            Kind::NonEmpty => !value.is_empty(),
            Kind::Set(s) => s.iter().any(|x| x == value),
            Kind::Regex(re) => re.is_match(value),
        };
        match self.op {
            MatchOp::Equal | MatchOp::Regex => positive,
            MatchOp::NotEqual | MatchOp::NotRegex => !positive,
        }
    }

    /// Whether the matcher accepts the empty string, i.e. also selects series without the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=` and literal-set regexes: the exact values that match (used to walk postings
    /// directly instead of testing every value). `None` when the matcher is not a finite set.
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        match (&self.kind, self.op) {
            (Kind::Literal, MatchOp::Equal) => Some(vec![self.value.as_str()]),
            (Kind::Set(s), MatchOp::Regex) => Some(s.iter().map(String::as_str).collect()),
            _ => None,
        }
    }
}

/// `a|b|c` where every branch is a plain literal (no regex metacharacters).
fn literal_alternation(pattern: &str) -> Option<Vec<String>> {
    const META: &[char] = &['\\', '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '^', '$'];
    if pattern.contains(META) {
        return None;
    }
    Some(pattern.split('|').map(str::to_owned).collect())
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op, self.value)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(op: MatchOp, pat: &str, value: &str, want: bool) {
        let m = Matcher::new(op, "l", pat).expect("valid");
        assert_eq!(m.matches(value), want, "{m} against {value:?}");
    }

    #[test]
    fn prometheus_semantics() {
        check(MatchOp::Equal, "a", "a", true);
        check(MatchOp::Equal, "", "", true);
        check(MatchOp::NotEqual, "a", "", true);
        check(MatchOp::Regex, "a.*", "abc", true);
        check(MatchOp::Regex, "b", "abc", false); // anchored
        check(MatchOp::Regex, "a|b", "b", true);
        check(MatchOp::Regex, "a|b", "ab", false);
        check(MatchOp::Regex, ".*", "", true);
        check(MatchOp::Regex, ".+", "", false);
        check(MatchOp::Regex, "a.c", "a\nc", true); // dot matches newline
        check(MatchOp::NotRegex, "a|b", "c", true);
        check(MatchOp::NotRegex, ".*", "x", false);
        check(MatchOp::Regex, "(?i)ABC", "abc", true);
        check(MatchOp::Regex, "", "", true);
        check(MatchOp::Regex, "", "x", false);
    }

    #[test]
    fn bad_regex_is_an_error_naming_it() {
        let e = Matcher::new(MatchOp::Regex, "job", "a(").expect_err("error");
        assert!(e.to_string().contains("job"));
    }
}
