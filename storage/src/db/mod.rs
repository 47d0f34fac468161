//! The database: head + WAL (+ blocks) behind the [`Appendable`] and [`Queryable`] boundary.
//!
//! # Layout
//! - `mod.rs`: [`DbOptions`], [`Db`] (open, close, stats), the boundary implementations.
//! - `querier.rs`: reads merging the head and the blocks.
//! - `lock.rs`: the data directory's lock file.
//! - `background.rs`: the fsync timer and the maintenance loop (block cut, WAL checkpoint).
//! - `delete.rs`: [`Db::delete_series`] (tombstones) and [`Db::clean_tombstones`].
//! - `snapshot.rs`: [`Db::snapshot`], hard-linked copies that open as data directories.
//! - `self_metrics.rs`: [`Db::render_metrics`], the database's figures for `/metrics`.
//!
//! # Data directory
//! ```text
//! <path>/lock            held (flock) while open; another process gets DbError::Locked
//! <path>/wal/00000001    WAL segments (storage/docs/format/wal.md)
//! <path>/wal/checkpoint.N  series still alive from segments <= N
//! <path>/chunks_head/N   closed head chunks moved off the heap (scratch, emptied on open;
//!                        storage/docs/format/chunks_head.md)
//! <path>/<block id>/     immutable blocks (storage/docs/format/block.md)
//! <path>/snapshots/<name>/  snapshots ([`Db::snapshot`]); not read by the database
//! ```

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod admin_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod agent_tests;
mod background;
mod delete;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod exemplar_tests;
mod lock;
mod maintain;
mod querier;
mod self_metrics;
mod snapshot;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use crate::api::{Appendable, Appender, Querier, Queryable};
use crate::block::Block;
use crate::error::{DbError, QueryError};
use crate::exemplars::{ExemplarStats, ExemplarStorage};
use crate::head::{clear_spill_dir, ChunkSpill, Head, HeadAppender, HeadStats, Replayer};
use crate::metrics::{Counter, DbMetrics, Histogram, LONG_BUCKETS};
use crate::model::{ExemplarSeries, Matcher, MetricMetadata};
use crate::wal::{CheckpointContents, ExemplarEntry, Wal, WalRecord, DEFAULT_SEGMENT_SIZE};
use background::Background;
pub use delete::DeleteStats;
use parking_lot::{Mutex, RwLock};
pub use snapshot::{snapshot_name, SnapshotInfo};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::info;

/// In agent mode, how long a series that receives nothing stays in the head (which keeps only
/// each series' newest float sample, for order and duplicate checks).
pub const AGENT_HEAD_WINDOW_MS: i64 = 30 * 60 * 1000;

/// How to open a [`Db`].
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// The data directory (created if missing).
    pub path: PathBuf,
    /// Blocks entirely older than this (relative to the newest data) are deleted. 0 = keep.
    pub retention_ms: i64,
    /// When the data directory grows past this many bytes, the oldest blocks are deleted. 0 = no limit.
    pub retention_bytes: u64,
    /// Length of the head's window cut into one block (default 2 h).
    pub block_range_ms: i64,
    /// How far behind a series' newest sample an append may still land (0 = in order only).
    pub out_of_order_window_ms: i64,
    /// How often the WAL is fsynced; `Duration::ZERO` = on every commit.
    pub wal_fsync_interval: Duration,
    /// Size at which the WAL rolls over to a new segment file (default 128 MiB).
    pub wal_segment_size: u64,
    /// Agent mode: no blocks, and the head stores no float samples (only each series' newest
    /// timestamp and value; histograms are kept) and no postings (unless
    /// `max_series_per_metric` needs them): nothing selects from it. Maintenance raises the floor to
    /// [`AGENT_HEAD_WINDOW_MS`] behind the newest (appends older than that are out of bounds)
    /// and drops the series with nothing newer; the WAL is truncated only through
    /// [`Db::truncate_wal_before`].
    pub agent: bool,
    /// Run maintenance (block cut, compaction, retention) on a background thread, on open,
    /// every minute and when the head outgrows 1.5 block ranges (default). When false it
    /// runs only through [`Db::run_maintenance`] (deterministic tests, embedding).
    pub auto_maintenance: bool,
    /// Most series the head may hold; creating one more is refused with
    /// [`crate::AppendError::TooManySeries`]. 0 = no limit. WAL replay is never limited.
    pub max_active_series: usize,
    /// Most head series per metric name (cardinality limit); 0 = no limit.
    pub max_series_per_metric: usize,
    /// Capacity of the in-memory exemplar ring shared by all series (Prometheus'
    /// `storage.exemplars.max_exemplars`, default 100000); 0 keeps no exemplars.
    pub max_exemplars: usize,
    /// Head cuts keep every WAL segment until [`Db::hold_wal_for`] says which ones other
    /// readers (remote-write queues) no longer need, so a cut during start-up, before the
    /// queues run, drops nothing they will want. Default false.
    pub hold_wal_until_told: bool,
    /// Closed head chunks move off the heap into memory-mapped files under
    /// `<path>/chunks_head/` (every few seconds and during WAL replay), so the head's memory
    /// grows with its series, not with their samples. Default true.
    pub head_chunks_on_disk: bool,
    /// WAL records are written snappy-compressed where that makes them smaller (Prometheus'
    /// `--storage.tsdb.wal-compression`). Either way the WAL reads both kinds. Default true.
    pub wal_compression: bool,
}

