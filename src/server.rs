//! Wiring: open the database, start ingestion, merge the routers of `ingest` and `web`,
//! serve until shutdown, then stop in order (HTTP, ingestion, database).

use crate::cli::Flags;
use crate::config::LoadedConfig;
use crate::late_db::LateDb;
use crate::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

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
        let mut db = storage::DbOptions::new(&flags.storage_path);
        db.retention_ms = parse_duration_ms(&flags.retention_time)
            .map_err(|e| cfg_err("storage.tsdb.retention.time", e))?;
        db.retention_bytes =
            parse_size_bytes(&flags.retention_size).map_err(|e| cfg_err("storage.tsdb.retention.size", e))?;
        db.out_of_order_window_ms = parse_duration_ms(&flags.out_of_order_window)
            .map_err(|e| cfg_err("storage.tsdb.out-of-order-time-window", e))?;
        let fsync = parse_duration_ms(&flags.wal_fsync_interval)
            .map_err(|e| cfg_err("storage.tsdb.wal-fsync-interval", e))?;
        db.wal_fsync_interval = Duration::from_millis(fsync.max(0) as u64);
        db.agent = flags.agent;
        db.wal_segment_size = parse_size_bytes(&flags.wal_segment_size)
            .map_err(|e| cfg_err("storage.tsdb.wal-segment-size", e))?;
        if db.wal_segment_size < 64 * 1024 {
            return Err(cfg_err(
                "storage.tsdb.wal-segment-size",
                "must be at least 64KB".into(),
            ));
        }
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
        let push_limits = push_limits(flags)?;
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
            engine,
        })
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

/// Binds the HTTP listener.
pub async fn bind(addr: &str) -> Result<TcpListener, Error> {
    TcpListener::bind(addr).await.map_err(|source| Error::Listen {
        addr: addr.to_string(),
        source,
    })
}

