//! `/api/v1/admin/tsdb/*`.

use crate::common::*;
use std::sync::{Arc, Mutex};
use storage::Matcher;
use web::AdminApi;

#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl AdminApi for Recorder {
    fn delete_series(&self, sets: &[Vec<Matcher>], start: i64, end: i64) -> Result<(), String> {
        let names: Vec<String> = sets
            .iter()
            .map(|s| {
                s.iter()
                    .map(|m| format!("{}{}{}", m.name, m.op, m.value))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        self.calls
            .lock()
            .unwrap()
            .push(format!("delete {names:?} {start} {end}"));
        Ok(())
    }
    fn clean_tombstones(&self) -> Result<(), String> {
        self.calls.lock().unwrap().push("clean".into());
        Ok(())
    }
    fn snapshot(&self, skip_head: bool) -> Result<String, String> {
        self.calls.lock().unwrap().push(format!("snapshot {skip_head}"));
        Ok("20261122T000000Z-0123456789abcdef".into())
    }
}

#[tokio::test]
async fn admin_disabled_by_default() {
    let api = TestApi::new();
    for path in [
        "/api/v1/admin/tsdb/delete_series?match[]=up",
        "/api/v1/admin/tsdb/clean_tombstones",
        "/api/v1/admin/tsdb/snapshot",
    ] {
        let r = post_form(api.router(), path, "").await;
        assert_error(&r, 503, "unavailable", "admin APIs disabled");
    }
}

#[tokio::test]
async fn admin_enabled_calls_the_storage() {
    let api = TestApi::new();
    let rec = Arc::new(Recorder::default());
    let mut st = api.state();
    st.enable_admin_api = true;
    st.admin = Some(rec.clone());
    let router = web::router(Arc::new(st));
    let r = post_form(
        router.clone(),
        "/api/v1/admin/tsdb/delete_series",
        "match[]=up&start=1&end=2",
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = post_form(router.clone(), "/api/v1/admin/tsdb/delete_series", "").await;
    assert_error(&r, 400, "bad_data", "no match[] parameter provided");
    let r = post_form(router.clone(), "/api/v1/admin/tsdb/clean_tombstones", "").await;
    assert_eq!(r.status, 204);
    let r = post_form(router.clone(), "/api/v1/admin/tsdb/snapshot?skip_head=true", "").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"name":"20261122T000000Z-0123456789abcdef"}}"#
    );
    let r = post_form(router, "/api/v1/admin/tsdb/snapshot?skip_head=maybe", "").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        *rec.calls.lock().unwrap(),
        vec![
            "delete [\"__name__=up\"] 1000 2000".to_string(),
            "clean".into(),
            "snapshot true".into()
        ]
    );
}
