//! OTLP traces turned into span metrics, so a client that exports traces (e.g. a validator's
//! duty timings) gets rate and latency dashboards without a tracing backend.
//!
//! Per (service, span name, span kind, status) — the OpenTelemetry Collector `spanmetrics`
//! connector's dimensions and names:
//! - `traces_span_metrics_calls_total{service_name, span_name, span_kind, status_code}`;
//! - `traces_span_metrics_duration_seconds_bucket{le}` / `_count` / `_sum`, with the
//!   connector's default buckets (2 ms .. 15 s);
//!
//! plus `job`/`instance` from the resource as for metrics. Spans themselves are not stored.
//! Totals are cumulative counters kept in memory (a restart looks like a counter reset) and
//! stamped with the request's arrival time; they change only after the batch is committed.

use super::translate::{any_value_string, job_instance};
use crate::error::PushError;
use crate::push::histogram::{NativeHistogram, CUSTOM_BUCKETS_SCHEMA};
use crate::push::labels::LabelsCollector;
use crate::push::writer::SeriesWriter;
use crate::push::PushLimits;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use parking_lot::Mutex;
use std::sync::Arc;
use storage::{Appendable, Labels, MetricMetadata, MetricType, SeriesRef, METRIC_NAME};

/// Upper bounds of the duration histogram, in seconds (the spanmetrics connector's default).
pub const DURATION_BUCKETS: &[f64] = &[
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.4, 2.0, 5.0, 10.0, 15.0,
];
/// The call counter's name.
pub const CALLS: &str = "traces_span_metrics_calls_total";
/// The duration histogram's base name.
pub const DURATION: &str = "traces_span_metrics_duration_seconds";

#[derive(Clone, Debug, PartialEq)]
struct Acc {
    calls: f64,
    /// Per-bucket (not cumulative) counts, `DURATION_BUCKETS.len() + 1`.
    buckets: Vec<f64>,
    sum: f64,
}

impl Acc {
    fn new() -> Self {
        Acc {
            calls: 0.0,
            buckets: vec![0.0; DURATION_BUCKETS.len() + 1],
            sum: 0.0,
        }
    }

    fn observe(&mut self, secs: f64) {
        self.calls += 1.0;
        self.sum += secs;
        let i = DURATION_BUCKETS.partition_point(|&b| b < secs);
        self.buckets[i] += 1.0;
    }

    fn add(&mut self, o: &Acc) {
        self.calls += o.calls;
        self.sum += o.sum;
        for (a, b) in self.buckets.iter_mut().zip(&o.buckets) {
            *a += b;
        }
    }
}

/// The running totals of all span series.
#[derive(Debug)]
pub struct SpanMetrics {
    totals: Mutex<foldhash::HashMap<Labels, Acc>>,
    max_series: usize,
    /// The last timestamp written: each export gets a later one, even within a millisecond.
    last_ms: std::sync::atomic::AtomicI64,
}

/// What a trace export did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceOutcome {
    /// Spans counted.
    pub accepted_spans: usize,
    /// Spans refused.
    pub rejected_spans: usize,
    /// The first problem.
    pub message: Option<String>,
}

fn kind_name(k: i32) -> &'static str {
    match k {
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_UNSPECIFIED",
    }
}

fn status_name(c: i32) -> &'static str {
    match c {
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => "STATUS_CODE_UNSET",
    }
}

