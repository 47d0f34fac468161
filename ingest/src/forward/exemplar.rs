//! Exemplars in a queue (`send_exemplars: true`): finding the series of a WAL exemplar, and
//! writing the exemplar messages of both protocol versions.
//!
//! The WAL names an exemplar's series by its labels (not by a series reference, see
//! [`storage::wal::ExemplarEntry`]), so a queue that sends exemplars keeps an
//! [`ExemplarIndex`]: the hash of each series' outgoing labels (after external labels and
//! relabeling, [`OutSeries::hash`](super::encode::OutSeries)) to its slot. An exemplar's
//! series labels go through the same relabeling, and the hash finds the slot, checked
//! against the slot's labels. The exemplar is then queued in that series' shard like a
//! sample, so it keeps the series' WAL order, the resend bound and the sharding of samples.
//! The index costs about 20 bytes per series and exists only in queues that send exemplars.
//!
//! As Prometheus' queue manager does, exemplars count towards `max_samples_per_send`; a
//! batch's exemplars travel in the `exemplars` field of their series' `TimeSeries` (1.0),
//! or of the 2.0 `TimeSeries` with their labels as symbol references.

use super::series::SeriesTable;
use super::wire::{self, v1, v2};
use storage::{Exemplar, Labels};

/// Outgoing-labels hash -> slot, for the series of a queue that sends exemplars.
#[derive(Debug, Default)]
pub struct ExemplarIndex {
    slots: foldhash::HashMap<u64, u32>,
}

impl ExemplarIndex {
    /// Records that the series with outgoing-labels hash `hash` is in `slot` (a redefined
    /// series replaces its old slot).
    pub fn insert(&mut self, hash: u64, slot: u32) {
        self.slots.insert(hash, slot);
    }

    /// Forgets `slot` (being freed) if it is still the one recorded for `hash`.
    pub fn remove(&mut self, hash: u64, slot: u32) {
        if self.slots.get(&hash) == Some(&slot) {
            self.slots.remove(&hash);
        }
    }

    /// The slot of the series sent with labels `out`, if the queue knows it.
    pub fn find(&self, out: &Labels, table: &SeriesTable) -> Option<(u32, u64)> {
        let hash = out.stable_hash();
        let slot = *self.slots.get(&hash)?;
        // A 64-bit hash collision would name another series: check (the encoded labels,
        // which every queue keeps, are equal exactly when the label sets are).
        (*table.get(slot)?.v1_labels == *super::encode::encode_v1_labels(out)).then_some((slot, hash))
    }

    /// Series indexed.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// Appends the body of a 1.0 `prometheus.Exemplar` (labels, value, timestamp `t`).
pub fn put_v1_exemplar(out: &mut Vec<u8>, e: &Exemplar, t: i64) {
    // `Exemplar.labels` has the field number of `TimeSeries.labels`, and the same `Label`.
    const _: () = assert!(v1::EXEMPLAR_LABELS == v1::TIMESERIES_LABELS);
    wire::put_v1_labels(out, e.labels.iter().map(|l| (&*l.name, &*l.value)));
    wire::put_double_field(out, v1::EXEMPLAR_VALUE, e.value);
    wire::put_uint_field(out, v1::EXEMPLAR_TIMESTAMP, t as u64);
}

/// Appends the body of a 2.0 `io.prometheus.write.v2.Exemplar` whose label name and value
/// symbols are `refs`.
pub fn put_v2_exemplar(out: &mut Vec<u8>, refs: &[u32], value: f64, t: i64) {
    wire::put_packed_varints(out, v2::EXEMPLAR_LABELS_REFS, refs.iter().map(|&r| u64::from(r)));
    wire::put_double_field(out, v1::EXEMPLAR_VALUE, value);
    wire::put_uint_field(out, v1::EXEMPLAR_TIMESTAMP, t as u64);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::forward::encode::OutSeries;
    use prost::Message;

    #[test]
    fn index_finds_checks_and_forgets() {
        let mut t = SeriesTable::default();
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "x")]);
        let s = OutSeries::new(labels.clone());
        let hash = s.hash;
        let slot = t.insert(s);
        let mut ix = ExemplarIndex::default();
        ix.insert(hash, slot);
        assert_eq!(ix.find(&labels, &t), Some((slot, hash)));
        let other = Labels::from_pairs([("__name__", "down")]);
        assert_eq!(ix.find(&other, &t), None);
        // A stale slot recorded under the hash is not returned for other labels.
        ix.insert(other.stable_hash(), slot);
        assert_eq!(ix.find(&other, &t), None);
        ix.remove(hash, slot + 1);
        assert_eq!(ix.len(), 2);
        ix.remove(hash, slot);
        assert_eq!(ix.find(&labels, &t), None);
        assert!(!ix.is_empty());
    }

    #[test]
    fn v1_exemplar_is_what_prost_writes() {
        let e = Exemplar {
            labels: Labels::from_pairs([("trace_id", "abc"), ("span_id", "1")]),
            value: 0.25,
            t: -5,
        };
        let mut ours = Vec::new();
        put_v1_exemplar(&mut ours, &e, e.t);
        let want = prompb::Exemplar {
            labels: vec![
                prompb::Label::new("span_id", "1"),
                prompb::Label::new("trace_id", "abc"),
            ],
            value: 0.25,
            timestamp: -5,
        };
        assert_eq!(ours, want.encode_to_vec());
    }

    #[test]
    fn v2_exemplar_is_what_prost_writes() {
        let mut ours = Vec::new();
        put_v2_exemplar(&mut ours, &[3, 4, 300, 1], 7.5, 1_700_000_000_000);
        let want = prompb::ExemplarV2 {
            labels_refs: vec![3, 4, 300, 1],
            value: 7.5,
            timestamp: 1_700_000_000_000,
        };
        assert_eq!(ours, want.encode_to_vec());
    }
}
