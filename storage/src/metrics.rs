//! Self-metrics primitives: lock-free counters and histograms, and a writer for the
//! Prometheus text exposition format.
//!
//! Every crate of Sextant depends on `storage`, so these types are the shared vocabulary of
//! its self-observability: a crate keeps its figures in plain atomics ([`Counter`],
//! [`Gauge`], [`Histogram`]) where the work happens and renders them itself into the one
//! [`Exposition`] writer; the root lists the renderers ([`Render`]) that `/metrics` calls.
//! Recording is one relaxed atomic add (a histogram: a short scan of its bounds plus two adds;
//! a [`Summary`]: a short lock to keep the observation for its quantiles); nothing registers
//! anything globally.
//!
//! [`DbMetrics`] is the database's own snapshot, returned by [`crate::Db::metrics`].

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// A counter at zero.
    pub const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }

    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (an integer: in-flight requests, queue lengths).
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// A gauge at zero.
    pub const fn new() -> Self {
        Gauge(AtomicI64::new(0))
    }

    /// Adds `n` (may be negative).
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Adds one now and subtracts it when the returned guard drops.
    pub fn track(&self) -> GaugeGuard<'_> {
        self.add(1);
        GaugeGuard(self)
    }
}

/// Subtracts one from its [`Gauge`] on drop (see [`Gauge::track`]).
#[derive(Debug)]
pub struct GaugeGuard<'a>(&'a Gauge);

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.add(-1);
    }
}

/// Upper bounds (seconds) for latencies from 100 µs to a minute: fsyncs, queries, requests.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Upper bounds (seconds) for long operations, one second to an hour: compactions, replay.
pub const LONG_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// A histogram with fixed upper bounds, as Prometheus' classic histograms: per-bucket counts
/// (not cumulative while recording), the count and the sum of observations.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    /// f64 bits, updated by compare-and-swap.
    sum: AtomicU64,
}

impl Histogram {
    /// A histogram with upper bounds `bounds` (ascending; `+Inf` is implicit).
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: (0..bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// Records one observation `v`.
    pub fn observe(&self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| v <= b) {
            if let Some(b) = self.buckets.get(i) {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let _ = self.sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
            Some((f64::from_bits(s) + v).to_bits())
        });
    }

    /// Records a duration in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// The current figures, buckets cumulative.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut acc = 0u64;
        let buckets = self
            .bounds
            .iter()
            .zip(self.buckets.iter())
            .map(|(&b, c)| {
                acc += c.load(Ordering::Relaxed);
                (b, acc)
            })
            .collect();
        // The count is read last so it is never below the buckets' sum.
        let count = self.count.load(Ordering::Relaxed).max(acc);
        HistogramSnapshot {
            buckets,
            count,
            sum: f64::from_bits(self.sum.load(Ordering::Relaxed)),
        }
    }
}

/// How long a [`Summary`] keeps observations for its quantiles (Prometheus' client default).
pub const SUMMARY_MAX_AGE: Duration = Duration::from_secs(600);

/// Observations a [`Summary`] keeps at most for its quantiles (the newest win).
const SUMMARY_MAX_KEPT: usize = 4096;

/// A summary as Prometheus' client libraries keep one: the count and sum of every
/// observation since start, and the 0.5, 0.9 and 0.99 quantiles of the observations of the
/// last [`SUMMARY_MAX_AGE`] (at most the newest 4096 of them, so the quantiles are exact over
/// what is kept). Prometheus exposes some of its own figures this way
/// (`prometheus_engine_query_duration_seconds`, `prometheus_tsdb_wal_fsync_duration_seconds`),
/// and dashboards made for it select `quantile="0.9"`.
#[derive(Debug)]
pub struct Summary {
    count: AtomicU64,
    /// f64 bits, updated by compare-and-swap.
    sum: AtomicU64,
    recent: parking_lot::Mutex<std::collections::VecDeque<(std::time::Instant, f64)>>,
}

impl Default for Summary {
    fn default() -> Self {
        Self::new()
    }
}

/// The quantiles a [`Summary`] reports.
pub const SUMMARY_QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

impl Summary {
    /// An empty summary.
    pub fn new() -> Self {
        Summary {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0f64.to_bits()),
            recent: parking_lot::Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// Records one observation `v`.
    pub fn observe(&self, v: f64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let _ = self.sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
            Some((f64::from_bits(s) + v).to_bits())
        });
        let mut r = self.recent.lock();
        if r.len() >= SUMMARY_MAX_KEPT {
            r.pop_front();
        }
        r.push_back((std::time::Instant::now(), v));
    }

    /// Records a duration in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// The current figures: quantiles over the recent window (NaN when it is empty, as
    /// Prometheus' clients report them), count and sum since start.
    pub fn snapshot(&self) -> SummarySnapshot {
        let mut values: Vec<f64> = {
            let mut r = self.recent.lock();
            let now = std::time::Instant::now();
            while r
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > SUMMARY_MAX_AGE)
            {
                r.pop_front();
            }
            r.iter().map(|(_, v)| *v).collect()
        };
        values.sort_by(f64::total_cmp);
        let quantiles = SUMMARY_QUANTILES
            .iter()
            .map(|&q| (q, quantile_of_sorted(&values, q)))
            .collect();
        SummarySnapshot {
            quantiles,
            count: self.count.load(Ordering::Relaxed),
            sum: f64::from_bits(self.sum.load(Ordering::Relaxed)),
        }
    }
}

