//! WAL replay: the newest checkpoint, then every later segment, in order. A torn or corrupt
//! tail is cut off (the file is truncated at the damage) with a warning that says how much
//! was dropped; replay never panics on bad bytes.

use super::record::{self, Frame, Record};
use super::segment::{self, HEADER_LEN};
use crate::error::DbError;
use std::fs::{self, OpenOptions};
use std::path::Path;
use std::sync::Arc;
use tracing::{info, warn};

/// What is known about one segment after replay or while writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentInfo {
    /// Segment index (file name).
    pub(crate) index: u64,
    /// Bytes on disk.
    pub(crate) bytes: u64,
    /// Newest sample timestamp in it (`i64::MIN` if it holds no samples).
    pub(crate) max_t: i64,
}

/// The result of a replay.
#[derive(Debug, Default)]
pub(crate) struct ReplayOutcome {
    /// Surviving segments, in order.
    pub(crate) segments: Vec<SegmentInfo>,
    /// Highest index in use (segment or checkpoint); the writer continues after it.
    pub(crate) last_index: u64,
    /// Index of the checkpoint replayed, if any.
    pub(crate) checkpoint: Option<u64>,
    /// Records handed to the handler.
    pub(crate) records: u64,
    /// Bytes cut off because of damage.
    pub(crate) dropped_bytes: u64,
}

fn io_err(context: String) -> impl FnOnce(std::io::Error) -> DbError {
    move |source| DbError::Io { context, source }
}

/// Replays the WAL in `dir` (created if missing), calling `handle` for every record in order.
pub(crate) fn replay(
    dir: &Path,
    intern: &mut dyn FnMut(&str) -> Arc<str>,
    handle: &mut dyn FnMut(Record),
) -> Result<ReplayOutcome, DbError> {
    fs::create_dir_all(dir).map_err(io_err(format!("creating WAL directory {}", dir.display())))?;
    let listing = segment::list(dir).map_err(io_err(format!("listing WAL directory {}", dir.display())))?;
    for t in &listing.temporaries {
        warn!(file = %t.display(), "removing leftover temporary WAL file of an interrupted checkpoint");
        fs::remove_file(t).map_err(io_err(format!("removing {}", t.display())))?;
    }
    let mut out = ReplayOutcome::default();
    if let Some(&cp) = listing.checkpoints.last() {
        let path = segment::checkpoint_path(dir, cp);
        info!(checkpoint = %path.display(), "replaying WAL checkpoint");
        let buf = fs::read(&path).map_err(io_err(format!("reading {}", path.display())))?;
        let (n, _, damage) = replay_buffer(&buf, intern, handle);
        out.records += n;
        if let Some(d) = damage {
            warn!(
                file = %path.display(), offset = d.offset, reason = %d.reason,
                dropped_bytes = d.dropped_bytes, dropped_records_after = d.records_after,
                "WAL checkpoint is damaged; series defined past the damage are lost, samples referring to them will be skipped"
            );
        }
        out.checkpoint = Some(cp);
        out.last_index = cp;
        for &old in listing.checkpoints.iter().filter(|&&c| c < cp) {
            let p = segment::checkpoint_path(dir, old);
            fs::remove_file(&p).map_err(io_err(format!("removing old checkpoint {}", p.display())))?;
        }
    }
    let floor = out.checkpoint.unwrap_or(0);
    let mut todo = Vec::new();
    for &s in &listing.segments {
        if s <= floor {
            // Already covered by the checkpoint; deletion was interrupted.
            let p = segment::segment_path(dir, s);
            fs::remove_file(&p).map_err(io_err(format!("removing checkpointed segment {}", p.display())))?;
        } else {
            todo.push(s);
        }
    }
    let total = todo.len();
    for (i, &s) in todo.iter().enumerate() {
        let path = segment::segment_path(dir, s);
        let buf = fs::read(&path).map_err(io_err(format!("reading WAL segment {}", path.display())))?;
        info!(segment = s, progress = %format!("{}/{}", i + 1, total), bytes = buf.len(), "replaying WAL segment");
        out.last_index = out.last_index.max(s);
        if let Err(reason) = segment::check_header(&buf) {
            warn!(
                file = %path.display(), reason = %reason, dropped_bytes = buf.len(),
                "WAL segment has a damaged header; removing it"
            );
            out.dropped_bytes += buf.len() as u64;
            fs::remove_file(&path).map_err(io_err(format!("removing {}", path.display())))?;
            continue;
        }
        let (n, max_t, damage) = replay_buffer(&buf, intern, handle);
        out.records += n;
        let mut bytes = buf.len() as u64;
        if let Some(d) = damage {
            warn!(
                file = %path.display(), offset = d.offset, reason = %d.reason,
                dropped_bytes = d.dropped_bytes, dropped_records = 1 + d.records_after,
                "WAL segment has a torn or corrupt tail; truncating it: {} bytes dropped (the damaged record and {} intact records after it)",
                d.dropped_bytes, d.records_after
            );
            out.dropped_bytes += d.dropped_bytes;
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(io_err(format!("opening {} to truncate it", path.display())))?;
            f.set_len(d.offset as u64)
                .and_then(|_| f.sync_all())
                .map_err(io_err(format!("truncating {} at {}", path.display(), d.offset)))?;
            bytes = d.offset as u64;
        }
        out.segments.push(SegmentInfo {
            index: s,
            bytes,
            max_t,
        });
    }
    info!(records = out.records, segments = total, "WAL replay done");
    Ok(out)
}

