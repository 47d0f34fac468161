//! One remote-write queue: a reader thread following the WAL, shards sending batches.
//!
//! ```text
//!  WAL ──WalFollower──> reader thread ──(series hash % n)──> shard 0..n (tokio tasks) ──HTTP──> remote
//!        series map, relabel, external labels     │                  retries with backoff
//!        Tracker: which records are fully sent <──┘ (after success or rejection)
//! ```
//!
//! Every sample of a series goes to the same shard, and a shard sends one batch at a time
//! and retries it until it is accepted or refused, so each series arrives in WAL order. The
//! reader waits while a shard holds `capacity` samples, so an outage stops the reading, not
//! the WAL: nothing is lost while the WAL still holds it. The position after the last record
//! whose samples are all dealt with is persisted every second and on stop; a restart
//! resumes there.
//!
//! Every [`SHARD_UPDATE`] the shard count is recomputed from the rate samples enter the WAL,
//! the backlog left in it and the time a sample takes to send (Prometheus' calculation, see
//! [`super::shards`]). A change stops the reading, lets the old shards send everything they
//! hold, then starts the new ones: no series is ever in two shards at once, so resharding
//! neither reorders nor duplicates nor loses samples. Duplicates happen only after a crash
//! (`kill -9`) or a flush deadline: samples sent after the last persisted position (at most
//! about [`PERSIST_EVERY`] of sending, plus what was in flight) are sent again on restart,
//! each series still in order.
//!
//! `batch_send_deadline` is the longest a sample waits in a shard, as in Prometheus; when the
//! reader has read the whole WAL, shards send their partial batches at once (at most every
//! 200 ms), so the last samples of a burst do not wait for the deadline.
//!
//! A queue reads the WAL in order, so after an outage live samples wait behind the backlog;
//! the backlog term of the calculation raises the shard count (up to `max_shards`) until it
//! is gone, which is as short as the receiver allows.

use super::config::{ProtobufMessage, RemoteWriteConfig};
use super::encode::{self, BatchEncoder, OutSeries, QueuedSample, SampleValue};
use super::exemplar::ExemplarIndex;
use super::metrics::QueueMetrics;
use super::position::{self, Tracker};
use super::send::{Backoff, SendError, Sender};
use super::series::SeriesTable;
use super::shards::{ShardCalc, Tick, MIN_DOWNSHARD_GAP, SHARD_UPDATE};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::id_table::IdTable;
use storage::now_ms;
use storage::wal::{ExemplarEntry, Resume, WalFollower, WalPosition, WalRecord};
use storage::{Labels, MetricMetadata};
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

/// How often the sent position is written to disk.
const PERSIST_EVERY: Duration = Duration::from_secs(1);
/// Shortest time between two flushes of partial batches once the reader has caught up.
const IDLE_FLUSH: Duration = Duration::from_millis(200);
/// How long the reader sleeps when it has read everything.
const IDLE_POLL: Duration = Duration::from_millis(20);
/// How many samples ahead the reader asks for the series entry it will look up.
const LOOKUP_AHEAD: usize = 8;

/// A snapshot of a queue for status pages.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueStatus {
    /// `remote_name`.
    pub name: String,
    /// Endpoint.
    pub url: String,
    /// `prometheus.WriteRequest` or `io.prometheus.write.v2.Request`.
    pub protobuf_message: String,
    /// Running shards.
    pub shards: u64,
    /// What the last shard computation wanted (before rounding and bounds).
    pub shards_desired: f64,
    /// `queue_config.min_shards`.
    pub min_shards: usize,
    /// `queue_config.max_shards`.
    pub max_shards: usize,
    /// Samples waiting (unread in the WAL plus in shards) at the last shard computation.
    pub backlog: u64,
    /// Newest timestamp read from the WAL (ms; `i64::MIN` if none).
    pub highest_read_ms: i64,
    /// Samples waiting in shards.
    pub pending: i64,
    /// Samples sent.
    pub sent: u64,
    /// Samples refused by the remote end.
    pub failed: u64,
    /// Samples retried.
    pub retried: u64,
    /// Samples dropped before sending.
    pub dropped: u64,
    /// Exemplars waiting in shards, sent, refused, retried, dropped (`send_exemplars`).
    pub exemplars: ExemplarCounts,
    /// Newest timestamp sent (ms; `i64::MIN` if none).
    pub highest_sent_ms: i64,
    /// The last error, if the last request failed.
    pub last_error: Option<String>,
    /// The persisted WAL position (`segment:offset`).
    pub position: Option<String>,
}

/// The exemplar counters of a queue, for status pages.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExemplarCounts {
    /// Waiting in shards.
    pub pending: i64,
    /// Sent.
    pub sent: u64,
    /// Refused by the remote end.
    pub failed: u64,
    /// Retried.
    pub retried: u64,
    /// Dropped before sending.
    pub dropped: u64,
}

/// State shared by the reader, the shards and the owner.
struct Shared {
    cfg: RemoteWriteConfig,
    name: String,
    metrics: QueueMetrics,
    /// Stop reading and flush.
    stop: AtomicBool,
    /// Give up on unsent batches (they stay in the WAL for the next start).
    hard_stop: watch::Sender<bool>,
    tracker: Mutex<Tracker>,
    meta: RwLock<HashMap<String, MetricMetadata>>,
    /// The series queued samples refer to (written by the reader, read by the shards).
    table: RwLock<SeriesTable>,
    sender: Sender,
    last_failure: Mutex<Option<(Instant, String)>>,
    /// When a request last succeeded.
    last_success: Mutex<Option<Instant>>,
    /// A 2.0 queue whose receiver answered 415: it sends 1.0 from then on.
    downgraded: AtomicBool,
    /// A shard count to switch to at once (0: none), for tests of resharding.
    force_shards: AtomicUsize,
    /// Tells the shards to send their partial batches (the reader has caught up).
    flush: tokio::sync::Notify,
    pos_path: PathBuf,
    rt: tokio::runtime::Handle,
}

