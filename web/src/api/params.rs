//! Request parameters: form values from the query string and a form-encoded body, and the
//! parsers for timestamps, durations, limits and `match[]` selectors, with Prometheus' error
//! messages.

use super::error::ApiError;
use super::json::go_quote;
use axum::extract::{FromRequest, Request};
use axum::http::{header, Method};
use storage::{MatchOp, Matcher};

/// Prometheus' smallest representable time (ms): `MinTime` in `web/api/v1`.
pub const MIN_TIME_MS: i64 = (i64::MIN / 1000 + 62135596801) * 1000;
/// Prometheus' largest representable time (ms): `MaxTime` in `web/api/v1`.
pub const MAX_TIME_MS: i64 = (i64::MAX / 1000 - 62135596801) * 1000 + 999;
const MIN_TIME_FORMATTED: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_FORMATTED: &str = "292277025-08-18T07:12:54.999999999Z";

/// All form values of a request: those of a form-encoded POST body first, then those of the
/// query string (Go's `Request.Form` order, so the body wins for single values).
#[derive(Clone, Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Params from decoded pairs, in precedence order.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Params { pairs }
    }

    /// The first value of `name`, or `""` (Go's `FormValue`).
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `limit`: empty means 0 (no limit); must be a non-negative integer.
    pub fn limit(&self) -> Result<usize, ApiError> {
        parse_limit(self.get("limit")).map_err(|e| ApiError::invalid_param("limit", e))
    }

    /// A time parameter that may be absent (then `default`); errors are wrapped as Prometheus'
    /// `parseTimeParam` does.
    pub fn time_or(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        let v = self.get(name);
        if v.is_empty() {
            return Ok(default);
        }
        parse_time(v)
            .map_err(|e| ApiError::invalid_param(name, format!("Invalid time value for '{name}': {e}")))
    }

    /// A required time parameter (as `query_range`'s `start` and `end`).
    pub fn time(&self, name: &str) -> Result<i64, ApiError> {
        parse_time(self.get(name)).map_err(|e| ApiError::invalid_param(name, e))
    }

    /// The optional `timeout` parameter.
    pub fn timeout(&self) -> Result<Option<std::time::Duration>, ApiError> {
        let v = self.get("timeout");
        if v.is_empty() {
            return Ok(None);
        }
        let ns = parse_duration(v).map_err(|e| ApiError::invalid_param("timeout", e))?;
        Ok(Some(std::time::Duration::from_nanos(ns.max(0) as u64)))
    }

    /// Every `match[]` parameter parsed into matcher sets (one selector may give several
    /// sets when it uses `or`); errors as `invalid parameter "match[]"` (the series API).
    pub fn matcher_sets(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        parse_matcher_sets(&self.all("match[]")).map_err(|e| ApiError::invalid_param("match[]", e))
    }

    /// As [`Params::matcher_sets`], but the error is the bare message, as Prometheus' label
    /// names and label values APIs answer.
    pub fn matcher_sets_bare(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        parse_matcher_sets(&self.all("match[]")).map_err(ApiError::bad_data)
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let query = req.uri().query().map(str::to_owned);
        let is_form = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
            && req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| {
                    ct.split(';')
                        .next()
                        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
                });
        if is_form {
            let body = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e| ApiError::bad_data(format!("error parsing form values: {e}")))?;
            pairs.extend(form_urlencoded::parse(&body).into_owned());
        }
        if let Some(q) = query {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Ok(Params { pairs })
    }
}

/// Parses `limit` as Prometheus' `parseLimitParam`.
pub fn parse_limit(s: &str) -> Result<usize, String> {
    if s.is_empty() {
        return Ok(0);
    }
    let v: i64 = s
        .parse()
        .map_err(|_| format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(s)))?;
    if v < 0 {
        return Err("limit must be non-negative".into());
    }
    Ok(v as usize)
}

