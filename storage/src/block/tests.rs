//! Block tests: round trips against a naive model, corruption, compaction, planning, retention.

use super::*;
use crate::api::Series;
use crate::model::{Labels, MatchOp, Matcher, Sample};
use std::path::Path;
use std::sync::Arc;

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const NAMES: &[&str] = &["up", "http_requests_total", "cpu_seconds", "temp"];
const JOBS: &[&str] = &["api", "web", "db"];
const ENVS: &[&str] = &["prod", "dev"];

type Model = Vec<(Labels, Vec<Sample>)>;

fn random_model(rng: &mut Rng, nseries: usize, mint: i64, maxt: i64) -> Model {
    let mut model: Model = Vec::new();
    for i in 0..nseries {
        let mut pairs = vec![
            (
                "__name__",
                NAMES[rng.below(NAMES.len() as u64) as usize].to_string(),
            ),
            ("job", JOBS[rng.below(JOBS.len() as u64) as usize].to_string()),
            ("instance", format!("host-{i}")),
        ];
        if rng.below(2) == 0 {
            pairs.push(("env", ENVS[rng.below(2) as usize].to_string()));
        }
        let labels = Labels::from_pairs(pairs);
        let step = [1_000, 15_000, 60_000][rng.below(3) as usize];
        let mut t = mint + rng.below(step as u64) as i64;
        let mut v = rng.below(100) as f64;
        let mut samples = Vec::new();
        while t <= maxt {
            if rng.below(50) != 0 {
                samples.push(Sample::new(t, v));
            }
            v += match rng.below(4) {
                0 => 0.0,
                1 => 1.0,
                2 => (rng.below(1000) as f64) / 100.0,
                _ => f64::from_bits(rng.next() >> 2),
            };
            t += step + rng.below(20) as i64;
        }
        if rng.below(10) == 0 {
            samples.push(Sample::new(maxt + 1, crate::STALE_NAN));
            samples.retain(|s| s.t <= maxt);
        }
        model.push((labels, samples));
    }
    model.sort_by(|a, b| a.0.cmp(&b.0));
    model
}

fn naive_select(model: &Model, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Series> {
    model
        .iter()
        .filter(|(l, _)| matchers.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
        .map(|(l, s)| Series {
            labels: l.clone(),
            samples: s.iter().copied().filter(|s| s.t >= mint && s.t <= maxt).collect(),
            histograms: Vec::new(),
        })
        .filter(|s| !s.samples.is_empty())
        .collect()
}

fn same(a: &[Series], b: &[Series]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.labels == y.labels
                && x.samples.len() == y.samples.len()
                && x.samples.iter().zip(&y.samples).all(|(p, q)| p.same_bits(q))
        })
}

fn random_matchers(rng: &mut Rng) -> Vec<Matcher> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let (name, pool): (&str, &[&str]) = match rng.below(4) {
            0 => ("__name__", NAMES),
            1 => ("job", JOBS),
            2 => ("env", ENVS),
            _ => ("missing", &["x"]),
        };
        let v = pool[rng.below(pool.len() as u64) as usize];
        let m = match rng.below(9) {
            0 => Matcher::new(MatchOp::Equal, name, v),
            1 => Matcher::new(MatchOp::NotEqual, name, v),
            2 => Matcher::new(MatchOp::Regex, name, format!("{v}|{}", pool[0])),
            3 => Matcher::new(MatchOp::Regex, name, format!("{}.*", &v[..1])),
            4 => Matcher::new(MatchOp::NotRegex, name, format!(".*{}", &v[v.len() - 1..])),
            5 => Matcher::new(MatchOp::Regex, name, ".+"),
            6 => Matcher::new(MatchOp::Regex, name, ".*"),
            7 => Matcher::new(MatchOp::Equal, name, ""),
            _ => Matcher::new(MatchOp::NotEqual, name, ""),
        };
        out.push(m.unwrap());
    }
    out
}

fn write(dir: &Path, model: &Model, mint: i64, maxt: i64) -> Arc<Block> {
    let meta = write_block(dir, model.iter().cloned(), mint, maxt).unwrap();
    Arc::new(Block::open(&dir.join(&meta.id)).unwrap())
}