impl Shared {
    /// The protocol sent now: the configured one, or 1.0 after a 2.0 receiver said 415.
    fn message(&self) -> ProtobufMessage {
        if self.downgraded.load(Ordering::Relaxed) {
            ProtobufMessage::V1
        } else {
            self.cfg.protobuf_message
        }
    }
}

/// A running queue.
pub struct Queue {
    shared: Arc<Shared>,
    reader: Mutex<Option<std::thread::JoinHandle<()>>>,
    metadata_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("name", &self.shared.name)
            .field("url", &self.shared.cfg.url)
            .finish()
    }
}

impl Queue {
    /// Starts a queue for `cfg` reading the WAL in `wal_dir`, keeping its position under
    /// `data_dir`. Must be called inside a tokio runtime.
    pub fn start(
        cfg: RemoteWriteConfig,
        data_dir: &Path,
        wal_dir: &Path,
        external_labels: Labels,
    ) -> Result<Queue, String> {
        let sender = Sender::new(&cfg).map_err(|e| format!("remote_write {}: {e}", cfg.url))?;
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|_| "remote-write queues need a tokio runtime".to_string())?;
        let (hard_stop, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            name: cfg.display_name(),
            pos_path: position::path(data_dir, &cfg.queue_key()),
            cfg,
            metrics: QueueMetrics::default(),
            stop: AtomicBool::new(false),
            hard_stop,
            tracker: Mutex::new(Tracker::default()),
            meta: RwLock::new(HashMap::new()),
            table: RwLock::new(SeriesTable::default()),
            sender,
            last_failure: Mutex::new(None),
            last_success: Mutex::new(None),
            downgraded: AtomicBool::new(false),
            force_shards: AtomicUsize::new(0),
            flush: tokio::sync::Notify::new(),
            rt,
        });
        shared.metrics.highest_sent_ms.store(i64::MIN, Ordering::Relaxed);
        shared.metrics.highest_read_ms.store(i64::MIN, Ordering::Relaxed);
        // A new queue starts at the end of the WAL as it is now (as Prometheus' do), and
        // saves that at once so a restart before the first send resumes there too.
        let resume = match position::load(&shared.pos_path) {
            Ok(Some(p)) => {
                info!(remote_name = %shared.name, position = %p, "remote-write queue resumes from its saved WAL position");
                Some(p)
            }
            Ok(None) => None,
            Err(e) => {
                warn!(remote_name = %shared.name, error = %e, "cannot read the saved WAL position; starting at the end of the WAL");
                None
            }
        };
        let resume = match resume {
            Some(p) => Resume::At(p),
            None => match WalFollower::end_position(wal_dir) {
                Ok(Some(p)) => {
                    if let Err(e) = position::store(&shared.pos_path, p) {
                        warn!(remote_name = %shared.name, error = %e, "cannot save the remote-write position");
                    }
                    Resume::At(p)
                }
                _ => Resume::Beginning,
            },
        };
        let (sh, dir) = (shared.clone(), wal_dir.to_path_buf());
        let reader = std::thread::Builder::new()
            .name(format!("sextant-forward-{}", shared.name))
            .spawn(move || Reader::new(sh, external_labels).run(&dir, resume))
            .map_err(|e| format!("starting the remote-write reader thread: {e}"))?;
        let metadata_task = shared
            .cfg
            .metadata_config
            .send
            .then(|| shared.rt.spawn(metadata_loop(shared.clone())));
        info!(remote_name = %shared.name, url = %shared.cfg.url, protobuf_message = shared.cfg.protobuf_message.as_str(), "remote-write queue started");
        Ok(Queue {
            shared,
            reader: Mutex::new(Some(reader)),
            metadata_task: Mutex::new(metadata_task),
        })
    }

    /// The configuration it runs.
    pub fn config(&self) -> &RemoteWriteConfig {
        &self.shared.cfg
    }

    /// Its counters.
    pub fn metrics(&self) -> &QueueMetrics {
        &self.shared.metrics
    }

    /// The `remote_name`.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Reshards to `n` shards at the reader's next step, whatever the calculation says, and
    /// keeps that count (the calculation no longer runs for this queue).
    #[cfg(test)]
    pub(crate) fn force_shards(&self, n: usize) {
        self.shared.force_shards.store(n, Ordering::SeqCst);
    }

    /// The position after the last record fully sent (what is persisted).
    pub fn acked(&self) -> Option<WalPosition> {
        self.shared.tracker.lock().acked()
    }

    /// Status snapshot.
    pub fn status(&self) -> QueueStatus {
        let m = &self.shared.metrics;
        QueueStatus {
            name: self.shared.name.clone(),
            url: self.shared.cfg.url.clone(),
            protobuf_message: self.shared.message().as_str().to_string(),
            shards: m.shards.load(Ordering::Relaxed),
            shards_desired: m.shards_desired(),
            min_shards: self.shared.cfg.queue_config.min_shards,
            max_shards: self.shared.cfg.queue_config.max_shards,
            backlog: m.backlog_samples.load(Ordering::Relaxed),
            highest_read_ms: m.highest_read_ms.load(Ordering::Relaxed),
            pending: m.samples_pending.load(Ordering::Relaxed).max(0),
            sent: m.samples_sent.load(Ordering::Relaxed),
            failed: m.samples_failed.load(Ordering::Relaxed),
            retried: m.samples_retried.load(Ordering::Relaxed),
            dropped: m.samples_dropped.load(Ordering::Relaxed),
            exemplars: ExemplarCounts {
                pending: m.exemplars.pending.load(Ordering::Relaxed).max(0),
                sent: m.exemplars.sent.load(Ordering::Relaxed),
                failed: m.exemplars.failed.load(Ordering::Relaxed),
                retried: m.exemplars.retried.load(Ordering::Relaxed),
                dropped: m.exemplars.dropped.load(Ordering::Relaxed),
            },
            highest_sent_ms: m.highest_sent_ms.load(Ordering::Relaxed),
            last_error: self.shared.last_failure.lock().as_ref().map(|(_, e)| e.clone()),
            position: self.acked().map(|p| p.to_string()),
        }
    }

    /// Stops reading, lets the shards send what they hold for up to `flush_deadline`, then
    /// gives up on the rest (it stays in the WAL and is sent after the next start) and saves
    /// the position.
    pub async fn stop(&self, flush_deadline: Duration) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let reader = self.reader.lock().take();
        if let Some(t) = self.metadata_task.lock().take() {
            t.abort();
        }
        let Some(reader) = reader else { return };
        let until = Instant::now() + flush_deadline;
        while !reader.is_finished() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if !reader.is_finished() {
            warn!(remote_name = %self.shared.name, "remote-write queue did not flush in time; unsent samples will be sent after the next start");
            self.shared.hard_stop.send_replace(true);
        }
        let joined = tokio::task::spawn_blocking(move || reader.join()).await;
        if !matches!(joined, Ok(Ok(()))) {
            error!(remote_name = %self.shared.name, "remote-write reader thread panicked");
        }
        info!(remote_name = %self.shared.name, position = ?self.acked(), "remote-write queue stopped");
    }
}

