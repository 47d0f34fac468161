//! Maintenance: cutting the head into blocks, WAL checkpoints, compaction and retention.

use super::Inner;

impl Inner {
    /// Whether the head spans more than 1.5 block ranges.
    pub(crate) fn head_needs_cut(&self) -> bool {
        let (min_t, max_t) = self.head.time_range();
        let range = self.opts.block_range_ms.max(1);
        min_t != i64::MAX && max_t.saturating_sub(min_t) > range.saturating_mul(3) / 2
    }

    /// One round of maintenance.
    pub(crate) fn maintain(&self) {
        // Blocks are integrated once `storage::block` lands; until then the head keeps all.
    }
}
