//! Aggregation operators with `by` / `without`, evaluated step by step.

use super::{format_float, kahan_inc, quantile};
use crate::engine::eval::{Evaluator, SeriesSink, StepCursor, Val};
use crate::error::{QueryError, Result};
use promql_parser::parser::{AggregateExpr, LabelModifier};
use std::collections::HashMap;
use storage::{Labels, Sample, Series, METRIC_NAME};

/// How the output labels of a group are derived from an input series.
fn group_labels(l: &Labels, m: &Option<LabelModifier>) -> Labels {
    match m {
        None => Labels::empty(),
        Some(LabelModifier::Include(keep)) => {
            let mut b = l.to_builder();
            b.retain(|n| keep.labels.iter().any(|k| k == n));
            b.build()
        }
        Some(LabelModifier::Exclude(drop)) => {
            let mut b = l.to_builder();
            b.retain(|n| n != METRIC_NAME && !drop.labels.iter().any(|k| k == n));
            b.build()
        }
    }
}

/// Running state of one group at one step.
#[derive(Clone, Copy, Default)]
struct Acc {
    seen: bool,
    value: f64,
    c: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

/// Evaluates an aggregation.
pub(crate) fn eval(ev: &mut Evaluator<'_>, a: &AggregateExpr) -> Result<Val> {
    let op = a.op.to_string();
    let param = match &a.param {
        Some(p) => Some(ev.eval(p)?),
        None => None,
    };
    let input = ev.eval_vector(&a.expr)?;
    let mut groups: HashMap<Labels, usize> = HashMap::new();
    let mut group_of = Vec::with_capacity(input.len());
    let mut group_labels_list: Vec<Labels> = Vec::new();
    for s in &input {
        let g = group_labels(&s.labels, &a.modifier);
        let n = groups.len();
        let id = *groups.entry(g.clone()).or_insert_with(|| {
            group_labels_list.push(g);
            n
        });
        group_of.push(id);
    }
    let scalar_param = |p: &Option<Val>| -> Result<Vec<f64>> {
        match p {
            Some(Val::Scalar(v)) => Ok(v.clone()),
            _ => Err(QueryError::exec(format!("expected scalar parameter for {op}"))),
        }
    };
    match op.as_str() {
        "sum" | "avg" | "min" | "max" | "count" | "group" | "stddev" | "stdvar" => {
            simple(ev, &op, &input, &group_of, group_labels_list)
        }
        "topk" | "bottomk" | "limitk" | "limit_ratio" => {
            let p = scalar_param(&param)?;
            select_k(ev, &op, &input, &group_of, groups.len(), &p)
        }
        "quantile" => {
            let p = scalar_param(&param)?;
            quantile_agg(ev, &input, &group_of, group_labels_list, &p)
        }
        "count_values" => {
            let label = match &param {
                Some(Val::Str(s)) => s.clone(),
                _ => return Err(QueryError::exec("expected string parameter for count_values")),
            };
            if label.is_empty() {
                return Err(QueryError::exec(format!("invalid label name {label:?}")));
            }
            count_values(ev, &input, &group_of, &group_labels_list, &label)
        }
        other => Err(QueryError::exec(format!("unknown aggregation operator {other:?}"))),
    }
}

fn simple(ev: &Evaluator<'_>, op: &str, input: &[Series], group_of: &[usize], labels: Vec<Labels>) -> Result<Val> {
    let ng = labels.len();
    let mut out: Vec<Series> = labels
        .into_iter()
        .map(|labels| Series {
            labels,
            samples: Vec::new(),
        })
        .collect();
    let mut acc = vec![Acc::default(); ng];
    let mut touched: Vec<usize> = Vec::new();
    let mut cur = StepCursor::new(input);
    let mut buf = Vec::new();
    for i in 0..ev.steps.len() {
        ev.ctl.check("aggregation")?;
        let ts = ev.steps.ts(i);
        cur.at(ts, &mut buf);
        for &(si, f) in &buf {
            let g = group_of[si];
            let a = &mut acc[g];
            if !a.seen {
                touched.push(g);
                *a = Acc {
                    seen: true,
                    value: f,
                    c: 0.0,
                    mean: f,
                    count: 1.0,
                    incremental: false,
                };
                match op {
                    "count" | "group" => a.value = 1.0,
                    "stddev" | "stdvar" => a.value = if f.is_nan() || f.is_infinite() { f64::NAN } else { 0.0 },
                    _ => {}
                }
                continue;
            }
            a.count += 1.0;
            match op {
                "sum" => (a.value, a.c) = kahan_inc(f, a.value, a.c),
                "avg" => {
                    if !a.incremental {
                        let (nv, nc) = kahan_inc(f, a.value, a.c);
                        if !nv.is_infinite() {
                            a.value = nv;
                            a.c = nc;
                            continue;
                        }
                        a.incremental = true;
                        a.mean = a.value / (a.count - 1.0);
                        a.c /= a.count - 1.0;
                    }
                    let q = (a.count - 1.0) / a.count;
                    (a.mean, a.c) = kahan_inc(f / a.count, q * a.mean, q * a.c);
                }
                "min" => {
                    if a.value > f || a.value.is_nan() {
                        a.value = f;
                    }
                }
                "max" => {
                    if a.value < f || a.value.is_nan() {
                        a.value = f;
                    }
                }
                "count" => a.value += 1.0,
                "group" => {}
                _ => {
                    // stddev / stdvar (Welford)
                    let delta = f - a.mean;
                    a.mean += delta / a.count;
                    a.value += delta * (f - a.mean);
                }
            }
        }
        for &g in &touched {
            let a = &mut acc[g];
            let v = match op {
                "sum" => {
                    if a.value.is_infinite() {
                        a.value
                    } else {
                        a.value + a.c
                    }
                }
                "avg" => {
                    if a.incremental {
                        a.mean + a.c
                    } else {
                        a.value / a.count + a.c / a.count
                    }
                }
                "stdvar" => a.value / a.count,
                "stddev" => (a.value / a.count).sqrt(),
                _ => a.value,
            };
            out[g].samples.push(Sample::new(ts, v));
            a.seen = false;
        }
        touched.clear();
    }
    out.retain(|s| !s.samples.is_empty());
    Ok(Val::Vector(out))
}

/// Converts a `k` parameter as Prometheus does.
fn k_param(v: f64) -> Result<i64> {
    if !(v >= i64::MIN as f64 && v <= i64::MAX as f64) {
        return Err(QueryError::exec(format!("Scalar value {} overflows int64", format_float(v))));
    }
    Ok(v as i64)
}

/// Prometheus' `labels.Hash()`: xxHash64 over `name\xffvalue\xff...`.
fn prometheus_hash(l: &Labels) -> u64 {
    let mut b = Vec::with_capacity(256);
    for x in l.iter() {
        b.extend_from_slice(x.name.as_bytes());
        b.push(0xff);
        b.extend_from_slice(x.value.as_bytes());
        b.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&b, 0)
}

fn select_k(ev: &mut Evaluator<'_>, op: &str, input: &[Series], group_of: &[usize], ng: usize, p: &[f64]) -> Result<Val> {
    let mut sink = SeriesSink::default();
    let mut slot_of: Vec<Option<usize>> = vec![None; input.len()];
    let mut cur = StepCursor::new(input);
    let mut buf = Vec::new();
    let mut per_group: Vec<Vec<(usize, f64)>> = vec![Vec::new(); ng];
    let ratio_offsets: Vec<f64> = if op == "limit_ratio" {
        input
            .iter()
            .map(|s| prometheus_hash(&s.labels) as f64 / u64::MAX as f64)
            .collect()
    } else {
        Vec::new()
    };
    for i in 0..ev.steps.len() {
        ev.ctl.check("aggregation")?;
        let ts = ev.steps.ts(i);
        cur.at(ts, &mut buf);
        if buf.is_empty() {
            continue;
        }
        let mut chosen: Vec<usize> = Vec::new();
        if op == "limit_ratio" {
            let r = p[i];
            if r.is_nan() {
                return Err(QueryError::exec(format!("Ratio value {} is NaN", format_float(r))));
            }
            if r < -1.0 || r > 1.0 {
                ev.warn(format!(
                    "PromQL warning: ratio value should be between -1 and 1, got {}, capping to {}",
                    format_float(r),
                    if r < 0.0 { -1 } else { 1 }
                ));
            }
            let r = r.clamp(-1.0, 1.0);
            if r == 0.0 {
                continue;
            }
            for &(si, _) in &buf {
                let off = ratio_offsets[si];
                if (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r) {
                    chosen.push(si);
                }
            }
        } else {
            let k = k_param(p[i])?;
            if k < 1 {
                continue;
            }
            for g in per_group.iter_mut() {
                g.clear();
            }
            let mut order: Vec<usize> = Vec::new();
            for &(si, v) in &buf {
                let g = group_of[si];
                if per_group[g].is_empty() {
                    order.push(g);
                }
                per_group[g].push((si, v));
            }
            for g in order {
                let items = &mut per_group[g];
                match op {
                    "topk" => items.sort_by(|a, b| cmp_nan_low(b.1, a.1)),
                    "bottomk" => items.sort_by(|a, b| cmp_nan_high(a.1, b.1)),
                    _ => {}
                }
                chosen.extend(items.iter().take(k.min(items.len() as i64) as usize).map(|x| x.0));
            }
        }
        for si in chosen {
            let slot = *slot_of[si].get_or_insert_with(|| sink.slot(&input[si].labels));
            let v = input[si].samples.iter().find(|x| x.t == ts).map_or(f64::NAN, |x| x.v);
            sink.push(slot, ts, v)?;
        }
    }
    Ok(Val::Vector(sink.series))
}

/// Ascending order with NaN lowest (so `topk` sorted descending puts NaN last).
fn cmp_nan_low(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Less,
        (false, true) => Greater,
        _ => a.partial_cmp(&b).unwrap_or(Equal),
    }
}