/// The shards of a queue.
struct Shards {
    txs: Vec<mpsc::UnboundedSender<Vec<QueuedSample>>>,
    buffered: Vec<Arc<AtomicUsize>>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Shards {
    fn start(sh: &Arc<Shared>, n: usize) -> Shards {
        let mut s = Shards {
            txs: Vec::with_capacity(n),
            buffered: Vec::with_capacity(n),
            handles: Vec::with_capacity(n),
        };
        for _ in 0..n {
            let (tx, rx) = mpsc::unbounded_channel();
            let buffered = Arc::new(AtomicUsize::new(0));
            s.handles.push(sh.rt.spawn(shard_loop(
                sh.clone(),
                rx,
                buffered.clone(),
                sh.hard_stop.subscribe(),
            )));
            s.txs.push(tx);
            s.buffered.push(buffered);
        }
        sh.metrics.shards.store(n as u64, Ordering::Relaxed);
        s
    }

    fn len(&self) -> usize {
        self.txs.len()
    }

    /// Closes the shards and waits until they have sent what they hold (or were told to
    /// give up).
    fn finish(self, sh: &Shared) {
        drop(self.txs);
        sh.rt.block_on(async {
            for h in self.handles {
                let _ = h.await;
            }
        });
    }
}

/// A series as the reader knows it.
#[derive(Clone, Copy, Debug)]
struct SeriesRef {
    /// Its slot in the table (`None`: dropped by relabeling).
    slot: Option<u32>,
    /// Its labels' hash (picks the shard).
    hash: u64,
    /// The segment whose record defined it.
    segment: u64,
}

/// The reader thread's state.
struct Reader {
    sh: Arc<Shared>,
    external: Labels,
    /// WAL series reference -> what the reader needs of the series (an [`IdTable`]: the
    /// lookup of every sample read, prefetched a few samples ahead, was most of the
    /// reader's time as a hash map).
    series: IdTable<SeriesRef>,
    /// `send_exemplars: true`: the slots of series by outgoing labels (WAL exemplars name
    /// their series by labels).
    exemplar_index: Option<ExemplarIndex>,
    /// Slots of forgotten or redefined series, freed once the sent position passes the
    /// WAL position at which they were let go (their queued samples are then all done).
    to_free: Vec<(WalPosition, u32)>,
    /// Where the reader is (the end of the last record read).
    read_pos: WalPosition,
    /// Newest checkpoint whose series were used to forget dead series.
    gc_checkpoint: u64,
    last_gc: Instant,
    persisted: Option<WalPosition>,
    last_persist: Instant,
    rates: Rates,
    /// When the shards were last told to flush.
    last_flush: Instant,
}

impl Reader {
    fn new(sh: Arc<Shared>, external: Labels) -> Reader {
        Reader {
            sh: sh.clone(),
            external,
            series: IdTable::new(1),
            exemplar_index: sh.cfg.send_exemplars.then(ExemplarIndex::default),
            to_free: Vec::new(),
            read_pos: WalPosition::default(),
            gc_checkpoint: 0,
            last_gc: Instant::now(),
            persisted: None,
            last_persist: Instant::now(),
            last_flush: Instant::now(),
            rates: Rates::new(sh.cfg.queue_config.min_shards, sh.cfg.queue_config.max_shards),
        }
    }

    fn stopping(&self) -> bool {
        self.sh.stop.load(Ordering::Relaxed) || *self.sh.hard_stop.borrow()
    }

    /// Sleeps `d` unless stopping; returns whether to stop.
    fn nap(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.stopping() {
                return true;
            }
            std::thread::sleep(d.min(Duration::from_millis(20)));
        }
        self.stopping()
    }

