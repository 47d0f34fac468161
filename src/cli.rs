//! Command-line flags with Prometheus' names, so existing unit files and scripts keep working.

use clap::Parser;
use std::path::PathBuf;

/// Sextant: a single-binary, Prometheus-compatible monitoring backend.
///
/// Declared boilerplate: one clap-attributed field per Prometheus flag (the fields look alike
/// by design), and [`Flags::as_map`] names each flag again in the order Prometheus'
/// `/api/v1/status/flags` lists them.
#[derive(Parser, Debug, Clone)]
#[command(name = "sextant", version, about, long_about = None)]
pub struct Flags {
    /// Configuration file (prometheus.yml format). Without it, the embedded default is used.
    #[arg(long = "config.file", value_name = "PATH")]
    pub config_file: Option<PathBuf>,

    /// Base path for metrics storage.
    #[arg(long = "storage.tsdb.path", value_name = "PATH", default_value = "data/")]
    pub storage_path: PathBuf,

    /// How long to retain samples in storage (e.g. 15d, 2w, 12h). 0 keeps them forever.
    #[arg(
        long = "storage.tsdb.retention.time",
        value_name = "DURATION",
        default_value = "15d"
    )]
    pub retention_time: String,

    /// Maximum bytes of storage blocks to retain (e.g. 512MB, 10GB). 0 means no limit.
    #[arg(
        long = "storage.tsdb.retention.size",
        value_name = "SIZE",
        default_value = "0"
    )]
    pub retention_size: String,

    /// Most bytes of WAL kept for remote-write queues that have not sent it yet (during an
    /// outage of the receiver); past it the oldest segments go anyway, with a warning, and the
    /// queues count them in `sextant_remote_storage_wal_segments_skipped_total`. 0 means no
    /// limit (the WAL grows until the queues have sent it).
    #[arg(
        long = "storage.forward.wal-max-size",
        value_name = "SIZE",
        default_value = "0"
    )]
    pub forward_wal_max_size: String,

    /// How far behind a series' newest sample an out-of-order sample is still accepted.
    #[arg(
        long = "storage.tsdb.out-of-order-time-window",
        value_name = "DURATION",
        default_value = "0s"
    )]
    pub out_of_order_window: String,

    /// How often the write-ahead log is fsynced (0s: on every commit).
    #[arg(
        long = "storage.tsdb.wal-fsync-interval",
        value_name = "DURATION",
        default_value = "1s"
    )]
    pub wal_fsync_interval: String,

    /// Size at which a WAL segment file is closed and the next one started (e.g. 128MB).
    #[arg(
        long = "storage.tsdb.wal-segment-size",
        value_name = "SIZE",
        default_value = "128MB"
    )]
    pub wal_segment_size: String,

    /// Compress write-ahead log records (snappy), as Prometheus'
    /// `--storage.tsdb.wal-compression`. The WAL reads compressed and uncompressed records
    /// either way; older Sextant versions cannot read compressed ones.
    #[arg(
        long = "storage.tsdb.wal-compression",
        value_name = "BOOL",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub wal_compression: bool,

    /// Time range of the head cut into one block (tests use seconds to make block writes and
    /// compactions frequent). Hidden, as in Prometheus.
    #[arg(
        long = "storage.tsdb.min-block-duration",
        value_name = "DURATION",
        default_value = "2h",
        hide = true
    )]
    pub min_block_duration: String,

    /// Most exemplars kept in memory, shared by all series (overrides the configuration
    /// file's `storage.exemplars.max_exemplars`; default 100000; 0 keeps none).
    #[arg(long = "storage.exemplars.exemplars-limit", value_name = "N")]
    pub exemplars_limit: Option<usize>,

    /// Address to listen on for the UI, API and push endpoints.
    #[arg(long = "web.listen-address", value_name = "ADDR", default_value = ":9090")]
    pub listen_address: String,

    /// Accepted for compatibility: the remote-write receiver is always on.
    #[arg(long = "web.enable-remote-write-receiver")]
    pub enable_remote_write_receiver: bool,

    /// Accepted for compatibility: the OTLP receiver is always on.
    #[arg(long = "web.enable-otlp-receiver")]
    pub enable_otlp_receiver: bool,

    /// Address of the OTLP/gRPC listener (`MetricsService/Export`); empty disables it. OTLP/gRPC
    /// is also accepted on the main listener.
    #[arg(
        long = "otlp.grpc-listen-address",
        value_name = "ADDR",
        default_value = ":4317"
    )]
    pub otlp_grpc_listen_address: String,

    /// Web configuration file (exporter-toolkit format: TLS, basic auth, headers, rate
    /// limit, plus `sextant.roles`) for the HTTP and OTLP/gRPC listeners.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,

    /// Regex of origins allowed to read the API from a browser (CORS), anchored; without it
    /// no CORS headers are sent. Example: 'https?://(grafana|dash)\.example\.com'.
    #[arg(long = "web.cors.origin", value_name = "REGEX")]
    pub cors_origin: Option<String>,

    /// Largest push request body accepted as sent (compressed), e.g. 32MB.
    #[arg(long = "ingest.max-body-size", value_name = "SIZE", default_value = "32MB")]
    pub ingest_max_body_size: String,

    /// Largest push request body after decompression, e.g. 256MB.
    #[arg(
        long = "ingest.max-decompressed-size",
        value_name = "SIZE",
        default_value = "256MB"
    )]
    pub ingest_max_decompressed_size: String,

    /// Most series in one push request.
    #[arg(
        long = "ingest.max-series-per-request",
        value_name = "N",
        default_value_t = 1_000_000
    )]
    pub ingest_max_series_per_request: usize,

    /// Most samples (or OTLP data points) in one push request.
    #[arg(
        long = "ingest.max-samples-per-request",
        value_name = "N",
        default_value_t = 10_000_000
    )]
    pub ingest_max_samples_per_request: usize,

    /// Most labels per pushed series, `__name__` included.
    #[arg(
        long = "ingest.max-labels-per-series",
        value_name = "N",
        default_value_t = 128
    )]
    pub ingest_max_labels_per_series: usize,

    /// Longest label name of a pushed series, in bytes.
    #[arg(
        long = "ingest.max-label-name-length",
        value_name = "BYTES",
        default_value_t = 1024
    )]
    pub ingest_max_label_name_length: usize,

    /// Longest label value of a pushed series, in bytes.
    #[arg(
        long = "ingest.max-label-value-length",
        value_name = "BYTES",
        default_value_t = 16384
    )]
    pub ingest_max_label_value_length: usize,

    /// Most series in the head (all sources); a sample that would create one more is refused.
    /// 0 = no limit.
    #[arg(long = "storage.max-active-series", value_name = "N", default_value_t = 0)]
    pub max_active_series: usize,

    /// Most head series per metric name (cardinality limit); 0 = no limit.
    #[arg(long = "storage.max-series-per-metric", value_name = "N", default_value_t = 0)]
    pub max_series_per_metric: usize,

    /// Enables admin endpoints (snapshot, delete series).
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,

    /// Enables shutdown and reload over HTTP.
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,

    /// The delta difference allowed for retrieving metrics during expression evaluations.
    #[arg(long = "query.lookback-delta", value_name = "DURATION", default_value = "5m")]
    pub lookback_delta: String,

    /// Maximum time a query may take before being aborted.
    #[arg(long = "query.timeout", value_name = "DURATION", default_value = "2m")]
    pub query_timeout: String,

    /// Maximum number of samples a single query can load into memory.
    #[arg(long = "query.max-samples", value_name = "N", default_value_t = 50_000_000)]
    pub query_max_samples: usize,

    /// Maximum number of queries executed concurrently; more wait.
    #[arg(long = "query.max-concurrency", value_name = "N", default_value_t = 20)]
    pub query_max_concurrency: usize,

    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info")]
    pub log_level: String,

    /// Load the embedded alerting rules for beacon nodes (not synced, behind the wall clock,
    /// no finality, few peers, reorg spikes, validators dropping).
    #[arg(long = "rules.beacon-preset", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub beacon_rules: bool,

    /// Agent mode: scrape and receive, forward everything by `remote_write`, keep only the WAL
    /// the queues still need; no local blocks, queries or rules.
    #[arg(long = "agent")]
    pub agent: bool,

    /// Also run simulated beacon nodes on loopback and scrape them (job `beacon-demo`), so the
    /// beacon dashboard fills with live data without a real node.
    #[arg(long = "demo")]
    pub demo: bool,
}