/// Parses a timestamp: float Unix seconds (rounded to the millisecond) or RFC 3339, into ms.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let err = || format!("cannot parse {} to a valid timestamp", go_quote(s));
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(err());
        }
        let secs = f.trunc();
        let frac = ((f - secs) * 1000.0).round();
        let ms = secs * 1000.0 + frac;
        if ms < MIN_TIME_MS as f64 || ms > MAX_TIME_MS as f64 {
            return Err(err());
        }
        return Ok(ms as i64);
    }
    if let Some((secs, nanos)) = storage::time::parse_rfc3339(s) {
        return secs
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(i64::from(nanos / 1_000_000)))
            .ok_or_else(err);
    }
    match s {
        MIN_TIME_FORMATTED => Ok(MIN_TIME_MS),
        MAX_TIME_FORMATTED => Ok(MAX_TIME_MS),
        _ => Err(err()),
    }
}

/// Parses a duration: float seconds or a Prometheus duration, into nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        let ns = f * 1e9;
        if !ns.is_finite() || ns > i64::MAX as f64 || ns < i64::MIN as f64 {
            return Err(format!(
                "cannot parse {} to a valid duration. It overflows int64",
                go_quote(s)
            ));
        }
        return Ok(ns as i64);
    }
    parse_prom_duration(s).map_err(|_| format!("cannot parse {} to a valid duration", go_quote(s)))
}

/// Parses a Prometheus duration (`1y2w3d4h5m6s7ms` or `0`, see [`storage::parse_duration`])
/// into nanoseconds, with the errors of Prometheus' `model.ParseDuration` (a duration must
/// fit Go's `time.Duration`, 64-bit nanoseconds).
pub fn parse_prom_duration(s: &str) -> Result<i64, String> {
    use storage::DurationError;
    let d = storage::parse_duration(s).map_err(|e| match e {
        DurationError::Empty => "empty duration string".to_string(),
        DurationError::Invalid(s) => format!("not a valid duration string: {}", go_quote(&s)),
        DurationError::UnknownUnit { unit, input } => {
            format!(
                "unknown unit {} in duration {}",
                go_quote(&unit),
                go_quote(&input)
            )
        }
        DurationError::OutOfRange => "duration out of range".to_string(),
    })?;
    i64::try_from(d.as_nanos()).map_err(|_| "duration out of range".to_string())
}

/// Parses one series selector (`up`, `{job="a"}`, `up{job=~"a|b"}`) into matcher sets.
pub fn parse_selector(s: &str) -> Result<Vec<Vec<Matcher>>, String> {
    use promql_parser::parser::Expr;
    use query::parse_error::{describe, Grammar};
    query::durations::check_number_durations(s)?;
    let vs = match query::durations::parse(s) {
        Ok(Expr::VectorSelector(vs)) if vs.offset.is_none() && vs.at.is_none() => vs,
        // Prometheus parses `match[]` with a selector-only grammar, so anything else fails at
        // the first token a selector cannot have.
        Ok(_) => return Err(describe(s, "invalid promql query", Grammar::Selector)),
        // The parser crate checks what Prometheus checks only after parsing (`match[]` must
        // have a non-empty matcher): say it as `parseMatchersParam` does.
        Err(e) if e.starts_with("vector selector must contain at least one non-empty matcher") => {
            return Err(NON_EMPTY.into())
        }
        Err(e) => return Err(describe(s, &e, Grammar::Selector)),
    };
    let name = vs.name.map(|n| Matcher::equal(storage::METRIC_NAME, n));
    let mut groups = vec![vs.matchers.matchers];
    groups.extend(vs.matchers.or_matchers);
    let mut sets = Vec::with_capacity(groups.len());
    for group in groups {
        let mut set: Vec<Matcher> = name.iter().cloned().collect();
        for m in group {
            let op = match m.op {
                promql_parser::label::MatchOp::Equal => MatchOp::Equal,
                promql_parser::label::MatchOp::NotEqual => MatchOp::NotEqual,
                promql_parser::label::MatchOp::Re(_) => MatchOp::Regex,
                promql_parser::label::MatchOp::NotRe(_) => MatchOp::NotRegex,
            };
            set.push(Matcher::new(op, m.name, m.value).map_err(|e| e.to_string())?);
        }
        sets.push(set);
    }
    Ok(sets)
}

const NON_EMPTY: &str = "match[] must contain at least one non-empty matcher";

