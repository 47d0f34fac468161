//! Classic-histogram functions over `le` buckets: `histogram_quantile` (with Prometheus'
//! monotonicity fix) and `histogram_fraction`.

use super::empty_series;
use super::native::texts;
use crate::engine::eval::{Evaluator, StepCursor, Val};
use crate::error::{QueryError, Result};
use promql_parser::parser::Expr;
use std::collections::HashMap;
use storage::{Labels, Sample, Series, METRIC_NAME};

/// Names of the histogram functions evaluated here.
pub(crate) const NAMES: &[&str] = &["histogram_fraction", "histogram_quantile"];

/// Tolerance under which differences between bucket counts are float noise.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

/// Evaluates `histogram_quantile(φ, v)` or `histogram_fraction(lower, upper, v)`.
pub(crate) fn eval(ev: &mut Evaluator<'_>, name: &str, args: &[&Expr]) -> Result<Val> {
    let nparams = if name == "histogram_quantile" { 1 } else { 2 };
    if args.len() != nparams + 1 {
        return Err(QueryError::Parse(format!("wrong number of arguments for {name}")));
    }
    let mut params = Vec::new();
    for a in &args[..nparams] {
        params.push(ev.eval_scalar(a)?);
    }
    let input = ev.eval_vector(args[nparams])?;
    // Group each series by its labels without `le` and the metric name.
    let mut groups: HashMap<Labels, usize> = HashMap::new();
    let mut group_labels: Vec<Labels> = Vec::new();
    let mut info: Vec<Option<(usize, f64)>> = Vec::with_capacity(input.len());
    // `le` values of float series that are missing ("") or not numbers, each warned once.
    let mut bad_le: Vec<&str> = Vec::new();
    for s in &input {
        let le = s.labels.get("le");
        let Some(upper) = le.and_then(parse_le) else {
            // Native histograms need no `le`; float series without a usable one are skipped.
            let le = le.unwrap_or("");
            if !s.samples.is_empty() && !bad_le.contains(&le) {
                bad_le.push(le);
            }
            info.push(None);
            continue;
        };
        let mut b = s.labels.to_builder();
        b.remove("le");
        b.remove(METRIC_NAME);
        let g = b.build();
        let n = groups.len();
        let id = *groups.entry(g.clone()).or_insert_with(|| {
            group_labels.push(g);
            n
        });
        info.push(Some((id, upper)));
    }
    for le in bad_le {
        ev.note(texts::bad_bucket_label(le));
    }
    let mut out = empty_series(group_labels);
    let mut buckets: Vec<Vec<Bucket>> = vec![Vec::new(); out.len()];
    let mut cur = StepCursor::new(&input);
    let mut buf = Vec::new();
    let mut non_monotonic = false;
    for i in 0..ev.steps.len() {
        ev.ctl.check("expression evaluation")?;
        let ts = ev.steps.ts(i);
        cur.at(ts, &mut buf);
        for &(si, v) in &buf {
            if let Some((g, upper)) = info[si] {
                buckets[g].push(Bucket { upper, count: v });
            }
        }
        for (g, b) in buckets.iter_mut().enumerate() {
            if b.is_empty() {
                continue;
            }
            let v = if nparams == 1 {
                let (v, forced) = bucket_quantile(params[0][i], b);
                non_monotonic |= forced;
                v
            } else {
                bucket_fraction(params[0][i], params[1][i], b)
            };
            out[g].samples.push(Sample::new(ts, v));
            b.clear();
        }
    }
    if non_monotonic {
        ev.info("PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)".into());
    }
    out.retain(|s| !s.samples.is_empty());
    if nparams == 1
        && input
            .iter()
            .any(|s| !s.samples.is_empty() || !s.histograms.is_empty())
    {
        // Prometheus checks φ once per step that has input.
        for i in 0..ev.steps.len() {
            let q = params[0][i];
            if q.is_nan() || !(0.0..=1.0).contains(&q) {
                ev.warn(format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    super::format_float(q)
                ));
            }
        }
    }
    let native = native_histograms(ev, &params, &input, &out);
    if !native.is_empty() {
        out.extend(native);
        out = crate::engine::eval::merge_same_labels(out)?;
    }
    Ok(Val::Vector(out))
}

/// `histogram_quantile` / `histogram_fraction` over the native histograms of `input` (one
/// output series per input series, metric name dropped); a native histogram whose labels
/// are those of a classic histogram's output at the same step is dropped with Prometheus'
/// mixed-histograms warning.
fn native_histograms(
    ev: &mut Evaluator<'_>,
    params: &[Vec<f64>],
    input: &[Series],
    classic: &[Series],
) -> Vec<Series> {
    let mut notes = Vec::new();
    let mut out = Vec::new();
    let classic_at: HashMap<&Labels, &Series> = classic.iter().map(|s| (&s.labels, s)).collect();
    for s in input {
        if s.histograms.is_empty() {
            continue;
        }
        let labels = s.labels.without_metric_name();
        let name = super::native::metric_name(&s.labels).to_string();
        let mut samples = Vec::with_capacity(s.histograms.len());
        for hp in &s.histograms {
            if let Some(c) = classic_at.get(&labels) {
                if c.samples.binary_search_by_key(&hp.t, |p| p.t).is_ok() {
                    notes.push(super::native::texts::mixed_classic_native(&name));
                    continue;
                }
            }
            let i = ev.steps.index(hp.t);
            let v = if params.len() == 1 {
                super::native::quantile(params[0][i], &hp.h, &name, &mut notes)
            } else {
                super::native::fraction(params[0][i], params[1][i], &hp.h, &name, &mut notes)
            };
            samples.push(Sample::new(hp.t, v));
        }
        if !samples.is_empty() {
            out.push(Series {
                labels,
                samples,
                histograms: Vec::new(),
            });
        }
    }
    for n in notes {
        ev.note(n);
    }
    out
}