/// Serves on `listener` until `shutdown` completes, then stops in order.
pub async fn run(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let local: SocketAddr = listener.local_addr().map_err(|source| Error::Io {
        context: "reading the listen address".into(),
        source,
    })?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "Starting Sextant; config {}",
        settings
            .config
            .source
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<embedded default>".into())
    );
    for section in settings.config.unsupported_sections() {
        tracing::warn!("config section {section:?} is accepted but not supported yet; it has no effect");
    }

    let mut settings = settings;
    if settings.config.source.is_none() {
        // The embedded default scrapes Sextant itself: point it at the address actually bound.
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
        settings.config = LoadedConfig::load_with_self(None, &me).map_err(Error::Config)?;
    }
    let self_target = settings
        .config
        .source
        .is_none()
        .then(|| settings.config.text.clone());

    let late = Arc::new(LateDb::new());
    let ready = Arc::new(AtomicBool::new(false));
    let engine = Arc::new(query::Engine::new(settings.engine.clone()));
    let appendable: Arc<dyn storage::Appendable> = late.clone();
    let scrape = Arc::new(ingest::ScrapeManager::new(appendable.clone()));
    let mut web_state = web::WebState::new(late.clone(), engine.clone(), ready.clone());
    web_state.targets = Arc::new(crate::targets::ScrapeTargets(scrape.clone()));
    web_state.flags = settings.flags.as_map().into_iter().collect();
    web_state.config_yaml = crate::security::secrets::mask(&settings.config.text);
    web_state.external_labels =
        storage::Labels::from_pairs(settings.config.config.global.external_labels.iter());
    web_state.storage_retention = settings.flags.retention_time.clone();
    web_state.enable_admin_api = settings.flags.enable_admin_api;
    web_state.admin = Some(Arc::new(crate::admin::DbAdmin(late.clone())));
    web_state.tsdb_stats = Some(Arc::new(HeadStatsFromDb(late.clone())));
    let push_limits = settings.push_limits.clone();
    // OTLP over gRPC is served on the same listener (HTTP/2 cleartext) as everything else.
    let agent = settings.flags.agent;
    if agent {
        tracing::info!("Agent mode: forwarding by remote_write only; no local blocks, queries or rules");
        if !settings.config.config.rule_files.is_empty() {
            tracing::warn!("rule_files are ignored in agent mode");
        }
    }
    let forward = Arc::new(ingest::forward::ForwardManager::new(
        &settings.db.path,
        &storage::Db::wal_dir_of(&settings.db.path),
    ));
    let rules = Arc::new(
        crate::alerting::Rules::new(
            &settings.config,
            late.clone(),
            late.clone(),
            engine.clone(),
            settings.flags.beacon_rules && !agent,
        )
        .map_err(|e| Error::Config(format!("alerting configuration: {e}")))?,
    );
    web_state.rules = Some(Arc::new(crate::alerting::RulesStatus(rules.manager.clone())));
    web_state.remote_write = Some(Arc::new(crate::forwarding::ForwardStatus(forward.clone())));
    let self_metrics = Arc::new(crate::self_metrics::SelfMetrics {
        db: late.clone(),
        scrape: scrape.clone(),
        start_time: crate::self_metrics::now_seconds(),
        rules: Some(rules.clone()),
        forward: Some(forward.clone()),
    });
    let metrics_route = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let m = self_metrics.clone();
            async move { crate::openmetrics::respond(&headers, m.render()) }
        }),
    );
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel::<ReloadRequest>(4);
    let (grpc_stop_tx, stop_rx_for_grpc) = tokio::sync::watch::channel(false);
    let app = web::router(Arc::new(web_state))
        .merge(metrics_route)
        .merge(lifecycle_routes(settings.flags.enable_lifecycle, reload_tx))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::agent::refuse_queries(agent, req, next)
        }))
        .merge(ingest::push_router(appendable.clone(), push_limits.clone()))
        .merge(ingest::otlp::grpc::otlp_grpc_router(
            appendable.clone(),
            push_limits.clone(),
        ))
        // The gRPC router's fallback answers every unknown path with gRPC's UNIMPLEMENTED;
        // HTTP clients must get Prometheus' 404 instead.
        .fallback(web::fallback)
        // Counts every request by route pattern and status (`prometheus_http_requests_total`).
        .layer(axum::middleware::from_fn(web::http_metrics::track));
    let app = crate::security::protect(app, settings.security.clone(), settings.cors.clone());

    let grpc_server = start_otlp_grpc(
        &settings.flags.otlp_grpc_listen_address,
        appendable,
        push_limits,
        settings.security.clone(),
        stop_rx_for_grpc.clone(),
    )
    .await;
    let scheme = if settings.security.tls() { "https" } else { "http" };
    tracing::info!("Listening on {scheme}://{local}");
    if settings.flags.web_config_file.is_some() && settings.config.source.is_none() {
        tracing::warn!("--web.config.file is set: the embedded default configuration's self-scrape (plain HTTP, no credentials) may fail; give a --config.file whose job uses the right scheme and basic_auth");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let server = crate::security::serve(listener, app, settings.security.clone(), async move {
        let _ = server_stop.wait_for(|s| *s).await;
    })
    .map_err(|source| Error::Io {
        context: "starting the TLS listener".into(),
        source,
    })?;

    tracing::info!("Opening storage in {}", settings.db.path.display());
    let db_opts = settings.db.clone();
    let db = tokio::task::spawn_blocking(move || storage::Db::open(db_opts))
        .await
        .map_err(|e| Error::Io {
            context: "opening storage".into(),
            source: std::io::Error::other(e),
        })??;
    let db = Arc::new(db);
    late.set(db.clone());
    tracing::info!("Storage ready");
    let cfg = &settings.config.config;
    forward
        .apply(&cfg.remote_write, &forward_external_labels(cfg))
        .await
        .map_err(|e| Error::Config(format!("remote_write: {e}")))?;
    if agent && cfg.remote_write.is_empty() {
        tracing::warn!("agent mode without remote_write: ingested data is not kept anywhere");
    }
    let wal_truncation =
        agent.then(|| tokio::spawn(crate::agent::truncate_wal_loop(db.clone(), forward.clone())));

    let mut extra_jobs = Vec::new();
    if settings.flags.demo {
        let nodes = crate::demo::start(stop_rx.clone())
            .await
            .map_err(|source| Error::Io {
                context: "starting the demo beacon nodes".into(),
                source,
            })?;
        let demo = crate::demo::scrape_config(&nodes).map_err(Error::Config)?;
        extra_jobs.push(demo);
    }
    let cfg = &settings.config.config;
    let mut jobs = cfg.scrape_configs.clone();
    jobs.extend(extra_jobs.iter().cloned());
    scrape
        .apply_config(&cfg.global, &jobs)
        .map_err(|e| Error::Config(format!("scrape configuration: {e}")))?;
    tracing::info!(jobs = jobs.len(), "Scrape manager started");
    if !agent {
        rules
            .load(&settings.config)
            .map_err(|e| Error::Config(format!("rule files: {e}")))?;
    }
    ready.store(true, Ordering::Release);
    tracing::info!("Sextant is ready to receive requests");
    let reloader = tokio::spawn(reload_loop(
        Reloader {
            path: settings.flags.config_file.clone(),
            embedded: self_target,
            extra_jobs,
            scrape: scrape.clone(),
            rules: rules.clone(),
            agent,
        },
        forward.clone(),
        reload_rx,
    ));

    shutdown.await;
    tracing::info!("Stopping the HTTP server");
    let _ = stop_tx.send(true);
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("HTTP server ended with an error: {e}"),
        Err(e) => tracing::warn!("HTTP server task failed: {e}"),
    }
    let _ = grpc_stop_tx.send(true);
    if let Some(g) = grpc_server {
        let _ = g.await;
    }
    reloader.abort();
    tracing::info!("Stopping rule evaluation and scrapes");
    rules.manager.stop();
    scrape.stop().await;
    tracing::info!("Stopping remote-write queues");
    forward.stop().await;
    if let Some(t) = wal_truncation {
        t.abort();
    }
    tracing::info!("Closing storage");
    db.close()?;
    tracing::info!("Sextant stopped");
    Ok(())
}

