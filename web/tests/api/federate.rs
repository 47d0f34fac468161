//! `/federate`.

use crate::common::*;
use std::sync::Arc;
use storage::{now_ms, Labels, STALE_NAN};

#[tokio::test]
async fn federate_matches_the_captured_format() {
    let api = TestApi::new();
    let t = now_ms() - 10_000;
    let lbl = |name: &'static str| {
        [
            ("__name__", name),
            ("instance", "127.0.0.1:39100"),
            ("job", "node"),
        ]
    };
    // Older samples first; only the latest is federated.
    api.add(&lbl("node_load1"), &[(t - 5000, 1.0), (t, 2.5)]);
    api.add(&lbl("node_load15"), &[(t, 0.29)]);
    api.add(&lbl("node_load5"), &[(t, 0.83)]);
    api.add(&[("__name__", "other"), ("job", "node")], &[(t, 1.0)]);
    let mut st = api.state();
    st.external_labels = Labels::from_pairs([("fixture", "local")]);
    let router = web::router(Arc::new(st));
    let r = get(
        router,
        &format!("/federate?match[]={}", enc("{__name__=~\"node_load.*\"}")),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    let want = fixture("federate_node_load.txt").replace("1795304828096", &t.to_string()) + "\n";
    assert_eq!(r.body, want);
}

#[tokio::test]
async fn federate_skips_stale_and_old_series_and_merges_selectors() {
    let api = TestApi::new();
    let now = now_ms();
    api.add(
        &[("__name__", "a"), ("x", "1")],
        &[(now - 20_000, 1.0), (now - 10_000, STALE_NAN)],
    );
    // Older than the 5 m lookback.
    api.add(&[("__name__", "a"), ("x", "2")], &[(now - 400_000, 2.0)]);
    api.add(&[("__name__", "a"), ("x", "3")], &[(now - 1_000, 1e6)]);
    api.add(
        &[("__name__", "b"), ("job", "j\"q")],
        &[(now - 1_000, f64::NEG_INFINITY)],
    );
    let r = get(
        api.router(),
        &format!("/federate?match[]=a&match[]={}&match[]=b", enc("{x=\"3\"}")),
    )
    .await;
    assert_eq!(
        r.body,
        format!(
            "# TYPE a untyped\na{{x=\"3\",instance=\"\"}} 1e+06 {t}\n# TYPE b untyped\nb{{job=\"j\\\"q\",instance=\"\"}} -Inf {t}\n",
            t = now - 1_000
        )
    );
}

#[tokio::test]
async fn federate_without_or_with_bad_match() {
    let api = TestApi::new();
    api.add(&[("__name__", "a")], &[(now_ms(), 1.0)]);
    let r = get(api.router(), "/federate").await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, ""));
    let r = get(api.router(), &format!("/federate?match[]={}", enc("a{"))).await;
    assert_eq!(r.status, 400);
    assert!(!r.body.is_empty());
}

const PROTOBUF: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

#[tokio::test]
async fn federate_serves_native_histograms_in_protobuf_and_leaves_them_out_of_text() {
    use prost::Message;
    use storage::{Appendable, BucketSpan, FloatHistogram, SeriesRef};
    use tower::ServiceExt;
    let api = TestApi::new();
    let t = now_ms() - 1_000;
    api.add(&[("__name__", "f")], &[(t, 2.0)]);
    let h = FloatHistogram {
        schema: 1,
        zero_threshold: 0.001,
        zero_count: 1.0,
        count: 4.0,
        sum: 6.5,
        positive_spans: vec![BucketSpan::new(1, 2)],
        positive_buckets: vec![1.0, 2.0],
        ..Default::default()
    };
    let l = Labels::from_pairs([("__name__", "h"), ("job", "x")]);
    let mut app = api.db.appender();
    app.append_histogram(SeriesRef::NONE, &l, t, &h).unwrap();
    app.commit().unwrap();
    let uri = format!("/federate?match[]={}", enc("{__name__=~\"f|h\"}"));

    let text = get(api.router(), &uri).await;
    assert_eq!(text.body, format!("# TYPE f untyped\nf{{instance=\"\"}} 2 {t}\n"));

    let req = axum::http::Request::get(&uri)
        .header(
            "accept",
            format!("{PROTOBUF};q=0.7,text/plain;version=0.0.4;q=0.3"),
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = api.router().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some(PROTOBUF)
    );
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let mut b = &body[..];
    let mut families = Vec::new();
    while !b.is_empty() {
        families.push(prompb::client::MetricFamily::decode_length_delimited(&mut b).unwrap());
    }
    assert_eq!(families.len(), 2);
    assert_eq!(families[0].name.as_deref(), Some("f"));
    assert_eq!(families[0].metric[0].untyped.and_then(|u| u.value), Some(2.0));
    assert_eq!(families[1].name.as_deref(), Some("h"));
    assert_eq!(
        families[1].r#type,
        Some(prompb::client::MetricType::Histogram as i32)
    );
    let m = &families[1].metric[0];
    assert_eq!(m.timestamp_ms, Some(t));
    let ph = m.histogram.as_ref().unwrap();
    assert_eq!(
        (
            ph.sample_count_float,
            ph.sample_sum,
            ph.schema,
            ph.zero_count_float
        ),
        (Some(4.0), Some(6.5), Some(1), Some(1.0))
    );
    assert_eq!(ph.positive_count, vec![1.0, 2.0]);
    assert_eq!(ph.positive_span[0].offset, Some(1));
}
