//! The sent position of a queue: which WAL records are fully dealt with (every sample sent or
//! given up on), and its file in the data directory (`<data>/forward/<queue key>.pos`) so that a
//! restart resumes there.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use storage::wal::WalPosition;

/// Records in flight, in WAL order, with the samples of each still unsent.
#[derive(Debug, Default)]
pub struct Tracker {
    /// (end position, samples outstanding), for records `first_seq..`.
    entries: VecDeque<(WalPosition, usize)>,
    first_seq: u64,
    acked: Option<WalPosition>,
}

impl Tracker {
    /// Registers the next record (sequence numbers are handed out in order from 0) with
    /// `outstanding` samples; returns its sequence number.
    pub fn push(&mut self, end: WalPosition, outstanding: usize) -> u64 {
        let seq = self.first_seq + self.entries.len() as u64;
        self.entries.push_back((end, outstanding));
        self.pop_done();
        seq
    }

    /// `n` samples of record `seq` are done.
    pub fn done(&mut self, seq: u64, n: usize) {
        if let Some(i) = seq.checked_sub(self.first_seq) {
            if let Some(e) = self.entries.get_mut(i as usize) {
                e.1 = e.1.saturating_sub(n);
            }
        }
        self.pop_done();
    }

    fn pop_done(&mut self) {
        while let Some(&(end, 0)) = self.entries.front() {
            self.entries.pop_front();
            self.first_seq += 1;
            self.acked = Some(end);
        }
    }

    /// The position after the last record whose samples are all done.
    pub fn acked(&self) -> Option<WalPosition> {
        self.acked
    }
}

/// Where queue `key`'s position lives under `data_dir`.
pub fn path(data_dir: &Path, key: &str) -> PathBuf {
    data_dir.join("forward").join(format!("{key}.pos"))
}

/// Reads a position file; `Ok(None)` if there is none, `Err` naming what is wrong otherwise.
pub fn load(path: &Path) -> Result<Option<WalPosition>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let mut it = text.split_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(segment)), Some(Ok(offset)), None) => Ok(Some(WalPosition { segment, offset })),
        _ => Err(format!(
            "{} does not hold \"<segment> <offset>\": {:?}",
            path.display(),
            text.chars().take(64).collect::<String>()
        )),
    }
}

/// Writes a position file atomically (temporary file, fsync, rename).
pub fn store(path: &Path, p: WalPosition) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("pos.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{} {}", p.segment, p.offset)?;
        f.sync_data()?;
    }
    std::fs::rename(&tmp, path)
}

/// Removes the position files under `data_dir/forward/` of queues not in `keep` (queue
/// keys), with their temporary files; returns the files removed. A missing directory is
/// not an error.
pub fn remove_others(data_dir: &Path, keep: &[String]) -> std::io::Result<Vec<PathBuf>> {
    let dir = data_dir.join("forward");
    let entries = match std::fs::read_dir(&dir) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for e in entries {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let key = name
            .strip_suffix(".pos.tmp")
            .or_else(|| name.strip_suffix(".pos"));
        let Some(key) = key else { continue };
        if !keep.iter().any(|k| k == key) {
            std::fs::remove_file(e.path())?;
            removed.push(e.path());
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(o: u64) -> WalPosition {
        WalPosition {
            segment: 1,
            offset: o,
        }
    }

    #[test]
    fn acked_position_waits_for_the_oldest_record() {
        let mut t = Tracker::default();
        let a = t.push(p(10), 2);
        let b = t.push(p(20), 1);
        assert_eq!(t.push(p(25), 0), 2);
        assert_eq!(t.acked(), None);
        t.done(b, 1);
        assert_eq!(t.acked(), None, "record a is not done yet");
        t.done(a, 1);
        assert_eq!(t.acked(), None);
        t.done(a, 1);
        assert_eq!(t.acked(), Some(p(25)));
        t.push(p(30), 0);
        assert_eq!(t.acked(), Some(p(30)));
        t.done(99, 5); // unknown: ignored
    }

    #[test]
    fn removed_queues_lose_their_files() {
        let d = tempfile::tempdir().unwrap();
        assert!(remove_others(d.path(), &[]).unwrap().is_empty());
        for k in ["keep", "gone"] {
            store(&path(d.path(), k), p(1)).unwrap();
        }
        std::fs::write(d.path().join("forward/gone.pos.tmp"), "1 2").unwrap();
        std::fs::write(d.path().join("forward/README"), "x").unwrap();
        let removed = remove_others(d.path(), &["keep".to_string()]).unwrap();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert_eq!(load(&path(d.path(), "keep")).unwrap(), Some(p(1)));
        assert_eq!(load(&path(d.path(), "gone")).unwrap(), None);
        assert!(d.path().join("forward/README").exists());
    }

    #[test]
    fn file_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let f = path(d.path(), "abc");
        assert_eq!(load(&f).unwrap(), None);
        store(&f, p(42)).unwrap();
        assert_eq!(load(&f).unwrap(), Some(p(42)));
        std::fs::write(&f, "junk").unwrap();
        assert!(load(&f).unwrap_err().contains("junk"));
    }
}
