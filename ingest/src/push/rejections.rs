//! Counters of what the push endpoints refuse, by protocol and reason, for `/metrics`:
//! whole requests ([`request`]: body too large, too many series, malformed, ...) and single
//! samples or data points ([`samples`]: a label limit, out of order, a cardinality limit, ...).
//!
//! A request is decoded and written synchronously on one blocking thread, so the protocol
//! being served is kept in a thread-local ([`enter`]), and a label check that fails notes its
//! reason ([`note`]) for the rejection its caller records right after. This keeps the
//! counting out of the signatures of the decoders.
//!
//! [`render`] writes them for `/metrics`:
//!
//! | family | labels | counts |
//! |---|---|---|
//! | `sextant_ingest_rejected_requests_total` | `protocol`, `reason` | push requests refused as a whole (body or decompressed size, series or samples per request, malformed, unsupported media type, storage failure) |
//! | `sextant_ingest_rejected_samples_total` | `protocol`, `reason` | samples or data points refused one by one (label limits, invalid labels, out of order/bounds, duplicates, cardinality limits) |
//!
//! Protocols: `remote_write_v1`, `remote_write_v2`, `otlp_http`, `otlp_grpc`, `otlp_traces`,
//! `import`, and `scrape` for scraped samples refused by storage (samples only).

use crate::error::PushError;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use storage::metrics::Exposition;
use storage::AppendError;

pub use crate::metrics::Protocol;

const PROTOCOLS: [Protocol; Protocol::ALL.len()] = Protocol::ALL;

/// Why something was refused, as the `reason` label shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The body as sent is over `max_body_bytes`.
    BodySize,
    /// The decompressed body is over `max_decompressed_bytes`.
    DecompressedSize,
    /// More series than `max_series_per_request`.
    SeriesPerRequest,
    /// More samples than `max_samples_per_request`.
    SamplesPerRequest,
    /// Undecodable body.
    Malformed,
    /// Unsupported content type or encoding.
    UnsupportedMedia,
    /// Storage failed (retryable).
    Storage,
    /// Anything else on the server's side.
    Internal,
    /// More labels than `max_labels_per_series`.
    LabelsPerSeries,
    /// A label name longer than `max_label_name_bytes`.
    LabelNameLength,
    /// A label value longer than `max_label_value_bytes`.
    LabelValueLength,
    /// Invalid labels (no name, duplicates, bad UTF-8, ...).
    InvalidLabels,
    /// Older than the series' newest sample beyond the out-of-order window.
    OutOfOrder,
    /// Older than the oldest time storage still accepts.
    OutOfBounds,
    /// Same timestamp, different value.
    Duplicate,
    /// `--storage.max-active-series` reached.
    MaxActiveSeries,
    /// `--storage.max-series-per-metric` reached.
    MaxSeriesPerMetric,
    /// Any other refusal of a sample (unsupported kind, missing fields, ...).
    Invalid,
}

const REASONS: [Reason; 18] = [
    Reason::BodySize,
    Reason::DecompressedSize,
    Reason::SeriesPerRequest,
    Reason::SamplesPerRequest,
    Reason::Malformed,
    Reason::UnsupportedMedia,
    Reason::Storage,
    Reason::Internal,
    Reason::LabelsPerSeries,
    Reason::LabelNameLength,
    Reason::LabelValueLength,
    Reason::InvalidLabels,
    Reason::OutOfOrder,
    Reason::OutOfBounds,
    Reason::Duplicate,
    Reason::MaxActiveSeries,
    Reason::MaxSeriesPerMetric,
    Reason::Invalid,
];

