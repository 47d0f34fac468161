//! [`Snapshot`]: the part of one head series that a select needs, taken under the series'
//! lock and decoded outside it (by [`crate::lazy::LazySeries`]).

use super::hist::HistSnapshot;
use super::series::{ClosedChunk, SeriesData};
use crate::chunk::HeadChunk;
use crate::model::{HistogramSample, Sample};
use std::ops::Range;
use std::sync::Arc;

/// The parts of one series' data needed for a time range, copied or shared out of its lock.
pub(crate) struct Snapshot {
    /// The series' closed chunks, shared (not copied): `closed_in` indexes those that
    /// overlap the range.
    closed: Arc<Vec<ClosedChunk>>,
    closed_in: Range<u32>,
    /// The open chunk's bytes ([`HeadChunk::as_bytes`]) and sample count, copied: a wide
    /// selection holds one snapshot per series until it is decoded, so only the bytes.
    open: Option<(Box<[u8]>, u32)>,
    ooo: Box<[Sample]>,
    /// Histogram samples in the range, if any.
    hist: Option<Box<HistSnapshot>>,
}

impl Snapshot {
    pub(super) fn take(d: &SeriesData, lo: i64, hi: i64) -> Option<Snapshot> {
        if !d.overlaps(lo, hi) {
            return None;
        }
        // Closed chunks are in time order and do not overlap.
        let from = d.closed.partition_point(|c| c.max_t < lo);
        let to = from + d.closed[from..].partition_point(|c| c.min_t <= hi);
        let open = (!d.open.is_empty() && d.open.max_time() >= lo && d.open.min_time() <= hi)
            .then(|| (Box::from(d.open.as_bytes()), d.open.len() as u32));
        let a = d.ooo.partition_point(|s| s.t < lo);
        let b = d.ooo.partition_point(|s| s.t <= hi);
        let hist = d
            .hist
            .as_ref()
            .map(|h| h.snapshot(lo, hi))
            .filter(|h| !h.is_empty())
            .map(Box::new);
        Some(Snapshot {
            closed: Arc::clone(&d.closed),
            // A series holds far fewer than 2^32 chunks (each holds samples of distinct times).
            closed_in: from as u32..to as u32,
            open,
            ooo: Box::from(&d.ooo[a..b]),
            hist,
        })
    }

    /// Whether the snapshot holds histogram samples.
    pub(crate) fn has_histograms(&self) -> bool {
        self.hist.is_some()
    }

    /// The histogram samples in `[lo, hi]`, ascending.
    pub(crate) fn decode_histograms(
        &self,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<HistogramSample>, crate::error::CorruptionError> {
        match &self.hist {
            None => Ok(Vec::new()),
            Some(h) => h.decode(lo, hi).map_err(|e| crate::error::CorruptionError {
                file: std::path::PathBuf::from("<head>"),
                offset: 0,
                reason: format!("head histogram chunk: {e}"),
            }),
        }
    }

    /// The samples in `[lo, hi]`, ascending and unique.
    pub(crate) fn decode(&self, lo: i64, hi: i64) -> Vec<Sample> {
        let mut out = Vec::new();
        self.decode_into(lo, hi, &mut out);
        out
    }

    /// Replaces the contents of `out` with the samples in `[lo, hi]`, ascending and unique
    /// (reusing its allocation).
    pub(crate) fn decode_into(&self, lo: i64, hi: i64, out: &mut Vec<Sample>) {
        out.clear();
        let closed = &self.closed[self.closed_in.start as usize..self.closed_in.end as usize];
        let cap = closed.iter().map(|c| c.len as usize).sum::<usize>()
            + self.open.as_ref().map_or(0, |(_, n)| *n as usize)
            + self.ooo.len();
        out.reserve(cap);
        for c in closed {
            c.decode_range_into(lo, hi, out);
        }
        if let Some((bytes, _)) = &self.open {
            HeadChunk::decode_range_into(bytes, lo, hi, out);
        }
        if !self.ooo.is_empty() {
            *out = merge(out, &self.ooo);
        }
    }
}

/// Merges two ascending sample lists; on equal timestamps the first list wins.
fn merge(a: &[Sample], b: &[Sample]) -> Vec<Sample> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].t < b[j].t {
            out.push(a[i]);
            i += 1;
        } else if a[i].t > b[j].t {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}