impl DbOptions {
    /// Defaults as Prometheus': 15 d retention, 2 h blocks, no out-of-order window, fsync every second.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DbOptions {
            path: path.into(),
            retention_ms: 15 * 24 * 3600 * 1000,
            retention_bytes: 0,
            block_range_ms: 2 * 3600 * 1000,
            out_of_order_window_ms: 0,
            wal_fsync_interval: Duration::from_secs(1),
            wal_segment_size: DEFAULT_SEGMENT_SIZE,
            auto_maintenance: true,
            agent: false,
            max_active_series: 0,
            max_series_per_metric: 0,
            max_exemplars: 100_000,
            hold_wal_until_told: false,
            head_chunks_on_disk: true,
            wal_compression: true,
        }
    }
}

/// Figures about the database, for status pages and self-metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Series in the head.
    pub head_series: usize,
    /// Samples in the head.
    pub head_samples: u64,
    /// Chunks in the head.
    pub head_chunks: u64,
    /// Oldest timestamp in the head (`i64::MAX` when empty).
    pub head_min_time: i64,
    /// Newest timestamp in the head (`i64::MIN` when empty).
    pub head_max_time: i64,
    /// Interned label strings in the head.
    pub head_symbols: usize,
    /// Samples older than this are rejected as out of bounds.
    pub min_valid_time: i64,
    /// Out-of-order samples accepted since start.
    pub out_of_order_samples: u64,
    /// Samples dropped at commit (raced with a block cut or a conflicting batch).
    pub dropped_at_commit: u64,
    /// Native histogram samples in the head (included in `head_samples`).
    pub head_histogram_samples: u64,
    /// Head series holding native histogram samples.
    pub head_histogram_series: usize,
    /// WAL bytes on disk (segments and checkpoint).
    pub wal_bytes: u64,
    /// WAL segment files.
    pub wal_segments: usize,
    /// Whether the WAL refuses writes after a failure.
    pub wal_poisoned: bool,
    /// Persisted blocks.
    pub blocks: usize,
    /// Bytes of the persisted blocks.
    pub block_bytes: u64,
    /// Bytes of the head's chunk files (`chunks_head/`) still in use.
    pub head_chunks_disk_bytes: u64,
}

/// Counters of the maintenance work, for [`Db::metrics`].
#[derive(Debug)]
pub(crate) struct DbCounters {
    pub(crate) compactions: Counter,
    pub(crate) compactions_failed: Counter,
    pub(crate) head_cuts: Counter,
    pub(crate) compaction_seconds: Histogram,
    pub(crate) retention_deleted: Counter,
    pub(crate) checkpoints: Counter,
}

impl Default for DbCounters {
    fn default() -> Self {
        DbCounters {
            compactions: Counter::new(),
            compactions_failed: Counter::new(),
            head_cuts: Counter::new(),
            compaction_seconds: Histogram::new(LONG_BUCKETS),
            retention_deleted: Counter::new(),
            checkpoints: Counter::new(),
        }
    }
}

