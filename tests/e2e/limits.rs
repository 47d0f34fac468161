//! Every ingest and query limit end to end: the flag sets it, the answer names it, and its
//! counter on `/metrics` rises (`sextant_ingest_rejected_requests_total`,
//! `sextant_ingest_rejected_samples_total`, `sextant_query_rejected_total`).

use crate::support::*;

fn rw_post(server: &TestServer, body: &[u8]) -> (u16, String) {
    let (s, _, b) = http_request(
        "POST",
        &server.url("/api/v1/write"),
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        body,
    )
    .unwrap();
    (s, String::from_utf8_lossy(&b).to_string())
}

fn req(ts: Vec<prompb::TimeSeries>) -> prompb::WriteRequest {
    prompb::WriteRequest {
        timeseries: ts,
        ..Default::default()
    }
}

fn one(t: i64) -> Vec<(i64, f64)> {
    vec![(t, 1.0)]
}

const RW: &str = "protocol=\"remote_write_v1\"";

#[test]
fn push_limits_name_the_limit_and_count() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg("--ingest.max-body-size=2KB")
        .arg("--ingest.max-decompressed-size=4KB")
        .arg("--ingest.max-series-per-request=3")
        .arg("--ingest.max-samples-per-request=20")
        .arg("--ingest.max-labels-per-series=4")
        .arg("--ingest.max-label-name-length=16")
        .arg("--ingest.max-label-value-length=32")
        .arg("--storage.max-series-per-metric=5")
        .arg("--storage.max-active-series=8")
        .start();
    let t = now_ms();
    let requests = |reason: &str| {
        metric(
            &server,
            &format!("sextant_ingest_rejected_requests_total{{{RW},reason=\"{reason}\"}}"),
        )
    };
    let samples = |proto: &str, reason: &str| {
        metric(
            &server,
            &format!("sextant_ingest_rejected_samples_total{{protocol=\"{proto}\",reason=\"{reason}\"}}"),
        )
    };

    // Body as sent: refused from Content-Length before anything is read or decoded.
    let (s, b) = rw_post(&server, &vec![0u8; 3000]);
    assert_eq!(s, 413, "{b}");
    assert!(
        b.contains("request body of 3000 bytes exceeds the limit of 2048 bytes"),
        "{b}"
    );
    assert_eq!(requests("body_size"), 1.0);

    // Decompressed: a small snappy body that would expand past 4 KiB.
    let big = "a".repeat(6000);
    let (s, b) = remote_write(&server, &req(vec![series("m", &[("v", big.as_str())], &one(t))]));
    assert_eq!(s, 413, "{b}");
    assert!(
        b.contains("decompressed body") && b.contains("limit of 4096 bytes"),
        "{b}"
    );
    assert_eq!(requests("decompressed_size"), 1.0);

    // Series and samples per request.
    let four: Vec<_> = (0..4)
        .map(|i| series("m", &[("i", &i.to_string())], &one(t)))
        .collect();
    let (s, b) = remote_write(&server, &req(four));
    assert_eq!(s, 413, "{b}");
    assert!(
        b.contains("request has 4 series, more than the limit of 3"),
        "{b}"
    );
    assert_eq!(requests("series_per_request"), 1.0);
    let many: Vec<(i64, f64)> = (0..21).map(|i| (t - 21_000 + i * 1000, 1.0)).collect();
    let (s, b) = remote_write(&server, &req(vec![series("m", &[], &many)]));
    assert_eq!(s, 413, "{b}");
    assert!(
        b.contains("request has 21 samples, more than the limit of 20"),
        "{b}"
    );
    assert_eq!(requests("samples_per_request"), 1.0);

    // Per-series limits: the series is refused (400, named), the others are kept.
    let cases = [
        (
            series("lim", &[("a", "1"), ("b", "1"), ("c", "1"), ("d", "1")], &one(t)),
            "has 5 labels, more than the limit of 4",
            "labels_per_series",
        ),
        (
            series("lim", &[("a_very_long_label_name", "1")], &one(t)),
            "label name of 22 bytes is longer than the limit of 16",
            "label_name_length",
        ),
        (
            series("lim", &[("a", &"v".repeat(33))], &one(t)),
            "has 33 bytes, more than the limit of 32",
            "label_value_length",
        ),
    ];
    for (bad, msg, reason) in cases {
        let (s, b) = remote_write(&server, &req(vec![bad, series("ok_series", &[], &one(t))]));
        assert_eq!(s, 400, "{b}");
        assert!(b.contains(msg), "{reason}: {b}");
        assert_eq!(samples("remote_write_v1", reason), 1.0, "{reason}");
    }
    let (_, v) = get_json(&server.url("/api/v1/query?query=ok_series"));
    assert_eq!(
        v["data"]["result"].as_array().unwrap().len(),
        1,
        "valid series kept: {v}"
    );

    // Import shares the label limits.
    let (s, _, b) = http_request(
        "POST",
        &server.url("/api/v1/import/prometheus"),
        &[("Content-Type", "text/plain")],
        format!("imp{{a=\"{}\"}} 1\n", "v".repeat(40)).as_bytes(),
    )
    .unwrap();
    assert_eq!(s, 400, "{}", String::from_utf8_lossy(&b));
    assert_eq!(samples("import", "label_value_length"), 1.0);
}

