//! [`ExemplarStorage`]: exemplars in one fixed-size ring buffer shared by all series, as
//! Prometheus' circular exemplar storage keeps them.
//!
//! The ring holds at most `max_exemplars` entries; when it is full the oldest entry (of any
//! series) is overwritten. Each series has an index entry with the ring positions of its
//! oldest and newest exemplar, and each ring entry links to the next (newer) exemplar of its
//! series, so a query walks one series' exemplars without scanning the ring, and evicting the
//! oldest entry only moves its series' `oldest` forward.
//!
//! Rules on append, as Prometheus': the labels may have at most 128 characters; an exemplar
//! equal to its series' newest one is a no-op (senders resend them with every scrape); one not
//! newer than the series' newest is rejected as out of order. A limit of 0 disables storage.
//!
//! Durability: the appender logs a batch's exemplars to the WAL in the same write as its
//! samples (a record of their own, type 6), WAL checkpoints keep every exemplar the ring holds,
//! and the database replays both into the ring on open ([`ExemplarStorage::restore`]), so an
//! acknowledged exemplar survives a restart and `kill -9` as long as the ring would still hold it.

use crate::error::AppendError;
use crate::model::{Exemplar, ExemplarSeries, Labels, Matcher, EXEMPLAR_MAX_LABEL_CHARS};
use foldhash::HashMap;
use parking_lot::RwLock;

const NONE: u32 = u32::MAX;

struct Entry {
    exemplar: Exemplar,
    /// Key of the series in `Ring::series`.
    series: u64,
    /// Ring position of the series' next (newer) exemplar, or `NONE`.
    next: u32,
}

struct SeriesEntry {
    labels: Labels,
    oldest: u32,
    newest: u32,
}

#[derive(Default)]
struct Ring {
    entries: Vec<Option<Entry>>,
    /// Position the next exemplar is written to.
    next: usize,
    /// By series key (stable label hash; collisions resolved by `collide`).
    series: HashMap<u64, SeriesEntry>,
    /// Series whose hash collided with another's, by labels (rare).
    collide: HashMap<Labels, u64>,
    /// Next key handed to a colliding series (counts down from the top of the key space).
    next_collision_key: u64,
}

/// Figures for self-metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExemplarStats {
    /// Capacity of the ring.
    pub max_exemplars: usize,
    /// Exemplars currently held.
    pub exemplars_in_storage: usize,
    /// Series with at least one exemplar held.
    pub series_with_exemplars: usize,
    /// Exemplars stored since start.
    pub exemplars_appended: u64,
    /// Exemplars rejected as out of order since start.
    pub out_of_order: u64,
    /// Timestamp of the oldest exemplar held (0 if none).
    pub last_exemplar_ts: i64,
}

/// The exemplar store of a database. Thread-safe.
pub struct ExemplarStorage {
    max: usize,
    ring: RwLock<Ring>,
    appended: std::sync::atomic::AtomicU64,
    out_of_order: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for ExemplarStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExemplarStorage").field("max", &self.max).finish()
    }
}

/// Characters of an exemplar's label names and values together.
fn label_chars(l: &Labels) -> usize {
    l.iter()
        .map(|l| l.name.chars().count() + l.value.chars().count())
        .sum()
}

impl ExemplarStorage {
    /// A store for at most `max_exemplars` exemplars (0 = none are kept).
    pub fn new(max_exemplars: usize) -> Self {
        ExemplarStorage {
            max: max_exemplars.min(NONE as usize - 1),
            ring: RwLock::new(Ring {
                next_collision_key: u64::MAX,
                ..Ring::default()
            }),
            appended: Default::default(),
            out_of_order: Default::default(),
        }
    }

    /// The capacity.
    pub fn max_exemplars(&self) -> usize {
        self.max
    }

    /// Checks an exemplar as [`ExemplarStorage::add`] would, without storing it. `Ok(false)`:
    /// it duplicates the series' newest exemplar and would be ignored.
    pub fn validate(&self, series: &Labels, e: &Exemplar) -> Result<bool, AppendError> {
        if self.max == 0 {
            return Ok(false);
        }
        let chars = label_chars(&e.labels);
        if chars > EXEMPLAR_MAX_LABEL_CHARS {
            return Err(AppendError::ExemplarLabelsTooLong { chars });
        }
        let ring = self.ring.read();
        ring.check(series, e)
    }

