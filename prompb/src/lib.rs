//! Prometheus' remote-write and remote-read protobuf messages (and, in [`client`], the
//! protobuf exposition format's), written by hand from
//! Prometheus' `.proto` files (`prompb/types.proto`, `prompb/remote.proto` for 1.0 and remote
//! read; `prompb/io/prometheus/write/v2/types.proto` for 2.0) as `prost` structs. Field numbers
//! are the wire contract; they are checked in the tests below against bytes encoded by hand.
//!
//! Strings that are decoded per series (label names and values, v2 symbols) are declared as
//! `bytes` (same wire format as `string`) so that decoding from a [`bytes::Bytes`] buffer
//! slices instead of copying; UTF-8 is checked when they are used.
//!
//! Only the messages live here: ingest's hand-written fast decoder stays in ingest, and
//! this crate depends on nothing of ours, so ingest, web, the benches and the end-to-end
//! tests share one definition.

use bytes::Bytes;

pub mod client;

/// `prometheus.WriteRequest` (remote write 1.0).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series with their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// Metric family metadata (field 2 is reserved).
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Labels, sorted by name per the spec.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples, oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Exemplars.
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<Exemplar>,
    /// Native histogram samples.
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// Name (UTF-8).
    #[prost(bytes = "bytes", tag = "1")]
    pub name: Bytes,
    /// Value (UTF-8).
    #[prost(bytes = "bytes", tag = "2")]
    pub value: Bytes,
}

/// `prometheus.Sample` (also `io.prometheus.write.v2.Sample`: same fields).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.Exemplar`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    /// Exemplar labels (trace id, ...).
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// The observed value.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    /// `MetricType`: 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gaugehistogram,
    /// 5 summary, 6 info, 7 stateset (same numbers in 2.0's `Metadata.MetricType`).
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// The family name.
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// HELP text.
    #[prost(string, tag = "4")]
    pub help: String,
    /// Unit.
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// A native histogram sample; the same message (and field numbers) in 1.0
/// (`prometheus.Histogram`) and 2.0 (`io.prometheus.write.v2.Histogram`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Total count, integer or float.
    #[prost(oneof = "histogram::Count", tags = "1, 2")]
    pub count: Option<histogram::Count>,
    /// Sum of observations.
    #[prost(double, tag = "3")]
    pub sum: f64,
    /// Bucket schema (-4..=8 exponential, -53 custom).
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    /// Zero bucket width.
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    /// Zero bucket count, integer or float.
    #[prost(oneof = "histogram::ZeroCount", tags = "6, 7")]
    pub zero_count: Option<histogram::ZeroCount>,
    /// Negative bucket spans.
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    /// Negative bucket count deltas (integer histograms).
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    /// Negative bucket absolute counts (float histograms).
    #[prost(double, repeated, tag = "10")]
    pub negative_counts: Vec<f64>,
    /// Positive bucket spans.
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    /// Positive bucket count deltas (integer histograms).
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    /// Positive bucket absolute counts (float histograms).
    #[prost(double, repeated, tag = "13")]
    pub positive_counts: Vec<f64>,
    /// Reset hint: 0 unknown, 1 yes, 2 no, 3 gauge histogram.
    #[prost(int32, tag = "14")]
    pub reset_hint: i32,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
    /// Upper bounds for the custom-buckets schema (-53).
    #[prost(double, repeated, tag = "16")]
    pub custom_values: Vec<f64>,
}

/// The oneofs of [`Histogram`].
pub mod histogram {
    /// Total count.
    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum Count {
        /// Integer histogram.
        #[prost(uint64, tag = "1")]
        CountInt(u64),
        /// Float histogram.
        #[prost(double, tag = "2")]
        CountFloat(f64),
    }

    /// Zero bucket count.
    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum ZeroCount {
        /// Integer histogram.
        #[prost(uint64, tag = "6")]
        ZeroCountInt(u64),
        /// Float histogram.
        #[prost(double, tag = "7")]
        ZeroCountFloat(f64),
    }
}

