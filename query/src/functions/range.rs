//! Range functions: `rate` and friends, `*_over_time`, regression and smoothing. Each gets
//! one series' window of one step.

use super::native::{self, texts, Note};
use super::{kahan_inc, quantile};
use crate::engine::eval::{
    dup_labelset_error, BatchSink, Evaluator, RangeSeries, RangeVal, Val, BATCH_SERIES,
};
use crate::error::{QueryError, Result};
use promql_parser::parser::{Call, Expr};
use std::collections::{HashSet, VecDeque};
use storage::{CounterResetHint, FloatHistogram, HistogramSample, Labels, Sample, Series, METRIC_NAME};

/// One window: the samples in `(start, end]` and the call's scalar parameters at this step.
pub(crate) struct Window<'a> {
    pub samples: &'a [Sample],
    /// Left (open) end of the range.
    pub start: i64,
    /// Right (closed) end of the range.
    pub end: i64,
    /// The step's evaluation time (Prometheus' `enh.Ts`).
    pub ts: i64,
    /// Range length in ms.
    pub range: i64,
    /// Scalar parameters, in argument order, excluding the range vector.
    pub p: [f64; 2],
    /// How many samples of the window are below the one before them (counter resets), when
    /// the caller counted them beforehand ([`counts_drops`]); `None` makes the function scan.
    pub drops: Option<u32>,
}

/// Whether a range function uses [`Window::drops`]: then each series' drops are counted once
/// (a prefix count), and a window holding none, the common case for counters, skips the
/// per-sample scan for resets (O(1) instead of O(window) per step).
fn counts_drops(name: &str) -> bool {
    matches!(name, "rate" | "increase" | "resets")
}

/// `max_over_time` / `min_over_time` of windows sliding forward over one series: a queue of
/// the candidates (indexes of non-NaN samples, values non-increasing for the maximum), so
/// each sample is pushed and popped once per series instead of scanned once per step. The
/// answers are the scanning functions' own: the earliest extreme non-NaN value, or the last
/// value when the window holds only NaN.
struct SlidingExtreme {
    max: bool,
    queue: VecDeque<usize>,
    /// Next sample index to enter.
    next: usize,
}

impl SlidingExtreme {
    fn new(name: &str) -> Option<SlidingExtreme> {
        let max = match name {
            "max_over_time" => true,
            "min_over_time" => false,
            _ => return None,
        };
        Some(SlidingExtreme {
            max,
            queue: VecDeque::new(),
            next: 0,
        })
    }

    /// The extreme of `samples[lo..hi]` (not empty; `lo` and `hi` never decrease between calls).
    fn of(&mut self, samples: &[Sample], lo: usize, hi: usize) -> f64 {
        while self.next < hi {
            let v = samples[self.next].v;
            if !v.is_nan() {
                while let Some(&b) = self.queue.back() {
                    let bv = samples[b].v;
                    if (self.max && bv < v) || (!self.max && bv > v) {
                        self.queue.pop_back();
                    } else {
                        break;
                    }
                }
                self.queue.push_back(self.next);
            }
            self.next += 1;
        }
        while self.queue.front().is_some_and(|&f| f < lo) {
            self.queue.pop_front();
        }
        match self.queue.front() {
            Some(&f) => samples[f].v,
            None => samples[hi - 1].v,
        }
    }
}

/// `prefix[i]`: samples among `1..=i` below the one before them; `prefix[0] = 0`.
fn drops_prefix(samples: &[Sample], prefix: &mut Vec<u32>) {
    prefix.clear();
    prefix.reserve(samples.len());
    let mut n = 0u32;
    let mut prev = f64::NAN;
    for (i, s) in samples.iter().enumerate() {
        if i > 0 && s.v < prev {
            n += 1;
        }
        prev = s.v;
        prefix.push(n);
    }
}

