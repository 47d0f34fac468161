//! Immutable on-disk blocks: writing, reading, compaction and retention.
//!
//! A block directory `<id>/` holds `meta.json`, `index` and `chunks/000001...`; see
//! `storage/docs/format/block.md` and [`crate::format`]. Blocks are written to `<id>.tmp`,
//! fsynced and renamed, so a block directory is always complete; files are then only read,
//! through memory maps.
//!
//! - [`write_block`]: series (sorted by labels) -> a new level-1 block.
//! - [`Block`]: an open block; `select`, `series`, `label_names`, `label_values`.
//! - [`compact`] and [`plan_compaction`]: merging blocks into larger ones.
//! - [`Tombstones`]: deleted intervals per series (`tombstones` file), applied at read time.
//! - [`expired_blocks`], [`delete_block`], [`remove_leftovers`]: retention and clean-up.

mod chunks;
mod codec;
mod compact;
mod error;
mod meta;
mod reader;
mod retention;
mod tombstones;
mod writer;

pub use chunks::ColumnStats;
pub use compact::{compact, plan_compaction};
pub use error::BlockError;
pub use meta::{is_block_id, new_block_id, read_meta, BlockMeta};
pub use reader::Block;
pub(crate) use reader::TsCache;
pub use retention::{delete_block, expired_blocks, list_block_dirs, remove_leftovers};
pub use tombstones::{add_interval, is_deleted, read_tombstones, write_tombstones, Tombstones};
pub use writer::{write_block, write_block_stats, write_block_with_histograms};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