    /// Stores an exemplar of `series`. `Ok(false)`: ignored as a duplicate of the newest one
    /// (or storage is disabled).
    pub fn add(&self, series: &Labels, e: Exemplar) -> Result<bool, AppendError> {
        if self.max == 0 {
            return Ok(false);
        }
        let chars = label_chars(&e.labels);
        if chars > EXEMPLAR_MAX_LABEL_CHARS {
            return Err(AppendError::ExemplarLabelsTooLong { chars });
        }
        let mut ring = self.ring.write();
        match ring.check(series, &e) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(err) => {
                self.out_of_order
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Err(err);
            }
        }
        ring.insert(self.max, series, e);
        self.appended.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }

    /// Puts back an exemplar read from the WAL or a checkpoint: stored as by
    /// [`ExemplarStorage::add`], but not counted as appended, and one that is a duplicate or
    /// older than the series' newest (a checkpoint and the segments after it overlap) is
    /// skipped silently.
    pub fn restore(&self, series: &Labels, e: Exemplar) {
        if self.max == 0 || label_chars(&e.labels) > EXEMPLAR_MAX_LABEL_CHARS {
            return;
        }
        let mut ring = self.ring.write();
        if let Ok(true) = ring.check(series, &e) {
            ring.insert(self.max, series, e);
        }
    }

    /// Every exemplar held, oldest first (the order they were stored in), with its series'
    /// labels: what a WAL checkpoint keeps, so restoring them in this order rebuilds the ring.
    pub fn contents(&self) -> Vec<(Labels, Exemplar)> {
        let ring = self.ring.read();
        let n = ring.entries.len();
        // Until the ring is full, slot 0 is the oldest; after that, the next slot to write.
        let start = if n < self.max { 0 } else { ring.next };
        (0..n)
            .filter_map(|i| ring.entries.get((start + i) % n).and_then(|e| e.as_ref()))
            .filter_map(|e| {
                let s = ring.series.get(&e.series)?;
                Some((s.labels.clone(), e.exemplar.clone()))
            })
            .collect()
    }

    /// Exemplars with `mint <= t <= maxt` of every series matched by at least one of the
    /// matcher sets (each set is a logical AND), sorted by series labels, oldest first within
    /// a series. Series without exemplars in the range are left out.
    pub fn select(&self, mint: i64, maxt: i64, matcher_sets: &[Vec<Matcher>]) -> Vec<ExemplarSeries> {
        let ring = self.ring.read();
        let mut out = Vec::new();
        for s in ring.series.values() {
            let matched = matcher_sets
                .iter()
                .any(|set| set.iter().all(|m| m.matches(s.labels.get(&m.name).unwrap_or(""))));
            if !matched {
                continue;
            }
            let mut exemplars = Vec::new();
            let mut i = s.oldest;
            while i != NONE {
                let Some(e) = ring.entries.get(i as usize).and_then(|e| e.as_ref()) else {
                    break;
                };
                if e.exemplar.t > maxt {
                    break;
                }
                if e.exemplar.t >= mint {
                    exemplars.push(e.exemplar.clone());
                }
                i = e.next;
            }
            if !exemplars.is_empty() {
                out.push(ExemplarSeries {
                    series_labels: s.labels.clone(),
                    exemplars,
                });
            }
        }
        out.sort_by(|a, b| a.series_labels.cmp(&b.series_labels));
        out
    }

    /// Current figures.
    pub fn stats(&self) -> ExemplarStats {
        let ring = self.ring.read();
        // Slots are only ever overwritten, never emptied.
        let held = ring.entries.len();
        let oldest = if ring.entries.len() < self.max {
            ring.entries.first()
        } else {
            ring.entries.get(ring.next)
        };
        ExemplarStats {
            max_exemplars: self.max,
            exemplars_in_storage: held,
            series_with_exemplars: ring.series.len(),
            exemplars_appended: self.appended.load(std::sync::atomic::Ordering::Relaxed),
            out_of_order: self.out_of_order.load(std::sync::atomic::Ordering::Relaxed),
            last_exemplar_ts: oldest.and_then(|e| e.as_ref()).map_or(0, |e| e.exemplar.t),
        }
    }
}

impl Ring {
    /// The key of `series` if it has an index entry.
    fn key_of(&self, series: &Labels) -> Option<u64> {
        if let Some(&k) = self.collide.get(series) {
            return Some(k);
        }
        let h = series.stable_hash();
        match self.series.get(&h) {
            Some(s) if s.labels == *series => Some(h),
            _ => None,
        }
    }

