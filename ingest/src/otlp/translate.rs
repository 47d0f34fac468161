//! OTLP metrics to Prometheus series.
//!
//! Per resource: `job` = `service.namespace/service.name` (or `service.name`), `instance` =
//! `service.instance.id`; the other resource attributes go to `target_info{job, instance, ...} 1`
//! (at the resource's newest data point time), and those listed in
//! [`OtlpOptions::promote_resource_attributes`] also onto every series. Per scope, optionally
//! `otel_scope_name`/`otel_scope_version`/`otel_scope_<attr>`. Per data point, its attributes
//! (keys sanitized; keys that collide after sanitizing get their values joined with `;`, in key
//! order, as Prometheus does).
//!
//! | OTLP | Prometheus |
//! |---|---|
//! | Gauge | gauge (`_ratio` for unit `1`) |
//! | Sum, monotonic | counter `_total` |
//! | Sum, not monotonic | gauge |
//! | Histogram | `_bucket{le}`, `_count`, `_sum` |
//! | ExponentialHistogram | the same, buckets from the scale (see [`crate::push::histogram`]) |
//! | Summary | `{quantile}`, `_count`, `_sum` |
//!
//! Exemplars of sums go to the sum's series, those of histograms (explicit and exponential) to
//! the `_bucket` series whose `le` is the smallest bound at or above the exemplar's value, as
//! Prometheus' OTLP receiver places them; their labels are `trace_id` and `span_id` (hex) and
//! the exemplar's filtered attributes.
//!
//! Delta sums and histograms are accumulated into cumulative ones ([`super::delta`]) or, when
//! that is switched off, refused with a partial-success message. A data point flagged
//! `NO_RECORDED_VALUE` becomes a staleness marker on every series it would have written.

use super::delta::{DeltaTxn, ExpHist, Total};
use super::names::{label_name, metric_name, unit_name, NameKind};
use crate::error::PushError;
use crate::push::histogram::{format_le, with_name, NativeHistogram, CUSTOM_BUCKETS_SCHEMA};
use crate::push::labels::LabelsCollector;
use crate::push::writer::SeriesWriter;
use crate::push::{OtlpOptions, PushLimits};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    Exemplar as OtlpExemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use storage::{
    Exemplar, FloatHistogram, Labels, LabelsBuilder, MetricMetadata, MetricType, SeriesRef, METRIC_NAME,
    STALE_NAN,
};

const NO_RECORDED_VALUE: u32 = 1;
const DELTA: i32 = 1;
const CUMULATIVE: i32 = 2;
/// Highest exponential scale Prometheus' schema supports; finer ones are merged down.
const MAX_SCALE: i32 = 8;
/// Lowest supported scale.
const MIN_SCALE: i32 = -4;

/// What an export wrote and refused, in OTLP's terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportOutcome {
    /// Data points written.
    pub accepted_points: usize,
    /// Data points refused.
    pub rejected_points: usize,
    /// The first problem, naming its metric, when something was refused.
    pub message: Option<String>,
}

/// Number of data points in a request (for the per-request limit).
pub fn count_points(req: &ExportMetricsServiceRequest) -> usize {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        })
        .sum()
}

/// An attribute value as a label value (strings as is, others in their usual text form).
pub fn any_value_string(v: &AnyValue) -> String {
    match &v.value {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => format!("{d}"),
        Some(any_value::Value::BytesValue(b)) => base64(b),
        Some(any_value::Value::StringValueStrindex(i)) => i.to_string(),
        Some(other) => json_value(&AnyValue {
            value: Some(other.clone()),
        })
        .to_string(),
    }
}

fn json_value(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &v.value {
        None => J::Null,
        Some(any_value::Value::StringValue(s)) => J::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => J::Bool(*b),
        Some(any_value::Value::IntValue(i)) => J::from(*i),
        Some(any_value::Value::DoubleValue(d)) => J::from(*d),
        Some(any_value::Value::BytesValue(b)) => J::String(base64(b)),
        Some(any_value::Value::StringValueStrindex(i)) => J::from(*i),
        Some(any_value::Value::ArrayValue(a)) => J::Array(a.values.iter().map(json_value).collect()),
        Some(any_value::Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|k| (k.key.clone(), k.value.as_ref().map_or(J::Null, json_value)))
                .collect(),
        ),
    }
}

fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Attributes as sanitized label pairs; keys colliding after sanitizing get their values
/// joined with `;` in original-key order.
fn attribute_labels(attrs: &[KeyValue], out: &mut BTreeMap<String, String>) {
    let mut groups: BTreeMap<String, Vec<(&str, String)>> = BTreeMap::new();
    for kv in attrs {
        let name = label_name(&kv.key);
        if name.is_empty() {
            continue;
        }
        let v = kv.value.as_ref().map(any_value_string).unwrap_or_default();
        groups.entry(name).or_default().push((&kv.key, v));
    }
    for (name, mut vals) in groups {
        vals.sort_by(|a, b| a.0.cmp(b.0));
        let joined = vals.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(";");
        out.insert(name, joined);
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// `job` and `instance` from the resource's service attributes.
pub fn job_instance(resource: &[KeyValue]) -> (Option<String>, Option<String>) {
    let name = attr(resource, "service.name")
        .map(any_value_string)
        .filter(|s| !s.is_empty());
    let ns = attr(resource, "service.namespace")
        .map(any_value_string)
        .filter(|s| !s.is_empty());
    let job = match (ns, name) {
        (Some(ns), Some(n)) => Some(format!("{ns}/{n}")),
        (None, Some(n)) => Some(n),
        _ => None,
    };
    let instance = attr(resource, "service.instance.id")
        .map(any_value_string)
        .filter(|s| !s.is_empty());
    (job, instance)
}

fn is_identifying(key: &str) -> bool {
    matches!(key, "service.name" | "service.namespace" | "service.instance.id")
}

/// An OTLP exemplar as a storage exemplar; `None` without a value or timestamp.
fn exemplar_of(e: &OtlpExemplar) -> Option<Exemplar> {
    let value = match e.value {
        Some(exemplar::Value::AsDouble(d)) => d,
        Some(exemplar::Value::AsInt(i)) => i as f64,
        None => return None,
    };
    if e.time_unix_nano == 0 {
        return None;
    }
    let mut b = LabelsBuilder::new();
    for kv in &e.filtered_attributes {
        let name = label_name(&kv.key);
        if let (false, Some(v)) = (name.is_empty(), &kv.value) {
            b.set(&name, &any_value_string(v));
        }
    }
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    if !e.trace_id.is_empty() {
        b.set("trace_id", &hex(&e.trace_id));
    }
    if !e.span_id.is_empty() {
        b.set("span_id", &hex(&e.span_id));
    }
    Some(Exemplar {
        labels: b.build(),
        value,
        t: ns_to_ms(e.time_unix_nano),
    })
}

/// A data point's exemplars, oldest first.
fn exemplars_of(es: &[OtlpExemplar]) -> Vec<Exemplar> {
    let mut v: Vec<Exemplar> = es.iter().filter_map(exemplar_of).collect();
    v.sort_by_key(|e| e.t);
    v
}

fn ns_to_ms(ns: u64) -> i64 {
    (ns / 1_000_000) as i64
}

/// Translates and writes one export request. `Err` only for storage failures.
pub fn write_request(
    w: &mut SeriesWriter<'_>,
    req: &ExportMetricsServiceRequest,
    opts: &OtlpOptions,
    limits: &PushLimits,
    delta: &mut DeltaTxn<'_>,
) -> Result<ExportOutcome, PushError> {
    let mut t = Translator {
        w,
        opts,
        limits,
        delta,
        out: ExportOutcome::default(),
        collector: LabelsCollector::default(),
    };
    for rm in &req.resource_metrics {
        let resource: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
        let (job, instance) = job_instance(resource);
        let mut base = BTreeMap::new();
        let promoted: Vec<KeyValue> = resource
            .iter()
            .filter(|kv| opts.promote_resource_attributes.iter().any(|p| p == &kv.key))
            .cloned()
            .collect();
        attribute_labels(&promoted, &mut base);
        let mut newest_ns = 0u64;
        for sm in &rm.scope_metrics {
            let mut scope_labels = base.clone();
            if opts.promote_scope_metadata {
                if let Some(s) = &sm.scope {
                    add_scope_labels(s, &sm.schema_url, &mut scope_labels);
                }
            }
            if let Some(j) = &job {
                scope_labels.insert("job".into(), j.clone());
            }
            if let Some(i) = &instance {
                scope_labels.insert("instance".into(), i.clone());
            }
            for m in &sm.metrics {
                newest_ns = newest_ns.max(t.metric(m, &scope_labels)?);
            }
        }
        // target_info from the non-identifying resource attributes.
        let info: Vec<KeyValue> = resource
            .iter()
            .filter(|kv| !is_identifying(&kv.key))
            .cloned()
            .collect();
        if !info.is_empty() && newest_ns > 0 {
            let mut l = BTreeMap::new();
            attribute_labels(&info, &mut l);
            if let Some(j) = &job {
                l.insert("job".into(), j.clone());
            }
            if let Some(i) = &instance {
                l.insert("instance".into(), i.clone());
            }
            if let Some(labels) = t.labels(&l, "target_info") {
                t.w.append(&mut SeriesRef(0), &labels, ns_to_ms(newest_ns), 1.0)?;
            }
        }
    }
    Ok(t.out)
}

fn add_scope_labels(s: &InstrumentationScope, schema_url: &str, out: &mut BTreeMap<String, String>) {
    let mut attrs = BTreeMap::new();
    attribute_labels(&s.attributes, &mut attrs);
    for (k, v) in attrs {
        out.insert(format!("otel_scope_{k}"), v);
    }
    out.insert("otel_scope_name".into(), s.name.clone());
    out.insert("otel_scope_version".into(), s.version.clone());
    out.insert("otel_scope_schema_url".into(), schema_url.to_string());
}

struct Translator<'w, 'a, 'd> {
    w: &'w mut SeriesWriter<'a>,
    opts: &'w OtlpOptions,
    limits: &'w PushLimits,
    delta: &'w mut DeltaTxn<'d>,
    out: ExportOutcome,
    collector: LabelsCollector,
}

impl Translator<'_, '_, '_> {
    fn reject_point(&mut self, msg: impl FnOnce() -> String) {
        crate::push::rejections::samples(1);
        self.out.rejected_points += 1;
        if self.out.message.is_none() {
            self.out.message = Some(msg());
        }
    }

    /// Builds and validates the labels of one series; a problem refuses the point.
    fn labels(&mut self, pairs: &BTreeMap<String, String>, name: &str) -> Option<Labels> {
        self.collector.clear();
        for (k, v) in pairs {
            if k != METRIC_NAME {
                self.collector.push(Arc::from(k.as_str()), Arc::from(v.as_str()));
            }
        }
        self.collector.push(Arc::from(METRIC_NAME), Arc::from(name));
        match self.collector.finish(self.limits) {
            Ok(l) => Some(l),
            Err(e) => {
                self.reject_point(|| e);
                None
            }
        }
    }

    /// Runs one point's writes and counts it accepted or rejected by what storage said.
    fn point(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Option<bool>, PushError>,
    ) -> Result<(), PushError> {
        let before = self.w.rejected();
        match f(self)? {
            None => {} // refused before writing (already counted)
            Some(_) if self.w.rejected() > before => {
                self.out.rejected_points += 1;
                if self.out.message.is_none() {
                    self.out.message = self.w.first_error().map(str::to_string);
                }
            }
            Some(_) => self.out.accepted_points += 1,
        }
        Ok(())
    }

    /// Writes one metric; returns the newest data point time (ns) seen.
    fn metric(&mut self, m: &Metric, scope: &BTreeMap<String, String>) -> Result<u64, PushError> {
        let Some(data) = &m.data else {
            return Ok(0);
        };
        let (kind, mtype) = match data {
            Data::Gauge(_) => (NameKind::Gauge, MetricType::Gauge),
            Data::Sum(s) if s.is_monotonic => (NameKind::Counter, MetricType::Counter),
            Data::Sum(_) => (NameKind::Other, MetricType::Gauge),
            Data::Histogram(_) | Data::ExponentialHistogram(_) => (NameKind::Other, MetricType::Histogram),
            Data::Summary(_) => (NameKind::Other, MetricType::Summary),
        };
        let npoints = count_points_of(data);
        let Some(name) = metric_name(&m.name, &m.unit, kind) else {
            for _ in 0..npoints {
                self.reject_point(|| format!("metric name {:?} has no valid characters", m.name));
            }
            return Ok(0);
        };
        self.w.metadata(
            &name,
            MetricMetadata {
                metric_type: mtype,
                help: m.description.clone(),
                unit: unit_name(&m.unit),
            },
        )?;
        let mut newest = 0u64;
        match data {
            Data::Gauge(g) => {
                for p in &g.data_points {
                    newest = newest.max(p.time_unix_nano);
                    self.number_point(&name, p, scope, None)?;
                }
            }
            Data::Sum(s) => {
                let temporality = s.aggregation_temporality;
                for p in &s.data_points {
                    newest = newest.max(p.time_unix_nano);
                    if temporality != DELTA && temporality != CUMULATIVE {
                        self.reject_point(|| format!("metric {name}: sum without aggregation temporality"));
                        continue;
                    }
                    self.number_point(&name, p, scope, Some(temporality == DELTA))?;
                }
            }
            Data::Histogram(h) => {
                for p in &h.data_points {
                    newest = newest.max(p.time_unix_nano);
                    self.histogram_point(&name, p, scope, h.aggregation_temporality)?;
                }
            }
            Data::ExponentialHistogram(h) => {
                for p in &h.data_points {
                    newest = newest.max(p.time_unix_nano);
                    self.exponential_point(&name, p, scope, h.aggregation_temporality)?;
                }
            }
            Data::Summary(s) => {
                for p in &s.data_points {
                    newest = newest.max(p.time_unix_nano);
                    self.summary_point(&name, p, scope)?;
                }
            }
        }
        Ok(newest)
    }

    fn point_labels(
        &mut self,
        name: &str,
        attrs: &[KeyValue],
        scope: &BTreeMap<String, String>,
        time_ns: u64,
    ) -> Option<Labels> {
        if time_ns == 0 {
            self.reject_point(|| format!("metric {name}: data point without a timestamp"));
            return None;
        }
        let mut pairs = BTreeMap::new();
        attribute_labels(attrs, &mut pairs);
        // Resource-derived labels (job, instance, promoted, scope) win over point attributes.
        for (k, v) in scope {
            pairs.insert(k.clone(), v.clone());
        }
        self.labels(&pairs, name)
    }

    fn delta_rejected(&mut self, name: &str) {
        self.reject_point(|| {
            format!(
                "metric {name}: delta temporality is not accepted (delta-to-cumulative conversion is off)"
            )
        });
    }

    /// Folds the delta point `d` of series `labels` (at `t_ns`) into its running total and
    /// gives the total, or `None` when the point was refused: delta-to-cumulative conversion
    /// is off, or the total could not be kept.
    fn accumulate(&mut self, name: &str, labels: &Labels, t_ns: u64, d: Total) -> Option<Total> {
        if !self.opts.convert_delta_to_cumulative {
            self.delta_rejected(name);
            return None;
        }
        let w = &*self.w;
        let stored = |shape: &Total| super::resume::stored_total(w, labels, name, shape);
        match self.delta.add(labels, t_ns, d, stored) {
            Ok(total) => Some(total),
            Err(e) => {
                self.reject_point(|| format!("series {labels}: {e}"));
                None
            }
        }
    }

    /// Refuses a histogram point whose running total is of another kind.
    fn total_changed_kind(&mut self, labels: &Labels) {
        self.reject_point(|| format!("series {labels}: delta total changed kind"));
    }

    /// The labels of a histogram point of metric `name` ([`Self::point_labels`]), or `None`
    /// when it is refused: for its labels or time, or for having no aggregation temporality.
    fn histogram_labels(
        &mut self,
        name: &str,
        attrs: &[KeyValue],
        scope: &BTreeMap<String, String>,
        time_ns: u64,
        temporality: i32,
    ) -> Option<Labels> {
        let labels = self.point_labels(name, attrs, scope, time_ns)?;
        if temporality != DELTA && temporality != CUMULATIVE {
            self.reject_point(|| format!("metric {name}: histogram without aggregation temporality"));
            return None;
        }
        Some(labels)
    }

    fn number_point(
        &mut self,
        name: &str,
        p: &NumberDataPoint,
        scope: &BTreeMap<String, String>,
        delta: Option<bool>,
    ) -> Result<(), PushError> {
        let Some(labels) = self.point_labels(name, &p.attributes, scope, p.time_unix_nano) else {
            return Ok(());
        };
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        let v = match (&p.value, stale) {
            (_, true) => STALE_NAN,
            (Some(number_data_point::Value::AsDouble(d)), _) => *d,
            (Some(number_data_point::Value::AsInt(i)), _) => *i as f64,
            (None, false) => {
                self.reject_point(|| format!("series {labels}: data point without a value"));
                return Ok(());
            }
        };
        let v = if delta == Some(true) && !stale {
            match self.accumulate(name, &labels, p.time_unix_nano, Total::Sum(v)) {
                Some(Total::Sum(total)) => total,
                Some(_) => v,
                None => return Ok(()),
            }
        } else {
            v
        };
        let t = ns_to_ms(p.time_unix_nano);
        self.point(|s| {
            let ok = s.w.append(&mut SeriesRef(0), &labels, t, v)?;
            if ok {
                s.w.count_sample();
            }
            Ok(Some(ok))
        })?;
        // Sums only: Prometheus keeps no exemplars for gauges.
        if delta.is_some() {
            for e in exemplars_of(&p.exemplars) {
                self.w.append_exemplar(SeriesRef::NONE, &labels, e)?;
            }
        }
        Ok(())
    }

    /// A histogram point's exemplars onto its `_bucket` series: each to the smallest bucket
    /// bound at or above its value.
    /// Appends the histogram point `nh` of series `labels` at `time_ns`, then its exemplars.
    fn histogram(
        &mut self,
        labels: &Labels,
        name: &str,
        time_ns: u64,
        nh: &NativeHistogram,
        exemplars: &[OtlpExemplar],
    ) -> Result<(), PushError> {
        let t = ns_to_ms(time_ns);
        self.point(|s| Ok(Some(s.w.append_classic_histogram(labels, name, t, nh)?)))?;
        self.bucket_exemplars(labels, name, nh, exemplars)
    }

    fn bucket_exemplars(
        &mut self,
        labels: &Labels,
        name: &str,
        nh: &NativeHistogram,
        exemplars: &[OtlpExemplar],
    ) -> Result<(), PushError> {
        if exemplars.is_empty() {
            return Ok(());
        }
        let Ok(buckets) = nh.classic_buckets() else {
            return Ok(());
        };
        for e in exemplars_of(exemplars) {
            let ub = buckets
                .iter()
                .map(|&(ub, _)| ub)
                .find(|&ub| e.value <= ub)
                .unwrap_or(f64::INFINITY);
            let l = with_name(labels, name, "_bucket", Some(("le", &format_le(ub))));
            self.w.append_exemplar(SeriesRef::NONE, &l, e)?;
        }
        Ok(())
    }

    fn histogram_point(
        &mut self,
        name: &str,
        p: &HistogramDataPoint,
        scope: &BTreeMap<String, String>,
        temporality: i32,
    ) -> Result<(), PushError> {
        let Some(labels) = self.histogram_labels(name, &p.attributes, scope, p.time_unix_nano, temporality)
        else {
            return Ok(());
        };
        let nb = p.explicit_bounds.len();
        if !p.bucket_counts.is_empty() && p.bucket_counts.len() != nb + 1 {
            self.reject_point(|| {
                format!(
                    "series {labels}: {} bucket counts for {nb} explicit bounds (want {})",
                    p.bucket_counts.len(),
                    nb + 1
                )
            });
            return Ok(());
        }
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        let mut bounds = p.explicit_bounds.clone();
        let mut counts: Vec<f64> = p.bucket_counts.iter().map(|&c| c as f64).collect();
        let mut count = p.count as f64;
        let mut sum = p.sum;
        if counts.is_empty() {
            bounds.clear();
        }
        if temporality == DELTA && !stale {
            let d = Total::Histogram {
                bounds,
                counts,
                count,
                sum,
            };
            match self.accumulate(name, &labels, p.time_unix_nano, d) {
                Some(Total::Histogram {
                    bounds: b,
                    counts: c,
                    count: n,
                    sum: s,
                }) => {
                    (bounds, counts, count, sum) = (b, c, n, s);
                }
                Some(_) => {
                    self.total_changed_kind(&labels);
                    return Ok(());
                }
                None => return Ok(()),
            }
        }
        let nh = NativeHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum: if stale { Some(STALE_NAN) } else { sum },
            positive: counts
                .into_iter()
                .enumerate()
                .map(|(i, c)| (i as i32, c))
                .collect(),
            custom_values: bounds,
            ..Default::default()
        };
        self.histogram(&labels, name, p.time_unix_nano, &nh, &p.exemplars)
    }

    fn exponential_point(
        &mut self,
        name: &str,
        p: &ExponentialHistogramDataPoint,
        scope: &BTreeMap<String, String>,
        temporality: i32,
    ) -> Result<(), PushError> {
        let Some(labels) = self.histogram_labels(name, &p.attributes, scope, p.time_unix_nano, temporality)
        else {
            return Ok(());
        };
        if p.scale < MIN_SCALE {
            self.reject_point(|| {
                format!(
                    "series {labels}: exponential histogram scale {} is below the supported minimum {MIN_SCALE}",
                    p.scale
                )
            });
            return Ok(());
        }
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        let buckets = |b: &Option<Buckets>| {
            let mut m = BTreeMap::new();
            if let Some(b) = b {
                for (i, &c) in b.bucket_counts.iter().enumerate() {
                    if c > 0 {
                        let idx = i64::from(b.offset) + i as i64;
                        if let Ok(idx) = i32::try_from(idx) {
                            *m.entry(idx).or_insert(0.0) += c as f64;
                        }
                    }
                }
            }
            m
        };
        let mut h = ExpHist {
            scale: p.scale,
            zero_count: p.zero_count as f64,
            zero_threshold: p.zero_threshold,
            positive: buckets(&p.positive),
            negative: buckets(&p.negative),
            count: p.count as f64,
            sum: p.sum,
        };
        h.downscale(MAX_SCALE);
        if temporality == DELTA && !stale {
            match self.accumulate(name, &labels, p.time_unix_nano, Total::Exponential(h)) {
                Some(Total::Exponential(total)) => h = total,
                Some(_) => {
                    self.total_changed_kind(&labels);
                    return Ok(());
                }
                None => return Ok(()),
            }
        }
        // OTLP bucket i covers (base^i, base^(i+1)]; Prometheus' bucket i covers (base^(i-1), base^i].
        let shift = |m: &BTreeMap<i32, f64>| -> Vec<(i32, f64)> {
            m.iter().map(|(&i, &c)| (i.saturating_add(1), c)).collect()
        };
        let mut fh = FloatHistogram {
            schema: h.scale,
            zero_threshold: h.zero_threshold,
            zero_count: h.zero_count,
            count: h.count,
            sum: if stale { STALE_NAN } else { h.sum.unwrap_or(0.0) },
            ..Default::default()
        };
        fh.set_buckets(&shift(&h.positive), &shift(&h.negative));
        // Stored as a native histogram under the metric's own name, as Prometheus 3 does; its
        // exemplars go to the same series.
        let series = with_name(&labels, name, "", None);
        let t = ns_to_ms(p.time_unix_nano);
        self.point(|s| {
            let mut r = SeriesRef::NONE;
            Ok(Some(s.w.append_native_histogram(&mut r, &series, t, &fh)?))
        })?;
        for e in exemplars_of(&p.exemplars) {
            self.w.append_exemplar(SeriesRef::NONE, &series, e)?;
        }
        Ok(())
    }

    fn summary_point(
        &mut self,
        name: &str,
        p: &SummaryDataPoint,
        scope: &BTreeMap<String, String>,
    ) -> Result<(), PushError> {
        let Some(labels) = self.point_labels(name, &p.attributes, scope, p.time_unix_nano) else {
            return Ok(());
        };
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        let pick = |v: f64| if stale { STALE_NAN } else { v };
        let t = ns_to_ms(p.time_unix_nano);
        self.point(|s| {
            let mut ok = true;
            for q in &p.quantile_values {
                let l = with_name(&labels, name, "", Some(("quantile", &format_le(q.quantile))));
                ok &= s.w.append(&mut SeriesRef(0), &l, t, pick(q.value))?;
            }
            let l = with_name(&labels, name, "_sum", None);
            ok &= s.w.append(&mut SeriesRef(0), &l, t, pick(p.sum))?;
            let l = with_name(&labels, name, "_count", None);
            ok &= s.w.append(&mut SeriesRef(0), &l, t, pick(p.count as f64))?;
            if ok {
                s.w.count_sample();
            }
            Ok(Some(ok))
        })
    }
}

fn count_points_of(d: &Data) -> usize {
    match d {
        Data::Gauge(g) => g.data_points.len(),
        Data::Sum(s) => s.data_points.len(),
        Data::Histogram(h) => h.data_points.len(),
        Data::ExponentialHistogram(h) => h.data_points.len(),
        Data::Summary(s) => s.data_points.len(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_pdata() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn colliding_keys_are_joined() {
        let kv = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..Default::default()
        };
        let mut out = BTreeMap::new();
        attribute_labels(&[kv("a_b", "2"), kv("a.b", "1"), kv("c", "3")], &mut out);
        assert_eq!(out["a_b"], "1;2");
        assert_eq!(out["c"], "3");
    }
}
