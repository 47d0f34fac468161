//! Sends alerts to Alertmanager (`POST /api/v2/alerts`): a bounded queue drained in batches
//! by a background task, with retries, and counters matching Prometheus'
//! `prometheus_notifications_*` self-metrics.

use crate::alerting_config::{AlertingConfig, Endpoint};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use storage::metrics::Exposition;
use storage::time::format_rfc3339_millis as rfc3339_ms;

/// An alert as sent to Alertmanager.
#[derive(Clone, Debug, PartialEq)]
pub struct NotifierAlert {
    /// Alert labels (external labels are added by the notifier).
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// When it started firing (ms).
    pub starts_at: i64,
    /// When it resolved, or until when it is valid (ms).
    pub ends_at: Option<i64>,
    /// Link back to the expression.
    pub generator_url: String,
}

/// The JSON shape of Alertmanager's v2 `postableAlert`.
#[derive(Serialize)]
struct Postable<'a> {
    labels: &'a BTreeMap<String, String>,
    annotations: &'a BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt", skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
}

/// Notifier settings.
#[derive(Clone, Debug)]
pub struct NotifierOptions {
    /// Queue capacity; the oldest alerts are dropped beyond it (Prometheus' default 10000).
    pub queue_capacity: usize,
    /// Alerts per request (Prometheus' default 256).
    pub max_batch: usize,
    /// Attempts per batch and Alertmanager (first try included).
    pub max_attempts: u32,
    /// Pause before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
    /// Labels added to every alert that does not have them.
    pub external_labels: BTreeMap<String, String>,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            queue_capacity: 10_000,
            max_batch: 256,
            max_attempts: 3,
            retry_backoff: Duration::from_millis(500),
            external_labels: BTreeMap::new(),
        }
    }
}

/// Counters for self-monitoring, named after Prometheus' metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NotifierStats {
    /// `prometheus_notifications_sent_total` per Alertmanager URL.
    pub sent_total: BTreeMap<String, u64>,
    /// `prometheus_notifications_errors_total` per Alertmanager URL.
    pub errors_total: BTreeMap<String, u64>,
    /// `prometheus_notifications_dropped_total`.
    pub dropped_total: u64,
    /// `prometheus_notifications_queue_length`.
    pub queue_length: usize,
    /// `prometheus_notifications_queue_capacity`.
    pub queue_capacity: usize,
    /// `prometheus_notifications_alertmanagers_discovered`.
    pub alertmanagers_discovered: usize,
}

#[derive(Default)]
struct Counters {
    sent: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
}

/// An Alertmanager target with the client built from its entry's settings.
#[derive(Clone, Debug)]
struct Target {
    endpoint: Endpoint,
    client: reqwest::Client,
}

/// Builds the client of every endpoint (TLS, proxy and redirects from its entry).
fn targets(cfg: &AlertingConfig) -> Result<Vec<Target>, String> {
    cfg.endpoints()
        .into_iter()
        .map(|endpoint| {
            let client = httpclient::build_client(&endpoint.http, false)
                .map_err(|e| format!("Alertmanager {}: {e}", endpoint.url))?;
            Ok(Target { endpoint, client })
        })
        .collect()
}

/// The Alertmanager client. Create with [`Notifier::new`], start with [`Notifier::run`].
pub struct Notifier {
    opts: NotifierOptions,
    endpoints: RwLock<Vec<Target>>,
    queue: Mutex<VecDeque<NotifierAlert>>,
    wake: tokio::sync::Notify,
    counters: Mutex<Counters>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("endpoints", &*self.endpoints.read())
            .field("queue_length", &self.queue.lock().len())
            .finish()
    }
}

impl Notifier {
    /// A notifier for the Alertmanagers of `cfg` (validated here).
    pub fn new(cfg: &AlertingConfig, opts: NotifierOptions) -> Result<Arc<Notifier>, String> {
        cfg.validate()?;
        Ok(Arc::new(Notifier {
            opts,
            endpoints: RwLock::new(targets(cfg)?),
            queue: Mutex::new(VecDeque::new()),
            wake: tokio::sync::Notify::new(),
            counters: Mutex::new(Counters::default()),
            dropped: AtomicU64::new(0),
        }))
    }

    /// Replaces the Alertmanager list (on configuration reload).
    pub fn apply_config(&self, cfg: &AlertingConfig) -> Result<(), String> {
        cfg.validate()?;
        *self.endpoints.write() = targets(cfg)?;
        Ok(())
    }

