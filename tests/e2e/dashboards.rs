//! Real dashboards: every PromQL expression of the Grafana dashboards in
//! `tests/fixtures/dashboards/` (Vero, Lodestar, Edgeless), with Grafana's variables
//! substituted as Grafana would, must parse and evaluate as a range query on data that
//! Sextant scraped from the matching exposition fixtures.
//!
//! Each fixture is served by a loopback HTTP server whose counters (`_total`, `_count`,
//! `_sum`, `_bucket`) grow with every scrape, so `rate` and `increase` have something to do;
//! Sextant scrapes the three every second. Template variables are resolved through the same
//! API calls Grafana makes (`label_values(...)` = `/api/v1/label/<name>/values?match[]=`).
//! Expressions that answer nothing are listed with the reason: the metrics they select that
//! the fixture does not expose, or (when all are present) the selection or filter that left
//! nothing.

use crate::grafana_vars::{builtins, interpolate, VarValue};
use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A loopback HTTP server answering every request with the fixture, counters bumped by the
/// number of scrapes so far. Stops when dropped.
struct FixtureServer {
    port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// `text` with every counter-like sample increased by `n` (all buckets of a histogram by the
/// same amount, so they stay cumulative).
fn bump(text: &str, n: u64) -> String {
    let mut out = String::with_capacity(text.len() + 1024);
    for line in text.lines() {
        let bumped = (|| {
            if line.starts_with('#') || line.trim().is_empty() {
                return None;
            }
            let name_end = line.find(['{', ' '])?;
            let name = &line[..name_end];
            if !["_total", "_count", "_sum", "_bucket"]
                .iter()
                .any(|s| name.ends_with(s))
            {
                return None;
            }
            let after = match line[name_end..].starts_with('{') {
                true => name_end + line[name_end..].rfind('}')? + 1,
                false => name_end,
            };
            let rest = line[after..].trim_start();
            let (value, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            let v: f64 = value.parse().ok()?;
            let tail = if tail.is_empty() {
                String::new()
            } else {
                format!(" {tail}")
            };
            Some(format!("{} {}{tail}", &line[..after], v + n as f64))
        })();
        out.push_str(bumped.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

fn serve(path: &str, content_type: &'static str) -> FixtureServer {
    let text = std::fs::read_to_string(path).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let scrapes = AtomicU64::new(0);
    let handle = std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stop2.load(Ordering::Relaxed) {
                break;
            }
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => req.extend_from_slice(&buf[..k]),
                }
            }
            let body = bump(&text, scrapes.fetch_add(1, Ordering::Relaxed));
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(body.as_bytes());
        }
    });
    FixtureServer {
        port,
        stop,
        handle: Some(handle),
    }
}

/// Every `expr` of every query target in a dashboard, with the title of its panel.
fn expressions(v: &Value, panel: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) => {
            let title = o
                .get("title")
                .and_then(Value::as_str)
                .filter(|_| o.contains_key("type"))
                .unwrap_or(panel);
            if let Some(e) = o.get("expr").and_then(Value::as_str) {
                if !e.trim().is_empty() {
                    out.push((title.to_string(), e.to_string()));
                }
            }
            for (k, child) in o {
                // Template variables are resolved through the label API, not as PromQL.
                if k != "templating" {
                    expressions(child, title, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| expressions(c, panel, out)),
        _ => {}
    }
}

/// The metric names an expression selects, from Sextant's `/api/v1/parse_query` syntax tree.
fn selected_metrics(server: &TestServer, expr: &str) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(o) => {
                // Vector selectors, and matrix selectors (which flatten theirs), carry both.
                if o.contains_key("matchers") {
                    if let Some(n) = o.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
                        out.insert(n.to_string());
                    }
                }
                o.values().for_each(|c| walk(c, out));
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let (_, ast) = get_json(&server.url(&format!("/api/v1/parse_query?query={}", enc(expr))));
    let mut out = BTreeSet::new();
    walk(&ast["data"], &mut out);
    out
}

