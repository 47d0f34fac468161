//! Writing decoded remote-write requests: per-series validation, samples, native histograms
//! (as classic series), exemplars and metadata.

use super::proto::{self, histogram, Histogram};
use super::wire::{decode_exemplar, walk_v1, Item, SeriesView};
use crate::error::PushError;
use crate::push::histogram::{expand_buckets, NativeHistogram};
use crate::push::labels::{Interner, LabelsCollector};
use crate::push::series_cache::SeriesCache;
use crate::push::writer::SeriesWriter;
use crate::push::PushLimits;
use foldhash::HashSet;
use std::sync::Arc;
use storage::{Exemplar, LabelsBuilder, MetricMetadata, MetricType, SeriesRef};

/// The metric type numbers shared by 1.0's `MetricMetadata` and 2.0's `Metadata`.
fn metric_type(t: i32) -> MetricType {
    match t {
        1 => MetricType::Counter,
        2 => MetricType::Gauge,
        3 => MetricType::Histogram,
        4 => MetricType::Gaugehistogram,
        5 => MetricType::Summary,
        6 => MetricType::Info,
        7 => MetricType::Stateset,
        _ => MetricType::Unknown,
    }
}

fn utf8<'a>(b: &'a [u8], what: &str) -> Result<&'a str, String> {
    std::str::from_utf8(b).map_err(|_| format!("{what} is not valid UTF-8: {:?}", String::from_utf8_lossy(b)))
}

/// A remote-write histogram as absolute bucket counts.
pub fn histogram_to_native(h: &Histogram) -> Result<NativeHistogram, String> {
    let float = matches!(h.count, Some(histogram::Count::CountFloat(_)));
    let count = match h.count {
        Some(histogram::Count::CountInt(c)) => c as f64,
        Some(histogram::Count::CountFloat(c)) => c,
        None => 0.0,
    };
    let zero_count = match h.zero_count {
        Some(histogram::ZeroCount::ZeroCountInt(c)) => c as f64,
        Some(histogram::ZeroCount::ZeroCountFloat(c)) => c,
        None => 0.0,
    };
    let spans = |s: &[proto::BucketSpan]| s.iter().map(|s| (s.offset, s.length)).collect::<Vec<_>>();
    let (pd, pc, nd, nc): (&[i64], &[f64], &[i64], &[f64]) = if float {
        (&[], &h.positive_counts, &[], &h.negative_counts)
    } else {
        (&h.positive_deltas, &[], &h.negative_deltas, &[])
    };
    Ok(NativeHistogram {
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count,
        count,
        sum: Some(h.sum),
        positive: expand_buckets(&spans(&h.positive_spans), pd, pc)?,
        negative: expand_buckets(&spans(&h.negative_spans), nd, nc)?,
        custom_values: h.custom_values.clone(),
    })
}

/// Appends one series' float samples and histograms; the labels are already valid.
fn write_series(
    w: &mut SeriesWriter<'_>,
    labels: &storage::Labels,
    r: &mut SeriesRef,
    samples: &[proto::Sample],
    histograms: &[Histogram],
) -> Result<(), PushError> {
    for s in samples {
        if w.append(r, labels, s.timestamp, s.value)? {
            w.count_sample();
        }
    }
    if !histograms.is_empty() {
        let base = labels.metric_name().unwrap_or_default().to_string();
        for h in histograms {
            match histogram_to_native(h) {
                Ok(nh) => {
                    w.append_histogram(labels, &base, h.timestamp, &nh)?;
                }
                Err(e) => w.reject(1, || format!("histogram of series {labels}: {e}")),
            }
        }
    }
    Ok(())
}

/// An exemplar's label set from `(name, value)` byte pairs; `None` (the exemplar is dropped)
/// when a name or value is not UTF-8 or a name is empty.
fn exemplar_labels<'b>(pairs: impl IntoIterator<Item = (&'b [u8], &'b [u8])>) -> Option<storage::Labels> {
    let mut b = LabelsBuilder::new();
    for (n, v) in pairs {
        let (n, v) = (std::str::from_utf8(n).ok()?, std::str::from_utf8(v).ok()?);
        if n.is_empty() {
            return None;
        }
        b.set(n, v);
    }
    Some(b.build())
}

/// Adds one exemplar; a refused one is dropped (see [`SeriesWriter::append_exemplar`]).
fn write_exemplar(
    w: &mut SeriesWriter<'_>,
    labels: &storage::Labels,
    r: SeriesRef,
    ex_labels: Option<storage::Labels>,
    value: f64,
    t: i64,
) -> Result<(), PushError> {
    if let Some(el) = ex_labels {
        w.append_exemplar(r, labels, Exemplar { labels: el, value, t })?;
    }
    Ok(())
}

