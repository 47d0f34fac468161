//! Native histograms: the sample type beside floats.
//!
//! Two forms, as in Prometheus:
//! - [`Histogram`], integer counts with buckets delta-encoded, the form remote write 1.0/2.0
//!   and the protobuf exposition carry;
//! - [`FloatHistogram`], absolute float counts, the form storage keeps and PromQL computes on
//!   (rates and sums of integer histograms are float histograms).
//!
//! Buckets are described by spans (`offset`, `length`) over bucket indices. For the
//! exponential schemas `-4..=8` the positive bucket with index `i` covers
//! `(base^(i-1), base^i]` with `base = 2^(2^-schema)`, the negative bucket `i` covers
//! `[-base^i, -base^(i-1))` and the zero bucket `[-zero_threshold, zero_threshold]`. For the
//! custom-buckets schema [`CUSTOM_BUCKETS_SCHEMA`] the bucket `i` covers
//! `(custom_values[i-1], custom_values[i]]`, with `-Inf` below the first bound (the first
//! bucket, `[-Inf, custom_values[0]]`, is closed) and `+Inf` above the last; such histograms
//! have no negative or zero buckets.
//!
//! Arithmetic ([`FloatHistogram::add`], [`FloatHistogram::sub`], scaling) follows Prometheus:
//! operands are brought to the coarser schema and the wider zero bucket first.

use super::gofmt::format_go_g;
use std::fmt;

/// The schema number of histograms with custom bucket bounds (`custom_values`).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;
/// The coarsest exponential schema.
pub const MIN_EXPONENTIAL_SCHEMA: i32 = -4;
/// The finest exponential schema.
pub const MAX_EXPONENTIAL_SCHEMA: i32 = 8;

/// A run of `length` consecutive buckets starting `offset` indices after the end of the
/// previous span (for the first span: at index `offset`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketSpan {
    /// Gap to the previous span's end (the first span: the starting index).
    pub offset: i32,
    /// Number of consecutive buckets.
    pub length: u32,
}

impl BucketSpan {
    /// A span of `length` buckets `offset` indices after the previous one.
    pub fn new(offset: i32, length: u32) -> Self {
        BucketSpan { offset, length }
    }
}

/// What the sender says about a counter reset, numbered as in remote write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CounterResetHint {
    /// Not known; detected from the values.
    #[default]
    Unknown = 0,
    /// The counter was reset before this sample.
    CounterReset = 1,
    /// Known not to be a reset.
    NotCounterReset = 2,
    /// A gauge histogram: resets do not apply.
    Gauge = 3,
}

impl CounterResetHint {
    /// The hint with wire number `n` (unknown numbers are [`CounterResetHint::Unknown`]).
    pub fn from_number(n: i32) -> Self {
        match n {
            1 => CounterResetHint::CounterReset,
            2 => CounterResetHint::NotCounterReset,
            3 => CounterResetHint::Gauge,
            _ => CounterResetHint::Unknown,
        }
    }

    /// The wire number.
    pub fn number(self) -> i32 {
        self as i32
    }
}

/// Why a histogram is not valid.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HistogramError {
    /// The schema is neither exponential (`-4..=8`) nor custom (`-53`).
    #[error("histogram schema {0} is out of range (exponential schemas are -4..8, custom buckets -53)")]
    SchemaOutOfRange(i32),
    /// The spans cover a different number of buckets than were given.
    #[error("{side} spans cover {spans} buckets but {buckets} bucket counts were given")]
    SpansMismatch {
        /// `positive` or `negative`.
        side: &'static str,
        /// Buckets the spans cover.
        spans: u64,
        /// Bucket counts given.
        buckets: usize,
    },
    /// A span after the first has a negative offset (spans must ascend).
    #[error("{side} span {index} has negative offset {offset}")]
    NegativeSpanOffset {
        /// `positive` or `negative`.
        side: &'static str,
        /// Index of the span.
        index: usize,
        /// Its offset.
        offset: i32,
    },
    /// A bucket count is negative (or NaN).
    #[error("{side} bucket {index} has count {count}, which is negative")]
    NegativeBucketCount {
        /// `positive` or `negative`.
        side: &'static str,
        /// Bucket index.
        index: i32,
        /// The count.
        count: f64,
    },
    /// The zero bucket's count is negative or NaN.
    #[error("zero bucket count {0} is negative")]
    NegativeZeroCount(f64),
    /// The total count is negative or NaN.
    #[error("count {0} is negative")]
    NegativeCount(f64),
    /// The zero threshold is negative or NaN.
    #[error("zero threshold {0} is negative or not a number")]
    BadZeroThreshold(f64),
    /// The count is below the observations in the buckets.
    #[error("{buckets} observations found in buckets, but the count is {count}")]
    CountBelowBuckets {
        /// Sum of all bucket counts.
        buckets: f64,
        /// The count field.
        count: f64,
    },
    /// An integer histogram's count differs from its buckets' sum (with a non-NaN sum).
    #[error("{buckets} observations found in buckets, but the count is {count}")]
    CountMismatch {
        /// Sum of all bucket counts.
        buckets: u64,
        /// The count field.
        count: u64,
    },
    /// Custom-bucket bounds are not strictly increasing, or are not finite.
    #[error("custom bucket bounds must be finite and strictly increasing: {0}")]
    BadCustomBounds(String),
    /// A custom-bucket histogram has fields only exponential ones may have.
    #[error("custom-buckets histogram must not have {0}")]
    CustomBucketsField(&'static str),
    /// A custom-bucket index is outside the bounds given.
    #[error(
        "custom-buckets histogram has bucket index {index}, but only {bounds} bounds (indices 0..={bounds})"
    )]
    CustomBucketIndex {
        /// The index.
        index: i32,
        /// Number of bounds.
        bounds: usize,
    },
    /// An exponential histogram carries custom bounds.
    #[error("exponential histogram (schema {0}) must not have custom bucket bounds")]
    UnexpectedCustomValues(i32),
    /// Two histograms cannot be combined.
    #[error("{0}")]
    Incompatible(String),
}

