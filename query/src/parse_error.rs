//! Prometheus-style parse error messages: `<line>:<col>: parse error: <message>`.
//!
//! The parser crate reports what is wrong but not where, and words some errors differently
//! from Prometheus. This module finds the position the way Prometheus' parser reports it
//! (end of input for unterminated constructs, the offending token for syntax errors, the
//! argument for type errors, the selector or matcher for selector errors) and rewords the
//! messages whose Prometheus wording is known.

use promql_parser::parser::Expr;

/// Messages the parser crate gives when the input ended too early: the position is the end.
const AT_END: &[&str] = &[
    "unclosed left parenthesis",
    "unexpected end of input inside braces",
    "unexpected end of input",
    "unclosed left bracket",
    "unterminated quoted string",
];

/// What is appended to a prefix to see whether it can be completed into a valid expression.
const COMPLETIONS: &[&str] = &[
    " x", ")", " x)", "))", " x))", "]", "m]", "5m]", "}", "=\"a\"}", "\"a\"}", "\"}", " (x)", ") (x)",
    " (a) (x)",
];

/// PromQL's aggregation operators.
const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Inputs longer than this (bytes) are not scanned prefix by prefix for the error position,
/// but bisected.
const MAX_SCAN: usize = 1024;

/// Inputs longer than this (bytes) report syntax errors at their start.
const MAX_BISECT: usize = 256 * 1024;

/// What [`describe`] checks a prefix against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Grammar {
    /// A whole PromQL expression.
    Expr,
    /// A bare series selector (the API's `match[]`), as Prometheus' `ParseMetricSelector`.
    Selector,
}

/// Turns the parser crate's message `msg` for `input` into Prometheus' form
/// `L:C: parse error: <message>`.
pub fn describe(input: &str, msg: &str, grammar: Grammar) -> String {
    let (pos, text) = locate(input, msg, grammar);
    let (line, col) = line_col(input, pos);
    format!("{line}:{col}: parse error: {text}")
}

/// The byte offset and Prometheus wording of an error.
fn locate(input: &str, msg: &str, grammar: Grammar) -> (usize, String) {
    let first = input.len() - input.trim_start().len();
    if msg == "no expression found in input" {
        return (first, msg.to_string());
    }
    if msg == "unexpected end of input inside brackets" {
        return (input.len(), "unclosed left bracket".to_string());
    }
    if AT_END.contains(&msg) || msg.starts_with("unexpected end of input") {
        return (input.len(), msg.to_string());
    }
    if msg.starts_with("unexpected right parenthesis") {
        // Prometheus' lexer reports it just after the parenthesis.
        return (
            unbalanced(input, '(', ')').map_or(first, |i| i + 1),
            msg.to_string(),
        );
    }
    if msg.starts_with("unexpected right brace") {
        let pos = unbalanced(input, '{', '}').unwrap_or(first);
        return (pos, "unexpected character: '}'".to_string());
    }
    if msg.starts_with("unterminated quoted string") {
        return (
            unterminated_quote(input).unwrap_or(first),
            "unterminated quoted string".to_string(),
        );
    }
    if let Some(f) = msg
        .strip_prefix("unknown function with name '")
        .and_then(|s| s.strip_suffix('\''))
    {
        let pos = word_at(input, f).unwrap_or(first);
        return (pos, format!("unknown function with name {f:?}"));
    }
    if let Some((counts, f)) = msg
        .strip_prefix("expected ")
        .and_then(|s| s.split_once(" in call to '"))
        .and_then(|(counts, rest)| {
            let (f, got) = rest.split_once("', got ")?;
            Some((format!("{counts}|{got}"), f))
        })
    {
        let (want, got) = counts.split_once('|').unwrap_or(("", ""));
        let pos = word_at(input, f).unwrap_or(first);
        return (pos, format!("expected {want} in call to {f:?}, got {got}"));
    }
    if msg.starts_with("wrong number of arguments for aggregate expression") {
        let pos = AGGREGATORS
            .iter()
            .filter_map(|a| word_at(input, a))
            .min()
            .unwrap_or(first);
        return (pos, msg.to_string());
    }
    if let Some(lit) = msg.strip_prefix("bad number or duration syntax: ") {
        return (input.find(lit).unwrap_or(first), msg.to_string());
    }
    if msg.starts_with("vector selector must contain at least one non-empty matcher") {
        return (selector_start(input).unwrap_or(first), msg.to_string());
    }
    if msg.starts_with("binary expression must contain only scalar and instant vector types") {
        return (first, msg.to_string());
    }
    if let Some(re) = msg.strip_prefix("illegal regex for ") {
        let pos = matcher_start(input, re).unwrap_or(first);
        return (
            pos,
            format!("error parsing regexp: invalid regular expression {re:?}"),
        );
    }
    if let Some(rest) = msg.strip_prefix("expected type ") {
        if let Some(t) = type_error(input, rest) {
            return t;
        }
    }
    // A syntax error: the offending token follows the longest prefix that is a valid start.
    // Short inputs try every prefix; long ones bisect (being a valid start is, but for rare
    // grammar corners, monotonic in the prefix length), and huge ones get the start.
    if input.len() > MAX_BISECT {
        return (first, msg.to_string());
    }
    let ok = if input.len() > MAX_SCAN {
        bisect_prefix_len(input, grammar)
    } else {
        valid_prefix_len(input, grammar)
    };
    let at = ok + (input.len() - ok - input[ok..].trim_start().len());
    if at >= input.len() {
        return (input.len(), "unexpected end of input".to_string());
    }
    // `@` after a whole aggregation, call or parenthesis: Prometheus parses it and then
    // rejects the modifier's operand, reporting the operand's start.
    if input[at..].starts_with('@') && grammar == Grammar::Expr {
        if let Ok(e) = crate::durations::parse(input[..at].trim_end()) {
            if matches!(e, Expr::Aggregate(_) | Expr::Call(_) | Expr::Paren(_)) {
                return (
                    first,
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery"
                        .to_string(),
                );
            }
        }
    }
    (at, format!("unexpected {}", token_desc(&input[at..])))
}