/// Ascending order with NaN highest (so `bottomk` puts NaN last).
fn cmp_nan_high(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => a.partial_cmp(&b).unwrap_or(Equal),
    }
}

fn quantile_agg(ev: &Evaluator<'_>, input: &[Series], group_of: &[usize], labels: Vec<Labels>, p: &[f64]) -> Result<Val> {
    let ng = labels.len();
    let mut out: Vec<Series> = labels
        .into_iter()
        .map(|labels| Series {
            labels,
            samples: Vec::new(),
        })
        .collect();
    let mut vals: Vec<Vec<f64>> = vec![Vec::new(); ng];
    let mut cur = StepCursor::new(input);
    let mut buf = Vec::new();
    for i in 0..ev.steps.len() {
        ev.ctl.check("aggregation")?;
        let ts = ev.steps.ts(i);
        cur.at(ts, &mut buf);
        for &(si, v) in &buf {
            vals[group_of[si]].push(v);
        }
        for (g, v) in vals.iter_mut().enumerate() {
            if !v.is_empty() {
                out[g].samples.push(Sample::new(ts, quantile(p[i], v)));
                v.clear();
            }
        }
    }
    out.retain(|s| !s.samples.is_empty());
    Ok(Val::Vector(out))
}

fn count_values(ev: &Evaluator<'_>, input: &[Series], group_of: &[usize], labels: &[Labels], label: &str) -> Result<Val> {
    let mut sink = SeriesSink::default();
    let mut cur = StepCursor::new(input);
    let mut buf = Vec::new();
    for i in 0..ev.steps.len() {
        ev.ctl.check("aggregation")?;
        let ts = ev.steps.ts(i);
        cur.at(ts, &mut buf);
        let mut counts: Vec<((usize, String), f64)> = Vec::new();
        let mut index: HashMap<(usize, String), usize> = HashMap::new();
        for &(si, v) in &buf {
            let key = (group_of[si], format_float(v));
            match index.get(&key) {
                Some(&k) => counts[k].1 += 1.0,
                None => {
                    index.insert(key.clone(), counts.len());
                    counts.push((key, 1.0));
                }
            }
        }
        for ((g, value), n) in counts {
            let mut b = labels[g].to_builder();
            b.set(label, &value);
            let slot = sink.slot(&b.build());
            sink.push(slot, ts, n)?;
        }
    }
    Ok(Val::Vector(sink.series))
}
