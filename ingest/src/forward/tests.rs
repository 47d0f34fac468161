//! Queue tests against a receiver on 127.0.0.1 that fails on command.

use super::*;
use crate::push::PushLimits;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use storage::{Appendable, Db, DbOptions, Labels, SeriesRef};

/// What the fake receiver got, and how it answers.
#[derive(Default)]
struct Receiver {
    /// (series name, t, v) in arrival order.
    got: Mutex<Vec<(String, i64, f64)>>,
    /// Answer this many requests with `fail_status` before accepting.
    fail_next: AtomicUsize,
    fail_status: AtomicUsize,
    requests: AtomicUsize,
    headers: Mutex<Option<HeaderMap>>,
    /// Label sets seen (1.0 only), as `name=value,...`.
    label_sets: Mutex<std::collections::BTreeSet<String>>,
    /// Answer 2.0 requests with 415, as a 1.0-only receiver does.
    refuse_v2: std::sync::atomic::AtomicBool,
    /// 2.0 requests refused that way.
    refused_v2: AtomicUsize,
    /// (series name, t, histogram) in arrival order.
    histograms: Mutex<Vec<(String, i64, storage::FloatHistogram)>>,
    /// (series name, t, trace_id, value) in arrival order.
    exemplars: Mutex<Vec<(String, i64, String, f64)>>,
}

async fn start_receiver(r: Arc<Receiver>) -> String {
    let app = axum::Router::new().route(
        "/write",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = r.clone();
            async move {
                r.requests.fetch_add(1, Ordering::SeqCst);
                *r.headers.lock() = Some(headers.clone());
                if r.fail_next.load(Ordering::SeqCst) > 0 {
                    r.fail_next.fetch_sub(1, Ordering::SeqCst);
                    let code = r.fail_status.load(Ordering::SeqCst) as u16;
                    return (StatusCode::from_u16(code).unwrap(), "no thanks".to_string());
                }
                let v2 = headers
                    .get("content-type")
                    .is_some_and(|v| v.to_str().unwrap().contains("v2"));
                if v2 && r.refuse_v2.load(Ordering::SeqCst) {
                    r.refused_v2.fetch_add(1, Ordering::SeqCst);
                    return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "1.0 only".to_string());
                }
                let mut got = r.got.lock();
                if v2 {
                    let w = crate::remote_write::decode_v2(&body, &PushLimits::default()).unwrap();
                    for ts in w.timeseries {
                        let name = String::from_utf8(w.symbols[ts.labels_refs[1] as usize].to_vec()).unwrap();
                        for s in ts.samples {
                            got.push((name.clone(), s.timestamp, s.value));
                        }
                        for h in &ts.histograms {
                            let fh = crate::remote_write::histogram_from_wire(h).unwrap();
                            r.histograms.lock().push((name.clone(), h.timestamp, fh));
                        }
                        for e in &ts.exemplars {
                            let sym = |i: u32| String::from_utf8(w.symbols[i as usize].to_vec()).unwrap();
                            assert_eq!(sym(e.labels_refs[0]), "trace_id");
                            let trace = sym(e.labels_refs[1]);
                            r.exemplars
                                .lock()
                                .push((name.clone(), e.timestamp, trace, e.value));
                        }
                    }
                } else {
                    let w = crate::remote_write::decode_v1(&body, &PushLimits::default()).unwrap();
                    for ts in w.timeseries {
                        let set: Vec<String> = ts
                            .labels
                            .iter()
                            .map(|l| {
                                format!(
                                    "{}={}",
                                    String::from_utf8_lossy(&l.name),
                                    String::from_utf8_lossy(&l.value)
                                )
                            })
                            .collect();
                        r.label_sets.lock().insert(set.join(","));
                        let name = ts
                            .labels
                            .iter()
                            .find(|l| l.name == "__name__")
                            .map(|l| String::from_utf8(l.value.to_vec()).unwrap())
                            .unwrap();
                        for s in ts.samples {
                            got.push((name.clone(), s.timestamp, s.value));
                        }
                        for h in &ts.histograms {
                            let fh = crate::remote_write::histogram_from_wire(h).unwrap();
                            r.histograms.lock().push((name.clone(), h.timestamp, fh));
                        }
                        for e in &ts.exemplars {
                            assert_eq!(e.labels[0].name, "trace_id");
                            let trace = String::from_utf8(e.labels[0].value.to_vec()).unwrap();
                            r.exemplars
                                .lock()
                                .push((name.clone(), e.timestamp, trace, e.value));
                        }
                    }
                }
                (StatusCode::NO_CONTENT, String::new())
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}/write")
}

