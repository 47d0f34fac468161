//! The value of one sample of a rule's result: a float or a native histogram.

use storage::FloatHistogram;

/// One result sample's value. Recording rules store a histogram as a histogram; an alerting
/// rule's alert takes the float value, 0 for a histogram, and its templates see the
/// histogram as `$value`, as in Prometheus (`rules/alerting.go`, `template.AlertTemplateData`).
#[derive(Clone, Debug, PartialEq)]
pub enum RuleValue {
    /// A float sample.
    Float(f64),
    /// A native-histogram sample.
    Histogram(FloatHistogram),
}

impl RuleValue {
    /// The value an alert records (`Alert.Value` in Prometheus: the sample's float, 0 for a
    /// histogram).
    pub fn alert_value(&self) -> f64 {
        match self {
            RuleValue::Float(v) => *v,
            RuleValue::Histogram(_) => 0.0,
        }
    }

    /// The histogram as templates print it (Prometheus' `FloatHistogram.String()`), for a
    /// histogram sample.
    pub fn histogram_text(&self) -> Option<String> {
        match self {
            RuleValue::Float(_) => None,
            RuleValue::Histogram(h) => Some(h.to_string()),
        }
    }
}
