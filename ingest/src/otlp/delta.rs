//! Delta-to-cumulative conversion for OTLP sums and histograms.
//!
//! Prometheus stores cumulative counters; OTLP senders with DELTA temporality send only the
//! change since their previous export. Each delta point is added to a running total kept in
//! memory per series (keyed by the translated labels), and the total is stored.
//!
//! - A point not newer than the series' previous point is refused (it would count twice).
//! - The stored cumulative value is the state: the first delta of a series after a start
//!   resumes from the series' newest stored sample (read through the batch's appender, see
//!   [`storage::Appender::latest_sample`]; the `resume` module), so after a restart or a
//!   `kill -9` the total goes on from what was acknowledged. Every acknowledged delta is in
//!   that sample (it was committed with it) and a retried one is refused as not newer, so
//!   nothing is lost or counted twice. A series whose newest sample is no longer in the
//!   head (idle for longer than the head holds, at least one block range) starts again from
//!   its next delta, which PromQL's `rate`/`increase` see as a counter reset.
//! - Changes are applied only after the request's batch is committed ([`DeltaTxn::commit`]),
//!   so a retried request after a storage failure does not count twice. Requests that carry
//!   delta points are serialised from their first delta to their commit, so two concurrent
//!   requests for one series cannot both start from the same total.
//! - At most `max_series` totals are kept; new series past that are refused.

use parking_lot::{Mutex, MutexGuard};
use std::collections::BTreeMap;
use storage::Labels;

/// An exponential histogram in OTLP's index space (bucket `i` covers `(base^i, base^(i+1)]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExpHist {
    /// OTLP scale.
    pub scale: i32,
    /// Zero bucket count.
    pub zero_count: f64,
    /// Zero bucket width.
    pub zero_threshold: f64,
    /// Positive buckets by OTLP index.
    pub positive: BTreeMap<i32, f64>,
    /// Negative buckets by OTLP index (of the absolute value).
    pub negative: BTreeMap<i32, f64>,
    /// Total count.
    pub count: f64,
    /// Sum, if sent.
    pub sum: Option<f64>,
}

impl ExpHist {
    /// Lowers the resolution to `scale` (merging neighbouring buckets); no-op if already there.
    pub fn downscale(&mut self, scale: i32) {
        if scale >= self.scale {
            return;
        }
        let d = (self.scale - scale).min(31) as u32;
        let shift = |m: &BTreeMap<i32, f64>| {
            let mut out = BTreeMap::new();
            for (&i, &c) in m {
                *out.entry(i >> d).or_insert(0.0) += c;
            }
            out
        };
        self.positive = shift(&self.positive);
        self.negative = shift(&self.negative);
        self.scale = scale;
    }

    /// Adds `other` (a delta) into `self`, at the lower of the two scales.
    pub fn add(&mut self, mut other: ExpHist) {
        let scale = self.scale.min(other.scale);
        self.downscale(scale);
        other.downscale(scale);
        for (i, c) in other.positive {
            *self.positive.entry(i).or_insert(0.0) += c;
        }
        for (i, c) in other.negative {
            *self.negative.entry(i).or_insert(0.0) += c;
        }
        self.zero_count += other.zero_count;
        self.zero_threshold = self.zero_threshold.max(other.zero_threshold);
        self.count += other.count;
        self.sum = match (self.sum, other.sum) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
}

/// The running total of one series.
#[derive(Clone, Debug, PartialEq)]
pub enum Total {
    /// A sum.
    Sum(f64),
    /// An explicit-bucket histogram.
    Histogram {
        /// Bucket upper bounds.
        bounds: Vec<f64>,
        /// Per-bucket (not cumulative) counts, `bounds.len() + 1` of them.
        counts: Vec<f64>,
        /// Total count.
        count: f64,
        /// Sum, if sent.
        sum: Option<f64>,
    },
    /// An exponential histogram.
    Exponential(ExpHist),
}

#[derive(Clone, Debug)]
struct Entry {
    total: Total,
    last_t: u64,
}

/// All running totals.
#[derive(Debug)]
pub struct DeltaStore {
    map: Mutex<foldhash::HashMap<Labels, Entry>>,
    max_series: usize,
    /// Held by a transaction from its first delta to its commit.
    serial: Mutex<()>,
}

impl DeltaStore {
    /// An empty store keeping at most `max_series` totals.
    pub fn new(max_series: usize) -> Self {
        DeltaStore {
            map: Mutex::new(Default::default()),
            max_series,
            serial: Mutex::new(()),
        }
    }

