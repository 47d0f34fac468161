//! The rule manager: loads rule files, runs each group on its own task at its interval, and
//! reports status.

use crate::config::{self, RuleFile};
use crate::context::EvalCtx;
pub use crate::context::RuleManagerOptions;
use crate::error::RuleError;
use crate::group::Group;
use crate::status::{AlertStatus, GroupStatus};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use storage::metrics::Exposition;
use storage::{Appendable, Queryable, SeriesRef, STALE_NAN};

/// A rule file's text and the name it is reported under (a path, or a preset's name).
#[derive(Clone, Debug)]
pub struct RuleSource {
    /// File name used in errors and status.
    pub name: PathBuf,
    /// YAML text.
    pub text: String,
}

impl RuleSource {
    /// The embedded beacon-node preset (see [`crate::presets::BEACON_RULES`]).
    pub fn beacon_preset() -> RuleSource {
        RuleSource {
            name: PathBuf::from(crate::presets::BEACON_RULES_NAME),
            text: crate::presets::BEACON_RULES.to_string(),
        }
    }
}

#[derive(Default)]
struct Inner {
    groups: Vec<Arc<Group>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    loaded_once: bool,
}

/// Loads and evaluates recording and alerting rules.
pub struct RuleManager {
    ctx: Arc<EvalCtx>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for RuleManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleManager")
            .field("groups", &self.inner.lock().groups.len())
            .finish()
    }
}

pub(crate) use storage::now_ms;

