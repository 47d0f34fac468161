//! Wiring: open the database, start ingestion, merge the routers of `ingest` and `web`,
//! serve until shutdown, then stop in order (HTTP, ingestion, database).

use crate::cli::Flags;
use crate::config::LoadedConfig;
use crate::duration::{parse_duration_ms, parse_size_bytes};
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
        Ok(Settings {
            listen_address: normalise_listen_address(&flags.listen_address),
            flags: flags.clone(),
            config,
            db,
            engine,
        })
    }
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
    web_state.config_yaml = settings.config.text.clone();
    web_state.external_labels =
        storage::Labels::from_pairs(settings.config.config.global.external_labels.iter());
    web_state.storage_retention = settings.flags.retention_time.clone();
    web_state.enable_admin_api = settings.flags.enable_admin_api;
    web_state.admin = Some(Arc::new(crate::admin::DbAdmin(late.clone())));
    web_state.tsdb_stats = Some(Arc::new(HeadStatsFromDb(late.clone())));
    let push_limits = ingest::PushLimits::default();
    // OTLP over gRPC is served on the same listener (HTTP/2 cleartext) as everything else.
    let rules = Arc::new(
        crate::alerting::Rules::new(
            &settings.config,
            late.clone(),
            late.clone(),
            engine.clone(),
            settings.flags.beacon_rules,
        )
        .map_err(|e| Error::Config(format!("alerting configuration: {e}")))?,
    );
    web_state.rules = Some(Arc::new(crate::alerting::RulesStatus(rules.manager.clone())));
    let self_metrics = Arc::new(crate::self_metrics::SelfMetrics {
        db: late.clone(),
        scrape: scrape.clone(),
        start_time: crate::self_metrics::now_seconds(),
        rules: Some(rules.clone()),
    });
    let metrics_route = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let m = self_metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    m.render(),
                )
            }
        }),
    );
    let app = web::router(Arc::new(web_state))
        .merge(metrics_route)
        .merge(ingest::push_router(appendable.clone(), push_limits.clone()))
        .merge(ingest::otlp::grpc::otlp_grpc_router(appendable, push_limits))
        // The gRPC router's fallback answers every unknown path with gRPC's UNIMPLEMENTED;
        // HTTP clients must get Prometheus' 404 instead.
        .fallback(web::fallback);

    tracing::info!("Listening on http://{local}");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
    });

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
    rules
        .load(&settings.config)
        .map_err(|e| Error::Config(format!("rule files: {e}")))?;
    ready.store(true, Ordering::Release);
    tracing::info!("Sextant is ready to receive requests");
    let reloader = tokio::spawn(reload_on_sighup(
        settings.flags.config_file.clone(),
        self_target,
        extra_jobs,
        scrape.clone(),
        rules.clone(),
    ));

    shutdown.await;
    tracing::info!("Stopping the HTTP server");
    let _ = stop_tx.send(true);
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("HTTP server ended with an error: {e}"),
        Err(e) => tracing::warn!("HTTP server task failed: {e}"),
    }
    reloader.abort();
    tracing::info!("Stopping rule evaluation and scrapes");
    rules.manager.stop();
    scrape.stop().await;
    tracing::info!("Closing storage");
    db.close()?;
    tracing::info!("Sextant stopped");
    Ok(())
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

/// Re-reads the configuration file on SIGHUP and applies its scrape configuration (plus the
/// jobs Sextant adds itself, such as `--demo`'s); a bad file is logged and the running
/// configuration stays. Without a file, the embedded default (`embedded`) is kept.
async fn reload_on_sighup(
    path: Option<std::path::PathBuf>,
    embedded: Option<String>,
    extra_jobs: Vec<ingest::ScrapeConfig>,
    scrape: Arc<ingest::ScrapeManager>,
    rules: Arc<crate::alerting::Rules>,
) {
    #[cfg(unix)]
    {
        let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot listen for SIGHUP, configuration reload disabled: {e}");
                return;
            }
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading configuration");
            let loaded = match (&path, &embedded) {
                (Some(p), _) => LoadedConfig::load(Some(p)),
                (None, Some(text)) => crate::config::parse(text).map(|config| LoadedConfig {
                    config,
                    text: text.clone(),
                    source: None,
                }),
                (None, None) => LoadedConfig::load(None),
            };
            match loaded {
                Ok(c) => {
                    let mut jobs = c.config.scrape_configs.clone();
                    jobs.extend(extra_jobs.iter().cloned());
                    match scrape.apply_config(&c.config.global, &jobs) {
                        Ok(()) => tracing::info!("Scrape configuration reloaded"),
                        Err(e) => {
                            tracing::error!("reload failed, keeping the running scrape configuration: {e}")
                        }
                    }
                    match rules.load(&c) {
                        Ok(()) => tracing::info!("Rules reloaded"),
                        Err(e) => tracing::error!("rule reload failed, keeping the running rules: {e}"),
                    }
                }
                Err(e) => tracing::error!("reload failed, keeping the running configuration: {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, embedded, extra_jobs, scrape, rules);
    }
}
