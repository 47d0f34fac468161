//! Following the WAL from a position, as remote-write queues do: every record in log order,
//! across segment roll-overs, while the database keeps writing.
//!
//! A follower reads the newest checkpoint (series still alive from deleted segments), then the
//! segments in order, and keeps polling the active one. A record is handed out with the
//! position just after it, which a consumer persists once everything up to it has been dealt
//! with; [`Resume::At`] restarts there. Series and metadata records before the resume point are
//! still handed out (a consumer needs them to resolve references); samples and tombstones before
//! it are not.
//!
//! Segments deleted by a checkpoint while the follower lags (the database cut blocks and
//! truncated the WAL) cannot be read any more: the follower jumps to the checkpoint, logs a
//! warning and counts the segments it skipped ([`FollowerStats::segments_skipped`]), as
//! Prometheus' WAL watcher does. A segment already open keeps being readable after deletion.

use super::record::{self, Frame, Record};
use super::segment::{self, HEADER_LEN};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::warn;

/// A place in the WAL: segment index and byte offset in that segment file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalPosition {
    /// Segment index (the file name, `00000012` = 12).
    pub segment: u64,
    /// Byte offset in the segment (the header is 8 bytes, so records start at 8).
    pub offset: u64,
}

impl std::fmt::Display for WalPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08}:{}", self.segment, self.offset)
    }
}

/// Where a follower starts handing out samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Everything still in the WAL.
    Beginning,
    /// Only what is written after the follower caught up with the WAL as it was when opened.
    End,
    /// From this position (a position returned with an earlier record).
    At(WalPosition),
}

/// Counters of a follower.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FollowerStats {
    /// Records handed out.
    pub records: u64,
    /// Segments that were deleted before the follower read them (data lost to this consumer).
    pub segments_skipped: u64,
    /// Bytes skipped because they were damaged.
    pub damaged_bytes: u64,
}

/// Most bytes read from a segment at once.
const READ_CHUNK: usize = 4 << 20;

/// Reads the WAL in `dir` record by record (see the module documentation).
pub struct WalFollower {
    dir: PathBuf,
    /// Current segment (0 before the first one is opened).
    seg: u64,
    file: Option<File>,
    /// Unconsumed bytes of `file`, starting at file offset `buf_base`.
    buf: Vec<u8>,
    buf_base: u64,
    /// Next frame's index in `buf`.
    at: usize,
    /// Entries queued before the segments' (checkpoint contents).
    queued: VecDeque<(Record, WalPosition)>,
    /// Samples before this position are not handed out.
    skip_before: Option<WalPosition>,
    /// `Resume::End`: samples are handed out only once the follower has caught up.
    until_caught_up: bool,
    stats: FollowerStats,
}

impl std::fmt::Debug for WalFollower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalFollower")
            .field("dir", &self.dir)
            .field("position", &self.position())
            .finish()
    }
}

fn intern(s: &str) -> Arc<str> {
    Arc::from(s)
}

impl WalFollower {
    /// Opens a follower of the WAL directory `dir` (`<data>/wal`), starting as `resume` says.
    pub fn open(dir: &Path, resume: Resume) -> io::Result<WalFollower> {
        let mut f = WalFollower {
            dir: dir.to_path_buf(),
            seg: 0,
            file: None,
            buf: Vec::new(),
            buf_base: 0,
            at: 0,
            queued: VecDeque::new(),
            skip_before: None,
            until_caught_up: resume == Resume::End,
            stats: FollowerStats::default(),
        };
        let listing = segment::list(dir)?;
        let checkpoint = listing.checkpoints.last().copied();
        let first = listing
            .segments
            .iter()
            .copied()
            .find(|&s| checkpoint.is_none_or(|c| s > c));
        if let Resume::At(p) = resume {
            match first {
                Some(first) if p.segment >= first => f.skip_before = Some(p),
                Some(first) => {
                    warn!(
                        dir = %dir.display(), resume = %p, first_segment = first,
                        "WAL segments before the resume position were truncated; resuming at the oldest segment left"
                    );
                    f.stats.segments_skipped += first.saturating_sub(p.segment);
                }
                None => {
                    f.skip_before = Some(p);
                }
            }
        }
        if let Some(c) = checkpoint {
            f.queue_checkpoint(c, first.unwrap_or(c + 1));
        }
        // The first segment is opened lazily by `next_record`.
        f.seg = first.map_or(checkpoint.unwrap_or(0), |s| s - 1);
        Ok(f)
    }

