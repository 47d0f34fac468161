//! The bodies of Sextant's fuzz targets, one function per target, shared by the cargo-fuzz
//! binaries in `fuzz_targets/` (nightly, libFuzzer) and by the stable replay test
//! `tests/e2e/fuzz_replay.rs`, which runs every committed corpus and regression input through the
//! same functions so CI needs no nightly toolchain.
//!
//! Each function takes arbitrary bytes and must return without panicking, hanging or
//! allocating without bound, whatever the bytes are. Errors are the expected outcome for most
//! inputs and are ignored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// A fuzz target's body.
#[allow(dead_code)] // used by the replay test, not by the libFuzzer binaries
pub(crate) type Target = fn(&[u8]);

/// Every target by name, for the replay test: `(name, function)`.
#[allow(dead_code)] // used by the replay test, not by the libFuzzer binaries
pub(crate) const TARGETS: &[(&str, Target)] = &[
    ("exposition_text", exposition_text),
    ("openmetrics", openmetrics),
    ("remote_write_v1", remote_write_v1),
    ("remote_write_v2", remote_write_v2),
    ("otlp_protobuf", otlp_protobuf),
    ("otlp_json", otlp_json),
    ("promql", promql),
    ("wal_segment", wal_segment),
    ("block_index", block_index),
    ("block_chunks", block_chunks),
    ("exposition_protobuf", exposition_protobuf),
    ("histogram_chunk", histogram_chunk),
];

/// A scratch directory for file-based targets: tmpfs when there is one (fsync is cheap there).
fn scratch() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new().prefix("sextant-fuzz").tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().expect("a temporary directory")
}

/// A database shared by all runs of a target in one process: ingest targets write into it,
/// the PromQL target reads a small fixed data set from it.
struct SharedDb {
    _dir: tempfile::TempDir,
    db: storage::Db,
    /// Remote write's label-set -> series-reference cache. It belongs to one database (as the
    /// push router's does): references of a discarded database would name other series.
    series: ingest::remote_write::series_cache::SeriesCache,
}

fn open_db(dir: &std::path::Path) -> storage::Db {
    let mut opts = storage::DbOptions::new(dir);
    opts.auto_maintenance = false;
    opts.wal_fsync_interval = std::time::Duration::from_secs(3600);
    storage::Db::open(opts).expect("open the fuzzing database")
}

/// A fresh ingest database every 2000 inputs, so the head does not grow without bound over a
/// long fuzzing run.
fn ingest_db() -> Arc<SharedDb> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    static DB: Mutex<Option<Arc<SharedDb>>> = Mutex::new(None);
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let mut g = DB.lock().unwrap();
    if RUNS.fetch_add(1, Ordering::Relaxed).checked_rem(2000) == Some(0) {
        *g = None;
    }
    g.get_or_insert_with(|| {
        let dir = scratch();
        let db = open_db(dir.path());
        Arc::new(SharedDb {
            _dir: dir,
            db,
            series: ingest::remote_write::series_cache::SeriesCache::new(10_000),
        })
    })
    .clone()
}

/// Prometheus text exposition format.
pub fn exposition_text(data: &[u8]) {
    let _ = ingest::exposition::parse_format(data, ingest::ExpositionFormat::PrometheusText);
}

/// OpenMetrics text.
pub fn openmetrics(data: &[u8]) {
    let _ = ingest::exposition::parse_format(data, ingest::ExpositionFormat::OpenMetrics);
}

/// The Prometheus protobuf exposition format (delimited `MetricFamily` messages), transcoded
/// with native histograms kept and with classic buckets kept, and the text it becomes parsed.
pub fn exposition_protobuf(data: &[u8]) {
    use ingest::exposition::protobuf::{transcode, ProtobufOptions};
    for (native, classic) in [(true, false), (true, true), (false, true)] {
        let opts = ProtobufOptions {
            native_histograms: native,
            classic_histograms: classic,
        };
        if let Ok(t) = transcode(data, opts) {
            let _ =
                ingest::exposition::parse_format(t.text.as_bytes(), ingest::ExpositionFormat::PrometheusText);
            for (_, h) in &t.histograms {
                let _ = h.validate();
            }
        }
    }
}

/// The native histogram chunk column: decoded directly; whatever decodes is encoded again and
/// must decode to the same histograms.
pub fn histogram_chunk(data: &[u8]) {
    let mut hs = Vec::new();
    if storage::chunk::decode_histograms(data, &mut hs).is_err() || hs.is_empty() {
        let _ = storage::chunk::histogram_count(data);
        return;
    }
    let refs: Vec<&storage::FloatHistogram> = hs.iter().collect();
    let mut again = Vec::new();
    storage::chunk::encode_histograms(&refs, &mut again);
    let mut back = Vec::new();
    storage::chunk::decode_histograms(&again, &mut back).expect("re-encoded histograms decode");
    assert_eq!(back.len(), hs.len(), "re-encoded histogram count");
}