impl RuleManager {
    /// A manager with no rules. Nothing runs until [`RuleManager::load`].
    pub fn new(
        queryable: Arc<dyn Queryable>,
        appendable: Arc<dyn Appendable>,
        engine: Arc<query::Engine>,
        opts: RuleManagerOptions,
    ) -> RuleManager {
        RuleManager {
            ctx: Arc::new(EvalCtx {
                queryable,
                appendable,
                engine,
                opts,
            }),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Loads (or reloads) the rule files; see [`RuleManager::load_sources`].
    pub fn load(&self, files: &[PathBuf]) -> Result<(), RuleError> {
        self.load_with(files, &[])
    }

    /// Loads rule files plus in-memory sources (such as [`RuleSource::beacon_preset`]).
    pub fn load_with(&self, files: &[PathBuf], extra: &[RuleSource]) -> Result<(), RuleError> {
        let mut sources = Vec::with_capacity(files.len() + extra.len());
        let mut errors = Vec::new();
        for f in files {
            match std::fs::read_to_string(f) {
                Ok(text) => sources.push(RuleSource {
                    name: f.clone(),
                    text,
                }),
                Err(source) => errors.push(RuleError::Io {
                    file: f.clone(),
                    source,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(flatten(errors));
        }
        sources.extend_from_slice(extra);
        self.load_sources(&sources)
    }

    /// Parses and validates every source, then swaps the groups in. Nothing changes when any
    /// source is invalid (all errors are reported). Alert state of rules that still exist
    /// (same file, group, kind, name and labels) is kept; series of rules that are gone get
    /// staleness markers. With `run_evaluations`, one task per group is (re)started; this
    /// must then be called inside a Tokio runtime.
    pub fn load_sources(&self, sources: &[RuleSource]) -> Result<(), RuleError> {
        let mut parsed: Vec<(PathBuf, RuleFile)> = Vec::new();
        let mut errors = Vec::new();
        for s in sources {
            match config::parse_rule_file(&s.name, &s.text) {
                Ok(f) => parsed.push((s.name.clone(), f)),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(flatten(errors));
        }
        let mut inner = self.inner.lock();
        let restore = !inner.loaded_once;
        let new_groups: Vec<Arc<Group>> = parsed
            .iter()
            .flat_map(|(path, f)| {
                f.groups
                    .iter()
                    .map(|g| Arc::new(Group::new(path, g, &self.ctx.opts, restore)))
            })
            .collect();
        for t in inner.tasks.drain(..) {
            t.abort();
        }
        let mut old: HashMap<(PathBuf, String), Arc<Group>> =
            inner.groups.drain(..).map(|g| (g.key(), g)).collect();
        for g in &new_groups {
            if let Some(o) = old.get(&g.key()) {
                g.copy_state_from(o);
            }
        }
        // Whatever the old groups still own has no successor: mark it stale.
        let stale: Vec<_> = old.drain().flat_map(|(_, g)| g.take_all_series()).collect();
        if !stale.is_empty() {
            let ts = now_ms();
            let mut app = self.ctx.appendable.appender();
            for l in &stale {
                if let Err(e) = app.append(SeriesRef::NONE, l, ts, STALE_NAN) {
                    tracing::debug!(series = %l, "staleness marker rejected: {e}");
                }
            }
            if let Err(e) = app.commit() {
                tracing::warn!("writing staleness markers of removed rules: {e}");
            }
        }
        inner.groups = new_groups;
        inner.loaded_once = true;
        if self.ctx.opts.run_evaluations {
            match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    let tasks: Vec<_> = inner
                        .groups
                        .iter()
                        .map(|g| h.spawn(run_group(Arc::clone(&self.ctx), Arc::clone(g))))
                        .collect();
                    inner.tasks = tasks;
                }
                Err(_) => tracing::error!("rule groups loaded outside a Tokio runtime: not evaluated"),
            }
        }
        tracing::info!(groups = inner.groups.len(), "rules loaded");
        Ok(())
    }

    /// Evaluates every group named `name` once at evaluation timestamp `ts_ms` (a manual
    /// clock for tests and tools).
    pub fn eval_group_at(&self, name: &str, ts_ms: i64) -> Result<(), RuleError> {
        let groups: Vec<Arc<Group>> = self
            .inner
            .lock()
            .groups
            .iter()
            .filter(|g| g.name == name)
            .cloned()
            .collect();
        if groups.is_empty() {
            return Err(RuleError::NoSuchGroup(name.to_string()));
        }
        for g in groups {
            g.eval(&self.ctx, ts_ms);
        }
        Ok(())
    }

    /// Evaluates every group once at `ts_ms`.
    pub fn eval_all_at(&self, ts_ms: i64) {
        let groups = self.inner.lock().groups.clone();
        for g in groups {
            g.eval(&self.ctx, ts_ms);
        }
    }

    /// Status of every group, in load order (`/api/v1/rules`).
    pub fn groups(&self) -> Vec<GroupStatus> {
        let groups = self.inner.lock().groups.clone();
        groups.iter().map(|g| g.status()).collect()
    }

    /// Every pending and firing alert (`/api/v1/alerts`).
    pub fn alerts(&self) -> Vec<AlertStatus> {
        let groups = self.inner.lock().groups.clone();
        groups.iter().flat_map(|g| g.active_alerts()).collect()
    }

    /// Renders Prometheus' `prometheus_rule_*` families per group (label
    /// `rule_group="<file>;<name>"`) into `out`.
    pub fn render_metrics(&self, out: &mut Exposition) {
        let groups = self.inner.lock().groups.clone();
        let mut fams: BTreeMap<&'static str, Vec<(String, f64)>> = BTreeMap::new();
        for g in &groups {
            g.metrics(&mut fams);
        }
        for (name, samples) in fams {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            out.family(name, kind, "");
            for (group, v) in samples {
                out.sample(name, &[("rule_group", &group)], v);
            }
        }
    }

    /// Stops the evaluation tasks.
    pub fn stop(&self) {
        for t in self.inner.lock().tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for RuleManager {
    fn drop(&mut self) {
        self.stop();
    }
}

fn flatten(mut errors: Vec<RuleError>) -> RuleError {
    if errors.len() == 1 {
        errors.remove(0)
    } else {
        RuleError::Multiple(errors)
    }
}

/// Runs a group forever: waits for its next aligned evaluation time, evaluates (on the
/// blocking pool: the engine is synchronous), repeats. Missed iterations are skipped.
async fn run_group(ctx: Arc<EvalCtx>, group: Arc<Group>) {
    let mut next = group.eval_timestamp(now_ms()) + group.interval_ms;
    loop {
        let wait = (next - now_ms()).max(0) as u64;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let (c, g) = (Arc::clone(&ctx), Arc::clone(&group));
        let ts = next;
        if let Err(e) = tokio::task::spawn_blocking(move || g.eval(&c, ts)).await {
            tracing::error!(group = %group.name, "rule group evaluation panicked: {e}");
        }
        next += group.interval_ms;
        let now = now_ms();
        if next <= now {
            let missed = (now - next) / group.interval_ms + 1;
            tracing::warn!(group = %group.name, missed, "rule group evaluation missed iterations");
            group.add_missed(missed as u64);
            next += missed * group.interval_ms;
        }
    }
}

/// Resolves `rule_files` globs relative to the configuration file's directory.
pub fn rule_files_for_config(config_path: &Path, patterns: &[String]) -> Result<Vec<PathBuf>, RuleError> {
    let dir = config_path.parent().unwrap_or_else(|| Path::new("."));
    config::resolve_rule_files(dir, patterns)
}
