//! The engine: options and limits, the concurrency gate, and the entry points.

pub(crate) mod eval;
pub(crate) mod selector;
mod walk;
pub use selector::extract_selectors;
pub mod value;

use crate::error::{QueryError, Result};
use crate::metrics;
use eval::{Evaluator, Steps, Val};
use parking_lot::{Condvar, Mutex};
use promql_parser::parser::{self, Expr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};
use storage::{Queryable, Series};
use value::{InstantSample, QueryOutput, Value};

/// Engine limits and settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (default 5 m).
    pub lookback_delta_ms: i64,
    /// Maximum time a query may run.
    pub timeout: Duration,
    /// Maximum samples a query may hold in memory at once.
    pub max_samples: usize,
    /// Maximum queries evaluated at once; more wait.
    pub max_concurrency: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            max_concurrency: 20,
        }
    }
}

/// The step of a subquery written without one (`x[1h:]`): Prometheus' default global
/// evaluation interval, 1 m.
pub const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

/// A handle that cancels a running query from another thread.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A new, not yet canceled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every query evaluated with this token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_canceled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Per-query limits checked while evaluating: deadline, cancellation and sample budget.
#[derive(Debug)]
pub(crate) struct Control {
    deadline: Instant,
    cancel: Option<CancelToken>,
    max_samples: usize,
    samples: AtomicUsize,
}

impl Control {
    pub(crate) fn new(timeout: Duration, cancel: Option<CancelToken>, max_samples: usize) -> Self {
        Control {
            // A timeout too large to represent means "no timeout" (a century is enough).
            deadline: Instant::now()
                .checked_add(timeout)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400)),
            cancel,
            max_samples,
            samples: AtomicUsize::new(0),
        }
    }

    /// Fails when the query timed out or was canceled; `stage` names where it was noticed.
    pub(crate) fn check(&self, stage: &str) -> Result<()> {
        if let Some(c) = &self.cancel {
            if c.is_canceled() {
                return Err(QueryError::Canceled(stage.into()));
            }
        }
        if Instant::now() >= self.deadline {
            return Err(QueryError::Timeout(stage.into()));
        }
        Ok(())
    }

    /// Accounts `n` more samples held in memory; fails past `max_samples`.
    pub(crate) fn add_samples(&self, n: usize, stage: &str) -> Result<()> {
        let total = self.samples.fetch_add(n, Ordering::Relaxed) + n;
        if total > self.max_samples {
            return Err(QueryError::TooManySamples(stage.into()));
        }
        Ok(())
    }

    /// Fails when a query or subquery would have more steps than samples allowed (each step
    /// holds at least one value), before anything per step is allocated.
    pub(crate) fn check_steps(&self, steps: &Steps) -> Result<()> {
        let n = (steps.end - steps.start) / steps.step + 1;
        if n as u128 > self.max_samples as u128 {
            return Err(QueryError::TooManySamples("query execution".into()));
        }
        Ok(())
    }

    /// Releases `n` samples that are no longer held.
    pub(crate) fn release_samples(&self, n: usize) {
        let _ = self
            .samples
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some(s.saturating_sub(n))
            });
    }
}

/// A counting semaphore: `max_concurrency` queries run, the rest wait their turn.
#[derive(Debug)]
struct Gate {
    free: Mutex<usize>,
    cv: Condvar,
}

struct Permit<'a>(&'a Gate);

impl Gate {
    /// Waits for a free slot until `deadline`; a query still queued then has timed out, as
    /// Prometheus' "query timed out in query queue".
    fn acquire(&self, deadline: Instant) -> Result<Permit<'_>> {
        let mut free = self.free.lock();
        if *free == 0 {
            crate::rejections::queued();
        }
        while *free == 0 {
            if self.cv.wait_until(&mut free, deadline).timed_out() && *free == 0 {
                return Err(QueryError::Timeout("query queue".into()));
            }
        }
        *free -= 1;
        Ok(Permit(self))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock() += 1;
        self.0.cv.notify_one();
    }
}