/// An integer-count native histogram with delta-encoded buckets (each bucket's count is the
/// previous bucket's plus its delta, within one side).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// Counter-reset hint.
    pub counter_reset_hint: CounterResetHint,
    /// Bucket schema.
    pub schema: i32,
    /// Half-width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Total observations (including NaN observations, which no bucket holds).
    pub count: u64,
    /// Sum of observations; [`crate::STALE_NAN`] marks a stale histogram.
    pub sum: f64,
    /// Spans of populated positive buckets.
    pub positive_spans: Vec<BucketSpan>,
    /// Spans of populated negative buckets.
    pub negative_spans: Vec<BucketSpan>,
    /// Positive bucket counts as deltas.
    pub positive_deltas: Vec<i64>,
    /// Negative bucket counts as deltas.
    pub negative_deltas: Vec<i64>,
    /// Upper bounds of the custom buckets (schema [`CUSTOM_BUCKETS_SCHEMA`] only).
    pub custom_values: Vec<f64>,
}

/// A native histogram with absolute float counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloatHistogram {
    /// Counter-reset hint.
    pub counter_reset_hint: CounterResetHint,
    /// Bucket schema.
    pub schema: i32,
    /// Half-width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: f64,
    /// Total observations.
    pub count: f64,
    /// Sum of observations; [`crate::STALE_NAN`] marks a stale histogram.
    pub sum: f64,
    /// Spans of populated positive buckets.
    pub positive_spans: Vec<BucketSpan>,
    /// Spans of populated negative buckets.
    pub negative_spans: Vec<BucketSpan>,
    /// Positive bucket counts, absolute.
    pub positive_buckets: Vec<f64>,
    /// Negative bucket counts, absolute.
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the custom buckets (schema [`CUSTOM_BUCKETS_SCHEMA`] only).
    pub custom_values: Vec<f64>,
}

/// A histogram sample: milliseconds since the Unix epoch and a float histogram.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSample {
    /// Timestamp in milliseconds since the Unix epoch.
    pub t: i64,
    /// The histogram.
    pub h: FloatHistogram,
}

/// One bucket with its bounds, as the HTTP API lists them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Whether `lower` belongs to the bucket.
    pub lower_inclusive: bool,
    /// Whether `upper` belongs to the bucket.
    pub upper_inclusive: bool,
    /// Observations in the bucket.
    pub count: f64,
}

impl Bucket {
    /// Prometheus' boundary rule number: 0 `(lower, upper]`, 1 `[lower, upper)`, 2 both open,
    /// 3 both closed.
    pub fn boundary_rule(&self) -> u8 {
        match (self.lower_inclusive, self.upper_inclusive) {
            (false, true) => 0,
            (true, false) => 1,
            (false, false) => 2,
            (true, true) => 3,
        }
    }
}

/// Whether `schema` is one storage accepts.
pub fn is_valid_schema(schema: i32) -> bool {
    schema == CUSTOM_BUCKETS_SCHEMA || (MIN_EXPONENTIAL_SCHEMA..=MAX_EXPONENTIAL_SCHEMA).contains(&schema)
}

pub use super::bucket_bounds::exponential_upper_bound;

/// The bucket index at `target` schema that bucket `index` at the finer `origin` schema falls
/// into.
pub fn reduced_index(index: i32, origin: i32, target: i32) -> i32 {
    ((index - 1) >> (origin - target)) + 1
}

