//! Exemplars forwarded (`send_exemplars: true`): remote-written into one Sextant, relayed by
//! remote write 1.0 to Debian's Prometheus 2.42 (run with `--enable-feature=exemplar-storage`)
//! and by remote write 2.0 to a second Sextant; both must answer `/api/v1/query_exemplars`
//! with every exemplar written, once, in order. The forwarder is killed (`kill -9`) between two
//! pushes: the exemplars read back from its WAL after the restart still all arrive. A queue
//! left at the default (`false`) sends the samples and no exemplar, as Prometheus'.

use crate::reference::start_prometheus_with;
use crate::support::*;
use std::time::{Duration, Instant};

const STEPS: i64 = 12;
const STEP_MS: i64 = 15_000;
const JOBS: [&str; 3] = ["a", "b", "c"];

/// The trace id of `job`'s exemplar at step `j`.
fn trace(job: &str, j: i64) -> String {
    format!("{job}-{j:02}")
}

/// Steps `from..to` of `fwdx_total{job}` for each job: a sample and an exemplar per step.
fn push(server: &TestServer, base: i64, from: i64, to: i64) {
    let mut req = prompb::WriteRequest::default();
    for job in JOBS {
        let mut ts = series("fwdx_total", &[("job", job)], &[]);
        for j in from..to {
            let t = base + j * STEP_MS;
            ts.samples.push(prompb::Sample {
                value: j as f64,
                timestamp: t,
            });
            ts.exemplars.push(prompb::Exemplar {
                labels: vec![prompb::Label::new("trace_id", &trace(job, j))],
                value: j as f64 / 4.0,
                timestamp: t,
            });
        }
        req.timeseries.push(ts);
    }
    let (s, b) = remote_write(server, &req);
    assert!(s == 204 || s == 200, "push failed: {s} {b}");
}

/// Every exemplar `base` (a Prometheus API) holds for `fwdx_total`, as
/// (job, trace id, value, t) each series' exemplars in the order the API answers them.
fn held(base: &str, start_ms: i64) -> Vec<(String, String, f64, i64)> {
    let url = format!(
        "{base}/api/v1/query_exemplars?query={}&start={}&end={}",
        enc("fwdx_total"),
        start_ms as f64 / 1000.0 - 1.0,
        (start_ms + STEPS * STEP_MS) as f64 / 1000.0
    );
    let (s, v) = get_json(&url);
    assert_eq!(s, 200, "{base}: {v}");
    let mut out = Vec::new();
    for series in v["data"].as_array().unwrap() {
        let job = series["seriesLabels"]["job"].as_str().unwrap().to_string();
        for e in series["exemplars"].as_array().unwrap() {
            out.push((
                job.clone(),
                e["labels"]["trace_id"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().parse().unwrap(),
                (e["timestamp"].as_f64().unwrap() * 1000.0).round() as i64,
            ));
        }
    }
    // Series in job order (the API's series order is not specified); each one's own order kept.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn queue_metric(server: &TestServer, metric: &str, queue: &str) -> f64 {
    let (_, body) = http_get(&server.url("/metrics")).unwrap();
    let prefix = format!("{metric}{{remote_name=\"{queue}\",");
    String::from_utf8(body)
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1.0)
}

/// Waits until `f` holds, for at most a minute.
fn wait(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn exemplars_reach_prometheus_by_v1_and_sextant_by_v2() {
    let prom = start_prometheus_with(&["--enable-feature=exemplar-storage"]);
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = TestServer::builder(sink_dir.path()).start();
    let off_dir = tempfile::tempdir().unwrap();
    let off = TestServer::builder(off_dir.path()).start();
    let dir = tempfile::tempdir().unwrap();
    let queue = "queue_config: {batch_send_deadline: 100ms, max_samples_per_send: 5, min_backoff: 20ms, max_backoff: 300ms}";
    let cfg = dir.path().join("sextant.yml");
    std::fs::write(
        &cfg,
        format!(
            "scrape_configs: []\nremote_write:\n\
             - url: {}/api/v1/write\n  name: prom\n  send_exemplars: true\n  {queue}\n\
             - url: {}\n  name: sink\n  protobuf_message: io.prometheus.write.v2.Request\n  send_exemplars: true\n  {queue}\n\
             - url: {}\n  name: off\n  {queue}\n",
            prom.base,
            sink.url("/api/v1/write"),
            off.url("/api/v1/write"),
        ),
    )
    .unwrap();
    let mut server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    let base = (now_ms() - 10 * 60 * 1000) / 1000 * 1000;
    let half = STEPS / 2;
    let n = JOBS.len() as i64;
    push(&server, base, 0, half);
    let sent = |s: &TestServer, q: &str| queue_metric(s, "prometheus_remote_storage_exemplars_total", q);
    wait("the first half sent", || {
        sent(&server, "prom") >= (n * half) as f64 && sent(&server, "sink") >= (n * half) as f64
    });
    // Killed, restarted, then the rest: what the WAL holds after the saved position is sent
    // again (the documented resend bound); the receivers keep one copy of a repeated exemplar.
    server.kill9();
    server.restart();
    push(&server, base, half, STEPS);
    let want: Vec<(String, String, f64, i64)> = JOBS
        .iter()
        .flat_map(|job| {
            (0..STEPS).map(move |j| (job.to_string(), trace(job, j), j as f64 / 4.0, base + j * STEP_MS))
        })
        .collect();
    for (what, url) in [
        ("Prometheus 2.42 (1.0)", &prom.base),
        ("Sextant (2.0)", &sink.base),
    ] {
        wait(what, || held(url, base).len() >= want.len());
        assert_eq!(held(url, base), want, "{what}: every exemplar, once, in order");
    }
    for q in ["prom", "sink"] {
        for m in [
            "prometheus_remote_storage_exemplars_dropped_total",
            "prometheus_remote_storage_exemplars_pending",
        ] {
            assert_eq!(queue_metric(&server, m, q), 0.0, "{q}: {m}");
        }
        // A resent request whose samples are older than the receiver's newest is refused
        // (out of order) with its exemplars: counted as failed, never more than one batch
        // per series here, and the exemplars were already there.
        let failed = queue_metric(&server, "prometheus_remote_storage_exemplars_failed_total", q);
        assert!(
            (0.0..=(n * half) as f64).contains(&failed),
            "{q}: {failed} failed"
        );
        eprintln!("{q}: exemplars failed after the kill -9 resend: {failed}");
    }
    // The status endpoint shows the same counters.
    let (s, v) = get_json(&server.url("/api/v1/status/remote_write"));
    assert_eq!(s, 200, "{v}");
    let q = |name: &str| {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        q("prom")["exemplarsSent"].as_f64(),
        Some(sent(&server, "prom")),
        "{v}"
    );
    assert_eq!(q("off")["exemplarsSent"], 0, "{v}");
    // The queue left at send_exemplars: false sent the samples and no exemplar.
    wait("the samples at the default queue", || {
        query_count(&off) >= n * STEPS
    });
    assert_eq!(sent(&server, "off"), 0.0);
    assert_eq!(held(&off.base, base), Vec::new());
}

/// Samples of `fwdx_total` `server` holds.
fn query_count(server: &TestServer) -> i64 {
    let url = server.url(&format!(
        "/api/v1/query?query={}",
        enc("sum(count_over_time(fwdx_total[1h]))")
    ));
    let (_, v) = get_json(&url);
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
