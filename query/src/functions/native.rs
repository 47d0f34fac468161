//! Native-histogram semantics shared by the function families: Prometheus 3's annotation
//! texts, bucket iteration as `AllBucketIterator` yields it, `histogram_quantile` and
//! `histogram_fraction` over one histogram, the rate of a window of histograms, and the
//! histogram statistics (`histogram_stddev`, `histogram_stdvar`).

use storage::histogram::Bucket;
use storage::{CounterResetHint, FloatHistogram, HistogramSample, Labels, METRIC_NAME};

/// An annotation gathered while evaluating: a warning or an info, with Prometheus' text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    /// `PromQL warning: ...`
    Warn(String),
    /// `PromQL info: ...`
    Info(String),
}

/// The metric name of `labels` ("" without one), as annotations quote it.
pub(crate) fn metric_name(labels: &Labels) -> &str {
    labels.get(METRIC_NAME).unwrap_or("")
}

/// Go's `%q` of a metric name (names are plain enough that escaping `"` and `\` suffices).
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// ` for metric name "x"` when there is a name (Prometheus' `maybeAddMetricName`).
fn maybe_name(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" for metric name {}", q(name))
    }
}

/// The annotation texts of Prometheus 3 (`util/annotations/annotations.go`), without the
/// position suffix (Sextant reports no positions in annotations).
pub(crate) mod texts {
    use super::{maybe_name, q, Note};

    /// `NewBadBucketLabelWarning` (without the metric name, which Prometheus adds only with
    /// delayed name removal): a float series without a numeric `le` in a classic histogram
    /// function.
    pub(crate) fn bad_bucket_label(le: &str) -> Note {
        Note::Warn(format!(
            "PromQL warning: bucket label \"le\" is missing or has a malformed value of {}",
            q(le)
        ))
    }

    /// `NewMixedFloatsHistogramsWarning`: a function that cannot mix both got both.
    pub(crate) fn mixed_floats_histograms(name: &str) -> Note {
        Note::Warn(format!(
            "PromQL warning: encountered a mix of histograms and floats for metric name {}",
            q(name)
        ))
    }

    /// `NewMixedFloatsHistogramsAggWarning`.
    pub(crate) fn mixed_floats_histograms_agg() -> Note {
        Note::Warn("PromQL warning: encountered a mix of histograms and floats for aggregation".into())
    }

    /// `NewNativeHistogramNotCounterWarning`.
    pub(crate) fn not_counter(name: &str) -> Note {
        Note::Warn(format!(
            "PromQL warning: this native histogram metric is not a counter: {}",
            q(name)
        ))
    }

    /// `NewNativeHistogramNotGaugeWarning`.
    pub(crate) fn not_gauge(name: &str) -> Note {
        Note::Warn(format!(
            "PromQL warning: this native histogram metric is not a gauge: {}",
            q(name)
        ))
    }

    /// `NewMixedExponentialCustomHistogramsWarning`.
    pub(crate) fn mixed_exponential_custom(name: &str) -> Note {
        Note::Warn(format!(
            "PromQL warning: vector contains a mix of histograms with exponential and custom buckets schemas for metric name {}",
            q(name)
        ))
    }

    /// `NewHistogramIgnoredInMixedRangeInfo`.
    pub(crate) fn ignored_in_mixed_range(name: &str) -> Note {
        Note::Info(format!(
            "PromQL info: ignored histograms in a range containing both floats and histograms for metric name {}",
            q(name)
        ))
    }

    /// `NewHistogramIgnoredInAggregationInfo`.
    pub(crate) fn ignored_in_aggregation(op: &str) -> Note {
        Note::Info(format!("PromQL info: ignored histogram in {op} aggregation"))
    }

    /// `NewIncompatibleTypesInBinOpInfo`.
    pub(crate) fn incompatible_types_in_binop(lhs: &str, op: &str, rhs: &str) -> Note {
        Note::Info(format!(
            "PromQL info: incompatible sample types encountered for binary operator {}: {lhs} {op} {rhs}",
            q(op)
        ))
    }

