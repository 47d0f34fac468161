//! Closed head chunks out of the heap: a spill pass moves the chunks that filled since the
//! last pass into one new file under `<data>/chunks_head/`, maps it read-only, and points
//! the chunks at their place in it. The head then holds per series only its open chunk, the
//! (small) list of closed chunk references and the index; the chunk bytes live in the page
//! cache, which the kernel may drop and read again, and count in the resident set only
//! while a query or a block cut reads them.
//!
//! The files are scratch space, not a second log: nothing in them is needed after the
//! process ends. On open the directory is emptied and the WAL replay rebuilds the head
//! (spilling as it goes), so a `kill -9` at any moment, even halfway through writing a file,
//! loses nothing. A file is written completely, then mapped, and never written again; it is
//! deleted when the last chunk pointing into it is dropped (truncation at a block cut,
//! deletion, a reader's snapshot going away). A pass that cannot write (a full disk) leaves
//! the chunks on the heap and says so in the log. Layout: `storage/docs/format/chunks_head.md`.

use super::columnar::Transcoder;
use super::hist::ClosedHistChunk;
use super::series::{ClosedChunk, MemSeries};
use super::Head;
use crate::format::{HEADER_LEN, HEAD_CHUNKS_MAGIC, HEAD_CHUNKS_VERSION};
use crate::mmap::Mmap;
use parking_lot::Mutex;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use tracing::{debug, warn};

/// A spill file is closed once it holds this much (offsets stay far below 2^32).
const MAX_FILE_BYTES: usize = 256 << 20;
/// How often the background thread runs a pass.
pub(crate) const SPILL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// A background pass writes nothing when less than this is on the heap (no tiny files).
pub(crate) const MIN_SPILL_BYTES: usize = 1 << 20;

/// The bytes of a closed head chunk: on the heap until a spill pass moves them into a
/// memory-mapped file.
#[derive(Clone, Debug)]
pub(crate) enum ChunkBytes {
    /// On the heap, shared with readers' snapshots.
    Heap(Arc<[u8]>),
    /// In a spill file: `len` bytes from `start`.
    Mapped {
        file: Arc<SpillFile>,
        start: u32,
        len: u32,
    },
}

impl ChunkBytes {
    /// Bytes on the heap.
    pub(crate) fn heap(b: &[u8]) -> Self {
        ChunkBytes::Heap(Arc::from(b))
    }

    /// Heap bytes this chunk holds (0 once spilled).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            ChunkBytes::Heap(b) => b.len() + 16,
            ChunkBytes::Mapped { .. } => 0,
        }
    }

    /// Whether the bytes are in a spill file.
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, ChunkBytes::Mapped { .. })
    }
}

impl Deref for ChunkBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ChunkBytes::Heap(b) => b,
            // A range outside the file cannot be produced by a pass; should it happen, the
            // chunk reads as empty (the decoders stop at the end of their bytes).
            ChunkBytes::Mapped { file, start, len } => {
                let (a, n) = (*start as usize, *len as usize);
                file.map.get(a..a.saturating_add(n)).unwrap_or(&[])
            }
        }
    }
}

/// One spill file, mapped; deleted when the last chunk in it is dropped.
#[derive(Debug)]
pub(crate) struct SpillFile {
    map: Mmap,
    path: PathBuf,
    /// The directory's total of live file bytes, lowered on drop.
    live: Arc<AtomicU64>,
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        self.live.fetch_sub(self.map.len() as u64, Ordering::Relaxed);
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                warn!(file = %self.path.display(), error = %e, "cannot remove a head chunks file no chunk uses any more")
            }
            _ => {}
        }
    }
}

/// The `chunks_head/` directory of a head.
#[derive(Debug)]
pub(crate) struct ChunkSpill {
    dir: PathBuf,
    next_seq: AtomicU64,
    /// One pass at a time.
    pass: Mutex<()>,
    /// Bytes of the files still in use.
    live: Arc<AtomicU64>,
    /// The files written, for [`ChunkSpill::release_pages`] (dead ones are pruned there).
    files: Mutex<Vec<Weak<SpillFile>>>,
    /// Float chunks are written as block columns ([`super::columnar`]); otherwise as they are.
    columns: bool,
}