/// Where and why a buffer stopped being readable.
struct Damage {
    offset: usize,
    reason: String,
    dropped_bytes: u64,
    /// Intact-looking records found after the damaged one (lost with it).
    records_after: u64,
}

/// Replays the frames of one file (after its header). Returns records handled, newest
/// sample timestamp and the damage, if any.
fn replay_buffer(
    buf: &[u8],
    intern: &mut dyn FnMut(&str) -> Arc<str>,
    handle: &mut dyn FnMut(Record),
) -> (u64, i64, Option<Damage>) {
    let mut off = HEADER_LEN;
    let mut n = 0;
    let mut max_t = i64::MIN;
    if segment::check_header(buf).is_err() {
        return (
            0,
            max_t,
            Some(Damage {
                offset: 0,
                reason: "bad header".into(),
                dropped_bytes: buf.len() as u64,
                records_after: 0,
            }),
        );
    }
    loop {
        match record::next_frame(buf, off) {
            Frame::End => return (n, max_t, None),
            Frame::Ok { ty, payload, next } => match record::decode(ty, payload, intern) {
                Ok(rec) => {
                    if let Record::Samples(s) = &rec {
                        max_t = s.iter().fold(max_t, |m, x| m.max(x.t));
                    }
                    handle(rec);
                    n += 1;
                    off = next;
                }
                Err(reason) => {
                    let after = count_after(buf, next);
                    return (
                        n,
                        max_t,
                        Some(damage(buf, off, format!("undecodable record: {reason}"), after)),
                    );
                }
            },
            Frame::Damaged { reason, claimed_len } => {
                let after = claimed_len.map_or(0, |l| count_after(buf, off + record::FRAME_HEADER_LEN + l));
                return (n, max_t, Some(damage(buf, off, reason, after)));
            }
        }
    }
}

fn damage(buf: &[u8], offset: usize, reason: String, records_after: u64) -> Damage {
    Damage {
        offset,
        reason,
        dropped_bytes: (buf.len() - offset) as u64,
        records_after,
    }
}

/// Counts the intact frames from `off` on (to report what a truncation loses).
fn count_after(buf: &[u8], mut off: usize) -> u64 {
    let mut n = 0;
    while let Frame::Ok { next, .. } = record::next_frame(buf, off) {
        n += 1;
        off = next;
    }
    n
}
