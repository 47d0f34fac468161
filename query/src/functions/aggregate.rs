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
            if let Some(bad) = p.iter().copied().find(|q| q.is_nan() || !(0.0..=1.0).contains(q)) {
                ev.warn(format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    format_float(bad)
                ));
            }
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
        other => Err(QueryError::exec(format!(
            "unknown aggregation operator {other:?}"
        ))),
    }
}

fn simple(
    ev: &Evaluator<'_>,
    op: &str,
    input: &[Series],
    group_of: &[usize],
    labels: Vec<Labels>,
) -> Result<Val> {
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
        ev.ctl.check("expression evaluation")?;
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
                    "stddev" | "stdvar" => {
                        a.value = if f.is_nan() || f.is_infinite() {
                            f64::NAN
                        } else {
                            0.0
                        }
                    }
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

/// Checks `k` parameters over all steps as Prometheus does.
fn check_k(p: &[f64]) -> Result<()> {
    if p.iter().any(|v| v.is_nan()) {
        return Err(QueryError::exec("Parameter value is NaN"));
    }
    if let Some(v) = p.iter().copied().find(|&v| v <= i64::MIN as f64) {
        return Err(QueryError::exec(format!(
            "Scalar value {} underflows int64",
            format_float(v)
        )));
    }
    if let Some(v) = p.iter().copied().find(|&v| v >= i64::MAX as f64) {
        return Err(QueryError::exec(format!(
            "Scalar value {} overflows int64",
            format_float(v)
        )));
    }
    Ok(())
}

/// Go's heap `Less` of `vectorByValueHeap` (`rev = false`) and `vectorByReverseValueHeap`.
fn heap_less(a: f64, b: f64, rev: bool) -> bool {
    if a.is_nan() {
        return true;
    }
    if rev {
        a > b
    } else {
        a < b
    }
}

fn heap_up(h: &mut [(usize, f64)], mut j: usize, rev: bool) {
    while j > 0 {
        let i = (j - 1) / 2;
        if !heap_less(h[j].1, h[i].1, rev) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

fn heap_down(h: &mut [(usize, f64)], i0: usize, rev: bool) -> bool {
    let n = h.len();
    let mut i = i0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        if j1 + 1 < n && heap_less(h[j1 + 1].1, h[j1].1, rev) {
            j = j1 + 1;
        }
        if !heap_less(h[j].1, h[i].1, rev) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    i > i0
}

/// `topk`/`bottomk` selection with Go's `container/heap`, so that ties pick the same series
/// as Prometheus.
fn heap_select(items: &[(usize, f64)], k: usize, bottom: bool) -> Vec<(usize, f64)> {
    let mut h: Vec<(usize, f64)> = Vec::with_capacity(k);
    for &(si, v) in items {
        if h.len() < k {
            h.push((si, v));
            let j = h.len() - 1;
            heap_up(&mut h, j, bottom);
            continue;
        }
        let top = h[0].1;
        let replace = if bottom { top > v } else { top < v } || (top.is_nan() && !v.is_nan());
        if replace {
            h[0] = (si, v);
            if k > 1 && !heap_down(&mut h, 0, bottom) {
                heap_up(&mut h, 0, bottom);
            }
        }
    }
    // Output order: descending for topk, ascending for bottomk, NaN last.
    h.sort_by(|a, b| {
        if bottom {
            cmp_nan_high(a.1, b.1)
        } else {
            cmp_nan_low(b.1, a.1)
        }
    });
    h
}

/// Prometheus' `labels.Hash()` (default `stringlabels` build): xxHash64 over the label
/// set's encoding, each string prefixed by its length (one byte below 255, else 0xff and
/// three little-endian bytes).
fn prometheus_hash(l: &Labels) -> u64 {
    let mut b = Vec::with_capacity(256);
    let mut put = |s: &str| {
        let n = s.len();
        if n < 255 {
            b.push(n as u8);
        } else {
            b.extend_from_slice(&[255, n as u8, (n >> 8) as u8, (n >> 16) as u8]);
        }
        b.extend_from_slice(s.as_bytes());
    };
    for x in l.iter() {
        put(&x.name);
        put(&x.value);
    }
    xxhash_rust::xxh64::xxh64(&b, 0)
}

fn select_k(
    ev: &mut Evaluator<'_>,
    op: &str,
    input: &[Series],
    group_of: &[usize],
    ng: usize,
    p: &[f64],
) -> Result<Val> {
    if op == "limit_ratio" {
        if p.iter().any(|v| v.is_nan()) {
            return Err(QueryError::exec("Ratio value is NaN"));
        }
        for bad in p.iter().copied().filter(|v| !(-1.0..=1.0).contains(v)).take(1) {
            ev.warn(format!(
                "PromQL warning: ratio value should be between -1 and 1, got {}, capping to {}",
                format_float(bad),
                if bad < 0.0 { -1 } else { 1 }
            ));
        }
    } else {
        if p.iter().all(|&v| v < 1.0) {
            return Ok(Val::Vector(Vec::new()));
        }
        check_k(p)?;
    }
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
        ev.ctl.check("expression evaluation")?;
        let ts = ev.steps.ts(i);
        cur.at(ts, &mut buf);
        if buf.is_empty() {
            continue;
        }
        let mut chosen: Vec<usize> = Vec::new();
        if op == "limit_ratio" {
            let r = p[i];
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
            let k = (p[i] as i64).min(input.len() as i64);
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
                let items = &per_group[g];
                match op {
                    "topk" | "bottomk" => chosen.extend(
                        heap_select(items, k as usize, op == "bottomk")
                            .into_iter()
                            .map(|x| x.0),
                    ),
                    _ => chosen.extend(items.iter().take(k as usize).map(|x| x.0)),
                }
            }
        }
        for si in chosen {
            let slot = *slot_of[si].get_or_insert_with(|| sink.slot(&input[si].labels));
            let v = input[si]
                .samples
                .iter()
                .find(|x| x.t == ts)
                .map_or(f64::NAN, |x| x.v);
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

fn quantile_agg(
    ev: &Evaluator<'_>,
    input: &[Series],
    group_of: &[usize],
    labels: Vec<Labels>,
    p: &[f64],
) -> Result<Val> {
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
        ev.ctl.check("expression evaluation")?;
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

fn count_values(
    ev: &Evaluator<'_>,
    input: &[Series],
    group_of: &[usize],
    labels: &[Labels],
    label: &str,
) -> Result<Val> {
    let mut sink = SeriesSink::default();
    let mut cur = StepCursor::new(input);
    let mut buf = Vec::new();
    for i in 0..ev.steps.len() {
        ev.ctl.check("expression evaluation")?;
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
