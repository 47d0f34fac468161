//! The evaluator's state and the values between nodes; the walk over the AST that evaluates
//! every node over all steps of the query at once is in [`super::walk`].
//!
//! Values between nodes ([`Val`]) are whole-range: a scalar has one value per step, an
//! instant vector is a list of series whose points sit at step timestamps, and a range
//! vector ([`RangeVal`]) keeps the raw samples once together with how to cut the window of
//! each step.

use super::Control;
use crate::error::{QueryError, Result};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use storage::{is_stale_nan, DecodeScratch, HistogramSample, Labels, LazySeries, Queryable, Sample, Series};

/// The evaluation steps: `start..=end` every `step` ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Steps {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Steps {
    /// Number of steps.
    pub(crate) fn len(&self) -> usize {
        ((self.end - self.start) / self.step + 1) as usize
    }

    /// Timestamp of step `i`.
    pub(crate) fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    /// Index of the step at timestamp `t` (which must be a step timestamp).
    pub(crate) fn index(&self, t: i64) -> usize {
        ((t - self.start) / self.step) as usize
    }
}

/// The series of a range vector.
#[derive(Debug)]
pub(crate) enum RangeSeries {
    /// Evaluated already (a subquery), without staleness markers.
    Eager(Vec<Series>),
    /// Selected from storage, sorted by labels, decoded when read (staleness markers are
    /// dropped then), so that the raw samples of a large selection are never all in memory.
    Lazy(Vec<LazySeries>),
}

impl RangeSeries {
    /// Number of series (for `Lazy`, an upper bound: some may decode to nothing).
    pub(crate) fn len(&self) -> usize {
        match self {
            RangeSeries::Eager(v) => v.len(),
            RangeSeries::Lazy(v) => v.len(),
        }
    }

    /// The labels of series `i`.
    pub(crate) fn labels(&self, i: usize) -> &Labels {
        match self {
            RangeSeries::Eager(v) => &v[i].labels,
            RangeSeries::Lazy(v) => v[i].labels(),
        }
    }

    /// Applies `f` to the labels and samples of every non-empty series among `range` (in
    /// parallel when there are many), in order. `f` returning `None` drops the series.
    pub(crate) fn map<T: Send>(
        &self,
        ctl: &Control,
        range: std::ops::Range<usize>,
        f: impl Fn(&Labels, &[Sample], &[HistogramSample]) -> Result<Option<T>> + Sync + Send,
    ) -> Result<Vec<T>> {
        match self {
            RangeSeries::Eager(v) => {
                let v = &v[range];
                let g = |s: &Series| -> Result<Option<T>> {
                    ctl.check("expression evaluation")?;
                    if s.samples.is_empty() && s.histograms.is_empty() {
                        return Ok(None);
                    }
                    f(&s.labels, &s.samples, &s.histograms)
                };
                let out: Vec<Option<T>> = if v.len() >= PARALLEL_THRESHOLD {
                    v.par_iter().map(g).collect::<Result<_>>()?
                } else {
                    v.iter().map(g).collect::<Result<_>>()?
                };
                Ok(out.into_iter().flatten().collect())
            }
            RangeSeries::Lazy(v) => map_decoded(ctl, &v[range], true, f),
        }
    }

    /// Decodes every series (staleness markers dropped, empty series skipped).
    pub(crate) fn materialize(self, ctl: &Control) -> Result<Vec<Series>> {
        match self {
            RangeSeries::Eager(v) => Ok(v),
            RangeSeries::Lazy(_) => {
                let n = self.len();
                self.map(ctl, 0..n, |l, s, h| {
                    Ok(Some(Series {
                        labels: l.clone(),
                        samples: s.to_vec(),
                        histograms: h.to_vec(),
                    }))
                })
            }
        }
    }
}

/// A range vector: raw samples (no staleness markers) and the window of each step,
/// `(eval_t - range, eval_t]` with `eval_t = (at or step time) - offset`.
#[derive(Debug)]
pub(crate) struct RangeVal {
    pub series: RangeSeries,
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
}

