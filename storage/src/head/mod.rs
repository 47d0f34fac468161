//! The head: the recent, still mutable window of every series, in memory.
//!
//! # Layout
//! - `series`: [`MemSeries`] (closed chunks, an open chunk, an out-of-order buffer) and the
//!   sharded maps that find a series by label hash (collisions handled) or by reference.
//! - `index`: the inverted index (label name -> value -> sorted references) and the symbol
//!   table that interns every label string.
//! - `append`: [`HeadAppender`], the batch writer (validation, WAL logging, commit).
//! - `read`: selects and label queries over a consistent snapshot.
//! - `snapshot`: the part of a series a select copies out of its lock, decoded later.
//! - `replay`: rebuilding the head from WAL records.
//! - `spill`: moving closed chunks off the heap into memory-mapped files (`chunks_head/`).
//!
//! # Concurrency
//! Series live in 64 stripes, each an `RwLock` around a map; a series' samples are behind its own
//! mutex, so appenders on different series do not contend. A commit applies its samples while
//! holding the shared side of `commit_gate`; a select snapshots the series it reads under the
//! exclusive side, so it never sees half a batch.

mod append;
mod columnar;
mod delete;
mod handle;
mod hist;
mod index;
mod read;
mod replay;
mod series;
pub(crate) mod snapshot;
mod spill;

pub(crate) use append::HeadAppender;
pub use handle::SeriesHandle;
pub(crate) use replay::Replayer;
#[cfg(test)]
pub(crate) use spill::SpillStats;
pub(crate) use spill::{clear as clear_spill_dir, ChunkSpill, MIN_SPILL_BYTES, SPILL_INTERVAL};

use crate::error::AppendError;
use crate::metrics::Counter;
use crate::model::{Label, Labels, MetricMetadata};
use crate::wal::record::SeriesEntry;
use index::{Postings, Symbols};
use parking_lot::RwLock;
use series::{MemSeries, SeriesData, SeriesMaps};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Figures about the head, for status pages and self-metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeadStats {
    /// Series in the head.
    pub series: usize,
    /// Samples held.
    pub samples: u64,
    /// Chunks (closed + open).
    pub chunks: u64,
    /// Interned label strings.
    pub symbols: usize,
    /// Oldest timestamp in the head (`i64::MAX` when empty).
    pub min_time: i64,
    /// Newest timestamp in the head (`i64::MIN` when empty).
    pub max_time: i64,
    /// Samples below this time are persisted in blocks and rejected as out of bounds.
    pub min_valid_time: i64,
    /// Out-of-order samples accepted since start.
    pub out_of_order_samples: u64,
    /// Samples dropped at commit because the time they belong to was cut into a block
    /// meanwhile, or a concurrent batch wrote another value at the same timestamp.
    pub dropped_at_commit: u64,
    /// Native histogram samples held (included in `samples`).
    pub histogram_samples: u64,
    /// Series holding at least one native histogram sample.
    pub histogram_series: usize,
}

/// The head's counters for self-metrics.
#[derive(Debug, Default)]
pub(crate) struct HeadCounters {
    pub(crate) series_created: Counter,
    pub(crate) series_removed: Counter,
    pub(crate) samples_appended: Counter,
    pub(crate) truncations: Counter,
    pub(crate) out_of_bounds: Counter,
    pub(crate) out_of_order: Counter,
    pub(crate) duplicates: Counter,
}

impl HeadCounters {
    /// Counts a refused sample by why it was refused.
    pub(crate) fn refused(&self, e: &AppendError) {
        match e {
            AppendError::OutOfBounds { .. } => self.out_of_bounds.inc(),
            AppendError::OutOfOrder { .. } => self.out_of_order.inc(),
            AppendError::DuplicateTimestamp { .. } => self.duplicates.inc(),
            _ => {}
        }
    }
}

/// Cardinality tables of the head, as Prometheus' `/api/v1/status/tsdb` shows them: each
/// list is `(name, count)`, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeadCardinality {
    /// Series per metric name.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Distinct values per label name.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Series per `name=value` pair.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
    /// Bytes of label values per label name, summed over series (as Prometheus counts it).
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
}

