//! Checkpoints: once every sample of the oldest segments is persisted in blocks, the series
//! and metadata those segments defined, and the exemplars held in memory, are rewritten into
//! one `checkpoint.N` file and the segments up to `N` are deleted.

use super::reader::SegmentInfo;
use super::record::{self, ExemplarEntry, SeriesEntry};
use super::segment::{self, HEADER_LEN};
use super::writer::Writer;
use crate::model::MetricMetadata;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use tracing::info;

/// Series per series record in a checkpoint.
const SERIES_PER_RECORD: usize = 4096;

/// What a checkpoint keeps: the state still alive that the dropped segments logged.
#[derive(Clone, Debug, Default)]
pub(crate) struct CheckpointContents {
    /// The series still in the head.
    pub(crate) series: Vec<SeriesEntry>,
    /// The metadata per metric family.
    pub(crate) metadata: Vec<(String, MetricMetadata)>,
    /// The exemplars held in memory, oldest first (they have no other copy on disk).
    pub(crate) exemplars: Vec<ExemplarEntry>,
}

/// What a checkpoint removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Segments deleted.
    pub segments_removed: usize,
    /// Bytes freed (segments) minus the checkpoint's size.
    pub bytes_removed: u64,
    /// Series written to the checkpoint.
    pub series_kept: usize,
}

impl Writer {
    /// Checkpoints the longest prefix of closed segments whose samples are all older than
    /// `floor` (already in blocks). `live` yields the series and metadata still in the head
    /// and the exemplars held; it is called only once the segments to drop are chosen, so
    /// everything they logged that is still alive is in its answer.
    pub(crate) fn checkpoint(
        &self,
        floor: i64,
        live: impl FnOnce() -> CheckpointContents,
    ) -> io::Result<CheckpointStats> {
        self.checkpoint_prefix(|s| s.max_t < floor, live)
    }

    /// Checkpoints the longest prefix of closed segments that `drop` accepts.
    pub(crate) fn checkpoint_prefix(
        &self,
        drop: impl Fn(&SegmentInfo) -> bool,
        live: impl FnOnce() -> CheckpointContents,
    ) -> io::Result<CheckpointStats> {
        let cut: Vec<SegmentInfo> = {
            let st = self.state.lock();
            st.closed.iter().take_while(|s| drop(s)).copied().collect()
        };
        let Some(last) = cut.last().map(|s| s.index) else {
            return Ok(CheckpointStats::default());
        };
        let CheckpointContents {
            series,
            metadata,
            exemplars,
        } = live();
        let mut buf = segment::header().to_vec();
        for part in series.chunks(SERIES_PER_RECORD) {
            record::encode_series(&mut buf, part);
        }
        record::encode_metadata(&mut buf, &metadata);
        record::encode_exemplars(&mut buf, &exemplars);
        if self.compress {
            let mut packed = segment::header().to_vec();
            record::compress_frames(&buf[HEADER_LEN..], &mut packed, &mut snap::raw::Encoder::new());
            buf = packed;
        }
        let final_path = segment::checkpoint_path(&self.dir, last);
        let tmp = final_path.with_extension(format!("{last:08}.tmp"));
        {
            let mut f = OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &final_path)?;
        segment::sync_dir(&self.dir)?;
        let mut freed = 0;
        for s in &cut {
            let p = segment::segment_path(&self.dir, s.index);
            freed += s.bytes;
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let listing = segment::list(&self.dir)?;
        let mut old_cp = 0;
        for c in listing.checkpoints.into_iter().filter(|&c| c < last) {
            let p = segment::checkpoint_path(&self.dir, c);
            old_cp += segment::file_size(&p);
            fs::remove_file(p)?;
        }
        segment::sync_dir(&self.dir)?;
        {
            let mut st = self.state.lock();
            st.closed.retain(|s| s.index > last);
            st.checkpoint_bytes = buf.len() as u64;
        }
        info!(
            checkpoint = %final_path.display(), segments_removed = cut.len(), series = series.len(),
            exemplars = exemplars.len(), "WAL checkpoint written; old segments removed"
        );
        Ok(CheckpointStats {
            segments_removed: cut.len(),
            bytes_removed: (freed + old_cp).saturating_sub(buf.len() as u64),
            series_kept: series.len(),
        })
    }
}
