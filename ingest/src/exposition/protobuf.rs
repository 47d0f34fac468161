//! The protobuf exposition format (`application/vnd.google.protobuf;
//! proto=io.prometheus.client.MetricFamily; encoding=delimited`), the format client libraries
//! serve native histograms in.
//!
//! A body is transcoded into Prometheus text (which the scrape loop's parser, series cache,
//! relabeling, limits and staleness handling then read as for any text target) plus the native
//! histograms. Each native histogram becomes a placeholder sample line `name{labels} 0` in the
//! text, and [`Transcoded::histograms`] holds the histogram by that line's number, so the scrape
//! loop appends a histogram where the line stands, with the same series identity and staleness
//! tracking as a float series.
//!
//! What becomes text, as Prometheus' protobuf parser yields it:
//! - counters, gauges and untyped metrics: one sample;
//! - summaries: `name{quantile=...}`, `name_sum`, `name_count`;
//! - classic histograms (no native part, or `classic_histograms` set): `name_bucket{le=...}`
//!   (with a `+Inf` bucket equal to the count when the target leaves it out), `name_sum`,
//!   `name_count`;
//! - a native histogram when `native_histograms` is off: its classic buckets if it has any,
//!   else `name_sum`, `name_count` and the `+Inf` bucket.
//!
//! Not carried over: exemplars and created timestamps (the text format has no place for them).

use super::lex::format_openmetrics_float;
use super::ParseError;
use prompb::client::{self, MetricFamily, MetricType};
use prost::Message;
use std::fmt::Write as _;
use storage::{push_escaped_label_value, BucketSpan, CounterResetHint, FloatHistogram};

/// The media type of the protobuf exposition format.
pub const PROTOBUF_MEDIA_TYPE: &str = "application/vnd.google.protobuf";

/// What to make of histograms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProtobufOptions {
    /// Keep native histograms as histograms (`scrape_native_histograms`).
    pub native_histograms: bool,
    /// Also keep the classic buckets of histograms that have a native part
    /// (`always_scrape_classic_histograms`).
    pub classic_histograms: bool,
}

/// A transcoded body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transcoded {
    /// The float samples and metadata as Prometheus text.
    pub text: String,
    /// Native histograms with the 1-based text line of their placeholder sample, ascending.
    pub histograms: Vec<(usize, FloatHistogram)>,
}

impl Transcoded {
    /// The native histogram whose placeholder is on `line`.
    pub fn histogram_at(&self, line: usize) -> Option<&FloatHistogram> {
        self.histograms
            .binary_search_by_key(&line, |(l, _)| *l)
            .ok()
            .map(|i| &self.histograms[i].1)
    }
}

/// Whether `content_type` announces the protobuf exposition format.
pub fn is_protobuf(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case(PROTOBUF_MEDIA_TYPE)
}

/// Decodes a delimited stream of metric families and transcodes it.
pub fn transcode(body: &[u8], opts: ProtobufOptions) -> Result<Transcoded, ParseError> {
    let mut out = Writer::default();
    let mut rest = body;
    let mut index = 0usize;
    while !rest.is_empty() {
        index += 1;
        let family = MetricFamily::decode_length_delimited(&mut rest)
            .map_err(|e| ParseError::new(0, "", format!("invalid protobuf metric family #{index}: {e}")))?;
        out.family(&family, opts, index)?;
    }
    Ok(Transcoded {
        text: out.text,
        histograms: out.histograms,
    })
}

#[derive(Default)]
struct Writer {
    text: String,
    lines: usize,
    histograms: Vec<(usize, FloatHistogram)>,
}

fn is_legacy_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    push_escaped_label_value(out, s);
    out.push('"');
}

/// A text sample line `name{labels} value[ ts]`, names quoted inside the braces when they
/// are not legacy names (the form Prometheus text 1.0 and this crate's parser read).
pub(super) fn sample_line<'l>(
    name: &str,
    labels: impl IntoIterator<Item = (&'l str, &'l str)>,
    value: f64,
    ts: Option<i64>,
) -> String {
    let mut s = String::with_capacity(64);
    let legacy = is_legacy_name(name);
    if legacy {
        s.push_str(name);
    }
    let mut first = true;
    let mut open = |s: &mut String| {
        if first {
            s.push('{');
            first = false;
        } else {
            s.push(',');
        }
    };
    if !legacy {
        open(&mut s);
        push_quoted(&mut s, name);
    }
    for (n, v) in labels {
        open(&mut s);
        if is_legacy_name(n) {
            s.push_str(n);
        } else {
            push_quoted(&mut s, n);
        }
        s.push('=');
        push_quoted(&mut s, v);
    }
    if !first {
        s.push('}');
    }
    s.push(' ');
    s.push_str(&format_openmetrics_float(value));
    if let Some(t) = ts {
        let _ = write!(s, " {t}");
    }
    s
}

