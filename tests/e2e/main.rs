#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests: each starts the real `sextant` binary on a loopback port with a fresh
//! data directory and talks to it over HTTP only.

mod admin;
mod api_diff;
mod crash;
mod exemplars;
mod otel_sdk;
mod otlp;
mod promql_diff;
mod real_clients;
mod reference;
mod rules;
mod scrape;
mod startup;
mod support;
