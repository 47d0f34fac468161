//! WAL record codec: the payloads of series, samples and metadata records, and the frame
//! around them (length, CRC32C, type byte). Byte layout: `storage/docs/format/wal.md`.

use crate::model::{
    BucketSpan, CounterResetHint, Exemplar, FloatHistogram, Label, Labels, MetricMetadata, MetricType,
};
use std::sync::Arc;

/// Frame header: payload length (u32 LE), CRC32C of type byte + payload (u32 LE), type (u8).
pub(crate) const FRAME_HEADER_LEN: usize = 9;
/// Largest payload a frame may carry; a bigger length field is damage, not data.
pub(crate) const MAX_PAYLOAD_LEN: usize = 256 << 20;
/// Samples per samples record; bigger batches are split so no record grows unbounded.
pub(crate) const MAX_SAMPLES_PER_RECORD: usize = 16 * 1024;
/// Set in a frame's type byte when its payload is compressed (snappy, raw block format);
/// the low bits keep the record's type. Frames without it are read as before, so segments
/// written without compression stay readable.
pub(crate) const COMPRESSED_FLAG: u8 = 0x80;
/// Payloads shorter than this are left uncompressed (nothing to gain).
const MIN_COMPRESSED_PAYLOAD: usize = 64;

/// The kinds of WAL record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum RecordType {
    /// New series: ref + labels.
    Series = 1,
    /// Float samples: ref, t, v, delta-encoded within the record.
    Samples = 2,
    /// Metric family metadata.
    Metadata = 3,
    /// Deleted time ranges of series (admin delete): ref, mint, maxt.
    Tombstones = 4,
    /// Native histogram samples: ref, t (deltas as for samples) and the whole histogram.
    Histograms = 5,
    /// Exemplars: the series' labels, the exemplar's labels, value and timestamp.
    Exemplars = 6,
}

impl RecordType {
    fn from_byte(b: u8) -> Option<RecordType> {
        match b {
            1 => Some(RecordType::Series),
            2 => Some(RecordType::Samples),
            3 => Some(RecordType::Metadata),
            4 => Some(RecordType::Tombstones),
            5 => Some(RecordType::Histograms),
            6 => Some(RecordType::Exemplars),
            _ => None,
        }
    }
}

/// A series definition: its head reference and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesEntry {
    /// The head reference samples refer to.
    pub id: u64,
    /// The series' labels.
    pub labels: Labels,
}

/// One sample of a series by reference.
#[derive(Clone, Copy, Debug)]
pub struct SampleEntry {
    /// The series reference.
    pub id: u64,
    /// Timestamp, ms.
    pub t: i64,
    /// Value (bit-exact, staleness markers included).
    pub v: f64,
}

impl PartialEq for SampleEntry {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id && self.t == o.t && self.v.to_bits() == o.v.to_bits()
    }
}

/// A deletion of the samples in `[mint, maxt]` (inclusive) of series `id`, as they were
/// when the record was logged: samples logged after it are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TombstoneEntry {
    /// The head reference.
    pub id: u64,
    /// Start of the deleted range (ms, inclusive).
    pub mint: i64,
    /// End of the deleted range (ms, inclusive).
    pub maxt: i64,
}

/// One native histogram sample of a series by reference.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramEntry {
    /// The series reference.
    pub id: u64,
    /// Timestamp, ms.
    pub t: i64,
    /// The histogram (stale markers included).
    pub h: FloatHistogram,
}

/// One exemplar with the labels of the series it belongs to. The series is named by its
/// labels, not by a head reference, so an exemplar outlives the series' references (the
/// exemplar store is keyed by labels and keeps exemplars of series the head has dropped).
#[derive(Clone, Debug, PartialEq)]
pub struct ExemplarEntry {
    /// The labels of the series the exemplar belongs to.
    pub series: Labels,
    /// The exemplar.
    pub exemplar: Exemplar,
}

