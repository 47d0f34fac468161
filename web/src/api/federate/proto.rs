//! Federation in the delimited protobuf format: `io.prometheus.client.MetricFamily`
//! messages ([`prompb::client`]), each prefixed by its length, as Prometheus' handler
//! builds them. Floats are untyped metrics; an exponential histogram is a native histogram
//! with float counts (`sample_count_float`, spans and absolute `*_count` buckets); a
//! custom-bucket histogram is a classic one (cumulative float counts per bound, the `+Inf`
//! bucket implied). Gauge histograms go in `GAUGE_HISTOGRAM` families.

use super::{label_pairs, text::cumulative_buckets, Kind, Latest, Value};
use prompb::client::{self as pb, MetricType};
use prost::Message;
use storage::FloatHistogram;

fn spans(s: &[storage::BucketSpan]) -> Vec<pb::BucketSpan> {
    s.iter()
        .map(|s| pb::BucketSpan {
            offset: Some(s.offset),
            length: Some(s.length),
        })
        .collect()
}

/// A native histogram message (Prometheus' `makeNativeHistogram`).
fn native(h: &FloatHistogram) -> pb::Histogram {
    pb::Histogram {
        sample_count_float: Some(h.count),
        sample_sum: Some(h.sum),
        schema: Some(h.schema),
        zero_threshold: Some(h.zero_threshold),
        zero_count_float: Some(h.zero_count),
        negative_span: spans(&h.negative_spans),
        negative_count: h.negative_buckets.clone(),
        positive_span: spans(&h.positive_spans),
        positive_count: h.positive_buckets.clone(),
        ..Default::default()
    }
}