/// A range function: the window's value, or `None` for no output at this step.
pub(crate) type RangeFn = fn(&Window<'_>) -> Option<f64>;

/// Names of the range functions.
pub(crate) const NAMES: &[&str] = &[
    "absent_over_time",
    "avg_over_time",
    "changes",
    "count_over_time",
    "delta",
    "deriv",
    "double_exponential_smoothing",
    "first_over_time",
    "holt_winters",
    "idelta",
    "increase",
    "irate",
    "last_over_time",
    "mad_over_time",
    "max_over_time",
    "min_over_time",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rate",
    "resets",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
];

/// The implementation of a range function.
pub(crate) fn lookup(name: &str) -> Option<RangeFn> {
    Some(match name {
        "rate" => |w| extrapolated_rate(w, true, true),
        "increase" => |w| extrapolated_rate(w, true, false),
        "delta" => |w| extrapolated_rate(w, false, false),
        "irate" => |w| instant_value(w, true),
        "idelta" => |w| instant_value(w, false),
        "deriv" => deriv,
        "predict_linear" => predict_linear,
        "changes" => changes,
        "resets" => resets,
        "avg_over_time" => avg_over_time,
        "sum_over_time" => sum_over_time,
        "count_over_time" => |w| Some(w.samples.len() as f64),
        "min_over_time" => |w| {
            let mut m = w.samples[0].v;
            for s in &w.samples[1..] {
                if s.v < m || m.is_nan() {
                    m = s.v;
                }
            }
            Some(m)
        },
        "max_over_time" => |w| {
            let mut m = w.samples[0].v;
            for s in &w.samples[1..] {
                if s.v > m || m.is_nan() {
                    m = s.v;
                }
            }
            Some(m)
        },
        "stddev_over_time" => |w| Some(variance(w.samples).sqrt()),
        "stdvar_over_time" => |w| Some(variance(w.samples)),
        "last_over_time" => |w| w.samples.last().map(|s| s.v),
        "first_over_time" => |w| w.samples.first().map(|s| s.v),
        "ts_of_last_over_time" => |w| w.samples.last().map(|s| s.t as f64 / 1000.0),
        "ts_of_first_over_time" => |w| w.samples.first().map(|s| s.t as f64 / 1000.0),
        "ts_of_max_over_time" => |w| ts_of_extreme(w, |a, b| a > b),
        "ts_of_min_over_time" => |w| ts_of_extreme(w, |a, b| a < b),
        "present_over_time" => |_| Some(1.0),
        "quantile_over_time" => |w| {
            let mut vals: Vec<f64> = w.samples.iter().map(|s| s.v).collect();
            Some(quantile(w.p[0], &mut vals))
        },
        "mad_over_time" => |w| {
            let mut vals: Vec<f64> = w.samples.iter().map(|s| s.v).collect();
            let median = quantile(0.5, &mut vals);
            let mut dev: Vec<f64> = vals.iter().map(|v| (v - median).abs()).collect();
            Some(quantile(0.5, &mut dev))
        },
        "holt_winters" | "double_exponential_smoothing" => double_exponential_smoothing,
        "absent_over_time" => |_| None,
        _ => return None,
    })
}

/// Functions whose output keeps the metric name (they return a sample value unchanged).
fn keeps_name(name: &str) -> bool {
    matches!(name, "last_over_time" | "first_over_time")
}

/// Whether a call can be evaluated batch by batch ([`eval_batches`]): a range function
/// other than `absent_over_time` whose range vector comes straight from a selector.
pub(crate) fn batchable(c: &Call) -> bool {
    let name = c.func.name;
    if lookup(name).is_none() || name == "absent_over_time" {
        return false;
    }
    let mat_idx = usize::from(name == "quantile_over_time");
    matches!(
        c.args.args.get(mat_idx).map(|a| a.as_ref()),
        Some(Expr::MatrixSelector(_))
    )
}

/// Evaluates a range function call over all steps.
pub(crate) fn eval(ev: &mut Evaluator<'_>, name: &str, f: RangeFn, args: &[&Expr]) -> Result<Val> {
    let (params, mut rv) = prepare(ev, name, args)?;
    if name == "absent_over_time" {
        let series = std::mem::replace(&mut rv.series, RangeSeries::Eager(Vec::new()));
        let series = series.materialize(ev.ctl)?;
        let arg = args.first().copied();
        return Ok(Val::Vector(absent_over_time(ev, &rv, &series, arg)));
    }
    let mut out = Vec::new();
    run(ev, name, f, &params, &rv, &mut |b| {
        out.extend(b);
        Ok(())
    })?;
    Ok(Val::Vector(out))
}

/// Evaluates a [`batchable`] call, handing its output series to `sink` batch by batch.
pub(crate) fn eval_batches(ev: &mut Evaluator<'_>, c: &Call, sink: &mut BatchSink<'_>) -> Result<()> {
    let args: Vec<&Expr> = c.args.args.iter().map(|b| b.as_ref()).collect();
    let name = c.func.name;
    let Some(f) = lookup(name) else {
        return Err(QueryError::exec(format!("unknown range function {name}")));
    };
    let (params, rv) = prepare(ev, name, &args)?;
    run(ev, name, f, &params, &rv, sink)
}

/// Evaluates the scalar parameters and the range vector of a call, and checks the
/// parameters of `double_exponential_smoothing`.
fn prepare(ev: &mut Evaluator<'_>, name: &str, args: &[&Expr]) -> Result<(Vec<Vec<f64>>, RangeVal)> {
    let mat_idx = usize::from(name == "quantile_over_time");
    let mut params: Vec<Vec<f64>> = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i != mat_idx {
            params.push(ev.eval_scalar(a)?);
        }
    }
    let Some(arg) = args.get(mat_idx) else {
        return Err(QueryError::exec(format!(
            "{name}() needs a range vector argument"
        )));
    };
    let mut rv = match ev.eval(arg)? {
        Val::Range(r) => r,
        other => {
            return Err(QueryError::exec(format!(
                "expected type range vector in call to function \"{name}\", got {}",
                other.type_name()
            )))
        }
    };
    if matches!(name, "holt_winters" | "double_exponential_smoothing") {
        // The factors are checked only when some series has samples.
        let series = std::mem::replace(&mut rv.series, RangeSeries::Eager(Vec::new()));
        rv.series = RangeSeries::Eager(series.materialize(ev.ctl)?);
        if rv.series.len() > 0 {
            for i in 0..ev.steps.len() {
                let (sf, tf) = (params[0][i], params[1][i]);
                if !(sf > 0.0 && sf < 1.0) {
                    return Err(QueryError::exec(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                    )));
                }
                if !(tf > 0.0 && tf < 1.0) {
                    return Err(QueryError::exec(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                    )));
                }
            }
        }
    }
    Ok((params, rv))
}