fn label_values(server: &TestServer, label: &str, matcher: &str) -> Vec<String> {
    let (s, v) = get_json(&server.url(&format!("/api/v1/label/{label}/values?match[]={}", enc(matcher))));
    assert_eq!(s, 200, "label values of {label} for {matcher}: {v}");
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn instant(server: &TestServer, q: &str) -> Vec<Value> {
    let (s, v) = get_json(&server.url(&format!("/api/v1/query?query={}", enc(q))));
    assert_eq!(s, 200, "{q}: {v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

#[test]
fn dashboard_queries_evaluate_on_scraped_fixtures() {
    let root = env!("CARGO_MANIFEST_DIR");
    let fx = |f: &str| format!("{root}/tests/fixtures/exposition/{f}");
    let vero = serve(&fx("vero.txt"), "text/plain; version=0.0.4; charset=utf-8");
    let lodestar = serve(&fx("lodestar.txt"), "text/plain; version=0.0.4; charset=utf-8");
    let edgeless = serve(
        &fx("edgeless.openmetrics.txt"),
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    let job = |name: &str, port: u16| {
        format!("  - job_name: {name}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    };
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n{}{}{}",
            job("vero", vero.port),
            job("beacon", lodestar.port),
            job("edgeless", edgeless.port)
        ),
    )
    .unwrap();
    let server = TestServer::builder(&dir.path().join("data"))
        .arg(format!("--config.file={}", cfg.display()))
        .start();
    // At least six scrapes of each target.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = instant(&server, "count_over_time(up[1m]) >= 6 and up == 1");
        if ready.len() == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "targets not scraped six times: {ready:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (range_s, step_s) = (60, 2);
    let names: BTreeSet<String> = label_values(&server, "__name__", "{__name__=~\".+\"}")
        .into_iter()
        .collect();

    // Template variables, resolved as Grafana does.
    let mut vars = builtins(range_s, step_s, 15);
    let instances = label_values(&server, "instance", "vero_info");
    assert_eq!(instances.len(), 1, "vero_info's instance: {instances:?}");
    vars.insert("instance".into(), VarValue::Single(instances[0].clone()));
    let hosts = label_values(
        &server,
        "host",
        &format!(
            "requests_created{{service_type=\"beacon_node\", instance=\"{}\"}}",
            instances[0]
        ),
    );
    assert!(
        !hosts.is_empty(),
        "Vero's host variable reads requests_created, which must be stored"
    );
    // `beacon_node_host` is "All" without a custom all-value: every host as an alternation.
    vars.insert("beacon_node_host".into(), VarValue::Multi(hosts));
    // Lodestar: the interval variable's current value and the import-time job constants.
    vars.insert("rate_interval".into(), VarValue::Single("1h".into()));
    vars.insert("beacon_job".into(), VarValue::Single("beacon".into()));
    vars.insert("validator_job".into(), VarValue::Single("validator".into()));

    let mut errors = Vec::new();
    let mut empty = Vec::new();
    let (mut total, mut with_data) = (0usize, 0usize);
    let mut files: Vec<_> = std::fs::read_dir(format!("{root}/tests/fixtures/dashboards"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for file in &files {
        let dash: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let mut exprs = Vec::new();
        expressions(&dash, "", &mut exprs);
        let fname = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(!exprs.is_empty(), "{fname}: no expressions found");
        for (panel, raw) in exprs {
            total += 1;
            let q = interpolate(&raw, &vars);
            let what = format!("{fname} / {panel}: {q}");
            if q.contains('$') {
                errors.push(format!("{what}: a variable was left unsubstituted"));
                continue;
            }
            let path = format!(
                "/api/v1/query_range?query={}&start={}&end={now_s}&step={step_s}",
                enc(&q),
                now_s - range_s
            );
            let (s, v) = get_json(&server.url(&path));
            if s != 200 || v["status"] != "success" {
                errors.push(format!("{what}: {s} {v}"));
                continue;
            }
            let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
            if !result.is_empty() {
                with_data += 1;
                continue;
            }
            let used = selected_metrics(&server, &q);
            let missing: Vec<&String> = used.iter().filter(|m| !names.contains(*m)).collect();
            let why = if missing.is_empty() {
                format!("all of {used:?} are stored; the matchers, filter or arithmetic leave nothing")
            } else {
                format!("not exposed by the fixture: {missing:?}")
            };
            empty.push(format!("{what}\n      -> {why}"));
        }
    }
    eprintln!(
        "dashboards: {total} expressions from {} dashboards, {with_data} with data, {} empty, {} errors",
        files.len(),
        empty.len(),
        errors.len()
    );
    for e in &empty {
        eprintln!("  empty: {e}");
    }
    assert!(
        errors.is_empty(),
        "dashboard expressions that fail:\n{}",
        errors.join("\n")
    );
    // The fixtures are the dashboards' own exporters: most panels must show data.
    assert!(
        with_data * 2 > total,
        "only {with_data} of {total} dashboard expressions returned data"
    );
}

#[test]
fn bump_keeps_histograms_cumulative() {
    let text = "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 5\nh_count 5\nh_sum 1.5\ng{a=\"x y\"} 7 1700000000\nc_total 3 1700000000\n";
    let b = bump(text, 2);
    assert!(b.contains("h_bucket{le=\"1\"} 4\n"), "{b}");
    assert!(b.contains("h_bucket{le=\"+Inf\"} 7\n"), "{b}");
    assert!(b.contains("h_count 7\n") && b.contains("h_sum 3.5\n"), "{b}");
    assert!(b.contains("g{a=\"x y\"} 7 1700000000\n"), "{b}");
    assert!(b.contains("c_total 5 1700000000\n"), "{b}");
}
