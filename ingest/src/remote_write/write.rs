//! Writing decoded remote-write requests: per-series validation, samples, native histograms
//! (stored as histograms), exemplars and metadata.

use super::proto::{self, histogram, Histogram};
use super::series_cache::{CacheReader, Cached, PendingChanges, SeriesCache};
use super::wire::{decode_exemplar, walk_v1, Item, SeriesView};
use crate::error::PushError;
use crate::push::labels::{Interner, LabelsCollector};
use crate::push::writer::SeriesWriter;
use crate::push::PushLimits;
use foldhash::HashSet;
use std::collections::VecDeque;
use std::sync::Arc;
use storage::{
    BucketSpan, CounterResetHint, Exemplar, FloatHistogram, HistogramError, LabelsBuilder, MetricMetadata,
    MetricType, SeriesHandle, SeriesRef,
};

/// The metric type of a 1.0 `MetricMetadata` / 2.0 `Metadata` number (unknown if none).
fn metric_type(t: i32) -> MetricType {
    MetricType::from_number(i64::from(t)).unwrap_or(MetricType::Unknown)
}

fn utf8<'a>(b: &'a [u8], what: &str) -> Result<&'a str, String> {
    std::str::from_utf8(b).map_err(|_| format!("{what} is not valid UTF-8: {:?}", String::from_utf8_lossy(b)))
}