/// Whether output series of different inputs may end up with the same labels once the
/// metric name is dropped: not when every input has the same metric name (or none).
fn may_collide(series: &RangeSeries) -> bool {
    let n = series.len();
    if n < 2 {
        return false;
    }
    let first = series.labels(0).get(METRIC_NAME);
    (1..n).any(|i| series.labels(i).get(METRIC_NAME) != first)
}

/// Steps of one series evaluated between two checks of the deadline and cancellation.
const STEPS_PER_CHECK: usize = 64;

/// Applies range function `f` to every series of `rv` at every step, batch by batch.
fn run(
    ev: &mut Evaluator<'_>,
    name: &str,
    f: RangeFn,
    params: &[Vec<f64>],
    rv: &RangeVal,
    sink: &mut BatchSink<'_>,
) -> Result<()> {
    let steps = ev.steps;
    let n = steps.len();
    let ctl = ev.ctl;
    let keep = keeps_name(name);
    let with_drops = counts_drops(name);
    let param = |k: usize, i: usize| params.get(k).map_or(f64::NAN, |p| p[i]);
    // Returns the output series and the largest window it needed: like Prometheus, the
    // sample limit counts one window per series plus the output, not the whole selection.
    let one = |labels: &Labels,
               smp: &[Sample],
               hs: &[HistogramSample]|
     -> Result<Option<(Series, usize, Vec<Note>)>> {
        let mut out = Vec::with_capacity(if rv.at.is_some() { n } else { n.min(smp.len() + 1) });
        let mut hout = Vec::new();
        let mut notes = Vec::new();
        let mut widest = 0usize;
        let mut prefix = Vec::new();
        if with_drops {
            drops_prefix(smp, &mut prefix);
        }
        let mut extreme = SlidingExtreme::new(name);
        let (mut lo, mut hi) = (0usize, 0usize);
        let (mut hlo, mut hhi) = (0usize, 0usize);
        for i in 0..n {
            // One series can be a long loop (a subquery over days): stop it on a timeout or
            // cancellation, not only between series.
            if i % STEPS_PER_CHECK == STEPS_PER_CHECK - 1 {
                ctl.check("expression evaluation")?;
            }
            let ts = steps.ts(i);
            let end = rv.eval_time(ts);
            let start = end - rv.range;
            while hi < smp.len() && smp[hi].t <= end {
                hi += 1;
            }
            while lo < hi && smp[lo].t <= start {
                lo += 1;
            }
            while hhi < hs.len() && hs[hhi].t <= end {
                hhi += 1;
            }
            while hlo < hhi && hs[hlo].t <= start {
                hlo += 1;
            }
            if lo == hi && hlo == hhi {
                continue;
            }
            widest = widest.max(hi - lo + hhi - hlo);
            let w = Window {
                samples: &smp[lo..hi],
                start,
                end,
                // Even under `@` the step's own time: predict_linear extrapolates to it
                // (Prometheus lists it among the @-unsafe functions).
                ts,
                range: rv.range,
                p: [param(0, i), param(1, i)],
                // Drops between the window's first and last sample.
                drops: (with_drops && hi > lo).then(|| prefix[hi - 1] - prefix[lo]),
            };
            if hlo == hhi {
                if let Some(x) = extreme.as_mut() {
                    out.push(Sample::new(ts, x.of(smp, lo, hi)));
                    continue;
                }
                if let Some(v) = f(&w) {
                    out.push(Sample::new(ts, v));
                }
                continue;
            }
            match histogram_window(name, f, &w, &hs[hlo..hhi], labels, &mut notes) {
                Some(Point::F(v)) => out.push(Sample::new(ts, v)),
                Some(Point::H(h)) => hout.push(HistogramSample { t: ts, h }),
                None => {}
            }
        }
        if out.is_empty() && hout.is_empty() {
            return Ok((!notes.is_empty()).then(|| {
                (
                    Series {
                        labels: Labels::empty(),
                        samples: Vec::new(),
                        histograms: Vec::new(),
                    },
                    widest,
                    notes,
                )
            }));
        }
        let labels = if keep {
            labels.clone()
        } else {
            labels.without_metric_name()
        };
        Ok(Some((
            Series {
                labels,
                samples: out,
                histograms: hout,
            },
            widest,
            notes,
        )))
    };
    let mut seen: Option<HashSet<Labels>> = (!keep && may_collide(&rv.series)).then(HashSet::new);
    let total = rv.series.len();
    let mut from = 0;
    while from < total {
        let to = (from + BATCH_SERIES).min(total);
        let results = rv.series.map(ctl, from..to, one)?;
        ev.release_mapped_pages(to - from);
        from = to;
        let windows: usize = results.iter().map(|r| r.1).sum();
        let mut out: Vec<Series> = Vec::with_capacity(results.len());
        for (s, _, notes) in results {
            for note in notes {
                ev.note(note);
            }
            if !s.samples.is_empty() || !s.histograms.is_empty() {
                out.push(s);
            }
        }
        let points: usize = out.iter().map(|s| s.samples.len() + s.histograms.len()).sum();
        ctl.add_samples(windows + points, "query execution")?;
        ctl.release_samples(windows);
        if let Some(seen) = &mut seen {
            for s in &out {
                if !seen.insert(s.labels.clone()) {
                    return Err(dup_labelset_error());
                }
            }
        }
        sink(out)?;
    }
    Ok(())
}