/// `global.external_labels`, added to forwarded series that lack them.
fn forward_external_labels(c: &crate::config::Config) -> storage::Labels {
    storage::Labels::from_pairs(c.global.external_labels.iter())
}

/// `/api/v1/status/tsdb`'s head figures, read from the database once it is open.
struct HeadStatsFromDb(Arc<LateDb>);

impl web::TsdbStatsProvider for HeadStatsFromDb {
    fn head_stats(&self) -> web::HeadStats {
        match self.0.get() {
            Some(db) => {
                let s = db.stats();
                web::HeadStats {
                    num_series: s.head_series as u64,
                    chunk_count: s.head_chunks,
                    min_time: s.head_min_time,
                    max_time: s.head_max_time,
                }
            }
            None => web::HeadStats {
                num_series: 0,
                chunk_count: 0,
                min_time: 0,
                max_time: 0,
            },
        }
    }
}

/// A request to reload the configuration (from `POST /-/reload`), answered when done.
pub type ReloadRequest = tokio::sync::oneshot::Sender<Result<(), String>>;

/// What a reload needs.
struct Reloader {
    path: Option<std::path::PathBuf>,
    embedded: Option<String>,
    extra_jobs: Vec<ingest::ScrapeConfig>,
    scrape: Arc<ingest::ScrapeManager>,
    rules: Arc<crate::alerting::Rules>,
    agent: bool,
}

impl Reloader {
    /// Re-reads the configuration file (or keeps the embedded default) and applies its scrape
    /// jobs (plus the ones Sextant adds itself, such as `--demo`'s) and rules. A bad file changes
    /// nothing: the running configuration stays.
    fn reload(&self) -> Result<LoadedConfig, String> {
        let c = match (&self.path, &self.embedded) {
            (Some(p), _) => LoadedConfig::load(Some(p))?,
            (None, Some(text)) => LoadedConfig {
                config: crate::config::parse(text)?,
                text: text.clone(),
                source: None,
            },
            (None, None) => LoadedConfig::load(None)?,
        };
        let mut jobs = c.config.scrape_configs.clone();
        jobs.extend(self.extra_jobs.iter().cloned());
        self.scrape
            .apply_config(&c.config.global, &jobs)
            .map_err(|e| format!("scrape configuration: {e}"))?;
        if !self.agent {
            self.rules.load(&c).map_err(|e| format!("rules: {e}"))?;
        }
        Ok(c)
    }
}

