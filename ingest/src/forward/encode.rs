//! Encoding a batch as a remote-write request body: protobuf (1.0 `prometheus.WriteRequest`
//! or 2.0 `io.prometheus.write.v2.Request`), then snappy (block format), as both
//! specifications require.
//!
//! Each shard owns one [`BatchEncoder`] and reuses its buffers and its snappy encoder for
//! every request. A series' 1.0 label bytes are encoded once, when the queue first reads the
//! series ([`OutSeries::new`]), and copied into every request that carries it. The samples of
//! one series in a batch become one `TimeSeries`, in their order.

use super::config::ProtobufMessage;
use super::exemplar::{put_v1_exemplar, put_v2_exemplar};
use super::series::SeriesTable;
use super::wire::{self, histogram as hf, v1, v2};
use crate::remote_write::proto;
use bytes::Bytes;
use prost::Message;
use std::collections::HashMap;
use storage::prefetch::prefetch;
use storage::{BucketSpan, Exemplar, FloatHistogram, Labels, MetricMetadata};

/// How many series ahead [`BatchEncoder`] asks for the label bytes it will copy: a series'
/// labels live in their own allocation, cold by the time a request needs them again, and
/// the copy waited on memory for each series in turn (12 % of the agent's CPU in a profile).
const PREFETCH_AHEAD: usize = 6;

/// Cache lines of a series' 1.0 label bytes asked for ahead (the rest follow sequentially).
const PREFETCH_LINES: usize = 8;

/// How many series ahead the table entry (which points to the labels) is asked for, so that
/// [`PREFETCH_AHEAD`]'s read of it does not wait (9 % of the agent's CPU waited there).
const PREFETCH_ENTRY_AHEAD: usize = 2 * PREFETCH_AHEAD;

/// A series as a queue sends it: labels after relabeling and external labels.
#[derive(Debug)]
pub struct OutSeries {
    /// Labels sent, kept by the queues that may send 2.0 (which writes them as symbol
    /// references); `None` in a 1.0 queue, which needs only `v1_labels`.
    pub labels: Option<Labels>,
    /// The labels as the `labels` field of a 1.0 `TimeSeries` (encoded once per series).
    pub v1_labels: Box<[u8]>,
    /// Hash of the labels (picks the shard).
    pub hash: u64,
}

impl OutSeries {
    /// Wraps `labels` for a queue that may send 2.0 (and falls back to 1.0 on a 415).
    pub fn new(labels: Labels) -> Self {
        let mut s = Self::v1_only(&labels);
        s.labels = Some(labels);
        s
    }

    /// The series for a 1.0 queue: only the encoded labels and the hash are kept. The
    /// decoded label set is then freed: at 560 k series it was about 300 bytes a series of
    /// the agent's heap (the label strings the WAL reader decoded, and their array).
    pub fn v1_only(labels: &Labels) -> Self {
        OutSeries {
            labels: None,
            v1_labels: encode_v1_labels(labels),
            hash: labels.stable_hash(),
        }
    }
}

/// `labels` as the `labels` field of a 1.0 `TimeSeries`.
pub fn encode_v1_labels(labels: &Labels) -> Box<[u8]> {
    let mut v1_labels = Vec::new();
    wire::put_v1_labels(&mut v1_labels, labels.iter().map(|l| (&*l.name, &*l.value)));
    v1_labels.into_boxed_slice()
}

/// The value of a queued sample.
#[derive(Clone, Debug, PartialEq)]
pub enum SampleValue {
    /// A float sample (staleness markers included, bit-exact).
    Float(f64),
    /// A native histogram (sent in the integer form when every count is whole, as written
    /// by clients; in the float form otherwise).
    Histogram(Box<FloatHistogram>),
    /// An exemplar of the series (`send_exemplars: true`; its timestamp is the sample's).
    Exemplar(Box<Exemplar>),
}

/// One sample waiting in a shard.
#[derive(Clone, Debug)]
pub struct QueuedSample {
    /// Its series: a slot of the queue's [`SeriesTable`].
    pub series: u32,
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub value: SampleValue,
    /// Sequence number of the WAL record it came from (for the sent position).
    pub seq: u64,
}

impl QueuedSample {
    /// Whether it is a native histogram.
    pub fn is_histogram(&self) -> bool {
        matches!(self.value, SampleValue::Histogram(_))
    }

    /// Whether it is an exemplar.
    pub fn is_exemplar(&self) -> bool {
        matches!(self.value, SampleValue::Exemplar(_))
    }
}