    /// Number of series with a running total.
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// Whether no total is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts the changes of one request.
    pub fn txn(&self) -> DeltaTxn<'_> {
        DeltaTxn {
            store: self,
            pending: Default::default(),
            serial_guard: None,
        }
    }
}

/// The changes of one request, applied by [`DeltaTxn::commit`].
pub struct DeltaTxn<'a> {
    store: &'a DeltaStore,
    pending: foldhash::HashMap<Labels, Entry>,
    /// Taken at the first delta (see [`DeltaStore`]'s `serial`).
    serial_guard: Option<MutexGuard<'a, ()>>,
}

/// The last nanosecond of millisecond `t_ms`: a stored sample stands for every point of its
/// millisecond, so a delta in the same millisecond is not newer.
fn last_ns_of_ms(t_ms: i64) -> u64 {
    u64::try_from(t_ms)
        .unwrap_or(0)
        .saturating_mul(1_000_000)
        .saturating_add(999_999)
}

impl DeltaTxn<'_> {
    /// Adds a delta for `key` at time `t` (ns) and returns the new total.
    ///
    /// A series without a total in memory resumes from `stored(&delta)`: the total its
    /// newest stored sample holds, with that sample's time (ms), or `None` to start from
    /// this delta. Totals are combined by shape; when they cannot be (histogram bounds
    /// changed, another kind) the total restarts from the delta.
    pub fn add(
        &mut self,
        key: &Labels,
        t: u64,
        delta: Total,
        stored: impl FnOnce(&Total) -> Option<(i64, Total)>,
    ) -> Result<Total, String> {
        if self.serial_guard.is_none() {
            self.serial_guard = Some(self.store.serial.lock());
        }
        let known = match self.pending.get(key) {
            Some(e) => Some(e.clone()),
            None => self.store.map.lock().get(key).cloned(),
        };
        let new_series = known.is_none();
        let prev = known.or_else(|| {
            stored(&delta).map(|(t_ms, total)| Entry {
                total,
                last_t: last_ns_of_ms(t_ms),
            })
        });
        if new_series {
            let known = self.store.map.lock().len() + self.pending.len();
            if known >= self.store.max_series {
                return Err(format!(
                    "too many delta series to convert to cumulative (limit {})",
                    self.store.max_series
                ));
            }
        }
        let total = match prev {
            Some(e) if t <= e.last_t => {
                return Err(format!(
                    "delta point at {t} ns is not newer than the previous one at {} ns",
                    e.last_t
                ))
            }
            Some(e) => merge(e.total, delta),
            None => delta,
        };
        self.pending.insert(
            key.clone(),
            Entry {
                total: total.clone(),
                last_t: t,
            },
        );
        Ok(total)
    }

    /// Applies the changes (call after the batch committed).
    pub fn commit(self) {
        if self.pending.is_empty() {
            return;
        }
        let mut m = self.store.map.lock();
        for (k, e) in self.pending {
            m.insert(k, e);
        }
    }
}