/// The `q` quantile of ascending `values` by rank (the smallest value with at least
/// `q * n` values at or below it); NaN for none.
fn quantile_of_sorted(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// A summary's figures at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SummarySnapshot {
    /// `(quantile, value)`, ascending by quantile.
    pub quantiles: Vec<(f64, f64)>,
    /// Observations since start.
    pub count: u64,
    /// Sum of the observations since start.
    pub sum: f64,
}

/// A histogram's figures at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound, cumulative count)`, ascending; the `+Inf` bucket is [`Self::count`].
    pub buckets: Vec<(f64, u64)>,
    /// Observations.
    pub count: u64,
    /// Sum of the observations.
    pub sum: f64,
}

/// The database's counters and histograms ([`crate::Db::metrics`]); gauges such as head
/// series or WAL size are in [`crate::DbStats`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DbMetrics {
    /// Series created in the head since start (WAL replay included).
    pub head_series_created: u64,
    /// Series removed from the head by truncation since start.
    pub head_series_removed: u64,
    /// Samples appended to the head since start (replay excluded).
    pub head_samples_appended: u64,
    /// Samples refused for being older than the head's floor (already in blocks).
    pub out_of_bounds_samples: u64,
    /// Samples refused for being older than the out-of-order window allows.
    pub out_of_order_rejected_samples: u64,
    /// Samples refused because another value already exists at their timestamp.
    pub duplicate_samples: u64,
    /// Head truncations (after each block cut).
    pub head_truncations: u64,
    /// WAL fsync durations.
    pub wal_fsync_seconds: SummarySnapshot,
    /// WAL writes or fsyncs that failed.
    pub wal_failures: u64,
    /// WAL checkpoints that removed segments.
    pub wal_checkpoints: u64,
    /// Seconds the WAL replay took at open.
    pub wal_replay_seconds: f64,
    /// Compactions done: head cuts into blocks and merges of blocks.
    pub compactions: u64,
    /// Compactions (or cuts) that failed.
    pub compactions_failed: u64,
    /// Head cuts into blocks.
    pub head_cuts: u64,
    /// Durations of compactions and head cuts.
    pub compaction_seconds: HistogramSnapshot,
    /// Blocks deleted because of time or size retention.
    pub retention_deleted_blocks: u64,
}

/// A writer for the Prometheus text exposition format (0.0.4): families with `# HELP` and
/// `# TYPE`, label values escaped. The root converts the whole page to OpenMetrics when the
/// scraper asks for it, so writers only ever produce this format.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

use crate::model::escape_label_value;

fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

impl Exposition {
    /// An empty page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a family: `kind` is `counter`, `gauge`, `histogram`, `summary` or `untyped`.
    /// An empty `help` writes no `# HELP` line, only `# TYPE`.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) -> &mut Self {
        if !help.is_empty() {
            let help = help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(self.out, "# HELP {name} {help}");
        }
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        self
    }

    /// One sample; `labels` are `(name, value)` pairs, values escaped here.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) -> &mut Self {
        self.out.push_str(name);
        self.labels(labels, None);
        let _ = writeln!(self.out, " {}", fmt_value(v));
        self
    }

    fn labels(&mut self, labels: &[(&str, &str)], le: Option<&str>) {
        if labels.is_empty() && le.is_none() {
            return;
        }
        self.out.push('{');
        let mut first = true;
        for (k, v) in labels.iter().map(|(k, v)| (*k, *v)).chain(le.map(|l| ("le", l))) {
            if !first {
                self.out.push(',');
            }
            first = false;
            let _ = write!(self.out, "{k}=\"{}\"", escape_label_value(v));
        }
        self.out.push('}');
    }

    /// A whole family with a single unlabelled sample.
    pub fn single(&mut self, name: &str, kind: &str, help: &str, v: f64) -> &mut Self {
        self.family(name, kind, help).sample(name, &[], v)
    }

    /// The series of one histogram (`_bucket` with `le`, `_sum`, `_count`); call
    /// [`Exposition::family`] with kind `histogram` once before the first.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) -> &mut Self {
        let bucket = format!("{name}_bucket");
        for (b, c) in &h.buckets {
            self.out.push_str(&bucket);
            self.labels(labels, Some(&fmt_value(*b)));
            let _ = writeln!(self.out, " {c}");
        }
        self.out.push_str(&bucket);
        self.labels(labels, Some("+Inf"));
        let _ = writeln!(self.out, " {}", h.count);
        self.sample(&format!("{name}_sum"), labels, h.sum);
        self.sample(&format!("{name}_count"), labels, h.count as f64)
    }

    /// The series of one summary (`{quantile="..."}`, `_sum`, `_count`); call
    /// [`Exposition::family`] with kind `summary` once before the first.
    pub fn summary(&mut self, name: &str, labels: &[(&str, &str)], s: &SummarySnapshot) -> &mut Self {
        for (q, v) in &s.quantiles {
            self.out.push_str(name);
            let q = fmt_value(*q);
            let mut with_q: Vec<(&str, &str)> = labels.to_vec();
            with_q.push(("quantile", &q));
            self.labels(&with_q, None);
            let _ = writeln!(self.out, " {}", fmt_value(*v));
        }
        self.sample(&format!("{name}_sum"), labels, s.sum);
        self.sample(&format!("{name}_count"), labels, s.count as f64)
    }

    /// Appends text already in the exposition format (a whole family or more).
    pub fn raw(&mut self, text: &str) -> &mut Self {
        self.out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            self.out.push('\n');
        }
        self
    }

    /// The page so far.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    /// The page.
    pub fn finish(self) -> String {
        self.out
    }
}

