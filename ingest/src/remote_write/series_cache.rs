//! A cache of validated label sets across push requests.
//!
//! Senders push the same series every interval. The cache maps the series' labels *as sent*
//! (name and value bytes, in the order sent) to the validated, canonical [`Labels`], the
//! [`SeriesRef`] storage returned last time and, when storage gives one, a
//! [`SeriesHandle`] on the series itself. A known series skips UTF-8 checks, sorting,
//! validation and allocation, and storage skips its lookup: appends go straight to the
//! handle's series. A stale reference or handle is safe: storage checks a reference against
//! the labels, and refuses a handle whose series has left the head.
//!
//! # Exactness without a copy of the raw key
//! An entry is found by a 64-bit hash of the pairs as sent and then *verified* against the
//! cached [`Labels`] themselves, byte for byte: a hash collision is a miss, never a hit on the
//! wrong series. Pairs match a label set when they are the same labels, in the same order
//! (what the remote-write spec requires of senders), or when, in any order, the pairs with a
//! value name distinct labels of the set with those values and cover it, and the pairs with
//! an empty value (absent labels, which validation drops, as `node_disk_info{model=""}`)
//! have valid, distinct names outside the set: validating the pairs again would then give
//! the same canonical labels ([`same_labels`]). Anything else (repeated names, too many
//! pairs) is a miss and takes the full validation path.
//!
//! The cached labels are the ones storage keeps for the series when it can give them
//! ([`crate::push::writer::SeriesWriter::series_labels`]): then storage's check of a cached
//! reference is a pointer comparison, and the cache holds no copy of the labels.
//!
//! # Reading without a lock per series
//! A request reads through a [`CacheReader`], which holds every shard's read lock, so a
//! lookup costs no atomic operation and the slots and series of the series a few positions
//! further on can be prefetched (a miss to memory per series was most of the receiver's
//! time). New entries are collected as [`PendingChanges`] and written when the reader lets
//! go, at the end of the request or every few hundred series.
//!
//! Sharded by hash; a full shard is cleared (the next request refills it).

use crate::push::PushLimits;
use foldhash::fast::RandomState;
use parking_lot::{RwLock, RwLockReadGuard};
use std::hash::{BuildHasher, Hasher};
use storage::prefetch::prefetch;
use storage::{Labels, SeriesHandle, SeriesRef};

const SHARDS: usize = 16;

/// Sets larger than this are verified only in the order sent.
const MAX_UNSORTED_LABELS: usize = 128;

/// A cached series: what validating its labels gave, and where storage keeps it. One cache
/// line each (48 bytes of fields): a lookup, prefetched by the address of its slot, then
/// never waits for a second line.
#[repr(align(64))]
pub struct Cached {
    /// The hash of the pairs as sent.
    h: u64,
    /// The validated labels (storage's own when it gave them).
    pub labels: Labels,
    /// Storage's reference for the series.
    pub sref: SeriesRef,
    /// Storage's handle on the series, when it gives handles.
    pub handle: Option<SeriesHandle>,
}

/// One shard: an open-addressing table (linear probing) indexed by the low bits of the hash,
/// so a lookup reads one slot, usually one cache line (a general map reads its control bytes
/// first, then the slot: two misses per sample on a cold cache). Entries are only added,
/// replaced, or all dropped at once, so no deletion is needed.
#[derive(Default)]
struct Table {
    slots: Vec<Option<Cached>>,
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

    fn get(&self, h: u64) -> Option<&Cached> {
        self.slots[self.probe(h)?].as_ref()
    }