fn merge(prev: Total, delta: Total) -> Total {
    match (prev, delta) {
        (Total::Sum(a), Total::Sum(b)) => Total::Sum(a + b),
        (
            Total::Histogram {
                bounds,
                counts,
                count,
                sum,
            },
            Total::Histogram {
                bounds: b2,
                counts: c2,
                count: n2,
                sum: s2,
            },
        ) if bounds == b2 && counts.len() == c2.len() => Total::Histogram {
            bounds,
            counts: counts.iter().zip(&c2).map(|(a, b)| a + b).collect(),
            count: count + n2,
            sum: match (sum, s2) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            },
        },
        (Total::Exponential(mut a), Total::Exponential(b)) => {
            a.add(b);
            Total::Exponential(a)
        }
        // The shape changed (other bounds, other type): start over from this delta.
        (_, delta) => delta,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Nothing stored.
    fn none(_: &Total) -> Option<(i64, Total)> {
        None
    }

    #[test]
    fn resumes_from_the_stored_total_once() {
        let s = DeltaStore::new(10);
        let k = Labels::from_pairs([("__name__", "x_total")]);
        let mut t = s.txn();
        // Stored: 40 at 5 ms. A delta inside that millisecond is not newer.
        let stored = |_: &Total| Some((5, Total::Sum(40.0)));
        assert!(t
            .add(&k, 5_500_000, Total::Sum(1.0), stored)
            .unwrap_err()
            .contains("not newer"));
        assert_eq!(
            t.add(&k, 6_000_000, Total::Sum(2.0), stored).unwrap(),
            Total::Sum(42.0)
        );
        t.commit();
        // Later deltas go on from memory; storage is not asked again.
        let mut t = s.txn();
        let asked = |_: &Total| -> Option<(i64, Total)> { panic!("asked again") };
        assert_eq!(
            t.add(&k, 7_000_000, Total::Sum(3.0), asked).unwrap(),
            Total::Sum(45.0)
        );
    }

    #[test]
    fn transactions_with_deltas_run_one_at_a_time() {
        let s = std::sync::Arc::new(DeltaStore::new(10));
        let k = Labels::from_pairs([("__name__", "x_total")]);
        let mut first = s.txn();
        first.add(&k, 1, Total::Sum(1.0), none).unwrap();
        let (s2, k2) = (s.clone(), k.clone());
        let second = std::thread::spawn(move || {
            let mut t = s2.txn();
            let total = t.add(&k2, 2, Total::Sum(2.0), none).unwrap();
            t.commit();
            total
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!second.is_finished(), "waits for the first to commit");
        first.commit();
        assert_eq!(second.join().unwrap(), Total::Sum(3.0));
    }

    #[test]
    fn sums_accumulate_after_commit_only() {
        let s = DeltaStore::new(10);
        let k = Labels::from_pairs([("__name__", "x_total")]);
        let mut t = s.txn();
        assert_eq!(t.add(&k, 10, Total::Sum(2.0), none).unwrap(), Total::Sum(2.0));
        assert_eq!(t.add(&k, 20, Total::Sum(3.0), none).unwrap(), Total::Sum(5.0));
        drop(t); // not committed: forgotten
        assert!(s.is_empty());
        let mut t = s.txn();
        t.add(&k, 10, Total::Sum(2.0), none).unwrap();
        t.commit();
        let mut t = s.txn();
        assert!(t
            .add(&k, 10, Total::Sum(2.0), none)
            .unwrap_err()
            .contains("not newer"));
        assert_eq!(t.add(&k, 30, Total::Sum(4.0), none).unwrap(), Total::Sum(6.0));
    }

    #[test]
    fn limit_on_series() {
        let s = DeltaStore::new(1);
        let mut t = s.txn();
        t.add(&Labels::from_pairs([("__name__", "a")]), 1, Total::Sum(1.0), none)
            .unwrap();
        let e = t
            .add(&Labels::from_pairs([("__name__", "b")]), 1, Total::Sum(1.0), none)
            .unwrap_err();
        assert!(e.contains("limit 1"), "{e}");
    }

    #[test]
    fn exponential_merge_at_lower_scale() {
        let mut a = ExpHist {
            scale: 1,
            positive: [(0, 1.0), (1, 1.0), (2, 1.0)].into_iter().collect(),
            count: 3.0,
            sum: Some(3.0),
            ..Default::default()
        };
        let b = ExpHist {
            scale: 0,
            positive: [(0, 2.0), (-1, 1.0)].into_iter().collect(),
            count: 3.0,
            sum: Some(1.0),
            ..Default::default()
        };
        a.add(b);
        assert_eq!(a.scale, 0);
        // scale 1 indexes 0,1 -> 0; 2 -> 1
        assert_eq!(a.positive, [(-1, 1.0), (0, 4.0), (1, 1.0)].into_iter().collect());
        assert_eq!(a.count, 6.0);
        assert_eq!(a.sum, Some(4.0));
    }
}