/// Cardinality limits on a server of their own: series that a refused request created
/// before it was refused stay in the head (empty) until the next head truncation and count
/// towards the limits meanwhile, as in Prometheus' head.
#[test]
fn cardinality_limits_refuse_new_series_with_4xx() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg("--storage.max-series-per-metric=5")
        .arg("--storage.max-active-series=8")
        .start();
    let t = now_ms();
    let samples = |proto: &str, reason: &str| {
        metric(
            &server,
            &format!("sextant_ingest_rejected_samples_total{{protocol=\"{proto}\",reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(
        remote_write(&server, &req(vec![series("ok_series", &[], &one(t))])).0,
        204
    );
    // Cardinality: 5 series per metric, 8 in all (ok_series is one already).
    let batch = |name: &str, from: usize, n: usize| -> Vec<prompb::TimeSeries> {
        (from..from + n)
            .map(|i| series(name, &[("i", &i.to_string())], &one(t)))
            .collect()
    };
    assert_eq!(remote_write(&server, &req(batch("card", 0, 3))).0, 204);
    let (s, b) = remote_write(&server, &req(batch("card", 3, 3)));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("--storage.max-series-per-metric"), "{b}");
    assert_eq!(samples("remote_write_v1", "max_series_per_metric"), 1.0);
    // 1 + 5 series now; two more fit, the third does not.
    let (s, b) = remote_write(&server, &req(batch("other", 0, 3)));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("--storage.max-active-series"), "{b}");
    assert_eq!(samples("remote_write_v1", "max_active_series"), 1.0);
    // A refused series is not retried by well-behaved senders: 4xx, not 5xx.
    // Samples of existing series are still accepted.
    let later: Vec<_> = batch("card", 0, 3)
        .into_iter()
        .map(|mut s| {
            s.samples[0].timestamp += 1000;
            s
        })
        .collect();
    let (s, b) = remote_write(&server, &req(later));
    assert_eq!(s, 204, "{b}");
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/otlp/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn otlp_limits_count_under_their_protocol() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg("--ingest.max-body-size=2KB")
        .arg("--ingest.max-decompressed-size=4KB")
        .start();
    let post = |body: &[u8], gzip: bool| {
        let mut h = vec![("Content-Type", "application/x-protobuf")];
        if gzip {
            h.push(("Content-Encoding", "gzip"));
        }
        let (s, _, b) = http_request("POST", &server.url("/v1/metrics"), &h, body).unwrap();
        (s, String::from_utf8_lossy(&b).to_string())
    };
    let pb = fixture("py_http_cumulative.pb");
    assert!(pb.len() > 2048 && pb.len() > 4096);
    let (s, b) = post(&pb, false);
    assert_eq!(s, 413, "{b}");
    let gz = fixture("py_http_cumulative.pb.gz");
    assert!(gz.len() < 2048);
    let (s, b) = post(&gz, true);
    assert_eq!(s, 413, "{b}");
    assert!(b.contains("decompressed body"), "{b}");
    let c = |reason: &str| {
        metric(
            &server,
            &format!("sextant_ingest_rejected_requests_total{{protocol=\"otlp_http\",reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(c("body_size"), 1.0);
    assert_eq!(c("decompressed_size"), 1.0);
    drop(server);

    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg("--ingest.max-samples-per-request=3")
        .start();
    let (s, _, b) = http_request(
        "POST",
        &server.url("/v1/metrics"),
        &[("Content-Type", "application/x-protobuf")],
        &pb,
    )
    .unwrap();
    assert_eq!(s, 413, "{}", String::from_utf8_lossy(&b));
    assert!(String::from_utf8_lossy(&b).contains("more than the limit of 3"));
    assert_eq!(
        metric(
            &server,
            "sextant_ingest_rejected_requests_total{protocol=\"otlp_http\",reason=\"samples_per_request\"}"
        ),
        1.0
    );
}

#[test]
fn query_limits_answer_and_count() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg("--query.max-samples=100")
        .start();
    let t = now_ms();
    let samples: Vec<(i64, f64)> = (0..200).map(|i| (t - (200 - i) * 1000, i as f64)).collect();
    assert_eq!(
        remote_write(&server, &req(vec![series("ql", &[], &samples)])).0,
        204
    );
    let (s, v) = get_json(&server.url(&format!(
        "/api/v1/query?query={}&time={}",
        enc("sum_over_time(ql[10m])"),
        t as f64 / 1000.0
    )));
    assert_eq!(s, 422, "{v}");
    assert!(v["error"].as_str().unwrap().contains("too many samples"), "{v}");
    assert_eq!(
        metric(
            &server,
            "sextant_query_rejected_total{reason=\"too_many_samples\"}"
        ),
        1.0
    );
    drop(server);

    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg("--query.timeout=1ms")
        .start();
    let (s, v) = get_json(&server.url(&format!(
        "/api/v1/query?query={}",
        enc("count_over_time(vector(1)[7d:1s])")
    )));
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["errorType"], "timeout", "{v}");
    assert!(metric(&server, "sextant_query_rejected_total{reason=\"timeout\"}") >= 1.0);
}
