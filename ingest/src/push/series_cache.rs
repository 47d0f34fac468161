//! A cache of validated label sets across push requests.
//!
//! Senders push the same series every interval. The cache maps the series' labels *as sent*
//! (name and value bytes, in order) to the validated, canonical [`Labels`] and the
//! [`SeriesRef`] storage returned last time, so a known series skips UTF-8 checks, sorting,
//! validation and allocation, and storage skips its label lookup. A stale reference is safe:
//! storage checks that a reference matches the labels before using it.
//!
//! Sharded by hash; a full shard is cleared (the next request refills it).

use foldhash::fast::RandomState;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::BuildHasher;
use storage::{Labels, SeriesRef};

const SHARDS: usize = 16;

struct Entry {
    raw: Box<[u8]>,
    labels: Labels,
    sref: SeriesRef,
}

/// Validated label sets by their raw form.
pub struct SeriesCache {
    shards: Vec<Mutex<HashMap<u64, Entry>>>,
    hasher: RandomState,
    max_per_shard: usize,
}

impl std::fmt::Debug for SeriesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesCache").field("len", &self.len()).finish()
    }
}

/// The raw key of a series: each name and value with a length prefix, in the order sent.
#[derive(Default)]
pub struct RawKey {
    buf: Vec<u8>,
}

impl RawKey {
    /// Starts a new series.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Adds one label as sent.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.buf.extend_from_slice(&(name.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(value);
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

impl SeriesCache {
    /// A cache of at most about `capacity` series.
    pub fn new(capacity: usize) -> Self {
        SeriesCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::default(),
            max_per_shard: (capacity / SHARDS).max(1),
        }
    }

    /// Number of cached series.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of a raw key.
    pub fn hash(&self, key: &RawKey) -> u64 {
        self.hasher.hash_one(key.as_bytes())
    }

    fn shard(&self, h: u64) -> &Mutex<HashMap<u64, Entry>> {
        &self.shards[(h >> 59) as usize % SHARDS]
    }

    /// The cached labels and reference for `key` (with hash `h`).
    pub fn get(&self, h: u64, key: &RawKey) -> Option<(Labels, SeriesRef)> {
        let g = self.shard(h).lock();
        g.get(&h)
            .filter(|e| *e.raw == *key.as_bytes())
            .map(|e| (e.labels.clone(), e.sref))
    }

    /// Remembers `labels` (validated) and `sref` for `key`.
    pub fn insert(&self, h: u64, key: &RawKey, labels: Labels, sref: SeriesRef) {
        let mut g = self.shard(h).lock();
        if g.len() >= self.max_per_shard && !g.contains_key(&h) {
            g.clear();
        }
        g.insert(
            h,
            Entry {
                raw: key.as_bytes().into(),
                labels,
                sref,
            },
        );
    }

    /// Updates the reference of a cached series.
    pub fn set_ref(&self, h: u64, key: &RawKey, sref: SeriesRef) {
        let mut g = self.shard(h).lock();
        if let Some(e) = g.get_mut(&h) {
            if *e.raw == *key.as_bytes() {
                e.sref = sref;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hit_miss_and_collisions_by_bytes() {
        let c = SeriesCache::new(64);
        let mut k = RawKey::default();
        k.push(b"__name__", b"up");
        let h = c.hash(&k);
        assert!(c.get(h, &k).is_none());
        let l = Labels::from_pairs([("__name__", "up")]);
        c.insert(h, &k, l.clone(), SeriesRef(0));
        assert_eq!(c.get(h, &k), Some((l.clone(), SeriesRef(0))));
        c.set_ref(h, &k, SeriesRef(7));
        assert_eq!(c.get(h, &k).unwrap().1, SeriesRef(7));
        // Same hash slot, other bytes: not a hit.
        let mut other = RawKey::default();
        other.push(b"__name__", b"down");
        assert!(c.get(h, &other).is_none());
        // "ab"+"c" and "a"+"bc" differ thanks to the length prefixes.
        let (mut a, mut b) = (RawKey::default(), RawKey::default());
        a.push(b"ab", b"c");
        b.push(b"a", b"bc");
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn bounded() {
        let c = SeriesCache::new(16);
        for i in 0..1000 {
            let mut k = RawKey::default();
            k.push(b"__name__", format!("m{i}").as_bytes());
            let h = c.hash(&k);
            c.insert(h, &k, Labels::from_pairs([("__name__", "m")]), SeriesRef(0));
        }
        assert!(c.len() <= 16, "{}", c.len());
    }
}
