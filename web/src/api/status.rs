//! `/api/v1/status/*`: build info, runtime info, flags, configuration, TSDB cardinality
//! statistics and WAL replay progress.

use super::error::ApiError;
use super::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use super::response::Success;
use crate::WebState;
use axum::extract::State;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use storage::time::format_system_time;
use storage::{MatchOp, Matcher, METRIC_NAME};

/// The Prometheus version Sextant's API is compatible with, reported by buildinfo so that
/// Grafana enables the features that version has (it must be valid semver).
pub const PROMETHEUS_COMPAT_VERSION: &str = "3.5.0";

/// What `/api/v1/status/buildinfo` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// A Prometheus-compatible semver version.
    pub version: String,
    /// Source revision.
    pub revision: String,
    /// Source branch.
    pub branch: String,
    /// Who built it.
    pub build_user: String,
    /// When it was built.
    pub build_date: String,
    /// Prometheus reports the Go version here; Sextant names its toolchain.
    pub go_version: String,
}

impl Default for BuildInfo {
    fn default() -> Self {
        BuildInfo {
            version: PROMETHEUS_COMPAT_VERSION.to_string(),
            revision: format!("sextant-{}", env!("CARGO_PKG_VERSION")),
            branch: String::new(),
            build_user: String::new(),
            build_date: String::new(),
            go_version: "rust".to_string(),
        }
    }
}

/// Head block statistics for `/api/v1/status/tsdb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HeadStats {
    /// Series in the head.
    pub num_series: u64,
    /// Chunks in the head.
    pub chunk_count: u64,
    /// Oldest timestamp in the head (ms).
    pub min_time: i64,
    /// Newest timestamp in the head (ms).
    pub max_time: i64,
    /// Series in the head holding native histogram samples.
    pub histogram_series: u64,
    /// Native histogram samples in the head.
    pub histogram_samples: u64,
}

/// Supplies head statistics; the cardinality tables are computed from the head's range.
pub trait TsdbStatsProvider: Send + Sync {
    /// The head's current statistics.
    fn head_stats(&self) -> HeadStats;
}

/// `GET /api/v1/status/buildinfo`.
pub async fn buildinfo(State(st): State<Arc<WebState>>) -> Result<Success, ApiError> {
    Success::json(&st.build_info)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeInfo {
    start_time: String,
    #[serde(rename = "CWD")]
    cwd: String,
    hostname: String,
    server_time: String,
    reload_config_success: bool,
    last_config_time: String,
    corruption_count: i64,
    goroutine_count: usize,
    #[serde(rename = "GOMAXPROCS")]
    gomaxprocs: usize,
    #[serde(rename = "GOMEMLIMIT")]
    gomemlimit: i64,
    #[serde(rename = "GOGC")]
    gogc: String,
    #[serde(rename = "GODEBUG")]
    godebug: String,
    storage_retention: String,
}

/// `GET /api/v1/status/runtimeinfo`.
pub async fn runtimeinfo(State(st): State<Arc<WebState>>) -> Result<Success, ApiError> {
    let start = format_system_time(st.start_time);
    let info = RuntimeInfo {
        start_time: start.clone(),
        cwd: std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        server_time: format_system_time(std::time::SystemTime::now()),
        reload_config_success: true,
        last_config_time: start,
        corruption_count: 0,
        goroutine_count: tokio::runtime::Handle::try_current()
            .map(|h| h.metrics().num_alive_tasks())
            .unwrap_or(0),
        gomaxprocs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        gomemlimit: i64::MAX,
        gogc: String::new(),
        godebug: String::new(),
        storage_retention: st.storage_retention.clone(),
    };
    Success::json(&info)
}

/// `GET /api/v1/status/flags`.
pub async fn flags(State(st): State<Arc<WebState>>) -> Result<Success, ApiError> {
    Success::json(&st.flags)
}

/// `GET /api/v1/status/config`: `{"yaml": "..."}`.
pub async fn config(State(st): State<Arc<WebState>>) -> Result<Success, ApiError> {
    #[derive(Serialize)]
    struct Yaml<'a> {
        yaml: &'a str,
    }
    Success::json(&Yaml {
        yaml: &st.config_yaml,
    })
}

