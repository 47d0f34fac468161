//! Byte-level encoding helpers shared by the index and chunk files: big-endian fixed
//! integers, LEB128 varints (zig-zag for signed) and a bounds-checked decoder that reports the
//! offset of whatever it could not read.

/// Appends fixed-width and variable-width integers to a byte vector.
pub(crate) trait PutExt {
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_uvarint(&mut self, v: u64);
    fn put_varint(&mut self, v: i64);
}

impl PutExt for Vec<u8> {
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.push(v as u8);
    }
    fn put_varint(&mut self, v: i64) {
        self.put_uvarint(((v << 1) ^ (v >> 63)) as u64);
    }
}

/// Why decoding stopped: the absolute offset (in the file) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub offset: u64,
    pub reason: String,
}

/// A cursor over a byte slice that never reads out of bounds. `base` is the slice's offset in
/// its file, so errors name absolute file offsets.
#[derive(Debug, Clone)]
pub(crate) struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(data: &'a [u8], base: u64) -> Self {
        Decoder { data, pos: 0, base }
    }

    /// Absolute file offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn err(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            offset: self.offset(),
            reason: reason.into(),
        }
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.err(format!("need {n} bytes, only {} left", self.remaining())));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub(crate) fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let start = self.offset();
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(DecodeError {
                    offset: start,
                    reason: "truncated varint".into(),
                });
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                break;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError {
            offset: start,
            reason: "varint overflows 64 bits".into(),
        })
    }

    pub(crate) fn varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A uvarint that must fit `max` (lengths, counts, references).
    pub(crate) fn uvarint_max(&mut self, max: u64, what: &str) -> Result<u64, DecodeError> {
        let at = self.offset();
        let v = self.uvarint()?;
        if v > max {
            return Err(DecodeError {
                offset: at,
                reason: format!("{what} {v} out of range (at most {max})"),
            });
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_truncation_is_an_error() {
        let mut b = Vec::new();
        let vals = [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX];
        for v in vals {
            b.put_varint(v);
        }
        b.put_uvarint(u64::MAX);
        b.put_u32(7);
        b.put_u64(9);
        let mut d = Decoder::new(&b, 100);
        for v in vals {
            assert_eq!(d.varint().unwrap(), v);
        }
        assert_eq!(d.uvarint().unwrap(), u64::MAX);
        assert_eq!(d.u32().unwrap(), 7);
        assert_eq!(d.u64().unwrap(), 9);
        assert_eq!(d.remaining(), 0);
        let e = d.u32().unwrap_err();
        assert_eq!(e.offset, 100 + b.len() as u64);
        let mut d = Decoder::new(&[0x80, 0x80], 0);
        assert!(d.uvarint().is_err());
        let mut d = Decoder::new(&[0xff; 11], 0);
        assert!(d.uvarint().is_err());
        let mut d = Decoder::new(&[5], 0);
        assert!(d.uvarint_max(4, "count").is_err());
    }
}
