//! The parse error: which line, and what is wrong with it.

use std::fmt;

/// A malformed exposition body. `line` is 1-based; `excerpt` is the start of the offending
/// line (cut at 80 characters) so a target's `lastError` shows what was served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// The beginning of the offending line.
    pub excerpt: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, line_text: &str, message: impl Into<String>) -> Self {
        const MAX: usize = 80;
        let excerpt = if line_text.len() > MAX {
            let mut cut = MAX;
            while !line_text.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}...", &line_text[..cut])
        } else {
            line_text.to_string()
        };
        ParseError {
            line,
            message: message.into(),
            excerpt,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.excerpt.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}: {} (in {:?})", self.line, self.message, self.excerpt)
        }
    }
}

impl std::error::Error for ParseError {}
