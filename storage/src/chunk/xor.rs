//! Gorilla XOR coding of `f64` bit patterns, shared by the head chunk and the block fallback.
//!
//! Each value after the first is XORed with its predecessor:
//! - `0`: same bits as the previous value;
//! - `10` + the meaningful bits inside the previous window (same leading/trailing zeros or more);
//! - `11` + 5 bits leading zeros (capped at 31) + 6 bits (significant bits - 1) + the significant bits.
//!
//! The encoder opens a new window instead of reusing the old one when that is cheaper.

use super::bits::{BitReader, BitWriter};
use super::ChunkError;

/// Encoder state: the previous value and the current leading/trailing-zero window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct XorEncoder {
    prev: u64,
    /// Leading zeros of the window; `u32::MAX` while no window is open.
    lead: u32,
    trail: u32,
}

impl XorEncoder {
    /// Writes the first value raw (64 bits) and starts the state from it.
    pub(crate) fn first(w: &mut BitWriter, buf: &mut Vec<u8>, v: u64) -> Self {
        w.bits(buf, v, 64);
        XorEncoder {
            prev: v,
            lead: u32::MAX,
            trail: 0,
        }
    }

    /// Writes the next value.
    #[inline]
    pub(crate) fn push(&mut self, w: &mut BitWriter, buf: &mut Vec<u8>, v: u64) {
        let x = v ^ self.prev;
        self.prev = v;
        if x == 0 {
            w.bit(buf, false);
            return;
        }
        let lz = x.leading_zeros().min(31);
        let tz = x.trailing_zeros();
        let sig = 64 - lz - tz;
        if self.lead != u32::MAX && lz >= self.lead && tz >= self.trail {
            let win = 64 - self.lead - self.trail;
            // Reusing costs `win` bits, a new window `11 + sig` bits.
            if win <= sig + 11 {
                w.bits(buf, 0b10, 2);
                w.bits(buf, x >> self.trail, win);
                return;
            }
        }
        w.bits(buf, 0b11, 2);
        w.bits(buf, u64::from(lz), 5);
        w.bits(buf, u64::from(sig - 1), 6);
        w.bits(buf, x >> tz, sig);
        self.lead = lz;
        self.trail = tz;
    }
}

/// Decoder state mirroring [`XorEncoder`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct XorDecoder {
    prev: u64,
    lead: u32,
    /// Significant bits of the window; 0 while no window is open.
    sig: u32,
}

impl XorDecoder {
    /// Reads the raw first value.
    pub(crate) fn first(r: &mut BitReader<'_>) -> Result<(Self, u64), ChunkError> {
        let v = r.bits(64).ok_or(ChunkError::Truncated { what: "first value" })?;
        Ok((
            XorDecoder {
                prev: v,
                lead: 0,
                sig: 0,
            },
            v,
        ))
    }

    /// The encoder state that continues the stream this decoder has read so far.
    pub(crate) fn to_encoder(self) -> XorEncoder {
        if self.sig == 0 {
            XorEncoder {
                prev: self.prev,
                lead: u32::MAX,
                trail: 0,
            }
        } else {
            XorEncoder {
                prev: self.prev,
                lead: self.lead,
                trail: 64 - self.lead - self.sig,
            }
        }
    }

    /// Reads the next value's bits.
    #[inline]
    pub(crate) fn next(&mut self, r: &mut BitReader<'_>) -> Result<u64, ChunkError> {
        const T: ChunkError = ChunkError::Truncated { what: "xor value" };
        if !r.bit().ok_or(T)? {
            return Ok(self.prev);
        }
        if r.bit().ok_or(T)? {
            let lead = r.bits(5).ok_or(T)? as u32;
            let sig = r.bits(6).ok_or(T)? as u32 + 1;
            if lead + sig > 64 {
                return Err(ChunkError::Invalid {
                    what: "xor value",
                    detail: format!("window of {lead} leading zeros and {sig} significant bits exceeds 64"),
                });
            }
            self.lead = lead;
            self.sig = sig;
        } else if self.sig == 0 {
            return Err(ChunkError::Invalid {
                what: "xor value",
                detail: "reuses a window before any was opened".into(),
            });
        }
        let bits = r.bits(self.sig).ok_or(T)?;
        self.prev ^= bits << (64 - self.lead - self.sig);
        Ok(self.prev)
    }
}
