//! [`LazySeries`]: a selected series whose samples are decoded only when the caller asks,
//! so that a query over many series never holds the raw samples of all of them at once.
//!
//! A lazy series keeps references to compressed data (head chunks shared by `Arc`, a copy of
//! the head's open chunk, block chunk locations) and the time range to cut. Decoding is
//! `&self` and thread-safe: callers decode many series in parallel, each thread with its own
//! [`DecodeScratch`].

use crate::block::{Block, Tombstones};
use crate::error::QueryError;
use crate::head::snapshot::Snapshot;
use crate::index::ChunkMeta;
use crate::model::{HistogramSample, Labels, Sample};
use std::sync::Arc;

/// One source of a series' samples.
pub(crate) enum Part {
    /// Samples decoded already (by a store without lazy reads), within the range.
    Decoded(Vec<Sample>),
    /// The head's chunks of the series.
    Head(Snapshot),
    /// The chunks of the series in one block that overlap the range.
    Block(BlockPart),
}

/// Where a series' data sits in one block.
pub(crate) struct BlockPart {
    pub(crate) block: Arc<Block>,
    pub(crate) ordinal: u32,
    pub(crate) chunks: Vec<ChunkMeta>,
    pub(crate) tombstones: Arc<Tombstones>,
}

/// A selected series, not decoded yet. Its samples are those in the selection's range,
/// ascending with unique timestamps (on equal timestamps the newest source wins, the head
/// first), staleness markers included as stored. A lazy series may turn out to have no
/// sample in the range (a chunk overlapping the range only at its ends, or deleted data);
/// callers skip those.
pub struct LazySeries {
    labels: Labels,
    lo: i64,
    hi: i64,
    /// Sources, highest priority first.
    parts: Vec<Part>,
    /// Native histogram samples decoded already (by a store without lazy histogram reads),
    /// ascending and within the range.
    histograms: Vec<HistogramSample>,
}

impl std::fmt::Debug for LazySeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazySeries")
            .field("labels", &self.labels)
            .field("lo", &self.lo)
            .field("hi", &self.hi)
            .field("parts", &self.parts.len())
            .finish()
    }
}

/// Per-thread reusable state for decoding: timestamp columns that series of one scrape target
/// share are decoded once per block.
#[derive(Default)]
pub struct DecodeScratch {
    /// Timestamp column caches, one per block (keyed by the block's address).
    caches: Vec<(usize, crate::block::TsCache)>,
}

impl std::fmt::Debug for DecodeScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeScratch")
            .field("blocks", &self.caches.len())
            .finish()
    }
}

impl DecodeScratch {
    /// An empty scratch.
    pub fn new() -> Self {
        Self::default()
    }

    fn cache_for(&mut self, b: &Arc<Block>) -> &mut crate::block::TsCache {
        let key = Arc::as_ptr(b) as usize;
        let i = match self.caches.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.caches.push((key, Default::default()));
                self.caches.len() - 1
            }
        };
        &mut self.caches[i].1
    }
}

impl LazySeries {
    /// A lazy series over samples decoded already (which must be ascending, unique and in
    /// the selected range): what a store without lazy reads hands out.
    pub fn decoded(labels: Labels, samples: Vec<Sample>) -> Self {
        LazySeries {
            labels,
            lo: i64::MIN,
            hi: i64::MAX,
            parts: vec![Part::Decoded(samples)],
            histograms: Vec::new(),
        }
    }

    /// A lazy series over float and histogram samples decoded already (each ascending,
    /// unique, in the selected range, at disjoint timestamps).
    pub fn decoded_with_histograms(
        labels: Labels,
        samples: Vec<Sample>,
        histograms: Vec<HistogramSample>,
    ) -> Self {
        LazySeries {
            labels,
            lo: i64::MIN,
            hi: i64::MAX,
            parts: vec![Part::Decoded(samples)],
            histograms,
        }
    }

    pub(crate) fn from_parts(labels: Labels, lo: i64, hi: i64, parts: Vec<Part>) -> Self {
        LazySeries {
            labels,
            lo,
            hi,
            parts,
            histograms: Vec::new(),
        }
    }

