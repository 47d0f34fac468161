//! `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/<name>/values`.

use crate::common::*;

const T: i64 = 1_795_304_829_944;

#[tokio::test]
async fn series_matches_the_captured_reply_byte_for_byte() {
    let api = TestApi::new();
    load_up(&api, T);
    let r = get(api.router(), "/api/v1/series?match[]=up").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(r.body, fixture("series_up.json"));
}

#[tokio::test]
async fn series_post_form_merges_body_and_query_matchers() {
    let api = TestApi::new();
    load_up(&api, T);
    let body = format!(
        "match[]={}&match[]={}",
        enc("up{job=\"node\"}"),
        enc("node_load1")
    );
    let r = post_form(
        api.router(),
        &format!("/api/v1/series?match[]={}", enc("up")),
        &body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Union of all three selectors, each series once, sorted by labels.
    assert_eq!(
        r.json(),
        serde_json::json!({"status":"success","data":[
            {"__name__":"node_load1","instance":"127.0.0.1:39100","job":"node"},
            {"__name__":"up","instance":"127.0.0.1:39090","job":"prometheus"},
            {"__name__":"up","instance":"127.0.0.1:39100","job":"node"}
        ]})
    );
}

#[tokio::test]
async fn series_respects_start_end_and_limit() {
    let api = TestApi::new();
    api.add(&[("__name__", "a"), ("x", "1")], &[(1_000, 1.0)]);
    api.add(&[("__name__", "a"), ("x", "2")], &[(10_000, 1.0)]);
    api.add(&[("__name__", "a"), ("x", "3")], &[(20_000, 1.0)]);
    let r = get(api.router(), "/api/v1/series?match[]=a&start=5&end=15").await;
    assert_eq!(r.json()["data"], serde_json::json!([{"__name__":"a","x":"2"}]));
    let r = get(
        api.router(),
        "/api/v1/series?match[]=a&start=1970-01-01T00:00:05Z",
    )
    .await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 2);
    let r = get(api.router(), "/api/v1/series?match[]=a&limit=2").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":[{"__name__":"a","x":"1"},{"__name__":"a","x":"2"}],"warnings":["results truncated due to limit"]}"#
    );
    let r = get(api.router(), "/api/v1/series?match[]=a&limit=3").await;
    assert!(r.json().get("warnings").is_none());
}

#[tokio::test]
async fn series_errors_name_the_parameter() {
    let api = TestApi::new();
    let r = get(api.router(), "/api/v1/series").await;
    assert_error(&r, 400, "bad_data", "no match[] parameter provided");
    let r = get(api.router(), "/api/v1/series?match[]=up&start=abc").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"abc\" to a valid timestamp",
    );
    let r = get(api.router(), "/api/v1/series?match[]=up&end=x1").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"end\": Invalid time value for 'end': cannot parse \"x1\" to a valid timestamp",
    );
    let r = get(api.router(), "/api/v1/series?match[]=up&limit=-1").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"limit\": limit must be non-negative",
    );
    let r = get(
        api.router(),
        &format!("/api/v1/series?match[]={}", enc("{job=~\".*\"}")),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid parameter \"match[]\": "));
    let r = get(
        api.router(),
        &format!("/api/v1/series?match[]={}", enc("rate(up[5m])")),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid parameter \"match[]\": "));
}

#[tokio::test]
async fn label_values_match_the_captured_reply() {
    let api = TestApi::new();
    load_up(&api, T);
    let r = get(api.router(), "/api/v1/label/job/values").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, fixture("label_job_values.json"));
    let r = get(api.router(), "/api/v1/label/__name__/values").await;
    assert_eq!(r.body, r#"{"status":"success","data":["node_load1","up"]}"#);
}

#[tokio::test]
async fn label_values_with_match_time_and_limit() {
    let api = TestApi::new();
    load_up(&api, T);
    api.add(&[("__name__", "old"), ("job", "gone")], &[(1_000, 1.0)]);
    let r = get(
        api.router(),
        &format!(
            "/api/v1/label/job/values?match[]={}",
            enc("up{instance=~\".*:39100\"}")
        ),
    )
    .await;
    assert_eq!(r.body, r#"{"status":"success","data":["node"]}"#);
    let r = get(api.router(), "/api/v1/label/job/values?start=100").await;
    assert_eq!(r.json()["data"], serde_json::json!(["node", "prometheus"]));
    let r = get(api.router(), "/api/v1/label/job/values").await;
    assert_eq!(
        r.json()["data"],
        serde_json::json!(["gone", "node", "prometheus"])
    );
    let r = get(api.router(), "/api/v1/label/job/values?limit=1").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":["gone"],"warnings":["results truncated due to limit"]}"#
    );
    let r = get(api.router(), "/api/v1/label/nosuch/values").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    let r = get(api.router(), "/api/v1/label/job/values?end=zzz").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"end\": Invalid time value for 'end': cannot parse \"zzz\" to a valid timestamp",
    );
}

#[tokio::test]
async fn label_values_of_utf8_escaped_names() {
    let api = TestApi::new();
    api.add(&[("__name__", "m"), ("my.label", "v1")], &[(T, 1.0)]);
    let r = get(api.router(), "/api/v1/label/U__my_2e_label/values").await;
    assert_eq!(r.body, r#"{"status":"success","data":["v1"]}"#);
}

#[tokio::test]
async fn labels_sorted_with_match_and_post() {
    let api = TestApi::new();
    load_up(&api, T);
    api.add(
        &[("__name__", "other"), ("zone", "a"), ("Upper", "x")],
        &[(T, 1.0)],
    );
    let r = get(api.router(), "/api/v1/labels").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":["Upper","__name__","instance","job","zone"]}"#
    );
    let r = post_form(api.router(), "/api/v1/labels", &format!("match[]={}", enc("up"))).await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":["__name__","instance","job"]}"#
    );
    let r = get(api.router(), "/api/v1/labels?limit=2").await;
    assert_eq!(r.json()["data"], serde_json::json!(["Upper", "__name__"]));
    assert_eq!(
        r.json()["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
    let r = get(api.router(), "/api/v1/labels?limit=abc").await;
    assert_error(
        &r,
        400,
        "bad_data",
        "invalid parameter \"limit\": strconv.Atoi: parsing \"abc\": invalid syntax",
    );
}

#[tokio::test]
async fn labels_fixture_shape() {
    // The captured reply is a sorted array of distinct strings; ours over the same names too.
    let want: Vec<String> = serde_json::from_value(
        serde_json::from_str::<serde_json::Value>(&fixture("labels.json")).unwrap()["data"].clone(),
    )
    .unwrap();
    let api = TestApi::new();
    for (i, name) in want.iter().enumerate().filter(|(_, n)| n.as_str() != "__name__") {
        api.add(
            &[("__name__", "m"), (name.as_str(), &format!("v{i}"))],
            &[(T, 1.0)],
        );
    }
    let r = get(api.router(), "/api/v1/labels").await;
    assert_eq!(r.body, fixture("labels.json"));
}

#[tokio::test]
async fn empty_database_gives_empty_lists() {
    let api = TestApi::new();
    let r = get(api.router(), "/api/v1/labels").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    let r = get(api.router(), "/api/v1/series?match[]=up").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
}
