//! `remote_write` entries as in Prometheus' configuration file: the same field names and
//! defaults, unknown fields rejected by name.

use crate::error::ConfigError;
use crate::relabel::RelabelConfig;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use storage::PromDuration;

/// The remote-write protocol message a queue sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum ProtobufMessage {
    /// Remote write 1.0.
    #[default]
    #[serde(rename = "prometheus.WriteRequest")]
    V1,
    /// Remote write 2.0.
    #[serde(rename = "io.prometheus.write.v2.Request")]
    V2,
}

impl ProtobufMessage {
    /// The name used in the configuration and the `Content-Type` `proto` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtobufMessage::V1 => crate::remote_write::PROTO_V1,
            ProtobufMessage::V2 => crate::remote_write::PROTO_V2,
        }
    }
}

fn d(ms: u64) -> PromDuration {
    PromDuration(Duration::from_millis(ms))
}
fn default_timeout() -> PromDuration {
    PromDuration::secs(30)
}
fn default_true() -> bool {
    true
}
fn default_capacity() -> usize {
    10_000
}
fn default_min_shards() -> usize {
    1
}
fn default_max_shards() -> usize {
    50
}
fn default_max_samples() -> usize {
    2_000
}
fn default_deadline() -> PromDuration {
    PromDuration::secs(5)
}
fn default_min_backoff() -> PromDuration {
    d(30)
}
fn default_max_backoff() -> PromDuration {
    PromDuration::secs(5)
}
fn default_metadata_interval() -> PromDuration {
    PromDuration::secs(60)
}

/// `queue_config`: how samples are buffered, batched, sharded and retried.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Samples buffered per shard before reading the WAL pauses (10000).
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// Fewest shards (1); also the number started with.
    #[serde(default = "default_min_shards")]
    pub min_shards: usize,
    /// Most shards (50).
    #[serde(default = "default_max_shards")]
    pub max_shards: usize,
    /// Samples per request (2000).
    #[serde(default = "default_max_samples")]
    pub max_samples_per_send: usize,
    /// Longest a sample waits in a shard before a partial batch is sent (5s).
    #[serde(default = "default_deadline")]
    pub batch_send_deadline: PromDuration,
    /// First retry delay, doubled on every retry (30ms).
    #[serde(default = "default_min_backoff")]
    pub min_backoff: PromDuration,
    /// Longest retry delay (5s).
    #[serde(default = "default_max_backoff")]
    pub max_backoff: PromDuration,
    /// Retry on 429 Too Many Requests (true); otherwise a 429 drops the batch.
    #[serde(default = "default_true")]
    pub retry_on_http_429: bool,
    /// Samples older than this are dropped instead of sent (0 = no limit).
    #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
    pub sample_age_limit: PromDuration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: default_capacity(),
            min_shards: default_min_shards(),
            max_shards: default_max_shards(),
            max_samples_per_send: default_max_samples(),
            batch_send_deadline: default_deadline(),
            min_backoff: default_min_backoff(),
            max_backoff: default_max_backoff(),
            retry_on_http_429: true,
            sample_age_limit: PromDuration(Duration::ZERO),
        }
    }
}

/// `metadata_config`: metric metadata sent alongside (1.0: separate requests every
/// `send_interval`; 2.0: inline with the series).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    /// Whether to send metadata (true).
    #[serde(default = "default_true")]
    pub send: bool,
    /// How often 1.0 queues send all metadata (1m).
    #[serde(default = "default_metadata_interval")]
    pub send_interval: PromDuration,
    /// Metadata entries per request (2000).
    #[serde(default = "default_max_samples")]
    pub max_samples_per_send: usize,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            send: true,
            send_interval: default_metadata_interval(),
            max_samples_per_send: default_max_samples(),
        }
    }
}

httpclient::http_client_struct! {
    /// One `remote_write` entry.
    #[derive(Clone, Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RemoteWriteConfig {
        /// The endpoint (`http://host/api/v1/write`).
        pub url: String,
        /// Name of the queue in metrics and logs (default: a hash of the URL).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub name: String,
        /// Timeout of one request (30s).
        #[serde(default = "default_timeout")]
        pub remote_timeout: PromDuration,
        /// Extra request headers.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub headers: BTreeMap<String, String>,
        /// Relabeling applied to every series before it is sent.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub write_relabel_configs: Vec<RelabelConfig>,
        /// 1.0 (`prometheus.WriteRequest`, default) or 2.0 (`io.prometheus.write.v2.Request`).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub protobuf_message: ProtobufMessage,
        /// Send the exemplars the WAL holds, in the series' `TimeSeries` (1.0) or with
        /// their labels as symbols (2.0), as Prometheus does.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub send_exemplars: bool,
        /// Send native histograms (false: histogram samples in the WAL are skipped, as
        /// Prometheus' queues skip them).
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub send_native_histograms: bool,
        /// Sextant resolves the host once per connection as usual: `true` is refused by name.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub round_robin_dns: bool,
        /// Queue tuning.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub queue_config: QueueConfig,
        /// Metadata sending.
        #[serde(default, deserialize_with = "storage::model::yaml::nullable")]
        pub metadata_config: MetadataConfig,
    }
}

