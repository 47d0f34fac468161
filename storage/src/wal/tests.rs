//! WAL unit tests: replay, torn and corrupt tails, roll-over, checkpoints, poisoning.

use super::record::{self, Record, SampleEntry, SeriesEntry};
use super::*;
use crate::model::Labels;
use std::fs;

fn intern(s: &str) -> Arc<str> {
    Arc::from(s)
}

fn open(dir: &Path, seg: u64) -> (Wal, Vec<Record>, ReplayOutcome) {
    let mut recs = Vec::new();
    let (w, o) = Wal::open(dir, seg, &mut intern, &mut |r| recs.push(r)).unwrap();
    (w, recs, o)
}

fn samples(id: u64, from: i64, n: i64) -> Vec<SampleEntry> {
    (from..from + n)
        .map(|t| SampleEntry {
            id,
            t,
            v: t as f64 * 0.5,
        })
        .collect()
}

fn framed(s: &[SampleEntry]) -> Vec<u8> {
    let mut b = Vec::new();
    record::encode_samples(&mut b, s);
    b
}

#[test]
fn replays_what_was_logged_across_reopens() {
    let d = tempfile::tempdir().unwrap();
    let series = vec![SeriesEntry {
        id: 1,
        labels: Labels::from_pairs([("a", "b")]),
    }];
    {
        let (w, recs, _) = open(d.path(), DEFAULT_SEGMENT_SIZE);
        assert!(recs.is_empty());
        let mut b = Vec::new();
        record::encode_series(&mut b, &series);
        w.log(&b, i64::MIN, false).unwrap();
        w.log(&framed(&samples(1, 0, 10)), 9, true).unwrap();
        w.close().unwrap();
        assert!(w.log(&b, 0, false).is_err(), "closed WAL refuses writes");
    }
    let (_w, recs, o) = open(d.path(), DEFAULT_SEGMENT_SIZE);
    assert_eq!(
        recs,
        vec![Record::Series(series), Record::Samples(samples(1, 0, 10))]
    );
    assert_eq!(o.dropped_bytes, 0);
    assert_eq!(o.segments.len(), 1, "the first run's segment");
    assert_eq!(o.segments[0].max_t, 9);
}

#[test]
fn truncation_at_every_offset_of_the_last_record_keeps_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let first = samples(1, 0, 5);
    let last = samples(2, 100, 3);
    {
        let (w, _, _) = open(d.path(), DEFAULT_SEGMENT_SIZE);
        w.log(&framed(&first), 4, false).unwrap();
        w.log(&framed(&last), 102, false).unwrap();
    }
    let seg = segment::segment_path(d.path(), 1);
    let full = fs::read(&seg).unwrap();
    let last_len = framed(&last).len();
    let start = full.len() - last_len;
    for cut in start..full.len() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(segment::segment_path(dir.path(), 1), &full[..cut]).unwrap();
        let (_w, recs, o) = open(dir.path(), DEFAULT_SEGMENT_SIZE);
        assert_eq!(recs, vec![Record::Samples(first.clone())], "cut at {cut}");
        assert_eq!(o.dropped_bytes, (cut - start) as u64);
        assert_eq!(
            fs::metadata(segment::segment_path(dir.path(), 1)).unwrap().len(),
            start as u64
        );
        // A second open finds a clean file.
        drop(_w);
        let (_w2, recs2, o2) = open(dir.path(), DEFAULT_SEGMENT_SIZE);
        assert_eq!(recs2.len(), 1);
        assert_eq!(o2.dropped_bytes, 0);
    }
}