/// The PromQL engine. Cheap to share (`Arc<Engine>`); every method may be called from many
/// threads at once, at most `max_concurrency` queries evaluate at a time.
#[derive(Debug)]
pub struct Engine {
    opts: EngineOptions,
    gate: Gate,
}

static REGISTER_ALIASES: Once = Once::new();

/// Makes the parser accept `holt_winters`, Prometheus 2's name of
/// `double_exponential_smoothing`, which we keep working.
fn register_aliases() {
    REGISTER_ALIASES.call_once(|| {
        use promql_parser::parser::value::ValueType;
        let f = parser::Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        );
        if let Err(e) = parser::register_extra_functions(vec![f]) {
            tracing::warn!("cannot register holt_winters: {e}");
        }
    });
}

/// Parses `expr` into the parser's AST, mapping errors to [`QueryError::Parse`].
pub fn parse(expr: &str) -> Result<Expr> {
    register_aliases();
    crate::durations::check_number_durations(expr).map_err(QueryError::Parse)?;
    crate::durations::parse(expr).map_err(|e| {
        QueryError::Parse(crate::parse_error::describe(
            expr,
            &e,
            crate::parse_error::Grammar::Expr,
        ))
    })
}

/// [`parse`], timed and traced as the query's preparation.
fn timed_parse(expr: &str) -> Result<Expr> {
    let _span = tracing::info_span!("query.parse").entered();
    let started = Instant::now();
    let r = parse(expr);
    metrics::engine().slice(metrics::Slice::PrepareTime, started.elapsed());
    r
}

/// Evaluates `ast`, timed and traced.
fn timed_eval(ev: &mut Evaluator<'_>, ast: &Expr) -> Result<Val> {
    let _span = tracing::info_span!("query.evaluate").entered();
    let started = Instant::now();
    let r = ev.eval(ast);
    metrics::engine().slice(metrics::Slice::InnerEval, started.elapsed());
    r
}

impl Engine {
    /// A new engine.
    pub fn new(opts: EngineOptions) -> Self {
        register_aliases();
        let n = opts.max_concurrency.max(1);
        let max = &metrics::engine().max_concurrency;
        if (n as i64) > max.get() {
            max.set(n as i64);
        }
        Engine {
            opts,
            gate: Gate {
                free: Mutex::new(n),
                cv: Condvar::new(),
            },
        }
    }

    /// Waits for a free slot of the concurrency gate, timing the wait.
    fn acquire(&self, ctl: &Control) -> Result<Permit<'_>> {
        let started = Instant::now();
        let p = self.gate.acquire(ctl.deadline);
        metrics::engine().slice(metrics::Slice::QueueTime, started.elapsed());
        p
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `expr` at `t` (ms).
    pub fn instant(&self, q: &dyn Queryable, expr: &str, t: i64) -> Result<QueryOutput> {
        self.instant_with_cancel(q, expr, t, None)
    }

    /// Like [`Engine::instant`], stoppable through `cancel`.
    pub fn instant_with_cancel(
        &self,
        q: &dyn Queryable,
        expr: &str,
        t: i64,
        cancel: Option<CancelToken>,
    ) -> Result<QueryOutput> {
        let _span = tracing::info_span!("query", kind = "instant", expr, time = t).entered();
        let m = metrics::engine();
        let _in_flight = m.in_flight.track();
        let started = Instant::now();
        let res = self.instant_inner(q, expr, t, cancel);
        m.finished(metrics::Kind::Instant, started.elapsed(), res.is_ok());
        if let Err(e) = &res {
            crate::rejections::record(e);
        }
        res
    }

