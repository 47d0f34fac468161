//! Parser table tests and fixture tests.

use super::*;
use std::path::PathBuf;

/// Renders every entry on one line each, so cases read like the input.
fn render(body: &str, format: Format) -> Result<String, ParseError> {
    let mut out = Vec::new();
    for e in Parser::new(body.as_bytes(), format)? {
        out.push(match e? {
            Entry::Help { family, help } => format!("HELP {family} {help:?}"),
            Entry::Type { family, metric_type } => format!("TYPE {family} {}", metric_type.as_str()),
            Entry::Unit { family, unit } => format!("UNIT {family} {unit}"),
            Entry::Sample(s) => {
                let labels = s.to_labels().map_err(|e| ParseError::new(s.line, "", e))?;
                let mut line = format!("{labels} {:?}", s.value);
                if let Some(t) = s.timestamp_ms {
                    line.push_str(&format!(" @{t}"));
                }
                if let Some(ex) = &s.exemplar {
                    let pairs: Vec<String> = ex.labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
                    line.push_str(&format!(" # {{{}}} {:?}", pairs.join(","), ex.value));
                    if let Some(t) = ex.timestamp_ms {
                        line.push_str(&format!(" @{t}"));
                    }
                }
                line
            }
        });
    }
    Ok(out.join("\n"))
}

#[track_caller]
fn check(format: Format, input: &str, want: &str) {
    match render(input, format) {
        Ok(got) => assert_eq!(got, want.trim(), "input:\n{input}"),
        Err(e) => panic!("unexpected error {e} for input:\n{input}"),
    }
}

#[track_caller]
fn check_err(format: Format, input: &str, line: usize, want_msg: &str) {
    match render(input, format) {
        Ok(got) => panic!("expected an error on line {line}, got entries:\n{got}"),
        Err(e) => {
            assert_eq!(e.line, line, "wrong line in {e}");
            assert!(
                e.to_string().contains(want_msg),
                "error {e:?} does not mention {want_msg:?}"
            );
        }
    }
}

const T: Format = Format::PrometheusText;
const OM: Format = Format::OpenMetrics;