fn push_limits() -> ingest::PushLimits {
    ingest::PushLimits {
        max_decompressed_bytes: 8 << 20,
        ..Default::default()
    }
}

fn snappy(data: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(data).unwrap_or_default()
}

fn remote_write(data: &[u8], version: ingest::remote_write::Version) {
    let limits = push_limits();
    let db = ingest_db();
    let cache = &db.series;
    // The input is the protobuf message; the snappy framing is added here so the fuzzer
    // explores the message rather than the compressor. The raw bytes are also tried as a
    // (likely broken) snappy body.
    let _ = ingest::remote_write::ingest(&db.db, version, &snappy(data), &limits, cache);
    let _ = ingest::remote_write::ingest(&db.db, version, data, &limits, cache);
}

/// Remote write 1.0 (`prometheus.WriteRequest`), decoded and written to a database.
pub fn remote_write_v1(data: &[u8]) {
    remote_write(data, ingest::remote_write::Version::V1);
}

/// Remote write 2.0 (`io.prometheus.write.v2.Request`), decoded and written to a database.
pub fn remote_write_v2(data: &[u8]) {
    remote_write(data, ingest::remote_write::Version::V2);
}

fn otlp(data: &[u8], enc: ingest::otlp::http::Encoding) {
    static STATE: OnceLock<ingest::otlp::OtlpState> = OnceLock::new();
    let limits = push_limits();
    let state = STATE.get_or_init(|| ingest::otlp::OtlpState::new(&limits.otlp));
    if let Ok(req) = ingest::otlp::http::decode(enc, data) {
        let db = ingest_db();
        let _ = ingest::otlp::ingest(&db.db, state, &req, &limits);
    }
}

/// OTLP metrics export request, binary protobuf, decoded and written to a database.
pub fn otlp_protobuf(data: &[u8]) {
    otlp(data, ingest::otlp::http::Encoding::Protobuf);
}

/// OTLP metrics export request, OTLP/JSON, decoded and written to a database.
pub fn otlp_json(data: &[u8]) {
    otlp(data, ingest::otlp::http::Encoding::Json);
}

/// Start of the fixed PromQL data set (ms).
pub const PROMQL_T0: i64 = 1_700_000_000_000;

fn promql_db() -> &'static SharedDb {
    use storage::{Appendable, Labels};
    static DB: OnceLock<SharedDb> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = scratch();
        let db = open_db(dir.path());
        let mut app = db.appender();
        let series: Vec<Labels> = vec![
            Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "200"),
            ]),
            Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "500"),
            ]),
            Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("job", "web"),
                ("code", "200"),
            ]),
            Labels::from_pairs([("__name__", "node_load1"), ("instance", "a")]),
            Labels::from_pairs([("__name__", "node_load1"), ("instance", "b")]),
            Labels::from_pairs([("__name__", "req_seconds_bucket"), ("le", "0.1")]),
            Labels::from_pairs([("__name__", "req_seconds_bucket"), ("le", "1")]),
            Labels::from_pairs([("__name__", "req_seconds_bucket"), ("le", "+Inf")]),
        ];
        for i in 0..120i64 {
            let t = PROMQL_T0 + i * 15_000;
            for (k, l) in series.iter().enumerate() {
                let v = match k {
                    0..=2 => (i * (k as i64 + 1)) as f64,
                    3 | 4 => ((i as f64) / 7.0).sin() + k as f64,
                    _ => (i * (k as i64 - 4)) as f64,
                };
                let v = if i == 60 && k == 3 { f64::NAN } else { v };
                app.append(storage::SeriesRef::NONE, l, t, v).unwrap();
            }
        }
        app.commit().unwrap();
        SharedDb {
            _dir: dir,
            db,
            series: ingest::remote_write::series_cache::SeriesCache::new(1),
        }
    })
}

/// PromQL: parse, then evaluate as an instant and as a range query over a small fixed data
/// set, with tight limits so that expensive expressions end in an error, not a hang.
pub fn promql(data: &[u8]) {
    let Ok(expr) = std::str::from_utf8(data) else {
        return;
    };
    if query::engine::parse(expr).is_err() {
        return;
    }
    static ENGINE: OnceLock<query::Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        query::Engine::new(query::EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            timeout: std::time::Duration::from_secs(2),
            max_samples: 200_000,
            max_concurrency: 4,
        })
    });
    let db = &promql_db().db;
    let end = PROMQL_T0 + 30 * 60_000;
    let _ = engine.instant(db, expr, end);
    let _ = engine.range(db, expr, PROMQL_T0, end, 60_000);
}