/// A classic histogram message for a custom-bucket histogram (Prometheus'
/// `makeClassicHistogram`).
fn classic(h: &FloatHistogram) -> pb::Histogram {
    pb::Histogram {
        sample_count_float: Some(h.count),
        sample_sum: Some(h.sum),
        bucket: cumulative_buckets(h)
            .into_iter()
            .map(|(bound, c)| pb::Bucket {
                upper_bound: Some(bound),
                cumulative_count_float: Some(c),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The federated samples (sorted by labels) as length-delimited metric families.
pub(super) fn write(samples: &[Latest], external: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut family: Option<(pb::MetricFamily, Kind)> = None;
    let flush = |f: Option<(pb::MetricFamily, Kind)>, out: &mut Vec<u8>| {
        if let Some((f, _)) = f {
            // Writing to a Vec cannot run out of room.
            let _ = f.encode_length_delimited(out);
        }
    };
    for s in samples {
        let Some(name) = s.labels.metric_name().filter(|n| !n.is_empty()) else {
            continue;
        };
        let kind = s.kind();
        let same = family
            .as_ref()
            .is_some_and(|(f, k)| f.name.as_deref() == Some(name) && *k == kind);
        if !same {
            flush(family.take(), &mut out);
            let r#type = match kind {
                Kind::Float => MetricType::Untyped,
                Kind::Histogram => MetricType::Histogram,
                Kind::GaugeHistogram => MetricType::GaugeHistogram,
            };
            family = Some((
                pb::MetricFamily {
                    name: Some(name.to_string()),
                    r#type: Some(r#type as i32),
                    ..Default::default()
                },
                kind,
            ));
        }
        let mut metric = pb::Metric {
            label: label_pairs(&s.labels, external)
                .into_iter()
                .map(|(n, v)| pb::LabelPair {
                    name: Some(n.to_string()),
                    value: Some(v.to_string()),
                })
                .collect(),
            timestamp_ms: Some(s.t),
            ..Default::default()
        };
        match &s.value {
            Value::Float(v) => metric.untyped = Some(pb::Untyped { value: Some(*v) }),
            Value::Histogram(h) if h.uses_custom_buckets() => metric.histogram = Some(classic(h)),
            Value::Histogram(h) => metric.histogram = Some(native(h)),
        }
        if let Some((f, _)) = family.as_mut() {
            f.metric.push(metric);
        }
    }
    flush(family, &mut out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::external_pairs;
    use super::*;
    use storage::{BucketSpan, CounterResetHint, Labels, CUSTOM_BUCKETS_SCHEMA};

    fn decode_all(mut b: &[u8]) -> Vec<pb::MetricFamily> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let f = pb::MetricFamily::decode_length_delimited(&mut b).unwrap();
            out.push(f);
        }
        out
    }

    #[test]
    fn histograms_and_floats_in_their_own_families() {
        let h = FloatHistogram {
            schema: 3,
            zero_threshold: 0.001,
            zero_count: 1.0,
            count: 7.0,
            sum: -2.5,
            positive_spans: vec![BucketSpan::new(-2, 2), BucketSpan::new(3, 1)],
            positive_buckets: vec![1.0, 2.0, 1.0],
            negative_spans: vec![BucketSpan::new(1, 1)],
            negative_buckets: vec![2.0],
            ..Default::default()
        };
        let gauge = FloatHistogram {
            counter_reset_hint: CounterResetHint::Gauge,
            ..h.clone()
        };
        let nhcb = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: 3.0,
            sum: 1.0,
            positive_spans: vec![BucketSpan::new(1, 1)],
            positive_buckets: vec![3.0],
            custom_values: vec![0.5, 1.0],
            ..Default::default()
        };
        let at = |pairs: &[(&str, &str)], value: Value| Latest {
            labels: Labels::from_pairs(pairs.iter().copied()),
            t: 1234,
            value,
        };
        let samples = [
            at(&[("__name__", "m"), ("a", "1")], Value::Histogram(h.clone())),
            at(&[("__name__", "m"), ("a", "2")], Value::Histogram(h.clone())),
            at(&[("__name__", "m"), ("a", "3")], Value::Float(4.0)),
            at(&[("__name__", "m"), ("a", "4")], Value::Histogram(gauge)),
            at(&[("__name__", "n")], Value::Histogram(nhcb)),
        ];
        let ext = external_pairs(&Labels::from_pairs([("dc", "x")]));
        let got = decode_all(&write(&samples, &ext));
        let types: Vec<(Option<&str>, Option<i32>, usize)> = got
            .iter()
            .map(|f| (f.name.as_deref(), f.r#type, f.metric.len()))
            .collect();
        assert_eq!(
            types,
            vec![
                (Some("m"), Some(MetricType::Histogram as i32), 2),
                (Some("m"), Some(MetricType::Untyped as i32), 1),
                (Some("m"), Some(MetricType::GaugeHistogram as i32), 1),
                (Some("n"), Some(MetricType::Histogram as i32), 1),
            ]
        );
        let m = &got[0].metric[0];
        let labels: Vec<(&str, &str)> = m
            .label
            .iter()
            .map(|l| (l.name.as_deref().unwrap(), l.value.as_deref().unwrap()))
            .collect();
        assert_eq!(labels, vec![("a", "1"), ("dc", "x"), ("instance", "")]);
        assert_eq!(m.timestamp_ms, Some(1234));
        let ph = m.histogram.as_ref().unwrap();
        assert_eq!(ph.sample_count_float, Some(7.0));
        assert_eq!(ph.sample_count, None);
        assert_eq!(ph.sample_sum, Some(-2.5));
        assert_eq!(ph.schema, Some(3));
        assert_eq!(ph.zero_threshold, Some(0.001));
        assert_eq!(ph.zero_count_float, Some(1.0));
        assert_eq!(ph.positive_count, vec![1.0, 2.0, 1.0]);
        assert_eq!(ph.positive_span[1].offset, Some(3));
        assert_eq!(ph.negative_count, vec![2.0]);
        assert_eq!(got[1].metric[0].untyped.map(|u| u.value), Some(Some(4.0)));
        let classic = got[3].metric[0].histogram.as_ref().unwrap();
        let buckets: Vec<(Option<f64>, Option<f64>)> = classic
            .bucket
            .iter()
            .map(|b| (b.upper_bound, b.cumulative_count_float))
            .collect();
        assert_eq!(buckets, vec![(Some(0.5), Some(0.0)), (Some(1.0), Some(3.0))]);
        assert_eq!(classic.schema, None);
    }
}
