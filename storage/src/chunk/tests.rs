//! Round-trip property tests and garbage-input tests for every codec.

use super::*;
use crate::{Sample, STALE_NAN};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// Values that stress the codecs: specials, decimals, huge and tiny magnitudes, random bits.
fn value_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(STALE_NAN),
        Just(f64::NAN),
        Just(f64::from_bits(0x7ff8_0000_dead_beef)),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(1e300),
        Just(-1e-300),
        Just(9.223_372_036_854_776e18),
        Just(1.8446744073709552e19),
        (-1_000_000i64..1_000_000).prop_map(|m| m as f64),
        (-1_000_000_000i64..1_000_000_000, 0u32..12).prop_map(|(m, k)| m as f64 / 10f64.powi(k as i32)),
        (0i64..1 << 40).prop_map(|m| (m * 4096) as f64),
        any::<u64>().prop_map(f64::from_bits),
        any::<f64>(),
    ]
}

/// Column shapes: mostly "realistic" runs plus fully random values.
fn values_strategy() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        prop::collection::vec(value_strategy(), 0..300),
        // A counter with k decimals, possibly with a reset and a stale marker.
        (
            0u32..4,
            0usize..300,
            any::<u64>(),
            prop::collection::vec(0i64..500, 1..300)
        )
            .prop_map(|(k, reset_at, seed, steps)| {
                let p = 10f64.powi(k as i32);
                let mut acc = (seed % 1000) as i64;
                let mut out = Vec::new();
                for (i, s) in steps.iter().enumerate() {
                    if i == reset_at {
                        acc = 0;
                    }
                    acc += s;
                    out.push(if i == reset_at + 7 {
                        STALE_NAN
                    } else {
                        acc as f64 / p
                    });
                }
                out
            }),
        // A constant.
        (value_strategy(), 0usize..300).prop_map(|(v, n)| vec![v; n]),
    ]
}

/// Strictly increasing timestamps (negative allowed) with jitter and gaps.
fn timestamps_strategy() -> impl Strategy<Value = Vec<i64>> {
    (
        prop_oneof![
            Just(0i64),
            -2_000_000_000_000i64..2_000_000_000_000,
            Just(i64::MIN / 2)
        ],
        prop::collection::vec(
            prop_oneof![8 => 15_000i64..15_031, 1 => 1i64..100_000_000, 1 => Just(15_000i64)],
            0..300,
        ),
    )
        .prop_map(|(start, deltas)| {
            let mut t = start;
            deltas
                .into_iter()
                .map(|d| {
                    t += d;
                    t
                })
                .collect()
        })
}

fn bits(vs: &[f64]) -> Vec<u64> {
    vs.iter().map(|v| v.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn head_chunk_round_trips(ts in timestamps_strategy(), vs in values_strategy()) {
        let n = ts.len().min(vs.len());
        let mut c = HeadChunk::new();
        for i in 0..n {
            c.append(ts[i], vs[i]);
        }
        prop_assert_eq!(c.len(), n);
        prop_assert_eq!(c.is_empty(), n == 0);
        if n > 0 {
            prop_assert_eq!(c.min_time(), ts[0]);
            prop_assert_eq!(c.max_time(), ts[n - 1]);
        }
        let got: Vec<Sample> = c.iter().collect();
        prop_assert_eq!(got.len(), n);
        for i in 0..n {
            prop_assert!(got[i].same_bits(&Sample::new(ts[i], vs[i])), "sample {i}: {:?} vs {} {}", got[i], ts[i], vs[i]);
        }
        // A closed chunk's bytes read back alone give the same samples.
        let closed: Vec<Sample> = HeadChunk::iter_bytes(c.as_bytes()).collect();
        prop_assert!(closed.iter().zip(&got).all(|(a, b)| a.same_bits(b)) && closed.len() == n);
        // Cut short: never more samples than the bytes hold, and no panic.
        let cut = &c.as_bytes()[..c.as_bytes().len() / 2];
        prop_assert!(HeadChunk::iter_bytes(cut).count() <= n);
        // Persistence: restore, compare, and keep appending.
        let mut back = HeadChunk::from_bytes(c.as_bytes()).unwrap();
        prop_assert_eq!(back.as_bytes(), c.as_bytes());
        prop_assert_eq!(back.len(), n);
        if n > 0 {
            prop_assert_eq!(back.min_time(), ts[0]);
            prop_assert_eq!(back.max_time(), ts[n - 1]);
        }
        let t_next = if n > 0 { ts[n - 1] + 15_000 } else { 7 };
        back.append(t_next, 1.5);
        c.append(t_next, 1.5);
        prop_assert_eq!(back.as_bytes(), c.as_bytes());
        let last = back.iter().last().unwrap();
        prop_assert!(last.same_bits(&Sample::new(t_next, 1.5)));
    }

    #[test]
    fn timestamp_columns_round_trip(ts in timestamps_strategy(), prefix in prop::collection::vec(any::<u8>(), 0..3)) {
        let mut buf = prefix.clone();
        encode_timestamps(&ts, &mut buf);
        let len = buf.len() - prefix.len();
        buf.extend_from_slice(&[0xAB, 0xCD]); // the next column
        let mut out = vec![42];
        let used = decode_timestamps(&buf[prefix.len()..], &mut out).unwrap();
        prop_assert_eq!(used, len);
        prop_assert_eq!(&out[1..], &ts[..]);
    }

    #[test]
    fn value_columns_round_trip(vs in values_strategy()) {
        let mut buf = Vec::new();
        encode_values(&vs, &mut buf);
        let len = buf.len();
        buf.push(0x55);
        let mut out = vec![1.0];
        let used = decode_values(&buf, &mut out).unwrap();
        prop_assert_eq!(used, len);
        prop_assert_eq!(bits(&out[1..]), bits(&vs));
    }

    #[test]
    fn decoders_survive_random_bytes(data in prop::collection::vec(any::<u8>(), 0..200)) {
        feed_all_decoders(&data);
    }
}

/// Feeds `data` to every decoder; none may panic, and what they accept must be self-consistent.
fn feed_all_decoders(data: &[u8]) {
    let mut ts = Vec::new();
    if let Ok(n) = decode_timestamps(data, &mut ts) {
        assert!(n <= data.len());
    } else {
        assert!(ts.is_empty(), "failed decode must leave the output as it was");
    }
    let mut vs = Vec::new();
    if let Ok(n) = decode_values(data, &mut vs) {
        assert!(n <= data.len());
    } else {
        assert!(vs.is_empty(), "failed decode must leave the output as it was");
    }
    if let Ok(c) = HeadChunk::from_bytes(data) {
        assert_eq!(c.iter().count(), c.len());
        assert_eq!(c.as_bytes(), data);
    }
}

/// Every prefix, and every single-byte corruption, of valid encodings of many shapes.
#[test]
fn decoders_survive_truncated_and_flipped_valid_data() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..24 {
        let ts = timestamps_strategy().new_tree(&mut runner).unwrap().current();
        let vs = values_strategy().new_tree(&mut runner).unwrap().current();
        let mut encoded = Vec::new();
        let mut b = Vec::new();
        encode_timestamps(&ts, &mut b);
        encoded.push(b);
        let mut b = Vec::new();
        encode_values(&vs, &mut b);
        encoded.push(b);
        let mut c = HeadChunk::new();
        for (t, v) in ts.iter().zip(&vs) {
            c.append(*t, *v);
        }
        encoded.push(c.as_bytes().to_vec());
        for e in &encoded {
            for cut in 0..e.len() {
                feed_all_decoders(&e[..cut]);
            }
            for i in 0..e.len() {
                let mut f = e.clone();
                f[i] ^= 1 << (i % 8);
                feed_all_decoders(&f);
                f[i] = 0xff;
                feed_all_decoders(&f);
            }
        }
        // Truncations of a column must be detected, not decoded as something shorter.
        let mut b = Vec::new();
        encode_values(&vs, &mut b);
        for cut in 0..b.len() {
            assert!(
                decode_values(&b[..cut], &mut Vec::new()).is_err(),
                "values cut at {cut}/{}",
                b.len()
            );
        }
        let mut b = Vec::new();
        encode_timestamps(&ts, &mut b);
        for cut in 0..b.len() {
            assert!(
                decode_timestamps(&b[..cut], &mut Vec::new()).is_err(),
                "ts cut at {cut}/{}",
                b.len()
            );
        }
    }
}

