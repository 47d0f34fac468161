//! A streaming decoder for `prometheus.WriteRequest` that borrows from the decompressed body.
//!
//! The receiver's hot path: instead of building the message tree (a `Vec` of series, each with
//! a `Vec` of labels holding byte slices), each series is handed to a callback as a view whose
//! label names and values point into the body, with buffers reused between series. Native
//! histograms (rare) and metadata are decoded with prost from their bytes. The wire format is
//! protobuf's: `(field << 3 | wire type)` varint keys; unknown fields are skipped as protobuf
//! requires. [`super::proto::WriteRequest`] remains the reference decoder; the tests check both
//! agree.

use super::proto::{Histogram, MetricMetadata, Sample};
use prost::Message;

/// One series of a request, borrowing from the body.
#[derive(Debug, Default)]
pub struct SeriesView<'a> {
    /// `(name, value)` as sent (not yet checked for UTF-8).
    pub labels: Vec<(&'a [u8], &'a [u8])>,
    /// Float samples.
    pub samples: Vec<Sample>,
    /// Native histogram samples.
    pub histograms: Vec<Histogram>,
    /// Exemplars, as their undecoded `prometheus.Exemplar` messages (rare; decoded on use
    /// with [`decode_exemplar`]).
    pub exemplars: Vec<&'a [u8]>,
}

impl SeriesView<'_> {
    fn clear(&mut self) {
        self.labels.clear();
        self.samples.clear();
        self.histograms.clear();
        self.exemplars.clear();
    }
}

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const I32: u8 = 5;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    #[inline]
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// A varint; keys and lengths are mostly one byte, which takes the inlined fast path.
    #[inline]
    fn varint(&mut self) -> Result<u64, String> {
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        self.varint_long()
    }

    #[inline(never)]
    fn varint_long(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(format!("truncated varint at byte {}", self.pos));
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(format!("varint longer than 10 bytes at byte {}", self.pos))
    }

    #[inline]
    fn key(&mut self) -> Result<(u64, u8), String> {
        let k = self.varint()?;
        let field = k >> 3;
        if field == 0 {
            return Err(format!("field number 0 at byte {}", self.pos));
        }
        Ok((field, (k & 7) as u8))
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| format!("length {n} at byte {} runs past the end of the message", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    #[inline]
    fn len_delimited(&mut self) -> Result<&'a [u8], String> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| format!("length {n} too large"))?;
        self.take(n)
    }

    #[inline]
    fn fixed64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn skip(&mut self, field: u64, wire: u8) -> Result<(), String> {
        self.skip_field(wire, field, 0)
    }

    /// Skips one field; `field` is the group's number for deprecated groups.
    fn skip_field(&mut self, wire: u8, field: u64, depth: u32) -> Result<(), String> {
        match wire {
            VARINT => self.varint().map(|_| ()),
            I64 => self.take(8).map(|_| ()),
            LEN => self.len_delimited().map(|_| ()),
            I32 => self.take(4).map(|_| ()),
            START_GROUP if depth < 64 => loop {
                let (f, w) = self.key()?;
                if w == END_GROUP {
                    return if f == field {
                        Ok(())
                    } else {
                        Err(format!("group {field} closed by {f} at byte {}", self.pos))
                    };
                }
                self.skip_field(w, f, depth + 1)?;
            },
            w => Err(format!("unsupported wire type {w} at byte {}", self.pos)),
        }
    }

    /// A LEN field's bytes, or an error naming the field when the wire type is wrong.
    #[inline]
    fn expect_len(&mut self, wire: u8, what: &str) -> Result<&'a [u8], String> {
        if wire != LEN {
            return Err(format!("{what}: wire type {wire}, expected length-delimited"));
        }
        self.len_delimited()
    }
}

