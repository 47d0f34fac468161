//! One target's scrape loop: wait for the target's offset in the interval, fetch, parse,
//! relabel, append, mark vanished series stale, report `up` and `scrape_*`, repeat.
//!
//! A scrape is all or nothing: if fetching, parsing, a limit or storage fails, the data
//! appender is rolled back and the scrape is treated as empty (every series of the last
//! good scrape gets a staleness marker), then `up 0` and the other report series are written.
//!
//! The loop keeps a cache from the raw series text of the body (`name{labels}` as written)
//! to the final label set and series reference, so label sets are built, relabeled and
//! checked only for series not seen before; entries unseen for [`CACHE_KEEP_SCRAPES`]
//! scrapes are forgotten. Label strings are interned per target. The cache also carries
//! staleness: each entry remembers the last committed scrape it was present in, so a series
//! present in the last good scrape and absent from this one gets a marker, without building
//! a label set per scrape. Series with explicit timestamps are not tracked (unless
//! `track_timestamps_staleness`), as in Prometheus.

use super::config::{ScrapeConfig, ScrapeProtocol};
use super::meta_lines::{MetaDiff, MetaLines};
use super::series_cache::SeriesCache;
use super::target::Target;
use super::target::TargetHealth;
use crate::client::{error_chain, with_auth, HttpClientConfig};
use crate::exposition::protobuf::{self, ProtobufOptions, Transcoded};
use crate::exposition::{Entry, Format, Parser, SampleEntry};
use crate::relabel::{self, RelabelConfig};
use parking_lot::Mutex;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use storage::now_ms;
use storage::{
    Appendable, Appender, Exemplar, Label, Labels, LabelsBuilder, SeriesRef, METRIC_NAME, STALE_NAN,
};
use tokio::sync::{oneshot, Semaphore};

/// Hash sets on the scrape path use foldhash: fast, and the keys come from targets
/// the user configured, not from arbitrary clients.
pub(crate) type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// Cache entries not seen for this many scrapes are dropped.
pub(super) const CACHE_KEEP_SCRAPES: u64 = 10;

/// The report series, in the order they are appended.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Timestamps within this distance of the expected aligned time are aligned (better
/// compression), as Prometheus does.
const TIMESTAMP_TOLERANCE_MS: i64 = 2;

/// The per-job settings a loop needs, derived once from the resolved [`ScrapeConfig`].
#[derive(Debug)]
pub(crate) struct LoopConfig {
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub body_size_limit: u64,
    pub metric_relabel: Vec<RelabelConfig>,
    pub accept: String,
    pub fallback: Option<Format>,
    pub http: HttpClientConfig,
    /// What to keep of histograms in protobuf bodies.
    pub protobuf: ProtobufOptions,
    /// `convert_classic_histograms_to_nhcb`.
    pub convert_nhcb: bool,
    /// `native_histogram_bucket_limit` (0 = none).
    pub bucket_limit: u64,
    /// `native_histogram_min_bucket_factor` (at most 1 = none).
    pub min_bucket_factor: f64,
}

impl LoopConfig {
    pub(super) fn new(cfg: &ScrapeConfig) -> Self {
        let protocols = cfg
            .scrape_protocols
            .clone()
            .unwrap_or_else(ScrapeProtocol::defaults);
        let fallback = cfg.fallback_scrape_protocol.and_then(|p| match p {
            ScrapeProtocol::OpenMetricsText0_0_1 | ScrapeProtocol::OpenMetricsText1_0_0 => {
                Some(Format::OpenMetrics)
            }
            ScrapeProtocol::PrometheusText0_0_4 | ScrapeProtocol::PrometheusText1_0_0 => {
                Some(Format::PrometheusText)
            }
            ScrapeProtocol::PrometheusProto => None,
        });
        LoopConfig {
            honor_labels: cfg.honor_labels,
            honor_timestamps: cfg.honor_timestamps,
            track_timestamps_staleness: cfg.track_timestamps_staleness,
            sample_limit: cfg.sample_limit,
            label_limit: cfg.label_limit,
            label_name_length_limit: cfg.label_name_length_limit,
            label_value_length_limit: cfg.label_value_length_limit,
            body_size_limit: cfg.body_size_limit.0,
            metric_relabel: cfg.metric_relabel_configs.clone(),
            accept: accept_header(&protocols),
            fallback,
            http: cfg.http(),
            protobuf: ProtobufOptions {
                native_histograms: cfg.scrape_native_histograms.unwrap_or(false),
                classic_histograms: cfg.always_scrape_classic_histograms.unwrap_or(false),
            },
            convert_nhcb: cfg.convert_classic_histograms_to_nhcb.unwrap_or(false),
            bucket_limit: cfg.native_histogram_bucket_limit.unwrap_or(0),
            min_bucket_factor: cfg.native_histogram_min_bucket_factor.unwrap_or(0.0),
        }
    }
}