/// Expands spans into the absolute index of each bucket.
fn span_indices(spans: &[BucketSpan]) -> impl Iterator<Item = i32> + '_ {
    let mut next = 0i32;
    spans.iter().flat_map(move |s| {
        let start = next.wrapping_add(s.offset);
        next = start.wrapping_add(s.length as i32);
        (0..s.length as i32).map(move |k| start.wrapping_add(k))
    })
}

fn check_spans(side: &'static str, spans: &[BucketSpan], buckets: usize) -> Result<(), HistogramError> {
    for (i, s) in spans.iter().enumerate().skip(1) {
        if s.offset < 0 {
            return Err(HistogramError::NegativeSpanOffset {
                side,
                index: i,
                offset: s.offset,
            });
        }
    }
    let covered: u64 = spans.iter().map(|s| u64::from(s.length)).sum();
    if covered != buckets as u64 {
        return Err(HistogramError::SpansMismatch {
            side,
            spans: covered,
            buckets,
        });
    }
    Ok(())
}

fn check_custom(
    schema: i32,
    custom_values: &[f64],
    has_negative: bool,
    zero_threshold: f64,
    zero_count_nonzero: bool,
    positive_spans: &[BucketSpan],
) -> Result<(), HistogramError> {
    if schema != CUSTOM_BUCKETS_SCHEMA {
        if !custom_values.is_empty() {
            return Err(HistogramError::UnexpectedCustomValues(schema));
        }
        return Ok(());
    }
    if has_negative {
        return Err(HistogramError::CustomBucketsField("negative buckets"));
    }
    if zero_threshold != 0.0 {
        return Err(HistogramError::CustomBucketsField("a zero threshold"));
    }
    if zero_count_nonzero {
        return Err(HistogramError::CustomBucketsField("a zero bucket count"));
    }
    for w in custom_values.windows(2) {
        if w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less) {
            return Err(HistogramError::BadCustomBounds(format!(
                "{} is followed by {}",
                w[0], w[1]
            )));
        }
    }
    if let Some(v) = custom_values.iter().find(|v| !v.is_finite()) {
        return Err(HistogramError::BadCustomBounds(format!(
            "bound {v} is not finite"
        )));
    }
    for index in span_indices(positive_spans) {
        if index < 0 || index as usize > custom_values.len() {
            return Err(HistogramError::CustomBucketIndex {
                index,
                bounds: custom_values.len(),
            });
        }
    }
    Ok(())
}

/// `v >= 0` (false for NaN).
fn non_negative(v: f64) -> bool {
    v >= 0.0
}

fn check_schema(schema: i32) -> Result<(), HistogramError> {
    if is_valid_schema(schema) {
        Ok(())
    } else {
        Err(HistogramError::SchemaOutOfRange(schema))
    }
}

impl Histogram {
    /// Whether this histogram uses custom bucket bounds.
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }

    /// Checks schema, spans, counts (no bucket below zero, the count equal to the buckets'
    /// sum, or at least it when the sum is NaN) and custom bounds.
    pub fn validate(&self) -> Result<(), HistogramError> {
        check_schema(self.schema)?;
        check_spans("positive", &self.positive_spans, self.positive_deltas.len())?;
        check_spans("negative", &self.negative_spans, self.negative_deltas.len())?;
        if !non_negative(self.zero_threshold) {
            return Err(HistogramError::BadZeroThreshold(self.zero_threshold));
        }
        check_custom(
            self.schema,
            &self.custom_values,
            !self.negative_spans.is_empty() || !self.negative_deltas.is_empty(),
            self.zero_threshold,
            self.zero_count != 0,
            &self.positive_spans,
        )?;
        let mut total = u128::from(self.zero_count);
        for (side, spans, deltas) in [
            ("positive", &self.positive_spans, &self.positive_deltas),
            ("negative", &self.negative_spans, &self.negative_deltas),
        ] {
            let mut current: i128 = 0;
            for (index, d) in span_indices(spans).zip(deltas.iter()) {
                current += i128::from(*d);
                if current < 0 {
                    return Err(HistogramError::NegativeBucketCount {
                        side,
                        index,
                        count: current as f64,
                    });
                }
                total += current as u128;
            }
        }
        let count = u128::from(self.count);
        if self.sum.is_nan() {
            if total > count {
                return Err(HistogramError::CountBelowBuckets {
                    buckets: total as f64,
                    count: self.count as f64,
                });
            }
        } else if total != count {
            return Err(HistogramError::CountMismatch {
                buckets: u64::try_from(total).unwrap_or(u64::MAX),
                count: self.count,
            });
        }
        Ok(())
    }

    /// The same histogram with absolute float counts. Valid input assumed (deltas that
    /// accumulate below zero give negative counts).
    pub fn to_float(&self) -> FloatHistogram {
        FloatHistogram {
            counter_reset_hint: self.counter_reset_hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count as f64,
            count: self.count as f64,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            negative_spans: self.negative_spans.clone(),
            positive_buckets: cumulate(&self.positive_deltas),
            negative_buckets: cumulate(&self.negative_deltas),
            custom_values: self.custom_values.clone(),
        }
    }
}