/// Everything the database and its background threads share.
pub(crate) struct Inner {
    pub(crate) opts: DbOptions,
    pub(crate) head: Head,
    pub(crate) wal: Wal,
    /// Persisted blocks, oldest first. Readers hold the read side while they read the head
    /// (see `DbQuerier::select`); replacing the list waits for them.
    pub(crate) blocks: RwLock<Arc<Vec<Arc<Block>>>>,
    /// Serialises block cuts, compactions and retention.
    pub(crate) maintenance: Mutex<()>,
    /// Maintenance counters for self-metrics.
    pub(crate) counters: DbCounters,
    /// Seconds the WAL replay took at open.
    replay_seconds: f64,
    /// Exemplars (in memory; logged to the WAL and kept by checkpoints).
    pub(crate) exemplars: ExemplarStorage,
    /// What other WAL readers still need (see [`Db::hold_wal_for`]) and the size cap.
    pub(crate) wal_hold: parking_lot::RwLock<Option<(WalHold, u64)>>,
    _lock: File,
}

impl Inner {
    /// What a WAL checkpoint keeps: the head's series and metadata, and every exemplar held.
    /// Waits for the commits in flight first, so an exemplar logged in a segment about to be
    /// dropped is already in the ring.
    pub(crate) fn checkpoint_contents(&self) -> CheckpointContents {
        let (series, metadata) = self.head.checkpoint_contents();
        self.head.wait_for_commits();
        let exemplars = self
            .exemplars
            .contents()
            .into_iter()
            .map(|(series, exemplar)| ExemplarEntry { series, exemplar })
            .collect();
        CheckpointContents {
            series,
            metadata,
            exemplars,
        }
    }
}

/// Answers which WAL segments other readers of the WAL still need: `Some(s)` keeps the
/// segments from `s` on, `None` keeps them all (a reader has not got anywhere yet).
pub type WalHold = Arc<dyn Fn() -> Option<u64> + Send + Sync>;

/// The time-series database.
pub struct Db {
    inner: Arc<Inner>,
    background: Background,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.inner.opts.path).finish()
    }
}

impl Db {
    /// Opens (or creates) the database in `opts.path`, replaying the WAL.
    pub fn open(opts: DbOptions) -> Result<Db, DbError> {
        let started = Instant::now();
        std::fs::create_dir_all(&opts.path).map_err(|source| DbError::Io {
            context: format!("creating {}", opts.path.display()),
            source,
        })?;
        let lock = lock::acquire(&opts.path)?;
        info!(path = %opts.path.display(), "opening database");
        let blocks = maintain::open_blocks(&opts.path)?;
        // Samples before the end of the newest block are persisted: the head starts there.
        let floor = blocks.iter().map(|b| b.meta().max_time).max().unwrap_or(i64::MIN);
        info!(blocks = blocks.len(), min_valid_time = floor, "blocks opened");
        let mut head = Head::new(opts.out_of_order_window_ms, floor);
        head.max_active_series = opts.max_active_series;
        head.max_series_per_metric = opts.max_series_per_metric;
        // Nothing queries an agent's head: floats are checked against the newest, not kept.
        head.stores_floats = !opts.agent;
        // Nor selected from: no postings, unless the per-metric limit counts through them.
        head.indexes_series = !opts.agent || opts.max_series_per_metric > 0;
        let spill_dir = opts.path.join(crate::format::HEAD_CHUNKS_DIRNAME);
        let spill_err = |source| DbError::Io {
            context: format!("preparing {}", spill_dir.display()),
            source,
        };
        if opts.head_chunks_on_disk {
            // An agent's (histogram) chunks serve only its duplicate and order checks: not transcoded.
            head.spill = Some(ChunkSpill::open(&spill_dir, !opts.agent).map_err(spill_err)?);
        } else {
            // Files of an earlier run that spilled: nothing reads them.
            clear_spill_dir(&spill_dir).map_err(spill_err)?;
        }
        let replay_started = Instant::now();
        let exemplars = ExemplarStorage::new(opts.max_exemplars);
        let wal = {
            let _span = tracing::info_span!("tsdb.wal_replay").entered();
            let mut replayer = Replayer::new(&head);
            let mut restored_exemplars = 0usize;
            let symbols = &head.symbols;
            let (wal, outcome) = Wal::open(
                &opts.path.join("wal"),
                opts.wal_segment_size,
                &mut |s| symbols.intern(s),
                &mut |r| match r {
                    WalRecord::Exemplars(entries) => {
                        restored_exemplars += entries.len();
                        for e in entries {
                            exemplars.restore(&e.series, e.exemplar);
                        }
                    }
                    r => replayer.handle(r),
                },
            )?;
            info!(
                records = outcome.records,
                samples = replayer.samples,
                exemplars = exemplars.stats().exemplars_in_storage,
                exemplars_read = restored_exemplars,
                dropped_bytes = outcome.dropped_bytes,
                "WAL replayed"
            );
            replayer.finish();
            let mut wal = wal;
            wal.set_compression(opts.wal_compression);
            wal
        };
        let replay_seconds = replay_started.elapsed().as_secs_f64();
        head.truncate();
        let st = head.stats();
        info!(
            path = %opts.path.display(), series = st.series, samples = st.samples,
            elapsed_ms = started.elapsed().as_millis() as u64, "database open"
        );
        let inner = Arc::new(Inner {
            exemplars,
            opts,
            head,
            wal,
            blocks: RwLock::new(Arc::new(blocks)),
            maintenance: Mutex::new(()),
            counters: DbCounters::default(),
            replay_seconds,
            wal_hold: parking_lot::RwLock::new(None),
            _lock: lock,
        });
        let background = Background::start(&inner);
        Ok(Db { inner, background })
    }