/// The `Accept` header for `protocols` in order of preference, with decreasing q-values
/// and a final `*/*`, as Prometheus builds it. Protocols Sextant cannot parse are left out.
pub fn accept_header(protocols: &[ScrapeProtocol]) -> String {
    let mut parts = Vec::new();
    let mut weight = 6;
    for p in protocols {
        if let Some(media) = p.media_type() {
            parts.push(format!("{media};q=0.{weight}"));
            weight = (weight - 1).max(1);
        }
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

/// Mutable status of a target, shared with the manager for the targets page.
#[derive(Clone, Debug)]
pub(crate) struct Runtime {
    pub health: TargetHealth,
    pub last_scrape: Option<SystemTime>,
    pub last_duration: Duration,
    pub last_error: String,
}

/// A running target: its definition, its status and the metadata it exposes.
#[derive(Debug)]
pub(crate) struct TargetState {
    pub target: Target,
    pub runtime: Mutex<Runtime>,
    /// The metadata lines of the last good scrape (shared with targets exposing the same).
    pub metadata: Mutex<Arc<MetaLines>>,
}

impl TargetState {
    pub(super) fn new(target: Target) -> Self {
        TargetState {
            target,
            runtime: Mutex::new(Runtime {
                health: TargetHealth::Unknown,
                last_scrape: None,
                last_duration: Duration::ZERO,
                last_error: String::new(),
            }),
            metadata: Mutex::new(Arc::default()),
        }
    }
}

/// How a loop is asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopMode {
    /// The target is gone: write staleness markers for all its series.
    Stale,
    /// Shutdown or hand-over to a new loop for the same target: no markers.
    Quiet,
}

/// What a stopped loop leaves behind: the series of its last good scrape (handed to the loop
/// that replaces it on reload, so series that vanish then still get staleness markers).
#[derive(Debug, Default)]
pub(crate) struct LoopExit {
    pub series: FastSet<Labels>,
    pub report: Vec<Labels>,
}

/// Shares the label strings of one target's series: names (`__name__`, `cpu`, `mode`) and
/// common values repeat across series, and each distinct string is then stored once.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    set: FastSet<Arc<str>>,
}

impl Interner {
    fn intern(&mut self, s: &Arc<str>) -> Arc<str> {
        if let Some(x) = self.set.get(&**s) {
            return x.clone();
        }
        self.set.insert(s.clone());
        s.clone()
    }

    /// The same label set, with strings shared with the target's other series.
    pub(crate) fn labels(&mut self, l: &Labels) -> Labels {
        Labels::from_sorted(
            l.iter()
                .map(|x| Label {
                    name: self.intern(&x.name),
                    value: self.intern(&x.value),
                })
                .collect(),
        )
    }

    /// Forgets strings no series uses any more.
    pub(crate) fn gc(&mut self) {
        self.set.retain(|s| Arc::strong_count(s) > 1);
    }
}

#[derive(Debug)]
struct Cached {
    /// Final labels, or `None` when metric relabeling drops the series.
    labels: Option<Labels>,
    sref: SeriesRef,
    /// The last scrape (attempt) whose body had the series; finds duplicates in one body.
    last_iter: u64,
    /// Whether the sample of scrape `last_iter` counts for staleness (not an explicit
    /// timestamp, unless `track_timestamps_staleness`).
    tracked: bool,
    /// The last committed scrape in which the series was present and tracked.
    present: u64,
}

#[derive(Debug, Default)]
struct Stats {
    scraped: u64,
    post_relabel: u64,
    series_added: u64,
    rejected: u64,
    duplicates: u64,
    /// Exemplars storage refused (out of order, labels too long).
    exemplars_rejected: u64,
}

/// One target's loop.
pub(crate) struct ScrapeLoop {
    state: Arc<TargetState>,
    cfg: Arc<LoopConfig>,
    client: reqwest::Client,
    appendable: Arc<dyn Appendable>,
    sem: Arc<Semaphore>,
    cache: SeriesCache<Cached>,
    interner: Interner,
    /// The last scrape committed successfully (0: none, or the last one failed): the series
    /// with `present == last_good` are the ones that go stale if they disappear.
    last_good: u64,
    /// The series of the loop this one replaced on reload, until the first scrape settles them.
    inherited: FastSet<Labels>,
    report_labels: Vec<Labels>,
    report_refs: [SeriesRef; 5],
    /// The target's URL, parsed once (or why it cannot be).
    url: Result<reqwest::Url, String>,
    iter: u64,
    last_ts: Option<i64>,
    body_hint: usize,
    scraped_once: bool,
    /// The pool's forced error (see [`ScrapeLoop::with_forced_error`]).
    forced_error: Arc<Mutex<Option<String>>>,
}