/// Parses every `match[]` value; each set must have a matcher that does not match the empty
/// string (Prometheus' `parseMatchersParam`).
pub fn parse_matcher_sets(selectors: &[&str]) -> Result<Vec<Vec<Matcher>>, String> {
    let mut all = Vec::new();
    for s in selectors {
        for set in parse_selector(s)? {
            if set.iter().all(Matcher::matches_empty) {
                return Err(NON_EMPTY.into());
            }
            all.push(set);
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    #[test]
    fn prom_durations() {
        let s = 1_000_000_000;
        assert_eq!(parse_prom_duration("5m"), Ok(300 * s));
        assert_eq!(parse_prom_duration("1h30m"), Ok(5400 * s));
        assert_eq!(
            parse_prom_duration("1d2h3m4s5ms"),
            Ok((86400 + 7384) * s + 5_000_000)
        );
        assert_eq!(parse_prom_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_prom_duration("2w"), Ok(14 * 86400 * s));
        assert_eq!(parse_prom_duration("0"), Ok(0));
        assert_eq!(parse_prom_duration(""), Err("empty duration string".into()));
        assert_eq!(
            parse_prom_duration("5m1h"),
            Err("not a valid duration string: \"5m1h\"".into())
        );
        assert_eq!(
            parse_prom_duration("5x"),
            Err("unknown unit \"x\" in duration \"5x\"".into())
        );
        assert!(parse_prom_duration("m").is_err());
        assert!(parse_prom_duration("99999999999999y").is_err());
        // Fits in 64-bit milliseconds but not in Go's nanosecond `time.Duration`.
        assert_eq!(parse_prom_duration("300y"), Err("duration out of range".into()));
        assert_eq!(parse_prom_duration("292y"), Ok(292 * 365 * 86400 * s));
    }

    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1795304829.944"), Ok(1795304829944));
        assert_eq!(parse_time("1795304829"), Ok(1795304829000));
        assert_eq!(parse_time("1.0006"), Ok(1001));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(parse_time("1e3"), Ok(1_000_000));
        assert_eq!(parse_time("2026-11-21T23:47:08.096871799Z"), Ok(1795304828096));
        assert_eq!(parse_time(MIN_TIME_FORMATTED), Ok(MIN_TIME_MS));
        assert_eq!(parse_time(MAX_TIME_FORMATTED), Ok(MAX_TIME_MS));
        assert_eq!(
            parse_time("abc"),
            Err("cannot parse \"abc\" to a valid timestamp".to_string())
        );
        assert!(parse_time("NaN").is_err());
        assert!(parse_time("").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15"), Ok(15_000_000_000));
        assert_eq!(parse_duration("0.5"), Ok(500_000_000));
        assert_eq!(parse_duration("1m"), Ok(60_000_000_000));
        assert_eq!(
            parse_duration("1x"),
            Err("cannot parse \"1x\" to a valid duration".to_string())
        );
        assert_eq!(
            parse_duration("1e300"),
            Err("cannot parse \"1e300\" to a valid duration. It overflows int64".to_string())
        );
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(""), Ok(0));
        assert_eq!(parse_limit("5"), Ok(5));
        assert_eq!(parse_limit("-1"), Err("limit must be non-negative".to_string()));
        assert_eq!(
            parse_limit("x"),
            Err("strconv.Atoi: parsing \"x\": invalid syntax".to_string())
        );
    }

    #[test]
    fn selectors() {
        let sets = parse_matcher_sets(&["up{job=~\"a|b\"}"]).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].len(), 2);
        assert_eq!(sets[0][0].name, "__name__");
        assert!(sets[0][1].matches("a") && !sets[0][1].matches("c"));
        assert!(parse_matcher_sets(&["{__name__!=\"\"}"]).is_ok());
        assert!(parse_matcher_sets(&["{job=~\".*\"}"]).is_err());
        assert!(parse_matcher_sets(&["rate(up[5m])"]).is_err());
        assert!(parse_matcher_sets(&["up{"]).is_err());
        let two = parse_matcher_sets(&["up", "{job=\"x\"}"]).unwrap();
        assert_eq!(two.len(), 2);
    }
}
