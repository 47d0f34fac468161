//! Parsing of promqltest scripts; every error names its line.

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{self, Expr};
use storage::{Labels, LabelsBuilder, METRIC_NAME, STALE_NAN};

/// One script command.
#[derive(Debug)]
pub enum Command {
    /// `load <step>` and its series.
    Load(LoadCmd),
    /// `clear`.
    Clear,
    /// An `eval` and its expectations.
    Eval(EvalCmd),
}

/// Series to load: sample `i` is at `i * step_ms`; `None` is a gap.
#[derive(Debug)]
pub struct LoadCmd {
    /// Script line of the `load`.
    pub line: usize,
    /// Spacing of the samples.
    pub step_ms: i64,
    /// Series and their values.
    pub series: Vec<(Labels, Vec<Option<f64>>)>,
}

/// What error an `expect fail` wants.
#[derive(Debug)]
pub enum Expectation {
    /// Any error.
    Any,
    /// This exact message.
    Msg(String),
    /// A message matching this regex.
    Regex(String),
}

/// An evaluation and what it should give.
#[derive(Debug)]
pub struct EvalCmd {
    /// Script line of the `eval`.
    pub line: usize,
    /// The PromQL expression.
    pub expr: String,
    /// Instant time or range start (ms).
    pub start_ms: i64,
    /// For range evaluations: end and step (ms).
    pub range: Option<(i64, i64)>,
    /// Whether an error is expected.
    pub fail: Option<Expectation>,
    /// Whether result order matters.
    pub ordered: bool,
    /// Whether a warning is expected.
    pub expect_warn: bool,
    /// Whether an info annotation is expected.
    pub expect_info: bool,
    /// Expected series (empty labels + one value for a scalar).
    pub results: Vec<(Labels, Vec<Option<f64>>)>,
}

fn err(line: usize, msg: impl std::fmt::Display) -> String {
    format!("line {line}: {msg}")
}

/// Parses a duration (`1h30m`, `500ms`) or plain seconds (`90`, `1.5`) into ms.
pub(super) fn parse_time(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        return Some((secs * 1000.0).round() as i64);
    }
    let (mut total, mut num) = (0i64, String::new());
    let b = s.as_bytes();
    let mut i = 0;
    if b.is_empty() {
        return None;
    }
    while i < b.len() {
        let c = b[i] as char;
        if c.is_ascii_digit() {
            num.push(c);
            i += 1;
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        let (mult, len) = if s[i..].starts_with("ms") {
            (1, 2)
        } else {
            let m = match c {
                's' => 1000,
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                'w' => 7 * 86_400_000,
                'y' => 365 * 86_400_000,
                _ => return None,
            };
            (m, 1)
        };
        total += n * mult;
        i += len;
    }
    if !num.is_empty() {
        return None;
    }
    Some(total)
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "stale" => Some(STALE_NAN),
        "NaN" | "nan" => Some(f64::NAN),
        "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// Expands one value token (`1+2x3`, `_x2`, `stale`, `5`).
fn expand(tok: &str) -> Option<Vec<Option<f64>>> {
    if tok == "_" {
        return Some(vec![None]);
    }
    if let Some(n) = tok.strip_prefix("_x") {
        return Some(vec![None; n.parse().ok()?]);
    }
    if let Some(v) = parse_value(tok) {
        return Some(vec![Some(v)]);
    }
    let xpos = tok.rfind('x')?;
    let count: usize = tok[xpos + 1..].parse().ok()?;
    let head = &tok[..xpos];
    // Split `a+b` / `a-b` at the operator that is not a leading sign or an exponent sign.
    let bytes = head.as_bytes();
    let mut split = None;
    for i in 1..bytes.len() {
        if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
            split = Some(i);
        }
    }
    let (start, delta) = match split {
        Some(i) => {
            let a = parse_value(&head[..i])?;
            let d = parse_value(&head[i + 1..])?;
            (a, if bytes[i] == b'-' { -d } else { d })
        }
        None => (parse_value(head)?, 0.0),
    };
    let mut out = Vec::with_capacity(count + 1);
    let mut v = start;
    for _ in 0..=count {
        out.push(Some(v));
        v += delta;
    }
    Some(out)
}

fn expand_all(s: &str, line: usize) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        out.extend(expand(tok).ok_or_else(|| err(line, format!("bad value {tok:?}")))?);
    }
    Ok(out)
}

/// Splits `metric{a="b"} 1 2` into the series part and the rest.
fn split_series(s: &str) -> (&str, &str) {
    let mut in_q = false;
    let mut esc = false;
    let mut seen_brace = false;
    for (i, c) in s.char_indices() {
        if in_q {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_q = false;
            }
            continue;
        }
        match c {
            '"' => in_q = true,
            '{' => seen_brace = true,
            '}' => return (&s[..=i], s[i + 1..].trim()),
            c if c.is_whitespace() && !seen_brace => return (&s[..i], s[i..].trim()),
            _ => {}
        }
    }
    (s, "")
}

