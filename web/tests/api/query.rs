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

const T: i64 = 1_795_304_829_944;

#[tokio::test]
async fn instant_vector_matches_the_captured_reply() {
    let api = TestApi::new();
    load_up(&api, T - 4_000);
    let r = get(api.router(), "/api/v1/query?query=up&time=1795304829.944").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(r.body, fixture("query_up.json"));
    // The same as Grafana sends it: a form-encoded POST.
    let r = post_form(api.router(), "/api/v1/query", "query=up&time=1795304829.944").await;
    assert_eq!(r.body, fixture("query_up.json"));
    // RFC 3339 time.
    let r = get(
        api.router(),
        "/api/v1/query?query=up&time=2026-11-21T23:47:09.944Z",
    )
    .await;
    assert_eq!(r.body, fixture("query_up.json"));
}

#[tokio::test]
async fn grafana_health_check_is_a_scalar() {
    let api = TestApi::new();
    let r = post_form(api.router(), "/api/v1/query", "query=1%2B1&time=4").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#
    );
    let r = get(
        api.router(),
        &format!("/api/v1/query?query={}&time=1.5", enc("\"hi\"")),
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"string","result":[1.5,"hi"]}}"#
    );
    let r = get(
        api.router(),
        &format!("/api/v1/query?query={}&time=1", enc("1/0")),
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}}"#
    );
    let r = get(
        api.router(),
        &format!("/api/v1/query?query={}&time=1", enc("0/0")),
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}}"#
    );
}

#[tokio::test]
async fn instant_query_defaults_to_now() {
    let api = TestApi::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    api.add(&[("__name__", "g"), ("job", "x")], &[(now - 1_000, 7.0)]);
    let r = get(api.router(), "/api/v1/query?query=g").await;
    let j = r.json();
    assert_eq!(j["data"]["result"][0]["value"][1], "7", "{}", r.body);
    let t = j["data"]["result"][0]["value"][0].as_f64().unwrap();
    assert!((t * 1000.0 - now as f64).abs() < 60_000.0, "{t}");
}

