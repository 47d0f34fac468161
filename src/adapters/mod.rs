//! The small trait implementations that connect crates which must not know each other: each
//! fills a trait that `web` defines with what another crate (or the root) holds.
//!
//! - [`targets`]: the scrape manager (`ingest`) as `/api/v1/targets` wants it.
//! - [`rules`]: the rule manager (`rules`) as `/api/v1/rules` and `/api/v1/alerts` want it.
//! - [`remote_write`]: the remote-write queues (`ingest`) as `/api/v1/status/remote_write`
//!   wants them, and the external labels they add.
//! - [`tsdb_stats`]: the head statistics (`storage`) for `/api/v1/status/tsdb`.
//! - [`admin`]: the admin API over the database.

pub mod admin;
pub mod remote_write;
pub mod rules;
pub mod targets;
pub mod tsdb_stats;