impl ScrapeLoop {
    pub(super) fn new(
        state: Arc<TargetState>,
        cfg: Arc<LoopConfig>,
        client: reqwest::Client,
        appendable: Arc<dyn Appendable>,
        sem: Arc<Semaphore>,
    ) -> Self {
        let report_labels = REPORT_SERIES
            .iter()
            .map(|name| {
                let mut b = state.target.labels.to_builder();
                b.set(METRIC_NAME, name);
                b.build()
            })
            .collect();
        let url = reqwest::Url::parse(&state.target.url)
            .map_err(|e| format!("invalid scrape URL {:?}: {e}", state.target.url));
        ScrapeLoop {
            url,
            state,
            cfg,
            client,
            appendable,
            sem,
            cache: SeriesCache::default(),
            interner: Interner::default(),
            last_good: 0,
            inherited: FastSet::default(),
            report_labels,
            report_refs: [SeriesRef::NONE; 5],
            iter: 0,
            last_ts: None,
            body_hint: 16 * 1024,
            scraped_once: false,
            forced_error: Arc::new(Mutex::new(None)),
        }
    }

    /// Shares the pool's forced error (set while the job is over its `target_limit`): while
    /// set, scrapes do not fetch and fail with it.
    pub(super) fn with_forced_error(mut self, e: Arc<Mutex<Option<String>>>) -> Self {
        self.forced_error = e;
        self
    }

    /// The delay before the first scrape: each target scrapes at a stable offset within the
    /// interval (its hash modulo the interval), so targets spread over the interval.
    fn initial_delay(&self) -> Duration {
        let interval = u64::try_from(self.state.target.interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let offset = self.state.target.hash() % interval;
        let now = u64::try_from(now_ms()).unwrap_or(0) % interval;
        let wait = (offset + interval - now) % interval;
        Duration::from_millis(wait)
    }

    /// Runs until told to stop. `inherited` is the loop this one replaces (on reload); its
    /// series become this loop's previous scrape.
    pub(super) async fn run(
        mut self,
        mut stop: oneshot::Receiver<StopMode>,
        inherited: Option<tokio::task::JoinHandle<LoopExit>>,
    ) -> LoopExit {
        if let Some(h) = inherited {
            if let Ok(exit) = h.await {
                self.inherited = exit.series;
                self.scraped_once = true;
            }
        }
        let delay = self.initial_delay();
        tokio::select! {
            m = &mut stop => return self.finish(m.unwrap_or(StopMode::Quiet)),
            _ = tokio::time::sleep(delay) => {}
        }
        let mut ticker = tokio::time::interval(self.state.target.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                m = &mut stop => return self.finish(m.unwrap_or(StopMode::Quiet)),
                _ = ticker.tick() => {}
            }
            let stopped = tokio::select! {
                m = &mut stop => Some(m.unwrap_or(StopMode::Quiet)),
                _ = self.scrape_once() => None,
            };
            if let Some(m) = stopped {
                return self.finish(m);
            }
        }
    }

    /// The series present in the last good scrape (and those inherited, not yet settled).
    fn present_series(&self) -> FastSet<Labels> {
        let mut out = self.inherited.clone();
        if self.last_good != 0 {
            for c in self.cache.values() {
                if c.present == self.last_good {
                    if let Some(l) = &c.labels {
                        out.insert(l.clone());
                    }
                }
            }
        }
        out
    }

