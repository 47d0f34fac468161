//! Scrape end to end: a fixture server on 127.0.0.1:0, a `ScrapeManager` with a short
//! interval, and a `storage::Db` in a temp dir. Checks stored series, `up`, staleness when a
//! series disappears, when the target dies and when it is removed, bad targets, file_sd.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use ingest::exposition::{gunzip, parse};
use ingest::scrape::{GlobalConfig, ScrapeConfig, ScrapeManager, TargetHealth, TargetStatus};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::{is_stale_nan, Db, DbOptions, Labels, Matcher, Queryable, SelectHints, Series};
use tokio::net::TcpListener;

/// What the fixture server answers; tests change it while scraping runs.
#[derive(Clone)]
struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
    gzip: bool,
    delay: Duration,
}

impl Reply {
    fn text(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: StatusCode::OK,
            content_type: "text/plain; version=0.0.4; charset=utf-8".into(),
            body: body.into(),
            gzip: false,
            delay: Duration::ZERO,
        }
    }
}

#[derive(Clone)]
struct ServerState {
    reply: Arc<Mutex<Reply>>,
    last_headers: Arc<Mutex<Option<HeaderMap>>>,
}

struct TestServer {
    addr: String,
    state: ServerState,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    async fn start(reply: Reply) -> TestServer {
        let state = ServerState {
            reply: Arc::new(Mutex::new(reply)),
            last_headers: Arc::new(Mutex::new(None)),
        };
        let app = Router::new()
            .route("/metrics", get(serve))
            .route("/loop", get(serve_loop))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer { addr, state, task }
    }

    fn set(&self, reply: Reply) {
        *self.state.reply.lock() = reply;
    }
}

async fn serve(State(s): State<ServerState>, headers: HeaderMap) -> Response<Body> {
    *s.last_headers.lock() = Some(headers);
    let r = s.reply.lock().clone();
    if !r.delay.is_zero() {
        tokio::time::sleep(r.delay).await;
    }
    // No keep-alive: when a test kills the server, the scraper must see it gone.
    let mut b = Response::builder()
        .status(r.status)
        .header("Content-Type", r.content_type)
        .header("Connection", "close");
    let body = if r.gzip {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&r.body).unwrap();
        b = b.header("Content-Encoding", "gzip");
        enc.finish().unwrap()
    } else {
        r.body
    };
    b.body(Body::from(body)).unwrap()
}

async fn serve_loop() -> Response<Body> {
    Response::builder()
        .status(StatusCode::FOUND)
        .header("Location", "/loop")
        .body(Body::empty())
        .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/exposition")
        .join(name);
    std::fs::read(&p).unwrap()
}

fn job(yaml: &str) -> ScrapeConfig {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn fast_global() -> GlobalConfig {
    GlobalConfig {
        scrape_interval: storage::PromDuration(Duration::from_millis(200)),
        scrape_timeout: storage::PromDuration(Duration::from_millis(150)),
        ..GlobalConfig::default()
    }
}

struct Env {
    _dir: tempfile::TempDir,
    db: Arc<Db>,
    mgr: ScrapeManager,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(DbOptions::new(dir.path())).unwrap());
    let mgr = ScrapeManager::new(db.clone());
    Env { _dir: dir, db, mgr }
}

impl Env {
    fn select(&self, ms: &[Matcher]) -> Vec<Series> {
        let q = self.db.querier(0, i64::MAX).unwrap();
        q.select(
            &SelectHints {
                mint: 0,
                maxt: i64::MAX,
            },
            ms,
        )
        .unwrap()
    }

    fn series(&self, name: &str) -> Vec<Series> {
        self.select(&[Matcher::equal("__name__", name)])
    }

    /// Samples of `up` for the target at `addr`.
    fn up(&self, addr: &str) -> Vec<f64> {
        self.select(&[Matcher::equal("__name__", "up"), Matcher::equal("instance", addr)])
            .into_iter()
            .flat_map(|s| s.samples)
            .map(|s| s.v)
            .collect()
    }

    fn target(&self, addr: &str) -> Option<TargetStatus> {
        self.mgr
            .targets()
            .into_iter()
            .find(|t| t.labels.get("instance") == Some(addr))
    }
}

