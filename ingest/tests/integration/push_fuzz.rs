//! Property tests standing in for fuzz targets (stable toolchain): no input makes the
//! remote-write or OTLP decoders panic, and a refused request stores nothing.

use crate::push_support::fixture;
use ingest::otlp::http::{decode, Encoding};
use ingest::remote_write::series_cache::SeriesCache;
use ingest::remote_write::{ingest, Version};
use ingest::PushLimits;
use proptest::prelude::*;
use storage::{Db, DbOptions, MatchOp, Matcher, Queryable, SelectHints};

fn stored(db: &Db) -> usize {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    q.select(
        &SelectHints {
            mint: i64::MIN,
            maxt: i64::MAX,
        },
        &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
    )
    .unwrap()
    .len()
}

fn small_limits() -> PushLimits {
    PushLimits {
        max_decompressed_bytes: 1 << 20,
        ..PushLimits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn remote_write_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512), v2 in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(DbOptions::new(dir.path())).unwrap();
        let cache = SeriesCache::new(1024);
        let version = if v2 { Version::V2 } else { Version::V1 };
        // Raw bytes (mostly bad snappy) and the same bytes as valid snappy (bad protobuf).
        let r = ingest(&db, version, &body, &small_limits(), &cache);
        if r.is_err() { prop_assert_eq!(stored(&db), 0); }
        let compressed = snap::raw::Encoder::new().compress_vec(&body).unwrap();
        let _ = ingest(&db, version, &compressed, &small_limits(), &cache);
    }

    #[test]
    fn remote_write_survives_mutated_captures(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let body = fixture("remote_write/prometheus-2.42_samples.snappy.bin");
        let mut raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        for (i, b) in &flips {
            let at = i.index(raw.len());
            raw[at] = *b;
        }
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(DbOptions::new(dir.path())).unwrap();
        let cache = SeriesCache::new(1024);
        let compressed = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        match ingest(&db, Version::V1, &compressed, &small_limits(), &cache) {
            Ok(out) => prop_assert!(out.samples <= 500),
            Err(_) => prop_assert_eq!(stored(&db), 0),
        }
    }

    #[test]
    fn otlp_decoders_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let _ = decode(Encoding::Protobuf, &body);
        let _ = decode(Encoding::Json, &body);
        // A mutated real export, decoded and translated.
        let mut pb = fixture("otlp/py_http_cumulative.pb");
        for (i, b) in &flips {
            let at = i.index(pb.len());
            pb[at] = *b;
        }
        if let Ok(req) = decode(Encoding::Protobuf, &pb) {
            let dir = tempfile::tempdir().unwrap();
            let db = Db::open(DbOptions::new(dir.path())).unwrap();
            let limits = PushLimits::default();
            let state = ingest::otlp::OtlpState::new(&limits.otlp);
            let _ = ingest::otlp::ingest(&db, &state, &req, &limits);
        }
        let mut js = fixture("otlp/js_http_cumulative.json");
        for (i, b) in &flips {
            let at = i.index(js.len());
            js[at] = *b;
        }
        let _ = decode(Encoding::Json, &js);
    }
}
