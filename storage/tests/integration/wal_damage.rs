//! Damaged WAL at the database level: truncating the last segment at every offset and
//! flipping any byte of it never fails the open and keeps every batch before the damage (and
//! the batches after a damaged record whose frame boundaries are intact).

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::time::Duration;
use storage::{Appendable, Db, DbOptions, Labels, MatchOp, Matcher, Queryable, SelectHints, SeriesRef};

fn open(dir: &Path) -> Db {
    let mut o = DbOptions::new(dir);
    o.wal_fsync_interval = Duration::ZERO;
    Db::open(o).unwrap()
}

fn write_batch(db: &Db, t: i64) {
    let mut a = db.appender();
    for i in 0..3 {
        let l = Labels::from_pairs([("__name__", "m"), ("i", &i.to_string())]);
        a.append(SeriesRef::NONE, &l, t, t as f64 + i as f64).unwrap();
    }
    a.commit().unwrap();
}

fn timestamps(db: &Db) -> Vec<Vec<i64>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    q.select(
        &SelectHints {
            mint: i64::MIN,
            maxt: i64::MAX,
        },
        &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
    )
    .unwrap()
    .into_iter()
    .map(|s| s.samples.iter().map(|x| x.t).collect())
    .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to.join("wal")).unwrap();
    for e in fs::read_dir(from.join("wal")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join("wal").join(e.file_name())).unwrap();
    }
}

/// Builds a directory whose segment 1 holds batches at t=1..=4 and segment 2 a batch at t=5
/// and another at t=6. Returns the path of segment 2 and its length before the last batch.
fn setup(dir: &Path) -> (std::path::PathBuf, u64) {
    {
        let db = open(dir);
        for t in 1..=4 {
            write_batch(&db, t);
        }
    }
    let seg2 = dir.join("wal").join("00000002");
    let db = open(dir);
    write_batch(&db, 5);
    let before_last = fs::metadata(&seg2).unwrap().len();
    write_batch(&db, 6);
    drop(db);
    // The third open created an empty segment 3; remove it so segment 2 is the tail.
    let _ = fs::remove_file(dir.join("wal").join("00000003"));
    (seg2, before_last)
}

#[test]
fn truncated_tail_at_every_offset() {
    let src = tempfile::tempdir().unwrap();
    let (seg2, before_last) = setup(src.path());
    let full = fs::read(&seg2).unwrap();
    for cut in before_last as usize..full.len() {
        let d = tempfile::tempdir().unwrap();
        copy_dir(src.path(), d.path());
        fs::write(d.path().join("wal").join("00000002"), &full[..cut]).unwrap();
        let db = open(d.path());
        assert_eq!(timestamps(&db), vec![vec![1, 2, 3, 4, 5]; 3], "cut at {cut}");
        // The database goes on working after the repair.
        write_batch(&db, 7);
        drop(db);
        let db = open(d.path());
        assert_eq!(timestamps(&db), vec![vec![1, 2, 3, 4, 5, 7]; 3]);
    }
}

#[test]
fn flipped_byte_anywhere_in_the_tail_segment() {
    let src = tempfile::tempdir().unwrap();
    let (seg2, before_last) = setup(src.path());
    let full = fs::read(&seg2).unwrap();
    for pos in (0..full.len()).step_by(3) {
        let d = tempfile::tempdir().unwrap();
        copy_dir(src.path(), d.path());
        let mut b = full.clone();
        b[pos] ^= 0x5a;
        fs::write(d.path().join("wal").join("00000002"), &b).unwrap();
        let db = open(d.path());
        let got = timestamps(&db);
        // A destroyed header drops the whole segment; a damaged length field (bytes 8..12, the
        // frame of batch 5) leaves the frame boundaries unknown and drops the rest; any other
        // damage to batch 5's record drops that record only, as intact records follow it; damage
        // to the last record drops it.
        let want = if pos < 12 {
            vec![1, 2, 3, 4]
        } else if (pos as u64) < before_last {
            vec![1, 2, 3, 4, 6]
        } else {
            vec![1, 2, 3, 4, 5]
        };
        assert_eq!(got, vec![want; 3], "flip at {pos}");
    }
}
