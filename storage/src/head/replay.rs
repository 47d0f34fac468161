//! Rebuilding the head from WAL records on open.

use super::series::{Inserted, MemSeries};
use super::Head;
use crate::wal::record::{Record, SampleEntry};
use foldhash::HashMap;
use rayon::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tracing::warn;

/// Samples records at least this big are applied on the rayon pool.
const PARALLEL_MIN_SAMPLES: usize = 2048;
/// A spill pass runs after this many replayed samples, so replaying a long WAL does not
/// hold every closed chunk on the heap at once.
const SPILL_EVERY_SAMPLES: u64 = 4 << 20;

/// What applying samples did.
#[derive(Clone, Copy, Debug)]
struct Counts {
    added: u64,
    ooo: u64,
    below_floor: u64,
    unknown: u64,
    conflicts: u64,
    min_t: i64,
    max_t: i64,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            added: 0,
            ooo: 0,
            below_floor: 0,
            unknown: 0,
            conflicts: 0,
            min_t: i64::MAX,
            max_t: i64::MIN,
        }
    }
}

impl Counts {
    fn add(a: Counts, b: Counts) -> Counts {
        Counts {
            added: a.added + b.added,
            ooo: a.ooo + b.ooo,
            below_floor: a.below_floor + b.below_floor,
            unknown: a.unknown + b.unknown,
            conflicts: a.conflicts + b.conflicts,
            min_t: a.min_t.min(b.min_t),
            max_t: a.max_t.max(b.max_t),
        }
    }
}

/// Applies the samples whose (WAL) reference `mine` accepts, in order.
fn apply(
    head: &Head,
    aliases: &HashMap<u64, u64>,
    samples: &[SampleEntry],
    mine: impl Fn(u64) -> bool,
) -> Counts {
    let floor = head.floor();
    let mut c = Counts::default();
    let mut last: Option<Arc<MemSeries>> = None;
    for x in samples.iter().filter(|x| mine(x.id)) {
        if x.t < floor {
            c.below_floor += 1;
            continue;
        }
        let id = if aliases.is_empty() {
            x.id
        } else {
            aliases.get(&x.id).copied().unwrap_or(x.id)
        };
        if last.as_ref().is_none_or(|s| s.id != id) {
            last = head.series.get_by_id(id);
        }
        let Some(s) = last.as_ref() else {
            c.unknown += 1;
            continue;
        };
        let inserted = if head.stores_floats {
            s.data.lock().insert(x.t, x.v)
        } else {
            s.data.lock().record_unstored(x.t, x.v)
        };
        match inserted {
            Ok(Inserted::InOrder) => c.added += 1,
            Ok(Inserted::OutOfOrder) => {
                c.added += 1;
                c.ooo += 1;
            }
            Ok(Inserted::Duplicate) => {}
            Err(_) => c.conflicts += 1,
        }
        c.min_t = c.min_t.min(x.t);
        c.max_t = c.max_t.max(x.t);
    }
    c
}

/// Applies WAL records to a head, in log order.
pub(crate) struct Replayer<'a> {
    head: &'a Head,
    /// WAL reference -> head reference, when a series was logged twice under two refs.
    aliases: HashMap<u64, u64>,
    /// Samples whose series record was lost.
    pub(crate) unknown_refs: u64,
    /// Samples already persisted in blocks.
    pub(crate) below_floor: u64,
    /// Samples that conflicted with another value at the same timestamp.
    pub(crate) conflicts: u64,
    /// Samples restored.
    pub(crate) samples: u64,
    /// Samples restored since the last spill pass.
    since_spill: u64,
}

impl<'a> Replayer<'a> {
    pub(crate) fn new(head: &'a Head) -> Self {
        Replayer {
            head,
            aliases: HashMap::default(),
            unknown_refs: 0,
            below_floor: 0,
            conflicts: 0,
            samples: 0,
            since_spill: 0,
        }
    }

