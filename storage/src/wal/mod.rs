//! The write-ahead log.
//!
//! # Layout
//! - `record`: the record codec (series, samples, metadata, tombstones, histograms, exemplars)
//!   and the frame around each record (length, CRC32C, type byte; a flag bit in the type byte
//!   marks a snappy-compressed payload).
//! - `segment`: file names (`wal/00000001`, `wal/checkpoint.00000001`), the file header.
//! - `reader`: replay on open, truncating a torn or corrupt tail with a warning.
//! - `writer`: appends, segment roll-over, fsync, poisoning after a failed write.
//! - `checkpoint`: dropping segments whose samples are all in blocks.
//! - `follow`: [`WalFollower`], reading the log from a position while it is written (remote write).
//!
//! The byte layout is documented in `storage/docs/format/wal.md`.
//!
//! # Durability
//! [`Wal::log`] writes a commit's records with one `write` call before it returns, so a
//! process crash loses nothing acknowledged. `fsync` runs on every commit or on an interval
//! (from the database's background thread); after a failed write or fsync the WAL is
//! poisoned and refuses every later write, since what reached the disk is unknown.

mod checkpoint;
mod follow;
mod reader;
pub(crate) mod record;
pub(crate) mod segment;
mod writer;

pub(crate) use checkpoint::CheckpointContents;
pub use checkpoint::CheckpointStats;
pub use follow::{FollowerStats, Resume, WalFollower, WalPosition};
pub(crate) use reader::ReplayOutcome;
pub use reader::{scan, ScanOutcome};
pub use record::{
    ExemplarEntry, HistogramEntry, Record as WalRecord, SampleEntry, SeriesEntry, TombstoneEntry,
};
pub use segment::DEFAULT_SEGMENT_SIZE;

use crate::error::{AppendError, DbError};
use crate::metrics::{Summary, SummarySnapshot};
use parking_lot::Mutex;
use reader::SegmentInfo;
use record::Record;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use writer::{Writer, WriterState};

thread_local! {
    /// Per appending thread: the compressed copy of a batch and the compressor's tables.
    static COMPRESS_SCRATCH: std::cell::RefCell<(Vec<u8>, snap::raw::Encoder)> =
        std::cell::RefCell::new((Vec::new(), snap::raw::Encoder::new()));
}

/// A compression buffer bigger than this is freed after use rather than kept for the next batch.
const MAX_KEPT_SCRATCH: usize = 8 << 20;

/// An open write-ahead log directory.
pub struct Wal {
    w: Writer,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal").field("dir", &self.w.dir).finish()
    }
}

impl Wal {
    /// Replays the WAL in `dir` through `handle`, then opens a fresh segment for writing.
    pub(crate) fn open(
        dir: &Path,
        segment_size: u64,
        intern: &mut dyn FnMut(&str) -> Arc<str>,
        handle: &mut dyn FnMut(Record),
    ) -> Result<(Wal, ReplayOutcome), DbError> {
        let outcome = reader::replay(dir, intern, handle)?;
        let index = outcome.last_index + 1;
        let file = writer::create_segment(dir, index).map_err(|source| DbError::Io {
            context: format!("creating WAL segment {index} in {}", dir.display()),
            source,
        })?;
        let checkpoint_bytes = outcome
            .checkpoint
            .map_or(0, |c| segment::file_size(&segment::checkpoint_path(dir, c)));
        let state = WriterState {
            file,
            active: SegmentInfo {
                index,
                bytes: segment::HEADER_LEN as u64,
                max_t: i64::MIN,
            },
            closed: outcome.segments.clone(),
            dirty: false,
            checkpoint_bytes,
            closed_for_writes: false,
        };
        let w = Writer {
            dir: dir.to_path_buf(),
            segment_size: segment_size.max(4096),
            state: Mutex::new(state),
            poisoned: AtomicBool::new(false),
            fsync_seconds: Summary::new(),
            failures: Default::default(),
            compress: false,
            #[cfg(test)]
            fail_writes: AtomicBool::new(false),
        };
        Ok((Wal { w }, outcome))
    }

    /// Whether later records (and checkpoints) are written compressed; records already on
    /// disk are read whichever way they were written.
    pub(crate) fn set_compression(&mut self, on: bool) {
        self.w.compress = on;
    }