fn cumulate(deltas: &[i64]) -> Vec<f64> {
    let mut current = 0i64;
    deltas
        .iter()
        .map(|d| {
            current = current.wrapping_add(*d);
            current as f64
        })
        .collect()
}

fn integral(v: f64) -> Option<u64> {
    if v >= 0.0 && v.fract() == 0.0 && v < 9_007_199_254_740_992.0 {
        Some(v as u64)
    } else {
        None
    }
}

fn to_deltas(buckets: &[f64]) -> Option<Vec<i64>> {
    let mut prev = 0i64;
    buckets
        .iter()
        .map(|b| {
            let c = integral(*b)? as i64;
            let d = c - prev;
            prev = c;
            Some(d)
        })
        .collect()
}

/// The buckets of one side of a histogram as (index, count) pairs, ascending by index.
pub type IndexedBuckets = Vec<(i32, f64)>;

/// A histogram as sorted (index, count) pairs per side, the form arithmetic works on.
#[derive(Clone, Debug, Default)]
struct Sparse {
    positive: Vec<(i32, f64)>,
    negative: Vec<(i32, f64)>,
}

fn sparse_side(spans: &[BucketSpan], buckets: &[f64]) -> Vec<(i32, f64)> {
    span_indices(spans).zip(buckets.iter().copied()).collect()
}

/// Spans and counts from sorted (index, count) pairs; pairs with count 0 are dropped and gaps
/// of up to `max_gap` empty buckets inside spans are kept as zeros to save spans.
fn dense_side(pairs: &[(i32, f64)], max_gap: i32) -> (Vec<BucketSpan>, Vec<f64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut buckets = Vec::new();
    let mut end: Option<i32> = None; // one past the last index emitted
    for &(index, count) in pairs {
        if count == 0.0 {
            continue;
        }
        match end {
            Some(e) if index - e <= max_gap && index >= e => {
                buckets.resize(buckets.len() + (index - e) as usize, 0.0);
                if let Some(last) = spans.last_mut() {
                    last.length += (index - e) as u32 + 1;
                }
            }
            Some(e) => {
                spans.push(BucketSpan::new(index - e, 1));
            }
            None => spans.push(BucketSpan::new(index, 1)),
        }
        buckets.push(count);
        end = Some(index + 1);
    }
    (spans, buckets)
}

/// Merges two sorted (index, count) lists, combining equal indices with `f`.
fn merge_pairs(a: &[(i32, f64)], b: &[(i32, f64)], f: impl Fn(f64, f64) -> f64) -> Vec<(i32, f64)> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if j == b.len() || (i < a.len() && a[i].0 < b[j].0) {
            out.push((a[i].0, f(a[i].1, 0.0)));
            i += 1;
        } else if i == a.len() || b[j].0 < a[i].0 {
            out.push((b[j].0, f(0.0, b[j].1)));
            j += 1;
        } else {
            out.push((a[i].0, f(a[i].1, b[j].1)));
            i += 1;
            j += 1;
        }
    }
    out
}

/// Re-buckets sorted pairs from `origin` to the coarser `target` schema.
fn reduce_pairs(pairs: &[(i32, f64)], origin: i32, target: i32) -> Vec<(i32, f64)> {
    let mut out: Vec<(i32, f64)> = Vec::with_capacity(pairs.len());
    for &(index, count) in pairs {
        let t = reduced_index(index, origin, target);
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 += count,
            _ => out.push((t, count)),
        }
    }
    out
}

