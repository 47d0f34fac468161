//! Instant-vector functions: math, clamping, time and date, label manipulation, sorting,
//! `vector`, `scalar`, `absent`, `timestamp`.

use super::{go_max, go_min};
use crate::engine::eval::{merge_same_labels, Evaluator, StepCursor, Val};
use crate::engine::selector;
use crate::error::{QueryError, Result};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Expr, VectorSelector};
use regex::Regex;
use std::cmp::Ordering;
use storage::{Labels, LabelsBuilder, Sample, Series, METRIC_NAME};

/// Names of the instant functions.
pub(crate) const NAMES: &[&str] = &[
    "abs",
    "absent",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "ceil",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cos",
    "cosh",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "deg",
    "exp",
    "floor",
    "hour",
    "label_join",
    "label_replace",
    "ln",
    "log10",
    "log2",
    "minute",
    "month",
    "pi",
    "rad",
    "round",
    "scalar",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_by_label",
    "sort_by_label_desc",
    "sort_desc",
    "sqrt",
    "tan",
    "tanh",
    "time",
    "timestamp",
    "vector",
    "year",
    "histogram_avg",
    "histogram_count",
    "histogram_stddev",
    "histogram_stdvar",
    "histogram_sum",
];

fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "sgn" => |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        _ => return None,
    })
}

fn date_fn(name: &str) -> Option<fn(&Civil) -> f64> {
    Some(match name {
        "day_of_month" => |c| c.day as f64,
        "day_of_week" => |c| c.weekday as f64,
        "day_of_year" => |c| c.yday as f64,
        "days_in_month" => |c| days_in_month(c.year, c.month) as f64,
        "hour" => |c| c.hour as f64,
        "minute" => |c| c.minute as f64,
        "month" => |c| c.month as f64,
        "year" => |c| c.year as f64,
        _ => return None,
    })
}

/// Maps every point of every series; `f` gets the step index and the value.
fn map_points(
    ev: &Evaluator<'_>,
    vs: Vec<Series>,
    drop_name: bool,
    f: impl Fn(usize, f64) -> Option<f64>,
) -> Result<Val> {
    let steps = ev.steps;
    let mut out = Vec::with_capacity(vs.len());
    for s in vs {
        ev.ctl.check("expression evaluation")?;
        let samples: Vec<Sample> = s
            .samples
            .iter()
            .filter_map(|p| f(steps.index(p.t), p.v).map(|v| Sample::new(p.t, v)))
            .collect();
        let labels = if drop_name {
            s.labels.without_metric_name()
        } else {
            s.labels
        };
        out.push(Series {
            labels,
            samples,
            histograms: Vec::new(),
        });
    }
    Ok(Val::Vector(merge_same_labels(out)?))
}

fn str_arg(ev: &mut Evaluator<'_>, e: &Expr, func: &str) -> Result<String> {
    match ev.eval(e)? {
        Val::Str(s) => Ok(s),
        other => Err(QueryError::exec(format!(
            "expected type string in call to function \"{func}\", got {}",
            other.type_name()
        ))),
    }
}

fn arg<'e>(args: &[&'e Expr], i: usize, func: &str) -> Result<&'e Expr> {
    args.get(i).copied().ok_or_else(|| {
        QueryError::Parse(format!(
            "missing argument {} in call to function \"{func}\"",
            i + 1
        ))
    })
}