    /// `NewIncompatibleBucketLayoutInBinOpWarning`.
    pub(crate) fn incompatible_bucket_layout(op: &str) -> Note {
        Note::Warn(format!(
            "PromQL warning: incompatible bucket layout encountered for binary operator {op}"
        ))
    }

    /// `NewMixedClassicNativeHistogramsWarning`.
    pub(crate) fn mixed_classic_native(name: &str) -> Note {
        Note::Warn(format!(
            "PromQL warning: vector contains a mix of classic and native histograms{}",
            maybe_name(name)
        ))
    }

    /// `NewNativeHistogramQuantileNaNResultInfo`.
    pub(crate) fn quantile_nan_result(name: &str) -> Note {
        Note::Info(format!(
            "PromQL info: input to histogram_quantile has NaN observations, result is NaN{}",
            maybe_name(name)
        ))
    }

    /// `NewNativeHistogramQuantileNaNSkewInfo`.
    pub(crate) fn quantile_nan_skew(name: &str) -> Note {
        Note::Info(format!(
            "PromQL info: input to histogram_quantile has NaN observations, result is skewed higher{}",
            maybe_name(name)
        ))
    }

    /// `NewNativeHistogramFractionNaNsInfo`.
    pub(crate) fn fraction_nans(name: &str) -> Note {
        Note::Info(format!(
            "PromQL info: input to histogram_fraction has NaN observations, which are excluded from all fractions{}",
            maybe_name(name)
        ))
    }

    /// `NewHistogramCounterResetCollisionWarning` for `operation` (`aggregation`,
    /// `addition`, `subtraction`).
    pub(crate) fn counter_reset_collision(operation: &str) -> Note {
        Note::Warn(format!(
            "PromQL warning: conflicting counter resets during histogram {operation}"
        ))
    }
}

/// The buckets of `h` as Prometheus' `AllBucketIterator` yields them, lowest first:
/// negative buckets, the zero bucket when it holds observations, positive buckets, with
/// bounds that fall inside the zero bucket clamped to its threshold. Empty buckets that the
/// spans hold are included.
pub(crate) fn all_buckets(h: &FloatHistogram) -> Vec<Bucket> {
    let zt = h.zero_threshold;
    let custom = h.uses_custom_buckets();
    h.buckets()
        .into_iter()
        .filter_map(|mut b| {
            let is_zero =
                !custom && b.lower_inclusive && b.upper_inclusive && b.lower == -zt && b.upper == zt;
            if is_zero {
                return (h.zero_count > 0.0).then_some(b);
            }
            if !custom {
                if b.upper < 0.0 && b.upper > -zt {
                    b.upper = -zt;
                } else if b.lower > 0.0 && b.lower < zt {
                    b.lower = zt;
                }
            }
            Some(b)
        })
        .collect()
}