/// A decoded record.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// Series definitions.
    Series(Vec<SeriesEntry>),
    /// Samples.
    Samples(Vec<SampleEntry>),
    /// Metadata per metric family.
    Metadata(Vec<(String, MetricMetadata)>),
    /// Deletions.
    Tombstones(Vec<TombstoneEntry>),
    /// Native histogram samples.
    Histograms(Vec<HistogramEntry>),
    /// Exemplars.
    Exemplars(Vec<ExemplarEntry>),
}

// ---------------------------------------------------------------- encoding

fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_varint(out: &mut Vec<u8>, x: i64) {
    put_uvarint(out, ((x << 1) ^ (x >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Appends one frame (header + payload written by `body`) to `out`.
fn frame(out: &mut Vec<u8>, ty: RecordType, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    out[start + 8] = ty as u8;
    body(out);
    let len = (out.len() - start - FRAME_HEADER_LEN) as u32;
    let crc = crc32c::crc32c(&out[start + 8..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The record type of a frame's type byte, without the compression flag.
pub(crate) fn record_kind(ty: u8) -> u8 {
    ty & !COMPRESSED_FLAG
}

/// Copies the frames of `frames` (as the encoders wrote them, uncompressed) to `out`, each
/// payload compressed where that makes the frame smaller: the compressed payload replaces
/// it, the type byte gets [`COMPRESSED_FLAG`] and the checksum covers the compressed bytes.
/// Compression lives at this framing layer only, so every record type gets it.
pub(crate) fn compress_frames(frames: &[u8], out: &mut Vec<u8>, enc: &mut snap::raw::Encoder) {
    let mut off = 0;
    while let Frame::Ok { ty, payload, next } = next_frame(frames, off) {
        let start = out.len();
        let whole = &frames[off..next];
        off = next;
        if payload.len() < MIN_COMPRESSED_PAYLOAD || ty & COMPRESSED_FLAG != 0 {
            out.extend_from_slice(whole);
            continue;
        }
        out.resize(
            start + FRAME_HEADER_LEN + snap::raw::max_compress_len(payload.len()),
            0,
        );
        let n = match enc.compress(payload, &mut out[start + FRAME_HEADER_LEN..]) {
            Ok(n) if n < payload.len() => n,
            _ => {
                out.truncate(start);
                out.extend_from_slice(whole);
                continue;
            }
        };
        out.truncate(start + FRAME_HEADER_LEN + n);
        out[start + 8] = ty | COMPRESSED_FLAG;
        let crc = crc32c::crc32c(&out[start + 8..]);
        out[start..start + 4].copy_from_slice(&(n as u32).to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }
    // The encoders' own output ends on a frame boundary; anything else is copied as is.
    out.extend_from_slice(frames.get(off..).unwrap_or(&[]));
}

/// The uncompressed payload of a frame whose type byte has [`COMPRESSED_FLAG`].
fn decompress(payload: &[u8]) -> Result<Vec<u8>, String> {
    let n = snap::raw::decompress_len(payload).map_err(|e| format!("compressed record: {e}"))?;
    if n > MAX_PAYLOAD_LEN {
        return Err(format!("compressed record claims {n} bytes uncompressed"));
    }
    let mut out = vec![0u8; n];
    let got = snap::raw::Decoder::new()
        .decompress(payload, &mut out)
        .map_err(|e| format!("compressed record: {e}"))?;
    out.truncate(got);
    Ok(out)
}

/// Appends a framed series record.
pub(crate) fn encode_series(out: &mut Vec<u8>, series: &[SeriesEntry]) {
    if series.is_empty() {
        return;
    }
    frame(out, RecordType::Series, |b| {
        put_uvarint(b, series.len() as u64);
        for s in series {
            put_uvarint(b, s.id);
            put_uvarint(b, s.labels.len() as u64);
            for l in s.labels.iter() {
                put_str(b, &l.name);
                put_str(b, &l.value);
            }
        }
    });
}

/// Appends framed samples records (split every [`MAX_SAMPLES_PER_RECORD`]). Refs and
/// timestamps are zigzag deltas against the previous sample of the record.
pub(crate) fn encode_samples(out: &mut Vec<u8>, samples: &[SampleEntry]) {
    for part in samples.chunks(MAX_SAMPLES_PER_RECORD) {
        frame(out, RecordType::Samples, |b| {
            put_uvarint(b, part.len() as u64);
            let (mut pid, mut pt) = (0u64, 0i64);
            for s in part {
                put_varint(b, s.id.wrapping_sub(pid) as i64);
                put_varint(b, s.t.wrapping_sub(pt));
                b.extend_from_slice(&s.v.to_bits().to_le_bytes());
                pid = s.id;
                pt = s.t;
            }
        });
    }
}

/// Appends a framed metadata record.
pub(crate) fn encode_metadata(out: &mut Vec<u8>, meta: &[(String, MetricMetadata)]) {
    if meta.is_empty() {
        return;
    }
    frame(out, RecordType::Metadata, |b| {
        put_uvarint(b, meta.len() as u64);
        for (family, m) in meta {
            put_str(b, family);
            b.push(MetricType::number(m.metric_type));
            put_str(b, &m.help);
            put_str(b, &m.unit);
        }
    });
}

/// Appends a framed tombstones record.
pub(crate) fn encode_tombstones(out: &mut Vec<u8>, entries: &[TombstoneEntry]) {
    if entries.is_empty() {
        return;
    }
    frame(out, RecordType::Tombstones, |b| {
        put_uvarint(b, entries.len() as u64);
        for e in entries {
            put_uvarint(b, e.id);
            put_varint(b, e.mint);
            put_varint(b, e.maxt);
        }
    });
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn put_spans(out: &mut Vec<u8>, spans: &[BucketSpan]) {
    put_uvarint(out, spans.len() as u64);
    for s in spans {
        put_varint(out, i64::from(s.offset));
        put_uvarint(out, u64::from(s.length));
    }
}

/// Appends framed histogram records (split every [`MAX_SAMPLES_PER_RECORD`]). Refs and
/// timestamps as in samples records; each histogram as hint u8, schema, zero threshold,
/// zero count, count, sum (f64 LE), custom bounds, positive and negative spans and buckets.
pub(crate) fn encode_histograms(out: &mut Vec<u8>, hs: &[HistogramEntry]) {
    for part in hs.chunks(MAX_SAMPLES_PER_RECORD) {
        frame(out, RecordType::Histograms, |b| {
            put_uvarint(b, part.len() as u64);
            let (mut pid, mut pt) = (0u64, 0i64);
            for e in part {
                put_varint(b, e.id.wrapping_sub(pid) as i64);
                put_varint(b, e.t.wrapping_sub(pt));
                pid = e.id;
                pt = e.t;
                let h = &e.h;
                b.push(h.counter_reset_hint.number() as u8);
                put_varint(b, i64::from(h.schema));
                put_f64(b, h.zero_threshold);
                put_f64(b, h.zero_count);
                put_f64(b, h.count);
                put_f64(b, h.sum);
                put_uvarint(b, h.custom_values.len() as u64);
                for c in &h.custom_values {
                    put_f64(b, *c);
                }
                put_spans(b, &h.positive_spans);
                put_spans(b, &h.negative_spans);
                for side in [&h.positive_buckets, &h.negative_buckets] {
                    put_uvarint(b, side.len() as u64);
                    for c in side {
                        put_f64(b, *c);
                    }
                }
            }
        });
    }
}

fn put_labels(out: &mut Vec<u8>, labels: &Labels) {
    put_uvarint(out, labels.len() as u64);
    for l in labels.iter() {
        put_str(out, &l.name);
        put_str(out, &l.value);
    }
}

/// Appends framed exemplar records (split every [`MAX_SAMPLES_PER_RECORD`]). Timestamps are
/// zigzag deltas against the previous exemplar of the record; each entry carries the series'
/// labels, then the exemplar's value (f64 LE) and labels.
pub(crate) fn encode_exemplars(out: &mut Vec<u8>, entries: &[ExemplarEntry]) {
    for part in entries.chunks(MAX_SAMPLES_PER_RECORD) {
        frame(out, RecordType::Exemplars, |b| {
            put_uvarint(b, part.len() as u64);
            let mut pt = 0i64;
            for e in part {
                put_labels(b, &e.series);
                put_varint(b, e.exemplar.t.wrapping_sub(pt));
                pt = e.exemplar.t;
                put_f64(b, e.exemplar.value);
                put_labels(b, &e.exemplar.labels);
            }
        });
    }
}

// ---------------------------------------------------------------- framing on read

/// What [`next_frame`] found at an offset.
#[derive(Debug)]
pub(crate) enum Frame<'a> {
    /// A complete frame with a valid checksum; `next` is the offset after it.
    Ok { ty: u8, payload: &'a [u8], next: usize },
    /// The buffer ends at `offset` exactly.
    End,
    /// The frame at `offset` is cut short or damaged.
    Damaged {
        reason: String,
        claimed_len: Option<usize>,
    },
}

/// Parses the frame starting at `offset` of `buf`.
pub(crate) fn next_frame(buf: &[u8], offset: usize) -> Frame<'_> {
    let rest = &buf[offset.min(buf.len())..];
    if rest.is_empty() {
        return Frame::End;
    }
    if rest.len() < FRAME_HEADER_LEN {
        return Frame::Damaged {
            reason: format!("torn frame header ({} of {FRAME_HEADER_LEN} bytes)", rest.len()),
            claimed_len: None,
        };
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len > MAX_PAYLOAD_LEN {
        return Frame::Damaged {
            reason: format!("implausible record length {len}"),
            claimed_len: None,
        };
    }
    if rest.len() < FRAME_HEADER_LEN + len {
        return Frame::Damaged {
            reason: format!(
                "torn record: {len} payload bytes announced, {} present",
                rest.len() - FRAME_HEADER_LEN
            ),
            claimed_len: None,
        };
    }
    let body = &rest[8..FRAME_HEADER_LEN + len];
    let actual = crc32c::crc32c(body);
    if actual != crc {
        return Frame::Damaged {
            reason: format!("checksum mismatch (stored {crc:#010x}, computed {actual:#010x})"),
            claimed_len: Some(len),
        };
    }
    Frame::Ok {
        ty: rest[8],
        payload: &rest[FRAME_HEADER_LEN..FRAME_HEADER_LEN + len],
        next: offset + FRAME_HEADER_LEN + len,
    }
}

// ---------------------------------------------------------------- decoding

struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    fn uvarint(&mut self) -> Result<u64, String> {
        let mut x = 0u64;
        let mut shift = 0;
        loop {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| format!("varint runs past the record end at byte {}", self.pos))?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(format!("varint overflows 64 bits at byte {}", self.pos));
            }
            x |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(x);
            }
            shift += 7;
        }
    }

    fn varint(&mut self) -> Result<i64, String> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| format!("{n} bytes wanted at byte {} past the record end", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }

    fn f64(&mut self) -> Result<f64, String> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }

    fn str(&mut self) -> Result<&'a str, String> {
        let n = self.uvarint()?;
        let n = usize::try_from(n).map_err(|_| format!("string length {n} too large"))?;
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|e| format!("string is not UTF-8: {e}"))
    }

    /// A count of items each at least `min_item` bytes, sanity-checked against the buffer.
    fn count(&mut self, min_item: usize) -> Result<usize, String> {
        let n = self.uvarint()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(min_item as u64) > remaining {
            return Err(format!(
                "count {n} does not fit in the {remaining} remaining bytes"
            ));
        }
        Ok(n as usize)
    }

    fn spans(&mut self) -> Result<Vec<BucketSpan>, String> {
        let n = self.count(2)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let off = self.varint()?;
            let len = self.uvarint()?;
            let (Ok(offset), Ok(length)) = (i32::try_from(off), u32::try_from(len)) else {
                return Err(format!("bad histogram span ({off}, {len})"));
            };
            out.push(BucketSpan::new(offset, length));
        }
        Ok(out)
    }

    fn floats(&mut self) -> Result<Vec<f64>, String> {
        let n = self.count(8)?;
        (0..n).map(|_| self.f64()).collect()
    }

    fn histogram(&mut self) -> Result<FloatHistogram, String> {
        let hint = CounterResetHint::from_number(i32::from(self.u8()?));
        let schema = self.varint()?;
        let schema = i32::try_from(schema).map_err(|_| format!("bad histogram schema {schema}"))?;
        let zero_threshold = self.f64()?;
        let zero_count = self.f64()?;
        let count = self.f64()?;
        let sum = self.f64()?;
        let custom_values = self.floats()?;
        let positive_spans = self.spans()?;
        let negative_spans = self.spans()?;
        let positive_buckets = self.floats()?;
        let negative_buckets = self.floats()?;
        Ok(FloatHistogram {
            counter_reset_hint: hint,
            schema,
            zero_threshold,
            zero_count,
            count,
            sum,
            positive_spans,
            negative_spans,
            positive_buckets,
            negative_buckets,
            custom_values,
        })
    }

    /// A label set: count, then name and value strings (made canonical if they are not).
    fn labels(&mut self, intern: &mut dyn FnMut(&str) -> Arc<str>) -> Result<Labels, String> {
        let n = self.count(2)?;
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let name = intern(self.str()?);
            let value = intern(self.str()?);
            labels.push(Label { name, value });
        }
        Ok(Labels::from_sorted(labels))
    }

    fn finish(&self) -> Result<(), String> {
        if self.pos != self.buf.len() {
            return Err(format!("{} trailing bytes", self.buf.len() - self.pos));
        }
        Ok(())
    }
}