/// The offset of the first `close` without a matching `open` (outside quoted strings).
fn unbalanced(input: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0i32;
    let mut quotes = Quotes::default();
    for (i, c) in input.char_indices() {
        if !quotes.code(i, c) {
            continue;
        }
        match c {
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth < 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The offset of the opening quote of a string that is never closed.
fn unterminated_quote(input: &str) -> Option<usize> {
    let mut quotes = Quotes::default();
    for (i, c) in input.char_indices() {
        quotes.code(i, c);
    }
    quotes.open.map(|(i, _)| i)
}

/// Where a left-to-right scan stands with respect to PromQL's quoted strings (`"`, `'` and
/// raw `` ` ``; backslash escapes except in raw strings).
#[derive(Default)]
struct Quotes {
    /// The offset and character of the quote that opened the string the scan is in.
    open: Option<(usize, char)>,
    /// The previous character was an escaping backslash inside a string.
    escaped: bool,
}

impl Quotes {
    /// Feeds the character `c` at offset `i`: true when it is code, that is neither inside a
    /// string nor a quote that opens one.
    fn code(&mut self, i: usize, c: char) -> bool {
        match self.open {
            Some((_, q)) => {
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' && q != '`' {
                    self.escaped = true;
                } else if c == q {
                    self.open = None;
                }
                false
            }
            None if matches!(c, '"' | '\'' | '`') => {
                self.open = Some((i, c));
                false
            }
            None => true,
        }
    }
}

/// `s` with leading whitespace and an aggregation's leading `by (...)`/`without (...)` clause
/// skipped.
fn skip_grouping(s: &str) -> &str {
    let mut rest = s.trim_start();
    for kw in ["by", "without"] {
        if let Some(r) = rest.strip_prefix(kw) {
            let r = r.trim_start();
            if let Some(close) = r.starts_with('(').then(|| r.find(')')).flatten() {
                rest = r[close + 1..].trim_start();
            }
        }
    }
    rest
}

/// The offset of the first occurrence of `word` as a whole identifier.
fn word_at(input: &str, word: &str) -> Option<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut from = 0;
    while let Some(i) = input[from..].find(word).map(|i| i + from) {
        let end = i + word.len();
        let before = input[..i].chars().next_back().is_none_or(|c| !ident(c));
        let after = input[end..].chars().next().is_none_or(|c| !ident(c));
        if before && after {
            return Some(i);
        }
        from = end;
    }
    None
}

/// `L:C` (1-based, columns in characters) of byte offset `pos`.
fn line_col(input: &str, pos: usize) -> (usize, usize) {
    let before = &input[..pos.min(input.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Whether `prefix` could begin a valid input: it parses, or fails only because it ended.
fn is_valid_start(prefix: &str, grammar: Grammar) -> bool {
    match crate::durations::parse(prefix) {
        Ok(e) => match grammar {
            Grammar::Expr => true,
            Grammar::Selector => {
                matches!(e, Expr::VectorSelector(ref vs) if vs.offset.is_none() && vs.at.is_none())
            }
        },
        Err(m) => {
            let at_end = AT_END.contains(&m.as_str()) && m != "unclosed left parenthesis";
            match grammar {
                // The parser crate words some early ends as a generic syntax error: the
                // prefix is also a valid start if an operand completes it.
                Grammar::Expr => {
                    // Ended early, or syntactically complete but ill-typed.
                    let ended = |m: &str| {
                        (AT_END.contains(&m)
                            && m != "unclosed left parenthesis"
                            && m != "unexpected end of input inside braces")
                            || m.starts_with("expected type")
                    };
                    let completes = |text: &str| match crate::durations::parse(text) {
                        Ok(_) => true,
                        Err(m) => ended(&m),
                    };
                    ended(&m)
                        || COMPLETIONS.iter().any(|c| {
                            let text = format!("{prefix}{c}");
                            completes(&text) || {
                                // Also close whatever brackets are still open.
                                let closed = format!("{text}{}", closers(&text));
                                closed.len() > text.len() && completes(&closed)
                            }
                        })
                }
                // A selector may only be unfinished inside its braces or quotes.
                Grammar::Selector => at_end && m != "unexpected end of input",
            }
        }
    }
}

/// The closing brackets for the brackets left open in `text` (outside quoted strings),
/// innermost first.
fn closers(text: &str) -> String {
    let mut stack = Vec::new();
    let mut quotes = Quotes::default();
    for (i, c) in text.char_indices() {
        if !quotes.code(i, c) {
            continue;
        }
        match c {
            '(' => stack.push(')'),
            '[' => stack.push(']'),
            '{' => stack.push('}'),
            ')' | ']' | '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.iter().rev().collect()
}

/// The length of the longest prefix of `input` (ending at a character boundary, trailing
/// whitespace trimmed) that is a valid start.
fn valid_prefix_len(input: &str, grammar: Grammar) -> usize {
    let mut best = 0;
    for (i, _) in input
        .char_indices()
        .skip(1)
        .chain(std::iter::once((input.len(), ' ')))
    {
        let p = input[..i].trim_end();
        if p.is_empty() || p.len() < i && p.len() <= best {
            continue;
        }
        if is_valid_start(p, grammar) {
            best = p.len();
        }
    }
    best
}

/// [`valid_prefix_len`] by bisection over character boundaries: about 2 log2(n) parses
/// instead of n.
fn bisect_prefix_len(input: &str, grammar: Grammar) -> usize {
    let bounds: Vec<usize> = input
        .char_indices()
        .map(|(i, _)| i)
        .skip(1)
        .chain(std::iter::once(input.len()))
        .collect();
    // Invariant: bounds[..lo] are valid starts (as far as bisection can tell), bounds[hi..] not.
    let (mut lo, mut hi) = (0usize, bounds.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let p = input[..bounds[mid]].trim_end();
        if !p.is_empty() && is_valid_start(p, grammar) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    match lo {
        0 => 0,
        n => input[..bounds[n - 1]].trim_end().len(),
    }
}

/// How Prometheus names the token at the start of `s` in "unexpected ..." messages.
fn token_desc(s: &str) -> String {
    const OPS: &[&str] = &[
        "==", "!=", ">=", "<=", "=~", "!~", "@", "+", "-", "*", "/", "%", "^", ">", "<", "=",
    ];
    const KEYWORDS: &[&str] = &[
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
    ];
    let c = s.chars().next().unwrap_or(' ');
    if "(){}[],:".contains(c) {
        return format!("\"{c}\"");
    }
    if c == '"' || c == '\'' || c == '`' {
        return "string".into();
    }
    if let Some(op) = OPS.iter().find(|o| s.starts_with(**o)) {
        return format!("<op:{op}>");
    }
    if c.is_ascii_digit() || c == '.' {
        let n: String = s
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let kind = if n.ends_with(|c: char| c.is_ascii_alphabetic()) && !n.contains(['e', 'x']) {
            "duration"
        } else {
            "number"
        };
        return format!("{kind} \"{n}\"");
    }
    let word: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    if word.is_empty() {
        return format!("character {c:?}");
    }
    if KEYWORDS.contains(&word.as_str()) {
        return format!("<{word}>");
    }
    if AGGREGATORS.contains(&word.as_str()) {
        return format!("<aggr:{word}>");
    }
    let kind = if word.contains(':') {
        "metric identifier"
    } else {
        "identifier"
    };
    format!("{kind} \"{word}\"")
}

/// Prometheus' names for value types.
fn type_name(t: &str) -> &str {
    match t {
        "matrix" => "range vector",
        "vector" => "instant vector",
        other => other,
    }
}

/// `expected type X in call to function 'f', got Y` (and the aggregation form): reworded as
/// Prometheus, at the offending argument. The parser crate does not say which argument it
/// is: each argument of each call of the function is replaced in turn by a placeholder of the
/// expected type, and the first whose replacement makes the error go away is the one.
fn type_error(input: &str, rest: &str) -> Option<(usize, String)> {
    let (want, rest) = rest.split_once(" in ")?;
    let (ctx, got) = rest.rsplit_once(", got ")?;
    let full = format!("expected type {want} in {ctx}, got {got}");
    if let Some(f) = ctx
        .strip_prefix("call to function '")
        .and_then(|s| s.strip_suffix('\''))
    {
        let msg = format!(
            "expected type {} in call to function {f:?}, got {}",
            type_name(want),
            type_name(got)
        );
        let pos = offending_arg(input, &[f], want, &full)
            .map(|(pos, _, _)| pos)
            .or_else(|| first_arg(input, f))
            .unwrap_or(0);
        return Some((pos, msg));
    }
    if ctx == "aggregation expression" {
        let (pos, last) = match offending_arg(input, AGGREGATORS, want, &full) {
            Some((pos, i, n)) => (pos, i + 1 == n),
            None => (
                AGGREGATORS
                    .iter()
                    .filter_map(|a| first_arg(input, a))
                    .min()
                    .unwrap_or(0),
                want == "vector",
            ),
        };
        // Prometheus names the aggregated expression and the parameter differently.
        let what = if last { "expression" } else { "parameter" };
        let msg = format!(
            "expected type {} in aggregation {what}, got {}",
            type_name(want),
            type_name(got)
        );
        return Some((pos, msg));
    }
    None
}

/// A valid expression of the parser crate's type `t`, to stand in for an argument.
fn placeholder(t: &str) -> &'static str {
    match t {
        "scalar" => "1",
        "string" => "\"s\"",
        "matrix" => "x[1m]",
        _ => "x",
    }
}

/// Finds the argument of a call of one of `names` that causes the type error `msg`: the
/// first that does not have type `want` and whose replacement by a placeholder of type `want`
/// is accepted (the error goes away or another, unrelated one remains). Returns
/// its offset, its index and the call's argument count. Inputs over [`MAX_SCAN`] are not
/// searched.
fn offending_arg(input: &str, names: &[&str], want: &str, msg: &str) -> Option<(usize, usize, usize)> {
    if input.len() > MAX_SCAN {
        return None;
    }
    let mut calls: Vec<usize> = names.iter().flat_map(|n| call_starts(input, n)).collect();
    calls.sort_unstable();
    for open in calls {
        let args = split_args(input, open)?;
        for (i, &(a, b)) in args.iter().enumerate() {
            // The argument must have the wrong type itself...
            let own = crate::durations::parse(&input[a..b]).map(|e| e.value_type().to_string());
            if own.as_deref().is_ok_and(|t| t == want) {
                continue;
            }
            // ...and a placeholder of the expected type must be accepted in its place.
            let candidate = format!("{}{}{}", &input[..a], placeholder(want), &input[b..]);
            let rejected = match crate::durations::parse(&candidate) {
                Ok(_) => false,
                Err(m) => m == msg || m.ends_with(&format!(", got {want}")),
            };
            if !rejected {
                return Some((a, i, args.len()));
            }
        }
    }
    None
}

/// Offsets of the `(` that opens each call of `name` (an aggregation's leading
/// `by (...)`/`without (...)` clause skipped).
fn call_starts(input: &str, name: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = input[from..].find(name).map(|i| i + from) {
        from = i + name.len();
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
        if input[..i].chars().next_back().is_some_and(ident)
            || input[from..].chars().next().is_some_and(ident)
        {
            continue;
        }
        let rest = skip_grouping(&input[from..]);
        if rest.starts_with('(') {
            out.push(input.len() - rest.len());
        }
    }
    out
}

/// The byte spans (leading whitespace skipped) of the arguments of the call whose `(` is at
/// `open`, split at top-level commas; `None` if the call is not closed.
fn split_args(input: &str, open: usize) -> Option<Vec<(usize, usize)>> {
    let mut spans = Vec::new();
    let mut depth = 0i32;
    let mut quotes = Quotes::default();
    let mut start = open + 1;
    for (i, c) in input[open..].char_indices().map(|(i, c)| (i + open, c)) {
        if !quotes.code(i, c) {
            continue;
        }
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    spans.push((start, i));
                    break;
                }
            }
            ',' if depth == 1 => {
                spans.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    Some(
        spans
            .into_iter()
            .map(|(a, b)| {
                let lead = input[a..b].len() - input[a..b].trim_start().len();
                let trail = input[a..b].len() - input[a..b].trim_end().len();
                (a + lead, b - trail)
            })
            .filter(|(a, b)| a < b)
            .collect(),
    )
}

/// The offset of the first argument of the first call of `name` (an aggregation's
/// `by (...)`/`without (...)` clause before the arguments is skipped).
fn first_arg(input: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = input[from..].find(name).map(|i| i + from) {
        from = i + name.len();
        let before_ok = input[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'));
        if !before_ok {
            continue;
        }
        let rest = skip_grouping(&input[from..]);
        if let Some(args) = rest.strip_prefix('(') {
            let start = input.len() - args.len();
            return Some(start + (args.len() - args.trim_start().len()));
        }
    }
    None
}

/// The offset of the first `{` that opens a selector without a metric name.
fn selector_start(input: &str) -> Option<usize> {
    let mut prev = None;
    for (i, c) in input.char_indices() {
        if c == '{' && !prev.is_some_and(|p: char| p.is_ascii_alphanumeric() || p == '_' || p == ':') {
            return Some(i);
        }
        if !c.is_whitespace() {
            prev = Some(c);
        }
    }
    None
}

/// The offset of the label name of the matcher whose regex is `re`.
fn matcher_start(input: &str, re: &str) -> Option<usize> {
    for q in ['"', '\'', '`'] {
        let lit = format!("{q}{re}{q}");
        if let Some(i) = input.find(&lit) {
            let before = input[..i].trim_end();
            let before = before.strip_suffix("=~").or_else(|| before.strip_suffix("!~"))?;
            let name_end = before.trim_end().len();
            let name_start = before[..name_end]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |j| j + 1);
            return Some(name_start);
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn expr_err(s: &str) -> String {
        let m = crate::durations::parse(s).unwrap_err();
        describe(s, &m, Grammar::Expr)
    }

    fn sel_err(s: &str) -> String {
        let m = match crate::durations::parse(s) {
            Err(m) => m,
            Ok(_) => "invalid promql query".to_string(),
        };
        describe(s, &m, Grammar::Selector)
    }

    #[test]
    fn positions_as_prometheus() {
        // Expected strings are Prometheus 2.42's answers for the same input.
        assert_eq!(expr_err("sum("), "1:5: parse error: unclosed left parenthesis");
        assert_eq!(
            expr_err("sum(rate(x[5m])"),
            "1:16: parse error: unclosed left parenthesis"
        );
        assert_eq!(
            expr_err("up{"),
            "1:4: parse error: unexpected end of input inside braces"
        );
        assert_eq!(expr_err("up +"), "1:5: parse error: unexpected end of input");
        assert_eq!(expr_err("1 +* 2"), "1:4: parse error: unexpected <op:*>");
        assert_eq!(expr_err(""), "1:1: parse error: no expression found in input");
        assert_eq!(
            expr_err("{job=\"\"}"),
            "1:1: parse error: vector selector must contain at least one non-empty matcher"
        );
        assert_eq!(
            expr_err("up[5m] + 1"),
            "1:1: parse error: binary expression must contain only scalar and instant vector types"
        );
        assert_eq!(
            expr_err("rate(up)"),
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!(
            expr_err("topk(\"a\", up)"),
            "1:6: parse error: expected type scalar in aggregation parameter, got string"
        );
        assert_eq!(
            expr_err("sum by (a) (rate(x[5m])) @ end()"),
            "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"
        );
        assert_eq!(expr_err("up @ foo"), "1:4: parse error: unexpected <op:@>");
        // The offending argument, not the first one.
        assert_eq!(
            expr_err("round(up, up)"),
            "1:11: parse error: expected type scalar in call to function \"round\", got instant vector"
        );
        assert_eq!(
            expr_err("predict_linear(up[5m], up)"),
            "1:24: parse error: expected type scalar in call to function \"predict_linear\", got instant vector"
        );
        assert_eq!(
            expr_err("sum(up[5m])"),
            "1:5: parse error: expected type instant vector in aggregation expression, got range vector"
        );
        assert_eq!(
            expr_err("sum(rate(x[1m])) + max by (a) (up[5m])"),
            "1:32: parse error: expected type instant vector in aggregation expression, got range vector"
        );
        assert!(expr_err("foo{job=~\"(\"}").starts_with("1:5: parse error: error parsing regexp"));
        assert_eq!(sel_err("rate(up[5m])"), "1:5: parse error: unexpected \"(\"");
        assert_eq!(expr_err("up[5m"), "1:6: parse error: unclosed left bracket");
        assert_eq!(
            expr_err("abs()"),
            "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 0"
        );
        assert_eq!(
            expr_err("foo(up)"),
            "1:1: parse error: unknown function with name \"foo\""
        );
        assert_eq!(
            expr_err(")"),
            "1:2: parse error: unexpected right parenthesis ')'"
        );
        assert_eq!(expr_err("up}"), "1:3: parse error: unexpected character: '}'");
        assert_eq!(
            expr_err("\"unterminated"),
            "1:1: parse error: unterminated quoted string"
        );
        assert_eq!(expr_err("up{job=\"a\",,}"), "1:12: parse error: unexpected \",\"");
        let g = expr_err("sum by (job up)");
        assert!(
            g.starts_with("1:13: parse error: unexpected identifier \"up\""),
            "{g}"
        );
        assert_eq!(sel_err("up offset 5m"), "1:4: parse error: unexpected <offset>");
        assert_eq!(
            sel_err("up{"),
            "1:4: parse error: unexpected end of input inside braces"
        );
    }

    #[test]
    fn long_inputs_are_bisected() {
        // Over the linear-scan limit: the position is still the offending token.
        let long = format!("{} +* 2", vec!["up"; 600].join(" + "));
        assert!(long.len() > MAX_SCAN);
        let col = long.find('*').unwrap() + 1;
        assert_eq!(
            expr_err(&long),
            format!("1:{col}: parse error: unexpected <op:*>")
        );
        let long = format!("sum({}) by (a b)", vec!["rate(x[5m])"; 120].join(" + "));
        let col = long.rfind('b').unwrap() + 1;
        let got = expr_err(&long);
        assert!(
            got.starts_with(&format!("1:{col}: parse error: unexpected identifier \"b\"")),
            "{got}"
        );
    }

    #[test]
    fn multi_line_positions() {
        assert_eq!(
            expr_err("sum(\n  up"),
            "2:5: parse error: unclosed left parenthesis"
        );
    }
}