fn label(b: &[u8]) -> Result<(&[u8], &[u8]), String> {
    // What every sender writes: field 1, then field 2, lengths under 128 bytes.
    if let [0x0a, n, rest @ ..] = b {
        let n = usize::from(*n);
        if n < 0x80 {
            if let (Some(name), Some([0x12, m, value @ ..])) = (rest.get(..n), rest.get(n..)) {
                if *m < 0x80 && usize::from(*m) == value.len() {
                    return Ok((name, value));
                }
            }
        }
    }
    let mut r = Reader::new(b);
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    while !r.done() {
        match r.key()? {
            (1, w) => name = r.expect_len(w, "Label.name")?,
            (2, w) => value = r.expect_len(w, "Label.value")?,
            (f, w) => r.skip(f, w)?,
        }
    }
    Ok((name, value))
}

fn sample(b: &[u8]) -> Result<Sample, String> {
    let mut r = Reader::new(b);
    let mut s = Sample {
        value: 0.0,
        timestamp: 0,
    };
    while !r.done() {
        match r.key()? {
            (1, I64) => s.value = f64::from_bits(r.fixed64()?),
            (2, VARINT) => s.timestamp = r.varint()? as i64,
            (f @ (1 | 2), w) => return Err(format!("Sample field {f}: unexpected wire type {w}")),
            (f, w) => r.skip(f, w)?,
        }
    }
    Ok(s)
}

fn series<'a>(b: &'a [u8], out: &mut SeriesView<'a>) -> Result<(), String> {
    out.clear();
    let mut r = Reader::new(b);
    while !r.done() {
        match r.key()? {
            (1, w) => out.labels.push(label(r.expect_len(w, "TimeSeries.labels")?)?),
            (2, w) => out.samples.push(sample(r.expect_len(w, "TimeSeries.samples")?)?),
            (3, w) => out.exemplars.push(r.expect_len(w, "TimeSeries.exemplars")?),
            (4, w) => {
                let h = Histogram::decode(r.expect_len(w, "TimeSeries.histograms")?)
                    .map_err(|e| format!("histogram: {e}"))?;
                out.histograms.push(h);
            }
            (f, w) => r.skip(f, w)?,
        }
    }
    Ok(())
}

/// Decodes one `prometheus.Exemplar` of a [`SeriesView`].
pub fn decode_exemplar(b: &[u8]) -> Result<super::proto::Exemplar, String> {
    super::proto::Exemplar::decode(b).map_err(|e| format!("exemplar: {e}"))
}

/// One element of a request, in body order.
#[derive(Debug)]
pub enum Item<'v, 'a> {
    /// A series. Mutable so that a caller may keep it by swapping it with a cleared view of
    /// its own (the walk clears the view it parses into).
    Series(&'v mut SeriesView<'a>),
    /// A metadata entry.
    Metadata(MetricMetadata),
}