impl Reason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BodySize => "body_size",
            Reason::DecompressedSize => "decompressed_size",
            Reason::SeriesPerRequest => "series_per_request",
            Reason::SamplesPerRequest => "samples_per_request",
            Reason::Malformed => "malformed",
            Reason::UnsupportedMedia => "unsupported_media_type",
            Reason::Storage => "storage",
            Reason::Internal => "internal",
            Reason::LabelsPerSeries => "labels_per_series",
            Reason::LabelNameLength => "label_name_length",
            Reason::LabelValueLength => "label_value_length",
            Reason::InvalidLabels => "invalid_labels",
            Reason::OutOfOrder => "out_of_order",
            Reason::OutOfBounds => "out_of_bounds",
            Reason::Duplicate => "duplicate_timestamp",
            Reason::MaxActiveSeries => "max_active_series",
            Reason::MaxSeriesPerMetric => "max_series_per_metric",
            Reason::Invalid => "invalid",
        }
    }

    /// The reason of a sample refused by storage.
    pub fn of_append(e: &AppendError) -> Reason {
        match e {
            AppendError::OutOfOrder { .. } => Reason::OutOfOrder,
            AppendError::OutOfBounds { .. } => Reason::OutOfBounds,
            AppendError::DuplicateTimestamp { .. } => Reason::Duplicate,
            AppendError::InvalidLabels { .. } => Reason::InvalidLabels,
            AppendError::TooManySeries {
                per_metric: false, ..
            } => Reason::MaxActiveSeries,
            AppendError::TooManySeries { per_metric: true, .. } => Reason::MaxSeriesPerMetric,
            AppendError::InvalidHistogram { .. } | AppendError::Unsupported(_) => Reason::Invalid,
            _ => Reason::Storage,
        }
    }

    /// The reason of a request refused as a whole; `None` for a partial refusal (counted
    /// per sample instead).
    pub fn of_request(e: &PushError) -> Option<Reason> {
        Some(match e {
            PushError::UnsupportedContentType { .. } | PushError::UnsupportedEncoding { .. } => {
                Reason::UnsupportedMedia
            }
            PushError::TooLarge { what, .. } if what.starts_with("decompressed") => Reason::DecompressedSize,
            PushError::TooLarge { .. } => Reason::BodySize,
            PushError::TooMany { what: "series", .. } => Reason::SeriesPerRequest,
            PushError::TooMany { .. } => Reason::SamplesPerRequest,
            PushError::Malformed(_) => Reason::Malformed,
            PushError::InvalidSeries { .. } => return None,
            PushError::Storage(_) => Reason::Storage,
            PushError::Internal(_) => Reason::Internal,
        })
    }
}

const NP: usize = PROTOCOLS.len();
const NR: usize = REASONS.len();

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ROW: [AtomicU64; NR] = [ZERO; NR];
static REQUESTS: [[AtomicU64; NR]; NP] = [ROW; NP];
static SAMPLES: [[AtomicU64; NR]; NP] = [ROW; NP];

fn pi(p: Protocol) -> usize {
    PROTOCOLS.iter().position(|x| *x == p).unwrap_or(0)
}

fn ri(r: Reason) -> usize {
    REASONS.iter().position(|x| *x == r).unwrap_or(NR - 1)
}

thread_local! {
    static CURRENT: Cell<Option<Protocol>> = const { Cell::new(None) };
    static NOTED: Cell<Option<Reason>> = const { Cell::new(None) };
}

/// While alive, sample rejections on this thread are counted for its protocol.
#[derive(Debug)]
pub struct Scope(Option<Protocol>);

impl Drop for Scope {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
        NOTED.with(|n| n.set(None));
    }
}

/// Counts this thread's sample rejections for `p` until the guard is dropped.
pub fn enter(p: Protocol) -> Scope {
    Scope(CURRENT.with(|c| c.replace(Some(p))))
}

/// Remembers why the next rejection on this thread happens (a label check notes it before
/// returning its message).
pub fn note(r: Reason) {
    NOTED.with(|n| n.set(Some(r)));
}

/// Counts `n` refused samples for the noted reason (or [`Reason::Invalid`]).
pub fn samples(n: usize) {
    let r = NOTED.with(|x| x.take()).unwrap_or(Reason::Invalid);
    samples_because(r, n);
}