/// Evaluates an instant function call.
pub(crate) fn eval(ev: &mut Evaluator<'_>, name: &str, args: &[&Expr]) -> Result<Val> {
    let n = ev.steps.len();
    if let Some(f) = math_fn(name) {
        let vs = ev.eval_vector(arg(args, 0, name)?)?;
        return map_points(ev, vs, true, |_, v| Some(f(v)));
    }
    if let Some(f) = date_fn(name) {
        if args.is_empty() {
            let steps = ev.steps;
            let samples = (0..n)
                .map(|i| {
                    let ts = steps.ts(i);
                    Sample::new(ts, f(&Civil::from_unix(ts.div_euclid(1000))))
                })
                .collect();
            return Ok(Val::Vector(vec![Series {
                labels: Labels::empty(),
                samples,
                histograms: Vec::new(),
            }]));
        }
        let vs = ev.eval_vector(args[0])?;
        return map_points(ev, vs, true, |_, v| {
            Some(f(&Civil::from_unix(go_float_to_i64(v))))
        });
    }
    match name {
        "round" => {
            let vs = ev.eval_vector(arg(args, 0, name)?)?;
            let to = match args.get(1) {
                Some(e) => ev.eval_scalar(e)?,
                None => vec![1.0; n],
            };
            map_points(ev, vs, true, |i, v| {
                let inv = 1.0 / to[i];
                Some((v * inv + 0.5).floor() / inv)
            })
        }
        "clamp" => {
            let vs = ev.eval_vector(arg(args, 0, name)?)?;
            let lo = ev.eval_scalar(arg(args, 1, name)?)?;
            let hi = ev.eval_scalar(arg(args, 2, name)?)?;
            map_points(ev, vs, true, |i, v| {
                (hi[i] >= lo[i] || lo[i].is_nan() || hi[i].is_nan()).then(|| go_max(lo[i], go_min(hi[i], v)))
            })
        }
        "clamp_min" => {
            let vs = ev.eval_vector(arg(args, 0, name)?)?;
            let lo = ev.eval_scalar(arg(args, 1, name)?)?;
            map_points(ev, vs, true, |i, v| Some(go_max(lo[i], v)))
        }
        "clamp_max" => {
            let vs = ev.eval_vector(arg(args, 0, name)?)?;
            let hi = ev.eval_scalar(arg(args, 1, name)?)?;
            map_points(ev, vs, true, |i, v| Some(go_min(hi[i], v)))
        }
        "timestamp" => {
            let a = unwrap_parens(arg(args, 0, name)?);
            if let Expr::VectorSelector(vs) = a {
                return selector::eval_vector_selector(ev, vs, true).map(Val::Vector);
            }
            let mut vs = ev.eval_vector(a)?;
            // A histogram point has a timestamp as much as a float.
            for s in vs.iter_mut().filter(|s| !s.histograms.is_empty()) {
                let times = s.histograms.drain(..).map(|p| Sample::new(p.t, 0.0));
                s.samples.extend(times);
                s.samples.sort_by_key(|p| p.t);
            }
            let steps = ev.steps;
            map_points(ev, vs, true, |i, _| Some(steps.ts(i) as f64 / 1000.0))
        }
        "time" => {
            let steps = ev.steps;
            Ok(Val::Scalar((0..n).map(|i| steps.ts(i) as f64 / 1000.0).collect()))
        }
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
        "vector" => {
            let v = ev.eval_scalar(arg(args, 0, name)?)?;
            let steps = ev.steps;
            Ok(Val::Vector(vec![Series {
                labels: Labels::empty(),
                samples: v
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| Sample::new(steps.ts(i), x))
                    .collect(),
                histograms: Vec::new(),
            }]))
        }
        "scalar" => {
            let vs = ev.eval_vector(arg(args, 0, name)?)?;
            let mut out = vec![f64::NAN; n];
            let mut cur = StepCursor::new(&vs);
            let mut buf = Vec::new();
            for (i, o) in out.iter_mut().enumerate() {
                cur.at(ev.steps.ts(i), &mut buf);
                if buf.len() == 1 {
                    *o = buf[0].1;
                }
            }
            Ok(Val::Scalar(out))
        }
        "absent" => {
            let a = arg(args, 0, name)?;
            let vs = ev.eval_vector(a)?;
            let mut present = vec![false; n];
            for s in &vs {
                let times = s.samples.iter().map(|p| p.t);
                for t in times.chain(s.histograms.iter().map(|p| p.t)) {
                    present[ev.steps.index(t)] = true;
                }
            }
            let steps = ev.steps;
            let samples: Vec<Sample> = (0..n)
                .filter(|&i| !present[i])
                .map(|i| Sample::new(steps.ts(i), 1.0))
                .collect();
            if samples.is_empty() {
                return Ok(Val::Vector(Vec::new()));
            }
            let labels = match a {
                Expr::VectorSelector(vs) => absent_labels(vs),
                _ => Labels::empty(),
            };
            Ok(Val::Vector(vec![Series {
                labels,
                samples,
                histograms: Vec::new(),
            }]))
        }
        "label_replace" => label_replace(ev, args),
        "label_join" => label_join(ev, args),
        "sort" | "sort_desc" => {
            let vs = ev.eval_vector(arg(args, 0, name)?)?;
            Ok(Val::Vector(sort_by_value(vs, name == "sort_desc")))
        }
        "sort_by_label" | "sort_by_label_desc" => {
            let mut vs = ev.eval_vector(arg(args, 0, name)?)?;
            let mut names = Vec::new();
            for a in &args[1..] {
                names.push(str_arg(ev, a, name)?);
            }
            let desc = name == "sort_by_label_desc";
            vs.sort_by(|a, b| {
                let mut ord = Ordering::Equal;
                for l in &names {
                    let (x, y) = (a.labels.get(l).unwrap_or(""), b.labels.get(l).unwrap_or(""));
                    if x != y {
                        ord = natural_cmp(x, y);
                        break;
                    }
                }
                let ord = ord.then_with(|| a.labels.cmp(&b.labels));
                if desc {
                    ord.reverse()
                } else {
                    ord
                }
            });
            Ok(Val::Vector(vs))
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev" | "histogram_stdvar" => {
            // Native histograms only; float samples are ignored, as Prometheus does.
            let vs = ev.eval_vector(arg(args, 0, name)?)?;
            let f: fn(&storage::FloatHistogram) -> f64 = match name {
                "histogram_count" => |h| h.count,
                "histogram_sum" => |h| h.sum,
                "histogram_avg" => |h| h.sum / h.count,
                "histogram_stddev" => |h| super::native::stdvar(h).sqrt(),
                _ => super::native::stdvar,
            };
            let out: Vec<Series> = vs
                .into_iter()
                .filter(|s| !s.histograms.is_empty())
                .map(|s| Series {
                    labels: s.labels.without_metric_name(),
                    samples: s.histograms.iter().map(|p| Sample::new(p.t, f(&p.h))).collect(),
                    histograms: Vec::new(),
                })
                .collect();
            Ok(Val::Vector(crate::engine::eval::merge_same_labels(out)?))
        }
        _ => Err(QueryError::exec(format!("function \"{name}\" is not supported"))),
    }
}