impl Flags {
    /// The flags as Prometheus' `/api/v1/status/flags` shows them: name -> value string.
    pub fn as_map(&self) -> Vec<(String, String)> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        vec![
            ("config.file".into(), path(&self.config_file)),
            (
                "storage.tsdb.path".into(),
                self.storage_path.display().to_string(),
            ),
            ("storage.tsdb.retention.time".into(), self.retention_time.clone()),
            ("storage.tsdb.retention.size".into(), self.retention_size.clone()),
            (
                "storage.forward.wal-max-size".into(),
                self.forward_wal_max_size.clone(),
            ),
            (
                "storage.tsdb.out-of-order-time-window".into(),
                self.out_of_order_window.clone(),
            ),
            (
                "storage.tsdb.wal-fsync-interval".into(),
                self.wal_fsync_interval.clone(),
            ),
            (
                "storage.tsdb.wal-segment-size".into(),
                self.wal_segment_size.clone(),
            ),
            (
                "storage.tsdb.wal-compression".into(),
                self.wal_compression.to_string(),
            ),
            (
                "storage.tsdb.min-block-duration".into(),
                self.min_block_duration.clone(),
            ),
            (
                "storage.exemplars.exemplars-limit".into(),
                self.exemplars_limit.map(|n| n.to_string()).unwrap_or_default(),
            ),
            ("web.listen-address".into(), self.listen_address.clone()),
            (
                "web.enable-remote-write-receiver".into(),
                self.enable_remote_write_receiver.to_string(),
            ),
            (
                "web.enable-otlp-receiver".into(),
                self.enable_otlp_receiver.to_string(),
            ),
            (
                "otlp.grpc-listen-address".into(),
                self.otlp_grpc_listen_address.clone(),
            ),
            ("web.config.file".into(), path(&self.web_config_file)),
            (
                "web.cors.origin".into(),
                self.cors_origin.clone().unwrap_or_default(),
            ),
            ("ingest.max-body-size".into(), self.ingest_max_body_size.clone()),
            (
                "ingest.max-decompressed-size".into(),
                self.ingest_max_decompressed_size.clone(),
            ),
            (
                "ingest.max-series-per-request".into(),
                self.ingest_max_series_per_request.to_string(),
            ),
            (
                "ingest.max-samples-per-request".into(),
                self.ingest_max_samples_per_request.to_string(),
            ),
            (
                "ingest.max-labels-per-series".into(),
                self.ingest_max_labels_per_series.to_string(),
            ),
            (
                "ingest.max-label-name-length".into(),
                self.ingest_max_label_name_length.to_string(),
            ),
            (
                "ingest.max-label-value-length".into(),
                self.ingest_max_label_value_length.to_string(),
            ),
            (
                "storage.max-active-series".into(),
                self.max_active_series.to_string(),
            ),
            (
                "storage.max-series-per-metric".into(),
                self.max_series_per_metric.to_string(),
            ),
            ("web.enable-admin-api".into(), self.enable_admin_api.to_string()),
            ("web.enable-lifecycle".into(), self.enable_lifecycle.to_string()),
            ("query.lookback-delta".into(), self.lookback_delta.clone()),
            ("query.timeout".into(), self.query_timeout.clone()),
            ("query.max-samples".into(), self.query_max_samples.to_string()),
            (
                "query.max-concurrency".into(),
                self.query_max_concurrency.to_string(),
            ),
            ("log.level".into(), self.log_level.clone()),
            ("rules.beacon-preset".into(), self.beacon_rules.to_string()),
            ("demo".into(), self.demo.to_string()),
            ("agent".into(), self.agent.to_string()),
        ]
    }
}