/// A WAL segment: written as `wal/00000001` of a fresh data directory, which is then opened
/// (replay, truncation of damage) and read back.
pub fn wal_segment(data: &[u8]) {
    use storage::Queryable;
    let dir = scratch();
    let wal = dir.path().join("wal");
    std::fs::create_dir_all(&wal).unwrap();
    std::fs::write(wal.join("00000001"), data).unwrap();
    let db = match storage::Db::open({
        let mut o = storage::DbOptions::new(dir.path());
        o.auto_maintenance = false;
        o.wal_fsync_interval = std::time::Duration::from_secs(3600);
        o
    }) {
        Ok(db) => db,
        Err(_) => return,
    };
    let m = storage::Matcher::new(storage::MatchOp::Regex, "__name__", ".+").unwrap();
    let querier = db.querier(i64::MIN, i64::MAX);
    if let Ok(q) = &querier {
        let hints = storage::SelectHints {
            mint: i64::MIN,
            maxt: i64::MAX,
        };
        let _ = q.select(&hints, &[m]);
    }
}

/// A template block (meta.json, index, chunks) written once per process.
fn template_block() -> &'static (tempfile::TempDir, PathBuf) {
    static T: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch();
        let series = (0..5).map(|s| {
            let labels = storage::Labels::from_pairs([
                ("__name__", format!("m{}", s % 2)),
                ("instance", format!("i{s}")),
            ]);
            let samples = (0..50)
                .map(|i| storage::Sample {
                    t: 1000 + i * 1000,
                    v: (i * s) as f64 + 0.5,
                })
                .collect::<Vec<_>>();
            (labels, samples)
        });
        let mut all: Vec<_> = series.collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let meta = storage::block::write_block(dir.path(), all.into_iter(), 0, 100_000).unwrap();
        let block = dir.path().join(meta.id);
        (dir, block)
    })
}

/// Copies a file with `read`/`write_all`, which retry on EINTR: `std::fs::copy` can fail with
/// `Interrupted` when libFuzzer's timeout signal (SIGALRM) lands in `copy_file_range`.
fn copy_file(from: &std::path::Path, to: &std::path::Path) {
    std::fs::write(to, std::fs::read(from).unwrap()).unwrap();
}

fn copy_template(to: &std::path::Path) {
    let (_, block) = template_block();
    std::fs::create_dir_all(to.join("chunks")).unwrap();
    for f in ["meta.json", "index"] {
        copy_file(&block.join(f), &to.join(f));
    }
    for e in std::fs::read_dir(block.join("chunks")).unwrap() {
        let e = e.unwrap();
        copy_file(&e.path(), &to.join("chunks").join(e.file_name()));
    }
}

fn read_block(dir: &std::path::Path) {
    let Ok(b) = storage::block::Block::open(dir) else {
        return;
    };
    let m = storage::Matcher::new(storage::MatchOp::Regex, "__name__", ".*").unwrap();
    let _ = b.select(std::slice::from_ref(&m), i64::MIN, i64::MAX);
    let _ = b.label_names(&[]);
    let _ = b.series(&[m], i64::MIN, i64::MAX);
}

/// A block `index` file: read directly (every label, value, posting list and series), then
/// as part of a block with the template's chunks.
pub fn block_index(data: &[u8]) {
    let dir = scratch();
    let blk = dir.path().join("b");
    copy_template(&blk);
    std::fs::write(blk.join("index"), data).unwrap();
    if let Ok(ix) = storage::index::IndexReader::open(&blk.join("index")) {
        for name in ix.label_names().into_iter().take(64) {
            for value in ix.label_values(&name).into_iter().take(64) {
                let _ = ix.postings(&name, &value);
            }
        }
        for ord in 0..ix.num_series().min(1024) {
            let _ = ix.series(ord);
        }
    }
    read_block(&blk);
}

/// A block chunks file (`chunks/000001`) under the template's index, read through a select;
/// the bytes are also decoded directly as timestamp and value columns.
pub fn block_chunks(data: &[u8]) {
    let mut ts = Vec::new();
    let mut vs = Vec::new();
    let _ = storage::chunk::decode_timestamps(data, &mut ts);
    let _ = storage::chunk::decode_values(data, &mut vs);
    let dir = scratch();
    let blk = dir.path().join("b");
    copy_template(&blk);
    let chunks = blk.join("chunks");
    for e in std::fs::read_dir(&chunks).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    std::fs::write(chunks.join("000001"), data).unwrap();
    read_block(&blk);
}
