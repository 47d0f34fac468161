//! Encoding a batch of samples as a remote-write request body: protobuf (1.0
//! `prometheus.WriteRequest` or 2.0 `io.prometheus.write.v2.Request`), then snappy (block
//! format), as both specifications require.

use super::config::ProtobufMessage;
use crate::remote_write::proto;
use bytes::Bytes;
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;
use storage::{Labels, MetricMetadata};

/// A series as a queue sends it: labels after relabeling and external labels, plus the
/// metadata of its family if known.
#[derive(Debug)]
pub struct OutSeries {
    /// Labels sent.
    pub labels: Labels,
    /// The same labels as protobuf messages (built once per series).
    pub proto_labels: Vec<proto::Label>,
    /// Hash of the labels (picks the shard).
    pub hash: u64,
}

impl OutSeries {
    /// Wraps `labels`.
    pub fn new(labels: Labels) -> Self {
        let proto_labels = labels
            .iter()
            .map(|l| proto::Label {
                name: Bytes::copy_from_slice(l.name.as_bytes()),
                value: Bytes::copy_from_slice(l.value.as_bytes()),
            })
            .collect();
        let hash = labels.stable_hash();
        OutSeries {
            labels,
            proto_labels,
            hash,
        }
    }
}

/// The value of a queued sample. Floats are all Sextant's WAL holds today; a native
/// histogram or an exemplar becomes another variant (and an encoding arm) when the WAL
/// carries them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SampleValue {
    /// A float sample (staleness markers included, bit-exact).
    Float(f64),
}

