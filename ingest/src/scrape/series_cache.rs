//! The scrape cache of one target: series text as written in the body (`name{labels}`) ->
//! entry (final labels, series reference, staleness bookkeeping).
//!
//! Keys are stored back to back in one byte arena in the order their entries were created,
//! which for a stable target is the order of the body. A lookup first compares the key with
//! the entry after the previous hit (the body's next series, read sequentially from the arena)
//! and only on a mismatch hashes the key and probes the index. Either way the whole key is
//! compared, so a lookup never returns another series' entry.

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Hasher of the index: fast, and the keys come from targets the user configured.
type KeyHasher = foldhash::fast::RandomState;

/// Keys (series text) longer than the arena can address are refused.
const MAX_ARENA: usize = u32::MAX as usize;

/// A cache from series text to `T`, with sequential-order prediction. See the module docs.
#[derive(Debug)]
pub(crate) struct SeriesCache<T> {
    /// All keys, in entry order.
    keys: String,
    /// `(offset, length)` of each entry's key in `keys`.
    spans: Vec<(u32, u32)>,
    entries: Vec<T>,
    /// Entry indexes, hashed by key.
    index: HashTable<u32>,
    hasher: KeyHasher,
    /// The entry expected next (the one after the previous hit).
    next: usize,
    /// Whether entries were added since the last [`SeriesCache::shrink_if_grown`].
    grown: bool,
}

impl<T> Default for SeriesCache<T> {
    fn default() -> Self {
        SeriesCache {
            keys: String::new(),
            spans: Vec::new(),
            entries: Vec::new(),
            index: HashTable::new(),
            hasher: KeyHasher::default(),
            next: 0,
            grown: false,
        }
    }
}

impl<T> SeriesCache<T> {
    fn key(&self, i: usize) -> &[u8] {
        let (off, len) = self.spans[i];
        &self.keys.as_bytes()[off as usize..off as usize + len as usize]
    }

    /// The key of the entry expected next, if any.
    pub(crate) fn peek(&self) -> Option<&str> {
        let &(off, len) = self.spans.get(self.next)?;
        self.keys.get(off as usize..off as usize + len as usize)
    }

    /// The index of the entry expected next, which the caller found to match (its key was
    /// [`SeriesCache::peek`]'s); the following entry becomes the expected one.
    pub(crate) fn take_next(&mut self) -> usize {
        let n = self.next;
        self.next += 1;
        n
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Gives back the spare capacity left by growth (up to half of each vector), once the
    /// entries of a scrape are in: a thousand targets would otherwise keep megabytes unused.
    pub(crate) fn shrink_if_grown(&mut self) {
        if std::mem::take(&mut self.grown) {
            self.keys.shrink_to_fit();
            self.spans.shrink_to_fit();
            self.entries.shrink_to_fit();
        }
    }

    /// Starts a pass over a new body: the first lookup is predicted to be the first entry.
    pub(crate) fn rewind(&mut self) {
        self.next = 0;
    }

    /// The index of the entry for `key`, if any.
    pub(crate) fn find(&mut self, key: &str) -> Option<usize> {
        let key = key.as_bytes();
        let n = self.next;
        if n < self.spans.len() && self.key(n) == key {
            self.next = n + 1;
            return Some(n);
        }
        let h = self.hasher.hash_one(key);
        let (keys, spans) = (self.keys.as_bytes(), &self.spans);
        let i = *self.index.find(h, |&i| {
            let (off, len) = spans[i as usize];
            &keys[off as usize..off as usize + len as usize] == key
        })? as usize;
        self.next = i + 1;
        Some(i)
    }

    /// Adds an entry for `key` (not present yet) and returns its index, or `None` when the
    /// cache cannot hold more key text (4 GiB).
    pub(crate) fn insert(&mut self, key: &str, value: T) -> Option<usize> {
        if self.keys.len() + key.len() > MAX_ARENA || self.entries.len() >= MAX_ARENA {
            return None;
        }
        let i = self.entries.len();
        self.spans.push((self.keys.len() as u32, key.len() as u32));
        self.keys.push_str(key);
        self.entries.push(value);
        let h = self.hasher.hash_one(key.as_bytes());
        let (keys, spans, hasher) = (self.keys.as_bytes(), &self.spans, &self.hasher);
        self.index.insert_unique(h, i as u32, |&j| {
            let (off, len) = spans[j as usize];
            hasher.hash_one(&keys[off as usize..off as usize + len as usize])
        });
        self.next = i + 1;
        self.grown = true;
        Some(i)
    }

    /// The entry at `i`.
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.entries.get_mut(i)
    }