/// Go's `int64(f)` for the values date functions see (saturating; NaN is 0).
fn go_float_to_i64(v: f64) -> i64 {
    v as i64
}

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// Labels `absent()` gives its output: those of the selector's equality matchers, except
/// names matched more than once.
pub(crate) fn absent_labels(vs: &VectorSelector) -> Labels {
    let mut b = LabelsBuilder::new();
    let mut has = std::collections::HashSet::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, PMatchOp::Equal) && !has.contains(&m.name) {
            b.set(&m.name, &m.value);
            has.insert(m.name.clone());
        } else {
            b.remove(&m.name);
        }
    }
    b.build()
}

/// Sorts for `sort` (ascending) / `sort_desc`; NaN last in both. Histograms are left out, as
/// Prometheus 3 does (`filterFloats`).
fn sort_by_value(mut vs: Vec<Series>, desc: bool) -> Vec<Series> {
    for s in &mut vs {
        s.histograms.clear();
    }
    vs.retain(|s| !s.samples.is_empty());
    let key = |s: &Series| s.samples.first().map_or(f64::NAN, |p| p.v);
    vs.sort_by(|a, b| {
        let (x, y) = (key(a), key(b));
        match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => {
                let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
        }
    });
    vs
}

/// Natural order: runs of digits compare by number.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let xl = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let yl = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let xs = std::str::from_utf8(&x[..xl])
                    .unwrap_or("")
                    .trim_start_matches('0');
                let ys = std::str::from_utf8(&y[..yl])
                    .unwrap_or("")
                    .trim_start_matches('0');
                let o = xs.len().cmp(&ys.len()).then_with(|| xs.cmp(ys));
                if o != Ordering::Equal {
                    return o;
                }
                x = &x[xl..];
                y = &y[yl..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn label_replace(ev: &mut Evaluator<'_>, args: &[&Expr]) -> Result<Val> {
    let f = "label_replace";
    let vs = ev.eval_vector(arg(args, 0, f)?)?;
    let dst = str_arg(ev, arg(args, 1, f)?, f)?;
    let repl = str_arg(ev, arg(args, 2, f)?, f)?;
    let src = str_arg(ev, arg(args, 3, f)?, f)?;
    let re_s = str_arg(ev, arg(args, 4, f)?, f)?;
    let re = Regex::new(&format!("^(?s:{re_s})$"))
        .map_err(|_| QueryError::exec(format!("invalid regular expression in label_replace(): {re_s}")))?;
    if dst.is_empty() {
        return Err(QueryError::exec(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(vs.len());
    for mut s in vs {
        let v = s.labels.get(&src).unwrap_or("");
        if let Some(caps) = re.captures(v) {
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            let mut b = s.labels.to_builder();
            b.set(&dst, &res);
            s.labels = b.build();
        }
        out.push(s);
    }
    Ok(Val::Vector(merge_same_labels(out)?))
}

fn label_join(ev: &mut Evaluator<'_>, args: &[&Expr]) -> Result<Val> {
    let f = "label_join";
    let vs = ev.eval_vector(arg(args, 0, f)?)?;
    let dst = str_arg(ev, arg(args, 1, f)?, f)?;
    let sep = str_arg(ev, arg(args, 2, f)?, f)?;
    let mut srcs = Vec::new();
    for a in args.iter().skip(3) {
        let s = str_arg(ev, a, f)?;
        if s.is_empty() {
            return Err(QueryError::exec(format!(
                "invalid source label name in label_join(): {s}"
            )));
        }
        srcs.push(s);
    }
    if dst.is_empty() {
        return Err(QueryError::exec(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(vs.len());
    for mut s in vs {
        let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
        let joined = joined.join(&sep);
        let mut b = s.labels.to_builder();
        b.set(&dst, &joined);
        s.labels = b.build();
        out.push(s);
    }
    Ok(Val::Vector(merge_same_labels(out)?))
}

/// A UTC calendar date and time.
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    /// 0 = Sunday.
    pub weekday: u32,
    /// 1-based day of the year.
    pub yday: u32,
}

impl Civil {
    /// The UTC date of `secs` since the epoch (proleptic Gregorian).
    pub(crate) fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = storage::time::civil_from_days(days);
        let cum = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let leap = is_leap(year);
        let yday = cum[(month - 1) as usize] + day + u32::from(leap && month > 2);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: ((rem % 3600) / 60) as u32,
            weekday: (days + 4).rem_euclid(7) as u32,
            yday,
        }
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let c = Civil::from_unix(0);
        assert_eq!((c.year, c.month, c.day, c.weekday, c.yday), (1970, 1, 1, 4, 1));
        // 2024-02-29T13:45:00Z
        let c = Civil::from_unix(1_709_214_300);
        assert_eq!((c.year, c.month, c.day, c.hour, c.minute), (2024, 2, 29, 13, 45));
        assert_eq!(c.yday, 60);
        assert_eq!(c.weekday, 4);
        assert_eq!(days_in_month(2024, 2), 29);
        let c = Civil::from_unix(-1);
        assert_eq!((c.year, c.month, c.day, c.hour), (1969, 12, 31, 23));
    }

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
        assert_eq!(natural_cmp("x01", "x1"), Ordering::Equal);
    }
}