/// One step's output: a float or a histogram.
enum Point {
    F(f64),
    H(FloatHistogram),
}

/// A range function over a window that holds histograms (`hs`, not empty) and maybe floats
/// (`w.samples`), with Prometheus 3's semantics: the rate family and `sum`/`avg_over_time`
/// compute on histograms and refuse a mix; `count`, `present`, `last`, `first`, `changes`,
/// `resets` and the `ts_of_first/last` functions see both; the other functions use the
/// floats only and note the ignored histograms when there are floats.
fn histogram_window(
    name: &str,
    f: RangeFn,
    w: &Window<'_>,
    hs: &[HistogramSample],
    labels: &Labels,
    notes: &mut Vec<Note>,
) -> Option<Point> {
    let metric = native::metric_name(labels);
    let floats = w.samples;
    match name {
        "rate" | "increase" | "delta" => {
            if !floats.is_empty() {
                notes.push(texts::mixed_floats_histograms(metric));
                return None;
            }
            if hs.len() < 2 {
                return None;
            }
            let is_counter = name != "delta";
            let mut h = native::rate_of(hs, is_counter, metric, notes)?;
            let first = &hs[0];
            let last = &hs[hs.len() - 1];
            let mut duration_to_start = (first.t - w.start) as f64 / 1000.0;
            let mut duration_to_end = (w.end - last.t) as f64 / 1000.0;
            let sampled_interval = (last.t - first.t) as f64 / 1000.0;
            let avg_between = sampled_interval / (hs.len() - 1) as f64;
            let threshold = avg_between * 1.1;
            if duration_to_start >= threshold {
                duration_to_start = avg_between / 2.0;
            }
            if is_counter && h.count > 0.0 && first.h.count >= 0.0 {
                let duration_to_zero = sampled_interval * (first.h.count / h.count);
                if duration_to_zero < duration_to_start {
                    duration_to_start = duration_to_zero;
                }
            }
            if duration_to_end >= threshold {
                duration_to_end = avg_between / 2.0;
            }
            let mut factor = if sampled_interval != 0.0 {
                (sampled_interval + duration_to_start + duration_to_end) / sampled_interval
            } else {
                1.0
            };
            if name == "rate" {
                factor /= w.range as f64 / 1000.0;
            }
            h.mul(factor);
            Some(Point::H(h))
        }
        "irate" | "idelta" => {
            let is_rate = name == "irate";
            if floats.len() + hs.len() < 2 {
                return None;
            }
            // The last two samples of either type.
            let mut last: Vec<(i64, Option<&FloatHistogram>, f64)> = Vec::with_capacity(4);
            last.extend(
                floats[floats.len().saturating_sub(2)..]
                    .iter()
                    .map(|p| (p.t, None, p.v)),
            );
            last.extend(
                hs[hs.len().saturating_sub(2)..]
                    .iter()
                    .map(|p| (p.t, Some(&p.h), 0.0)),
            );
            last.sort_by_key(|x| x.0);
            let (t1, h1, v1) = last[last.len() - 1];
            let (t0, h0, v0) = last[last.len() - 2];
            let interval = t1 - t0;
            if interval == 0 {
                return None;
            }
            let secs = interval as f64 / 1000.0;
            match (h0, h1) {
                (None, None) => {
                    let mut v = if is_rate && v1 < v0 { v1 } else { v1 - v0 };
                    if is_rate {
                        v /= secs;
                    }
                    Some(Point::F(v))
                }
                (Some(a), Some(b)) => {
                    if is_rate
                        && (a.counter_reset_hint == CounterResetHint::Gauge
                            || b.counter_reset_hint == CounterResetHint::Gauge)
                    {
                        notes.push(texts::not_counter(metric));
                    }
                    if !is_rate
                        && (a.counter_reset_hint != CounterResetHint::Gauge
                            || b.counter_reset_hint != CounterResetHint::Gauge)
                    {
                        notes.push(texts::not_gauge(metric));
                    }
                    let mut r = b.clone();
                    if (!is_rate || !b.detect_reset(a)) && r.sub(a).is_err() {
                        notes.push(texts::mixed_exponential_custom(metric));
                        return None;
                    }
                    r.counter_reset_hint = CounterResetHint::Gauge;
                    r.compact();
                    if is_rate {
                        r.div(secs);
                    }
                    Some(Point::H(r))
                }
                _ => {
                    notes.push(texts::mixed_floats_histograms(metric));
                    None
                }
            }
        }
        "changes" | "resets" => {
            let merged = merge_points(floats, hs);
            let mut n = 0.0;
            for pair in merged.windows(2) {
                let changed = match (pair[0].1, pair[1].1) {
                    (None, None) => {
                        let (a, b) = (pair[0].2, pair[1].2);
                        if name == "changes" {
                            !(a == b || (a.is_nan() && b.is_nan()))
                        } else {
                            b < a
                        }
                    }
                    (Some(a), Some(b)) => {
                        if name == "changes" {
                            !histograms_equal(a, b)
                        } else {
                            b.detect_reset(a)
                        }
                    }
                    _ => true,
                };
                if changed {
                    n += 1.0;
                }
            }
            Some(Point::F(n))
        }
        "count_over_time" => Some(Point::F((floats.len() + hs.len()) as f64)),
        "present_over_time" => Some(Point::F(1.0)),
        "last_over_time" | "ts_of_last_over_time" => {
            let h = &hs[hs.len() - 1];
            match floats.last() {
                Some(p) if p.t > h.t => f(w).map(Point::F),
                _ if name == "last_over_time" => Some(Point::H(h.h.clone())),
                _ => Some(Point::F(h.t as f64 / 1000.0)),
            }
        }
        "first_over_time" | "ts_of_first_over_time" => {
            let h = &hs[0];
            match floats.first() {
                Some(p) if p.t < h.t => f(w).map(Point::F),
                _ if name == "first_over_time" => Some(Point::H(h.h.clone())),
                _ => Some(Point::F(h.t as f64 / 1000.0)),
            }
        }
        "sum_over_time" | "avg_over_time" => {
            if !floats.is_empty() {
                notes.push(texts::mixed_floats_histograms(metric));
                return None;
            }
            let mut sum = native::sum_of(hs.iter().map(|p| &p.h), metric, notes)?;
            if name == "avg_over_time" {
                sum.div(hs.len() as f64);
            }
            Some(Point::H(sum))
        }
        _ => {
            if floats.is_empty() {
                return None;
            }
            notes.push(texts::ignored_in_mixed_range(metric));
            f(w).map(Point::F)
        }
    }
}