    fn finish(self, mode: StopMode) -> LoopExit {
        let present = self.present_series();
        if mode == StopMode::Stale && self.scraped_once {
            let ts = self.last_ts.map_or(now_ms(), |l| now_ms().max(l + 1));
            let appendable = self.appendable.clone();
            let mut app = appendable.appender();
            let mut ok = true;
            for l in present.iter().chain(self.report_labels.iter()) {
                if let Err(e) = app.append(SeriesRef::NONE, l, ts, STALE_NAN) {
                    if !e.is_client_error() {
                        tracing::warn!(target_url = %self.state.target.url, error = %e, "writing staleness markers failed");
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                if let Err(e) = app.commit() {
                    tracing::warn!(target_url = %self.state.target.url, error = %e, "committing staleness markers failed");
                }
            } else {
                app.rollback();
            }
        }
        LoopExit {
            series: present,
            report: self.report_labels,
        }
    }

    /// The timestamp of a scrape starting now: aligned to the previous one plus the interval
    /// when within tolerance, and always after the previous one.
    fn scrape_timestamp(&self) -> i64 {
        let now = now_ms();
        match self.last_ts {
            Some(last) => {
                let interval = i64::try_from(self.state.target.interval.as_millis()).unwrap_or(i64::MAX);
                let expected = last.saturating_add(interval);
                if (now - expected).abs() <= TIMESTAMP_TOLERANCE_MS {
                    expected
                } else {
                    now.max(last + 1)
                }
            }
            None => now,
        }
    }

    /// One scrape, from fetch to the report series.
    pub(crate) async fn scrape_once(&mut self) {
        let Ok(_permit) = self.sem.clone().acquire_owned().await else {
            return;
        };
        let start = Instant::now();
        let wall = SystemTime::now();
        let ts = self.scrape_timestamp();
        let span = tracing::info_span!("scrape", target = %self.state.target.url);
        let timeout = self.state.target.timeout;
        let forced = self.forced_error.lock().clone();
        let fetched = match forced {
            Some(e) => Err(e),
            None => match tokio::time::timeout(timeout, self.fetch()).await {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "scrape timed out after {}",
                    storage::PromDuration(timeout)
                )),
            },
        };
        self.iter += 1;
        let appendable = self.appendable.clone();
        let mut app = appendable.appender();
        let result = match &fetched {
            Ok((body, ct)) => {
                self.body_hint = body.len();
                let _g = span.enter();
                self.append_body(app.as_mut(), body, ct, ts)
            }
            Err(e) => Err(e.clone()),
        };
        let (stats, meta, error) = match result {
            Ok((stats, meta)) => (stats, meta, None),
            Err(e) => {
                app.rollback();
                // References handed out in a rolled-back batch may not exist.
                let iter = self.iter;
                for c in self.cache.values_mut().filter(|c| c.last_iter == iter) {
                    c.sref = SeriesRef::NONE;
                }
                // A failed scrape counts as an empty one: everything present goes stale.
                app = appendable.appender();
                for l in &self.present_series() {
                    let _ = app.append(SeriesRef::NONE, l, ts, STALE_NAN);
                }
                (Stats::default(), None, Some(e))
            }
        };
        let up = if error.is_none() { 1.0 } else { 0.0 };
        let duration = start.elapsed();
        let values = [
            up,
            duration.as_secs_f64(),
            stats.scraped as f64,
            stats.post_relabel as f64,
            stats.series_added as f64,
        ];
        for (i, v) in values.into_iter().enumerate() {
            match app.append(self.report_refs[i], &self.report_labels[i], ts, v) {
                Ok(r) => self.report_refs[i] = r,
                Err(e) => tracing::debug!(error = %e, "report sample rejected"),
            }
        }
        let mut error = error;
        match app.commit() {
            Ok(()) => {
                self.last_ts = Some(ts);
                self.scraped_once = true;
                self.inherited.clear();
                if error.is_none() {
                    let iter = self.iter;
                    for c in self.cache.values_mut() {
                        if c.last_iter == iter && c.tracked {
                            c.present = iter;
                        }
                    }
                    self.last_good = iter;
                } else {
                    self.last_good = 0;
                }
                if let Some(m) = meta {
                    *self.state.metadata.lock() = m.shared();
                }
            }
            Err(e) => {
                error = Some(format!("committing to storage failed: {e}"));
                self.cache.values_mut().for_each(|c| c.sref = SeriesRef::NONE);
            }
        }
        let m = crate::metrics::ingest();
        m.scrape_duration.observe_duration(start.elapsed());
        if error.is_none() {
            let appended = stats.post_relabel.saturating_sub(stats.rejected);
            m.appended(crate::metrics::Protocol::Scrape, appended as usize, 0, 0);
        } else {
            m.failed(crate::metrics::Protocol::Scrape);
        }
        drop(span);
        if stats.rejected > 0 || stats.duplicates > 0 || stats.exemplars_rejected > 0 {
            tracing::debug!(target_url = %self.state.target.url, rejected = stats.rejected, duplicates = stats.duplicates, exemplars_rejected = stats.exemplars_rejected, "samples not appended");
        }
        self.cache.shrink_if_grown();
        if self.iter.is_multiple_of(CACHE_KEEP_SCRAPES) {
            let iter = self.iter;
            self.cache.retain(|c| c.last_iter + CACHE_KEEP_SCRAPES >= iter);
            self.interner.gc();
        }
        let mut rt = self.state.runtime.lock();
        rt.health = if error.is_none() {
            TargetHealth::Up
        } else {
            TargetHealth::Down
        };
        rt.last_scrape = Some(wall);
        rt.last_duration = duration;
        rt.last_error = error.unwrap_or_default();
    }

