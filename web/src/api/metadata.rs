//! `/api/v1/metadata` and `/api/v1/targets/metadata`.

use super::error::ApiError;
use super::params::{parse_selector, Params};
use super::response::Success;
use super::targets::LabelsJson;
use crate::WebState;
use axum::extract::State;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use storage::{Matcher, MetricMetadata};

/// An optional integer parameter where -1 (absent) means "no limit", as Prometheus'
/// metadata endpoints read `limit` and `limit_per_metric`.
fn signed_limit(p: &Params, name: &str) -> Result<i64, ApiError> {
    let s = p.get(name);
    if s.is_empty() {
        return Ok(-1);
    }
    s.parse::<i64>()
        .map_err(|_| ApiError::bad_data(format!("{name} must be a number")))
}

/// `GET /api/v1/metadata`: `metric` -> list of distinct `{type, help, unit}`, with `limit`
/// (number of metrics), `limit_per_metric` and `metric` (one family only).
pub async fn metadata(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let limit = signed_limit(&p, "limit")?;
    let per_metric = signed_limit(&p, "limit_per_metric")?;
    let metric = p.get("metric").to_string();
    let all = super::blocking(move || Ok(st.queryable.metadata())).await?;
    let mut out: BTreeMap<String, Vec<MetricMetadata>> = BTreeMap::new();
    for (name, list) in all {
        if !metric.is_empty() && name != metric {
            continue;
        }
        if limit >= 0 && out.len() as i64 >= limit {
            break;
        }
        let mut distinct: Vec<MetricMetadata> = Vec::new();
        for m in list {
            if per_metric > 0 && distinct.len() as i64 >= per_metric {
                break;
            }
            if !distinct.contains(&m) {
                distinct.push(m);
            }
        }
        out.insert(name, distinct);
    }
    Success::json(&out)
}

#[derive(Serialize)]
struct TargetMetadataJson<'a> {
    target: LabelsJson<'a>,
    #[serde(skip_serializing_if = "str::is_empty")]
    metric: &'a str,
    #[serde(rename = "type")]
    metric_type: &'static str,
    help: &'a str,
    unit: &'a str,
}

/// `GET /api/v1/targets/metadata`: per-target metadata, filtered by `match_target` (a series
/// selector over target labels), `metric`, and cut to `limit` entries.
pub async fn targets_metadata(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let limit = signed_limit(&p, "limit")?;
    let match_target = p.get("match_target");
    let sets: Vec<Vec<Matcher>> = if match_target.is_empty() {
        Vec::new()
    } else {
        parse_selector(match_target).map_err(|e| ApiError::invalid_param("match_target", e))?
    };
    let metric = p.get("metric");
    let entries = st.targets.metadata();
    let mut out = Vec::new();
    for e in &entries {
        if limit >= 0 && out.len() as i64 >= limit {
            break;
        }
        if !sets.is_empty()
            && !sets
                .iter()
                .any(|set| set.iter().all(|m| m.matches(e.target.get(&m.name).unwrap_or(""))))
        {
            continue;
        }
        if !metric.is_empty() && e.metric != metric {
            continue;
        }
        out.push(TargetMetadataJson {
            target: LabelsJson(&e.target),
            metric: &e.metric,
            metric_type: e.metadata.metric_type.as_str(),
            help: &e.metadata.help,
            unit: &e.metadata.unit,
        });
    }
    Success::json(&out)
}
