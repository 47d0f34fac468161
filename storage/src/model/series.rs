//! [`Series`]: one selected series with its samples.

use super::{Labels, Sample};

/// One series and its samples in the selected range.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// Samples in ascending time order, unique timestamps, within the selected range.
    /// Staleness markers are included as stored.
    pub samples: Vec<Sample>,
}
