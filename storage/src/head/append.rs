//! [`HeadAppender`]: one batch. Samples are validated as they are appended (against the
//! series and the batch itself), written to the WAL on commit, then applied to the head.

use super::series::{MemSeries, Placement, SeriesData};
use super::{Head, SeriesHandle};
use crate::api::Appender;
use crate::error::AppendError;
use crate::exemplars::ExemplarStorage;
use crate::model::{Exemplar, FloatHistogram, Labels, MetricMetadata, SeriesRef};
use crate::wal::record::{self, ExemplarEntry, HistogramEntry, SampleEntry, SeriesEntry};
use crate::wal::Wal;
use foldhash::HashMap;
use parking_lot::MutexGuard;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A series used by the batch, with what the batch holds for it.
struct Slot {
    series: Arc<MemSeries>,
    /// Newest timestamp appended to it in this batch (`i64::MIN` if none).
    newest_t: i64,
    newest_bits: u64,
    /// Oldest timestamp appended to it in this batch.
    oldest_t: i64,
    /// Where its open chunk ended when last seen (a prefetch hint for the commit; `0` if
    /// not seen).
    chunk_tail: usize,
    /// Newest histogram timestamp appended to it in this batch (`i64::MIN` if none).
    hist_newest_t: i64,
}

/// The allocations of a batch, reused by later batches (see [`Head::take_buffers`]).
#[derive(Default)]
pub(crate) struct Buffers {
    slots: Vec<Slot>,
    by_id: HashMap<u64, u32>,
    samples: Vec<SampleEntry>,
    sample_slots: Vec<u32>,
    /// Histogram samples of the batch, with their slots.
    histograms: Vec<HistogramEntry>,
    hist_slots: Vec<u32>,
    wal: Vec<u8>,
}

impl Buffers {
    /// Buffers bigger than this many samples are not kept for reuse.
    const MAX_POOLED: usize = 1 << 20;

    fn clear(&mut self) {
        for s in self.slots.drain(..) {
            s.series.unpin();
        }
        self.by_id.clear();
        self.samples.clear();
        self.sample_slots.clear();
        self.histograms.clear();
        self.hist_slots.clear();
        self.wal.clear();
    }
}

impl Head {
    fn take_buffers(&self) -> Buffers {
        self.append_pool.lock().pop().unwrap_or_default()
    }

    fn return_buffers(&self, mut b: Buffers) {
        b.clear();
        if b.samples.capacity() <= Buffers::MAX_POOLED && b.by_id.capacity() <= Buffers::MAX_POOLED {
            let mut pool = self.append_pool.lock();
            if pool.len() < 16 {
                pool.push(b);
            }
        }
    }
}

/// A batch of appends to the head, logged to the WAL on commit.
pub(crate) struct HeadAppender<'a> {
    head: &'a Head,
    wal: &'a Wal,
    /// Fsync on commit.
    sync: bool,
    b: Buffers,
    /// Slot of the previous append (consecutive samples of one series skip the lookup).
    last: Option<(u64, u32)>,
    meta: Vec<(String, MetricMetadata)>,
    /// Where exemplars go on commit; `None` drops them.
    exemplar_store: Option<&'a ExemplarStorage>,
    /// The batch's exemplars, logged to the WAL with its samples on commit.
    exemplars: Vec<ExemplarEntry>,
    /// Position in `exemplars` of each series' newest exemplar of this batch.
    newest_exemplar: HashMap<Labels, usize>,
}

impl<'a> HeadAppender<'a> {
    pub(crate) fn new(head: &'a Head, wal: &'a Wal, sync: bool) -> Self {
        HeadAppender {
            head,
            wal,
            sync,
            b: head.take_buffers(),
            last: None,
            meta: Vec::new(),
            exemplar_store: None,
            exemplars: Vec::new(),
            newest_exemplar: HashMap::default(),
        }
    }

    /// Stores the batch's exemplars in `store` on commit.
    pub(crate) fn with_exemplars(mut self, store: &'a ExemplarStorage) -> Self {
        self.exemplar_store = Some(store);
        self
    }

    /// Moves the batch's exemplars into the store (after they are logged).
    /// Exemplars that lost a race with another batch are dropped as Prometheus drops them.
    fn store_exemplars(&mut self) {
        let Some(store) = self.exemplar_store else { return };
        for e in self.exemplars.drain(..) {
            let _ = store.add(&e.series, e.exemplar);
        }
    }

