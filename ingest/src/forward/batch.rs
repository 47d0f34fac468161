//! Which queued samples a shard sends next: [`BatchPicker`].
//!
//! A remote-write request carries each series' labels once, however many of its samples it
//! holds, and the labels are most of the bytes (about 100-150 bytes against 10-20 per
//! sample): building and compressing them is most of what a request costs the sender and
//! the receiver. A shard that holds more samples than one request takes (a backlog: the
//! receiver or the sender is the limit) therefore fills the request series by series, with
//! every sample it holds of each series in turn (oldest series first), instead of the first
//! `max_samples_per_send` samples in WAL order, which during a catch-up are one sample each
//! of that many series.
//!
//! What stays the same: each series' samples go in order (a request takes the oldest ones
//! a series has waiting, never skipping one), the oldest sample waiting is always in the
//! next request (so `batch_send_deadline` still bounds its wait), and a shard holding no
//! more than one request's worth sends exactly what it did before (all of it, in order).
//! Samples only move ahead of other series' samples of the same shard, which the sent
//! position tracks per WAL record (it advances only past records fully sent), so the resend
//! bound after a crash is unchanged: at most what the shards held plus the last second.

use super::encode::QueuedSample;
use std::collections::VecDeque;

/// How many queued samples, in multiples of a request's size, are looked at to fill one.
const WINDOW: usize = 8;

/// Picks a shard's next batch; keeps its working memory between batches.
#[derive(Debug, Default)]
pub struct BatchPicker {
    /// Per series slot in the window: its samples there, then how many of them to take
    /// (a map, not a table by slot: its size follows the window, not the series count).
    quota: foldhash::HashMap<u32, u32>,
    /// Series in the window in order of first appearance.
    order: Vec<u32>,
    /// What stays queued, rebuilt per batch.
    rest: VecDeque<QueuedSample>,
}

impl BatchPicker {
    /// Moves the next batch (at most `max` samples) from `queued` into `out` (cleared
    /// first); see the module documentation for which samples.
    pub fn pick(&mut self, queued: &mut VecDeque<QueuedSample>, max: usize, out: &mut Vec<QueuedSample>) {
        out.clear();
        let max = max.max(1);
        if queued.len() <= max {
            out.extend(queued.drain(..));
            return;
        }
        let window = queued.len().min(max.saturating_mul(WINDOW));
        self.quota.clear();
        for s in queued.iter().take(window) {
            let n = self.quota.entry(s.series).or_insert(0);
            if *n == 0 {
                self.order.push(s.series);
            }
            *n += 1;
        }
        // Whole series, oldest first, until the request is full (the last one may be cut).
        let mut room = max as u32;
        let mut taken = 0;
        for &series in &self.order {
            let Some(q) = self.quota.get_mut(&series) else {
                continue;
            };
            *q = (*q).min(room);
            room -= *q;
            taken += 1;
            if room == 0 {
                break;
            }
        }
        for series in &self.order[taken..] {
            self.quota.remove(series);
        }
        self.order.clear();
        self.rest.clear();
        for (n, s) in queued.drain(..).enumerate() {
            let q = match self.quota.get_mut(&s.series) {
                Some(q) if n < window && *q > 0 => q,
                _ => {
                    self.rest.push_back(s);
                    continue;
                }
            };
            *q -= 1;
            out.push(s);
        }
        std::mem::swap(queued, &mut self.rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::encode::SampleValue;

    fn q(series: u32, t: i64) -> QueuedSample {
        QueuedSample {
            series,
            t,
            value: SampleValue::Float(t as f64),
            seq: t as u64,
        }
    }

    fn ids(v: impl IntoIterator<Item = QueuedSample>) -> Vec<(u32, i64)> {
        v.into_iter().map(|s| (s.series, s.t)).collect()
    }

    #[test]
    fn no_more_than_a_request_goes_as_it_is() {
        let mut p = BatchPicker::default();
        let mut queued: VecDeque<_> = [q(1, 1), q(2, 2), q(1, 3)].into_iter().collect();
        let mut out = Vec::new();
        p.pick(&mut queued, 3, &mut out);
        assert_eq!(ids(out), [(1, 1), (2, 2), (1, 3)]);
        assert!(queued.is_empty());
    }

    #[test]
    fn one_sample_per_series_is_fifo() {
        let mut p = BatchPicker::default();
        let mut queued: VecDeque<_> = (0..10).map(|i| q(i, i as i64)).collect();
        let mut out = Vec::new();
        p.pick(&mut queued, 4, &mut out);
        assert_eq!(
            ids(out.drain(..)),
            (0..4).map(|i| (i, i as i64)).collect::<Vec<_>>()
        );
        assert_eq!(
            ids(queued.iter().cloned()),
            (4..10).map(|i| (i, i as i64)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_backlog_goes_series_by_series_oldest_first_each_in_order() {
        let mut p = BatchPicker::default();
        // Three scrapes of four series, in WAL order.
        let mut queued: VecDeque<_> = (0..12).map(|i| q(i % 4, i as i64)).collect();
        let mut out = Vec::new();
        p.pick(&mut queued, 5, &mut out);
        // Series 0 whole, then the two oldest of series 1 (the request is full).
        let first = [(0, 0), (1, 1), (0, 4), (1, 5), (0, 8)];
        assert_eq!(ids(out.drain(..)), first);
        assert_eq!(
            ids(queued.iter().cloned()),
            [(2, 2), (3, 3), (2, 6), (3, 7), (1, 9), (2, 10), (3, 11)]
        );
        // Until everything is sent, each series' timestamps only go up.
        let mut sent: Vec<(u32, i64)> = first.to_vec();
        while !queued.is_empty() {
            let oldest = queued[0].t;
            p.pick(&mut queued, 5, &mut out);
            assert!(
                out.iter().any(|s| s.t == oldest),
                "the oldest waiting sample goes next"
            );
            sent.extend(ids(out.drain(..)));
        }
        assert_eq!(sent.len(), 12);
        for series in 0..4 {
            let ts: Vec<i64> = sent.iter().filter(|s| s.0 == series).map(|s| s.1).collect();
            assert_eq!(ts, (0..3).map(|k| series as i64 + 4 * k).collect::<Vec<_>>());
        }
    }

    #[test]
    fn only_the_window_is_considered() {
        let mut p = BatchPicker::default();
        // Series 0 has a sample far behind the window: it stays, behind the others.
        let mut queued: VecDeque<_> = (0..20).map(|i| q(1 + i % 2, i as i64)).collect();
        queued.push_front(q(0, -1));
        queued.push_back(q(0, 100));
        let mut out = Vec::new();
        p.pick(&mut queued, 2, &mut out);
        // Window of 16: series 0 has one sample in it, series 1 eight: 0 then one of 1.
        assert_eq!(ids(out.drain(..)), [(0, -1), (1, 0)]);
        assert_eq!(queued.back().map(|s| (s.series, s.t)), Some((0, 100)));
        assert_eq!(queued.len(), 20);
    }
}
