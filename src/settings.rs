//! Flags to typed settings: every `--storage.*`, `--query.*`, `--ingest.*` and `--web.*` flag
//! parsed and checked, the configuration file loaded, before anything starts.

use crate::cli::Flags;
use crate::config::LoadedConfig;
use crate::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Everything `run` needs, validated.
#[derive(Debug)]
pub struct Settings {
    /// The flags as given.
    pub flags: Flags,
    /// The loaded configuration.
    pub config: LoadedConfig,
    /// Address to listen on, normalised (`:9090` -> `0.0.0.0:9090`).
    pub listen_address: String,
    /// Storage options.
    pub db: storage::DbOptions,
    /// `--storage.forward.wal-max-size` in bytes (0: no limit).
    pub forward_wal_max_bytes: u64,
    /// Query engine options.
    pub engine: query::EngineOptions,
    /// Limits of the push endpoints.
    pub push_limits: ingest::PushLimits,
    /// `--web.config.file`: TLS, authentication, headers, rate limit.
    pub security: Arc<crate::security::WebSecurity>,
    /// `--web.cors.origin`, compiled.
    pub cors: Option<Arc<crate::security::cors::Cors>>,
}

impl Settings {
    /// Validates flags and loads the configuration file (or the embedded default).
    pub fn from_flags(flags: &Flags) -> Result<Settings, Error> {
        let cfg_err = |flag: &str, e: String| Error::Config(format!("invalid --{flag}: {e}"));
        let config = LoadedConfig::load(flags.config_file.as_deref()).map_err(Error::Config)?;
        if flags.agent {
            config.check_agent_mode().map_err(Error::Config)?;
        }
        let mut db = storage::DbOptions::new(&flags.storage_path);
        db.retention_ms = parse_duration_ms(&flags.retention_time)
            .map_err(|e| cfg_err("storage.tsdb.retention.time", e))?;
        db.retention_bytes =
            parse_size_bytes(&flags.retention_size).map_err(|e| cfg_err("storage.tsdb.retention.size", e))?;
        db.out_of_order_window_ms = parse_duration_ms(&flags.out_of_order_window)
            .map_err(|e| cfg_err("storage.tsdb.out-of-order-time-window", e))?;
        if let Some(ms) = config.out_of_order_window_ms() {
            // The file's storage.tsdb.out_of_order_time_window, as in Prometheus, wins.
            db.out_of_order_window_ms = ms;
        }
        let fsync = parse_duration_ms(&flags.wal_fsync_interval)
            .map_err(|e| cfg_err("storage.tsdb.wal-fsync-interval", e))?;
        db.wal_fsync_interval = Duration::from_millis(fsync.max(0) as u64);
        db.agent = flags.agent;
        // Head cuts keep the WAL the remote-write queues still need (see start_forwarding).
        db.hold_wal_until_told = !flags.agent;
        let forward_wal_max_bytes = parse_size_bytes(&flags.forward_wal_max_size)
            .map_err(|e| cfg_err("storage.forward.wal-max-size", e))?;
        db.wal_segment_size = parse_size_bytes(&flags.wal_segment_size)
            .map_err(|e| cfg_err("storage.tsdb.wal-segment-size", e))?;
        if db.wal_segment_size < 64 * 1024 {
            return Err(cfg_err(
                "storage.tsdb.wal-segment-size",
                "must be at least 64KB".into(),
            ));
        }
        db.wal_compression = flags.wal_compression;
        db.block_range_ms = parse_duration_ms(&flags.min_block_duration)
            .map_err(|e| cfg_err("storage.tsdb.min-block-duration", e))?;
        if db.block_range_ms < 1000 {
            return Err(cfg_err(
                "storage.tsdb.min-block-duration",
                "must be at least 1s".into(),
            ));
        }
        if let Some(n) = flags.exemplars_limit.or(config.config.max_exemplars()) {
            db.max_exemplars = n;
        }
        let engine = query::EngineOptions {
            lookback_delta_ms: parse_duration_ms(&flags.lookback_delta)
                .map_err(|e| cfg_err("query.lookback-delta", e))?,
            timeout: Duration::from_millis(
                parse_duration_ms(&flags.query_timeout)
                    .map_err(|e| cfg_err("query.timeout", e))?
                    .max(1) as u64,
            ),
            max_samples: flags.query_max_samples,
            max_concurrency: flags.query_max_concurrency.max(1),
        };
        if engine.lookback_delta_ms <= 0 {
            return Err(cfg_err("query.lookback-delta", "must be positive".into()));
        }
        db.max_active_series = flags.max_active_series;
        db.max_series_per_metric = flags.max_series_per_metric;
        let mut push_limits = push_limits(flags)?;
        if let Some(otlp) = &config.config.otlp {
            push_limits.otlp.promote_resource_attributes = otlp.promote_resource_attributes.clone();
            push_limits.otlp.promote_scope_metadata = otlp.promote_scope_metadata;
        }
        let security = crate::security::WebSecurity::load(flags.web_config_file.as_deref())
            .map_err(|e| Error::Config(format!("--web.config.file: {e}")))?;
        let cors = flags
            .cors_origin
            .as_deref()
            .map(crate::security::cors::Cors::new)
            .transpose()
            .map_err(Error::Config)?
            .map(Arc::new);
        Ok(Settings {
            push_limits,
            security,
            cors,
            listen_address: normalise_listen_address(&flags.listen_address),
            flags: flags.clone(),
            config,
            db,
            forward_wal_max_bytes,
            engine,
        })
    }