impl RangeVal {
    /// The end of the window evaluated at step time `ts`.
    pub(crate) fn eval_time(&self, ts: i64) -> i64 {
        self.at.unwrap_or(ts) - self.offset
    }

    /// The windows at `t`, as an instant query of a range vector returns them.
    pub(crate) fn windows_at(self, t: i64, ctl: &Control) -> Result<Vec<Series>> {
        let end = self.eval_time(t);
        let start = end - self.range;
        let n = self.series.len();
        self.series.map(ctl, 0..n, |labels, samples, hists| {
            let a = samples.partition_point(|p| p.t <= start);
            let b = samples.partition_point(|p| p.t <= end);
            let ha = hists.partition_point(|p| p.t <= start);
            let hb = hists.partition_point(|p| p.t <= end);
            Ok((a < b || ha < hb).then(|| Series {
                labels: labels.clone(),
                samples: samples[a..b].to_vec(),
                histograms: hists[ha..hb].to_vec(),
            }))
        })
    }
}

/// The value of an evaluated node over all steps.
#[derive(Debug)]
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    /// A string literal.
    Str(String),
    /// Series with points at step timestamps (at most one per step).
    Vector(Vec<Series>),
    /// A range vector.
    Range(RangeVal),
}

impl Val {
    /// The PromQL type name, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Range(_) => "range vector",
        }
    }
}

/// Series count from which per-series work is spread over rayon's pool.
pub(crate) const PARALLEL_THRESHOLD: usize = 128;

/// Decodes `lazy` (on all cores when there are many) and applies `f` to the labels, float
/// samples and histogram samples of every series that has samples, in order; `f` returning
/// `None` drops the series. Each thread decodes one series at a time, so the raw samples of
/// the whole slice are never in memory together. With `drop_stale`, staleness markers (float
/// and histogram) are removed first. Histograms are decoded only for series that may have any.
pub(crate) fn map_decoded<T: Send>(
    ctl: &Control,
    lazy: &[LazySeries],
    drop_stale: bool,
    f: impl Fn(&Labels, &[Sample], &[HistogramSample]) -> Result<Option<T>> + Sync + Send,
) -> Result<Vec<T>> {
    let loaded = AtomicU64::new(0);
    let one = |(sc, samples): &mut (DecodeScratch, Vec<Sample>), l: &LazySeries| -> Result<Option<T>> {
        ctl.check("expression evaluation")?;
        l.decode_into(sc, samples)?;
        let mut hs = if l.has_histograms() {
            l.decode_histograms(sc)?
        } else {
            Vec::new()
        };
        loaded.fetch_add((samples.len() + hs.len()) as u64, Ordering::Relaxed);
        if drop_stale {
            if samples.iter().any(|p| is_stale_nan(p.v)) {
                samples.retain(|p| !is_stale_nan(p.v));
            }
            if hs.iter().any(|p| p.h.is_stale()) {
                hs.retain(|p| !p.h.is_stale());
            }
        }
        if samples.is_empty() && hs.is_empty() {
            return Ok(None);
        }
        f(l.labels(), samples, &hs)
    };
    let out: Vec<Option<T>> = if lazy.len() >= PARALLEL_THRESHOLD {
        lazy.par_iter()
            .map_init(|| (DecodeScratch::new(), Vec::new()), one)
            .collect::<Result<_>>()?
    } else {
        let mut sc = (DecodeScratch::new(), Vec::new());
        lazy.iter().map(|l| one(&mut sc, l)).collect::<Result<_>>()?
    };
    crate::metrics::engine()
        .samples_loaded
        .add(loaded.load(Ordering::Relaxed));
    Ok(out.into_iter().flatten().collect())
}

/// Series a selector or range function reads from storage per batch: large enough to keep
/// every core busy, small enough that one batch's samples stay a few megabytes.
pub(crate) const BATCH_SERIES: usize = 4096;

