//! Chunk files: `chunks/000001`, ... holding compressed columns, each checksummed.
//!
//! A column record is `uvarint(len) | data | crc32c(len bytes + data)`. Identical columns
//! (the shared timestamps of one scrape target, constant value runs) are written once per
//! file and referenced by every chunk that has them. Layout: `storage/docs/format/block.md`.

use super::BlockError;
use crate::error::CorruptionError;
use crate::format;
use crate::index::encoding::{Decoder, PutExt};
use crate::mmap::Mmap;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Largest number of bytes of distinct columns remembered for de-duplication per file.
const DEDUPE_BUDGET: usize = 64 << 20;

/// Byte counts of a write, for reporting compression.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnStats {
    /// Bytes of timestamp columns written (records included).
    pub ts_bytes: u64,
    /// Bytes of value columns written (records included).
    pub value_bytes: u64,
    /// Bytes of native histogram columns written (records included).
    pub histogram_bytes: u64,
    /// Columns referenced instead of written again.
    pub deduplicated: u64,
    /// Columns written.
    pub written: u64,
}

/// Which column kind is written (for statistics only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Column {
    Timestamps,
    Values,
    Histograms,
}

/// Appends columns to numbered chunk files in a directory.
pub(crate) struct ChunkWriter {
    dir: PathBuf,
    seq: u32,
    out: Option<(PathBuf, BufWriter<File>)>,
    pos: u64,
    seen: HashMap<Vec<u8>, u64>,
    seen_bytes: usize,
    buf: Vec<u8>,
    pub(crate) stats: ColumnStats,
}

impl ChunkWriter {
    pub(crate) fn new(dir: &Path) -> Self {
        ChunkWriter {
            dir: dir.to_path_buf(),
            seq: 0,
            out: None,
            pos: 0,
            seen: HashMap::new(),
            seen_bytes: 0,
            buf: Vec::new(),
            stats: ColumnStats::default(),
        }
    }

    fn close_current(&mut self) -> Result<(), BlockError> {
        if let Some((path, mut w)) = self.out.take() {
            w.flush()
                .map_err(|e| BlockError::io("writing chunks", &path, e))?;
            w.get_ref()
                .sync_all()
                .map_err(|e| BlockError::io("syncing chunks", &path, e))?;
        }
        Ok(())
    }

    fn next_file(&mut self) -> Result<(), BlockError> {
        self.close_current()?;
        self.seq += 1;
        let path = self.dir.join(format::chunk_file_name(self.seq));
        let f = File::create(&path).map_err(|e| BlockError::io("creating chunks", &path, e))?;
        let mut w = BufWriter::with_capacity(1 << 16, f);
        w.write_all(&format::header(format::CHUNKS_MAGIC, format::CHUNKS_VERSION))
            .map_err(|e| BlockError::io("writing chunks", &path, e))?;
        self.out = Some((path, w));
        self.pos = format::HEADER_LEN as u64;
        self.seen.clear();
        self.seen_bytes = 0;
        Ok(())
    }

    /// Writes `data` as a column (or finds an identical one in the current file) and returns
    /// its reference.
    pub(crate) fn write_column(&mut self, data: &[u8], kind: Column) -> Result<u64, BlockError> {
        self.buf.clear();
        self.buf.put_uvarint(data.len() as u64);
        let rec_len = (self.buf.len() + data.len() + 4) as u64;
        if self.out.is_none()
            || (self.pos + rec_len > format::MAX_CHUNK_FILE_SIZE && self.pos > format::HEADER_LEN as u64)
        {
            self.next_file()?;
        }
        if self.pos + rec_len > u64::from(u32::MAX) {
            return Err(BlockError::InvalidInput(format!(
                "column of {} bytes is too large",
                data.len()
            )));
        }
        if let Some(&r) = self.seen.get(data) {
            self.stats.deduplicated += 1;
            return Ok(r);
        }
        let r = format::column_ref(self.seq, self.pos as u32);
        let crc = crc32c::crc32c_append(crc32c::crc32c(&self.buf), data);
        let Some((path, w)) = self.out.as_mut() else {
            return Err(BlockError::InvalidInput("chunk writer has no open file".into()));
        };
        let res = w
            .write_all(&self.buf)
            .and_then(|_| w.write_all(data))
            .and_then(|_| w.write_all(&crc.to_be_bytes()));
        res.map_err(|e| BlockError::io("writing chunks", path, e))?;
        self.pos += rec_len;
        self.stats.written += 1;
        match kind {
            Column::Timestamps => self.stats.ts_bytes += rec_len,
            Column::Values => self.stats.value_bytes += rec_len,
            Column::Histograms => self.stats.histogram_bytes += rec_len,
        }
        if self.seen_bytes + data.len() <= DEDUPE_BUDGET {
            self.seen_bytes += data.len();
            self.seen.insert(data.to_vec(), r);
        }
        Ok(r)
    }

    /// Flushes and fsyncs the last file.
    pub(crate) fn finish(mut self) -> Result<ColumnStats, BlockError> {
        self.close_current()?;
        Ok(self.stats)
    }
}