    /// With the embedded default configuration, points its self-scrape job at `local`, the
    /// address actually bound (with the credential and TLS settings of
    /// [`crate::security::self_scrape`] when `--web.config.file` is given), and returns the
    /// resulting configuration text (what a reload re-reads); `None` with a configuration file.
    pub fn scrape_self_at(&mut self, local: SocketAddr) -> Result<Option<String>, Error> {
        if self.config.source.is_some() {
            return Ok(None);
        }
        let host = if local.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            local.ip().to_string()
        };
        let me = if local.is_ipv6() && !local.ip().is_unspecified() {
            format!("[{host}]:{}", local.port())
        } else {
            format!("{host}:{}", local.port())
        };
        // Behind --web.config.file the job authenticates (and speaks TLS) as a user expects.
        let target_ip = if local.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            local.ip()
        };
        let access = self.security.self_scrape_job(target_ip).unwrap_or_default();
        self.config = LoadedConfig::load_with_self(None, &me, &access).map_err(Error::Config)?;
        Ok(Some(self.config.text.clone()))
    }
}

/// The push limits from the `--ingest.*` flags; every limit must be positive.
fn push_limits(flags: &Flags) -> Result<ingest::PushLimits, Error> {
    let size = |flag: &str, v: &str| -> Result<usize, Error> {
        let b = parse_size_bytes(v).map_err(|e| Error::Config(format!("invalid --{flag}: {e}")))?;
        usize::try_from(b)
            .ok()
            .filter(|b| *b > 0)
            .ok_or_else(|| Error::Config(format!("invalid --{flag}: must be positive")))
    };
    let count = |flag: &str, v: usize| -> Result<usize, Error> {
        if v == 0 {
            Err(Error::Config(format!("invalid --{flag}: must be positive")))
        } else {
            Ok(v)
        }
    };
    Ok(ingest::PushLimits {
        max_body_bytes: size("ingest.max-body-size", &flags.ingest_max_body_size)?,
        max_decompressed_bytes: size(
            "ingest.max-decompressed-size",
            &flags.ingest_max_decompressed_size,
        )?,
        max_series_per_request: count(
            "ingest.max-series-per-request",
            flags.ingest_max_series_per_request,
        )?,
        max_samples_per_request: count(
            "ingest.max-samples-per-request",
            flags.ingest_max_samples_per_request,
        )?,
        max_labels_per_series: count("ingest.max-labels-per-series", flags.ingest_max_labels_per_series)?,
        max_label_name_bytes: count("ingest.max-label-name-length", flags.ingest_max_label_name_length)?,
        max_label_value_bytes: count(
            "ingest.max-label-value-length",
            flags.ingest_max_label_value_length,
        )?,
        ..ingest::PushLimits::default()
    })
}

/// `:9090` -> `0.0.0.0:9090`, as Go's listener reads it.
pub fn normalise_listen_address(addr: &str) -> String {
    if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    }
}

/// A flag's Prometheus duration (`15d`, `1h30m`, `0`) in milliseconds.
fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let d = storage::PromDuration::parse(s.trim())?;
    i64::try_from(d.0.as_millis()).map_err(|_| format!("duration {s:?} is too long"))
}

/// A flag's byte size (`512MB`, `10GB`, `0`).
fn parse_size_bytes(s: &str) -> Result<u64, String> {
    storage::ByteSize::parse(s).map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values() {
        assert_eq!(parse_duration_ms("15d"), Ok(15 * 86_400_000));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert!(parse_duration_ms("30m1h").is_err());
        assert!(parse_duration_ms("15x").is_err());
        assert_eq!(parse_size_bytes("512MB"), Ok(512 << 20));
        assert_eq!(parse_size_bytes("0"), Ok(0));
        assert!(parse_size_bytes("12XB").is_err());
        assert_eq!(normalise_listen_address(":9090"), "0.0.0.0:9090");
    }
}
