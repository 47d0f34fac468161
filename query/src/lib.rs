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
//! - `promqltest` (feature `testkit`): the runner of the data-driven `testdata/*.test` scripts.
//!
//! # Evaluation model
//! Every query is evaluated as a range query (an instant query is one step). Each selector is
//! read from storage once for the whole range; instant-vector values are series of points at
//! step timestamps, and range functions walk per-step windows over the raw samples.

// Step loops index several per-step arrays (parameters, outputs) by the step number.
#![allow(clippy::needless_range_loop)]

pub mod engine;
pub mod error;
pub(crate) mod functions;
#[cfg(feature = "testkit")]
pub mod promqltest;

pub use engine::value::{InstantSample, QueryOutput, Value};
pub use engine::{CancelToken, Engine, EngineOptions};
pub use error::QueryError;
pub use functions::supported_functions;
