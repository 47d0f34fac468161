//! Native histogram samples of one head series ([`HistData`]): an open buffer of decoded
//! histograms and closed chunks in the block column format (a timestamp column followed by
//! a histogram column, see [`crate::chunk::encode_histograms`]).
//!
//! Out-of-order histograms are not kept: a histogram older than the series' newest
//! histogram is refused with [`AppendError::OutOfOrder`] whatever the out-of-order window
//! (Prometheus 2.x does the same without its OOO native histogram flag).

use crate::chunk::ChunkError;
use crate::chunk::{
    cells_bound, decode_histograms, decode_timestamps, encode_histograms, encode_timestamps, same_family,
    union_growth, MAX_CHUNK_CELLS,
};
use crate::error::AppendError;
use crate::model::{FloatHistogram, HistogramSample};

use super::series::{Inserted, Placement, SAMPLES_PER_CHUNK};
use super::spill::ChunkBytes;

/// A closed chunk of histogram samples: timestamp column then histogram column.
#[derive(Clone, Debug)]
pub(crate) struct ClosedHistChunk {
    pub(crate) min_t: i64,
    pub(crate) max_t: i64,
    pub(crate) len: u32,
    /// On the heap until spilled (see [`super::spill`]).
    pub(crate) bytes: ChunkBytes,
}

impl ClosedHistChunk {
    fn of(open: &[HistogramSample]) -> Self {
        let ts: Vec<i64> = open.iter().map(|s| s.t).collect();
        let hs: Vec<&FloatHistogram> = open.iter().map(|s| &s.h).collect();
        let mut buf = Vec::new();
        encode_timestamps(&ts, &mut buf);
        encode_histograms(&hs, &mut buf);
        ClosedHistChunk {
            min_t: ts.first().copied().unwrap_or(i64::MAX),
            max_t: ts.last().copied().unwrap_or(i64::MIN),
            len: open.len() as u32,
            bytes: ChunkBytes::heap(&buf),
        }
    }

    /// The timestamps only.
    fn timestamps(&self) -> Result<Vec<i64>, ChunkError> {
        let mut ts = Vec::with_capacity(self.len as usize);
        decode_timestamps(&self.bytes, &mut ts)?;
        Ok(ts)
    }

    /// Appends the samples to `out`.
    pub(crate) fn decode_into(&self, out: &mut Vec<HistogramSample>) -> Result<(), ChunkError> {
        let mut ts = Vec::with_capacity(self.len as usize);
        let used = decode_timestamps(&self.bytes, &mut ts)?;
        let mut hs = Vec::with_capacity(self.len as usize);
        let rest = self.bytes.get(used..).unwrap_or(&[]);
        decode_histograms(rest, &mut hs)?;
        if hs.len() != ts.len() {
            return Err(ChunkError::Invalid {
                what: "head histogram chunk",
                detail: format!("{} timestamps, {} histograms", ts.len(), hs.len()),
            });
        }
        out.extend(ts.into_iter().zip(hs).map(|(t, h)| HistogramSample { t, h }));
        Ok(())
    }
}

/// The populated buckets of one side as (index, count bits), empty buckets left out.
fn populated(spans: &[crate::model::BucketSpan], buckets: &[f64]) -> Vec<(i32, u64)> {
    let mut out = Vec::with_capacity(buckets.len());
    let mut next = 0i32;
    let mut b = buckets.iter();
    for s in spans {
        let start = next.wrapping_add(s.offset);
        for k in 0..s.length as i32 {
            if let Some(&c) = b.next() {
                if c != 0.0 {
                    out.push((start.wrapping_add(k), c.to_bits()));
                }
            }
        }
        next = start.wrapping_add(s.length as i32);
    }
    out
}

/// Whether two histograms are the same sample: equal counts, sum, schema, zero bucket and
/// populated buckets, whatever their layouts (a chunk gives back its union layout); stale
/// markers equal each other.
pub(crate) fn same_histogram(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    if a.is_stale() || b.is_stale() {
        return a.is_stale() && b.is_stale();
    }
    a.schema == b.schema
        && a.zero_threshold.to_bits() == b.zero_threshold.to_bits()
        && a.zero_count.to_bits() == b.zero_count.to_bits()
        && a.count.to_bits() == b.count.to_bits()
        && a.sum.to_bits() == b.sum.to_bits()
        && a.custom_values == b.custom_values
        && populated(&a.positive_spans, &a.positive_buckets)
            == populated(&b.positive_spans, &b.positive_buckets)
        && populated(&a.negative_spans, &a.negative_buckets)
            == populated(&b.negative_spans, &b.negative_buckets)
}

/// The histogram samples of a head series.
#[derive(Debug, Default)]
pub(crate) struct HistData {
    pub(crate) closed: Vec<ClosedHistChunk>,
    /// Samples of the open chunk, ascending.
    pub(crate) open: Vec<HistogramSample>,
    /// Upper bound of the open chunk's union layout, in buckets (see [`union_growth`]).
    open_union: usize,
}

