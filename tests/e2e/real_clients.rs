//! Real senders: Debian's Prometheus scrapes itself and remote-writes everything to Sextant.

use crate::support::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn prometheus_remote_writes_into_sextant() {
    let prometheus = "/usr/bin/prometheus";
    assert!(
        std::path::Path::new(prometheus).exists(),
        "this test needs Debian's prometheus at {prometheus}: run scripts/test.sh, which installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let sextant = TestServer::builder(&dir.path().join("sextant")).start();
    let port = free_port();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  external_labels:\n    replica: a\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\nremote_write:\n  - url: {}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n      max_samples_per_send: 500\n    metadata_config:\n      send_interval: 1s\n",
            sextant.base
        ),
    )
    .unwrap();
    let _prom = KillOnDrop(
        Command::new(prometheus)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("prom").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (s, v) = get_json(&sextant.url(&format!(
            "/api/v1/query?query={}",
            enc("count({job=\"prometheus\", replica=\"a\"})")
        )));
        assert_eq!(s, 200, "{v}");
        let n = v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(0.0);
        if n > 100.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus' remote write did not arrive: {v}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // `up` written by Prometheus is queryable here, with its external labels.
    let (_, v) = get_json(&sextant.url(&format!("/api/v1/query?query={}", enc("up{job=\"prometheus\"}"))));
    assert_eq!(v["data"]["result"][0]["metric"]["replica"], "a", "{v}");
    // The metadata Prometheus sends is served.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, md) = get_json(&sextant.url("/api/v1/metadata?metric=prometheus_http_requests_total"));
        if md["data"]["prometheus_http_requests_total"][0]["type"] == "counter" {
            break;
        }
        assert!(Instant::now() < deadline, "metadata did not arrive: {md}");
        std::thread::sleep(Duration::from_millis(300));
    }
}
