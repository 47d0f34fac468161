//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/query_exemplars`, `/api/v1/format_query`,
//! `/api/v1/parse_query`: parameter handling and error envelopes.

use crate::common::*;

#[tokio::test]
async fn instant_query_parameter_errors() {
    let api = TestApi::new();
    let r = get(api.router(), "/api/v1/query?query=up&time=abc").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"abc\" to a valid timestamp",
    );
    let r = get(api.router(), "/api/v1/query?query=up&limit=x").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax",
    );
    let r = get(api.router(), "/api/v1/query?query=up&timeout=soon").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration",
    );
    let r = post_form(api.router(), "/api/v1/query", "query=up&time=1e400").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"1e400\" to a valid timestamp",
    );
}

#[tokio::test]
async fn range_query_parameter_errors() {
    let api = TestApi::new();
    let cases: &[(&str, &str)] = &[
        (
            "query=up&start=abc&end=10&step=1",
            "invalid parameter \"start\": cannot parse \"abc\" to a valid timestamp",
        ),
        (
            "query=up&start=1&step=1",
            "invalid parameter \"end\": cannot parse \"\" to a valid timestamp",
        ),
        (
            "query=up&start=10&end=5&step=1",
            "invalid parameter \"end\": end timestamp must not be before start time",
        ),
        (
            "query=up&start=0&end=10&step=0",
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ),
        (
            "query=up&start=0&end=10&step=-5s",
            "invalid parameter \"step\": cannot parse \"-5s\" to a valid duration",
        ),
        (
            "query=up&start=0&end=10&step=1x",
            "invalid parameter \"step\": cannot parse \"1x\" to a valid duration",
        ),
        (
            "query=up&start=0&end=11001&step=1",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "query=up&start=2026-01-01T00:00:00Z&end=2026-01-08T00:00:00Z&step=30s",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "query=up&start=0&end=10&step=1&timeout=1q",
            "invalid parameter \"timeout\": cannot parse \"1q\" to a valid duration",
        ),
    ];
    for (form, msg) in cases {
        let r = get(api.router(), &format!("/api/v1/query_range?{form}")).await;
        assert_error(&r, 400, "bad_data", msg);
        // The same through a form-encoded POST body.
        let r = post_form(api.router(), "/api/v1/query_range", form).await;
        assert_error(&r, 400, "bad_data", msg);
    }
}

#[tokio::test]
async fn range_query_accepts_exactly_11000_points() {
    let api = TestApi::new();
    // 11,000 steps is allowed (the check is "more than"); evaluation then runs.
    let r = get(
        api.router(),
        "/api/v1/query_range?query=1&start=0&end=11000&step=1",
    )
    .await;
    assert_ne!(
        r.json()["error"],
        serde_json::json!(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
        )
    );
    // Durations and float seconds are both steps.
    for step in ["1m", "60", "60.0", "1m0s"] {
        let r = get(
            api.router(),
            &format!("/api/v1/query_range?query=1&start=0&end=660000&step={step}"),
        )
        .await;
        assert_ne!(r.status, 400, "step {step}: {}", r.body);
    }
}

#[tokio::test]
async fn exemplars_are_an_empty_list() {
    let api = TestApi::new();
    let r = get(api.router(), "/api/v1/query_exemplars?query=up&start=1&end=2").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    // Grafana's availability probe sends milliseconds.
    let r = post_form(
        api.router(),
        "/api/v1/query_exemplars",
        "query=test&start=1704067200000&end=1704070800000",
    )
    .await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    let r = get(
        api.router(),
        &format!("/api/v1/query_exemplars?query={}", enc("sum(")),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid parameter \"query\": "));
    let r = get(api.router(), "/api/v1/query_exemplars?query=up&start=5&end=1").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "end timestamp must not be before start timestamp",
    );
}

#[tokio::test]
async fn format_and_parse_query() {
    let api = TestApi::new();
    let q = enc("sum(rate(http_requests_total{job=\"api\"}[5m])) by (job)");
    let r = get(api.router(), &format!("/api/v1/format_query?query={q}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let formatted = r.json()["data"].as_str().unwrap().to_string();
    assert!(formatted.contains("sum by (job) ("), "{formatted}");
    assert!(
        formatted.contains("rate(http_requests_total{job=\"api\"}[5m])"),
        "{formatted}"
    );
    let r = post_form(
        api.router(),
        "/api/v1/format_query",
        &format!("query={}", enc("up  +  1")),
    )
    .await;
    assert_eq!(r.body, r#"{"status":"success","data":"up + 1"}"#);
    let r = get(
        api.router(),
        &format!("/api/v1/format_query?query={}", enc("sum(")),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid parameter \"query\": "));

    let r = get(
        api.router(),
        &format!("/api/v1/parse_query?query={}", enc("up{job=\"a\"}")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"]["type"], "vectorSelector", "{}", r.body);
    let r = get(api.router(), &format!("/api/v1/parse_query?query={}", enc("1 +"))).await;
    assert_eq!(r.status, 400);
}
