//! How many shards a queue runs: Prometheus' desired-shards calculation
//! (`storage/remote/queue_manager.go`, `calculateDesiredShards`), with one change: the backlog
//! is measured, not estimated.
//!
//! Every [`SHARD_UPDATE`] (1 s) the queue feeds one [`Tick`] to [`ShardCalc::update`], which keeps
//! exponentially weighted rates (weight 0.2, as Prometheus' `ewmaRate`) and computes
//!
//! ```text
//! kept           = out / (out + dropped)                      (share of samples actually sent)
//! time_per_sample = send_seconds / out                        (shard-seconds per sample)
//! desired        = time_per_sample * (in * kept + 0.05 * backlog * kept)
//! ```
//!
//! `in` is the rate samples enter the WAL and `backlog` the samples in the WAL the queue has
//! not read yet plus those waiting in its shards. Prometheus derives the backlog from the gap
//! between the newest timestamp ingested and the newest sent, times the in rate: that is wrong
//! by orders of magnitude when sample timestamps are not wall-clock time (backfill, replays,
//! benchmarks), and its in rate is the rate the WAL is *read*, which a queue held back by full
//! shards caps at its own output, so a queue that is too slow learns it only through the
//! backlog term. Here both come from the WAL's bytes: bytes appended and bytes left to read,
//! converted to samples with the samples-per-byte ratio of what was read.
//!
//! The result is then treated as Prometheus does: rounded up; kept when within 30 % of the
//! current count; never lowered while more than 10 s of input is waiting, nor within
//! [`MIN_DOWNSHARD_GAP`] of the last change; clamped to
//! `min_shards..=max_shards`; and no change at all while the remote end fails (the caller
//! checks that).

use std::time::Duration;

/// How often the shard count is recomputed (Prometheus: 10 s). Every second reacts to a
/// burst or a catch-up in a second or two; each change costs one drain of the shards, which
/// the 30 % tolerance and [`MIN_DOWNSHARD_GAP`] keep rare.
pub const SHARD_UPDATE: Duration = Duration::from_secs(1);
/// The shard count is lowered only this long after the last change, so that a catch-up
/// that has just raised it does not flap.
pub const MIN_DOWNSHARD_GAP: Duration = Duration::from_secs(10);
/// Weight of the newest interval in the rates (Prometheus' `ewmaWeight`).
const EWMA_WEIGHT: f64 = 0.2;
/// A change smaller than this fraction of the current count is not made.
const TOLERANCE: f64 = 0.3;
/// Share of the backlog to send per second on top of the input.
const CATCH_UP: f64 = 0.05;
/// No downsharding while more than this many seconds of input wait.
const MAX_DELAY_TO_DOWNSHARD: f64 = 10.0;

/// An exponentially weighted rate per second, fed the events of each interval.
#[derive(Clone, Copy, Debug, Default)]
struct Ewma {
    rate: f64,
    init: bool,
}

impl Ewma {
    fn tick(&mut self, events: f64, secs: f64) {
        let instant = events / secs.max(1e-3);
        if self.init {
            self.rate += EWMA_WEIGHT * (instant - self.rate);
        } else if events > 0.0 {
            self.init = true;
            self.rate = instant;
        }
    }
}

/// What happened during one update interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tick {
    /// Length of the interval in seconds.
    pub secs: f64,
    /// Samples that entered the WAL (estimated from its growth).
    pub samples_in: f64,
    /// Samples sent or refused by the remote end.
    pub samples_out: u64,
    /// Samples read but not sent (relabeling, too old, unknown series).
    pub samples_dropped: u64,
    /// Shard-seconds spent in requests.
    pub send_secs: f64,
    /// Samples waiting: unread in the WAL plus queued in shards, now.
    pub backlog: f64,
}

/// The decision of one update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// The computed shard count before rounding, tolerance and bounds
    /// (`prometheus_remote_storage_shards_desired`).
    pub desired: f64,
    /// The shard count to run.
    pub shards: usize,
}

/// The rates of one queue and its bounds.
#[derive(Clone, Debug)]
pub struct ShardCalc {
    min: usize,
    max: usize,
    data_in: Ewma,
    data_out: Ewma,
    dropped: Ewma,
    out_secs: Ewma,
}

impl ShardCalc {
    /// A calculation bounded by `min_shards..=max_shards`.
    pub fn new(min_shards: usize, max_shards: usize) -> Self {
        let min = min_shards.max(1);
        ShardCalc {
            min,
            max: max_shards.max(min),
            data_in: Ewma::default(),
            data_out: Ewma::default(),
            dropped: Ewma::default(),
            out_secs: Ewma::default(),
        }
    }