    fn get_mut(&mut self, h: u64) -> Option<&mut Cached> {
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

    fn insert(&mut self, e: Cached) {
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

/// A shard on a cache line of its own, so two cores locking neighbouring shards do not pass
/// one line back and forth.
#[repr(align(64))]
#[derive(Default)]
struct Shard(RwLock<Table>);

/// A series' labels as sent: `(name, value)` byte pairs.
pub type RawPairs<'a> = [(&'a [u8], &'a [u8])];

/// Validated label sets by their raw form.
pub struct SeriesCache {
    shards: Vec<Shard>,
    hasher: RandomState,
    max_per_shard: usize,
}

impl std::fmt::Debug for SeriesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesCache").field("len", &self.len()).finish()
    }
}

/// Whether the pairs as sent are exactly the label set `labels` (see the module docs):
/// validating them under `limits` would accept them and give `labels`.
///
/// Pairs with an empty value stand for absent labels, which validation drops: they match
/// when their names are valid, distinct, and not among the set's, and the pairs are no more
/// than `limits` allows. `labels` themselves came from validation (under the same limits).
pub fn same_labels(labels: &Labels, pairs: &RawPairs<'_>, limits: &PushLimits) -> bool {
    let ls = labels.as_slice();
    if ls.len() == pairs.len()
        && ls
            .iter()
            .zip(pairs)
            .all(|(l, (n, v))| l.name.as_bytes() == *n && l.value.as_bytes() == *v)
    {
        return true;
    }
    if pairs.len() < ls.len()
        || pairs.len() > MAX_UNSORTED_LABELS
        || pairs.len() > limits.max_labels_per_series
    {
        return false;
    }
    // In another order: a bijection from the non-empty pairs onto the labels, values equal.
    let mut seen = [0u64; MAX_UNSORTED_LABELS / 64];
    let mut matched = 0;
    let mut empty = 0;
    for (n, v) in pairs {
        match ls.binary_search_by(|l| l.name.as_bytes().cmp(n)) {
            Ok(i) => {
                let (word, bit) = (i / 64, 1u64 << (i % 64));
                // An empty value here would repeat a name of the set: validation refuses that.
                if v.is_empty() || ls[i].value.as_bytes() != *v || seen[word] & bit != 0 {
                    return false;
                }
                seen[word] |= bit;
                matched += 1;
            }
            Err(_) => {
                let valid_name =
                    !n.is_empty() && n.len() <= limits.max_label_name_bytes && std::str::from_utf8(n).is_ok();
                if !v.is_empty() || !valid_name {
                    return false;
                }
                empty += 1;
            }
        }
    }
    if matched != ls.len() {
        return false;
    }
    // The names of the empty pairs must be distinct too (rare: a few pairs at most).
    if empty > 1 {
        let names = || pairs.iter().filter(|(_, v)| v.is_empty()).map(|(n, _)| *n);
        for (i, a) in names().enumerate() {
            if names().skip(i + 1).any(|b| b == a) {
                return false;
            }
        }
    }
    true
}

/// Cache changes found while a [`CacheReader`] is held, applied when it lets go
/// ([`CacheReader::flush`], [`PendingChanges::apply`]).
#[derive(Default)]
pub struct PendingChanges {
    /// `(hash, labels, reference, handle)` of series the cache did not know.
    pub inserts: Vec<(u64, Labels, SeriesRef, Option<SeriesHandle>)>,
    /// `(hash, cached labels, labels, reference, handle)` of entries that went stale.
    pub updates: Vec<(u64, Labels, Labels, SeriesRef, Option<SeriesHandle>)>,
}

impl PendingChanges {
    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.updates.is_empty()
    }

    /// Applies them (the caller must hold no [`CacheReader`]).
    pub fn apply(&mut self, cache: &SeriesCache) {
        for (h, labels, r, handle) in self.inserts.drain(..) {
            cache.insert(h, labels, r, handle);
        }
        for (h, old, labels, r, handle) in self.updates.drain(..) {
            cache.update(h, &old, labels, r, handle);
        }
    }
}

/// Read access to the whole cache for the length of one request: lookups then take no lock
/// and return references, and the slots and series of series further on in the request can
/// be prefetched. Changes found while reading are applied after it is dropped
/// ([`SeriesCache::insert`], [`SeriesCache::update`]); a thread holding a reader must not
/// change the cache (that would wait for its own reader).
pub struct CacheReader<'c> {
    cache: &'c SeriesCache,
    shards: Vec<RwLockReadGuard<'c, Table>>,
}