    /// The end of the WAL in `dir` now: the newest segment and its length (`None` when there
    /// is no segment). A follower resumed there hands out only what is written later.
    pub fn end_position(dir: &Path) -> io::Result<Option<WalPosition>> {
        let listing = segment::list(dir)?;
        Ok(listing.segments.last().map(|&s| WalPosition {
            segment: s,
            offset: segment::file_size(&segment::segment_path(dir, s)).max(HEADER_LEN as u64),
        }))
    }

    /// The newest checkpoint in `dir`: its index (it covers segments up to it) and the
    /// references of the series it keeps. A consumer that has read past that index can forget
    /// every series that is neither in it nor defined in a later segment.
    pub fn newest_checkpoint_series(dir: &Path) -> io::Result<Option<(u64, Vec<u64>)>> {
        let Some(&c) = segment::list(dir)?.checkpoints.last() else {
            return Ok(None);
        };
        let buf = std::fs::read(segment::checkpoint_path(dir, c))?;
        if let Err(reason) = segment::check_header(&buf) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("checkpoint {c}: {reason}"),
            ));
        }
        let mut ids = Vec::new();
        let mut off = HEADER_LEN;
        while let Frame::Ok { ty, payload, next } = record::next_frame(&buf, off) {
            if let Ok(Record::Series(s)) = record::decode(ty, payload, &mut intern) {
                ids.extend(s.iter().map(|e| e.id));
            }
            off = next;
        }
        Ok(Some((c, ids)))
    }

    /// Counters so far.
    pub fn stats(&self) -> FollowerStats {
        self.stats
    }

    /// The position after the last record handed out.
    pub fn position(&self) -> WalPosition {
        WalPosition {
            segment: self.seg,
            offset: self.buf_base + self.at as u64,
        }
    }

    /// Reads the series and metadata of checkpoint `c` into the queue.
    fn queue_checkpoint(&mut self, c: u64, next_segment: u64) {
        let path = segment::checkpoint_path(&self.dir, c);
        let buf = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                warn!(file = %path.display(), error = %e, "cannot read WAL checkpoint; series defined only there are unknown to this reader");
                return;
            }
        };
        if let Err(reason) = segment::check_header(&buf) {
            warn!(file = %path.display(), reason = %reason, "WAL checkpoint has a bad header; skipping it");
            return;
        }
        let pos = WalPosition {
            segment: next_segment,
            offset: HEADER_LEN as u64,
        };
        let mut off = HEADER_LEN;
        while let Frame::Ok { ty, payload, next } = record::next_frame(&buf, off) {
            match record::decode(ty, payload, &mut intern) {
                Ok(r @ (Record::Series(_) | Record::Metadata(_))) => self.queued.push_back((r, pos)),
                Ok(_) => {}
                Err(reason) => {
                    warn!(file = %path.display(), offset = off, reason = %reason, "undecodable record in a WAL checkpoint");
                    break;
                }
            }
            off = next;
        }
    }

    /// The next record and the position just after it, or `None` when the follower has read
    /// everything written so far (call again later).
    pub fn next_record(&mut self) -> io::Result<Option<(Record, WalPosition)>> {
        loop {
            if let Some(e) = self.queued.pop_front() {
                self.stats.records += 1;
                return Ok(Some(e));
            }
            if self.file.is_none() && !self.advance()? {
                self.until_caught_up = false;
                return Ok(None);
            }
            let start = self.position();
            match record::next_frame(&self.buf, self.at) {
                Frame::Ok { ty, payload, next } => {
                    if self.skips_type(ty, start) {
                        // Samples before the resume point: not even decoded.
                        self.at = next;
                        self.compact();
                        continue;
                    }
                    let decoded = record::decode(ty, payload, &mut intern);
                    match decoded {
                        Ok(rec) => {
                            self.at = next;
                            self.compact();
                            let end = self.position();
                            if self.suppressed(&rec, start) {
                                continue;
                            }
                            self.stats.records += 1;
                            return Ok(Some((rec, end)));
                        }
                        Err(reason) => {
                            if !self.skip_damage(&format!("undecodable record: {reason}"))? {
                                return Ok(None);
                            }
                        }
                    }
                }
                Frame::End => {
                    if self.fill()? {
                        continue;
                    }
                    if !self.newer_segment_exists()? {
                        self.until_caught_up = false;
                        return Ok(None);
                    }
                    // The writer rolled over: whatever it wrote here is on disk already.
                    if self.fill()? {
                        continue;
                    }
                    self.file = None;
                }
                Frame::Damaged { reason, .. } => {
                    if self.fill()? {
                        continue;
                    }
                    if !self.skip_damage(&reason)? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Whether a record of type byte `ty` starting at `start` is withheld (checked before
    /// decoding).
    fn skips_type(&self, ty: u8, start: WalPosition) -> bool {
        let ty = record::record_kind(ty);
        let data = ty == record::RecordType::Samples as u8
            || ty == record::RecordType::Tombstones as u8
            || ty == record::RecordType::Histograms as u8
            || ty == record::RecordType::Exemplars as u8;
        data && (self.until_caught_up || self.skip_before.is_some_and(|p| start < p))
    }

    /// Whether a record before the resume point is to be withheld.
    fn suppressed(&self, rec: &Record, start: WalPosition) -> bool {
        let data = matches!(
            rec,
            Record::Samples(_) | Record::Tombstones(_) | Record::Histograms(_) | Record::Exemplars(_)
        );
        data && (self.until_caught_up || self.skip_before.is_some_and(|p| start < p))
    }

    /// A damaged frame: in the active segment it may be a write in progress (wait); once a
    /// newer segment exists it is damage, and the rest of the segment is skipped. Returns
    /// whether to keep reading.
    fn skip_damage(&mut self, reason: &str) -> io::Result<bool> {
        if !self.newer_segment_exists()? {
            return Ok(false);
        }
        if self.fill()? {
            return Ok(true);
        }
        let dropped = (self.buf.len() - self.at) as u64;
        warn!(
            dir = %self.dir.display(), segment = self.seg, offset = self.buf_base + self.at as u64,
            reason = %reason, dropped_bytes = dropped, "damaged WAL record; skipping the rest of the segment"
        );
        self.stats.damaged_bytes += dropped;
        self.file = None;
        Ok(true)
    }

    /// Drops consumed bytes once they pile up.
    fn compact(&mut self) {
        if self.at >= READ_CHUNK {
            self.buf.drain(..self.at);
            self.buf_base += self.at as u64;
            self.at = 0;
        }
    }

    /// Reads more of the current segment; whether anything new arrived.
    fn fill(&mut self) -> io::Result<bool> {
        let Some(f) = self.file.as_mut() else {
            return Ok(false);
        };
        let n = Read::take(f, READ_CHUNK as u64).read_to_end(&mut self.buf)?;
        Ok(n > 0)
    }

    fn newer_segment_exists(&self) -> io::Result<bool> {
        Ok(segment::list(&self.dir)?.segments.iter().any(|&s| s > self.seg))
    }

    /// Opens the segment after the current one; false when there is none yet. A gap (segments
    /// deleted by a checkpoint before they were read) is skipped with a warning, and the
    /// checkpoint's series are queued.
    fn advance(&mut self) -> io::Result<bool> {
        let listing = segment::list(&self.dir)?;
        let Some(next) = listing.segments.iter().copied().find(|&s| s > self.seg) else {
            return Ok(false);
        };
        if next > self.seg + 1 && self.seg > 0 {
            let lost = next - self.seg - 1;
            if let Some(&c) = listing
                .checkpoints
                .iter()
                .rev()
                .find(|&&c| c > self.seg && c < next)
            {
                warn!(
                    dir = %self.dir.display(), from = self.seg + 1, to = next - 1,
                    "WAL segments were truncated before this reader got to them; skipping to the checkpoint"
                );
                self.stats.segments_skipped += lost;
                self.queue_checkpoint(c, next);
            } else {
                warn!(dir = %self.dir.display(), from = self.seg + 1, to = next - 1, "WAL segments are missing; skipping them");
                self.stats.segments_skipped += lost;
            }
        }
        let path = segment::segment_path(&self.dir, next);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            // Deleted between listing and opening: look again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.seg = next;
                self.stats.segments_skipped += 1;
                return self.advance();
            }
            Err(e) => return Err(e),
        };
        let mut header = [0u8; HEADER_LEN];
        let mut got = 0;
        while got < HEADER_LEN {
            let n = file.read(&mut header[got..])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        self.seg = next;
        self.buf.clear();
        self.buf_base = HEADER_LEN as u64;
        self.at = 0;
        if got < HEADER_LEN {
            // Just created: the header is being written. Retry from the start later.
            self.seg = next - 1;
            return Ok(false);
        }
        if let Err(reason) = segment::check_header(&header) {
            warn!(file = %path.display(), reason = %reason, "WAL segment has a bad header; skipping it");
            self.stats.damaged_bytes += segment::file_size(&path);
            return self.advance();
        }
        self.file = Some(file);
        if let Some(p) = self.skip_before {
            // Jump straight to the resume offset when it lies in this segment and no series
            // before it can be needed (the first segment after the checkpoint is read in full).
            if p.segment < next {
                self.skip_before = None;
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::wal::record::{SampleEntry, SeriesEntry};
    use crate::wal::Wal;

    fn open(dir: &Path, seg: u64) -> Wal {
        Wal::open(dir, seg, &mut intern, &mut |_| {}).unwrap().0
    }

    fn log(w: &Wal, id: u64, t: i64, new_series: bool) {
        let mut buf = Vec::new();
        if new_series {
            let labels = Labels::from_pairs([("__name__", format!("m{id}"))]);
            record::encode_series(&mut buf, &[SeriesEntry { id, labels }]);
        }
        record::encode_samples(&mut buf, &[SampleEntry { id, t, v: t as f64 }]);
        w.log(&buf, t, false).unwrap();
    }

    fn drain(f: &mut WalFollower) -> (Vec<u64>, Vec<(u64, i64)>, WalPosition) {
        let (mut series, mut samples) = (Vec::new(), Vec::new());
        let mut pos = f.position();
        while let Some((r, p)) = f.next_record().unwrap() {
            pos = p;
            match r {
                Record::Series(s) => series.extend(s.iter().map(|e| e.id)),
                Record::Samples(s) => samples.extend(s.iter().map(|e| (e.id, e.t))),
                _ => {}
            }
        }
        (series, samples, pos)
    }

    #[test]
    fn follows_across_segments_and_resumes() {
        let d = tempfile::tempdir().unwrap();
        let w = open(d.path(), 4096);
        let mut f = WalFollower::open(d.path(), Resume::Beginning).unwrap();
        for i in 0..1000 {
            log(&w, i % 10, i as i64, i < 10);
        }
        let (series, samples, pos) = drain(&mut f);
        assert_eq!(series, (0..10).collect::<Vec<_>>());
        assert_eq!(samples.len(), 1000);
        assert!(w.segment_count() > 2, "segments rolled");
        assert!(samples.windows(2).all(|p| p[0].1 < p[1].1), "in log order");
        // More arrives later.
        for i in 1000..1050 {
            log(&w, i % 10, i as i64, false);
        }
        let (_, more, pos2) = drain(&mut f);
        assert_eq!(more.len(), 50);
        assert!(pos2 > pos);
        // Resuming at `pos` gives the series again but only the samples after it.
        let mut r = WalFollower::open(d.path(), Resume::At(pos)).unwrap();
        let (series, samples, _) = drain(&mut r);
        assert_eq!(series.len(), 10);
        assert_eq!(samples.first().map(|s| s.1), Some(1000));
        assert_eq!(samples.len(), 50);
        // Starting at the end gives only what comes next.
        let mut e = WalFollower::open(d.path(), Resume::End).unwrap();
        assert_eq!(drain(&mut e).1.len(), 0);
        log(&w, 3, 5000, false);
        assert_eq!(drain(&mut e).1, vec![(3, 5000)]);
    }

    #[test]
    fn reads_compressed_records_and_resumes_among_them() {
        let d = tempfile::tempdir().unwrap();
        let mut w = open(d.path(), 64 * 1024);
        w.set_compression(true);
        let mut f = WalFollower::open(d.path(), Resume::Beginning).unwrap();
        for batch in 0..20i64 {
            let mut buf = Vec::new();
            if batch == 0 {
                let labels = Labels::from_pairs([("__name__", "m")]);
                record::encode_series(&mut buf, &[SeriesEntry { id: 1, labels }]);
            }
            let s: Vec<SampleEntry> = (batch * 500..(batch + 1) * 500)
                .map(|t| SampleEntry {
                    id: 1,
                    t,
                    v: t as f64,
                })
                .collect();
            record::encode_samples(&mut buf, &s);
            w.log(&buf, (batch + 1) * 500 - 1, false).unwrap();
        }
        let (series, samples, _) = drain(&mut f);
        assert_eq!(series, vec![1]);
        assert_eq!(samples.len(), 10_000);
        assert!(samples.iter().enumerate().all(|(i, s)| s.1 == i as i64));
        // Resuming at a position between compressed records skips the ones before it.
        let mut half = WalFollower::open(d.path(), Resume::Beginning).unwrap();
        let mut pos = None;
        let mut seen = 0;
        while let Some((r, p)) = half.next_record().unwrap() {
            if let Record::Samples(s) = r {
                seen += s.len();
                if seen == 5_000 {
                    pos = Some(p);
                    break;
                }
            }
        }
        let mut r = WalFollower::open(d.path(), Resume::At(pos.unwrap())).unwrap();
        let (_, rest, _) = drain(&mut r);
        assert_eq!(rest.first().map(|s| s.1), Some(5_000));
        assert_eq!(rest.len(), 5_000);
    }

    #[test]
    fn truncation_skips_to_the_checkpoint() {
        let d = tempfile::tempdir().unwrap();
        let w = open(d.path(), 4096);
        for i in 0..1000 {
            log(&w, i % 5, i as i64, i < 5);
        }
        let mut f = WalFollower::open(d.path(), Resume::Beginning).unwrap();
        // Read a little, then the database drops every closed segment.
        assert!(f.next_record().unwrap().is_some());
        let live: Vec<SeriesEntry> = (0..5)
            .map(|id| SeriesEntry {
                id,
                labels: Labels::from_pairs([("__name__", format!("m{id}"))]),
            })
            .collect();
        let st = w
            .checkpoint(i64::MAX, || crate::wal::CheckpointContents {
                series: live,
                ..Default::default()
            })
            .unwrap();
        assert!(st.segments_removed >= 2);
        let (c, ids) = WalFollower::newest_checkpoint_series(d.path()).unwrap().unwrap();
        assert!(c >= 2);
        assert_eq!(ids, vec![0, 1, 2, 3, 4]);
        for i in 1000..1010 {
            log(&w, i % 5, i as i64, false);
        }
        let (series, samples, _) = drain(&mut f);
        assert!(f.stats().segments_skipped > 0);
        assert!(series.len() >= 5, "checkpoint series were read: {series:?}");
        assert!(samples.len() < 1000, "truncated samples were skipped");
        let tail: Vec<i64> = samples.iter().map(|s| s.1).filter(|&t| t >= 1000).collect();
        assert_eq!(tail, (1000..1010).collect::<Vec<_>>());
        // A resume position inside the deleted segments starts at the oldest one left.
        let mut r = WalFollower::open(
            d.path(),
            Resume::At(WalPosition {
                segment: 1,
                offset: 8,
            }),
        )
        .unwrap();
        let (_, samples, _) = drain(&mut r);
        assert!(r.stats().segments_skipped > 0);
        assert!(samples.iter().any(|s| s.1 == 1009));
    }

    #[test]
    fn torn_tail_waits_for_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let w = open(d.path(), 1 << 20);
        log(&w, 1, 1, true);
        let mut f = WalFollower::open(d.path(), Resume::Beginning).unwrap();
        drain(&mut f);
        // Half a record: nothing yet; the rest: the record.
        let mut buf = Vec::new();
        record::encode_samples(&mut buf, &[SampleEntry { id: 1, t: 2, v: 2.0 }]);
        let (a, b) = buf.split_at(buf.len() / 2);
        w.log(a, 2, false).unwrap();
        assert!(f.next_record().unwrap().is_none());
        w.log(b, 2, false).unwrap();
        assert_eq!(drain(&mut f).1, vec![(1, 2)]);
    }
}