    /// The series' labels.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// Appends the parts of `other` (same labels, lower priority) to this series'.
    pub(crate) fn absorb(&mut self, other: LazySeries) {
        self.parts.extend(other.parts);
        if !other.histograms.is_empty() {
            let mut merged = std::mem::take(&mut self.histograms);
            for h in other.histograms {
                if merged.binary_search_by_key(&h.t, |x| x.t).is_err() {
                    merged.push(h);
                }
            }
            merged.sort_by_key(|x| x.t);
            self.histograms = merged;
        }
    }

    /// Whether the series may hold native histogram samples in the range (cheap: no
    /// decoding; when false, [`LazySeries::decode_histograms`] returns nothing).
    pub fn has_histograms(&self) -> bool {
        !self.histograms.is_empty()
            || self.parts.iter().any(|p| match p {
                Part::Decoded(_) => false,
                Part::Head(snap) => snap.has_histograms(),
                Part::Block(b) => b
                    .chunks
                    .iter()
                    .any(|c| c.encoding == crate::index::ChunkEncoding::Histogram),
            })
    }

    /// The series' native histogram samples in the selected range, ascending (on equal
    /// timestamps the newest source wins, as for floats). Float-only parts are not read.
    pub fn decode_histograms(&self, scratch: &mut DecodeScratch) -> Result<Vec<HistogramSample>, QueryError> {
        let (lo, hi) = (self.lo, self.hi);
        let mut lists: Vec<Vec<HistogramSample>> = Vec::new();
        for p in &self.parts {
            match p {
                Part::Decoded(_) => {}
                Part::Head(snap) => {
                    if snap.has_histograms() {
                        lists.push(snap.decode_histograms(lo, hi)?);
                    }
                }
                Part::Block(b) => {
                    if b.chunks
                        .iter()
                        .any(|c| c.encoding == crate::index::ChunkEncoding::Histogram)
                    {
                        let cache = scratch.cache_for(&b.block);
                        lists.push(b.block.read_histogram_chunks(
                            b.ordinal,
                            &b.chunks,
                            lo,
                            hi,
                            cache,
                            &b.tombstones,
                        )?);
                    }
                }
            }
        }
        if !self.histograms.is_empty() {
            lists.push(
                self.histograms
                    .iter()
                    .filter(|h| h.t >= lo && h.t <= hi)
                    .cloned()
                    .collect(),
            );
        }
        lists.retain(|l| !l.is_empty());
        if lists.len() <= 1 {
            return Ok(lists.pop().unwrap_or_default());
        }
        let mut all: Vec<HistogramSample> = lists.into_iter().flatten().collect();
        all.sort_by_key(|h| h.t); // stable: earlier (higher priority) parts first
        all.dedup_by_key(|h| h.t);
        Ok(all)
    }

    /// The series' samples in the selected range.
    pub fn decode(&self, scratch: &mut DecodeScratch) -> Result<Vec<Sample>, QueryError> {
        let mut out = Vec::new();
        self.decode_into(scratch, &mut out)?;
        Ok(out)
    }

    /// Replaces the contents of `out` with the series' samples in the selected range,
    /// reusing its allocation (callers decoding many series keep one buffer per thread).
    pub fn decode_into(&self, scratch: &mut DecodeScratch, out: &mut Vec<Sample>) -> Result<(), QueryError> {
        let (lo, hi) = (self.lo, self.hi);
        let one = |p: &Part, scratch: &mut DecodeScratch, out: &mut Vec<Sample>| -> Result<(), QueryError> {
            match p {
                Part::Decoded(s) => {
                    out.clear();
                    out.extend_from_slice(s);
                }
                Part::Head(snap) => snap.decode_into(lo, hi, out),
                Part::Block(b) => {
                    let cache = scratch.cache_for(&b.block);
                    *out = b
                        .block
                        .read_chunks(b.ordinal, &b.chunks, lo, hi, cache, &b.tombstones)?;
                }
            }
            Ok(())
        };
        match self.parts.as_slice() {
            [] => {
                out.clear();
                Ok(())
            }
            [p] => one(p, scratch, out),
            parts => {
                let mut decoded = Vec::with_capacity(parts.len());
                for p in parts {
                    let mut v = Vec::new();
                    one(p, scratch, &mut v)?;
                    decoded.push(v);
                }
                *out = merge_parts(decoded);
                Ok(())
            }
        }
    }

