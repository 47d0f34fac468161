//! Sextant's time-series database.
//!
//! # Layout
//! - [`model`]: the shared vocabulary (labels, matchers, samples, metadata, time, durations,
//!   sizes, label escaping, the YAML set-up of every configuration file), re-exported here.
//! - [`api`]: the boundary traits, [`Appendable`]/[`Appender`] and [`Queryable`]/[`Querier`].
//! - [`error`]: append, query, corruption and open errors.
//! - [`exemplars`]: the in-memory ring of exemplars.
//! - [`db`]: [`Db`], the database, implementing both sides of the boundary.
//! - `chunk`: sample codecs (appendable head chunks, dense block columns).
//! - `wal`: the write-ahead log.
//! - `head`: the in-memory recent window with its inverted index.
//! - [`metrics`]: counters, histograms and the text-format writer of self-metrics.
//! - `block`, `index`: immutable on-disk blocks read through `mmap`, compaction, retention.
//! - [`check`]: the read-only integrity check of a data directory (`sextant check`).
//!
//! # Durability
//! A committed batch is in the WAL before `commit` returns; a crash after that loses nothing.
//! The WAL is fsynced at the configured interval, which bounds what a power loss may take.
//!
//! # Concurrency
//! [`Db`] is `Send + Sync`; appenders are per batch and per thread; queriers see what was
//! committed before they were created.

pub mod api;
pub mod block;
pub mod check;
pub mod chunk;
pub mod db;
pub mod error;
pub mod exemplars;
pub mod format;
pub(crate) mod head;
pub mod id_table;
pub mod index;
mod lazy;
pub mod metrics;
mod mmap;
pub mod model;
pub mod prefetch;
pub mod wal;

pub use api::{Appendable, Appender, LatestSample, Querier, Queryable, SelectHints, Series};
pub use db::{
    snapshot_name, Db, DbOptions, DbStats, DeleteStats, SnapshotInfo, WalHold, AGENT_HEAD_WINDOW_MS,
};
pub use error::{AppendError, CorruptionError, DbError, QueryError};
pub use exemplars::{ExemplarStats, ExemplarStorage};
pub use head::{HeadCardinality, HeadStats, SeriesHandle};
pub use lazy::{DecodeScratch, LazySeries};
pub use model::*;