    fn instant_inner(
        &self,
        q: &dyn Queryable,
        expr: &str,
        t: i64,
        cancel: Option<CancelToken>,
    ) -> Result<QueryOutput> {
        let ast = timed_parse(expr)?;
        let ctl = Control::new(self.opts.timeout, cancel, self.opts.max_samples);
        let _permit = self.acquire(&ctl)?;
        let steps = Steps {
            start: t,
            end: t,
            step: 1,
        };
        let mut ev = Evaluator::new(q, steps, self.opts.lookback_delta_ms, &ctl);
        let val = timed_eval(&mut ev, &ast)?;
        let value = match val {
            Val::Scalar(v) => Value::Scalar { t, v: v[0] },
            Val::Str(s) => Value::String { t, s },
            Val::Vector(vs) => Value::Vector(
                vs.into_iter()
                    .filter_map(|s| match (s.samples.first(), s.histograms.into_iter().next()) {
                        (Some(p), _) => Some(InstantSample {
                            labels: s.labels,
                            t,
                            v: p.v,
                            h: None,
                        }),
                        (None, Some(hp)) => Some(InstantSample {
                            labels: s.labels,
                            t,
                            v: 0.0,
                            h: Some(hp.h),
                        }),
                        (None, None) => None,
                    })
                    .collect(),
            ),
            Val::Range(r) => {
                // A range vector returned as such holds all its windows' samples at once,
                // which Prometheus counts against the limit.
                let m = r.windows_at(t, &ctl)?;
                ctl.add_samples(
                    m.iter().map(|s| s.samples.len() + s.histograms.len()).sum(),
                    "query execution",
                )?;
                Value::Matrix(m)
            }
        };
        Ok(QueryOutput {
            value,
            warnings: ev.take_warnings(),
            infos: ev.take_infos(),
        })
    }

    /// Evaluates `expr` from `start` to `end` (ms, inclusive) every `step` ms.
    pub fn range(
        &self,
        q: &dyn Queryable,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryOutput> {
        self.range_with_cancel(q, expr, start, end, step, None)
    }

    /// Like [`Engine::range`], stoppable through `cancel`.
    pub fn range_with_cancel(
        &self,
        q: &dyn Queryable,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<CancelToken>,
    ) -> Result<QueryOutput> {
        let _span = tracing::info_span!("query", kind = "range", expr, start, end, step).entered();
        let m = metrics::engine();
        let _in_flight = m.in_flight.track();
        let started = Instant::now();
        let res = self.range_inner(q, expr, start, end, step, cancel);
        m.finished(metrics::Kind::Range, started.elapsed(), res.is_ok());
        if let Err(e) = &res {
            crate::rejections::record(e);
        }
        res
    }

    fn range_inner(
        &self,
        q: &dyn Queryable,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<CancelToken>,
    ) -> Result<QueryOutput> {
        if step <= 0 {
            return Err(QueryError::Parse(
                "zero or negative query resolution step widths are not accepted. Try a positive integer"
                    .into(),
            ));
        }
        if end < start {
            return Err(QueryError::Parse(
                "end timestamp must not be before start time".into(),
            ));
        }
        let ast = timed_parse(expr)?;
        match ast.value_type() {
            parser::value::ValueType::Vector | parser::value::ValueType::Scalar => {}
            other => {
                return Err(QueryError::Parse(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    type_name(other)
                )))
            }
        }
        let ctl = Control::new(self.opts.timeout, cancel, self.opts.max_samples);
        let _permit = self.acquire(&ctl)?;
        let steps = Steps { start, end, step };
        ctl.check_steps(&steps)?;
        let mut ev = Evaluator::new(q, steps, self.opts.lookback_delta_ms, &ctl);
        let val = timed_eval(&mut ev, &ast)?;
        let mut series: Vec<Series> = match val {
            Val::Scalar(v) => vec![Series {
                labels: storage::Labels::empty(),
                samples: v
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| storage::Sample::new(steps.ts(i), v))
                    .collect(),
                histograms: Vec::new(),
            }],
            Val::Vector(vs) => vs,
            Val::Str(_) | Val::Range(_) => {
                return Err(QueryError::exec(
                    "range query must return a scalar or an instant vector",
                ))
            }
        };
        let sorting = Instant::now();
        series.retain(|s| !s.samples.is_empty() || !s.histograms.is_empty());
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        metrics::engine().slice(metrics::Slice::ResultSort, sorting.elapsed());
        Ok(QueryOutput {
            value: Value::Matrix(series),
            warnings: ev.take_warnings(),
            infos: ev.take_infos(),
        })
    }
}

