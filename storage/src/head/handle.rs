//! [`SeriesHandle`]: a caller's direct hold on a head series, so that later batches append to
//! it without looking it up by reference or by labels.

use super::series::MemSeries;
use crate::model::{Labels, SeriesRef};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Numbers the heads of the process, so a handle is only used with the head that gave it.
static NEXT_HEAD_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh head identity.
pub(crate) fn next_head_id() -> u64 {
    NEXT_HEAD_ID.fetch_add(1, Ordering::Relaxed)
}

/// A series of the head, held directly ([`crate::Appender::handle`]). Cheap to clone.
///
/// A handle stays valid for appends as long as its series is in the head; once garbage
/// collection has dropped the series, [`crate::Appender::append_to`] says so and the caller
/// appends by labels instead. It keeps the series' memory alive while it is held.
#[derive(Clone)]
pub struct SeriesHandle {
    pub(crate) series: Arc<MemSeries>,
    /// The head it came from.
    pub(crate) head: u64,
}

impl std::fmt::Debug for SeriesHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesHandle")
            .field("ref", &self.series.id)
            .field("labels", &self.series.labels)
            .finish()
    }
}

impl SeriesHandle {
    /// The series' labels, as the head keeps them.
    pub fn labels(&self) -> &Labels {
        &self.series.labels
    }

    /// The series' reference in the head.
    pub fn series_ref(&self) -> SeriesRef {
        SeriesRef(self.series.id)
    }

    /// Starts loading the series, which an append reads first, for a caller that will
    /// append to it shortly. Reads nothing itself.
    #[inline]
    pub fn prefetch(&self) {
        // The reference counts sit just before the series, and an append reads up to its
        // open chunk's buffer: the first lines of the allocation.
        let p = Arc::as_ptr(&self.series).cast::<u8>();
        for off in [-16isize, 48, 112] {
            crate::prefetch::prefetch(p.wrapping_offset(off));
        }
    }
}