#[test]
fn round_trip_matches_naive_model() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=4u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let (mint, maxt) = (1_700_000_000_000, 1_700_000_000_000 + 3 * 3600 * 1000);
        let model = random_model(&mut rng, 40, mint, maxt);
        let b = write(dir.path(), &model, mint, maxt + 1);
        assert_eq!(
            b.meta().num_series,
            model.iter().filter(|(_, s)| !s.is_empty()).count() as u64
        );
        assert_eq!(
            b.meta().num_samples,
            model.iter().map(|(_, s)| s.len() as u64).sum::<u64>()
        );
        assert_eq!(b.meta().level, 1);
        assert_eq!(b.meta().sources, vec![b.meta().id.clone()]);
        assert!(b.size_bytes() > 0);
        for _ in 0..60 {
            let ms = random_matchers(&mut rng);
            let (lo, hi) = match rng.below(3) {
                0 => (i64::MIN, i64::MAX),
                1 => (
                    mint + rng.below(3_600_000) as i64,
                    mint + 3_600_000 + rng.below(7_200_000) as i64,
                ),
                _ => {
                    let t = mint + rng.below(10_800_000) as i64;
                    (t, t + rng.below(100_000) as i64)
                }
            };
            let want = naive_select(&model, &ms, lo, hi);
            let got = b.select(&ms, lo, hi).unwrap();
            assert!(same(&got, &want), "seed {seed} matchers {ms:?} [{lo}, {hi}]");
            let labels: Vec<Labels> = b.series(&ms, lo, hi).unwrap();
            // series() works on chunk ranges: a superset of select()'s series.
            assert!(want.iter().all(|s| labels.contains(&s.labels)));
            assert!(labels.windows(2).all(|w| w[0] < w[1]));
            let all = naive_select(&model, &ms, i64::MIN, i64::MAX);
            let mut names: Vec<String> = all
                .iter()
                .flat_map(|s| s.labels.iter().map(|l| l.name.to_string()))
                .collect();
            names.sort();
            names.dedup();
            assert_eq!(b.label_names(&ms).unwrap(), names, "{ms:?}");
            let mut jobs: Vec<String> = all
                .iter()
                .filter_map(|s| s.labels.get("job").map(String::from))
                .collect();
            jobs.sort();
            jobs.dedup();
            assert_eq!(b.label_values("job", &ms).unwrap(), jobs, "{ms:?}");
        }
        assert_eq!(b.label_values("nope", &[]).unwrap(), Vec::<String>::new());
        assert!(b.label_names(&[]).unwrap().contains(&"instance".to_string()));
    }
}

#[test]
fn empty_block_and_input_validation() {
    let dir = tempfile::tempdir().unwrap();
    let b = write(dir.path(), &Vec::new(), 0, 100);
    assert_eq!(b.meta().num_series, 0);
    assert!(b.select(&[Matcher::equal("a", "b")], 0, 100).unwrap().is_empty());
    assert!(b.label_names(&[]).unwrap().is_empty());

    let a = Labels::from_pairs([("a", "1")]);
    let z = Labels::from_pairs([("a", "2")]);
    let s = vec![Sample::new(1, 1.0)];
    let unsorted = vec![(z.clone(), s.clone()), (a.clone(), s.clone())];
    assert!(matches!(
        write_block(dir.path(), unsorted.into_iter(), 0, 10),
        Err(BlockError::InvalidInput(_))
    ));
    let dup_t = vec![(a.clone(), vec![Sample::new(1, 1.0), Sample::new(1, 2.0)])];
    assert!(write_block(dir.path(), dup_t.into_iter(), 0, 10).is_err());
    let out_of_range = vec![(a, vec![Sample::new(11, 1.0)])];
    assert!(write_block(dir.path(), out_of_range.into_iter(), 0, 10).is_err());
    // Failed writes leave no directory behind, only the empty block.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn shared_timestamp_columns_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let ts: Vec<i64> = (0..480).map(|i| i * 15_000 + (i * 7919) % 23).collect();
    let series: Vec<(Labels, Vec<Sample>)> = (0..50)
        .map(|i| {
            let l = Labels::from_pairs([("__name__", format!("m{i:02}")), ("job", "x".into())]);
            (
                l,
                ts.iter()
                    .map(|&t| Sample::new(t, (t / 1000 + i) as f64))
                    .collect(),
            )
        })
        .collect();
    let (meta, stats) = write_block_stats(dir.path(), series.clone().into_iter(), 0, 480 * 15_000).unwrap();
    assert_eq!(stats.written, 51, "one timestamp column and 50 value columns");
    assert_eq!(stats.deduplicated, 49);
    let b = Block::open(&dir.path().join(&meta.id)).unwrap();
    let got = b
        .select(&[Matcher::equal("job", "x")], i64::MIN, i64::MAX)
        .unwrap();
    let want: Vec<Series> = series
        .into_iter()
        .map(|(labels, samples)| Series {
            labels,
            samples,
            histograms: Vec::new(),
        })
        .collect();
    assert!(same(&got, &want));
}