    /// The options the database was opened with.
    pub fn options(&self) -> &DbOptions {
        &self.inner.opts
    }

    /// Stops the background work, then flushes and fsyncs the WAL. Later appends fail.
    pub fn close(&self) -> Result<(), DbError> {
        self.background.stop();
        self.inner.wal.close().map_err(|source| DbError::Io {
            context: format!("closing the WAL of {}", self.inner.opts.path.display()),
            source,
        })
    }

    /// Current figures.
    pub fn stats(&self) -> DbStats {
        let h: HeadStats = self.inner.head.stats();
        let blocks = self.inner.blocks();
        DbStats {
            head_series: h.series,
            head_samples: h.samples,
            head_chunks: h.chunks,
            head_min_time: h.min_time,
            head_max_time: h.max_time,
            head_symbols: h.symbols,
            min_valid_time: h.min_valid_time,
            out_of_order_samples: h.out_of_order_samples,
            dropped_at_commit: h.dropped_at_commit,
            head_histogram_samples: h.histogram_samples,
            head_histogram_series: h.histogram_series,
            wal_bytes: self.inner.wal.size_bytes(),
            wal_segments: self.inner.wal.segment_count(),
            wal_poisoned: self.inner.wal.is_poisoned(),
            blocks: blocks.len(),
            block_bytes: blocks.iter().map(|b| b.size_bytes()).sum(),
            head_chunks_disk_bytes: self.inner.head.spilled_bytes(),
        }
    }

    /// Counters and histograms since open, for self-metrics.
    pub fn metrics(&self) -> DbMetrics {
        let h = &self.inner.head.counters;
        let c = &self.inner.counters;
        DbMetrics {
            head_series_created: h.series_created.get(),
            head_series_removed: h.series_removed.get(),
            head_samples_appended: h.samples_appended.get(),
            out_of_bounds_samples: h.out_of_bounds.get(),
            out_of_order_rejected_samples: h.out_of_order.get(),
            duplicate_samples: h.duplicates.get(),
            head_truncations: h.truncations.get(),
            wal_fsync_seconds: self.inner.wal.fsync_seconds(),
            wal_failures: self.inner.wal.failures(),
            wal_checkpoints: c.checkpoints.get(),
            wal_replay_seconds: self.inner.replay_seconds,
            compactions: c.compactions.get(),
            compactions_failed: c.compactions_failed.get(),
            head_cuts: c.head_cuts.get(),
            compaction_seconds: c.compaction_seconds.snapshot(),
            retention_deleted_blocks: c.retention_deleted.get(),
        }
    }

    /// Figures of the exemplar storage.
    pub fn exemplar_stats(&self) -> ExemplarStats {
        self.inner.exemplars.stats()
    }

