//! The scrape manager: one pool per job, each with its discovery providers, a sync task that
//! turns discovered groups into targets, and one [`ScrapeLoop`] per target.
//!
//! ```text
//! apply_config ─► Pool(job) ─► providers (static, file_sd, http_sd) ──groups──► sync task
//!                                                                               │ populate + relabel
//!                                                   start / stop(stale) ◄───────┘
//!                                                   ScrapeLoop(target) ─► Appendable
//! ```
//!
//! Reload keeps a job whose resolved configuration is unchanged untouched (its loops keep
//! running). A changed job is rebuilt; its old loops stop quietly and hand their last series
//! to the new loop of the same target, so nothing is marked stale that is still there. A
//! removed job or target gets staleness markers for all its series.

use super::config::{validate, ConfigError, GlobalConfig, ScrapeConfig};
use super::discovery::{self, Update};
use super::scrape_loop::{LoopConfig, LoopExit, ScrapeLoop, StopMode, TargetState};
use super::target::{populate, DroppedTarget, Populated, Target, TargetGroup, TargetStatus};
use crate::client::build_client;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use storage::{Appendable, Labels, MetricMetadata, SeriesRef, STALE_NAN};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

/// How many scrapes may run at the same time across all targets.
pub const DEFAULT_MAX_CONCURRENT_SCRAPES: usize = 64;

/// Metadata one target exposes, for `/api/v1/targets/metadata`.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetMetadata {
    /// The job.
    pub job: String,
    /// The target's labels.
    pub target: Labels,
    /// The metric family.
    pub metric: String,
    /// Type, help and unit.
    pub metadata: MetricMetadata,
}

/// Runs the scrape pools of the current configuration. See the module docs.
pub struct ScrapeManager {
    appendable: Arc<dyn Appendable>,
    sem: Arc<Semaphore>,
    pools: Mutex<BTreeMap<String, Pool>>,
}

impl std::fmt::Debug for ScrapeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeManager")
            .field("jobs", &self.pools.lock().keys().cloned().collect::<Vec<_>>())
            .finish()
    }
}

impl ScrapeManager {
    /// A manager with no jobs; samples go to `appendable`.
    pub fn new(appendable: Arc<dyn Appendable>) -> Self {
        Self::with_concurrency(appendable, DEFAULT_MAX_CONCURRENT_SCRAPES)
    }

    /// Like [`ScrapeManager::new`] with a bound on concurrent scrapes.
    pub fn with_concurrency(appendable: Arc<dyn Appendable>, max_concurrent_scrapes: usize) -> Self {
        ScrapeManager {
            appendable,
            sem: Arc::new(Semaphore::new(max_concurrent_scrapes.max(1))),
            pools: Mutex::new(BTreeMap::new()),
        }
    }

    /// Validates and applies a configuration (initial load or reload). On error nothing
    /// changes and the running configuration keeps running. Must be called from within a
    /// tokio runtime.
    pub fn apply_config(
        &self,
        global: &GlobalConfig,
        scrape_configs: &[ScrapeConfig],
    ) -> Result<(), ConfigError> {
        validate(global, scrape_configs)?;
        let handle = Handle::try_current().map_err(|_| {
            ConfigError("the scrape manager must be configured from within a tokio runtime".into())
        })?;
        let mut next = Vec::with_capacity(scrape_configs.len());
        for sc in scrape_configs {
            let resolved = sc.resolve(global);
            let client = build_client(&resolved.http(), resolved.enable_compression)
                .map_err(|e| ConfigError(format!("job {:?}: {e}", sc.job_name)))?;
            next.push((resolved, client));
        }
        let keep_dropped = usize::try_from(global.keep_dropped_targets).unwrap_or(usize::MAX);
        let mut pools = self.pools.lock();
        let mut old = std::mem::take(&mut *pools);
        for (cfg, client) in next {
            let job = cfg.job_name.clone();
            let mut inherited = HashMap::new();
            if let Some(p) = old.remove(&job) {
                if p.cfg == cfg {
                    pools.insert(job, p);
                    continue;
                }
                inherited = p.stop(StopMode::Quiet);
            }
            // The job's own value, else the global one (as Prometheus resolves it).
            let keep = cfg
                .keep_dropped_targets
                .map_or(keep_dropped, |n| usize::try_from(n).unwrap_or(usize::MAX));
            let pool = Pool::start(
                cfg,
                client,
                self.appendable.clone(),
                self.sem.clone(),
                handle.clone(),
                inherited,
                keep,
            );
            pools.insert(job, pool);
        }
        for (_, p) in old {
            let exits = p.stop(StopMode::Stale);
            drop(exits); // the loops write their own staleness markers
        }
        Ok(())
    }