    fn run(mut self, wal_dir: &Path, resume: Resume) {
        if let Resume::At(p) = resume {
            self.persisted = Some(p);
        }
        let mut follower = loop {
            match WalFollower::open(wal_dir, resume) {
                Ok(f) => break f,
                Err(e) => {
                    warn!(remote_name = %self.sh.name, dir = %wal_dir.display(), error = %e, "cannot open the WAL; retrying");
                    if self.nap(Duration::from_secs(1)) {
                        return;
                    }
                }
            }
        };
        let q = &self.sh.cfg.queue_config;
        let mut shards = Shards::start(&self.sh, q.min_shards.max(1));
        // Set once a shard count was forced (tests of resharding).
        let mut pinned = false;
        while !self.stopping() {
            self.maybe_persist(false);
            if self.sh.force_shards.load(Ordering::Relaxed) > 0 {
                let forced = self.sh.force_shards.swap(0, Ordering::SeqCst);
                shards.finish(&self.sh);
                shards = Shards::start(&self.sh, forced);
                // A forced count holds: the calculation would otherwise change it again
                // at its next update (up when sends are slow on a loaded machine, down once
                // MIN_DOWNSHARD_GAP has passed since the start), before whoever forced it
                // saw it.
                pinned = true;
            }
            if !pinned && self.rates.due() {
                let unread = unread_bytes(wal_dir, follower.position());
                if let Some(n) = self.rates.desired(&self.sh, shards.len(), unread) {
                    info!(remote_name = %self.sh.name, from = shards.len(), to = n, backlog_samples = self.sh.metrics.backlog_samples.load(Ordering::Relaxed), "remote-write resharding");
                    // The old shards send everything they hold before the new ones get
                    // anything, so no series is ever in two shards at once: order holds.
                    shards.finish(&self.sh);
                    shards = Shards::start(&self.sh, n);
                }
            }
            let before = follower.position();
            match follower.next_record() {
                Ok(Some((rec, end))) => {
                    self.rates.bytes_read += if end.segment == before.segment {
                        end.offset.saturating_sub(before.offset)
                    } else {
                        end.offset
                    };
                    match &rec {
                        WalRecord::Samples(s) => self.rates.samples_read += s.len() as u64,
                        WalRecord::Histograms(h) if self.sh.cfg.send_native_histograms => {
                            self.rates.samples_read += h.len() as u64
                        }
                        WalRecord::Exemplars(e) if self.sh.cfg.send_exemplars => {
                            self.rates.samples_read += e.len() as u64
                        }
                        _ => {}
                    }
                    self.read_pos = end;
                    self.sh.metrics.records_read.fetch_add(1, Ordering::Relaxed);
                    self.sh
                        .metrics
                        .current_segment
                        .store(end.segment, Ordering::Relaxed);
                    self.handle(rec, end, &shards);
                }
                Ok(None) => {
                    // Caught up: shards holding a partial batch send it now (at most every
                    // IDLE_FLUSH), instead of waiting for batch_send_deadline.
                    if self.last_flush.elapsed() >= IDLE_FLUSH && self.sh.metrics.pending() > 0 {
                        self.last_flush = Instant::now();
                        self.sh.flush.notify_waiters();
                    }
                    self.forget_dead_series(wal_dir, follower.position().segment);
                    let skipped = follower.stats().segments_skipped;
                    self.sh.metrics.segments_skipped.store(skipped, Ordering::Relaxed);
                    if self.nap(IDLE_POLL) {
                        break;
                    }
                }
                Err(e) => {
                    warn!(remote_name = %self.sh.name, error = %e, "reading the WAL failed; retrying");
                    if self.nap(Duration::from_secs(1)) {
                        break;
                    }
                }
            }
        }
        shards.finish(&self.sh);
        self.maybe_persist(true);
    }

    /// Once a minute: when the WAL has a new checkpoint this reader is past, forgets the
    /// series that are neither in it (dead in the database) nor defined after it, as
    /// Prometheus' queues do, so churn does not grow the map forever.
    fn forget_dead_series(&mut self, wal_dir: &Path, reading: u64) {
        if self.last_gc.elapsed() < Duration::from_secs(60) {
            return;
        }
        self.last_gc = Instant::now();
        let (c, ids) = match WalFollower::newest_checkpoint_series(wal_dir) {
            Ok(Some(x)) => x,
            Ok(None) => return,
            Err(e) => {
                warn!(remote_name = %self.sh.name, error = %e, "cannot read the WAL checkpoint to forget dead series");
                return;
            }
        };
        if c <= self.gc_checkpoint || reading <= c {
            return;
        }
        self.gc_checkpoint = c;
        let live: std::collections::HashSet<u64> = ids.into_iter().collect();
        let before = self.series.len();
        let (pos, to_free) = (self.read_pos, &mut self.to_free);
        self.series.retain(|id, s| {
            let keep = s.segment > c || live.contains(&id);
            if let (false, Some(slot)) = (keep, s.slot) {
                to_free.push((pos, slot));
            }
            keep
        });
        info!(remote_name = %self.sh.name, checkpoint = c, forgotten = before - self.series.len(), "remote-write queue forgot series no longer in the database");
    }

    fn maybe_persist(&mut self, now: bool) {
        if !now && self.last_persist.elapsed() < PERSIST_EVERY {
            return;
        }
        self.last_persist = Instant::now();
        let acked = self.sh.tracker.lock().acked();
        self.free_slots(acked);
        if let Some(p) = acked {
            if Some(p) != self.persisted {
                match position::store(&self.sh.pos_path, p) {
                    Ok(()) => self.persisted = Some(p),
                    Err(e) => {
                        warn!(remote_name = %self.sh.name, file = %self.sh.pos_path.display(), error = %e, "cannot save the remote-write position")
                    }
                }
            }
        }
    }