/// Reloads on SIGHUP and on `POST /-/reload` requests (scrape jobs and rules through `r`, then
/// the remote-write queues).
async fn reload_loop(
    r: Reloader,
    forward: Arc<ingest::forward::ForwardManager>,
    mut requests: tokio::sync::mpsc::Receiver<ReloadRequest>,
) {
    #[cfg(unix)]
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot listen for SIGHUP, reload only through /-/reload: {e}");
            None
        }
    };
    loop {
        #[cfg(unix)]
        let hup_recv = async {
            match hup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hup_recv = std::future::pending::<Option<()>>();
        let reply = tokio::select! {
            _ = hup_recv => {
                tracing::info!("SIGHUP: reloading configuration");
                None
            }
            req = requests.recv() => match req {
                Some(tx) => {
                    tracing::info!("/-/reload: reloading configuration");
                    Some(tx)
                }
                None => std::future::pending().await,
            },
        };
        let result = match r.reload() {
            Ok(c) => forward
                .apply(&c.config.remote_write, &forward_external_labels(&c.config))
                .await
                .map_err(|e| format!("remote_write: {e}")),
            Err(e) => Err(e),
        };
        match &result {
            Ok(()) => tracing::info!("Configuration reloaded"),
            Err(e) => tracing::error!("reload failed, keeping the running configuration: {e}"),
        }
        if let Some(tx) = reply {
            let _ = tx.send(result);
        }
    }
}

/// `POST|PUT /-/reload` (with `--web.enable-lifecycle`): reloads like SIGHUP and answers 200,
/// or 500 naming what was wrong.
fn lifecycle_routes(enabled: bool, reload_tx: tokio::sync::mpsc::Sender<ReloadRequest>) -> axum::Router {
    use axum::http::StatusCode;
    let handler = move || {
        let tx = reload_tx.clone();
        async move {
            if !enabled {
                return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.".to_string());
            }
            let (reply, rx) = tokio::sync::oneshot::channel();
            if tx.send(reply).await.is_err() {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Sextant is not ready to reload.".to_string(),
                );
            }
            match rx.await {
                Ok(Ok(())) => (StatusCode::OK, String::new()),
                Ok(Err(e)) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("failed to reload config: {e}\n"),
                ),
                Err(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "reload was interrupted".to_string(),
                ),
            }
        }
    };
    axum::Router::new().route("/-/reload", axum::routing::post(handler.clone()).put(handler))
}

/// Serves OTLP/gRPC on its own port (the OpenTelemetry default is `:4317`). A port that cannot
/// be bound is logged and skipped, so another collector on the host does not stop Sextant;
/// OTLP/gRPC stays available on the main listener.
async fn start_otlp_grpc(
    addr: &str,
    appendable: Arc<dyn storage::Appendable>,
    limits: ingest::PushLimits,
    security: Arc<crate::security::WebSecurity>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if addr.is_empty() {
        return None;
    }
    let addr = normalise_listen_address(addr);
    let listener = match TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                "cannot listen for OTLP/gRPC on {addr}: {e}; OTLP/gRPC is served on the main port only"
            );
            return None;
        }
    };
    let tls = if security.tls() { " (TLS)" } else { "" };
    match listener.local_addr() {
        Ok(a) => tracing::info!("OTLP/gRPC listening on {a}{tls}"),
        Err(_) => tracing::info!("OTLP/gRPC listening on {addr}{tls}"),
    }
    // The same web configuration as the main listener: TLS and authentication (role write).
    let app = crate::security::protect(
        ingest::otlp::grpc::otlp_grpc_router(appendable, limits),
        security.clone(),
        None,
    );
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let server = match crate::security::serve(listener, app, security, shutdown) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot serve OTLP/gRPC on {addr}: {e}");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("OTLP/gRPC server ended with an error: {e}"),
            Err(e) => tracing::warn!("OTLP/gRPC server task failed: {e}"),
        }
    }))
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
