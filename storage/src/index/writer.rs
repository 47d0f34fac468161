//! Writes an index file in one pass: header, symbols, series, then (on `finish`) the series
//! offsets, postings, the postings table and the table of contents.

use super::encoding::PutExt;
use super::ChunkMeta;
use crate::block::BlockError;
use crate::format;
use crate::model::Labels;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Type state: symbols are being added (in strictly ascending order).
#[derive(Debug)]
pub struct AddSymbols;
/// Type state: series are being added (in strictly ascending label order).
#[derive(Debug)]
pub struct AddSeries;

/// Writes an index file. Moves from [`IndexWriter<AddSymbols>`] to [`IndexWriter<AddSeries>`]
/// to [`IndexWriter::finish`], so the stages cannot be mixed up.
pub struct IndexWriter<S> {
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes written so far.
    pos: u64,
    /// Running CRC32C of the current section's body.
    crc: u32,
    /// Start offsets of the sections written so far, in TOC order.
    toc: Vec<u64>,
    symbols: HashMap<Arc<str>, u32>,
    last_symbol: Option<Arc<str>>,
    /// Offset of every series entry from the start of the series section, by ordinal.
    series_offsets: Vec<u32>,
    last_labels: Option<Labels>,
    /// Postings per (name symbol, value symbol).
    postings: HashMap<(u32, u32), Vec<u32>>,
    buf: Vec<u8>,
    _state: PhantomData<S>,
}

impl<S> std::fmt::Debug for IndexWriter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexWriter")
            .field("path", &self.path)
            .field("pos", &self.pos)
            .finish()
    }
}

impl<S> IndexWriter<S> {
    fn io(&self, e: std::io::Error) -> BlockError {
        BlockError::io("writing index", &self.path, e)
    }

    fn write(&mut self, b: &[u8]) -> Result<(), BlockError> {
        self.crc = crc32c::crc32c_append(self.crc, b);
        self.pos += b.len() as u64;
        self.out
            .write_all(b)
            .map_err(|e| BlockError::io("writing index", &self.path, e))
    }

    fn write_buf(&mut self) -> Result<(), BlockError> {
        let b = std::mem::take(&mut self.buf);
        let r = self.write(&b);
        self.buf = b;
        self.buf.clear();
        r
    }

    fn begin_section(&mut self) {
        self.toc.push(self.pos);
        self.crc = 0;
    }

    fn end_section(&mut self) -> Result<(), BlockError> {
        let crc = self.crc.to_be_bytes();
        self.write(&crc)
    }

    fn into_state<T>(self) -> IndexWriter<T> {
        IndexWriter {
            path: self.path,
            out: self.out,
            pos: self.pos,
            crc: self.crc,
            toc: self.toc,
            symbols: self.symbols,
            last_symbol: self.last_symbol,
            series_offsets: self.series_offsets,
            last_labels: self.last_labels,
            postings: self.postings,
            buf: self.buf,
            _state: PhantomData,
        }
    }
}

impl IndexWriter<AddSymbols> {
    /// Creates the file at `path` and writes its header.
    pub fn create(path: &Path) -> Result<Self, BlockError> {
        let file = File::create(path).map_err(|e| BlockError::io("creating index", path, e))?;
        let mut w = IndexWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, file),
            pos: 0,
            crc: 0,
            toc: Vec::new(),
            symbols: HashMap::new(),
            last_symbol: None,
            series_offsets: Vec::new(),
            last_labels: None,
            postings: HashMap::new(),
            buf: Vec::new(),
            _state: PhantomData,
        };
        w.write(&format::header(format::INDEX_MAGIC, format::INDEX_VERSION))?;
        w.begin_section();
        Ok(w)
    }

    /// Adds a symbol (a label name or value). Symbols must come in strictly ascending order.
    pub fn add_symbol(&mut self, s: &str) -> Result<(), BlockError> {
        if let Some(last) = &self.last_symbol {
            if s <= last.as_ref() {
                return Err(BlockError::InvalidInput(format!(
                    "index symbols out of order: {s:?} after {last:?}"
                )));
            }
        }
        let id = u32::try_from(self.symbols.len())
            .map_err(|_| BlockError::InvalidInput("more than 2^32 symbols".into()))?;
        self.buf.put_uvarint(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
        self.write_buf()?;
        let s: Arc<str> = Arc::from(s);
        self.symbols.insert(s.clone(), id);
        self.last_symbol = Some(s);
        Ok(())
    }

    /// Closes the symbol table; series come next.
    pub fn into_series(mut self) -> Result<IndexWriter<AddSeries>, BlockError> {
        self.end_section()?;
        self.begin_section();
        Ok(self.into_state())
    }
}