#[test]
fn head_chunk_rejects_bad_buffers() {
    assert!(matches!(
        HeadChunk::from_bytes(&[]),
        Err(ChunkError::Truncated { .. })
    ));
    assert!(matches!(
        HeadChunk::from_bytes(&[1, 0, 0]),
        Err(ChunkError::Truncated { .. })
    ));
    // Claims many samples, holds none.
    assert!(HeadChunk::from_bytes(&[0xff, 0xff, 0xff, 0xff]).is_err());
    // Empty chunk with a trailing byte.
    assert!(matches!(
        HeadChunk::from_bytes(&[0, 0, 0, 0, 9]),
        Err(ChunkError::TrailingBytes { n: 1 })
    ));
    let empty = HeadChunk::from_bytes(&[0, 0, 0, 0]).unwrap();
    assert!(empty.is_empty());
    let mut c = HeadChunk::new();
    c.append(1000, 1.0);
    c.append(2000, 2.0);
    let mut b = c.as_bytes().to_vec();
    b.push(0);
    assert!(matches!(
        HeadChunk::from_bytes(&b),
        Err(ChunkError::TrailingBytes { n: 1 })
    ));
}

#[test]
fn unknown_codecs_and_huge_counts_are_named() {
    let err = decode_timestamps(&[200, 0], &mut Vec::new()).unwrap_err();
    assert_eq!(
        err,
        ChunkError::UnknownCodec {
            column: "timestamp",
            id: 200
        }
    );
    let err = decode_values(&[201, 0], &mut Vec::new()).unwrap_err();
    assert_eq!(
        err,
        ChunkError::UnknownCodec {
            column: "value",
            id: 201
        }
    );
    let mut huge = vec![1];
    varint::put_uvarint(&mut huge, (MAX_COLUMN_SAMPLES + 1) as u64);
    assert!(matches!(
        decode_values(&huge, &mut Vec::new()),
        Err(ChunkError::TooManySamples { .. })
    ));
    assert!(matches!(
        decode_timestamps(&huge, &mut Vec::new()),
        Err(ChunkError::TooManySamples { .. })
    ));
    assert!(err.to_string().contains("unknown value codec id 201"));
}

#[test]
fn empty_columns_round_trip() {
    let mut b = Vec::new();
    encode_timestamps(&[], &mut b);
    encode_values(&[], &mut b);
    let mut ts = Vec::new();
    let n = decode_timestamps(&b, &mut ts).unwrap();
    let mut vs = Vec::new();
    let m = decode_values(&b[n..], &mut vs).unwrap();
    assert_eq!(n + m, b.len());
    assert!(ts.is_empty() && vs.is_empty());
}
