//! `meta.json`: what a block holds, and block ids.

use super::BlockError;
use crate::error::CorruptionError;
use crate::format;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Describes a block; stored as `meta.json` in its directory.
///
/// The block covers `[min_time, max_time)`: `max_time` is exclusive, as in Prometheus, though
/// a sample at exactly `max_time` is accepted by the writer (callers passing an inclusive end
/// lose nothing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMeta {
    /// ULID-like id: 26 Crockford base32 characters, sortable by creation time. Also the
    /// directory name.
    pub id: String,
    /// Start of the block's time range (ms, inclusive).
    pub min_time: i64,
    /// End of the block's time range (ms, exclusive).
    pub max_time: i64,
    /// Number of series in the block.
    pub num_series: u64,
    /// Number of samples in the block.
    pub num_samples: u64,
    /// Compaction level: 1 for a block cut from the head, `max(sources' levels) + 1` after
    /// compaction.
    pub level: u32,
    /// Ids of the level-1 blocks this block's data came from (itself for level 1).
    pub sources: Vec<String>,
}

/// The JSON document: the meta plus a format version.
#[derive(Serialize, Deserialize)]
struct MetaFile {
    version: u32,
    #[serde(flatten)]
    meta: BlockMeta,
}

/// Writes `meta.json` into `dir` and fsyncs it.
pub(crate) fn write_meta(dir: &Path, meta: &BlockMeta) -> Result<(), BlockError> {
    let path = dir.join(format::META_FILENAME);
    let doc = MetaFile {
        version: format::META_VERSION,
        meta: meta.clone(),
    };
    let json = serde_json::to_vec_pretty(&doc)
        .map_err(|e| BlockError::io("encoding", &path, std::io::Error::other(e)))?;
    let mut f = std::fs::File::create(&path).map_err(|e| BlockError::io("creating", &path, e))?;
    f.write_all(&json)
        .map_err(|e| BlockError::io("writing", &path, e))?;
    f.sync_all().map_err(|e| BlockError::io("syncing", &path, e))
}

/// Reads and checks `meta.json` of the block in `dir`. A missing or malformed file is a
/// [`CorruptionError`] naming it.
pub fn read_meta(dir: &Path) -> Result<BlockMeta, BlockError> {
    let path = dir.join(format::META_FILENAME);
    let corrupt = |offset: u64, reason: String| {
        BlockError::Corruption(CorruptionError {
            file: path.clone(),
            offset,
            reason,
        })
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(corrupt(0, "meta.json is missing".into()));
        }
        Err(e) => return Err(BlockError::io("reading", &path, e)),
    };
    let doc: MetaFile = serde_json::from_slice(&bytes).map_err(|e| {
        // serde_json reports line and column; turn them into a byte offset.
        let offset = bytes
            .split(|&b| b == b'\n')
            .take(e.line().saturating_sub(1))
            .map(|l| l.len() as u64 + 1)
            .sum::<u64>()
            + e.column().saturating_sub(1) as u64;
        corrupt(offset, format!("invalid meta.json: {e}"))
    })?;
    if doc.version != format::META_VERSION {
        return Err(corrupt(
            0,
            format!("unsupported meta.json version {}", doc.version),
        ));
    }
    let m = doc.meta;
    if m.min_time > m.max_time || m.level == 0 || !is_block_id(&m.id) {
        return Err(corrupt(
            0,
            "meta.json has an invalid id, level or time range".into(),
        ));
    }
    if let Some(name) = dir.file_name().and_then(|n| n.to_str()) {
        if is_block_id(name) && name != m.id {
            return Err(corrupt(
                0,
                format!("meta.json id {} differs from directory name {name}", m.id),
            ));
        }
    }
    Ok(m)
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Whether `s` looks like a block id (26 Crockford base32 characters).
pub fn is_block_id(s: &str) -> bool {
    s.len() == 26 && s.bytes().all(|b| CROCKFORD.contains(&b))
}

static LAST_ID: parking_lot::Mutex<(u64, u128)> = parking_lot::Mutex::new((0, 0));

/// A new block id: 48 bits of milliseconds since the epoch and 80 bits of entropy, in
/// Crockford base32. Ids made by one process are strictly increasing.
pub fn new_block_id() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let ms = now.as_millis() as u64 & ((1 << 48) - 1);
    let mut last = LAST_ID.lock();
    let (ms, rand) = if ms <= last.0 {
        (last.0, last.1.wrapping_add(1) & ((1 << 80) - 1))
    } else {
        let seed = (now.as_nanos(), std::process::id(), &last as *const _ as usize);
        let h = xxhash_rust::xxh3::xxh3_128(format!("{seed:?}").as_bytes());
        // Leave headroom so increments within one millisecond do not wrap.
        (ms, (h & ((1 << 80) - 1)) >> 1)
    };
    *last = (ms, rand);
    let v: u128 = (u128::from(ms) << 80) | rand;
    (0..26)
        .map(|i| CROCKFORD[((v >> (125 - 5 * i)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sortable_and_unique() {
        let ids: Vec<String> = (0..1000).map(|_| new_block_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|i| is_block_id(i)));
    }

    #[test]
    fn meta_round_trip_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let m = BlockMeta {
            id: new_block_id(),
            min_time: 0,
            max_time: 10,
            num_series: 1,
            num_samples: 2,
            level: 1,
            sources: vec![],
        };
        write_meta(dir.path(), &m).unwrap();
        assert_eq!(read_meta(dir.path()).unwrap(), m);
        std::fs::write(dir.path().join("meta.json"), b"{\n  \"version\": 1,\n  oops").unwrap();
        let e = read_meta(dir.path()).unwrap_err().to_string();
        assert!(e.contains("meta.json"), "{e}");
        std::fs::remove_file(dir.path().join("meta.json")).unwrap();
        let e = read_meta(dir.path()).unwrap_err().to_string();
        assert!(e.contains("meta.json") && e.contains("missing"), "{e}");
    }
}
