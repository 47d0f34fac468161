//! Wiring: [`run`] starts the parts in order (the shared components, the listeners, storage,
//! forwarding, scrapes, rules, the reload loop) and [`Running::stop`] stops them in order
//! once shutdown is asked. Flags are read in [`crate::settings`], the routers merged in
//! [`crate::routes`], the listeners run in [`crate::listeners`], reloads in [`crate::reload`].

use crate::alerting::Rules;
use crate::late_db::LateDb;
use crate::listeners::Listeners;
use crate::reload::{ReloadRequest, Reloader};
use crate::settings::Settings;
use crate::Error;
use ingest::forward::ForwardManager;
use ingest::ScrapeManager;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Serves on `listener` until `shutdown` completes, then stops in order.
pub async fn run(
    listener: TcpListener,
    mut settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let local = crate::listeners::local_addr(&listener)?;
    announce(&settings);
    let self_target = settings.scrape_self_at(local)?;
    let parts = Parts::new(&settings)?;
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel::<ReloadRequest>(4);
    let app = crate::routes::app(&settings, &parts, reload_tx);
    let listeners = Listeners::start(listener, local, app, parts.appendable.clone(), &settings).await?;
    let db = parts.open_storage(&settings).await?;
    let wal_truncation = parts.start_forwarding(&settings, &db).await?;
    let extra_jobs = demo_jobs(&settings, &listeners).await?;
    parts.start_scrapes(&settings, &extra_jobs)?;
    parts.load_rules(&settings)?;
    parts.ready.store(true, Ordering::Release);
    tracing::info!("Sextant is ready to receive requests");
    let reloader = crate::reload::spawn(
        Reloader {
            path: settings.flags.config_file.clone(),
            embedded: self_target,
            extra_jobs,
            scrape: parts.scrape.clone(),
            rules: parts.rules.clone(),
            agent: settings.flags.agent,
            forward: parts.forward.clone(),
            startup_only: settings.config.startup_only_settings(),
        },
        reload_rx,
    );
    let running = Running {
        listeners,
        reloader,
        rules: parts.rules,
        scrape: parts.scrape,
        forward: parts.forward,
        wal_truncation,
        db,
    };
    shutdown.await;
    running.stop().await
}

/// Logs the version and the configuration's source.
fn announce(settings: &Settings) {
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
}

/// The components the listeners and the reload loop share, created before anything listens:
/// the database handle answers "starting up" until [`Parts::open_storage`] is done.
pub struct Parts {
    /// The database, once open.
    pub late: Arc<LateDb>,
    /// Set when start-up is done (`/-/ready`).
    pub ready: Arc<AtomicBool>,
    /// The PromQL engine.
    pub engine: Arc<query::Engine>,
    /// Where ingestion appends (the database, once open).
    pub appendable: Arc<dyn storage::Appendable>,
    /// The scrape manager.
    pub scrape: Arc<ScrapeManager>,
    /// The remote-write queues.
    pub forward: Arc<ForwardManager>,
    /// Rule evaluation and notifications.
    pub rules: Arc<Rules>,
}

impl Parts {
    /// Creates the components (nothing runs yet).
    fn new(settings: &Settings) -> Result<Parts, Error> {
        let late = Arc::new(LateDb::new());
        let engine = Arc::new(query::Engine::new(settings.engine.clone()));
        let appendable: Arc<dyn storage::Appendable> = late.clone();
        let scrape = Arc::new(ScrapeManager::new(appendable.clone()));
        let agent = settings.flags.agent;
        if agent {
            tracing::info!("Agent mode: forwarding by remote_write only; no local blocks, queries or rules");
        }
        let forward = Arc::new(ForwardManager::new(
            &settings.db.path,
            &storage::Db::wal_dir_of(&settings.db.path),
        ));
        let rules = Rules::new(
            &settings.config,
            late.clone(),
            late.clone(),
            engine.clone(),
            settings.flags.beacon_rules && !agent,
        )
        .map_err(|e| Error::Config(format!("alerting configuration: {e}")))?;
        Ok(Parts {
            late,
            ready: Arc::new(AtomicBool::new(false)),
            engine,
            appendable,
            scrape,
            forward,
            rules: Arc::new(rules),
        })
    }

