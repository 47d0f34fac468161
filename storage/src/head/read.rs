//! Reading the head: selects over a snapshot taken under the commit gate (so a select
//! never sees half a batch), decoded outside every lock; label names and values.

use super::series::MemSeries;
use super::snapshot::Snapshot;
use super::Head;
use crate::api::LatestSample;
use crate::lazy::{LazySeries, Part};
use crate::model::{is_stale_nan, HistogramSample, Labels, Matcher, Sample};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Selections of at least this many series are decoded and sorted in parallel.
const PARALLEL_DECODE_MIN: usize = 256;

/// The order of [`Labels`], with a shortcut for the head's interned strings: equal names and
/// values are usually the same allocation, so most comparisons end at a pointer check.
pub(crate) fn cmp_labels(a: &Labels, b: &Labels) -> Ordering {
    let (mut x, mut y) = (a.iter(), b.iter());
    loop {
        match (x.next(), y.next()) {
            (Some(p), Some(q)) => {
                if !std::sync::Arc::ptr_eq(&p.name, &q.name) {
                    let o = p.name.cmp(&q.name);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                if !std::sync::Arc::ptr_eq(&p.value, &q.value) {
                    let o = p.value.cmp(&q.value);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
            }
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (None, None) => return Ordering::Equal,
        }
    }
}

impl Head {
    /// Series matching `matchers` (unsorted).
    pub(crate) fn matching(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        self.postings
            .resolve(matchers)
            .into_iter()
            .filter_map(|id| self.series.get_by_id(id))
            .collect()
    }

    /// Reads are not clipped at the floor: until a truncation drops them, samples below it
    /// are still served from the head (the block that holds them too is deduplicated against).
    fn lo(&self, mint: i64) -> i64 {
        mint
    }

    /// Series matching `matchers` with data in `[mint, maxt]`, sorted by labels, not
    /// decoded: each keeps a snapshot of the chunks overlapping the range, taken under the
    /// commit gate (so the selection never sees half a batch).
    pub(crate) fn select_lazy(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<LazySeries> {
        let lo = self.lo(mint);
        if lo > maxt {
            return Vec::new();
        }
        let series = self.matching(matchers);
        let mut out: Vec<LazySeries> = {
            let _gate = self.commit_gate.write();
            series
                .iter()
                .filter_map(|s| {
                    let snap = Snapshot::take(&s.data.lock(), lo, maxt)?;
                    Some(LazySeries::from_parts(
                        s.labels.clone(),
                        lo,
                        maxt,
                        vec![Part::Head(snap)],
                    ))
                })
                .collect()
        };
        drop(series);
        // Label sets are unique within the head.
        if out.len() >= PARALLEL_DECODE_MIN {
            out.par_sort_unstable_by(|a, b| cmp_labels(a.labels(), b.labels()));
        } else {
            out.sort_unstable_by(|a, b| cmp_labels(a.labels(), b.labels()));
        }
        out
    }

    fn in_range(&self, s: &MemSeries, lo: i64, hi: i64) -> bool {
        s.data.lock().overlaps(lo, hi)
    }

    /// Labels of series matching `matchers` with data in `[mint, maxt]`, sorted.
    pub(crate) fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let lo = self.lo(mint);
        let mut out: Vec<Labels> = self
            .matching(matchers)
            .into_iter()
            .filter(|s| self.in_range(s, lo, maxt))
            .map(|s| s.labels.clone())
            .collect();
        out.sort();
        out
    }

    fn any_in_range(&self, ids: &[u64], lo: i64, hi: i64) -> bool {
        ids.iter().any(|&id| {
            self.series
                .get_by_id(id)
                .is_some_and(|s| self.in_range(&s, lo, hi))
        })
    }

    /// Label names of series matching `matchers` with data in the range, sorted.
    pub(crate) fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        let lo = self.lo(mint);
        if matchers.is_empty() {
            let mut out: Vec<String> = self
                .postings
                .names()
                .into_iter()
                .filter(|(_, lists)| lists.iter().any(|l| self.any_in_range(l, lo, maxt)))
                .map(|(n, _)| n)
                .collect();
            out.sort();
            return out;
        }
        let mut set = BTreeSet::new();
        for l in self.series_labels(matchers, mint, maxt) {
            for x in l.iter() {
                if !set.contains(x.name.as_ref()) {
                    set.insert(x.name.to_string());
                }
            }
        }
        set.into_iter().collect()
    }

    /// Values of label `name` among series matching `matchers` with data in the range, sorted.
    pub(crate) fn label_values(&self, name: &str, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        let lo = self.lo(mint);
        if matchers.is_empty() {
            let mut out: Vec<String> = self
                .postings
                .values(name)
                .into_iter()
                .filter(|(_, ids)| self.any_in_range(ids, lo, maxt))
                .map(|(v, _)| v)
                .collect();
            out.sort();
            return out;
        }
        let mut set = BTreeSet::new();
        for l in self.series_labels(matchers, mint, maxt) {
            if let Some(v) = l.get(name) {
                if !set.contains(v) {
                    set.insert(v.to_string());
                }
            }
        }
        set.into_iter().collect()
    }

    /// The newest sample of the series `labels` that is not a staleness marker, float or
    /// histogram, whichever is newer (see [`crate::Appender::latest_sample`]).
    pub(crate) fn latest_sample(&self, labels: &Labels) -> Option<LatestSample> {
        let hash = labels.stable_hash();
        let series = self.series.hash_stripe(hash).read().get(hash, labels)?.clone();
        let (snap, unstored_newest) = {
            let d = series.data.lock();
            // A head that does not store floats still knows the newest one.
            let newest = (!self.stores_floats && d.max_t != i64::MIN)
                .then(|| Sample::new(d.max_t, f64::from_bits(d.last_v)));
            (Snapshot::take(&d, i64::MIN, i64::MAX), newest)
        };
        let float = if self.stores_floats {
            snap.as_ref().and_then(|snap| {
                snap.decode(i64::MIN, i64::MAX)
                    .into_iter()
                    .rev()
                    .find(|s| !is_stale_nan(s.v))
            })
        } else {
            unstored_newest.filter(|s| !is_stale_nan(s.v))
        };
        let histogram = snap.and_then(|snap| {
            snap.decode_histograms(i64::MIN, i64::MAX)
                .ok()
                .and_then(|hs| hs.into_iter().rev().find(|h| !h.h.is_stale()))
        });
        match (float, histogram) {
            (Some(f), Some(h)) if h.t > f.t => Some(LatestSample::Histogram(h)),
            (Some(f), _) => Some(LatestSample::Float(f)),
            (None, Some(h)) => Some(LatestSample::Histogram(h)),
            (None, None) => None,
        }
    }

    /// Every series with samples in `[mint, maxt]`, sorted by labels, decoded one at a time
    /// (for cutting a block without holding the whole range in memory).
    pub(crate) fn iter_range(
        &self,
        mint: i64,
        maxt: i64,
    ) -> impl Iterator<Item = (Labels, Vec<Sample>, Vec<HistogramSample>)> + '_ {
        let mut series: Vec<Arc<MemSeries>> = self
            .series
            .all()
            .into_iter()
            .filter(|s| self.in_range(s, mint, maxt))
            .collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        series.into_iter().filter_map(move |s| {
            let snap = Snapshot::take(&s.data.lock(), mint, maxt)?;
            let samples = snap.decode(mint, maxt);
            // Our own in-memory encoding: a failure would lose only that chunk's histograms.
            let histograms = snap.decode_histograms(mint, maxt).unwrap_or_default();
            (!samples.is_empty() || !histograms.is_empty()).then(|| (s.labels.clone(), samples, histograms))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::api::{Appendable, LatestSample};
    use crate::model::{FloatHistogram, Labels, Sample, SeriesRef, STALE_NAN};
    use crate::{Db, DbOptions};

    #[test]
    fn latest_sample_skips_staleness_and_pending_samples() {
        let d = tempfile::tempdir().unwrap();
        let db = Db::open(DbOptions::new(d.path())).unwrap();
        let f = Labels::from_pairs([("__name__", "x_total")]);
        let h = Labels::from_pairs([("__name__", "x_seconds")]);
        assert_eq!(db.appender().latest_sample(&f), None);
        let mut a = db.appender();
        a.append(SeriesRef::NONE, &f, 1000, 5.0).unwrap();
        a.append(SeriesRef::NONE, &f, 2000, 7.0).unwrap();
        a.append(SeriesRef::NONE, &f, 3000, STALE_NAN).unwrap();
        let hist = FloatHistogram {
            count: 2.0,
            sum: 1.5,
            ..Default::default()
        };
        a.append_histogram(SeriesRef::NONE, &h, 1000, &hist).unwrap();
        assert_eq!(a.latest_sample(&f), None, "not committed yet");
        a.commit().unwrap();
        let a = db.appender();
        assert_eq!(
            a.latest_sample(&f),
            Some(LatestSample::Float(Sample::new(2000, 7.0)))
        );
        match a.latest_sample(&h) {
            Some(LatestSample::Histogram(s)) => assert_eq!((s.t, s.h.count), (1000, 2.0)),
            other => panic!("{other:?}"),
        }
    }
}
