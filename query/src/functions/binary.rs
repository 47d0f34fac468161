//! Binary operators: arithmetic, comparisons (filtering or `bool`), set operators, and
//! vector matching with `on` / `ignoring` / `group_left` / `group_right`.

use super::native::{texts, Note};
use crate::engine::eval::{merge_same_labels, Evaluator, SeriesSink, StepCursor, Val};
use crate::error::{QueryError, Result};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use std::collections::{HashMap, HashSet};
use storage::{CounterResetHint, FloatHistogram, HistogramSample, Labels, Sample, Series, METRIC_NAME};

fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=")
}

/// Arithmetic drops the metric name; comparisons without `bool` filter and keep it.
fn drops_name(op: &str) -> bool {
    matches!(op, "+" | "-" | "*" | "/" | "%" | "^" | "atan2")
}

/// One element operation: the value and whether to keep it (comparisons).
fn elem(op: &str, l: f64, r: f64) -> Result<(f64, bool)> {
    Ok(match op {
        "+" => (l + r, true),
        "-" => (l - r, true),
        "*" => (l * r, true),
        "/" => (l / r, true),
        "%" => (l % r, true),
        "^" => (l.powf(r), true),
        "atan2" => (l.atan2(r), true),
        "==" => (l, l == r),
        "!=" => (l, l != r),
        ">" => (l, l > r),
        "<" => (l, l < r),
        ">=" => (l, l >= r),
        "<=" => (l, l <= r),
        other => {
            return Err(QueryError::exec(format!(
                "operator {other:?} not allowed for this operand types"
            )))
        }
    })
}

/// Evaluates a binary expression.
pub(crate) fn eval(ev: &mut Evaluator<'_>, b: &BinaryExpr) -> Result<Val> {
    let op = b.op.to_string();
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    if let Some(m) = &b.modifier {
        if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
            return Err(QueryError::exec(
                "fill modifiers in vector matching are not supported",
            ));
        }
    }
    let lhs = ev.eval(&b.lhs)?;
    let rhs = ev.eval(&b.rhs)?;
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => {
            let mut out = Vec::with_capacity(l.len());
            for (a, c) in l.into_iter().zip(r) {
                let (v, keep) = elem(&op, a, c)?;
                out.push(if is_comparison(&op) {
                    f64::from(u8::from(keep))
                } else {
                    v
                });
            }
            Ok(Val::Scalar(out))
        }
        (Val::Vector(v), Val::Scalar(s)) => vector_scalar(ev, &op, v, &s, false, return_bool),
        (Val::Scalar(s), Val::Vector(v)) => vector_scalar(ev, &op, v, &s, true, return_bool),
        (Val::Vector(l), Val::Vector(r)) => {
            let matching = b.modifier.as_ref().and_then(|m| m.matching.clone());
            let card = b
                .modifier
                .as_ref()
                .map_or(VectorMatchCardinality::OneToOne, |m| m.card.clone());
            match op.as_str() {
                "and" | "or" | "unless" => set_op(ev, &op, l, r, &matching),
                _ => vector_vector(ev, &op, l, r, &matching, &card, return_bool),
            }
        }
        (l, r) => Err(QueryError::exec(format!(
            "binary operator {op} not allowed between {} and {}",
            l.type_name(),
            r.type_name()
        ))),
    }
}

