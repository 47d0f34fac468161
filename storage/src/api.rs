//! The storage boundary: [`Appender`] for writers, [`Querier`] for readers.
//!
//! `ingest` only ever sees [`Appendable`]; `query` and `web` only [`Queryable`]. Neither knows
//! how the database is built.
//!
//! Time is always milliseconds since the Unix epoch, and every range is inclusive at both ends.

use crate::error::{AppendError, QueryError};
use crate::lazy::LazySeries;
use crate::model::{
    Exemplar, ExemplarSeries, FloatHistogram, HistogramSample, Labels, Matcher, MetricMetadata, Sample,
    SeriesRef,
};
use std::collections::BTreeMap;

/// Something that hands out appenders (the database, or a forwarding tee).
pub trait Appendable: Send + Sync {
    /// A new batch. Nothing appended to it is visible to readers or durable until
    /// [`Appender::commit`] returns `Ok`.
    fn appender(&self) -> Box<dyn Appender + Send + '_>;
}

/// One batch of appends.
///
/// Not shared between threads. Samples of one series must be appended in time order within
/// a batch. Dropping an appender without committing is a rollback.
pub trait Appender {
    /// Adds one float sample. `r` is the reference a previous call returned for the same
    /// labels, or [`SeriesRef::NONE`]; the returned reference may be cached by the caller.
    ///
    /// A sample-level rejection (out of order beyond the window, duplicate timestamp with a
    /// different value, invalid labels) is returned as an error for that sample only; the batch
    /// stays usable and the other samples are kept.
    fn append(&mut self, r: SeriesRef, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError>;

    /// Adds one native histogram sample (integer histograms are passed converted with
    /// [`crate::Histogram::to_float`]; stores may keep them in integer form when every count is
    /// whole). `r` as for [`Appender::append`]. A series holds one sample type at a time: a
    /// histogram at the timestamp of a float sample (or the reverse) is a duplicate. The
    /// histogram is validated ([`FloatHistogram::validate`]); an invalid one is refused with
    /// [`AppendError::InvalidHistogram`] naming the series. The database keeps histograms in
    /// order per series: one older than the series' newest histogram is refused with
    /// [`AppendError::OutOfOrder`] whatever the out-of-order window. Stores that keep no histograms
    /// refuse them with [`AppendError::Unsupported`] (the default).
    fn append_histogram(
        &mut self,
        r: SeriesRef,
        labels: &Labels,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<SeriesRef, AppendError> {
        let _ = (r, labels, t, h);
        Err(AppendError::Unsupported(
            "this store does not keep native histograms",
        ))
    }

    /// Records the metadata of a metric family (type, help, unit). Kept in memory and persisted
    /// with the batch; the newest wins.
    fn update_metadata(&mut self, metric_family: &str, meta: MetricMetadata) -> Result<(), AppendError> {
        let _ = (metric_family, meta);
        Ok(())
    }

    /// Adds an exemplar to the series `labels` (`r` as for [`Appender::append`]), stored on
    /// commit. An exemplar equal to the series' newest is ignored; one not newer is rejected
    /// ([`AppendError::OutOfOrderExemplar`]), as are labels over 128 characters. Stores that
    /// keep no exemplars accept and drop them (the default).
    fn append_exemplar(&mut self, r: SeriesRef, labels: &Labels, e: Exemplar) -> Result<(), AppendError> {
        let _ = (r, labels, e);
        Ok(())
    }

    /// The labels the store keeps for the series `r`, which an append of this batch returned,
    /// when it can give them cheaply (`None` otherwise, the default). A caller that caches
    /// label sets across batches should cache these: the store checks a reference against the
    /// labels passed with it, and for its own label set that check is a pointer comparison.
    fn series_labels(&self, r: SeriesRef) -> Option<Labels> {
        let _ = r;
        None
    }

    /// A handle on the series `r`, which an append of this batch returned, that later
    /// batches may append to directly ([`Appender::append_to`]); `None` (the default) when
    /// the store has none. A caller that caches label sets across batches may cache it
    /// beside them.
    fn handle(&self, r: SeriesRef) -> Option<crate::SeriesHandle> {
        let _ = r;
        None
    }

    /// Adds one float sample to the series of `h`, as [`Appender::append`] with the handle's
    /// labels would, without looking the series up. `Ok(None)` when the handle cannot be used
    /// (its series is no longer in the store, or it came from another store; the default):
    /// the caller then appends by labels.
    fn append_to(
        &mut self,
        h: &crate::SeriesHandle,
        t: i64,
        v: f64,
    ) -> Result<Option<SeriesRef>, AppendError> {
        let _ = (h, t, v);
        Ok(None)
    }

    /// The newest committed sample of the series `labels` that the store holds in memory (the
    /// head: at least the last block range), staleness markers skipped; a float or a native
    /// histogram, whichever is newer. Samples appended to this batch are not seen. `None` (the
    /// default) when there is none or the store cannot tell. Writers that keep a running
    /// total per series (OTLP delta-to-cumulative) resume from it after a restart.
    fn latest_sample(&self, labels: &Labels) -> Option<LatestSample> {
        let _ = labels;
        None
    }

    /// Makes the batch durable (written to the WAL) and visible. On error nothing of the batch
    /// is visible.
    fn commit(self: Box<Self>) -> Result<(), AppendError>;

    /// Discards the batch.
    fn rollback(self: Box<Self>);
}

/// The newest sample of a series (see [`Appender::latest_sample`]).
#[derive(Clone, Debug, PartialEq)]
pub enum LatestSample {
    /// A float sample.
    Float(Sample),
    /// A native histogram sample.
    Histogram(HistogramSample),
}

/// Hints for a select: the time range actually needed, which may be narrower than the
/// querier's. Both ends inclusive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectHints {
    /// Earliest timestamp needed (inclusive).
    pub mint: i64,
    /// Latest timestamp needed (inclusive).
    pub maxt: i64,
}

pub use crate::model::Series;

/// Something that hands out queriers (the database).
pub trait Queryable: Send + Sync {
    /// A reader over `[mint, maxt]` (ms, inclusive). It sees a consistent view of what was
    /// committed before it was created.
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, QueryError>;

