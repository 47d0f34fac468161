//! Wiring: [`run`] starts the parts in order (the shared components, the listeners, storage,
//! forwarding, scrapes, rules, the reload loop) and [`Running::stop`] stops them in order
//! once shutdown is asked. Flags are read in [`crate::settings`], the routers merged in
//! [`crate::routes`], the listeners run in [`crate::listeners`], reloads in [`crate::reload`].

use crate::alerting::Rules;
use crate::listeners::Listeners;
use crate::parts::Parts;
use crate::reload::{ReloadRequest, Reloader};
use crate::settings::Settings;
use crate::Error;
use ingest::forward::ForwardManager;
use ingest::ScrapeManager;
use std::future::Future;
use std::sync::atomic::Ordering;
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
    // Ready only once SIGHUP reloads (the reload loop holds its handler).
    parts.ready.store(true, Ordering::Release);
    tracing::info!("Sextant is ready to receive requests");
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