fn vector_scalar(
    ev: &mut Evaluator<'_>,
    op: &str,
    vs: Vec<Series>,
    s: &[f64],
    swap: bool,
    return_bool: bool,
) -> Result<Val> {
    let steps = ev.steps;
    let cmp = is_comparison(op);
    let drop = drops_name(op) || return_bool;
    let mut out = Vec::with_capacity(vs.len());
    for series in vs {
        ev.ctl.check("expression evaluation")?;
        let mut samples = Vec::with_capacity(series.samples.len());
        for p in &series.samples {
            let sv = s[steps.index(p.t)];
            let (lv, rv) = if swap { (sv, p.v) } else { (p.v, sv) };
            let (mut v, mut keep) = elem(op, lv, rv)?;
            if cmp && swap {
                v = rv;
            }
            if return_bool {
                v = f64::from(u8::from(keep));
                keep = true;
            }
            if keep {
                samples.push(Sample::new(p.t, v));
            }
        }
        let mut histograms = Vec::new();
        for p in &series.histograms {
            let sv = s[steps.index(p.t)];
            let (lh, rh) = if swap {
                (None, Some(&p.h))
            } else {
                (Some(&p.h), None)
            };
            let (l, r) = if swap { (sv, 0.0) } else { (0.0, sv) };
            match elem_h(op, l, r, lh, rh, return_bool) {
                Ok(Some(Out::H(h))) => histograms.push(HistogramSample { t: p.t, h }),
                Ok(Some(Out::F(v))) => samples.push(Sample::new(p.t, v)),
                Ok(None) => {}
                Err(n) => ev.note(n),
            }
        }
        if !series.histograms.is_empty() && !series.samples.is_empty() {
            samples.sort_by_key(|p| p.t);
        }
        let labels = if drop {
            series.labels.without_metric_name()
        } else {
            series.labels
        };
        out.push(Series {
            labels,
            samples,
            histograms,
        });
    }
    Ok(Val::Vector(merge_same_labels(out)?))
}

/// The result of an element operation that involves a histogram.
pub(crate) enum Out {
    F(f64),
    H(FloatHistogram),
}

/// Prometheus' `vectorElemBinop` where at least one side is a histogram (`lh` / `rh`; the
/// float of the other side in `l` / `r`): `h * f`, `f * h`, `h / f`, `h + h`, `h - h`,
/// `h == h`, `h != h`; anything else is dropped with the incompatible-types info. `Ok(None)`
/// is a comparison that filtered the element.
fn elem_h(
    op: &str,
    l: f64,
    r: f64,
    lh: Option<&FloatHistogram>,
    rh: Option<&FloatHistogram>,
    return_bool: bool,
) -> std::result::Result<Option<Out>, Note> {
    let kind = |h: Option<&FloatHistogram>| if h.is_some() { "histogram" } else { "float" };
    let incompatible = || texts::incompatible_types_in_binop(kind(lh), op, kind(rh));
    let out = match (lh, rh) {
        (None, Some(h)) if op == "*" => {
            let mut h = h.clone();
            h.mul(l);
            h.compact();
            h
        }
        (Some(h), None) if op == "*" || op == "/" => {
            let mut h = h.clone();
            if op == "*" {
                h.mul(r);
            } else {
                h.div(r);
            }
            h.compact();
            h
        }
        (Some(a), Some(b)) if op == "+" || op == "-" => {
            let mut h = a.clone();
            let res = if op == "+" { h.add(b) } else { h.sub(b) };
            if res.is_err() {
                return Err(texts::incompatible_bucket_layout(op));
            }
            if op == "-" {
                h.counter_reset_hint = CounterResetHint::Gauge;
            }
            h.compact();
            h
        }
        (Some(a), Some(b)) if op == "==" || op == "!=" => {
            let keep = super::range::histograms_equal(a, b) == (op == "==");
            if return_bool {
                return Ok(Some(Out::F(f64::from(u8::from(keep)))));
            }
            return Ok(keep.then(|| Out::H(a.clone())));
        }
        _ => return Err(incompatible()),
    };
    if return_bool {
        // `bool` only applies to comparisons, which are handled above.
        return Err(incompatible());
    }
    Ok(Some(Out::H(out)))
}

/// The matching signature of a series: the `on` labels, or all but the `ignoring` labels
/// and the metric name.
struct Signer<'m> {
    matching: &'m Option<LabelModifier>,
}

impl Signer<'_> {
    fn included(&self, name: &str) -> bool {
        match self.matching {
            Some(LabelModifier::Include(on)) => on.labels.iter().any(|l| l == name),
            Some(LabelModifier::Exclude(ign)) => name != METRIC_NAME && !ign.labels.iter().any(|l| l == name),
            None => name != METRIC_NAME,
        }
    }

    fn sig(&self, l: &Labels) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for x in l.iter() {
            if self.included(&x.name) {
                h.update(x.name.as_bytes());
                h.update(&[0xff]);
                h.update(x.value.as_bytes());
                h.update(&[0xff]);
            }
        }
        h.digest()
    }

    /// The labels that take part in matching, for error messages.
    fn match_labels(&self, l: &Labels) -> Labels {
        let mut b = l.to_builder();
        b.retain(|n| self.included(n));
        b.build()
    }
}