/// One sample waiting in a shard.
#[derive(Clone, Debug)]
pub struct QueuedSample {
    /// Its series.
    pub series: Arc<OutSeries>,
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub value: SampleValue,
    /// Sequence number of the WAL record it came from (for the sent position).
    pub seq: u64,
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

/// Groups samples by series, keeping each series' samples in their order.
fn group(samples: &[QueuedSample]) -> Vec<(&Arc<OutSeries>, Vec<proto::Sample>)> {
    let mut index: foldhash::HashMap<*const OutSeries, usize> = foldhash::HashMap::default();
    let mut out: Vec<(&Arc<OutSeries>, Vec<proto::Sample>)> = Vec::new();
    for s in samples {
        let i = *index.entry(Arc::as_ptr(&s.series)).or_insert_with(|| {
            out.push((&s.series, Vec::new()));
            out.len() - 1
        });
        match s.value {
            SampleValue::Float(v) => out[i].1.push(proto::Sample {
                value: v,
                timestamp: s.t,
            }),
        }
    }
    out
}

/// Encodes samples (and, for 2.0, each series' metadata from `meta`) as a snappy-compressed
/// body. Returns the body and the uncompressed protobuf size.
pub fn encode_samples(
    msg: ProtobufMessage,
    samples: &[QueuedSample],
    meta: Option<&HashMap<String, MetricMetadata>>,
) -> (Vec<u8>, usize) {
    let grouped = group(samples);
    let pb = match msg {
        ProtobufMessage::V1 => proto::WriteRequest {
            timeseries: grouped
                .into_iter()
                .map(|(s, samples)| proto::TimeSeries {
                    labels: s.proto_labels.clone(),
                    samples,
                    exemplars: Vec::new(),
                    histograms: Vec::new(),
                })
                .collect(),
            metadata: Vec::new(),
        }
        .encode_to_vec(),
        ProtobufMessage::V2 => {
            let mut symbols = Symbols::default();
            let timeseries = grouped
                .into_iter()
                .map(|(s, samples)| {
                    let mut refs = Vec::with_capacity(s.labels.len() * 2);
                    for l in s.labels.iter() {
                        refs.push(symbols.get(&l.name));
                        refs.push(symbols.get(&l.value));
                    }
                    let metadata = meta.and_then(|m| {
                        let name = s.labels.get("__name__")?;
                        let fam = family_of(name, m)?;
                        let md = m.get(fam)?;
                        Some(proto::MetadataV2 {
                            r#type: i32::from(md.metric_type.number()),
                            help_ref: symbols.get(&md.help),
                            unit_ref: symbols.get(&md.unit),
                        })
                    });
                    proto::TimeSeriesV2 {
                        labels_refs: refs,
                        samples,
                        histograms: Vec::new(),
                        exemplars: Vec::new(),
                        metadata,
                        created_timestamp: 0,
                    }
                })
                .collect();
            proto::RequestV2 {
                symbols: symbols.list,
                timeseries,
            }
            .encode_to_vec()
        }
    };
    let raw = pb.len();
    (compress(&pb), raw)
}

/// Encodes 1.0 metadata-only requests.
pub fn encode_metadata(entries: &[(String, MetricMetadata)]) -> Vec<u8> {
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
    compress(&pb)
}

fn compress(pb: &[u8]) -> Vec<u8> {
    // Compressing a buffer in memory fails only for inputs over 4 GiB; requests are far smaller.
    snap::raw::Encoder::new().compress_vec(pb).unwrap_or_default()
}

/// The 2.0 symbol table of one request; "" is always symbol 0.
struct Symbols {
    list: Vec<Bytes>,
    index: foldhash::HashMap<String, u32>,
}

impl Default for Symbols {
    fn default() -> Self {
        let mut index = foldhash::HashMap::default();
        index.insert(String::new(), 0);
        Symbols {
            list: vec![Bytes::new()],
            index,
        }
    }
}

impl Symbols {
    fn get(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(Bytes::copy_from_slice(s.as_bytes()));
        self.index.insert(s.to_string(), i);
        i
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::push::PushLimits;
    use storage::MetricType;

    fn series(name: &str, job: &str) -> Arc<OutSeries> {
        Arc::new(OutSeries::new(Labels::from_pairs([
            ("__name__", name),
            ("job", job),
        ])))
    }

    fn batch() -> Vec<QueuedSample> {
        let (a, b) = (series("up", "x"), series("req_total", "x"));
        vec![
            QueuedSample {
                series: a.clone(),
                t: 1,
                value: SampleValue::Float(1.0),
                seq: 0,
            },
            QueuedSample {
                series: b.clone(),
                t: 1,
                value: SampleValue::Float(5.0),
                seq: 0,
            },
            QueuedSample {
                series: a,
                t: 2,
                value: SampleValue::Float(0.0),
                seq: 1,
            },
            QueuedSample {
                series: b,
                t: 2,
                value: SampleValue::Float(f64::from_bits(storage::STALE_NAN_BITS)),
                seq: 1,
            },
        ]
    }

    #[test]
    fn v1_round_trips_through_our_decoder() {
        let (body, raw) = encode_samples(ProtobufMessage::V1, &batch(), None);
        assert!(raw > body.len() / 2);
        let r = crate::remote_write::decode_v1(&body, &PushLimits::default()).unwrap();
        assert_eq!(r.timeseries.len(), 2);
        let up = &r.timeseries[0];
        assert_eq!(up.labels[0].name, "__name__");
        assert_eq!(up.labels[0].value, "up");
        let ts: Vec<i64> = up.samples.iter().map(|s| s.timestamp).collect();
        assert_eq!(ts, vec![1, 2]);
        assert_eq!(
            r.timeseries[1].samples[1].value.to_bits(),
            storage::STALE_NAN_BITS,
            "staleness markers are sent bit-exact"
        );
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
        let (body, _) = encode_samples(ProtobufMessage::V2, &batch(), Some(&meta));
        let r = crate::remote_write::decode_v2(&body, &PushLimits::default()).unwrap();
        assert_eq!(r.symbols[0], "");
        let sym = |i: u32| std::str::from_utf8(&r.symbols[i as usize]).unwrap().to_string();
        let t = &r.timeseries[1];
        let labels: Vec<String> = t.labels_refs.iter().map(|&i| sym(i)).collect();
        assert_eq!(labels, ["__name__", "req_total", "job", "x"]);
        let md = t.metadata.unwrap();
        assert_eq!(md.r#type, 1);
        assert_eq!(sym(md.help_ref), "Requests.");
        assert!(r.timeseries[0].metadata.is_none());
        // "x" appears once in the table though two series use it.
        assert_eq!(r.symbols.iter().filter(|s| s.as_ref() == b"x").count(), 1);
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