/// Counts `n` refused samples for `r`, under the protocol of this thread (if any).
pub fn samples_because(r: Reason, n: usize) {
    if let Some(p) = CURRENT.with(Cell::get) {
        SAMPLES[pi(p)][ri(r)].fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Counts `n` samples of protocol `p` refused by storage with `e`.
pub fn append_refused(p: Protocol, e: &AppendError, n: usize) {
    SAMPLES[pi(p)][ri(Reason::of_append(e))].fetch_add(n as u64, Ordering::Relaxed);
}

/// Counts a request refused as a whole (partial refusals are counted per sample).
pub fn request(p: Protocol, e: &PushError) {
    if let Some(r) = Reason::of_request(e) {
        REQUESTS[pi(p)][ri(r)].fetch_add(1, Ordering::Relaxed);
    }
}

/// One non-zero counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    /// The protocol label.
    pub protocol: &'static str,
    /// The reason label.
    pub reason: &'static str,
    /// The value.
    pub value: u64,
}

fn read(table: &[[AtomicU64; NR]; NP]) -> Vec<Count> {
    let mut v = Vec::new();
    for (p, row) in PROTOCOLS.iter().zip(table) {
        for (r, c) in REASONS.iter().zip(row) {
            let value = c.load(Ordering::Relaxed);
            if value > 0 {
                v.push(Count {
                    protocol: p.as_str(),
                    reason: r.as_str(),
                    value,
                });
            }
        }
    }
    v
}

/// Requests refused as a whole, non-zero counters only.
pub fn requests_snapshot() -> Vec<Count> {
    read(&REQUESTS)
}

/// Samples refused, non-zero counters only.
pub fn samples_snapshot() -> Vec<Count> {
    read(&SAMPLES)
}

/// Renders both rejection families (non-zero counters only) into `out`.
pub fn render(out: &mut Exposition) {
    for (name, help, counts) in [
        (
            "sextant_ingest_rejected_requests_total",
            "Push requests refused as a whole, by protocol and reason.",
            requests_snapshot(),
        ),
        (
            "sextant_ingest_rejected_samples_total",
            "Pushed samples and data points refused, by protocol and reason.",
            samples_snapshot(),
        ),
    ] {
        out.family(name, "counter", help);
        for c in counts {
            out.sample(
                name,
                &[("protocol", c.protocol), ("reason", c.reason)],
                c.value as f64,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(v: &[Count], p: &str, r: &str) -> u64 {
        v.iter()
            .find(|c| c.protocol == p && c.reason == r)
            .map_or(0, |c| c.value)
    }

    #[test]
    fn counts_by_thread_protocol() {
        let before = get(&samples_snapshot(), "import", "label_value_length");
        std::thread::spawn(|| {
            samples(3); // no protocol: not counted
            let _g = enter(Protocol::Import);
            note(Reason::LabelValueLength);
            samples(2);
            samples(1); // note consumed: invalid
        })
        .join()
        .unwrap();
        let s = samples_snapshot();
        assert_eq!(get(&s, "import", "label_value_length"), before + 2);
        assert!(get(&s, "import", "invalid") >= 1);
        let before = get(&requests_snapshot(), "otlp_http", "body_size");
        request(
            Protocol::OtlpHttp,
            &PushError::TooLarge {
                what: "request body",
                size: 2,
                limit: 1,
            },
        );
        assert_eq!(get(&requests_snapshot(), "otlp_http", "body_size"), before + 1);
        let mut e = Exposition::new();
        render(&mut e);
        assert!(e.as_str().contains(
            "# TYPE sextant_ingest_rejected_requests_total counter\n\
             sextant_ingest_rejected_requests_total{protocol=\"otlp_http\",reason=\"body_size\"}"
        ));
        assert_eq!(
            Reason::of_request(&PushError::TooMany {
                what: "series",
                count: 2,
                limit: 1
            }),
            Some(Reason::SeriesPerRequest)
        );
    }
}