fn set_op(
    ev: &Evaluator<'_>,
    op: &str,
    l: Vec<Series>,
    r: Vec<Series>,
    matching: &Option<LabelModifier>,
) -> Result<Val> {
    let signer = Signer { matching };
    let lsig: Vec<u64> = l.iter().map(|s| signer.sig(&s.labels)).collect();
    let rsig: Vec<u64> = r.iter().map(|s| signer.sig(&s.labels)).collect();
    let steps = ev.steps;
    let n = steps.len();
    // Signatures present on each side per step.
    let mut lsigs: Vec<HashSet<u64>> = vec![HashSet::new(); n];
    let mut rsigs: Vec<HashSet<u64>> = vec![HashSet::new(); n];
    for (s, &g) in l.iter().zip(&lsig) {
        for t in s
            .samples
            .iter()
            .map(|p| p.t)
            .chain(s.histograms.iter().map(|p| p.t))
        {
            lsigs[steps.index(t)].insert(g);
        }
    }
    for (s, &g) in r.iter().zip(&rsig) {
        for t in s
            .samples
            .iter()
            .map(|p| p.t)
            .chain(s.histograms.iter().map(|p| p.t))
        {
            rsigs[steps.index(t)].insert(g);
        }
    }
    let mut out = Vec::new();
    for (s, g) in l.into_iter().zip(lsig) {
        ev.ctl.check("expression evaluation")?;
        let keep = |p: &Sample| {
            let has = rsigs[steps.index(p.t)].contains(&g);
            match op {
                "and" => has,
                "unless" => !has,
                _ => true,
            }
        };
        let samples: Vec<Sample> = s.samples.iter().copied().filter(keep).collect();
        let histograms: Vec<HistogramSample> = s
            .histograms
            .into_iter()
            .filter(|p| keep(&Sample::new(p.t, 0.0)))
            .collect();
        out.push(Series {
            labels: s.labels,
            samples,
            histograms,
        });
    }
    if op == "or" {
        for (s, g) in r.into_iter().zip(rsig) {
            let samples: Vec<Sample> = s
                .samples
                .iter()
                .copied()
                .filter(|p| !lsigs[steps.index(p.t)].contains(&g))
                .collect();
            let histograms: Vec<HistogramSample> = s
                .histograms
                .into_iter()
                .filter(|p| !lsigs[steps.index(p.t)].contains(&g))
                .collect();
            out.push(Series {
                labels: s.labels,
                samples,
                histograms,
            });
        }
    }
    Ok(Val::Vector(merge_same_labels(out)?))
}