impl IndexWriter<AddSeries> {
    /// Adds a series with its chunks (sorted by time, not overlapping). Series must come in
    /// strictly ascending label order and use only symbols added before.
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<(), BlockError> {
        if let Some(last) = &self.last_labels {
            if labels <= last {
                return Err(BlockError::InvalidInput(format!(
                    "index series out of order: {labels} after {last}"
                )));
            }
        }
        let ordinal = u32::try_from(self.series_offsets.len())
            .map_err(|_| BlockError::InvalidInput("more than 2^32 series in one block".into()))?;
        let mut payload = Vec::with_capacity(16 + labels.len() * 4 + chunks.len() * 24);
        payload.put_uvarint(labels.len() as u64);
        for l in labels {
            let (Some(&n), Some(&v)) = (self.symbols.get(&l.name), self.symbols.get(&l.value)) else {
                return Err(BlockError::InvalidInput(format!(
                    "label {l:?} of {labels} missing from the index symbols"
                )));
            };
            payload.put_uvarint(u64::from(n));
            payload.put_uvarint(u64::from(v));
            self.postings.entry((n, v)).or_default().push(ordinal);
        }
        payload.put_uvarint(chunks.len() as u64);
        let mut prev_max: Option<i64> = None;
        for c in chunks {
            if c.max_time < c.min_time || prev_max.is_some_and(|p| c.min_time <= p) {
                return Err(BlockError::InvalidInput(format!(
                    "chunks of {labels} are not sorted and disjoint in time"
                )));
            }
            match prev_max {
                None => payload.put_varint(c.min_time),
                Some(p) => payload.put_uvarint(c.min_time.wrapping_sub(p) as u64),
            }
            payload.put_uvarint(c.max_time.wrapping_sub(c.min_time) as u64);
            payload.put_uvarint(u64::from(c.num_samples));
            payload.put_uvarint(c.ts_ref);
            payload.put_uvarint(match c.encoding {
                super::ChunkEncoding::Float => c.values_ref,
                super::ChunkEncoding::Histogram => c.values_ref | super::HISTOGRAM_REF_FLAG,
            });
            prev_max = Some(c.max_time);
        }
        let section_start = self.toc.last().copied().unwrap_or(0);
        let rel = u32::try_from(self.pos - section_start).map_err(|_| {
            BlockError::InvalidInput("index series section exceeds 4 GiB; split the block".into())
        })?;
        self.series_offsets.push(rel);
        self.buf.put_uvarint(payload.len() as u64);
        self.buf.extend_from_slice(&payload);
        self.write_buf()?;
        self.last_labels = Some(labels.clone());
        Ok(())
    }

    /// Writes series offsets, postings, the postings table and the table of contents, then
    /// flushes and fsyncs the file. Returns the file's size.
    pub fn finish(mut self) -> Result<u64, BlockError> {
        self.end_section()?;
        // Series offsets: one u32 per series, relative to the series section.
        self.begin_section();
        let offsets = std::mem::take(&mut self.series_offsets);
        for chunk in offsets.chunks(4096) {
            for &o in chunk {
                self.buf.put_u32(o);
            }
            self.write_buf()?;
        }
        self.end_section()?;
        // Postings lists, sorted by (name, value); symbol ids sort like the strings.
        self.begin_section();
        let mut postings: Vec<((u32, u32), Vec<u32>)> =
            std::mem::take(&mut self.postings).into_iter().collect();
        postings.sort_unstable_by_key(|(k, _)| *k);
        let mut table = Vec::with_capacity(postings.len());
        for ((n, v), list) in &postings {
            table.push((*n, *v, self.pos));
            self.buf.put_uvarint(list.len() as u64);
            let mut prev = 0u32;
            for &o in list {
                self.buf.put_uvarint(u64::from(o - prev));
                prev = o;
            }
            self.write_buf()?;
        }
        self.end_section()?;
        // Postings table.
        self.begin_section();
        self.buf.put_uvarint(table.len() as u64);
        for (n, v, off) in table {
            self.buf.put_uvarint(u64::from(n));
            self.buf.put_uvarint(u64::from(v));
            self.buf.put_uvarint(off);
            if self.buf.len() > 1 << 16 {
                self.write_buf()?;
            }
        }
        self.write_buf()?;
        self.end_section()?;
        // Table of contents.
        let mut toc = Vec::with_capacity(format::INDEX_TOC_LEN);
        for &o in &self.toc {
            toc.put_u64(o);
        }
        let crc = crc32c::crc32c(&toc);
        toc.put_u32(crc);
        self.crc = 0;
        self.write(&toc)?;
        self.out.flush().map_err(|e| self.io(e))?;
        self.out.get_ref().sync_all().map_err(|e| self.io(e))?;
        Ok(self.pos)
    }
}
