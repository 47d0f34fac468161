//! [`Series`]: one selected series with its samples.

use super::{HistogramSample, Labels, Sample};

/// One series and its samples in the selected range.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// Samples in ascending time order, unique timestamps, within the selected range.
    /// Staleness markers are included as stored.
    pub samples: Vec<Sample>,
    /// Native histogram samples, ascending, within the selected range, at timestamps no float
    /// sample of the series has (a series may switch type over time). Empty for float series.
    pub histograms: Vec<HistogramSample>,
}

impl Series {
    /// A float-only series.
    pub fn floats(labels: Labels, samples: Vec<Sample>) -> Self {
        Series {
            labels,
            samples,
            histograms: Vec::new(),
        }
    }
}
