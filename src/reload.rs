//! Reloading the configuration: on SIGHUP and on `POST|PUT /-/reload` (the lifecycle API),
//! scrape jobs, rules and remote-write queues are re-applied; a bad file changes nothing.

use crate::config::LoadedConfig;
use std::sync::Arc;

/// A request to reload the configuration (from `POST /-/reload`), answered when done.
pub type ReloadRequest = tokio::sync::oneshot::Sender<Result<(), String>>;

/// What a reload needs.
pub struct Reloader {
    /// `--config.file`; `None` for the embedded default.
    pub path: Option<std::path::PathBuf>,
    /// The embedded default's text (with the self-scrape address), re-parsed on reload.
    pub embedded: Option<String>,
    /// Scrape jobs Sextant adds itself (`--demo`'s), kept across reloads.
    pub extra_jobs: Vec<ingest::ScrapeConfig>,
    /// Where scrape jobs are applied.
    pub scrape: Arc<ingest::ScrapeManager>,
    /// Where rule files are loaded.
    pub rules: Arc<crate::alerting::Rules>,
    /// `--agent`: no rules.
    pub agent: bool,
    /// The remote-write queues, reconfigured after the scrape jobs and rules.
    pub forward: Arc<ingest::forward::ForwardManager>,
    /// The settings applied at start-up only (`otlp`, `storage.tsdb`), as loaded then.
    pub startup_only: String,
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
        if self.agent {
            c.check_agent_mode()?;
        }
        if c.startup_only_settings() != self.startup_only {
            tracing::warn!("otlp and storage.tsdb settings changed: they take effect at the next restart; the running ones are kept");
        }
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

/// Starts the reload loop: reloads on SIGHUP and on `POST /-/reload` requests (scrape jobs and
/// rules through `r`, then the remote-write queues) until aborted.
pub fn spawn(
    r: Reloader,
    requests: tokio::sync::mpsc::Receiver<ReloadRequest>,
) -> tokio::task::JoinHandle<()> {
    // The SIGHUP handler is installed here, before the task first runs: a SIGHUP that comes
    // right after start-up reloads instead of ending the process (the default action).
    #[cfg(unix)]
    let hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot listen for SIGHUP, reload only through /-/reload: {e}");
            None
        }
    };
    #[cfg(not(unix))]
    let hup = None::<()>;
    tokio::spawn(reload_loop(r, requests, hup))
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

async fn reload_loop(r: Reloader, mut requests: tokio::sync::mpsc::Receiver<ReloadRequest>, hup: Hangup) {
    #[cfg(unix)]
    let mut hup = hup;
    #[cfg(not(unix))]
    let _ = hup;
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
            Ok(c) => r
                .forward
                .apply(
                    &c.config.remote_write,
                    &crate::adapters::remote_write::external_labels(&c.config),
                )
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
pub fn lifecycle_routes(enabled: bool, reload_tx: tokio::sync::mpsc::Sender<ReloadRequest>) -> axum::Router {
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
