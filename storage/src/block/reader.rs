//! Reading a block: [`Block::open`] verifies it, `select` and friends answer queries.

use super::chunks::ChunkReader;
use super::codec;
use super::meta::{read_meta, BlockMeta};
use super::tombstones::{self, Tombstones};
use super::BlockError;
use crate::api::Series;
use crate::error::{CorruptionError, QueryError};
use crate::format;
use crate::index::{ChunkEncoding, ChunkMeta, IndexReader};
use crate::lazy::{BlockPart, LazySeries, Part};
use crate::model::{FloatHistogram, HistogramSample, Labels, Matcher, Sample};
use parking_lot::RwLock;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Series per parallel decoding task of a select.
const SELECT_BATCH: usize = 256;

/// Decoded timestamp columns kept per task before the cache is reset.
const TS_CACHE_MAX: usize = 4096;

/// Decoded timestamp columns by column reference: the series of one scrape target share
/// theirs, so each is decoded (and checksummed) once per task.
pub(crate) type TsCache = HashMap<u64, Arc<[i64]>>;

/// An open, immutable, memory-mapped block. `Send + Sync`; share it in an `Arc`.
#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    size: u64,
    /// Deleted intervals per series ordinal; replaced whole by [`Block::delete`].
    tombstones: RwLock<Arc<Tombstones>>,
}

