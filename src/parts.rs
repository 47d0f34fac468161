//! The components every part of the running server shares ([`Parts`]): created before
//! anything listens, then storage opened, scrapes started and rules loaded in that order.

use crate::alerting::Rules;
use crate::late_db::LateDb;
use crate::settings::Settings;
use crate::Error;
use ingest::forward::ForwardManager;
use ingest::ScrapeManager;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::task::JoinHandle;

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
    pub(crate) fn new(settings: &Settings) -> Result<Parts, Error> {
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
    pub(crate) async fn open_storage(&self, settings: &Settings) -> Result<Arc<storage::Db>, Error> {
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
    pub(crate) async fn start_forwarding(
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
        let max = settings.forward_wal_max_bytes;
        if !agent {
            let fwd = self.forward.clone();
            db.hold_wal_for(Arc::new(move || fwd.min_needed_segment()), max);
        }
        Ok(agent.then(|| {
            tokio::spawn(crate::agent::truncate_wal_loop(
                db.clone(),
                self.forward.clone(),
                max,
            ))
        }))
    }

    /// Applies the configured scrape jobs plus `extra_jobs`.
    pub(crate) fn start_scrapes(
        &self,
        settings: &Settings,
        extra_jobs: &[ingest::ScrapeConfig],
    ) -> Result<(), Error> {
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
    pub(crate) fn load_rules(&self, settings: &Settings) -> Result<(), Error> {
        if settings.flags.agent {
            return Ok(());
        }
        self.rules
            .load(&settings.config)
            .map_err(|e| Error::Config(format!("rule files: {e}")))
    }
}