    /// Counts `added` samples and spills the closed chunks every [`SPILL_EVERY_SAMPLES`].
    fn added(&mut self, added: u64) {
        self.samples += added;
        self.since_spill += added;
        if self.since_spill >= SPILL_EVERY_SAMPLES {
            self.since_spill = 0;
            self.head.spill_closed_chunks(super::MIN_SPILL_BYTES);
        }
    }

    /// Applies one record.
    pub(crate) fn handle(&mut self, rec: Record) {
        match rec {
            Record::Series(entries) => {
                for e in entries {
                    self.head.reserve_id(e.id);
                    match self.head.get_or_create(&e.labels, Some(e.id)) {
                        Ok(s) => {
                            s.unpin();
                            s.logged.store(true, Ordering::Release);
                            if s.id != e.id {
                                self.aliases.insert(e.id, s.id);
                            }
                        }
                        Err(err) => warn!(error = %err, "WAL series record with invalid labels skipped"),
                    }
                }
            }
            Record::Samples(samples) => {
                let c = if samples.len() >= PARALLEL_MIN_SAMPLES && rayon::current_num_threads() > 1 {
                    // Series are split between workers by reference, so every series' samples
                    // are still applied in log order.
                    let workers = rayon::current_num_threads().min(8) as u64;
                    let (head, aliases) = (self.head, &self.aliases);
                    (0..workers)
                        .into_par_iter()
                        .map(|w| apply(head, aliases, &samples, |id| id % workers == w))
                        .reduce(Counts::default, Counts::add)
                } else {
                    apply(self.head, &self.aliases, &samples, |_| true)
                };
                if c.added > 0 {
                    self.head.note_time(c.min_t);
                    self.head.note_time(c.max_t);
                }
                self.added(c.added);
                self.below_floor += c.below_floor;
                self.unknown_refs += c.unknown;
                self.conflicts += c.conflicts;
                if self.head.stores_floats {
                    self.head.num_samples.fetch_add(c.added, Ordering::Relaxed);
                }
                self.head.ooo_samples.fetch_add(c.ooo, Ordering::Relaxed);
            }
            Record::Histograms(entries) => {
                let floor = self.head.floor();
                let (mut added, mut min_t, mut max_t) = (0u64, i64::MAX, i64::MIN);
                for e in entries {
                    if e.t < floor {
                        self.below_floor += 1;
                        continue;
                    }
                    let id = self.aliases.get(&e.id).copied().unwrap_or(e.id);
                    let Some(s) = self.head.series.get_by_id(id) else {
                        self.unknown_refs += 1;
                        continue;
                    };
                    match s.data.lock().insert_histogram(e.t, &e.h) {
                        Ok(Inserted::Duplicate) => {}
                        Ok(_) => added += 1,
                        Err(_) => self.conflicts += 1,
                    }
                    min_t = min_t.min(e.t);
                    max_t = max_t.max(e.t);
                }
                if added > 0 {
                    self.head.note_time(min_t);
                    self.head.note_time(max_t);
                }
                self.added(added);
                self.head.num_samples.fetch_add(added, Ordering::Relaxed);
            }
            Record::Metadata(m) => self.head.set_metadata(m),
            // Exemplars are not the head's: the database restores them into its exemplar store.
            Record::Exemplars(_) => {}
            Record::Tombstones(entries) => {
                // Applies to what was replayed so far: samples logged later are kept.
                for e in entries {
                    let id = self.aliases.get(&e.id).copied().unwrap_or(e.id);
                    self.head.delete_by_id(id, e.mint, e.maxt);
                }
            }
        }
    }

    /// Logs what could not be restored.
    pub(crate) fn finish(self) {
        if self.unknown_refs > 0 {
            warn!(
                samples = self.unknown_refs,
                "WAL samples refer to series whose record was lost to damage; they were skipped"
            );
        }
        if self.conflicts > 0 {
            warn!(
                samples = self.conflicts,
                "WAL samples conflicted with another value at the same timestamp; the first was kept"
            );
        }
    }
}
