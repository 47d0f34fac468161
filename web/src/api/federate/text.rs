//! Federation in the text exposition format (0.0.4), as Prometheus' encoder writes the
//! families its federation handler builds: floats in untyped families; custom-bucket
//! histograms as classic histograms (`_bucket` with `le`, cumulative, up to `+Inf`, then
//! `_sum` and `_count`); exponential histograms left out, as the format cannot carry them.
//! A custom-bucket gauge histogram is left out too: Prometheus' text encoder has no gauge
//! histogram type and fails the rest of the answer on one.

use super::{label_pairs, Kind, Latest, Value};
use std::fmt::Write as _;
use storage::FloatHistogram;

/// A value as the text format writes it: Go's shortest `%g`, `0` for either zero.
fn number(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        storage::format_go_g(v)
    }
}

/// Writes one line: `name{labels[,le="..."]} value timestamp`.
fn line(out: &mut String, name: &str, pairs: &[(&str, &str)], le: Option<f64>, v: f64, t: i64) {
    out.push_str(name);
    let mut first = true;
    for (n, val) in pairs {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(n);
        out.push_str("=\"");
        storage::push_escaped_label_value(out, val);
        out.push('"');
    }
    if let Some(le) = le {
        out.push(if first { '{' } else { ',' });
        first = false;
        let _ = write!(out, "le=\"{}\"", number(le));
    }
    if !first {
        out.push('}');
    }
    let _ = writeln!(out, " {} {t}", number(v));
}

/// The classic buckets of a custom-bucket histogram: each bound with the observations at or
/// below it.
pub(super) fn cumulative_buckets(h: &FloatHistogram) -> Vec<(f64, f64)> {
    let mut per_bucket = vec![0.0; h.custom_values.len()];
    let mut next = 0i32;
    let mut counts = h.positive_buckets.iter();
    for span in &h.positive_spans {
        let start = next.wrapping_add(span.offset);
        for k in 0..span.length as i32 {
            let c = counts.next().copied().unwrap_or(0.0);
            if let Some(slot) = usize::try_from(start.wrapping_add(k))
                .ok()
                .and_then(|i| per_bucket.get_mut(i))
            {
                *slot += c;
            }
        }
        next = start.wrapping_add(span.length as i32);
    }
    let mut cumulative = 0.0;
    h.custom_values
        .iter()
        .zip(per_bucket)
        .map(|(&bound, c)| {
            cumulative += c;
            (bound, cumulative)
        })
        .collect()
}

/// The text exposition of the federated samples (sorted by labels).
pub(super) fn write(samples: &[Latest], external: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut family: Option<(&str, Kind)> = None;
    for s in samples {
        let kind = s.kind();
        let writable = match &s.value {
            Value::Float(_) => true,
            Value::Histogram(h) => h.uses_custom_buckets() && kind == Kind::Histogram,
        };
        let Some(name) = s.labels.metric_name().filter(|n| !n.is_empty()) else {
            continue;
        };
        if !writable {
            continue;
        }
        if family != Some((name, kind)) {
            let type_name = if kind == Kind::Float {
                "untyped"
            } else {
                "histogram"
            };
            let _ = writeln!(out, "# TYPE {name} {type_name}");
            family = Some((name, kind));
        }
        let pairs = label_pairs(&s.labels, external);
        match &s.value {
            Value::Float(v) => line(&mut out, name, &pairs, None, *v, s.t),
            Value::Histogram(h) => {
                let bucket = format!("{name}_bucket");
                for (bound, c) in cumulative_buckets(h) {
                    line(&mut out, &bucket, &pairs, Some(bound), c, s.t);
                }
                line(&mut out, &bucket, &pairs, Some(f64::INFINITY), h.count, s.t);
                line(&mut out, &format!("{name}_sum"), &pairs, None, h.sum, s.t);
                line(&mut out, &format!("{name}_count"), &pairs, None, h.count, s.t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::external_pairs;
    use super::*;
    use storage::{BucketSpan, CounterResetHint, Labels, CUSTOM_BUCKETS_SCHEMA};

    fn float(pairs: &[(&str, &str)], t: i64, v: f64) -> Latest {
        Latest {
            labels: Labels::from_pairs(pairs.iter().copied()),
            t,
            value: Value::Float(v),
        }
    }

    #[test]
    fn renders_like_the_fixture() {
        let lbl = |n| [("__name__", n), ("instance", "i:1"), ("job", "node")];
        let ext = external_pairs(&Labels::from_pairs([("fixture", "local"), ("job", "ignored")]));
        let got = write(
            &[
                float(&lbl("node_load1"), 1795304828096, 2.5),
                float(&lbl("node_load15"), 1795304828096, 0.29),
            ],
            &ext,
        );
        assert_eq!(
            got,
            "# TYPE node_load1 untyped\nnode_load1{instance=\"i:1\",job=\"node\",fixture=\"local\"} 2.5 1795304828096\n\
             # TYPE node_load15 untyped\nnode_load15{instance=\"i:1\",job=\"node\",fixture=\"local\"} 0.29 1795304828096\n"
        );
    }

    #[test]
    fn custom_buckets_become_a_classic_histogram_and_exponential_ones_are_left_out() {
        let nhcb = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: 6.0,
            sum: 1.234,
            // Buckets 0, 1 and 4 of bounds 0.1 0.2 0.5 1 2 (+Inf).
            positive_spans: vec![BucketSpan::new(0, 2), BucketSpan::new(2, 1)],
            positive_buckets: vec![3.0, 2.0, 1.0],
            custom_values: vec![0.1, 0.2, 0.5, 1.0, 2.0],
            ..Default::default()
        };
        let exponential = FloatHistogram {
            schema: 0,
            count: 1.0,
            sum: 1.0,
            positive_spans: vec![BucketSpan::new(0, 1)],
            positive_buckets: vec![1.0],
            ..Default::default()
        };
        let gauge = FloatHistogram {
            counter_reset_hint: CounterResetHint::Gauge,
            ..nhcb.clone()
        };
        let h = |name: &str, h: &FloatHistogram| Latest {
            labels: Labels::from_pairs([("__name__", name), ("foo", "1")]),
            t: 6000,
            value: Value::Histogram(h.clone()),
        };
        let ext = external_pairs(&Labels::empty());
        let got = write(
            &[
                h("a", &exponential),
                float(&[("__name__", "b")], 5000, 1e6),
                h("c", &gauge),
                h("d", &nhcb),
            ],
            &ext,
        );
        assert_eq!(
            got,
            "# TYPE b untyped\nb{instance=\"\"} 1e+06 5000\n\
             # TYPE d histogram\n\
             d_bucket{foo=\"1\",instance=\"\",le=\"0.1\"} 3 6000\n\
             d_bucket{foo=\"1\",instance=\"\",le=\"0.2\"} 5 6000\n\
             d_bucket{foo=\"1\",instance=\"\",le=\"0.5\"} 5 6000\n\
             d_bucket{foo=\"1\",instance=\"\",le=\"1\"} 5 6000\n\
             d_bucket{foo=\"1\",instance=\"\",le=\"2\"} 6 6000\n\
             d_bucket{foo=\"1\",instance=\"\",le=\"+Inf\"} 6 6000\n\
             d_sum{foo=\"1\",instance=\"\"} 1.234 6000\n\
             d_count{foo=\"1\",instance=\"\"} 6 6000\n"
        );
    }
}
