//! `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/<name>/values`.

use super::error::ApiError;
use super::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use super::response::Success;
use super::{blocking, json};
use crate::WebState;
use axum::extract::{Path, State};
use std::collections::BTreeSet;
use std::sync::Arc;
use storage::{Labels, Matcher};

const TRUNCATED: &str = "results truncated due to limit";

/// `start` (default: the beginning of time), `end` (default: the end of time), `limit`.
struct Range {
    start: i64,
    end: i64,
    limit: usize,
}

fn range_and_limit(p: &Params) -> Result<Range, ApiError> {
    let limit = p.limit()?;
    let start = p.time_or("start", MIN_TIME_MS)?;
    let end = p.time_or("end", MAX_TIME_MS)?;
    Ok(Range { start, end, limit })
}

/// Cuts `items` to `limit` (0 = none), returning the warning when something was cut.
fn truncate<T>(items: &mut Vec<T>, limit: usize) -> Option<String> {
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        Some(TRUNCATED.to_string())
    } else {
        None
    }
}

/// `GET|POST /api/v1/series`: the label sets of series matching any `match[]` (required)
/// with data in `[start, end]`, sorted, each once.
pub async fn series(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    if p.all("match[]").is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let r = range_and_limit(&p)?;
    let sets = p.matcher_sets()?;
    let mut found: Vec<Labels> = blocking(move || {
        let q = st
            .queryable
            .querier(r.start, r.end)
            .map_err(ApiError::from_storage)?;
        if sets.len() == 1 {
            return q.series(&sets[0]).map_err(ApiError::from_storage);
        }
        let mut all = BTreeSet::new();
        for set in &sets {
            all.extend(q.series(set).map_err(ApiError::from_storage)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    let warning = truncate(&mut found, r.limit);
    let mut out = String::with_capacity(found.len() * 96 + 2);
    out.push('[');
    for (i, l) in found.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_labels(&mut out, l);
    }
    out.push(']');
    Ok(Success::raw(out).with_warnings(warning))
}

/// Runs `f` once without matchers or once per matcher set, and merges the sorted results.
fn union(
    sets: &[Vec<Matcher>],
    mut f: impl FnMut(&[Matcher]) -> Result<Vec<String>, storage::QueryError>,
) -> Result<Vec<String>, ApiError> {
    match sets {
        [] => f(&[]).map_err(ApiError::from_storage),
        [one] => f(one).map_err(ApiError::from_storage),
        many => {
            let mut all = BTreeSet::new();
            for set in many {
                all.extend(f(set).map_err(ApiError::from_storage)?);
            }
            Ok(all.into_iter().collect())
        }
    }
}

/// `GET|POST /api/v1/labels`: sorted label names, optionally of series matching `match[]`.
pub async fn labels(State(st): State<Arc<WebState>>, p: Params) -> Result<Success, ApiError> {
    let r = range_and_limit(&p)?;
    let sets = p.matcher_sets()?;
    let mut names = blocking(move || {
        let q = st
            .queryable
            .querier(r.start, r.end)
            .map_err(ApiError::from_storage)?;
        union(&sets, |ms| q.label_names(ms))
    })
    .await?;
    let warning = truncate(&mut names, r.limit);
    Ok(Success::json(&names)?.with_warnings(warning))
}

/// `GET /api/v1/label/<name>/values`: sorted values of a label, optionally among series
/// matching `match[]`. Names escaped for UTF-8 (`U__...`) are unescaped first.
pub async fn label_values(
    State(st): State<Arc<WebState>>,
    Path(name): Path<String>,
    p: Params,
) -> Result<Success, ApiError> {
    let name = unescape_name(&name);
    if name.is_empty() {
        return Err(ApiError::bad_data(format!(
            "invalid label name: {}",
            json::go_quote(&name)
        )));
    }
    let r = range_and_limit(&p)?;
    let sets = p.matcher_sets()?;
    let mut values = blocking(move || {
        let q = st
            .queryable
            .querier(r.start, r.end)
            .map_err(ApiError::from_storage)?;
        union(&sets, |ms| q.label_values(&name, ms))
    })
    .await?;
    let warning = truncate(&mut values, r.limit);
    Ok(Success::json(&values)?.with_warnings(warning))
}

/// Undoes Prometheus' "value encoding" escaping of label names (`U__` prefix, `__` for `_`,
/// `_<hex>_` for any other character). Names that are not validly escaped come back unchanged.
pub fn unescape_name(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        let mut code: u32 = 0;
        let mut n = 0;
        loop {
            match chars.next() {
                None => return name.to_string(),
                Some('_') if n == 0 => {
                    out.push('_');
                    break;
                }
                Some('_') => match char::from_u32(code) {
                    Some(ch) => {
                        out.push(ch);
                        break;
                    }
                    None => return name.to_string(),
                },
                Some(h) => {
                    let Some(d) = h.to_digit(16) else {
                        return name.to_string();
                    };
                    n += 1;
                    if n > 6 {
                        return name.to_string();
                    }
                    code = code * 16 + d;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_utf8_names() {
        assert_eq!(unescape_name("job"), "job");
        assert_eq!(unescape_name("U__my__label"), "my_label");
        assert_eq!(unescape_name("U__a_2e_b"), "a.b");
        assert_eq!(unescape_name("U__caf_e9_"), "café");
        assert_eq!(unescape_name("U__bad_zz_"), "U__bad_zz_");
        assert_eq!(unescape_name("U__open_2e"), "U__open_2e");
    }
}