/// What a pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SpillStats {
    /// Chunks moved off the heap.
    pub(crate) chunks: usize,
    /// Their bytes.
    pub(crate) bytes: u64,
    /// Files written.
    pub(crate) files: usize,
}

/// A heap chunk found by the collecting phase of a pass.
struct Pending {
    series: Arc<MemSeries>,
    histogram: bool,
    index: usize,
    /// The heap bytes (which chunk it is, see [`install`]).
    bytes: Arc<[u8]>,
}

/// Where a pass wrote one chunk in its file.
struct Placed {
    start: u32,
    len: u32,
    /// The bytes are a float chunk's block columns ([`super::columnar`]), not the heap's.
    columnar: bool,
}

/// A closed chunk of either kind: where its bytes are.
trait HoldsBytes {
    fn bytes(&self) -> &ChunkBytes;
    fn bytes_mut(&mut self) -> &mut ChunkBytes;
}

impl HoldsBytes for ClosedChunk {
    fn bytes(&self) -> &ChunkBytes {
        &self.bytes
    }
    fn bytes_mut(&mut self) -> &mut ChunkBytes {
        &mut self.bytes
    }
}

impl HoldsBytes for ClosedHistChunk {
    fn bytes(&self) -> &ChunkBytes {
        &self.bytes
    }
    fn bytes_mut(&mut self) -> &mut ChunkBytes {
        &mut self.bytes
    }
}

/// Points the chunk of `list` still holding `heap` (at `index`, or moved since) at `to`;
/// returns that chunk.
fn install<'l, C: HoldsBytes>(
    list: &'l mut [C],
    index: usize,
    heap: &Arc<[u8]>,
    to: ChunkBytes,
) -> Option<&'l mut C> {
    let holds = |c: &C| matches!(c.bytes(), ChunkBytes::Heap(b) if Arc::ptr_eq(b, heap));
    let at = if list.get(index).is_some_and(holds) {
        Some(index)
    } else {
        list.iter().position(holds)
    };
    let c = list.get_mut(at?)?;
    *c.bytes_mut() = to;
    Some(c)
}

/// Writes the header and then the chunks of `chunks`, in order, to a new file at `path`
/// until it holds [`MAX_FILE_BYTES`] (at least one chunk), then maps it; returns the map and
/// where each chunk written (a prefix of `chunks`) is. With `columns`, float chunks go in as
/// block columns, transcoded one at a time as they are written: a pass holds no second copy
/// of what it moves.
fn write_file(path: &Path, chunks: &[Pending], columns: bool) -> io::Result<(Mmap, Vec<Placed>)> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(&HEAD_CHUNKS_MAGIC);
    header[4] = HEAD_CHUNKS_VERSION;
    w.write_all(&header)?;
    let mut placed = Vec::new();
    let mut at = HEADER_LEN;
    let mut transcoder = Transcoder::default();
    for c in chunks {
        if at >= MAX_FILE_BYTES {
            break;
        }
        let transcoded = if columns && !c.histogram {
            transcoder.transcode(&c.bytes)
        } else {
            None
        };
        let written = transcoded.unwrap_or(&c.bytes);
        let too_big = || io::Error::other("head chunks file too big");
        placed.push(Placed {
            start: u32::try_from(at).map_err(|_| too_big())?,
            len: u32::try_from(written.len()).map_err(|_| too_big())?,
            columnar: transcoded.is_some(),
        });
        w.write_all(written)?;
        at += written.len();
    }
    w.into_inner().map_err(|e| e.into_error())?;
    // Complete and never written again: safe to map (see `crate::mmap`).
    let map = Mmap::open(path)?;
    Ok((map, placed))
}

impl ChunkSpill {
    /// Opens `dir` for spilling, removing what an earlier process left in it. With
    /// `columns`, float chunks are written as block columns (smaller and faster to query, at
    /// the cost of transcoding them); without, as the head holds them (agent mode, where
    /// nothing queries them).
    pub(crate) fn open(dir: &Path, columns: bool) -> io::Result<ChunkSpill> {
        clear(dir)?;
        fs::create_dir_all(dir)?;
        Ok(ChunkSpill {
            dir: dir.to_path_buf(),
            next_seq: AtomicU64::new(1),
            pass: Mutex::new(()),
            live: Arc::new(AtomicU64::new(0)),
            files: Mutex::new(Vec::new()),
            columns,
        })
    }