impl RemoteWriteConfig {
    /// An entry with Prometheus' defaults.
    pub fn new(url: impl Into<String>) -> Self {
        httpclient::with_http_client_defaults!(RemoteWriteConfig {
            url: url.into(),
            name: String::new(),
            remote_timeout: default_timeout(),
            headers: BTreeMap::new(),
            write_relabel_configs: Vec::new(),
            protobuf_message: ProtobufMessage::V1,
            send_exemplars: false,
            send_native_histograms: false,
            round_robin_dns: false,
            queue_config: QueueConfig::default(),
            metadata_config: MetadataConfig::default(),
        })
    }

    /// A stable key of the queue (URL and name): names its position file, so changing other
    /// settings keeps the queue's place in the WAL.
    pub fn queue_key(&self) -> String {
        use md5::{Digest, Md5};
        let mut h = Md5::new();
        h.update(self.url.as_bytes());
        h.update([0]);
        h.update(self.name.as_bytes());
        let out = h.finalize();
        out.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The name shown in metrics (`remote_name`): the configured one or the key's first 6
    /// characters, as Prometheus does with its config hash.
    pub fn display_name(&self) -> String {
        if self.name.is_empty() {
            self.queue_key()[..6].to_string()
        } else {
            self.name.clone()
        }
    }
}

/// Checks what serde cannot: URLs, names unique, shard bounds, headers, relabel rules.
pub fn validate(cfgs: &[RemoteWriteConfig]) -> Result<(), ConfigError> {
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    for (i, c) in cfgs.iter().enumerate() {
        let what = format!("remote_write[{i}] ({})", c.url);
        let url =
            reqwest::Url::parse(&c.url).map_err(|e| ConfigError(format!("{what}: invalid url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError(format!(
                "{what}: url scheme must be http or https, not {:?}",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError(format!("{what}: url has no host")));
        }
        if !c.name.is_empty() && !names.insert(c.name.clone()) {
            return Err(ConfigError(format!(
                "found multiple remote write configs with job name {:?}",
                c.name
            )));
        }
        if !keys.insert(c.queue_key()) {
            return Err(ConfigError(format!(
                "duplicate remote write configs are not allowed, found duplicate for URL: {}",
                c.url
            )));
        }
        if c.round_robin_dns {
            return Err(ConfigError(format!(
                "{what}: round_robin_dns: true is not supported by Sextant's remote-write client"
            )));
        }
        let q = &c.queue_config;
        if q.min_shards == 0 || q.max_shards == 0 {
            return Err(ConfigError(format!(
                "{what}: min_shards and max_shards must be at least 1"
            )));
        }
        if q.min_shards > q.max_shards {
            return Err(ConfigError(format!(
                "{what}: min_shards ({}) is greater than max_shards ({})",
                q.min_shards, q.max_shards
            )));
        }
        if q.max_samples_per_send == 0 || q.capacity == 0 {
            return Err(ConfigError(format!(
                "{what}: capacity and max_samples_per_send must be positive"
            )));
        }
        if q.min_backoff.0 > q.max_backoff.0 {
            return Err(ConfigError(format!(
                "{what}: min_backoff is greater than max_backoff"
            )));
        }
        if c.remote_timeout.0.is_zero() {
            return Err(ConfigError(format!("{what}: remote_timeout must be positive")));
        }
        for (k, v) in &c.headers {
            if httpclient::config::PROTOCOL_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                return Err(ConfigError(format!(
                    "{what}: {k} is a reserved header. It must not be changed"
                )));
            }
            reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| ConfigError(format!("{what}: invalid header name {k:?}")))?;
            reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| ConfigError(format!("{what}: invalid value for header {k:?}")))?;
        }
        for r in &c.write_relabel_configs {
            r.validate()
                .map_err(|e| ConfigError(format!("{what}: write_relabel_configs: {e}")))?;
        }
        c.http().validate(&what)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(y: &str) -> Result<Vec<RemoteWriteConfig>, String> {
        let v: Vec<RemoteWriteConfig> = serde_saphyr::from_str(y).map_err(|e| e.to_string())?;
        validate(&v).map_err(|e| e.to_string())?;
        Ok(v)
    }

