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

    /// The number remote write (1.0 `MetricMetadata.type`, 2.0 `Metadata.type`) and the WAL
    /// give the type: 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gaugehistogram,
    /// 5 summary, 6 info, 7 stateset.
    pub fn number(self) -> u8 {
        match self {
            MetricType::Unknown => 0,
            MetricType::Counter => 1,
            MetricType::Gauge => 2,
            MetricType::Histogram => 3,
            MetricType::Gaugehistogram => 4,
            MetricType::Summary => 5,
            MetricType::Info => 6,
            MetricType::Stateset => 7,
        }
    }

    /// The type of a [`MetricType::number`]; `None` for numbers without one.
    pub fn from_number(n: i64) -> Option<MetricType> {
        Some(match n {
            0 => MetricType::Unknown,
            1 => MetricType::Counter,
            2 => MetricType::Gauge,
            3 => MetricType::Histogram,
            4 => MetricType::Gaugehistogram,
            5 => MetricType::Summary,
            6 => MetricType::Info,
            7 => MetricType::Stateset,
            _ => return None,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for n in 0..8 {
            let t = MetricType::from_number(n).expect("numbered");
            assert_eq!(i64::from(t.number()), n);
        }
        assert_eq!(MetricType::Counter.number(), 1);
        assert_eq!(MetricType::Stateset.number(), 7);
        assert_eq!(MetricType::from_number(8), None);
        assert_eq!(MetricType::from_number(-1), None);
    }
}
