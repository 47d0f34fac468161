//! Sample codecs: appendable chunks for the head, dense columns for blocks.
//!
//! - [`encode_histograms`]/[`decode_histograms`]: the native histogram column (columnar:
//!   bucket layout once per chunk, per-bucket counts over time bit-packed).
//! - [`HeadChunk`]: Gorilla-style appendable chunk (delta-of-delta timestamps, XOR values) used by
//!   the in-memory head and its persistence.
//! - [`encode_timestamps`]/[`decode_timestamps`] and [`encode_values`]/[`decode_values`]: dense,
//!   self-delimiting column codecs for immutable blocks. Every column starts with a codec id byte
//!   and a varint sample count, so new codecs can be added without breaking old files.
//!
//! Byte layouts are drawn in `storage/docs/format/chunks.md`. Every decoder checks its input:
//! arbitrary bytes give a [`ChunkError`], never a panic, and allocations are bounded by
//! [`MAX_COLUMN_SAMPLES`].

mod bits;
mod column;
mod head;
mod head_decode;
mod histogram;
mod pfor;
mod timestamps;
mod values;
mod varint;
mod xor;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use column::{decode_timestamps, decode_values, encode_timestamps, encode_values};
pub use head::{HeadChunk, HeadChunkIter};
pub use histogram::{
    cells_bound, decode_histograms, encode_histograms, histogram_count, same_family, union_growth,
    MAX_CHUNK_CELLS, MAX_HISTOGRAM_BUCKETS,
};

/// The most samples one block column may hold; decoders reject larger counts so that a corrupt
/// header cannot make them allocate without bound. Encoders panic above it.
pub const MAX_COLUMN_SAMPLES: usize = 1 << 20;

/// What is wrong with an encoded chunk or column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The input ended in the middle of something.
    #[error("chunk data truncated while reading {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// The codec id byte names no known codec.
    #[error("unknown {column} codec id {id}")]
    UnknownCodec {
        /// Which kind of column ("timestamp" or "value").
        column: &'static str,
        /// The id found.
        id: u8,
    },
    /// The column claims more samples than a column may hold.
    #[error("column claims {count} samples, more than the maximum {max}")]
    TooManySamples {
        /// The claimed count.
        count: u64,
        /// [`MAX_COLUMN_SAMPLES`].
        max: usize,
    },
    /// A varint runs past 64 bits.
    #[error("varint overflows 64 bits while reading {what}")]
    VarintOverflow {
        /// What was being read.
        what: &'static str,
    },
    /// A field holds an impossible value.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// Which field.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// Bytes follow the end of a self-contained chunk.
    #[error("{n} unexpected trailing bytes after the chunk")]
    TrailingBytes {
        /// How many.
        n: usize,
    },
}
