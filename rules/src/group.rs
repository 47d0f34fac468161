//! A rule group: its rules, their state, and one evaluation (query, append, staleness,
//! notifications, restore of `for` state).

use crate::alert::{self, labels_map, Alert, AlertState, AlertingSpec, TemplateContext};
use crate::config::{GroupConfig, RuleConfig};
use crate::context::{EvalCtx, RuleManagerOptions};
use crate::notifier::NotifierAlert;
use crate::status::{AlertStatus, GroupStatus, RuleHealth, RuleStatus, RuleType};
use crate::value::RuleValue;
use parking_lot::Mutex;
use query::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use storage::{is_stale_nan, Labels, Matcher, SelectHints, SeriesRef, METRIC_NAME, STALE_NAN};

/// What kind of rule, with its kind-specific state.
#[derive(Debug)]
pub(crate) enum Kind {
    Recording,
    Alerting {
        spec: AlertingSpec,
        active: BTreeMap<Labels, Alert>,
        /// Whether `for` state was restored (or needs no restoring); until then no
        /// `ALERTS` samples are written, as in Prometheus.
        restored: bool,
    },
}

/// One rule and the state of its evaluations.
#[derive(Debug)]
pub(crate) struct Rule {
    pub name: String,
    pub expr: String,
    pub labels: BTreeMap<String, String>,
    pub kind: Kind,
    pub health: RuleHealth,
    pub last_error: Option<String>,
    pub last_eval: Option<i64>,
    pub eval_duration: Duration,
    /// Series written by the last successful evaluation (for staleness markers).
    pub series_returned: HashSet<Labels>,
}

impl Rule {
    fn from_config(r: &RuleConfig, group_labels: &BTreeMap<String, String>, restored: bool) -> Rule {
        let mut labels = group_labels.clone();
        labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        let (name, kind) = match (&r.record, &r.alert) {
            (Some(rec), _) => (rec.clone(), Kind::Recording),
            (None, alert) => {
                let name = alert.clone().unwrap_or_default();
                let spec = AlertingSpec {
                    name: name.clone(),
                    hold_ms: r.for_.map_or(0, |d| d.as_millis() as i64),
                    keep_firing_for_ms: r.keep_firing_for.map_or(0, |d| d.as_millis() as i64),
                    labels: labels.clone(),
                    annotations: r.annotations.clone(),
                };
                (
                    name,
                    Kind::Alerting {
                        spec,
                        active: BTreeMap::new(),
                        restored,
                    },
                )
            }
        };
        Rule {
            name,
            expr: r.expr.clone(),
            labels,
            kind,
            health: RuleHealth::Unknown,
            last_error: None,
            last_eval: None,
            eval_duration: Duration::ZERO,
            series_returned: HashSet::new(),
        }
    }

    /// Identity across reloads: kind, name and labels (as Prometheus matches rules).
    fn key(&self) -> (bool, String, BTreeMap<String, String>) {
        (
            matches!(self.kind, Kind::Alerting { .. }),
            self.name.clone(),
            self.labels.clone(),
        )
    }

    fn status(&self) -> RuleStatus {
        let (rule_type, annotations, dur, keep, state, alerts) = match &self.kind {
            Kind::Recording => (
                RuleType::Recording,
                BTreeMap::new(),
                0.0,
                0.0,
                AlertState::Inactive,
                Vec::new(),
            ),
            Kind::Alerting { spec, active, .. } => {
                let alerts: Vec<AlertStatus> = active
                    .values()
                    .filter(|a| a.state != AlertState::Inactive)
                    .map(alert_status)
                    .collect();
                let state = alerts
                    .iter()
                    .map(|a| a.state)
                    .max()
                    .unwrap_or(AlertState::Inactive);
                (
                    RuleType::Alerting,
                    spec.annotations.clone(),
                    spec.hold_ms as f64 / 1000.0,
                    spec.keep_firing_for_ms as f64 / 1000.0,
                    state,
                    alerts,
                )
            }
        };
        RuleStatus {
            rule_type,
            name: self.name.clone(),
            query: self.expr.clone(),
            labels: self.labels.clone(),
            annotations,
            duration_secs: dur,
            keep_firing_for_secs: keep,
            health: self.health,
            last_error: self.last_error.clone(),
            evaluation_time_secs: self.eval_duration.as_secs_f64(),
            last_evaluation_ms: self.last_eval,
            state,
            alerts,
        }
    }
}