/// Floats and histograms of a window in time order: `(t, histogram, float value)`.
fn merge_points<'a>(
    floats: &[Sample],
    hs: &'a [HistogramSample],
) -> Vec<(i64, Option<&'a FloatHistogram>, f64)> {
    let mut v: Vec<(i64, Option<&FloatHistogram>, f64)> = floats
        .iter()
        .map(|p| (p.t, None, p.v))
        .chain(hs.iter().map(|p| (p.t, Some(&p.h), 0.0)))
        .collect();
    v.sort_by_key(|x| x.0);
    v
}

/// Prometheus' `FloatHistogram.Equals`: same schema, threshold, counts, sum (NaN equal to
/// NaN by bits), buckets and custom bounds, compared after dropping empty buckets.
pub(crate) fn histograms_equal(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    a.compact();
    b.compact();
    a.schema == b.schema
        && a.zero_threshold == b.zero_threshold
        && a.zero_count == b.zero_count
        && a.count == b.count
        && a.sum.to_bits() == b.sum.to_bits()
        && a.positive_spans == b.positive_spans
        && a.negative_spans == b.negative_spans
        && a.positive_buckets == b.positive_buckets
        && a.negative_buckets == b.negative_buckets
        && a.custom_values == b.custom_values
}

/// `absent_over_time`: 1 at every step where no series has a sample in its window, with
/// the labels of the selector's equality matchers.
fn absent_over_time(ev: &Evaluator<'_>, rv: &RangeVal, series: &[Series], arg: Option<&Expr>) -> Vec<Series> {
    let steps = ev.steps;
    let mut samples = Vec::new();
    for i in 0..steps.len() {
        let ts = steps.ts(i);
        let end = rv.eval_time(ts);
        let start = end - rv.range;
        let present = series.iter().any(|s| {
            s.samples.iter().any(|p| p.t > start && p.t <= end)
                || s.histograms.iter().any(|p| p.t > start && p.t <= end)
        });
        if !present {
            samples.push(Sample::new(ts, 1.0));
        }
    }
    if samples.is_empty() {
        return Vec::new();
    }
    let labels = match arg {
        Some(Expr::MatrixSelector(ms)) => super::instant::absent_labels(&ms.vs),
        _ => Labels::empty(),
    };
    vec![Series {
        labels,
        samples,
        histograms: Vec::new(),
    }]
}

