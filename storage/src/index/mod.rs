//! The series index of a block: symbols, series with their chunk references, postings.
//!
//! Written once by [`IndexWriter`] (symbols, then series, then `finish`, enforced by its type
//! state) and read through a memory map by [`IndexReader`], which verifies every section's
//! CRC32C when it opens the file. The layout is in `storage/docs/format/index.md`.

pub(crate) mod encoding;
pub mod postings;
mod reader;
mod writer;

pub use reader::IndexReader;
pub use writer::{AddSeries, AddSymbols, IndexWriter};

/// Where one chunk of a series lives and which time range it covers (both ends inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Timestamp of the chunk's first sample.
    pub min_time: i64,
    /// Timestamp of the chunk's last sample.
    pub max_time: i64,
    /// Number of samples in the chunk.
    pub num_samples: u32,
    /// Reference of the timestamp column (chunk file number << 32 | offset).
    pub ts_ref: u64,
    /// Reference of the value column (chunk file number << 32 | offset).
    pub values_ref: u64,
    /// What the value column holds.
    pub encoding: ChunkEncoding,
}

/// What a chunk's value column holds. In the index, a histogram chunk's value reference has
/// [`HISTOGRAM_REF_FLAG`] set (chunk file numbers never reach 2^31, so float-only indexes
/// written before histograms existed read unchanged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChunkEncoding {
    /// Float samples: a value column ([`crate::chunk::encode_values`]).
    #[default]
    Float,
    /// Native histogram samples: a histogram column ([`crate::chunk::encode_histograms`]).
    Histogram,
}

/// The bit of an index chunk entry's value reference that marks a histogram chunk.
pub const HISTOGRAM_REF_FLAG: u64 = 1 << 63;

impl ChunkMeta {
    /// Whether the chunk has samples that may fall in `[mint, maxt]`.
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_time <= maxt && self.max_time >= mint
    }
}