/// The exemplars of a 1.0 series.
fn write_v1_exemplars(
    w: &mut SeriesWriter<'_>,
    labels: &storage::Labels,
    r: SeriesRef,
    raw: &[&[u8]],
) -> Result<(), PushError> {
    for b in raw {
        let e = decode_exemplar(b)
            .map_err(|m| PushError::Malformed(format!("decoding prometheus.WriteRequest: {m}")))?;
        let el = exemplar_labels(e.labels.iter().map(|l| (&l.name[..], &l.value[..])));
        write_exemplar(w, labels, r, el, e.value, e.timestamp)?;
    }
    Ok(())
}

/// Writes a decompressed 1.0 body, decoding it as it goes ([`super::wire::walk_v1`]).
/// `Err` for a malformed body, a request over the count limits, or a storage failure; the
/// caller then rolls the batch back, so nothing of the request is stored.
///
/// `cache` remembers validated label sets across requests (see [`SeriesCache`]).
pub fn write_v1(
    w: &mut SeriesWriter<'_>,
    body: &[u8],
    limits: &PushLimits,
    cache: &SeriesCache,
) -> Result<(), PushError> {
    let mut interner = Interner::default();
    let mut c = LabelsCollector::default();
    let (mut nseries, mut nsamples) = (0usize, 0usize);
    let res = walk_v1(body, |item| {
        let ts: &SeriesView<'_> = match item {
            Item::Series(ts) => ts,
            Item::Metadata(m) => {
                if m.metric_family_name.is_empty() {
                    return Ok(());
                }
                return w.metadata(
                    &m.metric_family_name,
                    MetricMetadata {
                        metric_type: metric_type(m.r#type),
                        help: m.help,
                        unit: m.unit,
                    },
                );
            }
        };
        {
            nseries += 1;
            nsamples += ts.samples.len() + ts.histograms.len();
            if nseries > limits.max_series_per_request {
                return Err(PushError::TooMany {
                    what: "series",
                    count: nseries,
                    limit: limits.max_series_per_request,
                });
            }
            if nsamples > limits.max_samples_per_request {
                return Err(PushError::TooMany {
                    what: "samples",
                    count: nsamples,
                    limit: limits.max_samples_per_request,
                });
            }
            let h = cache.hash(&ts.labels);
            if let Some((labels, mut r)) = cache.get(h, &ts.labels) {
                let r0 = r;
                write_series(w, &labels, &mut r, &ts.samples, &ts.histograms)?;
                write_v1_exemplars(w, &labels, r, &ts.exemplars)?;
                if r != r0 {
                    let canonical = w.series_labels(r).unwrap_or_else(|| labels.clone());
                    cache.update(h, &labels, canonical, r);
                }
                return Ok(());
            }
            c.clear();
            let mut bad = None;
            for (n, v) in &ts.labels {
                match (utf8(n, "label name"), utf8(v, "label value")) {
                    (Ok(n), Ok(v)) => c.push_str(&mut interner, n, v),
                    (Err(e), _) | (_, Err(e)) => {
                        bad = Some(e);
                        break;
                    }
                }
            }
            let labels = match bad.map_or_else(|| c.finish(limits), Err) {
                Ok(l) => l,
                Err(e) => {
                    let what = if e.contains("series") {
                        e
                    } else {
                        format!("{e} in series {}", c.describe())
                    };
                    w.reject(ts.samples.len() + ts.histograms.len(), || what);
                    return Ok(());
                }
            };
            let mut r = SeriesRef::NONE;
            write_series(w, &labels, &mut r, &ts.samples, &ts.histograms)?;
            write_v1_exemplars(w, &labels, r, &ts.exemplars)?;
            cache.insert(h, w.series_labels(r).unwrap_or(labels), r);
            Ok(())
        }
    });
    match res {
        Ok(()) => Ok(()),
        Err(Ok(e)) => Err(e),
        Err(Err(msg)) => Err(PushError::Malformed(format!(
            "decoding prometheus.WriteRequest: {msg}"
        ))),
    }
}