/// Series a batch must have read before the memory-mapped chunk pages it brought in are
/// released after it (see [`Evaluator::release_mapped_pages`]): below this a release (one
/// `madvise` per mapped file) costs more than the pages it gives back.
const RELEASE_MIN_SERIES: usize = 256;

/// Receives the series of an instant vector batch by batch (see
/// [`Evaluator::eval_vector_batches`]).
pub(crate) type BatchSink<'s> = dyn FnMut(Vec<Series>) -> Result<()> + 's;

/// Evaluates expressions over a fixed set of steps.
pub(crate) struct Evaluator<'a> {
    pub q: &'a dyn Queryable,
    pub steps: Steps,
    /// Start and end of the outermost query, for `@ start()` / `@ end()`.
    pub query_start: i64,
    pub query_end: i64,
    pub lookback: i64,
    pub ctl: &'a Control,
    warnings: Vec<String>,
    infos: Vec<String>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(q: &'a dyn Queryable, steps: Steps, lookback: i64, ctl: &'a Control) -> Self {
        Evaluator {
            q,
            steps,
            query_start: steps.start,
            query_end: steps.end,
            lookback,
            ctl,
            warnings: Vec::new(),
            infos: Vec::new(),
        }
    }

    /// An evaluator for a subquery's steps, sharing everything else.
    pub(crate) fn child(&self, steps: Steps) -> Evaluator<'a> {
        Evaluator {
            q: self.q,
            steps,
            query_start: self.query_start,
            query_end: self.query_end,
            lookback: self.lookback,
            ctl: self.ctl,
            warnings: Vec::new(),
            infos: Vec::new(),
        }
    }

    /// After a batch of `series` series was read: gives the resident pages of memory-mapped
    /// chunk files back (they stay in the page cache), so that a query over much data does
    /// not keep all of it resident (storage's `Queryable::release_mapped_pages`).
    pub(crate) fn release_mapped_pages(&self, series: usize) {
        if series >= RELEASE_MIN_SERIES {
            self.q.release_mapped_pages();
        }
    }

    /// Records a non-fatal warning (deduplicated).
    pub(crate) fn warn(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// Records an informational note (deduplicated).
    pub(crate) fn info(&mut self, i: String) {
        if !self.infos.contains(&i) {
            self.infos.push(i);
        }
    }

    /// The warnings gathered so far.
    pub(crate) fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The infos gathered so far.
    pub(crate) fn take_infos(&mut self) -> Vec<String> {
        std::mem::take(&mut self.infos)
    }

    /// Appends warnings of a child evaluator.
    pub(crate) fn absorb(&mut self, mut child: Evaluator<'_>) {
        for w in child.take_warnings() {
            self.warn(w);
        }
        for i in child.take_infos() {
            self.info(i);
        }
    }
}

/// The error Prometheus gives when one step would hold two series with the same labels.
pub(crate) fn dup_labelset_error() -> QueryError {
    QueryError::exec("vector cannot contain metrics with the same labelset")
}

