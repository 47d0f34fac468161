//! Realistic data: every target exposes the series of a real node_exporter (the shape file),
//! counters increase at plausible rates, gauges wander, histogram buckets stay cumulative.

use crate::CompareArgs;
use prompb::{Label, Sample, TimeSeries, WriteRequest};
use prost::Message;
use std::collections::BTreeMap;

/// How a series evolves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// Monotonic, resets never.
    Counter,
    /// Random walk.
    Gauge,
    /// A cumulative histogram bucket with this share of observations at or below it.
    Bucket(f64),
    /// A histogram or summary `_count`.
    Count,
    /// A histogram or summary `_sum`.
    Sum,
}

/// One series of the shape file.
#[derive(Clone, Debug)]
pub(crate) struct ShapeSeries {
    /// Sorted labels including `__name__`.
    pub labels: Vec<(String, String)>,
    /// The value in the file.
    pub value: f64,
    /// How it evolves.
    pub kind: Kind,
    /// Whether the file's value is an integer (kept integral).
    pub integral: bool,
    /// Key of the histogram/summary this series belongs to (name + labels without le/quantile).
    pub group: String,
}

/// A classic histogram (5 handlers x 12 buckets, plus `_sum` and `_count`) appended to the shape
/// file, so that `histogram_quantile` has buckets to work on (node_exporter exposes none).
pub(crate) const SYNTHETIC_HISTOGRAM: &str = "\
# HELP http_request_duration_seconds Latency of HTTP requests (synthetic, added to every target).
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler=\"/\",le=\"0.005\"} 600
http_request_duration_seconds_bucket{handler=\"/\",le=\"0.01\"} 1440
http_request_duration_seconds_bucket{handler=\"/\",le=\"0.025\"} 3600
http_request_duration_seconds_bucket{handler=\"/\",le=\"0.05\"} 6000
http_request_duration_seconds_bucket{handler=\"/\",le=\"0.1\"} 8160
http_request_duration_seconds_bucket{handler=\"/\",le=\"0.25\"} 9960
http_request_duration_seconds_bucket{handler=\"/\",le=\"0.5\"} 11040
http_request_duration_seconds_bucket{handler=\"/\",le=\"1\"} 11640
http_request_duration_seconds_bucket{handler=\"/\",le=\"2.5\"} 11880
http_request_duration_seconds_bucket{handler=\"/\",le=\"5\"} 11940
http_request_duration_seconds_bucket{handler=\"/\",le=\"10\"} 11988
http_request_duration_seconds_bucket{handler=\"/\",le=\"+Inf\"} 12000
http_request_duration_seconds_sum{handler=\"/\"} 492.00
http_request_duration_seconds_count{handler=\"/\"} 12000
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.005\"} 270
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.01\"} 648
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.025\"} 1620
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.05\"} 2700
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.1\"} 3672
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.25\"} 4482
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.5\"} 4968
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"1\"} 5238
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"2.5\"} 5346
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"5\"} 5373
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"10\"} 5395
http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"+Inf\"} 5400
http_request_duration_seconds_sum{handler=\"/api/v1/query\"} 221.40
http_request_duration_seconds_count{handler=\"/api/v1/query\"} 5400
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"0.005\"} 155
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"0.01\"} 372
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"0.025\"} 930
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"0.05\"} 1550
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"0.1\"} 2108
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"0.25\"} 2573
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"0.5\"} 2852
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"1\"} 3007
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"2.5\"} 3069
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"5\"} 3084
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"10\"} 3097
http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"+Inf\"} 3100
http_request_duration_seconds_sum{handler=\"/api/v1/query_range\"} 127.10
http_request_duration_seconds_count{handler=\"/api/v1/query_range\"} 3100
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"0.005\"} 4300
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"0.01\"} 10320
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"0.025\"} 25800
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"0.05\"} 43000
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"0.1\"} 58480
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"0.25\"} 71380
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"0.5\"} 79120
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"1\"} 83420
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"2.5\"} 85140
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"5\"} 85570
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"10\"} 85914
http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"+Inf\"} 86000
http_request_duration_seconds_sum{handler=\"/api/v1/write\"} 3526.00
http_request_duration_seconds_count{handler=\"/api/v1/write\"} 86000
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"0.005\"} 430
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"0.01\"} 1032
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"0.025\"} 2580
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"0.05\"} 4300
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"0.1\"} 5848
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"0.25\"} 7138
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"0.5\"} 7912
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"1\"} 8342
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"2.5\"} 8514
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"5\"} 8557
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"10\"} 8591
http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"+Inf\"} 8600
http_request_duration_seconds_sum{handler=\"/metrics\"} 352.60
http_request_duration_seconds_count{handler=\"/metrics\"} 8600
";

/// Parses a Prometheus text exposition into series shapes.
pub(crate) fn parse_shape(text: &str) -> Result<Vec<ShapeSeries>, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split_whitespace();
            if let (Some(n), Some(t)) = (it.next(), it.next()) {
                types.insert(n.to_string(), t.to_string());
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| format!("shape file line {}: {what}", no + 1);
        let (name, labels, rest) = match line.find('{') {
            Some(i) => {
                let close = line.rfind('}').ok_or_else(|| bad("unclosed label set"))?;
                (
                    &line[..i],
                    parse_labels(&line[i + 1..close]).map_err(|e| bad(&e))?,
                    &line[close + 1..],
                )
            }
            None => {
                let sp = line.find(' ').ok_or_else(|| bad("no value"))?;
                (&line[..sp], Vec::new(), &line[sp..])
            }
        };
        let value: f64 = match rest.split_whitespace().next() {
            Some("+Inf") => f64::INFINITY,
            Some("-Inf") => f64::NEG_INFINITY,
            Some(v) => v.parse().map_err(|_| bad("bad value"))?,
            None => return Err(bad("no value")),
        };
        if !value.is_finite() {
            continue;
        }
        let family = |suffix: &str| name.strip_suffix(suffix).filter(|f| types.contains_key(*f));
        let ty = types.get(name).map(String::as_str).unwrap_or("untyped");
        let mut group_labels: Vec<(String, String)> = labels
            .iter()
            .filter(|(k, _)| k != "le" && k != "quantile")
            .cloned()
            .collect();
        group_labels.sort();
        let kind = if family("_bucket").is_some() {
            Kind::Bucket(0.0)
        } else if family("_count").is_some() {
            Kind::Count
        } else if family("_sum").is_some() {
            Kind::Sum
        } else if ty == "counter" {
            Kind::Counter
        } else {
            Kind::Gauge
        };
        let base = match kind {
            Kind::Bucket(_) => name.trim_end_matches("_bucket"),
            Kind::Count => name.trim_end_matches("_count"),
            Kind::Sum => name.trim_end_matches("_sum"),
            _ => name,
        };
        let mut all = labels;
        all.push(("__name__".to_string(), name.to_string()));
        all.sort();
        out.push(ShapeSeries {
            labels: all,
            value,
            kind,
            integral: value.fract() == 0.0,
            group: format!("{base}{group_labels:?}"),
        });
    }
    // Bucket shares: each bucket's value relative to its group's _count.
    let counts: BTreeMap<String, f64> = out
        .iter()
        .filter(|s| s.kind == Kind::Count)
        .map(|s| (s.group.clone(), s.value))
        .collect();
    for s in &mut out {
        if let Kind::Bucket(_) = s.kind {
            let total = counts.get(&s.group).copied().unwrap_or(0.0);
            s.kind = Kind::Bucket(if total > 0.0 {
                (s.value / total).clamp(0.0, 1.0)
            } else {
                1.0
            });
        }
    }
    if out.is_empty() {
        return Err("shape file has no series".into());
    }
    Ok(out)
}

fn parse_labels(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or("label without '='")?;
        let name = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let body = after.strip_prefix('"').ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = body.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("dangling escape".into()),
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end.ok_or("unterminated label value")?;
        out.push((name, value));
        rest = body[end + 1..].trim_start().trim_start_matches(',').trim_start();
    }
    Ok(out)
}

/// The load: compressed request bodies per connection, in time order, either prepared
/// before the clock (`requests`) or generated while sending (`stream`).
pub(crate) struct Workload {
    /// `requests[c]` = bodies for connection `c` (empty when `stream` is set).
    pub requests: Vec<Vec<Vec<u8>>>,
    /// When set, the bodies are generated while sending (see [`Generator`]), so the bench
    /// holds only a few requests per connection at a time instead of the whole load.
    pub stream: Option<StreamSpec>,
    /// Total samples.
    pub samples: u64,
    /// Series in total.
    pub series: usize,
    /// First and last timestamp (ms).
    pub start_ms: i64,
    /// Last timestamp (ms).
    pub end_ms: i64,
}

/// What a [`Generator`] needs to produce the same load again (once per system).
#[derive(Clone)]
pub(crate) struct StreamSpec {
    /// The series shapes.
    pub shape: Vec<ShapeSeries>,
    /// The load options.
    pub args: CompareArgs,
    /// First timestamp (ms).
    pub start_ms: i64,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Per target state of the generator.
struct Target {
    labels: Vec<Vec<Label>>,
    values: Vec<f64>,
    rates: Vec<f64>,
    offset_ms: i64,
    group_obs: BTreeMap<String, f64>,
}

/// Produces the load one scrape interval (one sample of every series) at a time, the same
/// for the same options (fixed seed): [`generate`] runs it to the end before the clock, the
/// dense variant (`--generate-while-sending`) while sending.
pub(crate) struct Generator<'a> {
    shape: &'a [ShapeSeries],
    args: &'a CompareArgs,
    start_ms: i64,
    rng: Rng,
    targets: Vec<Target>,
    step: i64,
    steps: i64,
    interval_ms: i64,
    pending: Vec<WriteRequest>,
    pending_n: Vec<usize>,
    encoder: snap::raw::Encoder,
}

impl<'a> Generator<'a> {
    /// A generator of every target's samples from `start_ms`.
    pub(crate) fn new(shape: &'a [ShapeSeries], args: &'a CompareArgs, start_ms: i64) -> Self {
        let mut rng = Rng(0x05e8_7a17);
        let interval_ms = args.interval_seconds * 1000;
        let conns = args.connections.max(1);
        let targets: Vec<Target> = (0..args.targets)
            .map(|i| new_target(i, shape, &mut rng, interval_ms))
            .collect();
        Generator {
            shape,
            args,
            start_ms,
            rng,
            targets,
            step: 0,
            steps: steps(args),
            interval_ms,
            pending: vec![WriteRequest::default(); conns],
            pending_n: vec![0usize; conns],
            encoder: snap::raw::Encoder::new(),
        }
    }

    /// Samples the whole load holds.
    pub(crate) fn total_samples(&self) -> u64 {
        self.steps as u64 * self.targets.len() as u64 * self.shape.len() as u64
    }

    /// Generates the next interval, handing every full request to `emit(connection, body)`;
    /// after the last interval, hands out the partial requests and returns false.
    pub(crate) fn next_step(&mut self, emit: &mut dyn FnMut(usize, Vec<u8>)) -> bool {
        let conns = self.pending.len();
        if self.step >= self.steps {
            for c in 0..conns {
                if self.pending_n[c] > 0 {
                    flush(&mut self.pending[c], &mut self.encoder, c, emit);
                    self.pending_n[c] = 0;
                }
            }
            return false;
        }
        let (shape, args, step) = (self.shape, self.args, self.step);
        for ti in 0..self.targets.len() {
            let c = ti % conns;
            let rng = &mut self.rng;
            let t = &mut self.targets[ti];
            let ts = self.start_ms + t.offset_ms + step * self.interval_ms + (rng.next() % 30) as i64;
            // Never on a whole second: query steps and range boundaries are whole seconds, and
            // a sample exactly on a range's left boundary is inside it for Prometheus 2 (closed
            // ranges, Debian's reference) but outside for Prometheus 3 (left-open, as Sextant).
            let ts = if ts % 1000 == 0 { ts + 1 } else { ts };
            t.group_obs.clear();
            for (si, s) in shape.iter().enumerate() {
                let v = &mut t.values[si];
                evolve(v, s, t.rates[si], &mut t.group_obs, rng, args.interval_seconds);
                self.pending[c].timeseries.push(TimeSeries {
                    labels: t.labels[si].clone(),
                    samples: vec![Sample {
                        value: *v,
                        timestamp: ts,
                    }],
                    ..Default::default()
                });
                self.pending_n[c] += 1;
                if self.pending_n[c] >= args.samples_per_request {
                    flush(&mut self.pending[c], &mut self.encoder, c, emit);
                    self.pending_n[c] = 0;
                }
            }
        }
        self.step += 1;
        true
    }
}

/// Encodes and compresses `req` for connection `c`, hands it to `emit` and empties it.
fn flush(
    req: &mut WriteRequest,
    enc: &mut snap::raw::Encoder,
    c: usize,
    emit: &mut dyn FnMut(usize, Vec<u8>),
) {
    let raw = req.encode_to_vec();
    if let Ok(b) = enc.compress_vec(&raw) {
        emit(c, b);
    }
    req.timeseries.clear();
}

/// Scrape intervals in the span.
fn steps(args: &CompareArgs) -> i64 {
    args.span_minutes * 60 / args.interval_seconds.max(1)
}

/// Target `i`: its labels, starting values, counter rates and scrape offset.
fn new_target(i: usize, shape: &[ShapeSeries], rng: &mut Rng, interval_ms: i64) -> Target {
    let instance = format!("node-{i:04}:9100");
    let labels = shape
        .iter()
        .map(|s| {
            let mut ls: Vec<Label> = s
                .labels
                .iter()
                .map(|(n, v)| Label {
                    name: n.clone().into(),
                    value: v.clone().into(),
                })
                .collect();
            ls.push(Label {
                name: "instance".into(),
                value: instance.clone().into(),
            });
            ls.push(Label {
                name: "job".into(),
                value: "node".into(),
            });
            ls.sort_by(|a, b| a.name.cmp(&b.name));
            ls
        })
        .collect();
    let values = shape
        .iter()
        .map(|s| s.value * (0.5 + rng.unit()))
        .collect::<Vec<_>>();
    let values = values
        .iter()
        .zip(shape)
        .map(|(v, s)| {
            if s.integral {
                v.round()
            } else {
                (v * 100.0).round() / 100.0
            }
        })
        .collect();
    let rates = shape
        .iter()
        .map(|s| match s.kind {
            Kind::Counter => (s.value / 86_400.0).max(0.01) * (0.2 + rng.unit()),
            _ => 0.0,
        })
        .collect();
    Target {
        labels,
        values,
        rates,
        offset_ms: (rng.next() % interval_ms.max(1) as u64) as i64,
        group_obs: BTreeMap::new(),
    }
}

/// One interval's change of a series' value.
fn evolve(
    v: &mut f64,
    s: &ShapeSeries,
    rate: f64,
    group_obs: &mut BTreeMap<String, f64>,
    rng: &mut Rng,
    interval_seconds: i64,
) {
    match s.kind {
        Kind::Counter => {
            let inc = rate * interval_seconds as f64 * (0.5 + rng.unit());
            *v += if s.integral {
                inc.round()
            } else {
                (inc * 100.0).round() / 100.0
            };
        }
        Kind::Gauge => {
            if s.value != 0.0 && rng.unit() < 0.3 {
                let d = (rng.unit() - 0.5) * s.value.abs() * 0.02;
                let nv = *v + d;
                *v = if s.value % 4096.0 == 0.0 && s.value != 0.0 {
                    (nv / 4096.0).round() * 4096.0
                } else if s.integral {
                    nv.round()
                } else {
                    (nv * 100.0).round() / 100.0
                };
            }
        }
        Kind::Bucket(_) | Kind::Count | Kind::Sum => {
            let n = *group_obs
                .entry(s.group.clone())
                .or_insert_with(|| (rng.next() % 8) as f64);
            match s.kind {
                Kind::Bucket(share) => *v += (n * share).round(),
                Kind::Count => *v += n,
                _ => *v += n * 0.0173 * (0.5 + rng.unit()),
            }
        }
    }
}

/// The load's shape without its bodies: to be generated while sending.
pub(crate) fn streamed(shape: &[ShapeSeries], args: &CompareArgs, start_ms: i64) -> Workload {
    let g = Generator::new(shape, args, start_ms);
    Workload {
        requests: Vec::new(),
        samples: g.total_samples(),
        series: shape.len() * args.targets,
        start_ms,
        end_ms: start_ms + steps(args) * args.interval_seconds * 1000,
        stream: Some(StreamSpec {
            shape: shape.to_vec(),
            args: args.clone(),
            start_ms,
        }),
    }
}

/// Generates every target's samples from `start_ms` and encodes the requests.
pub(crate) fn generate(shape: &[ShapeSeries], args: &CompareArgs, start_ms: i64) -> Workload {
    let mut g = Generator::new(shape, args, start_ms);
    let samples = g.total_samples();
    let mut requests: Vec<Vec<Vec<u8>>> = vec![Vec::new(); args.connections.max(1)];
    while g.next_step(&mut |c, b| requests[c].push(b)) {}
    Workload {
        requests,
        stream: None,
        samples,
        series: shape.len() * args.targets,
        start_ms,
        end_ms: start_ms + steps(args) * args.interval_seconds * 1000,
    }
}