impl SpanMetrics {
    /// Empty totals, keeping at most `max_series` series.
    pub fn new(max_series: usize) -> Self {
        SpanMetrics {
            totals: Mutex::new(Default::default()),
            max_series,
            last_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }

    /// Counts the spans of `req` and writes the updated totals to `db` at `now_ms`.
    pub fn ingest(
        &self,
        db: &dyn Appendable,
        req: &ExportTraceServiceRequest,
        limits: &PushLimits,
        now_ms: i64,
    ) -> Result<TraceOutcome, PushError> {
        let mut out = TraceOutcome::default();
        let reject = |out: &mut TraceOutcome, msg: String| {
            // Counted as a refused data point of span metrics (reason noted by the label check).
            crate::push::rejections::samples(1);
            out.rejected_spans += 1;
            out.message.get_or_insert(msg);
        };
        // This request's counts per series.
        let mut deltas: Vec<(Labels, Acc)> = Vec::new();
        let mut index: foldhash::HashMap<Labels, usize> = Default::default();
        let mut c = LabelsCollector::default();
        for rs in &req.resource_spans {
            let resource: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
            let (job, instance) = job_instance(resource);
            let service = resource
                .iter()
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .map(any_value_string)
                .unwrap_or_default();
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    if span.start_time_unix_nano == 0 || span.end_time_unix_nano < span.start_time_unix_nano {
                        reject(
                            &mut out,
                            format!(
                                "span {:?}: end time {} before start time {}",
                                span.name, span.end_time_unix_nano, span.start_time_unix_nano
                            ),
                        );
                        continue;
                    }
                    c.clear();
                    let mut push = |n: &str, v: &str| c.push(Arc::from(n), Arc::from(v));
                    push(METRIC_NAME, CALLS);
                    push("service_name", &service);
                    push("span_name", &span.name);
                    push("span_kind", kind_name(span.kind));
                    push(
                        "status_code",
                        status_name(span.status.as_ref().map_or(0, |s| s.code)),
                    );
                    if let Some(j) = &job {
                        push("job", j);
                    }
                    if let Some(i) = &instance {
                        push("instance", i);
                    }
                    let labels = match c.finish(limits) {
                        Ok(l) => l,
                        Err(e) => {
                            reject(&mut out, e);
                            continue;
                        }
                    };
                    let secs = (span.end_time_unix_nano - span.start_time_unix_nano) as f64 / 1e9;
                    let i = *index.entry(labels.clone()).or_insert_with(|| {
                        deltas.push((labels, Acc::new()));
                        deltas.len() - 1
                    });
                    deltas[i].1.observe(secs);
                    out.accepted_spans += 1;
                }
            }
        }
        if deltas.is_empty() {
            return Ok(out);
        }
        use std::sync::atomic::Ordering;
        let prev = self.last_ms.fetch_max(now_ms, Ordering::AcqRel);
        let now_ms = if prev < now_ms {
            now_ms
        } else {
            // An earlier export already used this millisecond: take the next one.
            self.last_ms.fetch_add(1, Ordering::AcqRel) + 1
        };
        // New totals, written in one batch, kept only once committed.
        let mut totals: Vec<(Labels, Acc)> = Vec::with_capacity(deltas.len());
        {
            let g = self.totals.lock();
            let mut new_series = 0;
            for (l, d) in deltas {
                let mut t = match g.get(&l) {
                    Some(prev) => prev.clone(),
                    None => {
                        new_series += 1;
                        if g.len() + new_series > self.max_series {
                            out.accepted_spans -= d.calls as usize;
                            out.rejected_spans += d.calls as usize;
                            out.message.get_or_insert(format!(
                                "too many span metric series (limit {})",
                                self.max_series
                            ));
                            continue;
                        }
                        Acc::new()
                    }
                };
                t.add(&d);
                totals.push((l, t));
            }
        }
        let ((), done) = SeriesWriter::batch(db, |w| {
            w.metadata(
                CALLS,
                MetricMetadata {
                    metric_type: MetricType::Counter,
                    help: "Spans counted per service, span name, kind and status.".into(),
                    unit: String::new(),
                },
            )?;
            w.metadata(
                DURATION,
                MetricMetadata {
                    metric_type: MetricType::Histogram,
                    help: "Span durations per service, span name, kind and status.".into(),
                    unit: "seconds".into(),
                },
            )?;
            for (l, t) in &totals {
                w.append(&mut SeriesRef(0), l, now_ms, t.calls)?;
                let h = NativeHistogram {
                    schema: CUSTOM_BUCKETS_SCHEMA,
                    count: t.calls,
                    sum: Some(t.sum),
                    positive: t
                        .buckets
                        .iter()
                        .enumerate()
                        .map(|(i, &c)| (i as i32, c))
                        .collect(),
                    custom_values: DURATION_BUCKETS.to_vec(),
                    ..Default::default()
                };
                w.append_classic_histogram(l, DURATION, now_ms, &h)?;
            }
            Ok(())
        })?;
        if let Some(e) = done.error {
            out.message.get_or_insert(e);
        }
        let mut g = self.totals.lock();
        for (l, t) in totals {
            g.insert(l, t);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        let mut a = Acc::new();
        a.observe(0.002);
        a.observe(0.003);
        a.observe(20.0);
        assert_eq!(a.buckets[0], 1.0, "le is inclusive");
        assert_eq!(a.buckets[1], 1.0);
        assert_eq!(a.buckets[DURATION_BUCKETS.len()], 1.0, "+Inf");
        assert_eq!(a.calls, 3.0);
    }
}
