//! Raw sample export as VictoriaMetrics offers it, for post-processing outside Sextant:
//! `/api/v1/export` (one JSON object per series and line:
//! `{"metric":{...},"values":[...],"timestamps":[...]}`) and `/api/v1/export/csv` (one line per
//! sample, columns chosen by `format`, e.g. `__name__,job,__value__,__timestamp__:unix_s`).
//! Both take `match[]` (required), `start` and `end`. Staleness markers are not exported.

use super::error::ApiError;
use super::json::{write_float, write_labels};
use super::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use crate::WebState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use storage::time::format_rfc3339;
use storage::{is_stale_nan, Labels, Sample, SelectHints};

/// Reads every series matching the request's `match[]` in `[start, end]`, merged over the
/// selectors and sorted by labels, without staleness markers.
async fn select(st: Arc<WebState>, p: &Params) -> Result<Vec<(Labels, Vec<Sample>)>, ApiError> {
    if p.all("match[]").is_empty() {
        return Err(ApiError::bad_data("missing `match[]` arg"));
    }
    let start = p.time_or("start", MIN_TIME_MS)?;
    let end = p.time_or("end", MAX_TIME_MS)?;
    let sets = p.matcher_sets()?;
    super::blocking(move || {
        let q = st.queryable.querier(start, end).map_err(ApiError::from_storage)?;
        let hints = SelectHints {
            mint: start,
            maxt: end,
        };
        let mut out: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
        for set in &sets {
            for s in q.select(&hints, set).map_err(ApiError::from_storage)? {
                out.entry(s.labels)
                    .or_insert_with(|| s.samples.into_iter().filter(|x| !is_stale_nan(x.v)).collect());
            }
        }
        Ok(out.into_iter().filter(|(_, s)| !s.is_empty()).collect())
    })
    .await
}

fn with_type(body: String, content_type: &'static str) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// `GET|POST /api/v1/export`: JSON lines.
pub async fn export_json(State(st): State<Arc<WebState>>, p: Params) -> Result<Response, ApiError> {
    let series = select(st, &p).await?;
    let mut out = String::new();
    for (labels, samples) in &series {
        out.push_str("{\"metric\":");
        write_labels(&mut out, labels);
        out.push_str(",\"values\":[");
        for (i, s) in samples.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_float(&mut out, s.v);
        }
        out.push_str("],\"timestamps\":[");
        for (i, s) in samples.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}", s.t);
        }
        out.push_str("]}\n");
    }
    Ok(with_type(out, "application/stream+json"))
}

/// One CSV column.
#[derive(Clone, Debug, PartialEq)]
enum Column {
    Label(String),
    Value,
    Timestamp(TimeFormat),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum TimeFormat {
    UnixS,
    UnixMs,
    UnixNs,
    Rfc3339,
}

fn parse_format(f: &str) -> Result<Vec<Column>, ApiError> {
    if f.is_empty() {
        return Err(ApiError::bad_data(
            "missing `format` arg; for example `format=__name__,__value__,__timestamp__:unix_s`",
        ));
    }
    f.split(',')
        .map(|col| match col {
            "__value__" => Ok(Column::Value),
            "__timestamp__" | "__timestamp__:unix_ms" => Ok(Column::Timestamp(TimeFormat::UnixMs)),
            "__timestamp__:unix_s" => Ok(Column::Timestamp(TimeFormat::UnixS)),
            "__timestamp__:unix_ns" => Ok(Column::Timestamp(TimeFormat::UnixNs)),
            "__timestamp__:rfc3339" => Ok(Column::Timestamp(TimeFormat::Rfc3339)),
            c if c.starts_with("__timestamp__:") => Err(ApiError::invalid_param(
                "format",
                format!(
                    "unsupported timestamp format {:?}; supported: unix_s, unix_ms, unix_ns, rfc3339",
                    &c["__timestamp__:".len()..]
                ),
            )),
            "" => Err(ApiError::invalid_param("format", "empty column name")),
            label => Ok(Column::Label(label.to_string())),
        })
        .collect()
}

fn push_csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// `GET|POST /api/v1/export/csv`: one line per sample with the columns of `format`.
pub async fn export_csv(State(st): State<Arc<WebState>>, p: Params) -> Result<Response, ApiError> {
    let columns = parse_format(p.get("format"))?;
    let series = select(st, &p).await?;
    let mut out = String::new();
    for (labels, samples) in &series {
        for s in samples {
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match c {
                    Column::Label(name) => push_csv_field(&mut out, labels.get(name).unwrap_or("")),
                    Column::Value => write_float(&mut out, s.v),
                    Column::Timestamp(TimeFormat::UnixMs) => {
                        let _ = write!(out, "{}", s.t);
                    }
                    Column::Timestamp(TimeFormat::UnixS) => {
                        let _ = write!(out, "{}", s.t.div_euclid(1000));
                    }
                    Column::Timestamp(TimeFormat::UnixNs) => {
                        let _ = write!(out, "{}", i128::from(s.t) * 1_000_000);
                    }
                    Column::Timestamp(TimeFormat::Rfc3339) => {
                        out.push_str(&format_rfc3339(s.t.div_euclid(1000), 0));
                    }
                }
            }
            out.push('\n');
        }
    }
    Ok(with_type(out, "text/csv; charset=utf-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(
            parse_format("__name__,__value__,__timestamp__:unix_s").unwrap(),
            vec![
                Column::Label("__name__".into()),
                Column::Value,
                Column::Timestamp(TimeFormat::UnixS)
            ]
        );
        assert!(parse_format("").is_err());
        assert!(parse_format("__timestamp__:weird").is_err());
        assert!(parse_format("a,,b").is_err());
        let mut s = String::new();
        push_csv_field(&mut s, "a,\"b\"");
        assert_eq!(s, "\"a,\"\"b\"\"\"");
    }
}
