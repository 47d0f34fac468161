//! Compaction: merging blocks into one (on rayon), and planning which blocks to merge.

use super::reader::{Block, TsCache};
use super::writer::write_block_with;
use super::{BlockError, BlockMeta};
use crate::index::{ChunkEncoding, ChunkMeta};
use crate::model::{HistogramSample, Labels, Sample};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

/// Series decoded and merged per parallel batch.
const MERGE_BATCH: usize = 1024;

/// The largest block range the planner builds (as Prometheus' default cap).
const MAX_BLOCK_RANGE_MS: i64 = 31 * 24 * 3600 * 1000;

/// Merges `blocks` into one new block in `parent_dir` and returns its meta.
///
/// Series are merged by labels; samples of a series are merged in time order, and where
/// blocks share a timestamp the sample of the block with the later `(min_time, id)` wins.
/// The new block spans all inputs, its level is the highest input level plus one and its
/// sources the union of the inputs' sources. The inputs are left in place: delete them with
/// [`super::delete_block`] once the new block is in use. Series are decoded on the rayon pool.
/// Samples deleted by the inputs' tombstones are left out (this is how tombstones are cleaned).
pub fn compact(parent_dir: &Path, blocks: &[Arc<Block>]) -> Result<BlockMeta, BlockError> {
    if blocks.is_empty() {
        return Err(BlockError::InvalidInput("nothing to compact".into()));
    }
    let mut order: Vec<&Block> = blocks.iter().map(|b| b.as_ref()).collect();
    order.sort_by(|a, b| (a.meta().min_time, &a.meta().id).cmp(&(b.meta().min_time, &b.meta().id)));
    let min_time = order.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let max_time = order.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    let level = order.iter().map(|b| b.meta().level).max().unwrap_or(0) + 1;
    let mut sources: Vec<String> = order
        .iter()
        .flat_map(|b| b.meta().sources.iter().cloned())
        .collect();
    sources.sort();
    sources.dedup();
    let merge = Merge {
        tombstones: order.iter().map(|b| b.tombstones()).collect(),
        heads: vec![None; order.len()],
        next: vec![0; order.len()],
        blocks: order,
        ready: VecDeque::new(),
        failed: false,
    };
    write_block_with(parent_dir, merge, min_time, max_time, level, Some(sources)).map(|(m, _)| m)
}

/// A merged series: labels, float samples, histogram samples.
type Merged = (Labels, Vec<Sample>, Vec<HistogramSample>);

/// A series to merge: its labels and, per input block that has it, its chunks.
type Pending = (Labels, Vec<(usize, u32, Vec<ChunkMeta>)>);

/// Iterates the union of the blocks' series in label order, merged, batch by batch.
struct Merge<'a> {
    blocks: Vec<&'a Block>,
    /// Per block: its tombstones, whose samples are left out.
    tombstones: Vec<Arc<super::Tombstones>>,
    /// Per block: its next unconsumed series.
    heads: Vec<Option<(Labels, Vec<ChunkMeta>, u32)>>,
    /// Per block: ordinal of the next series to load into `heads`.
    next: Vec<u32>,
    ready: VecDeque<Result<Merged, BlockError>>,
    failed: bool,
}

