//! `/api/v1/export`, `/api/v1/export/csv`, `/api/v1/read`.

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use prompb as proto;
use prost::Message;
use std::sync::Arc;
use storage::{Labels, STALE_NAN};

fn load(api: &TestApi) {
    api.add(
        &[("__name__", "up"), ("job", "node")],
        &[(1_000, 1.0), (2_000, 0.0), (3_000, STALE_NAN)],
    );
    api.add(&[("__name__", "up"), ("job", "a,\"b\"")], &[(1_500, 2.5)]);
    api.add(&[("__name__", "other")], &[(1_000, f64::INFINITY)]);
}

#[tokio::test]
async fn export_json_lines() {
    let api = TestApi::new();
    load(&api);
    let r = get(api.router(), "/api/v1/export?match[]=up").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type(), "application/stream+json");
    assert_eq!(
        r.body,
        "{\"metric\":{\"__name__\":\"up\",\"job\":\"a,\\\"b\\\"\"},\"values\":[2.5],\"timestamps\":[1500]}\n\
         {\"metric\":{\"__name__\":\"up\",\"job\":\"node\"},\"values\":[1,0],\"timestamps\":[1000,2000]}\n"
    );
    let r = post_form(api.router(), "/api/v1/export", "match[]=up&start=1.6&end=2").await;
    assert_eq!(
        r.body,
        "{\"metric\":{\"__name__\":\"up\",\"job\":\"node\"},\"values\":[0],\"timestamps\":[2000]}\n"
    );
    let r = get(api.router(), "/api/v1/export").await;
    assert_error(&r, 400, "bad_data", "missing `match[]` arg");
}

#[tokio::test]
async fn export_csv_columns() {
    let api = TestApi::new();
    load(&api);
    let r = get(
        api.router(),
        "/api/v1/export/csv?match[]=up&format=__name__,job,__value__,__timestamp__:unix_ms",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type(), "text/csv; charset=utf-8");
    assert_eq!(
        r.body,
        "up,\"a,\"\"b\"\"\",2.5,1500\nup,node,1,1000\nup,node,0,2000\n"
    );
    let r = get(
        api.router(),
        &format!(
            "/api/v1/export/csv?match[]={}&format=__value__,__timestamp__:rfc3339,__timestamp__:unix_s,missing",
            enc("{__name__=\"other\"}")
        ),
    )
    .await;
    assert_eq!(r.body, "+Inf,1970-01-01T00:00:01Z,1,\n");
    let r = get(api.router(), "/api/v1/export/csv?match[]=up").await;
    assert_eq!(r.status, 400);
    let r = get(
        api.router(),
        "/api/v1/export/csv?match[]=up&format=__timestamp__:nope",
    )
    .await;
    assert_eq!(r.status, 400);
}

fn read_request(req: &proto::ReadRequest) -> Request<Body> {
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    Request::post("/api/v1/read")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .body(Body::from(body))
        .unwrap()
}

fn matcher(t: i32, name: &str, value: &str) -> proto::LabelMatcher {
    proto::LabelMatcher {
        r#type: t,
        name: name.into(),
        value: value.into(),
    }
}

