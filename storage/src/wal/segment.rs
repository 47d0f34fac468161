//! WAL files on disk: segment and checkpoint names, the file header, directory listing.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// Magic at the start of every segment and checkpoint file.
pub(crate) const MAGIC: [u8; 4] = *b"SXWL";
/// Format version of the files this code writes.
pub(crate) const VERSION: u8 = 1;
/// Header length: magic, version, three reserved zero bytes.
pub(crate) const HEADER_LEN: usize = 8;
/// Default segment size before rolling to the next file.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;

/// The header bytes of a new file.
pub(crate) fn header() -> [u8; HEADER_LEN] {
    [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, 0, 0, 0]
}

/// Checks a file's header; `Err` says what is wrong.
pub(crate) fn check_header(buf: &[u8]) -> Result<(), String> {
    if buf.len() < HEADER_LEN {
        return Err(format!(
            "file is {} bytes, shorter than its {HEADER_LEN}-byte header",
            buf.len()
        ));
    }
    if buf[..4] != MAGIC {
        return Err(format!("bad magic {:02x?}", &buf[..4]));
    }
    if buf[4] != VERSION {
        return Err(format!("unsupported WAL version {}", buf[4]));
    }
    if buf[5..HEADER_LEN] != [0, 0, 0] {
        return Err(format!(
            "reserved header bytes are not zero: {:02x?}",
            &buf[5..HEADER_LEN]
        ));
    }
    Ok(())
}

/// Path of segment `index` in `dir` (`00000001`).
pub(crate) fn segment_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index:08}"))
}

/// Path of the checkpoint covering segments up to `index` (`checkpoint.00000001`).
pub(crate) fn checkpoint_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("checkpoint.{index:08}"))
}

/// What a WAL directory holds, sorted by index.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Segment indexes.
    pub(crate) segments: Vec<u64>,
    /// Checkpoint indexes.
    pub(crate) checkpoints: Vec<u64>,
    /// Leftover temporary files of an interrupted checkpoint.
    pub(crate) temporaries: Vec<PathBuf>,
}

/// Lists `dir`; unknown files are ignored.
pub(crate) fn list(dir: &Path) -> io::Result<Listing> {
    let mut l = Listing::default();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".tmp") {
            l.temporaries.push(e.path());
        } else if let Some(rest) = name.strip_prefix("checkpoint.") {
            if let Ok(i) = rest.parse::<u64>() {
                l.checkpoints.push(i);
            }
        } else if name.len() == 8 && name.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(i) = name.parse::<u64>() {
                l.segments.push(i);
            }
        }
    }
    l.segments.sort_unstable();
    l.checkpoints.sort_unstable();
    Ok(l)
}

/// Fsyncs a directory so that created, renamed or removed entries are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Size of a file in bytes (0 if it vanished).
pub(crate) fn file_size(p: &Path) -> u64 {
    fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_and_listing() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            segment_path(d.path(), 1),
            segment_path(d.path(), 12),
            checkpoint_path(d.path(), 3),
            d.path().join("checkpoint.00000009.tmp"),
            d.path().join("junk"),
        ] {
            fs::write(p, b"x").unwrap();
        }
        let l = list(d.path()).unwrap();
        assert_eq!(l.segments, vec![1, 12]);
        assert_eq!(l.checkpoints, vec![3]);
        assert_eq!(l.temporaries.len(), 1);
        assert!(segment_path(d.path(), 12).ends_with("00000012"));
        assert!(check_header(&header()).is_ok());
        assert!(check_header(b"SXWL").is_err());
        assert!(check_header(b"XXXX\x01\0\0\0").is_err());
    }
}