    /// Exemplars with `mint <= t <= maxt` (ms) of the series matching any of `matcher_sets`
    /// (each a logical AND), sorted by series labels (for `/api/v1/query_exemplars`). Stores
    /// without exemplars return none.
    fn select_exemplars(
        &self,
        mint: i64,
        maxt: i64,
        matcher_sets: &[Vec<Matcher>],
    ) -> Result<Vec<ExemplarSeries>, QueryError> {
        let _ = (mint, maxt, matcher_sets);
        Ok(Vec::new())
    }

    /// Metadata per metric family name (for `/api/v1/metadata`).
    fn metadata(&self) -> BTreeMap<String, Vec<MetricMetadata>> {
        BTreeMap::new()
    }

    /// Drops the resident pages that reads brought in from memory-mapped chunk files (head
    /// chunk files and block chunk files). The pages stay in the page cache and the next
    /// read maps them again, so answers do not change; what changes is the resident set,
    /// which would otherwise grow with the bytes a query touched (and, as the kernel maps
    /// 64 KiB around every fault, with much more). Query engines call it between batches of
    /// a large selection. Stores without mapped files do nothing.
    fn release_mapped_pages(&self) {}
}

/// A reader scoped to a time range.
pub trait Querier {
    /// Series matching all `matchers` (logical AND) that have at least one sample in
    /// `hints` ∩ the querier's range, sorted by labels, with their samples in that range.
    /// At least one matcher should not match the empty string (callers enforce this rule).
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>, QueryError>;

    /// The series [`Querier::select`] would return, sorted by labels, but not decoded: each
    /// decodes its samples when asked ([`LazySeries::decode`], thread-safe), so a caller can
    /// work through a large selection in batches without holding every raw sample at once.
    /// May also list series whose samples all fall outside the range (they decode to
    /// nothing). The default decodes through `select`.
    fn select_lazy(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<LazySeries>, QueryError> {
        Ok(self
            .select(hints, matchers)?
            .into_iter()
            .map(|s| LazySeries::decoded_with_histograms(s.labels, s.samples, s.histograms))
            .collect())
    }

    /// Labels of series matching `matchers` with data in the querier's range, sorted.
    fn series(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, QueryError>;

    /// Sorted, unique label names of series matching `matchers` (all series if empty).
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, QueryError>;

    /// Sorted, unique values of label `name` among series matching `matchers` (all if empty).
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, QueryError>;
}
