//! Aggregation operators with `by` / `without`, evaluated step by step.

use super::native::{self, texts};
use super::{empty_series, format_float, kahan_inc, quantile};
use crate::engine::eval::{Evaluator, SeriesSink, StepCursor, Steps, Val};
use crate::error::{QueryError, Result};
use promql_parser::parser::{AggregateExpr, LabelModifier};
use std::collections::BTreeMap;
use std::collections::HashMap;
use storage::{FloatHistogram, HistogramSample, Labels, Sample, Series, METRIC_NAME};

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

/// The aggregations computed with one accumulator per group and step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SimpleOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
    Stddev,
    Stdvar,
}

impl SimpleOp {
    fn parse(op: &str) -> Option<SimpleOp> {
        Some(match op {
            "sum" => SimpleOp::Sum,
            "avg" => SimpleOp::Avg,
            "min" => SimpleOp::Min,
            "max" => SimpleOp::Max,
            "count" => SimpleOp::Count,
            "group" => SimpleOp::Group,
            "stddev" => SimpleOp::Stddev,
            "stdvar" => SimpleOp::Stdvar,
            _ => return None,
        })
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
    if a.param.is_none() {
        if let Some(sop) = SimpleOp::parse(&op) {
            if let Some(v) = simple_streamed(ev, sop, a)? {
                return Ok(v);
            }
        }
    }
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
            let sop =
                SimpleOp::parse(&op).ok_or_else(|| QueryError::exec(format!("unknown aggregation {op}")))?;
            let mut hfold = HistFold::default();
            for (si, s) in input.iter().enumerate() {
                if !s.histograms.is_empty() {
                    hfold.add(sop, group_labels_list[group_of[si]].clone(), s);
                }
            }
            match simple(ev, sop, &input, &group_of, group_labels_list, SERIES_MAJOR_LIMIT)? {
                Val::Vector(out) => Ok(Val::Vector(hfold.merge(ev, sop, out))),
                other => Ok(other),
            }
        }
        "topk" | "bottomk" | "limitk" | "limit_ratio" => {
            let p = scalar_param(&param)?;
            if matches!(op.as_str(), "topk" | "bottomk") && input.iter().any(|s| !s.histograms.is_empty()) {
                ev.note(texts::ignored_in_aggregation(&op));
            }
            select_k(ev, &op, &input, &group_of, groups.len(), &p)
        }
        "quantile" => {
            let p = scalar_param(&param)?;
            if input.iter().any(|s| !s.histograms.is_empty()) {
                ev.note(texts::ignored_in_aggregation(&op));
            }
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

impl Acc {
    /// Folds value `f` into the group's state for one step (Prometheus' `aggregation`).
    #[inline]
    fn add(&mut self, op: SimpleOp, f: f64) {
        if !self.seen {
            *self = Acc {
                seen: true,
                value: f,
                c: 0.0,
                mean: f,
                count: 1.0,
                incremental: false,
            };
            match op {
                SimpleOp::Count | SimpleOp::Group => self.value = 1.0,
                SimpleOp::Stddev | SimpleOp::Stdvar => {
                    self.value = if f.is_nan() || f.is_infinite() {
                        f64::NAN
                    } else {
                        0.0
                    }
                }
                _ => {}
            }
            return;
        }
        self.count += 1.0;
        match op {
            SimpleOp::Sum => (self.value, self.c) = kahan_inc(f, self.value, self.c),
            SimpleOp::Avg => {
                if !self.incremental {
                    let (nv, nc) = kahan_inc(f, self.value, self.c);
                    if !nv.is_infinite() {
                        self.value = nv;
                        self.c = nc;
                        return;
                    }
                    self.incremental = true;
                    self.mean = self.value / (self.count - 1.0);
                    self.c /= self.count - 1.0;
                }
                let q = (self.count - 1.0) / self.count;
                (self.mean, self.c) = kahan_inc(f / self.count, q * self.mean, q * self.c);
            }
            SimpleOp::Min => {
                if self.value > f || self.value.is_nan() {
                    self.value = f;
                }
            }
            SimpleOp::Max => {
                if self.value < f || self.value.is_nan() {
                    self.value = f;
                }
            }
            SimpleOp::Count => self.value += 1.0,
            SimpleOp::Group => {}
            SimpleOp::Stddev | SimpleOp::Stdvar => {
                // Welford
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
        }
    }

    /// The group's result for the step.
    #[inline]
    fn result(&self, op: SimpleOp) -> f64 {
        match op {
            SimpleOp::Sum => {
                if self.value.is_infinite() {
                    self.value
                } else {
                    self.value + self.c
                }
            }
            SimpleOp::Avg => {
                if self.incremental {
                    self.mean + self.c
                } else {
                    self.value / self.count + self.c / self.count
                }
            }
            SimpleOp::Stdvar => self.value / self.count,
            SimpleOp::Stddev => (self.value / self.count).sqrt(),
            _ => self.value,
        }
    }
}

/// The state of a simple aggregation folded batch by batch: one accumulator per group and
/// step, groups numbered in the order their first series arrives.
struct Fold {
    op: SimpleOp,
    n: usize,
    groups: HashMap<Labels, usize>,
    labels: Vec<Labels>,
    acc: Vec<Acc>,
}

impl Fold {
    fn new(op: SimpleOp, n: usize) -> Self {
        Fold {
            op,
            n,
            groups: HashMap::new(),
            labels: Vec::new(),
            acc: Vec::new(),
        }
    }

    /// The group of `labels`, created (with a row of accumulators) on first use.
    fn group(&mut self, labels: &Labels, m: &Option<LabelModifier>) -> usize {
        let g = group_labels(labels, m);
        if let Some(&id) = self.groups.get(&g) {
            return id;
        }
        let id = self.labels.len();
        self.groups.insert(g.clone(), id);
        self.labels.push(g);
        self.acc.resize(self.acc.len() + self.n, Acc::default());
        id
    }

    /// Folds the points of one series into row `g`.
    fn add(&mut self, g: usize, s: &Series, steps: &Steps) {
        let row = &mut self.acc[g * self.n..(g + 1) * self.n];
        for p in &s.samples {
            row[steps.index(p.t)].add(self.op, p.v);
        }
    }

    /// The output series, in group order, without empty ones.
    fn finish(self, steps: &Steps) -> Vec<Series> {
        let (op, n) = (self.op, self.n);
        let mut out = Vec::with_capacity(self.labels.len());
        for (g, labels) in self.labels.into_iter().enumerate() {
            let row = &self.acc[g * n..(g + 1) * n];
            let mut samples = Vec::with_capacity(row.iter().filter(|a| a.seen).count());
            for (i, a) in row.iter().enumerate() {
                if a.seen {
                    samples.push(Sample::new(steps.ts(i), a.result(op)));
                }
            }
            if !samples.is_empty() {
                out.push(Series {
                    labels,
                    samples,
                    histograms: Vec::new(),
                });
            }
        }
        out
    }
}

/// A simple aggregation folded batch by batch as its input is evaluated (see
/// [`Evaluator::eval_vector_batches`]), so that the per-series values of a large selection
/// are never all in memory. The same accumulators are fed in the same (input) order as
/// [`simple`], so the results are identical. `None` when the groups would need more than
/// [`SERIES_MAJOR_LIMIT`] accumulators: the caller then evaluates the input whole.
fn simple_streamed(ev: &mut Evaluator<'_>, op: SimpleOp, a: &AggregateExpr) -> Result<Option<Val>> {
    let steps = ev.steps;
    let ctl = ev.ctl;
    let max_groups = (SERIES_MAJOR_LIMIT / steps.len()).max(1);
    let mut fold = Fold::new(op, steps.len());
    let mut hfold = HistFold::default();
    let mut overflow = false;
    let r = ev.eval_vector_batches(&a.expr, &mut |batch: Vec<Series>| {
        for (i, s) in batch.iter().enumerate() {
            if i.is_multiple_of(1024) {
                ctl.check("expression evaluation")?;
            }
            if !s.histograms.is_empty() {
                hfold.add(op, group_labels(&s.labels, &a.modifier), s);
            }
            if s.samples.is_empty() {
                continue;
            }
            let g = fold.group(&s.labels, &a.modifier);
            if fold.labels.len() > max_groups {
                overflow = true;
                break;
            }
            fold.add(g, s, &steps);
        }
        // The batch's points are folded away.
        ctl.release_samples(batch.iter().map(|s| s.samples.len() + s.histograms.len()).sum());
        if overflow {
            return Err(QueryError::exec("too many groups to fold"));
        }
        Ok(())
    });
    if overflow {
        return Ok(None);
    }
    r?;
    let out = fold.finish(&steps);
    Ok(Some(Val::Vector(hfold.merge(ev, op, out))))
}

/// The histograms of one group at one step.
#[derive(Default)]
struct HAcc {
    /// Histograms seen.
    n: f64,
    /// Their sum, for `sum` and `avg` (the first is the starting point, as in Prometheus).
    sum: Option<FloatHistogram>,
    /// The histograms could not be added (custom and exponential buckets).
    incompatible: bool,
    reset: bool,
    not_reset: bool,
}

/// Native histograms folded beside the float accumulators of a simple aggregation, merged
/// into its float output at the end with Prometheus 3's rules: `sum` and `avg` add
/// histograms (a group mixing floats and histograms at a step has no output there, with a
/// warning), `count` and `group` count both, the others ignore histograms (with an info).
#[derive(Default)]
struct HistFold {
    groups: HashMap<Labels, BTreeMap<i64, HAcc>>,
}

impl HistFold {
    fn add(&mut self, op: SimpleOp, group: Labels, s: &Series) {
        let row = self.groups.entry(group).or_default();
        for HistogramSample { t, h } in &s.histograms {
            let acc = row.entry(*t).or_default();
            acc.n += 1.0;
            if !matches!(op, SimpleOp::Sum | SimpleOp::Avg) || acc.incompatible {
                continue;
            }
            match h.counter_reset_hint {
                storage::CounterResetHint::CounterReset => acc.reset = true,
                storage::CounterResetHint::NotCounterReset => acc.not_reset = true,
                _ => {}
            }
            match &mut acc.sum {
                None => acc.sum = Some(h.clone()),
                Some(sum) => {
                    if sum.add(h).is_err() {
                        acc.incompatible = true;
                    }
                }
            }
        }
    }

    fn merge(self, ev: &mut Evaluator<'_>, op: SimpleOp, mut out: Vec<Series>) -> Vec<Series> {
        if self.groups.is_empty() {
            return out;
        }
        let mut index: HashMap<Labels, usize> = out
            .iter()
            .enumerate()
            .map(|(i, s)| (s.labels.clone(), i))
            .collect();
        let op_name = match op {
            SimpleOp::Sum => "sum",
            SimpleOp::Avg => "avg",
            SimpleOp::Min => "min",
            SimpleOp::Max => "max",
            SimpleOp::Count => "count",
            SimpleOp::Group => "group",
            SimpleOp::Stddev => "stddev",
            SimpleOp::Stdvar => "stdvar",
        };
        // Output groups in first-seen order are not known here; new groups go last, sorted.
        let mut groups: Vec<(Labels, BTreeMap<i64, HAcc>)> = self.groups.into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (labels, row) in groups {
            let i = *index.entry(labels.clone()).or_insert_with(|| {
                out.push(Series {
                    labels,
                    samples: Vec::new(),
                    histograms: Vec::new(),
                });
                out.len() - 1
            });
            let s = &mut out[i];
            let mut resort = false;
            for (t, acc) in row {
                let float_at = s.samples.binary_search_by_key(&t, |p| p.t);
                match op {
                    SimpleOp::Sum | SimpleOp::Avg => {
                        if let Ok(k) = float_at {
                            ev.note(texts::mixed_floats_histograms_agg());
                            s.samples.remove(k);
                            continue;
                        }
                        if acc.incompatible {
                            ev.note(texts::mixed_exponential_custom(""));
                            continue;
                        }
                        if acc.reset && acc.not_reset {
                            ev.note(texts::counter_reset_collision("aggregation"));
                        }
                        if let Some(mut h) = acc.sum {
                            if op == SimpleOp::Avg {
                                h.div(acc.n);
                            }
                            h.compact();
                            s.histograms.push(HistogramSample { t, h });
                        }
                    }
                    SimpleOp::Count => match float_at {
                        Ok(k) => s.samples[k].v += acc.n,
                        Err(_) => {
                            s.samples.push(Sample::new(t, acc.n));
                            resort = true;
                        }
                    },
                    SimpleOp::Group => {
                        if float_at.is_err() {
                            s.samples.push(Sample::new(t, 1.0));
                            resort = true;
                        }
                    }
                    _ => ev.note(texts::ignored_in_aggregation(op_name)),
                }
            }
            if resort {
                s.samples.sort_by_key(|p| p.t);
            }
        }
        let _ = native::metric_name;
        out.retain(|s| !s.samples.is_empty() || !s.histograms.is_empty());
        out
    }
}

/// Group-and-step accumulators up to this many are kept at once, so the input can be walked
/// series by series (cache friendly); beyond, the input is walked step by step.
const SERIES_MAJOR_LIMIT: usize = 1 << 20;

fn simple(
    ev: &Evaluator<'_>,
    op: SimpleOp,
    input: &[Series],
    group_of: &[usize],
    labels: Vec<Labels>,
    limit: usize,
) -> Result<Val> {
    let ng = labels.len();
    let n = ev.steps.len();
    let mut out = empty_series(labels);
    if ng.saturating_mul(n) <= limit {
        // Series order within each step is the input order, as in the step-wise walk, so the
        // floating-point results are the same.
        let mut acc = vec![Acc::default(); ng * n];
        for (si, s) in input.iter().enumerate() {
            if si.is_multiple_of(1024) {
                ev.ctl.check("expression evaluation")?;
            }
            let base = group_of[si] * n;
            for p in &s.samples {
                acc[base + ev.steps.index(p.t)].add(op, p.v);
            }
        }
        for (g, o) in out.iter_mut().enumerate() {
            let row = &acc[g * n..(g + 1) * n];
            o.samples.reserve(row.iter().filter(|a| a.seen).count());
            for (i, a) in row.iter().enumerate() {
                if a.seen {
                    o.samples.push(Sample::new(ev.steps.ts(i), a.result(op)));
                }
            }
        }
    } else {
        let mut acc = vec![Acc::default(); ng];
        let mut touched: Vec<usize> = Vec::new();
        let mut cur = StepCursor::new(input);
        let mut buf = Vec::new();
        for i in 0..n {
            ev.ctl.check("expression evaluation")?;
            let ts = ev.steps.ts(i);
            cur.at(ts, &mut buf);
            for &(si, f) in &buf {
                let g = group_of[si];
                if !acc[g].seen {
                    touched.push(g);
                }
                acc[g].add(op, f);
            }
            for &g in &touched {
                out[g].samples.push(Sample::new(ts, acc[g].result(op)));
                acc[g].seen = false;
            }
            touched.clear();
        }
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
    // Per group, (position in `buf`, value) of its points at the step.
    let mut per_group: Vec<Vec<(usize, f64)>> = vec![Vec::new(); ng];
    // `limitk` and `limit_ratio` pass histograms through; `topk` and `bottomk` ignore them.
    let by_value = matches!(op, "topk" | "bottomk");
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
        cur.at_any(ts, &mut buf);
        if by_value {
            buf.retain(|(_, _, h)| h.is_none());
        }
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
            for (pos, &(si, _, _)) in buf.iter().enumerate() {
                let off = ratio_offsets[si];
                if (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r) {
                    chosen.push(pos);
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
            for (pos, &(si, v, _)) in buf.iter().enumerate() {
                let g = group_of[si];
                if per_group[g].is_empty() {
                    order.push(g);
                }
                per_group[g].push((pos, v));
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
        for pos in chosen {
            let (si, v, h) = buf[pos];
            let slot = *slot_of[si].get_or_insert_with(|| sink.slot(&input[si].labels));
            match h {
                Some(h) => sink.push_h(slot, ts, h.clone())?,
                None => sink.push(slot, ts, v)?,
            }
        }
    }
    Ok(Val::Vector(sink.series))
}

/// Ascending order with NaN lowest (so `topk` sorted descending puts NaN last).
fn cmp_nan_low(a: f64, b: f64) -> std::cmp::Ordering {
    cmp_with_nan(a, b, std::cmp::Ordering::Less)
}

/// Ascending order with NaN highest (so `bottomk` puts NaN last).
fn cmp_nan_high(a: f64, b: f64) -> std::cmp::Ordering {
    cmp_with_nan(a, b, std::cmp::Ordering::Greater)
}

/// Ascending order of numbers, with NaN (equal to NaN) ordered as `nan` against a number.
fn cmp_with_nan(a: f64, b: f64, nan: std::cmp::Ordering) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => nan,
        (false, true) => nan.reverse(),
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
    let mut out = empty_series(labels);
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
        cur.at_any(ts, &mut buf);
        let mut counts: Vec<((usize, String), f64)> = Vec::new();
        let mut index: HashMap<(usize, String), usize> = HashMap::new();
        for &(si, v, h) in &buf {
            // A histogram counts under its text form, as Prometheus' `FloatHistogram.String()`.
            let value = h.map_or_else(|| format_float(v), ToString::to_string);
            let key = (group_of[si], value);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engine::eval::Steps;
    use crate::engine::Control;

    #[test]
    fn series_major_and_step_major_agree() {
        let dir = tempfile::tempdir().unwrap();
        let db = storage::Db::open(storage::DbOptions::new(dir.path())).unwrap();
        let ctl = Control::new(std::time::Duration::from_secs(10), None, usize::MAX);
        let steps = Steps {
            start: 0,
            end: 9_000,
            step: 1_000,
        };
        let ev = Evaluator::new(&db, steps, 300_000, &ctl);
        let mut x = 7u64;
        let mut input = Vec::new();
        let mut group_of = Vec::new();
        for i in 0..40 {
            let mut samples = Vec::new();
            for s in 0..10 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if !x.is_multiple_of(5) {
                    let v = match x % 17 {
                        0 => f64::NAN,
                        1 => f64::INFINITY,
                        _ => (x >> 20) as f64 / 1e3 - 1e6,
                    };
                    samples.push(Sample::new(s * 1_000, v));
                }
            }
            input.push(Series {
                labels: Labels::from_pairs([("i", i.to_string())]),
                samples,
                histograms: Vec::new(),
            });
            group_of.push(i % 3);
        }
        let labels: Vec<Labels> = (0..3)
            .map(|g| Labels::from_pairs([("g", g.to_string())]))
            .collect();
        for op in ["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"] {
            let op = SimpleOp::parse(op).unwrap();
            let a = simple(&ev, op, &input, &group_of, labels.clone(), usize::MAX).unwrap();
            let b = simple(&ev, op, &input, &group_of, labels.clone(), 0).unwrap();
            match (a, b) {
                (Val::Vector(a), Val::Vector(b)) => {
                    assert_eq!(a.len(), b.len());
                    for (x, y) in a.iter().zip(&b) {
                        assert_eq!(x.labels, y.labels);
                        assert_eq!(x.samples.len(), y.samples.len());
                        for (p, q) in x.samples.iter().zip(&y.samples) {
                            assert!(p.same_bits(q), "{op:?}: {p:?} vs {q:?}");
                        }
                    }
                }
                _ => panic!("not vectors"),
            }
        }
    }
}