/// The family a series' metric name belongs to (suffixes of counters, histograms and
/// summaries stripped when the stripped name has metadata).
pub fn family_of<'a>(name: &'a str, meta: &HashMap<String, MetricMetadata>) -> Option<&'a str> {
    if meta.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_total", "_bucket", "_count", "_sum", "_created", "_info"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if meta.contains_key(base) {
                return Some(base);
            }
        }
    }
    None
}

/// A shard's reusable encoding state.
#[derive(Default)]
pub struct BatchEncoder {
    /// The protobuf of the request being built.
    pb: Vec<u8>,
    /// 2.0: the timeseries, written before the symbol table is complete.
    series_buf: Vec<u8>,
    /// One message (a 2.0 `TimeSeries`, or the histograms of one series) before its length
    /// is known.
    one: Vec<u8>,
    /// One histogram (or exemplar).
    hist: Vec<u8>,
    /// The exemplars of one series.
    exemplars: Vec<u8>,
    /// Snappy output.
    compressed: Vec<u8>,
    snappy: Option<snap::raw::Encoder>,
    /// Grouping by series: slot -> group, each group's series, sample count and first
    /// position in `order`, and the batch's indexes ordered by group.
    group_of: foldhash::HashMap<u32, u32>,
    group_series: Vec<u32>,
    group_start: Vec<u32>,
    group_len: Vec<u32>,
    sample_group: Vec<u32>,
    order: Vec<u32>,
    /// 2.0 label refs of one series.
    refs: Vec<u32>,
}

impl std::fmt::Debug for BatchEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchEncoder").finish_non_exhaustive()
    }
}

impl BatchEncoder {
    /// Encodes `batch` (its series looked up in `table`; for 2.0, each series' metadata
    /// from `meta`) as a snappy-compressed body. Returns the body and the uncompressed
    /// protobuf size. Samples whose slot is empty (cannot happen while the queue frees
    /// slots only after their samples are done) are left out.
    pub fn encode(
        &mut self,
        msg: ProtobufMessage,
        batch: &[QueuedSample],
        table: &SeriesTable,
        meta: Option<&HashMap<String, MetricMetadata>>,
    ) -> (Bytes, usize) {
        self.group(batch);
        self.pb.clear();
        match msg {
            ProtobufMessage::V1 => self.encode_v1(batch, table),
            ProtobufMessage::V2 => self.encode_v2(batch, table, meta),
        }
        let raw = self.pb.len();
        (self.compress(), raw)
    }

    /// Fills the grouping fields: series in order of first appearance, each one's samples
    /// in batch order.
    fn group(&mut self, batch: &[QueuedSample]) {
        self.group_of.clear();
        self.group_series.clear();
        self.group_len.clear();
        self.sample_group.clear();
        for s in batch {
            let next = self.group_series.len() as u32;
            let g = *self.group_of.entry(s.series).or_insert(next);
            if g == next {
                self.group_series.push(s.series);
                self.group_len.push(0);
            }
            self.group_len[g as usize] += 1;
            self.sample_group.push(g);
        }
        self.group_start.clear();
        let mut at = 0u32;
        for &n in &self.group_len {
            self.group_start.push(at);
            at += n;
        }
        self.order.clear();
        self.order.resize(batch.len(), 0);
        // group_start doubles as the fill cursor, then is rewound.
        for (i, &g) in self.sample_group.iter().enumerate() {
            let at = &mut self.group_start[g as usize];
            self.order[*at as usize] = i as u32;
            *at += 1;
        }
        for (start, &n) in self.group_start.iter_mut().zip(&self.group_len) {
            *start -= n;
        }
    }

    /// The batch indexes of group `g`, in order.
    fn members(&self, g: usize) -> std::ops::Range<usize> {
        let start = self.group_start[g] as usize;
        start..start + self.group_len[g] as usize
    }

    /// Asks for the labels of group `g`'s series: its 1.0 label bytes (`v1_bytes`) or its
    /// label array. The encoders call it [`PREFETCH_AHEAD`] groups before they need them.
    fn prefetch_labels(&self, g: usize, table: &SeriesTable, v1_bytes: bool) {
        if let Some(&s) = self.group_series.get(g + PREFETCH_ENTRY_AHEAD - PREFETCH_AHEAD) {
            table.prefetch(s);
        }
        let Some(series) = self.group_series.get(g).and_then(|&s| table.get(s)) else {
            return;
        };
        if v1_bytes {
            let bytes = &series.v1_labels;
            for at in (0..bytes.len().min(PREFETCH_LINES * 64)).step_by(64) {
                prefetch(bytes.as_ptr().wrapping_add(at));
            }
        } else if let Some(labels) = &series.labels {
            let ls = labels.as_slice();
            for i in (0..ls.len().min(16)).step_by(2) {
                prefetch(ls.as_ptr().wrapping_add(i));
            }
        }
    }