fn help_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

impl Writer {
    fn line(&mut self, s: &str) -> usize {
        self.text.push_str(s);
        self.text.push('\n');
        self.lines += 1;
        self.lines
    }

    /// `name{labels[,extra]} value[ ts]`, the name quoted inside the braces when it is not a
    /// legacy name.
    /// `name{labels[,extra]} value[ ts]`.
    fn sample(
        &mut self,
        name: &str,
        labels: &[client::LabelPair],
        extra: Option<(&str, String)>,
        value: f64,
        ts: Option<i64>,
    ) -> usize {
        let pairs = labels
            .iter()
            .map(|l| (l.name.as_deref().unwrap_or(""), l.value.as_deref().unwrap_or("")))
            .chain(extra.as_ref().map(|(n, v)| (*n, v.as_str())));
        let s = sample_line(name, pairs, value, ts);
        self.line(&s)
    }

    fn family(&mut self, f: &MetricFamily, opts: ProtobufOptions, index: usize) -> Result<(), ParseError> {
        let name = f.name.as_deref().unwrap_or("");
        if name.is_empty() {
            return Err(ParseError::new(
                0,
                "",
                format!("protobuf metric family #{index} has no name"),
            ));
        }
        let mtype = f
            .r#type
            .and_then(|t| MetricType::try_from(t).ok())
            .unwrap_or(MetricType::Untyped);
        let shown = if is_legacy_name(name) {
            name.to_string()
        } else {
            format!("\"{name}\"")
        };
        if let Some(help) = f.help.as_deref().filter(|h| !h.is_empty()) {
            self.line(&format!("# HELP {shown} {}", help_escape(help)));
        }
        let type_word = match mtype {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
            MetricType::Histogram | MetricType::GaugeHistogram => "histogram",
        };
        self.line(&format!("# TYPE {shown} {type_word}"));
        for m in &f.metric {
            let ts = m.timestamp_ms;
            match mtype {
                MetricType::Counter => {
                    let v = m.counter.as_ref().and_then(|c| c.value).unwrap_or(0.0);
                    self.sample(name, &m.label, None, v, ts);
                }
                MetricType::Gauge => {
                    let v = m.gauge.as_ref().and_then(|g| g.value).unwrap_or(0.0);
                    self.sample(name, &m.label, None, v, ts);
                }
                MetricType::Untyped => {
                    let v = m.untyped.as_ref().and_then(|u| u.value).unwrap_or(0.0);
                    self.sample(name, &m.label, None, v, ts);
                }
                MetricType::Summary => {
                    let Some(s) = &m.summary else { continue };
                    for q in &s.quantile {
                        let qv = format_openmetrics_float(q.quantile.unwrap_or(0.0));
                        self.sample(name, &m.label, Some(("quantile", qv)), q.value.unwrap_or(0.0), ts);
                    }
                    self.sample(
                        &format!("{name}_sum"),
                        &m.label,
                        None,
                        s.sample_sum.unwrap_or(0.0),
                        ts,
                    );
                    self.sample(
                        &format!("{name}_count"),
                        &m.label,
                        None,
                        s.sample_count.unwrap_or(0) as f64,
                        ts,
                    );
                }
                MetricType::Histogram | MetricType::GaugeHistogram => {
                    let Some(h) = &m.histogram else { continue };
                    let gauge = mtype == MetricType::GaugeHistogram;
                    let native = is_native(h);
                    if native && opts.native_histograms {
                        let fh = to_float_histogram(h, gauge)
                            .map_err(|e| ParseError::new(0, "", format!("native histogram {name}: {e}")))?;
                        let line = self.sample(name, &m.label, None, 0.0, ts);
                        self.histograms.push((line, fh));
                        if opts.classic_histograms && !h.bucket.is_empty() {
                            self.classic(name, &m.label, h, ts);
                        }
                    } else {
                        self.classic(name, &m.label, h, ts);
                    }
                }
            }
        }
        Ok(())
    }

