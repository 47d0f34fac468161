//! Protobuf wire-format writing for the queues' request bodies, straight into a reused
//! buffer: varints, tags and the field numbers of the remote-write messages the queues
//! send. The messages themselves are defined once, in `prompb`; the tests of
//! [`super::encode`] decode every body written here with those definitions, which pins the
//! field numbers below to them.
//!
//! Writing by hand rather than through `prost` lets a queue encode a series' labels once
//! (see [`super::encode::OutSeries`]) and copy those bytes into every request, and avoids
//! building a tree of messages per batch only to walk it twice (length, then bytes).

/// Wire type of varints.
const VARINT: u8 = 0;
/// Wire type of 64-bit fixed values (doubles).
const FIXED64: u8 = 1;
/// Wire type of length-delimited values (strings, bytes, messages, packed repeated).
const LEN: u8 = 2;

/// The tag byte of field `field` (< 16) with wire type `wt`.
const fn tag(field: u8, wt: u8) -> u8 {
    (field << 3) | wt
}

/// Field numbers of `prometheus.WriteRequest` and the messages in it (`prompb/types.proto`,
/// `prompb/remote.proto`), shared by 2.0 where the messages are the same.
pub mod v1 {
    /// `WriteRequest.timeseries`.
    pub const WRITE_REQUEST_TIMESERIES: u8 = 1;
    /// `WriteRequest.metadata`.
    pub const WRITE_REQUEST_METADATA: u8 = 3;
    /// `TimeSeries.labels`.
    pub const TIMESERIES_LABELS: u8 = 1;
    /// `TimeSeries.samples`.
    pub const TIMESERIES_SAMPLES: u8 = 2;
    /// `TimeSeries.exemplars`.
    pub const TIMESERIES_EXEMPLARS: u8 = 3;
    /// `TimeSeries.histograms`.
    pub const TIMESERIES_HISTOGRAMS: u8 = 4;
    /// `Exemplar.labels`.
    pub const EXEMPLAR_LABELS: u8 = 1;
    /// `Exemplar.value` (2.0's `Exemplar` has the same number).
    pub const EXEMPLAR_VALUE: u8 = 2;
    /// `Exemplar.timestamp` (the same in 2.0).
    pub const EXEMPLAR_TIMESTAMP: u8 = 3;
    /// `Label.name`.
    pub const LABEL_NAME: u8 = 1;
    /// `Label.value`.
    pub const LABEL_VALUE: u8 = 2;
    /// `Sample.value` (2.0's `Sample` has the same numbers).
    pub const SAMPLE_VALUE: u8 = 1;
    /// `Sample.timestamp`.
    pub const SAMPLE_TIMESTAMP: u8 = 2;
    /// `MetricMetadata.type`.
    pub const METADATA_TYPE: u8 = 1;
    /// `MetricMetadata.metric_family_name`.
    pub const METADATA_FAMILY: u8 = 2;
    /// `MetricMetadata.help`.
    pub const METADATA_HELP: u8 = 4;
    /// `MetricMetadata.unit`.
    pub const METADATA_UNIT: u8 = 5;
}

/// Field numbers of `io.prometheus.write.v2.Request` and its messages
/// (`prompb/io/prometheus/write/v2/types.proto`).
pub mod v2 {
    /// `Request.symbols`.
    pub const REQUEST_SYMBOLS: u8 = 4;
    /// `Request.timeseries`.
    pub const REQUEST_TIMESERIES: u8 = 5;
    /// `TimeSeries.labels_refs` (packed).
    pub const TIMESERIES_LABELS_REFS: u8 = 1;
    /// `TimeSeries.samples`.
    pub const TIMESERIES_SAMPLES: u8 = 2;
    /// `TimeSeries.histograms`.
    pub const TIMESERIES_HISTOGRAMS: u8 = 3;
    /// `TimeSeries.exemplars`.
    pub const TIMESERIES_EXEMPLARS: u8 = 4;
    /// `Exemplar.labels_refs` (packed).
    pub const EXEMPLAR_LABELS_REFS: u8 = 1;
    /// `TimeSeries.metadata`.
    pub const TIMESERIES_METADATA: u8 = 5;
    /// `Metadata.type`.
    pub const METADATA_TYPE: u8 = 1;
    /// `Metadata.help_ref`.
    pub const METADATA_HELP_REF: u8 = 3;
    /// `Metadata.unit_ref`.
    pub const METADATA_UNIT_REF: u8 = 4;
}

/// Field numbers of the native histogram message, the same in 1.0 (`prometheus.Histogram`)
/// and 2.0.
pub mod histogram {
    /// `count_int` (oneof `count`).
    pub const COUNT_INT: u8 = 1;
    /// `count_float`.
    pub const COUNT_FLOAT: u8 = 2;
    /// `sum`.
    pub const SUM: u8 = 3;
    /// `schema` (sint32).
    pub const SCHEMA: u8 = 4;
    /// `zero_threshold`.
    pub const ZERO_THRESHOLD: u8 = 5;
    /// `zero_count_int` (oneof `zero_count`).
    pub const ZERO_COUNT_INT: u8 = 6;
    /// `zero_count_float`.
    pub const ZERO_COUNT_FLOAT: u8 = 7;
    /// `negative_spans`.
    pub const NEGATIVE_SPANS: u8 = 8;
    /// `negative_deltas` (packed sint64).
    pub const NEGATIVE_DELTAS: u8 = 9;
    /// `negative_counts` (packed double).
    pub const NEGATIVE_COUNTS: u8 = 10;
    /// `positive_spans`.
    pub const POSITIVE_SPANS: u8 = 11;
    /// `positive_deltas`.
    pub const POSITIVE_DELTAS: u8 = 12;
    /// `positive_counts`.
    pub const POSITIVE_COUNTS: u8 = 13;
    /// `reset_hint`.
    pub const RESET_HINT: u8 = 14;
    /// `timestamp`.
    pub const TIMESTAMP: u8 = 15;
    /// `custom_values` (packed double, two-byte tag).
    pub const CUSTOM_VALUES: u8 = 16;
    /// `BucketSpan.offset` (sint32).
    pub const SPAN_OFFSET: u8 = 1;
    /// `BucketSpan.length`.
    pub const SPAN_LENGTH: u8 = 2;
}