/// Polls `cond` every 20 ms for up to 10 s.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn last_value(s: &Series) -> f64 {
    s.samples.last().unwrap().v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_node_exporter_fixture_into_storage() {
    let body = fixture("node_exporter.txt");
    let srv = TestServer::start(Reply::text(body.clone())).await;
    let e = env();
    let cfg = job(&format!(
        "job_name: node\nbasic_auth:\n  username: u\n  password: p\nhttp_headers:\n  X-Tenant:\n    values: [t1]\nstatic_configs:\n  - targets: ['{}']\n    labels:\n      env: test\n",
        srv.addr
    ));
    e.mgr.apply_config(&fast_global(), &[cfg]).unwrap();
    wait_for("two successful scrapes", || {
        e.up(&srv.addr).iter().filter(|v| **v == 1.0).count() >= 2
    })
    .await;

    // Every series the fixture has is stored with the target labels and the served value.
    let want = parse(&body, "text/plain; version=0.0.4").unwrap();
    for s in &want.samples {
        let mut b = s.labels.to_builder();
        b.set("job", "node").set("instance", &srv.addr).set("env", "test");
        let labels = b.build();
        let ms: Vec<Matcher> = labels
            .iter()
            .map(|l| Matcher::equal(l.name.to_string(), l.value.to_string()))
            .collect();
        let got = e.select(&ms);
        let got = got
            .iter()
            .find(|g| g.labels == labels)
            .unwrap_or_else(|| panic!("missing {labels}"));
        let v = got.samples[0].v;
        assert!(
            v == s.value || (v.is_nan() && s.value.is_nan()),
            "{labels}: {v} != {}",
            s.value
        );
    }
    let scraped = e.series("scrape_samples_scraped");
    assert_eq!(last_value(&scraped[0]), want.samples.len() as f64);
    let post = e.series("scrape_samples_post_metric_relabeling");
    assert_eq!(last_value(&post[0]), want.samples.len() as f64);
    let added = e.series("scrape_series_added");
    assert_eq!(
        added[0].samples[0].v,
        want.samples.len() as f64,
        "first scrape adds every series"
    );
    assert_eq!(added[0].samples[1].v, 0.0, "second scrape adds none");
    assert!(last_value(&e.series("scrape_duration_seconds")[0]) > 0.0);

    let t = e.target(&srv.addr).unwrap();
    assert_eq!(t.health, TargetHealth::Up);
    assert_eq!(t.last_error, "");
    assert_eq!(t.scrape_url, format!("http://{}/metrics", srv.addr));
    assert!(t.last_scrape.is_some());
    assert_eq!(t.scrape_interval, Duration::from_millis(200));
    assert_eq!(t.discovered_labels.get("__address__"), Some(srv.addr.as_str()));

    // Content negotiation and the timeout header, like Prometheus.
    let h = srv.state.last_headers.lock().clone().unwrap();
    let accept = h.get("accept").unwrap().to_str().unwrap();
    assert!(
        accept.starts_with("application/openmetrics-text;version=1.0.0;q=0.6,"),
        "{accept}"
    );
    assert_eq!(h.get("x-prometheus-scrape-timeout-seconds").unwrap(), "0.15");
    assert!(h
        .get("accept-encoding")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("gzip"));
    assert_eq!(h.get("authorization").unwrap(), "Basic dTpw");
    assert_eq!(h.get("x-tenant").unwrap(), "t1");
    assert!(h
        .get("user-agent")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Sextant/"));

    // Metadata reached storage and the target.
    let md = e.db.metadata();
    assert_eq!(
        md["node_cpu_seconds_total"][0].metric_type,
        storage::MetricType::Counter
    );
    assert!(e.mgr.target_metadata().iter().any(|m| m.metric == "node_load1"));
    e.mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staleness_when_series_disappears_and_target_dies() {
    let srv = TestServer::start(Reply::text("a 1\nb{x=\"y\"} 2\n")).await;
    let e = env();
    let cfg = job(&format!(
        "job_name: j\nstatic_configs:\n  - targets: ['{}']\n",
        srv.addr
    ));
    e.mgr.apply_config(&fast_global(), &[cfg]).unwrap();
    wait_for("first scrape", || e.up(&srv.addr).contains(&1.0)).await;
    srv.set(Reply::text("a 3\n"));
    wait_for("b marked stale", || {
        e.series("b").first().is_some_and(|s| is_stale_nan(last_value(s)))
    })
    .await;
    // Only one marker; b stays absent afterwards.
    let b = &e.series("b")[0];
    assert_eq!(b.samples.iter().filter(|s| is_stale_nan(s.v)).count(), 1);
    assert!(!is_stale_nan(last_value(&e.series("a")[0])));
    wait_for("a = 3", || last_value(&e.series("a")[0]) == 3.0).await;

    // The target dies: up = 0, every series of the last good scrape goes stale.
    srv.task.abort();
    wait_for("up = 0", || e.up(&srv.addr).last() == Some(&0.0)).await;
    assert!(is_stale_nan(last_value(&e.series("a")[0])));
    let t = e.target(&srv.addr).unwrap();
    assert_eq!(t.health, TargetHealth::Down);
    assert!(!t.last_error.is_empty());
    e.mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_error_appends_nothing_and_reports_the_line() {
    let srv = TestServer::start(Reply::text("good 1\n")).await;
    let e = env();
    let cfg = job(&format!(
        "job_name: j\nstatic_configs:\n  - targets: ['{}']\n",
        srv.addr
    ));
    e.mgr.apply_config(&fast_global(), &[cfg]).unwrap();
    wait_for("first scrape", || e.up(&srv.addr).contains(&1.0)).await;
    srv.set(Reply::text("good 2\nnew 5\nbad{ 3\n"));
    wait_for("up = 0", || e.up(&srv.addr).last() == Some(&0.0)).await;
    let t = e.target(&srv.addr).unwrap();
    assert!(t.last_error.contains("line 3"), "{}", t.last_error);
    assert!(
        e.series("new").is_empty(),
        "nothing of the failed scrape is stored"
    );
    let good = &e.series("good")[0];
    assert!(good.samples.iter().all(|s| s.v == 1.0 || is_stale_nan(s.v)));
    assert!(is_stale_nan(last_value(good)));
    e.mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_targets_fail_with_clear_errors_and_others_are_unaffected() {
    let good = TestServer::start(Reply::text("ok 1\n")).await;
    let garbage = TestServer::start(Reply::text(vec![0xffu8, 0xfe, b'\n', b'x'])).await;
    let hang = TestServer::start(Reply {
        delay: Duration::from_secs(5),
        ..Reply::text("slow 1\n")
    })
    .await;
    let huge = TestServer::start(Reply::text("x 1\n".repeat(10_000))).await;
    let notfound = TestServer::start(Reply {
        status: StatusCode::NOT_FOUND,
        ..Reply::text("nope")
    })
    .await;
    let e = env();
    let t = |s: &TestServer| format!("'{}'", s.addr);
    let cfgs = vec![
        job(&format!(
            "job_name: a\nbody_size_limit: 1KB\nstatic_configs:\n  - targets: [{}, {}, {}, {}, {}]\n",
            t(&good),
            t(&garbage),
            t(&hang),
            t(&huge),
            t(&notfound)
        )),
        job(&format!(
            "job_name: redirect\nmetrics_path: /loop\nstatic_configs:\n  - targets: [{}]\n",
            t(&good)
        )),
    ];
    e.mgr.apply_config(&fast_global(), &cfgs).unwrap();
    assert_eq!(
        e.mgr.targets().len(),
        6,
        "static targets are known as soon as the config is applied"
    );
    wait_for("every target scraped", || {
        e.mgr.targets().iter().all(|t| t.health != TargetHealth::Unknown)
    })
    .await;
    let err = |addr: &str, job: &str| {
        let t = e
            .mgr
            .targets()
            .into_iter()
            .find(|t| t.labels.get("instance") == Some(addr) && t.job == job)
            .unwrap();
        (t.health, t.last_error)
    };
    assert_eq!(err(&good.addr, "a"), (TargetHealth::Up, String::new()));
    let (h, m) = err(&garbage.addr, "a");
    assert_eq!(h, TargetHealth::Down);
    assert!(m.contains("invalid UTF-8"), "{m}");
    let (h, m) = err(&hang.addr, "a");
    assert_eq!(h, TargetHealth::Down);
    assert!(m.contains("timed out after 150ms"), "{m}");
    let (h, m) = err(&huge.addr, "a");
    assert_eq!(h, TargetHealth::Down);
    assert!(m.contains("body size limit exceeded"), "{m}");
    let (h, m) = err(&notfound.addr, "a");
    assert_eq!(h, TargetHealth::Down);
    assert!(m.contains("404"), "{m}");
    let (h, m) = err(&good.addr, "redirect");
    assert_eq!(h, TargetHealth::Down);
    assert!(m.contains("redirect"), "{m}");
    assert_eq!(e.up(&good.addr).first(), Some(&1.0));
    e.mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_openmetrics_relabeling_and_limits() {
    let om = fixture("vero.openmetrics.txt");
    let srv = TestServer::start(Reply {
        gzip: true,
        content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8".into(),
        ..Reply::text(om.clone())
    })
    .await;
    let e = env();
    let cfgs = vec![
        job(&format!(
            "job_name: vero\nstatic_configs:\n  - targets: ['{}']\nmetric_relabel_configs:\n  - source_labels: [__name__]\n    regex: 'python_.*'\n    action: drop\n",
            srv.addr
        )),
        job(&format!("job_name: limited\nsample_limit: 10\nstatic_configs:\n  - targets: ['{}']\n", srv.addr)),
    ];
    e.mgr.apply_config(&fast_global(), &cfgs).unwrap();
    assert_eq!(e.mgr.targets().len(), 2);
    wait_for("both scraped", || {
        e.mgr.targets().iter().all(|t| t.health != TargetHealth::Unknown)
            && !e
                .select(&[
                    Matcher::equal("__name__", "scrape_samples_scraped"),
                    Matcher::equal("job", "vero"),
                ])
                .is_empty()
    })
    .await;
    let want = parse(&om, "application/openmetrics-text").unwrap();
    let python = want
        .samples
        .iter()
        .filter(|s| s.labels.metric_name().unwrap().starts_with("python_"))
        .count();
    let scraped = e.select(&[
        Matcher::equal("__name__", "scrape_samples_scraped"),
        Matcher::equal("job", "vero"),
    ]);
    assert_eq!(last_value(&scraped[0]), want.samples.len() as f64);
    let post = e.select(&[
        Matcher::equal("__name__", "scrape_samples_post_metric_relabeling"),
        Matcher::equal("job", "vero"),
    ]);
    assert_eq!(last_value(&post[0]), (want.samples.len() - python) as f64);
    assert!(e.series("python_info").is_empty());
    let limited = e.mgr.targets().into_iter().find(|t| t.job == "limited").unwrap();
    assert_eq!(limited.health, TargetHealth::Down);
    assert!(
        limited.last_error.contains("sample_limit exceeded"),
        "{}",
        limited.last_error
    );
    let lim_up = e.select(&[Matcher::equal("__name__", "up"), Matcher::equal("job", "limited")]);
    assert_eq!(last_value(&lim_up[0]), 0.0);
    // Sanity: the gzip fixture decodes to node_exporter's text.
    assert!(!gunzip(&fixture("node_exporter.gzip-response.txt.gz"), 0)
        .unwrap()
        .is_empty());
    e.mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_unchanged_jobs_and_marks_removed_targets_stale() {
    let a = TestServer::start(Reply::text("from_a 1\n")).await;
    let b = TestServer::start(Reply::text("from_b 1\n")).await;
    let e = env();
    let ja = job(&format!(
        "job_name: a\nstatic_configs:\n  - targets: ['{}']\n",
        a.addr
    ));
    let jb = job(&format!(
        "job_name: b\nstatic_configs:\n  - targets: ['{}']\n",
        b.addr
    ));
    e.mgr
        .apply_config(&fast_global(), &[ja.clone(), jb.clone()])
        .unwrap();
    wait_for("both up", || {
        e.up(&a.addr).contains(&1.0) && e.up(&b.addr).contains(&1.0)
    })
    .await;
    let before = e.target(&a.addr).unwrap().last_scrape;

    // An invalid config is rejected and changes nothing.
    let dup = vec![ja.clone(), ja.clone()];
    let err = e.mgr.apply_config(&fast_global(), &dup).unwrap_err();
    assert!(err.to_string().contains("multiple scrape configs"), "{err}");
    assert_eq!(e.mgr.jobs(), vec!["a", "b"]);

    // Drop job b, change job a's labels: a keeps being scraped, b's series go stale.
    let mut ja2 = ja.clone();
    ja2.static_configs[0].labels.insert("env".into(), "new".into());
    e.mgr.apply_config(&fast_global(), &[ja2]).unwrap();
    wait_for("b stale", || {
        e.series("from_b")
            .first()
            .is_some_and(|s| is_stale_nan(last_value(s)))
    })
    .await;
    assert!(
        e.up(&b.addr).last().is_some_and(|v| is_stale_nan(*v)),
        "report series of b go stale too"
    );
    wait_for("a scraped with the new label", || {
        !e.select(&[Matcher::equal("__name__", "from_a"), Matcher::equal("env", "new")])
            .is_empty()
    })
    .await;
    // The old series of a (without env) is gone from the target's output: stale.
    wait_for("old a series stale", || {
        e.series("from_a")
            .iter()
            .find(|s| s.labels.get("env").is_none())
            .is_some_and(|s| is_stale_nan(last_value(s)))
    })
    .await;
    assert!(e.target(&a.addr).unwrap().last_scrape >= before);

    // Re-applying the same config keeps the running loop (no restart, no gap).
    let t0 = e.mgr.targets();
    let ja2 = {
        let mut j = ja.clone();
        j.static_configs[0].labels.insert("env".into(), "new".into());
        j
    };
    e.mgr.apply_config(&fast_global(), &[ja2]).unwrap();
    let t1 = e.mgr.targets();
    assert_eq!(t0.len(), 1);
    assert!(t1[0].last_scrape.is_some(), "unchanged target keeps its state");
    e.mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sd_picks_up_changes() {
    let a = TestServer::start(Reply::text("m 1\n")).await;
    let b = TestServer::start(Reply::text("m 2\n")).await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("targets.json");
    std::fs::write(
        &json,
        format!(r#"[{{"targets": ["{}"], "labels": {{"team": "x"}}}}]"#, a.addr),
    )
    .unwrap();
    let e = env();
    let cfg = job(&format!(
        "job_name: fsd\nfile_sd_configs:\n  - files: ['{}/*.json', '{}/*.yml']\n    refresh_interval: 50ms\n",
        dir.path().display(),
        dir.path().display()
    ));
    e.mgr.apply_config(&fast_global(), &[cfg]).unwrap();
    wait_for("a discovered and up", || e.up(&a.addr).contains(&1.0)).await;
    let t = e.target(&a.addr).unwrap();
    assert_eq!(t.labels.get("team"), Some("x"));
    assert_eq!(
        t.discovered_labels.get("__meta_filepath"),
        Some(json.to_str().unwrap())
    );

    // A YAML file adds b; the JSON file is rewritten to drop a.
    std::fs::write(
        dir.path().join("more.yml"),
        format!("- targets: ['{}']\n", b.addr),
    )
    .unwrap();
    wait_for("b discovered", || e.target(&b.addr).is_some()).await;
    std::fs::write(&json, "[]").unwrap();
    wait_for("a removed", || e.target(&a.addr).is_none()).await;
    wait_for("a's series stale", || {
        e.select(&[
            Matcher::equal("__name__", "m"),
            Matcher::equal("instance", a.addr.as_str()),
        ])
        .first()
        .is_some_and(|s| is_stale_nan(last_value(s)))
    })
    .await;
    // A broken file keeps the previous targets.
    std::fs::write(dir.path().join("more.yml"), "- targets: [unclosed\n").unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(e.target(&b.addr).is_some());
    let want: Labels = Labels::from_pairs([("__name__", "m"), ("instance", b.addr.as_str()), ("job", "fsd")]);
    assert!(e.series("m").iter().any(|s| s.labels == want));
    e.mgr.stop().await;
}

/// Kills the child process when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real target: Debian's `prometheus-node-exporter` on a loopback port. Skipped (with a
/// message) when the binary is not installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_a_real_node_exporter() {
    let bin = "/usr/bin/prometheus-node-exporter";
    if !std::path::Path::new(bin).exists() {
        eprintln!("skipping: {bin} is not installed");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _child = Child(
        std::process::Command::new(bin)
            .arg(format!("--web.listen-address={addr}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/metrics");
    let mut served = None;
    for _ in 0..100 {
        if let Ok(r) = client.get(&url).send().await {
            if r.status().is_success() {
                served = Some(r.bytes().await.unwrap());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let served = served.expect("node_exporter did not start");
    let served = parse(&served, "text/plain; version=0.0.4").unwrap();

    let e = env();
    let cfg = job(&format!(
        "job_name: node\nscrape_interval: 1s\nscrape_timeout: 900ms\nstatic_configs:\n  - targets: ['{addr}']\n"
    ));
    e.mgr.apply_config(&GlobalConfig::default(), &[cfg]).unwrap();
    wait_for("node_exporter scraped", || e.up(&addr).contains(&1.0)).await;
    e.mgr.stop().await;

    // Every series node_exporter served is stored, with the target labels added. (Series whose
    // label values change between two requests, such as scrape durations, keep their labels.)
    let stored: std::collections::HashSet<Labels> = e
        .select(&[Matcher::equal("job", "node")])
        .into_iter()
        .map(|s| s.labels)
        .collect();
    let mut missing = Vec::new();
    for s in &served.samples {
        let mut b = s.labels.to_builder();
        b.set("job", "node").set("instance", &addr);
        let l = b.build();
        if !stored.contains(&l) {
            missing.push(l.to_string());
        }
    }
    assert!(
        missing.len() * 100 <= served.samples.len(),
        "{} of {} served series not stored, e.g. {:?}",
        missing.len(),
        served.samples.len(),
        &missing[..missing.len().min(5)]
    );
    // Values that do not change between requests are equal.
    let total = served
        .samples
        .iter()
        .find(|s| s.labels.metric_name() == Some("node_memory_MemTotal_bytes"))
        .unwrap();
    let got = e.select(&[Matcher::equal("__name__", "node_memory_MemTotal_bytes")]);
    assert_eq!(got[0].samples[0].v, total.value);
    let scraped = e.series("scrape_samples_scraped");
    let n = scraped[0].samples[0].v as usize;
    assert!(
        n.abs_diff(served.samples.len()) * 100 <= served.samples.len(),
        "{n} vs {}",
        served.samples.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_timestamps_and_their_staleness() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let body = format!("ts_a 1 {now}\nts_b 2 {now}\n");
    let a = TestServer::start(Reply::text(body.clone())).await;
    let b = TestServer::start(Reply::text(body)).await;
    let e = env();
    let cfgs = vec![
        job(&format!(
            "job_name: plain\nstatic_configs:\n  - targets: ['{}']\n",
            a.addr
        )),
        job(&format!(
            "job_name: tracked\ntrack_timestamps_staleness: true\nstatic_configs:\n  - targets: ['{}']\n",
            b.addr
        )),
    ];
    e.mgr.apply_config(&fast_global(), &cfgs).unwrap();
    wait_for("both up", || {
        e.up(&a.addr).contains(&1.0) && e.up(&b.addr).contains(&1.0)
    })
    .await;
    // The exposed timestamp is kept (honor_timestamps defaults to true).
    let got = e.select(&[Matcher::equal("__name__", "ts_a"), Matcher::equal("job", "plain")]);
    assert_eq!(got[0].samples[0].t, now);
    a.set(Reply::text(format!("ts_a 1 {now}\n")));
    b.set(Reply::text(format!("ts_a 1 {now}\n")));
    wait_for("tracked ts_b stale", || {
        e.select(&[
            Matcher::equal("__name__", "ts_b"),
            Matcher::equal("job", "tracked"),
        ])
        .first()
        .is_some_and(|s| is_stale_nan(last_value(s)))
    })
    .await;
    // Without tracking, a series with explicit timestamps is never marked stale.
    let plain = e.select(&[Matcher::equal("__name__", "ts_b"), Matcher::equal("job", "plain")]);
    assert!(plain[0].samples.iter().all(|s| !is_stale_nan(s.v)));
    e.mgr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_sd_discovers_targets() {
    let target = TestServer::start(Reply::text("from_http_sd 1\n")).await;
    // The discovery endpoint: a JSON list of target groups.
    let groups = Arc::new(Mutex::new(format!(
        r#"[{{"targets": ["{}"], "labels": {{"dc": "eu"}}}}]"#,
        target.addr
    )));
    let g = groups.clone();
    let app = Router::new().route(
        "/sd",
        get(move || {
            let body = g.lock().clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sd_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let e = env();
    let cfg = job(&format!(
        "job_name: hsd\nhttp_sd_configs:\n  - url: http://{sd_addr}/sd\n    refresh_interval: 50ms\n"
    ));
    e.mgr.apply_config(&fast_global(), &[cfg]).unwrap();
    wait_for("target discovered and scraped", || {
        e.up(&target.addr).contains(&1.0)
    })
    .await;
    let t = e.target(&target.addr).unwrap();
    assert_eq!(t.labels.get("dc"), Some("eu"));
    assert_eq!(
        t.discovered_labels.get("__meta_url"),
        Some(format!("http://{sd_addr}/sd").as_str())
    );
    // The endpoint returns no groups: the target goes away and its series go stale.
    *groups.lock() = "[]".into();
    wait_for("target removed", || e.target(&target.addr).is_none()).await;
    wait_for("series stale", || {
        e.series("from_http_sd")
            .first()
            .is_some_and(|s| is_stale_nan(last_value(s)))
    })
    .await;
    e.mgr.stop().await;
}
