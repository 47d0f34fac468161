//! Storage's integration tests: one test binary, one module per scenario.

mod crash;
mod histograms;
mod model;
mod series_limits;
mod wal_damage;
