//! Rules' integration tests against real Prometheus tools: one test binary, one module each.

mod alertmanager;
mod promtool_diff;
