//! Configuration parsing and validation tests.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    global: GlobalConfig,
    #[serde(default)]
    scrape_configs: Vec<ScrapeConfig>,
}

fn load(yaml: &str) -> Result<File, String> {
    let mut f: File = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
    f.global.apply_defaults().map_err(|e| e.to_string())?;
    validate(&f.global, &f.scrape_configs).map_err(|e| e.to_string())?;
    Ok(f)
}

#[track_caller]
fn check_err(yaml: &str, want: &str) {
    match load(yaml) {
        Ok(f) => panic!("expected an error mentioning {want:?}, got {f:?}"),
        Err(e) => assert!(e.contains(want), "error {e:?} does not mention {want:?}"),
    }
}

#[test]
fn defaults_like_prometheus() {
    let f = load(
        "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['localhost:9100']\n",
    )
    .unwrap();
    assert_eq!(f.global.scrape_interval.get(), Duration::from_secs(60));
    assert_eq!(f.global.scrape_timeout.get(), Duration::from_secs(10));
    let sc = f.scrape_configs[0].resolve(&f.global);
    assert_eq!(sc.interval(), Duration::from_secs(60));
    assert_eq!(sc.timeout(), Duration::from_secs(10));
    assert_eq!(sc.metrics_path, "/metrics");
    assert_eq!(sc.scheme, "http");
    assert!(!sc.honor_labels);
    assert!(sc.honor_timestamps);
    assert!(sc.follow_redirects);
    assert_eq!(sc.static_configs[0].targets, vec!["localhost:9100"]);
    assert_eq!(sc.scrape_protocols, Some(ScrapeProtocol::defaults()));
}

#[test]
fn full_prometheus_yml() {
    let yaml = r#"
global:
  scrape_interval: 15s
  scrape_timeout: 5s
  evaluation_interval: 1m
  external_labels:
    cluster: eu1
  sample_limit: 1000
  body_size_limit: 10MB
  metric_name_validation_scheme: utf8
  scrape_native_histograms: false
scrape_configs:
  - job_name: beacon
    scrape_interval: 1m30s
    metrics_path: /v1/prometheus/metrics
    scheme: https
    params:
      module: [http_2xx]
    honor_labels: true
    honor_timestamps: false
    basic_auth:
      username: u
      password_file: /etc/pw
    tls_config:
      ca_file: /etc/ca.pem
      cert_file: /etc/c.pem
      key_file: /etc/k.pem
      insecure_skip_verify: true
      server_name: node.example
    sample_limit: 50
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 200
    relabel_configs:
      - source_labels: [__address__]
        target_label: instance
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*'
        action: drop
    static_configs:
      - targets: ['a:1', 'b:2']
        labels: {env: prod}
    file_sd_configs:
      - files: ['/etc/sd/*.json', '/etc/sd/x.yml']
        refresh_interval: 30s
    http_sd_configs:
      - url: http://127.0.0.1:1/sd
        authorization:
          credentials_file: /etc/token
  - job_name: other
    bearer_token_file: /etc/token
    http_headers:
      X-Tenant:
        values: [a]
        secrets: [b]
    scrape_classic_histograms: true
    native_histogram_bucket_limit: 100
    metric_name_validation_scheme: utf8
"#;
    let f = load(yaml).unwrap();
    assert_eq!(
        f.global.external_labels.get("cluster").map(String::as_str),
        Some("eu1")
    );
    let b = f.scrape_configs[0].resolve(&f.global);
    assert_eq!(b.interval(), Duration::from_secs(90));
    assert_eq!(b.timeout(), Duration::from_secs(5));
    assert_eq!(b.sample_limit, 50);
    assert_eq!(b.body_size_limit.0, 10 << 20);
    assert_eq!(b.params["module"], vec!["http_2xx"]);
    assert!(b.tls_config.insecure_skip_verify);
    assert_eq!(
        b.file_sd_configs[0].refresh_interval.get(),
        Duration::from_secs(30)
    );
    assert_eq!(
        b.http_sd_configs[0].authorization.as_ref().unwrap().auth_type,
        "Bearer"
    );
    let o = f.scrape_configs[1].resolve(&f.global);
    assert_eq!(
        o.sample_limit, 1000,
        "global limit applies when the job sets none"
    );
    assert_eq!(o.interval(), Duration::from_secs(15));
}

#[test]
fn timeout_capped_at_interval_when_unset() {
    let f = load(
        "global:\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: fast\n    scrape_interval: 2s\n",
    )
    .unwrap();
    assert_eq!(
        f.scrape_configs[0].resolve(&f.global).timeout(),
        Duration::from_secs(2)
    );
}