    /// Writes pre-framed records with one write call; fsyncs before returning when `sync`.
    /// `max_t` is the newest sample timestamp among them (for checkpointing). With
    /// compression on, the payloads are compressed first, outside the writer's lock.
    pub(crate) fn log(&self, buf: &[u8], max_t: i64, sync: bool) -> Result<(), AppendError> {
        if !self.w.compress {
            return self.w.log(buf, max_t, sync);
        }
        COMPRESS_SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let (out, enc) = &mut *scratch;
            out.clear();
            record::compress_frames(buf, out, enc);
            let r = self.w.log(out, max_t, sync);
            if out.capacity() > MAX_KEPT_SCRATCH {
                *out = Vec::new();
            }
            r
        })
    }

    /// Fsyncs what was written since the last fsync. A failure poisons the WAL.
    pub fn sync(&self) -> io::Result<()> {
        self.w.sync()
    }

    /// Drops the segments whose samples are all older than `floor` (see [`CheckpointStats`]).
    pub(crate) fn checkpoint(
        &self,
        floor: i64,
        live: impl FnOnce() -> CheckpointContents,
    ) -> io::Result<CheckpointStats> {
        self.w.checkpoint(floor, live)
    }

    /// Like [`Wal::checkpoint`], but keeps the segments from `keep_from` on (other readers,
    /// remote-write queues, have not read them; `None`: keep all) unless the WAL is bigger
    /// than `max_bytes` (0: no limit), in which case the oldest go anyway until it is not.
    /// Returns the stats and how many of the dropped segments were still wanted.
    pub(crate) fn checkpoint_holding(
        &self,
        floor: i64,
        keep_from: Option<u64>,
        max_bytes: u64,
        live: impl FnOnce() -> CheckpointContents,
    ) -> io::Result<(CheckpointStats, usize)> {
        let remaining = std::cell::Cell::new(self.size_bytes());
        let forced = std::cell::Cell::new(0usize);
        let stats = self.w.checkpoint_prefix(
            |s| {
                if s.max_t >= floor {
                    return false;
                }
                if keep_from.is_none_or(|k| s.index >= k) {
                    if max_bytes == 0 || remaining.get() <= max_bytes {
                        return false;
                    }
                    forced.set(forced.get() + 1);
                }
                remaining.set(remaining.get().saturating_sub(s.bytes));
                true
            },
            live,
        )?;
        Ok((stats, forced.get()))
    }

    /// Drops the closed segments with an index below `segment` (every reader is past them),
    /// keeping the series `live` returns in a checkpoint. Used in agent mode, where no block
    /// cut decides what the WAL may forget.
    pub(crate) fn checkpoint_before_segment(
        &self,
        segment: u64,
        live: impl FnOnce() -> CheckpointContents,
    ) -> io::Result<CheckpointStats> {
        self.w.checkpoint_prefix(|s| s.index < segment, live)
    }

    /// Index of the segment being written.
    pub fn active_segment(&self) -> u64 {
        self.w.state.lock().active.index
    }

    /// Whether a failed write or fsync poisoned the WAL.
    pub fn is_poisoned(&self) -> bool {
        self.w.poisoned.load(Ordering::SeqCst)
    }

    /// Bytes on disk: segments and checkpoint.
    pub fn size_bytes(&self) -> u64 {
        let st = self.w.state.lock();
        st.closed.iter().map(|s| s.bytes).sum::<u64>() + st.active.bytes + st.checkpoint_bytes
    }

    /// Durations of the fsyncs so far.
    pub fn fsync_seconds(&self) -> SummarySnapshot {
        self.w.fsync_seconds.snapshot()
    }

    /// Writes and fsyncs that failed so far.
    pub fn failures(&self) -> u64 {
        self.w.failures.get()
    }

    /// Number of segment files, the active one included.
    pub fn segment_count(&self) -> usize {
        self.w.state.lock().closed.len() + 1
    }

    /// Fsyncs and refuses further writes.
    pub fn close(&self) -> io::Result<()> {
        let mut st = self.w.state.lock();
        if st.closed_for_writes {
            return Ok(());
        }
        st.closed_for_writes = true;
        if self.is_poisoned() {
            return Ok(());
        }
        st.file.sync_all()?;
        st.dirty = false;
        Ok(())
    }

    /// Test hook: make every later write fail as a full disk would.
    #[cfg(test)]
    pub(crate) fn inject_write_failure(&self) {
        self.w.fail_writes.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
