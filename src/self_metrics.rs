//! `/metrics`: Sextant's own metrics in the Prometheus text format (OpenMetrics when asked,
//! see [`crate::openmetrics`]), so the embedded default configuration can scrape Sextant
//! itself. Names follow Prometheus' where dashboards expect them (`process_*`,
//! `prometheus_tsdb_*`, `prometheus_engine_*`, `prometheus_http_*`), and use the `sextant_`
//! prefix otherwise.
//!
//! # Adding metrics
//! Each area keeps its figures in plain atomics where the work happens
//! ([`storage::metrics`] has the counter, gauge and histogram types) and exposes a
//! `render(out: &mut Exposition)` function in its own file; [`SelfMetrics::render`] calls each
//! one with one line. Write the Prometheus text format through [`Exposition`]; the conversion to
//! OpenMetrics is done once for the whole page.

use crate::late_db::LateDb;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use storage::metrics::Exposition;

/// What `/metrics` reads.
pub struct SelfMetrics {
    /// The database (absent until WAL replay is done).
    pub db: Arc<LateDb>,
    /// The scrape manager.
    pub scrape: Arc<ingest::ScrapeManager>,
    /// Process start, Unix seconds.
    pub start_time: f64,
    /// Rule evaluation and notification figures.
    pub rules: Option<Arc<crate::alerting::Rules>>,
    /// Remote-write queues.
    pub forward: Option<Arc<ingest::forward::ForwardManager>>,
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

impl SelfMetrics {
    /// Renders every metric as Prometheus text exposition 0.0.4.
    pub fn render(&self) -> String {
        let mut out = Exposition::new();
        render_build_info(&mut out);
        render_process(&mut out, self.start_time);
        self.render_storage(&mut out);
        self.render_scrape(&mut out);
        ingest::metrics::render(&mut out);
        query::metrics::render(&mut out);
        web::http_metrics::render(&mut out);
        if let Some(r) = &self.rules {
            out.raw(&r.render_metrics());
        }
        if let Some(f) = &self.forward {
            f.render_metrics(&mut out);
        }
        let mut rejected = String::new();
        crate::security::rejections::render(&mut rejected);
        out.raw(&rejected);
        out.finish()
    }

