//! The walk over the AST: [`Evaluator::eval`] hands each node to the selector, aggregation,
//! binary-operator or function code that evaluates it over all steps at once.
//!
//! Kept apart from `eval.rs` (the evaluator's state and the values between nodes), which the
//! selector and function code import, so that nothing imports back from the code it calls.

use super::eval::{merge_same_labels, BatchSink, Evaluator, Val};
use super::selector;
use crate::error::{QueryError, Result};
use crate::functions;
use promql_parser::parser::Expr;
use storage::Series;

impl Evaluator<'_> {
    /// Evaluates `e` over all steps.
    pub(crate) fn eval(&mut self, e: &Expr) -> Result<Val> {
        self.ctl.check("expression evaluation")?;
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; self.steps.len()])),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) => match self.eval(&u.expr)? {
                Val::Scalar(mut v) => {
                    v.iter_mut().for_each(|x| *x = -*x);
                    Ok(Val::Scalar(v))
                }
                Val::Vector(mut vs) => {
                    for s in &mut vs {
                        s.labels = s.labels.without_metric_name();
                        s.samples.iter_mut().for_each(|p| p.v = -p.v);
                        s.histograms.iter_mut().for_each(|p| p.h.mul(-1.0));
                    }
                    Ok(Val::Vector(merge_same_labels(vs)?))
                }
                other => Err(QueryError::exec(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => selector::eval_vector_selector(self, vs, false).map(Val::Vector),
            Expr::MatrixSelector(ms) => selector::eval_matrix_selector(self, ms).map(Val::Range),
            Expr::Subquery(sq) => selector::eval_subquery(self, sq).map(Val::Range),
            Expr::Aggregate(a) => functions::aggregate::eval(self, a),
            Expr::Binary(b) => functions::binary::eval(self, b),
            Expr::Call(c) => functions::call(self, c),
            Expr::Extension(x) => Err(QueryError::exec(format!(
                "extension expression {} is not supported",
                x.expr.name()
            ))),
        }
    }

    /// Evaluates `e`, which must be a scalar, to one value per step.
    pub(crate) fn eval_scalar(&mut self, e: &Expr) -> Result<Vec<f64>> {
        match self.eval(e)? {
            Val::Scalar(v) => Ok(v),
            other => Err(QueryError::exec(format!(
                "expected type scalar in function argument, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates `e`, which must be an instant vector.
    pub(crate) fn eval_vector(&mut self, e: &Expr) -> Result<Vec<Series>> {
        match self.eval(e)? {
            Val::Vector(v) => Ok(v),
            other => Err(QueryError::exec(format!(
                "expected type instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates instant vector `e` and hands its series to `sink` in batches, in the order
    /// [`Evaluator::eval_vector`] would return them. Selectors, and range functions over
    /// selectors, are read from storage and evaluated batch by batch, so that neither their
    /// raw samples nor (when the sink folds each batch away) their per-series step values are
    /// all in memory at once; other expressions come as one batch. The samples of each
    /// batch are counted against the query's limit; a sink that drops them releases them.
    pub(crate) fn eval_vector_batches(&mut self, e: &Expr, sink: &mut BatchSink<'_>) -> Result<()> {
        self.ctl.check("expression evaluation")?;
        match e {
            Expr::Paren(p) => self.eval_vector_batches(&p.expr, sink),
            Expr::VectorSelector(vs) => selector::vector_selector_batches(self, vs, sink),
            Expr::Call(c) if functions::range::batchable(c) => functions::range::eval_batches(self, c, sink),
            _ => sink(self.eval_vector(e)?),
        }
    }
}
