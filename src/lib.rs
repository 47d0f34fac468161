//! Sextant: a single-binary, Prometheus-compatible monitoring backend.
