//! `convert_classic_histograms_to_nhcb`: classic histograms of a text or OpenMetrics body
//! turned into native histograms with custom buckets (schema -53), as Prometheus 3 does.
//!
//! The body is re-emitted line by line. For each classic histogram (one family of type
//! `histogram` or `gaugehistogram`, one label set without `le`, one timestamp) with at least one
//! bucket, the first of its lines is replaced by a placeholder sample `family{labels} 0`, whose
//! histogram [`Transcoded::histograms`] holds; its `_bucket`, `_count` and `_sum` lines are
//! dropped, or kept after the placeholder when `keep_classic` is set
//! (`always_scrape_classic_histograms`). The bounds are the finite `le` values, the counts the
//! differences of the cumulative ones, the `+Inf` bucket whatever `_count` (or the `+Inf`
//! bucket) holds beyond the last finite bound. A histogram whose cumulative counts go down, or
//! whose `le` does not parse, is left classic.
//!
//! Everything else (other families, comments, exemplars of kept lines, `# EOF`) passes through
//! unchanged, so the parser reads the result in the body's own format.

use super::lex::parse_value;
use super::protobuf::{sample_line, Transcoded};
use super::{Entry, Format, ParseError, Parser};
use std::collections::HashMap;
use storage::{CounterResetHint, FloatHistogram, MetricType, CUSTOM_BUCKETS_SCHEMA};

/// A classic histogram's identity: family, labels without `le`, timestamp.
type GroupKey = (String, Vec<(String, String)>, Option<i64>);

#[derive(Default)]
struct Group {
    family: String,
    labels: Vec<(String, String)>,
    timestamp: Option<i64>,
    gauge: bool,
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: Option<f64>,
    lines: Vec<usize>,
    broken: bool,
}

impl Group {
    fn histogram(&self) -> Option<FloatHistogram> {
        if self.broken || self.buckets.is_empty() {
            return None;
        }
        let mut buckets = self.buckets.clone();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let inf = buckets.iter().find(|b| b.0 == f64::INFINITY).map(|b| b.1);
        let finite: Vec<(f64, f64)> = buckets.into_iter().filter(|b| b.0.is_finite()).collect();
        let count = self.count.or(inf)?;
        let mut counts = Vec::with_capacity(finite.len() + 1);
        let mut prev = 0.0;
        for &(_, c) in &finite {
            if c < prev {
                return None;
            }
            counts.push((counts.len() as i32, c - prev));
            prev = c;
        }
        if count < prev {
            return None;
        }
        counts.push((counts.len() as i32, count - prev));
        let mut h = FloatHistogram {
            counter_reset_hint: if self.gauge {
                CounterResetHint::Gauge
            } else {
                CounterResetHint::Unknown
            },
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum: self.sum.unwrap_or(0.0),
            custom_values: finite.iter().map(|b| b.0).collect(),
            ..Default::default()
        };
        h.set_buckets(&counts, &[]);
        Some(h)
    }
}

/// The base family of a classic histogram sample (`_bucket`, `_count`, `_sum` removed), when
/// the sample belongs to one.
fn histogram_part(name: &str) -> Option<(&str, &'static str)> {
    for suffix in ["_bucket", "_count", "_sum"] {
        if let Some(base) = name.strip_suffix(suffix) {
            return Some((base, suffix));
        }
    }
    None
}