    fn classic(&mut self, name: &str, labels: &[client::LabelPair], h: &client::Histogram, ts: Option<i64>) {
        let count = histogram_count(h);
        let bucket = format!("{name}_bucket");
        let mut saw_inf = false;
        for b in &h.bucket {
            let upper = b.upper_bound.unwrap_or(0.0);
            saw_inf |= upper == f64::INFINITY;
            let c = match b.cumulative_count_float {
                Some(f) if f > 0.0 => f,
                _ => b.cumulative_count.unwrap_or(0) as f64,
            };
            self.sample(
                &bucket,
                labels,
                Some(("le", format_openmetrics_float(upper))),
                c,
                ts,
            );
        }
        if !saw_inf {
            self.sample(&bucket, labels, Some(("le", "+Inf".into())), count, ts);
        }
        self.sample(
            &format!("{name}_sum"),
            labels,
            None,
            h.sample_sum.unwrap_or(0.0),
            ts,
        );
        self.sample(&format!("{name}_count"), labels, None, count, ts);
    }
}

fn histogram_count(h: &client::Histogram) -> f64 {
    match h.sample_count_float {
        Some(f) if f > 0.0 => f,
        _ => h.sample_count.unwrap_or(0) as f64,
    }
}

/// Whether a protobuf histogram has a native part, as Prometheus decides: any span, a zero
/// threshold or zero count (client libraries send a span of length 0 for an empty native
/// histogram), or a schema.
fn is_native(h: &client::Histogram) -> bool {
    !h.positive_span.is_empty()
        || !h.negative_span.is_empty()
        || h.zero_threshold.unwrap_or(0.0) > 0.0
        || h.zero_count.unwrap_or(0) > 0
        || h.zero_count_float.unwrap_or(0.0) > 0.0
}

fn spans(s: &[client::BucketSpan]) -> Vec<BucketSpan> {
    s.iter()
        .map(|s| BucketSpan::new(s.offset.unwrap_or(0), s.length.unwrap_or(0)))
        .filter(|s| s.length > 0 || s.offset != 0)
        .collect()
}