    /// Drops the resident pages of every live spill file (see [`Mmap::release_pages`]).
    pub(crate) fn release_pages(&self) {
        let mut files = self.files.lock();
        files.retain(|w| match w.upgrade() {
            Some(f) => {
                f.map.release_pages();
                true
            }
            None => false,
        });
    }

    /// Bytes of the spill files still in use.
    pub(crate) fn live_bytes(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Writes a prefix of `chunks` into a new file (see [`write_file`]) and maps it; returns
    /// it and where each chunk written is.
    fn write(&self, chunks: &[Pending]) -> io::Result<(Arc<SpillFile>, Vec<Placed>)> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{seq:08}"));
        let written = write_file(&path, chunks, self.columns);
        match written {
            Ok((map, placed)) => {
                self.live.fetch_add(map.len() as u64, Ordering::Relaxed);
                let file = SpillFile {
                    map,
                    path,
                    live: self.live.clone(),
                };
                let file = Arc::new(file);
                self.files.lock().push(Arc::downgrade(&file));
                Ok((file, placed))
            }
            Err(e) => {
                let _ = fs::remove_file(&path);
                Err(e)
            }
        }
    }
}

/// Removes the files of `dir` (an earlier process' spill files), if it exists.
pub(crate) fn clear(dir: &Path) -> io::Result<()> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in rd {
        let e = e?;
        if e.file_type()?.is_file() {
            fs::remove_file(e.path())?;
        }
    }
    Ok(())
}

impl Head {
    /// Drops the resident pages of the head's spill files (see [`ChunkSpill::release_pages`]).
    pub(crate) fn release_mapped_pages(&self) {
        if let Some(sp) = &self.spill {
            sp.release_pages();
        }
    }

