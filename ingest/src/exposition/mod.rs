//! Exposition parsers: Prometheus text format 0.0.4 and OpenMetrics 1.0 text.
//!
//! Pure: bytes in, entries out, no I/O (the scrape loop and the import endpoint own the
//! transport). Two ways in:
//! - [`Parser`], a pull parser yielding [`Entry`] values that borrow from the body, for the
//!   scrape hot path (the raw [`SampleEntry::series`] text is a cache key across scrapes, so
//!   label sets are only built for series not seen before);
//! - [`parse`], which collects owned samples ([`ParsedSample`]) and metadata per family, for
//!   callers that want everything at once (`/api/v1/import/prometheus`).
//!
//! Errors ([`ParseError`]) name the 1-based line and what is wrong with it.
//!
//! The protobuf exposition format ([`protobuf`]), which carries native histograms, is
//! transcoded into text plus the histograms, so the scrape loop reads every format with one
//! parser.

mod entry;
mod error;
mod lex;
mod nhcb;
mod parser;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proptests;
pub mod protobuf;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use entry::{Entry, Exemplar, RawLabels, RawLabelsIter, SampleEntry};
pub use error::ParseError;
pub use nhcb::convert as convert_classic_histograms;
pub use parser::Parser;

use std::collections::HashMap;
use std::io::Read;
use storage::{Labels, MetricMetadata, MetricType};

/// A text exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    PrometheusText,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

impl Format {
    /// The format a `Content-Type` header announces. Anything that is not OpenMetrics
    /// (including a missing or empty header) is read as Prometheus text, as Prometheus 2 does.
    pub fn from_content_type(content_type: &str) -> Format {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::PrometheusText
        }
    }
}

/// One sample with owned labels, as returned by [`parse`].
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedSample {
    /// The full label set, `__name__` included.
    pub labels: Labels,
    /// The value.
    pub value: f64,
    /// The explicit timestamp in milliseconds, if the line had one.
    pub timestamp_ms: Option<i64>,
}

/// Everything in one body: samples in order, and metadata per family.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    /// Samples in the order of the body.
    pub samples: Vec<ParsedSample>,
    /// `(family name, metadata)` in order of first appearance, one per family that had a
    /// HELP, TYPE or UNIT line (families without TYPE are [`MetricType::Unknown`]).
    pub metadata: Vec<(String, MetricMetadata)>,
}

/// Parses a whole body whose format is given by `content_type` (see
/// [`Format::from_content_type`]). The body must already be decompressed (see [`gunzip`]).
pub fn parse(body: &[u8], content_type: &str) -> Result<Parsed, ParseError> {
    parse_format(body, Format::from_content_type(content_type))
}

/// Like [`parse`] with an explicit format.
pub fn parse_format(body: &[u8], format: Format) -> Result<Parsed, ParseError> {
    let mut parser = Parser::new(body, format)?;
    let mut out = Parsed::default();
    let mut meta_index: HashMap<String, usize> = HashMap::new();
    let mut meta_slot = |out: &mut Parsed, family: &str| -> usize {
        if let Some(&i) = meta_index.get(family) {
            return i;
        }
        out.metadata.push((
            family.to_string(),
            MetricMetadata {
                metric_type: MetricType::Unknown,
                help: String::new(),
                unit: String::new(),
            },
        ));
        meta_index.insert(family.to_string(), out.metadata.len() - 1);
        out.metadata.len() - 1
    };
    while let Some(entry) = parser.next_entry()? {
        match entry {
            Entry::Help { family, help } => {
                let i = meta_slot(&mut out, &family);
                out.metadata[i].1.help = help.into_owned();
            }
            Entry::Type { family, metric_type } => {
                let i = meta_slot(&mut out, &family);
                out.metadata[i].1.metric_type = metric_type;
            }
            Entry::Unit { family, unit } => {
                let i = meta_slot(&mut out, &family);
                out.metadata[i].1.unit = unit.to_string();
            }
            Entry::Sample(s) => {
                let labels = s
                    .to_labels()
                    .map_err(|e| ParseError::new(s.line, s.series, format!("invalid series: {e}")))?;
                out.samples.push(ParsedSample {
                    labels,
                    value: s.value,
                    timestamp_ms: s.timestamp_ms,
                });
            }
        }
    }
    Ok(out)
}

/// Decompresses a gzip body, refusing to produce more than `limit` bytes (0 = no limit), so a
/// small compressed body cannot expand without bound.
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(1 << 24));
    let dec = flate2::read::MultiGzDecoder::new(body);
    if limit == 0 {
        let mut dec = dec;
        dec.read_to_end(&mut out)?;
    } else {
        let mut dec = dec.take(limit as u64 + 1);
        dec.read_to_end(&mut out)?;
        if out.len() > limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("decompressed body exceeds the limit of {limit} bytes"),
            ));
        }
    }
    Ok(out)
}
