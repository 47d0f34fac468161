//! Resuming a delta series' running total from storage: the newest stored sample of the
//! series the total is written to, read back into a [`Total`] of the delta's shape (see
//! [`super::delta`]). Each shape is read from where [`super::translate`] writes it:
//!
//! | delta | stored as | read back |
//! |---|---|---|
//! | sum | one float series | its value |
//! | explicit-bucket histogram | `_bucket{le}` per bound and `+Inf`, `_count`, `_sum` | cumulative bucket values turned back into per-bucket counts |
//! | exponential histogram | a native histogram under the metric's name | its buckets (Prometheus index − 1 = OTLP index), zero bucket, count, sum |
//!
//! A shape whose series are missing, disagree on the timestamp or do not fit the delta's
//! bounds gives `None`: the total restarts from the delta.

use super::delta::{ExpHist, Total};
use crate::push::histogram::{format_le, with_name};
use crate::push::writer::SeriesWriter;
use std::collections::BTreeMap;
use storage::{Labels, LatestSample, Sample};

/// The total stored for the delta series `labels` (metric `name`) in the shape of `delta`,
/// with the time of the sample it was read from (ms).
pub(crate) fn stored_total(
    w: &SeriesWriter<'_>,
    labels: &Labels,
    name: &str,
    delta: &Total,
) -> Option<(i64, Total)> {
    match delta {
        Total::Sum(_) => float(w, labels).map(|s| (s.t, Total::Sum(s.v))),
        Total::Histogram { bounds, .. } => explicit(w, labels, name, bounds),
        Total::Exponential(_) => exponential(w, &with_name(labels, name, "", None)),
    }
}

/// The newest float sample of `labels`.
fn float(w: &SeriesWriter<'_>, labels: &Labels) -> Option<Sample> {
    match w.latest_sample(labels)? {
        LatestSample::Float(s) => Some(s),
        LatestSample::Histogram(_) => None,
    }
}

/// An explicit-bucket total from its classic series, all at one timestamp.
fn explicit(w: &SeriesWriter<'_>, labels: &Labels, name: &str, bounds: &[f64]) -> Option<(i64, Total)> {
    if bounds.iter().any(|b| !b.is_finite()) {
        return None;
    }
    let count = float(w, &with_name(labels, name, "_count", None))?;
    let t = count.t;
    let at_t = |s: Sample| (s.t == t).then_some(s.v);
    let mut counts = Vec::with_capacity(bounds.len() + 1);
    let mut below = 0.0;
    for b in bounds {
        let le = format_le(*b);
        let cumulative = at_t(float(w, &with_name(labels, name, "_bucket", Some(("le", &le))))?)?;
        counts.push(cumulative - below);
        below = cumulative;
    }
    let inf = at_t(float(
        w,
        &with_name(labels, name, "_bucket", Some(("le", "+Inf"))),
    )?)?;
    if !bounds.is_empty() {
        counts.push(inf - below);
    }
    let sum = float(w, &with_name(labels, name, "_sum", None)).and_then(at_t);
    Some((
        t,
        Total::Histogram {
            bounds: bounds.to_vec(),
            counts,
            count: count.v,
            sum,
        },
    ))
}

/// An exponential total from its native histogram series.
fn exponential(w: &SeriesWriter<'_>, series: &Labels) -> Option<(i64, Total)> {
    let LatestSample::Histogram(s) = w.latest_sample(series)? else {
        return None;
    };
    let h = s.h;
    if h.uses_custom_buckets() {
        return None;
    }
    let (positive, negative) = h.bucket_pairs();
    // Prometheus' bucket i covers (base^(i-1), base^i]; OTLP's bucket i covers (base^i, base^(i+1)].
    let otlp = |pairs: Vec<(i32, f64)>| -> BTreeMap<i32, f64> {
        pairs.into_iter().map(|(i, c)| (i.saturating_sub(1), c)).collect()
    };
    Some((
        s.t,
        Total::Exponential(ExpHist {
            scale: h.schema,
            zero_count: h.zero_count,
            zero_threshold: h.zero_threshold,
            positive: otlp(positive),
            negative: otlp(negative),
            count: h.count,
            sum: Some(h.sum),
        }),
    ))
}