pub(crate) fn alert_status(a: &Alert) -> AlertStatus {
    AlertStatus {
        labels: labels_map(&a.labels),
        annotations: a.annotations.clone(),
        state: a.state,
        active_at_ms: a.active_at,
        keep_firing_since_ms: a.keep_firing_since,
        value: a.value,
    }
}

#[derive(Debug)]
pub(crate) struct GroupState {
    pub rules: Vec<Rule>,
    pub last_eval: Option<i64>,
    pub eval_duration: Duration,
    pub should_restore: bool,
    /// Counters for self-metrics.
    pub counters: GroupCounters,
}

/// Self-monitoring counters of a group (Prometheus' `prometheus_rule_*`).
#[derive(Clone, Debug, Default)]
pub(crate) struct GroupCounters {
    pub evaluations: u64,
    pub failures: u64,
    pub iterations: u64,
    pub missed: u64,
    pub last_samples: u64,
}

/// A loaded rule group.
#[derive(Debug)]
pub(crate) struct Group {
    pub name: String,
    pub file: PathBuf,
    pub interval_ms: i64,
    pub limit: u64,
    pub query_offset_ms: i64,
    pub state: Mutex<GroupState>,
    /// Set when a reload replaced the group: an evaluation still in flight then does nothing.
    pub retired: std::sync::atomic::AtomicBool,
}