    /// GETs the target: body (decompressed, within the size limit) and content type.
    async fn fetch(&self) -> Result<(Vec<u8>, String), String> {
        let t = &self.state.target;
        let url = self.url.clone()?;
        let req = self.client.get(url).header(ACCEPT, &self.cfg.accept).header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", t.timeout.as_secs_f64()),
        );
        let req = with_auth(req, &self.cfg.http).await?;
        let mut resp = req.send().await.map_err(|e| error_chain(&e))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("server returned HTTP status {}", resp.status()));
        }
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let limit = usize::try_from(self.cfg.body_size_limit).unwrap_or(usize::MAX);
        let mut body = Vec::with_capacity(
            if limit > 0 {
                self.body_hint.min(limit)
            } else {
                self.body_hint
            } + 1024,
        );
        while let Some(chunk) = resp.chunk().await.map_err(|e| error_chain(&e))? {
            if limit > 0 && body.len() + chunk.len() > limit {
                return Err(format!("body size limit exceeded (limit: {limit} bytes)"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, ct))
    }

    /// Parses the body and appends every sample plus staleness markers for series that
    /// vanished. Returns the stats and the new metadata lines if they changed.
    fn append_body(
        &mut self,
        app: &mut dyn Appender,
        body: &[u8],
        content_type: &str,
        ts: i64,
    ) -> Result<(Stats, Option<MetaLines>), String> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let protobuf_body = protobuf::is_protobuf(&media);
        let format = match media.as_str() {
            "application/openmetrics-text" => Format::OpenMetrics,
            "text/plain" => Format::PrometheusText,
            _ if protobuf_body => Format::PrometheusText,
            _ => self.cfg.fallback.unwrap_or(Format::PrometheusText),
        };
        // A protobuf body is read as the text it transcodes to, its native histograms by the
        // line of their placeholder samples; classic histograms converted to native ones
        // (convert_classic_histograms_to_nhcb) are placed the same way.
        let mut transcoded: Option<Transcoded> = None;
        if protobuf_body {
            transcoded = Some(protobuf::transcode(body, self.cfg.protobuf).map_err(|e| e.to_string())?);
        }
        if self.cfg.convert_nhcb {
            let (text, carried) = match transcoded.take() {
                Some(t) => (Some(t.text), t.histograms),
                None => (None, Vec::new()),
            };
            let input = text.as_deref().map_or(body, str::as_bytes);
            transcoded = Some(
                crate::exposition::convert_classic_histograms(
                    input,
                    format,
                    self.cfg.protobuf.classic_histograms,
                    carried,
                )
                .map_err(|e| e.to_string())?,
            );
        }
        let body = transcoded.as_ref().map_or(body, |t| t.text.as_bytes());
        let iter = self.iter;
        let mut parser = Parser::new(body, format).map_err(|e| e.to_string())?;
        self.cache.rewind();
        let mut st = Stats::default();
        let known_meta = self.state.metadata.lock().clone();
        let mut meta = MetaDiff::new(&known_meta);
        let cfg = self.cfg.clone();
        // Each line is first compared with the series at the same position of the last body:
        // for a stable target that one comparison finds the entry and skips the label checks.
        while let Some((entry, known)) = parser
            .next_entry_hinted(self.cache.peek())
            .map_err(|e| e.to_string())?
        {
            let s = match entry {
                Entry::Help { family, help } => {
                    meta.help(&family, &help);
                    continue;
                }
                Entry::Type { family, metric_type } => {
                    meta.metric_type(&family, metric_type);
                    continue;
                }
                Entry::Unit { family, unit } => {
                    meta.unit(&family, unit);
                    continue;
                }
                Entry::Sample(s) => s,
            };
            st.scraped += 1;
            // One lookup per sample: the index of the series' entry, or a new entry.
            let found = if known {
                Some(self.cache.take_next())
            } else {
                self.cache.find(s.series)
            };
            let (slot, fresh) = match found {
                Some(i) => (i, false),
                None => {
                    let labels = series_labels(&s, &self.state.target.labels, &cfg)?;
                    if labels.is_some() {
                        st.series_added += 1;
                    }
                    let c = Cached {
                        labels,
                        sref: SeriesRef::NONE,
                        last_iter: 0,
                        tracked: false,
                        present: 0,
                    };
                    let i = self.cache.insert(s.series, c).ok_or_else(|| {
                        "the target exposes more series text than the scrape cache holds (4 GiB)".to_string()
                    })?;
                    (i, true)
                }
            };
            let Some(c) = self.cache.get_mut(slot) else {
                continue;
            };
            if c.last_iter == iter {
                st.duplicates += 1;
                continue;
            }
            c.last_iter = iter;
            c.tracked = false;
            let Some(labels) = &c.labels else { continue };
            st.post_relabel += 1;
            if cfg.sample_limit > 0 && st.post_relabel > cfg.sample_limit {
                return Err(format!("sample_limit exceeded (limit: {})", cfg.sample_limit));
            }
            let explicit = cfg.honor_timestamps && s.timestamp_ms.is_some();
            let t = if explicit {
                s.timestamp_ms.unwrap_or(ts)
            } else {
                ts
            };
            let appended = match transcoded.as_ref().and_then(|tr| tr.histogram_at(s.line)) {
                Some(h) => {
                    let h = fit_buckets(h, cfg.bucket_limit, cfg.min_bucket_factor)
                        .map_err(|e| format!("native histogram {}: {e}", s.series))?;
                    app.append_histogram(c.sref, labels, t, &h)
                }
                None => app.append(c.sref, labels, t, s.value),
            };
            match appended {
                Ok(r) => {
                    if r != c.sref {
                        // A new (or re-created) series: keep storage's label set rather than a
                        // copy, so later appends compare labels by pointer and no memory is
                        // spent twice.
                        c.sref = r;
                        if let Some(l) = app.series_labels(r) {
                            c.labels = Some(l);
                        } else if fresh {
                            c.labels = c.labels.as_ref().map(|l| self.interner.labels(l));
                        }
                    }
                }
                Err(e) if e.is_client_error() => {
                    crate::push::rejections::append_refused(crate::push::rejections::Protocol::Scrape, &e, 1);
                    st.rejected += 1;
                    if fresh {
                        c.labels = c.labels.as_ref().map(|l| self.interner.labels(l));
                    }
                }
                Err(e) => return Err(format!("appending to storage failed: {e}")),
            }
            let Some(labels) = &c.labels else { continue };
            c.tracked = !explicit || cfg.track_timestamps_staleness;
            if let Some(ex) = &s.exemplar {
                // As Prometheus: an exemplar without a timestamp gets the sample's; a refused
                // one (out of order, too long) is dropped without failing the scrape.
                let e = Exemplar {
                    labels: Labels::from_pairs(ex.labels.iter()),
                    value: ex.value,
                    t: ex.timestamp_ms.unwrap_or(t),
                };
                match app.append_exemplar(c.sref, labels, e) {
                    Ok(()) => {}
                    Err(e) if e.is_client_error() => st.exemplars_rejected += 1,
                    Err(e) => return Err(format!("appending exemplar to storage failed: {e}")),
                }
            }
        }
        // Series of the last good scrape missing from this one go stale.
        let mut gone: Vec<&Labels> = Vec::new();
        if self.last_good != 0 {
            for c in self.cache.values() {
                let now_present = c.last_iter == iter && c.tracked;
                if c.present == self.last_good && !now_present {
                    if let Some(l) = &c.labels {
                        gone.push(l);
                    }
                }
            }
        }
        let mut settled_inherited = Vec::new();
        if !self.inherited.is_empty() {
            let now: FastSet<&Labels> = self
                .cache
                .values()
                .filter(|c| c.last_iter == iter && c.tracked)
                .filter_map(|c| c.labels.as_ref())
                .collect();
            settled_inherited.extend(self.inherited.iter().filter(|l| !now.contains(l)));
        }
        for l in gone.into_iter().chain(settled_inherited) {
            match app.append(SeriesRef::NONE, l, ts, STALE_NAN) {
                Ok(_) => {}
                Err(e) if e.is_client_error() => {}
                Err(e) => return Err(format!("appending staleness markers failed: {e}")),
            }
        }
        let new_meta = meta.finish();
        if let Some(n) = &new_meta {
            for (family, m) in n.changed_since(&known_meta) {
                app.update_metadata(&family, m)
                    .map_err(|e| format!("recording metadata failed: {e}"))?;
            }
        }
        Ok((st, new_meta))
    }
}