/// `histogram_quantile(q, h)` for a native histogram (Prometheus 3's `HistogramQuantile`):
/// the rank is found from below for `q < 0.5` (or NaN observations) and from above
/// otherwise; exponential buckets interpolate on a log scale, custom buckets and the zero
/// bucket linearly; a zero bucket next to only positive (negative) buckets starts (ends) at 0.
pub(crate) fn quantile(q: f64, h: &FloatHistogram, name: &str, notes: &mut Vec<Note>) -> f64 {
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if h.count == 0.0 || q.is_nan() {
        return f64::NAN;
    }
    let mut buckets = all_buckets(h);
    let forward = h.sum.is_nan() || q < 0.5;
    let mut rank = if forward {
        q * h.count
    } else {
        buckets.reverse();
        (1.0 - q) * h.count
    };
    let mut count = 0.0;
    let mut pos = 0;
    let mut bucket: Option<Bucket> = None;
    while pos < buckets.len() {
        let b = buckets[pos];
        pos += 1;
        if b.count == 0.0 {
            // Prometheus' iterator still moves past it (its `bucket` is the last one seen).
            bucket = Some(b);
            continue;
        }
        bucket = Some(b);
        count += b.count;
        if count >= rank {
            break;
        }
    }
    let Some(mut b) = bucket else {
        // No buckets at all: Go's zero-value bucket, whose bounds are 0.
        if h.sum.is_nan() {
            notes.push(texts::quantile_nan_result(name));
            return f64::NAN;
        }
        return 0.0;
    };
    if !h.uses_custom_buckets() && b.lower < 0.0 && b.upper > 0.0 {
        if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
            b.lower = 0.0;
        } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
            b.upper = 0.0;
        }
    } else if h.uses_custom_buckets() {
        if b.lower == f64::NEG_INFINITY {
            if b.upper <= 0.0 {
                return b.upper;
            }
            b.lower = 0.0;
        } else if b.upper == f64::INFINITY {
            return b.lower;
        }
    }
    if count > h.count {
        count = h.count;
    }
    if count < rank {
        if h.sum.is_nan() {
            notes.push(texts::quantile_nan_result(name));
            return f64::NAN;
        }
        return b.upper;
    }
    if forward {
        rank -= count - b.count;
    } else {
        rank = count - rank;
    }
    if h.sum.is_nan() {
        let rest: f64 = buckets[pos..].iter().map(|b| b.count).sum();
        if count + rest < h.count {
            notes.push(texts::quantile_nan_skew(name));
        }
    }
    let fraction = rank / b.count;
    if h.uses_custom_buckets() || (b.lower <= 0.0 && b.upper >= 0.0) {
        return b.lower + (b.upper - b.lower) * fraction;
    }
    let log_lower = b.lower.abs().log2();
    let log_upper = b.upper.abs().log2();
    if b.lower > 0.0 {
        return (log_lower + (log_upper - log_lower) * fraction).exp2();
    }
    -(log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2()
}

/// The share of bucket `b` below `v` (Prometheus' `Bucket.FractionBelow`).
fn fraction_below(b: &Bucket, v: f64, linear: bool) -> f64 {
    if linear {
        return (v - b.lower) / (b.upper - b.lower);
    }
    let log_lower = b.lower.abs().log2();
    let log_upper = b.upper.abs().log2();
    let log_v = v.abs().log2();
    if v > 0.0 {
        return (log_v - log_lower) / (log_upper - log_lower);
    }
    1.0 - ((log_v - log_upper) / (log_lower - log_upper))
}

