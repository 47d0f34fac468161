//! Differential PromQL test: the same data is remote-written to Sextant and to Debian's
//! reference Prometheus (`/usr/bin/prometheus`, installed by `scripts/test.sh`), then a corpus
//! of instant and range queries must give the same answers from both.
//!
//! Sample timestamps sit off the evaluation grid (by 1.234 s plus a per-series jitter) and
//! subquery ranges are not multiples of their steps, so the difference between Prometheus 2
//! (closed range start) and 3 (left-open) never matters. Debian's Prometheus is 2.42; where 3
//! changed behaviour (UTF-8 label names, `holt_winters` renamed) the corpus avoids the case.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";

struct Reference {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus() -> Reference {
    assert!(
        std::path::Path::new(PROMETHEUS).exists(),
        "the differential test needs Debian's prometheus at {PROMETHEUS}: run scripts/test.sh, which installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 15s\n").unwrap();
    let port = free_port();
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
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
fn dataset(base_ms: i64, steps: i64) -> Vec<prompb::WriteRequest> {
    let mut rng = Rng(0x5eed);
    let mut reqs = Vec::new();
    let instances = ["node-a:9100", "node-b:9100", "node-c:9100"];
    let mut counters = [0.0f64; 3 * 4];
    let mut buckets = [0.0f64; 3 * 5];
    let mut sums = [0.0f64; 3];
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

fn post_write(base: &str, req: &prompb::WriteRequest) {
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

/// One query result reduced to comparable form: label set -> values (t in ms, value bits).
fn normalise(v: &Value) -> (String, BTreeMap<String, Vec<(i64, String)>>) {
    let data = &v["data"];
    let rt = data["resultType"].as_str().unwrap_or("").to_string();
    let mut out = BTreeMap::new();
    let point = |p: &Value| {
        (
            (p[0].as_f64().unwrap() * 1000.0).round() as i64,
            p[1].as_str().unwrap().to_string(),
        )
    };
    match rt.as_str() {
        "scalar" | "string" => {
            out.insert(String::new(), vec![point(&data["result"])]);
        }
        _ => {
            for s in data["result"].as_array().unwrap() {
                let key = s["metric"].to_string();
                let pts = if let Some(vals) = s["values"].as_array() {
                    vals.iter().map(point).collect()
                } else {
                    vec![point(&s["value"])]
                };
                out.insert(key, pts);
            }
        }
    }
    (rt, out)
}

type Answer = BTreeMap<String, Vec<(i64, String)>>;

/// A short description of where two answers first differ.
fn first_difference(rt1: &str, a: &Answer, rt2: &str, b: &Answer) -> String {
    if rt1 != rt2 {
        return format!("result type {rt2}, reference {rt1}");
    }
    for (k, va) in a {
        let Some(vb) = b.get(k) else {
            return format!(
                "missing series {k} (sextant has {} series, reference {})",
                b.len(),
                a.len()
            );
        };
        for (i, x) in va.iter().enumerate() {
            match vb.get(i) {
                Some(y) if x.0 == y.0 && close(&x.1, &y.1) => {}
                Some(y) => return format!("series {k} point {i}: sextant {y:?}, reference {x:?}"),
                None => {
                    return format!(
                        "series {k}: sextant has {} points, reference {}",
                        vb.len(),
                        va.len()
                    )
                }
            }
        }
        if vb.len() != va.len() {
            return format!(
                "series {k}: sextant has {} points, reference {}",
                vb.len(),
                va.len()
            );
        }
    }
    let extra: Vec<&String> = b.keys().filter(|k| !a.contains_key(*k)).take(3).collect();
    format!("extra series in sextant: {extra:?}")
}

fn close(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => {
            (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12)
        }
        _ => false,
    }
}

const QUERIES: &[&str] = &[
    "up",
    "up == 0",
    "up == bool 0",
    "node_cpu_seconds_total",
    "node_cpu_seconds_total{mode=~\"user|system\"}",
    "node_cpu_seconds_total{mode!=\"idle\",instance=~\"node-[ab].*\"}",
    "rate(node_cpu_seconds_total[5m])",
    "irate(node_cpu_seconds_total[5m])",
    "increase(node_cpu_seconds_total[10m])",
    "delta(node_hwmon_temp_celsius[5m])",
    "idelta(node_hwmon_temp_celsius[5m])",
    "deriv(node_memory_MemAvailable_bytes[10m])",
    "predict_linear(node_memory_MemAvailable_bytes[10m], 3600)",
    "resets(node_cpu_seconds_total[30m])",
    "changes(up[30m])",
    "sum by (instance) (rate(node_cpu_seconds_total[5m]))",
    "sum without (mode) (rate(node_cpu_seconds_total[5m]))",
    "avg(node_hwmon_temp_celsius)",
    "max by (job) (node_hwmon_temp_celsius)",
    "min(node_memory_MemAvailable_bytes)",
    "count(up)",
    "count by (job) (up)",
    "group by (job) (up)",
    "stddev(node_hwmon_temp_celsius)",
    "stdvar(node_hwmon_temp_celsius)",
    "topk(2, node_hwmon_temp_celsius)",
    "bottomk(1, node_memory_MemAvailable_bytes)",
    "quantile(0.9, node_hwmon_temp_celsius)",
    "count_values(\"value\", up)",
    "avg_over_time(node_hwmon_temp_celsius[10m])",
    "min_over_time(node_hwmon_temp_celsius[10m])",
    "max_over_time(node_hwmon_temp_celsius[10m])",
    "sum_over_time(up[10m])",
    "count_over_time(up[10m])",
    "last_over_time(node_hwmon_temp_celsius[10m])",
    "quantile_over_time(0.5, node_hwmon_temp_celsius[10m])",
    "stddev_over_time(node_hwmon_temp_celsius[10m])",
    "present_over_time(beacon_head_slot[5m])",
    "absent(nonexistent_metric)",
    "absent(beacon_head_slot)",
    "absent_over_time(beacon_head_slot[5m])",
    "beacon_head_slot",
    "beacon_head_slot offset 10m",
    "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
    "node_memory_MemAvailable_bytes / 1024 / 1024",
    "-node_hwmon_temp_celsius",
    "node_hwmon_temp_celsius > 50",
    "node_hwmon_temp_celsius > bool 50",
    "up * on (instance) group_left (mode) node_cpu_seconds_total",
    "node_cpu_seconds_total / ignoring (mode) group_left node_memory_MemAvailable_bytes",
    "up and on (instance) node_hwmon_temp_celsius > 50",
    "up or beacon_head_slot",
    "up unless on (instance) node_hwmon_temp_celsius > 50",
    "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
    "label_join(up, \"both\", \"/\", \"job\", \"instance\")",
    "clamp(node_hwmon_temp_celsius, 45, 55)",
    "clamp_min(node_hwmon_temp_celsius, 50)",
    "clamp_max(node_hwmon_temp_celsius, 50)",
    "abs(-node_hwmon_temp_celsius)",
    "ceil(node_hwmon_temp_celsius)",
    "floor(node_hwmon_temp_celsius)",
    "round(node_hwmon_temp_celsius, 5)",
    "sqrt(node_hwmon_temp_celsius)",
    "ln(node_hwmon_temp_celsius)",
    "exp(up)",
    "timestamp(up)",
    "time()",
    "vector(1)",
    "scalar(sum(up))",
    "sum(up) + 1",
    "2 ^ 3 * 4 % 5",
    "max_over_time(rate(node_cpu_seconds_total[5m])[14m59s:1m])",
    "avg_over_time(sum(up)[9m59s:30s])",
    "hour(timestamp(up))",
    "day_of_week()",
    "sort_desc(node_hwmon_temp_celsius)",
    "sum(rate(node_cpu_seconds_total{mode=\"idle\"}[5m])) by (instance) / sum(rate(node_cpu_seconds_total[5m])) by (instance)",
    "sum by (instance) (rate(node_cpu_seconds_total[5m])) @ end()",
    "rate(node_cpu_seconds_total[5m] @ start())",
    "node_hwmon_temp_celsius offset -5m",
    "rate(node_cpu_seconds_total[5m] offset 10m)",
    "min_over_time(rate(node_cpu_seconds_total[1m])[9m59s:])",
    "sum_over_time(node_hwmon_temp_celsius[9m59s:1m] offset 5m)",
    "holt_winters(node_hwmon_temp_celsius[10m], 0.5, 0.5)",
    "sort(rate(node_cpu_seconds_total[5m]))",
    "count_values(\"le\", http_request_duration_seconds_bucket)",
    "topk by (instance) (1, rate(node_cpu_seconds_total[5m]))",
    "quantile by (instance) (0.25, rate(node_cpu_seconds_total[5m]))",
    "avg without (mode, instance) (rate(node_cpu_seconds_total[5m]))",
    "max(rate(node_cpu_seconds_total[5m])) by (mode) > 0.1",
    "node_cpu_seconds_total > on (instance) group_left node_hwmon_temp_celsius",
    "rate(node_cpu_seconds_total[5m]) * on (instance) group_left (job) up",
    "1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m]))",
    "node_hwmon_temp_celsius == on (instance) node_hwmon_temp_celsius",
    "vector(time()) - timestamp(node_hwmon_temp_celsius)",
    "minute(vector(time()))",
    "days_in_month(vector(time()))",
    "month(timestamp(up))",
    "year()",
    "sgn(deriv(node_memory_MemAvailable_bytes[10m]))",
    "log2(node_memory_MemAvailable_bytes)",
    "log10(node_memory_MemAvailable_bytes)",
    "sin(up) + cos(up) + tan(up)",
    "asin(up) + acos(up) + atan(up)",
    "sinh(up) + cosh(up) + tanh(up)",
    "deg(pi() * up) + rad(180 * up)",
    "asinh(up) + atanh(up - 0.5)",
    "-up",
    "+up",
    "(up)",
    "up % 2",
    "up ^ 2",
    "up != bool up",
    "up >= 1 < 2",
    "label_replace(up, \"x\", \"y\", \"nonexistent\", \"(.*)\")",
    "label_replace(up, \"instance\", \"\", \"instance\", \".*\")",
    "scalar(up)",
    "absent(up{job=\"nonexistent\", instance=\"x\"})",
    "absent_over_time(nonexistent{job=\"a\"}[5m])",
    "last_over_time(beacon_head_slot[10m])",
    "count_over_time(beacon_head_slot[30m])",
    "changes(node_hwmon_temp_celsius[10m])",
    "increase(http_request_duration_seconds_count[5m])",
    "histogram_quantile(0.99, sum by (le, instance) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(1, rate(http_request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0, rate(http_request_duration_seconds_bucket[5m]))",
    "{__name__=~\"node_.*\", instance=\"node-a:9100\"}",
    "{job=\"node\"}",
    "count by (__name__) ({job=\"node\"})",
    "sum(up) by (job) / on () group_left sum(up)",
    "\"a string\"",
    "1 / 0",
    "-1 / 0",
    "0 / 0",
    "up / 0",
    "node_cpu_seconds_total and ignoring (mode) up",
    "up unless up{instance=\"node-a:9100\"}",
    "stddev_over_time(rate(node_cpu_seconds_total[1m])[9m59s:30s])",
    "predict_linear(node_hwmon_temp_celsius[5m] @ end(), 600)",
];

/// Expressions both must reject, with the same status code.
const BAD_QUERIES: &[&str] = &[
    "sum(",
    "rate(up)",
    "up[5m]",
    "foo{",
    "{job=~\"(\"}",
    "{job=\"\"}",
    "up + on (instance) group_left node_cpu_seconds_total",
    "node_cpu_seconds_total + on (instance) node_cpu_seconds_total",
    "histogram_quantile(0.5)",
    "topk(\"a\", up)",
];

#[test]
fn promql_answers_match_reference_prometheus() {
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

    let end_s = (base_ms + (steps - 1) * 15_000) / 1000;
    let mut failures = Vec::new();
    let mut non_empty = 0;
    for q in QUERIES {
        let mut urls = Vec::new();
        for t in [end_s - 1800, end_s - 600, end_s] {
            urls.push(format!("/api/v1/query?query={}&time={t}", enc(q)));
        }
        urls.push(format!(
            "/api/v1/query_range?query={}&start={}&end={end_s}&step=60",
            enc(q),
            end_s - 3000
        ));
        for path in urls {
            let (s1, want) = get_json(&format!("{}{}", reference.base, path));
            let (s2, got) = get_json(&sextant.url(&path));
            if s1 != s2 {
                failures.push(format!("{q} ({path}): status {s2}, reference {s1}: {got}"));
                continue;
            }
            if s1 != 200 {
                continue;
            }
            let (rt1, a) = normalise(&want);
            let (rt2, b) = normalise(&got);
            if !a.is_empty() {
                non_empty += 1;
            }
            let same = rt1 == rt2
                && a.len() == b.len()
                && a.iter().all(|(k, va)| {
                    b.get(k).is_some_and(|vb| {
                        va.len() == vb.len()
                            && va.iter().zip(vb).all(|(x, y)| x.0 == y.0 && close(&x.1, &y.1))
                    })
                });
            if !same {
                failures.push(format!("{q} ({path}): {}", first_difference(&rt1, &a, &rt2, &b)));
            }
        }
    }
    for q in BAD_QUERIES {
        let path = format!("/api/v1/query?query={}&time={end_s}", enc(q));
        let (s1, want) = get_json(&format!("{}{}", reference.base, path));
        let (s2, got) = get_json(&sextant.url(&path));
        if s1 != s2 || want["errorType"] != got["errorType"] {
            failures.push(format!("{q}: sextant {s2} {got}, reference {s1} {want}"));
        }
    }
    assert!(
        non_empty > QUERIES.len() * 3,
        "too few non-empty reference answers ({non_empty}): the data did not load"
    );
    assert!(
        failures.is_empty(),
        "{} of {} queries differ:\n{}",
        failures.len(),
        QUERIES.len(),
        failures.join("\n")
    );
}
