//! A cache of validated label sets across push requests.
//!
//! Senders push the same series every interval. The cache maps the series' labels *as sent*
//! (name and value bytes, in the order sent) to the validated, canonical [`Labels`] and the
//! [`SeriesRef`] storage returned last time, so a known series skips UTF-8 checks, sorting,
//! validation and allocation, and storage skips its label lookup. A stale reference is safe:
//! storage checks that a reference matches the labels before using it.
//!
//! # Exactness without a copy of the raw key
//! An entry is found by a 64-bit hash of the pairs as sent and then *verified* against the
//! cached [`Labels`] themselves, byte for byte: a hash collision is a miss, never a hit on the
//! wrong series. Pairs match a label set when they are the same labels, in the same order
//! (what the remote-write spec requires of senders), or, for senders that append
//! `job`/`instance` at the end, when every pair has a non-empty value and names a distinct
//! label of the set with that value and the counts agree: the pairs are then exactly the set,
//! and validating them again would give the same canonical labels. Anything else (empty
//! values, repeated names) is a miss and takes the full validation path.
//!
//! The cached labels are the ones storage keeps for the series when it can give them
//! ([`crate::push::writer::SeriesWriter::series_labels`]): then storage's check of a cached
//! reference is a pointer comparison, and the cache holds no copy of the labels.
//!
//! Sharded by hash; a full shard is cleared (the next request refills it).

use foldhash::fast::RandomState;
use parking_lot::Mutex;
use std::hash::{BuildHasher, Hasher};
use storage::{Labels, SeriesRef};

const SHARDS: usize = 16;

/// Sets larger than this are verified only in the order sent.
const MAX_UNSORTED_LABELS: usize = 128;

struct Entry {
    /// The hash of the pairs as sent.
    h: u64,
    labels: Labels,
    sref: SeriesRef,
}

/// One shard: an open-addressing table (linear probing) indexed by the low bits of the hash,
/// so a lookup reads one slot, usually one cache line (a general map reads its control bytes
/// first, then the slot: two misses per sample on a cold cache). Entries are only added,
/// replaced, or all dropped at once, so no deletion is needed.
#[derive(Default)]
struct Table {
    slots: Vec<Option<Entry>>,
    len: usize,
}

impl Table {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding `h`, or the empty slot where it would go (`None` when there are no
    /// slots yet).
    fn probe(&self, h: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = h as usize & mask;
        // The load stays under 3/4, so an empty slot is always reached.
        loop {
            match &self.slots[i] {
                Some(e) if e.h != h => i = (i + 1) & mask,
                _ => return Some(i),
            }
        }
    }

    fn get(&self, h: u64) -> Option<&Entry> {
        self.slots[self.probe(h)?].as_ref()
    }

    fn get_mut(&mut self, h: u64) -> Option<&mut Entry> {
        let i = self.probe(h)?;
        self.slots[i].as_mut()
    }

    fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.len = 0;
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, (0..cap).map(|_| None).collect());
        for e in old.into_iter().flatten() {
            if let Some(i) = self.probe(e.h) {
                self.slots[i] = Some(e);
            }
        }
    }

    fn insert(&mut self, e: Entry) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        if let Some(i) = self.probe(e.h) {
            if self.slots[i].is_none() {
                self.len += 1;
            }
            self.slots[i] = Some(e);
        }
    }
}

/// A series' labels as sent: `(name, value)` byte pairs.
pub type RawPairs<'a> = [(&'a [u8], &'a [u8])];

/// Validated label sets by their raw form.
pub struct SeriesCache {
    shards: Vec<Mutex<Table>>,
    hasher: RandomState,
    max_per_shard: usize,
}

impl std::fmt::Debug for SeriesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesCache").field("len", &self.len()).finish()
    }
}

/// Whether the pairs as sent are exactly the label set `labels` (see the module docs).
pub fn same_labels(labels: &Labels, pairs: &RawPairs<'_>) -> bool {
    let ls = labels.as_slice();
    if ls.len() != pairs.len() {
        return false;
    }
    if ls
        .iter()
        .zip(pairs)
        .all(|(l, (n, v))| l.name.as_bytes() == *n && l.value.as_bytes() == *v)
    {
        return true;
    }
    if ls.len() > MAX_UNSORTED_LABELS {
        return false;
    }
    // In another order: a bijection from the pairs onto the labels, values equal.
    let mut seen = [0u64; MAX_UNSORTED_LABELS / 64];
    for (n, v) in pairs {
        if v.is_empty() {
            return false;
        }
        let Ok(i) = ls.binary_search_by(|l| l.name.as_bytes().cmp(n)) else {
            return false;
        };
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if ls[i].value.as_bytes() != *v || seen[word] & bit != 0 {
            return false;
        }
        seen[word] |= bit;
    }
    true
}

