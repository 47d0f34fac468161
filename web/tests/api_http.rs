//! HTTP-level tests of the Prometheus API: one test binary, one module per endpoint group.
//! Each test builds the router over a fresh `storage::Db` in a temporary directory, loads data
//! through the public Appender, and drives the router with `tower::ServiceExt::oneshot`.

#![allow(clippy::unwrap_used)]

#[path = "api/admin.rs"]
mod admin;
#[path = "api/common.rs"]
mod common;
#[path = "api/export_read.rs"]
mod export_read;
#[path = "api/federate.rs"]
mod federate;
#[path = "api/metadata_targets.rs"]
mod metadata_targets;
#[path = "api/query.rs"]
mod query;
#[path = "api/series_labels.rs"]
mod series_labels;
#[path = "api/status.rs"]
mod status;
