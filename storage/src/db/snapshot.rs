//! Snapshots: a copy of the database that opens as a data directory of its own.
//!
//! As Prometheus' `/api/v1/admin/tsdb/snapshot`: every file of every persisted block is
//! hard-linked (copied where the file system refuses links) into `<dir>/<block id>/`; blocks
//! are immutable, and files that do change (`tombstones`) are replaced by rename, so a link
//! never sees later writes. With the head, its current content is written into the snapshot
//! as one more block. The WAL is not copied: a snapshot holds no WAL.

use super::{Db, Inner};
use crate::block::{self, BlockMeta};
use crate::error::DbError;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::info;

/// What [`Db::snapshot`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The snapshot directory.
    pub dir: PathBuf,
    /// Ids of the persisted blocks linked (or copied) into it.
    pub blocks: Vec<String>,
    /// The block written from the head, if asked for and the head had data.
    pub head_block: Option<BlockMeta>,
    /// Files that had to be copied because hard links failed.
    pub copied_files: usize,
}

/// A snapshot directory name as Prometheus': `<YYYYMMDDTHHMMSSZ>-<16 hex random>` (UTC).
pub fn snapshot_name() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(now.as_secs()).unwrap_or(0);
    let c = crate::model::time::Civil::from_unix_secs(secs);
    let seed = (now.as_nanos(), std::process::id(), &now as *const _ as usize);
    let rnd = xxhash_rust::xxh3::xxh3_64(format!("{seed:?}").as_bytes());
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{rnd:016x}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

fn io(context: String, source: std::io::Error) -> DbError {
    DbError::Io { context, source }
}

/// Links (or copies) every file under `src` into `dst`, recursively. Returns files copied.
fn link_tree(src: &Path, dst: &Path) -> Result<usize, DbError> {
    std::fs::create_dir_all(dst).map_err(|e| io(format!("creating {}", dst.display()), e))?;
    let mut copied = 0;
    let entries = std::fs::read_dir(src).map_err(|e| io(format!("listing {}", src.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io(format!("listing {}", src.display()), e))?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if entry
            .file_name()
            .to_string_lossy()
            .ends_with(crate::format::TMP_SUFFIX)
        {
            continue; // a tombstones file being replaced (or left by a crash)
        }
        let ty = entry
            .file_type()
            .map_err(|e| io(format!("reading {}", from.display()), e))?;
        if ty.is_dir() {
            copied += link_tree(&from, &to)?;
        } else if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to)
                .map_err(|e| io(format!("copying {} to {}", from.display(), to.display()), e))?;
            copied += 1;
        }
    }
    Ok(copied)
}

impl Db {
    /// Writes a snapshot into `dir` (created; must not hold blocks of the same ids): every
    /// persisted block hard-linked, and with `with_head` the head's current content written
    /// as an extra block. `Db::open` on `dir` then sees all of it. Maintenance waits while a
    /// snapshot is taken, so no block disappears and nothing leaves the head meanwhile.
    pub fn snapshot(&self, dir: &Path, with_head: bool) -> Result<SnapshotInfo, DbError> {
        self.inner.snapshot(dir, with_head)
    }

    /// [`Db::snapshot`] into `<data dir>/snapshots/<`[`snapshot_name`]`>`.
    pub fn snapshot_in_data_dir(&self, with_head: bool) -> Result<SnapshotInfo, DbError> {
        let dir = self.inner.opts.path.join("snapshots").join(snapshot_name());
        self.snapshot(&dir, with_head)
    }
}

impl Inner {
    fn snapshot(&self, dir: &Path, with_head: bool) -> Result<SnapshotInfo, DbError> {
        let _one = self.maintenance.lock();
        std::fs::create_dir_all(dir).map_err(|e| io(format!("creating {}", dir.display()), e))?;
        let mut info = SnapshotInfo {
            dir: dir.to_path_buf(),
            blocks: Vec::new(),
            head_block: None,
            copied_files: 0,
        };
        for b in self.blocks().iter() {
            let id = &b.meta().id;
            info.copied_files += link_tree(b.dir(), &dir.join(id))?;
            info.blocks.push(id.clone());
        }
        if with_head {
            let (min_t, max_t) = self.head.time_range();
            if min_t <= max_t {
                let series = self.head.iter_range(min_t, max_t);
                let (meta, _) =
                    block::write_block_with_histograms(dir, series, min_t, max_t.saturating_add(1))?;
                if meta.num_series > 0 {
                    info.head_block = Some(meta);
                } else {
                    // Nothing left in the head range (all deleted): leave no empty block.
                    block::delete_block(&dir.join(&meta.id))?;
                }
            }
        }
        std::fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(format!("syncing {}", dir.display()), e))?;
        info!(
            dir = %dir.display(), blocks = info.blocks.len(), head = info.head_block.is_some(),
            copied_files = info.copied_files, "snapshot written"
        );
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prometheus_shaped() {
        let n = snapshot_name();
        assert_eq!(n.len(), 16 + 1 + 16, "{n}");
        assert_eq!(&n[8..9], "T");
        assert_eq!(&n[15..17], "Z-");
        assert!(n[17..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(snapshot_name(), snapshot_name());
    }
}
