#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests: each starts the real `sextant` binary on a loopback port with a fresh
//! data directory and talks to it over HTTP only.

mod admin;
mod api_diff;
mod config_corpus;
mod corruption;
mod crash;
mod crash_loop;
mod dashboards;
mod disk_full;
mod docs_links;
mod error_texts;
mod exemplars;
mod faults;
mod forward;
mod forward_histograms;
mod fuzz_replay;
mod grafana_vars;
mod histogram_diff;
mod limits;
mod otel_sdk;
mod otlp;
mod promql_diff;
mod promql_limits;
mod real_clients;
mod reference;
mod rules;
mod scrape;
mod scrape_security;
mod security;
mod self_metrics;
mod sextant_dashboard;
mod startup;
mod support;
mod tracing;
