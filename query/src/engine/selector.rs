//! Selectors: reading series from storage once per selector, instant selection with lookback
//! and staleness, range windows, `offset`, `@` and subqueries.

use super::eval::{map_decoded, BatchSink, Evaluator, RangeSeries, RangeVal, Steps, Val, BATCH_SERIES};
use super::DEFAULT_SUBQUERY_STEP_MS;
use crate::error::{QueryError, Result};
use promql_parser::label::{MatchOp as PMatchOp, Matchers};
use promql_parser::parser::{AtModifier, MatrixSelector, Offset, SubqueryExpr, VectorSelector};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};
use storage::{
    is_stale_nan, HistogramSample, Labels, LazySeries, MatchOp, Matcher, Sample, SelectHints, Series,
    METRIC_NAME,
};

pub(crate) fn duration_ms(d: &Duration) -> i64 {
    d.as_millis() as i64
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
    }
}

fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// The fixed evaluation time an `@` modifier sets, if any.
pub(crate) fn at_ms(ev: &Evaluator<'_>, at: &Option<AtModifier>) -> Option<i64> {
    match at {
        None => None,
        Some(AtModifier::Start) => Some(ev.query_start),
        Some(AtModifier::End) => Some(ev.query_end),
        Some(AtModifier::At(t)) => Some(system_time_ms(t)),
    }
}

/// Converts the parser's matchers (with `or` alternatives) into storage matchers; one list
/// per alternative.
pub(crate) fn to_matchers(name: &Option<String>, ms: &Matchers) -> Result<Vec<Vec<Matcher>>> {
    let convert = |list: &[promql_parser::label::Matcher]| -> Result<Vec<Matcher>> {
        let mut out = Vec::with_capacity(list.len() + 1);
        if let Some(n) = name {
            out.push(Matcher::equal(METRIC_NAME, n.clone()));
        }
        for m in list {
            let op = match m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(_) => MatchOp::Regex,
                PMatchOp::NotRe(_) => MatchOp::NotRegex,
            };
            out.push(
                Matcher::new(op, m.name.clone(), m.value.clone())
                    .map_err(|e| QueryError::Parse(e.to_string()))?,
            );
        }
        Ok(out)
    };
    let mut alts = Vec::new();
    if ms.or_matchers.is_empty() {
        alts.push(convert(&ms.matchers)?);
    } else {
        for alt in &ms.or_matchers {
            alts.push(convert(alt)?);
        }
    }
    Ok(alts)
}

/// The matchers of every vector selector in `expr` (also those inside range selectors and
/// subqueries), one list per selector and `or` alternative, in the order they appear, like
/// Prometheus' `parser.ExtractSelectors` (used by `/api/v1/query_exemplars`).
pub fn extract_selectors(expr: &promql_parser::parser::Expr) -> Result<Vec<Vec<Matcher>>> {
    use promql_parser::parser::Expr;
    use promql_parser::util::{walk_expr, ExprVisitor};
    struct Collect(Vec<Vec<Matcher>>);
    impl ExprVisitor for Collect {
        type Error = QueryError;
        fn pre_visit(&mut self, e: &Expr) -> Result<bool> {
            match e {
                Expr::VectorSelector(vs) => self.0.extend(to_matchers(&vs.name, &vs.matchers)?),
                Expr::MatrixSelector(ms) => self.0.extend(to_matchers(&ms.vs.name, &ms.vs.matchers)?),
                _ => {}
            }
            Ok(true)
        }
    }
    let mut c = Collect(Vec::new());
    walk_expr(&mut c, expr)?;
    Ok(c.0)
}

/// The series matching the selector with data in `[mint, maxt]`, sorted by labels, not
/// decoded yet.
fn select(
    ev: &Evaluator<'_>,
    name: &Option<String>,
    ms: &Matchers,
    mint: i64,
    maxt: i64,
) -> Result<Vec<LazySeries>> {
    if mint > maxt {
        return Ok(Vec::new());
    }
    let alts = to_matchers(name, ms)?;
    let _span = tracing::info_span!("query.select", mint, maxt).entered();
    let querier = ev.q.querier(mint, maxt)?;
    let hints = SelectHints { mint, maxt };
    if alts.len() == 1 {
        return Ok(querier.select_lazy(&hints, &alts[0])?);
    }
    let mut by_labels: BTreeMap<Labels, LazySeries> = BTreeMap::new();
    for alt in &alts {
        for s in querier.select_lazy(&hints, alt)? {
            by_labels.entry(s.labels().clone()).or_insert(s);
        }
    }
    Ok(by_labels.into_values().collect())
}