#[tokio::test]
async fn remote_read_samples() {
    let api = TestApi::new();
    load(&api);
    let mut st = api.state();
    st.external_labels = Labels::from_pairs([("cluster", "c1")]);
    let router = web::router(Arc::new(st));
    let req = proto::ReadRequest {
        queries: vec![
            proto::Query {
                start_timestamp_ms: 0,
                end_timestamp_ms: 2_500,
                matchers: vec![
                    matcher(0, "__name__", "up"),
                    matcher(2, "job", "no.*"),
                    matcher(0, "cluster", "c1"),
                ],
                hints: None,
            },
            proto::Query {
                start_timestamp_ms: 0,
                end_timestamp_ms: 10_000,
                matchers: vec![matcher(0, "__name__", "other"), matcher(0, "cluster", "other")],
                hints: None,
            },
        ],
        accepted_response_types: vec![proto::ResponseType::Samples as i32],
    };
    let resp = tower::ServiceExt::oneshot(router.clone(), read_request(&req))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("content-encoding").unwrap(), "snappy");
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/x-protobuf"
    );
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let raw = snap::raw::Decoder::new().decompress_vec(&bytes).unwrap();
    let got = proto::ReadResponse::decode(raw.as_slice()).unwrap();
    let label = proto::Label::new;
    assert_eq!(got.results.len(), 2);
    assert_eq!(
        got.results[0].timeseries,
        vec![proto::TimeSeries {
            labels: vec![
                label("__name__", "up"),
                label("cluster", "c1"),
                label("job", "node")
            ],
            samples: vec![
                proto::Sample {
                    value: 1.0,
                    timestamp: 1_000
                },
                proto::Sample {
                    value: 0.0,
                    timestamp: 2_000
                },
            ],
            ..Default::default()
        }]
    );
    // A matcher on an external label with another value selects nothing.
    assert!(got.results[1].timeseries.is_empty());

    // A client that also accepts gzip still gets plain snappy (no second encoding).
    let mut gz = read_request(&req);
    gz.headers_mut()
        .insert("accept-encoding", "gzip".parse().unwrap());
    let resp = tower::ServiceExt::oneshot(router.clone(), gz).await.unwrap();
    assert_eq!(resp.headers().get("content-encoding").unwrap(), "snappy");
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let raw = snap::raw::Decoder::new().decompress_vec(&bytes).unwrap();
    assert_eq!(proto::ReadResponse::decode(raw.as_slice()).unwrap(), got);

    let streamed_only = proto::ReadRequest {
        queries: vec![],
        accepted_response_types: vec![proto::ResponseType::StreamedXorChunks as i32],
    };
    let r = send(router.clone(), read_request(&streamed_only)).await;
    assert_eq!(r.status, 400);
    let garbage = Request::post("/api/v1/read")
        .body(Body::from("not snappy"))
        .unwrap();
    let r = send(router, garbage).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("snappy"), "{}", r.body);
}

/// Native histograms come back in `TimeSeries.histograms`: integer ones as integer histograms
/// (delta-encoded), float ones with float counts.
#[tokio::test]
async fn remote_read_histograms() {
    let api = TestApi::new();
    let int = storage::Histogram {
        schema: 1,
        count: 5,
        zero_count: 1,
        sum: 7.5,
        zero_threshold: 0.001,
        positive_spans: vec![storage::BucketSpan::new(-1, 2)],
        positive_deltas: vec![1, 2],
        ..Default::default()
    }
    .to_float();
    let mut float = int.clone();
    float.mul(0.5);
    let labels = Labels::from_pairs([("__name__", "lat_seconds"), ("job", "a")]);
    let mut app = storage::Appendable::appender(api.db.as_ref());
    app.append_histogram(storage::SeriesRef::NONE, &labels, 1_000, &int)
        .unwrap();
    app.append_histogram(storage::SeriesRef::NONE, &labels, 2_000, &float)
        .unwrap();
    app.commit().unwrap();
    let router = api.router();
    let req = proto::ReadRequest {
        queries: vec![proto::Query {
            start_timestamp_ms: 0,
            end_timestamp_ms: 5_000,
            matchers: vec![matcher(0, "__name__", "lat_seconds")],
            hints: None,
        }],
        accepted_response_types: vec![proto::ResponseType::Samples as i32],
    };
    let resp = tower::ServiceExt::oneshot(router, read_request(&req))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let raw = snap::raw::Decoder::new().decompress_vec(&bytes).unwrap();
    let got = proto::ReadResponse::decode(raw.as_slice()).unwrap();
    let ts = &got.results[0].timeseries;
    assert_eq!(ts.len(), 1);
    let h = &ts[0].histograms;
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(h[0].timestamp, 1_000);
    assert_eq!(h[0].count, Some(proto::histogram::Count::CountInt(5)));
    assert_eq!(h[0].positive_deltas, vec![1, 2]);
    assert_eq!(
        h[0].positive_spans,
        vec![proto::BucketSpan {
            offset: -1,
            length: 2
        }]
    );
    assert_eq!(h[1].count, Some(proto::histogram::Count::CountFloat(2.5)));
    assert_eq!(h[1].positive_counts, vec![0.5, 1.5]);
    assert_eq!(h[1].sum, 3.75);
}