/// A run of consecutive buckets.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct BucketSpan {
    /// Gap to the previous span (or the first index).
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    /// Number of buckets.
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// `io.prometheus.write.v2.Request` (remote write 2.0). Fields 1-3 are reserved so a 1.0
/// body decoded as 2.0 is empty rather than wrong.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestV2 {
    /// The symbol table; `symbols[0]` must be "".
    #[prost(bytes = "bytes", repeated, tag = "4")]
    pub symbols: Vec<Bytes>,
    /// The series.
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeriesV2>,
}

/// `io.prometheus.write.v2.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeriesV2 {
    /// Name/value pairs as indexes into the symbol table.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// Float samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histogram samples.
    #[prost(message, repeated, tag = "3")]
    pub histograms: Vec<Histogram>,
    /// Exemplars.
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<ExemplarV2>,
    /// Type, help and unit of the series' family.
    #[prost(message, optional, tag = "5")]
    pub metadata: Option<MetadataV2>,
    /// When the counter/histogram started counting (ms); 0 = unset.
    #[prost(int64, tag = "6")]
    pub created_timestamp: i64,
}

/// `io.prometheus.write.v2.Exemplar`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExemplarV2 {
    /// Label refs.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// Value.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// `io.prometheus.write.v2.Metadata`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct MetadataV2 {
    /// Metric type (numbers as in [`MetricMetadata::type`]).
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Symbol ref of the HELP text.
    #[prost(uint32, tag = "3")]
    pub help_ref: u32,
    /// Symbol ref of the unit.
    #[prost(uint32, tag = "4")]
    pub unit_ref: u32,
}

/// `prometheus.ReadRequest` (remote read).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadRequest {
    /// The queries.
    #[prost(message, repeated, tag = "1")]
    pub queries: Vec<Query>,
    /// Response types the client accepts, preferred first (empty = samples).
    #[prost(enumeration = "ResponseType", repeated, tag = "2")]
    pub accepted_response_types: Vec<i32>,
}

/// `prometheus.ReadRequest.ResponseType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ResponseType {
    /// One `ReadResponse` with raw samples.
    Samples = 0,
    /// A stream of XOR chunks.
    StreamedXorChunks = 1,
}

/// `prometheus.ReadResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadResponse {
    /// One result per query, in order.
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<QueryResult>,
}

/// `prometheus.Query`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Query {
    /// Start (ms, inclusive).
    #[prost(int64, tag = "1")]
    pub start_timestamp_ms: i64,
    /// End (ms, inclusive).
    #[prost(int64, tag = "2")]
    pub end_timestamp_ms: i64,
    /// Label matchers (AND).
    #[prost(message, repeated, tag = "3")]
    pub matchers: Vec<LabelMatcher>,
    /// Hints.
    #[prost(message, optional, tag = "4")]
    pub hints: Option<ReadHints>,
}

/// `prometheus.QueryResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryResult {
    /// Series with their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.LabelMatcher`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelMatcher {
    /// EQ = 0, NEQ = 1, RE = 2, NRE = 3.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Label name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Value or pattern.
    #[prost(string, tag = "3")]
    pub value: String,
}

/// `prometheus.ReadHints`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadHints {
    /// Query step (ms).
    #[prost(int64, tag = "1")]
    pub step_ms: i64,
    /// The function around the selector.
    #[prost(string, tag = "2")]
    pub func: String,
    /// Start (ms).
    #[prost(int64, tag = "3")]
    pub start_ms: i64,
    /// End (ms).
    #[prost(int64, tag = "4")]
    pub end_ms: i64,
    /// Grouping labels.
    #[prost(string, repeated, tag = "5")]
    pub grouping: Vec<String>,
    /// `by` (true) or `without`.
    #[prost(bool, tag = "6")]
    pub by: bool,
    /// Range of a range selector (ms).
    #[prost(int64, tag = "7")]
    pub range_ms: i64,
}