/// `histogram_fraction(lower, upper, h)` for a native histogram (Prometheus 3's
/// `HistogramFraction`).
pub(crate) fn fraction(lower: f64, upper: f64, h: &FloatHistogram, name: &str, notes: &mut Vec<Note>) -> f64 {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let buckets = all_buckets(h);
    let custom = h.uses_custom_buckets();
    let (mut count, mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut pos = 0;
    while pos < buckets.len() {
        let mut b = buckets[pos];
        pos += 1;
        count += b.count;
        let mut zero_bucket = false;
        if b.lower <= 0.0 && b.upper >= 0.0 {
            zero_bucket = true;
            if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
                b.lower = 0.0;
            } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
                b.upper = 0.0;
            }
        }
        let linear = |b: &Bucket, v: f64, rank: f64| {
            if b.lower == f64::NEG_INFINITY {
                b.count
            } else {
                rank + b.count * fraction_below(b, v, true)
            }
        };
        if !lower_set && b.lower >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && b.lower >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && b.lower < lower && b.upper > lower {
            lower_rank = if custom || zero_bucket {
                linear(&b, lower, rank)
            } else {
                rank + b.count * fraction_below(&b, lower, false)
            };
            lower_set = true;
        }
        if !upper_set && b.lower < upper && b.upper > upper {
            upper_rank = if custom || zero_bucket {
                linear(&b, upper, rank)
            } else {
                rank + b.count * fraction_below(&b, upper, false)
            };
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank += b.count;
    }
    if h.sum.is_nan() {
        count += buckets[pos..].iter().map(|b| b.count).sum::<f64>();
        if count < h.count {
            notes.push(texts::fraction_nans(name));
        }
    } else {
        count = h.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / h.count
}

/// `histogram_stdvar` of one histogram (Prometheus' `funcHistogramStdVar`): the variance of
/// the bucket midpoints (geometric mean of the bounds for exponential buckets, 0 for the
/// zero bucket, the arithmetic mean for custom buckets), weighted by counts, around the mean
/// `sum / count`.
pub(crate) fn stdvar(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let (mut var, mut c) = (0.0, 0.0);
    for b in all_buckets(h) {
        if b.count == 0.0 {
            continue;
        }
        let val = if h.uses_custom_buckets() {
            (b.upper + b.lower) / 2.0
        } else if b.lower <= 0.0 && b.upper >= 0.0 {
            0.0
        } else {
            let v = (b.upper * b.lower).sqrt();
            if b.upper < 0.0 {
                -v
            } else {
                v
            }
        };
        let delta = val - mean;
        (var, c) = super::kahan_inc(b.count * delta * delta, var, c);
    }
    (var + c) / h.count
}

/// Prometheus' `histogramRate` over the histograms of one window (at least two): the last
/// minus the first with counter resets added back for counters (`is_counter`), at the
/// coarsest schema seen, marked as a gauge. `None` when the layouts cannot be combined.
pub(crate) fn rate_of(
    points: &[HistogramSample],
    is_counter: bool,
    name: &str,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    let n = points.len();
    let first = &points[0].h;
    let last = &points[n - 1].h;
    if is_counter
        && (first.counter_reset_hint == CounterResetHint::Gauge
            || last.counter_reset_hint == CounterResetHint::Gauge)
    {
        notes.push(texts::not_counter(name));
    }
    let zeroed;
    let mut prev = first;
    let mut using_custom = prev.uses_custom_buckets();
    if is_counter {
        let second = &points[1].h;
        if second.detect_reset(prev) {
            zeroed = FloatHistogram {
                schema: second.schema,
                custom_values: second.custom_values.clone(),
                ..Default::default()
            };
            prev = &zeroed;
            using_custom = second.uses_custom_buckets();
        }
    }
    if last.uses_custom_buckets() != using_custom {
        notes.push(texts::mixed_exponential_custom(name));
        return None;
    }
    let mut min_schema = last.schema.min(prev.schema);
    if is_counter {
        for p in &points[1..n - 1] {
            if p.h.counter_reset_hint == CounterResetHint::Gauge {
                notes.push(texts::not_counter(name));
            }
            min_schema = min_schema.min(p.h.schema);
            if p.h.uses_custom_buckets() != using_custom {
                notes.push(texts::mixed_exponential_custom(name));
                return None;
            }
        }
    }
    let mut h = last.clone();
    h.reduce_resolution(min_schema);
    if h.sub(prev).is_err() {
        notes.push(texts::mixed_exponential_custom(name));
        return None;
    }
    if is_counter {
        for p in &points[1..] {
            let curr = &p.h;
            if curr.detect_reset(prev) && h.add(prev).is_err() {
                notes.push(texts::mixed_exponential_custom(name));
                return None;
            }
            prev = curr;
        }
    } else if first.counter_reset_hint != CounterResetHint::Gauge
        || last.counter_reset_hint != CounterResetHint::Gauge
    {
        notes.push(texts::not_gauge(name));
    }
    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact();
    Some(h)
}

/// The sum of histograms (Prometheus adds them one by one to the first), noting a conflict
/// of counter-reset hints; `None` (with the mixed-schemas warning) when the layouts cannot be
/// combined.
pub(crate) fn sum_of<'h>(
    hs: impl IntoIterator<Item = &'h FloatHistogram>,
    name: &str,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    let mut it = hs.into_iter();
    let mut sum = it.next()?.clone();
    let (mut reset, mut not_reset) = (false, false);
    let mut track = |h: &FloatHistogram| match h.counter_reset_hint {
        CounterResetHint::CounterReset => reset = true,
        CounterResetHint::NotCounterReset => not_reset = true,
        _ => {}
    };
    track(&sum);
    for h in it {
        track(h);
        if sum.add(h).is_err() {
            notes.push(texts::mixed_exponential_custom(name));
            return None;
        }
    }
    if reset && not_reset {
        notes.push(texts::counter_reset_collision("aggregation"));
    }
    sum.compact();
    Some(sum)
}