/// The native part of a protobuf histogram, validated.
fn to_float_histogram(h: &client::Histogram, gauge: bool) -> Result<FloatHistogram, storage::HistogramError> {
    let float = h.sample_count_float.is_some_and(|f| f > 0.0)
        || h.zero_count_float.is_some_and(|f| f > 0.0)
        || !h.positive_count.is_empty()
        || !h.negative_count.is_empty();
    let hint = if gauge {
        CounterResetHint::Gauge
    } else {
        CounterResetHint::Unknown
    };
    let schema = h.schema.unwrap_or(0);
    let zero_threshold = h.zero_threshold.unwrap_or(0.0);
    let sum = h.sample_sum.unwrap_or(0.0);
    let fh = if float {
        let fh = FloatHistogram {
            counter_reset_hint: hint,
            schema,
            zero_threshold,
            zero_count: h.zero_count_float.unwrap_or(0.0),
            count: h.sample_count_float.unwrap_or(0.0),
            sum,
            positive_spans: spans(&h.positive_span),
            negative_spans: spans(&h.negative_span),
            positive_buckets: h.positive_count.clone(),
            negative_buckets: h.negative_count.clone(),
            custom_values: Vec::new(),
        };
        fh.validate()?;
        fh
    } else {
        let ih = storage::Histogram {
            counter_reset_hint: hint,
            schema,
            zero_threshold,
            zero_count: h.zero_count.unwrap_or(0),
            count: h.sample_count.unwrap_or(0),
            sum,
            positive_spans: spans(&h.positive_span),
            negative_spans: spans(&h.negative_span),
            positive_deltas: h.positive_delta.clone(),
            negative_deltas: h.negative_delta.clone(),
            custom_values: Vec::new(),
        };
        ih.validate()?;
        ih.to_float()
    };
    Ok(fh)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::exposition::{Entry, Format, Parser};

    fn label(n: &str, v: &str) -> client::LabelPair {
        client::LabelPair {
            name: Some(n.into()),
            value: Some(v.into()),
        }
    }

    fn body(families: &[MetricFamily]) -> Vec<u8> {
        let mut b = Vec::new();
        for f in families {
            f.encode_length_delimited(&mut b).unwrap();
        }
        b
    }

    fn native_histogram() -> client::Histogram {
        client::Histogram {
            sample_count: Some(5),
            sample_sum: Some(12.5),
            schema: Some(3),
            zero_threshold: Some(1e-128),
            zero_count: Some(1),
            positive_span: vec![client::BucketSpan {
                offset: Some(0),
                length: Some(2),
            }],
            positive_delta: vec![1, 1],
            negative_span: vec![client::BucketSpan {
                offset: Some(-1),
                length: Some(1),
            }],
            negative_delta: vec![1],
            bucket: vec![client::Bucket {
                cumulative_count: Some(3),
                upper_bound: Some(1.0),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn families() -> Vec<MetricFamily> {
        vec![
            MetricFamily {
                name: Some("requests_total".into()),
                help: Some("Requests.\nAll of them.".into()),
                r#type: Some(MetricType::Counter as i32),
                metric: vec![client::Metric {
                    label: vec![label("path", "/a\"b")],
                    counter: Some(client::Counter {
                        value: Some(7.0),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                unit: None,
            },
            MetricFamily {
                name: Some("latency_seconds".into()),
                help: None,
                r#type: Some(MetricType::Histogram as i32),
                metric: vec![client::Metric {
                    label: vec![label("job", "x")],
                    histogram: Some(native_histogram()),
                    timestamp_ms: Some(1234),
                    ..Default::default()
                }],
                unit: None,
            },
        ]
    }

    #[test]
    fn floats_and_a_native_histogram() {
        let t = transcode(
            &body(&families()),
            ProtobufOptions {
                native_histograms: true,
                classic_histograms: false,
            },
        )
        .unwrap();
        assert_eq!(
            t.text,
            "# HELP requests_total Requests.\\nAll of them.\n# TYPE requests_total counter\n\
             requests_total{path=\"/a\\\"b\"} 7.0\n# TYPE latency_seconds histogram\n\
             latency_seconds{job=\"x\"} 0.0 1234\n"
        );
        assert_eq!(t.histograms.len(), 1);
        let h = t.histogram_at(5).unwrap();
        assert_eq!(h.schema, 3);
        assert_eq!(h.count, 5.0);
        assert_eq!(h.positive_buckets, vec![1.0, 2.0]);
        assert_eq!(h.negative_buckets, vec![1.0]);
        // The text parses, and the placeholder line is a sample on line 5.
        let mut p = Parser::new(t.text.as_bytes(), Format::PrometheusText).unwrap();
        let mut lines = Vec::new();
        while let Some(e) = p.next_entry().unwrap() {
            if let Entry::Sample(s) = e {
                lines.push((s.line, s.series.to_string()));
            }
        }
        assert_eq!(lines[1], (5, "latency_seconds{job=\"x\"}".to_string()));
    }

    #[test]
    fn classic_when_native_is_off_or_kept() {
        let off = transcode(&body(&families()), ProtobufOptions::default()).unwrap();
        assert!(off.histograms.is_empty());
        assert!(off
            .text
            .contains("latency_seconds_bucket{job=\"x\",le=\"1.0\"} 3.0 1234\n"));
        assert!(off
            .text
            .contains("latency_seconds_bucket{job=\"x\",le=\"+Inf\"} 5.0 1234\n"));
        assert!(off.text.contains("latency_seconds_count{job=\"x\"} 5.0 1234\n"));
        let both = transcode(
            &body(&families()),
            ProtobufOptions {
                native_histograms: true,
                classic_histograms: true,
            },
        )
        .unwrap();
        assert_eq!(both.histograms.len(), 1);
        assert!(both.text.contains("latency_seconds_sum{job=\"x\"} 12.5 1234\n"));
    }

    #[test]
    fn bad_input_is_named() {
        let mut bad = families();
        if let Some(h) = bad[1].metric[0].histogram.as_mut() {
            h.sample_count = Some(9);
        }
        let e = transcode(
            &body(&bad),
            ProtobufOptions {
                native_histograms: true,
                classic_histograms: false,
            },
        )
        .unwrap_err();
        assert!(e.message.contains("native histogram latency_seconds"), "{e}");
        let e = transcode(b"\x05\x0a\x03ab", ProtobufOptions::default()).unwrap_err();
        assert!(e.message.contains("invalid protobuf metric family #1"), "{e}");
    }
}