    /// Frees the slots let go before `acked` (the sent position).
    fn free_slots(&mut self, acked: Option<WalPosition>) {
        let Some(acked) = acked else { return };
        if !self.to_free.iter().any(|(p, _)| *p <= acked) {
            return;
        }
        let mut table = self.sh.table.write();
        let index = &mut self.exemplar_index;
        self.to_free.retain(|&(p, slot)| {
            let done = p <= acked;
            if done {
                if let (Some(ix), Some(s)) = (index.as_mut(), table.get(slot)) {
                    ix.remove(s.hash, slot);
                }
                table.remove(slot);
            }
            !done
        });
    }

    fn handle(&mut self, rec: WalRecord, end: WalPosition, shards: &Shards) {
        match rec {
            WalRecord::Series(entries) => {
                // A 1.0 queue keeps only the encoded labels (see `OutSeries::v1_only`).
                let v2 = self.sh.cfg.protobuf_message == ProtobufMessage::V2;
                let outs: Vec<(u64, Option<OutSeries>)> = entries
                    .into_iter()
                    .map(|e| {
                        let out = self.outgoing(&e.labels).map(|l| {
                            if v2 {
                                OutSeries::new(l)
                            } else {
                                OutSeries::v1_only(&l)
                            }
                        });
                        (e.id, out)
                    })
                    .collect();
                let mut table = self.sh.table.write();
                for (id, out) in outs {
                    let hash = out.as_ref().map_or(0, |o| o.hash);
                    let slot = out.map(|o| table.insert(o));
                    if let (Some(ix), Some(slot)) = (self.exemplar_index.as_mut(), slot) {
                        ix.insert(hash, slot);
                    }
                    let new = SeriesRef {
                        slot,
                        hash,
                        segment: end.segment,
                    };
                    if let Some(SeriesRef { slot: Some(old), .. }) = self.series.insert(id, new) {
                        // Redefined (a checkpoint lists it again): samples queued under
                        // the old slot may still be waiting.
                        self.to_free.push((end, old));
                    }
                }
                drop(table);
                self.sh.tracker.lock().push(end, 0);
            }
            WalRecord::Metadata(entries) => {
                self.sh.meta.write().extend(entries);
                self.sh.tracker.lock().push(end, 0);
            }
            WalRecord::Tombstones(_) => {
                // Remote write has no deletions.
                self.sh.tracker.lock().push(end, 0);
            }
            WalRecord::Samples(samples) => self.dispatch(
                samples.iter().map(|s| (s.id, s.t, SampleValue::Float(s.v))),
                samples.iter().map(|s| s.id),
                false,
                end,
                shards,
            ),
            WalRecord::Histograms(hs) if self.sh.cfg.send_native_histograms => {
                let ids: Vec<u64> = hs.iter().map(|e| e.id).collect();
                self.dispatch(
                    hs.into_iter()
                        .map(|e| (e.id, e.t, SampleValue::Histogram(Box::new(e.h)))),
                    ids.into_iter(),
                    true,
                    end,
                    shards,
                )
            }
            WalRecord::Histograms(_) => {
                // send_native_histograms: false: as Prometheus' WAL watcher, histogram
                // records are skipped (neither sent nor counted as dropped).
                self.sh.tracker.lock().push(end, 0);
            }
            WalRecord::Exemplars(entries) if self.exemplar_index.is_some() => {
                self.dispatch_exemplars(entries, end, shards)
            }
            WalRecord::Exemplars(_) => {
                // send_exemplars: false: skipped, as Prometheus' WAL watcher does.
                self.sh.tracker.lock().push(end, 0);
            }
        }
    }

    /// The labels sent for a series: external labels added (the series' own win), then
    /// `write_relabel_configs`. `None` when relabeling drops it.
    fn outgoing(&self, labels: &Labels) -> Option<Labels> {
        let with_external = if self.external.is_empty() {
            labels.clone()
        } else {
            let mut b = labels.to_builder();
            for l in self.external.iter() {
                if labels.get(&l.name).is_none() {
                    b.set(&l.name, &l.value);
                }
            }
            b.build()
        };
        let out = crate::relabel::relabel(&with_external, &self.sh.cfg.write_relabel_configs)?;
        (!out.is_empty()).then_some(out)
    }

    /// The oldest timestamp still sent (`queue_config.sample_age_limit`; 0 = no limit).
    fn oldest_ok(&self) -> i64 {
        let age_limit = self.sh.cfg.queue_config.sample_age_limit.0;
        if age_limit.is_zero() {
            i64::MIN
        } else {
            now_ms().saturating_sub(age_limit.as_millis() as i64)
        }
    }