#[test]
fn flipped_bytes_lose_only_the_damaged_record_or_the_tail() {
    let d = tempfile::tempdir().unwrap();
    let recs_in: Vec<Vec<SampleEntry>> = (0..4).map(|i| samples(i, i as i64 * 10, 4)).collect();
    let mut offsets = Vec::new();
    {
        let (w, _, _) = open(d.path(), DEFAULT_SEGMENT_SIZE);
        let mut off = segment::HEADER_LEN;
        for r in &recs_in {
            offsets.push(off);
            let b = framed(r);
            off += b.len();
            w.log(&b, 0, false).unwrap();
        }
        offsets.push(off);
    }
    let full = fs::read(segment::segment_path(d.path(), 1)).unwrap();
    for pos in segment::HEADER_LEN..full.len() {
        let damaged_rec = offsets.iter().rposition(|&o| o <= pos).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut b = full.clone();
        b[pos] ^= 0x10;
        fs::write(segment::segment_path(dir.path(), 1), &b).unwrap();
        let (_w, recs, o) = open(dir.path(), DEFAULT_SEGMENT_SIZE);
        let in_length_field = pos - offsets[damaged_rec] < 4;
        let last = damaged_rec == recs_in.len() - 1;
        if in_length_field || last {
            // The frame boundaries after it are unknown (or there is nothing after it): the
            // file ends at the damage.
            let want: Vec<Record> = recs_in[..damaged_rec]
                .iter()
                .cloned()
                .map(Record::Samples)
                .collect();
            assert_eq!(recs, want, "flip at {pos}");
            assert_eq!(o.dropped_bytes, (full.len() - offsets[damaged_rec]) as u64);
        } else {
            // A flipped byte inside one record: only that record is lost.
            let want: Vec<Record> = recs_in
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != damaged_rec)
                .map(|(_, r)| Record::Samples(r.clone()))
                .collect();
            assert_eq!(recs, want, "flip at {pos}");
            assert_eq!(
                o.dropped_bytes,
                (offsets[damaged_rec + 1] - offsets[damaged_rec]) as u64,
                "flip at {pos}"
            );
        }
    }
}

#[test]
fn damaged_header_and_middle_segment_are_survived() {
    let d = tempfile::tempdir().unwrap();
    {
        let (w, _, _) = open(d.path(), 4096);
        for i in 0..80 {
            w.log(
                &framed(&samples(i, i as i64 * 100, 20)),
                i as i64 * 100 + 19,
                false,
            )
            .unwrap();
        }
        assert!(w.segment_count() > 3, "rolled over: {}", w.segment_count());
    }
    // Corrupt the second segment's last byte and the third segment's header.
    let p2 = segment::segment_path(d.path(), 2);
    let mut b = fs::read(&p2).unwrap();
    let n = b.len();
    b[n - 1] ^= 0xff;
    fs::write(&p2, b).unwrap();
    let p3 = segment::segment_path(d.path(), 3);
    let mut b = fs::read(&p3).unwrap();
    b[0] = b'X';
    fs::write(&p3, b).unwrap();
    let (_w, recs, o) = open(d.path(), 4096);
    assert!(o.dropped_bytes > 0);
    assert!(!p3.exists());
    // Records of segment 1, of segment 2 but its last, and of the later segments survive.
    assert!(recs.len() >= 80 - 20 && recs.len() < 80, "{} records", recs.len());
}

#[test]
fn checkpoint_drops_old_segments_and_keeps_live_series() {
    let d = tempfile::tempdir().unwrap();
    let live = vec![SeriesEntry {
        id: 7,
        labels: Labels::from_pairs([("job", "x")]),
    }];
    {
        let (w, _, _) = open(d.path(), 4096);
        for i in 0..30 {
            w.log(&framed(&samples(7, i * 100, 20)), i * 100 + 19, false)
                .unwrap();
        }
        let before = w.segment_count();
        let st = w
            .checkpoint(2000, || CheckpointContents {
                series: live.clone(),
                ..Default::default()
            })
            .unwrap();
        assert!(st.segments_removed > 0);
        assert_eq!(w.segment_count(), before - st.segments_removed);
        // Nothing more to drop at the same floor.
        assert_eq!(
            w.checkpoint(2000, || panic!("not called"))
                .unwrap()
                .segments_removed,
            0
        );
    }
    let (_w, recs, o) = open(d.path(), 4096);
    assert!(o.checkpoint.is_some());
    assert_eq!(recs[0], Record::Series(live));
    let min_t = recs
        .iter()
        .filter_map(|r| match r {
            Record::Samples(s) => s.iter().map(|x| x.t).min(),
            _ => None,
        })
        .min()
        .unwrap();
    assert!(
        min_t < 2000,
        "segments with samples at or after the floor are kept"
    );
    let max_t = recs
        .iter()
        .filter_map(|r| match r {
            Record::Samples(s) => s.iter().map(|x| x.t).max(),
            _ => None,
        })
        .max()
        .unwrap();
    assert_eq!(max_t, 2919);
}

