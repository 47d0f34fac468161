//! Every error text the HTTP endpoints return to a client, read as a person reads it: one
//! table of bad requests (each push protocol, the import endpoint and the query API), the
//! status each must get, the exact text, and checks that hold for every message (one line,
//! balanced quotes, no word said twice in a row, no leftover placeholders).

use crate::support::*;

struct Case {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    status: u16,
    /// The whole message (the `error` field for the JSON API, the body for push endpoints).
    text: &'static str,
}

const SNAPPY: (&str, &str) = ("Content-Encoding", "snappy");
const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");

const CASES: &[Case] = &[
    Case {
        what: "remote write with a text content type",
        method: "POST",
        path: "/api/v1/write",
        headers: &[("Content-Type", "text/plain"), SNAPPY],
        body: b"",
        status: 415,
        text: "unsupported content type \"text/plain\": remote write accepts application/x-protobuf",
    },
    Case {
        what: "remote write with gzip",
        method: "POST",
        path: "/api/v1/write",
        headers: &[PROTOBUF, ("Content-Encoding", "gzip")],
        body: b"",
        status: 415,
        text: "unsupported content encoding \"gzip\": remote write accepts only snappy",
    },
    Case {
        what: "remote write with an unknown proto",
        method: "POST",
        path: "/api/v1/write",
        headers: &[("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v3.Request"), SNAPPY],
        body: b"",
        status: 415,
        text: "unsupported content type \"application/x-protobuf;proto=io.prometheus.write.v3.Request\": remote write accepts proto=prometheus.WriteRequest or proto=io.prometheus.write.v2.Request",
    },
    Case {
        what: "remote write whose body is not snappy",
        method: "POST",
        path: "/api/v1/write",
        headers: &[PROTOBUF, SNAPPY],
        body: b"\xff\xff\xff\xff\xff\xff",
        status: 400,
        text: "body is not snappy-compressed: corrupt input (invalid header)",
    },
    Case {
        what: "OTLP with a text content type",
        method: "POST",
        path: "/v1/metrics",
        headers: &[("Content-Type", "text/plain")],
        body: b"",
        status: 415,
        text: "unsupported content type \"text/plain\": OTLP/HTTP accepts application/x-protobuf and application/json",
    },
    Case {
        what: "OTLP with brotli",
        method: "POST",
        path: "/v1/metrics",
        headers: &[("Content-Type", "application/json"), ("Content-Encoding", "br")],
        body: b"{}",
        status: 415,
        text: "unsupported content encoding \"br\": OTLP/HTTP accepts gzip or none",
    },
    Case {
        what: "OTLP JSON that is not JSON",
        method: "POST",
        path: "/v1/metrics",
        headers: &[("Content-Type", "application/json")],
        body: b"{not json",
        status: 400,
        text: "decoding ExportMetricsServiceRequest (JSON): key must be a string at line 1 column 2",
    },
    Case {
        what: "import with brotli",
        method: "POST",
        path: "/api/v1/import/prometheus",
        headers: &[("Content-Encoding", "br")],
        body: b"up 1\n",
        status: 415,
        text: "unsupported content encoding \"br\": import accepts gzip or none",
    },
    Case {
        what: "import with a bad line",
        method: "POST",
        path: "/api/v1/import/prometheus",
        headers: &[],
        body: b"up{ 1\n",
        status: 400,
        text: "parsing the exposition body: line 1: expected a label name, found '1' (in \"up{ 1\")",
    },
    Case {
        what: "query without a query",
        method: "GET",
        path: "/api/v1/query",
        headers: &[],
        body: b"",
        status: 400,
        text: "invalid parameter \"query\": 1:1: parse error: no expression found in input",
    },
    Case {
        what: "query that does not parse",
        method: "GET",
        path: "/api/v1/query?query=sum(",
        headers: &[],
        body: b"",
        status: 400,
        text: "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis",
    },
    Case {
        what: "range query with a bad step",
        method: "GET",
        path: "/api/v1/query_range?query=up&start=0&end=10&step=x",
        headers: &[],
        body: b"",
        status: 400,
        text: "invalid parameter \"step\": cannot parse \"x\" to a valid duration",
    },
    Case {
        what: "series without match[]",
        method: "GET",
        path: "/api/v1/series",
        headers: &[],
        body: b"",
        status: 400,
        text: "no match[] parameter provided",
    },
    Case {
        what: "label values with a bad matcher",
        method: "GET",
        path: "/api/v1/label/job/values?match[]=up{",
        headers: &[],
        body: b"",
        status: 400,
        text: "1:4: parse error: unexpected end of input inside braces",
    },
    Case {
        what: "range query without start",
        method: "GET",
        path: "/api/v1/query_range?query=up&end=10&step=1",
        headers: &[],
        body: b"",
        status: 400,
        text: "invalid parameter \"start\": cannot parse \"\" to a valid timestamp",
    },
    Case {
        what: "range query ending before it starts",
        method: "GET",
        path: "/api/v1/query_range?query=up&start=10&end=0&step=1",
        headers: &[],
        body: b"",
        status: 400,
        text: "invalid parameter \"end\": end timestamp must not be before start time",
    },
    Case {
        what: "range query with too many points",
        method: "GET",
        path: "/api/v1/query_range?query=up&start=0&end=100000&step=1",
        headers: &[],
        body: b"",
        status: 400,
        text: "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    },
    Case {
        what: "query at a time that does not parse",
        method: "GET",
        path: "/api/v1/query?query=up&time=yesterday",
        headers: &[],
        body: b"",
        status: 400,
        text: "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"yesterday\" to a valid timestamp",
    },
    Case {
        what: "series with a matcher that does not parse",
        method: "GET",
        path: "/api/v1/series?match[]=up{job=",
        headers: &[],
        body: b"",
        status: 400,
        text: "invalid parameter \"match[]\": 1:8: parse error: unexpected end of input inside braces",
    },
    Case {
        what: "admin API without the flag",
        method: "POST",
        path: "/api/v1/admin/tsdb/snapshot",
        headers: &[],
        body: b"",
        status: 503,
        text: "admin APIs disabled",
    },
    Case {
        what: "reload without the lifecycle flag",
        method: "POST",
        path: "/-/reload",
        headers: &[],
        body: b"",
        status: 403,
        text: "Lifecycle API is not enabled.",
    },
];

/// What holds for every message: one line, quotes balanced, no word twice in a row ("snappy:
/// snappy:"), no `{}` placeholder left, no doubled spaces, not empty.
fn readable(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("empty".into());
    }
    if text.trim_end().contains('\n') {
        return Err("more than one line".into());
    }
    if !text.matches('"').count().is_multiple_of(2) {
        return Err("unbalanced quotes".into());
    }
    if text.contains("{}") || text.contains("{:?}") {
        return Err("a placeholder left in".into());
    }
    if text.contains("  ") {
        return Err("doubled spaces".into());
    }
    let words: Vec<String> = text
        .split_whitespace()
        // Quotes stay: `"end": end ...` names a parameter, then says a word; not a repeat.
        .map(|w| {
            w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '"'))
                .to_ascii_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(w) = words.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("{:?} twice in a row", w[0]));
    }
    Ok(())
}

