//! A runner for promqltest-format scripts (STYLE.md E3), parameterised over the storage.
//!
//! Commands:
//! - `load <step>` then indented lines `<series> <values>`; values in expanding notation:
//!   `1+2x3` (1 3 5 7), `1-1x2`, `5x2` (5 5 5), `_` (no sample), `_x3`, `stale`, `NaN`, `Inf`.
//!   Sample `i` of a line is at `i * step`. Samples go through the public `Appender`.
//! - `clear`: a fresh, empty storage.
//! - `eval instant at <time> <expr>` / `eval range from <t> to <t> step <d> <expr>`, followed
//!   by optional `expect fail [msg: <text> | regex: <re>]`, `expect ordered`, `expect warn`, `expect info`, and
//!   expected results: `<series> <value>` (instant), `<series> <values>` (range, `_` = no point),
//!   or a bare number for a scalar. `eval_fail` and `eval_ordered` are accepted as well.
//!
//! Times are durations (`1m30s`) or plain seconds. Values compare with a relative tolerance of
//! 1e-6; NaN equals NaN.

mod parse;

use crate::{Engine, EngineOptions, Value};
pub use parse::{parse_script, Command, EvalCmd, Expectation, LoadCmd};
use std::collections::BTreeMap;
use storage::{Appendable, Labels, Queryable, SeriesRef};

/// A storage the runner can load into and query.
pub trait TestStorage: Appendable + Queryable {}
impl<T: Appendable + Queryable> TestStorage for T {}