fn db(dir: &std::path::Path) -> Db {
    let mut o = DbOptions::new(dir);
    o.auto_maintenance = false;
    o.wal_segment_size = 8192;
    Db::open(o).unwrap()
}

fn append(db: &Db, from: i64, to: i64) {
    for t in from..to {
        let mut a = db.appender();
        for s in 0..3 {
            let l = Labels::from_pairs([("__name__", format!("m{s}")), ("job", "x".into())]);
            a.append(SeriesRef::NONE, &l, t * 1000, t as f64).unwrap();
        }
        a.commit().unwrap();
    }
}

fn cfg(url: &str) -> RemoteWriteConfig {
    let mut c = RemoteWriteConfig::new(url);
    c.queue_config.batch_send_deadline = storage::PromDuration(Duration::from_millis(20));
    c.queue_config.min_backoff = storage::PromDuration(Duration::from_millis(5));
    c.queue_config.max_backoff = storage::PromDuration(Duration::from_millis(40));
    c.queue_config.max_samples_per_send = 50;
    c.queue_config.capacity = 100;
    c.queue_config.min_shards = 2;
    c
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Per series, the timestamps received, checked strictly increasing (in order, no duplicate).
fn per_series(got: &[(String, i64, f64)]) -> std::collections::BTreeMap<String, Vec<i64>> {
    let mut m: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for (n, t, _) in got {
        m.entry(n.clone()).or_default().push(*t);
    }
    for (n, ts) in &m {
        assert!(
            ts.windows(2).all(|w| w[0] < w[1]),
            "{n} out of order or duplicated: {ts:?}"
        );
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_retries_then_delivers_everything_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir.path().join("data"));
    let r = Arc::new(Receiver::default());
    let url = start_receiver(r.clone()).await;
    let mgr = ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
    mgr.apply(&[cfg(&url)], &Labels::from_pairs([("replica", "a")]))
        .await
        .unwrap();
    // The receiver fails the next 30 requests with 503 (retryable).
    r.fail_status.store(503, Ordering::SeqCst);
    r.fail_next.store(30, Ordering::SeqCst);
    append(&db, 1, 301);
    wait_for("900 samples", || r.got.lock().len() >= 900).await;
    let got = r.got.lock().clone();
    assert_eq!(got.len(), 900);
    let m = per_series(&got);
    assert_eq!(m["m0"], (1..301).map(|t| t * 1000).collect::<Vec<_>>());
    // The queue counts a batch as sent once it has read the response, just after the
    // receiver stored it.
    wait_for("the queue to count 900 sent", || mgr.statuses()[0].sent >= 900).await;
    let st = &mgr.statuses()[0];
    assert!(st.retried > 0, "{st:?}");
    assert_eq!((st.sent, st.failed, st.pending), (900, 0, 0));
    // Headers of the protocol.
    let h = r.headers.lock().clone().unwrap();
    assert_eq!(h["content-encoding"], "snappy");
    assert_eq!(h["x-prometheus-remote-write-version"], "0.1.0");
    let mut e = storage::metrics::Exposition::new();
    mgr.render_metrics(&mut e, None);
    let text = e.finish();
    assert!(
        text.contains("prometheus_remote_storage_samples_total{"),
        "{text}"
    );
    mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_dropped_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir.path().join("data"));
    let r = Arc::new(Receiver::default());
    let url = start_receiver(r.clone()).await;
    let mgr = ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
    let mut c = cfg(&url);
    c.queue_config.min_shards = 1;
    c.queue_config.max_samples_per_send = 3;
    c.protobuf_message = ProtobufMessage::V2;
    mgr.apply(&[c], &Labels::empty()).await.unwrap();
    r.fail_status.store(400, Ordering::SeqCst);
    r.fail_next.store(1, Ordering::SeqCst);
    append(&db, 1, 11);
    wait_for("27 samples", || r.got.lock().len() >= 27).await;
    wait_for("the queue to count 27 sent", || mgr.statuses()[0].sent >= 27).await;
    let st = &mgr.statuses()[0];
    assert_eq!(st.failed, 3, "{st:?}");
    assert_eq!(st.retried, 0);
    assert_eq!(st.sent, 27);
    mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_from_the_saved_position() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let r = Arc::new(Receiver::default());
    let url = start_receiver(r.clone()).await;
    {
        let db = db(&data);
        let mgr =
            ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
        mgr.apply(&[cfg(&url)], &Labels::empty()).await.unwrap();
        append(&db, 1, 101);
        wait_for("300 samples", || r.got.lock().len() >= 300).await;
        // The remote end goes away; more data comes in; Sextant stops.
        r.fail_status.store(503, Ordering::SeqCst);
        r.fail_next.store(usize::MAX / 2, Ordering::SeqCst);
        append(&db, 101, 201);
        tokio::time::sleep(Duration::from_millis(100)).await;
        mgr.stop().await;
        db.close().unwrap();
    }
    assert_eq!(r.got.lock().len(), 300, "nothing got through during the outage");
    r.fail_next.store(0, Ordering::SeqCst);
    let db = db(&data);
    let mgr = ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
    mgr.apply(&[cfg(&url)], &Labels::empty()).await.unwrap();
    append(&db, 201, 211);
    wait_for("630 samples", || r.got.lock().len() >= 630).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = r.got.lock().clone();
    assert_eq!(got.len(), 630);
    let m = per_series(&got);
    assert_eq!(m["m2"], (1..211).map(|t| t * 1000).collect::<Vec<_>>());
    mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabeling_and_external_labels() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir.path().join("data"));
    let r = Arc::new(Receiver::default());
    let url = start_receiver(r.clone()).await;
    let mgr = ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
    let mut c = cfg(&url);
    c.write_relabel_configs =
        serde_saphyr::from_str("- {source_labels: [__name__], regex: m1, action: drop}\n").unwrap();
    mgr.apply(&[c], &Labels::from_pairs([("cluster", "eu")]))
        .await
        .unwrap();
    append(&db, 1, 6);
    wait_for("10 samples", || r.got.lock().len() >= 10).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let m = per_series(&r.got.lock());
    assert_eq!(m.keys().cloned().collect::<Vec<_>>(), ["m0", "m2"]);
    assert_eq!(mgr.statuses()[0].dropped, 5);
    let sets = r.label_sets.lock().clone();
    assert!(sets.contains("__name__=m0,cluster=eu,job=x"), "{sets:?}");
    mgr.stop().await;
}

