//! [`SeriesTable`]: the series a queue sends, in numbered slots shared by its reader (which
//! fills them from the WAL's series records) and its shards (which read them to encode).
//!
//! Queued samples name their series by slot (four bytes) rather than holding a reference
//! count: a shared count would be incremented by the reader and decremented by a shard for
//! every sample, bouncing its cache line between cores. Shards take the table's read lock
//! once per request.
//!
//! A slot is freed only once every sample read before the series was forgotten has been
//! sent or refused (the queue checks its sent position), so a queued sample never finds
//! another series in its slot.

use super::encode::OutSeries;

/// Series by slot; freed slots are reused.
#[derive(Debug, Default)]
pub struct SeriesTable {
    slots: Vec<Option<OutSeries>>,
    free: Vec<u32>,
}

impl SeriesTable {
    /// Stores `s`, returning its slot.
    pub fn insert(&mut self, s: OutSeries) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(s);
                i
            }
            None => {
                self.slots.push(Some(s));
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// The series in `slot`.
    pub fn get(&self, slot: u32) -> Option<&OutSeries> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// Asks the CPU for `slot`'s entry (the pointers to its labels) ahead of a [`Self::get`].
    pub fn prefetch(&self, slot: u32) {
        if let Some(s) = self.slots.get(slot as usize) {
            storage::prefetch::prefetch((s as *const Option<OutSeries>).cast::<u8>());
        }
    }

    /// Empties `slot` for reuse.
    pub fn remove(&mut self, slot: u32) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            if s.take().is_some() {
                self.free.push(slot);
            }
        }
    }

    /// Series held.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Whether no series is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::Labels;

    #[test]
    fn slots_are_reused_after_removal() {
        let mut t = SeriesTable::default();
        let s = |n: &str| OutSeries::new(Labels::from_pairs([("__name__", n)]));
        let (a, b) = (t.insert(s("a")), t.insert(s("b")));
        assert_eq!((a, b, t.len()), (0, 1, 2));
        t.remove(a);
        t.remove(a);
        assert!(t.get(a).is_none());
        assert_eq!(t.len(), 1);
        let c = t.insert(s("c"));
        assert_eq!(c, a);
        assert_eq!(
            t.get(c)
                .and_then(|s| s.labels.as_ref())
                .map(|l| l.get("__name__")),
            Some(Some("c"))
        );
        assert!(!t.is_empty());
    }
}