/// `GET /api/v1/status/walreplay`: replay is over once the server is ready.
pub async fn walreplay() -> Result<Success, ApiError> {
    Ok(Success::raw(r#"{"min":0,"max":0,"current":0}"#.into()))
}

#[derive(Serialize, Debug, PartialEq, Eq)]
struct Stat {
    name: String,
    value: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HeadStatsJson {
    num_series: u64,
    num_label_pairs: u64,
    chunk_count: u64,
    min_time: i64,
    max_time: i64,
    /// Sextant's addition: series with native histograms and their samples in the head.
    num_histogram_series: u64,
    num_histogram_samples: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TsdbStatus {
    head_stats: HeadStatsJson,
    series_count_by_metric_name: Vec<Stat>,
    label_value_count_by_label_name: Vec<Stat>,
    memory_in_bytes_by_label_name: Vec<Stat>,
    series_count_by_label_value_pair: Vec<Stat>,
}

/// The `limit` largest entries, largest first, ties by name.
fn top(map: HashMap<String, u64>, limit: usize) -> Vec<Stat> {
    let mut v: Vec<Stat> = map
        .into_iter()
        .map(|(name, value)| Stat { name, value })
        .collect();
    v.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.name.cmp(&b.name)));
    v.truncate(limit);
    v
}

/// `GET /api/v1/status/tsdb`: head statistics and the top `limit` (default 10, at most
/// 10000) metric names, label names and label pairs by cardinality.
pub async fn tsdb(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let mut limit = 10usize;
    let s = p.get("limit");
    if !s.is_empty() {
        limit = match s.parse::<i64>() {
            Ok(n) if n >= 1 => n as usize,
            _ => return Err(ApiError::bad_data("limit must be a positive number")),
        };
        if limit > 10_000 {
            return Err(ApiError::bad_data("limit must not exceed 10000"));
        }
    }
    let status = super::blocking(move || {
        let head = st.tsdb_stats.as_ref().map(|p| p.head_stats());
        let (mint, maxt) = match head {
            Some(h) if h.min_time <= h.max_time => (h.min_time, h.max_time),
            _ => (MIN_TIME_MS, MAX_TIME_MS),
        };
        let all =
            Matcher::new(MatchOp::Regex, METRIC_NAME, ".+").map_err(|e| ApiError::internal(e.to_string()))?;
        let q = st.queryable.querier(mint, maxt).map_err(ApiError::from_storage)?;
        let series = q.series(&[all]).map_err(ApiError::from_storage)?;
        let mut by_metric: HashMap<String, u64> = HashMap::new();
        let mut by_pair: HashMap<String, u64> = HashMap::new();
        let mut values_by_name: HashMap<String, HashMap<String, u64>> = HashMap::new();
        for l in &series {
            if let Some(n) = l.metric_name() {
                *by_metric.entry(n.to_string()).or_default() += 1;
            }
            for lab in l.iter() {
                *by_pair.entry(format!("{}={}", lab.name, lab.value)).or_default() += 1;
                *values_by_name
                    .entry(lab.name.to_string())
                    .or_default()
                    .entry(lab.value.to_string())
                    .or_default() += 1;
            }
        }
        let num_label_pairs = by_pair.len() as u64;
        let mut value_counts = HashMap::new();
        let mut memory = HashMap::new();
        for (name, values) in values_by_name {
            value_counts.insert(name.clone(), values.len() as u64);
            memory.insert(name, values.iter().map(|(v, n)| v.len() as u64 * n).sum());
        }
        let head_json = match head {
            Some(h) => HeadStatsJson {
                num_series: h.num_series,
                num_label_pairs,
                chunk_count: h.chunk_count,
                min_time: h.min_time,
                max_time: h.max_time,
                num_histogram_series: h.histogram_series,
                num_histogram_samples: h.histogram_samples,
            },
            None => HeadStatsJson {
                num_series: series.len() as u64,
                num_label_pairs,
                chunk_count: 0,
                // What Prometheus shows for an empty head.
                min_time: i64::MAX,
                max_time: i64::MIN,
                num_histogram_series: 0,
                num_histogram_samples: 0,
            },
        };
        Ok(TsdbStatus {
            head_stats: head_json,
            series_count_by_metric_name: top(by_metric, limit),
            label_value_count_by_label_name: top(value_counts, limit),
            memory_in_bytes_by_label_name: top(memory, limit),
            series_count_by_label_value_pair: top(by_pair, limit),
        })
    })
    .await?;
    Success::json(&status)
}
