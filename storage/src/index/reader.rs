//! Reads an index file through a memory map. Opening verifies the header, the table of
//! contents and the CRC32C of every section; later reads are bounds-checked all the same.

use super::encoding::{DecodeError, Decoder};
use super::{postings, ChunkMeta};
use crate::block::BlockError;
use crate::error::CorruptionError;
use crate::format;
use crate::mmap::Mmap;
use crate::model::{Label, Labels, Matcher};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One entry of the postings table: a label pair and where its postings list starts.
#[derive(Debug, Clone, Copy)]
struct PostingsRef {
    name: u32,
    value: u32,
    offset: u64,
}

/// A verified, memory-mapped index file.
#[derive(Debug)]
pub struct IndexReader {
    path: PathBuf,
    map: Mmap,
    symbols: Vec<Arc<str>>,
    /// Byte range of the series offsets table (u32 per series, relative to `series`).
    series_offsets: Range<usize>,
    /// Byte range of the series section body.
    series: Range<usize>,
    /// Byte range of the postings section body.
    postings: Range<usize>,
    /// Sorted by (name, value).
    table: Vec<PostingsRef>,
    /// Label names (symbol ids, ascending) with their range in `table`.
    names: Vec<(u32, Range<usize>)>,
}

impl IndexReader {
    /// Maps and verifies the index at `path`.
    pub fn open(path: &Path) -> Result<IndexReader, BlockError> {
        let map = Mmap::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                BlockError::Corruption(CorruptionError {
                    file: path.to_path_buf(),
                    offset: 0,
                    reason: "index file is missing".into(),
                })
            } else {
                BlockError::io("opening index", path, e)
            }
        })?;
        let corrupt = |e: DecodeError| CorruptionError {
            file: path.to_path_buf(),
            offset: e.offset,
            reason: e.reason,
        };
        let data: &[u8] = &map;
        format::check_header(data, format::INDEX_MAGIC, format::INDEX_VERSION)
            .map_err(|reason| corrupt(DecodeError { offset: 0, reason }))?;
        if data.len() < format::HEADER_LEN + format::INDEX_TOC_LEN {
            return Err(corrupt(DecodeError {
                offset: data.len() as u64,
                reason: "file too short for a table of contents (truncated?)".into(),
            })
            .into());
        }
        let toc_start = data.len() - format::INDEX_TOC_LEN;
        let mut d = Decoder::new(&data[toc_start..], toc_start as u64);
        let mut starts = [0u64; 5];
        for s in &mut starts {
            *s = d.u64().map_err(corrupt)?;
        }
        let want = d.u32().map_err(corrupt)?;
        let got = crc32c::crc32c(&data[toc_start..toc_start + 40]);
        if want != got {
            return Err(corrupt(DecodeError {
                offset: toc_start as u64,
                reason: format!(
                    "table of contents checksum mismatch (stored {want:08x}, computed {got:08x})"
                ),
            })
            .into());
        }
        // Section i spans [starts[i], starts[i+1]) and ends with the CRC32C of its body.
        let mut bodies: Vec<Range<usize>> = Vec::with_capacity(5);
        for i in 0..5 {
            let start = starts[i];
            let end = if i + 1 < 5 {
                starts[i + 1]
            } else {
                toc_start as u64
            };
            let bad = |reason: String| {
                corrupt(DecodeError {
                    offset: start,
                    reason,
                })
            };
            if start < format::HEADER_LEN as u64 || end > toc_start as u64 || end < start + 4 {
                return Err(bad(format!("section {i} has invalid bounds {start}..{end}")).into());
            }
            let (start, end) = (start as usize, end as usize);
            let body = start..end - 4;
            let stored = u32::from_be_bytes([data[end - 4], data[end - 3], data[end - 2], data[end - 1]]);
            let computed = crc32c::crc32c(&data[body.clone()]);
            if stored != computed {
                return Err(bad(format!(
                    "section {i} checksum mismatch (stored {stored:08x}, computed {computed:08x})"
                ))
                .into());
            }
            bodies.push(body);
        }
        if starts[0] != format::HEADER_LEN as u64 {
            return Err(corrupt(DecodeError {
                offset: toc_start as u64,
                reason: format!(
                    "symbols section starts at {}, expected {}",
                    starts[0],
                    format::HEADER_LEN
                ),
            })
            .into());
        }

        // Symbols, strictly ascending.
        let mut symbols: Vec<Arc<str>> = Vec::new();
        let mut d = Decoder::new(&data[bodies[0].clone()], bodies[0].start as u64);
        while d.remaining() > 0 {
            let at = d.offset();
            let len = d
                .uvarint_max(d.remaining() as u64, "symbol length")
                .map_err(corrupt)?;
            let bytes = d.bytes(len as usize).map_err(corrupt)?;
            let s = std::str::from_utf8(bytes).map_err(|_| {
                corrupt(DecodeError {
                    offset: at,
                    reason: "symbol is not valid UTF-8".into(),
                })
            })?;
            if symbols.last().is_some_and(|p| p.as_ref() >= s) {
                return Err(corrupt(DecodeError {
                    offset: at,
                    reason: "symbols not in ascending order".into(),
                })
                .into());
            }
            symbols.push(Arc::from(s));
        }
        if !bodies[2].len().is_multiple_of(4) {
            return Err(corrupt(DecodeError {
                offset: bodies[2].start as u64,
                reason: "series offsets table length is not a multiple of 4".into(),
            })
            .into());
        }

        // Postings table.
        let mut d = Decoder::new(&data[bodies[4].clone()], bodies[4].start as u64);
        let n = d
            .uvarint_max(d.remaining() as u64, "postings table size")
            .map_err(corrupt)?;
        let mut table = Vec::with_capacity(n as usize);
        let nsym = symbols.len() as u64;
        for _ in 0..n {
            let at = d.offset();
            let name = d
                .uvarint_max(nsym.saturating_sub(1), "symbol reference")
                .map_err(corrupt)? as u32;
            let value = d
                .uvarint_max(nsym.saturating_sub(1), "symbol reference")
                .map_err(corrupt)? as u32;
            let offset = d.uvarint().map_err(corrupt)?;
            if nsym == 0
                || offset < bodies[3].start as u64
                || offset >= bodies[3].end as u64
                || table
                    .last()
                    .is_some_and(|p: &PostingsRef| (p.name, p.value) >= (name, value))
            {
                return Err(corrupt(DecodeError {
                    offset: at,
                    reason: "invalid postings table entry".into(),
                })
                .into());
            }
            table.push(PostingsRef { name, value, offset });
        }
        let mut names: Vec<(u32, Range<usize>)> = Vec::new();
        for (i, e) in table.iter().enumerate() {
            match names.last_mut() {
                Some((n, r)) if *n == e.name => r.end = i + 1,
                _ => names.push((e.name, i..i + 1)),
            }
        }
        Ok(IndexReader {
            path: path.to_path_buf(),
            series_offsets: bodies[2].clone(),
            series: bodies[1].clone(),
            postings: bodies[3].clone(),
            map,
            symbols,
            table,
            names,
        })
    }

    fn corrupt(&self, e: DecodeError) -> CorruptionError {
        CorruptionError {
            file: self.path.clone(),
            offset: e.offset,
            reason: e.reason,
        }
    }

    /// The index file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index file's size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.map.len() as u64
    }

    /// Number of series in the index.
    pub fn num_series(&self) -> u32 {
        (self.series_offsets.len() / 4) as u32
    }

    fn symbol_id(&self, s: &str) -> Option<u32> {
        self.symbols
            .binary_search_by(|x| x.as_ref().cmp(s))
            .ok()
            .map(|i| i as u32)
    }

    fn symbol(&self, id: u64, d: &Decoder<'_>) -> Result<&Arc<str>, CorruptionError> {
        self.symbols
            .get(id as usize)
            .ok_or_else(|| self.corrupt(d.err(format!("symbol reference {id} out of range"))))
    }

    fn name_range(&self, name: &str) -> Option<Range<usize>> {
        let id = self.symbol_id(name)?;
        self.names
            .binary_search_by_key(&id, |(n, _)| *n)
            .ok()
            .map(|i| self.names[i].1.clone())
    }

    /// All label names, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.names
            .iter()
            .map(|(n, _)| self.symbols[*n as usize].to_string())
            .collect()
    }

    /// All values of label `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        match self.name_range(name) {
            None => Vec::new(),
            Some(r) => self.table[r]
                .iter()
                .map(|e| self.symbols[e.value as usize].to_string())
                .collect(),
        }
    }

    fn read_postings(&self, offset: u64) -> Result<Vec<u32>, CorruptionError> {
        let data = &self.map[self.postings.clone()];
        let rel = (offset - self.postings.start as u64) as usize;
        let mut d = Decoder::new(&data[rel..], offset);
        let n = self.num_series();
        let count = d
            .uvarint_max(u64::from(n), "postings list length")
            .map_err(|e| self.corrupt(e))?;
        let mut out = Vec::with_capacity(count as usize);
        let mut prev = 0u64;
        for i in 0..count {
            let delta = d.uvarint().map_err(|e| self.corrupt(e))?;
            let v = prev.saturating_add(delta);
            if v >= u64::from(n) || (i > 0 && delta == 0) {
                return Err(self.corrupt(d.err(format!("postings entry {v} invalid for {n} series"))));
            }
            out.push(v as u32);
            prev = v;
        }
        Ok(out)
    }

    /// Postings of all series whose value for `name` satisfies `pred` (series without the
    /// label are not included).
    fn postings_where(&self, name: &str, pred: impl Fn(&str) -> bool) -> Result<Vec<u32>, CorruptionError> {
        let Some(r) = self.name_range(name) else {
            return Ok(Vec::new());
        };
        let mut lists = Vec::new();
        for e in &self.table[r] {
            if pred(&self.symbols[e.value as usize]) {
                lists.push(self.read_postings(e.offset)?);
            }
        }
        Ok(postings::union(lists))
    }

    /// Postings of the series with `name="value"`.
    pub fn postings(&self, name: &str, value: &str) -> Result<Vec<u32>, CorruptionError> {
        let (Some(r), Some(v)) = (self.name_range(name), self.symbol_id(value)) else {
            return Ok(Vec::new());
        };
        let base = r.start;
        match self.table[r].binary_search_by_key(&v, |e| e.value) {
            Ok(i) => self.read_postings(self.table[base + i].offset),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Sorted ordinals of the series matching all `matchers` (all series if none).
    pub fn select_postings(&self, matchers: &[Matcher]) -> Result<Vec<u32>, CorruptionError> {
        let mut positive: Option<Vec<u32>> = None;
        let mut negatives = Vec::new();
        for m in matchers {
            if m.matches_empty() {
                // Series without the label match; exclude those whose value does not.
                negatives.push(self.postings_where(&m.name, |v| !m.matches(v))?);
                continue;
            }
            let list = match m.set_matches() {
                Some(values) => {
                    let mut lists = Vec::with_capacity(values.len());
                    for v in values {
                        lists.push(self.postings(&m.name, v)?);
                    }
                    postings::union(lists)
                }
                None => self.postings_where(&m.name, |v| m.matches(v))?,
            };
            positive = Some(match positive {
                None => list,
                Some(p) => postings::intersect(&p, &list),
            });
            if positive.as_ref().is_some_and(Vec::is_empty) {
                return Ok(Vec::new());
            }
        }
        let mut out = positive.unwrap_or_else(|| (0..self.num_series()).collect());
        for n in negatives {
            out = postings::subtract(&out, &n);
        }
        Ok(out)
    }

    /// The labels and chunks of series `ordinal`.
    pub fn series(&self, ordinal: u32) -> Result<(Labels, Vec<ChunkMeta>), CorruptionError> {
        if ordinal >= self.num_series() {
            return Err(self.corrupt(DecodeError {
                offset: self.series_offsets.start as u64,
                reason: format!("series ordinal {ordinal} out of range"),
            }));
        }
        let at = self.series_offsets.start + ordinal as usize * 4;
        let mut d = Decoder::new(&self.map[at..self.series_offsets.end], at as u64);
        let off = u64::from(d.u32().map_err(|e| self.corrupt(e))?) + self.series.start as u64;
        if off < self.series.start as u64 || off >= self.series.end as u64 {
            return Err(self.corrupt(d.err(format!("series offset {off} outside the series section"))));
        }
        let mut d = Decoder::new(&self.map[off as usize..self.series.end], off);
        let len = d
            .uvarint_max(d.remaining() as u64, "series entry length")
            .map_err(|e| self.corrupt(e))?;
        let start = d.offset();
        let mut d = Decoder::new(d.bytes(len as usize).map_err(|e| self.corrupt(e))?, start);
        let nl = d.uvarint_max(len, "label count").map_err(|e| self.corrupt(e))?;
        let mut labels = Vec::with_capacity(nl as usize);
        for _ in 0..nl {
            let n = d.uvarint().map_err(|e| self.corrupt(e))?;
            let name = self.symbol(n, &d)?.clone();
            let v = d.uvarint().map_err(|e| self.corrupt(e))?;
            let value = self.symbol(v, &d)?.clone();
            labels.push(Label { name, value });
        }
        let nc = d.uvarint_max(len, "chunk count").map_err(|e| self.corrupt(e))?;
        let mut chunks = Vec::with_capacity(nc as usize);
        let mut prev_max: Option<i64> = None;
        for _ in 0..nc {
            let min_time = match prev_max {
                None => d.varint().map_err(|e| self.corrupt(e))?,
                Some(p) => p.wrapping_add(d.uvarint().map_err(|e| self.corrupt(e))? as i64),
            };
            let max_time = min_time.wrapping_add(d.uvarint().map_err(|e| self.corrupt(e))? as i64);
            let num_samples = d
                .uvarint_max(crate::chunk::MAX_COLUMN_SAMPLES as u64, "sample count")
                .map_err(|e| self.corrupt(e))? as u32;
            let ts_ref = d.uvarint().map_err(|e| self.corrupt(e))?;
            let raw_ref = d.uvarint().map_err(|e| self.corrupt(e))?;
            let (values_ref, encoding) = if raw_ref & super::HISTOGRAM_REF_FLAG != 0 {
                (
                    raw_ref & !super::HISTOGRAM_REF_FLAG,
                    super::ChunkEncoding::Histogram,
                )
            } else {
                (raw_ref, super::ChunkEncoding::Float)
            };
            if max_time < min_time || prev_max.is_some_and(|p| min_time <= p) || num_samples == 0 {
                return Err(self.corrupt(d.err("chunk time ranges not ascending")));
            }
            prev_max = Some(max_time);
            chunks.push(ChunkMeta {
                min_time,
                max_time,
                num_samples,
                ts_ref,
                values_ref,
                encoding,
            });
        }
        Ok((Labels::from_sorted(labels), chunks))
    }
}