    fn add_slot(&mut self, series: Arc<MemSeries>) -> u32 {
        use std::collections::hash_map::Entry;
        let next = self.b.slots.len() as u32;
        match self.b.by_id.entry(series.id) {
            Entry::Occupied(e) => {
                series.unpin(); // already pinned once by this batch
                *e.get()
            }
            Entry::Vacant(e) => {
                e.insert(next);
                self.b.slots.push(Slot {
                    series,
                    newest_t: i64::MIN,
                    newest_bits: 0,
                    oldest_t: i64::MAX,
                    chunk_tail: 0,
                    hist_newest_t: i64::MIN,
                });
                next
            }
        }
    }

    /// The batch slot of the series `r` / `labels`, looking it up or creating it.
    ///
    /// A non-zero `r` is checked against `labels` when it is first seen in the batch; a
    /// reference no longer in the head, or naming another series, falls back to the labels.
    fn slot_for(&mut self, r: SeriesRef, labels: &Labels) -> Result<u32, AppendError> {
        if !r.is_none() {
            if let Some((id, i)) = self.last {
                if id == r.0 {
                    return Ok(i);
                }
            }
            if let Some(&i) = self.b.by_id.get(&r.0) {
                return Ok(i);
            }
            let found = {
                let g = self.head.series.id_stripe(r.0).read();
                // A reference naming another series (a caller's stale cache) must never put
                // samples on the wrong series: it falls back to the labels like a missing one.
                g.get(&r.0).filter(|s| s.labels == *labels).map(|s| {
                    s.pin();
                    s.clone()
                })
            };
            if let Some(s) = found {
                return Ok(self.add_slot(s));
            }
        }
        let s = self.head.get_or_create(labels, None)?;
        Ok(self.add_slot(s))
    }

    /// The sample of this batch for slot `slot` at `t`, if any.
    fn pending_at(&self, slot: u32, t: i64) -> Option<u64> {
        self.b
            .samples
            .iter()
            .zip(&self.b.sample_slots)
            .rev()
            .find(|(s, &sl)| sl == slot && s.t == t)
            .map(|(s, _)| s.v.to_bits())
    }

    /// Whether the batch holds a histogram for slot `slot` at `t`.
    fn pending_histogram_at(&self, slot: u32, t: i64) -> Option<&FloatHistogram> {
        self.b
            .histograms
            .iter()
            .zip(&self.b.hist_slots)
            .rev()
            .find(|(h, &sl)| sl == slot && h.t == t)
            .map(|(h, _)| &h.h)
    }

    /// Applies the batch's histograms: (stored, dropped).
    fn apply_histograms(&self) -> (u64, u64) {
        let (mut added, mut dropped) = (0u64, 0u64);
        for (h, &slot) in self.b.histograms.iter().zip(&self.b.hist_slots) {
            let series = &self.b.slots[slot as usize].series;
            let mut d = series.data.lock();
            match d.insert_histogram(h.t, &h.h) {
                Ok(super::series::Inserted::Duplicate) => {}
                Ok(_) => added += 1,
                Err(_) => dropped += 1,
            }
        }
        (added, dropped)
    }

    fn apply(&self) -> (u64, u64, u64) {
        let (mut added, mut ooo, mut dropped) = (0u64, 0u64, 0u64);
        /// How many samples ahead the series and chunk are prefetched.
        const AHEAD: usize = 16;
        let mut cur: Option<(u32, MutexGuard<'_, SeriesData>)> = None;
        let stores = self.head.stores_floats;
        for (i, (s, &slot)) in self.b.samples.iter().zip(&self.b.sample_slots).enumerate() {
            if let Some(&next) = self.b.sample_slots.get(i + AHEAD) {
                let ahead = &self.b.slots[next as usize];
                let p = Arc::as_ptr(&ahead.series).cast::<u8>();
                crate::prefetch::prefetch(p);
                crate::prefetch::prefetch(p.wrapping_add(64));
                crate::prefetch::prefetch_addr(ahead.chunk_tail);
            }
            if cur.as_ref().is_none_or(|(c, _)| *c != slot) {
                cur = Some((slot, self.b.slots[slot as usize].series.data.lock()));
            }
            let Some((_, d)) = cur.as_mut() else { continue };
            let inserted = if stores {
                d.insert(s.t, s.v)
            } else {
                d.record_unstored(s.t, s.v)
            };
            match inserted {
                Ok(super::series::Inserted::InOrder) => added += 1,
                Ok(super::series::Inserted::OutOfOrder) => {
                    added += 1;
                    ooo += 1;
                }
                Ok(super::series::Inserted::Duplicate) => {}
                Err(_) => dropped += 1,
            }
        }
        (added, ooo, dropped)
    }
}

impl Drop for HeadAppender<'_> {
    fn drop(&mut self) {
        self.head.return_buffers(std::mem::take(&mut self.b));
    }
}