    /// Hands the samples (floats, or native histograms when `histograms`) of one record to
    /// the shards of their series, waiting while a shard is full.
    fn dispatch(
        &mut self,
        samples: impl Iterator<Item = (u64, i64, SampleValue)>,
        ids: impl Iterator<Item = u64>,
        histograms: bool,
        end: WalPosition,
        shards: &Shards,
    ) {
        let sh = self.sh.clone();
        let m = &sh.metrics;
        let n = shards.len();
        let oldest_ok = self.oldest_ok();
        let expect = samples.size_hint().0 / n + 1;
        let mut per_shard: Vec<Vec<QueuedSample>> = (0..n).map(|_| Vec::with_capacity(expect)).collect();
        let (mut dropped, mut kept, mut max_t) = (0u64, 0usize, i64::MIN);
        // `ids` runs LOOKUP_AHEAD samples ahead of `samples`.
        let mut ahead = ids;
        for id in ahead.by_ref().take(LOOKUP_AHEAD) {
            self.series.prefetch(id);
        }
        for (id, t, value) in samples {
            if let Some(next) = ahead.next() {
                self.series.prefetch(next);
            }
            let Some(SeriesRef {
                slot: Some(slot),
                hash,
                ..
            }) = self.series.get(&id).copied()
            else {
                dropped += 1;
                continue;
            };
            if t < oldest_ok {
                dropped += 1;
                continue;
            }
            max_t = max_t.max(t);
            kept += 1;
            per_shard[(hash % n as u64) as usize].push(QueuedSample {
                series: slot,
                t,
                value,
                seq: 0,
            });
        }
        let pending = if histograms {
            m.histograms.dropped.fetch_add(dropped, Ordering::Relaxed);
            &m.histograms.pending
        } else {
            m.samples_dropped.fetch_add(dropped, Ordering::Relaxed);
            m.samples_in.fetch_add(kept as u64, Ordering::Relaxed);
            &m.samples_pending
        };
        m.highest_read_ms.fetch_max(max_t, Ordering::Relaxed);
        self.hand_over(per_shard, kept, pending, end, shards);
    }

    /// `send_exemplars: true`: hands the exemplars of one record to the shards of their
    /// series (found by their outgoing labels), as [`Self::dispatch`] does samples.
    fn dispatch_exemplars(&mut self, entries: Vec<ExemplarEntry>, end: WalPosition, shards: &Shards) {
        let sh = self.sh.clone();
        let m = &sh.metrics;
        let n = shards.len() as u64;
        let oldest_ok = self.oldest_ok();
        let mut per_shard: Vec<Vec<QueuedSample>> = (0..n).map(|_| Vec::new()).collect();
        let (mut dropped, mut kept) = (0u64, 0usize);
        {
            let table = sh.table.read();
            for e in entries {
                let found = self.exemplar_index.as_ref().and_then(|ix| {
                    let out = self.outgoing(&e.series)?;
                    ix.find(&out, &table)
                });
                let Some((slot, hash)) = found.filter(|_| e.exemplar.t >= oldest_ok) else {
                    // Relabeled away, unknown series, or too old (as Prometheus counts).
                    dropped += 1;
                    continue;
                };
                kept += 1;
                per_shard[(hash % n) as usize].push(QueuedSample {
                    series: slot,
                    t: e.exemplar.t,
                    value: SampleValue::Exemplar(Box::new(e.exemplar)),
                    seq: 0,
                });
            }
        }
        m.exemplars.dropped.fetch_add(dropped, Ordering::Relaxed);
        self.hand_over(per_shard, kept, &m.exemplars.pending, end, shards);
    }