    /// Queues alerts for sending, adding the external labels; drops the oldest past capacity.
    pub fn send(&self, alerts: Vec<NotifierAlert>) {
        if alerts.is_empty() {
            return;
        }
        let mut q = self.queue.lock();
        for mut a in alerts {
            for (k, v) in &self.opts.external_labels {
                a.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
            q.push_back(a);
        }
        let cap = self.opts.queue_capacity.max(1);
        if q.len() > cap {
            let n = q.len() - cap;
            q.drain(..n);
            self.dropped.fetch_add(n as u64, Ordering::Relaxed);
            tracing::warn!(
                dropped = n,
                "alert notification queue full, dropping the oldest alerts"
            );
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Counters and gauges for self-monitoring.
    pub fn stats(&self) -> NotifierStats {
        let c = self.counters.lock();
        NotifierStats {
            sent_total: c.sent.clone(),
            errors_total: c.errors.clone(),
            dropped_total: self.dropped.load(Ordering::Relaxed),
            queue_length: self.queue.lock().len(),
            queue_capacity: self.opts.queue_capacity,
            alertmanagers_discovered: self.endpoints.read().len(),
        }
    }

    /// Renders the `prometheus_notifications_*` families into `out`.
    pub fn render_metrics(&self, out: &mut Exposition) {
        let st = self.stats();
        for (name, per) in [
            ("prometheus_notifications_sent_total", &st.sent_total),
            ("prometheus_notifications_errors_total", &st.errors_total),
        ] {
            out.family(name, "counter", "");
            for url in self.endpoints.read().iter().map(|t| &t.endpoint.url) {
                let v = per.get(url).copied().unwrap_or(0);
                out.sample(name, &[("alertmanager", url.as_str())], v as f64);
            }
        }
        for (name, kind, v) in [
            (
                "prometheus_notifications_dropped_total",
                "counter",
                st.dropped_total as f64,
            ),
            (
                "prometheus_notifications_queue_length",
                "gauge",
                st.queue_length as f64,
            ),
            (
                "prometheus_notifications_queue_capacity",
                "gauge",
                st.queue_capacity as f64,
            ),
            (
                "prometheus_notifications_alertmanagers_discovered",
                "gauge",
                st.alertmanagers_discovered as f64,
            ),
        ] {
            out.single(name, kind, "", v);
        }
    }

    /// Starts the background task that drains the queue. Call once, inside a Tokio runtime.
    pub fn run(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let batch: Vec<NotifierAlert> = {
                    let mut q = me.queue.lock();
                    let n = q.len().min(me.opts.max_batch.max(1));
                    q.drain(..n).collect()
                };
                if batch.is_empty() {
                    me.wake.notified().await;
                    continue;
                }
                me.send_batch(&batch).await;
            }
        })
    }

    /// Posts one batch to every Alertmanager (concurrently), with retries.
    async fn send_batch(&self, batch: &[NotifierAlert]) {
        let body: Vec<Postable<'_>> = batch
            .iter()
            .map(|a| Postable {
                labels: &a.labels,
                annotations: &a.annotations,
                starts_at: rfc3339_ms(a.starts_at),
                ends_at: a.ends_at.map(rfc3339_ms),
                generator_url: &a.generator_url,
            })
            .collect();
        let body = match serde_json::to_vec(&body) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("encoding alerts: {e}");
                return;
            }
        };
        let endpoints = self.endpoints.read().clone();
        if endpoints.is_empty() {
            return;
        }
        let sends = endpoints.iter().map(|t| self.post_with_retries(t, &body));
        let results = futures_join_all(sends).await;
        let mut c = self.counters.lock();
        for (url, ok) in endpoints.iter().map(|t| &t.endpoint.url).zip(results) {
            if ok {
                *c.sent.entry(url.clone()).or_default() += batch.len() as u64;
            } else {
                *c.errors.entry(url.clone()).or_default() += batch.len() as u64;
            }
        }
    }

    async fn post_with_retries(&self, target: &Target, body: &[u8]) -> bool {
        let url = target.endpoint.url.as_str();
        let mut backoff = self.opts.retry_backoff;
        for attempt in 1..=self.opts.max_attempts.max(1) {
            let req = target
                .client
                .post(url)
                .timeout(target.endpoint.timeout)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
            // Credentials (files re-read, OAuth 2.0 tokens refreshed) for every attempt.
            let res = match httpclient::with_auth(req, &target.endpoint.http).await {
                Ok(req) => req.send().await,
                Err(e) => {
                    tracing::warn!(url, attempt, "cannot authenticate to the Alertmanager: {e}");
                    if attempt < self.opts.max_attempts {
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                    continue;
                }
            };
            match res {
                Ok(r) if r.status().is_success() => return true,
                Ok(r) => tracing::warn!(url, attempt, status = %r.status(), "Alertmanager rejected alerts"),
                Err(e) => tracing::warn!(url, attempt, "error sending alerts: {e}"),
            }
            if attempt < self.opts.max_attempts {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        false
    }
}

/// Awaits all futures concurrently, keeping their order.
async fn futures_join_all<F: std::future::Future<Output = bool>>(futs: impl Iterator<Item = F>) -> Vec<bool> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out = vec![false; set.len()];
    let mut done = vec![false; set.len()];
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            match f.as_mut().poll(cx) {
                std::task::Poll::Ready(v) => {
                    out[i] = v;
                    done[i] = true;
                }
                std::task::Poll::Pending => pending = true,
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
