//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/query_exemplars`, `/api/v1/format_query`
//! and `/api/v1/parse_query`.

use super::error::{ApiError, ErrorType};
use super::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use super::response::Success;
use super::{blocking, json, now_ms};
use crate::WebState;
use axum::extract::State;
use query::{CancelToken, QueryOutput, Value};
use std::sync::Arc;
use std::time::Duration;

/// Prometheus' cap on points per series in a range query.
pub const MAX_POINTS_PER_SERIES: i128 = 11_000;

const TRUNCATED: &str = "results truncated due to limit";

/// Cancels the query when dropped: the request ended (answered, timed out, or the client went
/// away) so the evaluation need not go on.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs an evaluation on a blocking thread, bounded by the request's `timeout` if given.
/// The evaluation is canceled when the timeout fires or the request is dropped.
async fn evaluate<F>(timeout: Option<Duration>, f: F) -> Result<QueryOutput, ApiError>
where
    F: FnOnce(CancelToken) -> Result<QueryOutput, query::QueryError> + Send + 'static,
{
    let token = CancelToken::new();
    let _guard = CancelOnDrop(token.clone());
    if timeout.is_some_and(|t| t.is_zero()) {
        return Err(ApiError::from_query(query::QueryError::Timeout(
            "expression evaluation".into(),
        )));
    }
    let work = blocking(move || f(token).map_err(ApiError::from_query));
    match timeout {
        None => work.await,
        Some(t) => match tokio::time::timeout(t, work).await {
            Ok(r) => r,
            Err(_) => Err(ApiError::from_query(query::QueryError::Timeout(
                "expression evaluation".into(),
            ))),
        },
    }
}

/// At most this many warnings and as many infos are returned (Prometheus' `AsStrings` limits).
const MAX_ANNOTATIONS: usize = 10;

/// Sorts the engine's annotations into Prometheus' `warnings` and `infos` (an info that
/// arrived among the warnings is recognised by its `PromQL info:` prefix) and caps each list,
/// noting how many were left out.
fn split_annotations(warnings: Vec<String>, mut infos: Vec<String>) -> (Vec<String>, Vec<String>) {
    let (stray, warnings): (Vec<String>, Vec<String>) =
        warnings.into_iter().partition(|a| a.starts_with("PromQL info:"));
    infos.extend(stray);
    let cap = |mut v: Vec<String>, kind: &str| {
        if v.len() > MAX_ANNOTATIONS {
            let more = v.len() - MAX_ANNOTATIONS;
            v.truncate(MAX_ANNOTATIONS);
            v.push(format!("{more} more {kind} annotations omitted"));
        }
        v
    };
    (cap(warnings, "warning"), cap(infos, "info"))
}

/// Renders an engine result, cutting vectors and matrices to `limit` series (0 = no limit).
fn render(out: QueryOutput, limit: usize) -> Success {
    let (mut warnings, infos) = split_annotations(out.warnings, out.infos);
    let mut value = out.value;
    if limit > 0 {
        let cut = match &mut value {
            Value::Vector(v) if v.len() > limit => {
                v.truncate(limit);
                true
            }
            Value::Matrix(m) if m.len() > limit => {
                m.truncate(limit);
                true
            }
            _ => false,
        };
        if cut {
            warnings.push(TRUNCATED.to_string());
        }
    }
    Success::raw(json::query_data(&value))
        .with_warnings(warnings)
        .with_infos(infos)
}

/// The engine for this request: the shared one, or one with the request's `lookback_delta`
/// (Prometheus' per-query lookback). A per-query engine shares the limits but not the
/// concurrency gate of the shared one.
fn engine_for(st: &WebState, p: &Params) -> Result<Arc<query::Engine>, ApiError> {
    let v = p.get("lookback_delta");
    if v.is_empty() {
        return Ok(st.engine.clone());
    }
    let ns = super::params::parse_duration(v)
        .map_err(|e| ApiError::bad_data(format!("error parsing lookback delta duration: {e}")))?;
    let ms = ns / 1_000_000;
    let opts = st.engine.options();
    if ms <= 0 || ms == opts.lookback_delta_ms {
        return Ok(st.engine.clone());
    }
    Ok(Arc::new(query::Engine::new(query::EngineOptions {
        lookback_delta_ms: ms,
        ..opts.clone()
    })))
}

/// `GET|POST /api/v1/query`: `query`, `time` (default now), `timeout`, `limit`.
pub async fn instant(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let limit = p.limit()?;
    let t = p.time_or("time", now_ms())?;
    let timeout = p.timeout()?;
    let engine = engine_for(&st, &p)?;
    let expr = p.get("query").to_string();
    let out = evaluate(timeout, move |c| {
        engine.instant_with_cancel(&*st.queryable, &expr, t, Some(c))
    })
    .await?;
    Ok(render(out, limit))
}