fn small_block(dir: &Path) -> (Arc<Block>, Model) {
    let mut rng = Rng(42);
    let model = random_model(&mut rng, 6, 0, 600 * 1000);
    (write(dir, &model, 0, 600 * 1000 + 1), model)
}

fn assert_names_file(e: &dyn std::fmt::Display, file: &str) {
    let s = e.to_string();
    assert!(
        s.contains(file) && s.contains("offset"),
        "error {s:?} should name {file} and an offset"
    );
}

#[test]
fn every_flipped_index_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = small_block(dir.path());
    let bdir = b.dir().to_path_buf();
    drop(b);
    let path = bdir.join(crate::format::INDEX_FILENAME);
    let orig = std::fs::read(&path).unwrap();
    for off in 0..orig.len() {
        let mut bad = orig.clone();
        bad[off] ^= 0x10;
        std::fs::write(&path, &bad).unwrap();
        match Block::open(&bdir) {
            Ok(_) => panic!("flip at {off} of {} not detected", orig.len()),
            Err(e) => assert_names_file(&e, "index"),
        }
    }
    for len in [0, 5, 8, orig.len() / 2, orig.len() - 1] {
        std::fs::write(&path, &orig[..len]).unwrap();
        assert_names_file(&Block::open(&bdir).unwrap_err(), "index");
    }
    std::fs::remove_file(&path).unwrap();
    assert_names_file(&Block::open(&bdir).unwrap_err(), "index");
}

#[test]
fn every_flipped_chunk_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (b, model) = small_block(dir.path());
    let bdir = b.dir().to_path_buf();
    drop(b);
    let path = bdir.join("chunks").join("000001");
    let orig = std::fs::read(&path).unwrap();
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
    let check = |bdir: &Path| -> Result<Vec<Series>, String> {
        let b = Block::open(bdir).map_err(|e| e.to_string())?;
        b.select(&all, i64::MIN, i64::MAX).map_err(|e| e.to_string())
    };
    assert!(same(
        &check(&bdir).unwrap(),
        &naive_select(&model, &all, i64::MIN, i64::MAX)
    ));
    for off in 0..orig.len() {
        let mut bad = orig.clone();
        bad[off] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        match check(&bdir) {
            Ok(_) => panic!("flip at {off} of {} not detected", orig.len()),
            Err(e) => assert_names_file(&e, "000001"),
        }
    }
    for len in [0, 7, 8, 20, orig.len() / 2, orig.len() - 1] {
        std::fs::write(&path, &orig[..len]).unwrap();
        assert_names_file(&check(&bdir).unwrap_err(), "000001");
    }
    std::fs::remove_file(&path).unwrap();
    std::fs::write(bdir.join("chunks").join("000002"), &orig).unwrap();
    assert_names_file(&check(&bdir).unwrap_err(), "000001");
}

#[test]
fn missing_or_bad_meta_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = small_block(dir.path());
    let bdir = b.dir().to_path_buf();
    drop(b);
    let path = bdir.join("meta.json");
    let orig = std::fs::read(&path).unwrap();
    std::fs::write(&path, &orig[..orig.len() / 2]).unwrap();
    assert_names_file(&Block::open(&bdir).unwrap_err(), "meta.json");
    let text = String::from_utf8(orig.clone()).unwrap();
    std::fs::write(&path, text.replace("\"num_series\": 6", "\"num_series\": 7")).unwrap();
    assert!(Block::open(&bdir).is_err());
    std::fs::remove_file(&path).unwrap();
    assert_names_file(&Block::open(&bdir).unwrap_err(), "meta.json");
}

fn merge_models(models: &[&Model]) -> Model {
    let mut map: std::collections::BTreeMap<Labels, std::collections::BTreeMap<i64, f64>> =
        Default::default();
    for m in models {
        for (l, s) in m.iter() {
            let e = map.entry(l.clone()).or_default();
            for x in s {
                e.insert(x.t, x.v);
            }
        }
    }
    map.into_iter()
        .map(|(l, s)| (l, s.into_iter().map(|(t, v)| Sample::new(t, v)).collect()))
        .collect()
}