/// Parses a series descriptor into labels.
pub(super) fn parse_labels(desc: &str, line: usize) -> Result<Labels, String> {
    if desc.trim() == "{}" {
        return Ok(Labels::empty());
    }
    let e = parser::parse(desc).map_err(|e| err(line, format!("bad series {desc:?}: {e}")))?;
    let Expr::VectorSelector(vs) = e else {
        return Err(err(line, format!("bad series {desc:?}")));
    };
    let mut b = LabelsBuilder::new();
    if let Some(n) = &vs.name {
        b.set(METRIC_NAME, n);
    }
    for m in &vs.matchers.matchers {
        if !matches!(m.op, PMatchOp::Equal) {
            return Err(err(line, format!("series {desc:?} may only use '='")));
        }
        b.set(&m.name, &m.value);
    }
    Ok(b.build())
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Vec<Command>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let l = lines[i].trim();
        i += 1;
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        // The indented block that follows.
        let mut block = Vec::new();
        while i < lines.len() {
            let raw = lines[i];
            let t = raw.trim();
            if t.is_empty() || !(raw.starts_with(' ') || raw.starts_with('\t')) {
                break;
            }
            if !t.starts_with('#') {
                block.push((i + 1, t));
            }
            i += 1;
        }
        if l == "clear" {
            cmds.push(Command::Clear);
        } else if let Some(rest) = l.strip_prefix("load ") {
            let step_ms =
                parse_time(rest.trim()).ok_or_else(|| err(line_no, format!("bad step {rest:?}")))?;
            let mut series = Vec::new();
            for (n, t) in block {
                let (desc, vals) = split_series(t);
                series.push((parse_labels(desc, n)?, expand_all(vals, n)?));
            }
            cmds.push(Command::Load(LoadCmd {
                line: line_no,
                step_ms,
                series,
            }));
        } else if l.starts_with("eval") {
            cmds.push(Command::Eval(parse_eval(l, line_no, block)?));
        } else {
            return Err(err(line_no, format!("unknown command {l:?}")));
        }
    }
    Ok(cmds)
}

fn parse_eval(l: &str, line: usize, block: Vec<(usize, &str)>) -> Result<EvalCmd, String> {
    let (kw, rest) = l.split_once(' ').ok_or_else(|| err(line, "incomplete eval"))?;
    let mut cmd = EvalCmd {
        line,
        expr: String::new(),
        start_ms: 0,
        range: None,
        fail: None,
        ordered: false,
        expect_warn: false,
        expect_info: false,
        results: Vec::new(),
    };
    match kw {
        "eval" => {}
        "eval_fail" => cmd.fail = Some(Expectation::Any),
        "eval_ordered" => cmd.ordered = true,
        "eval_warn" => cmd.expect_warn = true,
        "eval_info" => cmd.expect_info = true,
        _ => return Err(err(line, format!("unknown command {kw:?}"))),
    }
    let words: Vec<&str> = rest.splitn(8, ' ').collect();
    let time = |s: &str| parse_time(s).ok_or_else(|| err(line, format!("bad time {s:?}")));
    if words.first() == Some(&"instant") && words.get(1) == Some(&"at") && words.len() >= 4 {
        cmd.start_ms = time(words[2])?;
        cmd.expr = words[3..].join(" ");
    } else if words.first() == Some(&"range")
        && words.len() >= 8
        && words[1] == "from"
        && words[3] == "to"
        && words[5] == "step"
    {
        cmd.start_ms = time(words[2])?;
        let end = time(words[4])?;
        let step = time(words[6])?;
        cmd.range = Some((end, step));
        cmd.expr = words[7].to_string();
    } else {
        return Err(err(line, format!("cannot parse eval {rest:?}")));
    }
    for (n, t) in block {
        if let Some(e) = t.strip_prefix("expect ") {
            let e = e.trim();
            if e == "ordered" {
                cmd.ordered = true;
            } else if e == "warn" {
                cmd.expect_warn = true;
            } else if e == "info" {
                cmd.expect_info = true;
            } else if e.starts_with("no_") {
            } else if let Some(f) = e.strip_prefix("fail") {
                let f = f.trim();
                cmd.fail = Some(if let Some(m) = f.strip_prefix("msg:") {
                    Expectation::Msg(m.trim().to_string())
                } else if let Some(r) = f.strip_prefix("regex:") {
                    Expectation::Regex(r.trim().to_string())
                } else {
                    Expectation::Any
                });
            } else {
                return Err(err(n, format!("unknown expectation {e:?}")));
            }
            continue;
        }
        if let Some(v) = parse_value(t) {
            cmd.results.push((Labels::empty(), vec![Some(v)]));
            continue;
        }
        let (desc, vals) = split_series(t);
        cmd.results.push((parse_labels(desc, n)?, expand_all(vals, n)?));
    }
    Ok(cmd)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn expanding_notation() {
        assert_eq!(
            expand("1+2x3").unwrap(),
            vec![Some(1.0), Some(3.0), Some(5.0), Some(7.0)]
        );
        assert_eq!(expand("10-5x2").unwrap(), vec![Some(10.0), Some(5.0), Some(0.0)]);
        assert_eq!(expand("-1+1x1").unwrap(), vec![Some(-1.0), Some(0.0)]);
        assert_eq!(expand("5x2").unwrap(), vec![Some(5.0); 3]);
        assert_eq!(expand("_x2").unwrap(), vec![None, None]);
        assert!(expand("stale").unwrap()[0].unwrap().is_nan());
        assert_eq!(expand("1e3").unwrap(), vec![Some(1000.0)]);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1m30s"), Some(90_000));
        assert_eq!(parse_time("500ms"), Some(500));
        assert_eq!(parse_time("90"), Some(90_000));
        assert_eq!(parse_time("x"), None);
    }

    #[test]
    fn series_split() {
        assert_eq!(split_series(r#"a{b="} x"} 1 2"#), (r#"a{b="} x"}"#, "1 2"));
        assert_eq!(split_series("up 1"), ("up", "1"));
    }
}