#[tokio::test]
async fn range_query_matrix_shape() {
    let api = TestApi::new();
    // Two idle counters scraped every 5 s, rising 5 per scrape: rate 1/s.
    let t0 = 1_795_304_700_000;
    for cpu in ["1", "0"] {
        let samples: Vec<(i64, f64)> = (0..30).map(|k| (t0 + k * 5_000, (k * 5) as f64)).collect();
        api.add(
            &[
                ("__name__", "node_cpu_seconds_total"),
                ("cpu", cpu),
                ("instance", "127.0.0.1:39100"),
                ("job", "node"),
                ("mode", "idle"),
            ],
            &samples,
        );
    }
    let q = enc("rate(node_cpu_seconds_total{mode=\"idle\"}[30s])");
    let r = get(
        api.router(),
        &format!("/api/v1/query_range?query={q}&start=1795304769&end=1795304829&step=15"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = r.json();
    let want: serde_json::Value = serde_json::from_str(&fixture("query_range_rate.json")).unwrap();
    assert_eq!(got["data"]["resultType"], want["data"]["resultType"]);
    let (g, w) = (
        got["data"]["result"].as_array().unwrap(),
        want["data"]["result"].as_array().unwrap(),
    );
    assert_eq!(g.len(), w.len());
    for (gs, ws) in g.iter().zip(w) {
        // Same series in the same order (the name is dropped by rate).
        assert_eq!(gs["metric"], ws["metric"]);
        let (gv, wv) = (gs["values"].as_array().unwrap(), ws["values"].as_array().unwrap());
        assert_eq!(gv.len(), wv.len());
        for (gp, wp) in gv.iter().zip(wv) {
            // Timestamps identical (integers as JSON numbers), values strings.
            assert_eq!(gp[0], wp[0]);
            let v: f64 = gp[1].as_str().unwrap().parse().unwrap();
            assert!((v - 1.0).abs() < 1e-9, "{v}");
        }
    }
    // Step as a duration and as float seconds give the same answer; POST too.
    let a = get(
        api.router(),
        &format!("/api/v1/query_range?query={q}&start=1795304769&end=1795304829&step=15s"),
    )
    .await;
    let b = post_form(
        api.router(),
        "/api/v1/query_range",
        &format!("query={q}&start=1795304769&end=1795304829&step=15.0"),
    )
    .await;
    assert_eq!(a.body, r.body);
    assert_eq!(b.body, r.body);
    // limit cuts series and says so.
    let c = get(
        api.router(),
        &format!("/api/v1/query_range?query={q}&start=1795304769&end=1795304829&step=15&limit=1"),
    )
    .await;
    let j = c.json();
    assert_eq!(j["data"]["result"].as_array().unwrap().len(), 1);
    assert_eq!(
        j["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
}

#[tokio::test]
async fn histogram_quantile_shape_and_infos() {
    let api = TestApi::new();
    let t = T - 1_000;
    for (le, v) in [("0.1", 9.0), ("0.5", 10.0), ("+Inf", 10.0)] {
        api.add(&[("__name__", "req_bucket"), ("le", le)], &[(t, v)]);
    }
    let q = enc("histogram_quantile(0.9, req_bucket)");
    let r = get(
        api.router(),
        &format!("/api/v1/query?query={q}&time=1795304829.958"),
    )
    .await;
    let got = r.json();
    let want: serde_json::Value = serde_json::from_str(&fixture("query_histogram_quantile.json")).unwrap();
    assert_eq!(got["data"]["resultType"], want["data"]["resultType"]);
    assert_eq!(
        got["data"]["result"][0]["metric"],
        want["data"]["result"][0]["metric"]
    );
    assert_eq!(
        got["data"]["result"][0]["value"][0],
        want["data"]["result"][0]["value"][0]
    );
    assert!(got["data"]["result"][0]["value"][1].is_string());
    // Non-monotonic buckets: the engine's info goes to `infos`, not `warnings`.
    let api = TestApi::new();
    for (le, v) in [("0.1", 9.0), ("0.5", 8.0), ("+Inf", 10.0)] {
        api.add(&[("__name__", "req_bucket"), ("le", le)], &[(t, v)]);
    }
    let r = get(
        api.router(),
        &format!("/api/v1/query?query={q}&time=1795304829.958"),
    )
    .await;
    let j = r.json();
    assert!(j.get("warnings").is_none(), "{}", r.body);
    assert!(
        j["infos"][0].as_str().unwrap().starts_with("PromQL info:"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn query_errors_match_prometheus() {
    let api = TestApi::new();
    let r = get(api.router(), &format!("/api/v1/query?query={}", enc("sum("))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let j = r.json();
    assert_eq!(j["errorType"], "bad_data");
    let msg = j["error"].as_str().unwrap();
    assert!(msg.starts_with("invalid parameter \"query\": "), "{msg}");
    let want: serde_json::Value = serde_json::from_str(&fixture("query_error.json")).unwrap();
    assert_eq!(
        j.as_object().unwrap().keys().collect::<Vec<_>>(),
        want.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    // Unknown function, wrong argument type: bad_data too.
    for q in ["nosuchfn(up)", "rate(up)"] {
        let r = get(api.router(), &format!("/api/v1/query?query={}", enc(q))).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert_eq!(r.json()["errorType"], "bad_data");
    }
    // Range query over a range vector: bad_data.
    let r = get(
        api.router(),
        &format!(
            "/api/v1/query_range?query={}&start=0&end=10&step=1",
            enc("up[5m]")
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // An already expired timeout.
    let r = get(api.router(), "/api/v1/query?query=up&timeout=0").await;
    assert_error(&r, 503, "timeout", "query timed out in expression evaluation");
}

#[tokio::test]
async fn instant_query_limit() {
    let api = TestApi::new();
    load_up(&api, T - 4_000);
    let r = get(api.router(), "/api/v1/query?query=up&time=1795304829.944&limit=1").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"127.0.0.1:39090","job":"prometheus"},"value":[1795304829.944,"1"]}]},"warnings":["results truncated due to limit"]}"#
    );
}
