//! The scraper against a hostile target: redirects are bounded (10 when following, as
//! Prometheus; none with `follow_redirects: false`), a redirect to another scheme is not
//! followed, the body size limit holds, and a target relabeled to a non-HTTP scheme is
//! refused with an error naming the scheme.

use crate::support::*;
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A loopback HTTP server: `/loop` redirects to itself, `/redir` to `/metrics`, `/ftp` to an
/// ftp:// URL, `/big` sends 64 KiB. Counts the hits on `/loop`.
fn hostile_target() -> (u16, Arc<AtomicUsize>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let loops = Arc::new(AtomicUsize::new(0));
    let loops2 = loops.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let loops = loops2.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(c.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                    }
                    let redirect = |to: &str| {
                        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
                    };
                    let ok = |body: String| {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    let resp = match path.as_str() {
                        "/loop" => {
                            loops.fetch_add(1, Ordering::SeqCst);
                            redirect("/loop")
                        }
                        "/redir" => redirect("/metrics"),
                        "/ftp" => redirect("ftp://127.0.0.1/metrics"),
                        "/big" => ok((0..4000)
                            .map(|i| format!("big_metric{{i=\"{i}\"}} 1\n"))
                            .collect()),
                        _ => ok("hostile_up{i=\"1\"} 1\nhostile_up{i=\"2\"} 1\n".into()),
                    };
                    if c.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, loops)
}

#[test]
fn redirects_schemes_and_body_size_are_bounded() {
    let (port, loops) = hostile_target();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    let job = |name: &str, path: &str, extra: &str| {
        format!("  - job_name: {name}\n    metrics_path: {path}\n{extra}    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    };
    let text = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n{}{}{}{}{}{}",
        job("loop", "/loop", ""),
        job("noredir", "/redir", "    follow_redirects: false\n"),
        job("redir", "/redir", ""),
        job("ftp", "/ftp", ""),
        job("big", "/big", "    body_size_limit: 16KB\n"),
        job(
            "badscheme",
            "/metrics",
            "    relabel_configs:\n      - target_label: __scheme__\n        replacement: ftp\n"
        ),
    );
    std::fs::write(&cfg, text).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::builder(data.path())
        .arg(format!("--config.file={}", cfg.display()))
        .arg("--storage.max-series-per-metric=1")
        .start();
    let started = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(30);
    let targets = loop {
        let (_, v) = get_json(&server.url("/api/v1/targets"));
        let active = v["data"]["activeTargets"].as_array().cloned().unwrap_or_default();
        if active.len() == 5 && active.iter().all(|t| t["health"] != "unknown") {
            break active;
        }
        assert!(Instant::now() < deadline, "targets never scraped: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let target = |pool: &str| targets.iter().find(|t| t["scrapePool"] == pool).unwrap().clone();
    let err = |pool: &str| target(pool)["lastError"].as_str().unwrap_or("").to_string();

    assert_eq!(target("redir")["health"], "up", "{}", err("redir"));
    assert_eq!(target("loop")["health"], "down");
    assert!(err("loop").contains("redirect"), "{}", err("loop"));
    // A scrape follows at most 10 redirects: 11 requests per scrape, one scrape a second.
    let hits = loops.load(Ordering::SeqCst);
    let scrapes = started.elapsed().as_secs() as usize + 2;
    assert!(
        hits >= 11 && hits <= 11 * scrapes,
        "redirect hops: {hits} in {scrapes} scrapes"
    );
    assert_eq!(target("noredir")["health"], "down");
    assert!(err("noredir").contains("302"), "{}", err("noredir"));
    assert_eq!(
        target("ftp")["health"],
        "down",
        "a redirect to ftp:// is not followed"
    );
    assert_eq!(target("big")["health"], "down");
    assert!(err("big").contains("body size limit exceeded"), "{}", err("big"));
    assert!(targets.iter().all(|t| t["scrapePool"] != "badscheme"));
    // The cardinality limit applies to scraped series too, and is counted.
    let (_, m) = http_get(&server.url("/metrics")).unwrap();
    let m = String::from_utf8_lossy(&m);
    let refused = m
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "sextant_ingest_rejected_samples_total{protocol=\"scrape\",reason=\"max_series_per_metric\"} ",
            )
        })
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(refused >= 1.0, "{m}");
    let log = server.log.lock().unwrap().join("\n");
    assert!(
        log.contains("scheme \\\"ftp\\\" is not supported")
            || log.contains("scheme \"ftp\" is not supported"),
        "{log}"
    );
}