impl HistData {
    pub(crate) fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.closed.iter().map(|c| c.len as usize).sum::<usize>() + self.open.len()
    }

    pub(crate) fn min_t(&self) -> i64 {
        match (self.closed.first(), self.open.first()) {
            (Some(c), _) => c.min_t,
            (None, Some(s)) => s.t,
            (None, None) => i64::MAX,
        }
    }

    pub(crate) fn max_t(&self) -> i64 {
        match (self.open.last(), self.closed.last()) {
            (Some(s), _) => s.t,
            (None, Some(c)) => c.max_t,
            (None, None) => i64::MIN,
        }
    }

    pub(crate) fn chunk_count(&self) -> usize {
        self.closed.len() + usize::from(!self.open.is_empty())
    }

    pub(crate) fn size_bytes(&self) -> usize {
        self.closed
            .iter()
            .map(|c| c.bytes.heap_bytes() + std::mem::size_of::<ClosedHistChunk>())
            .sum::<usize>()
            + self
                .open
                .iter()
                .map(|s| {
                    std::mem::size_of::<HistogramSample>()
                        + 8 * (s.h.positive_buckets.len() + s.h.negative_buckets.len())
                        + 8 * (s.h.positive_spans.len() + s.h.negative_spans.len())
                })
                .sum::<usize>()
    }

    /// The closed chunk that may hold `t`.
    fn closed_for(&self, t: i64) -> Option<&ClosedHistChunk> {
        let i = self.closed.partition_point(|c| c.max_t < t);
        self.closed.get(i).filter(|c| c.min_t <= t)
    }

    /// The histogram sample at `t`, if held.
    fn get(&self, t: i64) -> Option<FloatHistogram> {
        if let Some(first) = self.open.first() {
            if first.t <= t {
                let i = self.open.binary_search_by_key(&t, |s| s.t).ok()?;
                return Some(self.open[i].h.clone());
            }
        }
        let c = self.closed_for(t)?;
        let mut all = Vec::with_capacity(c.len as usize);
        // Memory we encoded ourselves: an undecodable chunk cannot happen; treat it as absent.
        c.decode_into(&mut all).ok()?;
        let i = all.binary_search_by_key(&t, |s| s.t).ok()?;
        Some(all.swap_remove(i).h)
    }

    /// Whether a histogram sample at `t` is held (decodes timestamps only).
    pub(crate) fn has_at(&self, t: i64) -> bool {
        if !(self.min_t()..=self.max_t()).contains(&t) {
            return false;
        }
        if let Some(first) = self.open.first() {
            if first.t <= t {
                return self.open.binary_search_by_key(&t, |s| s.t).is_ok();
            }
        }
        self.closed_for(t)
            .and_then(|c| c.timestamps().ok())
            .is_some_and(|ts| ts.binary_search(&t).is_ok())
    }

    /// Where a histogram at `t` would go, without changing anything.
    pub(crate) fn place(&self, t: i64, h: &FloatHistogram) -> Result<Placement, AppendError> {
        let max_t = self.max_t();
        if t > max_t {
            return Ok(Placement::InOrder);
        }
        match self.get(t) {
            Some(old) if same_histogram(&old, h) => Ok(Placement::Duplicate),
            Some(_) => Err(AppendError::DuplicateTimestamp { t }),
            None => Err(AppendError::OutOfOrder { t, newest: max_t }),
        }
    }

    /// Stores a histogram (in order only).
    pub(crate) fn insert(&mut self, t: i64, h: &FloatHistogram) -> Result<Inserted, AppendError> {
        match self.place(t, h)? {
            Placement::Duplicate => return Ok(Inserted::Duplicate),
            Placement::OutOfOrder => {
                return Err(AppendError::OutOfOrder {
                    t,
                    newest: self.max_t(),
                })
            }
            Placement::InOrder => {}
        }
        let family_change = !h.is_stale()
            && self
                .open
                .iter()
                .find(|s| !s.h.is_stale())
                .is_some_and(|p| !same_family(&p.h, h));
        let growth = union_growth(self.open.last().map(|s| &s.h), h);
        let too_big = cells_bound(self.open.len() + 1, self.open_union + growth) > MAX_CHUNK_CELLS;
        if self.open.len() >= SAMPLES_PER_CHUNK || family_change || too_big {
            self.cut();
        }
        self.open_union += union_growth(self.open.last().map(|s| &s.h), h);
        self.open.push(HistogramSample { t, h: h.clone() });
        Ok(Inserted::InOrder)
    }

    fn cut(&mut self) {
        if !self.open.is_empty() {
            let c = ClosedHistChunk::of(&self.open);
            self.closed.push(c);
            self.open.clear();
            self.open_union = 0;
        }
    }

    /// Every sample, ascending.
    fn all(&self) -> Vec<HistogramSample> {
        let mut out = Vec::with_capacity(self.len());
        for c in &self.closed {
            // Our own encoding: cannot fail; a failure would lose only that chunk.
            let _ = c.decode_into(&mut out);
        }
        out.extend(self.open.iter().cloned());
        out
    }

    fn rebuild(samples: Vec<HistogramSample>) -> HistData {
        let mut d = HistData::default();
        for s in samples {
            let _ = d.insert(s.t, &s.h);
        }
        d
    }

    /// Drops samples older than `floor`; returns (samples dropped, chunks dropped).
    pub(crate) fn truncate_before(&mut self, floor: i64) -> (usize, usize) {
        let keep_from = self.closed.partition_point(|c| c.max_t < floor);
        let mut samples: usize = self.closed[..keep_from].iter().map(|c| c.len as usize).sum();
        let mut chunks = keep_from;
        self.closed.drain(..keep_from);
        if self.open.last().is_some_and(|s| s.t < floor) {
            chunks += 1;
        }
        let before = self.open.len();
        self.open.retain(|s| s.t >= floor);
        samples += before - self.open.len();
        (samples, chunks)
    }

    /// Removes the samples in `[lo, hi]`; returns how many.
    pub(crate) fn delete_range(&mut self, lo: i64, hi: i64) -> usize {
        if self.is_empty() || self.min_t() > hi || self.max_t() < lo {
            return 0;
        }
        let mut all = self.all();
        let before = all.len();
        all.retain(|s| s.t < lo || s.t > hi);
        let removed = before - all.len();
        if removed > 0 {
            *self = HistData::rebuild(all);
        }
        removed
    }

    /// The chunks overlapping `[lo, hi]`, shared, and the open samples in it.
    pub(crate) fn snapshot(&self, lo: i64, hi: i64) -> HistSnapshot {
        let a = self.open.partition_point(|s| s.t < lo);
        let b = self.open.partition_point(|s| s.t <= hi);
        HistSnapshot {
            closed: self
                .closed
                .iter()
                .filter(|c| c.max_t >= lo && c.min_t <= hi)
                .cloned()
                .collect(),
            open: self.open[a..b].to_vec(),
        }
    }
}