    /// Distinct values per label name in the head, largest first (for the TSDB status page).
    pub fn label_cardinality(&self) -> Vec<(String, usize)> {
        self.inner.head.label_cardinality()
    }

    /// The head's cardinality tables (top `limit` rows each), for the TSDB status page.
    pub fn head_cardinality(&self, limit: usize) -> crate::head::HeadCardinality {
        self.inner.head.postings.cardinality_tables(limit)
    }

    /// Approximate bytes of sample data held in the head.
    pub fn head_sample_bytes(&self) -> usize {
        self.inner.head.sample_bytes()
    }

    /// Metadata of the persisted blocks, oldest first.
    pub fn blocks(&self) -> Vec<crate::block::BlockMeta> {
        self.inner.blocks().iter().map(|b| b.meta().clone()).collect()
    }

    /// The WAL directory (`<path>/wal`), for [`crate::wal::WalFollower`]s.
    pub fn wal_dir(&self) -> PathBuf {
        Self::wal_dir_of(&self.inner.opts.path)
    }

    /// The WAL directory of the data directory `path` (without opening it).
    pub fn wal_dir_of(path: &std::path::Path) -> PathBuf {
        path.join("wal")
    }

    /// Index of the WAL segment being written.
    pub fn wal_active_segment(&self) -> u64 {
        self.inner.wal.active_segment()
    }

    /// Drops the closed WAL segments below `segment`, keeping the series still in the head in
    /// a checkpoint. Agent mode calls this once every remote-write queue has sent past them.
    pub fn truncate_wal_before(&self, segment: u64) -> std::io::Result<crate::wal::CheckpointStats> {
        let _one = self.inner.maintenance.lock();
        self.inner
            .wal
            .checkpoint_before_segment(segment, || self.inner.checkpoint_contents())
    }

    /// Keeps the WAL segments `hold` says are still needed (remote-write queues that have
    /// not sent them) when a head cut would otherwise drop them, as long as the WAL stays
    /// within `max_bytes` (0: no limit); past it the oldest go anyway, with a warning.
    /// Segments the head still needs are never dropped either way.
    pub fn hold_wal_for(&self, hold: WalHold, max_bytes: u64) {
        *self.inner.wal_hold.write() = Some((hold, max_bytes));
    }

    /// Runs one round of maintenance now (cut the head into blocks if it spans more than
    /// 1.5 block ranges, compact, apply retention) instead of waiting for the background
    /// thread. Returns after it is done.
    pub fn run_maintenance(&self) {
        self.inner.maintain();
    }

    /// Moves the head's closed chunks into `chunks_head/` now (transcoding float chunks to
    /// block columns), as the background thread does every 5 s; returns the chunks moved.
    /// For benchmarks and tools that run without the background thread.
    pub fn spill_head_chunks(&self) -> usize {
        self.inner.head.spill_closed_chunks(0).chunks
    }

    #[cfg(test)]
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(error = %e, "closing the database on drop failed");
        }
    }
}

impl Appendable for Db {
    fn appender(&self) -> Box<dyn Appender + Send + '_> {
        let sync = self.inner.opts.wal_fsync_interval.is_zero();
        self.background.maybe_wake(&self.inner);
        Box::new(
            HeadAppender::new(&self.inner.head, &self.inner.wal, sync).with_exemplars(&self.inner.exemplars),
        )
    }
}

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, QueryError> {
        Ok(Box::new(querier::DbQuerier::new(&self.inner, mint, maxt)))
    }

    fn release_mapped_pages(&self) {
        self.inner.head.release_mapped_pages();
        let blocks = self.inner.blocks.read().clone();
        for b in blocks.iter() {
            b.release_mapped_pages();
        }
    }

    fn select_exemplars(
        &self,
        mint: i64,
        maxt: i64,
        matcher_sets: &[Vec<Matcher>],
    ) -> Result<Vec<ExemplarSeries>, QueryError> {
        Ok(self.inner.exemplars.select(mint, maxt, matcher_sets))
    }

    fn metadata(&self) -> BTreeMap<String, Vec<MetricMetadata>> {
        self.inner
            .head
            .metadata()
            .into_iter()
            .map(|(k, v)| (k, vec![v]))
            .collect()
    }
}