    /// Decodes and returns the labels with the samples.
    pub fn into_series(self, scratch: &mut DecodeScratch) -> Result<crate::model::Series, QueryError> {
        let samples = self.decode(scratch)?;
        let histograms = self.decode_histograms(scratch)?;
        Ok(crate::model::Series {
            labels: self.labels,
            samples,
            histograms,
        })
    }
}

/// Merges sample lists of one series (each ascending), highest priority first; on equal
/// timestamps the earlier list wins. Lists that do not overlap in time (a block and the head
/// after it) are concatenated without comparing samples.
pub(crate) fn merge_parts(mut parts: Vec<Vec<Sample>>) -> Vec<Sample> {
    parts.retain(|p| !p.is_empty());
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| parts[i][0].t);
    let disjoint = order
        .windows(2)
        .all(|w| parts[w[0]].last().is_none_or(|l| l.t < parts[w[1]][0].t));
    if disjoint {
        let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for i in order {
            out.extend_from_slice(&parts[i]);
        }
        return out;
    }
    let mut all: Vec<Sample> = parts.into_iter().flatten().collect();
    all.sort_by_key(|s| s.t); // stable: earlier parts first among equal timestamps
    all.dedup_by_key(|s| s.t);
    all
}

/// Merges two lists of lazy series sorted by labels into one; a series in both gets the
/// parts of `a` first (higher priority).
pub(crate) fn merge_sorted(a: Vec<LazySeries>, b: Vec<LazySeries>) -> Vec<LazySeries> {
    if b.is_empty() {
        return a;
    }
    if a.is_empty() {
        return b;
    }
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let ord = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.labels.cmp(&y.labels),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => break,
        };
        match ord {
            std::cmp::Ordering::Less => out.extend(a.next()),
            std::cmp::Ordering::Greater => out.extend(b.next()),
            std::cmp::Ordering::Equal => {
                if let (Some(mut x), Some(y)) = (a.next(), b.next()) {
                    x.absorb(y);
                    out.push(x);
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn merge_dedups_and_prefers_first() {
        let a = vec![Sample::new(1, 1.0), Sample::new(3, 3.0)];
        let b = vec![
            Sample::new(1, 9.0),
            Sample::new(2, 2.0),
            Sample::new(3, 9.0),
            Sample::new(4, 4.0),
        ];
        let m = merge_parts(vec![a, b]);
        assert_eq!(
            m,
            vec![
                Sample::new(1, 1.0),
                Sample::new(2, 2.0),
                Sample::new(3, 3.0),
                Sample::new(4, 4.0)
            ]
        );
    }

    #[test]
    fn disjoint_parts_are_concatenated_in_time_order() {
        let head = vec![Sample::new(10, 1.0), Sample::new(11, 2.0)];
        let block = vec![Sample::new(1, 3.0), Sample::new(5, 4.0)];
        let m = merge_parts(vec![head, Vec::new(), block]);
        let ts: Vec<i64> = m.iter().map(|s| s.t).collect();
        assert_eq!(ts, vec![1, 5, 10, 11]);
    }

    #[test]
    fn sorted_lists_merge_by_labels() {
        let l = |v: &str| Labels::from_pairs([("a", v)]);
        let s = |v: &str, t: i64| LazySeries::decoded(l(v), vec![Sample::new(t, t as f64)]);
        let m = merge_sorted(vec![s("1", 1), s("3", 3)], vec![s("2", 2), s("3", 30)]);
        let names: Vec<String> = m.iter().map(|x| x.labels().to_string()).collect();
        assert_eq!(names, vec![r#"{a="1"}"#, r#"{a="2"}"#, r#"{a="3"}"#]);
        let mut sc = DecodeScratch::new();
        // The first list wins at equal timestamps; distinct ones are kept.
        assert_eq!(
            m[2].decode(&mut sc).unwrap(),
            vec![Sample::new(3, 3.0), Sample::new(30, 30.0)]
        );
    }
}