#[test]
fn checkpoint_holding_keeps_what_readers_need_within_the_cap() {
    let d = tempfile::tempdir().unwrap();
    let (w, _, _) = open(d.path(), 4096);
    for i in 0..300 {
        w.log(&framed(&samples(7, i * 100, 20)), i * 100 + 19, false)
            .unwrap();
    }
    let before = w.segment_count();
    assert!(before > 6, "{before} segments");
    let first = w.active_segment() + 1 - before as u64;
    // A reader that has not got anywhere keeps everything, whatever the floor.
    let (st, forced) = w
        .checkpoint_holding(i64::MAX, None, 0, CheckpointContents::default)
        .unwrap();
    assert_eq!((st.segments_removed, forced), (0, 0));
    // A reader two segments in keeps those from there on; the first two go.
    let (st, forced) = w
        .checkpoint_holding(i64::MAX, Some(first + 2), 0, CheckpointContents::default)
        .unwrap();
    assert_eq!((st.segments_removed, forced), (2, 0));
    // Over the cap, the oldest go anyway, counted, until the WAL fits.
    let cap = w.size_bytes() / 2;
    let (st, forced) = w
        .checkpoint_holding(i64::MAX, Some(first + 2), cap, CheckpointContents::default)
        .unwrap();
    assert!(
        st.segments_removed > 0 && forced == st.segments_removed,
        "{st:?} {forced}"
    );
    assert!(w.size_bytes() <= cap + 4096, "{} > {cap}", w.size_bytes());
    // Segments at or past the floor (the head needs them) stay even over the cap.
    let n = w.segment_count();
    let (st, _) = w
        .checkpoint_holding(0, Some(u64::MAX), 1, CheckpointContents::default)
        .unwrap();
    assert_eq!((st.segments_removed, w.segment_count()), (0, n));
}

#[test]
fn failed_write_poisons() {
    let d = tempfile::tempdir().unwrap();
    let (w, _, _) = open(d.path(), DEFAULT_SEGMENT_SIZE);
    w.log(&framed(&samples(1, 0, 1)), 0, false).unwrap();
    w.inject_write_failure();
    assert!(matches!(
        w.log(&framed(&samples(1, 1, 1)), 1, false),
        Err(AppendError::Io(_))
    ));
    assert!(w.is_poisoned());
    assert!(matches!(
        w.log(&framed(&samples(1, 2, 1)), 2, false),
        Err(AppendError::Poisoned)
    ));
}

