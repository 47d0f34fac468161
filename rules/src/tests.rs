//! Tests of the manager: recording rules, staleness, ALERTS series, restore, reload.
