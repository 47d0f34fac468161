//! A read-only integrity check of a data directory (`sextant check`): every block's
//! `meta.json`, index (all section checksums) and chunk columns (every column checksum, by
//! reading every series), and every WAL segment and checkpoint frame by frame. Nothing is
//! changed, so it may run beside a live server or on a copy.

use crate::block::{self, Block};
use crate::error::DbError;
use crate::model::{MatchOp, Matcher};
use crate::wal;
use std::path::Path;

/// What [`check_dir`] found.
#[derive(Debug, Default, Clone)]
pub struct CheckReport {
    /// Block directories that passed every check.
    pub blocks_ok: usize,
    /// Series read from intact blocks.
    pub series: u64,
    /// Samples read from intact blocks (after tombstones).
    pub samples: u64,
    /// WAL files (segments and checkpoints) read.
    pub wal_files: usize,
    /// Intact WAL records.
    pub wal_records: u64,
    /// Every problem, each naming its file.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Whether nothing is damaged.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the data directory `path` (see the module doc).
pub fn check_dir(path: &Path) -> Result<CheckReport, DbError> {
    let mut r = CheckReport::default();
    let io = |context: String| move |source| DbError::Io { context, source };
    if !path.is_dir() {
        return Err(DbError::Io {
            context: format!("checking {}", path.display()),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        });
    }
    for dir in block::list_block_dirs(path)? {
        match check_block(&dir) {
            Ok((series, samples)) => {
                r.blocks_ok += 1;
                r.series += series;
                r.samples += samples;
            }
            Err(e) => r.problems.push(format!("block {}: {e}", dir.display())),
        }
    }
    let wal_dir = path.join("wal");
    if wal_dir.is_dir() {
        let listing = wal::segment::list(&wal_dir)
            .map_err(io(format!("listing WAL directory {}", wal_dir.display())))?;
        let files = listing
            .checkpoints
            .iter()
            .map(|&c| wal::segment::checkpoint_path(&wal_dir, c))
            .chain(
                listing
                    .segments
                    .iter()
                    .map(|&s| wal::segment::segment_path(&wal_dir, s)),
            );
        for f in files {
            let buf = std::fs::read(&f).map_err(io(format!("reading {}", f.display())))?;
            let s = wal::scan(&buf);
            r.wal_files += 1;
            r.wal_records += s.records;
            if let Some((offset, reason)) = s.damage {
                r.problems.push(format!(
                    "WAL file {} damaged at offset {offset}: {reason}",
                    f.display()
                ));
            }
        }
    }
    Ok(r)
}

/// Opens a block and reads every series' samples; returns (series, samples).
fn check_block(dir: &Path) -> Result<(u64, u64), String> {
    let b = Block::open(dir).map_err(|e| e.to_string())?;
    b.verify_chunks().map_err(|e| e.to_string())?;
    let all = Matcher::new(MatchOp::Regex, "__name__", ".+").map_err(|e| e.to_string())?;
    let series = b.select(&[all], i64::MIN, i64::MAX).map_err(|e| e.to_string())?;
    let samples = series
        .iter()
        .map(|s| (s.samples.len() + s.histograms.len()) as u64)
        .sum();
    Ok((series.len() as u64, samples))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Appendable, Db, DbOptions, Labels, SeriesRef};

    #[test]
    fn intact_directory_passes_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = DbOptions::new(dir.path());
        o.auto_maintenance = false;
        o.block_range_ms = 1000;
        {
            let db = Db::open(o).unwrap();
            let mut app = db.appender();
            for t in 0..10_000i64 {
                let l = Labels::from_pairs([("__name__", "m"), ("i", &(t % 3).to_string())]);
                app.append(SeriesRef::NONE, &l, t, t as f64).unwrap();
            }
            app.commit().unwrap();
            db.run_maintenance();
            assert!(!db.blocks().is_empty());
            db.close().unwrap();
        }
        let r = check_dir(dir.path()).unwrap();
        assert!(r.is_ok(), "{:?}", r.problems);
        assert!(r.blocks_ok > 0 && r.samples > 0 && r.wal_records > 0, "{r:?}");

        // Flip a byte in one block's chunks and in the WAL: both are named.
        let blk = block::list_block_dirs(dir.path()).unwrap()[0].clone();
        let chunk = blk.join("chunks/000001");
        let mut c = std::fs::read(&chunk).unwrap();
        let mid = c.len() / 2;
        c[mid] ^= 0x55;
        std::fs::write(&chunk, &c).unwrap();
        let seg = dir.path().join("wal/00000001");
        let mut w = std::fs::read(&seg).unwrap();
        let mid = w.len() / 2;
        w[mid] ^= 0x55;
        std::fs::write(&seg, &w).unwrap();
        let r = check_dir(dir.path()).unwrap();
        assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
        assert!(
            r.problems[0].contains(&blk.display().to_string()),
            "{:?}",
            r.problems
        );
        assert!(r.problems[1].contains("00000001"), "{:?}", r.problems);
    }
}