/// The histogram part of a head snapshot.
#[derive(Clone, Debug, Default)]
pub(crate) struct HistSnapshot {
    closed: Vec<ClosedHistChunk>,
    open: Vec<HistogramSample>,
}

impl HistSnapshot {
    pub(crate) fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_empty()
    }

    /// The samples in `[lo, hi]`, ascending.
    pub(crate) fn decode(&self, lo: i64, hi: i64) -> Result<Vec<HistogramSample>, ChunkError> {
        let mut out = Vec::new();
        for c in &self.closed {
            let from = out.len();
            c.decode_into(&mut out)?;
            if c.min_t < lo || c.max_t > hi {
                let kept: Vec<HistogramSample> =
                    out.drain(from..).filter(|s| s.t >= lo && s.t <= hi).collect();
                out.extend(kept);
            }
        }
        out.extend(self.open.iter().filter(|s| s.t >= lo && s.t <= hi).cloned());
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::BucketSpan;

    pub(crate) fn h(i: u64) -> FloatHistogram {
        FloatHistogram {
            schema: 3,
            count: 3.0 * i as f64,
            sum: i as f64,
            positive_spans: vec![BucketSpan::new(0, 3)],
            positive_buckets: vec![i as f64; 3],
            ..Default::default()
        }
    }

    #[test]
    fn in_order_only_duplicates_and_family_cuts() {
        let mut d = HistData::default();
        for i in 0..300u64 {
            assert_eq!(d.insert(i as i64 * 10, &h(i)).unwrap(), Inserted::InOrder);
        }
        assert_eq!(d.closed.len(), 2);
        assert_eq!(d.insert(2990, &h(299)).unwrap(), Inserted::Duplicate);
        assert!(matches!(
            d.insert(2990, &h(1)),
            Err(AppendError::DuplicateTimestamp { t: 2990 })
        ));
        assert_eq!(d.insert(500, &h(50)).unwrap(), Inserted::Duplicate);
        assert!(matches!(
            d.place(500, &h(1)),
            Err(AppendError::DuplicateTimestamp { .. })
        ));
        assert!(matches!(d.place(505, &h(1)), Err(AppendError::OutOfOrder { .. })));
        assert!(d.has_at(500) && !d.has_at(505) && d.has_at(2990));
        let mut other = h(300);
        other.schema = 2;
        d.insert(3000, &other).unwrap();
        assert_eq!(d.closed.len(), 3, "a schema change cuts a chunk");
        d.insert(3010, &FloatHistogram::stale()).unwrap();
        let snap = d.snapshot(0, i64::MAX);
        let all = snap.decode(0, i64::MAX).unwrap();
        assert_eq!(all.len(), 302);
        assert!(all[301].h.is_stale());
        assert_eq!(all[150].h.count, 450.0);
        assert_eq!(snap.decode(100, 120).unwrap().len(), 3);
        assert_eq!(d.delete_range(100, 120), 3);
        assert_eq!(d.len(), 299);
        // Whole closed chunks older than the floor go (the first one ends at 1220).
        let (s, c) = d.truncate_before(1300);
        assert_eq!((s, c), (120, 1));
        assert_eq!(d.min_t(), 1230);
    }
}