/// A scraped native histogram within `native_histogram_bucket_limit` (resolution reduced
/// until it fits, an error when schema -4 does not) and `native_histogram_min_bucket_factor`
/// (resolution reduced until neighbouring bounds grow by at least the factor), as Prometheus
/// applies them.
pub(crate) fn fit_buckets(
    h: &storage::FloatHistogram,
    limit: u64,
    min_factor: f64,
) -> Result<std::borrow::Cow<'_, storage::FloatHistogram>, String> {
    use std::borrow::Cow;
    let buckets = |h: &storage::FloatHistogram| (h.positive_buckets.len() + h.negative_buckets.len()) as u64;
    let mut out = Cow::Borrowed(h);
    if !h.uses_custom_buckets() && min_factor > 1.0 {
        let mut schema = h.schema;
        while schema > storage::histogram::MIN_EXPONENTIAL_SCHEMA
            && 2f64.powf(2f64.powi(-schema)) < min_factor
        {
            schema -= 1;
        }
        if schema < h.schema {
            out.to_mut().reduce_resolution(schema);
        }
    }
    if limit > 0 {
        while buckets(&out) > limit {
            if out.uses_custom_buckets() || out.schema <= storage::histogram::MIN_EXPONENTIAL_SCHEMA {
                return Err(format!(
                    "{} buckets exceed native_histogram_bucket_limit {limit}",
                    buckets(&out)
                ));
            }
            let target = out.schema - 1;
            out.to_mut().reduce_resolution(target);
        }
    }
    Ok(out)
}