#[test]
fn text_basics() {
    check(T, "up 1\n", "up 1.0");
    check(T, "up 1", "up 1.0");
    check(T, "up{} 1", "up 1.0");
    check(
        T,
        "up{job=\"a\",instance=\"b\",} 0 1700000000123\n",
        r#"up{instance="b", job="a"} 0.0 @1700000000123"#,
    );
    check(T, "  up   {  job = \"a\" }\t2  \n", r#"up{job="a"} 2.0"#);
    check(T, "up 1\r\nup2 2\r\n", "up 1.0\nup2 2.0");
    check(T, "\n\n up 1 \n\n", "up 1.0");
    check(T, "a:b_c 1e3", "a:b_c 1000.0");
    check(T, "x -1.5e-3 -5", "x -0.0015 @-5");
    check(T, "x{le=\"1\"} +Inf\ny -Inf\n", "x{le=\"1\"} inf\ny -inf");
    check(T, "x NaN", "x NaN");
    check(T, "x nan", "x NaN");
    check(T, "x 1.0456789E7", "x 10456789.0");
}

#[test]
fn text_metadata() {
    check(
        T,
        "# HELP foo Some help\\nwith \\\\ and \\\" kept\n# TYPE foo counter\nfoo_total 1\n",
        r#"
HELP foo "Some help\nwith \\ and \\\" kept"
TYPE foo counter
foo_total 1.0"#,
    );
    check(T, "# HELP prysm_version\n", r#"HELP prysm_version """#);
    check(T, "# HELP f .\n", r#"HELP f ".""#);
    check(
        T,
        "# TYPE a untyped\n# some comment\n#\n# EOF\n",
        "TYPE a unknown",
    );
    check(T, "# HELP   a   spaced help \n", r#"HELP a "spaced help ""#);
}

#[test]
fn label_value_escapes() {
    check(
        T,
        r#"x{a="q\"uote",b="back\\slash",c="new\nline",d="other\t"} 1"#,
        r#"x{a="q\"uote", b="back\\slash", c="new\nline", d="other\\t"} 1.0"#,
    );
    check(T, r#"x{a="}",b=","} 1"#, r#"x{a="}", b=","} 1.0"#);
    check(T, r#"x{a="ünï©ødé"} 1"#, r#"x{a="ünï©ødé"} 1.0"#);
    check(T, r#"x{a=""} 1"#, "x 1.0");
}

#[test]
fn quoted_utf8_names() {
    check(T, r#"{"my.metric", a="b"} 1"#, r#"my.metric{a="b"} 1.0"#);
    check(
        T,
        r#"{"my.metric","label.x"="b"} 1"#,
        r#"my.metric{label.x="b"} 1.0"#,
    );
    check(
        OM,
        "# TYPE \"my.counter\" counter\n{\"my.counter_total\"} 1\n# EOF\n",
        "TYPE my.counter counter\nmy.counter_total 1.0",
    );
}

#[test]
fn text_errors() {
    check_err(T, "up 1\n9up 1\n", 2, "expected a metric name, found '9'");
    check_err(T, "up{a=1} 1", 1, "expected a quoted value for label \"a\"");
    check_err(T, "up{a\"x\"} 1", 1, "expected '=' after label name \"a\"");
    check_err(T, "up{a=\"x\" b=\"y\"} 1", 1, "expected ',' or '}'");
    check_err(T, "up{a=\"x\"", 1, "unterminated");
    check_err(T, "up{a=\"x} 1", 1, "unterminated value of label");
    check_err(T, "\nup\n", 2, "missing value");
    check_err(T, "up abc", 1, "invalid value \"abc\"");
    check_err(
        T,
        "up 1 1.5",
        1,
        "invalid timestamp \"1.5\" (expected integer milliseconds)",
    );
    check_err(T, "up 1 2 3", 1, "unexpected text \"3\"");
    check_err(
        T,
        "up 1 # {a=\"b\"} 1",
        1,
        "exemplars are only allowed in OpenMetrics",
    );
    check_err(T, "up{a=\"1\"}1", 1, "expected a space before the value");
    check_err(T, "up-x 1", 1, "invalid character '-' in metric name");
    check_err(T, "# TYPE a bogus\n", 1, "invalid metric type \"bogus\"");
    check_err(T, "# TYPE a info\n", 1, "invalid metric type \"info\"");
    check_err(T, "# TYPE a\n", 1, "missing metric type");
    check_err(
        T,
        "# TYPE a gauge extra\n",
        1,
        "unexpected text after the metric type",
    );
    check_err(T, "x{a=\"1\",a=\"2\"} 1", 1, "duplicate label name \"a\"");
    check_err(T, "x{1a=\"1\"} 1", 1, "expected a label name, found '1'");
    let err = Parser::new(b"up 1\nup\xff 2\n", T).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("invalid UTF-8"));
}

#[test]
fn openmetrics_basics() {
    check(
        OM,
        "# TYPE foo counter\n# UNIT foo seconds\n# HELP foo Help \\\"q\\\"\nfoo_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1520879602.15\nfoo_created 1520430000.123\n# EOF\n",
        r#"
TYPE foo counter
UNIT foo seconds
HELP foo "Help \"q\""
foo_total 17.0 @1520879607789 # {trace_id="KOO5S4vxi0o"} 0.67 @1520879602150
foo_created 1520430000.123"#,
    );
    check(OM, "a 1 # {} 2\n# EOF", "a 1.0 # {} 2.0");
    check(
        OM,
        "a 1 1 # {x=\"y\"} 2\n# EOF\n\n",
        "a 1.0 @1000 # {x=\"y\"} 2.0",
    );
    check(
        OM,
        "# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n# TYPE i info\ni_info{version=\"1.2\"} 1\n# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 3\ng_gcount 3\ng_gsum 5\n# EOF\n",
        r#"
TYPE s stateset
s{s="a"} 1.0
s{s="b"} 0.0
TYPE i info
i_info{version="1.2"} 1.0
TYPE g gaugehistogram
g_bucket{le="+Inf"} 3.0
g_gcount 3.0
g_gsum 5.0"#,
    );
}

#[test]
fn openmetrics_errors() {
    check_err(OM, "a 1\n", 1, "does not end with \"# EOF\"");
    check_err(OM, "a 1\n# EOF\nb 2\n", 3, "unexpected content after \"# EOF\"");
    check_err(OM, "# random comment\n# EOF\n", 1, "OpenMetrics allows only");
    check_err(OM, "a 1 # x\n# EOF\n", 1, "expected '{' to start the exemplar");
    check_err(OM, "a 1 # {a=\"b\"}\n# EOF\n", 1, "missing exemplar value");
    check_err(
        OM,
        "a 1 abc\n# EOF\n",
        1,
        "invalid timestamp \"abc\" (expected seconds)",
    );
    check_err(
        OM,
        "a 1 # {a=\"b\"} 1 2 3\n# EOF\n",
        1,
        "unexpected text after the exemplar",
    );
    let long = "x".repeat(130);
    check_err(
        OM,
        &format!("a 1 # {{a=\"{long}\"}} 1\n# EOF\n"),
        1,
        "more than 128",
    );
    check_err(OM, "# TYPE a\n# EOF\n", 1, "missing metric type");
}

#[test]
fn type_classification() {
    let body = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\nh_created 5\nhx 1\n# TYPE nodeos gauge\nnodeos_info 1\n# TYPE c counter\nc_total 1\nc 2\n";
    let got: Vec<(String, MetricType, bool)> = Parser::new(body.as_bytes(), T)
        .unwrap()
        .filter_map(|e| match e.unwrap() {
            Entry::Sample(s) => Some((s.name.to_string(), s.metric_type, s.created)),
            _ => None,
        })
        .collect();
    use MetricType::*;
    let want = [
        ("h_bucket", Histogram, false),
        ("h_sum", Histogram, false),
        ("h_count", Histogram, false),
        ("h_created", Histogram, true),
        ("hx", Unknown, false),
        ("nodeos_info", Unknown, false),
        ("c_total", Counter, false),
        ("c", Counter, false),
    ];
    let want: Vec<(String, MetricType, bool)> =
        want.iter().map(|(n, t, c)| (n.to_string(), *t, *c)).collect();
    assert_eq!(got, want);
}

#[test]
fn le_and_quantile_are_normalised() {
    check(
        T,
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"2.50\"} 1\nh_bucket{le=\"1e6\"} 1\nh_bucket{le=\"+Inf\"} 1\n",
        r#"
TYPE h histogram
h_bucket{le="1.0"} 1.0
h_bucket{le="2.5"} 1.0
h_bucket{le="1e+06"} 1.0
h_bucket{le="+Inf"} 1.0"#,
    );
    check(
        T,
        "# TYPE s summary\ns{quantile=\"0.50\"} 1\n",
        "TYPE s summary\ns{quantile=\"0.5\"} 1.0",
    );
    // Only for histograms and summaries, and only parseable values.
    check(
        T,
        "x{le=\"1\"} 1\n# TYPE h histogram\nh_bucket{le=\"abc\"} 1",
        "x{le=\"1\"} 1.0\nTYPE h histogram\nh_bucket{le=\"abc\"} 1.0",
    );
}

#[test]
fn series_text_is_the_raw_identity() {
    let mut p = Parser::new(b"  up{job=\"a\"} 1 5\nfoo 2\n", T).unwrap();
    let Some(Entry::Sample(s)) = p.next_entry().unwrap() else {
        panic!()
    };
    assert_eq!(s.series, "up{job=\"a\"}");
    assert_eq!(s.line, 1);
    let Some(Entry::Sample(s)) = p.next_entry().unwrap() else {
        panic!()
    };
    assert_eq!(s.series, "foo");
    assert_eq!(s.line, 2);
    assert!(p.next_entry().unwrap().is_none());
}

#[test]
fn parse_collects_metadata() {
    let body = b"# HELP a help a\n# TYPE a gauge\na 1\n# TYPE b counter\nb_total{x=\"y\"} 2 1000\n";
    let got = parse(body, "text/plain; version=0.0.4").unwrap();
    assert_eq!(got.samples.len(), 2);
    assert_eq!(
        got.samples[1].labels,
        Labels::from_pairs([("__name__", "b_total"), ("x", "y")])
    );
    assert_eq!(got.samples[1].timestamp_ms, Some(1000));
    assert_eq!(got.metadata.len(), 2);
    assert_eq!(got.metadata[0].0, "a");
    assert_eq!(got.metadata[0].1.help, "help a");
    assert_eq!(got.metadata[0].1.metric_type, MetricType::Gauge);
    assert_eq!(got.metadata[1].1.metric_type, MetricType::Counter);
    let om = parse(b"a 1 1.5\n# EOF\n", "application/openmetrics-text; version=1.0.0").unwrap();
    assert_eq!(om.samples[0].timestamp_ms, Some(1500));
    assert!(parse(b"a 1 1.5\n", "application/openmetrics-text").is_err());
}

#[test]
fn content_type_detection() {
    assert_eq!(Format::from_content_type(""), T);
    assert_eq!(
        Format::from_content_type("text/plain; version=0.0.4; charset=utf-8"),
        T
    );
    assert_eq!(
        Format::from_content_type(
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
        ),
        OM
    );
    assert_eq!(Format::from_content_type("Application/OpenMetrics-Text"), OM);
}

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/exposition")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Parses a fixture and checks sample and family counts against a line count of the file.
#[track_caller]
fn check_fixture(name: &str, format: Format) -> Parsed {
    let body = fixture(name);
    let parsed = parse_format(&body, format).unwrap_or_else(|e| panic!("{name}: {e}"));
    let text = String::from_utf8(body).unwrap();
    let sample_lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    let type_lines = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
    assert_eq!(parsed.samples.len(), sample_lines, "{name}: samples");
    let typed = parsed
        .metadata
        .iter()
        .filter(|(_, m)| m.metric_type != MetricType::Unknown)
        .count();
    let untyped_decl = text
        .lines()
        .filter(|l| l.starts_with("# TYPE ") && (l.ends_with(" untyped") || l.ends_with(" unknown")))
        .count();
    assert_eq!(typed + untyped_decl, type_lines, "{name}: families");
    parsed
}

fn find<'p>(p: &'p Parsed, series: &str) -> &'p ParsedSample {
    p.samples
        .iter()
        .find(|s| s.labels.to_string() == series)
        .unwrap_or_else(|| panic!("no series {series}"))
}

#[test]
fn fixture_node_exporter() {
    let p = check_fixture("node_exporter.txt", T);
    assert_eq!(p.samples.len(), 507);
    let m = p
        .metadata
        .iter()
        .find(|(n, _)| n == "node_cpu_seconds_total")
        .unwrap();
    assert_eq!(m.1.metric_type, MetricType::Counter);
    assert!(p.samples.iter().all(|s| s.timestamp_ms.is_none()));
}

#[test]
fn fixture_node_exporter_gzip() {
    let gz = fixture("node_exporter.gzip-response.txt.gz");
    let body = gunzip(&gz, 0).unwrap();
    let p = parse(&body, "text/plain; version=0.0.4; charset=utf-8").unwrap();
    assert_eq!(p.samples.len(), 507);
    assert!(gunzip(&gz, 1000).is_err());
}

#[test]
fn fixture_prometheus() {
    let p = check_fixture("prometheus.txt", T);
    let hist = p
        .metadata
        .iter()
        .filter(|(_, m)| m.metric_type == MetricType::Histogram)
        .count();
    assert_eq!(hist, 8);
}

#[test]
fn fixture_lodestar() {
    check_fixture("lodestar.txt", T);
    let om = check_fixture("lodestar.openmetrics.txt", OM);
    assert!(om
        .samples
        .iter()
        .any(|s| s.labels.metric_name() == Some("lodestar_version")));
}

#[test]
fn fixture_vero() {
    let t = check_fixture("vero.txt", T);
    let om = check_fixture("vero.openmetrics.txt", OM);
    let py = find(
        &om,
        r#"python_info{implementation="CPython", major="3", minor="11", patchlevel="7", version="3.11.7"}"#,
    );
    assert_eq!(py.value, 1.0);
    assert!(t.samples.len() > 500);
}

#[test]
fn fixture_nodeos() {
    let p = check_fixture("nodeos.txt", T);
    let info = p
        .samples
        .iter()
        .find(|s| s.labels.metric_name() == Some("nodeos_info"));
    assert!(info.is_some(), "nodeos_info sample under `# TYPE nodeos gauge`");
}

#[test]
fn fixture_edgeless() {
    // Served as text/plain although it is OpenMetrics; both readings must work.
    let t = check_fixture("edgeless.openmetrics.txt", T);
    let om = check_fixture("edgeless.openmetrics.txt", OM);
    assert_eq!(t.samples, om.samples);
    let m = &om.metadata[0];
    assert_eq!((m.0.as_str(), m.1.help.as_str()), ("function_count", "."));
}

/// Every entry of `body` parsed plain, and parsed with a hint per line from `hints` (cycled).
fn hinted_equals_plain(body: &str, format: Format, hints: &[&str]) -> usize {
    let mut plain = Parser::new(body.as_bytes(), format).unwrap();
    let mut hinted = Parser::new(body.as_bytes(), format).unwrap();
    let mut taken = 0;
    for i in 0.. {
        let hint = hints.get(i % hints.len().max(1)).copied();
        let a = plain.next_entry();
        let b = hinted.next_entry_hinted(hint);
        match (a, b) {
            (Ok(None), Ok(None)) => break,
            (Ok(Some(a)), Ok(Some((b, known)))) => {
                // Compared as text: NaN values are not equal to themselves.
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "entry {i} with hint {hint:?}");
                if known {
                    let Entry::Sample(s) = &b else {
                        panic!("a hint matched a non-sample")
                    };
                    assert_eq!(Some(s.series), hint);
                    taken += 1;
                }
            }
            (Err(a), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string());
                break;
            }
            (a, b) => panic!("entry {i} with hint {hint:?}: plain {a:?}, hinted {b:?}"),
        }
    }
    taken
}

#[test]
fn hinted_parsing_returns_what_plain_parsing_does() {
    for &(name, format) in &[
        ("node_exporter.txt", Format::PrometheusText),
        ("lodestar.openmetrics.txt", Format::OpenMetrics),
        ("vero.txt", Format::PrometheusText),
        ("edgeless.openmetrics.txt", Format::OpenMetrics),
        ("nodeos.txt", Format::PrometheusText),
    ] {
        let body = String::from_utf8(fixture(name)).unwrap();
        // The right hints: the series of the same body, in order.
        let series: Vec<String> = Parser::new(body.as_bytes(), format)
            .unwrap()
            .filter_map(|e| match e.unwrap() {
                Entry::Sample(s) => Some(s.series.to_string()),
                _ => None,
            })
            .collect();
        let mut p = Parser::new(body.as_bytes(), format).unwrap();
        let mut it = series.iter();
        let mut expected = it.next();
        let mut taken = 0;
        while let Some((e, known)) = p.next_entry_hinted(expected.map(String::as_str)).unwrap() {
            if let Entry::Sample(s) = e {
                assert!(known, "{name}: {} not recognised", s.series);
                taken += 1;
                expected = it.next();
            }
        }
        assert_eq!(taken, series.len(), "{name}");
        // Plain and hinted agree with right, shifted and unrelated hints.
        let refs: Vec<&str> = series.iter().map(String::as_str).collect();
        hinted_equals_plain(&body, format, &refs);
        hinted_equals_plain(&body, format, &refs[1..]);
        hinted_equals_plain(&body, format, &["up", "", "{\"x\"}"]);
    }
}

#[test]
fn hints_that_are_prefixes_or_differ_are_not_taken() {
    let body = "a 1\na {x=\"1\"} 2\na{x=\"1\"} 3\na{x=\"1}\"} 5\nab 6\na\t7\n";
    // `a` is a prefix of several lines' series; only lines whose series is exactly `a` match.
    assert_eq!(hinted_equals_plain(body, Format::PrometheusText, &["a"]), 2);
    assert_eq!(
        hinted_equals_plain(body, Format::PrometheusText, &["a{x=\"1\"}"]),
        1
    );
    assert_eq!(
        hinted_equals_plain(body, Format::PrometheusText, &["a {x=\"1\"}"]),
        1
    );
    // A hint matching a line with an error after the series still reports the error.
    for bad in ["a{x=\"1\"} nope\n", "a{x=\"1\"}} 4\n", "a{x=\"1\"} 1 2 3\n"] {
        assert_eq!(
            hinted_equals_plain(bad, Format::PrometheusText, &["a{x=\"1\"}"]),
            0
        );
    }
}