/// Bytes of `x` as a varint.
#[inline]
pub fn varint_len(x: u64) -> usize {
    // 1 byte per 7 bits, at least one.
    (64 - (x | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends `x` as a varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Zigzag form of a signed value (`sint32`/`sint64`).
#[inline]
pub fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

/// Tag bytes of `field` with wire type `wt` (fields 1..=31 take one byte below 16, two above).
#[inline]
fn put_tag(out: &mut Vec<u8>, field: u8, wt: u8) {
    if field < 16 {
        out.push(tag(field, wt));
    } else {
        put_varint(out, (u64::from(field) << 3) | u64::from(wt));
    }
}

/// Bytes of the tag of `field`.
#[inline]
fn tag_len(field: u8) -> usize {
    if field < 16 {
        1
    } else {
        2
    }
}

/// Appends a varint field, left out when 0 (proto3 default).
#[inline]
pub fn put_uint_field(out: &mut Vec<u8>, field: u8, x: u64) {
    if x != 0 {
        put_tag(out, field, VARINT);
        put_varint(out, x);
    }
}

/// Appends a varint field even when 0 (a set `oneof` member).
#[inline]
pub fn put_uint_field_always(out: &mut Vec<u8>, field: u8, x: u64) {
    put_tag(out, field, VARINT);
    put_varint(out, x);
}

/// Appends a double field, left out when its bits are 0 (+0.0, proto3 default).
#[inline]
pub fn put_double_field(out: &mut Vec<u8>, field: u8, v: f64) {
    if v.to_bits() != 0 {
        put_double_field_always(out, field, v);
    }
}

/// Appends a double field even when 0 (a set `oneof` member).
#[inline]
pub fn put_double_field_always(out: &mut Vec<u8>, field: u8, v: f64) {
    put_tag(out, field, FIXED64);
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

/// Appends a length-delimited field holding `bytes` (always, even when empty).
#[inline]
pub fn put_bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    put_tag(out, field, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends the tag and length of a length-delimited field whose `len` bytes the caller
/// writes next.
#[inline]
pub fn put_len_header(out: &mut Vec<u8>, field: u8, len: usize) {
    put_tag(out, field, LEN);
    put_varint(out, len as u64);
}

/// Bytes of a length-delimited field of `len` bytes, tag and length included.
#[inline]
pub fn len_field_len(field: u8, len: usize) -> usize {
    tag_len(field) + varint_len(len as u64) + len
}

/// Appends a packed repeated double field (left out when empty).
pub fn put_packed_doubles(out: &mut Vec<u8>, field: u8, vs: &[f64]) {
    if vs.is_empty() {
        return;
    }
    put_len_header(out, field, vs.len() * 8);
    for v in vs {
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

/// Appends a packed repeated varint field of `xs` (left out when empty).
pub fn put_packed_varints(out: &mut Vec<u8>, field: u8, xs: impl Iterator<Item = u64> + Clone) {
    let len: usize = xs.clone().map(varint_len).sum();
    if len == 0 {
        return;
    }
    put_len_header(out, field, len);
    for x in xs {
        put_varint(out, x);
    }
}

/// The bytes of one `Sample {value, timestamp}` message body.
#[inline]
pub fn sample_len(v: f64, t: i64) -> usize {
    let mut n = 0;
    if v.to_bits() != 0 {
        n += 9;
    }
    if t != 0 {
        n += 1 + varint_len(t as u64);
    }
    n
}

/// Appends a `Sample` as field `field` of the enclosing message.
#[inline]
pub fn put_sample(out: &mut Vec<u8>, field: u8, v: f64, t: i64) {
    let len = sample_len(v, t);
    put_len_header(out, field, len);
    put_double_field(out, v1::SAMPLE_VALUE, v);
    put_uint_field(out, v1::SAMPLE_TIMESTAMP, t as u64);
}

/// Appends the label pairs of a 1.0 `TimeSeries` (field `labels`, one `Label` each).
pub fn put_v1_labels<'a>(out: &mut Vec<u8>, labels: impl Iterator<Item = (&'a str, &'a str)>) {
    for (name, value) in labels {
        let body = len_field_len(v1::LABEL_NAME, name.len()) + len_field_len(v1::LABEL_VALUE, value.len());
        put_len_header(out, v1::TIMESERIES_LABELS, body);
        put_bytes_field(out, v1::LABEL_NAME, name.as_bytes());
        put_bytes_field(out, v1::LABEL_VALUE, value.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths() {
        for x in [0u64, 1, 127, 128, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, x);
            assert_eq!(b.len(), varint_len(x), "{x}");
        }
        let mut b = Vec::new();
        put_tag(&mut b, histogram::CUSTOM_VALUES, LEN);
        assert_eq!(b, [0x82, 0x01]);
        assert_eq!(tag_len(histogram::CUSTOM_VALUES), 2);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }
}
