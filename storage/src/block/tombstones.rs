//! Tombstones: deleted time ranges per series of a block, applied at read time.
//!
//! Stored in the block's `tombstones` file (layout in `storage/docs/format/tombstones.md`),
//! which is replaced whole (written to `tombstones.tmp`, fsynced, renamed) on every change, so
//! hard links to an older version (snapshots) never see a later one.

use super::BlockError;
use crate::error::CorruptionError;
use crate::format;
use crate::model::Sample;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Deleted intervals `[mint, maxt]` (inclusive, sorted, disjoint) per series ordinal.
pub type Tombstones = BTreeMap<u32, Vec<(i64, i64)>>;

/// Adds `[mint, maxt]` to `list`, merging overlapping and adjacent intervals.
pub fn add_interval(list: &mut Vec<(i64, i64)>, mint: i64, maxt: i64) {
    list.push((mint, maxt));
    list.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(list.len());
    for &(a, b) in list.iter() {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    *list = out;
}

/// Whether `t` falls in one of `intervals` (sorted, disjoint).
pub fn is_deleted(intervals: &[(i64, i64)], t: i64) -> bool {
    let i = intervals.partition_point(|&(_, b)| b < t);
    intervals.get(i).is_some_and(|&(a, _)| a <= t)
}

/// Removes the samples inside `intervals` from `samples`.
pub(super) fn drop_deleted(intervals: &[(i64, i64)], samples: &mut Vec<Sample>) {
    if !intervals.is_empty() {
        samples.retain(|s| !is_deleted(intervals, s.t));
    }
}

/// Encodes tombstones: header, count, entries, CRC32C of everything before it.
fn encode(t: &Tombstones) -> Vec<u8> {
    let mut out = Vec::with_capacity(format::HEADER_LEN + 8 + t.len() * 24);
    out.extend_from_slice(&format::TOMBSTONES_MAGIC);
    out.push(format::TOMBSTONES_VERSION);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(t.len() as u32).to_be_bytes());
    for (ordinal, intervals) in t {
        out.extend_from_slice(&ordinal.to_be_bytes());
        out.extend_from_slice(&(intervals.len() as u32).to_be_bytes());
        for (a, b) in intervals {
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&b.to_be_bytes());
        }
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn decode(bytes: &[u8], path: &Path) -> Result<Tombstones, CorruptionError> {
    let bad = |offset: usize, reason: &str| CorruptionError {
        file: path.to_path_buf(),
        offset: offset as u64,
        reason: reason.to_string(),
    };
    if bytes.len() < format::HEADER_LEN + 8 {
        return Err(bad(0, "tombstones file is too short"));
    }
    if bytes[..4] != format::TOMBSTONES_MAGIC {
        return Err(bad(0, "bad magic (not a tombstones file)"));
    }
    if bytes[4] != format::TOMBSTONES_VERSION {
        return Err(bad(4, &format!("unsupported tombstones version {}", bytes[4])));
    }
    let body_end = bytes.len() - 4;
    let want = u32::from_be_bytes([
        bytes[body_end],
        bytes[body_end + 1],
        bytes[body_end + 2],
        bytes[body_end + 3],
    ]);
    if crc32c::crc32c(&bytes[..body_end]) != want {
        return Err(bad(body_end, "checksum mismatch"));
    }
    let mut pos = format::HEADER_LEN;
    let u32_at = |pos: &mut usize| -> Result<u32, CorruptionError> {
        let s = bytes
            .get(*pos..*pos + 4)
            .filter(|_| *pos + 4 <= body_end)
            .ok_or_else(|| bad(*pos, "truncated entry"))?;
        *pos += 4;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let count = u32_at(&mut pos)?;
    let mut out = Tombstones::new();
    for _ in 0..count {
        let ordinal = u32_at(&mut pos)?;
        let n = u32_at(&mut pos)? as usize;
        if pos + n.saturating_mul(16) > body_end {
            return Err(bad(pos, "interval list runs past the end"));
        }
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            let mut a = [0u8; 8];
            let mut b = [0u8; 8];
            a.copy_from_slice(&bytes[pos..pos + 8]);
            b.copy_from_slice(&bytes[pos + 8..pos + 16]);
            pos += 16;
            let (a, b) = (i64::from_be_bytes(a), i64::from_be_bytes(b));
            if a > b {
                return Err(bad(pos - 16, "interval with start after end"));
            }
            add_interval(&mut list, a, b);
        }
        out.insert(ordinal, list);
    }
    if pos != body_end {
        return Err(bad(pos, "trailing bytes after the last entry"));
    }
    Ok(out)
}

/// Reads the `tombstones` file of the block in `dir`; none (missing file) is empty.
pub fn read_tombstones(dir: &Path) -> Result<Tombstones, BlockError> {
    let path = dir.join(format::TOMBSTONES_FILENAME);
    match std::fs::read(&path) {
        Ok(b) => Ok(decode(&b, &path)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Tombstones::new()),
        Err(e) => Err(BlockError::io("reading", &path, e)),
    }
}

/// Replaces the `tombstones` file of the block in `dir` (crash safe: temp file, fsync, rename).
pub fn write_tombstones(dir: &Path, t: &Tombstones) -> Result<(), BlockError> {
    let path = dir.join(format::TOMBSTONES_FILENAME);
    let tmp = dir.join(format!("{}{}", format::TOMBSTONES_FILENAME, format::TMP_SUFFIX));
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| BlockError::io("creating", &tmp, e))?;
        f.write_all(&encode(t))
            .map_err(|e| BlockError::io("writing", &tmp, e))?;
        f.sync_all().map_err(|e| BlockError::io("syncing", &tmp, e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| BlockError::io("renaming into place", &path, e))?;
    super::writer::sync_dir(dir)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn intervals_merge_and_match() {
        let mut l = Vec::new();
        add_interval(&mut l, 10, 20);
        add_interval(&mut l, 30, 40);
        add_interval(&mut l, 21, 25);
        assert_eq!(l, vec![(10, 25), (30, 40)]);
        add_interval(&mut l, 0, 100);
        assert_eq!(l, vec![(0, 100)]);
        let l = vec![(10, 25), (30, 40)];
        assert!(is_deleted(&l, 10) && is_deleted(&l, 25) && is_deleted(&l, 35));
        assert!(!is_deleted(&l, 9) && !is_deleted(&l, 26) && !is_deleted(&l, 41));
    }

    #[test]
    fn file_round_trip_and_corruption_named() {
        let d = tempfile::tempdir().unwrap();
        assert!(read_tombstones(d.path()).unwrap().is_empty());
        let mut t = Tombstones::new();
        t.insert(3, vec![(i64::MIN, -5), (7, i64::MAX)]);
        t.insert(0, vec![(1, 2)]);
        write_tombstones(d.path(), &t).unwrap();
        assert_eq!(read_tombstones(d.path()).unwrap(), t);
        let p = d.path().join("tombstones");
        let mut b = std::fs::read(&p).unwrap();
        b[14] ^= 1;
        std::fs::write(&p, &b).unwrap();
        let e = read_tombstones(d.path()).unwrap_err().to_string();
        assert!(e.contains("tombstones") && e.contains("checksum"), "{e}");
        std::fs::write(&p, &b[..5]).unwrap();
        assert!(read_tombstones(d.path())
            .unwrap_err()
            .to_string()
            .contains("too short"));
    }
}
