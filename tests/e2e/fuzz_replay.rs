//! Replays every committed fuzz input (`fuzz/corpus/<target>/*` seeds and
//! `fuzz/regressions/<target>/*`, inputs that once crashed) through the same target functions
//! the cargo-fuzz binaries run, on the stable toolchain, so CI checks them without nightly.
//!
//! `cargo test --test e2e fuzz_replay -- --ignored write_seeds` regenerates the binary seeds that
//! are made by Sextant itself (WAL segment, block index and chunks, remote-write bodies).

// The target functions are `pub` for the libFuzzer binaries of the fuzz crate.
#[allow(unreachable_pub)]
#[path = "../../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn replay_committed_fuzz_inputs() {
    let mut failures = Vec::new();
    for (name, f) in targets::TARGETS {
        let mut n = 0;
        for sub in ["corpus", "regressions"] {
            for p in inputs(&fuzz_dir().join(sub).join(name)) {
                let data = std::fs::read(&p).unwrap();
                n += 1;
                if std::panic::catch_unwind(|| f(&data)).is_err() {
                    failures.push(p.display().to_string());
                }
            }
        }
        assert!(n > 0, "no committed inputs for fuzz target {name}");
    }
    assert!(failures.is_empty(), "fuzz inputs that panic: {failures:#?}");
}

#[test]
#[ignore = "writes seed files into fuzz/corpus; run by hand"]
fn write_seeds() {
    use prost::Message;
    use storage::{Appendable, Labels, Queryable};
    let corpus = fuzz_dir().join("corpus");
    let put = |target: &str, name: &str, data: &[u8]| {
        let d = corpus.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), data).unwrap();
    };

    // WAL segment with series, samples, metadata and tombstone records.
    let dir = tempfile::tempdir().unwrap();
    {
        let mut o = storage::DbOptions::new(dir.path());
        o.auto_maintenance = false;
        let db = storage::Db::open(o).unwrap();
        let mut app = db.appender();
        for s in 0..4 {
            let l = Labels::from_pairs([("__name__", format!("m{}", s % 2)), ("i", s.to_string())]);
            for t in 0..20 {
                app.append(storage::SeriesRef::NONE, &l, 1000 * t, (t * s) as f64)
                    .unwrap();
            }
        }
        app.update_metadata(
            "m0",
            storage::MetricMetadata {
                metric_type: storage::MetricType::Counter,
                help: "help".into(),
                unit: String::new(),
            },
        )
        .unwrap();
        app.commit().unwrap();
        db.delete_series(&[storage::Matcher::equal("i", "3")], 0, 5000)
            .unwrap();
        let _ = db.querier(0, 1);
        db.close().unwrap();
    }
    put(
        "wal_segment",
        "db-written",
        &std::fs::read(dir.path().join("wal/00000001")).unwrap(),
    );

    // WAL segment and chunk column with native histograms (integer-valued, float and custom buckets).
    let hist = |i: u32, schema: i32| storage::FloatHistogram {
        schema,
        zero_threshold: if schema == storage::CUSTOM_BUCKETS_SCHEMA {
            0.0
        } else {
            1e-128
        },
        zero_count: if schema == storage::CUSTOM_BUCKETS_SCHEMA {
            0.0
        } else {
            1.0
        },
        count: 10.0 + 4.0 * i as f64,
        sum: 2.5 * i as f64,
        positive_spans: vec![storage::BucketSpan::new(0, 2), storage::BucketSpan::new(2, 1)],
        positive_buckets: vec![3.0 + i as f64, 4.0, 2.0 + 3.0 * i as f64],
        custom_values: if schema == storage::CUSTOM_BUCKETS_SCHEMA {
            vec![0.1, 0.5, 1.0, 5.0, 10.0]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    let hdir = tempfile::tempdir().unwrap();
    {
        let mut o = storage::DbOptions::new(hdir.path());
        o.auto_maintenance = false;
        let db = storage::Db::open(o).unwrap();
        let mut app = db.appender();
        for (s, schema) in [(0, 3), (1, -2), (2, storage::CUSTOM_BUCKETS_SCHEMA)] {
            let l = Labels::from_pairs([("__name__", "rpc_seconds".to_string()), ("s", s.to_string())]);
            for t in 0..6u32 {
                app.append_histogram(storage::SeriesRef::NONE, &l, 1000 * t as i64, &hist(t, schema))
                    .unwrap();
            }
        }
        app.commit().unwrap();
        db.close().unwrap();
    }
    put(
        "wal_segment",
        "db-written-histograms",
        &std::fs::read(hdir.path().join("wal/00000001")).unwrap(),
    );
    let column: Vec<storage::FloatHistogram> = (0..8).map(|i| hist(i, 3)).collect();
    let refs: Vec<&storage::FloatHistogram> = column.iter().collect();
    let mut chunk = Vec::new();
    storage::chunk::encode_histograms(&refs, &mut chunk);
    put("histogram_chunk", "schema3", &chunk);

    // A block: its index and chunks file.
    let bdir = tempfile::tempdir().unwrap();
    let mut series: Vec<(Labels, Vec<storage::Sample>)> = (0..6)
        .map(|s| {
            let l = Labels::from_pairs([("__name__", format!("x{}", s % 3)), ("job", format!("j{s}"))]);
            let samples = (0..40)
                .map(|i| storage::Sample {
                    t: 10_000 + i * 15_000 + (i % 3),
                    v: if s == 0 {
                        i as f64
                    } else {
                        (i as f64).sqrt() * s as f64
                    },
                })
                .collect();
            (l, samples)
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let meta = storage::block::write_block(bdir.path(), series.into_iter(), 0, 1_000_000).unwrap();
    let b = bdir.path().join(&meta.id);
    put("block_index", "written", &std::fs::read(b.join("index")).unwrap());
    put(
        "block_chunks",
        "written",
        &std::fs::read(b.join("chunks/000001")).unwrap(),
    );

    // Remote write 1.0 and 2.0 messages (raw protobuf; the target adds snappy).
    use prompb::*;
    let v1 = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: "up".into(),
                },
                Label {
                    name: "job".into(),
                    value: "a".into(),
                },
            ],
            samples: vec![
                Sample {
                    value: 1.0,
                    timestamp: 1_700_000_000_000,
                },
                Sample {
                    value: 0.0,
                    timestamp: 1_700_000_015_000,
                },
            ],
            ..Default::default()
        }],
        metadata: vec![MetricMetadata {
            r#type: 1,
            metric_family_name: "up".into(),
            help: "whether up".into(),
            unit: String::new(),
        }],
    };
    put("remote_write_v1", "small", &v1.encode_to_vec());
    for f in ["prometheus-2.42_samples", "prometheus-2.42_metadata"] {
        let body = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/remote_write/{f}.snappy.bin")),
        )
        .unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        // Keep the seeds small: the first series only.
        let mut req = WriteRequest::decode(raw.as_slice()).unwrap();
        req.timeseries.truncate(8);
        req.metadata.truncate(8);
        put("remote_write_v1", f, &req.encode_to_vec());
    }
    let v2 = RequestV2 {
        symbols: vec![
            "".into(),
            "__name__".into(),
            "up".into(),
            "job".into(),
            "a".into(),
        ],
        timeseries: vec![TimeSeriesV2 {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![Sample {
                value: 1.0,
                timestamp: 1_700_000_000_000,
            }],
            ..Default::default()
        }],
    };
    put("remote_write_v2", "small", &v2.encode_to_vec());
}
