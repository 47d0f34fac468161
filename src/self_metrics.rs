//! `/metrics`: Sextant's own metrics in the Prometheus text format, so the embedded default
//! configuration can scrape Sextant itself. Names follow Prometheus' where dashboards expect them
//! (`process_*`, `prometheus_tsdb_*`), and use the `sextant_` prefix otherwise.

use crate::late_db::LateDb;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

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
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, v: f64) {
    let _ = writeln!(out, "{name}{labels} {v}");
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
        let mut out = String::with_capacity(4096);
        family(
            &mut out,
            "sextant_build_info",
            "gauge",
            "A metric with a constant '1' value labelled by version.",
        );
        sample(
            &mut out,
            "sextant_build_info",
            &format!("{{version=\"{}\"}}", env!("CARGO_PKG_VERSION")),
            1.0,
        );
        if let Some((cpu, rss, vsize, fds, max_fds)) = process_stats() {
            family(
                &mut out,
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
            );
            sample(&mut out, "process_cpu_seconds_total", "", cpu);
            family(
                &mut out,
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
            );
            sample(&mut out, "process_resident_memory_bytes", "", rss);
            family(
                &mut out,
                "process_virtual_memory_bytes",
                "gauge",
                "Virtual memory size in bytes.",
            );
            sample(&mut out, "process_virtual_memory_bytes", "", vsize);
            family(
                &mut out,
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
            );
            sample(&mut out, "process_open_fds", "", fds);
            family(
                &mut out,
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
            );
            sample(&mut out, "process_max_fds", "", max_fds);
        }
        family(
            &mut out,
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
        );
        sample(&mut out, "process_start_time_seconds", "", self.start_time);

        if let Some(db) = self.db.get() {
            let s = db.stats();
            let gauges: [(&str, &str, f64); 10] = [
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
            ];
            for (name, help, v) in gauges {
                family(&mut out, name, "gauge", help);
                sample(&mut out, name, "", v);
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
                family(&mut out, name, kind, help);
                sample(&mut out, name, "", v);
            }
            if s.head_min_time != i64::MAX {
                family(
                    &mut out,
                    "prometheus_tsdb_head_min_time",
                    "gauge",
                    "Lowest timestamp value stored in the head block.",
                );
                sample(
                    &mut out,
                    "prometheus_tsdb_head_min_time",
                    "",
                    s.head_min_time as f64,
                );
                family(
                    &mut out,
                    "prometheus_tsdb_head_max_time",
                    "gauge",
                    "Highest timestamp value stored in the head block.",
                );
                sample(
                    &mut out,
                    "prometheus_tsdb_head_max_time",
                    "",
                    s.head_max_time as f64,
                );
            }
            family(
                &mut out,
                "prometheus_tsdb_head_out_of_order_samples_appended_total",
                "counter",
                "Out-of-order samples accepted.",
            );
            sample(
                &mut out,
                "prometheus_tsdb_head_out_of_order_samples_appended_total",
                "",
                s.out_of_order_samples as f64,
            );
        }

        let targets = self.scrape.targets();
        family(
            &mut out,
            "sextant_scrape_targets",
            "gauge",
            "Scrape targets by job and health.",
        );
        let mut by: std::collections::BTreeMap<(String, &'static str), u64> = Default::default();
        for t in &targets {
            *by.entry((t.job.clone(), t.health.as_str())).or_default() += 1;
        }
        for ((job, health), n) in by {
            sample(
                &mut out,
                "sextant_scrape_targets",
                &format!("{{health=\"{health}\",job=\"{}\"}}", escape(&job)),
                n as f64,
            );
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