/// Runs a script; `new_storage` is called at the start and for every `clear`.
/// Returns every failure, each naming its script line.
pub fn run_script(
    name: &str,
    text: &str,
    new_storage: &mut dyn FnMut() -> Box<dyn TestStorage>,
) -> Result<usize, Vec<String>> {
    let cmds = parse_script(text).map_err(|e| vec![format!("{name}: {e}")])?;
    let engine = Engine::new(EngineOptions::default());
    let mut db = new_storage();
    let mut failures = Vec::new();
    let mut evals = 0;
    for cmd in cmds {
        match cmd {
            Command::Clear => db = new_storage(),
            Command::Load(l) => {
                if let Err(e) = load(db.as_ref(), &l) {
                    failures.push(format!("{name}:{}: load failed: {e}", l.line));
                }
            }
            Command::Eval(e) => {
                evals += 1;
                if let Err(msg) = run_eval(&engine, db.as_ref(), &e) {
                    failures.push(format!("{name}:{}: {}\n    query: {}", e.line, msg, e.expr));
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(evals)
    } else {
        Err(failures)
    }
}

fn load(db: &dyn TestStorage, l: &LoadCmd) -> Result<(), String> {
    let mut app = db.appender();
    for (labels, values) in &l.series {
        let mut r = SeriesRef::NONE;
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                r = app
                    .append(r, labels, i as i64 * l.step_ms, *v)
                    .map_err(|e| format!("{labels}: {e}"))?;
            }
        }
    }
    app.commit().map_err(|e| e.to_string())
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < f64::MIN_POSITIVE {
        return diff < 1e-6 * f64::MIN_POSITIVE;
    }
    diff / sum.min(f64::MAX) < 1e-6
}

fn run_eval(engine: &Engine, db: &dyn TestStorage, e: &EvalCmd) -> Result<(), String> {
    let res = match e.range {
        None => engine.instant(db, &e.expr, e.start_ms),
        Some((end, step)) => engine.range(db, &e.expr, e.start_ms, end, step),
    };
    let out = match (res, &e.fail) {
        (Err(err), Some(want)) => {
            let msg = err.to_string();
            return match want {
                Expectation::Any => Ok(()),
                Expectation::Msg(m) if msg == *m => Ok(()),
                Expectation::Regex(re) if regex::Regex::new(re).is_ok_and(|r| r.is_match(&msg)) => Ok(()),
                _ => Err(format!("error {msg:?} does not match expected {want:?}")),
            };
        }
        (Ok(_), Some(_)) => return Err("expected an error, got a result".into()),
        (Err(err), None) => return Err(format!("unexpected error: {err}")),
        (Ok(o), None) => o,
    };
    if e.expect_warn && out.warnings.is_empty() {
        return Err("expected a warning, got none".into());
    }
    if e.expect_info && out.infos.is_empty() {
        return Err("expected an info, got none".into());
    }
    match out.value {
        Value::Scalar { v, .. } => {
            if e.results.len() != 1 || !e.results[0].0.is_empty() {
                return Err(format!("got scalar {v}, expected {:?}", e.results));
            }
            let want = e.results[0].1.first().copied().flatten();
            match want {
                Some(w) if close(w, v) => Ok(()),
                _ => Err(format!("got scalar {v}, expected {want:?}")),
            }
        }
        Value::String { s, .. } => Err(format!("got string {s:?}; string results are not comparable")),
        Value::Vector(vs) => {
            let got: Vec<(Labels, Vec<Option<f64>>)> =
                vs.into_iter().map(|s| (s.labels, vec![Some(s.v)])).collect();
            compare(got, &e.results, e.ordered)
        }
        Value::Matrix(ms) => {
            let got: Vec<(Labels, Vec<Option<f64>>)> = match e.range {
                Some((end, step)) => ms
                    .into_iter()
                    .map(|s| {
                        let n = ((end - e.start_ms) / step + 1) as usize;
                        let mut vals = vec![None; n];
                        for p in s.samples {
                            vals[((p.t - e.start_ms) / step) as usize] = Some(p.v);
                        }
                        while vals.last() == Some(&None) {
                            vals.pop();
                        }
                        (s.labels, vals)
                    })
                    .collect(),
                None => ms
                    .into_iter()
                    .map(|s| (s.labels, s.samples.iter().map(|p| Some(p.v)).collect()))
                    .collect(),
            };
            compare(got, &e.results, false)
        }
    }
}

fn fmt_vals(v: &[Option<f64>]) -> String {
    v.iter()
        .map(|x| x.map_or("_".to_string(), |f| f.to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn compare(
    got: Vec<(Labels, Vec<Option<f64>>)>,
    want: &[(Labels, Vec<Option<f64>>)],
    ordered: bool,
) -> Result<(), String> {
    let trim = |v: &[Option<f64>]| -> Vec<Option<f64>> {
        let mut v = v.to_vec();
        while v.last() == Some(&None) {
            v.pop();
        }
        v
    };
    let same = |a: &[Option<f64>], b: &[Option<f64>]| {
        let (a, b) = (trim(a), trim(b));
        a.len() == b.len()
            && a.iter().zip(&b).all(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => close(*x, *y),
                (None, None) => true,
                _ => false,
            })
    };
    let describe = |v: &[(Labels, Vec<Option<f64>>)]| {
        v.iter()
            .map(|(l, x)| format!("      {l} {}", fmt_vals(x)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mismatch = || {
        format!(
            "results differ\n    got:\n{}\n    want:\n{}",
            describe(&got),
            describe(want)
        )
    };
    if got.len() != want.len() {
        return Err(mismatch());
    }
    if ordered {
        for ((gl, gv), (wl, wv)) in got.iter().zip(want) {
            if gl != wl || !same(gv, wv) {
                return Err(mismatch());
            }
        }
        return Ok(());
    }
    let mut by: BTreeMap<&Labels, &Vec<Option<f64>>> = BTreeMap::new();
    for (l, v) in &got {
        if by.insert(l, v).is_some() {
            return Err(format!("duplicate series {l} in result"));
        }
    }
    for (wl, wv) in want {
        match by.get(wl) {
            Some(gv) if same(gv, wv) => {}
            _ => return Err(mismatch()),
        }
    }
    Ok(())
}
