//! The engine: options and limits, the concurrency gate, and the entry points.

pub(crate) mod eval;
pub(crate) mod selector;
pub mod value;

use crate::error::{QueryError, Result};
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
            deadline: Instant::now() + timeout,
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
    fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock();
        while *free == 0 {
            self.cv.wait(&mut free);
        }
        *free -= 1;
        Permit(self)
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
    parser::parse(expr).map_err(|e| QueryError::Parse(format!("1:1: parse error: {e}")))
}

impl Engine {
    /// A new engine.
    pub fn new(opts: EngineOptions) -> Self {
        register_aliases();
        let n = opts.max_concurrency.max(1);
        Engine {
            opts,
            gate: Gate {
                free: Mutex::new(n),
                cv: Condvar::new(),
            },
        }
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
        let ast = parse(expr)?;
        let _permit = self.gate.acquire();
        let ctl = Control::new(self.opts.timeout, cancel, self.opts.max_samples);
        let steps = Steps {
            start: t,
            end: t,
            step: 1,
        };
        let mut ev = Evaluator::new(q, steps, self.opts.lookback_delta_ms, &ctl);
        let val = ev.eval(&ast)?;
        let value = match val {
            Val::Scalar(v) => Value::Scalar { t, v: v[0] },
            Val::Str(s) => Value::String { t, s },
            Val::Vector(vs) => Value::Vector(
                vs.into_iter()
                    .filter_map(|s| {
                        s.samples.first().map(|p| InstantSample {
                            labels: s.labels,
                            t,
                            v: p.v,
                        })
                    })
                    .collect(),
            ),
            Val::Range(r) => Value::Matrix(r.windows_at(t)),
        };
        Ok(QueryOutput {
            value,
            warnings: ev.take_warnings(),
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
        let ast = parse(expr)?;
        match ast.value_type() {
            parser::value::ValueType::Vector | parser::value::ValueType::Scalar => {}
            other => {
                return Err(QueryError::Parse(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    type_name(other)
                )))
            }
        }
        let _permit = self.gate.acquire();
        let ctl = Control::new(self.opts.timeout, cancel, self.opts.max_samples);
        let steps = Steps { start, end, step };
        let mut ev = Evaluator::new(q, steps, self.opts.lookback_delta_ms, &ctl);
        let val = ev.eval(&ast)?;
        let mut series: Vec<Series> = match val {
            Val::Scalar(v) => vec![Series {
                labels: storage::Labels::empty(),
                samples: v
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| storage::Sample::new(steps.ts(i), v))
                    .collect(),
            }],
            Val::Vector(vs) => vs,
            Val::Str(_) | Val::Range(_) => {
                return Err(QueryError::exec(
                    "range query must return a scalar or an instant vector",
                ))
            }
        };
        series.retain(|s| !s.samples.is_empty());
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(QueryOutput {
            value: Value::Matrix(series),
            warnings: ev.take_warnings(),
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