/// The newest sample of either type at or before `t` (floats and histograms never share a
/// timestamp): `Ok(float)`, `Err(histogram)`, or nothing.
fn newest<'s>(
    floats: &'s [Sample],
    hists: &'s [HistogramSample],
    fj: usize,
    hj: usize,
) -> Option<std::result::Result<Sample, &'s HistogramSample>> {
    let f = fj.checked_sub(1).map(|i| floats[i]);
    let h = hj.checked_sub(1).map(|i| &hists[i]);
    match (f, h) {
        (Some(f), Some(h)) if h.t > f.t => Some(Err(h)),
        (Some(f), _) => Some(Ok(f)),
        (None, Some(h)) => Some(Err(h)),
        (None, None) => None,
    }
}

/// The point an instant selector sees at `et`: the newest sample in `(et - lookback, et]`
/// unless it is a staleness marker.
fn pick<'s>(
    floats: &'s [Sample],
    hists: &'s [HistogramSample],
    fj: usize,
    hj: usize,
    et: i64,
    lookback: i64,
) -> Option<std::result::Result<Sample, &'s HistogramSample>> {
    match newest(floats, hists, fj, hj)? {
        Ok(p) => (p.t > et - lookback && !is_stale_nan(p.v)).then_some(Ok(p)),
        Err(h) => (h.t > et - lookback && !h.h.is_stale()).then_some(Err(h)),
    }
}

/// Evaluates an instant vector selector at every step. With `timestamps`, the values are
/// the samples' own timestamps in seconds (for `timestamp()`), and the metric name is dropped.
pub(crate) fn eval_vector_selector(
    ev: &mut Evaluator<'_>,
    vs: &VectorSelector,
    timestamps: bool,
) -> Result<Vec<Series>> {
    let mut out = Vec::new();
    vector_selector_each(ev, vs, timestamps, &mut |b| {
        out.extend(b);
        Ok(())
    })?;
    if timestamps {
        return super::eval::merge_same_labels(out);
    }
    Ok(out)
}

/// Evaluates an instant vector selector batch by batch (see
/// [`Evaluator::eval_vector_batches`]).
pub(crate) fn vector_selector_batches(
    ev: &mut Evaluator<'_>,
    vs: &VectorSelector,
    sink: &mut BatchSink<'_>,
) -> Result<()> {
    vector_selector_each(ev, vs, false, sink)
}

fn vector_selector_each(
    ev: &mut Evaluator<'_>,
    vs: &VectorSelector,
    timestamps: bool,
    sink: &mut BatchSink<'_>,
) -> Result<()> {
    let off = offset_ms(&vs.offset);
    let at = at_ms(ev, &vs.at);
    let steps = ev.steps;
    let lookback = ev.lookback;
    let (first, last) = match at {
        Some(a) => (a - off, a - off),
        None => (steps.start - off, steps.end - off),
    };
    let lazy = select(ev, &vs.name, &vs.matchers, first - lookback + 1, last)?;
    let ctl = ev.ctl;
    let one = |labels: &Labels, samples: &[Sample], hists: &[HistogramSample]| -> Result<Option<Series>> {
        let value = |p: Sample| if timestamps { p.t as f64 / 1000.0 } else { p.v };
        let mut out = Vec::new();
        let mut hout = Vec::new();
        if let Some(a) = at {
            let et = a - off;
            let fj = samples.partition_point(|p| p.t <= et);
            let hj = hists.partition_point(|p| p.t <= et);
            match pick(samples, hists, fj, hj, et, lookback) {
                Some(Ok(p)) => {
                    out = (0..steps.len())
                        .map(|i| Sample::new(steps.ts(i), value(p)))
                        .collect();
                }
                Some(Err(h)) if timestamps => {
                    out = (0..steps.len())
                        .map(|i| Sample::new(steps.ts(i), h.t as f64 / 1000.0))
                        .collect();
                }
                Some(Err(h)) => {
                    hout = (0..steps.len())
                        .map(|i| HistogramSample {
                            t: steps.ts(i),
                            h: h.h.clone(),
                        })
                        .collect();
                }
                None => {}
            }
        } else if hists.is_empty() {
            out.reserve(
                steps
                    .len()
                    .min(samples.len() * (lookback / steps.step.max(1) + 1) as usize),
            );
            let mut j = 0;
            let n = samples.len();
            for i in 0..steps.len() {
                let ts = steps.ts(i);
                let et = ts - off;
                while j < n && samples[j].t <= et {
                    j += 1;
                }
                if j == 0 {
                    continue;
                }
                let p = samples[j - 1];
                if p.t <= et - lookback || is_stale_nan(p.v) {
                    continue;
                }
                out.push(Sample::new(ts, value(p)));
            }
        } else {
            let (mut fj, mut hj) = (0, 0);
            for i in 0..steps.len() {
                let ts = steps.ts(i);
                let et = ts - off;
                while fj < samples.len() && samples[fj].t <= et {
                    fj += 1;
                }
                while hj < hists.len() && hists[hj].t <= et {
                    hj += 1;
                }
                match pick(samples, hists, fj, hj, et, lookback) {
                    Some(Ok(p)) => out.push(Sample::new(ts, value(p))),
                    Some(Err(h)) if timestamps => out.push(Sample::new(ts, h.t as f64 / 1000.0)),
                    Some(Err(h)) => hout.push(HistogramSample {
                        t: ts,
                        h: h.h.clone(),
                    }),
                    None => {}
                }
            }
        }
        if out.is_empty() && hout.is_empty() {
            return Ok(None);
        }
        let labels = if timestamps {
            labels.without_metric_name()
        } else {
            labels.clone()
        };
        Ok(Some(Series {
            labels,
            samples: out,
            histograms: hout,
        }))
    };
    for batch in lazy.chunks(BATCH_SERIES) {
        let out = map_decoded(ctl, batch, false, one)?;
        ev.release_mapped_pages(batch.len());
        ctl.add_samples(
            out.iter().map(|s| s.samples.len() + s.histograms.len()).sum(),
            "query execution",
        )?;
        sink(out)?;
    }
    Ok(())
}

