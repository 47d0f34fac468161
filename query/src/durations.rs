//! Durations written as plain numbers of seconds (`x[90]`, `x[5m:1e3]`, `offset 60`) that no
//! duration can hold are refused before the expression reaches the `promql-parser` crate,
//! which converts them with `Duration::from_secs_f64` and panics on a value out of range
//! (found by the `promql` fuzz target: `x[30777777777777777777777777777777777]`).
//!
//! The bound is Prometheus' own: a duration is a signed 64-bit count of nanoseconds, so at
//! most about 292 years ([`MAX_SECONDS`]); `Inf` and `NaN` are no durations either.

/// `promql_parser::parser::parse` behind [`check_number_durations`]: every parse of user
/// text goes through here (the engine's, the error explanations' trial parses, `match[]`).
pub fn parse(expr: &str) -> Result<promql_parser::parser::Expr, String> {
    check_number_durations(expr)?;
    promql_parser::parser::parse(expr)
}

/// The longest duration in seconds: `i64::MAX` nanoseconds.
pub const MAX_SECONDS: f64 = i64::MAX as f64 / 1e9;

/// Refuses a number of seconds in a duration position (after `[`, after `:` inside brackets,
/// after `offset`) that is not a finite value up to [`MAX_SECONDS`]. The error has the
/// parser's `line:column: parse error: ...` form.
pub fn check_number_durations(expr: &str) -> Result<(), String> {
    let b = expr.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    // Whether the next token sits where a duration goes.
    let mut duration_next = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i);
                duration_next = false;
                continue;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'[' => {
                depth += 1;
                duration_next = true;
            }
            b']' => {
                depth = depth.saturating_sub(1);
                duration_next = false;
            }
            b':' if depth > 0 => duration_next = true,
            b'+' | b'-' if duration_next => {}
            c if c.is_ascii_whitespace() => {}
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' => {
                let start = i;
                while i < b.len() && is_token_byte(b, i) {
                    i += 1;
                }
                let token = &expr[start..i];
                if duration_next {
                    if let Some(v) = number_value(token) {
                        if !(v.is_finite() && (0.0..=MAX_SECONDS).contains(&v)) {
                            let (line, col) = position(expr, start);
                            return Err(format!(
                                "{line}:{col}: parse error: duration out of range: {token}"
                            ));
                        }
                    }
                }
                duration_next = token.eq_ignore_ascii_case("offset");
                continue;
            }
            _ => duration_next = false,
        }
        i += 1;
    }
    Ok(())
}

/// Whether `b[i]` continues a name, number or duration token (a sign only right after an
/// exponent's `e`).
fn is_token_byte(b: &[u8], i: usize) -> bool {
    let c = b[i];
    if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' {
        return true;
    }
    (c == b'+' || c == b'-')
        && i > 0
        && matches!(b[i - 1], b'e' | b'E')
        && i > 1
        && (b[i - 2].is_ascii_digit() || b[i - 2] == b'.')
        && !starts_hex(b, i)
}

/// Whether the token holding `b[i]` began with `0x` (its `e` is a hex digit, not an exponent).
fn starts_hex(b: &[u8], i: usize) -> bool {
    let mut s = i;
    while s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'.' || b[s - 1] == b'_') {
        s -= 1;
    }
    b.len() > s + 1 && b[s] == b'0' && matches!(b[s + 1], b'x' | b'X')
}

/// The value of `token` when it is a number literal (decimal, exponent, hex, `Inf`, `NaN`),
/// `None` for anything else (a duration with units, a name).
fn number_value(token: &str) -> Option<f64> {
    if token.eq_ignore_ascii_case("inf") || token.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    if let Some(hex) = token.strip_prefix("0x").or_else(|| token.strip_prefix("0X")) {
        return Some(u128::from_str_radix(hex, 16).map_or(f64::INFINITY, |v| v as f64));
    }
    let numeric = token
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !numeric
        || !token
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == b'.')
    {
        return None;
    }
    token.parse::<f64>().ok()
}

/// The end of the string literal starting at `b[start]` (past its closing quote, or the end).
fn skip_string(b: &[u8], start: usize) -> usize {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// 1-based line and column (in characters) of byte `at`.
fn position(expr: &str, at: usize) -> (usize, usize) {
    let before = &expr[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_range_pass() {
        for ok in [
            "up[5m]",
            "rate(up[300])",
            "up[5m:30]",
            "up[1.5]",
            "up offset 60",
            "up offset -60",
            "up[0x10]",
            "up[1e3]",
            "max_over_time(up[9223372036])",
            "up{a=\"[1e400]\"}",
            "topk(1e400, up)",
            "up @ 1e300",
            "x[5m] # [1e400]",
        ] {
            assert_eq!(check_number_durations(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn durations_no_duration_holds_are_refused() {
        for bad in [
            "up[30777777777777777777777777777777777]",
            "rate(up[1e30])",
            "up[5m:1e+30]",
            "up[Inf]",
            "up[NaN]",
            "up offset 1e300",
            "up offset -1e300",
            "up[0xffffffffffffffffffffff]",
            "up[9223372037]",
        ] {
            let e = check_number_durations(bad).unwrap_err();
            assert!(e.contains("duration out of range"), "{bad}: {e}");
        }
        assert_eq!(
            check_number_durations("sum(\n  rate(up[1e30]))").unwrap_err(),
            "2:11: parse error: duration out of range: 1e30"
        );
    }

    #[test]
    fn the_fuzzer_input_no_longer_reaches_the_parser_panic() {
        let input =
            "stddeovev_m_rite(node_load1[30777777777777777777777777777777777m]%) / svde_ltd]ar(nNode_load1)";
        // With a unit it is a duration token the parser refuses itself; without one it is
        // refused here.
        let _ = check_number_durations(input);
        assert!(crate::engine::parse(input).is_err());
        assert!(crate::engine::parse("up[30777777777777777777777777777777777]").is_err());
        assert!(crate::engine::parse("up[Inf]").is_err());
    }
}