    /// The active targets of every job, sorted by job and URL.
    pub fn targets(&self) -> Vec<TargetStatus> {
        let pools = self.pools.lock();
        let mut out = Vec::new();
        for p in pools.values() {
            for l in p.shared.loops.lock().values() {
                let t = &l.state.target;
                let rt = l.state.runtime.lock().clone();
                out.push(TargetStatus {
                    job: t.job.clone(),
                    scrape_url: t.url.clone(),
                    labels: t.labels.clone(),
                    discovered_labels: t.discovered_labels.clone(),
                    health: rt.health,
                    last_scrape: rt.last_scrape,
                    last_scrape_duration: rt.last_duration,
                    last_error: rt.last_error,
                    scrape_interval: t.interval,
                    scrape_timeout: t.timeout,
                });
            }
        }
        out.sort_by(|a, b| (&a.job, &a.scrape_url).cmp(&(&b.job, &b.scrape_url)));
        out
    }

    /// Targets dropped by relabeling, per job.
    pub fn dropped_targets(&self) -> Vec<DroppedTarget> {
        let pools = self.pools.lock();
        let mut out = Vec::new();
        for (job, p) in pools.iter() {
            for l in p.shared.dropped.lock().iter() {
                out.push(DroppedTarget {
                    job: job.clone(),
                    discovered_labels: l.clone(),
                });
            }
        }
        out
    }

    /// The metadata (HELP/TYPE/UNIT) each active target last exposed.
    pub fn target_metadata(&self) -> Vec<TargetMetadata> {
        let pools = self.pools.lock();
        let mut out = Vec::new();
        for p in pools.values() {
            for l in p.shared.loops.lock().values() {
                let t = &l.state.target;
                let lines = l.state.metadata.lock().clone();
                for (metric, m) in lines.to_map() {
                    out.push(TargetMetadata {
                        job: t.job.clone(),
                        target: t.labels.clone(),
                        metric,
                        metadata: m,
                    });
                }
            }
        }
        out.sort_by(|a, b| (&a.job, &a.target, &a.metric).cmp(&(&b.job, &b.target, &b.metric)));
        out
    }

    /// The job names currently configured.
    pub fn jobs(&self) -> Vec<String> {
        self.pools.lock().keys().cloned().collect()
    }

    /// Stops every job and waits for the loops to end. No staleness markers are written
    /// (shutdown: the series are expected back after a restart).
    pub async fn stop(&self) {
        let pools = std::mem::take(&mut *self.pools.lock());
        let mut joins = Vec::new();
        for (_, p) in pools {
            joins.extend(p.stop(StopMode::Quiet).into_values());
        }
        for j in joins {
            let _ = j.await;
        }
    }
}

/// A running loop and how to stop it.
struct RunningLoop {
    state: Arc<TargetState>,
    stop: Option<oneshot::Sender<StopMode>>,
    join: JoinHandle<LoopExit>,
}

/// What the tasks of one pool share.
struct PoolShared {
    cfg: ScrapeConfig,
    loop_cfg: Arc<LoopConfig>,
    client: reqwest::Client,
    appendable: Arc<dyn Appendable>,
    sem: Arc<Semaphore>,
    handle: Handle,
    loops: Mutex<HashMap<u64, RunningLoop>>,
    dropped: Mutex<Vec<Labels>>,
    /// Loops of the previous configuration of this job, by target hash, not yet claimed.
    inherited: Mutex<HashMap<u64, JoinHandle<LoopExit>>>,
    keep_dropped: usize,
    /// Set while the job has more targets than `target_limit`: every loop of the pool then
    /// fails its scrapes with this error (Prometheus' forced error).
    forced_error: Arc<Mutex<Option<String>>>,
}

