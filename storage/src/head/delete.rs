//! Admin deletion in the head: samples are removed from the series' data directly (the head
//! is mutable), after a tombstones record is logged so WAL replay removes them again.

use super::Head;
use crate::model::Matcher;
use crate::wal::record::TombstoneEntry;
use std::sync::atomic::Ordering;

impl Head {
    /// The tombstones a deletion of `[mint, maxt]` of the series matching `matchers` needs:
    /// one per series with data in the range.
    pub(crate) fn tombstones_for(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<TombstoneEntry> {
        let mut out: Vec<TombstoneEntry> = self
            .matching(matchers)
            .into_iter()
            .filter(|s| s.data.lock().overlaps(mint, maxt))
            .map(|s| TombstoneEntry { id: s.id, mint, maxt })
            .collect();
        out.sort_by_key(|e| e.id);
        out
    }

    /// Removes the samples in `[mint, maxt]` of series `id`; returns how many.
    pub(crate) fn delete_by_id(&self, id: u64, mint: i64, maxt: i64) -> usize {
        let Some(s) = self.series.get_by_id(id) else {
            return 0;
        };
        let n = s.data.lock().delete_range(mint, maxt);
        self.num_samples.fetch_sub(n as u64, Ordering::Relaxed);
        n
    }
}