/// `GET|POST /api/v1/query_range`: `query`, `start`, `end`, `step`, `timeout`, `limit`.
pub async fn range(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let limit = p.limit()?;
    let start = p.time("start")?;
    let end = p.time("end")?;
    if end < start {
        return Err(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step_ns =
        super::params::parse_duration(p.get("step")).map_err(|e| ApiError::invalid_param("step", e))?;
    if step_ns <= 0 {
        return Err(ApiError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    // For safety, cap the points returned per series (60 s resolution for a week).
    if (i128::from(end) - i128::from(start)) * 1_000_000 / i128::from(step_ns) > MAX_POINTS_PER_SERIES {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let step_ms = (step_ns / 1_000_000).max(1);
    let timeout = p.timeout()?;
    let engine = engine_for(&st, &p)?;
    let expr = p.get("query").to_string();
    let out = evaluate(timeout, move |c| {
        engine.range_with_cancel(&*st.queryable, &expr, start, end, step_ms, Some(c))
    })
    .await?;
    Ok(render(out, limit))
}

/// Parses an expression as the API does before evaluating (`invalid parameter "query"`).
fn parse_expr(p: &Params) -> Result<promql_parser::parser::Expr, ApiError> {
    query::engine::parse(p.get("query")).map_err(ApiError::from_query)
}

/// `GET|POST /api/v1/query_exemplars`: the stored exemplars of the series matched by the
/// selectors of `query` between `start` and `end` (default: all time), as Prometheus answers:
/// `[{"seriesLabels": {...}, "exemplars": [{"labels": {...}, "value": "6", "timestamp": 1600096945.479}]}]`,
/// sorted by series labels; `null` when the expression has no selector.
pub async fn exemplars(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let start = p.time_or("start", MIN_TIME_MS)?;
    let end = p.time_or("end", MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
        ));
    }
    let expr = parse_expr(&p)?;
    let selectors = query::extract_selectors(&expr).map_err(ApiError::from_query)?;
    if selectors.is_empty() {
        return Ok(Success::raw("null".into()));
    }
    let found = blocking(move || {
        st.queryable
            .select_exemplars(start, end, &selectors)
            .map_err(|e| ApiError::new(ErrorType::Internal, e.to_string()))
    })
    .await?;
    Ok(Success::raw(exemplars_json(&found)))
}

/// The `data` of a `query_exemplars` answer.
fn exemplars_json(found: &[storage::ExemplarSeries]) -> String {
    let mut out = String::with_capacity(64 + found.len() * 128);
    out.push('[');
    for (i, s) in found.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"seriesLabels\":");
        json::write_labels(&mut out, &s.series_labels);
        out.push_str(",\"exemplars\":[");
        for (j, e) in s.exemplars.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str("{\"labels\":");
            json::write_labels(&mut out, &e.labels);
            out.push_str(",\"value\":\"");
            json::write_float(&mut out, e.value);
            out.push_str("\",\"timestamp\":");
            json::write_timestamp(&mut out, e.t);
            out.push('}');
        }
        out.push_str("]}");
    }
    out.push(']');
    out
}

/// `GET|POST /api/v1/format_query`: the expression pretty-printed.
pub async fn format(p: Params) -> Result<Success, ApiError> {
    let expr = parse_expr(&p)?;
    Success::json(&expr.prettify())
}

/// `GET|POST /api/v1/parse_query`: the expression's syntax tree as JSON (the shape the
/// Prometheus UI's tree view reads).
pub async fn parse(p: Params) -> Result<Success, ApiError> {
    let expr = parse_expr(&p)?;
    let v = serde_json::to_value(&expr)
        .map_err(|e| ApiError::new(ErrorType::Internal, format!("error marshaling syntax tree: {e}")))?;
    Success::json(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_split_and_capped() {
        let mut all: Vec<String> = (0..12).map(|i| format!("PromQL warning: w{i}")).collect();
        all.push("PromQL info: i".into());
        let (w, i) = split_annotations(all, vec![]);
        assert_eq!(w.len(), 11);
        assert_eq!(w[10], "2 more warning annotations omitted");
        assert_eq!(i, vec!["PromQL info: i".to_string()]);
    }

    #[test]
    fn exemplars_in_prometheus_shape() {
        // The example answer of Prometheus' HTTP API documentation, rebuilt.
        let found = vec![storage::ExemplarSeries {
            series_labels: storage::Labels::from_pairs([
                ("__name__", "test_exemplar_metric_total"),
                ("instance", "localhost:8090"),
                ("job", "prometheus"),
                ("service", "bar"),
            ]),
            exemplars: vec![
                storage::Exemplar {
                    labels: storage::Labels::from_pairs([("trace_id", "EpTxMJ40fUus7aGY")]),
                    value: 6.0,
                    t: 1600096945479,
                },
                storage::Exemplar {
                    labels: storage::Labels::from_pairs([("trace_id", "Olp9XHlq763ccsfa")]),
                    value: 19.0,
                    t: 1600096955479,
                },
            ],
        }];
        let got: serde_json::Value = serde_json::from_str(&exemplars_json(&found)).unwrap();
        let want: serde_json::Value = serde_json::from_str(
            r#"[{"seriesLabels":{"__name__":"test_exemplar_metric_total","instance":"localhost:8090","job":"prometheus","service":"bar"},
                "exemplars":[{"labels":{"trace_id":"EpTxMJ40fUus7aGY"},"value":"6","timestamp":1600096945.479},
                             {"labels":{"trace_id":"Olp9XHlq763ccsfa"},"value":"19","timestamp":1600096955.479}]}]"#,
        )
        .unwrap();
        assert_eq!(got, want);
        assert_eq!(exemplars_json(&[]), "[]");
    }
}
