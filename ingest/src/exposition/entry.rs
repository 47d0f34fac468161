//! What the pull parser yields: metadata lines and samples, borrowing from the body.

use super::lex::{
    format_openmetrics_float, is_label_name_char, parse_value, quoted_end, skip_blank, take_while, unescape,
};
use std::borrow::Cow;
use storage::{Labels, LabelsBuilder, MetricType, METRIC_NAME};

/// One meaningful line of an exposition body.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP <family> <text>`, with escapes undone.
    Help {
        /// The family name as written on the line.
        family: Cow<'a, str>,
        /// The help text.
        help: Cow<'a, str>,
    },
    /// `# TYPE <family> <type>` (`untyped` is reported as [`MetricType::Unknown`]).
    Type {
        /// The family name as written on the line.
        family: Cow<'a, str>,
        /// The declared type.
        metric_type: MetricType,
    },
    /// `# UNIT <family> <unit>` (OpenMetrics).
    Unit {
        /// The family name as written on the line.
        family: Cow<'a, str>,
        /// The unit (may be empty).
        unit: &'a str,
    },
    /// A sample line.
    Sample(SampleEntry<'a>),
}

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleEntry<'a> {
    /// The metric name (`__name__`).
    pub name: Cow<'a, str>,
    /// The labels as written (validated; iterate with [`RawLabels::iter`]).
    pub labels: RawLabels<'a>,
    /// The series as written, from the name to the closing brace: a stable identity of the
    /// series between scrapes of the same target, usable as a cache key.
    pub series: &'a str,
    /// The value (may be NaN or ±Inf).
    pub value: f64,
    /// The explicit timestamp in milliseconds, if the line has one.
    pub timestamp_ms: Option<i64>,
    /// The exemplar (OpenMetrics), if any.
    pub exemplar: Option<Exemplar<'a>>,
    /// The type of the family the sample belongs to: the last `# TYPE` when the sample's name
    /// is that family's name or one of its type's suffixes, else [`MetricType::Unknown`].
    pub metric_type: MetricType,
    /// Whether this is a `<family>_created` sample of a counter, histogram or summary.
    pub created: bool,
    /// 1-based line number.
    pub line: usize,
}

impl SampleEntry<'_> {
    /// The sample's full label set, `__name__` included. Fails when a label name repeats.
    ///
    /// As Prometheus does, the `le` label of histogram buckets and the `quantile` label of
    /// summaries are normalised to OpenMetrics float formatting (`le="1"` becomes `le="1.0"`),
    /// so that libraries writing the same bound differently produce the same series.
    pub fn to_labels(&self) -> Result<Labels, String> {
        let mut b = LabelsBuilder::new();
        b.set(METRIC_NAME, &self.name);
        for (n, v) in self.labels.iter() {
            if n == METRIC_NAME || b.get(&n).is_some() {
                return Err(format!("duplicate label name {n:?}"));
            }
            let float_label = (self.metric_type == MetricType::Histogram && n == "le")
                || (self.metric_type == MetricType::Summary && n == "quantile");
            match float_label.then(|| parse_value(&v)).flatten() {
                Some(f) => b.set(&n, &format_openmetrics_float(f)),
                None => b.set(&n, &v),
            };
        }
        Ok(b.build())
    }
}

/// An OpenMetrics exemplar: `# {labels} value [timestamp]` after a sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar<'a> {
    /// The exemplar's labels.
    pub labels: RawLabels<'a>,
    /// The exemplar's value.
    pub value: f64,
    /// Its timestamp in milliseconds, if given.
    pub timestamp_ms: Option<i64>,
}

/// The text between a sample's braces, already validated by the parser. Iterating yields
/// `(name, value)` pairs; values are unescaped only when they contain a backslash. A quoted
/// metric name inside the braces (`{"my.metric", a="b"}`) is not yielded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RawLabels<'a> {
    pub(crate) text: &'a str,
}

impl<'a> RawLabels<'a> {
    /// The raw text between the braces.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The labels in the order written.
    pub fn iter(&self) -> RawLabelsIter<'a> {
        RawLabelsIter {
            text: self.text,
            pos: 0,
        }
    }
}

/// Iterator over [`RawLabels`].
#[derive(Clone, Debug)]
pub struct RawLabelsIter<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for RawLabelsIter<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.text.as_bytes();
        loop {
            let mut p = skip_blank(b, self.pos);
            if p < b.len() && b[p] == b',' {
                p = skip_blank(b, p + 1);
            }
            if p >= b.len() {
                self.pos = p;
                return None;
            }
            let name: Cow<'a, str> = if b[p] == b'"' {
                let (close, esc) = quoted_end(b, p)?;
                let n = unescape(&self.text[p + 1..close], esc);
                p = close + 1;
                n
            } else {
                let end = take_while(b, p, is_label_name_char);
                let n = Cow::Borrowed(&self.text[p..end]);
                p = end;
                n
            };
            p = skip_blank(b, p);
            if p >= b.len() || b[p] != b'=' {
                // A quoted metric name: not a label.
                self.pos = p;
                continue;
            }
            p = skip_blank(b, p + 1);
            if p >= b.len() || b[p] != b'"' {
                self.pos = b.len();
                return None;
            }
            let (close, esc) = quoted_end(b, p)?;
            let value = unescape(&self.text[p + 1..close], esc);
            self.pos = close + 1;
            return Some((name, value));
        }
    }
}