/// Appends `steps` commits of one sample for each of `series` series `s{i}`.
fn append_many(db: &Db, series: usize, from: i64, to: i64) {
    for t in from..to {
        let mut a = db.appender();
        for s in 0..series {
            let l = Labels::from_pairs([("__name__", format!("s{s}")), ("job", "x".into())]);
            a.append(SeriesRef::NONE, &l, t * 1000, t as f64).unwrap();
        }
        a.commit().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resharding_keeps_every_series_complete_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir.path().join("data"));
    let r = Arc::new(Receiver::default());
    let url = start_receiver(r.clone()).await;
    let mgr = ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
    let mut c = cfg(&url);
    c.queue_config.min_shards = 1;
    c.queue_config.max_shards = 8;
    c.queue_config.max_samples_per_send = 7;
    mgr.apply(&[c], &Labels::empty()).await.unwrap();
    let q = mgr.queues()[0].clone();
    // Slow sends now and then keep samples in flight while the shard count changes.
    r.fail_status.store(503, Ordering::SeqCst);
    let series = 23;
    let mut t = 1;
    for n in [3, 1, 8, 2, 5, 1] {
        append_many(&db, series, t, t + 40);
        t += 40;
        r.fail_next.store(2, Ordering::SeqCst);
        q.force_shards(n);
        wait_for("the new shard count", || mgr.statuses()[0].shards == n as u64).await;
    }
    let total = series * (t as usize - 1);
    wait_for("every sample", || r.got.lock().len() >= total).await;
    let got = r.got.lock().clone();
    assert_eq!(got.len(), total, "no duplicates");
    let m = per_series(&got); // asserts strictly increasing per series
    assert_eq!(m.len(), series);
    for ts in m.values() {
        assert_eq!(*ts, (1..t).map(|t| t * 1000).collect::<Vec<_>>());
    }
    mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_falls_back_to_v1_on_415() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir.path().join("data"));
    let r = Arc::new(Receiver::default());
    r.refuse_v2.store(true, Ordering::SeqCst);
    let url = start_receiver(r.clone()).await;
    let mgr = ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
    let mut c = cfg(&url);
    c.protobuf_message = ProtobufMessage::V2;
    mgr.apply(&[c], &Labels::empty()).await.unwrap();
    append(&db, 1, 51);
    wait_for("150 samples", || r.got.lock().len() >= 150).await;
    wait_for("the queue to count them", || mgr.statuses()[0].sent >= 150).await;
    let st = &mgr.statuses()[0];
    assert_eq!((st.sent, st.failed), (150, 0), "{st:?}");
    assert_eq!(st.protobuf_message, "prometheus.WriteRequest");
    let h = r.headers.lock().clone().unwrap();
    assert_eq!(h["x-prometheus-remote-write-version"], "0.1.0");
    // One refusal per shard at most: after the first, every shard sends 1.0.
    assert!(r.refused_v2.load(Ordering::SeqCst) <= 2);
    per_series(&r.got.lock());
    mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_queue_loses_its_position_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir.path().join("data"));
    let r = Arc::new(Receiver::default());
    let url = start_receiver(r.clone()).await;
    let mgr = ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
    let (a, mut b) = (cfg(&url), cfg(&url));
    b.name = "second".into();
    mgr.apply(&[a.clone(), b.clone()], &Labels::empty())
        .await
        .unwrap();
    append(&db, 1, 11);
    wait_for("both queues", || mgr.statuses().iter().all(|s| s.sent >= 30)).await;
    mgr.stop().await;
    let pos = |c: &RemoteWriteConfig| super::position::path(dir.path(), &c.queue_key());
    assert!(pos(&a).exists() && pos(&b).exists());
    // A restart with only `a` configured (as on start-up after an edit) drops `b`'s file.
    mgr.apply(std::slice::from_ref(&a), &Labels::empty())
        .await
        .unwrap();
    assert!(pos(&a).exists());
    assert!(!pos(&b).exists(), "the removed queue's position is cleaned up");
    mgr.stop().await;
}

