//! Maintenance: cutting the head into blocks, WAL checkpoints, compaction and retention.
//! Runs on the maintenance thread (and once on open); never on the append path.

use super::Inner;
use crate::block::{self, Block, BlockError, BlockMeta};
use std::sync::Arc;
use tracing::{error, info, warn};

/// Opens every block directory under `parent`, skipping (with an error naming it) any that
/// fails its checks. Also removes the leftovers of interrupted writes and deletions.
pub(crate) fn open_blocks(parent: &std::path::Path) -> Result<Vec<Arc<Block>>, BlockError> {
    for p in block::remove_leftovers(parent)? {
        warn!(dir = %p.display(), "removed a block directory left by an interrupted write or delete");
    }
    let mut out = Vec::new();
    for dir in block::list_block_dirs(parent)? {
        match Block::open(&dir) {
            Ok(b) => out.push(Arc::new(b)),
            Err(e) => error!(dir = %dir.display(), error = %e, "block is damaged; skipping it"),
        }
    }
    sort_blocks(&mut out);
    Ok(out)
}

fn sort_blocks(v: &mut [Arc<Block>]) {
    v.sort_by(|a, b| (a.meta().min_time, &a.meta().id).cmp(&(b.meta().min_time, &b.meta().id)));
}

impl Inner {
    /// Whether the head spans more than 1.5 block ranges. The head's end is taken no later
    /// than the wall clock, so one sample far in the future (a client's broken clock) does
    /// not get the recent data cut into blocks and every current append rejected as out of
    /// bounds.
    pub(crate) fn head_needs_cut(&self) -> bool {
        let (min_t, max_t) = self.head.time_range();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(i64::MAX, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let max_t = max_t.min(now_ms);
        let range = self.opts.block_range_ms.max(1);
        min_t != i64::MAX && max_t.saturating_sub(min_t) > range.saturating_mul(3) / 2
    }

    /// The open blocks, oldest first.
    pub(crate) fn blocks(&self) -> Arc<Vec<Arc<Block>>> {
        self.blocks.read().clone()
    }

    /// Replaces the block list: removes `gone` ids, adds `new`. Waits for readers that hold
    /// the old list while reading the head, so data leaving the head afterwards is never
    /// missed by them.
    pub(crate) fn swap_blocks(&self, gone: &[String], new: Vec<Arc<Block>>) {
        let mut g = self.blocks.write();
        let mut list: Vec<Arc<Block>> = g
            .iter()
            .filter(|b| !gone.contains(&b.meta().id))
            .cloned()
            .collect();
        list.extend(new);
        sort_blocks(&mut list);
        *g = Arc::new(list);
    }

    /// Scrubs the chunk files of every block opened at start-up (the index was verified on
    /// open): a damaged file is reported by name once, here, rather than only by the queries
    /// that read it. The block stays in place; its intact series stay readable.
    pub(crate) fn verify_blocks(&self) {
        let started = std::time::Instant::now();
        let blocks = self.blocks();
        let mut damaged = 0;
        for b in blocks.iter() {
            if let Err(e) = b.verify_chunks() {
                damaged += 1;
                error!(
                    block = %b.dir().display(), file = %e.file.display(), offset = e.offset, reason = %e.reason,
                    "block chunk file is damaged: queries reading the damaged series fail with this error, everything else stays readable"
                );
            }
        }
        info!(
            blocks = blocks.len(),
            damaged,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "block chunk checksums verified"
        );
    }

    /// One round of maintenance: cut, compact, apply retention. Errors are logged; the next
    /// round retries.
    pub(crate) fn maintain(&self) {
        if self.opts.agent {
            self.agent_truncate();
            return;
        }
        while self.head_needs_cut() {
            if let Err(e) = self.cut_block() {
                self.counters.compactions_failed.inc();
                error!(error = %e, "cutting the head into a block failed; will retry");
                break;
            }
        }
        if let Err(e) = self.compact() {
            self.counters.compactions_failed.inc();
            error!(error = %e, "block compaction failed; will retry");
        }
        if let Err(e) = self.apply_retention() {
            error!(error = %e, "retention failed; will retry");
        }
    }

    /// Agent mode: forgets head data older than the agent window (nothing is queried; the
    /// head only serves duplicate and order checks) and the series with nothing newer.
    pub(crate) fn agent_truncate(&self) {
        let _one = self.maintenance.lock();
        let (min_t, max_t) = self.head.time_range();
        if min_t == i64::MAX {
            return;
        }
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(i64::MAX, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let floor = max_t.min(now_ms).saturating_sub(super::AGENT_HEAD_WINDOW_MS);
        if floor <= min_t {
            return;
        }
        self.head.raise_floor(floor);
        let t = self.head.truncate();
        info!(
            samples = t.samples,
            series = t.series,
            "agent: head truncated below {floor}"
        );
    }

    /// Persists the oldest block range of the head as a block, drops it from the head and
    /// checkpoints the WAL.
    pub(crate) fn cut_block(&self) -> Result<Option<BlockMeta>, BlockError> {
        let _one = self.maintenance.lock();
        let (min_t, _) = self.head.time_range();
        if min_t == i64::MAX {
            return Ok(None);
        }
        let range = self.opts.block_range_ms.max(1);
        let a = min_t.div_euclid(range).checked_mul(range).unwrap_or(min_t);
        let b = a.saturating_add(range);
        // From here on appends below `b` are out of bounds, and none is still in flight.
        self.head.raise_floor(b);
        let mut series = self.head.iter_range(a, b - 1).peekable();
        let meta = if series.peek().is_some() {
            let _span = tracing::info_span!("tsdb.head_cut", min_time = a, max_time = b).entered();
            let started = std::time::Instant::now();
            let (meta, _) = block::write_block_with_histograms(&self.opts.path, series, a, b)?;
            let blk = Block::open(&self.opts.path.join(&meta.id))?;
            self.counters
                .compaction_seconds
                .observe_duration(started.elapsed());
            self.counters.compactions.inc();
            self.counters.head_cuts.inc();
            info!(
                block = %meta.id, min_time = a, max_time = b, series = meta.num_series,
                samples = meta.num_samples, bytes = blk.size_bytes(),
                elapsed_ms = started.elapsed().as_millis() as u64, "head cut into a block"
            );
            self.swap_blocks(&[], vec![Arc::new(blk)]);
            Some(meta)
        } else {
            drop(series);
            None
        };
        let t = self.head.truncate();
        info!(
            samples = t.samples,
            chunks = t.chunks,
            series = t.series,
            "head truncated below {b}"
        );
        let held = match &*self.wal_hold.read() {
            Some((hold, max)) => Some((hold(), *max)),
            None if self.opts.hold_wal_until_told => Some((None, 0)),
            None => None,
        };
        let done = match held {
            None => self.wal.checkpoint(b, || self.checkpoint_contents()),
            Some((keep_from, max_bytes)) => self
                .wal
                .checkpoint_holding(b, keep_from, max_bytes, || self.checkpoint_contents())
                .map(|(c, forced)| {
                    if forced > 0 {
                        tracing::warn!(
                            segments = forced,
                            max_bytes,
                            "WAL over its size limit for forwarding: removed segments that remote-write queues have not sent yet; their samples will not be forwarded (counted in sextant_remote_storage_wal_segments_skipped_total)"
                        );
                    }
                    c
                }),
        };
        match done {
            Ok(c) if c.segments_removed > 0 => {
                self.counters.checkpoints.inc();
                info!(
                    segments = c.segments_removed,
                    bytes = c.bytes_removed,
                    series = c.series_kept,
                    "WAL checkpointed"
                )
            }
            Ok(_) => {}
            Err(e) => error!(error = %e, "WAL checkpoint failed; old segments are kept and retried later"),
        }
        Ok(meta)
    }

    /// Compacts blocks as planned until the planner has nothing more.
    pub(crate) fn compact(&self) -> Result<usize, BlockError> {
        let _one = self.maintenance.lock();
        let mut done = 0;
        loop {
            let blocks = self.blocks();
            let metas: Vec<BlockMeta> = blocks.iter().map(|b| b.meta().clone()).collect();
            let plan = block::plan_compaction(&metas, self.opts.block_range_ms);
            if plan.is_empty() {
                return Ok(done);
            }
            for group in plan {
                let inputs: Vec<Arc<Block>> = blocks
                    .iter()
                    .filter(|b| group.contains(&b.meta().id))
                    .cloned()
                    .collect();
                if inputs.len() < 2 {
                    continue;
                }
                let _span = tracing::info_span!("tsdb.compact", inputs = inputs.len()).entered();
                let started = std::time::Instant::now();
                let meta = block::compact(&self.opts.path, &inputs)?;
                let blk = Block::open(&self.opts.path.join(&meta.id))?;
                self.counters
                    .compaction_seconds
                    .observe_duration(started.elapsed());
                self.counters.compactions.inc();
                info!(
                    block = %meta.id, inputs = inputs.len(), level = meta.level,
                    min_time = meta.min_time, max_time = meta.max_time,
                    elapsed_ms = started.elapsed().as_millis() as u64, "blocks compacted"
                );
                self.swap_blocks(&group, vec![Arc::new(blk)]);
                for b in inputs {
                    block::delete_block(b.dir())?;
                }
                done += 1;
            }
        }
    }

    /// Deletes the blocks past the time or size retention.
    pub(crate) fn apply_retention(&self) -> Result<usize, BlockError> {
        let _one = self.maintenance.lock();
        let (ret_ms, ret_bytes) = (self.opts.retention_ms, self.opts.retention_bytes);
        if ret_ms <= 0 && ret_bytes == 0 {
            return Ok(0);
        }
        let blocks = self.blocks();
        if blocks.is_empty() {
            return Ok(0);
        }
        let newest = blocks
            .iter()
            .map(|b| b.meta().max_time)
            .max()
            .unwrap_or(i64::MIN)
            .max(self.head.time_range().1);
        // The WAL and the head's chunk files count against the size budget too (they are
        // what the head will become).
        let budget = if ret_bytes == 0 {
            0
        } else {
            ret_bytes
                .saturating_sub(self.wal.size_bytes() + self.head.spilled_bytes())
                .max(1)
        };
        let sized: Vec<(BlockMeta, u64)> = blocks
            .iter()
            .map(|b| (b.meta().clone(), b.size_bytes()))
            .collect();
        let expired = block::expired_blocks(&sized, newest, ret_ms.max(0), budget);
        if expired.is_empty() {
            return Ok(0);
        }
        self.swap_blocks(&expired, Vec::new());
        self.counters.retention_deleted.add(expired.len() as u64);
        for b in blocks.iter().filter(|b| expired.contains(&b.meta().id)) {
            info!(block = %b.meta().id, min_time = b.meta().min_time, max_time = b.meta().max_time, "block deleted by retention");
            block::delete_block(b.dir())?;
        }
        Ok(expired.len())
    }
}
