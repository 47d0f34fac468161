//! Read-only memory maps of complete, immutable files: the only place with `unsafe` code.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::Path;

/// A read-only view of a whole file. Zero-length files are represented without a mapping
/// (mapping zero bytes is an error on some platforms).
#[derive(Debug)]
pub(crate) struct Mmap(Option<memmap2::Mmap>);

impl Mmap {
    /// Maps the file at `path` read-only.
    ///
    /// Only call this on complete files that are never written again: the files of a
    /// finished block (written to a temporary directory, fsynced and renamed into place), and
    /// the head's spill files (`chunks_head/`, written in full by one pass before they are
    /// mapped, then only deleted).
    pub(crate) fn open(path: &Path) -> io::Result<Mmap> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(Mmap(None));
        }
        // SAFETY: memmap2 requires that the file is not modified (or truncated) while mapped,
        // or reads through the map are undefined behaviour. Block files are complete and
        // immutable once their directory is renamed into place: nothing in Sextant opens them
        // for writing again, and deletion renames the directory and unlinks files, which keeps
        // the pages of an existing mapping valid. Head spill files are written completely and
        // closed before this call, never opened for writing again, and removed only by unlink
        // (or emptied at open, before any mapping exists). Callers never map a file being written.
        let map = unsafe { memmap2::MmapOptions::new().map(&file)? };
        Ok(Mmap(Some(map)))
    }

    /// Drops this mapping's resident pages (`madvise(MADV_DONTNEED)`): they leave the
    /// process' resident set but stay in the page cache, and the next read maps them again
    /// with the same bytes. Reads that touch a few bytes here and there otherwise keep
    /// whole 64 KiB runs resident (the kernel maps the pages around a fault). Errors are
    /// ignored: the pages then simply stay.
    pub(crate) fn release_pages(&self) {
        if let Some(m) = &self.0 {
            // SAFETY: the mapping is read-only and shared, of a file that is never modified
            // while mapped (see `open`): dropping its pages loses nothing, and a concurrent
            // or later read through an outstanding slice faults the same bytes back in from
            // the file.
            let _ = unsafe { m.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }

    /// The file's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.deref().len()
    }
}

impl Deref for Mmap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Some(m) => m,
            None => &[],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn released_pages_read_the_same_bytes_again() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&p, &bytes).unwrap();
        let m = Mmap::open(&p).unwrap();
        let slice = &m[100_000..100_100];
        assert_eq!(slice, &bytes[100_000..100_100]);
        m.release_pages();
        assert_eq!(&m[..], &bytes[..]);
        m.release_pages();
        assert_eq!(slice, &bytes[100_000..100_100]);
        let empty = dir.path().join("e");
        std::fs::write(&empty, b"").unwrap();
        Mmap::open(&empty).unwrap().release_pages();
    }

    #[test]
    fn maps_whole_files_and_empty_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello").unwrap();
        let m = Mmap::open(&p).unwrap();
        assert_eq!(&m[..], b"hello");
        assert_eq!(m.len(), 5);
        std::fs::write(&p, b"").unwrap();
        assert_eq!(Mmap::open(&p).unwrap().len(), 0);
        assert!(Mmap::open(&dir.path().join("missing")).is_err());
    }
}