/// FNV-1a, for a stable per-group evaluation offset.
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `&g0.expr=...` encoding (`application/x-www-form-urlencoded`).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Group {
    pub(crate) fn new(file: &Path, g: &GroupConfig, defaults: &RuleManagerOptions, restore: bool) -> Group {
        let default_interval = defaults.default_interval;
        let interval = g
            .interval
            .unwrap_or(default_interval)
            .max(Duration::from_millis(1));
        Group {
            name: g.name.clone(),
            file: file.to_path_buf(),
            interval_ms: interval.as_millis() as i64,
            limit: g.limit,
            query_offset_ms: g
                .query_offset
                .unwrap_or(defaults.default_query_offset)
                .as_millis()
                .try_into()
                .unwrap_or(i64::MAX),
            state: Mutex::new(GroupState {
                rules: g
                    .rules
                    .iter()
                    .map(|r| Rule::from_config(r, &g.labels, !restore))
                    .collect(),
                last_eval: None,
                eval_duration: Duration::ZERO,
                should_restore: restore,
                counters: GroupCounters::default(),
            }),
            retired: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The group's identity across reloads.
    pub(crate) fn key(&self) -> (PathBuf, String) {
        (self.file.clone(), self.name.clone())
    }

    /// Prometheus' aligned evaluation timestamp at or before `now`: multiples of the interval
    /// shifted by a per-group offset (a hash of name and file), so groups spread out.
    pub(crate) fn eval_timestamp(&self, now_ms: i64) -> i64 {
        let offset =
            (fnv1a(&format!("{};{}", self.name, self.file.display())) % self.interval_ms as u64) as i64;
        let adj = now_ms - offset;
        adj - adj.rem_euclid(self.interval_ms) + offset
    }

    /// Takes over the state of matching rules of `old` (same kind, name and labels): active
    /// alerts, health, last series. Called on reload.
    pub(crate) fn copy_state_from(&self, old: &Group) {
        old.retire();
        let mut old_st = old.state.lock();
        let mut st = self.state.lock();
        let mut by_key: BTreeMap<_, Vec<usize>> = BTreeMap::new();
        for (i, r) in old_st.rules.iter().enumerate() {
            by_key.entry(r.key()).or_default().push(i);
        }
        for r in st.rules.iter_mut() {
            let Some(idx) = by_key
                .get_mut(&r.key())
                .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
            else {
                continue;
            };
            let o = &mut old_st.rules[idx];
            r.health = o.health;
            r.last_error = o.last_error.clone();
            r.last_eval = o.last_eval;
            r.eval_duration = o.eval_duration;
            r.series_returned = std::mem::take(&mut o.series_returned);
            if let (
                Kind::Alerting { active, restored, .. },
                Kind::Alerting {
                    active: oa,
                    restored: or,
                    ..
                },
            ) = (&mut r.kind, &mut o.kind)
            {
                *active = std::mem::take(oa);
                *restored = *or;
            }
        }
        st.last_eval = old_st.last_eval;
        st.eval_duration = old_st.eval_duration;
        st.counters = old_st.counters.clone();
        st.should_restore = st.should_restore && old_st.should_restore;
        // Series of old rules that have no successor are marked stale by the caller.
    }

    /// Stops evaluations of a replaced group (one in flight finishes first or does nothing).
    pub(crate) fn retire(&self) {
        self.retired.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Series the group wrote last and that no rule owns any more (after `copy_state_from`).
    pub(crate) fn take_all_series(&self) -> Vec<Labels> {
        self.retire();
        let mut st = self.state.lock();
        st.rules
            .iter_mut()
            .flat_map(|r| std::mem::take(&mut r.series_returned))
            .collect()
    }

    /// Evaluates every rule at evaluation timestamp `ts` (ms); the queries run at
    /// `ts - query_offset`. Results are committed rule by rule, so later rules see earlier ones.
    pub(crate) fn eval(&self, ctx: &EvalCtx, ts: i64) {
        let started = Instant::now();
        let mut st = self.state.lock();
        if self.retired.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let qts = ts - self.query_offset_ms;
        let tctx = TemplateContext {
            external_labels: ctx.opts.external_labels.clone(),
            external_url: ctx.opts.external_url.clone(),
        };
        let st = &mut *st;
        st.counters.iterations += 1;
        st.counters.last_samples = 0;
        for rule in st.rules.iter_mut() {
            let t0 = Instant::now();
            st.counters.evaluations += 1;
            match self.eval_rule(ctx, rule, ts, qts, &tctx) {
                Ok(samples) => {
                    rule.health = RuleHealth::Ok;
                    rule.last_error = None;
                    st.counters.last_samples += samples.len() as u64;
                    let mut now: HashSet<Labels> = HashSet::with_capacity(samples.len());
                    let mut app = ctx.appendable.appender();
                    for (l, v) in samples {
                        let appended = match &v {
                            RuleValue::Float(v) => app.append(SeriesRef::NONE, &l, qts, *v),
                            RuleValue::Histogram(h) => app.append_histogram(SeriesRef::NONE, &l, qts, h),
                        };
                        match appended {
                            Ok(_) => {
                                now.insert(l);
                            }
                            Err(e) => {
                                tracing::warn!(group = %self.name, rule = %rule.name, series = %l, "rule sample rejected: {e}");
                            }
                        }
                    }
                    for gone in rule.series_returned.difference(&now) {
                        if let Err(e) = app.append(SeriesRef::NONE, gone, qts, STALE_NAN) {
                            tracing::debug!(series = %gone, "staleness marker rejected: {e}");
                        }
                    }
                    match app.commit() {
                        Ok(()) => rule.series_returned = now,
                        Err(e) => {
                            st.counters.failures += 1;
                            rule.health = RuleHealth::Err;
                            rule.last_error = Some(format!("appending results: {e}"));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(group = %self.name, rule = %rule.name, "rule evaluation failed: {e}");
                    st.counters.failures += 1;
                    rule.health = RuleHealth::Err;
                    rule.last_error = Some(e);
                }
            }
            if let Kind::Alerting { active, .. } = &mut rule.kind {
                self.send_alerts(ctx, &rule.expr, active, ts);
            }
            rule.last_eval = Some(ts);
            rule.eval_duration = t0.elapsed();
        }
        if st.should_restore {
            st.should_restore = false;
            self.restore_for_state(ctx, st, ts);
        }
        st.last_eval = Some(ts);
        st.eval_duration = started.elapsed();
    }

    /// One rule's output samples (at `qts`), or the error that makes it unhealthy.
    fn eval_rule(
        &self,
        ctx: &EvalCtx,
        rule: &mut Rule,
        ts: i64,
        qts: i64,
        tctx: &TemplateContext,
    ) -> Result<Vec<(Labels, RuleValue)>, String> {
        let out = ctx
            .engine
            .instant(&*ctx.queryable, &rule.expr, qts)
            .map_err(|e| e.to_string())?;
        let vector: Vec<(Labels, RuleValue)> = match out.value {
            Value::Vector(v) => v
                .into_iter()
                .map(|s| {
                    let value = match s.h {
                        Some(h) => RuleValue::Histogram(h),
                        None => RuleValue::Float(s.v),
                    };
                    (s.labels, value)
                })
                .collect(),
            Value::Scalar { v, .. } => vec![(Labels::empty(), RuleValue::Float(v))],
            _ => return Err("rule result is not a vector or scalar".into()),
        };
        match &mut rule.kind {
            Kind::Recording => {
                let mut seen = HashSet::with_capacity(vector.len());
                let mut out = Vec::with_capacity(vector.len());
                for (l, v) in vector {
                    let mut b = l.to_builder();
                    b.set(METRIC_NAME, &rule.name);
                    for (n, val) in &rule.labels {
                        if val.is_empty() {
                            b.remove(n);
                        } else {
                            b.set(n, val);
                        }
                    }
                    let l = b.build();
                    if !seen.insert(l.clone()) {
                        return Err(
                            "vector contains metrics with the same labelset after applying rule labels"
                                .into(),
                        );
                    }
                    out.push((l, v));
                }
                if self.limit > 0 && out.len() as u64 > self.limit {
                    return Err(format!("exceeded limit {} with {} series", self.limit, out.len()));
                }
                Ok(out)
            }
            Kind::Alerting {
                spec,
                active,
                restored,
            } => {
                alert::advance(spec, active, &vector, ts, self.limit, tctx)?;
                Ok(if *restored {
                    alert::state_samples(active)
                        .into_iter()
                        .map(|(l, v)| (l, RuleValue::Float(v)))
                        .collect()
                } else {
                    Vec::new()
                })
            }
        }
    }

    /// Queues the alerts that need (re)sending, as Prometheus' `sendAlerts`.
    fn send_alerts(&self, ctx: &EvalCtx, expr: &str, active: &mut BTreeMap<Labels, Alert>, ts: i64) {
        let Some(notifier) = &ctx.opts.notifier else {
            return;
        };
        let resend = ctx.opts.resend_delay.as_millis() as i64;
        let delta = resend.max(self.interval_ms);
        let url = format!(
            "{}/graph?g0.expr={}&g0.tab=1",
            ctx.opts.external_url.trim_end_matches('/'),
            query_escape(expr)
        );
        let mut out = Vec::new();
        for a in active.values_mut() {
            if !a.needs_sending(ts, resend) {
                continue;
            }
            a.last_sent_at = Some(ts);
            a.valid_until = ts + 4 * delta;
            out.push(NotifierAlert {
                labels: labels_map(&a.labels),
                annotations: a.annotations.clone(),
                starts_at: a.fired_at.unwrap_or(a.active_at),
                ends_at: Some(a.resolved_at.unwrap_or(a.valid_until)),
                generator_url: url.clone(),
            });
        }
        notifier.send(out);
    }

    /// Restores `activeAt` of the active alerts from `ALERTS_FOR_STATE`, as Prometheus does
    /// after its first evaluation: the time spent pending before the outage counts, within
    /// the outage tolerance, and an alert gets at least the grace period before firing.
    fn restore_for_state(&self, ctx: &EvalCtx, st: &mut GroupState, ts: i64) {
        let tolerance = ctx.opts.outage_tolerance.as_millis() as i64;
        let grace = ctx.opts.for_grace_period.as_millis() as i64;
        let querier = match ctx.queryable.querier(ts - tolerance, ts) {
            Ok(q) => q,
            Err(e) => {
                tracing::error!(group = %self.name, "cannot restore alert state: {e}");
                for r in st.rules.iter_mut() {
                    if let Kind::Alerting { restored, .. } = &mut r.kind {
                        *restored = true;
                    }
                }
                return;
            }
        };
        let hints = SelectHints {
            mint: ts - tolerance,
            maxt: ts,
        };
        for r in st.rules.iter_mut() {
            let Kind::Alerting {
                spec,
                active,
                restored,
            } = &mut r.kind
            else {
                continue;
            };
            *restored = true;
            let hold = spec.hold_ms;
            if hold < grace {
                continue;
            }
            for a in active.values_mut() {
                let want = alert::for_state_labels(&a.labels);
                let matchers: Vec<Matcher> =
                    want.iter().map(|l| Matcher::equal(&*l.name, &*l.value)).collect();
                let series = match querier.select(&hints, &matchers) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(alert = %spec.name, "restoring alert state: {e}");
                        continue;
                    }
                };
                let Some(last) = series
                    .into_iter()
                    .find(|s| s.labels == want)
                    .and_then(|s| s.samples.last().copied())
                else {
                    continue;
                };
                if is_stale_nan(last.v) {
                    continue; // resolved before the outage
                }
                let down_at = last.t.div_euclid(1000) * 1000;
                let mut active_at = (last.v as i64).saturating_mul(1000);
                let remaining = hold - (down_at - active_at);
                if remaining <= 0 {
                    // It was firing; the next evaluation fires it again if still true.
                } else if remaining < grace {
                    active_at = ts + grace - hold;
                } else {
                    active_at += ts - down_at;
                }
                tracing::info!(alert = %spec.name, labels = %a.labels, active_at, "restored alert for-state");
                a.active_at = active_at;
            }
        }
    }

    pub(crate) fn status(&self) -> GroupStatus {
        let st = self.state.lock();
        GroupStatus {
            name: self.name.clone(),
            file: self.file.display().to_string(),
            interval_secs: self.interval_ms as f64 / 1000.0,
            limit: self.limit,
            rules: st.rules.iter().map(Rule::status).collect(),
            evaluation_time_secs: st.eval_duration.as_secs_f64(),
            last_evaluation_ms: st.last_eval,
        }
    }

    /// Appends this group's `prometheus_rule_*` samples to `fams`: per family, the group's
    /// `rule_group` label value (`<file>;<name>`) and the value.
    pub(crate) fn metrics(&self, fams: &mut BTreeMap<&'static str, Vec<(String, f64)>>) {
        let st = self.state.lock();
        let key = format!("{};{}", self.file.display(), self.name);
        let c = &st.counters;
        let mut put = |name: &'static str, v: f64| {
            fams.entry(name).or_default().push((key.clone(), v));
        };
        put("prometheus_rule_evaluations_total", c.evaluations as f64);
        put("prometheus_rule_evaluation_failures_total", c.failures as f64);
        put("prometheus_rule_group_iterations_total", c.iterations as f64);
        put("prometheus_rule_group_iterations_missed_total", c.missed as f64);
        put(
            "prometheus_rule_group_interval_seconds",
            self.interval_ms as f64 / 1000.0,
        );
        put(
            "prometheus_rule_group_last_duration_seconds",
            st.eval_duration.as_secs_f64(),
        );
        put(
            "prometheus_rule_group_last_evaluation_timestamp_seconds",
            st.last_eval.map_or(0.0, |t| t as f64 / 1000.0),
        );
        put(
            "prometheus_rule_group_last_evaluation_samples",
            c.last_samples as f64,
        );
        put("prometheus_rule_group_rules", st.rules.len() as f64);
    }

    /// Counts skipped iterations (the evaluation ran longer than the interval).
    pub(crate) fn add_missed(&self, n: u64) {
        self.state.lock().counters.missed += n;
    }

    pub(crate) fn active_alerts(&self) -> Vec<AlertStatus> {
        let st = self.state.lock();
        st.rules
            .iter()
            .filter_map(|r| match &r.kind {
                Kind::Alerting { active, .. } => Some(active.values()),
                Kind::Recording => None,
            })
            .flatten()
            .filter(|a| a.state != AlertState::Inactive)
            .map(alert_status)
            .collect()
    }
}
