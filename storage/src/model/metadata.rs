//! Metric metadata: type, help and unit of a metric family, for `/api/v1/metadata`.

use serde::{Deserialize, Serialize};

/// The type of a metric family, as the exposition formats name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    /// counter
    Counter,
    /// gauge
    Gauge,
    /// histogram
    Histogram,
    /// gaugehistogram (OpenMetrics)
    Gaugehistogram,
    /// summary
    Summary,
    /// info (OpenMetrics)
    Info,
    /// stateset (OpenMetrics)
    Stateset,
    /// unknown / untyped
    Unknown,
}

impl MetricType {
    /// The lowercase name Prometheus' API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Gaugehistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::Stateset => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// What is known about a metric family.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetricMetadata {
    /// The family's type.
    #[serde(rename = "type")]
    pub metric_type: MetricType,
    /// The HELP text.
    pub help: String,
    /// The unit (may be empty).
    pub unit: String,
}
