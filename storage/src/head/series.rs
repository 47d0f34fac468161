//! One series in the head ([`MemSeries`]) and the sharded maps that find series by label
//! hash (with collision lists) and by reference.

use super::hist::HistData;
use super::spill::ChunkBytes;
use crate::chunk::HeadChunk;
use crate::error::AppendError;
use crate::id_table::IdTable;
use crate::model::{FloatHistogram, Labels, Sample};
use foldhash::HashMap;
use parking_lot::{Mutex, RwLock};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// Samples per head chunk before it is closed (as Prometheus).
pub(crate) const SAMPLES_PER_CHUNK: usize = 120;
/// Number of stripes of the series maps.
pub(crate) const STRIPES: usize = 64;

/// A closed, immutable chunk of in-order samples: the encoded bytes of the [`HeadChunk`]
/// it was ([`HeadChunk::as_bytes`]) in one exactly sized allocation until a spill pass moves
/// them to a memory-mapped file (see [`super::spill`]), without the encoder state an open
/// chunk needs.
#[derive(Clone, Debug)]
pub(crate) struct ClosedChunk {
    pub(crate) min_t: i64,
    pub(crate) max_t: i64,
    pub(crate) len: u32,
    /// How `bytes` are encoded: the head chunk's own Gorilla stream on the heap, the block
    /// columns once spilled (a spill pass transcodes them: smaller, and faster to decode).
    pub(crate) columnar: bool,
    /// Shared with readers' snapshots.
    pub(crate) bytes: ChunkBytes,
}

impl ClosedChunk {
    /// Closes `open` (not empty).
    fn of(open: &HeadChunk) -> Self {
        ClosedChunk {
            min_t: open.min_time(),
            max_t: open.max_time(),
            len: open.len() as u32,
            columnar: false,
            bytes: ChunkBytes::heap(open.as_bytes()),
        }
    }

    /// Appends the samples in `[lo, hi]` to `out`, in time order.
    pub(crate) fn decode_range_into(&self, lo: i64, hi: i64, out: &mut Vec<Sample>) {
        if self.columnar {
            super::columnar::decode_range_into(&self.bytes, lo, hi, out);
        } else {
            HeadChunk::decode_range_into(&self.bytes, lo, hi, out);
        }
    }

    /// All samples, in time order.
    pub(crate) fn samples(&self) -> Vec<Sample> {
        let mut out = Vec::with_capacity(self.len as usize);
        self.decode_range_into(i64::MIN, i64::MAX, &mut out);
        out
    }
}

/// What inserting a sample did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// Appended in order.
    InOrder,
    /// Stored in the out-of-order buffer.
    OutOfOrder,
    /// Same timestamp and value already present: nothing done.
    Duplicate,
}

/// How an append relates to the series' data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Newer than everything.
    InOrder,
    /// Older, within the window, timestamp not present.
    OutOfOrder,
    /// Already present with the same value.
    Duplicate,
}

/// The samples of a series, behind its mutex.
///
/// `repr(C)` keeps the fields an append checks first (newest time and value) at the start,
/// next to the mutex and the series' reference counts: one cache line per append.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct SeriesData {
    /// Newest in-order timestamp (`i64::MIN` if none yet).
    pub(crate) max_t: i64,
    /// Bits of the value at `max_t`.
    pub(crate) last_v: u64,
    /// Oldest timestamp held (`i64::MAX` if none).
    pub(crate) min_t: i64,
    /// Native histogram samples, if the series has any (none at a timestamp of a float
    /// sample). Boxed: float-only series pay one pointer, in the cache line appends read.
    pub(crate) hist: Option<Box<HistData>>,
    /// The chunk being appended to.
    pub(crate) open: HeadChunk,
    /// Closed in-order chunks, oldest first. Shared with readers' snapshots (a select
    /// over many series holds one pointer per series, not a copy of each list); changed
    /// copy-on-write, which copies only while a snapshot still holds the old list.
    pub(crate) closed: Arc<Vec<ClosedChunk>>,
    /// Out-of-order samples, sorted by time, none at a timestamp the in-order data has.
    pub(crate) ooo: Vec<Sample>,
}