/// The in-memory head.
pub(crate) struct Head {
    pub(crate) series: SeriesMaps,
    pub(crate) postings: Postings,
    pub(crate) symbols: Symbols,
    next_id: AtomicU64,
    pub(crate) commit_gate: RwLock<()>,
    /// Samples older than this are in blocks.
    floor: AtomicI64,
    min_t: AtomicI64,
    max_t: AtomicI64,
    pub(crate) num_series: AtomicUsize,
    pub(crate) num_samples: AtomicU64,
    pub(crate) ooo_samples: AtomicU64,
    pub(crate) dropped_at_commit: AtomicU64,
    /// Counters for self-metrics (see [`crate::metrics::DbMetrics`]).
    pub(crate) counters: HeadCounters,
    /// The out-of-order window in ms.
    pub(crate) ooo_window: i64,
    metadata: RwLock<BTreeMap<String, MetricMetadata>>,
    /// Cardinality limits (0 = none), checked when an append creates a series.
    pub(crate) max_active_series: usize,
    pub(crate) max_series_per_metric: usize,
    /// Allocations of finished batches, for the next ones.
    append_pool: parking_lot::Mutex<Vec<append::Buffers>>,
    /// Identity of this head among the process' heads (see [`SeriesHandle`]).
    pub(crate) instance: u64,
    /// Where closed chunks go once full (`None`: they stay on the heap).
    pub(crate) spill: Option<ChunkSpill>,
    /// Whether float samples are stored (true). An agent's head (false) keeps per series only
    /// its newest timestamp and value, for the order and duplicate checks: nothing queries it.
    pub(crate) stores_floats: bool,
    /// Whether series are entered in the postings (true). An agent's head, which answers no
    /// selection, leaves them out unless a per-metric series limit counts through them.
    pub(crate) indexes_series: bool,
}

/// What a truncation removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TruncateStats {
    pub(crate) samples: usize,
    pub(crate) chunks: usize,
    pub(crate) series: usize,
}

/// Why a label set cannot name a series.
pub(crate) fn validate_labels(labels: &Labels) -> Result<(), AppendError> {
    let bad = |reason: &str| AppendError::InvalidLabels {
        labels: labels.to_string(),
        reason: reason.to_string(),
    };
    if labels.is_empty() {
        return Err(bad("empty label set"));
    }
    for l in labels.iter() {
        if l.name.is_empty() {
            return Err(bad("empty label name"));
        }
        if l.name.chars().any(char::is_control) {
            return Err(bad(&format!(
                "label name {:?} contains a control character",
                l.name
            )));
        }
    }
    Ok(())
}

impl Head {
    /// An empty head; `floor` is the time before which data is already in blocks.
    pub(crate) fn new(ooo_window: i64, floor: i64) -> Self {
        Head {
            series: SeriesMaps::new(),
            postings: Postings::default(),
            symbols: Symbols::new(),
            next_id: AtomicU64::new(1),
            commit_gate: RwLock::new(()),
            floor: AtomicI64::new(floor),
            min_t: AtomicI64::new(i64::MAX),
            max_t: AtomicI64::new(i64::MIN),
            num_series: AtomicUsize::new(0),
            num_samples: AtomicU64::new(0),
            ooo_samples: AtomicU64::new(0),
            dropped_at_commit: AtomicU64::new(0),
            counters: HeadCounters::default(),
            ooo_window: ooo_window.max(0),
            metadata: RwLock::new(BTreeMap::new()),
            max_active_series: 0,
            max_series_per_metric: 0,
            append_pool: parking_lot::Mutex::new(Vec::new()),
            instance: handle::next_head_id(),
            spill: None,
            stores_floats: true,
            indexes_series: true,
        }
    }

    /// Time before which appends are out of bounds.
    pub(crate) fn floor(&self) -> i64 {
        self.floor.load(Ordering::Acquire)
    }

    /// Oldest and newest timestamps in the head.
    pub(crate) fn time_range(&self) -> (i64, i64) {
        (
            self.min_t.load(Ordering::Acquire),
            self.max_t.load(Ordering::Acquire),
        )
    }

    pub(crate) fn note_time(&self, t: i64) {
        self.min_t.fetch_min(t, Ordering::AcqRel);
        self.max_t.fetch_max(t, Ordering::AcqRel);
    }