    fn encode_v1(&mut self, batch: &[QueuedSample], table: &SeriesTable) {
        (0..PREFETCH_AHEAD).for_each(|g| self.prefetch_labels(g, table, true));
        for g in 0..self.group_series.len() {
            self.prefetch_labels(g + PREFETCH_AHEAD, table, true);
            let Some(series) = table.get(self.group_series[g]) else {
                continue;
            };
            // The histograms first (into `one`), so the series' length is known.
            self.one.clear();
            self.exemplars.clear();
            let mut samples_len = 0;
            for &i in &self.order[self.members(g)] {
                let s = &batch[i as usize];
                match &s.value {
                    SampleValue::Float(v) => {
                        samples_len += wire::len_field_len(v1::TIMESERIES_SAMPLES, wire::sample_len(*v, s.t));
                    }
                    SampleValue::Histogram(h) => {
                        self.hist.clear();
                        put_histogram(&mut self.hist, h, s.t);
                        wire::put_bytes_field(&mut self.one, v1::TIMESERIES_HISTOGRAMS, &self.hist);
                    }
                    SampleValue::Exemplar(e) => {
                        self.hist.clear();
                        put_v1_exemplar(&mut self.hist, e, s.t);
                        wire::put_bytes_field(&mut self.exemplars, v1::TIMESERIES_EXEMPLARS, &self.hist);
                    }
                }
            }
            let len = series.v1_labels.len() + samples_len + self.exemplars.len() + self.one.len();
            wire::put_len_header(&mut self.pb, v1::WRITE_REQUEST_TIMESERIES, len);
            self.pb.extend_from_slice(&series.v1_labels);
            for &i in &self.order[self.members(g)] {
                let s = &batch[i as usize];
                if let SampleValue::Float(v) = s.value {
                    wire::put_sample(&mut self.pb, v1::TIMESERIES_SAMPLES, v, s.t);
                }
            }
            // Field order as prost writes it: samples, exemplars, histograms.
            self.pb.extend_from_slice(&self.exemplars);
            self.pb.extend_from_slice(&self.one);
        }
    }