#[allow(clippy::too_many_arguments)]
fn vector_vector(
    ev: &mut Evaluator<'_>,
    op: &str,
    l: Vec<Series>,
    r: Vec<Series>,
    matching: &Option<LabelModifier>,
    card: &VectorMatchCardinality,
    return_bool: bool,
) -> Result<Val> {
    let signer = Signer { matching };
    let one_to_many = matches!(card, VectorMatchCardinality::OneToMany(_));
    let include: Option<&Vec<String>> = match card {
        VectorMatchCardinality::ManyToOne(ls) | VectorMatchCardinality::OneToMany(ls) => Some(&ls.labels),
        _ => None,
    };
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let (many, one) = if one_to_many { (&r, &l) } else { (&l, &r) };
    let many_sig: Vec<u64> = many.iter().map(|s| signer.sig(&s.labels)).collect();
    let one_sig: Vec<u64> = one.iter().map(|s| signer.sig(&s.labels)).collect();
    let drop = drops_name(op) || return_bool;
    let result_metric = |ml: &Labels, ol: &Labels| -> Labels {
        let mut b = ml.to_builder();
        if drop {
            b.remove(METRIC_NAME);
        }
        if one_to_one {
            match matching {
                Some(LabelModifier::Include(on)) => {
                    b.retain(|n| on.labels.iter().any(|x| x == n));
                }
                Some(LabelModifier::Exclude(ign)) => {
                    b.retain(|n| !ign.labels.iter().any(|x| x == n));
                }
                None => {}
            }
        }
        if let Some(inc) = include {
            for ln in inc {
                match ol.get(ln) {
                    Some(v) => b.set(ln, v),
                    None => b.remove(ln),
                };
            }
        }
        b.build()
    };
    let mut sink = SeriesSink::default();
    let mut pair_slot: HashMap<(usize, usize), (usize, u64)> = HashMap::new();
    let (mut mcur, mut ocur) = (StepCursor::new(many), StepCursor::new(one));
    let (mut mbuf, mut obuf) = (Vec::new(), Vec::new());
    let mut one_map: HashMap<u64, (usize, f64, Option<&FloatHistogram>)> = HashMap::new();
    let mut matched: HashMap<u64, HashSet<u64>> = HashMap::new();
    let mut notes: Vec<Note> = Vec::new();
    for i in 0..ev.steps.len() {
        ev.ctl.check("expression evaluation")?;
        let ts = ev.steps.ts(i);
        mcur.at_any(ts, &mut mbuf);
        ocur.at_any(ts, &mut obuf);
        if mbuf.is_empty() || obuf.is_empty() {
            continue;
        }
        one_map.clear();
        for &(j, v, h) in &obuf {
            if let Some(&(k, _, _)) = one_map.get(&one_sig[j]) {
                let side = if one_to_many { "left" } else { "right" };
                let (mut d1, mut d2) = (one[j].labels.to_string(), one[k].labels.to_string());
                if d1 > d2 {
                    std::mem::swap(&mut d1, &mut d2);
                }
                return Err(QueryError::exec(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: [{d1}, {d2}];many-to-many matching not allowed: matching labels must be unique on one side",
                    signer.match_labels(&one[j].labels),
                )));
            }
            one_map.insert(one_sig[j], (j, v, h));
        }
        matched.clear();
        for &(mi, mv, mh) in &mbuf {
            let sig = many_sig[mi];
            let Some(&(oj, ov, oh)) = one_map.get(&sig) else {
                continue;
            };
            let (fl, fr) = if one_to_many { (ov, mv) } else { (mv, ov) };
            let (hl, hr) = if one_to_many { (oh, mh) } else { (mh, oh) };
            let (mut v, mut keep, mut hout) = (0.0, true, None);
            if hl.is_none() && hr.is_none() {
                (v, keep) = elem(op, fl, fr)?;
                if return_bool {
                    v = f64::from(u8::from(keep));
                }
            } else {
                match elem_h(op, fl, fr, hl, hr, return_bool) {
                    Ok(Some(Out::F(x))) => v = x,
                    Ok(Some(Out::H(h))) => hout = Some(h),
                    Ok(None) => keep = false,
                    Err(n) => {
                        notes.push(n);
                        keep = false;
                    }
                }
            }
            // As Prometheus, check for ambiguous matches before dropping filtered elements.
            let (slot, metric_hash) = *pair_slot.entry((mi, oj)).or_insert_with(|| {
                let m = result_metric(&many[mi].labels, &one[oj].labels);
                let h = m.stable_hash();
                (sink.slot(&m), h)
            });
            match matched.get_mut(&sig) {
                Some(set) => {
                    if one_to_one {
                        return Err(QueryError::exec(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                        ));
                    }
                    if !set.insert(metric_hash) {
                        return Err(QueryError::exec(
                            "multiple matches for labels: grouping labels must ensure unique matches",
                        ));
                    }
                }
                None => {
                    matched.insert(sig, HashSet::from([metric_hash]));
                }
            }
            if !keep && (!return_bool || hl.is_some() || hr.is_some()) {
                continue;
            }
            match hout {
                Some(h) => sink.push_h(slot, ts, h)?,
                None => sink.push(slot, ts, v)?,
            }
        }
    }
    for n in notes {
        ev.note(n);
    }
    let mut out = sink.series;
    out.retain(|s| !s.samples.is_empty() || !s.histograms.is_empty());
    Ok(Val::Vector(out))
}