/// One source of self-metrics: renders its figures into the page. Every crate offers its
/// own (a `fn(&mut Exposition)` or a method behind a closure); the root lists them in the
/// order `/metrics` shows them.
pub trait Render: Send + Sync {
    /// Appends this source's families to `out`.
    fn render(&self, out: &mut Exposition);
}

impl<F: Fn(&mut Exposition) + Send + Sync> Render for F {
    fn render(&self, out: &mut Exposition) {
        self(out)
    }
}

/// Renders every source of `sources`, in order, into one page.
pub fn render_all(sources: &[Box<dyn Render>]) -> String {
    let mut out = Exposition::new();
    for s in sources {
        s.render(&mut out);
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::new(&[1.0, 2.0, 5.0]);
        for v in [0.5, 1.0, 1.5, 3.0, 10.0] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.buckets, vec![(1.0, 2), (2.0, 3), (5.0, 4)]);
        assert_eq!(s.count, 5);
        assert!((s.sum - 16.0).abs() < 1e-9);
    }

    #[test]
    fn exposition_text() {
        let h = Histogram::new(&[0.5]);
        h.observe(0.25);
        let mut e = Exposition::new();
        e.single("a_total", "counter", "A\\b\nc.", 3.0);
        e.family("h_seconds", "histogram", "H.")
            .histogram("h_seconds", &[("x", "q\"v")], &h.snapshot());
        e.family("g", "gauge", "G.").sample("g", &[], f64::INFINITY);
        e.family("t", "gauge", "").sample("t", &[], 1.0);
        assert_eq!(
            e.finish(),
            "# HELP a_total A\\\\b\\nc.\n# TYPE a_total counter\na_total 3\n\
             # HELP h_seconds H.\n# TYPE h_seconds histogram\n\
             h_seconds_bucket{x=\"q\\\"v\",le=\"0.5\"} 1\nh_seconds_bucket{x=\"q\\\"v\",le=\"+Inf\"} 1\n\
             h_seconds_sum{x=\"q\\\"v\"} 0.25\nh_seconds_count{x=\"q\\\"v\"} 1\n\
             # HELP g G.\n# TYPE g gauge\ng +Inf\n# TYPE t gauge\nt 1\n"
        );
    }

    #[test]
    fn gauge_guard() {
        let g = Gauge::new();
        {
            let _a = g.track();
            let _b = g.track();
            assert_eq!(g.get(), 2);
        }
        assert_eq!(g.get(), 0);
    }

    #[test]
    fn summary_quantiles_over_recent_observations() {
        let s = Summary::new();
        let empty = s.snapshot();
        assert_eq!(empty.count, 0);
        assert!(empty.quantiles.iter().all(|(_, v)| v.is_nan()));
        for v in 1..=100 {
            s.observe(v as f64);
        }
        let snap = s.snapshot();
        assert_eq!(snap.quantiles, vec![(0.5, 50.0), (0.9, 90.0), (0.99, 99.0)]);
        assert_eq!(snap.count, 100);
        assert!((snap.sum - 5050.0).abs() < 1e-9);
        // Only the newest observations are kept for quantiles; count and sum keep everything.
        for _ in 0..SUMMARY_MAX_KEPT {
            s.observe(1000.0);
        }
        let snap = s.snapshot();
        assert_eq!(snap.quantiles[0], (0.5, 1000.0));
        assert_eq!(snap.count, 100 + SUMMARY_MAX_KEPT as u64);
    }

    #[test]
    fn summary_exposition_text() {
        let s = Summary::new();
        s.observe(0.5);
        let mut e = Exposition::new();
        e.family("f_seconds", "summary", "F.").summary(
            "f_seconds",
            &[("slice", "inner_eval")],
            &s.snapshot(),
        );
        assert_eq!(
            e.finish(),
            "# HELP f_seconds F.\n# TYPE f_seconds summary\n\
             f_seconds{slice=\"inner_eval\",quantile=\"0.5\"} 0.5\n\
             f_seconds{slice=\"inner_eval\",quantile=\"0.9\"} 0.5\n\
             f_seconds{slice=\"inner_eval\",quantile=\"0.99\"} 0.5\n\
             f_seconds_sum{slice=\"inner_eval\"} 0.5\nf_seconds_count{slice=\"inner_eval\"} 1\n"
        );
    }
}
