//! The database's self-metrics: head, WAL, blocks, compaction and exemplar figures, rendered
//! by [`Db::render_metrics`] under Prometheus' names (`prometheus_tsdb_*`) where dashboards
//! expect them and `sextant_tsdb_*` otherwise.

use super::Db;
use crate::metrics::Exposition;

impl Db {
    /// Renders the database's figures into `out` (`prometheus_tsdb_*`, `sextant_tsdb_*`).
    pub fn render_metrics(&self, out: &mut Exposition) {
        let s = self.stats();
        let gauges: [(&str, &str, f64); 12] = [
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
                "prometheus_tsdb_head_chunks_storage_size_bytes",
                "Size of the chunks_head directory.",
                s.head_chunks_disk_bytes as f64,
            ),
            (
                "sextant_tsdb_disk_bytes",
                "Bytes on disk: blocks, write-ahead log and head chunk files.",
                (s.block_bytes + s.wal_bytes + s.head_chunks_disk_bytes) as f64,
            ),
        ];
        for (name, help, v) in gauges {
            out.single(name, "gauge", help, v);
        }
        // Exemplar storage, under Prometheus' names.
        let ex = self.exemplar_stats();
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
        let m = self.metrics();
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
}