impl CacheReader<'_> {
    fn table(&self, h: u64) -> &Table {
        &self.shards[shard_of(h)]
    }

    /// The hash of a series' pairs as sent ([`SeriesCache::hash`]).
    pub fn hash(&self, pairs: &RawPairs<'_>) -> u64 {
        self.cache.hash(pairs)
    }

    /// Starts loading the slot of `h`.
    #[inline]
    pub fn prefetch_slot(&self, h: u64) {
        let t = self.table(h);
        if let Some(slot) = t.slots.get(h as usize & t.mask()) {
            prefetch(slot);
        }
    }

    /// Starts loading the labels and series of the entry at `h`, if there is one (its slot
    /// should be loaded by now: see [`CacheReader::prefetch_slot`]).
    #[inline]
    pub fn prefetch_entry(&self, h: u64) {
        if let Some(e) = self.table(h).get(h) {
            if let Some(handle) = &e.handle {
                handle.prefetch();
            }
            // The slice's address and length are in the entry itself; two labels a line.
            let ls = e.labels.as_slice();
            for i in (0..ls.len().min(16)).step_by(2) {
                prefetch(ls.as_ptr().wrapping_add(i));
            }
        }
    }

    /// The cached series for `pairs` (with hash `h`), verified against them (see
    /// [`same_labels`]).
    pub fn get(&self, h: u64, pairs: &RawPairs<'_>, limits: &PushLimits) -> Option<&Cached> {
        let e = self.table(h).get(h)?;
        same_labels(&e.labels, pairs, limits).then_some(e)
    }

    /// Lets go of the cache, applies `changes`, and takes it again: a long request calls
    /// this now and then so that writers waiting on a shard are not held up until its end.
    pub fn flush(&mut self, changes: &mut PendingChanges) {
        self.shards.clear();
        changes.apply(self.cache);
        self.shards = self.cache.lock_all();
    }
}

fn shard_of(h: u64) -> usize {
    // Middle bits: the tables use the low bits for the slot.
    (h >> 32) as usize % SHARDS
}

impl SeriesCache {
    /// A cache of at most about `capacity` series.
    pub fn new(capacity: usize) -> Self {
        SeriesCache {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            hasher: RandomState::default(),
            max_per_shard: (capacity / SHARDS).max(1),
        }
    }

    /// Number of cached series.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.read().len).sum()
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

