//! `/api/v1/targets` and the [`TargetsProvider`] the scrape manager implements.

use super::error::ApiError;
use super::params::Params;
use super::response::Success;
use crate::WebState;
use axum::extract::State;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use storage::format_duration;
use storage::time::{format_system_time, GO_ZERO_TIME};
use storage::{Labels, MetricMetadata};

/// A target's health as the last scrape left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetHealth {
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
    /// Not scraped yet.
    Unknown,
}

impl TargetHealth {
    /// `up`, `down` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetHealth::Up => "up",
            TargetHealth::Down => "down",
            TargetHealth::Unknown => "unknown",
        }
    }
}

/// A target being scraped.
#[derive(Clone, Debug)]
pub struct ActiveTarget {
    /// Labels before relabelling (`__address__`, `__scheme__`, `__metrics_path__`, ...).
    pub discovered_labels: Labels,
    /// Labels after relabelling (the ones added to scraped series).
    pub labels: Labels,
    /// The scrape pool (the job name).
    pub scrape_pool: String,
    /// The URL scraped.
    pub scrape_url: String,
    /// The URL as seen from elsewhere (host name instead of loopback); defaults to `scrape_url`.
    pub global_url: String,
    /// The last scrape's error, empty if it succeeded.
    pub last_error: String,
    /// When the last scrape started; `None` if never scraped.
    pub last_scrape: Option<SystemTime>,
    /// How long the last scrape took.
    pub last_scrape_duration: Duration,
    /// The health after the last scrape.
    pub health: TargetHealth,
    /// The scrape interval.
    pub scrape_interval: Duration,
    /// The scrape timeout.
    pub scrape_timeout: Duration,
}

/// A discovered target that relabelling dropped.
#[derive(Clone, Debug)]
pub struct DroppedTarget {
    /// The scrape pool it was discovered for.
    pub scrape_pool: String,
    /// Its labels before relabelling.
    pub discovered_labels: Labels,
}

/// Metadata of one metric as scraped from one target (`/api/v1/targets/metadata`).
#[derive(Clone, Debug)]
pub struct TargetMetadata {
    /// The target's labels.
    pub target: Labels,
    /// The metric family name.
    pub metric: String,
    /// Type, help and unit.
    pub metadata: MetricMetadata,
}

/// What the scrape manager tells the API about its targets.
pub trait TargetsProvider: Send + Sync {
    /// Targets being scraped.
    fn active(&self) -> Vec<ActiveTarget>;
    /// Targets dropped by relabelling.
    fn dropped(&self) -> Vec<DroppedTarget> {
        Vec::new()
    }
    /// Per-target metric metadata, if kept.
    fn metadata(&self) -> Vec<TargetMetadata> {
        Vec::new()
    }
    /// The configured scrape pools (job names), also those without targets. The default
    /// lists the pools of the current targets.
    fn scrape_pools(&self) -> Vec<String> {
        let mut pools: Vec<String> = self.active().into_iter().map(|t| t.scrape_pool).collect();
        pools.extend(self.dropped().into_iter().map(|t| t.scrape_pool));
        pools
    }
}

/// A provider with no targets (no scrape configuration, or tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTargets;

impl TargetsProvider for NoTargets {
    fn active(&self) -> Vec<ActiveTarget> {
        Vec::new()
    }
}

/// Serialises a label set as a JSON object in label order.
pub(crate) struct LabelsJson<'a>(pub &'a Labels);

impl Serialize for LabelsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for l in self.0.iter() {
            m.serialize_entry(l.name.as_ref(), l.value.as_ref())?;
        }
        m.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActiveJson<'a> {
    discovered_labels: LabelsJson<'a>,
    labels: LabelsJson<'a>,
    scrape_pool: &'a str,
    scrape_url: &'a str,
    global_url: &'a str,
    last_error: &'a str,
    last_scrape: String,
    last_scrape_duration: f64,
    health: &'static str,
    scrape_interval: String,
    scrape_timeout: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DroppedJson<'a> {
    discovered_labels: LabelsJson<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetsJson<'a> {
    active_targets: Vec<ActiveJson<'a>>,
    dropped_targets: Vec<DroppedJson<'a>>,
    /// Per pool over all dropped targets; `null` when dropped targets are not shown.
    dropped_target_counts: Option<BTreeMap<&'a str, usize>>,
}

/// `GET /api/v1/targets`: `state` = `active` | `dropped` | `any` (default), `scrapePool`.
pub async fn targets(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let state = p.get("state").to_ascii_lowercase();
    let pool = p.get("scrapePool");
    let show_active = matches!(state.as_str(), "" | "any" | "active");
    let show_dropped = matches!(state.as_str(), "" | "any" | "dropped");
    let mut active = if show_active {
        st.targets.active()
    } else {
        Vec::new()
    };
    let all_dropped = if show_dropped {
        st.targets.dropped()
    } else {
        Vec::new()
    };
    let mut counts = BTreeMap::new();
    for d in &all_dropped {
        *counts.entry(d.scrape_pool.as_str()).or_insert(0) += 1;
    }
    let mut dropped: Vec<&DroppedTarget> = all_dropped.iter().collect();
    if !pool.is_empty() {
        active.retain(|t| t.scrape_pool == pool);
        dropped.retain(|t| t.scrape_pool == pool);
    }
    active.sort_by(|a, b| a.scrape_pool.cmp(&b.scrape_pool));
    dropped.sort_by(|a, b| a.scrape_pool.cmp(&b.scrape_pool));
    let body = TargetsJson {
        active_targets: active
            .iter()
            .map(|t| ActiveJson {
                discovered_labels: LabelsJson(&t.discovered_labels),
                labels: LabelsJson(&t.labels),
                scrape_pool: &t.scrape_pool,
                scrape_url: &t.scrape_url,
                global_url: if t.global_url.is_empty() {
                    &t.scrape_url
                } else {
                    &t.global_url
                },
                last_error: &t.last_error,
                last_scrape: t
                    .last_scrape
                    .map(format_system_time)
                    .unwrap_or_else(|| GO_ZERO_TIME.to_string()),
                last_scrape_duration: t.last_scrape_duration.as_secs_f64(),
                health: t.health.as_str(),
                scrape_interval: format_duration(t.scrape_interval),
                scrape_timeout: format_duration(t.scrape_timeout),
            })
            .collect(),
        dropped_targets: dropped
            .iter()
            .map(|d| DroppedJson {
                discovered_labels: LabelsJson(&d.discovered_labels),
            })
            .collect(),
        dropped_target_counts: show_dropped.then_some(counts),
    };
    Success::json(&body)
}

/// `GET /api/v1/scrape_pools`: `{"scrapePools": [...]}`, the names of the pools with targets,
/// sorted.
pub async fn scrape_pools(State(st): State<Arc<WebState>>) -> Result<Success, ApiError> {
    let mut pools = st.targets.scrape_pools();
    pools.sort();
    pools.dedup();
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Pools {
        scrape_pools: Vec<String>,
    }
    Success::json(&Pools { scrape_pools: pools })
}