impl Appender for HeadAppender<'_> {
    fn append(&mut self, r: SeriesRef, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        let res = self.append_checked(r, labels, t, v);
        if let Err(e) = &res {
            self.head.counters.refused(e);
        }
        res
    }

    fn append_histogram(
        &mut self,
        r: SeriesRef,
        labels: &Labels,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<SeriesRef, AppendError> {
        let res = self.append_histogram_checked(r, labels, t, h);
        if let Err(e) = &res {
            self.head.counters.refused(e);
        }
        res
    }

    fn update_metadata(&mut self, metric_family: &str, meta: MetricMetadata) -> Result<(), AppendError> {
        self.meta.push((metric_family.to_string(), meta));
        Ok(())
    }

    fn append_exemplar(&mut self, _r: SeriesRef, labels: &Labels, e: Exemplar) -> Result<(), AppendError> {
        let Some(store) = self.exemplar_store else {
            return Ok(());
        };
        if self.wal.is_poisoned() {
            return Err(AppendError::Poisoned);
        }
        // Against the store, then against this batch's newest exemplar of the same series.
        if !store.validate(labels, &e)? {
            return Ok(());
        }
        if let Some(prev) = self
            .newest_exemplar
            .get(labels)
            .and_then(|&i| self.exemplars.get(i))
            .map(|e| &e.exemplar)
        {
            if prev.same_as(&e) {
                return Ok(());
            }
            if e.t <= prev.t {
                return Err(AppendError::OutOfOrderExemplar {
                    t: e.t,
                    newest: prev.t,
                });
            }
        }
        self.newest_exemplar.insert(labels.clone(), self.exemplars.len());
        self.exemplars.push(ExemplarEntry {
            series: labels.clone(),
            exemplar: e,
        });
        Ok(())
    }

    fn series_labels(&self, r: SeriesRef) -> Option<Labels> {
        let i = *self.b.by_id.get(&r.0)?;
        Some(self.b.slots[i as usize].series.labels.clone())
    }

    fn handle(&self, r: SeriesRef) -> Option<SeriesHandle> {
        let i = *self.b.by_id.get(&r.0)?;
        Some(SeriesHandle {
            series: self.b.slots[i as usize].series.clone(),
            head: self.head.instance,
        })
    }

    fn append_to(&mut self, h: &SeriesHandle, t: i64, v: f64) -> Result<Option<SeriesRef>, AppendError> {
        if h.head != self.head.instance {
            return Ok(None);
        }
        let res = self.append_handle_checked(h, t, v);
        if let Err(e) = &res {
            self.head.counters.refused(e);
        }
        res
    }

    fn latest_sample(&self, labels: &Labels) -> Option<crate::api::LatestSample> {
        self.head.latest_sample(labels)
    }

    fn commit(self: Box<Self>) -> Result<(), AppendError> {
        self.commit_batch()
    }

    fn rollback(self: Box<Self>) {}
}

