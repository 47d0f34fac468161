//! The soak's series and their churn, and the remote-write requests that carry one round.
//!
//! Series slot `i` (0..series) is `soak_m{i % metrics}{instance="i{i / metrics}", job="soak"}`,
//! plus `gen="g{n}"` once it has been replaced `n > 0` times. Churn replaces `fraction` of the
//! slots every `period`, from `start` on, walking through the slots in order (event `k`
//! replaces the next `ceil(fraction * series)` slots after those of event `k - 1`, wrapping),
//! so a slot's generation is a function of the number of events so far: nothing per series is
//! kept, and 1 M series cost no memory beyond one request's buffers.
//!
//! Requests are written by hand with [`ingest::forward::wire`] (the forwarder's protobuf
//! writer) into buffers a writer reuses, so the generator keeps up with a fast server on a
//! small machine.

use ingest::forward::wire::{self, v1};
use std::fmt::Write as _;
use std::time::Duration;

/// When series are replaced, and how many.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Churn {
    /// Active series.
    pub(crate) series: usize,
    /// Slots replaced per event (0: no churn).
    pub(crate) per_event: usize,
    /// First event, from the start of the run.
    pub(crate) start: Duration,
    /// Time between events.
    pub(crate) period: Duration,
}

impl Churn {
    /// `fraction` (0..=1) of `series` replaced every `period` from `start` on.
    pub(crate) fn new(series: usize, fraction: f64, start: Duration, period: Duration) -> Self {
        let per_event = if fraction <= 0.0 || period.is_zero() {
            0
        } else {
            ((fraction.min(1.0) * series as f64).ceil() as usize).min(series)
        };
        Churn {
            series,
            per_event,
            start,
            period,
        }
    }

    /// Events that have happened `at` into the run.
    pub(crate) fn events(&self, at: Duration) -> u64 {
        if self.per_event == 0 || at < self.start {
            return 0;
        }
        ((at - self.start).as_secs_f64() / self.period.as_secs_f64()).floor() as u64 + 1
    }

    /// The generation of slot `i` after `events` events.
    pub(crate) fn generation(&self, i: usize, events: u64) -> u64 {
        let replaced = events as u128 * self.per_event as u128;
        let n = self.series.max(1) as u128;
        (replaced / n) as u64 + u64::from((i as u128) < replaced % n)
    }

    /// Distinct series that have existed after `events` events.
    pub(crate) fn distinct_series(&self, events: u64) -> u64 {
        self.series as u64 + events * self.per_event as u64
    }
}

/// Builds the requests of one writer, reusing its buffers.
pub(crate) struct RequestWriter {
    metrics: usize,
    pb: Vec<u8>,
    labels: Vec<u8>,
    name: String,
    instance: String,
    gen: String,
    compressed: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl RequestWriter {
    /// A writer for series spread over `metrics` names.
    pub(crate) fn new(metrics: usize) -> Self {
        RequestWriter {
            metrics: metrics.max(1),
            pb: Vec::new(),
            labels: Vec::new(),
            name: String::new(),
            instance: String::new(),
            gen: String::new(),
            compressed: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }

    /// The snappy-compressed 1.0 request with one sample at `ts` for slots `from..to`
    /// (value `value(i)`), each in its generation after `events` churn events.
    pub(crate) fn round(
        &mut self,
        churn: &Churn,
        events: u64,
        from: usize,
        to: usize,
        ts: i64,
        value: impl Fn(usize) -> f64,
    ) -> bytes::Bytes {
        self.pb.clear();
        for i in from..to {
            self.name.clear();
            self.instance.clear();
            self.gen.clear();
            let _ = write!(self.name, "soak_m{}", i % self.metrics);
            let _ = write!(self.instance, "i{}", i / self.metrics);
            let g = churn.generation(i, events);
            if g > 0 {
                let _ = write!(self.gen, "g{g}");
            }
            // Labels sorted by name; an empty value means the label is absent.
            let pairs = [
                ("__name__", self.name.as_str()),
                ("gen", self.gen.as_str()),
                ("instance", self.instance.as_str()),
                ("job", "soak"),
            ];
            self.labels.clear();
            wire::put_v1_labels(&mut self.labels, pairs.into_iter().filter(|(_, v)| !v.is_empty()));
            let v = value(i);
            let len =
                self.labels.len() + wire::len_field_len(v1::TIMESERIES_SAMPLES, wire::sample_len(v, ts));
            wire::put_len_header(&mut self.pb, v1::WRITE_REQUEST_TIMESERIES, len);
            self.pb.extend_from_slice(&self.labels);
            wire::put_sample(&mut self.pb, v1::TIMESERIES_SAMPLES, v, ts);
        }
        let max = snap::raw::max_compress_len(self.pb.len());
        if self.compressed.len() < max {
            self.compressed.resize(max, 0);
        }
        // Compressing fails only for inputs over 4 GiB; a request is far smaller.
        let n = self.snappy.compress(&self.pb, &mut self.compressed).unwrap_or(0);
        bytes::Bytes::copy_from_slice(&self.compressed[..n])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn churn_walks_the_slots() {
        let c = Churn::new(10, 0.3, Duration::from_secs(60), Duration::from_secs(30));
        assert_eq!(c.per_event, 3);
        assert_eq!(c.events(Duration::from_secs(59)), 0);
        assert_eq!(c.events(Duration::from_secs(60)), 1);
        assert_eq!(c.events(Duration::from_secs(119)), 2);
        let gens = |e: u64| (0..10).map(|i| c.generation(i, e)).collect::<Vec<_>>();
        assert_eq!(gens(0), [0; 10]);
        assert_eq!(gens(1), [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
        // Event 4 wraps: slots 9, 0, 1.
        assert_eq!(gens(4), [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(c.distinct_series(4), 22);
        let none = Churn::new(10, 0.0, Duration::ZERO, Duration::from_secs(1));
        assert_eq!(none.events(Duration::from_secs(100)), 0);
    }

    #[test]
    fn requests_are_what_prost_writes() {
        let c = Churn::new(4, 0.5, Duration::ZERO, Duration::from_secs(1));
        let mut w = RequestWriter::new(2);
        let body = w.round(&c, 1, 1, 3, 1_000, |i| i as f64 + 0.5);
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let r = prompb::WriteRequest::decode(raw.as_slice()).unwrap();
        let labels = |ts: &prompb::TimeSeries| {
            ts.labels
                .iter()
                .map(|l| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(&l.name),
                        String::from_utf8_lossy(&l.value)
                    )
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(r.timeseries.len(), 2);
        assert_eq!(
            labels(&r.timeseries[0]),
            "__name__=soak_m1,gen=g1,instance=i0,job=soak"
        );
        assert_eq!(labels(&r.timeseries[1]), "__name__=soak_m0,instance=i1,job=soak");
        assert_eq!(r.timeseries[1].samples[0].value, 2.5);
        assert_eq!(r.timeseries[1].samples[0].timestamp, 1_000);
    }
}
