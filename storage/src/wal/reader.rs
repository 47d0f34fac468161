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
        info!(file = %t.display(), "removing leftover temporary WAL file of an interrupted checkpoint or segment creation");
        fs::remove_file(t).map_err(io_err(format!("removing {}", t.display())))?;
    }
    let mut out = ReplayOutcome::default();
    if let Some(&cp) = listing.checkpoints.last() {
        let path = segment::checkpoint_path(dir, cp);
        info!(checkpoint = %path.display(), "replaying WAL checkpoint");
        let buf = fs::read(&path).map_err(io_err(format!("reading {}", path.display())))?;
        let rep = replay_buffer(&buf, intern, handle);
        out.records += rep.records;
        for d in &rep.skipped {
            warn!(
                file = %path.display(), offset = d.offset, reason = %d.reason, dropped_bytes = d.dropped_bytes,
                "WAL checkpoint has a damaged record; skipped it, the intact records after it are kept"
            );
            out.dropped_bytes += d.dropped_bytes;
        }
        if let Some(d) = rep.tail {
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
        let rep = replay_buffer(&buf, intern, handle);
        out.records += rep.records;
        let max_t = rep.max_t;
        for d in &rep.skipped {
            warn!(
                file = %path.display(), offset = d.offset, reason = %d.reason, dropped_bytes = d.dropped_bytes,
                intact_records_after = d.records_after,
                "WAL segment has a damaged record (a flipped byte, not a torn write); skipped that record, the intact records after it are kept"
            );
            out.dropped_bytes += d.dropped_bytes;
        }
        let mut bytes = buf.len() as u64;
        if let Some(d) = rep.tail {
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

/// How one file replayed: records handled, newest sample timestamp, damaged records that
/// were skipped because intact records follow them, and the damage that ends the file.
struct Replayed {
    records: u64,
    max_t: i64,
    skipped: Vec<Damage>,
    tail: Option<Damage>,
}

/// Whether every frame from `off` to the end of `buf` is intact.
fn intact_to_end(buf: &[u8], mut off: usize) -> bool {
    loop {
        match record::next_frame(buf, off) {
            Frame::End => return true,
            Frame::Ok { next, .. } => off = next,
            Frame::Damaged { .. } => return false,
        }
    }
}

/// Replays the frames of one file (after its header).
///
/// A record whose checksum fails but whose length is intact, followed by nothing but intact
/// records up to the end of the file, is a flipped byte rather than a torn write: only that
/// record is skipped and replay goes on. Any other damage ends the file there.
fn replay_buffer(
    buf: &[u8],
    intern: &mut dyn FnMut(&str) -> Arc<str>,
    handle: &mut dyn FnMut(Record),
) -> Replayed {
    let mut off = HEADER_LEN;
    let mut r = Replayed {
        records: 0,
        max_t: i64::MIN,
        skipped: Vec::new(),
        tail: None,
    };
    if segment::check_header(buf).is_err() {
        r.tail = Some(Damage {
            offset: 0,
            reason: "bad header".into(),
            dropped_bytes: buf.len() as u64,
            records_after: 0,
        });
        return r;
    }
    loop {
        match record::next_frame(buf, off) {
            Frame::End => return r,
            Frame::Ok { ty, payload, next } => match record::decode(ty, payload, intern) {
                Ok(rec) => {
                    match &rec {
                        Record::Samples(s) => r.max_t = s.iter().fold(r.max_t, |m, x| m.max(x.t)),
                        Record::Histograms(s) => r.max_t = s.iter().fold(r.max_t, |m, x| m.max(x.t)),
                        _ => {}
                    }
                    handle(rec);
                    r.records += 1;
                    off = next;
                }
                Err(reason) => {
                    let reason = format!("undecodable record: {reason}");
                    if intact_to_end(buf, next) {
                        r.skipped.push(skipped(buf, off, next, reason));
                        off = next;
                        continue;
                    }
                    let after = count_after(buf, next);
                    r.tail = Some(damage(buf, off, reason, after));
                    return r;
                }
            },
            Frame::Damaged { reason, claimed_len } => {
                let next = claimed_len.map(|l| off + record::FRAME_HEADER_LEN + l);
                if let Some(next) = next.filter(|&n| n < buf.len() && intact_to_end(buf, n)) {
                    r.skipped.push(skipped(buf, off, next, reason));
                    off = next;
                    continue;
                }
                let after = next.map_or(0, |n| count_after(buf, n));
                r.tail = Some(damage(buf, off, reason, after));
                return r;
            }
        }
    }
}

/// A damaged record from `offset` to `next` that is skipped (intact records follow it).
fn skipped(buf: &[u8], offset: usize, next: usize, reason: String) -> Damage {
    Damage {
        offset,
        reason,
        dropped_bytes: (next - offset) as u64,
        records_after: count_after(buf, next),
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

/// What [`scan`] found in one WAL file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanOutcome {
    /// Intact records before the damage (or in the whole file).
    pub records: u64,
    /// The first damage: byte offset and what was wrong.
    pub damage: Option<(u64, String)>,
}

/// Decodes every record of one WAL segment or checkpoint file's bytes without changing
/// anything: the read-only check behind `sextant check`, and the fuzzing entry point.
pub fn scan(buf: &[u8]) -> ScanOutcome {
    let mut interned = std::collections::HashMap::<String, Arc<str>>::new();
    let mut intern = |s: &str| -> Arc<str> {
        if let Some(a) = interned.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        interned.insert(s.to_string(), a.clone());
        a
    };
    let rep = replay_buffer(buf, &mut intern, &mut |_| {});
    ScanOutcome {
        records: rep.records,
        damage: rep
            .skipped
            .into_iter()
            .chain(rep.tail)
            .next()
            .map(|d| (d.offset as u64, d.reason)),
    }
}
