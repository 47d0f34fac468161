//! The shared vocabulary of Sextant: labels, matchers, samples and series references.
//!
//! Every other crate speaks in these types; they live here, in the lowest crate, so that
//! no crate needs a side door to another.

mod exemplar;
mod labels;
mod matcher;
mod metadata;
mod sample;
pub mod yaml;

pub use exemplar::{Exemplar, ExemplarSeries, EXEMPLAR_MAX_LABEL_CHARS};
pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use metadata::{MetricMetadata, MetricType};
pub use sample::{is_stale_nan, Sample, SeriesRef, STALE_NAN, STALE_NAN_BITS};
