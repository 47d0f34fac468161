//! On-disk names and header constants of block files, in one place (STYLE E6).
//!
//! Every binary file starts with an 8-byte header: a 4-byte magic, a 1-byte version and three
//! reserved zero bytes. `meta.json` carries a `"version"` field instead. The layouts are drawn
//! in `storage/docs/format/{block,index}.md`.

/// Name of a block's metadata file (JSON).
pub const META_FILENAME: &str = "meta.json";
/// Version of the `meta.json` layout.
pub const META_VERSION: u32 = 1;

/// Name of a block's index file.
pub const INDEX_FILENAME: &str = "index";
/// Magic bytes opening an index file.
pub const INDEX_MAGIC: [u8; 4] = *b"SXTI";
/// Version of the index layout.
pub const INDEX_VERSION: u8 = 1;

/// Name of the directory holding a block's chunk files.
pub const CHUNKS_DIRNAME: &str = "chunks";
/// Magic bytes opening a chunk file.
pub const CHUNKS_MAGIC: [u8; 4] = *b"SXTC";
/// Version of the chunk file layout.
pub const CHUNKS_VERSION: u8 = 1;

/// Name of a block's tombstones file (deleted intervals per series; optional).
pub const TOMBSTONES_FILENAME: &str = "tombstones";
/// Magic bytes opening a tombstones file.
pub const TOMBSTONES_MAGIC: [u8; 4] = *b"SXTT";
/// Version of the tombstones layout.
pub const TOMBSTONES_VERSION: u8 = 1;

/// Directory of the data directory holding the head's spilled chunks (closed head chunks
/// moved out of the heap into memory-mapped files; scratch space, emptied on open).
pub const HEAD_CHUNKS_DIRNAME: &str = "chunks_head";
/// Magic bytes opening a head chunks file.
pub const HEAD_CHUNKS_MAGIC: [u8; 4] = *b"SXHC";
/// Version of the head chunks file layout (2: float chunks as block columns).
pub const HEAD_CHUNKS_VERSION: u8 = 2;

/// Length of the header every binary file starts with (magic, version, 3 reserved bytes).
pub const HEADER_LEN: usize = 8;

/// Suffix of a block directory being written (removed on start-up if left by a crash).
pub const TMP_SUFFIX: &str = ".tmp";
/// Suffix of a block directory being deleted (removed on start-up if left by a crash).
pub const DELETED_SUFFIX: &str = ".deleted";

/// A chunk file is closed and a new one started once it would grow beyond this size.
/// Offsets inside a file must stay below 2^32 (see [`column_ref`]).
pub const MAX_CHUNK_FILE_SIZE: u64 = 512 << 20;

/// At most this many samples go in one chunk of a series.
pub const MAX_CHUNK_SAMPLES: usize = 480;

/// Chunks are also cut at multiples of this window (ms since the epoch), so that series
/// scraped together get identical timestamp columns that can be stored once.
pub const CHUNK_WINDOW_MS: i64 = 2 * 3600 * 1000;

/// Length of the index's table of contents (five u64 offsets and a CRC32C).
pub const INDEX_TOC_LEN: usize = 5 * 8 + 4;

/// The file name of chunk file number `seq` (1-based): six zero-padded digits.
pub fn chunk_file_name(seq: u32) -> String {
    format!("{seq:06}")
}

/// Packs a chunk file number and an offset inside it into one column reference.
pub fn column_ref(seq: u32, offset: u32) -> u64 {
    (u64::from(seq) << 32) | u64::from(offset)
}

/// Splits a column reference into (chunk file number, offset).
pub fn split_column_ref(r: u64) -> (u32, u32) {
    ((r >> 32) as u32, r as u32)
}

/// The 8-byte header of a file with `magic` and `version`.
pub fn header(magic: [u8; 4], version: u8) -> [u8; HEADER_LEN] {
    [magic[0], magic[1], magic[2], magic[3], version, 0, 0, 0]
}

/// Checks a file header: `Err(reason)` when the magic or the version is not the expected one.
pub fn check_header(data: &[u8], magic: [u8; 4], version: u8) -> Result<(), String> {
    if data.len() < HEADER_LEN {
        return Err(format!(
            "file is {} bytes, shorter than its {HEADER_LEN}-byte header",
            data.len()
        ));
    }
    if data[..4] != magic {
        return Err(format!("bad magic {:02x?}, expected {:02x?}", &data[..4], magic));
    }
    if data[4] != version {
        return Err(format!("unsupported version {}, expected {version}", data[4]));
    }
    if data[5..HEADER_LEN] != [0, 0, 0] {
        return Err(format!(
            "reserved header bytes are not zero: {:02x?}",
            &data[5..HEADER_LEN]
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn column_refs_round_trip() {
        let r = column_ref(7, 0xdead_beef);
        assert_eq!(split_column_ref(r), (7, 0xdead_beef));
        assert_eq!(chunk_file_name(1), "000001");
    }

    #[test]
    fn header_checks() {
        let h = header(INDEX_MAGIC, INDEX_VERSION);
        assert!(check_header(&h, INDEX_MAGIC, INDEX_VERSION).is_ok());
        assert!(check_header(&h, CHUNKS_MAGIC, CHUNKS_VERSION).is_err());
        assert!(check_header(&h[..3], INDEX_MAGIC, INDEX_VERSION).is_err());
        let mut v2 = h;
        v2[4] = 2;
        assert!(check_header(&v2, INDEX_MAGIC, INDEX_VERSION)
            .unwrap_err()
            .contains("version"));
    }
}