    /// `Ok(true)` if `e` may be stored, `Ok(false)` if it repeats the newest exemplar.
    fn check(&self, series: &Labels, e: &Exemplar) -> Result<bool, AppendError> {
        let Some(k) = self.key_of(series) else {
            return Ok(true);
        };
        let Some(newest) = self
            .series
            .get(&k)
            .and_then(|s| self.entries.get(s.newest as usize))
            .and_then(|e| e.as_ref())
        else {
            return Ok(true);
        };
        if newest.exemplar.same_as(e) {
            return Ok(false);
        }
        if e.t <= newest.exemplar.t {
            return Err(AppendError::OutOfOrderExemplar {
                t: e.t,
                newest: newest.exemplar.t,
            });
        }
        Ok(true)
    }

    fn insert(&mut self, max: usize, series: &Labels, e: Exemplar) {
        let pos = self.next;
        // Evict what is at `pos`: its series' oldest moves to the next one.
        if let Some(old) = self.entries.get_mut(pos).and_then(|e| e.take()) {
            let mut remove = false;
            if let Some(s) = self.series.get_mut(&old.series) {
                if old.next == NONE {
                    remove = true;
                } else {
                    s.oldest = old.next;
                }
            }
            if remove {
                if let Some(s) = self.series.remove(&old.series) {
                    self.collide.remove(&s.labels);
                }
            }
        }
        let key = match self.key_of(series) {
            Some(k) => k,
            None => {
                let h = series.stable_hash();
                let k = if self.series.contains_key(&h) {
                    let k = self.next_collision_key;
                    self.next_collision_key -= 1;
                    self.collide.insert(series.clone(), k);
                    k
                } else {
                    h
                };
                self.series.insert(
                    k,
                    SeriesEntry {
                        labels: series.clone(),
                        oldest: NONE,
                        newest: NONE,
                    },
                );
                k
            }
        };
        let entry = Entry {
            exemplar: e,
            series: key,
            next: NONE,
        };
        if pos < self.entries.len() {
            self.entries[pos] = Some(entry);
        } else {
            self.entries.push(Some(entry));
        }
        let prev_newest = match self.series.get_mut(&key) {
            Some(s) => {
                let prev = s.newest;
                s.newest = pos as u32;
                if s.oldest == NONE {
                    s.oldest = pos as u32;
                }
                prev
            }
            None => NONE,
        };
        if prev_newest != NONE {
            if let Some(Some(p)) = self.entries.get_mut(prev_newest as usize) {
                p.next = pos as u32;
            }
        }
        self.next = (pos + 1) % max;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ex(trace: &str, v: f64, t: i64) -> Exemplar {
        Exemplar {
            labels: Labels::from_pairs([("trace_id", trace)]),
            value: v,
            t,
        }
    }

    fn series(name: &str, job: &str) -> Labels {
        Labels::from_pairs([("__name__", name), ("job", job)])
    }

    fn all(s: &ExemplarStorage) -> Vec<ExemplarSeries> {
        s.select(
            i64::MIN,
            i64::MAX,
            &[vec![
                Matcher::new(crate::MatchOp::Regex, "__name__", ".+").unwrap()
            ]],
        )
    }

    #[test]
    fn stores_selects_and_filters_by_time_and_matchers() {
        let s = ExemplarStorage::new(10);
        let a = series("a_total", "x");
        let b = series("b_bucket", "y");
        assert!(s.add(&a, ex("1", 1.0, 100)).unwrap());
        assert!(s.add(&b, ex("2", 2.0, 150)).unwrap());
        assert!(s.add(&a, ex("3", 3.0, 200)).unwrap());
        let r = all(&s);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].series_labels, a);
        assert_eq!(r[0].exemplars, vec![ex("1", 1.0, 100), ex("3", 3.0, 200)]);
        let r = s.select(150, 250, &[vec![Matcher::equal("job", "x")]]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].exemplars, vec![ex("3", 3.0, 200)]);
        // Sets are OR-ed.
        let r = s.select(
            0,
            1000,
            &[vec![Matcher::equal("job", "x")], vec![Matcher::equal("job", "y")]],
        );
        assert_eq!(r.len(), 2);
        assert!(s.select(300, 400, &[vec![Matcher::equal("job", "x")]]).is_empty());
    }

    #[test]
    fn duplicates_are_ignored_and_out_of_order_rejected() {
        let s = ExemplarStorage::new(10);
        let a = series("a_total", "x");
        assert!(s.add(&a, ex("1", 1.0, 100)).unwrap());
        assert!(!s.add(&a, ex("1", 1.0, 100)).unwrap());
        assert!(matches!(
            s.add(&a, ex("2", 1.0, 100)),
            Err(AppendError::OutOfOrderExemplar { t: 100, newest: 100 })
        ));
        assert!(matches!(
            s.add(&a, ex("2", 1.0, 50)),
            Err(AppendError::OutOfOrderExemplar { .. })
        ));
        assert!(matches!(
            s.validate(&a, &ex("2", 1.0, 50)),
            Err(AppendError::OutOfOrderExemplar { .. })
        ));
        assert!(s.validate(&a, &ex("2", 1.0, 101)).unwrap());
        assert_eq!(all(&s)[0].exemplars.len(), 1);
        assert_eq!(s.stats().out_of_order, 2);
    }

    #[test]
    fn label_length_limit() {
        let s = ExemplarStorage::new(10);
        let long = "x".repeat(121);
        let e = Exemplar {
            labels: Labels::from_pairs([("trace_id", long.as_str())]),
            value: 1.0,
            t: 1,
        };
        assert!(matches!(
            s.add(&series("a", "x"), e),
            Err(AppendError::ExemplarLabelsTooLong { chars: 129 })
        ));
        // 128 exactly is fine.
        let e = Exemplar {
            labels: Labels::from_pairs([("trace_id", &long[..120])]),
            value: 1.0,
            t: 1,
        };
        assert!(s.add(&series("a", "x"), e).unwrap());
    }

    #[test]
    fn ring_evicts_oldest_across_series() {
        let s = ExemplarStorage::new(3);
        let a = series("a", "x");
        let b = series("b", "x");
        s.add(&a, ex("1", 1.0, 1)).unwrap();
        s.add(&b, ex("2", 2.0, 2)).unwrap();
        s.add(&a, ex("3", 3.0, 3)).unwrap();
        s.add(&a, ex("4", 4.0, 4)).unwrap(); // evicts a@1
        let r = all(&s);
        assert_eq!(r[0].exemplars, vec![ex("3", 3.0, 3), ex("4", 4.0, 4)]);
        assert_eq!(r[1].exemplars, vec![ex("2", 2.0, 2)]);
        s.add(&a, ex("5", 5.0, 5)).unwrap(); // evicts b@2: b has none left
        let r = all(&s);
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].exemplars,
            vec![ex("3", 3.0, 3), ex("4", 4.0, 4), ex("5", 5.0, 5)]
        );
        let st = s.stats();
        assert_eq!(
            (
                st.exemplars_in_storage,
                st.series_with_exemplars,
                st.exemplars_appended
            ),
            (3, 1, 5)
        );
        assert_eq!(st.last_exemplar_ts, 3);
        // Wrapping many times keeps exactly the newest three.
        for t in 6..100 {
            s.add(&b, ex("z", t as f64, t)).unwrap();
        }
        let r = all(&s);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].series_labels, b);
        assert_eq!(
            r[0].exemplars.iter().map(|e| e.t).collect::<Vec<_>>(),
            vec![97, 98, 99]
        );
    }

    #[test]
    fn contents_restored_in_order_rebuild_the_ring() {
        let s = ExemplarStorage::new(3);
        let a = series("a", "x");
        let b = series("b", "x");
        for (l, t) in [(&a, 1), (&b, 2), (&a, 3), (&b, 4), (&a, 5)] {
            s.add(l, ex(&t.to_string(), t as f64, t)).unwrap();
        }
        let c = s.contents();
        assert_eq!(c.iter().map(|(_, e)| e.t).collect::<Vec<_>>(), vec![3, 4, 5]);
        let r = ExemplarStorage::new(3);
        for (l, e) in c.clone() {
            r.restore(&l, e);
        }
        // Restoring overlapping input again (checkpoint, then segments) changes nothing.
        for (l, e) in c {
            r.restore(&l, e);
        }
        r.restore(&a, ex("old", 0.0, 2));
        assert_eq!(all(&r), all(&s));
        assert_eq!(r.stats().exemplars_appended, 0);
        assert_eq!(r.stats().out_of_order, 0);
        // The restored ring evicts in the original order: a@3 goes first.
        r.add(&b, ex("6", 6.0, 6)).unwrap();
        let got = all(&r);
        assert_eq!(got[0].exemplars.iter().map(|e| e.t).collect::<Vec<_>>(), vec![5]);
        assert_eq!(
            got[1].exemplars.iter().map(|e| e.t).collect::<Vec<_>>(),
            vec![4, 6]
        );
        // A ring not yet full lists from slot 0.
        let small = ExemplarStorage::new(10);
        small.add(&a, ex("1", 1.0, 1)).unwrap();
        small.add(&b, ex("2", 2.0, 2)).unwrap();
        assert_eq!(small.contents().len(), 2);
        assert_eq!(small.contents()[0].0, a);
    }

    #[test]
    fn disabled_stores_nothing() {
        let s = ExemplarStorage::new(0);
        assert!(!s.add(&series("a", "x"), ex("1", 1.0, 1)).unwrap());
        assert!(all(&s).is_empty());
    }
}