#[test]
fn compaction_merges_overlapping_blocks_and_dedups() {
    let dir = tempfile::tempdir().unwrap();
    let h = 3600 * 1000;
    let mut rng = Rng(7);
    let m1 = random_model(&mut rng, 30, 0, 2 * h - 1);
    let mut rng = Rng(7); // same series and timestamps: full duplicates ...
    let mut m2 = random_model(&mut rng, 30, 0, 2 * h - 1);
    for (_, s) in m2.iter_mut() {
        // ... with changed values for some (the later block must win) and an overlap in time.
        for x in s.iter_mut().step_by(3) {
            x.v += 0.5;
        }
    }
    let mut rng = Rng(8);
    let m3 = random_model(&mut rng, 30, h, 4 * h - 1);
    let b1 = write(dir.path(), &m1, 0, 2 * h);
    let b2 = write(dir.path(), &m2, 0, 2 * h);
    let b3 = write(dir.path(), &m3, h, 4 * h);
    let meta = compact(dir.path(), &[b3.clone(), b1.clone(), b2.clone()]).unwrap();
    assert_eq!((meta.min_time, meta.max_time, meta.level), (0, 4 * h, 2));
    let mut srcs = vec![b1.meta().id.clone(), b2.meta().id.clone(), b3.meta().id.clone()];
    srcs.sort();
    assert_eq!(meta.sources, srcs);
    let c = Block::open(&dir.path().join(&meta.id)).unwrap();
    // b1 and b2 have equal min_time: the later id (b2) wins; b3 starts later and wins over both.
    let want = merge_models(&[&m1, &m2, &m3]);
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
    assert!(same(
        &c.select(&all, i64::MIN, i64::MAX).unwrap(),
        &naive_select(&want, &all, i64::MIN, i64::MAX)
    ));
    assert_eq!(
        c.meta().num_samples,
        want.iter().map(|(_, s)| s.len() as u64).sum::<u64>()
    );

    // Compacting the compacted block with a fresh one raises the level again.
    let meta2 = compact(dir.path(), &[Arc::new(c), b3]).unwrap();
    assert_eq!(meta2.level, 3);
    assert!(compact(dir.path(), &[]).is_err());
}

fn meta(id: &str, min_time: i64, max_time: i64) -> BlockMeta {
    BlockMeta {
        id: id.into(),
        min_time,
        max_time,
        num_series: 1,
        num_samples: 1,
        level: 1,
        sources: vec![id.into()],
    }
}

#[test]
fn planner_follows_prometheus_ranges() {
    let h = 3600 * 1000;
    let r = 2 * h;
    // Four 2h blocks: [0,6h) is full and before the newest: compact the first three.
    let ms: Vec<BlockMeta> = (0..4)
        .map(|i| meta(&format!("b{i}"), i * r, (i + 1) * r))
        .collect();
    assert_eq!(plan_compaction(&ms, r), vec![vec!["b0", "b1", "b2"]]);
    // Only three: the newest is set aside, [0,6h) holds two blocks before it: compact them.
    assert_eq!(plan_compaction(&ms[..3], r), vec![vec!["b0", "b1"]]);
    // Two: the newest is set aside, one block left: nothing.
    assert!(plan_compaction(&ms[..2], r).is_empty());
    assert!(plan_compaction(&ms[..1], r).is_empty());
    // Overlapping blocks are merged first.
    let mut ov = ms.clone();
    ov.push(meta("x", h, 3 * h));
    assert_eq!(plan_compaction(&ov, r), vec![vec!["b0", "x", "b1"]]);
    // Three 6h blocks and a newer 2h block: the 18h window [0,18h) is full.
    let six: Vec<BlockMeta> = (0..3)
        .map(|i| meta(&format!("s{i}"), i * 3 * r, (i + 1) * 3 * r))
        .collect();
    let mut ms2 = six.clone();
    ms2.push(meta("n", 9 * r, 10 * r));
    assert_eq!(plan_compaction(&ms2, r), vec![vec!["s0", "s1", "s2"]]);
    // Several windows are returned at once; groups never include the newest block.
    let ms3: Vec<BlockMeta> = (0..7)
        .map(|i| meta(&format!("c{i}"), i * r, (i + 1) * r))
        .collect();
    assert_eq!(
        plan_compaction(&ms3, r),
        vec![vec!["c0", "c1", "c2"], vec!["c3", "c4", "c5"]]
    );
    // A block straddling a window is left alone.
    let ms4 = vec![
        meta("a", 2 * h, 8 * h),
        meta("b", 8 * h, 10 * h),
        meta("c", 10 * h, 12 * h),
        meta("d", 20 * h, 22 * h),
    ];
    assert_eq!(plan_compaction(&ms4, r), vec![vec!["b", "c"]]);
    assert!(plan_compaction(&ms, 0).is_empty());
}