/// Prometheus' `extrapolatedRate`: the increase between the first and last sample (with
/// counter resets added back), extrapolated towards the range boundaries when the samples
/// come close enough to them, and never below zero for counters.
fn extrapolated_rate(w: &Window<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    if s.len() < 2 {
        return None;
    }
    let first = s[0];
    let last = s[s.len() - 1];
    let mut result = last.v - first.v;
    if is_counter && w.drops != Some(0) {
        let mut prev = first.v;
        for p in &s[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let mut duration_to_start = (first.t - w.start) as f64 / 1000.0;
    let mut duration_to_end = (w.end - last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let avg_between = sampled_interval / (s.len() - 1) as f64;
    let threshold = avg_between * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = avg_between / 2.0;
    }
    if is_counter && result > 0.0 && first.v >= 0.0 {
        let duration_to_zero = sampled_interval * (first.v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = avg_between / 2.0;
    }
    let mut factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    if is_rate {
        factor /= w.range as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` / `idelta`: from the last two samples.
fn instant_value(w: &Window<'_>, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    if s.len() < 2 {
        return None;
    }
    let last = s[s.len() - 1];
    let prev = s[s.len() - 2];
    let mut v = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares fit of the samples, x in seconds relative to `intercept_t`.
pub(crate) fn linear_regression(s: &[Sample], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut cx, mut sum_y, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut cxy, mut sum_x2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = s[0].v;
    let mut const_y = true;
    for (i, p) in s.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_t) as f64 / 1e3;
        (sum_x, cx) = kahan_inc(x, sum_x, cx);
        (sum_y, cy) = kahan_inc(p.v, sum_y, cy);
        (sum_xy, cxy) = kahan_inc(x * p.v, sum_xy, cxy);
        (sum_x2, cx2) = kahan_inc(x * x, sum_x2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += cx;
    sum_y += cy;
    sum_xy += cxy;
    sum_x2 += cx2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

fn deriv(w: &Window<'_>) -> Option<f64> {
    if w.samples.len() < 2 {
        return None;
    }
    Some(linear_regression(w.samples, w.samples[0].t).0)
}

fn predict_linear(w: &Window<'_>) -> Option<f64> {
    if w.samples.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(w.samples, w.ts);
    Some(slope * w.p[0] + intercept)
}

fn changes(w: &Window<'_>) -> Option<f64> {
    let mut n = 0.0;
    let mut prev = w.samples[0].v;
    for p in &w.samples[1..] {
        if !(p.v == prev || (p.v.is_nan() && prev.is_nan())) {
            n += 1.0;
        }
        prev = p.v;
    }
    Some(n)
}

fn resets(w: &Window<'_>) -> Option<f64> {
    if let Some(n) = w.drops {
        return Some(f64::from(n));
    }
    let mut n = 0.0;
    let mut prev = w.samples[0].v;
    for p in &w.samples[1..] {
        if p.v < prev {
            n += 1.0;
        }
        prev = p.v;
    }
    Some(n)
}

fn sum_over_time(w: &Window<'_>) -> Option<f64> {
    let (mut sum, mut c) = (0.0, 0.0);
    for p in w.samples {
        (sum, c) = kahan_inc(p.v, sum, c);
    }
    if sum.is_infinite() {
        return Some(sum);
    }
    Some(sum + c)
}

/// Mean with Kahan summation, switching to an incremental mean if the sum would overflow.
fn avg_over_time(w: &Window<'_>) -> Option<f64> {
    let s = w.samples;
    let (mut sum, mut count) = (s[0].v, 1.0);
    let (mut mean, mut c) = (0.0, 0.0);
    let mut incremental = false;
    for (i, p) in s[1..].iter().enumerate() {
        count = (i + 2) as f64;
        if !incremental {
            let (ns, nc) = kahan_inc(p.v, sum, c);
            if !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(p.v / count, q * mean, q * c);
    }
    if incremental {
        return Some(mean + c);
    }
    Some(sum / count + c / count)
}

/// Population variance (Welford with Kahan compensation).
fn variance(s: &[Sample]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in s {
        count += 1.0;
        let delta = p.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (p.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// Timestamp (s) of the last sample holding the extreme value by `better`.
fn ts_of_extreme(w: &Window<'_>, better: fn(f64, f64) -> bool) -> Option<f64> {
    let mut best = w.samples[0];
    for p in &w.samples[1..] {
        if better(p.v, best.v) || p.v == best.v || best.v.is_nan() {
            best = *p;
        }
    }
    Some(best.t as f64 / 1000.0)
}

/// Holt's linear (double exponential) smoothing; the value of the last smoothed point.
fn double_exponential_smoothing(w: &Window<'_>) -> Option<f64> {
    let s = w.samples;
    let (sf, tf) = (w.p[0], w.p[1]);
    if s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, s[0].v);
    let mut b = s[1].v - s[0].v;
    for (i, p) in s.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn win(samples: &[Sample], start: i64, end: i64) -> Window<'_> {
        Window {
            samples,
            start,
            end,
            ts: end,
            range: end - start,
            p: [0.0, 0.0],
            drops: None,
        }
    }

    #[test]
    fn sliding_extremes_give_the_scanned_answers() {
        let vals = [
            3.0,
            f64::NAN,
            1.0,
            3.0,
            -0.0,
            0.0,
            f64::NAN,
            f64::NAN,
            7.0,
            2.0,
            2.0,
            -5.0,
            f64::NAN,
        ];
        let s: Vec<Sample> = vals
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(i as i64, v))
            .collect();
        let (max, min) = (lookup("max_over_time").unwrap(), lookup("min_over_time").unwrap());
        for width in 1..=s.len() {
            for (name, f) in [("max_over_time", max), ("min_over_time", min)] {
                let mut x = SlidingExtreme::new(name).unwrap();
                for hi in 1..=s.len() {
                    let lo = hi.saturating_sub(width);
                    let got = x.of(&s, lo, hi);
                    let want = f(&win(&s[lo..hi], 0, 1)).unwrap();
                    assert_eq!(
                        (got.to_bits(), got.is_sign_negative()),
                        (want.to_bits(), want.is_sign_negative()),
                        "{name} of {lo}..{hi}"
                    );
                }
            }
        }
    }

    #[test]
    fn counted_drops_give_the_scanned_answers() {
        let s: Vec<Sample> = [1.0, 3.0, 2.0, 2.0, 7.0, f64::NAN, 1.0, 0.5, 9.0]
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(1000 * (i as i64 + 1), v))
            .collect();
        let mut prefix = Vec::new();
        drops_prefix(&s, &mut prefix);
        assert_eq!(prefix, vec![0, 0, 1, 1, 1, 1, 1, 2, 2]);
        for lo in 0..s.len() {
            for hi in lo + 1..=s.len() {
                let mut w = win(&s[lo..hi], 1000 * lo as i64, 1000 * hi as i64);
                let scanned = (resets(&w), extrapolated_rate(&w, true, true));
                w.drops = Some(prefix[hi - 1] - prefix[lo]);
                let counted = (resets(&w), extrapolated_rate(&w, true, true));
                assert_eq!(
                    format!("{scanned:?}"),
                    format!("{counted:?}"),
                    "window {lo}..{hi}"
                );
            }
        }
    }

    #[test]
    fn rate_extrapolates_to_window_edges() {
        // 5,15,..,45 at 5 s, 20 s, .., 65 s in the window (0, 65 s].
        let s: Vec<Sample> = (0..5)
            .map(|i| Sample::new(15_000 * i + 5_000, 10.0 * i as f64 + 5.0))
            .collect();
        let w = win(&s, 0, 65_000);
        // Start gap 5 s < 16.5 s threshold, zero point 60*5/40 = 7.5 s is further: extend 5 s.
        let inc = extrapolated_rate(&w, true, false).unwrap();
        assert!((inc - 40.0 * 65.0 / 60.0).abs() < 1e-9, "{inc}");
        // Starting at 0, the zero point stops extrapolation at the first sample.
        let s0: Vec<Sample> = s.iter().map(|p| Sample::new(p.t, p.v - 5.0)).collect();
        assert!((extrapolated_rate(&win(&s0, 0, 65_000), true, false).unwrap() - 40.0).abs() < 1e-9);
        // rate divides by the range in seconds.
        assert!((extrapolated_rate(&w, true, true).unwrap() - 40.0 * 65.0 / 60.0 / 65.0).abs() < 1e-12);
    }

    #[test]
    fn counter_reset_is_added_back() {
        let s = vec![
            Sample::new(1000, 5.0),
            Sample::new(2000, 8.0),
            Sample::new(3000, 2.0),
        ];
        let w = win(&s, 0, 3000);
        // increase = 2 - 5 + 8 = 5 over 2 s sampled; start 1 s >= 1.1? no (avg 1 s, threshold 1.1) -> extend 1 s,
        // zero point: 2 * 5/5 = 2 s > 1 s; end 0 s. factor 3/2.
        assert!((extrapolated_rate(&w, true, false).unwrap() - 7.5).abs() < 1e-9);
    }

    #[test]
    fn holt_winters_matches_hand_computation() {
        let s = vec![Sample::new(0, 1.0), Sample::new(1, 2.0), Sample::new(2, 4.0)];
        let mut w = win(&s, -1, 2);
        w.p = [0.5, 0.5];
        // s1=1,b=1; i=1: x=1, y=0.5*(1+1)=1 -> s1=2; i=2: b=0.5*(2-1)+0.5*1=1, x=2, y=0.5*(2+1)=1.5 -> 3.5
        assert_eq!(double_exponential_smoothing(&w), Some(3.5));
    }
}
