//! Admin deletion: [`Db::delete_series`] and [`Db::clean_tombstones`], as Prometheus'
//! `/api/v1/admin/tsdb/{delete_series,clean_tombstones}`.
//!
//! - Blocks are immutable: a deletion adds tombstones (deleted intervals per series) to the
//!   block's `tombstones` file (`storage/docs/format/tombstones.md`); reads leave those samples
//!   out, and compaction does not copy them. [`Db::clean_tombstones`] rewrites the blocks that
//!   have tombstones without the deleted samples.
//! - The head is mutable: a tombstones record is logged to the WAL (fsynced) first, then the
//!   samples are removed from the head's series. Replay applies the record to what was
//!   replayed before it, so the deletion survives a restart and samples appended after it are
//!   kept. A series left without samples disappears from every read.
//!
//! Both take the maintenance lock, so no block cut, compaction or retention runs meanwhile and
//! no deletion is lost to a block being replaced.

use super::{Db, Inner};
use crate::block::{self, Block};
use crate::error::DbError;
use crate::model::Matcher;
use crate::wal::record;
use std::sync::Arc;
use tracing::info;

/// What a deletion did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteStats {
    /// Series of the head that lost samples.
    pub head_series: usize,
    /// Samples removed from the head.
    pub head_samples: usize,
    /// Tombstones added to blocks (one per series and block).
    pub block_tombstones: usize,
}

impl Db {
    /// Deletes the samples in `[mint, maxt]` (ms, inclusive) of every series matching all of
    /// `matchers`. Deleted samples never come back from reads, restarts or compaction.
    pub fn delete_series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<DeleteStats, DbError> {
        self.inner.delete_series(matchers, mint, maxt)
    }

    /// Rewrites every block with tombstones without the deleted samples. Returns how many
    /// blocks were rewritten.
    pub fn clean_tombstones(&self) -> Result<usize, DbError> {
        self.inner.clean_tombstones()
    }
}

impl Inner {
    fn delete_series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<DeleteStats, DbError> {
        let _one = self.maintenance.lock();
        let mut st = DeleteStats::default();
        if mint > maxt {
            return Ok(st);
        }
        for b in self.blocks().iter() {
            st.block_tombstones += b.delete(matchers, mint, maxt)?;
        }
        let entries = self.head.tombstones_for(matchers, mint, maxt);
        if !entries.is_empty() {
            let mut buf = Vec::new();
            record::encode_tombstones(&mut buf, &entries);
            self.wal.log(&buf, i64::MIN, true).map_err(|e| DbError::Io {
                context: "logging a deletion to the WAL".into(),
                source: std::io::Error::other(e.to_string()),
            })?;
            for e in &entries {
                let n = self.head.delete_by_id(e.id, e.mint, e.maxt);
                st.head_samples += n;
                st.head_series += usize::from(n > 0);
            }
        }
        info!(
            mint,
            maxt,
            head_series = st.head_series,
            head_samples = st.head_samples,
            block_tombstones = st.block_tombstones,
            "series deleted"
        );
        Ok(st)
    }

    fn clean_tombstones(&self) -> Result<usize, DbError> {
        let _one = self.maintenance.lock();
        let mut done = 0;
        for b in self.blocks().iter().filter(|b| !b.tombstones().is_empty()) {
            let meta = block::compact(&self.opts.path, std::slice::from_ref(b))?;
            let new_dir = self.opts.path.join(&meta.id);
            let fresh = if meta.num_series == 0 {
                block::delete_block(&new_dir)?;
                Vec::new()
            } else {
                vec![Arc::new(Block::open(&new_dir)?)]
            };
            info!(old = %b.meta().id, new = %meta.id, samples = meta.num_samples, "block rewritten without deleted samples");
            self.swap_blocks(std::slice::from_ref(&b.meta().id), fresh);
            block::delete_block(b.dir())?;
            done += 1;
        }
        Ok(done)
    }
}