impl SeriesCache {
    /// A cache of at most about `capacity` series.
    pub fn new(capacity: usize) -> Self {
        SeriesCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Table::default())).collect(),
            hasher: RandomState::default(),
            max_per_shard: (capacity / SHARDS).max(1),
        }
    }

    /// Number of cached series.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of a series' pairs as sent (each name and value with its length, in order).
    pub fn hash(&self, pairs: &RawPairs<'_>) -> u64 {
        let mut h = self.hasher.build_hasher();
        for (n, v) in pairs {
            h.write_usize(n.len());
            h.write(n);
            h.write_usize(v.len());
            h.write(v);
        }
        h.finish()
    }

    fn shard(&self, h: u64) -> &Mutex<Table> {
        // Middle bits: the maps use the low bits for the bucket and the top ones for tags.
        &self.shards[(h >> 32) as usize % SHARDS]
    }

    /// The cached labels and reference for `pairs` (with hash `h`), verified against them.
    pub fn get(&self, h: u64, pairs: &RawPairs<'_>) -> Option<(Labels, SeriesRef)> {
        let (labels, sref) = {
            let g = self.shard(h).lock();
            let e = g.get(h)?;
            (e.labels.clone(), e.sref)
        };
        // Verified outside the lock: the labels are immutable.
        same_labels(&labels, pairs).then_some((labels, sref))
    }

    /// Remembers `labels` (validated, from the pairs hashing to `h`) and `sref`.
    pub fn insert(&self, h: u64, labels: Labels, sref: SeriesRef) {
        let mut g = self.shard(h).lock();
        if g.len >= self.max_per_shard && g.get(h).is_none() {
            g.clear();
        }
        g.insert(Entry { h, labels, sref });
    }

    /// Replaces the labels and reference of the entry at `h` if it still holds `old` (the
    /// same label set; another series may have taken the slot meanwhile).
    pub fn update(&self, h: u64, old: &Labels, labels: Labels, sref: SeriesRef) {
        let mut g = self.shard(h).lock();
        if let Some(e) = g.get_mut(h) {
            if e.labels == *old {
                e.labels = labels;
                e.sref = sref;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pairs<'a>(p: &[(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
        p.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect()
    }

    #[test]
    fn hit_miss_and_collisions_verified() {
        let c = SeriesCache::new(64);
        let k = pairs(&[("__name__", "up")]);
        let h = c.hash(&k);
        assert!(c.get(h, &k).is_none());
        let l = Labels::from_pairs([("__name__", "up")]);
        c.insert(h, l.clone(), SeriesRef(0));
        assert_eq!(c.get(h, &k), Some((l.clone(), SeriesRef(0))));
        let l2 = Labels::from_pairs([("__name__", "up")]);
        c.update(h, &l, l2.clone(), SeriesRef(7));
        assert_eq!(c.get(h, &k).unwrap().1, SeriesRef(7));
        // An update for a label set no longer in the slot changes nothing.
        c.update(
            h,
            &Labels::from_pairs([("__name__", "x")]),
            l.clone(),
            SeriesRef(9),
        );
        assert_eq!(c.get(h, &k).unwrap().1, SeriesRef(7));
        // Same hash slot (forced), other labels: not a hit.
        let other = pairs(&[("__name__", "down")]);
        assert!(c.get(h, &other).is_none());
        // "ab"+"c" and "a"+"bc" hash apart thanks to the length prefixes.
        assert_ne!(c.hash(&pairs(&[("ab", "c")])), c.hash(&pairs(&[("a", "bc")])));
    }

    #[test]
    fn verification_is_exact() {
        let l = Labels::from_pairs([("__name__", "up"), ("instance", "a:1"), ("job", "node")]);
        assert!(same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("instance", "a:1"), ("job", "node")])
        ));
        // vmagent-style order.
        assert!(same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("job", "node"), ("instance", "a:1")])
        ));
        assert!(!same_labels(&l, &pairs(&[("__name__", "up"), ("job", "node")])));
        assert!(!same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("instance", "a:1"), ("job", "nodes")])
        ));
        // A repeated name covering two slots is not the set (validation would refuse it).
        assert!(!same_labels(
            &l,
            &pairs(&[("job", "node"), ("__name__", "up"), ("job", "node")])
        ));
        // Empty values are dropped by validation, so they never match here.
        assert!(!same_labels(
            &l,
            &pairs(&[("job", "node"), ("x", ""), ("__name__", "up")])
        ));
        assert!(!same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("instance", "a:1"), ("job", "")])
        ));
    }

    #[test]
    fn many_entries_all_found() {
        let c = SeriesCache::new(1 << 20);
        let names: Vec<String> = (0..5000).map(|i| format!("m{i}")).collect();
        let mut hs = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let k = pairs(&[("__name__", n)]);
            let h = c.hash(&k);
            c.insert(
                h,
                Labels::from_pairs([("__name__", n.as_str())]),
                SeriesRef(i as u64),
            );
            hs.push(h);
        }
        assert_eq!(c.len(), 5000);
        for (i, n) in names.iter().enumerate() {
            let k = pairs(&[("__name__", n)]);
            assert_eq!(c.get(hs[i], &k).unwrap().1, SeriesRef(i as u64), "{n}");
        }
        // Re-inserting a key replaces its entry.
        let k = pairs(&[("__name__", "m7")]);
        c.insert(hs[7], Labels::from_pairs([("__name__", "m7")]), SeriesRef(70));
        assert_eq!(c.len(), 5000);
        assert_eq!(c.get(hs[7], &k).unwrap().1, SeriesRef(70));
    }

    #[test]
    fn bounded() {
        let c = SeriesCache::new(16);
        for i in 0..1000 {
            let v = format!("m{i}");
            let k = pairs(&[("__name__", &v)]);
            let h = c.hash(&k);
            c.insert(h, Labels::from_pairs([("__name__", "m")]), SeriesRef(0));
        }
        assert!(c.len() <= 16, "{}", c.len());
    }
}
