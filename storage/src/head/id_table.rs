//! [`IdTable`]: one stripe of the series-by-reference map.
//!
//! References are handed out in increasing order and a stripe holds those equal to its index
//! modulo the number of stripes, so `id / stripes` is nearly dense: an open-addressing table
//! (linear probing) indexed by it puts consecutive references in consecutive slots, and a
//! lookup, the hot path of every append that carries a reference, reads one slot (a general
//! hash map reads its control bytes first, then the slot: two cache misses on a cold cache).
//! Removal shifts the following entries back (no tombstones).

/// A map from reference to `V`, for references of one stripe.
pub(crate) struct IdTable<V> {
    slots: Vec<Option<(u64, V)>>,
    len: usize,
    /// Divisor applied to a reference before masking (the number of stripes).
    stride: u64,
}

impl<V> IdTable<V> {
    /// An empty table for references spaced `stride` apart.
    pub(crate) fn new(stride: u64) -> Self {
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
    pub(crate) fn get(&self, id: &u64) -> Option<&V> {
        let i = self.probe(*id)?;
        self.slots[i].as_ref().map(|(_, v)| v)
    }

    /// Whether `id` is present.
    pub(crate) fn contains_key(&self, id: &u64) -> bool {
        self.get(id).is_some()
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
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
    pub(crate) fn insert(&mut self, id: u64, v: V) -> Option<V> {
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
    pub(crate) fn remove(&mut self, id: &u64) -> Option<V> {
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
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
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
    }
}