struct Pool {
    cfg: ScrapeConfig,
    shared: Arc<PoolShared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Pool {
    fn start(
        cfg: ScrapeConfig,
        client: reqwest::Client,
        appendable: Arc<dyn Appendable>,
        sem: Arc<Semaphore>,
        handle: Handle,
        inherited: HashMap<u64, JoinHandle<LoopExit>>,
        keep_dropped: usize,
    ) -> Pool {
        let shared = Arc::new(PoolShared {
            cfg: cfg.clone(),
            loop_cfg: Arc::new(LoopConfig::new(&cfg)),
            client,
            appendable,
            sem,
            handle: handle.clone(),
            loops: Mutex::new(HashMap::new()),
            dropped: Mutex::new(Vec::new()),
            inherited: Mutex::new(inherited),
            keep_dropped,
            forced_error: Arc::new(Mutex::new(None)),
        });
        let (tx, rx) = mpsc::channel::<Update>(16);
        let mut tasks = Vec::new();
        let mut n = 1; // provider 0: static_configs
        for f in &cfg.file_sd_configs {
            tasks.push(handle.spawn(discovery::run_file_sd(n, f.clone(), tx.clone())));
            n += 1;
        }
        for h in &cfg.http_sd_configs {
            tasks.push(handle.spawn(discovery::run_http_sd(n, h.clone(), tx.clone())));
            n += 1;
        }
        drop(tx);
        let statics = discovery::static_groups(&cfg.static_configs);
        // Static targets are known (and listed by `targets()`) as soon as the config applies.
        shared.sync(&statics.iter().collect::<Vec<_>>());
        tasks.push(handle.spawn(run_sync(shared.clone(), rx, n, statics)));
        Pool { cfg, shared, tasks }
    }

    /// Stops discovery and every loop; returns the loops' join handles by target hash (for
    /// hand-over), including inherited loops that were never claimed.
    fn stop(mut self, mode: StopMode) -> HashMap<u64, JoinHandle<LoopExit>> {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        let mut out = HashMap::new();
        let loops = std::mem::take(&mut *self.shared.loops.lock());
        for (hash, mut l) in loops {
            if let Some(tx) = l.stop.take() {
                let _ = tx.send(mode);
            }
            out.insert(hash, l.join);
        }
        let unclaimed = std::mem::take(&mut *self.shared.inherited.lock());
        match mode {
            StopMode::Quiet => out.extend(unclaimed),
            StopMode::Stale => {
                for (_, j) in unclaimed {
                    self.shared
                        .handle
                        .spawn(mark_stale_when_done(self.shared.appendable.clone(), j));
                }
            }
        }
        out
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Waits for a stopped loop and writes staleness markers for what it left.
async fn mark_stale_when_done(appendable: Arc<dyn Appendable>, join: JoinHandle<LoopExit>) {
    let Ok(exit) = join.await else { return };
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut app = appendable.appender();
    for l in exit.series.iter().chain(exit.report.iter()) {
        if let Err(e) = app.append(SeriesRef::NONE, l, ts, STALE_NAN) {
            if !e.is_client_error() {
                tracing::warn!(error = %e, "writing staleness markers failed");
                app.rollback();
                return;
            }
        }
    }
    if let Err(e) = app.commit() {
        tracing::warn!(error = %e, "committing staleness markers failed");
    }
}

/// Collects provider updates and syncs the pool's targets after each.
async fn run_sync(
    shared: Arc<PoolShared>,
    mut rx: mpsc::Receiver<Update>,
    providers: usize,
    statics: Vec<TargetGroup>,
) {
    let mut by_provider: BTreeMap<usize, Vec<TargetGroup>> = BTreeMap::new();
    by_provider.insert(0, statics);
    let mut reported: HashSet<usize> = HashSet::from([0]);
    let mut released = false;
    loop {
        let groups: Vec<&TargetGroup> = by_provider.values().flatten().collect();
        shared.sync(&groups);
        if !released && reported.len() >= providers {
            released = true;
            shared.release_inherited();
        }
        let Some((i, g)) = rx.recv().await else { return };
        by_provider.insert(i, g);
        reported.insert(i);
        while let Ok((i, g)) = rx.try_recv() {
            by_provider.insert(i, g);
            reported.insert(i);
        }
    }
}

impl PoolShared {
    /// Makes the running loops match `groups`: new targets start, vanished ones stop with
    /// staleness markers, unchanged ones keep running.
    fn sync(&self, groups: &[&TargetGroup]) {
        let mut want: HashMap<u64, Target> = HashMap::new();
        let mut dropped = Vec::new();
        for g in groups {
            for addr in &g.targets {
                match populate(&self.cfg, g, addr) {
                    Ok(Populated::Active(t)) => {
                        want.insert(t.hash(), t);
                    }
                    Ok(Populated::Dropped(l)) => dropped.push(l),
                    Err(e) => tracing::warn!(job = %self.cfg.job_name, error = %e, "skipping target"),
                }
            }
        }
        if self.keep_dropped > 0 {
            dropped.truncate(self.keep_dropped);
        }
        *self.dropped.lock() = dropped;
        let limit = self.cfg.target_limit;
        *self.forced_error.lock() = (limit > 0 && want.len() as u64 > limit).then(|| {
            format!(
                "target_limit exceeded (number of targets: {}, limit: {limit})",
                want.len()
            )
        });
        let mut loops = self.loops.lock();
        let gone: Vec<u64> = loops.keys().filter(|h| !want.contains_key(h)).copied().collect();
        for h in gone {
            if let Some(mut l) = loops.remove(&h) {
                if let Some(tx) = l.stop.take() {
                    let _ = tx.send(StopMode::Stale);
                }
            }
        }
        for (h, t) in want {
            if loops.contains_key(&h) {
                continue;
            }
            let state = Arc::new(TargetState::new(t));
            let sl = ScrapeLoop::new(
                state.clone(),
                self.loop_cfg.clone(),
                self.client.clone(),
                self.appendable.clone(),
                self.sem.clone(),
            )
            .with_forced_error(self.forced_error.clone());
            let inherited = self.inherited.lock().remove(&h);
            let (tx, rx) = oneshot::channel();
            let join = self.handle.spawn(sl.run(rx, inherited));
            loops.insert(
                h,
                RunningLoop {
                    state,
                    stop: Some(tx),
                    join,
                },
            );
        }
    }

    /// Loops of the previous configuration whose targets no longer exist: their series are
    /// gone, so mark them stale.
    fn release_inherited(&self) {
        let unclaimed = std::mem::take(&mut *self.inherited.lock());
        for (_, j) in unclaimed {
            self.handle
                .spawn(mark_stale_when_done(self.appendable.clone(), j));
        }
    }
}