/// Merges series that ended up with the same labels (after dropping the metric name or
/// relabeling). They may share labels as long as no step has a point from both, as in
/// Prometheus' step-wise evaluation; otherwise it is the duplicate-labelset error.
pub(crate) fn merge_same_labels(series: Vec<Series>) -> Result<Vec<Series>> {
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        if s.samples.is_empty() && s.histograms.is_empty() {
            continue;
        }
        match index.get(&s.labels) {
            Some(&i) => {
                let dst = &mut out[i];
                let taken: std::collections::HashSet<i64> = dst
                    .samples
                    .iter()
                    .map(|p| p.t)
                    .chain(dst.histograms.iter().map(|p| p.t))
                    .collect();
                if s.samples
                    .iter()
                    .map(|p| p.t)
                    .chain(s.histograms.iter().map(|p| p.t))
                    .any(|t| taken.contains(&t))
                {
                    return Err(dup_labelset_error());
                }
                if !s.samples.is_empty() {
                    dst.samples.extend(s.samples);
                    dst.samples.sort_by_key(|p| p.t);
                }
                if !s.histograms.is_empty() {
                    dst.histograms.extend(s.histograms);
                    dst.histograms.sort_by_key(|p| p.t);
                }
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// Walks a vector step by step: for each step, the series that have a point there.
pub(crate) struct StepCursor<'s> {
    series: &'s [Series],
    pos: Vec<usize>,
    hpos: Vec<usize>,
}

impl<'s> StepCursor<'s> {
    pub(crate) fn new(series: &'s [Series]) -> Self {
        StepCursor {
            series,
            pos: vec![0; series.len()],
            hpos: vec![0; series.len()],
        }
    }

    /// Fills `out` with `(series index, value)` of every series with a float point at `ts`.
    /// Must be called with increasing `ts`.
    pub(crate) fn at(&mut self, ts: i64, out: &mut Vec<(usize, f64)>) {
        out.clear();
        for (i, s) in self.series.iter().enumerate() {
            let p = &mut self.pos[i];
            while *p < s.samples.len() && s.samples[*p].t < ts {
                *p += 1;
            }
            if *p < s.samples.len() && s.samples[*p].t == ts {
                out.push((i, s.samples[*p].v));
            }
        }
    }

    /// Like [`StepCursor::at`], with histogram points too: `(series index, float value or
    /// 0, histogram)`.
    pub(crate) fn at_any(
        &mut self,
        ts: i64,
        out: &mut Vec<(usize, f64, Option<&'s storage::FloatHistogram>)>,
    ) {
        out.clear();
        let series = self.series;
        for (i, s) in series.iter().enumerate() {
            let p = &mut self.pos[i];
            while *p < s.samples.len() && s.samples[*p].t < ts {
                *p += 1;
            }
            if *p < s.samples.len() && s.samples[*p].t == ts {
                out.push((i, s.samples[*p].v, None));
                continue;
            }
            if s.histograms.is_empty() {
                continue;
            }
            let p = &mut self.hpos[i];
            while *p < s.histograms.len() && s.histograms[*p].t < ts {
                *p += 1;
            }
            if *p < s.histograms.len() && s.histograms[*p].t == ts {
                out.push((i, 0.0, Some(&s.histograms[*p].h)));
            }
        }
    }
}

/// Collects output points by labels, for operators whose output labels are only known per
/// step; two points for the same labels at one step are the duplicate-labelset error.
#[derive(Default)]
pub(crate) struct SeriesSink {
    index: HashMap<Labels, usize>,
    pub series: Vec<Series>,
}

impl SeriesSink {
    /// The slot for `labels`, created on first use.
    pub(crate) fn slot(&mut self, labels: &Labels) -> usize {
        if let Some(&i) = self.index.get(labels) {
            return i;
        }
        self.index.insert(labels.clone(), self.series.len());
        self.series.push(Series {
            labels: labels.clone(),
            samples: Vec::new(),
            histograms: Vec::new(),
        });
        self.series.len() - 1
    }

    /// Adds a point to slot `i`.
    pub(crate) fn push(&mut self, i: usize, t: i64, v: f64) -> Result<()> {
        let s = &mut self.series[i];
        if s.samples.last().is_some_and(|p| p.t == t) || s.histograms.last().is_some_and(|p| p.t == t) {
            return Err(dup_labelset_error());
        }
        s.samples.push(Sample::new(t, v));
        Ok(())
    }

    /// Adds a histogram point to slot `i`.
    pub(crate) fn push_h(&mut self, i: usize, t: i64, h: storage::FloatHistogram) -> Result<()> {
        let s = &mut self.series[i];
        if s.samples.last().is_some_and(|p| p.t == t) || s.histograms.last().is_some_and(|p| p.t == t) {
            return Err(dup_labelset_error());
        }
        s.histograms.push(HistogramSample { t, h });
        Ok(())
    }
}
