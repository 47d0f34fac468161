//! Samples, the staleness marker and series references.

/// The bit pattern Prometheus uses for a staleness marker: a NaN that no computation yields.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as an `f64` (compare with [`is_stale_nan`], never with `==`).
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Whether `v` is the staleness marker (bit-exact; an ordinary NaN is not).
#[inline]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample: milliseconds since the Unix epoch and a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Timestamp in milliseconds since the Unix epoch.
    pub t: i64,
    /// The value; may be NaN, ±Inf, or the staleness marker.
    pub v: f64,
}

impl Sample {
    /// A sample at `t` ms with value `v`.
    pub fn new(t: i64, v: f64) -> Self {
        Sample { t, v }
    }

    /// Bit-exact equality (NaN equals NaN with the same bits), as tests and dedup need.
    pub fn same_bits(&self, other: &Sample) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

/// An opaque handle to a series in the head, returned by [`crate::Appender::append`] so callers
/// can skip the label lookup on the next append. `SeriesRef(0)` means "unknown".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub u64);

impl SeriesRef {
    /// The "unknown" reference.
    pub const NONE: SeriesRef = SeriesRef(0);

    /// Whether this is the "unknown" reference.
    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}
