//! Reading the head: selects over a snapshot taken under the commit gate (so a select
//! never sees half a batch), decoded outside every lock; label names and values.

use super::series::MemSeries;
use super::snapshot::Snapshot;
use super::Head;
use crate::lazy::{LazySeries, Part};
use crate::model::{HistogramSample, Labels, Matcher, Sample};
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
        let mut snaps: Vec<Snapshot> = {
            let _gate = self.commit_gate.write();
            series
                .iter()
                .filter_map(|s| Snapshot::take(&s.labels, &s.data.lock(), lo, maxt))
                .collect()
        };
        drop(series);
        // Label sets are unique within the head.
        if snaps.len() >= PARALLEL_DECODE_MIN {
            snaps.par_sort_unstable_by(|a, b| cmp_labels(&a.labels, &b.labels));
        } else {
            snaps.sort_unstable_by(|a, b| cmp_labels(&a.labels, &b.labels));
        }
        snaps
            .into_iter()
            .map(|s| LazySeries::from_parts(s.labels.clone(), lo, maxt, vec![Part::Head(s)]))
            .collect()
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
            let snap = Snapshot::take(&s.labels, &s.data.lock(), mint, maxt)?;
            let samples = snap.decode(mint, maxt);
            // Our own in-memory encoding: a failure would lose only that chunk's histograms.
            let histograms = snap.decode_histograms(mint, maxt).unwrap_or_default();
            (!samples.is_empty() || !histograms.is_empty()).then(|| (s.labels.clone(), samples, histograms))
        })
    }
}
