//! The shared vocabulary of Sextant: labels, matchers, samples and series references, time
//! in milliseconds and its text forms, Prometheus durations and byte sizes, metric types and
//! label-value escaping, and native histograms.
//!
//! Every other crate speaks in these types; they live here, in the lowest crate, so that
//! no crate needs a side door to another.

mod bucket_bounds;
mod duration;
mod escape;
mod exemplar;
mod gofmt;
pub mod histogram;
mod labels;
mod matcher;
mod metadata;
mod sample;
mod series;
mod size;
pub mod time;
pub mod yaml;

pub use duration::{format_duration, parse_duration, DurationError, PromDuration};
pub use escape::{escape_label_value, push_escaped_label_value};
pub use exemplar::{Exemplar, ExemplarSeries, EXEMPLAR_MAX_LABEL_CHARS};
pub use gofmt::format_go_g;
pub use histogram::{
    exponential_upper_bound, BucketSpan, CounterResetHint, FloatHistogram, Histogram, HistogramError,
    HistogramSample, IndexedBuckets, CUSTOM_BUCKETS_SCHEMA,
};
pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use metadata::{MetricMetadata, MetricType};
pub use sample::{is_stale_nan, Sample, SeriesRef, STALE_NAN, STALE_NAN_BITS};
pub use series::Series;
pub use size::ByteSize;
pub use time::now_ms;