    fn encode_v2<'a>(
        &mut self,
        batch: &'a [QueuedSample],
        table: &'a SeriesTable,
        meta: Option<&HashMap<String, MetricMetadata>>,
    ) {
        let mut symbols = Symbols::default();
        self.series_buf.clear();
        (0..PREFETCH_AHEAD).for_each(|g| self.prefetch_labels(g, table, false));
        for g in 0..self.group_series.len() {
            self.prefetch_labels(g + PREFETCH_AHEAD, table, false);
            // A 1.0 queue (no label set kept) never sends 2.0.
            let Some(labels) = table.get(self.group_series[g]).and_then(|s| s.labels.as_ref()) else {
                continue;
            };
            self.refs.clear();
            for l in labels.iter() {
                self.refs.push(symbols.get(&l.name));
                self.refs.push(symbols.get(&l.value));
            }
            let metadata = meta.and_then(|m| {
                let name = labels.get("__name__")?;
                let md = m.get(family_of(name, m)?)?;
                Some((
                    md.metric_type.number(),
                    symbols.get(&md.help),
                    symbols.get(&md.unit),
                ))
            });
            self.one.clear();
            self.exemplars.clear();
            wire::put_packed_varints(
                &mut self.one,
                v2::TIMESERIES_LABELS_REFS,
                self.refs.iter().map(|&r| u64::from(r)),
            );
            for &i in &self.order[self.members(g)] {
                let s = &batch[i as usize];
                match &s.value {
                    SampleValue::Float(v) => wire::put_sample(&mut self.one, v2::TIMESERIES_SAMPLES, *v, s.t),
                    SampleValue::Histogram(h) => {
                        self.hist.clear();
                        put_histogram(&mut self.hist, h, s.t);
                        wire::put_bytes_field(&mut self.one, v2::TIMESERIES_HISTOGRAMS, &self.hist);
                    }
                    SampleValue::Exemplar(e) => {
                        self.refs.clear();
                        for l in e.labels.iter() {
                            self.refs.push(symbols.get(&l.name));
                            self.refs.push(symbols.get(&l.value));
                        }
                        self.hist.clear();
                        put_v2_exemplar(&mut self.hist, &self.refs, e.value, s.t);
                        wire::put_bytes_field(&mut self.exemplars, v2::TIMESERIES_EXEMPLARS, &self.hist);
                    }
                }
            }
            self.one.extend_from_slice(&self.exemplars);
            if let Some((ty, help, unit)) = metadata {
                let body = [
                    (v2::METADATA_TYPE, u64::from(ty)),
                    (v2::METADATA_HELP_REF, u64::from(help)),
                    (v2::METADATA_UNIT_REF, u64::from(unit)),
                ];
                let len: usize = body
                    .iter()
                    .filter(|(_, x)| *x != 0)
                    .map(|(_, x)| 1 + wire::varint_len(*x))
                    .sum();
                wire::put_len_header(&mut self.one, v2::TIMESERIES_METADATA, len);
                for (f, x) in body {
                    wire::put_uint_field(&mut self.one, f, x);
                }
            }
            wire::put_bytes_field(&mut self.series_buf, v2::REQUEST_TIMESERIES, &self.one);
        }
        // The symbol table first, as Prometheus writes it.
        for s in &symbols.list {
            wire::put_bytes_field(&mut self.pb, v2::REQUEST_SYMBOLS, s.as_bytes());
        }
        self.pb.extend_from_slice(&self.series_buf);
    }

    fn compress(&mut self) -> Bytes {
        let enc = self.snappy.get_or_insert_with(snap::raw::Encoder::new);
        let max = snap::raw::max_compress_len(self.pb.len());
        if self.compressed.len() < max {
            self.compressed.resize(max, 0);
        }
        // Compressing fails only for inputs over 4 GiB; requests are far smaller.
        let n = enc.compress(&self.pb, &mut self.compressed).unwrap_or(0);
        Bytes::copy_from_slice(&self.compressed[..n])
    }
}

/// Writes the body of a native histogram message: the integer form (delta-encoded bucket
/// counts) when every count is whole, the float form (absolute counts) otherwise, as
/// remote read does.
fn put_histogram(out: &mut Vec<u8>, h: &FloatHistogram, t: i64) {
    let int = h.to_integer();
    match &int {
        Some(ih) => wire::put_uint_field_always(out, hf::COUNT_INT, ih.count),
        None => wire::put_double_field_always(out, hf::COUNT_FLOAT, h.count),
    }
    wire::put_double_field(out, hf::SUM, h.sum);
    wire::put_uint_field(out, hf::SCHEMA, wire::zigzag(i64::from(h.schema)));
    wire::put_double_field(out, hf::ZERO_THRESHOLD, h.zero_threshold);
    match &int {
        Some(ih) => wire::put_uint_field_always(out, hf::ZERO_COUNT_INT, ih.zero_count),
        None => wire::put_double_field_always(out, hf::ZERO_COUNT_FLOAT, h.zero_count),
    }
    put_spans(out, hf::NEGATIVE_SPANS, &h.negative_spans);
    match &int {
        Some(ih) => wire::put_packed_varints(
            out,
            hf::NEGATIVE_DELTAS,
            ih.negative_deltas.iter().map(|&d| wire::zigzag(d)),
        ),
        None => wire::put_packed_doubles(out, hf::NEGATIVE_COUNTS, &h.negative_buckets),
    }
    put_spans(out, hf::POSITIVE_SPANS, &h.positive_spans);
    match &int {
        Some(ih) => wire::put_packed_varints(
            out,
            hf::POSITIVE_DELTAS,
            ih.positive_deltas.iter().map(|&d| wire::zigzag(d)),
        ),
        None => wire::put_packed_doubles(out, hf::POSITIVE_COUNTS, &h.positive_buckets),
    }
    wire::put_uint_field(out, hf::RESET_HINT, h.counter_reset_hint.number() as u64);
    wire::put_uint_field(out, hf::TIMESTAMP, t as u64);
    wire::put_packed_doubles(out, hf::CUSTOM_VALUES, &h.custom_values);
}