/// The memory-mapped chunk files of a block.
#[derive(Debug)]
pub(crate) struct ChunkReader {
    files: Vec<(PathBuf, Mmap)>,
}

impl ChunkReader {
    /// Drops the resident pages of every chunk file (see [`Mmap::release_pages`]).
    pub(crate) fn release_pages(&self) {
        for (_, m) in &self.files {
            m.release_pages();
        }
    }

    /// Maps every chunk file in `dir` and checks its header. Files must be numbered 1..=n.
    pub(crate) fn open(dir: &Path) -> Result<ChunkReader, BlockError> {
        let rd = std::fs::read_dir(dir).map_err(|e| BlockError::io("listing chunks", dir, e))?;
        let mut seqs = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| BlockError::io("listing chunks", dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            match name.parse::<u32>() {
                Ok(n) if name.len() == 6 && n > 0 => seqs.push(n),
                _ => {
                    return Err(CorruptionError {
                        file: entry.path(),
                        offset: 0,
                        reason: "unexpected file in chunks directory".into(),
                    }
                    .into())
                }
            }
        }
        seqs.sort_unstable();
        let mut files = Vec::with_capacity(seqs.len());
        for (i, &seq) in seqs.iter().enumerate() {
            let path = dir.join(format::chunk_file_name(seq));
            if seq as usize != i + 1 {
                return Err(CorruptionError {
                    file: dir.join(format::chunk_file_name(i as u32 + 1)),
                    offset: 0,
                    reason: "chunk file is missing".into(),
                }
                .into());
            }
            let map = Mmap::open(&path).map_err(|e| BlockError::io("mapping chunks", &path, e))?;
            if let Err(reason) = format::check_header(&map, format::CHUNKS_MAGIC, format::CHUNKS_VERSION) {
                return Err(CorruptionError {
                    file: path,
                    offset: 0,
                    reason,
                }
                .into());
            }
            files.push((path, map));
        }
        Ok(ChunkReader { files })
    }

    /// Reads every column record of every file in sequence and checks its checksum: the
    /// whole-file scrub behind [`super::Block::verify_chunks`]. Stops at the first damage.
    pub(crate) fn verify_all(&self) -> Result<u64, CorruptionError> {
        let mut columns = 0;
        for (i, (_, map)) in self.files.iter().enumerate() {
            let seq = i as u32 + 1;
            let mut off = format::HEADER_LEN;
            while off < map.len() {
                let (data, _, data_start) = self.column(format::column_ref(seq, off as u32))?;
                off = data_start as usize + data.len() + 4;
                columns += 1;
            }
        }
        Ok(columns)
    }

    /// Total bytes of all chunk files.
    pub(crate) fn size_bytes(&self) -> u64 {
        self.files.iter().map(|(_, m)| m.len() as u64).sum()
    }

    /// The file and offset a column reference points to (for error messages).
    pub(crate) fn locate(&self, r: u64) -> (PathBuf, u64) {
        let (seq, off) = format::split_column_ref(r);
        let file = seq
            .checked_sub(1)
            .and_then(|i| self.files.get(i as usize))
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| PathBuf::from(format::CHUNKS_DIRNAME).join(format::chunk_file_name(seq)));
        (file, u64::from(off))
    }

    /// The checksummed data of the column at `r`, with the file and offset it came from.
    pub(crate) fn column(&self, r: u64) -> Result<(&[u8], &Path, u64), CorruptionError> {
        let (seq, off) = format::split_column_ref(r);
        let Some((path, map)) = seq.checked_sub(1).and_then(|i| self.files.get(i as usize)) else {
            let file = self.files.first().map(|(p, _)| p.clone()).unwrap_or_default();
            return Err(CorruptionError {
                file: file.parent().map(Path::to_path_buf).unwrap_or(file),
                offset: u64::from(off),
                reason: format!("column reference to missing chunk file {seq}"),
            });
        };
        let corrupt = |offset: u64, reason: String| CorruptionError {
            file: path.clone(),
            offset,
            reason,
        };
        let off = off as usize;
        if off < format::HEADER_LEN || off >= map.len() {
            return Err(corrupt(
                off as u64,
                format!(
                    "column offset beyond end of file ({} bytes; truncated?)",
                    map.len()
                ),
            ));
        }
        let mut d = Decoder::new(&map[off..], off as u64);
        let len = d
            .uvarint_max(d.remaining() as u64, "column length")
            .map_err(|e| corrupt(e.offset, format!("{} (truncated?)", e.reason)))?;
        let data_start = d.offset() as usize;
        let end = data_start + len as usize;
        if end + 4 > map.len() {
            return Err(corrupt(
                off as u64,
                format!("column of {len} bytes runs past end of file (truncated?)"),
            ));
        }
        let stored = u32::from_be_bytes([map[end], map[end + 1], map[end + 2], map[end + 3]]);
        let computed = crc32c::crc32c(&map[off..end]);
        if stored != computed {
            return Err(corrupt(
                off as u64,
                format!("column checksum mismatch (stored {stored:08x}, computed {computed:08x})"),
            ));
        }
        Ok((&map[data_start..end], path, data_start as u64))
    }
}