    /// Feeds one interval and returns how many shards to run instead of `current`.
    pub fn update(&mut self, t: &Tick, current: usize) -> Decision {
        self.data_in.tick(t.samples_in, t.secs);
        self.data_out.tick(t.samples_out as f64, t.secs);
        self.dropped.tick(t.samples_dropped as f64, t.secs);
        self.out_secs.tick(t.send_secs, t.secs);
        let out = self.data_out.rate;
        if out <= 0.0 {
            return Decision {
                desired: current as f64,
                shards: current,
            };
        }
        let kept = out / (out + self.dropped.rate);
        let time_per_sample = self.out_secs.rate / out;
        let input = self.data_in.rate * kept;
        let pending = t.backlog.max(0.0) * kept;
        let desired = time_per_sample * (input + CATCH_UP * pending);
        let (lo, hi) = (
            current as f64 * (1.0 - TOLERANCE),
            current as f64 * (1.0 + TOLERANCE),
        );
        let rounded = desired.ceil();
        let mut shards = if lo <= rounded && rounded <= hi {
            current
        } else {
            rounded as usize
        };
        // Seconds of input waiting: with no input, any backlog counts as far behind.
        let delay = if input > 0.0 {
            pending / input
        } else if pending > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        if shards < current && delay > MAX_DELAY_TO_DOWNSHARD {
            shards = current;
        }
        Decision {
            desired,
            shards: shards.clamp(self.min, self.max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(samples_in: f64, out: u64, send_secs: f64, backlog: f64) -> Tick {
        Tick {
            secs: 10.0,
            samples_in,
            samples_out: out,
            samples_dropped: 0,
            send_secs,
            backlog,
        }
    }

    #[test]
    fn steady_load_needs_rate_times_latency() {
        // 100k samples/s in and out, each shard-second sends 25k samples: 4 shards.
        let mut c = ShardCalc::new(1, 50);
        let d = c.update(&tick(1e6, 1_000_000, 40.0, 0.0), 1);
        assert!((d.desired - 4.0).abs() < 1e-9, "{d:?}");
        assert_eq!(d.shards, 4);
        // Within 30 %: unchanged.
        let d = c.update(&tick(1.1e6, 1_100_000, 44.0, 0.0), 4);
        assert_eq!(d.shards, 4);
    }

    #[test]
    fn a_backlog_adds_shards_and_blocks_downsharding() {
        // A queue held back at 1 shard: in = out = 10k/s but 2M samples wait.
        let mut c = ShardCalc::new(1, 50);
        let d = c.update(&tick(1e5, 100_000, 10.0, 2e6), 1);
        // 1e-4 s/sample * (10k + 0.05 * 2M) = 11.
        assert_eq!(d.shards, 11, "{d:?}");
        // Fast sends but 20 s of input waiting: no downsharding below 11.
        let mut c = ShardCalc::new(1, 50);
        let d = c.update(&tick(1e5, 100_000, 1.0, 2e5), 11);
        assert!(d.desired < 11.0 * 0.7, "{d:?}");
        assert_eq!(d.shards, 11);
        // Caught up: down it goes.
        let mut c = ShardCalc::new(1, 50);
        let d = c.update(&tick(1e5, 100_000, 1.0, 0.0), 11);
        assert_eq!(d.shards, 1);
    }

    #[test]
    fn bounds_and_nothing_sent() {
        let mut c = ShardCalc::new(2, 8);
        assert_eq!(c.update(&tick(1e9, 1_000, 100.0, 1e9), 2).shards, 8);
        let mut c = ShardCalc::new(2, 8);
        assert_eq!(c.update(&tick(0.0, 1_000_000, 0.001, 0.0), 8).shards, 2);
        let mut c = ShardCalc::new(2, 8);
        let d = c.update(&tick(1e6, 0, 0.0, 1e6), 3);
        assert_eq!(d.shards, 3, "nothing sent: no information, no change");
    }

    #[test]
    fn dropped_samples_do_not_need_shards() {
        // Half the input is dropped by relabeling: only the kept half needs sending.
        let mut c = ShardCalc::new(1, 50);
        let mut t = tick(2e6, 1_000_000, 40.0, 0.0);
        t.samples_dropped = 1_000_000;
        assert_eq!(c.update(&t, 1).shards, 4);
    }

    #[test]
    fn rates_are_smoothed() {
        let mut c = ShardCalc::new(1, 100);
        let d = c.update(&tick(1e6, 1_000_000, 40.0, 0.0), 4);
        assert_eq!(d.shards, 4);
        // One interval at 10x the input moves the input rate by a fifth of the jump only:
        // 1e5 + 0.2 * 9e5 = 2.8e5/s -> 4e-5 s * 2.8e5 = 11.2.
        let d = c.update(&tick(1e7, 1_000_000, 40.0, 0.0), 4);
        assert_eq!(d.shards, 12, "{d:?}");
    }
}
