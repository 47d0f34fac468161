//! Retention and deletion of whole blocks, and clean-up after crashes.

use super::meta::is_block_id;
use super::writer::sync_dir;
use super::{BlockError, BlockMeta};
use crate::format;
use std::path::{Path, PathBuf};

/// Ids of the blocks to delete, oldest first.
///
/// - By time (`retention_ms > 0`): a block expires once its end is at least `retention_ms`
///   before `now_or_newest_ms` (Prometheus measures from the newest block's end).
/// - By size (`retention_bytes > 0`): counting sizes from the newest block backwards, the
///   block that makes the total exceed `retention_bytes` and all older ones expire. Pass the
///   budget left after the WAL and head if those should count too.
///
/// Zero disables either rule.
pub fn expired_blocks(
    metas_sizes: &[(BlockMeta, u64)],
    now_or_newest_ms: i64,
    retention_ms: i64,
    retention_bytes: u64,
) -> Vec<String> {
    let mut newest_first: Vec<&(BlockMeta, u64)> = metas_sizes.iter().collect();
    newest_first
        .sort_by(|(a, _), (b, _)| (b.max_time, b.min_time, &b.id).cmp(&(a.max_time, a.min_time, &a.id)));
    let mut total = 0u64;
    let mut out = Vec::new();
    for (m, size) in newest_first {
        total = total.saturating_add(*size);
        let by_time = retention_ms > 0 && now_or_newest_ms.saturating_sub(m.max_time) >= retention_ms;
        let by_size = retention_bytes > 0 && total > retention_bytes;
        if by_time || by_size {
            out.push(m.id.clone());
        }
    }
    out.reverse();
    out
}

fn deleted_path(dir: &Path) -> Option<PathBuf> {
    let name = dir.file_name()?.to_str()?;
    Some(dir.with_file_name(format!("{name}{}", format::DELETED_SUFFIX)))
}

/// Deletes a block directory crash-safely: renames it to `<dir>.deleted` (so it is never
/// again seen as a block), fsyncs the parent, then removes it. A crash part-way leaves a
/// `.deleted` directory that [`remove_leftovers`] finishes off. An open [`super::Block`] on
/// the directory stays readable until dropped (its files are unlinked, not truncated).
pub fn delete_block(dir: &Path) -> Result<(), BlockError> {
    let Some(gone) = deleted_path(dir) else {
        return Err(BlockError::InvalidInput(format!(
            "{} is not a block directory",
            dir.display()
        )));
    };
    if dir.exists() {
        std::fs::rename(dir, &gone).map_err(|e| BlockError::io("renaming block for deletion", dir, e))?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
    }
    match std::fs::remove_dir_all(&gone) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BlockError::io("removing block", &gone, e)),
    }
}

/// Removes what crashes leave in `parent_dir`: half-written `<id>.tmp` and half-deleted
/// `<id>.deleted` directories. Returns the removed paths.
pub fn remove_leftovers(parent_dir: &Path) -> Result<Vec<PathBuf>, BlockError> {
    let mut removed = Vec::new();
    let rd = match std::fs::read_dir(parent_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(BlockError::io("listing", parent_dir, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| BlockError::io("listing", parent_dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stem = name
            .strip_suffix(format::TMP_SUFFIX)
            .or_else(|| name.strip_suffix(format::DELETED_SUFFIX));
        if stem.is_some_and(is_block_id) && entry.path().is_dir() {
            let p = entry.path();
            std::fs::remove_dir_all(&p).map_err(|e| BlockError::io("removing leftover", &p, e))?;
            removed.push(p);
        }
    }
    Ok(removed)
}

/// Block directories in `parent_dir` (names that are block ids), sorted by id (= age).
pub fn list_block_dirs(parent_dir: &Path) -> Result<Vec<PathBuf>, BlockError> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(parent_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(BlockError::io("listing", parent_dir, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| BlockError::io("listing", parent_dir, e))?;
        if entry.file_name().to_str().is_some_and(is_block_id) && entry.path().is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}