    /// Head, WAL, blocks and compaction figures (`prometheus_tsdb_*`, `sextant_tsdb_*`).
    fn render_storage(&self, out: &mut Exposition) {
        let Some(db) = self.db.get() else {
            return;
        };
        let s = db.stats();
        let gauges: [(&str, &str, f64); 11] = [
            (
                "prometheus_tsdb_head_series",
                "Total number of series in the head block.",
                s.head_series as f64,
            ),
            (
                "prometheus_tsdb_head_chunks",
                "Total number of chunks in the head block.",
                s.head_chunks as f64,
            ),
            (
                "sextant_tsdb_head_samples",
                "Samples held in the head block.",
                s.head_samples as f64,
            ),
            (
                "sextant_tsdb_head_symbols",
                "Interned label strings in the head.",
                s.head_symbols as f64,
            ),
            (
                "prometheus_tsdb_blocks_loaded",
                "Number of currently loaded data blocks.",
                s.blocks as f64,
            ),
            (
                "sextant_tsdb_block_bytes",
                "Bytes of persisted blocks on disk.",
                s.block_bytes as f64,
            ),
            (
                "prometheus_tsdb_wal_storage_size_bytes",
                "Size of the write-ahead log in bytes.",
                s.wal_bytes as f64,
            ),
            (
                "sextant_tsdb_wal_segments",
                "Write-ahead log segment files.",
                s.wal_segments as f64,
            ),
            (
                "sextant_tsdb_wal_poisoned",
                "1 if the write-ahead log refuses writes after a failure.",
                if s.wal_poisoned { 1.0 } else { 0.0 },
            ),
            (
                "prometheus_tsdb_storage_blocks_bytes",
                "Bytes of persisted blocks on disk.",
                s.block_bytes as f64,
            ),
            (
                "sextant_tsdb_disk_bytes",
                "Bytes on disk: blocks and write-ahead log.",
                (s.block_bytes + s.wal_bytes) as f64,
            ),
        ];
        for (name, help, v) in gauges {
            out.single(name, "gauge", help, v);
        }
        // Exemplar storage, under Prometheus' names.
        let ex = db.exemplar_stats();
        for (name, kind, help, v) in [
            (
                "prometheus_tsdb_exemplar_max_exemplars",
                "gauge",
                "Total number of exemplars the exemplar storage can store, resizeable.",
                ex.max_exemplars as f64,
            ),
            (
                "prometheus_tsdb_exemplar_exemplars_in_storage",
                "gauge",
                "Number of exemplars currently in circular storage.",
                ex.exemplars_in_storage as f64,
            ),
            (
                "prometheus_tsdb_exemplar_series_with_exemplars_in_storage",
                "gauge",
                "Number of series with exemplars currently in circular storage.",
                ex.series_with_exemplars as f64,
            ),
            (
                "prometheus_tsdb_exemplar_exemplars_appended_total",
                "counter",
                "Total number of appended exemplars.",
                ex.exemplars_appended as f64,
            ),
            (
                "prometheus_tsdb_exemplar_out_of_order_exemplars_total",
                "counter",
                "Total number of out of order exemplar ingestion failed attempts.",
                ex.out_of_order as f64,
            ),
            (
                "prometheus_tsdb_exemplar_last_exemplars_timestamp_seconds",
                "gauge",
                "The timestamp of the oldest exemplar stored in circular storage.",
                ex.last_exemplar_ts as f64 / 1000.0,
            ),
        ] {
            out.single(name, kind, help, v);
        }
        if s.head_min_time != i64::MAX {
            out.single(
                "prometheus_tsdb_head_min_time",
                "gauge",
                "Lowest timestamp value stored in the head block.",
                s.head_min_time as f64,
            );
            out.single(
                "prometheus_tsdb_head_max_time",
                "gauge",
                "Highest timestamp value stored in the head block.",
                s.head_max_time as f64,
            );
        }
        out.single(
            "prometheus_tsdb_head_out_of_order_samples_appended_total",
            "counter",
            "Out-of-order samples accepted.",
            s.out_of_order_samples as f64,
        );
        let m = db.metrics();
        let counters: [(&str, &str, u64); 13] = [
            (
                "prometheus_tsdb_head_series_created_total",
                "Total number of series created in the head.",
                m.head_series_created,
            ),
            (
                "prometheus_tsdb_head_series_removed_total",
                "Total number of series removed from the head.",
                m.head_series_removed,
            ),
            (
                "prometheus_tsdb_head_samples_appended_total",
                "Total number of appended samples.",
                m.head_samples_appended,
            ),
            (
                "prometheus_tsdb_out_of_bound_samples_total",
                "Samples refused for being older than the head's minimum valid time.",
                m.out_of_bounds_samples,
            ),
            (
                "prometheus_tsdb_out_of_order_samples_total",
                "Samples refused for being out of order beyond the allowed window.",
                m.out_of_order_rejected_samples,
            ),
            (
                "sextant_tsdb_duplicate_samples_total",
                "Samples refused because another value exists at their timestamp.",
                m.duplicate_samples,
            ),
            (
                "prometheus_tsdb_head_truncations_total",
                "Total number of head truncations.",
                m.head_truncations,
            ),
            (
                "prometheus_tsdb_wal_writes_failed_total",
                "Total number of write-ahead log writes and fsyncs that failed.",
                m.wal_failures,
            ),
            (
                "prometheus_tsdb_checkpoint_creations_total",
                "Total number of write-ahead log checkpoints that removed segments.",
                m.wal_checkpoints,
            ),
            (
                "prometheus_tsdb_compactions_total",
                "Total number of compactions (head cuts into blocks and block merges).",
                m.compactions,
            ),
            (
                "prometheus_tsdb_compactions_failed_total",
                "Total number of compactions that failed.",
                m.compactions_failed,
            ),
            (
                "sextant_tsdb_head_cuts_total",
                "Head windows persisted as blocks.",
                m.head_cuts,
            ),
            (
                "sextant_tsdb_retention_deleted_blocks_total",
                "Blocks deleted by time or size retention.",
                m.retention_deleted_blocks,
            ),
        ];
        for (name, help, v) in counters {
            out.single(name, "counter", help, v as f64);
        }
        out.single(
            "prometheus_tsdb_data_replay_duration_seconds",
            "gauge",
            "Time taken to replay the write-ahead log at start.",
            m.wal_replay_seconds,
        );
        let name = "prometheus_tsdb_wal_fsync_duration_seconds";
        out.family(name, "summary", "Duration of write log fsync.")
            .summary(name, &[], &m.wal_fsync_seconds);
        let name = "prometheus_tsdb_compaction_duration_seconds";
        out.family(name, "histogram", "Duration of compactions and head cuts.")
            .histogram(name, &[], &m.compaction_seconds);
    }

    /// Scrape targets by job and health.
    fn render_scrape(&self, out: &mut Exposition) {
        let targets = self.scrape.targets();
        let name = "sextant_scrape_targets";
        out.family(name, "gauge", "Scrape targets by job and health.");
        let mut by: std::collections::BTreeMap<(String, &'static str), u64> = Default::default();
        for t in &targets {
            *by.entry((t.job.clone(), t.health.as_str())).or_default() += 1;
        }
        for ((job, health), n) in by {
            out.sample(name, &[("health", health), ("job", &job)], n as f64);
        }
    }
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
