//! The batch every push request is written through: one [`storage::Appender`], per-sample
//! rejections collected (the first one named in the answer), storage failures abort.

use super::histogram::{format_le, with_name, NativeHistogram};
use crate::error::PushError;
use storage::{
    is_stale_nan, AppendError, Appendable, Appender, Exemplar, FloatHistogram, Labels, MetricMetadata,
    SeriesHandle, SeriesRef, STALE_NAN,
};

/// What a push request wrote, and what it had to refuse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Float samples stored.
    pub samples: usize,
    /// Histogram samples stored (native ones as histograms, explicit-bucket ones as their
    /// classic series).
    pub histograms: usize,
    /// Exemplars stored (duplicates of a series' newest and refused ones are not counted).
    pub exemplars: usize,
    /// Samples, histograms or data points refused.
    pub rejected: usize,
    /// The first problem, naming its series, plus a count of the others.
    pub error: Option<String>,
}

impl WriteOutcome {
    /// The outcome as an error when something was refused (400, valid data kept).
    pub fn into_result(self) -> Result<WriteOutcome, PushError> {
        match &self.error {
            None => Ok(self),
            Some(m) => Err(PushError::InvalidSeries {
                message: m.clone(),
                rejected: self.rejected,
            }),
        }
    }
}

/// One push request's batch.
pub struct SeriesWriter<'a> {
    app: Box<dyn Appender + Send + 'a>,
    out: WriteOutcome,
    first_error: Option<String>,
    more_errors: usize,
    exemplars_dropped: usize,
    first_exemplar_error: Option<String>,
}

impl<'a> SeriesWriter<'a> {
    /// A new batch on `db`.
    pub fn new(db: &'a dyn Appendable) -> Self {
        SeriesWriter {
            app: db.appender(),
            out: WriteOutcome::default(),
            first_error: None,
            more_errors: 0,
            exemplars_dropped: 0,
            first_exemplar_error: None,
        }
    }

    /// Appends one float sample. `Ok(false)` if storage refused this sample for a reason that
    /// is the sender's (recorded; the batch goes on); `Err` if storage failed (abort).
    pub fn append(&mut self, r: &mut SeriesRef, labels: &Labels, t: i64, v: f64) -> Result<bool, PushError> {
        match self.app.append(*r, labels, t, v) {
            Ok(nr) => {
                *r = nr;
                Ok(true)
            }
            Err(e) if e.is_client_error() => {
                super::rejections::note(super::rejections::Reason::of_append(&e));
                self.reject(1, || format!("series {labels}: {e}"));
                Ok(false)
            }
            Err(e) => Err(PushError::Storage(e)),
        }
    }

    /// Appends one float sample to the series of `h` (see [`Appender::append_to`]).
    /// `Ok(None)` if the handle cannot be used (append by labels instead); otherwise as
    /// [`SeriesWriter::append`].
    pub fn append_to(&mut self, h: &SeriesHandle, t: i64, v: f64) -> Result<Option<bool>, PushError> {
        match self.app.append_to(h, t, v) {
            Ok(Some(_)) => Ok(Some(true)),
            Ok(None) => Ok(None),
            Err(e) if e.is_client_error() => {
                super::rejections::note(super::rejections::Reason::of_append(&e));
                let labels = h.labels();
                self.reject(1, || format!("series {labels}: {e}"));
                Ok(Some(false))
            }
            Err(e) => Err(PushError::Storage(e)),
        }
    }

    /// Storage's handle on the series `r` returned by an append of this batch, if it gives
    /// handles (see [`Appender::handle`]).
    pub fn handle(&self, r: SeriesRef) -> Option<SeriesHandle> {
        if r.is_none() {
            return None;
        }
        self.app.handle(r)
    }