    /// The entries, in order.
    pub(crate) fn values(&self) -> std::slice::Iter<'_, T> {
        self.entries.iter()
    }

    /// The entries, in order, mutably.
    pub(crate) fn values_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.entries.iter_mut()
    }

    /// Keeps the entries for which `keep` holds, compacting keys and entries in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        if self.entries.iter().all(&mut keep) {
            return;
        }
        let old_keys = std::mem::take(&mut self.keys);
        let old_spans = std::mem::take(&mut self.spans);
        let old_entries = std::mem::take(&mut self.entries);
        self.index.clear();
        for ((off, len), e) in old_spans.into_iter().zip(old_entries) {
            if keep(&e) {
                let key = &old_keys[off as usize..off as usize + len as usize];
                let i = self.entries.len() as u32;
                self.spans.push((self.keys.len() as u32, len));
                self.keys.push_str(key);
                self.entries.push(e);
                let h = self.hasher.hash_one(key.as_bytes());
                let (keys, spans, hasher) = (self.keys.as_bytes(), &self.spans, &self.hasher);
                self.index.insert_unique(h, i, |&j| {
                    let (off, len) = spans[j as usize];
                    hasher.hash_one(&keys[off as usize..off as usize + len as usize])
                });
            }
        }
        self.keys.shrink_to_fit();
        self.spans.shrink_to_fit();
        self.entries.shrink_to_fit();
        self.index.shrink_to_fit(|&j| {
            let (off, len) = self.spans[j as usize];
            self.hasher
                .hash_one(&self.keys.as_bytes()[off as usize..off as usize + len as usize])
        });
        self.next = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_inserts_and_compacts() {
        let mut c = SeriesCache::default();
        for (k, n) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
            assert_eq!(c.find(k), None);
            assert_eq!(c.insert(k, n), Some(n - 1));
        }
        assert_eq!(c.find("c"), Some(2));
        c.retain(|&n| n % 2 == 0);
        assert_eq!((c.find("a"), c.find("c")), (None, None));
        let b = c.find("b").unwrap();
        let d = c.find("d").unwrap();
        assert_eq!((*c.get_mut(b).unwrap(), *c.get_mut(d).unwrap()), (2, 4));
        assert_eq!(c.values().copied().collect::<Vec<_>>(), vec![2, 4]);
        assert_eq!(c.insert("e", 5), Some(2));
        assert_eq!(c.find("e"), Some(2));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn prediction_never_returns_another_key() {
        let mut c = SeriesCache::default();
        let keys = ["up", "up{a=\"1\"}", "up{a=\"10\"}", "x", "xy"];
        for (i, k) in keys.iter().enumerate() {
            c.insert(k, i);
        }
        // In order, out of order, prefixes and extensions of the predicted key.
        c.rewind();
        for k in [
            "up",
            "up{a=\"1\"}",
            "x",
            "up{a=\"10\"}",
            "xy",
            "x",
            "u",
            "up{a=\"1",
            "xyz",
        ] {
            let want = keys.iter().position(|w| w == &k);
            assert_eq!(c.find(k), want, "{k}");
        }
    }

    #[test]
    fn many_keys_all_found_in_and_out_of_order() {
        let mut c = SeriesCache::default();
        let keys: Vec<String> = (0..2000).map(|i| format!("m{{i=\"{i}\"}}")).collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(c.insert(k, i), Some(i));
        }
        c.rewind();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(c.find(k), Some(i));
        }
        for (i, k) in keys.iter().enumerate().rev() {
            assert_eq!(c.find(k), Some(i));
        }
        c.retain(|&i| i % 3 == 0);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(c.find(k).is_some(), i % 3 == 0, "{k}");
        }
    }
}
