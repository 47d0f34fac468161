//! otlp (to be written).
