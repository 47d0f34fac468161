//! The ingest crate's integration tests, one binary (one link instead of eight): the push
//! endpoints through the router into a real `storage::Db`, scraping end to end and over TLS.
#![allow(clippy::unwrap_used)]

mod push_fuzz;
mod push_import;
mod push_limits;
mod push_otlp;
mod push_remote_write;
#[allow(dead_code)]
mod push_support;
mod push_traces;
mod scrape_e2e;
mod scrape_tls;