/// Walks a decompressed `prometheus.WriteRequest`, calling `on_item` for every series and
/// metadata entry, in body order. Stops at the first error (either a decode error, as
/// `Err(Err(message))`, or the callback's, as `Err(Ok(e))`).
pub fn walk_v1<'a, E>(
    body: &'a [u8],
    mut on_item: impl FnMut(Item<'_, 'a>) -> Result<(), E>,
) -> Result<(), Result<E, String>> {
    let mut r = Reader::new(body);
    let mut view = SeriesView::default();
    while !r.done() {
        match r.key().map_err(Err)? {
            (1, w) => {
                let b = r.expect_len(w, "WriteRequest.timeseries").map_err(Err)?;
                series(b, &mut view).map_err(Err)?;
                on_item(Item::Series(&mut view)).map_err(Ok)?;
            }
            (3, w) => {
                let b = r.expect_len(w, "WriteRequest.metadata").map_err(Err)?;
                let m = MetricMetadata::decode(b).map_err(|e| Err(format!("metadata: {e}")))?;
                on_item(Item::Metadata(m)).map_err(Ok)?;
            }
            (f, w) => r.skip(f, w).map_err(Err)?,
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::proto::{Exemplar, Label, TimeSeries, WriteRequest};
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn walk_all(body: &[u8]) -> Result<(Vec<TimeSeries>, Vec<MetricMetadata>), String> {
        let mut ts = Vec::new();
        let mut md = Vec::new();
        walk_v1::<()>(body, |item| {
            match item {
                Item::Series(v) => ts.push(TimeSeries {
                    labels: v
                        .labels
                        .iter()
                        .map(|(n, val)| Label {
                            name: Bytes::copy_from_slice(n),
                            value: Bytes::copy_from_slice(val),
                        })
                        .collect(),
                    samples: v.samples.clone(),
                    exemplars: v
                        .exemplars
                        .iter()
                        .map(|b| super::decode_exemplar(b).unwrap())
                        .collect(),
                    histograms: v.histograms.clone(),
                }),
                Item::Metadata(m) => md.push(m),
            }
            Ok(())
        })
        .map_err(|e| e.err().unwrap_or_default())?;
        Ok((ts, md))
    }

    fn arb_request() -> impl Strategy<Value = WriteRequest> {
        let label = ("[a-z_]{0,6}", ".{0,8}").prop_map(|(n, v): (String, String)| Label {
            name: n.into_bytes().into(),
            value: v.into_bytes().into(),
        });
        let sample = (any::<f64>(), any::<i64>()).prop_map(|(value, timestamp)| Sample { value, timestamp });
        let ts = (
            proptest::collection::vec(label, 0..5),
            proptest::collection::vec(sample, 0..4),
            0usize..2,
            proptest::option::of((any::<u64>(), -4i32..9, any::<f64>())),
        )
            .prop_map(|(labels, samples, ex, h)| TimeSeries {
                labels,
                samples,
                exemplars: vec![Exemplar::default(); ex],
                histograms: h
                    .map(|(c, schema, sum)| Histogram {
                        count: Some(super::super::proto::histogram::Count::CountInt(c)),
                        schema,
                        sum,
                        ..Default::default()
                    })
                    .into_iter()
                    .collect(),
            });
        (
            proptest::collection::vec(ts, 0..6),
            proptest::collection::vec(("[a-z]{0,5}", 0i32..8), 0..3),
        )
            .prop_map(|(timeseries, md)| WriteRequest {
                timeseries,
                metadata: md
                    .into_iter()
                    .map(|(n, t)| MetricMetadata {
                        r#type: t,
                        metric_family_name: n,
                        help: "h".into(),
                        unit: String::new(),
                    })
                    .collect(),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_prost(req in arb_request()) {
            let body = req.encode_to_vec();
            // Compare with what prost decodes (proto3 drops -0.0 and other defaults on the wire).
            let req = WriteRequest::decode(body.as_slice()).unwrap();
            let (ts, md) = walk_all(&body).unwrap();
            // Compare bit-exactly (NaN values included).
            prop_assert_eq!(ts.len(), req.timeseries.len());
            for (a, b) in ts.iter().zip(&req.timeseries) {
                prop_assert_eq!(&a.labels, &b.labels);
                prop_assert_eq!(a.exemplars.len(), b.exemplars.len());
                prop_assert_eq!(a.samples.len(), b.samples.len());
                for (x, y) in a.samples.iter().zip(&b.samples) {
                    prop_assert_eq!((x.timestamp, x.value.to_bits()), (y.timestamp, y.value.to_bits()));
                }
                prop_assert_eq!(a.histograms.len(), b.histograms.len());
            }
            prop_assert_eq!(md, req.metadata);
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let ours = walk_all(&body);
            let prost = WriteRequest::decode(body.as_slice());
            // Whatever prost accepts, we accept too (we may be stricter only about nothing).
            if prost.is_ok() {
                prop_assert!(ours.is_ok(), "{:?}", ours.err());
            }
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let e = walk_all(&[0x0a, 0x05, 0x0a]).unwrap_err();
        assert!(e.contains("past the end"), "{e}");
        let e = walk_all(&[0x0a, 0x02, 0x12, 0x00, 0x0b]).unwrap_err();
        assert!(e.contains("wire type"), "{e}");
    }
}