/// Selects a range selector's series; they are decoded (staleness markers dropped) when the
/// consumer reads them.
pub(crate) fn eval_matrix_selector(ev: &mut Evaluator<'_>, ms: &MatrixSelector) -> Result<RangeVal> {
    let vs = &ms.vs;
    let off = offset_ms(&vs.offset);
    let at = at_ms(ev, &vs.at);
    let range = duration_ms(&ms.range);
    let (first, last) = match at {
        Some(a) => (a - off, a - off),
        None => (ev.steps.start - off, ev.steps.end - off),
    };
    let lazy = select(ev, &vs.name, &vs.matchers, first - range + 1, last)?;
    Ok(RangeVal {
        series: RangeSeries::Lazy(lazy),
        range,
        offset: off,
        at,
    })
}

/// Evaluates a subquery: the inner expression at steps aligned to absolute multiples of the
/// subquery step, covering every window the outer steps need.
pub(crate) fn eval_subquery(ev: &mut Evaluator<'_>, sq: &SubqueryExpr) -> Result<RangeVal> {
    let off = offset_ms(&sq.offset);
    let at = at_ms(ev, &sq.at);
    let range = duration_ms(&sq.range);
    let step = sq
        .step
        .as_ref()
        .map(duration_ms)
        .unwrap_or(DEFAULT_SUBQUERY_STEP_MS);
    if step <= 0 {
        return Err(QueryError::Parse("subquery step must be positive".into()));
    }
    let (outer_start, outer_end) = match at {
        Some(a) => (a, a),
        None => (ev.steps.start, ev.steps.end),
    };
    let end = outer_end - off;
    let lower = outer_start - off - range;
    // Go's integer division truncates toward zero; Prometheus relies on that.
    let mut start = step * (lower / step);
    if start <= lower {
        start += step;
    }
    let series = if start > end {
        Vec::new()
    } else {
        let inner = Steps { start, end, step };
        ev.ctl.check_steps(&inner)?;
        let mut child = ev.child(inner);
        let val = child.eval(&sq.expr)?;
        ev.absorb(child);
        match val {
            Val::Vector(vs) => vs,
            Val::Scalar(v) => vec![Series {
                labels: Labels::empty(),
                samples: v
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| Sample::new(start + i as i64 * step, x))
                    .collect(),
                histograms: Vec::new(),
            }],
            other => {
                return Err(QueryError::exec(format!(
                    "subquery is only allowed on instant vector, got {}",
                    other.type_name()
                )))
            }
        }
    };
    Ok(RangeVal {
        series: RangeSeries::Eager(series),
        range,
        offset: off,
        at,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod extract_tests {
    use super::*;

    #[test]
    fn selectors_of_an_expression() {
        let e = super::super::parse(
            r#"sum(rate(a_total{job="x"}[5m])) / on() b{c=~"d.*"} + max_over_time(c[5m:1m]) + 1"#,
        )
        .unwrap();
        let s: Vec<Vec<(String, String)>> = extract_selectors(&e)
            .unwrap()
            .iter()
            .map(|ms| ms.iter().map(|m| (m.name.clone(), m.value.clone())).collect())
            .collect();
        let p = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert_eq!(
            s,
            vec![
                vec![p("__name__", "a_total"), p("job", "x")],
                vec![p("__name__", "b"), p("c", "d.*")],
                vec![p("__name__", "c")],
            ]
        );
        assert!(extract_selectors(&super::super::parse("1 + 2").unwrap())
            .unwrap()
            .is_empty());
    }
}
