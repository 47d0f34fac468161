//! Ingestion's self-metrics: samples appended per protocol, push requests, scrapes.
//!
//! The figures are process-wide atomics ([`INGEST`]), bumped where the work is done (the push
//! handlers after a commit, the scrape loop after each scrape) and rendered into `/metrics` by
//! [`render`]; [`render_targets`] counts a scrape manager's targets by job and health. The
//! root lists both among the sources of `/metrics`.

use std::sync::OnceLock;
use storage::metrics::{Counter, Exposition, Histogram, HistogramSnapshot, LATENCY_BUCKETS};

/// Where samples came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Prometheus remote write 1.0.
    RemoteWriteV1,
    /// Prometheus remote write 2.0.
    RemoteWriteV2,
    /// OTLP over HTTP (protobuf or JSON).
    OtlpHttp,
    /// OTLP over gRPC.
    OtlpGrpc,
    /// `/api/v1/import/prometheus` (text exposition pushed by batch jobs).
    Import,
    /// Scrapes of targets.
    Scrape,
    /// OTLP traces (counted into span metrics), HTTP or gRPC.
    OtlpTraces,
}

impl Protocol {
    /// Every protocol, in the order of their counters.
    pub const ALL: [Protocol; 7] = [
        Protocol::RemoteWriteV1,
        Protocol::RemoteWriteV2,
        Protocol::OtlpHttp,
        Protocol::OtlpGrpc,
        Protocol::Import,
        Protocol::Scrape,
        Protocol::OtlpTraces,
    ];

    /// The `protocol` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::RemoteWriteV1 => "remote_write_v1",
            Protocol::RemoteWriteV2 => "remote_write_v2",
            Protocol::OtlpHttp => "otlp_http",
            Protocol::OtlpGrpc => "otlp_grpc",
            Protocol::Import => "import",
            Protocol::Scrape => "scrape",
            Protocol::OtlpTraces => "otlp_traces",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counters of one protocol.
#[derive(Debug, Default)]
pub struct ProtocolCounters {
    /// Float samples appended (committed).
    pub samples: Counter,
    /// Native histogram samples appended (each stored as classic series).
    pub histograms: Counter,
    /// Exemplars received (counted, not stored).
    pub exemplars: Counter,
    /// Requests (or scrapes) whose batch was committed.
    pub requests: Counter,
    /// Requests (or scrapes) that failed as a whole (nothing stored).
    pub failed: Counter,
}

/// The process-wide ingest figures.
#[derive(Debug)]
pub struct IngestMetrics {
    by_protocol: [ProtocolCounters; Protocol::ALL.len()],
    /// Durations of scrapes (fetch, parse and append), all targets.
    pub scrape_duration: Histogram,
}

impl IngestMetrics {
    /// The counters of `p`.
    pub fn protocol(&self, p: Protocol) -> &ProtocolCounters {
        &self.by_protocol[p.index()]
    }

    /// Records a committed batch.
    pub fn appended(&self, p: Protocol, samples: usize, histograms: usize, exemplars: usize) {
        let c = self.protocol(p);
        c.samples.add(samples as u64);
        c.histograms.add(histograms as u64);
        c.exemplars.add(exemplars as u64);
        c.requests.inc();
    }

    /// Records a request that stored nothing.
    pub fn failed(&self, p: Protocol) {
        self.protocol(p).failed.inc();
    }

    /// Snapshot of the scrape duration histogram.
    pub fn scrape_durations(&self) -> HistogramSnapshot {
        self.scrape_duration.snapshot()
    }
}

/// The process-wide ingest figures, created on first use.
pub fn ingest() -> &'static IngestMetrics {
    static M: OnceLock<IngestMetrics> = OnceLock::new();
    M.get_or_init(|| IngestMetrics {
        by_protocol: Default::default(),
        scrape_duration: Histogram::new(LATENCY_BUCKETS),
    })
}

/// Renders the ingest figures (`sextant_ingest_*`, `sextant_scrape_duration_seconds`).
pub fn render(out: &mut Exposition) {
    let m = ingest();
    type Pick = fn(&ProtocolCounters) -> &Counter;
    let families: [(&str, &str, Pick); 5] = [
        (
            "sextant_ingest_samples_appended_total",
            "Float samples appended to storage, by protocol.",
            |c| &c.samples,
        ),
        (
            "sextant_ingest_histograms_appended_total",
            "Native histogram samples appended (as classic series), by protocol.",
            |c| &c.histograms,
        ),
        (
            "sextant_ingest_exemplars_received_total",
            "Exemplars received (not stored), by protocol.",
            |c| &c.exemplars,
        ),
        (
            "sextant_ingest_requests_total",
            "Push requests and scrapes whose batch was committed, by protocol.",
            |c| &c.requests,
        ),
        (
            "sextant_ingest_requests_failed_total",
            "Push requests and scrapes that stored nothing, by protocol.",
            |c| &c.failed,
        ),
    ];
    for (name, help, pick) in families {
        out.family(name, "counter", help);
        for p in Protocol::ALL {
            out.sample(
                name,
                &[("protocol", p.as_str())],
                pick(m.protocol(p)).get() as f64,
            );
        }
    }
    out.family(
        "sextant_scrape_duration_seconds",
        "histogram",
        "Durations of scrapes (fetch, parse, append), all targets.",
    )
    .histogram("sextant_scrape_duration_seconds", &[], &m.scrape_durations());
}

/// Renders `sextant_scrape_targets`: the targets of `scrape` by job and health.
pub fn render_targets(scrape: &crate::ScrapeManager, out: &mut Exposition) {
    let name = "sextant_scrape_targets";
    out.family(name, "gauge", "Scrape targets by job and health.");
    let mut by: std::collections::BTreeMap<(String, &'static str), u64> = Default::default();
    for t in scrape.targets() {
        *by.entry((t.job, t.health.as_str())).or_default() += 1;
    }
    for ((job, health), n) in by {
        out.sample(name, &[("health", health), ("job", &job)], n as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_index_their_counters() {
        for (i, p) in Protocol::ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
        }
        let before = ingest().protocol(Protocol::Import).samples.get();
        ingest().appended(Protocol::Import, 3, 0, 0);
        assert!(ingest().protocol(Protocol::Import).samples.get() >= before + 3);
        let mut e = Exposition::new();
        render(&mut e);
        assert!(e
            .as_str()
            .contains("sextant_ingest_samples_appended_total{protocol=\"import\"}"));
    }
}