impl Label {
    /// A label from name and value (copied).
    pub fn new(name: &str, value: &str) -> Self {
        Label {
            name: Bytes::copy_from_slice(name.as_bytes()),
            value: Bytes::copy_from_slice(value.as_bytes()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use prost::Message;

    /// Hand-encoded bytes pin the field numbers and wire types.
    #[test]
    fn field_numbers_v1() {
        // TimeSeries{labels:[{name:"a",value:"b"}], samples:[{value:1.0, timestamp:5}]}
        let mut ts = vec![0x0a, 6, 0x0a, 1, b'a', 0x12, 1, b'b'];
        ts.extend_from_slice(&[0x12, 11, 0x09]);
        ts.extend_from_slice(&1.0f64.to_le_bytes());
        ts.extend_from_slice(&[0x10, 5]);
        let mut wr = vec![0x0a, ts.len() as u8];
        wr.extend_from_slice(&ts);
        // metadata (field 3): type=1 (counter), name "m" (2), help "h" (4), unit "u" (5)
        wr.extend_from_slice(&[0x1a, 11, 0x08, 1, 0x12, 1, b'm', 0x22, 1, b'h', 0x2a, 1, b'u']);
        let r = WriteRequest::decode(Bytes::from(wr)).unwrap();
        assert_eq!(r.timeseries[0].labels[0].name, "a");
        assert_eq!(r.timeseries[0].labels[0].value, "b");
        assert_eq!(
            r.timeseries[0].samples[0],
            Sample {
                value: 1.0,
                timestamp: 5
            }
        );
        assert_eq!(r.metadata[0].r#type, 1);
        assert_eq!(r.metadata[0].metric_family_name, "m");
        assert_eq!(r.metadata[0].help, "h");
        assert_eq!(r.metadata[0].unit, "u");
    }

    #[test]
    fn field_numbers_v2_and_histogram() {
        // Histogram{count_int=3 (1), sum=2.5 (3), schema=-1 sint32 zigzag=1 (4),
        //   positive_spans=[{offset:-1 zigzag 1, length:2}] (11), positive_deltas=[1,-1] (12)}
        let mut h = vec![0x08, 3, 0x19];
        h.extend_from_slice(&2.5f64.to_le_bytes());
        h.extend_from_slice(&[0x20, 1, 0x5a, 4, 0x08, 1, 0x10, 2, 0x62, 2, 2, 1]);
        // TimeSeriesV2{labels_refs packed [1,2] (1), histograms (3), created_timestamp=7 (6)}
        let mut ts = vec![0x0a, 2, 1, 2, 0x1a, h.len() as u8];
        ts.extend_from_slice(&h);
        ts.extend_from_slice(&[0x2a, 2, 0x08, 2, 0x30, 7]);
        // RequestV2{symbols ["", "__name__", "x"] (4), timeseries (5)}
        let mut r = vec![0x22, 0, 0x22, 8];
        r.extend_from_slice(b"__name__");
        r.extend_from_slice(&[0x22, 1, b'x', 0x2a, ts.len() as u8]);
        r.extend_from_slice(&ts);
        let d = RequestV2::decode(Bytes::from(r)).unwrap();
        assert_eq!(d.symbols.len(), 3);
        let t = &d.timeseries[0];
        assert_eq!(t.labels_refs, vec![1, 2]);
        assert_eq!(t.created_timestamp, 7);
        assert_eq!(t.metadata.unwrap().r#type, 2);
        let h = &t.histograms[0];
        assert_eq!(h.count, Some(histogram::Count::CountInt(3)));
        assert_eq!(h.sum, 2.5);
        assert_eq!(h.schema, -1);
        assert_eq!(
            h.positive_spans,
            vec![BucketSpan {
                offset: -1,
                length: 2
            }]
        );
        assert_eq!(h.positive_deltas, vec![1, -1]);
    }
}
