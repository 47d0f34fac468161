//! `POST /api/v1/import/prometheus` with real exposition captures.

use crate::push_support::{fixture, post, Fixture};
use storage::{MetricType, Queryable};

const TEXT: &[(&str, &str)] = &[("content-type", "text/plain; version=0.0.4")];

#[tokio::test]
async fn node_exporter_text_is_imported_whole() {
    let f = Fixture::new();
    let body = fixture("exposition/node_exporter.txt");
    let (s, _, t) = f
        .send(post("/api/v1/import/prometheus", TEXT, body.clone()))
        .await;
    assert_eq!(s, 204, "{t}");
    let parsed = ingest::exposition::parse(&body, "text/plain").unwrap();
    let stored = f.all();
    assert_eq!(stored.len(), parsed.samples.len());
    for p in &parsed.samples {
        let s = stored.iter().find(|s| s.labels == p.labels).unwrap();
        assert_eq!(s.samples.len(), 1);
        assert_eq!(s.samples[0].v.to_bits(), p.value.to_bits(), "{}", p.labels);
    }
    // One timestamp (arrival time) for all samples without one.
    let t0 = stored[0].samples[0].t;
    assert!(stored.iter().all(|s| s.samples[0].t == t0));
    assert_eq!(
        f.db.metadata()["node_cpu_seconds_total"][0].metric_type,
        MetricType::Counter
    );
}

#[tokio::test]
async fn gzip_openmetrics_and_bad_bodies() {
    let f = Fixture::new();
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&fixture("exposition/vero.openmetrics.txt")).unwrap();
    let gz = e.finish().unwrap();
    let (s, _, t) = f
        .send(post(
            "/api/v1/import/prometheus",
            &[
                ("content-type", "application/openmetrics-text; version=1.0.0"),
                ("content-encoding", "gzip"),
            ],
            gz,
        ))
        .await;
    assert_eq!(s, 204, "{t}");
    let n = f.all().len();
    assert!(n > 10, "{n} series");

    let (s, _, t) = f
        .send(post(
            "/api/v1/import/prometheus",
            TEXT,
            "good_metric 1\nbroken{a=\"1\" 2\n",
        ))
        .await;
    assert_eq!(s, 400, "{t}");
    assert!(t.contains("line 2"), "{t}");
    let (s, _, t) = f
        .send(post(
            "/api/v1/import/prometheus",
            &[("content-type", "text/plain"), ("content-encoding", "zstd")],
            "x 1\n",
        ))
        .await;
    assert_eq!(s, 415, "{t}");
    assert_eq!(f.all().len(), n, "nothing of the bad bodies is stored");
    assert!(f.db.querier(0, i64::MAX).is_ok());
}
