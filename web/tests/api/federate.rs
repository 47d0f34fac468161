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
            "# TYPE a untyped\na{{x=\"3\"}} 1e+06 {t}\n# TYPE b untyped\nb{{job=\"j\\\"q\"}} -Inf {t}\n",
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