    /// Moves the closed chunks still on the heap into a new spill file, if the head spills
    /// and at least `min_bytes` are on the heap. Appends and reads go on meanwhile: a chunk
    /// truncated or rewritten during the pass simply stays where it is now.
    pub(crate) fn spill_closed_chunks(&self, min_bytes: usize) -> SpillStats {
        let Some(sp) = self.spill.as_ref() else {
            return SpillStats::default();
        };
        // A head that stores no floats (an agent's) counts only its histogram samples: with
        // none there is no chunk, and no need to visit every series (1.5 % of an agent's CPU).
        if !self.stores_floats && self.num_samples.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            return SpillStats::default();
        }
        let _one = sp.pass.lock();
        let mut todo = Vec::new();
        let mut total = 0usize;
        for s in self.series.all() {
            let d = s.data.lock();
            for (index, c) in d.closed.iter().enumerate() {
                if let ChunkBytes::Heap(b) = &c.bytes {
                    total += b.len();
                    todo.push(Pending {
                        series: s.clone(),
                        histogram: false,
                        index,
                        bytes: b.clone(),
                    });
                }
            }
            for (index, c) in d.hist.iter().flat_map(|h| h.closed.iter().enumerate()) {
                if let ChunkBytes::Heap(b) = &c.bytes {
                    total += b.len();
                    todo.push(Pending {
                        series: s.clone(),
                        histogram: true,
                        index,
                        bytes: b.clone(),
                    });
                }
            }
        }
        let mut st = SpillStats::default();
        if todo.is_empty() || total < min_bytes {
            return st;
        }
        // In label order (a series' own chunks keep theirs: the sort is stable), so that the
        // series a selector matches (one metric name, one target) sit together in the file:
        // a read then touches a few runs of pages instead of a page here and there.
        todo.sort_by(|a, b| a.series.labels.cmp(&b.series.labels));
        let mut rest = &todo[..];
        while !rest.is_empty() {
            // Outside every lock: transcoding and writing.
            let (file, placed) = match sp.write(rest) {
                Ok(w) => w,
                Err(e) => {
                    warn!(dir = %sp.dir.display(), error = %e, "cannot write head chunks to disk; they stay in memory");
                    break;
                }
            };
            let (part, next) = rest.split_at(placed.len());
            rest = next;
            st.files += 1;
            for (p, at) in part.iter().zip(placed) {
                let to = ChunkBytes::Mapped {
                    file: file.clone(),
                    start: at.start,
                    len: at.len,
                };
                let mut d = p.series.data.lock();
                let done = if p.histogram {
                    d.hist
                        .as_mut()
                        .is_some_and(|h| install(&mut h.closed[..], p.index, &p.bytes, to).is_some())
                } else {
                    match install(&mut Arc::make_mut(&mut d.closed)[..], p.index, &p.bytes, to) {
                        Some(c) => {
                            c.columnar = at.columnar;
                            true
                        }
                        None => false,
                    }
                };
                if done {
                    st.chunks += 1;
                    st.bytes += p.bytes.len() as u64;
                }
            }
        }
        debug!(
            chunks = st.chunks,
            bytes = st.bytes,
            files = st.files,
            "head chunks spilled to disk"
        );
        st
    }

    /// Bytes of the head's spill files still in use (0 when it does not spill).
    pub(crate) fn spilled_bytes(&self) -> u64 {
        self.spill.as_ref().map_or(0, |s| s.live_bytes())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{FloatHistogram, Labels};

    fn spilling_head(dir: &Path) -> Head {
        spilling_head_with(dir, true)
    }

    fn spilling_head_with(dir: &Path, columns: bool) -> Head {
        let mut h = Head::new(0, i64::MIN);
        h.spill = Some(ChunkSpill::open(&dir.join("chunks_head"), columns).unwrap());
        h
    }

    fn files(dir: &Path) -> usize {
        fs::read_dir(dir.join("chunks_head")).unwrap().count()
    }

    #[test]
    fn without_columns_chunks_are_written_as_the_head_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let head = spilling_head_with(dir.path(), false);
        let s = head
            .get_or_create(&Labels::from_pairs([("a", "1")]), None)
            .unwrap();
        s.unpin();
        for t in 0..500i64 {
            s.data.lock().insert(t * 1000 + t % 7, (t * 3) as f64).unwrap();
        }
        let heap: Vec<Vec<u8>> = s.data.lock().closed.iter().map(|c| c.bytes.to_vec()).collect();
        let st = head.spill_closed_chunks(0);
        assert_eq!((st.chunks, st.files), (4, 1));
        let d = s.data.lock();
        assert!(d.closed.iter().all(|c| c.bytes.is_mapped() && !c.columnar));
        let mapped: Vec<Vec<u8>> = d.closed.iter().map(|c| c.bytes.to_vec()).collect();
        assert_eq!(mapped, heap);
        let got = super::super::snapshot::Snapshot::take(&d, i64::MIN, i64::MAX)
            .unwrap()
            .decode(i64::MIN, i64::MAX);
        assert_eq!(got.len(), 500);
        assert!(got.iter().enumerate().all(|(i, x)| {
            let t = i as i64;
            x.t == t * 1000 + t % 7 && x.v == (t * 3) as f64
        }));
    }

    #[test]
    fn closed_chunks_move_to_disk_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let head = spilling_head(dir.path());
        let s = head
            .get_or_create(&Labels::from_pairs([("a", "1")]), None)
            .unwrap();
        s.unpin();
        for t in 0..1000i64 {
            s.data.lock().insert(t * 1000, (t * 3) as f64).unwrap();
        }
        let want = {
            let d = s.data.lock();
            super::super::snapshot::Snapshot::take(&d, i64::MIN, i64::MAX)
                .unwrap()
                .decode(i64::MIN, i64::MAX)
        };
        assert_eq!(want.len(), 1000);
        let st = head.spill_closed_chunks(0);
        assert_eq!((st.chunks, st.files), (8, 1));
        assert!(s
            .data
            .lock()
            .closed
            .iter()
            .all(|c| c.bytes.is_mapped() && c.columnar));
        assert!(
            s.data.lock().size_bytes() < 2000,
            "only the open chunk on the heap"
        );
        assert!(head.spilled_bytes() > 0);
        let got = {
            let d = s.data.lock();
            super::super::snapshot::Snapshot::take(&d, i64::MIN, i64::MAX)
                .unwrap()
                .decode(i64::MIN, i64::MAX)
        };
        assert_eq!(got.len(), want.len());
        assert!(got
            .iter()
            .zip(&want)
            .all(|(a, b)| a.t == b.t && a.v.to_bits() == b.v.to_bits()));
        // Nothing new on the heap: a second pass writes nothing.
        assert_eq!(head.spill_closed_chunks(0), SpillStats::default());
        // A reader's snapshot keeps the file alive; truncation of everything removes it once
        // the snapshot is gone.
        let snap = {
            let d = s.data.lock();
            super::super::snapshot::Snapshot::take(&d, 0, 10_000).unwrap()
        };
        s.data.lock().truncate_before(2_000_000);
        assert_eq!(files(dir.path()), 1);
        assert_eq!(snap.decode(0, 10_000).len(), 11);
        drop(snap);
        assert_eq!(files(dir.path()), 0);
        assert_eq!(head.spilled_bytes(), 0);
    }

    #[test]
    fn a_pass_writes_series_in_label_order_and_released_pages_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let head = spilling_head(dir.path());
        // Created in reverse label order, so creation order and label order differ.
        let series: Vec<_> = (0..5)
            .rev()
            .map(|i| {
                let s = head
                    .get_or_create(&Labels::from_pairs([("a", format!("{i}"))]), None)
                    .unwrap();
                s.unpin();
                s
            })
            .collect();
        for t in 0..500i64 {
            for (k, s) in series.iter().enumerate() {
                s.data.lock().insert(t * 1000, (t * k as i64) as f64).unwrap();
            }
        }
        let st = head.spill_closed_chunks(0);
        assert_eq!(st.files, 1);
        let starts = |s: &Arc<MemSeries>| -> Vec<u32> {
            s.data
                .lock()
                .closed
                .iter()
                .map(|c| match &c.bytes {
                    ChunkBytes::Mapped { start, .. } => *start,
                    ChunkBytes::Heap(_) => u32::MAX,
                })
                .collect()
        };
        // series[4] has labels a="0", the smallest: its chunks come first, in time order.
        let mut by_label: Vec<Vec<u32>> = series.iter().rev().map(starts).collect();
        for w in by_label.windows(2) {
            assert!(w[0].last() < w[1].first(), "{by_label:?}");
        }
        for v in &mut by_label {
            assert!(v.windows(2).all(|w| w[0] < w[1]));
        }
        head.release_mapped_pages();
        for (k, s) in series.iter().enumerate() {
            let d = s.data.lock();
            let got = super::super::snapshot::Snapshot::take(&d, i64::MIN, i64::MAX)
                .unwrap()
                .decode(i64::MIN, i64::MAX);
            assert_eq!(got.len(), 500);
            assert!(got
                .iter()
                .enumerate()
                .all(|(t, p)| p.t == t as i64 * 1000 && p.v == (t as i64 * k as i64) as f64));
        }
    }

    #[test]
    fn histogram_chunks_spill_too() {
        let dir = tempfile::tempdir().unwrap();
        let head = spilling_head(dir.path());
        let s = head
            .get_or_create(&Labels::from_pairs([("h", "1")]), None)
            .unwrap();
        s.unpin();
        let h = |n: f64| FloatHistogram {
            count: n,
            sum: n * 2.0,
            schema: 0,
            zero_threshold: 1e-128,
            positive_spans: vec![crate::model::BucketSpan { offset: 0, length: 1 }],
            positive_buckets: vec![n],
            ..FloatHistogram::default()
        };
        for t in 0..300i64 {
            s.data.lock().insert_histogram(t * 1000, &h(t as f64)).unwrap();
        }
        let st = head.spill_closed_chunks(0);
        assert!(st.chunks >= 2, "{st:?}");
        let d = s.data.lock();
        let hd = d.hist.as_ref().unwrap();
        assert!(hd.closed.iter().all(|c| c.bytes.is_mapped()));
        let mut out = Vec::new();
        for c in &hd.closed {
            c.decode_into(&mut out).unwrap();
        }
        out.extend(hd.open.iter().cloned());
        assert_eq!(out.len(), 300);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, x)| x.t == i as i64 * 1000 && x.h.count == i as f64));
    }

    #[test]
    fn open_empties_the_directory_and_a_small_heap_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("chunks_head");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("00000001"), b"left by a killed process").unwrap();
        let head = spilling_head(dir.path());
        assert_eq!(files(dir.path()), 0);
        let s = head
            .get_or_create(&Labels::from_pairs([("a", "1")]), None)
            .unwrap();
        s.unpin();
        for t in 0..500i64 {
            s.data.lock().insert(t, t as f64).unwrap();
        }
        assert_eq!(head.spill_closed_chunks(MIN_SPILL_BYTES), SpillStats::default());
        assert_eq!(files(dir.path()), 0);
    }
}
