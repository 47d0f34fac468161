//! Limits and options of the push endpoints.

/// Limits applied to every push request, plus the OTLP translation options.
///
/// A request over a size or count limit is refused as a whole (413) before anything is
/// stored; a series over a per-series limit is refused alone (400 naming it) while the
/// request's other series are kept.
#[derive(Clone, Debug)]
pub struct PushLimits {
    /// Largest request body accepted as sent (compressed), in bytes.
    pub max_body_bytes: usize,
    /// Largest body after decompression (snappy's declared length is checked before
    /// allocating; gzip is cut off at this size), in bytes.
    pub max_decompressed_bytes: usize,
    /// Most labels per series (including `__name__`).
    pub max_labels_per_series: usize,
    /// Longest label name, in bytes.
    pub max_label_name_bytes: usize,
    /// Longest label value, in bytes.
    pub max_label_value_bytes: usize,
    /// Most series per request.
    pub max_series_per_request: usize,
    /// Most samples (floats, histogram samples and OTLP data points) per request.
    pub max_samples_per_request: usize,
    /// How OTLP metrics become Prometheus series.
    pub otlp: OtlpOptions,
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits {
            max_body_bytes: 32 << 20,
            max_decompressed_bytes: 256 << 20,
            max_labels_per_series: 128,
            max_label_name_bytes: 1024,
            max_label_value_bytes: 16 << 10,
            max_series_per_request: 1_000_000,
            max_samples_per_request: 10_000_000,
            otlp: OtlpOptions::default(),
        }
    }
}

/// OTLP translation options (Prometheus' `otlp:` configuration block).
#[derive(Clone, Debug)]
pub struct OtlpOptions {
    /// Resource attributes copied onto every series of the resource (as sanitized label
    /// names), like Prometheus' `promote_resource_attributes`.
    pub promote_resource_attributes: Vec<String>,
    /// Add `otel_scope_name`, `otel_scope_version` (and scope attributes as
    /// `otel_scope_<attr>`) to every series, like Prometheus' `promote_scope_metadata`.
    /// The OpenTelemetry Collector's Prometheus exporters always do; Prometheus only when asked.
    pub promote_scope_metadata: bool,
    /// Convert delta sums and histograms to cumulative by accumulating them per series in
    /// memory (`true`), or reject them with a partial-success message (`false`).
    pub convert_delta_to_cumulative: bool,
    /// Most series whose delta state is kept; new delta series past this are rejected.
    pub max_delta_series: usize,
}

impl Default for OtlpOptions {
    fn default() -> Self {
        OtlpOptions {
            promote_resource_attributes: Vec::new(),
            promote_scope_metadata: false,
            convert_delta_to_cumulative: true,
            max_delta_series: 1_000_000,
        }
    }
}