    /// Gives each shard its part of one record (`kept` items in all, counted in
    /// `pending`), waiting while a shard is full.
    fn hand_over(
        &mut self,
        per_shard: Vec<Vec<QueuedSample>>,
        kept: usize,
        pending: &AtomicI64,
        end: WalPosition,
        shards: &Shards,
    ) {
        let seq = self.sh.tracker.lock().push(end, kept);
        let cap = self.sh.cfg.queue_config.capacity;
        for (i, mut batch) in per_shard.into_iter().enumerate() {
            if batch.is_empty() {
                continue;
            }
            for s in &mut batch {
                s.seq = seq;
            }
            // Wait for room: this is what holds the reading back during an outage.
            while shards.buffered[i].load(Ordering::Acquire) >= cap {
                self.maybe_persist(false);
                if self.nap(Duration::from_millis(5)) {
                    return;
                }
            }
            let len = batch.len();
            shards.buffered[i].fetch_add(len, Ordering::AcqRel);
            pending.fetch_add(len as i64, Ordering::Relaxed);
            if shards.txs[i].send(batch).is_err() {
                shards.buffered[i].fetch_sub(len, Ordering::AcqRel);
                pending.fetch_sub(len as i64, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// What the shard computation measures between two updates (see [`super::shards`]).
struct Rates {
    at: Instant,
    calc: ShardCalc,
    samples_out: u64,
    dropped: u64,
    nanos: u64,
    /// WAL bytes read and samples found in them, since the queue started (the ratio turns
    /// unread bytes into samples).
    bytes_read: u64,
    samples_read: u64,
    /// `bytes_read` and the unread bytes at the last update.
    last_bytes_read: u64,
    last_unread: Option<u64>,
    /// When the shard count last changed.
    last_change: Instant,
}

impl Rates {
    fn new(min_shards: usize, max_shards: usize) -> Self {
        Rates {
            at: Instant::now(),
            calc: ShardCalc::new(min_shards, max_shards),
            samples_out: 0,
            dropped: 0,
            nanos: 0,
            bytes_read: 0,
            samples_read: 0,
            last_bytes_read: 0,
            last_unread: None,
            last_change: Instant::now(),
        }
    }

    fn due(&self) -> bool {
        self.at.elapsed() >= SHARD_UPDATE
    }

    /// Samples per WAL byte in what was read (0 before anything was).
    fn samples_per_byte(&self) -> f64 {
        if self.bytes_read == 0 {
            0.0
        } else {
            self.samples_read as f64 / self.bytes_read as f64
        }
    }

    /// The new shard count, if it should change (never while the remote end fails or when
    /// nothing was sent in the last interval, as Prometheus).
    fn desired(&mut self, sh: &Shared, current: usize, unread_bytes: u64) -> Option<usize> {
        let m = &sh.metrics;
        let secs = self.at.elapsed().as_secs_f64().max(1e-3);
        let out = m.samples_sent.load(Ordering::Relaxed)
            + m.samples_failed.load(Ordering::Relaxed)
            + m.histograms.sent.load(Ordering::Relaxed)
            + m.histograms.failed.load(Ordering::Relaxed)
            + m.exemplars.sent.load(Ordering::Relaxed)
            + m.exemplars.failed.load(Ordering::Relaxed);
        let dropped = m.samples_dropped.load(Ordering::Relaxed)
            + m.histograms.dropped.load(Ordering::Relaxed)
            + m.exemplars.dropped.load(Ordering::Relaxed);
        let nanos = m.send_nanos.load(Ordering::Relaxed);
        let spb = self.samples_per_byte();
        let read = self.bytes_read - self.last_bytes_read;
        let grown = match self.last_unread {
            Some(prev) => (read + unread_bytes).saturating_sub(prev),
            None => read,
        };
        let pending = m.pending() as f64;
        let tick = Tick {
            secs,
            samples_in: grown as f64 * spb,
            samples_out: out - self.samples_out,
            samples_dropped: dropped - self.dropped,
            send_secs: (nanos - self.nanos) as f64 / 1e9,
            backlog: unread_bytes as f64 * spb + pending,
        };
        self.at = Instant::now();
        self.samples_out = out;
        self.dropped = dropped;
        self.nanos = nanos;
        self.last_bytes_read = self.bytes_read;
        self.last_unread = Some(unread_bytes);
        m.backlog_samples.store(tick.backlog as u64, Ordering::Relaxed);
        let d = self.calc.update(&tick, current);
        m.shards_desired_bits
            .store(d.desired.to_bits(), Ordering::Relaxed);
        let stalled = sh
            .last_success
            .lock()
            .is_none_or(|t| t.elapsed() > Duration::from_secs(10));
        let failing = sh
            .last_failure
            .lock()
            .as_ref()
            .is_some_and(|(t, _)| t.elapsed() < Duration::from_secs(10));
        let too_soon = d.shards < current && self.last_change.elapsed() < MIN_DOWNSHARD_GAP;
        if d.shards == current || stalled || failing || too_soon {
            return None;
        }
        self.last_change = Instant::now();
        Some(d.shards)
    }
}

/// WAL bytes after `pos` (the rest of its segment and every later segment).
fn unread_bytes(wal_dir: &Path, pos: WalPosition) -> u64 {
    let Ok(dir) = std::fs::read_dir(wal_dir) else {
        return 0;
    };
    let mut total = 0;
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(idx) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if idx < pos.segment {
            continue;
        }
        let len = e.metadata().map(|m| m.len()).unwrap_or(0);
        total += if idx == pos.segment {
            len.saturating_sub(pos.offset)
        } else {
            len
        };
    }
    total
}

/// A shard: batches what the reader hands it and sends one batch at a time.
async fn shard_loop(
    sh: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Vec<QueuedSample>>,
    buffered: Arc<AtomicUsize>,
    mut hard: watch::Receiver<bool>,
) {
    let max = sh.cfg.queue_config.max_samples_per_send.max(1);
    let deadline = sh.cfg.queue_config.batch_send_deadline.0;
    let mut leftover: VecDeque<QueuedSample> = VecDeque::new();
    let mut encoder = BatchEncoder::default();
    let mut closed = false;
    loop {
        if leftover.is_empty() {
            if closed {
                return;
            }
            match rx.recv().await {
                Some(v) => leftover.extend(v),
                None => return,
            }
        }
        let until = tokio::time::Instant::now() + deadline;
        while leftover.len() < max && !closed {
            let flush = sh.flush.notified();
            tokio::select! {
                r = tokio::time::timeout_at(until, rx.recv()) => match r {
                    Ok(Some(v)) => leftover.extend(v),
                    Ok(None) => closed = true,
                    Err(_) => break,
                },
                // The reader has read the whole WAL: nothing more is coming soon, so a
                // partial batch goes now rather than at the deadline.
                _ = flush => break,
            }
        }
        let take = leftover.len().min(max);
        let batch = &leftover.make_contiguous()[..take];
        if !send_batch(&sh, batch, &mut encoder, &mut hard).await {
            return;
        }
        leftover.drain(..take);
        buffered.fetch_sub(take, Ordering::AcqRel);
    }
}

/// Float samples, histograms and exemplars in a batch.
fn kinds(batch: &[QueuedSample]) -> (u64, u64, u64) {
    let (mut h, mut e) = (0, 0);
    for s in batch {
        h += u64::from(s.is_histogram());
        e += u64::from(s.is_exemplar());
    }
    (batch.len() as u64 - h - e, h, e)
}

/// Marks a batch's samples done in the tracker.
fn complete(sh: &Shared, batch: &[QueuedSample], (floats, histograms, exemplars): (u64, u64, u64)) {
    let m = &sh.metrics;
    m.samples_pending.fetch_sub(floats as i64, Ordering::Relaxed);
    m.histograms
        .pending
        .fetch_sub(histograms as i64, Ordering::Relaxed);
    m.exemplars.pending.fetch_sub(exemplars as i64, Ordering::Relaxed);
    let mut t = sh.tracker.lock();
    let mut i = 0;
    while i < batch.len() {
        let seq = batch[i].seq;
        let mut j = i + 1;
        while j < batch.len() && batch[j].seq == seq {
            j += 1;
        }
        t.done(seq, j - i);
        i = j;
    }
}

/// Encodes a batch in the protocol the queue sends now.
fn encode_batch(sh: &Shared, batch: &[QueuedSample], encoder: &mut BatchEncoder) -> (ProtobufMessage, Bytes) {
    let msg = sh.message();
    let meta = (msg == ProtobufMessage::V2 && sh.cfg.metadata_config.send).then(|| sh.meta.read());
    let table = sh.table.read();
    let (body, _raw) = encoder.encode(msg, batch, &table, meta.as_deref());
    (msg, body)
}

/// Sends one batch until it is accepted or refused. `false` when told to give up first.
async fn send_batch(
    sh: &Shared,
    batch: &[QueuedSample],
    encoder: &mut BatchEncoder,
    hard: &mut watch::Receiver<bool>,
) -> bool {
    let (mut msg, mut body) = encode_batch(sh, batch, encoder);
    let m = &sh.metrics;
    let (floats, histograms, exemplars) = kinds(batch);
    let q = &sh.cfg.queue_config;
    let mut backoff = Backoff::new(q.min_backoff.0, q.max_backoff.0);
    let mut attempt = 0u64;
    loop {
        let started = Instant::now();
        let len = body.len() as u64;
        let r = tokio::select! {
            r = sh.sender.send(body.clone(), msg) => r,
            _ = hard.wait_for(|s| *s) => return false,
        };
        m.send_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        match r {
            Ok(()) => {
                m.samples_sent.fetch_add(floats, Ordering::Relaxed);
                m.histograms.sent.fetch_add(histograms, Ordering::Relaxed);
                m.exemplars.sent.fetch_add(exemplars, Ordering::Relaxed);
                m.bytes_sent.fetch_add(len, Ordering::Relaxed);
                m.requests_sent.fetch_add(1, Ordering::Relaxed);
                let max_t = batch
                    .iter()
                    .filter(|s| !s.is_exemplar())
                    .map(|s| s.t)
                    .max()
                    .unwrap_or(i64::MIN);
                m.highest_sent_ms.fetch_max(max_t, Ordering::Relaxed);
                *sh.last_success.lock() = Some(Instant::now());
                if attempt > 0 {
                    info!(remote_name = %sh.name, attempts = attempt + 1, "remote write succeeded after retrying");
                    *sh.last_failure.lock() = None;
                }
                complete(sh, batch, (floats, histograms, exemplars));
                return true;
            }
            Err(SendError::UnsupportedMediaType(message)) if msg == ProtobufMessage::V2 => {
                // Remote write 2.0: a receiver that answers 415 does not speak 2.0; send
                // 1.0 to it from now on (until the queue restarts).
                if !sh.downgraded.swap(true, Ordering::SeqCst) {
                    warn!(remote_name = %sh.name, url = %sh.cfg.url, error = %message, "the receiver refused remote write 2.0 (415 Unsupported Media Type); falling back to remote write 1.0 (prometheus.WriteRequest) for this queue");
                }
                (msg, body) = encode_batch(sh, batch, encoder);
                continue;
            }
            Err(SendError::Retryable { message, retry_after }) => {
                m.requests_failed.fetch_add(1, Ordering::Relaxed);
                m.samples_retried.fetch_add(floats, Ordering::Relaxed);
                m.histograms.retried.fetch_add(histograms, Ordering::Relaxed);
                m.exemplars.retried.fetch_add(exemplars, Ordering::Relaxed);
                if attempt.is_multiple_of(20) {
                    warn!(remote_name = %sh.name, url = %sh.cfg.url, attempt = attempt + 1, error = %message, "remote write failed; retrying with backoff");
                }
                *sh.last_failure.lock() = Some((Instant::now(), message));
                let d = backoff.delay(retry_after);
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = hard.wait_for(|s| *s) => return false,
                }
            }
            Err(SendError::Rejected(message) | SendError::UnsupportedMediaType(message)) => {
                m.requests_failed.fetch_add(1, Ordering::Relaxed);
                m.samples_failed.fetch_add(floats, Ordering::Relaxed);
                m.histograms.failed.fetch_add(histograms, Ordering::Relaxed);
                m.exemplars.failed.fetch_add(exemplars, Ordering::Relaxed);
                error!(remote_name = %sh.name, url = %sh.cfg.url, samples = floats, histograms, exemplars, error = %message, "remote write refused; dropping the batch (not retried)");
                *sh.last_failure.lock() = Some((Instant::now(), message));
                complete(sh, batch, (floats, histograms, exemplars));
                return true;
            }
        }
        attempt += 1;
    }
}

/// 1.0 queues (and 2.0 queues fallen back to 1.0): sends every known metric family's
/// metadata every `send_interval`, as Prometheus' 1.0 queues do; 2.0 sends it inline.
async fn metadata_loop(sh: Arc<Shared>) {
    let mc = sh.cfg.metadata_config.clone();
    let mut tick = tokio::time::interval(mc.send_interval.0.max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if sh.stop.load(Ordering::Relaxed) {
            return;
        }
        if sh.message() != ProtobufMessage::V1 {
            continue;
        }
        let entries: Vec<(String, MetricMetadata)> = {
            let g = sh.meta.read();
            let mut v: Vec<_> = g.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        for chunk in entries.chunks(mc.max_samples_per_send.max(1)) {
            let body = encode::encode_metadata(chunk);
            match sh.sender.send(body, ProtobufMessage::V1).await {
                Ok(()) => {
                    sh.metrics
                        .metadata_sent
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    sh.metrics
                        .metadata_failed
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    warn!(remote_name = %sh.name, error = %e, "sending metadata failed; trying again at the next interval");
                    break;
                }
            }
        }
    }
}