impl Merge<'_> {
    fn fill_heads(&mut self) -> Result<(), BlockError> {
        for (i, b) in self.blocks.iter().enumerate() {
            if self.heads[i].is_none() && self.next[i] < b.index().num_series() {
                let (l, c) = b.index().series(self.next[i])?;
                self.heads[i] = Some((l, c, self.next[i]));
                self.next[i] += 1;
            }
        }
        Ok(())
    }

    fn next_pending(&mut self) -> Result<Option<Pending>, BlockError> {
        self.fill_heads()?;
        let Some(min) = self.heads.iter().flatten().map(|(l, _, _)| l).min().cloned() else {
            return Ok(None);
        };
        let mut parts = Vec::new();
        for (i, h) in self.heads.iter_mut().enumerate() {
            if h.as_ref().is_some_and(|(l, _, _)| *l == min) {
                if let Some((_, chunks, ordinal)) = h.take() {
                    parts.push((i, ordinal, chunks));
                }
            }
        }
        Ok(Some((min, parts)))
    }

    fn decode(&self, (labels, parts): Pending, cache: &mut [TsCache]) -> Result<Merged, BlockError> {
        if parts
            .iter()
            .any(|(_, _, cs)| cs.iter().any(|c| c.encoding == ChunkEncoding::Histogram))
        {
            return self.decode_mixed(labels, &parts, cache);
        }
        let mut tagged: Vec<(i64, usize, f64)> = Vec::new();
        let mut buf = Vec::new();
        for (i, ordinal, chunks) in &parts {
            buf.clear();
            for c in chunks {
                self.blocks[*i].read_chunk(c, &mut buf, &mut cache[*i])?;
            }
            // Deleted samples are left out of the new block.
            self.blocks[*i].drop_deleted(*ordinal, &mut buf, &self.tombstones[*i]);
            if parts.len() == 1 {
                return Ok((labels, std::mem::take(&mut buf), Vec::new()));
            }
            tagged.extend(buf.iter().map(|s| (s.t, *i, s.v)));
        }
        tagged.sort_by_key(|&(t, i, _)| (t, i));
        let mut out: Vec<Sample> = Vec::with_capacity(tagged.len());
        for (t, _, v) in tagged {
            match out.last_mut() {
                // Same timestamp: the later block (sorted last) wins.
                Some(last) if last.t == t => last.v = v,
                _ => out.push(Sample { t, v }),
            }
        }
        Ok((labels, out, Vec::new()))
    }

    /// [`Merge::decode`] for a series with histogram chunks: floats and histograms merged
    /// together, so that where blocks disagree on a timestamp the later block's sample wins
    /// whatever its type.
    fn decode_mixed(
        &self,
        labels: Labels,
        parts: &[(usize, u32, Vec<ChunkMeta>)],
        cache: &mut [TsCache],
    ) -> Result<Merged, BlockError> {
        enum V {
            F(f64),
            H(Box<crate::model::FloatHistogram>),
        }
        let mut tagged: Vec<(i64, usize, V)> = Vec::new();
        for (i, ordinal, chunks) in parts {
            let b = self.blocks[*i];
            let t = &self.tombstones[*i];
            let mut fs = Vec::new();
            for c in chunks {
                b.read_chunk(c, &mut fs, &mut cache[*i])?;
            }
            b.drop_deleted(*ordinal, &mut fs, t);
            let hs = b.read_histogram_chunks(*ordinal, chunks, i64::MIN, i64::MAX, &mut cache[*i], t)?;
            tagged.extend(fs.into_iter().map(|s| (s.t, *i, V::F(s.v))));
            tagged.extend(hs.into_iter().map(|s| (s.t, *i, V::H(Box::new(s.h)))));
        }
        tagged.sort_by_key(|&(t, i, _)| (t, i));
        let mut last: Vec<(i64, V)> = Vec::with_capacity(tagged.len());
        for (t, _, v) in tagged {
            match last.last_mut() {
                Some(l) if l.0 == t => l.1 = v,
                _ => last.push((t, v)),
            }
        }
        let (mut fs, mut hs) = (Vec::new(), Vec::new());
        for (t, v) in last {
            match v {
                V::F(v) => fs.push(Sample { t, v }),
                V::H(h) => hs.push(HistogramSample { t, h: *h }),
            }
        }
        Ok((labels, fs, hs))
    }

    fn fill_batch(&mut self) -> Result<(), BlockError> {
        let mut batch = Vec::with_capacity(MERGE_BATCH);
        while batch.len() < MERGE_BATCH {
            match self.next_pending()? {
                Some(p) => batch.push(p),
                None => break,
            }
        }
        let n = self.blocks.len();
        let merged: Vec<_> = batch
            .into_par_iter()
            .map_init(|| vec![TsCache::new(); n], |cache, p| self.decode(p, cache))
            .collect();
        self.ready.extend(merged);
        Ok(())
    }
}

