//! Sextant's PromQL engine: evaluates PromQL (parsed by the `promql-parser` crate) over any
//! [`storage::Queryable`], with Prometheus 3 semantics.
//!
//! # Layout
//! - [`engine`]: [`Engine`] (limits, timeout, cancellation, concurrency), the evaluator
//!   (`eval.rs`), selectors with lookback and staleness (`selector.rs`) and the result types
//!   (`value.rs`).
//! - `functions`: the function registry and the function families: range functions (`rate`,
//!   `*_over_time`), instant functions (math, time, labels), aggregations, binary operators and
//!   classic-histogram functions.
//! - [`error`]: [`QueryError`], the engine's error vocabulary.
//! - [`durations`]: number-of-seconds durations no duration can hold, refused before parsing
//!   (the parser crate panics on them).
//! - [`metrics`]: the engine's self-metrics (durations by kind and stage, samples loaded).
//! - `promqltest` (feature `testkit`): the runner of the data-driven `testdata/*.test` scripts.
//!
//! # Evaluation model
//! Every query is evaluated as a range query (an instant query is one step). Each selector is
//! read from storage once for the whole range; instant-vector values are series of points at
//! step timestamps, and range functions walk per-step windows over the raw samples.
//!
//! # Semantics
//! Prometheus 3: left-open range and lookback windows, staleness markers end a series,
//! `rate` extrapolation with the zero-point limit applied after the half-interval cap (2.51+),
//! `@` selectors read once while `predict_linear` still extrapolates from each step's time,
//! subquery steps aligned to absolute multiples of the step, and the metric name dropped by
//! arithmetic and most functions. `holt_winters` is kept as an alias of
//! `double_exponential_smoothing`. The experimental `info`, `histogram_quantiles`, `integral`,
//! `min_of`/`max_of`, `start`/`end`/`range`/`step` and `start_timestamp` parse but are rejected;
//! native-histogram functions return nothing (there are no native histograms in storage).
//!
//! # Limits
//! `timeout` (queue wait included) and cancellation are checked between series and steps;
//! `max_samples` counts, like Prometheus, the points of instant-vector results plus one window
//! per series of range functions; `max_concurrency` queries run at once, the rest wait.

// Step loops index several per-step arrays (parameters, outputs) by the step number.
#![allow(clippy::needless_range_loop)]

pub mod durations;
pub mod engine;
pub mod error;
pub(crate) mod functions;
pub mod metrics;
pub mod parse_error;
#[cfg(feature = "testkit")]
pub mod promqltest;
pub mod rejections;

pub use engine::value::{InstantSample, QueryOutput, Value};
pub use engine::{extract_selectors, CancelToken, Engine, EngineOptions};
pub use error::QueryError;
pub use functions::supported_functions;