    /// The series with `labels`, created (and pinned) if missing. `id` forces the
    /// reference (WAL replay). Returned pinned: the caller must `unpin` it.
    pub(crate) fn get_or_create(
        &self,
        labels: &Labels,
        id: Option<u64>,
    ) -> Result<Arc<MemSeries>, AppendError> {
        let hash = labels.stable_hash();
        let stripe = self.series.hash_stripe(hash);
        if let Some(s) = stripe.read().get(hash, labels) {
            s.pin();
            return Ok(s.clone());
        }
        validate_labels(labels)?;
        if id.is_none() {
            self.check_limits(labels)?;
        }
        let interned = Labels::from_sorted(
            labels
                .iter()
                .map(|l| Label {
                    name: self.symbols.intern(&l.name),
                    value: self.symbols.intern(&l.value),
                })
                .collect(),
        );
        let s = {
            let mut w = stripe.write();
            if let Some(s) = w.get(hash, labels) {
                s.pin();
                return Ok(s.clone());
            }
            let id = match id {
                // A forced reference already taken (damaged WAL) gets a fresh one instead;
                // the replayer maps the old one.
                Some(id) if id != 0 && !self.series.id_stripe(id).read().contains_key(&id) => {
                    self.reserve_id(id);
                    id
                }
                _ => self.next_id.fetch_add(1, Ordering::AcqRel),
            };
            let s = Arc::new(MemSeries::new(id, interned, hash));
            s.pin();
            w.insert(s.clone());
            self.series.id_stripe(id).write().insert(id, s.clone());
            s
        };
        self.num_series.fetch_add(1, Ordering::Relaxed);
        self.counters.series_created.inc();
        if self.indexes_series {
            self.postings.add(s.id, &s.labels);
        }
        Ok(s)
    }

