//! The set of queues, one per `remote_write` entry, replaced on configuration reload.

use super::config::{self, RemoteWriteConfig};
use super::metrics::{self, QueueLabels};
use super::queue::{Queue, QueueStatus};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use storage::Labels;
use tracing::{info, warn};

/// How long a stopping queue may keep sending what it holds.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// Runs the remote-write queues of the current configuration.
#[derive(Debug)]
pub struct ForwardManager {
    data_dir: PathBuf,
    wal_dir: PathBuf,
    queues: tokio::sync::Mutex<Vec<(Arc<Queue>, Labels)>>,
    /// A copy for synchronous readers (metrics, status pages).
    snapshot: parking_lot::RwLock<Vec<Arc<Queue>>>,
    flush_deadline: Duration,
}

impl ForwardManager {
    /// A manager whose queues read the WAL in `wal_dir` and keep their positions under
    /// `data_dir/forward/`.
    pub fn new(data_dir: &Path, wal_dir: &Path) -> Self {
        ForwardManager {
            data_dir: data_dir.to_path_buf(),
            wal_dir: wal_dir.to_path_buf(),
            queues: tokio::sync::Mutex::new(Vec::new()),
            snapshot: parking_lot::RwLock::new(Vec::new()),
            flush_deadline: FLUSH_DEADLINE,
        }
    }

    /// Sets how long stopping queues may keep sending (default [`FLUSH_DEADLINE`]).
    pub fn with_flush_deadline(mut self, d: Duration) -> Self {
        self.flush_deadline = d;
        self
    }

    /// Applies a configuration: queues whose entry and external labels are unchanged keep
    /// running; the others are stopped (their position saved) and started anew, so a changed
    /// queue resumes where the old one stopped.
    pub async fn apply(&self, cfgs: &[RemoteWriteConfig], external_labels: &Labels) -> Result<(), String> {
        config::validate(cfgs).map_err(|e| e.to_string())?;
        let mut queues = self.queues.lock().await;
        let mut keep = Vec::new();
        let mut stop = Vec::new();
        for (q, ext) in queues.drain(..) {
            if ext == *external_labels && cfgs.iter().any(|c| c == q.config()) {
                keep.push((q, ext));
            } else {
                stop.push(q);
            }
        }
        for q in &stop {
            q.stop(self.flush_deadline).await;
        }
        let mut next = Vec::new();
        for c in cfgs {
            if let Some(i) = keep.iter().position(|(q, _)| q.config() == c) {
                next.push(keep.swap_remove(i));
                continue;
            }
            let q = Queue::start(c.clone(), &self.data_dir, &self.wal_dir, external_labels.clone())?;
            next.push((Arc::new(q), external_labels.clone()));
        }
        if !cfgs.is_empty() || !stop.is_empty() {
            info!(queues = next.len(), "remote-write configuration applied");
        }
        // Queues no longer configured (now or before a restart): their WAL positions go, so
        // they neither hold WAL segments back nor resume from a stale place if re-added.
        let keys: Vec<String> = cfgs.iter().map(RemoteWriteConfig::queue_key).collect();
        match super::position::remove_others(&self.data_dir, &keys) {
            Ok(removed) => {
                for f in removed {
                    info!(file = %f.display(), "removed the WAL position of a remote-write queue no longer configured");
                }
            }
            Err(e) => {
                warn!(dir = %self.data_dir.join("forward").display(), error = %e, "cannot clean up the positions of removed remote-write queues")
            }
        }
        *self.snapshot.write() = next.iter().map(|(q, _)| q.clone()).collect();
        *queues = next;
        Ok(())
    }

    /// Stops every queue (flushing for up to the flush deadline, then saving positions).
    pub async fn stop(&self) {
        let mut queues = self.queues.lock().await;
        for (q, _) in queues.iter() {
            q.stop(self.flush_deadline).await;
        }
        queues.clear();
        self.snapshot.write().clear();
    }

    /// The running queues.
    #[cfg(test)]
    pub(crate) fn queues(&self) -> Vec<Arc<Queue>> {
        self.snapshot.read().clone()
    }

    /// Status of each queue.
    pub fn statuses(&self) -> Vec<QueueStatus> {
        self.snapshot.read().iter().map(|q| q.status()).collect()
    }

    /// Number of running queues.
    pub fn len(&self) -> usize {
        self.snapshot.read().len()
    }

    /// Whether no queue runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lowest WAL segment some queue still needs (the segment of its sent position), or
    /// `None` when a queue has not sent anything yet (nothing may be dropped) or there is
    /// no queue (`Some(u64::MAX)`: everything may go).
    pub fn min_needed_segment(&self) -> Option<u64> {
        let qs = self.snapshot.read();
        let mut min = u64::MAX;
        for q in qs.iter() {
            min = min.min(q.acked()?.segment);
        }
        Some(min)
    }

    /// Appends the queues' `prometheus_remote_storage_*` metrics in the text format;
    /// `highest_ingested_ms` is the newest sample timestamp the database holds, if known.
    pub fn render_metrics(&self, out: &mut storage::metrics::Exposition, highest_ingested_ms: Option<i64>) {
        let qs = self.snapshot.read();
        let labels: Vec<(QueueLabels<'_>, &super::metrics::QueueMetrics)> = qs
            .iter()
            .map(|q| {
                let c = q.config();
                (
                    QueueLabels {
                        name: q.name(),
                        url: &c.url,
                        min_shards: c.queue_config.min_shards,
                        max_shards: c.queue_config.max_shards,
                        max_samples_per_send: c.queue_config.max_samples_per_send,
                        capacity: c.queue_config.capacity,
                    },
                    q.metrics(),
                )
            })
            .collect();
        metrics::render(out, &labels, highest_ingested_ms);
    }
}