/// Converts the classic histograms of `body` (read as `format`). `carried` are native
/// histograms already placed in `body` (by line, as a protobuf transcoding gives them); they
/// keep their placeholder lines, renumbered.
pub fn convert(
    body: &[u8],
    format: Format,
    keep_classic: bool,
    carried: Vec<(usize, FloatHistogram)>,
) -> Result<Transcoded, ParseError> {
    let mut carried: HashMap<usize, FloatHistogram> = carried.into_iter().collect();
    let mut parser = Parser::new(body, format)?;
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<GroupKey, usize> = HashMap::new();
    while let Some(entry) = parser.next_entry()? {
        let Entry::Sample(s) = entry else { continue };
        if !matches!(s.metric_type, MetricType::Histogram | MetricType::Gaugehistogram) || s.created {
            continue;
        }
        let Some((family, suffix)) = histogram_part(&s.name) else {
            continue;
        };
        let mut le = None;
        let mut labels = Vec::new();
        for (n, v) in s.labels.iter() {
            if n == "le" && suffix == "_bucket" {
                le = Some(v.into_owned());
            } else {
                labels.push((n.into_owned(), v.into_owned()));
            }
        }
        labels.sort();
        let key = (family.to_string(), labels, s.timestamp_ms);
        let i = *by_key.entry(key.clone()).or_insert_with(|| {
            groups.push(Group {
                family: key.0.clone(),
                labels: key.1.clone(),
                timestamp: key.2,
                gauge: s.metric_type == MetricType::Gaugehistogram,
                ..Default::default()
            });
            groups.len() - 1
        });
        let g = &mut groups[i];
        g.lines.push(s.line);
        match suffix {
            "_bucket" => match le.as_deref().and_then(parse_value) {
                Some(bound) if !bound.is_nan() => g.buckets.push((bound, s.value)),
                _ => g.broken = true,
            },
            "_count" => g.count = Some(s.value),
            _ => g.sum = Some(s.value),
        }
    }
    // Line -> what to do with it.
    enum Action {
        Placeholder(usize),
        Drop,
    }
    let mut actions: HashMap<usize, Action> = HashMap::new();
    let mut histograms: Vec<Option<FloatHistogram>> = Vec::with_capacity(groups.len());
    for (gi, g) in groups.iter().enumerate() {
        let h = g.histogram();
        if h.is_some() {
            let first = g.lines.iter().copied().min().unwrap_or(0);
            for &l in &g.lines {
                if l != first && !keep_classic {
                    actions.insert(l, Action::Drop);
                }
            }
            actions.insert(first, Action::Placeholder(gi));
        }
        histograms.push(h);
    }
    let text =
        std::str::from_utf8(body).map_err(|_| ParseError::new(0, "", "the body is not valid UTF-8"))?;
    let mut out = Transcoded::default();
    let mut written = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let number = i + 1;
        match actions.get(&number) {
            Some(Action::Drop) => continue,
            Some(Action::Placeholder(gi)) => {
                let g = &groups[*gi];
                let placeholder = sample_line(
                    &g.family,
                    g.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                    0.0,
                    g.timestamp,
                );
                out.text.push_str(&placeholder);
                out.text.push('\n');
                written += 1;
                if let Some(h) = histograms[*gi].take() {
                    out.histograms.push((written, h));
                }
                if keep_classic {
                    out.text.push_str(line);
                    written += 1;
                }
            }
            None => {
                out.text.push_str(line);
                written += 1;
                if let Some(h) = carried.remove(&number) {
                    out.histograms.push((written, h));
                }
            }
        }
    }
    if !out.text.ends_with('\n') && !out.text.is_empty() {
        out.text.push('\n');
    }
    out.histograms.sort_by_key(|(line, _)| *line);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const BODY: &str = "# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n\
        rpc_seconds_bucket{method=\"get\",le=\"0.1\"} 2\n\
        rpc_seconds_bucket{method=\"get\",le=\"1\"} 5\n\
        rpc_seconds_bucket{method=\"get\",le=\"+Inf\"} 6\n\
        rpc_seconds_sum{method=\"get\"} 3.5\n\
        rpc_seconds_count{method=\"get\"} 6\n\
        # TYPE up gauge\nup 1\n";

    #[test]
    fn classic_histogram_becomes_custom_buckets() {
        let t = convert(BODY.as_bytes(), Format::PrometheusText, false, Vec::new()).unwrap();
        assert_eq!(
            t.text,
            "# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n\
             rpc_seconds{method=\"get\"} 0.0\n# TYPE up gauge\nup 1\n"
        );
        let h = t.histogram_at(3).unwrap();
        assert_eq!(h.schema, CUSTOM_BUCKETS_SCHEMA);
        assert_eq!(h.custom_values, vec![0.1, 1.0]);
        assert_eq!(h.positive_buckets, vec![2.0, 3.0, 1.0]);
        assert_eq!((h.count, h.sum), (6.0, 3.5));
        assert_eq!(h.validate(), Ok(()));
    }

    #[test]
    fn classic_lines_kept_when_asked_and_broken_ones_left_alone() {
        let t = convert(BODY.as_bytes(), Format::PrometheusText, true, Vec::new()).unwrap();
        assert!(t
            .text
            .contains("rpc_seconds{method=\"get\"} 0.0\nrpc_seconds_bucket{method=\"get\",le=\"0.1\"} 2\n"));
        assert!(t.text.contains("rpc_seconds_count{method=\"get\"} 6\n"));
        assert_eq!(t.histograms.len(), 1);
        let down = BODY.replace("le=\"1\"} 5", "le=\"1\"} 1");
        let t = convert(down.as_bytes(), Format::PrometheusText, false, Vec::new()).unwrap();
        assert!(t.histograms.is_empty());
        assert_eq!(t.text, down);
    }

    #[test]
    fn openmetrics_stays_openmetrics() {
        let om = "# TYPE a histogram\na_bucket{le=\"1.0\"} 1\na_bucket{le=\"+Inf\"} 1\na_count 1\na_sum 0.5\n# EOF\n";
        let t = convert(om.as_bytes(), Format::OpenMetrics, false, Vec::new()).unwrap();
        assert_eq!(t.text, "# TYPE a histogram\na 0.0\n# EOF\n");
        let mut p = Parser::new(t.text.as_bytes(), Format::OpenMetrics).unwrap();
        while p.next_entry().unwrap().is_some() {}
    }
}