/// Prometheus' name of a value type in error messages.
pub(crate) fn type_name(t: parser::value::ValueType) -> &'static str {
    use parser::value::ValueType;
    match t {
        ValueType::Vector => "instant vector",
        ValueType::Scalar => "scalar",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use storage::{Appendable, Db, DbOptions, Labels, SeriesRef};

    fn db_with_data(dir: &std::path::Path) -> Db {
        let db = Db::open(DbOptions::new(dir)).unwrap();
        let mut app = db.appender();
        for i in 0..10 {
            let l = Labels::from_pairs([("__name__", "m"), ("i", &i.to_string())]);
            let mut r = SeriesRef::NONE;
            for t in 0..20 {
                r = app.append(r, &l, t * 15_000, t as f64).unwrap();
            }
        }
        app.commit().unwrap();
        db
    }

    #[test]
    fn result_types() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_data(dir.path());
        let e = Engine::new(EngineOptions::default());
        assert_eq!(
            e.instant(&db, "1 + 1", 5000).unwrap().value,
            Value::Scalar { t: 5000, v: 2.0 }
        );
        assert_eq!(
            e.instant(&db, "\"hi\"", 0).unwrap().value,
            Value::String { t: 0, s: "hi".into() }
        );
        match e.instant(&db, "m[1m]", 60_000).unwrap().value {
            Value::Matrix(m) => {
                assert_eq!(m.len(), 10);
                // (0, 60 s] holds the samples at 15, 30, 45 and 60 s.
                assert_eq!(m[0].samples.len(), 4);
            }
            other => panic!("{other:?}"),
        }
        match e.instant(&db, "m", 60_000).unwrap().value {
            Value::Vector(v) => assert!(v.iter().all(|s| s.t == 60_000 && s.v == 4.0)),
            other => panic!("{other:?}"),
        }
        match e.range(&db, "sum(m)", 0, 60_000, 30_000).unwrap().value {
            Value::Matrix(m) => {
                assert_eq!(m.len(), 1);
                let vals: Vec<f64> = m[0].samples.iter().map(|p| p.v).collect();
                assert_eq!(vals, vec![0.0, 20.0, 40.0]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_data(dir.path());
        let e = Engine::new(EngineOptions::default());
        assert!(matches!(e.instant(&db, "sum(", 0), Err(QueryError::Parse(_))));
        assert!(matches!(e.instant(&db, "nope(m)", 0), Err(QueryError::Parse(_))));
        match e.range(&db, "m[5m]", 0, 10, 1) {
            Err(QueryError::Parse(msg)) => assert!(msg.contains("range vector"), "{msg}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(e.range(&db, "m", 0, 10, 0), Err(QueryError::Parse(_))));
        assert!(matches!(e.range(&db, "m", 10, 0, 1), Err(QueryError::Parse(_))));
    }

    #[test]
    fn timeout_and_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_data(dir.path());
        let e = Engine::new(EngineOptions {
            timeout: Duration::ZERO,
            ..EngineOptions::default()
        });
        assert!(matches!(e.instant(&db, "m", 0), Err(QueryError::Timeout(_))));
        let e = Engine::new(EngineOptions::default());
        let c = CancelToken::new();
        c.cancel();
        assert!(matches!(
            e.range_with_cancel(&db, "rate(m[1m])", 0, 300_000, 15_000, Some(c)),
            Err(QueryError::Canceled(_))
        ));
    }

    #[test]
    fn too_many_samples() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_data(dir.path());
        let e = Engine::new(EngineOptions {
            max_samples: 50,
            ..EngineOptions::default()
        });
        assert!(matches!(
            e.range(&db, "sum(m)", 0, 300_000, 15_000),
            Err(QueryError::TooManySamples(_))
        ));
        // A query that holds few samples still runs.
        assert!(e.instant(&db, "m{i=\"1\"}", 0).is_ok());
    }

    #[test]
    fn huge_step_counts_are_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_data(dir.path());
        let e = Engine::new(EngineOptions {
            max_samples: 1000,
            ..EngineOptions::default()
        });
        assert!(matches!(
            e.instant(&db, "max_over_time(vector(1)[1000d:1ms])", 0),
            Err(QueryError::TooManySamples(_))
        ));
        assert!(matches!(
            e.range(&db, "1", 0, 1_000_000_000, 1),
            Err(QueryError::TooManySamples(_))
        ));
    }

    #[test]
    fn excess_queries_wait_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_data(dir.path());
        let e = Engine::new(EngineOptions {
            max_concurrency: 1,
            ..EngineOptions::default()
        });
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| e.range(&db, "sum(rate(m[1m]))", 0, 300_000, 15_000)))
                .collect();
            for h in handles {
                assert!(h.join().unwrap().is_ok());
            }
        });
        assert_eq!(*e.gate.free.lock(), 1);
    }

    #[test]
    fn queued_query_times_out_in_the_queue() {
        let e = Engine::new(EngineOptions {
            max_concurrency: 1,
            ..EngineOptions::default()
        });
        let held = e.gate.acquire(Instant::now() + Duration::from_secs(5)).unwrap();
        let r = e.gate.acquire(Instant::now() + Duration::from_millis(20));
        assert!(matches!(r, Err(QueryError::Timeout(ref s)) if s == "query queue"));
        drop(held);
        assert!(e.gate.acquire(Instant::now() + Duration::from_millis(20)).is_ok());
    }

    #[test]
    fn every_parser_function_is_known() {
        // promql-parser 0.11.1's function table.
        const PARSER: &[&str] = &[
            "abs",
            "absent",
            "absent_over_time",
            "acos",
            "acosh",
            "asin",
            "asinh",
            "atan",
            "atanh",
            "avg_over_time",
            "ceil",
            "changes",
            "clamp",
            "clamp_max",
            "clamp_min",
            "cos",
            "cosh",
            "count_over_time",
            "days_in_month",
            "day_of_month",
            "day_of_week",
            "day_of_year",
            "deg",
            "delta",
            "deriv",
            "end",
            "exp",
            "first_over_time",
            "floor",
            "histogram_avg",
            "histogram_count",
            "histogram_fraction",
            "histogram_quantile",
            "histogram_quantiles",
            "histogram_stddev",
            "histogram_stdvar",
            "histogram_sum",
            "info",
            "double_exponential_smoothing",
            "hour",
            "idelta",
            "increase",
            "integral",
            "irate",
            "label_replace",
            "label_join",
            "max_of",
            "last_over_time",
            "min_of",
            "ln",
            "mad_over_time",
            "max_over_time",
            "min_over_time",
            "ts_of_first_over_time",
            "ts_of_last_over_time",
            "ts_of_max_over_time",
            "ts_of_min_over_time",
            "minute",
            "month",
            "pi",
            "range",
            "predict_linear",
            "present_over_time",
            "quantile_over_time",
            "rad",
            "rate",
            "resets",
            "round",
            "scalar",
            "sgn",
            "start",
            "start_timestamp",
            "step",
            "sin",
            "sinh",
            "sort",
            "sort_desc",
            "sort_by_label",
            "sort_by_label_desc",
            "sqrt",
            "stddev_over_time",
            "stdvar_over_time",
            "sum_over_time",
            "tan",
            "tanh",
            "time",
            "timestamp",
            "vector",
            "year",
        ];
        // Parsed but not evaluated (experimental, not in Prometheus' documentation).
        const UNSUPPORTED: &[&str] = &[
            "info",
            "histogram_quantiles",
            "integral",
            "max_of",
            "min_of",
            "start",
            "end",
            "range",
            "step",
            "start_timestamp",
        ];
        let known = crate::supported_functions();
        for name in PARSER {
            assert!(
                known.contains(name) || UNSUPPORTED.contains(name),
                "{name} is neither evaluated nor listed as unsupported"
            );
        }
        assert!(known.contains(&"holt_winters"));
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_data(dir.path());
        let e = Engine::new(EngineOptions::default());
        for name in [
            "histogram_avg",
            "histogram_count",
            "histogram_sum",
            "histogram_stddev",
            "histogram_stdvar",
        ] {
            assert!(e.instant(&db, &format!("{name}(m)"), 0).is_ok(), "{name}");
        }
        assert!(matches!(
            e.instant(&db, "info(m)", 0),
            Err(QueryError::Execution(_))
        ));
    }
}
