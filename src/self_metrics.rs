//! `/metrics`: Sextant's own metrics in the Prometheus text format (OpenMetrics when asked,
//! see [`crate::openmetrics`]), so the embedded default configuration can scrape Sextant
//! itself. Names follow Prometheus' where dashboards expect them (`process_*`,
//! `prometheus_tsdb_*`, `prometheus_engine_*`, `prometheus_http_*`), and use the `sextant_`
//! prefix otherwise.
//!
//! Each crate renders its own figures into storage's one writer ([`Exposition`]); this file
//! only renders the process' figures and lists the sources ([`sources`]), in page order:
//!
//! | source | families |
//! |---|---|
//! | here | `prometheus_build_info`, `sextant_build_info`, `process_*` |
//! | [`storage::Db::render_metrics`] | `prometheus_tsdb_*`, `sextant_tsdb_*` |
//! | [`ingest::metrics::render_targets`] | `sextant_scrape_targets` |
//! | [`ingest::metrics::render`] | `sextant_ingest_*`, `sextant_scrape_duration_seconds` |
//! | [`query::metrics::render`] | `prometheus_engine_*`, `sextant_query_duration_seconds` |
//! | [`web::http_metrics::render`] | `prometheus_http_*` |
//! | [`rules::RuleManager::render_metrics`], [`rules::Notifier::render_metrics`] | `prometheus_rule_*`, `prometheus_notifications_*` |
//! | [`ingest::forward::ForwardManager::render_metrics`] | `prometheus_remote_storage_*` |
//! | [`ingest::push::rejections::render`] | `sextant_ingest_rejected_{requests,samples}_total` |
//! | [`query::rejections::render`] | `sextant_query_rejected_total`, `sextant_query_queued_total` |
//! | [`crate::security::auth::render_rejections`] | `sextant_http_rejected_requests_total` |
//!
//! # Adding metrics
//! Keep the figures in plain atomics where the work happens ([`storage::metrics`] has the
//! counter, gauge and histogram types), render them with a `render(out: &mut Exposition)` in
//! the same crate, and add one line to [`sources`]. Write the Prometheus text format; the
//! conversion to OpenMetrics is done once for the whole page.

use crate::late_db::LateDb;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use storage::metrics::{Exposition, Render};

/// What `/metrics` renders: its sources, in page order.
pub struct SelfMetrics {
    sources: Vec<Box<dyn Render>>,
}

impl SelfMetrics {
    /// A page made of `sources`, in that order.
    pub fn new(sources: Vec<Box<dyn Render>>) -> Self {
        SelfMetrics { sources }
    }

    /// Renders every source as Prometheus text exposition 0.0.4.
    pub fn render(&self) -> String {
        storage::metrics::render_all(&self.sources)
    }
}

/// Every source of `/metrics`, in the order the page shows them (see the module's table).
pub fn sources(
    db: Arc<LateDb>,
    scrape: Arc<ingest::ScrapeManager>,
    rules: Arc<crate::alerting::Rules>,
    forward: Arc<ingest::forward::ForwardManager>,
) -> Vec<Box<dyn Render>> {
    let start_time = now_seconds();
    let fwd_db = db.clone();
    vec![
        Box::new(render_build_info),
        Box::new(move |out: &mut Exposition| render_process(out, start_time)),
        Box::new(move |out: &mut Exposition| {
            if let Some(db) = db.get() {
                db.render_metrics(out);
            }
        }),
        Box::new(move |out: &mut Exposition| ingest::metrics::render_targets(&scrape, out)),
        Box::new(ingest::metrics::render),
        Box::new(query::metrics::render),
        Box::new(web::http_metrics::render),
        Box::new(move |out: &mut Exposition| rules.render_metrics(out)),
        Box::new(move |out: &mut Exposition| {
            let highest = fwd_db.get().map(|db| db.stats().head_max_time);
            forward.render_metrics(out, highest)
        }),
        Box::new(ingest::push::rejections::render),
        Box::new(query::rejections::render),
        Box::new(crate::security::auth::render_rejections),
    ]
}

/// Seconds since the epoch, now.
pub fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// (cpu seconds, resident bytes, virtual bytes, open fds, max fds) of this process, from /proc.
fn process_stats() -> Option<(f64, f64, f64, f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields after the command: state is index 0; utime 11, stime 12, vsize 20, rss 21 (pages).
    let ticks = 100.0;
    let cpu = (f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / ticks;
    let vsize: f64 = f.get(20)?.parse().ok()?;
    let rss_pages: f64 = f.get(21)?.parse().ok()?;
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as f64)
        .unwrap_or(0.0);
    let max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|x| x.starts_with("Max open files"))
                .and_then(|x| x.split_whitespace().nth(3).and_then(|v| v.parse::<f64>().ok()))
        })
        .unwrap_or(0.0);
    Some((cpu, rss_pages * 4096.0, vsize, fds, max_fds))
}

/// `prometheus_build_info` (what Prometheus dashboards read) and `sextant_build_info`.
fn render_build_info(out: &mut Exposition) {
    let b = web::BuildInfo::default();
    out.family(
        "prometheus_build_info",
        "gauge",
        "A metric with a constant '1' value labeled by version, revision, branch, goversion from which prometheus was built.",
    )
    .sample(
        "prometheus_build_info",
        &[
            ("branch", &b.branch),
            ("goversion", &b.go_version),
            ("revision", &b.revision),
            ("version", &b.version),
        ],
        1.0,
    );
    out.family(
        "sextant_build_info",
        "gauge",
        "A metric with a constant '1' value labelled by version.",
    )
    .sample(
        "sextant_build_info",
        &[
            ("prometheus_compat_version", &b.version),
            ("version", env!("CARGO_PKG_VERSION")),
        ],
        1.0,
    );
}

/// `process_*` from /proc.
fn render_process(out: &mut Exposition, start_time: f64) {
    if let Some((cpu, rss, vsize, fds, max_fds)) = process_stats() {
        out.single(
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            cpu,
        );
        out.single(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            rss,
        );
        out.single(
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            vsize,
        );
        out.single(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            fds,
        );
        out.single(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            max_fds,
        );
    }
    out.single(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        start_time,
    );
}