fn put_spans(out: &mut Vec<u8>, field: u8, spans: &[BucketSpan]) {
    for s in spans {
        let off = wire::zigzag(i64::from(s.offset));
        let len = u64::from(s.length);
        let body = [(hf::SPAN_OFFSET, off), (hf::SPAN_LENGTH, len)];
        let n: usize = body
            .iter()
            .filter(|(_, x)| *x != 0)
            .map(|(_, x)| 1 + wire::varint_len(*x))
            .sum();
        wire::put_len_header(out, field, n);
        for (f, x) in body {
            wire::put_uint_field(out, f, x);
        }
    }
}

/// Encodes 1.0 metadata-only requests.
pub fn encode_metadata(entries: &[(String, MetricMetadata)]) -> Bytes {
    let pb = proto::WriteRequest {
        timeseries: Vec::new(),
        metadata: entries
            .iter()
            .map(|(name, m)| proto::MetricMetadata {
                r#type: i32::from(m.metric_type.number()),
                metric_family_name: name.clone(),
                help: m.help.clone(),
                unit: m.unit.clone(),
            })
            .collect(),
    }
    .encode_to_vec();
    // Compressing a buffer in memory fails only for inputs over 4 GiB.
    Bytes::from(snap::raw::Encoder::new().compress_vec(&pb).unwrap_or_default())
}

/// The 2.0 symbol table of one request; "" is always symbol 0.
struct Symbols<'a> {
    list: Vec<&'a str>,
    index: foldhash::HashMap<&'a str, u32>,
}

impl Default for Symbols<'_> {
    fn default() -> Self {
        let mut index = foldhash::HashMap::default();
        index.insert("", 0);
        Symbols {
            list: vec![""],
            index,
        }
    }
}

