#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests: each starts the real `sextant` binary on a loopback port with a fresh
//! data directory and talks to it over HTTP only.

mod admin;
mod api_diff;
mod crash;
mod forward;
mod limits;
mod corruption;
mod crash_loop;
mod disk_full;
mod faults;
mod dashboards;
mod grafana_vars;
mod exemplars;
mod otel_sdk;
mod otlp;
mod promql_diff;
mod promql_limits;
mod real_clients;
mod reference;
mod rules;
mod scrape;
mod self_metrics;
mod sextant_dashboard;
mod scrape_security;
mod security;
mod startup;
mod support;
mod tracing;