    /// Opens the database (WAL replay) on a blocking thread and hands it to [`Parts::late`].
    async fn open_storage(&self, settings: &Settings) -> Result<Arc<storage::Db>, Error> {
        tracing::info!("Opening storage in {}", settings.db.path.display());
        let db_opts = settings.db.clone();
        let db = tokio::task::spawn_blocking(move || storage::Db::open(db_opts))
            .await
            .map_err(|e| Error::Io {
                context: "opening storage".into(),
                source: std::io::Error::other(e),
            })??;
        let db = Arc::new(db);
        self.late.set(db.clone());
        tracing::info!("Storage ready");
        Ok(db)
    }

    /// Starts the remote-write queues; in agent mode also the WAL truncation they allow.
    async fn start_forwarding(
        &self,
        settings: &Settings,
        db: &Arc<storage::Db>,
    ) -> Result<Option<JoinHandle<()>>, Error> {
        let cfg = &settings.config.config;
        self.forward
            .apply(
                &cfg.remote_write,
                &crate::adapters::remote_write::external_labels(cfg),
            )
            .await
            .map_err(|e| Error::Config(format!("remote_write: {e}")))?;
        let agent = settings.flags.agent;
        if agent && cfg.remote_write.is_empty() {
            tracing::warn!("agent mode without remote_write: ingested data is not kept anywhere");
        }
        Ok(agent.then(|| tokio::spawn(crate::agent::truncate_wal_loop(db.clone(), self.forward.clone()))))
    }

    /// Applies the configured scrape jobs plus `extra_jobs`.
    fn start_scrapes(&self, settings: &Settings, extra_jobs: &[ingest::ScrapeConfig]) -> Result<(), Error> {
        let cfg = &settings.config.config;
        let mut jobs = cfg.scrape_configs.clone();
        jobs.extend(extra_jobs.iter().cloned());
        self.scrape
            .apply_config(&cfg.global, &jobs)
            .map_err(|e| Error::Config(format!("scrape configuration: {e}")))?;
        tracing::info!(jobs = jobs.len(), "Scrape manager started");
        Ok(())
    }

    /// Loads the rule files (none in agent mode).
    fn load_rules(&self, settings: &Settings) -> Result<(), Error> {
        if settings.flags.agent {
            return Ok(());
        }
        self.rules
            .load(&settings.config)
            .map_err(|e| Error::Config(format!("rule files: {e}")))
    }
}

/// With `--demo`, starts the simulated beacon nodes (they stop with the HTTP listener) and
/// returns the scrape job for them.
async fn demo_jobs(settings: &Settings, listeners: &Listeners) -> Result<Vec<ingest::ScrapeConfig>, Error> {
    if !settings.flags.demo {
        return Ok(Vec::new());
    }
    let nodes = crate::demo::start(listeners.stopping())
        .await
        .map_err(|source| Error::Io {
            context: "starting the demo beacon nodes".into(),
            source,
        })?;
    Ok(vec![crate::demo::scrape_config(&nodes).map_err(Error::Config)?])
}

/// Everything started, stopped by [`Running::stop`] in order.
struct Running {
    listeners: Listeners,
    reloader: JoinHandle<()>,
    rules: Arc<Rules>,
    scrape: Arc<ScrapeManager>,
    forward: Arc<ForwardManager>,
    wal_truncation: Option<JoinHandle<()>>,
    db: Arc<storage::Db>,
}

impl Running {
    /// Stops in order: the listeners (requests in flight finish), the reload loop, rule
    /// evaluation, scrapes, the remote-write queues (and the agent's WAL truncation), then
    /// flushes and closes storage.
    async fn stop(self) -> Result<(), Error> {
        self.listeners.stop().await;
        self.reloader.abort();
        tracing::info!("Stopping rule evaluation and scrapes");
        self.rules.manager.stop();
        self.scrape.stop().await;
        tracing::info!("Stopping remote-write queues");
        self.forward.stop().await;
        if let Some(t) = self.wal_truncation {
            t.abort();
        }
        tracing::info!("Closing storage");
        self.db.close()?;
        tracing::info!("Sextant stopped");
        Ok(())
    }
}
