//! The lower-level pieces the push protocols share ([`crate::remote_write`], [`crate::otlp`],
//! text [`import`]); the routes are put together by [`crate::router`].
//!
//! Every request is decoded and appended on a blocking thread (decoding is CPU work and
//! appending may write the WAL), as one [`storage::Appender`] batch.
//!
//! # Layout
//! - [`body`]: reading a body within the size limit, `Content-Type`/`Content-Encoding`,
//!   gzip and snappy within the decompressed limit.
//! - `limits`: [`PushLimits`] and [`OtlpOptions`].
//! - `labels`: label validation against the limits.
//! - [`histogram`]: native histograms to classic bucket series.
//! - [`writer`]: the batch writer ([`writer::SeriesWriter`]) and [`WriteOutcome`].
//! - [`rejections`]: refused requests and samples, counted by protocol and reason.
//! - `respond`: the handler skeleton: read the body, run on a blocking thread, count, answer.
//! - [`import`]: `POST /api/v1/import/prometheus`, the text exposition pushed by batch jobs.
//!
//! Nothing here imports a protocol module: the protocols import these pieces.

pub mod body;
pub mod histogram;
pub mod import;
pub(crate) mod labels;
mod limits;
pub mod rejections;
pub(crate) mod respond;
pub mod writer;

pub use limits::{OtlpOptions, PushLimits};
pub use writer::WriteOutcome;