    /// Read access for one request. The shards are locked in order, so readers and the
    /// single-shard writers cannot wait on each other in a cycle.
    pub fn reader(&self) -> CacheReader<'_> {
        CacheReader {
            cache: self,
            shards: self.lock_all(),
        }
    }

    fn lock_all(&self) -> Vec<RwLockReadGuard<'_, Table>> {
        self.shards.iter().map(|s| s.0.read()).collect()
    }

    /// Remembers `labels` (validated, from the pairs hashing to `h`), `sref` and `handle`.
    pub fn insert(&self, h: u64, labels: Labels, sref: SeriesRef, handle: Option<SeriesHandle>) {
        let mut g = self.shards[shard_of(h)].0.write();
        if g.len >= self.max_per_shard && g.get(h).is_none() {
            g.clear();
        }
        g.insert(Cached {
            h,
            labels,
            sref,
            handle,
        });
    }

    /// Replaces the labels, reference and handle of the entry at `h` if it still holds `old`
    /// (the same label set; another series may have taken the slot meanwhile).
    pub fn update(
        &self,
        h: u64,
        old: &Labels,
        labels: Labels,
        sref: SeriesRef,
        handle: Option<SeriesHandle>,
    ) {
        let mut g = self.shards[shard_of(h)].0.write();
        if let Some(e) = g.get_mut(h) {
            if e.labels == *old {
                e.labels = labels;
                e.sref = sref;
                e.handle = handle;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lim() -> PushLimits {
        PushLimits::default()
    }

    fn pairs<'a>(p: &[(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
        p.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect()
    }

    #[test]
    fn hit_miss_and_collisions_verified() {
        let c = SeriesCache::new(64);
        let k = pairs(&[("__name__", "up")]);
        let h = c.hash(&k);
        assert!(c.reader().get(h, &k, &lim()).is_none());
        let l = Labels::from_pairs([("__name__", "up")]);
        c.insert(h, l.clone(), SeriesRef(0), None);
        assert_eq!(
            c.reader().get(h, &k, &lim()).map(|e| (e.labels.clone(), e.sref)),
            Some((l.clone(), SeriesRef(0)))
        );
        let l2 = Labels::from_pairs([("__name__", "up")]);
        c.update(h, &l, l2.clone(), SeriesRef(7), None);
        assert_eq!(c.reader().get(h, &k, &lim()).unwrap().sref, SeriesRef(7));
        // An update for a label set no longer in the slot changes nothing.
        c.update(
            h,
            &Labels::from_pairs([("__name__", "x")]),
            l.clone(),
            SeriesRef(9),
            None,
        );
        assert_eq!(c.reader().get(h, &k, &lim()).unwrap().sref, SeriesRef(7));
        // Same hash slot (forced), other labels: not a hit.
        let other = pairs(&[("__name__", "down")]);
        assert!(c.reader().get(h, &other, &lim()).is_none());
        // "ab"+"c" and "a"+"bc" hash apart thanks to the length prefixes.
        assert_ne!(c.hash(&pairs(&[("ab", "c")])), c.hash(&pairs(&[("a", "bc")])));
    }

    #[test]
    fn verification_is_exact() {
        let l = Labels::from_pairs([("__name__", "up"), ("instance", "a:1"), ("job", "node")]);
        assert!(same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("instance", "a:1"), ("job", "node")]),
            &lim()
        ));
        // vmagent-style order.
        assert!(same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("job", "node"), ("instance", "a:1")]),
            &lim()
        ));
        assert!(!same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("job", "node")]),
            &lim()
        ));
        assert!(!same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("instance", "a:1"), ("job", "nodes")]),
            &lim()
        ));
        // A repeated name covering two slots is not the set (validation would refuse it).
        assert!(!same_labels(
            &l,
            &pairs(&[("job", "node"), ("__name__", "up"), ("job", "node")]),
            &lim()
        ));
        // Empty values are dropped by validation: such pairs are the set without them ...
        assert!(same_labels(
            &l,
            &pairs(&[
                ("job", "node"),
                ("x", ""),
                ("__name__", "up"),
                ("instance", "a:1")
            ]),
            &lim()
        ));
        assert!(same_labels(
            &l,
            &pairs(&[
                ("__name__", "up"),
                ("instance", "a:1"),
                ("job", "node"),
                ("x", ""),
                ("y", "")
            ]),
            &lim()
        ));
        // ... unless validation would refuse them: a repeated empty name, an empty name,
        // too many pairs, or one of the set's names again with an empty value.
        assert!(!same_labels(
            &l,
            &pairs(&[
                ("__name__", "up"),
                ("instance", "a:1"),
                ("job", "node"),
                ("x", ""),
                ("x", "")
            ]),
            &lim()
        ));
        assert!(!same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("instance", "a:1"), ("job", "node"), ("", "")]),
            &lim()
        ));
        let few = PushLimits {
            max_labels_per_series: 3,
            ..PushLimits::default()
        };
        assert!(!same_labels(
            &l,
            &pairs(&[
                ("__name__", "up"),
                ("instance", "a:1"),
                ("job", "node"),
                ("x", "")
            ]),
            &few
        ));
        assert!(!same_labels(
            &l,
            &pairs(&[
                ("__name__", "up"),
                ("instance", "a:1"),
                ("job", "node"),
                ("job", "")
            ]),
            &lim()
        ));
        assert!(!same_labels(
            &l,
            &pairs(&[("job", "node"), ("x", ""), ("__name__", "up")]),
            &lim()
        ));
        assert!(!same_labels(
            &l,
            &pairs(&[("__name__", "up"), ("instance", "a:1"), ("job", "")]),
            &lim()
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
                None,
            );
            hs.push(h);
        }
        assert_eq!(c.len(), 5000);
        for (i, n) in names.iter().enumerate() {
            let k = pairs(&[("__name__", n)]);
            assert_eq!(
                c.reader().get(hs[i], &k, &lim()).unwrap().sref,
                SeriesRef(i as u64),
                "{n}"
            );
        }
        // Re-inserting a key replaces its entry.
        let k = pairs(&[("__name__", "m7")]);
        c.insert(
            hs[7],
            Labels::from_pairs([("__name__", "m7")]),
            SeriesRef(70),
            None,
        );
        assert_eq!(c.len(), 5000);
        assert_eq!(c.reader().get(hs[7], &k, &lim()).unwrap().sref, SeriesRef(70));
    }

    #[test]
    fn bounded() {
        let c = SeriesCache::new(16);
        for i in 0..1000 {
            let v = format!("m{i}");
            let k = pairs(&[("__name__", &v)]);
            let h = c.hash(&k);
            c.insert(h, Labels::from_pairs([("__name__", "m")]), SeriesRef(0), None);
        }
        assert!(c.len() <= 16, "{}", c.len());
    }
}