impl FloatHistogram {
    /// Whether this histogram uses custom bucket bounds.
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }

    /// Whether this is a stale marker (its sum is the staleness NaN).
    pub fn is_stale(&self) -> bool {
        crate::is_stale_nan(self.sum)
    }

    /// A stale-marker histogram.
    pub fn stale() -> Self {
        FloatHistogram {
            sum: crate::STALE_NAN,
            ..Default::default()
        }
    }

    /// Checks schema, spans, counts (none negative or NaN, the count not below the buckets'
    /// sum beyond float rounding) and custom bounds.
    pub fn validate(&self) -> Result<(), HistogramError> {
        check_schema(self.schema)?;
        check_spans("positive", &self.positive_spans, self.positive_buckets.len())?;
        check_spans("negative", &self.negative_spans, self.negative_buckets.len())?;
        if !non_negative(self.zero_threshold) {
            return Err(HistogramError::BadZeroThreshold(self.zero_threshold));
        }
        check_custom(
            self.schema,
            &self.custom_values,
            !self.negative_spans.is_empty() || !self.negative_buckets.is_empty(),
            self.zero_threshold,
            self.zero_count != 0.0,
            &self.positive_spans,
        )?;
        if !non_negative(self.zero_count) {
            return Err(HistogramError::NegativeZeroCount(self.zero_count));
        }
        if !non_negative(self.count) {
            return Err(HistogramError::NegativeCount(self.count));
        }
        let mut total = self.zero_count;
        for (side, spans, buckets) in [
            ("positive", &self.positive_spans, &self.positive_buckets),
            ("negative", &self.negative_spans, &self.negative_buckets),
        ] {
            for (index, c) in span_indices(spans).zip(buckets.iter()) {
                if !non_negative(*c) {
                    return Err(HistogramError::NegativeBucketCount {
                        side,
                        index,
                        count: *c,
                    });
                }
                total += c;
            }
        }
        // Float rounding may make the sum of buckets exceed the count slightly.
        if total > self.count * (1.0 + 1e-9) + 1e-9 {
            return Err(HistogramError::CountBelowBuckets {
                buckets: total,
                count: self.count,
            });
        }
        Ok(())
    }

    /// The integer form, when every count is a whole number below 2^53.
    pub fn to_integer(&self) -> Option<Histogram> {
        Some(Histogram {
            counter_reset_hint: self.counter_reset_hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: integral(self.zero_count)?,
            count: integral(self.count)?,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            negative_spans: self.negative_spans.clone(),
            positive_deltas: to_deltas(&self.positive_buckets)?,
            negative_deltas: to_deltas(&self.negative_buckets)?,
            custom_values: self.custom_values.clone(),
        })
    }

    fn sparse(&self) -> Sparse {
        Sparse {
            positive: sparse_side(&self.positive_spans, &self.positive_buckets),
            negative: sparse_side(&self.negative_spans, &self.negative_buckets),
        }
    }

    fn set_sparse(&mut self, s: &Sparse) {
        let (ps, pb) = dense_side(&s.positive, 0);
        let (ns, nb) = dense_side(&s.negative, 0);
        self.positive_spans = ps;
        self.positive_buckets = pb;
        self.negative_spans = ns;
        self.negative_buckets = nb;
    }

    /// Sets the buckets from (index, count) pairs per side, ascending by index (pairs with
    /// count 0 are left out of the spans).
    pub fn set_buckets(&mut self, positive: &[(i32, f64)], negative: &[(i32, f64)]) {
        self.set_sparse(&Sparse {
            positive: positive.to_vec(),
            negative: negative.to_vec(),
        });
    }

    /// The buckets as (index, count) pairs per side (positive, negative), ascending by
    /// index: the inverse of [`FloatHistogram::set_buckets`].
    pub fn bucket_pairs(&self) -> (IndexedBuckets, IndexedBuckets) {
        let s = self.sparse();
        (s.positive, s.negative)
    }

    /// Drops empty buckets and merges adjacent spans (the layout PromQL results have).
    pub fn compact(&mut self) {
        let s = self.sparse();
        self.set_sparse(&s);
    }

    /// The bounds of bucket `index` (positive side; the negative side mirrors them).
    fn bounds(&self, index: i32) -> (f64, f64) {
        if self.uses_custom_buckets() {
            let n = self.custom_values.len() as i32;
            let lower = if index <= 0 {
                f64::NEG_INFINITY
            } else {
                self.custom_values[(index - 1).min(n - 1) as usize]
            };
            let upper = if index >= n {
                f64::INFINITY
            } else {
                self.custom_values[index as usize]
            };
            (lower, upper)
        } else {
            (
                exponential_upper_bound(index - 1, self.schema),
                exponential_upper_bound(index, self.schema),
            )
        }
    }

    /// Every bucket in ascending order of value: negative buckets, the zero bucket (when its
    /// threshold or count is not zero), positive buckets. Empty buckets are included as
    /// stored; callers filter them when they need to.
    pub fn buckets(&self) -> Vec<Bucket> {
        let mut out = Vec::with_capacity(self.positive_buckets.len() + self.negative_buckets.len() + 1);
        let negative: Vec<(i32, f64)> = sparse_side(&self.negative_spans, &self.negative_buckets);
        for &(index, count) in negative.iter().rev() {
            let (lo, hi) = self.bounds(index);
            out.push(self.bucket(index, -hi, -lo, count));
        }
        if !self.uses_custom_buckets() && (self.zero_threshold != 0.0 || self.zero_count != 0.0) {
            out.push(Bucket {
                lower: -self.zero_threshold,
                upper: self.zero_threshold,
                lower_inclusive: true,
                upper_inclusive: true,
                count: self.zero_count,
            });
        }
        for (index, count) in sparse_side(&self.positive_spans, &self.positive_buckets) {
            let (lower, upper) = self.bounds(index);
            out.push(self.bucket(index, lower, upper, count));
        }
        out
    }

    /// A bucket with Prometheus' inclusiveness (`baseBucketIterator.at`): a custom bucket
    /// holds its upper bound, and the first one, from -Inf, its lower bound too; an
    /// exponential bucket holds the bound farther from zero (`(lower, upper]` above zero,
    /// `[lower, upper)` below).
    fn bucket(&self, index: i32, lower: f64, upper: f64, count: f64) -> Bucket {
        let (lower_inclusive, upper_inclusive) = if self.uses_custom_buckets() {
            (index == 0, true)
        } else {
            (lower < 0.0, upper > 0.0)
        };
        Bucket {
            lower,
            upper,
            lower_inclusive,
            upper_inclusive,
            count,
        }
    }

    /// Lowers the resolution to `target` (coarser, `target <= schema`), merging buckets.
    /// Custom-bucket histograms are left as they are.
    pub fn reduce_resolution(&mut self, target: i32) {
        if self.uses_custom_buckets() || target >= self.schema {
            return;
        }
        let s = self.sparse();
        let reduced = Sparse {
            positive: reduce_pairs(&s.positive, self.schema, target),
            negative: reduce_pairs(&s.negative, self.schema, target),
        };
        self.schema = target;
        self.set_sparse(&reduced);
    }

    /// Widens the zero bucket to at least `threshold`: buckets whose upper bound lies within it
    /// move into the zero count. The threshold grows to the upper bound of the last bucket
    /// merged when that is larger (as Prometheus does), so no bucket is split.
    pub fn widen_zero_bucket(&mut self, threshold: f64) {
        if self.uses_custom_buckets() || threshold <= self.zero_threshold {
            return;
        }
        let mut s = self.sparse();
        let mut new_threshold = threshold;
        loop {
            let mut moved = false;
            for side in [&mut s.positive, &mut s.negative] {
                while let Some(&(index, count)) = side.first() {
                    let lower = exponential_upper_bound(index - 1, self.schema);
                    if lower >= new_threshold {
                        break;
                    }
                    let upper = exponential_upper_bound(index, self.schema);
                    if upper > new_threshold {
                        new_threshold = upper;
                        moved = true;
                    }
                    self.zero_count += count;
                    side.remove(0);
                }
            }
            if !moved {
                break;
            }
        }
        self.zero_threshold = new_threshold;
        self.set_sparse(&s);
    }

    /// Brings `self` and `other` to a common layout: the coarser schema and the wider zero
    /// bucket. Fails when one uses custom buckets and the other does not, or their custom
    /// bounds differ.
    fn align(&mut self, other: &mut FloatHistogram) -> Result<(), HistogramError> {
        match (self.uses_custom_buckets(), other.uses_custom_buckets()) {
            (true, true) => {
                if self.custom_values != other.custom_values {
                    return Err(HistogramError::Incompatible(
                        "histograms with different custom bucket bounds cannot be combined".into(),
                    ));
                }
                return Ok(());
            }
            (false, false) => {}
            _ => {
                return Err(HistogramError::Incompatible(
                    "a histogram with custom buckets cannot be combined with an exponential one".into(),
                ))
            }
        }
        let schema = self.schema.min(other.schema);
        self.reduce_resolution(schema);
        other.reduce_resolution(schema);
        let threshold = self.zero_threshold.max(other.zero_threshold);
        self.widen_zero_bucket(threshold);
        other.widen_zero_bucket(threshold);
        // Widening one may have widened it past the other's.
        let threshold = self.zero_threshold.max(other.zero_threshold);
        self.widen_zero_bucket(threshold);
        other.widen_zero_bucket(threshold);
        Ok(())
    }

    fn combine(
        &mut self,
        other: &FloatHistogram,
        f: impl Fn(f64, f64) -> f64 + Copy,
    ) -> Result<(), HistogramError> {
        let mut other = other.clone();
        self.align(&mut other)?;
        let a = self.sparse();
        let b = other.sparse();
        let merged = Sparse {
            positive: merge_pairs(&a.positive, &b.positive, f),
            negative: merge_pairs(&a.negative, &b.negative, f),
        };
        self.zero_count = f(self.zero_count, other.zero_count);
        self.count = f(self.count, other.count);
        self.sum = f(self.sum, other.sum);
        self.set_sparse(&merged);
        Ok(())
    }

    /// Adds `other` bucket by bucket (after aligning schema and zero bucket).
    pub fn add(&mut self, other: &FloatHistogram) -> Result<(), HistogramError> {
        self.combine(other, |a, b| a + b)
    }

    /// Subtracts `other` bucket by bucket (after aligning schema and zero bucket). Results
    /// may hold negative counts; callers decide what that means.
    pub fn sub(&mut self, other: &FloatHistogram) -> Result<(), HistogramError> {
        self.combine(other, |a, b| a - b)
    }

    /// Multiplies every count and the sum by `factor`.
    pub fn mul(&mut self, factor: f64) {
        self.zero_count *= factor;
        self.count *= factor;
        self.sum *= factor;
        self.positive_buckets.iter_mut().for_each(|b| *b *= factor);
        self.negative_buckets.iter_mut().for_each(|b| *b *= factor);
    }

    /// Divides every count and the sum by `divisor`.
    pub fn div(&mut self, divisor: f64) {
        self.zero_count /= divisor;
        self.count /= divisor;
        self.sum /= divisor;
        self.positive_buckets.iter_mut().for_each(|b| *b /= divisor);
        self.negative_buckets.iter_mut().for_each(|b| *b /= divisor);
    }

    /// Whether `self` follows `previous` across a counter reset, as Prometheus decides: the
    /// hint when it says yes or no; otherwise a lower count, a finer schema, a narrower zero
    /// bucket, a change of custom bounds, or any bucket (at the coarser layout) lower than
    /// before.
    pub fn detect_reset(&self, previous: &FloatHistogram) -> bool {
        match self.counter_reset_hint {
            CounterResetHint::CounterReset => return true,
            CounterResetHint::NotCounterReset => return false,
            _ => {}
        }
        if self.count < previous.count {
            return true;
        }
        if self.uses_custom_buckets() != previous.uses_custom_buckets()
            || (self.uses_custom_buckets() && self.custom_values != previous.custom_values)
        {
            return true;
        }
        if self.schema > previous.schema || self.zero_threshold < previous.zero_threshold {
            return true;
        }
        let mut prev = previous.clone();
        prev.reduce_resolution(self.schema);
        prev.widen_zero_bucket(self.zero_threshold);
        if prev.zero_threshold != self.zero_threshold || self.zero_count < prev.zero_count {
            return true;
        }
        let cur = self.sparse();
        let old = prev.sparse();
        for (cur_side, old_side) in [(&cur.positive, &old.positive), (&cur.negative, &old.negative)] {
            let mut j = 0;
            for &(index, count) in old_side {
                if count == 0.0 {
                    continue;
                }
                while j < cur_side.len() && cur_side[j].0 < index {
                    j += 1;
                }
                let now = if j < cur_side.len() && cur_side[j].0 == index {
                    cur_side[j].1
                } else {
                    0.0
                };
                if now < count {
                    return true;
                }
            }
        }
        false
    }

    /// The histogram made of this one's buckets at the layout of `other`'s schema; used by
    /// callers that need equal layouts without changing both.
    pub fn aligned_with(
        &self,
        other: &FloatHistogram,
    ) -> Result<(FloatHistogram, FloatHistogram), HistogramError> {
        let mut a = self.clone();
        let mut b = other.clone();
        a.align(&mut b)?;
        Ok((a, b))
    }
}

