//! Round trips: random families printed in either format parse back to the same samples.

use super::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Gen {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    ts_ms: Option<i64>,
}

fn label_value() -> impl Strategy<Value = String> {
    // Printable text plus the characters that need escaping.
    proptest::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\\'),
            Just('\n'),
            Just('{'),
            Just('}'),
            Just(','),
            Just('='),
            Just(' '),
            Just('é'),
            Just('#'),
            proptest::char::range('a', 'z'),
        ],
        0..12,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::NAN),
        (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
    ]
}

fn sample() -> impl Strategy<Value = Gen> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}",
        proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", label_value(), 0..5),
        value(),
        proptest::option::of(-10_000_000_000_000i64..10_000_000_000_000),
    )
        .prop_map(|(name, labels, value, ts_ms)| Gen {
            name,
            labels: labels.into_iter().filter(|(n, _)| n != "__name__").collect(),
            value,
            ts_ms,
        })
}

use storage::escape_label_value as escape;

fn print_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:e}")
    }
}

fn print(samples: &[Gen], format: Format) -> String {
    let mut out = String::new();
    for s in samples {
        out.push_str(&format!("# HELP {} help with \\\\ and \\n\n", s.name));
        out.push_str(&s.name);
        if !s.labels.is_empty() {
            let ls: Vec<String> = s
                .labels
                .iter()
                .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
                .collect();
            out.push('{');
            out.push_str(&ls.join(","));
            out.push('}');
        }
        out.push(' ');
        out.push_str(&print_value(s.value));
        if let Some(t) = s.ts_ms {
            match format {
                Format::PrometheusText => out.push_str(&format!(" {t}")),
                Format::OpenMetrics => {
                    let sign = if t < 0 { "-" } else { "" };
                    let a = t.unsigned_abs();
                    out.push_str(&format!(" {sign}{}.{:03}", a / 1000, a % 1000));
                }
            }
        }
        out.push('\n');
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn round_trip(samples: &[Gen], format: Format) -> Result<(), TestCaseError> {
    let body = print(samples, format);
    let parsed =
        parse_format(body.as_bytes(), format).map_err(|e| TestCaseError::fail(format!("{e}\n{body}")))?;
    prop_assert_eq!(parsed.samples.len(), samples.len());
    for (g, p) in samples.iter().zip(&parsed.samples) {
        let mut want = vec![("__name__".to_string(), g.name.clone())];
        want.extend(g.labels.iter().filter(|(_, v)| !v.is_empty()).cloned());
        let want = Labels::from_pairs(want);
        prop_assert_eq!(&p.labels, &want);
        prop_assert!(p.value.to_bits() == g.value.to_bits() || (p.value.is_nan() && g.value.is_nan()));
        prop_assert_eq!(p.timestamp_ms, g.ts_ms);
    }
    for (_, m) in &parsed.metadata {
        prop_assert_eq!(m.help.as_str(), "help with \\ and \n");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn text_round_trip(samples in proptest::collection::vec(sample(), 0..8)) {
        round_trip(&samples, Format::PrometheusText)?;
    }

    #[test]
    fn openmetrics_round_trip(samples in proptest::collection::vec(sample(), 0..8)) {
        round_trip(&samples, Format::OpenMetrics)?;
    }

    /// Arbitrary bytes never panic, and an error always names a line within the body.
    #[test]
    fn garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200), om in any::<bool>()) {
        let format = if om { Format::OpenMetrics } else { Format::PrometheusText };
        let lines = body.iter().filter(|&&b| b == b'\n').count() + 1;
        if let Err(e) = parse_format(&body, format) {
            prop_assert!(e.line <= lines, "{} > {}", e.line, lines);
        }
    }

    /// Mutating a valid body (deleting or duplicating a byte) never panics.
    #[test]
    fn mutated_fixture_never_panics(pos in 0usize..4000, byte in any::<u8>(), om in any::<bool>()) {
        let base: &[u8] = if om { include_bytes!("../../../tests/fixtures/exposition/edgeless.openmetrics.txt") } else { include_bytes!("../../../tests/fixtures/exposition/nodeos.txt") };
        let mut body = base.to_vec();
        let p = pos % body.len();
        body[p] = byte;
        let format = if om { Format::OpenMetrics } else { Format::PrometheusText };
        let _ = parse_format(&body, format);
    }
}
