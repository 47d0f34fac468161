//! [`IdTable`]: a map keyed by series reference, for references handed out in increasing
//! order (the head's, which the WAL records carry).
//!
//! The head's series-by-reference stripes use one each (a stripe holds the references equal
//! to its index modulo the number of stripes, so `id / stripes` is nearly dense); a
//! remote-write queue's reader uses one (stride 1) for the series it read from the WAL. An
//! open-addressing table (linear probing) indexed by `id / stride` puts consecutive
//! references in consecutive slots, and a lookup, the hot path of every append that carries
//! a reference and of every sample a queue reads, reads one slot (a general hash map reads
//! its control bytes first, then the slot: two cache misses on a cold cache), whose address
//! is known before the lookup, so it can be prefetched ([`IdTable::prefetch`]). Removal
//! shifts the following entries back (no tombstones).

use crate::prefetch::prefetch;

/// A map from reference to `V`, for references spaced `stride` apart.
pub struct IdTable<V> {
    slots: Vec<Option<(u64, V)>>,
    len: usize,
    /// Divisor applied to a reference before masking (the number of stripes).
    stride: u64,
}

impl<V> std::fmt::Debug for IdTable<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTable")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<V> IdTable<V> {
    /// An empty table for references spaced `stride` apart.
    pub fn new(stride: u64) -> Self {
        IdTable {
            slots: Vec::new(),
            len: 0,
            stride: stride.max(1),
        }
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    fn home(&self, id: u64) -> usize {
        (id / self.stride) as usize & self.mask()
    }

    /// The slot holding `id` or the empty slot where it would go (`None` without slots).
    fn probe(&self, id: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = self.home(id);
        // The load stays at most 3/4: an empty slot is always reached.
        loop {
            match &self.slots[i] {
                Some((k, _)) if *k != id => i = (i + 1) & mask,
                _ => return Some(i),
            }
        }
    }

    /// The value of `id`.
    #[inline]
    pub fn get(&self, id: &u64) -> Option<&V> {
        let i = self.probe(*id)?;
        self.slots[i].as_ref().map(|(_, v)| v)
    }

    /// Whether `id` is present.
    pub fn contains_key(&self, id: &u64) -> bool {
        self.get(id).is_some()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Asks the CPU for the slot where a lookup of `id` starts (see [`prefetch`]): a caller
    /// walking many references calls it a few references ahead.
    #[inline]
    pub fn prefetch(&self, id: u64) {
        if let Some(slot) = self.slots.get(self.home(id)) {
            prefetch(slot);
        }
    }

    /// Keeps the entries for which `keep` returns true (the table is rebuilt).
    pub fn retain(&mut self, mut keep: impl FnMut(u64, &V) -> bool) {
        let old = std::mem::take(&mut self.slots);
        let kept: Vec<(u64, V)> = old.into_iter().flatten().filter(|(k, v)| keep(*k, v)).collect();
        self.len = 0;
        let mut cap = 16;
        while kept.len() * 4 > cap * 3 {
            cap *= 2;
        }
        self.slots = (0..cap).map(|_| None).collect();
        for (k, v) in kept {
            if let Some(i) = self.probe(k) {
                self.slots[i] = Some((k, v));
                self.len += 1;
            }
        }
    }

    fn resize(&mut self, cap: usize) {
        let old = std::mem::replace(&mut self.slots, (0..cap).map(|_| None).collect());
        for (k, v) in old.into_iter().flatten() {
            if let Some(i) = self.probe(k) {
                self.slots[i] = Some((k, v));
            }
        }
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, id: u64, v: V) -> Option<V> {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.resize((self.slots.len() * 2).max(16));
        }
        let i = self.probe(id)?;
        let old = self.slots[i].replace((id, v)).map(|(_, v)| v);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes `id`; returns its value.
    pub fn remove(&mut self, id: &u64) -> Option<V> {
        let mut i = self.probe(*id)?;
        let (_, v) = self.slots[i].take()?;
        self.len -= 1;
        // Shift back every following entry of the run that may move into the hole.
        let mask = self.mask();
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let Some((k, _)) = &self.slots[j] else { break };
            let home = self.home(*k);
            // The entry at `j` may fill the hole at `i` unless its home lies cyclically in
            // `(i, j]` (it would then be found before reaching `i`'s position... or not at all).
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !stays {
                self.slots[i] = self.slots[j].take();
                i = j;
            }
        }
        if self.slots.len() > 64 && self.len * 8 < self.slots.len() {
            self.resize(self.slots.len() / 2);
        }
        Some(v)
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().filter_map(|s| s.as_ref().map(|(_, v)| v))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Random inserts and removals agree with a `HashMap` at every step.
    #[test]
    fn agrees_with_a_hash_map() {
        let mut t: IdTable<u64> = IdTable::new(64);
        let mut m: HashMap<u64, u64> = HashMap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..60_000u64 {
            let r = next();
            // Mostly dense references of one stripe, some far ones, some colliding homes.
            let id = match r % 10 {
                0 => r >> 8,
                1 => (r % 64) * 64 * 1024 + 5,
                _ => (r % 4096) * 64 + 5,
            };
            if r % 3 == 0 {
                assert_eq!(t.remove(&id), m.remove(&id), "remove {id} at {step}");
            } else {
                assert_eq!(t.insert(id, step), m.insert(id, step), "insert {id} at {step}");
            }
            assert_eq!(t.len(), m.len());
            if step % 997 == 0 {
                for (k, v) in &m {
                    assert_eq!(t.get(k), Some(v), "{k} at {step}");
                }
                assert_eq!(t.values().count(), m.len());
            }
        }
        for k in m.keys().copied().collect::<Vec<_>>() {
            assert_eq!(t.remove(&k), m.remove(&k));
            assert!(!t.contains_key(&k));
        }
        assert_eq!(t.len(), 0);
        assert!(t.is_empty());
    }

    #[test]
    fn retain_keeps_what_it_is_told_and_lookups_still_work() {
        let mut t: IdTable<u64> = IdTable::new(1);
        t.prefetch(3); // no slots yet: a no-op
        for id in 1..=1000u64 {
            t.insert(id, id * 10);
        }
        t.retain(|id, v| id % 3 == 0 && *v == id * 10);
        assert_eq!(t.len(), 333);
        for id in 1..=1000u64 {
            t.prefetch(id);
            assert_eq!(t.get(&id).copied(), (id % 3 == 0).then_some(id * 10), "{id}");
        }
        t.retain(|_, _| false);
        assert!(t.is_empty());
        t.insert(7, 70);
        assert_eq!(t.get(&7), Some(&70));
    }
}
