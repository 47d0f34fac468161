//! A stand-in for `storage::chunk::HeadChunk` until the codec lands: samples stored as 16
//! raw bytes each, behind the same methods, so swapping it is a one-line change in
//! `head/series.rs`.

use crate::model::Sample;

/// An appendable chunk of samples in time order.
#[derive(Clone, Debug, Default)]
pub(crate) struct HeadChunk {
    bytes: Vec<u8>,
}

const SAMPLE_LEN: usize = 16;

impl HeadChunk {
    /// An empty chunk.
    pub(crate) fn new() -> Self {
        HeadChunk::default()
    }

    /// Appends a sample newer than every sample in the chunk.
    pub(crate) fn append(&mut self, t: i64, v: f64) {
        self.bytes.extend_from_slice(&t.to_le_bytes());
        self.bytes.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    /// Number of samples.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len() / SAMPLE_LEN
    }

    fn at(&self, i: usize) -> Sample {
        let b = &self.bytes[i * SAMPLE_LEN..(i + 1) * SAMPLE_LEN];
        let mut t = [0u8; 8];
        let mut v = [0u8; 8];
        t.copy_from_slice(&b[..8]);
        v.copy_from_slice(&b[8..]);
        Sample::new(i64::from_le_bytes(t), f64::from_bits(u64::from_le_bytes(v)))
    }

    /// Oldest timestamp (`i64::MAX` when empty).
    pub(crate) fn min_time(&self) -> i64 {
        if self.len() == 0 {
            i64::MAX
        } else {
            self.at(0).t
        }
    }

    /// Newest timestamp (`i64::MIN` when empty).
    pub(crate) fn max_time(&self) -> i64 {
        match self.len() {
            0 => i64::MIN,
            n => self.at(n - 1).t,
        }
    }

    /// The samples in time order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..self.len()).map(|i| self.at(i))
    }

    /// Memory held.
    pub(crate) fn size_bytes(&self) -> usize {
        self.bytes.capacity()
    }

    /// The encoded chunk.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Decodes an encoded chunk.
    pub(crate) fn from_bytes(b: &[u8]) -> Result<HeadChunk, String> {
        if b.len() % SAMPLE_LEN != 0 {
            return Err(format!(
                "chunk length {} is not a multiple of {SAMPLE_LEN}",
                b.len()
            ));
        }
        Ok(HeadChunk { bytes: b.to_vec() })
    }
}