#[test]
fn compressed_records_replay_beside_uncompressed_ones() {
    let d = tempfile::tempdir().unwrap();
    let series = vec![SeriesEntry {
        id: 1,
        labels: Labels::from_pairs([("__name__", "up"), ("job", "node")]),
    }];
    let mut s = Vec::new();
    record::encode_series(&mut s, &series);
    {
        // An older, uncompressed run.
        let (w, _, _) = open(d.path(), DEFAULT_SEGMENT_SIZE);
        w.log(&s, i64::MIN, false).unwrap();
        w.log(&framed(&samples(1, 0, 500)), 499, true).unwrap();
        w.close().unwrap();
    }
    let uncompressed_bytes;
    {
        let (mut w, recs, _) = open(d.path(), DEFAULT_SEGMENT_SIZE);
        assert_eq!(recs.len(), 2);
        uncompressed_bytes = w.size_bytes();
        w.set_compression(true);
        w.log(&framed(&samples(1, 500, 500)), 999, true).unwrap();
        // A small record stays as it is.
        w.log(&framed(&samples(1, 1000, 1)), 1000, true).unwrap();
        w.close().unwrap();
        let compressed = w.size_bytes() - uncompressed_bytes;
        assert!(
            compressed < uncompressed_bytes * 3 / 4,
            "500 regular samples: {compressed} bytes compressed vs {uncompressed_bytes} plain"
        );
    }
    let (_w, recs, o) = open(d.path(), DEFAULT_SEGMENT_SIZE);
    assert_eq!(o.dropped_bytes, 0);
    assert_eq!(
        recs,
        vec![
            Record::Series(series),
            Record::Samples(samples(1, 0, 500)),
            Record::Samples(samples(1, 500, 500)),
            Record::Samples(samples(1, 1000, 1)),
        ]
    );
}

#[test]
fn compress_frames_keeps_every_record_and_flags_the_compressed() {
    let mut plain = Vec::new();
    record::encode_series(
        &mut plain,
        &[SeriesEntry {
            id: 7,
            labels: Labels::from_pairs([("a", "b")]),
        }],
    );
    record::encode_samples(&mut plain, &samples(7, 0, 300));
    record::encode_samples(&mut plain, &samples(7, 300, 2));
    let mut packed = Vec::new();
    record::compress_frames(&plain, &mut packed, &mut snap::raw::Encoder::new());
    assert!(packed.len() < plain.len());
    let mut off = 0;
    let mut kinds = Vec::new();
    let mut recs = Vec::new();
    while let record::Frame::Ok { ty, payload, next } = record::next_frame(&packed, off) {
        kinds.push((record::record_kind(ty), ty & record::COMPRESSED_FLAG != 0));
        recs.push(record::decode(ty, payload, &mut intern).unwrap());
        off = next;
    }
    assert_eq!(off, packed.len());
    assert_eq!(kinds, vec![(1, false), (2, true), (2, false)]);
    assert_eq!(recs[1], Record::Samples(samples(7, 0, 300)));
    // Compressing twice changes nothing.
    let mut again = Vec::new();
    record::compress_frames(&packed, &mut again, &mut snap::raw::Encoder::new());
    assert_eq!(again, packed);
}

#[test]
fn a_damaged_compressed_payload_is_an_error_not_a_panic() {
    let mut packed = Vec::new();
    record::compress_frames(
        &framed(&samples(1, 0, 400)),
        &mut packed,
        &mut snap::raw::Encoder::new(),
    );
    let record::Frame::Ok { ty, payload, .. } = record::next_frame(&packed, 0) else {
        panic!("one frame")
    };
    assert!(ty & record::COMPRESSED_FLAG != 0);
    // Every truncation and a few flipped bytes: decode fails or yields some record, never panics.
    for cut in 0..payload.len() {
        let _ = record::decode(ty, &payload[..cut], &mut intern);
    }
    for i in (0..payload.len()).step_by(7) {
        let mut bad = payload.to_vec();
        bad[i] ^= 0x5a;
        let _ = record::decode(ty, &bad, &mut intern);
    }
    assert!(record::decode(ty, &[0xff, 0xff, 0xff, 0xff, 0x7f], &mut intern).is_err());
    // With a bad checksum the frame itself is damage, as for an uncompressed one.
    let mut torn = packed.clone();
    let last = torn.len() - 1;
    torn[last] ^= 1;
    assert!(matches!(
        record::next_frame(&torn, 0),
        record::Frame::Damaged { .. }
    ));
}