impl<'a> Symbols<'a> {
    fn get(&mut self, s: &'a str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s);
        self.index.insert(s, i);
        i
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::push::PushLimits;
    use crate::remote_write::histogram_from_wire;
    use prompb::histogram::{Count, ZeroCount};
    use storage::{CounterResetHint, MetricType};

    /// A table with `up{job="x"}` in slot 0 and `req_total{job="x"}` in slot 1.
    fn table() -> SeriesTable {
        let mut t = SeriesTable::default();
        for name in ["up", "req_total"] {
            t.insert(OutSeries::new(Labels::from_pairs([
                ("__name__", name),
                ("job", "x"),
            ])));
        }
        t
    }

    fn float(series: u32, t: i64, v: f64, seq: u64) -> QueuedSample {
        QueuedSample {
            series,
            t,
            value: SampleValue::Float(v),
            seq,
        }
    }

    fn batch() -> Vec<QueuedSample> {
        vec![
            float(0, 1, 1.0, 0),
            float(1, 1, 5.0, 0),
            float(0, 2, 0.0, 1),
            float(1, 2, f64::from_bits(storage::STALE_NAN_BITS), 1),
        ]
    }

    /// An integer-count histogram: whole counts, negative and zero buckets, a gap.
    fn int_histogram() -> FloatHistogram {
        FloatHistogram {
            counter_reset_hint: CounterResetHint::NotCounterReset,
            schema: 1,
            zero_threshold: 0.001,
            zero_count: 2.0,
            count: 12.0,
            sum: 17.5,
            positive_spans: vec![BucketSpan::new(-2, 2), BucketSpan::new(3, 1)],
            negative_spans: vec![BucketSpan::new(0, 1)],
            positive_buckets: vec![3.0, 1.0, 4.0],
            negative_buckets: vec![2.0],
            custom_values: Vec::new(),
        }
    }

    /// A float-count histogram (what `rate` or a scaled client writes).
    fn float_histogram() -> FloatHistogram {
        FloatHistogram {
            schema: 0,
            zero_count: 0.5,
            count: 5.25,
            sum: -1.5,
            positive_spans: vec![BucketSpan::new(1, 2)],
            positive_buckets: vec![1.25, 1.5],
            ..int_histogram()
        }
    }

    /// A custom-buckets histogram (schema -53).
    fn custom_histogram() -> FloatHistogram {
        FloatHistogram {
            counter_reset_hint: CounterResetHint::Unknown,
            schema: storage::CUSTOM_BUCKETS_SCHEMA,
            zero_threshold: 0.0,
            zero_count: 0.0,
            count: 6.0,
            sum: 2.0,
            positive_spans: vec![BucketSpan::new(0, 3)],
            negative_spans: Vec::new(),
            positive_buckets: vec![1.0, 2.0, 3.0],
            negative_buckets: Vec::new(),
            custom_values: vec![0.1, 0.5, 1.0],
        }
    }

    fn hist(series: u32, t: i64, h: FloatHistogram) -> QueuedSample {
        QueuedSample {
            series,
            t,
            value: SampleValue::Histogram(Box::new(h)),
            seq: 0,
        }
    }

    fn encode(
        msg: ProtobufMessage,
        batch: &[QueuedSample],
        meta: Option<&HashMap<String, MetricMetadata>>,
    ) -> (Bytes, usize) {
        BatchEncoder::default().encode(msg, batch, &table(), meta)
    }

    #[test]
    fn v1_round_trips_through_our_decoder() {
        let (body, raw) = encode(ProtobufMessage::V1, &batch(), None);
        assert!(raw > body.len() / 2);
        let r = crate::remote_write::decode_v1(&body, &PushLimits::default()).unwrap();
        let want = prompb::WriteRequest {
            timeseries: vec![
                prompb::TimeSeries {
                    labels: vec![
                        prompb::Label::new("__name__", "up"),
                        prompb::Label::new("job", "x"),
                    ],
                    samples: vec![
                        prompb::Sample {
                            value: 1.0,
                            timestamp: 1,
                        },
                        prompb::Sample {
                            value: 0.0,
                            timestamp: 2,
                        },
                    ],
                    ..Default::default()
                },
                prompb::TimeSeries {
                    labels: vec![
                        prompb::Label::new("__name__", "req_total"),
                        prompb::Label::new("job", "x"),
                    ],
                    samples: vec![
                        prompb::Sample {
                            value: 5.0,
                            timestamp: 1,
                        },
                        prompb::Sample {
                            value: f64::from_bits(storage::STALE_NAN_BITS),
                            timestamp: 2,
                        },
                    ],
                    ..Default::default()
                },
            ],
            metadata: Vec::new(),
        };
        // NaN != NaN: compare the stale marker by bits, the rest structurally.
        assert_eq!(
            r.timeseries[1].samples[1].value.to_bits(),
            storage::STALE_NAN_BITS,
            "staleness markers are sent bit-exact"
        );
        let mut r = r;
        r.timeseries[1].samples[1].value = 0.0;
        let mut want = want;
        want.timeseries[1].samples[1].value = 0.0;
        assert_eq!(r, want);
        // Exactly what prost writes for the same message.
        let prost_bytes = want.encode_to_vec();
        let mut ours = BatchEncoder::default();
        let batch: Vec<QueuedSample> = batch()
            .into_iter()
            .map(|mut s| {
                if let SampleValue::Float(v) = &mut s.value {
                    if v.is_nan() {
                        *v = 0.0;
                    }
                }
                s
            })
            .collect();
        ours.encode(ProtobufMessage::V1, &batch, &table(), None);
        assert_eq!(ours.pb, prost_bytes);
    }

    #[test]
    fn buffers_are_reused_between_batches() {
        let mut e = BatchEncoder::default();
        let t = table();
        let (a, _) = e.encode(ProtobufMessage::V1, &batch(), &t, None);
        let (b, _) = e.encode(ProtobufMessage::V1, &batch()[..1], &t, None);
        let (c, _) = e.encode(ProtobufMessage::V1, &batch(), &t, None);
        assert_eq!(a, c);
        let r = crate::remote_write::decode_v1(&b, &PushLimits::default()).unwrap();
        assert_eq!(r.timeseries.len(), 1);
        assert_eq!(r.timeseries[0].samples.len(), 1);
    }

    #[test]
    fn an_empty_slot_is_left_out() {
        let mut t = table();
        t.remove(1);
        let (body, _) = BatchEncoder::default().encode(ProtobufMessage::V1, &batch(), &t, None);
        let r = crate::remote_write::decode_v1(&body, &PushLimits::default()).unwrap();
        assert_eq!(r.timeseries.len(), 1);
    }

    #[test]
    fn v2_symbols_and_metadata() {
        let mut meta = HashMap::new();
        meta.insert(
            "req".to_string(),
            MetricMetadata {
                metric_type: MetricType::Counter,
                help: "Requests.".into(),
                unit: String::new(),
            },
        );
        let (body, _) = encode(ProtobufMessage::V2, &batch(), Some(&meta));
        let r = crate::remote_write::decode_v2(&body, &PushLimits::default()).unwrap();
        assert_eq!(r.symbols[0], "");
        let sym = |i: u32| std::str::from_utf8(&r.symbols[i as usize]).unwrap().to_string();
        let t = &r.timeseries[1];
        let labels: Vec<String> = t.labels_refs.iter().map(|&i| sym(i)).collect();
        assert_eq!(labels, ["__name__", "req_total", "job", "x"]);
        let md = t.metadata.unwrap();
        assert_eq!(md.r#type, 1);
        assert_eq!(sym(md.help_ref), "Requests.");
        assert_eq!(md.unit_ref, 0);
        assert!(r.timeseries[0].metadata.is_none());
        let ts: Vec<i64> = r.timeseries[0].samples.iter().map(|s| s.timestamp).collect();
        assert_eq!(ts, [1, 2]);
        // "x" appears once in the table though two series use it.
        assert_eq!(r.symbols.iter().filter(|s| s.as_ref() == b"x").count(), 1);
    }

    /// Decodes `body` as 1.0 and returns series 0's histograms, converted back.
    fn histograms_v1(body: &[u8]) -> Vec<(i64, Option<FloatHistogram>, prompb::Histogram)> {
        let r = crate::remote_write::decode_v1(body, &PushLimits::default()).unwrap();
        r.timeseries[0]
            .histograms
            .iter()
            .map(|h| (h.timestamp, histogram_from_wire(h).ok(), h.clone()))
            .collect()
    }

    #[test]
    fn histograms_integer_float_and_custom_buckets_in_v1() {
        let hs = [
            int_histogram(),
            float_histogram(),
            custom_histogram(),
            FloatHistogram::stale(),
        ];
        let batch: Vec<QueuedSample> = hs
            .iter()
            .enumerate()
            .map(|(i, h)| hist(0, 10 + i as i64, h.clone()))
            .chain([float(0, 20, 1.5, 0)])
            .collect();
        let (body, _) = encode(ProtobufMessage::V1, &batch, None);
        let got = histograms_v1(&body);
        assert_eq!(got.len(), 4);
        for (i, (t, back, wire)) in got.iter().enumerate() {
            assert_eq!(*t, 10 + i as i64);
            if i == 3 {
                assert_eq!(
                    wire.sum.to_bits(),
                    storage::STALE_NAN_BITS,
                    "a stale histogram stays stale"
                );
                continue;
            }
            assert_eq!(back.as_ref(), Some(&hs[i]), "histogram {i} round trips");
            let int = matches!(wire.count, Some(Count::CountInt(_)));
            assert_eq!(
                int,
                i != 1,
                "integer form exactly when every count is whole ({i})"
            );
        }
        // Integer form: delta-encoded buckets, integer zero count.
        let w = &got[0].2;
        assert_eq!(w.positive_deltas, [3, -2, 3]);
        assert_eq!(w.negative_deltas, [2]);
        assert_eq!(w.zero_count, Some(ZeroCount::ZeroCountInt(2)));
        assert_eq!(w.reset_hint, 2);
        // Float form: absolute counts.
        assert_eq!(got[1].2.positive_counts, [1.25, 1.5]);
        assert_eq!(got[1].2.zero_count, Some(ZeroCount::ZeroCountFloat(0.5)));
        // Custom buckets keep their bounds.
        assert_eq!(got[2].2.schema, storage::CUSTOM_BUCKETS_SCHEMA);
        assert_eq!(got[2].2.custom_values, [0.1, 0.5, 1.0]);
        // The float sample of the same series travels in the same TimeSeries.
        let r = crate::remote_write::decode_v1(&body, &PushLimits::default()).unwrap();
        assert_eq!(r.timeseries.len(), 1);
        assert_eq!(
            r.timeseries[0].samples,
            [prompb::Sample {
                value: 1.5,
                timestamp: 20
            }]
        );
    }

    #[test]
    fn histograms_in_v2() {
        let batch = vec![
            hist(1, 5, int_histogram()),
            float(0, 5, 1.0, 0),
            hist(1, 6, float_histogram()),
            hist(1, 7, custom_histogram()),
        ];
        let (body, _) = encode(ProtobufMessage::V2, &batch, None);
        let r = crate::remote_write::decode_v2(&body, &PushLimits::default()).unwrap();
        assert_eq!(r.timeseries.len(), 2);
        let t = &r.timeseries[0];
        assert_eq!(
            std::str::from_utf8(&r.symbols[t.labels_refs[1] as usize]).unwrap(),
            "req_total"
        );
        let back: Vec<FloatHistogram> = t
            .histograms
            .iter()
            .map(|h| histogram_from_wire(h).unwrap())
            .collect();
        assert_eq!(back, [int_histogram(), float_histogram(), custom_histogram()]);
        let ts: Vec<i64> = t.histograms.iter().map(|h| h.timestamp).collect();
        assert_eq!(ts, [5, 6, 7]);
        assert_eq!(r.timeseries[1].samples.len(), 1);
    }

    fn exemplar(series: u32, t: i64, trace: &str, v: f64) -> QueuedSample {
        QueuedSample {
            series,
            t,
            value: SampleValue::Exemplar(Box::new(Exemplar {
                labels: Labels::from_pairs([("trace_id", trace)]),
                value: v,
                t,
            })),
            seq: 0,
        }
    }

    #[test]
    fn exemplars_in_v1_are_what_prost_writes() {
        // Exemplars interleaved with samples and a histogram: each series' exemplars go in
        // its TimeSeries, between samples and histograms as prost orders the fields.
        let batch = vec![
            float(0, 1, 1.0, 0),
            exemplar(0, 1, "a1", 1.0),
            exemplar(1, 2, "b1", 0.5),
            hist(0, 3, int_histogram()),
            float(0, 4, 2.0, 0),
            exemplar(0, 4, "a2", 3.0),
        ];
        let mut e = BatchEncoder::default();
        e.encode(ProtobufMessage::V1, &batch, &table(), None);
        let ex = |t: i64, trace: &str, v: f64| prompb::Exemplar {
            labels: vec![prompb::Label::new("trace_id", trace)],
            value: v,
            timestamp: t,
        };
        let labels = |name: &str| {
            vec![
                prompb::Label::new("__name__", name),
                prompb::Label::new("job", "x"),
            ]
        };
        let s = |v: f64, t: i64| prompb::Sample {
            value: v,
            timestamp: t,
        };
        let int = histograms_v1(&encode(ProtobufMessage::V1, &[hist(0, 3, int_histogram())], None).0);
        let want = prompb::WriteRequest {
            timeseries: vec![
                prompb::TimeSeries {
                    labels: labels("up"),
                    samples: vec![s(1.0, 1), s(2.0, 4)],
                    exemplars: vec![ex(1, "a1", 1.0), ex(4, "a2", 3.0)],
                    histograms: vec![int[0].2.clone()],
                },
                prompb::TimeSeries {
                    labels: labels("req_total"),
                    exemplars: vec![ex(2, "b1", 0.5)],
                    ..Default::default()
                },
            ],
            metadata: Vec::new(),
        };
        assert_eq!(e.pb, want.encode_to_vec());
        let r = crate::remote_write::decode_v1(&e.compress(), &PushLimits::default()).unwrap();
        assert_eq!(r, want);
    }

    #[test]
    fn exemplars_in_v2_use_symbols() {
        let batch = vec![
            exemplar(1, 7, "x", 2.5),
            float(1, 7, 1.0, 0),
            exemplar(0, 8, "trace_id", 4.0),
        ];
        let (body, _) = encode(ProtobufMessage::V2, &batch, None);
        let r = crate::remote_write::decode_v2(&body, &PushLimits::default()).unwrap();
        let sym = |i: u32| std::str::from_utf8(&r.symbols[i as usize]).unwrap().to_string();
        let t = &r.timeseries[0];
        assert_eq!(sym(t.labels_refs[1]), "req_total");
        assert_eq!(t.samples.len(), 1);
        assert_eq!(t.exemplars.len(), 1);
        let e = &t.exemplars[0];
        let labels: Vec<String> = e.labels_refs.iter().map(|&i| sym(i)).collect();
        assert_eq!(labels, ["trace_id", "x"]);
        assert_eq!((e.value, e.timestamp), (2.5, 7));
        let e = &r.timeseries[1].exemplars[0];
        assert_eq!(
            e.labels_refs[0], e.labels_refs[1],
            "one symbol for a repeated string"
        );
        // Symbols are shared with the series' labels ("x" is the job's value too).
        assert_eq!(r.symbols.iter().filter(|s| s.as_ref() == b"x").count(), 1);
        assert_eq!(r.symbols.iter().filter(|s| s.as_ref() == b"trace_id").count(), 1);
    }

    #[test]
    fn metadata_request() {
        let body = encode_metadata(&[(
            "up".into(),
            MetricMetadata {
                metric_type: MetricType::Gauge,
                help: "Up.".into(),
                unit: String::new(),
            },
        )]);
        let r = crate::remote_write::decode_v1(&body, &PushLimits::default()).unwrap();
        assert_eq!(r.metadata[0].metric_family_name, "up");
        assert_eq!(r.metadata[0].r#type, 2);
    }
}