#[test]
fn errors_name_what_is_wrong() {
    check_err(
        "scrape_configs:\n  - job_name: a\n    scrape_intervall: 1m\n",
        "scrape_intervall",
    );
    check_err("global:\n  scrape_interva: 1m\n", "scrape_interva");
    check_err(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targetz: []\n",
        "targetz",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    tls_config:\n      ca_fil: x\n",
        "ca_fil",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n  - job_name: a\n",
        "multiple scrape configs with job name \"a\"",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
        "scrape timeout greater than scrape interval",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 5x\n",
        "not a valid duration string",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - regex: '(['\n",
        "invalid relabel regex",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - action: hashmod\n        target_label: x\n",
        "metric_relabel_configs[0]: relabel configuration for hashmod requires non-zero modulus",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    scheme: ftp\n",
        "scheme \"ftp\"",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    bearer_token: x\n    basic_auth:\n      username: u\n",
        "at most one of basic_auth",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: ['/a/*/b.json']\n",
        "wildcards are only allowed in the last path element",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://x/y']\n",
        "is not a valid hostname",
    );
    check_err(
        "scrape_configs:\n  - job_name: a\n    scrape_protocols: [Bogus]\n",
        "Bogus",
    );
}

#[test]
fn unset_timeout_is_the_smaller_of_10s_and_the_interval() {
    for (interval, want) in [("1s", 1), ("5s", 5), ("10s", 10), ("15s", 10), ("5m", 10)] {
        let f = load(&format!(
            "global:\n  scrape_interval: {interval}\nscrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 2s\n"
        ))
        .unwrap_or_else(|e| panic!("global interval {interval}: {e}"));
        assert_eq!(
            f.global.scrape_timeout.get(),
            Duration::from_secs(want),
            "{interval}"
        );
        assert_eq!(
            f.scrape_configs[0].resolve(&f.global).timeout(),
            Duration::from_secs(want)
        );
        // A job's unset timeout is the smaller of the global timeout and its own interval.
        assert_eq!(
            f.scrape_configs[1].resolve(&f.global).timeout(),
            Duration::from_secs(want.min(2))
        );
    }
    // Without a global section at all: 1m and 10s.
    let f = load("scrape_configs:\n  - job_name: a\n    scrape_interval: 3s\n").unwrap();
    assert_eq!(
        f.scrape_configs[0].resolve(&f.global).timeout(),
        Duration::from_secs(3)
    );
    // An explicit global timeout over the interval is the user's error, and says so.
    check_err(
        "global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n",
        "global scrape timeout greater than scrape interval",
    );
    // 0 is the same as left out, as in Prometheus.
    let f = load("global:\n  scrape_interval: 0s\n  scrape_timeout: 0s\nscrape_configs:\n  - job_name: a\n    scrape_interval: 0s\n    scrape_timeout: 0s\n").unwrap();
    let r = f.scrape_configs[0].resolve(&f.global);
    assert_eq!(
        (r.interval(), r.timeout()),
        (Duration::from_secs(60), Duration::from_secs(10))
    );
}

#[test]
fn a_url_target_is_fine_when_relabeling_can_move_it() {
    let probe = "scrape_configs:\n  - job_name: probe\n    metrics_path: /probe\n    static_configs:\n      - targets: ['https://api.example.com/v3/price?ids=eth&vs=usd']\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n      - target_label: __address__\n        replacement: exporter:7979\n";
    load(probe).expect("a probe target relabeled into __param_target");
    check_err(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://host:9100/metrics']\n",
        "is not a valid hostname",
    );
}

#[test]
fn values_sextant_does_not_implement_are_refused_by_name() {
    for (yaml, want) in [
        (
            "global:\n  metric_name_validation_scheme: legacy\n",
            "global: metric_name_validation_scheme \"legacy\"",
        ),
        (
            "global:\n  metric_name_escaping_scheme: dots\n",
            "global: metric_name_escaping_scheme \"dots\"",
        ),
        (
            "global:\n  query_log_file: /tmp/q.log\n",
            "global: query_log_file",
        ),
        (
            "global:\n  extra_scrape_metrics: true\n",
            "global: extra_scrape_metrics",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    scrape_failure_log_file: f.log\n",
            "job \"a\": scrape_failure_log_file",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    metric_name_validation_scheme: legacy\n",
            "job \"a\": metric_name_validation_scheme",
        ),
    ] {
        check_err(yaml, want);
    }
    // The values that describe what Sextant does are fine.
    load("global:\n  metric_name_validation_scheme: utf8\n  metric_name_escaping_scheme: allow-utf-8\n  extra_scrape_metrics: false\n  query_log_file: ''\n")
        .expect("accepted");
}
