//! The WAL writer: appends framed records to the active segment, rolls segments, fsyncs,
//! and poisons itself after a failed write or fsync.

use super::reader::SegmentInfo;
use super::segment::{self, HEADER_LEN};
use crate::error::AppendError;
use crate::metrics::{Counter, Summary};
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tracing::error;

/// The mutable part of the writer, behind one mutex.
pub(crate) struct WriterState {
    /// The active segment file (append only).
    pub(crate) file: File,
    /// The active segment.
    pub(crate) active: SegmentInfo,
    /// Closed segments still on disk, oldest first.
    pub(crate) closed: Vec<SegmentInfo>,
    /// Bytes written since the last fsync.
    pub(crate) dirty: bool,
    /// Size of the current checkpoint file.
    pub(crate) checkpoint_bytes: u64,
    /// Set by `close`: no more writes.
    pub(crate) closed_for_writes: bool,
}

/// Creates segment `index` in `dir` with its header, durable. The header is written to
/// `<index>.tmp` and renamed into place, so a crash never leaves a segment without its header
/// (replay removes a leftover `.tmp`).
pub(crate) fn create_segment(dir: &Path, index: u64) -> io::Result<File> {
    let path = segment::segment_path(dir, index);
    let tmp = path.with_extension("tmp");
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = OpenOptions::new().create_new(true).append(true).open(&tmp)?;
    let done = f
        .write_all(&segment::header())
        .and_then(|_| f.sync_all())
        .and_then(|_| {
            if path.exists() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("WAL segment {} already exists", path.display()),
                ));
            }
            std::fs::rename(&tmp, &path)
        })
        .and_then(|_| segment::sync_dir(dir));
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(f)
}

/// Appends and syncs; shared by the [`super::Wal`] methods.
pub(crate) struct Writer {
    pub(crate) dir: PathBuf,
    pub(crate) segment_size: u64,
    pub(crate) state: Mutex<WriterState>,
    pub(crate) poisoned: AtomicBool,
    /// Durations of fsyncs of segments.
    pub(crate) fsync_seconds: Summary,
    /// Failed writes and fsyncs.
    pub(crate) failures: Counter,
    /// Compress record payloads before writing (see [`super::record::compress_frames`]).
    pub(crate) compress: bool,
    /// Test hook: make the next writes fail as a full disk would.
    #[cfg(test)]
    pub(crate) fail_writes: AtomicBool,
}

impl Writer {
    /// Fsyncs `f`, timing it.
    fn timed_sync(&self, f: &File) -> io::Result<()> {
        let started = Instant::now();
        let r = f.sync_data();
        self.fsync_seconds.observe_duration(started.elapsed());
        r
    }

    fn poison(&self, what: &str, e: &io::Error) {
        self.failures.inc();
        error!(dir = %self.dir.display(), error = %e, "WAL {what} failed; refusing further appends until restart");
        self.poisoned.store(true, Ordering::SeqCst);
    }

    /// Writes pre-framed records (`buf`) whose newest sample is `max_t`; fsyncs when `sync`.
    pub(crate) fn log(&self, buf: &[u8], max_t: i64, sync: bool) -> Result<(), AppendError> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(AppendError::Poisoned);
        }
        let mut st = self.state.lock();
        if st.closed_for_writes {
            return Err(AppendError::Io(io::Error::other("the database is closed")));
        }
        if st.active.bytes > HEADER_LEN as u64 && st.active.bytes + buf.len() as u64 > self.segment_size {
            if let Err(e) = self.rotate(&mut st) {
                return Err(AppendError::Io(e));
            }
        }
        #[cfg(test)]
        if self.fail_writes.load(Ordering::SeqCst) {
            let e = io::Error::other("injected write failure");
            self.poison("write", &e);
            return Err(AppendError::Io(e));
        }
        if let Err(e) = st.file.write_all(buf) {
            // A failed write (a full disk, usually) may have left part of the records behind.
            // Cutting the segment back to its last complete record keeps the log whole, and
            // the batch, never acknowledged, may be retried once space returns. Only when the
            // cut fails too is the state on disk unknown.
            let keep = st.active.bytes;
            match st.file.set_len(keep) {
                Ok(()) => {
                    error!(
                        dir = %self.dir.display(), segment = st.active.index, error = %e,
                        "WAL write failed; the partial write was cut off, the batch is refused and may be retried"
                    );
                    return Err(AppendError::Io(e));
                }
                Err(cut) => {
                    self.poison("write", &e);
                    error!(error = %cut, "cutting the partial WAL write off failed too");
                    return Err(AppendError::Io(e));
                }
            }
        }
        st.active.bytes += buf.len() as u64;
        st.active.max_t = st.active.max_t.max(max_t);
        st.dirty = true;
        if sync {
            if let Err(e) = self.timed_sync(&st.file) {
                self.poison("fsync", &e);
                return Err(AppendError::Io(e));
            }
            st.dirty = false;
        }
        Ok(())
    }

    /// Closes the active segment (fsynced) and starts the next one. A failed fsync poisons
    /// the WAL; when the next segment cannot be created (a full disk) the active segment stays
    /// in use, so a later batch tries again.
    fn rotate(&self, st: &mut WriterState) -> io::Result<()> {
        if let Err(e) = self.timed_sync(&st.file) {
            self.poison("fsync before segment roll-over", &e);
            return Err(e);
        }
        st.dirty = false;
        let next = st.active.index + 1;
        let f = match create_segment(&self.dir, next) {
            Ok(f) => f,
            Err(e) => {
                error!(
                    dir = %self.dir.display(), segment = next, error = %e,
                    "creating the next WAL segment failed; the batch is refused and may be retried"
                );
                return Err(e);
            }
        };
        let old = std::mem::replace(
            &mut st.active,
            SegmentInfo {
                index: next,
                bytes: HEADER_LEN as u64,
                max_t: i64::MIN,
            },
        );
        st.closed.push(old);
        st.file = f;
        Ok(())
    }

    /// Fsyncs the active segment if anything was written since the last fsync. The fsync
    /// runs outside the lock so appends are not held up.
    pub(crate) fn sync(&self) -> io::Result<()> {
        let f = {
            let mut st = self.state.lock();
            if !st.dirty {
                return Ok(());
            }
            st.dirty = false;
            st.file.try_clone()
        };
        let r = f.and_then(|f| self.timed_sync(&f));
        if let Err(e) = &r {
            self.poison("fsync", e);
        }
        r
    }
}