impl fmt::Display for FloatHistogram {
    /// `{count:5, sum:10, [-1,-0.5):1, [-0.001,0.001]:1, (0.5,1]:3}`, like Prometheus' String().
    /// Numbers as Go's `%g` writes them (`1e+06`), as `count_values` labels show them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{count:{}, sum:{}",
            format_go_g(self.count),
            format_go_g(self.sum)
        )?;
        for b in self.buckets() {
            if b.count == 0.0 {
                continue;
            }
            let open = if b.lower_inclusive { '[' } else { '(' };
            let close = if b.upper_inclusive { ']' } else { ')' };
            write!(
                f,
                ", {open}{},{}{close}:{}",
                format_go_g(b.lower),
                format_go_g(b.upper),
                format_go_g(b.count)
            )?;
        }
        write!(f, "}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(schema: i32, spans: &[(i32, u32)], buckets: &[f64]) -> FloatHistogram {
        let count = buckets.iter().sum();
        FloatHistogram {
            schema,
            count,
            sum: 1.0,
            positive_spans: spans.iter().map(|&(o, l)| BucketSpan::new(o, l)).collect(),
            positive_buckets: buckets.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn bounds_at_schema_zero_and_three() {
        assert_eq!(exponential_upper_bound(0, 0), 1.0);
        assert_eq!(exponential_upper_bound(1, 0), 2.0);
        assert_eq!(exponential_upper_bound(-1, 0), 0.5);
        assert_eq!(exponential_upper_bound(8, 3), 2.0);
        assert_eq!(exponential_upper_bound(1, -2), 16.0);
        assert!((exponential_upper_bound(1, 1) - std::f64::consts::SQRT_2).abs() < 1e-15);
        assert_eq!(exponential_upper_bound(1024, 0), f64::MAX);
    }

    #[test]
    fn integer_histogram_validates_and_converts() {
        let ih = Histogram {
            schema: 0,
            count: 5,
            zero_count: 1,
            sum: 10.0,
            positive_spans: vec![BucketSpan::new(0, 2), BucketSpan::new(1, 1)],
            positive_deltas: vec![1, 1, -1],
            ..Default::default()
        };
        assert_eq!(ih.validate(), Ok(()));
        let fh = ih.to_float();
        assert_eq!(fh.positive_buckets, vec![1.0, 2.0, 1.0]);
        assert_eq!(fh.to_integer(), Some(ih.clone()));
        let bad = Histogram {
            count: 7,
            ..ih.clone()
        };
        assert!(matches!(
            bad.validate(),
            Err(HistogramError::CountMismatch { buckets: 5, count: 7 })
        ));
        let neg = Histogram {
            positive_deltas: vec![1, -2, 3],
            ..ih.clone()
        };
        assert!(matches!(
            neg.validate(),
            Err(HistogramError::NegativeBucketCount { .. })
        ));
        let spans = Histogram {
            positive_deltas: vec![1, 1],
            ..ih.clone()
        };
        assert!(matches!(
            spans.validate(),
            Err(HistogramError::SpansMismatch { .. })
        ));
        let schema = Histogram { schema: 9, ..ih };
        assert_eq!(schema.validate(), Err(HistogramError::SchemaOutOfRange(9)));
    }

    #[test]
    fn custom_buckets_rules() {
        let mut c = h(CUSTOM_BUCKETS_SCHEMA, &[(0, 3)], &[1.0, 2.0, 3.0]);
        c.custom_values = vec![1.0, 5.0];
        assert_eq!(c.validate(), Ok(()));
        let b = c.buckets();
        assert_eq!(b[0].lower, f64::NEG_INFINITY);
        assert_eq!(b[0].upper, 1.0);
        assert_eq!(b[2].lower, 5.0);
        assert_eq!(b[2].upper, f64::INFINITY);
        let mut too_many = c.clone();
        too_many.positive_spans = vec![BucketSpan::new(0, 4)];
        too_many.positive_buckets.push(1.0);
        too_many.count += 1.0;
        assert!(matches!(
            too_many.validate(),
            Err(HistogramError::CustomBucketIndex { .. })
        ));
        let mut unsorted = c.clone();
        unsorted.custom_values = vec![5.0, 1.0];
        assert!(matches!(
            unsorted.validate(),
            Err(HistogramError::BadCustomBounds(_))
        ));
    }

    #[test]
    fn add_reduces_to_the_coarser_schema() {
        let mut a = h(1, &[(1, 2)], &[1.0, 2.0]); // indices 1,2 at schema 1
        let b = h(0, &[(1, 1)], &[4.0]); // index 1 at schema 0 = (1,2]
        a.add(&b).unwrap();
        assert_eq!(a.schema, 0);
        // schema 1 index 1 (1,√2] and 2 (√2,2] both fall into schema 0 index 1.
        assert_eq!(a.positive_buckets, vec![7.0]);
        assert_eq!(a.count, 7.0);
    }

    #[test]
    fn reset_detection() {
        let prev = h(0, &[(0, 2)], &[2.0, 2.0]);
        let mut cur = h(0, &[(0, 2)], &[3.0, 1.0]);
        cur.count = 5.0;
        assert!(cur.detect_reset(&prev), "a bucket went down");
        let grown = h(0, &[(0, 3)], &[2.0, 2.0, 1.0]);
        assert!(!grown.detect_reset(&prev));
        let mut hinted = grown.clone();
        hinted.counter_reset_hint = CounterResetHint::CounterReset;
        assert!(hinted.detect_reset(&prev));
    }

    #[test]
    fn widen_zero_bucket_moves_small_buckets() {
        let mut a = h(0, &[(-2, 4)], &[1.0, 1.0, 1.0, 1.0]); // (1/8,1/4], (1/4,1/2], (1/2,1], (1,2]
        a.zero_threshold = 0.1;
        a.widen_zero_bucket(0.3);
        assert_eq!(a.zero_threshold, 0.5);
        assert_eq!(a.zero_count, 2.0);
        assert_eq!(a.positive_buckets, vec![1.0, 1.0]);
    }

    #[test]
    fn compact_drops_empty_buckets() {
        let mut a = h(0, &[(0, 4)], &[1.0, 0.0, 0.0, 2.0]);
        a.compact();
        assert_eq!(
            a.positive_spans,
            vec![BucketSpan::new(0, 1), BucketSpan::new(2, 1)]
        );
        assert_eq!(a.positive_buckets, vec![1.0, 2.0]);
        assert_eq!(a.to_string(), "{count:3, sum:1, (0.5,1]:1, (4,8]:2}");
    }
}