#[test]
fn retention_by_time_and_size() {
    let h = 3600 * 1000;
    let ms: Vec<(BlockMeta, u64)> = (0..5)
        .map(|i| (meta(&format!("b{i}"), i * 2 * h, (i + 1) * 2 * h), 100))
        .collect();
    // Newest ends at 10h; 5h retention: blocks ending at or before 5h expire.
    assert_eq!(expired_blocks(&ms, 10 * h, 5 * h, 0), vec!["b0", "b1"]);
    assert!(expired_blocks(&ms, 10 * h, 0, 0).is_empty());
    // 250 bytes: the three newest exceed it at the third.
    assert_eq!(expired_blocks(&ms, 10 * h, 0, 250), vec!["b0", "b1", "b2"]);
    assert_eq!(expired_blocks(&ms, 10 * h, 0, 500), Vec::<String>::new());
    assert_eq!(expired_blocks(&ms, 10 * h, 7 * h, 350), vec!["b0", "b1"]);
    assert_eq!(expired_blocks(&ms, 100 * h, h, 0).len(), 5);
}

#[test]
fn delete_block_and_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let (b, model) = small_block(dir.path());
    let bdir = b.dir().to_path_buf();
    assert_eq!(list_block_dirs(dir.path()).unwrap(), vec![bdir.clone()]);
    delete_block(&bdir).unwrap();
    assert!(!bdir.exists());
    // The open block stays readable (files are unlinked, not truncated).
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
    assert!(same(
        &b.select(&all, i64::MIN, i64::MAX).unwrap(),
        &naive_select(&model, &all, i64::MIN, i64::MAX)
    ));
    delete_block(&bdir).unwrap(); // idempotent
    let id = new_block_id();
    std::fs::create_dir_all(dir.path().join(format!("{id}.tmp")).join("chunks")).unwrap();
    std::fs::create_dir_all(dir.path().join(format!("{}.deleted", new_block_id()))).unwrap();
    std::fs::create_dir_all(dir.path().join("keep.tmp")).unwrap();
    assert_eq!(remove_leftovers(dir.path()).unwrap().len(), 2);
    assert!(dir.path().join("keep.tmp").exists());
    assert!(list_block_dirs(dir.path()).unwrap().is_empty());
}

#[test]
fn compaction_of_random_splits_restores_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let h = 3600 * 1000;
    for seed in 1..=3u64 {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let model = random_model(&mut rng, 25, 0, 6 * h);
        // Every sample goes to one or two of three blocks (duplicates carry the same value).
        let mut parts: Vec<Model> = vec![Vec::new(), Vec::new(), Vec::new()];
        for (l, samples) in &model {
            let mut split: Vec<Vec<Sample>> = vec![Vec::new(); 3];
            for s in samples {
                let a = rng.below(3) as usize;
                split[a].push(*s);
                if rng.below(4) == 0 {
                    split[(a + 1) % 3].push(*s);
                }
            }
            for (p, s) in parts.iter_mut().zip(split) {
                p.push((l.clone(), s));
            }
        }
        let blocks: Vec<Arc<Block>> = parts.iter().map(|p| write(dir.path(), p, 0, 6 * h + 1)).collect();
        let meta = compact(dir.path(), &blocks).unwrap();
        let c = Block::open(&dir.path().join(&meta.id)).unwrap();
        let all = [Matcher::new(MatchOp::Regex, "job", ".+").unwrap()];
        let want = naive_select(&model, &all, i64::MIN, i64::MAX);
        assert!(
            same(&c.select(&all, i64::MIN, i64::MAX).unwrap(), &want),
            "seed {seed}"
        );
        assert_eq!(c.meta().num_series, want.len() as u64);
        for b in &blocks {
            delete_block(b.dir()).unwrap();
        }
    }
}

#[test]
fn block_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Block>();
}