/// The final labels of a scraped series: the series' labels merged with the target's
/// (`honor_labels`, else conflicting scraped labels renamed `exported_<name>`), then
/// `metric_relabel_configs`, then the label limits. `Ok(None)` when relabeling drops it;
/// `Err` fails the scrape (duplicate label names, no metric name, limits).
pub(crate) fn series_labels(
    s: &SampleEntry<'_>,
    target: &Labels,
    cfg: &LoopConfig,
) -> Result<Option<Labels>, String> {
    let scraped = s
        .to_labels()
        .map_err(|e| format!("invalid series {}: {e}", s.series))?;
    let mut b: LabelsBuilder = scraped.to_builder();
    if cfg.honor_labels {
        for l in target.iter() {
            if scraped.get(&l.name).is_none() {
                b.set_arc(l.name.clone(), l.value.clone());
            }
        }
    } else {
        let mut conflicts: Vec<(&str, &str)> = Vec::new();
        for l in target.iter() {
            if let Some(v) = scraped.get(&l.name) {
                conflicts.push((&l.name, v));
            }
            b.set_arc(l.name.clone(), l.value.clone());
        }
        conflicts.sort_by_key(|(n, _)| n.len());
        for (name, value) in conflicts {
            let mut new_name = name.to_string();
            loop {
                new_name = format!("exported_{new_name}");
                if b.get(&new_name).is_none() {
                    b.set(&new_name, value);
                    break;
                }
            }
        }
    }
    for rule in &cfg.metric_relabel {
        if !relabel::apply(&mut b, rule) {
            return Ok(None);
        }
    }
    let labels = b.build();
    if labels.is_empty() {
        return Ok(None);
    }
    let name = labels.metric_name().unwrap_or("");
    if name.is_empty() {
        return Err(format!("series {} has no metric name after relabeling", s.series));
    }
    let short: String = name.chars().take(50).collect();
    if cfg.label_limit > 0 && labels.len() as u64 > cfg.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {short}, number of labels: {}, limit: {})",
            labels.len(),
            cfg.label_limit
        ));
    }
    for l in labels.iter() {
        if cfg.label_name_length_limit > 0 && l.name.len() as u64 > cfg.label_name_length_limit {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {short}, label name: {:.50}, length: {}, limit: {})",
                l.name,
                l.name.len(),
                cfg.label_name_length_limit
            ));
        }
        if cfg.label_value_length_limit > 0 && l.value.len() as u64 > cfg.label_value_length_limit {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {short}, label name: {:.50}, value: {:.50}, length: {}, limit: {})",
                l.name,
                l.value,
                l.value.len(),
                cfg.label_value_length_limit
            ));
        }
    }
    Ok(Some(labels))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scrape::config::GlobalConfig;

    fn loop_cfg(yaml: &str) -> LoopConfig {
        let c: ScrapeConfig = serde_saphyr::from_str(yaml).unwrap();
        LoopConfig::new(&c.resolve(&GlobalConfig::default()))
    }

    #[track_caller]
    fn check(yaml: &str, line: &str, want: Result<Option<&str>, &str>) {
        let cfg = loop_cfg(yaml);
        let target = Labels::from_pairs([("job", "j"), ("instance", "i:1")]);
        let mut p = Parser::new(line.as_bytes(), Format::PrometheusText).unwrap();
        let Some(Entry::Sample(s)) = p.next_entry().unwrap() else {
            panic!("no sample in {line}")
        };
        let got = series_labels(&s, &target, &cfg).map(|o| o.map(|l| l.to_string()));
        match (got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g.as_deref(), w, "{line}"),
            (Err(g), Err(w)) => assert!(g.contains(w), "{g:?} does not mention {w:?}"),
            (g, w) => panic!("{line}: got {g:?}, want {w:?}"),
        }
    }

    #[test]
    fn native_histograms_fit_the_bucket_limit_and_factor() {
        let h = storage::FloatHistogram {
            schema: 3,
            count: 8.0,
            sum: 1.0,
            positive_spans: vec![storage::BucketSpan::new(0, 8)],
            positive_buckets: vec![1.0; 8],
            ..Default::default()
        };
        assert_eq!(fit_buckets(&h, 0, 0.0).unwrap().schema, 3);
        let fitted = fit_buckets(&h, 4, 0.0).unwrap();
        // Indices 0..=7 at schema 3 are 5 buckets at schema 2 (0..=4), 3 at schema 1.
        assert_eq!((fitted.schema, fitted.positive_buckets.len()), (1, 3));
        assert_eq!(fitted.count, 8.0);
        // Schema 3 grows by 2^(1/8) = 1.09 per bucket; a factor of 1.5 needs schema 0 (2).
        assert_eq!(fit_buckets(&h, 0, 1.5).unwrap().schema, 0);
        let too_many = storage::FloatHistogram { schema: -4, ..h };
        let e = fit_buckets(&too_many, 4, 0.0).unwrap_err();
        assert!(e.contains("exceed native_histogram_bucket_limit 4"), "{e}");
    }

    #[test]
    fn target_labels_and_conflicts() {
        check(
            "job_name: j\n",
            "up 1",
            Ok(Some(r#"up{instance="i:1", job="j"}"#)),
        );
        check(
            "job_name: j\n",
            r#"up{job="other",exported_job="x"} 1"#,
            Ok(Some(
                r#"up{exported_exported_job="other", exported_job="x", instance="i:1", job="j"}"#,
            )),
        );
        check(
            "job_name: j\nhonor_labels: true\n",
            r#"up{job="other"} 1"#,
            Ok(Some(r#"up{instance="i:1", job="other"}"#)),
        );
    }

    #[test]
    fn metric_relabeling_and_limits() {
        let drop = "job_name: j\nmetric_relabel_configs:\n  - source_labels: [__name__]\n    regex: 'go_.*'\n    action: drop\n";
        check(drop, "go_gc 1", Ok(None));
        check(drop, "up 1", Ok(Some(r#"up{instance="i:1", job="j"}"#)));
        let noname = "job_name: j\nmetric_relabel_configs:\n  - regex: __name__\n    action: labeldrop\n";
        check(noname, "up 1", Err("has no metric name"));
        check(
            "job_name: j\nlabel_limit: 3\n",
            r#"up{a="1"} 1"#,
            Err("label_limit exceeded (metric: up, number of labels: 4, limit: 3)"),
        );
        check(
            "job_name: j\nlabel_name_length_limit: 4\n",
            r#"up{abcde="1"} 1"#,
            Err("label_name_length_limit exceeded"),
        );
        check(
            "job_name: j\nlabel_value_length_limit: 4\n",
            r#"up{a="12345"} 1"#,
            Err("label_value_length_limit exceeded"),
        );
        check(
            "job_name: j\n",
            r#"up{a="1",a="2"} 1"#,
            Err("duplicate label name"),
        );
    }

    #[test]
    fn interner_shares_strings_and_forgets_unused_ones() {
        let mut i = Interner::default();
        let a = i.labels(&Labels::from_pairs([("__name__", "x"), ("mode", "idle")]));
        let b = i.labels(&Labels::from_pairs([("__name__", "y"), ("mode", "idle")]));
        assert_eq!(b, Labels::from_pairs([("__name__", "y"), ("mode", "idle")]));
        let (la, lb) = (&a.as_slice()[1], &b.as_slice()[1]);
        assert!(Arc::ptr_eq(&la.name, &lb.name) && Arc::ptr_eq(&la.value, &lb.value));
        assert_eq!(i.set.len(), 5);
        drop(b);
        i.gc();
        assert_eq!(i.set.len(), 4, "\"y\" is no longer used");
    }

    #[test]
    fn accept_header_like_prometheus() {
        assert_eq!(
            accept_header(&ScrapeProtocol::defaults()),
            "application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        );
        assert_eq!(
            accept_header(&[ScrapeProtocol::PrometheusText0_0_4]),
            "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"
        );
    }
}