/// A remote-write histogram (1.0 and 2.0 share the message) as storage's float histogram:
/// integer histograms (integer `count`) have their delta-encoded buckets summed up, float ones
/// carry absolute counts. Integer histograms are validated in their integer form (where the
/// count must equal the buckets' sum); storage validates the float form.
pub fn histogram_from_wire(h: &Histogram) -> Result<FloatHistogram, HistogramError> {
    let spans = |s: &[proto::BucketSpan]| {
        s.iter()
            .map(|s| BucketSpan::new(s.offset, s.length))
            .collect::<Vec<_>>()
    };
    let hint = CounterResetHint::from_number(h.reset_hint);
    Ok(match h.count {
        Some(histogram::Count::CountFloat(count)) => FloatHistogram {
            counter_reset_hint: hint,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count: match h.zero_count {
                Some(histogram::ZeroCount::ZeroCountFloat(c)) => c,
                Some(histogram::ZeroCount::ZeroCountInt(c)) => c as f64,
                None => 0.0,
            },
            count,
            sum: h.sum,
            positive_spans: spans(&h.positive_spans),
            negative_spans: spans(&h.negative_spans),
            positive_buckets: h.positive_counts.clone(),
            negative_buckets: h.negative_counts.clone(),
            custom_values: h.custom_values.clone(),
        },
        _ => {
            let ih = storage::Histogram {
                counter_reset_hint: hint,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                zero_count: match h.zero_count {
                    Some(histogram::ZeroCount::ZeroCountInt(c)) => c,
                    Some(histogram::ZeroCount::ZeroCountFloat(c)) => c as u64,
                    None => 0,
                },
                count: match h.count {
                    Some(histogram::Count::CountInt(c)) => c,
                    _ => 0,
                },
                sum: h.sum,
                positive_spans: spans(&h.positive_spans),
                negative_spans: spans(&h.negative_spans),
                positive_deltas: h.positive_deltas.clone(),
                negative_deltas: h.negative_deltas.clone(),
                custom_values: h.custom_values.clone(),
            };
            ih.validate()?;
            ih.to_float()
        }
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
    for h in histograms {
        match histogram_from_wire(h) {
            Ok(fh) => {
                w.append_native_histogram(r, labels, h.timestamp, &fh)?;
            }
            Err(e) => w.reject_invalid_histogram(labels, &e),
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

/// How many series a 1.0 request is decoded ahead of the one being written: the cache slot
/// of a series is prefetched when it is decoded, its labels and storage series halfway.
const LOOK_AHEAD: usize = 16;

/// How many series a 1.0 request writes at most before it applies the cache changes it
/// found (new series, mostly), letting go of the cache for a moment.
const FLUSH_EVERY: usize = 256;

/// Appends `samples` to the series of `handle` until storage refuses the handle (its series
/// left the head); returns how many were taken (appended or refused as a sample), so the
/// caller writes the rest by labels.
fn append_by_handle(
    w: &mut SeriesWriter<'_>,
    handle: &SeriesHandle,
    samples: &[proto::Sample],
) -> Result<usize, PushError> {
    for (i, s) in samples.iter().enumerate() {
        match w.append_to(handle, s.timestamp, s.value)? {
            Some(true) => w.count_sample(),
            Some(false) => {}
            None => return Ok(i),
        }
    }
    Ok(samples.len())
}

/// Writes one 1.0 series whose labels are in the cache; returns whether the cache entry
/// needs to change.
fn write_cached_v1(
    w: &mut SeriesWriter<'_>,
    e: &Cached,
    h: u64,
    ts: &SeriesView<'_>,
    changes: &mut PendingChanges,
) -> Result<(), PushError> {
    let mut from = 0;
    if let Some(handle) = &e.handle {
        if ts.histograms.is_empty() && ts.exemplars.is_empty() {
            from = append_by_handle(w, handle, &ts.samples)?;
            if from == ts.samples.len() {
                return Ok(());
            }
        }
    }
    // By reference and labels (the handle's series is gone, or there is more than samples).
    let mut r = e.sref;
    write_series(w, &e.labels, &mut r, &ts.samples[from..], &ts.histograms)?;
    write_v1_exemplars(w, &e.labels, r, &ts.exemplars)?;
    let handle = w.handle(r);
    let stale_handle = match (&e.handle, &handle) {
        (Some(a), Some(b)) => a.series_ref() != b.series_ref(),
        (a, b) => a.is_some() != b.is_some(),
    };
    if r != e.sref || stale_handle {
        let canonical = w.series_labels(r).unwrap_or_else(|| e.labels.clone());
        changes.updates.push((h, e.labels.clone(), canonical, r, handle));
    }
    Ok(())
}

/// What writing the series of one 1.0 request needs.
struct V1Writer<'w, 'b, 'c> {
    w: &'w mut SeriesWriter<'b>,
    reader: CacheReader<'c>,
    limits: &'w PushLimits,
    interner: Interner,
    c: LabelsCollector,
    changes: PendingChanges,
}

impl V1Writer<'_, '_, '_> {
    /// Writes one series whose labels hash to `h`.
    fn write(&mut self, h: u64, ts: &SeriesView<'_>) -> Result<(), PushError> {
        if let Some(e) = self.reader.get(h, &ts.labels, self.limits) {
            return write_cached_v1(self.w, e, h, ts, &mut self.changes);
        }
        let c = &mut self.c;
        c.clear();
        let mut bad = None;
        for (n, v) in &ts.labels {
            match (utf8(n, "label name"), utf8(v, "label value")) {
                (Ok(n), Ok(v)) => c.push_str(&mut self.interner, n, v),
                (Err(e), _) | (_, Err(e)) => {
                    bad = Some(e);
                    break;
                }
            }
        }
        let labels = match bad.map_or_else(|| c.finish(self.limits), Err) {
            Ok(l) => l,
            Err(e) => {
                let what = if e.contains("series") {
                    e
                } else {
                    format!("{e} in series {}", c.describe())
                };
                self.w.reject(ts.samples.len() + ts.histograms.len(), || what);
                return Ok(());
            }
        };
        let w = &mut *self.w;
        let mut r = SeriesRef::NONE;
        write_series(w, &labels, &mut r, &ts.samples, &ts.histograms)?;
        write_v1_exemplars(w, &labels, r, &ts.exemplars)?;
        let handle = w.handle(r);
        self.changes
            .inserts
            .push((h, w.series_labels(r).unwrap_or(labels), r, handle));
        Ok(())
    }
}

/// Writes a decompressed 1.0 body, decoding it as it goes ([`super::wire::walk_v1`]).
/// `Err` for a malformed body, a request over the count limits, or a storage failure; the
/// caller then rolls the batch back, so nothing of the request is stored.
///
/// `cache` remembers validated label sets across requests (see [`SeriesCache`]). Series are
/// written [`LOOK_AHEAD`] behind the decoding, so that the memory the writes of the next ones
/// need is on its way while the current one is written.
pub fn write_v1(
    w: &mut SeriesWriter<'_>,
    body: &[u8],
    limits: &PushLimits,
    cache: &SeriesCache,
) -> Result<(), PushError> {
    let (res, mut changes) = write_v1_reading(w, body, limits, cache);
    changes.apply(cache);
    res
}

/// [`write_v1`], returning the cache changes it found instead of applying them.
fn write_v1_reading(
    w: &mut SeriesWriter<'_>,
    body: &[u8],
    limits: &PushLimits,
    cache: &SeriesCache,
) -> (Result<(), PushError>, PendingChanges) {
    let mut vw = V1Writer {
        w,
        reader: cache.reader(),
        limits,
        interner: Interner::default(),
        c: LabelsCollector::default(),
        changes: PendingChanges::default(),
    };
    let (mut nseries, mut nsamples) = (0usize, 0usize);
    // Decoded series not yet written, oldest first, with their hashes; `spare` keeps the
    // buffers of written ones for reuse.
    let mut window: VecDeque<(u64, SeriesView<'_>)> = VecDeque::with_capacity(LOOK_AHEAD + 1);
    let mut spare: Vec<SeriesView<'_>> = Vec::with_capacity(LOOK_AHEAD + 1);
    let walked = walk_v1(body, |item| {
        let ts = match item {
            Item::Series(ts) => ts,
            Item::Metadata(m) => {
                if m.metric_family_name.is_empty() {
                    return Ok(());
                }
                return vw.w.metadata(
                    &m.metric_family_name,
                    MetricMetadata {
                        metric_type: metric_type(m.r#type),
                        help: m.help,
                        unit: m.unit,
                    },
                );
            }
        };
        nseries += 1;
        nsamples += ts.samples.len() + ts.histograms.len();
        super::check_counts(nseries, nsamples, limits)?;
        let h = vw.reader.hash(&ts.labels);
        vw.reader.prefetch_slot(h);
        let mut kept = spare.pop().unwrap_or_default();
        std::mem::swap(&mut kept, ts);
        window.push_back((h, kept));
        if let Some((mid, _)) = window.get(LOOK_AHEAD / 2) {
            vw.reader.prefetch_entry(*mid);
        }
        if window.len() > LOOK_AHEAD {
            if let Some((h, ts)) = window.pop_front() {
                vw.write(h, &ts)?;
                spare.push(ts);
            }
            if nseries % FLUSH_EVERY == 0 && !vw.changes.is_empty() {
                vw.reader.flush(&mut vw.changes);
            }
        }
        Ok(())
    });
    let res = match walked {
        Ok(()) => {
            let mut out = Ok(());
            while let Some((h, ts)) = window.pop_front() {
                if let Some((mid, _)) = window.get(LOOK_AHEAD / 2) {
                    vw.reader.prefetch_entry(*mid);
                }
                if let Err(e) = vw.write(h, &ts) {
                    out = Err(e);
                    break;
                }
            }
            out
        }
        Err(Ok(e)) => Err(e),
        Err(Err(msg)) => Err(PushError::Malformed(format!(
            "decoding prometheus.WriteRequest: {msg}"
        ))),
    };
    (res, vw.changes)
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
    let mut key: Vec<(&[u8], &[u8])> = Vec::new();
    let reader = cache.reader();
    let mut changes = PendingChanges::default();
    let res = write_v2_series(w, req, limits, &reader, &mut changes, &symbols, &mut key);
    drop(reader);
    changes.apply(cache);
    res
}

/// The series of a 2.0 request, for [`write_v2`]; cache changes are collected in `changes`.
fn write_v2_series<'r>(
    w: &mut SeriesWriter<'_>,
    req: &'r proto::RequestV2,
    limits: &PushLimits,
    reader: &CacheReader<'_>,
    changes: &mut PendingChanges,
    symbols: &[Arc<str>],
    key: &mut Vec<(&'r [u8], &'r [u8])>,
) -> Result<(), PushError> {
    let sym = |r: u32| symbols.get(r as usize);
    let mut c = LabelsCollector::default();
    let mut families_seen: HashSet<Arc<str>> = HashSet::default();
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
        let h = reader.hash(key);
        let cached = if keyed {
            reader
                .get(h, key, limits)
                .map(|e| (e.labels.clone(), e.sref, e.handle.clone()))
        } else {
            None
        };
        let hit = cached.is_some();
        let (labels, mut r, handle) = match cached {
            Some(hit) => hit,
            None => match v2_labels(&mut c, ts, i, symbols, limits) {
                Ok(l) => (l, SeriesRef::NONE, None),
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
        // Float samples of a known series go straight to its handle (until the handle is
        // refused: its series left the head); the rest by reference and labels.
        let mut from = 0;
        if let (Some(hd), true) = (&handle, ts.histograms.is_empty()) {
            from = append_by_handle(w, hd, &ts.samples)?;
        }
        if from < ts.samples.len() || !ts.histograms.is_empty() {
            write_series(w, &labels, &mut r, &ts.samples[from..], &ts.histograms)?;
        }
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
                    changes.updates.push((h, labels, canonical, r, w.handle(r)));
                }
            } else {
                let handle = w.handle(r);
                changes
                    .inserts
                    .push((h, w.series_labels(r).unwrap_or(labels), r, handle));
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::proto::{Label, Sample, TimeSeries, WriteRequest};
    use super::*;
    use bytes::Bytes;
    use prost::Message;
    use storage::{Db, DbOptions};

    fn body(t: i64, n: usize) -> Vec<u8> {
        let label = |n: &str, v: &str| Label {
            name: Bytes::copy_from_slice(n.as_bytes()),
            value: Bytes::copy_from_slice(v.as_bytes()),
        };
        WriteRequest {
            timeseries: (0..n)
                .map(|i| TimeSeries {
                    // Not in label order, as vmagent sends them; some with an empty value
                    // (an absent label, as node_exporter's `node_disk_info{model=""}`).
                    labels: if i % 3 == 0 {
                        vec![
                            label("__name__", "m"),
                            label("model", ""),
                            label("job", "j"),
                            label("i", &i.to_string()),
                        ]
                    } else {
                        vec![
                            label("__name__", "m"),
                            label("job", "j"),
                            label("i", &i.to_string()),
                        ]
                    },
                    samples: vec![Sample {
                        value: i as f64,
                        timestamp: t,
                    }],
                    ..Default::default()
                })
                .collect(),
            metadata: vec![],
        }
        .encode_to_vec()
    }

    #[test]
    fn known_series_are_written_through_their_handles_without_cache_changes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(DbOptions::new(dir.path())).unwrap();
        let cache = SeriesCache::new(1 << 16);
        let limits = PushLimits::default();
        let n = 3 * LOOK_AHEAD + 5;
        for (t, fresh) in [(1000, true), (2000, false), (3000, false)] {
            let mut w = SeriesWriter::new(&db);
            let (res, mut changes) = write_v1_reading(&mut w, &body(t, n), &limits, &cache);
            res.unwrap();
            assert_eq!(changes.inserts.len(), if fresh { n } else { 0 }, "at {t}");
            assert!(changes.updates.is_empty(), "at {t}");
            assert!(changes.inserts.iter().all(|(_, _, _, h)| h.is_some()));
            changes.apply(&cache);
            assert_eq!(w.commit().unwrap().samples, n);
        }
        assert_eq!(cache.len(), n);
        let q = storage::Queryable::querier(&db, 0, 10_000).unwrap();
        let all = q
            .select(
                &storage::SelectHints {
                    mint: 0,
                    maxt: 10_000,
                },
                &[storage::Matcher::new(storage::MatchOp::Equal, "__name__", "m").unwrap()],
            )
            .unwrap();
        assert_eq!(all.len(), n);
        assert!(all.iter().all(|s| s.samples.len() == 3));
    }
}