/// Decodes a record payload of type byte `ty` (decompressing it first when `ty` has
/// [`COMPRESSED_FLAG`]). `intern` turns label strings into shared ones.
pub(crate) fn decode(
    ty: u8,
    payload: &[u8],
    intern: &mut dyn FnMut(&str) -> Arc<str>,
) -> Result<Record, String> {
    if ty & COMPRESSED_FLAG != 0 {
        let plain = decompress(payload)?;
        return decode_plain(record_kind(ty), &plain, intern);
    }
    decode_plain(ty, payload, intern)
}

/// [`decode`] of an uncompressed payload.
fn decode_plain(ty: u8, payload: &[u8], intern: &mut dyn FnMut(&str) -> Arc<str>) -> Result<Record, String> {
    let mut d = Dec { buf: payload, pos: 0 };
    let rt = RecordType::from_byte(ty).ok_or_else(|| format!("unknown record type {ty}"))?;
    let rec = match rt {
        RecordType::Series => {
            let n = d.count(2)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let id = d.uvarint()?;
                let nl = d.count(2)?;
                let mut labels = Vec::with_capacity(nl);
                for _ in 0..nl {
                    let name = intern(d.str()?);
                    let value = intern(d.str()?);
                    labels.push(Label { name, value });
                }
                out.push(SeriesEntry {
                    id,
                    labels: Labels::from_sorted(labels),
                });
            }
            Record::Series(out)
        }
        RecordType::Samples => {
            let n = d.count(10)?;
            let mut out = Vec::with_capacity(n);
            let (mut id, mut t) = (0u64, 0i64);
            for _ in 0..n {
                id = id.wrapping_add(d.varint()? as u64);
                t = t.wrapping_add(d.varint()?);
                let v = d.f64()?;
                out.push(SampleEntry { id, t, v });
            }
            Record::Samples(out)
        }
        RecordType::Metadata => {
            let n = d.count(4)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let family = d.str()?.to_string();
                let tb = d.u8()?;
                let metric_type = MetricType::from_number(i64::from(tb))
                    .ok_or_else(|| format!("unknown metric type {tb}"))?;
                let help = d.str()?.to_string();
                let unit = d.str()?.to_string();
                out.push((
                    family,
                    MetricMetadata {
                        metric_type,
                        help,
                        unit,
                    },
                ));
            }
            Record::Metadata(out)
        }
        RecordType::Tombstones => {
            let n = d.count(3)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let id = d.uvarint()?;
                let mint = d.varint()?;
                let maxt = d.varint()?;
                if mint > maxt {
                    return Err(format!(
                        "tombstone of series {id} with start {mint} after end {maxt}"
                    ));
                }
                out.push(TombstoneEntry { id, mint, maxt });
            }
            Record::Tombstones(out)
        }
        RecordType::Histograms => {
            let n = d.count(40)?;
            let mut out = Vec::with_capacity(n);
            let (mut id, mut t) = (0u64, 0i64);
            for _ in 0..n {
                id = id.wrapping_add(d.varint()? as u64);
                t = t.wrapping_add(d.varint()?);
                let h = d.histogram()?;
                out.push(HistogramEntry { id, t, h });
            }
            Record::Histograms(out)
        }
        RecordType::Exemplars => {
            let n = d.count(11)?;
            let mut out = Vec::with_capacity(n);
            let mut t = 0i64;
            for _ in 0..n {
                let series = d.labels(intern)?;
                t = t.wrapping_add(d.varint()?);
                let value = d.f64()?;
                let labels = d.labels(intern)?;
                out.push(ExemplarEntry {
                    series,
                    exemplar: Exemplar { labels, value, t },
                });
            }
            Record::Exemplars(out)
        }
    };
    d.finish()?;
    Ok(rec)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;

    fn intern(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    fn roundtrip(buf: &[u8]) -> Vec<Record> {
        let mut off = 0;
        let mut out = Vec::new();
        loop {
            match next_frame(buf, off) {
                Frame::Ok { ty, payload, next } => {
                    out.push(decode(ty, payload, &mut intern).unwrap());
                    off = next;
                }
                Frame::End => return out,
                Frame::Damaged { reason, .. } => panic!("{reason}"),
            }
        }
    }

    #[test]
    fn tombstones_roundtrip_and_reject_inverted_ranges() {
        let t = vec![
            TombstoneEntry {
                id: 7,
                mint: i64::MIN,
                maxt: i64::MAX,
            },
            TombstoneEntry {
                id: 1,
                mint: -5,
                maxt: 10,
            },
        ];
        let mut buf = Vec::new();
        encode_tombstones(&mut buf, &t);
        encode_tombstones(&mut buf, &[]);
        assert_eq!(roundtrip(&buf), vec![Record::Tombstones(t)]);
        let mut payload = Vec::new();
        put_uvarint(&mut payload, 1);
        put_uvarint(&mut payload, 3);
        put_varint(&mut payload, 10);
        put_varint(&mut payload, 5);
        let e = decode(RecordType::Tombstones as u8, &payload, &mut intern).unwrap_err();
        assert!(e.contains("after end"), "{e}");
    }

    #[test]
    fn histogram_records_roundtrip_and_reject_damage() {
        let h = FloatHistogram {
            counter_reset_hint: CounterResetHint::CounterReset,
            schema: -53,
            zero_threshold: 0.0,
            zero_count: 0.0,
            count: 7.5,
            sum: -1.25,
            positive_spans: vec![BucketSpan::new(0, 2), BucketSpan::new(3, 1)],
            negative_spans: Vec::new(),
            positive_buckets: vec![1.0, 2.5, 4.0],
            negative_buckets: Vec::new(),
            custom_values: vec![0.1, 1.0, 10.0],
        };
        let hs = vec![
            HistogramEntry { id: 3, t: 1000, h },
            HistogramEntry {
                id: 1,
                t: 999,
                h: FloatHistogram::stale(),
            },
        ];
        let mut buf = Vec::new();
        encode_histograms(&mut buf, &hs);
        let recs = roundtrip(&buf);
        // Stale markers: the sum is the staleness NaN, bit-exact (NaN != NaN for PartialEq).
        match &recs[..] {
            [Record::Histograms(got)] => {
                assert_eq!(got[0], hs[0]);
                assert!(got[1].h.is_stale() && got[1].t == 999 && got[1].id == 1);
            }
            other => panic!("{other:?}"),
        }
        // Every truncation of the payload is an error, never a panic.
        let Frame::Ok { ty, payload, .. } = next_frame(&buf, 0) else {
            panic!("no frame")
        };
        for cut in 0..payload.len() {
            assert!(decode(ty, &payload[..cut], &mut intern).is_err());
        }
    }

    #[test]
    fn exemplar_records_roundtrip_and_reject_damage() {
        let e = |trace: &str, value: f64, t: i64| Exemplar {
            labels: Labels::from_pairs([("trace_id", trace)]),
            value,
            t,
        };
        let entries = vec![
            ExemplarEntry {
                series: Labels::from_pairs([("__name__", "rpc_seconds_bucket"), ("le", "0.5")]),
                exemplar: e("abc", 0.25, 1_700_000_000_000),
            },
            ExemplarEntry {
                series: Labels::from_pairs([("__name__", "x_total"), ("job", "ü")]),
                exemplar: e("def", f64::NEG_INFINITY, -5),
            },
            ExemplarEntry {
                series: Labels::from_pairs([("__name__", "x_total")]),
                exemplar: Exemplar {
                    labels: Labels::empty(),
                    value: -0.0,
                    t: i64::MAX,
                },
            },
        ];
        let mut buf = Vec::new();
        encode_exemplars(&mut buf, &entries);
        encode_exemplars(&mut buf, &[]);
        assert_eq!(roundtrip(&buf), vec![Record::Exemplars(entries)]);
        let Frame::Ok { ty, payload, .. } = next_frame(&buf, 0) else {
            panic!("no frame")
        };
        assert_eq!(ty, RecordType::Exemplars as u8);
        for cut in 0..payload.len() {
            assert!(decode(ty, &payload[..cut], &mut intern).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn all_record_kinds_roundtrip() {
        let series = vec![
            SeriesEntry {
                id: 1,
                labels: Labels::from_pairs([("__name__", "up"), ("job", "a")]),
            },
            SeriesEntry {
                id: u64::MAX,
                labels: Labels::from_pairs([("x", "ü")]),
            },
        ];
        let samples = vec![
            SampleEntry {
                id: 5,
                t: 1000,
                v: 1.5,
            },
            SampleEntry {
                id: 2,
                t: -7,
                v: STALE_NAN,
            },
            SampleEntry {
                id: u64::MAX,
                t: i64::MAX,
                v: f64::NEG_INFINITY,
            },
            SampleEntry {
                id: 0,
                t: i64::MIN,
                v: -0.0,
            },
        ];
        let meta = vec![(
            "up".to_string(),
            MetricMetadata {
                metric_type: MetricType::Gauge,
                help: "h".into(),
                unit: "".into(),
            },
        )];
        let mut buf = Vec::new();
        encode_series(&mut buf, &series);
        encode_samples(&mut buf, &samples);
        encode_metadata(&mut buf, &meta);
        let recs = roundtrip(&buf);
        assert_eq!(
            recs,
            vec![
                Record::Series(series),
                Record::Samples(samples),
                Record::Metadata(meta)
            ]
        );
    }

    #[test]
    fn big_batches_split_into_several_records() {
        let samples: Vec<SampleEntry> = (0..MAX_SAMPLES_PER_RECORD as u64 * 2 + 3)
            .map(|i| SampleEntry {
                id: i % 7,
                t: i as i64 * 15_000,
                v: i as f64,
            })
            .collect();
        let mut buf = Vec::new();
        encode_samples(&mut buf, &samples);
        let recs = roundtrip(&buf);
        assert_eq!(recs.len(), 3);
        let all: Vec<SampleEntry> = recs
            .into_iter()
            .flat_map(|r| match r {
                Record::Samples(s) => s,
                _ => panic!(),
            })
            .collect();
        assert_eq!(all, samples);
    }

    #[test]
    fn damage_is_detected_not_panicked_on() {
        let mut buf = Vec::new();
        encode_samples(&mut buf, &[SampleEntry { id: 1, t: 2, v: 3.0 }]);
        for cut in 0..buf.len() {
            assert!(matches!(
                next_frame(&buf[..cut], 0),
                Frame::Damaged { .. } | Frame::End
            ));
        }
        for i in 0..buf.len() {
            let mut b = buf.clone();
            b[i] ^= 0x40;
            assert!(
                !matches!(next_frame(&b, 0), Frame::Ok { .. }),
                "flip at {i} undetected"
            );
        }
        // Garbage payloads with a valid frame never panic the decoder.
        for len in 0..40usize {
            let payload: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            for ty in 0..8u8 {
                let _ = decode(ty, &payload, &mut intern);
            }
        }
    }
}
