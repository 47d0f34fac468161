//! LEB128 varints and zigzag mapping for the byte-aligned parts of the column codecs.

use super::ChunkError;

/// Maps a signed integer to an unsigned one so that small magnitudes stay small.
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub(crate) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Appends `v` as an unsigned LEB128 varint (1 to 10 bytes).
#[inline]
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` as a zigzag varint.
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

/// The number of bytes [`put_uvarint`] writes for `v`.
#[inline]
pub(crate) fn uvarint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// A forward cursor over a byte slice that reports what was being read when it runs out.
#[derive(Debug, Clone)]
pub(crate) struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    /// A reader at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        ByteReader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread rest of the buffer.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Skips `n` bytes, failing if fewer are left.
    pub(crate) fn advance(&mut self, n: usize, what: &'static str) -> Result<(), ChunkError> {
        if n > self.remaining() {
            return Err(ChunkError::Truncated { what });
        }
        self.pos += n;
        Ok(())
    }

    /// Reads one byte.
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ChunkError> {
        let b = *self.buf.get(self.pos).ok_or(ChunkError::Truncated { what })?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ChunkError> {
        let end = self.pos.checked_add(n).ok_or(ChunkError::Truncated { what })?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(ChunkError::Truncated { what })?;
        self.pos = end;
        Ok(s)
    }

    /// Reads an unsigned LEB128 varint.
    pub(crate) fn uvarint(&mut self, what: &'static str) -> Result<u64, ChunkError> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = self.u8(what)?;
            if shift == 63 && b > 1 {
                return Err(ChunkError::VarintOverflow { what });
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(ChunkError::VarintOverflow { what });
            }
        }
    }

    /// Reads a zigzag varint.
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<i64, ChunkError> {
        self.uvarint(what).map(unzigzag)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        let vals = [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX - 1, u64::MAX];
        let mut out = Vec::new();
        for &v in &vals {
            put_uvarint(&mut out, v);
        }
        let mut r = ByteReader::new(&out);
        for &v in &vals {
            assert_eq!(r.uvarint("test").unwrap(), v);
        }
        assert_eq!(r.remaining(), 0);
        for &v in &vals {
            let mut o = Vec::new();
            put_uvarint(&mut o, v);
            assert_eq!(o.len(), uvarint_len(v));
        }
    }

    #[test]
    fn zigzag_round_trip() {
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    #[test]
    fn overlong_varint_is_an_error() {
        let bad = [0xffu8; 11];
        assert!(matches!(
            ByteReader::new(&bad).uvarint("x"),
            Err(ChunkError::VarintOverflow { .. })
        ));
        let bad = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(matches!(
            ByteReader::new(&bad).uvarint("x"),
            Err(ChunkError::VarintOverflow { .. })
        ));
        assert!(matches!(
            ByteReader::new(&[0x80]).uvarint("x"),
            Err(ChunkError::Truncated { .. })
        ));
    }
}