impl HeadAppender<'_> {
    /// [`Appender::append_to`] without the counting of refusals.
    fn append_handle_checked(
        &mut self,
        h: &SeriesHandle,
        t: i64,
        v: f64,
    ) -> Result<Option<SeriesRef>, AppendError> {
        self.check_writable(t)?;
        let id = h.series.id;
        let slot = match self.last {
            Some((last, i)) if last == id => i,
            _ => match self.b.by_id.get(&id) {
                Some(&i) => i,
                None => {
                    if !h.series.pin_if_present() {
                        return Ok(None);
                    }
                    self.add_slot(h.series.clone())
                }
            },
        };
        self.append_at(slot, t, v).map(Some)
    }

    /// Refuses every append when the WAL is poisoned, and `t` below the head's floor.
    fn check_writable(&self, t: i64) -> Result<(), AppendError> {
        if self.wal.is_poisoned() {
            return Err(AppendError::Poisoned);
        }
        let floor = self.head.floor();
        if t < floor {
            return Err(AppendError::OutOfBounds { t, min_valid: floor });
        }
        Ok(())
    }

    /// [`Appender::append`] without the counting of refusals.
    fn append_checked(
        &mut self,
        r: SeriesRef,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        self.check_writable(t)?;
        let slot = self.slot_for(r, labels)?;
        self.append_at(slot, t, v)
    }

    /// [`Appender::append_histogram`] without the counting of refusals.
    fn append_histogram_checked(
        &mut self,
        r: SeriesRef,
        labels: &Labels,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<SeriesRef, AppendError> {
        self.check_writable(t)?;
        let buckets = h.positive_buckets.len() + h.negative_buckets.len();
        let reason = match h.validate() {
            Err(e) => Some(e.to_string()),
            Ok(()) if buckets > crate::chunk::MAX_HISTOGRAM_BUCKETS => Some(format!(
                "{buckets} buckets, more than the {} stored per histogram",
                crate::chunk::MAX_HISTOGRAM_BUCKETS
            )),
            Ok(()) => None,
        };
        if let Some(reason) = reason {
            return Err(AppendError::InvalidHistogram {
                labels: labels.to_string(),
                reason,
            });
        }
        let slot = self.slot_for(r, labels)?;
        self.last = Some((self.b.slots[slot as usize].series.id, slot));
        let sref = SeriesRef(self.b.slots[slot as usize].series.id);
        let (newest_t, oldest_t, hist_newest_t) = {
            let s = &self.b.slots[slot as usize];
            (s.newest_t, s.oldest_t, s.hist_newest_t)
        };
        // Against the batch: a float at `t`, or a histogram at or after it.
        if t >= oldest_t && t <= newest_t && self.pending_at(slot, t).is_some() {
            return Err(AppendError::DuplicateTimestamp { t });
        }
        if t <= hist_newest_t {
            return match self.pending_histogram_at(slot, t) {
                Some(old) if super::hist::same_histogram(old, h) => Ok(sref),
                Some(_) => Err(AppendError::DuplicateTimestamp { t }),
                None => Err(AppendError::OutOfOrder {
                    t,
                    newest: hist_newest_t,
                }),
            };
        }
        let placement = self.b.slots[slot as usize]
            .series
            .data
            .lock()
            .place_histogram(t, h)?;
        if placement == Placement::Duplicate {
            return Ok(sref);
        }
        self.b.slots[slot as usize].hist_newest_t = t;
        self.b.histograms.push(HistogramEntry {
            id: sref.0,
            t,
            h: h.clone(),
        });
        self.b.hist_slots.push(slot);
        Ok(sref)
    }

    /// Validates and records the sample `(t, v)` of the batch's series `slot`.
    fn append_at(&mut self, slot: u32, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        self.last = Some((self.b.slots[slot as usize].series.id, slot));
        let sref = SeriesRef(self.b.slots[slot as usize].series.id);
        let (newest_t, newest_bits, oldest_t) = {
            let s = &self.b.slots[slot as usize];
            (s.newest_t, s.newest_bits, s.oldest_t)
        };
        if t == newest_t {
            return if newest_bits == v.to_bits() {
                Ok(sref)
            } else {
                Err(AppendError::DuplicateTimestamp { t })
            };
        }
        let (placement, tail) = {
            let d = self.b.slots[slot as usize].series.data.lock();
            let p = d.place(t, v, self.head.ooo_window, d.max_t.max(newest_t));
            (p, d.open.tail_addr())
        };
        self.b.slots[slot as usize].chunk_tail = tail;
        let placement = placement?;
        if placement == Placement::Duplicate {
            return Ok(sref);
        }
        if !self.b.histograms.is_empty() && self.pending_histogram_at(slot, t).is_some() {
            return Err(AppendError::DuplicateTimestamp { t });
        }
        if t < newest_t && t >= oldest_t {
            if let Some(bits) = self.pending_at(slot, t) {
                return if bits == v.to_bits() {
                    Ok(sref)
                } else {
                    Err(AppendError::DuplicateTimestamp { t })
                };
            }
        }
        let s = &mut self.b.slots[slot as usize];
        if t > s.newest_t {
            s.newest_t = t;
            s.newest_bits = v.to_bits();
        }
        s.oldest_t = s.oldest_t.min(t);
        self.b.samples.push(SampleEntry { id: sref.0, t, v });
        self.b.sample_slots.push(slot);
        Ok(sref)
    }

    /// [`Appender::commit`]: logs the batch to the WAL, then applies it to the head.
    fn commit_batch(mut self: Box<Self>) -> Result<(), AppendError> {
        self.meta = self.head.changed_metadata(std::mem::take(&mut self.meta));
        if self.b.samples.is_empty()
            && self.b.histograms.is_empty()
            && self.meta.is_empty()
            && self.exemplars.is_empty()
        {
            return Ok(());
        }
        let head = self.head;
        let _gate = head.commit_gate.read();
        // Time cut into a block since the samples were validated is no longer writable.
        let floor = head.floor();
        let mut late = 0u64;
        let mut oldest_late = i64::MAX;
        if self.b.samples.iter().any(|s| s.t < floor) {
            oldest_late = self.b.samples.iter().map(|s| s.t).min().unwrap_or(i64::MAX);
            let before = self.b.samples.len();
            let (samples, slots): (Vec<SampleEntry>, Vec<u32>) = self
                .b
                .samples
                .iter()
                .zip(&self.b.sample_slots)
                .filter(|(s, _)| s.t >= floor)
                .map(|(s, &sl)| (*s, sl))
                .unzip();
            self.b.samples = samples;
            self.b.sample_slots = slots;
            late = (before - self.b.samples.len()) as u64;
        }
        if self.b.histograms.iter().any(|h| h.t < floor) {
            oldest_late = oldest_late.min(self.b.histograms.iter().map(|h| h.t).min().unwrap_or(i64::MAX));
            let before = self.b.histograms.len();
            let (hs, slots): (Vec<HistogramEntry>, Vec<u32>) = std::mem::take(&mut self.b.histograms)
                .into_iter()
                .zip(std::mem::take(&mut self.b.hist_slots))
                .filter(|(h, _)| h.t >= floor)
                .unzip();
            self.b.histograms = hs;
            self.b.hist_slots = slots;
            late += (before - self.b.histograms.len()) as u64;
        }
        let new_series: Vec<SeriesEntry> = self
            .b
            .slots
            .iter()
            .filter(|s| !s.series.logged.load(Ordering::Acquire))
            .map(|s| SeriesEntry {
                id: s.series.id,
                labels: s.series.labels.clone(),
            })
            .collect();
        let mut buf = std::mem::take(&mut self.b.wal);
        buf.reserve(64 + self.b.samples.len() * 12 + new_series.len() * 64);
        record::encode_series(&mut buf, &new_series);
        record::encode_samples(&mut buf, &self.b.samples);
        record::encode_histograms(&mut buf, &self.b.histograms);
        record::encode_metadata(&mut buf, &self.meta);
        record::encode_exemplars(&mut buf, &self.exemplars);
        let (mut min_t, mut max_t) = (i64::MAX, i64::MIN);
        for s in &self.b.samples {
            min_t = min_t.min(s.t);
            max_t = max_t.max(s.t);
        }
        for h in &self.b.histograms {
            min_t = min_t.min(h.t);
            max_t = max_t.max(h.t);
        }
        let logged = self.wal.log(&buf, max_t, self.sync);
        self.b.wal = buf;
        logged?;
        if !new_series.is_empty() {
            for s in &self.b.slots {
                if !s.series.logged.load(Ordering::Relaxed) {
                    s.series.logged.store(true, Ordering::Release);
                }
            }
        }
        let (added, ooo, dropped) = self.apply();
        let (h_added, h_dropped) = if self.b.histograms.is_empty() {
            (0, 0)
        } else {
            self.apply_histograms()
        };
        if !self.b.samples.is_empty() || !self.b.histograms.is_empty() {
            head.note_time(min_t);
            head.note_time(max_t);
        }
        let dropped = dropped + h_dropped;
        let added = added + h_added;
        let stored = if head.stores_floats { added } else { h_added };
        head.num_samples.fetch_add(stored, Ordering::Relaxed);
        head.counters.samples_appended.add(added);
        head.ooo_samples.fetch_add(ooo, Ordering::Relaxed);
        head.dropped_at_commit
            .fetch_add(dropped + late, Ordering::Relaxed);
        head.set_metadata(std::mem::take(&mut self.meta));
        self.store_exemplars();
        if late > 0 {
            // The head was cut into a block between validation and commit: those samples are not
            // stored, so the batch must not be acknowledged as a whole. Everything else is.
            return Err(AppendError::OutOfBounds {
                t: oldest_late,
                min_valid: floor,
            });
        }
        Ok(())
    }
}
