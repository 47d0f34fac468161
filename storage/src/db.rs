//! The database: head + WAL + blocks behind the [`Appendable`] and [`Queryable`] boundary.
//!
//! PLACEHOLDER: an in-memory map with the real API, so other crates can build against it
//! while the engine is written. Replaced by the real engine (WAL, head, blocks).

use crate::api::{Appendable, Appender, Querier, Queryable, SelectHints, Series};
use crate::error::{AppendError, DbError, QueryError};
use crate::model::{Labels, Matcher, MetricMetadata, Sample, SeriesRef};
use parking_lot::RwLock;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

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
        }
    }
}

type SeriesMap = BTreeMap<Labels, BTreeMap<i64, f64>>;

/// The time-series database.
pub struct Db {
    opts: DbOptions,
    series: RwLock<SeriesMap>,
    metadata: RwLock<BTreeMap<String, MetricMetadata>>,
}

impl Db {
    /// Opens (or creates) the database in `opts.path`, replaying the WAL.
    pub fn open(opts: DbOptions) -> Result<Db, DbError> {
        std::fs::create_dir_all(&opts.path).map_err(|source| DbError::Io {
            context: format!("creating {}", opts.path.display()),
            source,
        })?;
        Ok(Db {
            opts,
            series: RwLock::new(BTreeMap::new()),
            metadata: RwLock::new(BTreeMap::new()),
        })
    }

    /// The options the database was opened with.
    pub fn options(&self) -> &DbOptions {
        &self.opts
    }

    /// Flushes and closes the database.
    pub fn close(&self) -> Result<(), DbError> {
        Ok(())
    }
}

struct MemAppender<'a> {
    db: &'a Db,
    pending: Vec<(Labels, i64, f64)>,
    meta: Vec<(String, MetricMetadata)>,
}

impl Appendable for Db {
    fn appender(&self) -> Box<dyn Appender + Send + '_> {
        Box::new(MemAppender {
            db: self,
            pending: Vec::new(),
            meta: Vec::new(),
        })
    }
}

impl Appender for MemAppender<'_> {
    fn append(&mut self, _r: SeriesRef, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        if labels.is_empty() {
            return Err(AppendError::InvalidLabels {
                labels: labels.to_string(),
                reason: "empty label set".into(),
            });
        }
        let map = self.db.series.read();
        if let Some(s) = map.get(labels) {
            if let Some(old) = s.get(&t) {
                if old.to_bits() != v.to_bits() {
                    return Err(AppendError::DuplicateTimestamp { t });
                }
            }
            if let Some((&newest, _)) = s.iter().next_back() {
                if t < newest - self.db.opts.out_of_order_window_ms {
                    return Err(AppendError::OutOfOrder { t, newest });
                }
            }
        }
        self.pending.push((labels.clone(), t, v));
        Ok(SeriesRef(labels.stable_hash() | 1))
    }

    fn update_metadata(&mut self, metric_family: &str, meta: MetricMetadata) -> Result<(), AppendError> {
        self.meta.push((metric_family.to_string(), meta));
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), AppendError> {
        let mut map = self.db.series.write();
        for (l, t, v) in self.pending {
            map.entry(l).or_default().insert(t, v);
        }
        let mut md = self.db.metadata.write();
        for (k, m) in self.meta {
            md.insert(k, m);
        }
        Ok(())
    }

    fn rollback(self: Box<Self>) {}
}

struct MemQuerier<'a> {
    db: &'a Db,
    mint: i64,
    maxt: i64,
}

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, QueryError> {
        Ok(Box::new(MemQuerier { db: self, mint, maxt }))
    }

    fn metadata(&self) -> BTreeMap<String, Vec<MetricMetadata>> {
        self.metadata
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), vec![v.clone()]))
            .collect()
    }
}

fn matches_all(l: &Labels, ms: &[Matcher]) -> bool {
    ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or("")))
}

impl Querier for MemQuerier<'_> {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>, QueryError> {
        let (lo, hi) = (hints.mint.max(self.mint), hints.maxt.min(self.maxt));
        let map = self.db.series.read();
        let mut out = Vec::new();
        for (l, s) in map.iter().filter(|(l, _)| matches_all(l, matchers)) {
            if lo > hi {
                break;
            }
            let samples: Vec<Sample> = s.range(lo..=hi).map(|(&t, &v)| Sample { t, v }).collect();
            if !samples.is_empty() {
                out.push(Series {
                    labels: l.clone(),
                    samples,
                });
            }
        }
        Ok(out)
    }

    fn series(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, QueryError> {
        Ok(self
            .select(
                &SelectHints {
                    mint: self.mint,
                    maxt: self.maxt,
                },
                matchers,
            )?
            .into_iter()
            .map(|s| s.labels)
            .collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, QueryError> {
        let mut set = BTreeSet::new();
        for l in self.series(matchers)? {
            for x in l.iter() {
                set.insert(x.name.to_string());
            }
        }
        Ok(set.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, QueryError> {
        let mut set = BTreeSet::new();
        for l in self.series(matchers)? {
            if let Some(v) = l.get(name) {
                set.insert(v.to_string());
            }
        }
        Ok(set.into_iter().collect())
    }
}
