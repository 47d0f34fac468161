//! Background threads: the WAL fsync timer, the head spill timer and the maintenance loop.

use super::Inner;
use crate::head::{MIN_SPILL_BYTES, SPILL_INTERVAL};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::error;

/// How often maintenance runs when nothing wakes it.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Default)]
struct State {
    stop: bool,
    wake: bool,
}

#[derive(Default)]
struct Signal {
    state: Mutex<State>,
    cv: Condvar,
}

impl Signal {
    /// Waits up to `d` or until woken; `None` when told to stop.
    fn wait(&self, d: Duration, consume_wake: bool) -> Option<()> {
        let mut st = self.state.lock();
        if !(st.stop || (consume_wake && st.wake)) {
            self.cv.wait_for(&mut st, d);
        }
        if st.stop {
            return None;
        }
        if consume_wake {
            st.wake = false;
        }
        Some(())
    }
}

/// The running background threads.
pub(crate) struct Background {
    signal: Arc<Signal>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Background {
    /// Starts the fsync timer (unless fsync is per commit), the head spill timer (when the
    /// head spills) and the maintenance loop.
    pub(crate) fn start(inner: &Arc<Inner>) -> Background {
        let signal = Arc::new(Signal::default());
        let mut threads = Vec::new();
        let interval = inner.opts.wal_fsync_interval;
        if !interval.is_zero() {
            let (db, sig) = (inner.clone(), signal.clone());
            let spawned = std::thread::Builder::new()
                .name("sextant-wal-fsync".into())
                .spawn(move || {
                    while sig.wait(interval, false).is_some() {
                        if let Err(e) = db.wal.sync() {
                            error!(error = %e, "periodic WAL fsync failed");
                        }
                    }
                });
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    error!(error = %e, "cannot start the WAL fsync thread; fsync happens on close only")
                }
            }
        }
        if inner.head.spill.is_some() {
            let (db, sig) = (inner.clone(), signal.clone());
            let spawned = std::thread::Builder::new()
                .name("sextant-head-spill".into())
                .spawn(move || {
                    while sig.wait(SPILL_INTERVAL, false).is_some() {
                        db.head.spill_closed_chunks(MIN_SPILL_BYTES);
                    }
                });
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    error!(error = %e, "cannot start the head spill thread; closed head chunks stay in memory")
                }
            }
        }
        let (db, sig) = (inner.clone(), signal.clone());
        let spawned = if !inner.opts.auto_maintenance {
            Ok(None)
        } else {
            std::thread::Builder::new()
                .name("sextant-tsdb-maintenance".into())
                .spawn(move || {
                    db.verify_blocks();
                    db.maintain();
                    while sig.wait(MAINTENANCE_INTERVAL, true).is_some() {
                        db.maintain();
                    }
                })
                .map(Some)
        };
        match spawned {
            Ok(Some(h)) => threads.push(h),
            Ok(None) => {}
            Err(e) => error!(error = %e, "cannot start the maintenance thread; no blocks will be cut"),
        }
        Background {
            signal,
            threads: Mutex::new(threads),
        }
    }

    /// Wakes maintenance if the head has grown past 1.5 block ranges.
    pub(crate) fn maybe_wake(&self, inner: &Inner) {
        if inner.head_needs_cut() {
            let mut st = self.signal.state.lock();
            if !st.wake {
                st.wake = true;
                self.signal.cv.notify_all();
            }
        }
    }

    /// Stops and joins the threads (idempotent).
    pub(crate) fn stop(&self) {
        self.signal.state.lock().stop = true;
        self.signal.cv.notify_all();
        for h in self.threads.lock().drain(..) {
            if h.join().is_err() {
                error!("a storage background thread panicked");
            }
        }
    }
}