impl crate::engine::eval::Evaluator<'_> {
    /// Records an annotation.
    pub(crate) fn note(&mut self, n: Note) {
        match n {
            Note::Warn(w) => self.warn(w),
            Note::Info(i) => self.info(i),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use storage::{BucketSpan, CUSTOM_BUCKETS_SCHEMA};

    /// Schema 0 histogram with positive buckets from index `offset`.
    fn exp(offset: i32, buckets: &[f64], zero: f64) -> FloatHistogram {
        let count = buckets.iter().sum::<f64>() + zero;
        FloatHistogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: zero,
            count,
            sum: 1.0,
            positive_spans: vec![BucketSpan::new(offset, buckets.len() as u32)],
            positive_buckets: buckets.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn quantile_interpolates_exponentially() {
        // (1,2]:4 (2,4]:4.
        let h = exp(1, &[4.0, 4.0], 0.0);
        let mut n = Vec::new();
        assert_eq!(quantile(0.5, &h, "m", &mut n), 2.0);
        // rank 2 of 4 in (1,2]: 2^(0 + 0.5) = sqrt(2).
        assert_eq!(quantile(0.25, &h, "m", &mut n), std::f64::consts::SQRT_2);
        // From above: rank (1-0.75)*8 = 2 into (2,4] from the top: fraction 0.5.
        assert_eq!(quantile(0.75, &h, "m", &mut n), 8f64.sqrt());
        assert_eq!(quantile(1.0, &h, "m", &mut n), 4.0);
        assert_eq!(quantile(0.0, &h, "m", &mut n), 1.0);
        assert_eq!(quantile(-1.0, &h, "m", &mut n), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &h, "m", &mut n), f64::INFINITY);
        assert!(n.is_empty());
    }

    #[test]
    fn quantile_in_the_zero_bucket_with_only_positive_buckets() {
        // zero bucket [-0.001, 0.001]:2, (1,2]:2 -> the zero bucket is taken as [0, 0.001].
        let h = exp(1, &[2.0], 2.0);
        let mut n = Vec::new();
        assert_eq!(quantile(0.25, &h, "m", &mut n), 0.0005);
    }

    #[test]
    fn quantile_over_negative_buckets() {
        // [-2,-1):4 -> negative bucket index 1 at schema 0.
        let h = FloatHistogram {
            schema: 0,
            count: 4.0,
            sum: -6.0,
            negative_spans: vec![BucketSpan::new(1, 1)],
            negative_buckets: vec![4.0],
            ..Default::default()
        };
        let mut n = Vec::new();
        // Rank 1 of 4 from below in [-2,-1): -2^(log2(1) + (log2(2)-0)*(1-0.25)) = -2^0.75.
        assert_eq!(quantile(0.25, &h, "m", &mut n), -(0.75f64.exp2()));
    }

    #[test]
    fn quantile_of_custom_buckets_is_linear() {
        let h = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: 10.0,
            sum: 30.0,
            positive_spans: vec![BucketSpan::new(0, 3)],
            positive_buckets: vec![2.0, 6.0, 2.0],
            custom_values: vec![1.0, 5.0],
            ..Default::default()
        };
        let mut n = Vec::new();
        // First bucket (-Inf,1]: lower taken as 0; rank 1 of 2 -> 0.5.
        assert_eq!(quantile(0.1, &h, "m", &mut n), 0.5);
        // rank 5: 3 into (1,5] holding 6 -> 1 + 4*0.5 = 3.
        assert_eq!(quantile(0.5, &h, "m", &mut n), 3.0);
        // In the +Inf bucket: its lower bound.
        assert_eq!(quantile(0.95, &h, "m", &mut n), 5.0);
    }

    #[test]
    fn quantile_with_nan_observations() {
        let mut h = exp(1, &[4.0], 0.0);
        h.count = 8.0;
        h.sum = f64::NAN;
        let mut n = Vec::new();
        assert!(quantile(0.9, &h, "m", &mut n).is_nan());
        assert_eq!(n, vec![texts::quantile_nan_result("m")]);
        n.clear();
        assert_eq!(
            quantile(0.25, &h, "m", &mut n),
            1.5f64.log2().mul_add(0.0, 2f64.powf(0.5))
        );
        assert_eq!(n, vec![texts::quantile_nan_skew("m")]);
    }

    #[test]
    fn fraction_matches_quantile() {
        let h = exp(1, &[4.0, 4.0], 0.0);
        let mut n = Vec::new();
        assert_eq!(fraction(f64::NEG_INFINITY, 2.0, &h, "m", &mut n), 0.5);
        assert_eq!(fraction(1.0, 4.0, &h, "m", &mut n), 1.0);
        assert_eq!(fraction(3.0, 2.0, &h, "m", &mut n), 0.0);
        assert!(fraction(f64::NAN, 2.0, &h, "m", &mut n).is_nan());
        // Zero bucket [0, 0.001] (only positive buckets): linear.
        let z = exp(1, &[2.0], 2.0);
        assert!((fraction(0.0, 0.0005, &z, "m", &mut n) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn stdvar_uses_geometric_midpoints() {
        // One bucket (1,4] at schema -1 holding 2 observations, sum 4 -> mean 2, midpoint 2.
        let h = FloatHistogram {
            schema: -1,
            count: 2.0,
            sum: 4.0,
            positive_spans: vec![BucketSpan::new(1, 1)],
            positive_buckets: vec![2.0],
            ..Default::default()
        };
        assert_eq!(stdvar(&h), 0.0);
        let h2 = FloatHistogram { sum: 2.0, ..h };
        // mean 1, midpoint 2 -> variance 1.
        assert_eq!(stdvar(&h2), 1.0);
    }

    #[test]
    fn rate_adds_back_counter_resets() {
        let p = |t, b: &[f64]| HistogramSample { t, h: exp(0, b, 0.0) };
        let points = [
            p(0, &[1.0, 2.0]),
            p(10, &[2.0, 4.0]),
            p(20, &[1.0, 1.0]),
            p(30, &[2.0, 2.0]),
        ];
        let mut n = Vec::new();
        let h = rate_of(&points, true, "m", &mut n).unwrap();
        // 2,2 - 1,2 + 2,4 (reset) = 3,4.
        assert_eq!(h.positive_buckets, vec![3.0, 4.0]);
        assert_eq!(h.count, 7.0);
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
        assert!(n.is_empty());
        // delta over a counter histogram warns.
        let _ = rate_of(&points, false, "m", &mut n).unwrap();
        assert_eq!(n, vec![texts::not_gauge("m")]);
    }

    #[test]
    fn all_buckets_clamp_to_the_zero_threshold() {
        let mut h = exp(-10, &[1.0], 0.0);
        h.zero_threshold = 0.0005;
        let b = all_buckets(&h);
        // (2^-11, 2^-10] is above the threshold: unchanged; no zero bucket (count 0).
        assert_eq!(b.len(), 1);
        h.zero_threshold = 0.0007;
        let b = all_buckets(&h);
        assert_eq!(b[0].lower, 0.0007);
    }
}