    /// Refuses a new series past the cardinality limits. Concurrent appenders may overshoot
    /// a limit by at most one series each (the check and the insert are not one step).
    fn check_limits(&self, labels: &Labels) -> Result<(), AppendError> {
        let max = self.max_active_series;
        if max > 0 && self.num_series.load(Ordering::Relaxed) >= max {
            return Err(AppendError::TooManySeries {
                per_metric: false,
                limit: max,
                labels: labels.to_string(),
            });
        }
        let max = self.max_series_per_metric;
        if max > 0 {
            let name = labels.metric_name().unwrap_or("");
            if self.postings.count(crate::model::METRIC_NAME, name) >= max {
                return Err(AppendError::TooManySeries {
                    per_metric: true,
                    limit: max,
                    labels: labels.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Makes sure references up to `id` are never handed out again (replay of a WAL that
    /// used them).
    pub(crate) fn reserve_id(&self, id: u64) {
        self.next_id.fetch_max(id.saturating_add(1), Ordering::AcqRel);
    }

    /// The entries of `entries` that differ from what is recorded (so unchanged metadata,
    /// sent with every scrape, is not logged again).
    pub(crate) fn changed_metadata(
        &self,
        entries: Vec<(String, MetricMetadata)>,
    ) -> Vec<(String, MetricMetadata)> {
        if entries.is_empty() {
            return entries;
        }
        let m = self.metadata.read();
        let mut out: Vec<(String, MetricMetadata)> = Vec::new();
        for (k, v) in entries {
            if m.get(&k) != Some(&v) {
                out.retain(|(ok, _)| *ok != k);
                out.push((k, v));
            }
        }
        out
    }

    /// Records metadata (newest wins).
    pub(crate) fn set_metadata(&self, entries: impl IntoIterator<Item = (String, MetricMetadata)>) {
        let mut m = self.metadata.write();
        for (k, v) in entries {
            m.insert(k, v);
        }
    }

    /// All metadata.
    pub(crate) fn metadata(&self) -> BTreeMap<String, MetricMetadata> {
        self.metadata.read().clone()
    }

    /// Series and metadata for a WAL checkpoint.
    pub(crate) fn checkpoint_contents(&self) -> (Vec<SeriesEntry>, Vec<(String, MetricMetadata)>) {
        let mut series: Vec<SeriesEntry> = self
            .series
            .all()
            .into_iter()
            .map(|s| SeriesEntry {
                id: s.id,
                labels: s.labels.clone(),
            })
            .collect();
        series.sort_by_key(|s| s.id);
        let meta = self.metadata().into_iter().collect();
        (series, meta)
    }

    /// Raises the floor to `floor` and waits for commits in flight, so that no sample older
    /// than it lands after this returns.
    pub(crate) fn raise_floor(&self, floor: i64) {
        self.floor.fetch_max(floor, Ordering::AcqRel);
        self.wait_for_commits();
    }

    /// Waits until every commit in flight has been applied (logged and stored).
    pub(crate) fn wait_for_commits(&self) {
        drop(self.commit_gate.write());
    }

    /// Drops data older than the floor and the series left empty (unless an appender holds
    /// them), then unused symbols.
    pub(crate) fn truncate(&self) -> TruncateStats {
        let floor = self.floor();
        let mut st = TruncateStats::default();
        let mut empty = Vec::new();
        for s in self.series.all() {
            let mut d = s.data.lock();
            let (samples, chunks) = d.truncate_before(floor);
            st.samples += samples;
            st.chunks += chunks;
            if !self.stores_floats {
                d.forget_newest_before(floor);
            }
            if self.holds_nothing(&d) {
                empty.push(s.clone());
            }
        }
        let mut gone = Vec::new();
        for s in empty {
            let mut hs = self.series.hash_stripe(s.hash).write();
            let mut is = self.series.id_stripe(s.id).write();
            // Marked before the pins are read: see `MemSeries::pin_if_present`.
            s.removed.store(true, Ordering::SeqCst);
            if s.pending.load(Ordering::SeqCst) == 0 && self.holds_nothing(&s.data.lock()) {
                hs.remove(&s);
                is.remove(&s.id);
                gone.push((s.id, s.labels.clone()));
            } else {
                s.removed.store(false, Ordering::SeqCst);
            }
        }
        st.series = gone.len();
        self.num_series.fetch_sub(gone.len(), Ordering::Relaxed);
        self.counters.series_removed.add(gone.len() as u64);
        self.counters.truncations.inc();
        self.num_samples.fetch_sub(st.samples as u64, Ordering::Relaxed);
        if self.indexes_series {
            self.postings.remove(&gone);
        }
        drop(gone);
        self.symbols.sweep();
        let mut min_t = i64::MAX;
        for s in self.series.all() {
            min_t = min_t.min(s.data.lock().min_t.max(floor));
        }
        self.min_t.store(min_t, Ordering::Release);
        st
    }

    /// Whether a series has nothing left worth keeping: no sample stored and, when floats are
    /// not stored, no newest timestamp at or above the floor.
    fn holds_nothing(&self, d: &SeriesData) -> bool {
        d.is_empty() && (self.stores_floats || d.max_t == i64::MIN)
    }

    /// Current figures.
    pub(crate) fn stats(&self) -> HeadStats {
        let (min_time, max_time) = self.time_range();
        let (mut chunks, mut histogram_samples, mut histogram_series) = (0u64, 0u64, 0usize);
        for s in self.series.all() {
            let d = s.data.lock();
            chunks += d.chunk_count() as u64;
            let h = d.histogram_count();
            histogram_samples += h as u64;
            histogram_series += usize::from(h > 0);
        }
        HeadStats {
            series: self.num_series.load(Ordering::Relaxed),
            samples: self.num_samples.load(Ordering::Relaxed),
            chunks,
            symbols: self.symbols.len(),
            min_time,
            max_time,
            min_valid_time: self.floor(),
            out_of_order_samples: self.ooo_samples.load(Ordering::Relaxed),
            dropped_at_commit: self.dropped_at_commit.load(Ordering::Relaxed),
            histogram_samples,
            histogram_series,
        }
    }

    /// Approximate bytes held by sample data.
    pub(crate) fn sample_bytes(&self) -> usize {
        self.series.all().iter().map(|s| s.data.lock().size_bytes()).sum()
    }

    /// Distinct values per label name, largest first.
    pub(crate) fn label_cardinality(&self) -> Vec<(String, usize)> {
        self.postings.cardinality()
    }
}