    #[test]
    fn defaults_are_prometheus() {
        let c = &parse("- url: http://127.0.0.1:9/api/v1/write\n").unwrap()[0];
        assert_eq!(c.remote_timeout.0, Duration::from_secs(30));
        let q = &c.queue_config;
        assert_eq!(
            (q.capacity, q.min_shards, q.max_shards, q.max_samples_per_send),
            (10_000, 1, 50, 2_000)
        );
        assert_eq!(q.batch_send_deadline.0, Duration::from_secs(5));
        assert_eq!(q.min_backoff.0, Duration::from_millis(30));
        assert_eq!(q.max_backoff.0, Duration::from_secs(5));
        assert!(q.retry_on_http_429);
        assert!(c.metadata_config.send);
        assert_eq!(c.metadata_config.send_interval.0, Duration::from_secs(60));
        assert_eq!(c.protobuf_message, ProtobufMessage::V1);
        assert_eq!(c.display_name().len(), 6);
    }

    #[test]
    fn all_fields() {
        let y = "- url: https://mimir.example/api/v1/push\n  name: mimir\n  remote_timeout: 10s\n  headers: {X-Scope-OrgID: tenant1}\n  basic_auth: {username: u, password: p}\n  tls_config: {insecure_skip_verify: true}\n  write_relabel_configs:\n    - {source_labels: [__name__], regex: 'go_.*', action: drop}\n  queue_config: {capacity: 500, min_shards: 2, max_shards: 4, max_samples_per_send: 100, batch_send_deadline: 1s, min_backoff: 10ms, max_backoff: 1s, retry_on_http_429: false}\n  metadata_config: {send: false, send_interval: 30s}\n  protobuf_message: io.prometheus.write.v2.Request\n";
        let c = &parse(y).unwrap()[0];
        assert_eq!(c.name, "mimir");
        assert_eq!(c.headers["X-Scope-OrgID"], "tenant1");
        assert_eq!(c.queue_config.max_shards, 4);
        assert!(!c.queue_config.retry_on_http_429);
        assert_eq!(c.protobuf_message, ProtobufMessage::V2);
        assert!(!c.metadata_config.send);
        assert_eq!(c.write_relabel_configs.len(), 1);
        assert!(c.follow_redirects && c.enable_http2);
        // The HTTP client fields Prometheus accepts inline, shared with scrape configs.
        let y = "- url: http://127.0.0.1:9/w\n  http_headers: {X-Tenant: {values: [a]}}\n  proxy_url: http://127.0.0.1:3128\n  no_proxy: localhost\n  follow_redirects: false\n";
        let c = &parse(y).unwrap()[0];
        assert_eq!(c.http().http_headers["X-Tenant"].values, vec!["a".to_string()]);
        assert!(!c.http().follow_redirects);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse("- url: http://x/w\n  queue_config: {max_shard: 3}\n").unwrap_err();
        assert!(e.contains("max_shard"), "{e}");
        let e = parse("- url: http://x/w\n  tls_confg: {}\n").unwrap_err();
        assert!(e.contains("tls_confg"), "{e}");
        let e = parse("- url: http://x/w\n  protobuf_message: v3\n").unwrap_err();
        assert!(e.contains("v3") || e.contains("variant"), "{e}");
        let e = parse("- url: ftp://x/w\n").unwrap_err();
        assert!(e.contains("scheme"), "{e}");
        let e = parse("- url: http://x/w\n  queue_config: {min_shards: 5, max_shards: 2}\n").unwrap_err();
        assert!(e.contains("min_shards"), "{e}");
        let e = parse("- url: http://x/w\n  headers: {Content-Type: x}\n").unwrap_err();
        assert!(e.contains("reserved"), "{e}");
        let e = parse("- url: http://x/w\n  name: a\n- url: http://y/w\n  name: a\n").unwrap_err();
        assert!(e.contains("multiple"), "{e}");
        parse("- url: http://x/w\n  send_native_histograms: true\n").unwrap();
        parse("- url: http://x/w\n  send_exemplars: true\n").unwrap();
        let e = parse("- url: http://x/w\n  round_robin_dns: true\n").unwrap_err();
        assert!(e.contains("round_robin_dns"), "{e}");
        parse("- url: http://x/w\n  round_robin_dns: false\n").unwrap();
        let e = parse("- url: http://x/w\n- url: http://x/w\n").unwrap_err();
        assert!(e.contains("duplicate"), "{e}");
    }
}