/// The closed-chunk list every series starts with, shared until its first cut (which copies
/// it, see [`SeriesData::closed`]): an own empty list was an allocation of 40 bytes a series,
/// 22 MB of an agent's heap at 560 k series.
static NO_CLOSED_CHUNKS: std::sync::LazyLock<Arc<Vec<ClosedChunk>>> =
    std::sync::LazyLock::new(|| Arc::new(Vec::new()));

impl SeriesData {
    fn new() -> Self {
        SeriesData {
            closed: Arc::clone(&NO_CLOSED_CHUNKS),
            open: HeadChunk::new(),
            ooo: Vec::new(),
            max_t: i64::MIN,
            last_v: 0,
            min_t: i64::MAX,
            hist: None,
        }
    }

    /// Whether no sample is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.closed.is_empty()
            && self.open.len() == 0
            && self.ooo.is_empty()
            && self.hist.as_ref().is_none_or(|h| h.is_empty())
    }

    /// Newest timestamp held, in order or not, float or histogram.
    pub(crate) fn newest(&self) -> i64 {
        let n = self.max_t.max(self.ooo.last().map_or(i64::MIN, |s| s.t));
        match &self.hist {
            None => n,
            Some(h) => n.max(h.max_t()),
        }
    }

    /// Whether a histogram sample is held at `t`.
    #[inline]
    fn histogram_at(&self, t: i64) -> bool {
        self.hist.as_ref().is_some_and(|h| h.has_at(t))
    }

    /// Number of histogram samples held.
    pub(crate) fn histogram_count(&self) -> usize {
        self.hist.as_ref().map_or(0, |h| h.len())
    }

    /// Decides where a histogram sample would go (a float at `t` makes it a duplicate
    /// timestamp; histograms are in order only, see [`super::hist`]).
    pub(crate) fn place_histogram(&self, t: i64, h: &FloatHistogram) -> Result<Placement, AppendError> {
        if self.existing_at(t).is_some() {
            return Err(AppendError::DuplicateTimestamp { t });
        }
        match &self.hist {
            None => Ok(Placement::InOrder),
            Some(d) => d.place(t, h),
        }
    }

    /// Stores a histogram sample (used by commit and replay).
    pub(crate) fn insert_histogram(&mut self, t: i64, h: &FloatHistogram) -> Result<Inserted, AppendError> {
        if self.existing_at(t).is_some() {
            return Err(AppendError::DuplicateTimestamp { t });
        }
        let d = self.hist.get_or_insert_with(Box::default);
        let r = d.insert(t, h)?;
        self.min_t = self.min_t.min(t);
        Ok(r)
    }

    /// Whether any sample may fall in `[lo, hi]`.
    pub(crate) fn overlaps(&self, lo: i64, hi: i64) -> bool {
        !self.is_empty() && self.min_t <= hi && self.newest() >= lo
    }

    /// Number of samples held.
    #[cfg(test)]
    pub(crate) fn sample_count(&self) -> usize {
        self.closed.iter().map(|c| c.len as usize).sum::<usize>()
            + self.open.len()
            + self.ooo.len()
            + self.histogram_count()
    }

    /// Value bits of the in-order sample at `t`, if any.
    fn in_order_at(&self, t: i64) -> Option<u64> {
        if !self.open.is_empty() && self.open.min_time() <= t {
            return self.open.iter().find(|s| s.t == t).map(|s| s.v.to_bits());
        }
        let i = self.closed.partition_point(|c| c.max_t < t);
        let c = self.closed.get(i).filter(|c| c.min_t <= t)?;
        c.samples().into_iter().find(|s| s.t == t).map(|s| s.v.to_bits())
    }

    fn existing_at(&self, t: i64) -> Option<u64> {
        if let Ok(i) = self.ooo.binary_search_by(|s| s.t.cmp(&t)) {
            return Some(self.ooo[i].v.to_bits());
        }
        self.in_order_at(t)
    }

    /// Decides where a sample would go without changing anything. `window` is the
    /// out-of-order window, `newest` the newest timestamp to measure it from (the series'
    /// or a pending batch's).
    pub(crate) fn place(&self, t: i64, v: f64, window: i64, newest: i64) -> Result<Placement, AppendError> {
        if self.hist.is_some() && self.histogram_at(t) {
            return Err(AppendError::DuplicateTimestamp { t });
        }
        if t > self.max_t && t > newest {
            return Ok(Placement::InOrder);
        }
        if t == self.max_t {
            return same(self.last_v, v, t);
        }
        if t < newest.saturating_sub(window.max(0)) {
            return Err(AppendError::OutOfOrder { t, newest });
        }
        match self.existing_at(t) {
            Some(bits) => same(bits, v, t),
            None if t > self.max_t => Ok(Placement::InOrder),
            None => Ok(Placement::OutOfOrder),
        }
    }

    /// Stores a sample wherever it belongs (no window check: used by commit and replay).
    pub(crate) fn insert(&mut self, t: i64, v: f64) -> Result<Inserted, AppendError> {
        if self.hist.is_some() && self.histogram_at(t) {
            return Err(AppendError::DuplicateTimestamp { t });
        }
        if t > self.max_t {
            if self.open.len() >= SAMPLES_PER_CHUNK {
                self.cut();
            }
            self.open.append(t, v);
            self.max_t = t;
            self.last_v = v.to_bits();
            self.min_t = self.min_t.min(t);
            return Ok(Inserted::InOrder);
        }
        if let Some(bits) = self.existing_at(t) {
            return same(bits, v, t).map(|_| Inserted::Duplicate);
        }
        let i = self.ooo.partition_point(|s| s.t < t);
        self.ooo.insert(i, Sample::new(t, v));
        self.min_t = self.min_t.min(t);
        Ok(Inserted::OutOfOrder)
    }

    /// Records a float sample without storing it (a head that does not store floats, see
    /// [`super::Head::stores_floats`]): only the newest timestamp and value are kept, so an
    /// order check and a duplicate check against the newest sample remain. An older sample
    /// that passed [`SeriesData::place`] is counted out of order.
    pub(crate) fn record_unstored(&mut self, t: i64, v: f64) -> Result<Inserted, AppendError> {
        if self.hist.is_some() && self.histogram_at(t) {
            return Err(AppendError::DuplicateTimestamp { t });
        }
        self.min_t = self.min_t.min(t);
        if t > self.max_t {
            self.max_t = t;
            self.last_v = v.to_bits();
            return Ok(Inserted::InOrder);
        }
        if t == self.max_t {
            return same(self.last_v, v, t).map(|_| Inserted::Duplicate);
        }
        Ok(Inserted::OutOfOrder)
    }

    /// The other half of [`SeriesData::record_unstored`]'s truncation: forgets the newest
    /// timestamp when it is older than `floor`, so a series that stopped receiving can be
    /// removed. Run after [`SeriesData::truncate_before`].
    pub(crate) fn forget_newest_before(&mut self, floor: i64) {
        if self.max_t < floor {
            self.max_t = i64::MIN;
            self.last_v = 0;
        } else {
            self.min_t = self.min_t.min(self.max_t);
        }
    }

    /// Closes the open chunk.
    fn cut(&mut self) {
        let open = std::mem::take(&mut self.open);
        Arc::make_mut(&mut self.closed).push(ClosedChunk::of(&open));
    }

    /// Drops every chunk wholly older than `floor` and out-of-order samples older than it.
    /// Returns (samples dropped, chunks dropped).
    pub(crate) fn truncate_before(&mut self, floor: i64) -> (usize, usize) {
        let keep_from = self.closed.partition_point(|c| c.max_t < floor);
        let mut samples: usize = self.closed[..keep_from].iter().map(|c| c.len as usize).sum();
        let mut chunks = keep_from;
        if keep_from > 0 {
            Arc::make_mut(&mut self.closed).drain(..keep_from);
        }
        if !self.open.is_empty() && self.open.max_time() < floor {
            samples += self.open.len();
            chunks += 1;
            self.open = HeadChunk::new();
        } else if !self.open.is_empty() && self.open.min_time() < floor {
            // Re-encode the open chunk without the part already in blocks (<= 120 samples).
            let mut kept = HeadChunk::new();
            for s in self.open.iter().filter(|s| s.t >= floor) {
                kept.append(s.t, s.v);
            }
            samples += self.open.len() - kept.len();
            self.open = kept;
        }
        let before = self.ooo.len();
        self.ooo.retain(|s| s.t >= floor);
        samples += before - self.ooo.len();
        let first_in_order = match self.closed.first() {
            Some(c) => c.min_t,
            None if self.open.is_empty() => i64::MAX,
            None => self.open.min_time(),
        };
        self.min_t = first_in_order.min(self.ooo.first().map_or(i64::MAX, |s| s.t));
        if let Some(h) = self.hist.as_mut() {
            let (s, c) = h.truncate_before(floor);
            samples += s;
            chunks += c;
            if h.is_empty() {
                self.hist = None;
            } else {
                self.min_t = self.min_t.min(h.min_t());
            }
        }
        (samples, chunks)
    }

    /// Removes the samples in `[lo, hi]` (admin deletion); returns how many. The remaining
    /// samples are re-encoded in order (out-of-order ones merged in).
    pub(crate) fn delete_range(&mut self, lo: i64, hi: i64) -> usize {
        if !self.overlaps(lo, hi) {
            return 0;
        }
        let mut hist = self.hist.take();
        let hist_removed = hist.as_mut().map_or(0, |h| h.delete_range(lo, hi));
        if hist.as_ref().is_some_and(|h| h.is_empty()) {
            hist = None;
        }
        let removed = self.delete_float_range(lo, hi);
        if let Some(h) = &hist {
            self.min_t = self.min_t.min(h.min_t());
        }
        self.hist = hist;
        removed + hist_removed
    }

    /// [`SeriesData::delete_range`] of the float samples (`hist` taken out).
    fn delete_float_range(&mut self, lo: i64, hi: i64) -> usize {
        let mut all: Vec<Sample> = Vec::new();
        for c in self.closed.iter() {
            c.decode_range_into(i64::MIN, i64::MAX, &mut all);
        }
        all.extend(self.open.iter());
        if !self.ooo.is_empty() {
            all.extend(self.ooo.iter().copied());
            all.sort_by_key(|s| s.t);
        }
        let before = all.len();
        all.retain(|s| s.t < lo || s.t > hi);
        let removed = before - all.len();
        if removed == 0 {
            return 0;
        }
        let mut fresh = SeriesData::new();
        for s in all {
            // Ascending and unique: every insert is in order and cannot fail.
            let _ = fresh.insert(s.t, s.v);
        }
        *self = fresh;
        removed
    }

    /// Number of chunks (closed + the open one if it has samples).
    pub(crate) fn chunk_count(&self) -> usize {
        self.closed.len()
            + usize::from(!self.open.is_empty())
            + self.hist.as_ref().map_or(0, |h| h.chunk_count())
    }

    /// Approximate memory held by the samples.
    pub(crate) fn size_bytes(&self) -> usize {
        self.closed
            .iter()
            .map(|c| {
                // Bytes in their Arc (two counters) unless spilled + the list entry.
                c.bytes.heap_bytes() + std::mem::size_of::<ClosedChunk>()
            })
            .sum::<usize>()
            + self.open.size_bytes()
            + self.ooo.capacity() * std::mem::size_of::<Sample>()
            + self.hist.as_ref().map_or(0, |h| h.size_bytes())
    }
}