#[test]
fn every_error_text_reads_well() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder(dir.path()).start();
    let mut problems = Vec::new();
    for c in CASES {
        let (status, headers, body) = http_request(c.method, &server.url(c.path), c.headers, c.body).unwrap();
        let raw = String::from_utf8_lossy(&body).into_owned();
        let is_json = headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("application/json"));
        let text = if is_json {
            match serde_json::from_str::<serde_json::Value>(&raw) {
                // The query API's envelope has `error`; OTLP answers a google.rpc.Status.
                Ok(v) => v["error"]
                    .as_str()
                    .or(v["message"].as_str())
                    .unwrap_or("")
                    .to_string(),
                Err(e) => {
                    problems.push(format!("{}: JSON body does not parse ({e}): {raw}", c.what));
                    continue;
                }
            }
        } else {
            raw.trim_end().to_string()
        };
        eprintln!("{} -> {status} {text}", c.what);
        if status != c.status {
            problems.push(format!("{}: status {status}, want {}: {text}", c.what, c.status));
        }
        if !c.text.is_empty() && text != c.text {
            problems.push(format!("{}:\n   got  {text}\n   want {}", c.what, c.text));
        }
        if let Err(e) = readable(&text) {
            problems.push(format!("{}: {e}: {text:?}", c.what));
        }
    }
    assert!(problems.is_empty(), "error texts:\n{}", problems.join("\n"));
}

#[test]
fn the_readability_check_catches_what_it_should() {
    assert!(readable("snappy: snappy: corrupt input").is_err());
    assert!(readable("invalid parameter \"end\": end timestamp must not be before start time").is_ok());
    assert!(readable("unsupported content type \"text/plain (x)").is_err());
    assert!(readable("value {} left").is_err());
    assert!(readable("two\nlines").is_err());
    assert!(readable("").is_err());
    assert!(readable("unsupported content type \"text/plain\": remote write accepts snappy").is_ok());
}