/// A histogram whose counts grow with `t`; fractional counts when `float`.
fn histogram_at(t: i64, float: bool) -> storage::FloatHistogram {
    let k = t as f64 + if float { 0.5 } else { 0.0 };
    storage::FloatHistogram {
        schema: 2,
        zero_threshold: 0.001,
        zero_count: k,
        count: 4.0 * k,
        sum: 10.0 * k,
        positive_spans: vec![storage::BucketSpan::new(-1, 2)],
        negative_spans: vec![storage::BucketSpan::new(3, 1)],
        positive_buckets: vec![k, k],
        negative_buckets: vec![k],
        ..Default::default()
    }
}

/// Appends, per step, a float sample of `m0`, an integer histogram of `hi` and a float
/// histogram of `hf`.
fn append_histograms(db: &Db, from: i64, to: i64) {
    for t in from..to {
        let mut a = db.appender();
        let l = |n: &str| Labels::from_pairs([("__name__", n), ("job", "x")]);
        a.append(SeriesRef::NONE, &l("m0"), t * 1000, t as f64).unwrap();
        a.append_histogram(SeriesRef::NONE, &l("hi"), t * 1000, &histogram_at(t, false))
            .unwrap();
        a.append_histogram(SeriesRef::NONE, &l("hf"), t * 1000, &histogram_at(t, true))
            .unwrap();
        a.commit().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_histograms_are_sent_in_v1_and_v2_when_enabled() {
    for msg in [ProtobufMessage::V1, ProtobufMessage::V2] {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir.path().join("data"));
        let r = Arc::new(Receiver::default());
        let url = start_receiver(r.clone()).await;
        let mgr =
            ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
        let mut c = cfg(&url);
        c.protobuf_message = msg;
        c.send_native_histograms = true;
        c.queue_config.max_samples_per_send = 7;
        mgr.apply(&[c], &Labels::empty()).await.unwrap();
        // A retried batch holds histograms too.
        r.fail_status.store(503, Ordering::SeqCst);
        r.fail_next.store(2, Ordering::SeqCst);
        append_histograms(&db, 1, 41);
        wait_for("80 histograms", || r.histograms.lock().len() >= 80).await;
        wait_for("40 samples", || r.got.lock().len() >= 40).await;
        let q = mgr.queues()[0].clone();
        wait_for("the queue to count them", || {
            q.metrics().histograms.sent.load(Ordering::Relaxed) >= 80
        })
        .await;
        let hs = r.histograms.lock().clone();
        assert_eq!(hs.len(), 80, "{msg:?}: no duplicates");
        for name in ["hi", "hf"] {
            let got: Vec<(i64, storage::FloatHistogram)> = hs
                .iter()
                .filter(|h| h.0 == name)
                .map(|h| (h.1, h.2.clone()))
                .collect();
            let want: Vec<(i64, storage::FloatHistogram)> = (1..41)
                .map(|t| (t * 1000, histogram_at(t, name == "hf")))
                .collect();
            assert_eq!(got, want, "{msg:?} {name}: every histogram, in order");
        }
        let m = q.metrics();
        assert_eq!(m.samples_sent.load(Ordering::Relaxed), 40, "floats counted apart");
        assert_eq!(m.histograms.pending.load(Ordering::Relaxed), 0);
        assert!(m.histograms.retried.load(Ordering::Relaxed) > 0);
        assert_eq!(m.samples_pending.load(Ordering::Relaxed), 0);
        mgr.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_histograms_are_skipped_when_not_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir.path().join("data"));
    let r = Arc::new(Receiver::default());
    let url = start_receiver(r.clone()).await;
    let mgr = ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
    mgr.apply(&[cfg(&url)], &Labels::empty()).await.unwrap();
    append_histograms(&db, 1, 21);
    wait_for("20 samples", || r.got.lock().len() >= 20).await;
    let q = mgr.queues()[0].clone();
    // The queue's position moves past the histogram records too.
    wait_for("everything acknowledged", || {
        q.acked().is_some_and(|p| {
            Some(p)
                == storage::wal::WalFollower::end_position(&db.wal_dir())
                    .ok()
                    .flatten()
        })
    })
    .await;
    assert!(r.histograms.lock().is_empty());
    let m = q.metrics();
    assert_eq!(m.histograms.sent.load(Ordering::Relaxed), 0);
    assert_eq!(
        m.histograms.dropped.load(Ordering::Relaxed),
        0,
        "skipped, as Prometheus, not dropped"
    );
    mgr.stop().await;
}

/// Appends, for `t` in `from..to`, a sample and an exemplar (trace `"{name}-{t}"`) to
/// `e0` and `e1`.
fn append_exemplars(db: &Db, from: i64, to: i64) {
    for t in from..to {
        let mut a = db.appender();
        for name in ["e0", "e1"] {
            let l = Labels::from_pairs([("__name__", name), ("job", "x")]);
            a.append(SeriesRef::NONE, &l, t * 1000, t as f64).unwrap();
            let e = storage::Exemplar {
                labels: Labels::from_pairs([("trace_id", format!("{name}-{t}"))]),
                value: t as f64 / 2.0,
                t: t * 1000,
            };
            a.append_exemplar(SeriesRef::NONE, &l, e).unwrap();
        }
        a.commit().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplars_are_sent_in_v1_and_v2_when_enabled() {
    for msg in [ProtobufMessage::V1, ProtobufMessage::V2] {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir.path().join("data"));
        let r = Arc::new(Receiver::default());
        let url = start_receiver(r.clone()).await;
        let mgr =
            ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
        let mut c = cfg(&url);
        c.protobuf_message = msg;
        c.send_exemplars = true;
        c.queue_config.max_samples_per_send = 7;
        c.queue_config.max_shards = 4;
        mgr.apply(&[c], &Labels::empty()).await.unwrap();
        let q = mgr.queues()[0].clone();
        // Retried batches hold exemplars too; a reshard in the middle keeps their order.
        r.fail_status.store(503, Ordering::SeqCst);
        r.fail_next.store(2, Ordering::SeqCst);
        append_exemplars(&db, 1, 21);
        wait_for("the first exemplars", || r.exemplars.lock().len() >= 10).await;
        q.force_shards(3);
        append_exemplars(&db, 21, 41);
        wait_for("80 exemplars", || r.exemplars.lock().len() >= 80).await;
        wait_for("80 samples", || r.got.lock().len() >= 80).await;
        wait_for("the queue to count them", || {
            q.metrics().exemplars.sent.load(Ordering::Relaxed) >= 80
        })
        .await;
        let got = r.exemplars.lock().clone();
        assert_eq!(got.len(), 80, "{msg:?}: no duplicates");
        for name in ["e0", "e1"] {
            let mine: Vec<(i64, String, f64)> = got
                .iter()
                .filter(|e| e.0 == name)
                .map(|e| (e.1, e.2.clone(), e.3))
                .collect();
            let want: Vec<(i64, String, f64)> = (1..41)
                .map(|t| (t * 1000, format!("{name}-{t}"), t as f64 / 2.0))
                .collect();
            assert_eq!(mine, want, "{msg:?} {name}: every exemplar, in order");
        }
        let m = q.metrics();
        assert_eq!(
            m.samples_sent.load(Ordering::Relaxed),
            80,
            "samples counted apart"
        );
        assert_eq!(m.exemplars.pending.load(Ordering::Relaxed), 0);
        assert_eq!(m.exemplars.dropped.load(Ordering::Relaxed), 0);
        assert!(m.exemplars.retried.load(Ordering::Relaxed) > 0);
        mgr.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplars_are_skipped_by_default_and_dropped_with_their_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir.path().join("data"));
    let r = Arc::new(Receiver::default());
    let url = start_receiver(r.clone()).await;
    let mgr = ForwardManager::new(dir.path(), &db.wal_dir()).with_flush_deadline(Duration::from_millis(300));
    // Queue 0 sends none (the default); queue 1 drops series e1 by relabeling, so its
    // exemplars are dropped (and counted) with it.
    let mut dropping = cfg(&format!("{url}?q=1"));
    dropping.send_exemplars = true;
    dropping.write_relabel_configs =
        serde_saphyr::from_str("- {source_labels: [__name__], regex: e1, action: drop}\n").unwrap();
    mgr.apply(&[cfg(&url), dropping], &Labels::empty()).await.unwrap();
    append_exemplars(&db, 1, 11);
    let qs = mgr.queues();
    wait_for("every sample, twice", || r.got.lock().len() >= 20 + 10).await;
    wait_for("the exemplars of e0", || r.exemplars.lock().len() >= 10).await;
    let end = storage::wal::WalFollower::end_position(&db.wal_dir())
        .ok()
        .flatten();
    for q in &qs {
        wait_for("everything acknowledged", || q.acked() == end).await;
    }
    let got = r.exemplars.lock().clone();
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|e| e.0 == "e0"));
    let by_url = |u: &str| qs.iter().find(|q| q.config().url == u).unwrap().clone();
    let m = by_url(&url);
    assert_eq!(m.metrics().exemplars.sent.load(Ordering::Relaxed), 0);
    assert_eq!(
        m.metrics().exemplars.dropped.load(Ordering::Relaxed),
        0,
        "skipped, not dropped"
    );
    let d = by_url(&format!("{url}?q=1"));
    assert_eq!(d.metrics().exemplars.sent.load(Ordering::Relaxed), 10);
    assert_eq!(d.metrics().exemplars.dropped.load(Ordering::Relaxed), 10);
    mgr.stop().await;
}
