//! The calls Grafana's Prometheus data source makes (see `shared/research/grafana-api.md`),
//! replayed in the order a user session produces them, with the methods and parameter
//! formats Grafana uses.

use crate::common::*;

const T: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z

fn load(api: &TestApi) {
    for (job, inst) in [("node", "a:9100"), ("node", "b:9100"), ("api", "c:8080")] {
        let samples: Vec<(i64, f64)> = (0..240).map(|k| (T + k * 15_000, (k * 3) as f64)).collect();
        api.add(
            &[
                ("__name__", "http_requests_total"),
                ("job", job),
                ("instance", inst),
            ],
            &samples,
        );
        api.add(
            &[("__name__", "up"), ("job", job), ("instance", inst)],
            &[(T + 3_585_000, 1.0)],
        );
    }
}

#[tokio::test]
async fn grafana_session() {
    let api = TestApi::new();
    load(&api);
    let r = api.router();

    // "Save & test": version detection, then the health-check query `1+1` at time 4.
    let b = get(r.clone(), "/api/v1/status/buildinfo").await;
    assert_eq!(b.status, 200);
    let h = post_form(r.clone(), "/api/v1/query", "query=1%2B1&time=4").await;
    assert_eq!(h.json()["status"], "success");
    assert_eq!(h.json()["data"]["resultType"], "scalar");

    // Metrics browser: metric names, label names with a matcher, values, metadata.
    let names = get(
        r.clone(),
        "/api/v1/label/__name__/values?start=1704067200&end=1704070800",
    )
    .await;
    assert_eq!(
        names.json()["data"],
        serde_json::json!(["http_requests_total", "up"])
    );
    let labels = post_form(
        r.clone(),
        "/api/v1/labels",
        &format!(
            "start=1704067200&end=1704070800&match[]={}&limit=40000",
            enc("{__name__=\"http_requests_total\"}")
        ),
    )
    .await;
    assert_eq!(
        labels.json()["data"],
        serde_json::json!(["__name__", "instance", "job"])
    );
    let values = get(
        r.clone(),
        &format!(
            "/api/v1/label/instance/values?match[]={}&start=1704067200&end=1704070800",
            enc("http_requests_total{job=\"node\"}")
        ),
    )
    .await;
    assert_eq!(values.json()["data"], serde_json::json!(["a:9100", "b:9100"]));
    let series = post_form(
        r.clone(),
        "/api/v1/series",
        &format!(
            "match[]={}&start=1704067200&end=1704070800&limit=40000",
            enc("{__name__!=\"\"}")
        ),
    )
    .await;
    assert_eq!(series.json()["data"].as_array().unwrap().len(), 6);
    let md = get(r.clone(), "/api/v1/metadata").await;
    assert_eq!(md.json(), serde_json::json!({"status": "success", "data": {}}));
    let rules = get(r.clone(), "/api/v1/rules").await;
    assert_eq!(rules.json()["data"]["groups"], serde_json::json!([]));

    // Exemplar availability probe (milliseconds), then the panel's range query (POST, with
    // start/end floored to the step and a data-source timeout).
    let ex = post_form(
        r.clone(),
        "/api/v1/query_exemplars",
        "query=test&start=1704067200000&end=1704070800000",
    )
    .await;
    assert_eq!(ex.status, 200);
    let q = enc("sum by (job) (rate(http_requests_total[1m]))");
    let range = post_form(
        r.clone(),
        "/api/v1/query_range",
        &format!("query={q}&start=1704067260&end=1704070800&step=60&timeout=60s"),
    )
    .await;
    assert_eq!(range.status, 200, "{}", range.body);
    let j = range.json();
    assert_eq!(j["data"]["resultType"], "matrix");
    let result = j["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 2);
    assert_eq!(result[0]["metric"], serde_json::json!({"job": "api"}));
    for s in result {
        let points = s["values"].as_array().unwrap();
        assert_eq!(points.len(), 60);
        for p in points {
            assert!(p[0].is_u64(), "{p}");
            assert!(p[1].is_string(), "{p}");
        }
    }
    // node has two instances at 0.2/s each.
    let v: f64 = result[1]["values"][0][1].as_str().unwrap().parse().unwrap();
    assert!((v - 0.4).abs() < 1e-9, "{v}");

    // A template variable `label_values(up, job)` and an instant table query.
    let var = get(
        r.clone(),
        "/api/v1/label/job/values?match[]=up&start=1704067200&end=1704070800",
    )
    .await;
    assert_eq!(var.json()["data"], serde_json::json!(["api", "node"]));
    let table = post_form(r, "/api/v1/query", "query=up&time=1704070800").await;
    assert_eq!(table.json()["data"]["result"].as_array().unwrap().len(), 3);
}