fn same(bits: u64, v: f64, t: i64) -> Result<Placement, AppendError> {
    if bits == v.to_bits() {
        Ok(Placement::Duplicate)
    } else {
        Err(AppendError::DuplicateTimestamp { t })
    }
}

/// A series in the head. `repr(C)`: the fields every append touches come first (see
/// [`SeriesData`]).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct MemSeries {
    /// The head reference (never 0).
    pub(crate) id: u64,
    /// Labels built from interned symbols (next to the reference: an append checks both).
    pub(crate) labels: Labels,
    /// Open appenders holding it; garbage collection skips it while non-zero.
    pub(crate) pending: AtomicU32,
    /// Whether a series record for it is in the WAL.
    pub(crate) logged: AtomicBool,
    /// Set while garbage collection removes it, and kept once it is gone (see
    /// [`MemSeries::pin_if_present`]).
    pub(crate) removed: AtomicBool,
    /// The samples.
    pub(crate) data: Mutex<SeriesData>,
    /// `labels.stable_hash()`.
    pub(crate) hash: u64,
}

impl MemSeries {
    pub(crate) fn new(id: u64, labels: Labels, hash: u64) -> Self {
        MemSeries {
            id,
            labels,
            hash,
            logged: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            pending: AtomicU32::new(0),
            data: Mutex::new(SeriesData::new()),
        }
    }

