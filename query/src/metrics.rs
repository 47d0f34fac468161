//! The engine's self-metrics: query durations (by kind and by stage), samples loaded, queries
//! in flight. Process-wide atomics ([`engine`]), bumped by [`crate::Engine`] and rendered into
//! `/metrics` by [`render`], which the root calls.

use std::sync::OnceLock;
use std::time::Duration;
use storage::metrics::{Counter, Exposition, Gauge, Histogram, Summary, LATENCY_BUCKETS};

/// The stages of a query, as Prometheus' `slice` label names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slice {
    /// Waiting for a free slot of `--query.max-concurrency`.
    QueueTime,
    /// Parsing the expression.
    PrepareTime,
    /// Evaluating it (storage reads included).
    InnerEval,
    /// Sorting a range query's result.
    ResultSort,
}

impl Slice {
    const ALL: [Slice; 4] = [
        Slice::QueueTime,
        Slice::PrepareTime,
        Slice::InnerEval,
        Slice::ResultSort,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Slice::QueueTime => "queue_time",
            Slice::PrepareTime => "prepare_time",
            Slice::InnerEval => "inner_eval",
            Slice::ResultSort => "result_sort",
        }
    }
}

/// Instant or range query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `/api/v1/query`, rule evaluation.
    Instant,
    /// `/api/v1/query_range`.
    Range,
}

/// The process-wide engine figures.
#[derive(Debug)]
pub struct QueryMetrics {
    /// Queries executing or waiting for a slot.
    pub in_flight: Gauge,
    /// The largest `--query.max-concurrency` of the engines created.
    pub max_concurrency: Gauge,
    slices: [Summary; 4],
    instant: Histogram,
    range: Histogram,
    /// Samples read from storage by all queries.
    pub samples_loaded: Counter,
    /// Queries that ended in an error (bad expression, timeout, limit, storage).
    pub failed: [Counter; 2],
}

impl QueryMetrics {
    /// Records the duration of one stage.
    pub fn slice(&self, s: Slice, d: Duration) {
        self.slices[s as usize].observe_duration(d);
    }

    /// Records a finished query.
    pub fn finished(&self, k: Kind, d: Duration, ok: bool) {
        match k {
            Kind::Instant => self.instant.observe_duration(d),
            Kind::Range => self.range.observe_duration(d),
        }
        if !ok {
            self.failed[k as usize].inc();
        }
    }

    /// Number of queries of `k` finished so far.
    pub fn count(&self, k: Kind) -> u64 {
        match k {
            Kind::Instant => self.instant.snapshot().count,
            Kind::Range => self.range.snapshot().count,
        }
    }
}

/// The process-wide engine figures, created on first use.
pub fn engine() -> &'static QueryMetrics {
    static M: OnceLock<QueryMetrics> = OnceLock::new();
    M.get_or_init(|| QueryMetrics {
        in_flight: Gauge::new(),
        max_concurrency: Gauge::new(),
        slices: std::array::from_fn(|_| Summary::new()),
        instant: Histogram::new(LATENCY_BUCKETS),
        range: Histogram::new(LATENCY_BUCKETS),
        samples_loaded: Counter::new(),
        failed: Default::default(),
    })
}

/// Renders the engine figures with Prometheus' names (`prometheus_engine_*`) and
/// `sextant_query_*`.
pub fn render(out: &mut Exposition) {
    let m = engine();
    out.single(
        "prometheus_engine_queries",
        "gauge",
        "The current number of queries being executed or waiting.",
        m.in_flight.get() as f64,
    );
    out.single(
        "prometheus_engine_queries_concurrent_max",
        "gauge",
        "The max number of concurrent queries.",
        m.max_concurrency.get() as f64,
    );
    out.single(
        "prometheus_engine_query_samples_total",
        "counter",
        "The total number of samples loaded by all queries.",
        m.samples_loaded.get() as f64,
    );
    let name = "prometheus_engine_query_duration_seconds";
    out.family(name, "summary", "Query timings");
    for s in Slice::ALL {
        out.summary(name, &[("slice", s.as_str())], &m.slices[s as usize].snapshot());
    }
    let name = "sextant_query_duration_seconds";
    out.family(
        name,
        "histogram",
        "Query durations (queue wait included), by kind.",
    );
    out.histogram(name, &[("kind", "instant")], &m.instant.snapshot());
    out.histogram(name, &[("kind", "range")], &m.range.snapshot());
    let name = "sextant_query_failures_total";
    out.family(name, "counter", "Queries that ended in an error, by kind.");
    out.sample(name, &[("kind", "instant")], m.failed[0].get() as f64);
    out.sample(name, &[("kind", "range")], m.failed[1].get() as f64);
}