impl Iterator for Merge<'_> {
    type Item = Result<Merged, BlockError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.ready.is_empty() {
            if let Err(e) = self.fill_batch() {
                self.failed = true;
                return Some(Err(e));
            }
        }
        let item = self.ready.pop_front()?;
        if item.is_err() {
            self.failed = true;
        }
        Some(item)
    }
}

/// Plans compactions, Prometheus-style, and returns groups of block ids to merge (each group
/// into one block). Blocks are `[min_time, max_time)`.
///
/// 1. Blocks whose time ranges overlap are grouped first (all overlapping groups).
/// 2. Otherwise, with ranges `block_range_ms * 3^i` (2h, 6h, 18h, 54h, ... up to 31 days), the
///    newest block is set aside and, at the smallest range where any qualifies, every aligned
///    window holding more than one block is returned when the window is full or lies
///    entirely before the newest block. Groups never include the newest block.
///
/// Compact the groups, then plan again until nothing is returned.
pub fn plan_compaction(metas: &[BlockMeta], block_range_ms: i64) -> Vec<Vec<String>> {
    if metas.len() < 2 || block_range_ms <= 0 {
        return Vec::new();
    }
    let mut ms: Vec<&BlockMeta> = metas.iter().collect();
    ms.sort_by(|a, b| (a.min_time, &a.id).cmp(&(b.min_time, &b.id)));

    let overlapping = overlapping_groups(&ms);
    if !overlapping.is_empty() {
        return overlapping;
    }

    let Some(newest) = ms.pop() else {
        return Vec::new();
    };
    let high_time = newest.min_time;
    let mut range = block_range_ms;
    loop {
        range = match range.checked_mul(3) {
            Some(r) if r <= MAX_BLOCK_RANGE_MS.max(block_range_ms) => r,
            _ => return Vec::new(),
        };
        let groups: Vec<Vec<String>> = split_by_range(&ms, range)
            .into_iter()
            .filter(|g| {
                let (first, last) = (g[0], g[g.len() - 1]);
                g.len() > 1 && (last.max_time - first.min_time >= range || last.max_time <= high_time)
            })
            .map(|g| g.iter().map(|m| m.id.clone()).collect())
            .collect();
        if !groups.is_empty() {
            return groups;
        }
    }
}

/// Groups of blocks (sorted by min_time) whose ranges overlap, each with more than one block.
fn overlapping_groups(ms: &[&BlockMeta]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut group: Vec<String> = Vec::new();
    let mut group_end = i64::MIN;
    for m in ms {
        if !group.is_empty() && m.min_time < group_end {
            group.push(m.id.clone());
            group_end = group_end.max(m.max_time);
            continue;
        }
        if group.len() > 1 {
            out.push(std::mem::take(&mut group));
        }
        group = vec![m.id.clone()];
        group_end = m.max_time;
    }
    if group.len() > 1 {
        out.push(group);
    }
    out
}

/// Splits blocks (sorted by min_time) into groups that fit the aligned windows of `range`;
/// blocks that straddle a window boundary are left out.
fn split_by_range<'a>(ms: &[&'a BlockMeta], range: i64) -> Vec<Vec<&'a BlockMeta>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ms.len() {
        let t0 = ms[i].min_time.div_euclid(range) * range;
        let end = t0.saturating_add(range);
        if ms[i].max_time > end {
            i += 1;
            continue;
        }
        let mut group = Vec::new();
        while i < ms.len() && ms[i].min_time >= t0 && ms[i].max_time <= end {
            group.push(ms[i]);
            i += 1;
        }
        if group.is_empty() {
            i += 1;
        } else {
            out.push(group);
        }
    }
    out
}