    /// Appends a sample whose refusal is expected and harmless (a created-timestamp zero
    /// that is already stored); only storage failures are errors.
    pub fn append_quiet(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), PushError> {
        match self.app.append(SeriesRef::NONE, labels, t, v) {
            Ok(_) => Ok(()),
            Err(e) if e.is_client_error() => Ok(()),
            Err(e) => Err(PushError::Storage(e)),
        }
    }

    /// Appends one native histogram sample (stored as a histogram). `Ok(false)` if storage
    /// refused it for a reason that is the sender's (an invalid histogram, out of order, ...:
    /// recorded, naming the series); `Err` if storage failed.
    pub fn append_native_histogram(
        &mut self,
        r: &mut SeriesRef,
        labels: &Labels,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<bool, PushError> {
        match self.app.append_histogram(*r, labels, t, h) {
            Ok(nr) => {
                *r = nr;
                self.count_histogram();
                Ok(true)
            }
            Err(e) if e.is_client_error() => {
                super::rejections::note(super::rejections::Reason::of_append(&e));
                self.reject(1, || match &e {
                    AppendError::InvalidHistogram { .. } => e.to_string(),
                    _ => format!("histogram series {labels}: {e}"),
                });
                Ok(false)
            }
            Err(e) => Err(PushError::Storage(e)),
        }
    }

    /// Records a native histogram refused before it reached storage (invalid in its wire form).
    pub fn reject_invalid_histogram(&mut self, labels: &Labels, e: &storage::HistogramError) {
        super::rejections::note(super::rejections::Reason::Invalid);
        self.reject(1, || format!("invalid native histogram for series {labels}: {e}"));
    }

    /// Appends a histogram with explicit bounds (OTLP's explicit-bucket histograms, span
    /// durations) as classic series named after `base` (`_bucket{le}`, `_count`, `_sum`);
    /// `labels` are the series' other labels. `Ok(false)` if it was refused (recorded).
    pub fn append_classic_histogram(
        &mut self,
        labels: &Labels,
        base: &str,
        t: i64,
        h: &NativeHistogram,
    ) -> Result<bool, PushError> {
        let buckets = match h.classic_buckets() {
            Ok(b) => b,
            Err(e) => {
                self.reject(1, || format!("histogram series {labels}: {e}"));
                return Ok(false);
            }
        };
        let stale = h.sum.is_some_and(is_stale_nan);
        let pick = |v: f64| if stale { STALE_NAN } else { v };
        let mut ok = true;
        for (ub, c) in buckets {
            let l = with_name(labels, base, "_bucket", Some(("le", &format_le(ub))));
            ok &= self.append(&mut SeriesRef(0), &l, t, pick(c))?;
        }
        let l = with_name(labels, base, "_count", None);
        ok &= self.append(&mut SeriesRef(0), &l, t, pick(h.count))?;
        if let Some(sum) = h.sum {
            let l = with_name(labels, base, "_sum", None);
            ok &= self.append(&mut SeriesRef(0), &l, t, sum)?;
        }
        if ok {
            self.count_histogram();
        }
        Ok(ok)
    }

    /// The labels storage keeps for the series `r` returned by an append of this batch, if
    /// it can give them (see [`Appender::series_labels`]).
    pub fn series_labels(&self, r: SeriesRef) -> Option<Labels> {
        if r.is_none() {
            return None;
        }
        self.app.series_labels(r)
    }

    /// The newest committed sample of the series `labels` (see [`Appender::latest_sample`]).
    pub fn latest_sample(&self, labels: &Labels) -> Option<storage::LatestSample> {
        self.app.latest_sample(labels)
    }

    /// Samples refused so far.
    pub fn rejected(&self) -> usize {
        self.out.rejected
    }

    /// The first problem recorded so far.
    pub fn first_error(&self) -> Option<&str> {
        self.first_error.as_deref()
    }

    /// Counts one stored float sample.
    pub fn count_sample(&mut self) {
        self.out.samples += 1;
    }

    /// Counts one stored histogram sample.
    pub fn count_histogram(&mut self) {
        self.out.histograms += 1;
    }

    /// Adds an exemplar to the series `labels`. As Prometheus' receivers do, a refused
    /// exemplar (out of order, labels too long) is dropped without failing the request:
    /// `Ok(false)`, and it is counted in `exemplars_dropped`. `Err` only for storage failures.
    pub fn append_exemplar(&mut self, r: SeriesRef, labels: &Labels, e: Exemplar) -> Result<bool, PushError> {
        match self.app.append_exemplar(r, labels, e) {
            Ok(()) => {
                self.out.exemplars += 1;
                Ok(true)
            }
            Err(e) if e.is_client_error() => {
                self.exemplars_dropped += 1;
                if self.first_exemplar_error.is_none() {
                    self.first_exemplar_error = Some(format!("series {labels}: {e}"));
                }
                Ok(false)
            }
            Err(e) => Err(PushError::Storage(e)),
        }
    }

    /// Exemplars refused so far, and the first reason.
    pub fn exemplars_dropped(&self) -> (usize, Option<&str>) {
        (self.exemplars_dropped, self.first_exemplar_error.as_deref())
    }

    /// Records `n` refused samples; `msg` is only built for the first problem.
    pub fn reject(&mut self, n: usize, msg: impl FnOnce() -> String) {
        super::rejections::samples(n);
        self.out.rejected += n;
        if self.first_error.is_none() {
            self.first_error = Some(msg());
        } else {
            self.more_errors += 1;
        }
    }

    /// Records the metadata of a metric family.
    pub fn metadata(&mut self, family: &str, meta: MetricMetadata) -> Result<(), PushError> {
        match self.app.update_metadata(family, meta) {
            Ok(()) => Ok(()),
            Err(e) if e.is_client_error() => {
                self.reject(0, || format!("metadata of {family}: {e}"));
                Ok(())
            }
            Err(e) => Err(PushError::Storage(e)),
        }
    }

    /// Commits the batch. The outcome lists what was refused; the caller decides how to answer.
    pub fn commit(self) -> Result<WriteOutcome, PushError> {
        let SeriesWriter {
            app,
            mut out,
            first_error,
            more_errors,
            exemplars_dropped,
            first_exemplar_error,
        } = self;
        if let Some(m) = first_exemplar_error {
            tracing::debug!(dropped = exemplars_dropped, first = %m, "exemplars refused");
        }
        let late = match app.commit() {
            Ok(()) => None,
            // The head was cut between validation and commit: the rest of the batch is stored,
            // the samples older than the cut are not, and the answer must say so.
            Err(e @ AppendError::OutOfBounds { .. }) => Some(format!(
                "{e} (the head was cut into a block while this request was written)"
            )),
            // A client error at commit time cannot name a sample; still nothing was stored.
            Err(e @ AppendError::InvalidLabels { .. }) => return Err(PushError::Malformed(e.to_string())),
            Err(e) => return Err(PushError::Storage(e)),
        };
        let first_error = first_error.or(late);
        out.error = first_error.map(|m| {
            if more_errors > 0 {
                format!("{m} (and {more_errors} more problems)")
            } else {
                m
            }
        });
        Ok(out)
    }

    /// Discards the batch.
    pub fn rollback(self) {
        self.app.rollback();
    }

    /// Writes one batch to `db`: `fill` appends to the writer; when it succeeds the batch is
    /// committed and its value returned with the outcome, when it fails the batch is
    /// discarded and its error returned.
    pub fn batch<T>(
        db: &'a dyn Appendable,
        fill: impl FnOnce(&mut SeriesWriter<'a>) -> Result<T, PushError>,
    ) -> Result<(T, WriteOutcome), PushError> {
        let mut w = SeriesWriter::new(db);
        match fill(&mut w) {
            Ok(v) => Ok((v, w.commit()?)),
            Err(e) => {
                w.rollback();
                Err(e)
            }
        }
    }
}