    /// Marks it as used by an open appender.
    pub(crate) fn pin(&self) {
        self.pending.fetch_add(1, Ordering::SeqCst);
    }

    /// Pins it if it is still in the head, for a caller that holds it directly (a
    /// [`super::SeriesHandle`]) rather than finding it under a map's lock. Pairs with the
    /// removal in [`super::Head::truncate`]: that marks the series removed *then* reads the
    /// pins, this pins *then* reads the mark, both sequentially consistent, so at least one
    /// sees the other: either the removal is called off or this pin is refused.
    pub(crate) fn pin_if_present(&self) -> bool {
        self.pin();
        if self.removed.load(Ordering::SeqCst) {
            self.unpin();
            return false;
        }
        true
    }

    /// Releases a [`MemSeries::pin`].
    pub(crate) fn unpin(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One stripe of the label-hash map: the first series per hash inline, collisions aside.
#[derive(Default)]
pub(crate) struct HashStripe {
    pub(crate) primary: HashMap<u64, Arc<MemSeries>>,
    pub(crate) collisions: HashMap<u64, Vec<Arc<MemSeries>>>,
}

impl HashStripe {
    pub(crate) fn get(&self, hash: u64, labels: &Labels) -> Option<&Arc<MemSeries>> {
        let p = self.primary.get(&hash)?;
        if p.labels == *labels {
            return Some(p);
        }
        self.collisions.get(&hash)?.iter().find(|s| s.labels == *labels)
    }

    pub(crate) fn insert(&mut self, s: Arc<MemSeries>) {
        use std::collections::hash_map::Entry;
        match self.primary.entry(s.hash) {
            Entry::Vacant(e) => {
                e.insert(s);
            }
            Entry::Occupied(_) => self.collisions.entry(s.hash).or_default().push(s),
        }
    }

    pub(crate) fn remove(&mut self, s: &MemSeries) {
        if self.primary.get(&s.hash).is_some_and(|p| p.id == s.id) {
            self.primary.remove(&s.hash);
            if let Some(list) = self.collisions.get_mut(&s.hash) {
                if let Some(next) = list.pop() {
                    self.primary.insert(s.hash, next);
                }
                if list.is_empty() {
                    self.collisions.remove(&s.hash);
                }
            }
        } else if let Some(list) = self.collisions.get_mut(&s.hash) {
            list.retain(|x| x.id != s.id);
            if list.is_empty() {
                self.collisions.remove(&s.hash);
            }
        }
    }
}

/// The series of the head, findable by label hash and by reference.
pub(crate) struct SeriesMaps {
    pub(crate) by_hash: Vec<RwLock<HashStripe>>,
    pub(crate) by_id: Vec<RwLock<IdTable<Arc<MemSeries>>>>,
}

impl SeriesMaps {
    pub(crate) fn new() -> Self {
        SeriesMaps {
            by_hash: (0..STRIPES).map(|_| RwLock::new(HashStripe::default())).collect(),
            by_id: (0..STRIPES)
                .map(|_| RwLock::new(IdTable::new(STRIPES as u64)))
                .collect(),
        }
    }

    pub(crate) fn hash_stripe(&self, hash: u64) -> &RwLock<HashStripe> {
        &self.by_hash[(hash % STRIPES as u64) as usize]
    }

    pub(crate) fn id_stripe(&self, id: u64) -> &RwLock<IdTable<Arc<MemSeries>>> {
        &self.by_id[(id % STRIPES as u64) as usize]
    }

    /// The series with reference `id`.
    pub(crate) fn get_by_id(&self, id: u64) -> Option<Arc<MemSeries>> {
        self.id_stripe(id).read().get(&id).cloned()
    }

    /// Every series (a snapshot of the list).
    pub(crate) fn all(&self) -> Vec<Arc<MemSeries>> {
        let mut out = Vec::new();
        for s in &self.by_id {
            out.extend(s.read().values().cloned());
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;

    fn data(ts: &[i64]) -> SeriesData {
        let mut d = SeriesData::new();
        for &t in ts {
            d.insert(t, t as f64).unwrap();
        }
        d
    }

    #[test]
    fn placement_rules() {
        let d = data(&(0..300).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(d.closed.len(), 2);
        assert_eq!(d.place(3000, 1.0, 0, d.max_t).unwrap(), Placement::InOrder);
        assert_eq!(d.place(2990, 2990.0, 0, d.max_t).unwrap(), Placement::Duplicate);
        assert!(matches!(
            d.place(2990, 1.0, 0, d.max_t),
            Err(AppendError::DuplicateTimestamp { t: 2990 })
        ));
        assert!(matches!(
            d.place(2980, 1.0, 0, d.max_t),
            Err(AppendError::OutOfOrder { .. })
        ));
        // Inside the window: an existing timestamp in a closed chunk is a duplicate.
        assert_eq!(
            d.place(500, 500.0, 10_000, d.max_t).unwrap(),
            Placement::Duplicate
        );
        assert!(d.place(500, 1.0, 10_000, d.max_t).is_err());
        assert_eq!(d.place(505, 1.0, 10_000, d.max_t).unwrap(), Placement::OutOfOrder);
        assert!(matches!(
            d.place(5, 1.0, 100, d.max_t),
            Err(AppendError::OutOfOrder { t: 5, newest: 2990 })
        ));
    }

    #[test]
    fn hash_collisions_are_kept_apart() {
        let a = Labels::from_pairs([("a", "1")]);
        let b = Labels::from_pairs([("b", "2")]);
        let c = Labels::from_pairs([("c", "3")]);
        // Same (forced) hash for all three.
        let sa = Arc::new(MemSeries::new(1, a.clone(), 42));
        let sb = Arc::new(MemSeries::new(2, b.clone(), 42));
        let sc = Arc::new(MemSeries::new(3, c.clone(), 42));
        let mut st = HashStripe::default();
        st.insert(sa.clone());
        st.insert(sb.clone());
        st.insert(sc.clone());
        assert_eq!(st.get(42, &a).unwrap().id, 1);
        assert_eq!(st.get(42, &b).unwrap().id, 2);
        assert_eq!(st.get(42, &c).unwrap().id, 3);
        assert!(st.get(42, &Labels::from_pairs([("d", "4")])).is_none());
        st.remove(&sa);
        assert!(st.get(42, &a).is_none());
        assert_eq!(st.get(42, &b).unwrap().id, 2);
        assert_eq!(st.get(42, &c).unwrap().id, 3);
        st.remove(&sb);
        st.remove(&sc);
        assert!(st.primary.is_empty() && st.collisions.is_empty());
    }

    #[test]
    fn ooo_insert_and_truncate() {
        let mut d = data(&[100, 200, 300]);
        assert_eq!(d.insert(150, STALE_NAN).unwrap(), Inserted::OutOfOrder);
        assert_eq!(d.insert(150, STALE_NAN).unwrap(), Inserted::Duplicate);
        assert!(d.insert(150, 1.0).is_err());
        assert_eq!(d.insert(50, 1.0).unwrap(), Inserted::OutOfOrder);
        assert_eq!(d.min_t, 50);
        assert_eq!(d.sample_count(), 5);
        assert_eq!(d.ooo[1].v.to_bits(), STALE_NAN.to_bits());
        let (s, _) = d.truncate_before(120);
        assert_eq!(s, 2, "the ooo sample at 50 and the open chunk's sample at 100");
        assert_eq!(d.min_t, 150);
        assert_eq!(d.open.iter().map(|s| s.t).collect::<Vec<_>>(), vec![200, 300]);
        let (s, c) = d.truncate_before(1000);
        assert_eq!((s, c), (3, 1));
        assert!(d.is_empty());
    }
}
