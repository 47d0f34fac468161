//! Rebuilding the head from WAL records on open.

use super::series::{Inserted, MemSeries};
use super::Head;
use crate::wal::record::Record;
use foldhash::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tracing::warn;

/// Applies WAL records to a head, in log order.
pub(crate) struct Replayer<'a> {
    head: &'a Head,
    /// WAL reference -> head reference, when a series was logged twice under two refs.
    aliases: HashMap<u64, u64>,
    last: Option<Arc<MemSeries>>,
    /// Samples whose series record was lost.
    pub(crate) unknown_refs: u64,
    /// Samples already persisted in blocks.
    pub(crate) below_floor: u64,
    /// Samples that conflicted with another value at the same timestamp.
    pub(crate) conflicts: u64,
    /// Samples restored.
    pub(crate) samples: u64,
}

impl<'a> Replayer<'a> {
    pub(crate) fn new(head: &'a Head) -> Self {
        Replayer {
            head,
            aliases: HashMap::default(),
            last: None,
            unknown_refs: 0,
            below_floor: 0,
            conflicts: 0,
            samples: 0,
        }
    }

    fn series(&mut self, id: u64) -> Option<Arc<MemSeries>> {
        let id = self.aliases.get(&id).copied().unwrap_or(id);
        if let Some(s) = self.last.as_ref().filter(|s| s.id == id) {
            return Some(s.clone());
        }
        let s = self.head.series.get_by_id(id)?;
        self.last = Some(s.clone());
        Some(s)
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
                let floor = self.head.floor();
                let (mut min_t, mut max_t) = (i64::MAX, i64::MIN);
                let mut added = 0;
                let mut ooo = 0;
                for x in samples {
                    if x.t < floor {
                        self.below_floor += 1;
                        continue;
                    }
                    let Some(s) = self.series(x.id) else {
                        self.unknown_refs += 1;
                        continue;
                    };
                    match s.data.lock().insert(x.t, x.v) {
                        Ok(Inserted::InOrder) => added += 1,
                        Ok(Inserted::OutOfOrder) => {
                            added += 1;
                            ooo += 1;
                        }
                        Ok(Inserted::Duplicate) => {}
                        Err(_) => self.conflicts += 1,
                    }
                    min_t = min_t.min(x.t);
                    max_t = max_t.max(x.t);
                }
                if added > 0 {
                    self.head.note_time(min_t);
                    self.head.note_time(max_t);
                }
                self.samples += added;
                self.head.num_samples.fetch_add(added, Ordering::Relaxed);
                self.head.ooo_samples.fetch_add(ooo, Ordering::Relaxed);
            }
            Record::Metadata(m) => self.head.set_metadata(m),
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