/// Parses an `le` value as Go's `strconv.ParseFloat` would (accepting `+Inf`, `Inf`, ...).
fn parse_le(s: &str) -> Option<f64> {
    let t = s.trim();
    if t != s {
        return None;
    }
    match t.to_ascii_lowercase().as_str() {
        "+inf" | "inf" | "+infinity" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.parse().ok(),
    }
}

fn sort_and_coalesce(b: &mut Vec<Bucket>) {
    b.sort_by(|x, y| x.upper.partial_cmp(&y.upper).unwrap_or(std::cmp::Ordering::Equal));
    let mut out: Vec<Bucket> = Vec::with_capacity(b.len());
    for x in b.iter() {
        match out.last_mut() {
            Some(last) if last.upper == x.upper => last.count += x.count,
            _ => out.push(*x),
        }
    }
    *b = out;
}

/// Go's `almost.Equal`.
fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < eps * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// Makes cumulative counts monotonic, ignoring float noise. Returns whether a real decrease
/// had to be removed.
fn ensure_monotonic(b: &mut [Bucket]) -> bool {
    let mut forced = false;
    let mut prev = b[0].count;
    for x in b.iter_mut().skip(1) {
        let cur = x.count;
        if cur == prev {
            continue;
        }
        if almost_equal(prev, cur, SMALL_DELTA_TOLERANCE) {
            x.count = prev;
            continue;
        }
        if cur < prev {
            x.count = prev;
            forced = true;
            continue;
        }
        prev = cur;
    }
    forced
}

/// The φ-quantile of classic buckets, interpolated linearly within the bucket.
pub(crate) fn bucket_quantile(q: f64, b: &mut Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    sort_and_coalesce(b);
    if b.last().is_none_or(|x| x.upper != f64::INFINITY) {
        return (f64::NAN, false);
    }
    let forced = ensure_monotonic(b);
    if b.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = b[b.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let idx = b[..b.len() - 1].partition_point(|x| x.count < rank);
    if idx == b.len() - 1 {
        return (b[b.len() - 2].upper, forced);
    }
    if idx == 0 && b[0].upper <= 0.0 {
        return (b[0].upper, forced);
    }
    let mut start = 0.0;
    let end = b[idx].upper;
    let mut count = b[idx].count;
    if idx > 0 {
        start = b[idx - 1].upper;
        count -= b[idx - 1].count;
        rank -= b[idx - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// The fraction of observations between `lower` and `upper`, interpolating linearly within
/// buckets. The first bucket starts at 0 if its upper bound is positive, else at -Inf; no
/// interpolation happens inside an unbounded bucket.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, b: &mut Vec<Bucket>) -> f64 {
    sort_and_coalesce(b);
    if b.last().is_none_or(|x| x.upper != f64::INFINITY) {
        return f64::NAN;
    }
    let count = b[b.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if b[0].upper <= 0.0 { f64::NEG_INFINITY } else { 0.0 };
    for (i, bk) in b.iter().enumerate() {
        if i > 0 {
            lower_bound = b[i - 1].upper;
        }
        let upper_bound = bk.upper;
        let interpolate = |v: f64| -> f64 {
            if lower_bound == f64::NEG_INFINITY {
                return bk.count;
            }
            rank + (bk.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = bk.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bk(v: &[(f64, f64)]) -> Vec<Bucket> {
        v.iter().map(|&(upper, count)| Bucket { upper, count }).collect()
    }

    #[test]
    fn quantile_interpolates_in_bucket() {
        let mut b = bk(&[(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (f64::INFINITY, 40.0)]);
        // rank 20 falls in (0.1, 0.5]: 0.1 + 0.4 * (10/20) = 0.3
        assert!((bucket_quantile(0.5, &mut b).0 - 0.3).abs() < 1e-12);
    }

    #[test]
    fn quantile_in_inf_bucket_returns_previous_bound() {
        let mut b = bk(&[(1.0, 1.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_quantile(0.99, &mut b).0, 1.0);
    }

    #[test]
    fn monotonicity_is_forced() {
        let mut b = bk(&[(1.0, 5.0), (2.0, 4.0), (f64::INFINITY, 10.0)]);
        let (_, forced) = bucket_quantile(0.5, &mut b);
        assert!(forced);
    }

    #[test]
    fn missing_inf_bucket_is_nan() {
        let mut b = bk(&[(1.0, 5.0)]);
        assert!(bucket_quantile(0.5, &mut b).0.is_nan());
    }

    #[test]
    fn fraction_interpolates() {
        let mut b = bk(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        assert!((bucket_fraction(0.0, 1.5, &mut b) - 0.75).abs() < 1e-12);
        let mut b = bk(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        assert!((bucket_fraction(f64::NEG_INFINITY, f64::INFINITY, &mut b) - 1.0).abs() < 1e-12);
    }
}
