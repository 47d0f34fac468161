//! PromQL functions, aggregations and operators, grouped by family (E5 of STYLE.md).
//!
//! [`call`] is the registry: it maps a function name to its family. Range functions
//! (`range.rs`) take a range vector and are evaluated per series over per-step windows;
//! instant functions (`instant.rs`) map instant vectors; `histogram.rs` holds the
//! classic-bucket functions; `aggregate.rs` and `binary.rs` the operators.

pub(crate) mod aggregate;
pub(crate) mod binary;
pub(crate) mod histogram;
pub(crate) mod instant;
pub(crate) mod native;
pub(crate) mod range;

use crate::engine::eval::{Evaluator, Val};
use crate::error::Result;
use promql_parser::parser::{Call, Expr};
use storage::{Labels, Series};

/// Every function name the engine evaluates.
pub fn supported_functions() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = range::NAMES.to_vec();
    v.extend_from_slice(instant::NAMES);
    v.extend_from_slice(histogram::NAMES);
    v.sort_unstable();
    v
}

/// Evaluates a function call.
pub(crate) fn call(ev: &mut Evaluator<'_>, c: &Call) -> Result<Val> {
    let args: Vec<&Expr> = c.args.args.iter().map(|b| b.as_ref()).collect();
    let name = c.func.name;
    if let Some(f) = range::lookup(name) {
        return range::eval(ev, name, f, &args);
    }
    if histogram::NAMES.contains(&name) {
        return histogram::eval(ev, name, &args);
    }
    instant::eval(ev, name, &args)
}

/// One output series without samples per label set, in order (what aggregations fill).
pub(crate) fn empty_series(labels: Vec<Labels>) -> Vec<Series> {
    labels
        .into_iter()
        .map(|labels| Series::floats(labels, Vec::new()))
        .collect()
}

/// Kahan-Babuška-Neumaier summation step, as Prometheus' `kahanSumInc`.
#[inline]
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Go's `math.Max`: NaN wins, +0 beats -0.
#[inline]
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { b } else { a };
    }
    if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: NaN wins, -0 beats +0.
#[inline]
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    if a < b {
        a
    } else {
        b
    }
}

/// Prometheus' `quantile`: linear interpolation between closest ranks; NaN sorts first.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Formats a float as Go's `strconv.FormatFloat(f, 'f', -1, 64)` (used for label values).
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_like_prometheus() {
        assert_eq!(quantile(0.5, &mut [1.0, 2.0, 3.0, 4.0]), 2.5);
        assert_eq!(quantile(0.0, &mut [3.0, 1.0]), 1.0);
        assert_eq!(quantile(1.0, &mut [3.0, 1.0]), 3.0);
        assert_eq!(quantile(-1.0, &mut [3.0]), f64::NEG_INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn go_min_max_propagate_nan() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert_eq!(go_max(1.0, 2.0), 2.0);
    }

    #[test]
    fn float_labels_like_go() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(1e21), "1000000000000000000000");
    }
}