/// Writes a 2.0 request. `Err` for storage failures and for a broken symbol table (nothing
/// of the request can be trusted then).
///
/// `cache` remembers validated label sets across requests (see [`SeriesCache`]).
pub fn write_v2(
    w: &mut SeriesWriter<'_>,
    req: &proto::RequestV2,
    limits: &PushLimits,
    cache: &SeriesCache,
) -> Result<(), PushError> {
    if let Some(first) = req.symbols.first() {
        if !first.is_empty() {
            return Err(PushError::Malformed(format!(
                "symbols[0] must be the empty string, got {:?}",
                String::from_utf8_lossy(first)
            )));
        }
    }
    let mut symbols: Vec<Arc<str>> = Vec::with_capacity(req.symbols.len());
    for (i, s) in req.symbols.iter().enumerate() {
        let s = utf8(s, &format!("symbols[{i}]")).map_err(PushError::Malformed)?;
        symbols.push(Arc::from(s));
    }
    let sym = |r: u32| symbols.get(r as usize);
    let mut c = LabelsCollector::default();
    let mut families_seen: HashSet<Arc<str>> = HashSet::default();
    let mut key: Vec<(&[u8], &[u8])> = Vec::new();
    for (i, ts) in req.timeseries.iter().enumerate() {
        c.clear();
        let n = ts.samples.len() + ts.histograms.len();
        key.clear();
        let mut keyed = ts.labels_refs.len() & 1 == 0;
        for p in ts.labels_refs.chunks_exact(2) {
            match (req.symbols.get(p[0] as usize), req.symbols.get(p[1] as usize)) {
                (Some(n), Some(v)) => key.push((&n[..], &v[..])),
                _ => keyed = false,
            }
        }
        let h = cache.hash(&key);
        let cached = if keyed { cache.get(h, &key) } else { None };
        let hit = cached.is_some();
        let (labels, mut r) = match cached {
            Some(hit) => hit,
            None => match v2_labels(&mut c, ts, i, &symbols, limits) {
                Ok(l) => (l, SeriesRef::NONE),
                Err(e) => {
                    w.reject(n, || e);
                    continue;
                }
            },
        };
        let r0 = r;

        if let Some(md) = &ts.metadata {
            let name = sym(0).cloned();
            if let (Some(fam), Some(_)) = (labels.metric_name(), name) {
                if (md.r#type != 0 || md.help_ref != 0 || md.unit_ref != 0) && !families_seen.contains(fam) {
                    families_seen.insert(Arc::from(fam));
                    let help = sym(md.help_ref).map(|s| s.to_string()).unwrap_or_default();
                    let unit = sym(md.unit_ref).map(|s| s.to_string()).unwrap_or_default();
                    w.metadata(
                        fam,
                        MetricMetadata {
                            metric_type: metric_type(md.r#type),
                            help,
                            unit,
                        },
                    )?;
                }
            }
        }
        // Created timestamp: a zero sample at the start of the counter (as Prometheus'
        // created-timestamp ingestion does), only before the first sample; a refusal
        // (already known, out of order) is expected and not an error of the request.
        let first_t = ts.samples.first().map(|s| s.timestamp);
        if ts.created_timestamp != 0
            && ts.histograms.is_empty()
            && first_t.is_some_and(|t| ts.created_timestamp < t)
        {
            w.append_quiet(&labels, ts.created_timestamp, 0.0)?;
        }
        write_series(w, &labels, &mut r, &ts.samples, &ts.histograms)?;
        for e in &ts.exemplars {
            let el = if e.labels_refs.len() & 1 == 1 {
                None
            } else {
                let pairs: Option<Vec<(&[u8], &[u8])>> = e
                    .labels_refs
                    .chunks_exact(2)
                    .map(|p| {
                        let n = req.symbols.get(p[0] as usize)?;
                        let v = req.symbols.get(p[1] as usize)?;
                        Some((&n[..], &v[..]))
                    })
                    .collect();
                pairs.and_then(exemplar_labels)
            };
            write_exemplar(w, &labels, r, el, e.value, e.timestamp)?;
        }
        if keyed {
            if hit {
                if r != r0 {
                    let canonical = w.series_labels(r).unwrap_or_else(|| labels.clone());
                    cache.update(h, &labels, canonical, r);
                }
            } else {
                cache.insert(h, w.series_labels(r).unwrap_or(labels), r);
            }
        }
    }
    Ok(())
}

/// Resolves and validates the labels of a 2.0 series.
fn v2_labels(
    c: &mut LabelsCollector,
    ts: &proto::TimeSeriesV2,
    i: usize,
    symbols: &[Arc<str>],
    limits: &PushLimits,
) -> Result<storage::Labels, String> {
    c.clear();
    if ts.labels_refs.len() & 1 == 1 {
        return Err(format!(
            "timeseries[{i}] has an odd number ({}) of label refs",
            ts.labels_refs.len()
        ));
    }
    for p in ts.labels_refs.chunks_exact(2) {
        match (symbols.get(p[0] as usize), symbols.get(p[1] as usize)) {
            (Some(name), Some(value)) => c.push(name.clone(), value.clone()),
            _ => {
                return Err(format!(
                    "timeseries[{i}] {}: label ref {} is out of range of the {} symbols",
                    c.describe(),
                    p[0].max(p[1]),
                    symbols.len()
                ))
            }
        }
    }
    c.finish(limits)
}
