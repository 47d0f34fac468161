//! Big-endian (most significant bit first) bit streams for the Gorilla-style codecs.

/// Appends bits to a byte vector, most significant bit first. Bytes already in the vector
/// (a header, earlier columns) are left alone; the stream starts at the next byte.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitWriter {
    /// Unused low bits of the last byte of the buffer (0..=7); 0 means "start a new byte".
    free: u32,
}

impl BitWriter {
    /// A writer whose next bit starts a fresh byte.
    pub(crate) fn new() -> Self {
        BitWriter { free: 0 }
    }

    /// A writer continuing a stream whose last byte has `free` unused low bits.
    pub(crate) fn with_free(free: u32) -> Self {
        BitWriter { free: free & 7 }
    }

    /// Writes one bit.
    #[inline]
    pub(crate) fn bit(&mut self, buf: &mut Vec<u8>, b: bool) {
        if self.free == 0 {
            buf.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if b {
            if let Some(last) = buf.last_mut() {
                *last |= 1 << self.free;
            }
        }
    }

    /// Writes the low `n` bits of `v` (`n` <= 64), most significant first.
    #[inline]
    pub(crate) fn bits(&mut self, buf: &mut Vec<u8>, v: u64, mut n: u32) {
        debug_assert!(n <= 64);
        // Fill the partial last byte.
        if self.free > 0 && n > 0 {
            let take = n.min(self.free);
            let chunk = ((v >> (n - take)) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = buf.last_mut() {
                *last |= chunk << (self.free - take);
            }
            self.free -= take;
            n -= take;
        }
        // Whole bytes.
        while n >= 8 {
            n -= 8;
            buf.push((v >> n) as u8);
        }
        // A final partial byte.
        if n > 0 {
            let chunk = (v & ((1u64 << n) - 1)) as u8;
            buf.push(chunk << (8 - n));
            self.free = 8 - n;
        }
    }

    /// Unused low bits in the last byte.
    #[cfg(test)]
    pub(crate) fn free(&self) -> u32 {
        self.free
    }
}

/// Reads bits written by [`BitWriter`]; every read reports `None` past the end instead of panicking.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    buf: &'a [u8],
    /// Next bit to read, counted from the start of `buf`.
    pos: usize,
    /// Total bits in `buf`.
    len: usize,
}

impl<'a> BitReader<'a> {
    /// A reader over all of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        BitReader {
            buf,
            pos: 0,
            len: buf.len().saturating_mul(8),
        }
    }

    /// Bits consumed so far.
    pub(crate) fn bit_pos(&self) -> usize {
        self.pos
    }

    /// Whole bytes touched so far (a partly read byte counts).
    pub(crate) fn bytes_used(&self) -> usize {
        self.pos.div_ceil(8)
    }

    /// Loads 8 bytes starting at byte `i` (zero padded past the end).
    #[inline]
    fn word(&self, i: usize) -> u64 {
        match self.buf.get(i..i + 8) {
            Some(s) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                u64::from_be_bytes(a)
            }
            None => {
                let mut a = [0u8; 8];
                let rest = self.buf.get(i..).unwrap_or(&[]);
                a[..rest.len()].copy_from_slice(rest);
                u64::from_be_bytes(a)
            }
        }
    }

    /// Reads one bit.
    #[inline]
    pub(crate) fn bit(&mut self) -> Option<bool> {
        if self.pos >= self.len {
            return None;
        }
        let byte = *self.buf.get(self.pos >> 3)?;
        let b = (byte >> (7 - (self.pos & 7))) & 1;
        self.pos += 1;
        Some(b == 1)
    }

    /// Reads `n` bits (`n` <= 64) as an unsigned integer.
    #[inline]
    pub(crate) fn bits(&mut self, n: u32) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        if n > 56 {
            let hi = self.bits(n - 32)?;
            let lo = self.bits(32)?;
            return Some((hi << 32) | lo);
        }
        if self.len - self.pos < n as usize {
            return None;
        }
        let w = self.word(self.pos >> 3);
        let v = (w << (self.pos & 7)) >> (64 - n);
        self.pos += n as usize;
        Some(v)
    }

    /// Counts leading one bits, up to `max`, consuming them and the terminating zero
    /// (no zero is consumed when `max` ones were read).
    #[inline]
    pub(crate) fn unary(&mut self, max: u32) -> Option<u32> {
        let mut n = 0;
        while n < max {
            if !self.bit()? {
                return Some(n);
            }
            n += 1;
        }
        Some(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let mut buf = vec![0xAA];
        let mut w = BitWriter::new();
        let items: Vec<(u64, u32)> = vec![
            (1, 1),
            (0, 1),
            (5, 3),
            (u64::MAX, 64),
            (0x1234, 13),
            (0, 0),
            (7, 57),
            (1, 2),
            (9, 60),
        ];
        for &(v, n) in &items {
            w.bits(&mut buf, v, n);
        }
        w.bit(&mut buf, true);
        let mut r = BitReader::new(&buf[1..]);
        for &(v, n) in &items {
            let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            assert_eq!(r.bits(n), Some(v & mask), "n={n}");
        }
        assert_eq!(r.bit(), Some(true));
        let total: u32 = items.iter().map(|x| x.1).sum::<u32>() + 1;
        assert_eq!(r.bit_pos(), total as usize);
        assert_eq!(buf.len() - 1, (total as usize).div_ceil(8));
        assert_eq!(
            8 - (total % 8),
            w.free() + if total.is_multiple_of(8) { 8 } else { 0 }
        );
    }

    #[test]
    fn reading_past_the_end_is_none() {
        let buf = [0xff];
        let mut r = BitReader::new(&buf);
        assert_eq!(r.bits(9), None);
        assert_eq!(r.bits(8), Some(0xff));
        assert_eq!(r.bit(), None);
        assert_eq!(r.bits(64), None);
        assert_eq!(r.unary(4), None);
    }
}