impl Block {
    /// Opens the block in `dir`: reads `meta.json`, maps and verifies the index (header,
    /// table of contents, every section's checksum) and the chunk files' headers. Column
    /// checksums are verified when a select reads them.
    pub fn open(dir: &Path) -> Result<Block, BlockError> {
        let meta = read_meta(dir)?;
        let index_path = dir.join(format::INDEX_FILENAME);
        let index = IndexReader::open(&index_path)?;
        if u64::from(index.num_series()) != meta.num_series {
            return Err(CorruptionError {
                file: index_path,
                offset: 0,
                reason: format!(
                    "index has {} series, meta.json says {}",
                    index.num_series(),
                    meta.num_series
                ),
            }
            .into());
        }
        let chunks_dir = dir.join(format::CHUNKS_DIRNAME);
        if !chunks_dir.is_dir() {
            return Err(CorruptionError {
                file: chunks_dir,
                offset: 0,
                reason: "chunks directory is missing".into(),
            }
            .into());
        }
        let chunks = ChunkReader::open(&chunks_dir)?;
        let meta_len = std::fs::metadata(dir.join(format::META_FILENAME)).map_or(0, |m| m.len());
        let size = meta_len + index.size_bytes() + chunks.size_bytes();
        let tombstones = tombstones::read_tombstones(dir)?;
        if let Some((&o, _)) = tombstones.range(index.num_series()..).next() {
            return Err(CorruptionError {
                file: dir.join(format::TOMBSTONES_FILENAME),
                offset: 0,
                reason: format!("tombstone for series {o}, the index has {}", index.num_series()),
            }
            .into());
        }
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            size,
            tombstones: RwLock::new(Arc::new(tombstones)),
        })
    }

    /// Checks the checksum of every column of every chunk file (which [`Block::open`] leaves
    /// to the reads). Returns the number of columns, or the first damage with its file.
    pub fn verify_chunks(&self) -> Result<u64, CorruptionError> {
        self.chunks.verify_all()
    }

    /// Drops the resident pages that reads brought in from the block's memory-mapped chunk
    /// files (they stay in the page cache; see [`crate::Queryable::release_mapped_pages`]).
    pub fn release_mapped_pages(&self) {
        self.chunks.release_pages();
    }

    /// The block's metadata.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk (meta, index and chunk files).
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// The block's index.
    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// The block's tombstones (deleted intervals per series ordinal).
    pub fn tombstones(&self) -> Arc<Tombstones> {
        self.tombstones.read().clone()
    }

    /// Marks the samples in `[mint, maxt]` of the series matching `matchers` deleted, and
    /// persists the tombstones. Returns how many series got a tombstone.
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize, BlockError> {
        if self.outside(mint, maxt) {
            return Ok(0);
        }
        let mut g = self.tombstones.write();
        let mut t: Tombstones = (**g).clone();
        let mut n = 0;
        for o in self.index.select_postings(matchers)? {
            let (_, chunks) = self.index.series(o)?;
            if chunks.iter().any(|c| c.overlaps(mint, maxt)) {
                tombstones::add_interval(t.entry(o).or_default(), mint, maxt);
                n += 1;
            }
        }
        if n > 0 {
            tombstones::write_tombstones(&self.dir, &t)?;
            *g = Arc::new(t);
        }
        Ok(n)
    }

    /// Whether series `ordinal` keeps a sample in `[mint, maxt]` after its tombstones.
    fn alive(
        &self,
        ordinal: u32,
        chunks: &[ChunkMeta],
        t: &Tombstones,
        mint: i64,
        maxt: i64,
    ) -> Result<bool, CorruptionError> {
        let Some(deleted) = t.get(&ordinal) else {
            return Ok(chunks.iter().any(|c| c.overlaps(mint, maxt)));
        };
        let mut cache = TsCache::new();
        for c in chunks.iter().filter(|c| c.overlaps(mint, maxt)) {
            // Timestamps decide it, whatever the chunk holds.
            let ts = self.timestamps(c, &mut cache)?;
            if ts
                .iter()
                .any(|&t| t >= mint && t <= maxt && !tombstones::is_deleted(deleted, t))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Ordinals matching `matchers` (all series when none) that still have samples.
    fn live_ordinals(&self, matchers: &[Matcher], t: &Tombstones) -> Result<Vec<u32>, CorruptionError> {
        let ordinals = if matchers.is_empty() {
            (0..self.index.num_series()).collect()
        } else {
            self.index.select_postings(matchers)?
        };
        let mut out = Vec::with_capacity(ordinals.len());
        for o in ordinals {
            if t.contains_key(&o) {
                let (_, chunks) = self.index.series(o)?;
                if !self.alive(o, &chunks, t, i64::MIN, i64::MAX)? {
                    continue;
                }
            }
            out.push(o);
        }
        Ok(out)
    }

    /// Removes the samples of series `ordinal` its tombstones delete.
    pub(crate) fn drop_deleted(&self, ordinal: u32, samples: &mut Vec<Sample>, t: &Tombstones) {
        if let Some(deleted) = t.get(&ordinal) {
            tombstones::drop_deleted(deleted, samples);
        }
    }

    fn outside(&self, mint: i64, maxt: i64) -> bool {
        mint > maxt || maxt < self.meta.min_time || mint > self.meta.max_time
    }

    /// The decoded timestamp column of chunk `c`, from `cache` when another series sharing
    /// the column was read before. Checked against the chunk's index entry either way.
    fn timestamps(&self, c: &ChunkMeta, cache: &mut TsCache) -> Result<Arc<[i64]>, CorruptionError> {
        let ts = match cache.get(&c.ts_ref) {
            Some(ts) => ts.clone(),
            None => {
                let (data, path, off) = self.chunks.column(c.ts_ref)?;
                let mut ts =
                    Vec::with_capacity((c.num_samples as usize).min(crate::format::MAX_CHUNK_SAMPLES));
                let used = codec::decode_timestamps(data, &mut ts).map_err(|e| CorruptionError {
                    file: path.to_path_buf(),
                    offset: off,
                    reason: format!("timestamp column: {e}"),
                })?;
                if used != data.len() || ts.windows(2).any(|w| w[1] <= w[0]) {
                    return Err(CorruptionError {
                        file: path.to_path_buf(),
                        offset: off,
                        reason: "timestamp column is not strictly ascending or has trailing bytes".into(),
                    });
                }
                if cache.len() >= TS_CACHE_MAX {
                    cache.clear();
                }
                let ts: Arc<[i64]> = ts.into();
                cache.insert(c.ts_ref, ts.clone());
                ts
            }
        };
        if ts.len() != c.num_samples as usize
            || ts.first() != Some(&c.min_time)
            || ts.last() != Some(&c.max_time)
        {
            let (file, offset) = self.chunks.locate(c.ts_ref);
            return Err(CorruptionError {
                file,
                offset,
                reason: format!(
                    "timestamp column ({} samples) does not match its index entry ({} samples in [{}, {}])",
                    ts.len(),
                    c.num_samples,
                    c.min_time,
                    c.max_time
                ),
            });
        }
        Ok(ts)
    }

    /// Decodes one histogram chunk, appending its samples to `out`.
    pub(crate) fn read_histogram_chunk(
        &self,
        c: &ChunkMeta,
        out: &mut Vec<HistogramSample>,
        cache: &mut TsCache,
    ) -> Result<(), CorruptionError> {
        let ts = self.timestamps(c, cache)?;
        let (data, path, off) = self.chunks.column(c.values_ref)?;
        let bad = |reason: String| CorruptionError {
            file: path.to_path_buf(),
            offset: off,
            reason,
        };
        let mut hs: Vec<FloatHistogram> = Vec::with_capacity(ts.len());
        let used = crate::chunk::decode_histograms(data, &mut hs)
            .map_err(|e| bad(format!("histogram column: {e}")))?;
        if used != data.len() || hs.len() != c.num_samples as usize {
            return Err(bad(format!(
                "histogram column has {} histograms, its index entry says {}",
                hs.len(),
                c.num_samples
            )));
        }
        out.extend(ts.iter().zip(hs).map(|(&t, h)| HistogramSample { t, h }));
        Ok(())
    }

    /// The histogram samples in `[mint, maxt]` of series `ordinal` from its histogram
    /// chunks among `chunks`, with deleted ones dropped.
    pub(crate) fn read_histogram_chunks(
        &self,
        ordinal: u32,
        chunks: &[ChunkMeta],
        mint: i64,
        maxt: i64,
        cache: &mut TsCache,
        t: &Tombstones,
    ) -> Result<Vec<HistogramSample>, CorruptionError> {
        let mut out = Vec::new();
        for c in chunks
            .iter()
            .filter(|c| c.encoding == ChunkEncoding::Histogram && c.overlaps(mint, maxt))
        {
            self.read_histogram_chunk(c, &mut out, cache)?;
        }
        let deleted = t.get(&ordinal).map_or(&[][..], |d| d.as_slice());
        out.retain(|s| s.t >= mint && s.t <= maxt && !tombstones::is_deleted(deleted, s.t));
        Ok(out)
    }

    /// Decodes one float chunk, appending its samples to `out` (a histogram chunk adds
    /// nothing: see [`Block::read_histogram_chunk`]).
    pub(crate) fn read_chunk(
        &self,
        c: &ChunkMeta,
        out: &mut Vec<Sample>,
        cache: &mut TsCache,
    ) -> Result<(), CorruptionError> {
        if c.encoding != ChunkEncoding::Float {
            return Ok(());
        }
        let ts = self.timestamps(c, cache)?;
        let mut vs = Vec::with_capacity((c.num_samples as usize).min(crate::format::MAX_CHUNK_SAMPLES));
        let (data, path, off) = self.chunks.column(c.values_ref)?;
        let bad = |reason: String| CorruptionError {
            file: path.to_path_buf(),
            offset: off,
            reason,
        };
        let used = codec::decode_values(data, &mut vs).map_err(|e| bad(format!("value column: {e}")))?;
        if used != data.len() || vs.len() != c.num_samples as usize {
            return Err(bad(format!(
                "value column has {} values, its index entry says {}",
                vs.len(),
                c.num_samples
            )));
        }
        out.extend(ts.iter().zip(vs).map(|(&t, v)| Sample { t, v }));
        Ok(())
    }

    /// The samples in `[mint, maxt]` of series `ordinal` from `chunks` (its chunks, or those
    /// of them overlapping the range), with deleted ones dropped.
    pub(crate) fn read_chunks(
        &self,
        ordinal: u32,
        chunks: &[ChunkMeta],
        mint: i64,
        maxt: i64,
        cache: &mut TsCache,
        t: &Tombstones,
    ) -> Result<Vec<Sample>, CorruptionError> {
        let cap: usize = chunks
            .iter()
            .filter(|c| c.overlaps(mint, maxt))
            .map(|c| (c.num_samples as usize).min(crate::format::MAX_CHUNK_SAMPLES))
            .sum();
        let mut samples = Vec::with_capacity(cap);
        for c in chunks.iter().filter(|c| c.overlaps(mint, maxt)) {
            if c.min_time >= mint && c.max_time <= maxt {
                self.read_chunk(c, &mut samples, cache)?;
            } else {
                let from = samples.len();
                self.read_chunk(c, &mut samples, cache)?;
                let mut keep = from;
                for i in from..samples.len() {
                    let s = samples[i];
                    if s.t >= mint && s.t <= maxt {
                        samples[keep] = s;
                        keep += 1;
                    }
                }
                samples.truncate(keep);
            }
        }
        self.drop_deleted(ordinal, &mut samples, t);
        Ok(samples)
    }

    /// Labels and the samples in `[mint, maxt]` of series `ordinal`.
    fn read_series(
        &self,
        ordinal: u32,
        mint: i64,
        maxt: i64,
        cache: &mut TsCache,
        t: &Tombstones,
    ) -> Result<Series, CorruptionError> {
        let (labels, chunks) = self.index.series(ordinal)?;
        let samples = self.read_chunks(ordinal, &chunks, mint, maxt, cache, t)?;
        let histograms = if chunks.iter().any(|c| c.encoding == ChunkEncoding::Histogram) {
            self.read_histogram_chunks(ordinal, &chunks, mint, maxt, cache, t)?
        } else {
            Vec::new()
        };
        Ok(Series {
            labels,
            samples,
            histograms,
        })
    }

    /// Series matching all `matchers` with a chunk overlapping `[mint, maxt]`, sorted by
    /// labels, not decoded: each keeps the locations of its overlapping chunks.
    pub(crate) fn select_lazy(
        self: &Arc<Self>,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<LazySeries>, QueryError> {
        if self.outside(mint, maxt) {
            return Ok(Vec::new());
        }
        let ordinals = self.index.select_postings(matchers)?;
        let t = self.tombstones();
        let entry = |o: u32| -> Result<Option<LazySeries>, CorruptionError> {
            let (labels, mut chunks) = self.index.series(o)?;
            chunks.retain(|c| c.overlaps(mint, maxt));
            if chunks.is_empty() {
                return Ok(None);
            }
            let part = BlockPart {
                block: self.clone(),
                ordinal: o,
                chunks,
                tombstones: t.clone(),
            };
            Ok(Some(LazySeries::from_parts(
                labels,
                mint,
                maxt,
                vec![Part::Block(part)],
            )))
        };
        let parts: Vec<Vec<LazySeries>> = ordinals
            .par_chunks(SELECT_BATCH * 4)
            .map(|part| {
                let mut out = Vec::with_capacity(part.len());
                for &o in part {
                    out.extend(entry(o)?);
                }
                Ok(out)
            })
            .collect::<Result<_, CorruptionError>>()?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Series matching all `matchers` with samples in `[mint, maxt]` (inclusive), sorted by
    /// labels. Only chunks overlapping the range are decoded.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, QueryError> {
        if self.outside(mint, maxt) {
            return Ok(Vec::new());
        }
        let ordinals = self.index.select_postings(matchers)?;
        let t = self.tombstones();
        // Batches of series decode in parallel, each with its own timestamp column cache.
        let parts: Vec<Vec<Series>> = ordinals
            .par_chunks(SELECT_BATCH)
            .map(|part| {
                let mut cache = TsCache::new();
                let mut out = Vec::with_capacity(part.len());
                for &o in part {
                    let s = self.read_series(o, mint, maxt, &mut cache, &t)?;
                    if !s.samples.is_empty() || !s.histograms.is_empty() {
                        out.push(s);
                    }
                }
                Ok(out)
            })
            .collect::<Result<_, CorruptionError>>()?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Labels of series matching `matchers` that have a chunk overlapping `[mint, maxt]`,
    /// sorted. Chunks are not decoded.
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>, QueryError> {
        if self.outside(mint, maxt) {
            return Ok(Vec::new());
        }
        let t = self.tombstones();
        let mut out = Vec::new();
        for o in self.index.select_postings(matchers)? {
            let (labels, chunks) = self.index.series(o)?;
            if self.alive(o, &chunks, &t, mint, maxt)? {
                out.push(labels);
            }
        }
        Ok(out)
    }

    /// Sorted label names of the series matching `matchers` (all names if none).
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, QueryError> {
        let t = self.tombstones();
        if matchers.is_empty() && t.is_empty() {
            return Ok(self.index.label_names());
        }
        let mut names = BTreeSet::new();
        for o in self.live_ordinals(matchers, &t)? {
            let (labels, _) = self.index.series(o)?;
            for l in &labels {
                if !names.contains(l.name.as_ref()) {
                    names.insert(l.name.to_string());
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Sorted values of label `name` among the series matching `matchers` (all if none).
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, QueryError> {
        let t = self.tombstones();
        if matchers.is_empty() && t.is_empty() {
            return Ok(self.index.label_values(name));
        }
        let mut values = BTreeSet::new();
        for o in self.live_ordinals(matchers, &t)? {
            let (labels, _) = self.index.series(o)?;
            if let Some(v) = labels.get(name) {
                if !values.contains(v) {
                    values.insert(v.to_string());
                }
            }
        }
        Ok(values.into_iter().collect())
    }
}
