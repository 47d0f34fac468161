//! The reference Prometheus for differential tests: Debian's `/usr/bin/prometheus` (2.42,
//! installed by `scripts/test.sh`) started on a loopback port with the remote-write receiver,
//! plus the deterministic data set both it and Sextant are loaded with.

use crate::support::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// A running reference Prometheus; killed on drop.
pub(crate) struct Reference {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the reference Prometheus and waits until it is ready.
pub(crate) fn start_prometheus() -> Reference {
    start_prometheus_with(&[])
}

/// As [`start_prometheus`], with extra command-line flags (query limits).
pub(crate) fn start_prometheus_with(extra: &[&str]) -> Reference {
    start_prometheus_config("global:\n  scrape_interval: 15s\n", extra)
}

/// As [`start_prometheus_with`], with `config` as its `prometheus.yml` (for scrape jobs).
pub(crate) fn start_prometheus_config(config: &str, extra: &[&str]) -> Reference {
    assert!(
        std::path::Path::new(PROMETHEUS).exists(),
        "the differential test needs Debian's prometheus at {PROMETHEUS}: run scripts/test.sh, which installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, config).unwrap();
    let port = free_port();
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while http_get(&format!("{base}/-/ready")).map(|r| r.0).ok() != Some(200) {
        assert!(
            Instant::now() < deadline,
            "reference prometheus did not become ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Reference {
        child,
        base,
        _dir: dir,
    }
}

/// Deterministic pseudo-random numbers (xorshift), so the data is the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
}

/// Builds the data set: per timestamp, one write request with every series' sample.
pub(crate) fn dataset(base_ms: i64, steps: i64) -> Vec<prompb::WriteRequest> {
    let mut rng = Rng(0x5eed);
    let mut reqs = Vec::new();
    let instances = ["node-a:9100", "node-b:9100", "node-c:9100"];
    // Counters start far from zero: Prometheus 3 (which Sextant follows) clamps the
    // extrapolation towards a counter's zero point after the threshold rule, 2.42 before it,
    // which differs only for windows at the very start of a series that begins near zero.
    let mut counters = [5000.0f64; 3 * 4];
    let mut buckets = [1000.0f64; 3 * 5];
    let mut sums = [300.0f64; 3];
    let les = ["0.1", "0.5", "1", "5", "+Inf"];
    for step in 0..steps {
        let mut req = prompb::WriteRequest::default();
        for (i, inst) in instances.iter().enumerate() {
            let t = base_ms + step * 15_000 + 1_234 + i as i64 * 7;
            for (c, mode) in ["user", "system", "idle", "iowait"].iter().enumerate() {
                let k = i * 4 + c;
                // A counter reset on node-b half way through.
                if i == 1 && step == steps / 2 {
                    counters[k] = 0.0;
                }
                counters[k] += (rng.unit() * 15.0 * 100.0).round() / 100.0;
                req.timeseries.push(series(
                    "node_cpu_seconds_total",
                    &[("instance", inst), ("job", "node"), ("mode", mode)],
                    &[(t, counters[k])],
                ));
            }
            let mem = 8e9 + (rng.unit() * 1e6).round() * 4096.0;
            req.timeseries.push(series(
                "node_memory_MemAvailable_bytes",
                &[("instance", inst), ("job", "node")],
                &[(t, mem)],
            ));
            let temp = 40.0 + (rng.unit() * 200.0).round() / 10.0;
            req.timeseries.push(series(
                "node_hwmon_temp_celsius",
                &[("instance", inst), ("job", "node")],
                &[(t, temp)],
            ));
            // A histogram: cumulative buckets.
            let obs = (rng.next() % 20) as f64;
            let mut acc = 0.0;
            if step == 0 {
                for (b, c) in buckets[i * 5..i * 5 + 5].iter_mut().enumerate() {
                    *c = 1000.0 + 100.0 * b as f64;
                }
            }
            for (b, le) in les.iter().enumerate() {
                let share = match b {
                    0 => obs * 0.1,
                    1 => obs * 0.3,
                    2 => obs * 0.3,
                    3 => obs * 0.2,
                    _ => obs * 0.1,
                };
                acc += share.round();
                buckets[i * 5 + b] += acc;
                req.timeseries.push(series(
                    "http_request_duration_seconds_bucket",
                    &[("instance", inst), ("job", "api"), ("le", le)],
                    &[(t, buckets[i * 5 + b])],
                ));
            }
            sums[i] += obs * 0.37;
            req.timeseries.push(series(
                "http_request_duration_seconds_count",
                &[("instance", inst), ("job", "api")],
                &[(t, buckets[i * 5 + 4])],
            ));
            req.timeseries.push(series(
                "http_request_duration_seconds_sum",
                &[("instance", inst), ("job", "api")],
                &[(t, sums[i])],
            ));
            // A series that goes stale two thirds of the way in.
            if step < steps * 2 / 3 {
                req.timeseries.push(series(
                    "beacon_head_slot",
                    &[("instance", inst), ("job", "beacon")],
                    &[(t, (1000 + step) as f64)],
                ));
            } else if step == steps * 2 / 3 {
                req.timeseries.push(series(
                    "beacon_head_slot",
                    &[("instance", inst), ("job", "beacon")],
                    &[(t, f64::from_bits(0x7ff0_0000_0000_0002))],
                ));
            }
            // NaN and ±Inf among ordinary values.
            let odd = match step % 13 {
                3 => f64::NAN,
                7 => f64::INFINITY,
                11 if i != 1 => f64::NEG_INFINITY,
                _ => ((step * 7 + i as i64 * 3) % 17) as f64 - 8.0,
            };
            req.timeseries.push(series(
                "odd_values",
                &[("instance", inst), ("job", "odd")],
                &[(t, odd)],
            ));
            // A counter that starts from zero a third of the way in (series start
            // extrapolation, where Prometheus 2 and 3 differ).
            if step >= steps / 3 {
                req.timeseries.push(series(
                    "late_counter",
                    &[("instance", inst), ("job", "late")],
                    &[(t, ((step - steps / 3) * (i as i64 + 1) * 3) as f64)],
                ));
            }
            req.timeseries.push(series(
                "up",
                &[("instance", inst), ("job", "node")],
                &[(t, if i == 2 && step % 10 == 0 { 0.0 } else { 1.0 })],
            ));
        }
        reqs.push(req);
    }
    reqs
}

/// Remote-writes one request to `base`, asserting success.
pub(crate) fn post_write(base: &str, req: &prompb::WriteRequest) {
    use prost::Message;
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let (s, _, b) = http_request(
        "POST",
        &format!("{base}/api/v1/write"),
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &body,
    )
    .unwrap();
    assert!(
        s == 204 || s == 200,
        "{base}: remote write answered {s}: {}",
        String::from_utf8_lossy(&b)
    );
}

/// Both servers loaded with the same data: one hour at 15 s ending about ten minutes ago.
pub(crate) struct LoadedPair {
    pub reference: Reference,
    pub sextant: TestServer,
    _dir: tempfile::TempDir,
    /// Start of the data (ms, a whole minute); samples sit 1.234 s (+ jitter) after each step.
    pub base_ms: i64,
    /// Number of 15 s steps written.
    pub steps: i64,
}

impl LoadedPair {
    /// The last whole second at which data was written.
    pub(crate) fn end_s(&self) -> i64 {
        (self.base_ms + (self.steps - 1) * 15_000) / 1000
    }
}

/// Starts the reference and Sextant and remote-writes [`dataset`] to both.
pub(crate) fn loaded_pair() -> LoadedPair {
    let reference = start_prometheus();
    let dir = tempfile::tempdir().unwrap();
    let sextant = TestServer::builder(dir.path()).start();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let steps = 240; // 1 h at 15 s
    let base_ms = (now_ms - 70 * 60 * 1000) / 60_000 * 60_000;
    for req in dataset(base_ms, steps) {
        post_write(&reference.base, &req);
        post_write(&sextant.base, &req);
    }
    LoadedPair {
        reference,
        sextant,
        _dir: dir,
        base_ms,
        steps,
    }
}
