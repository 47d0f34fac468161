//! The rejection counters of every limit, rendered for `/metrics` by [`render`]:
//!
//! | family | labels | counts |
//! |---|---|---|
//! | `sextant_ingest_rejected_requests_total` | `protocol`, `reason` | push requests refused as a whole (body or decompressed size, series or samples per request, malformed, unsupported media type, storage failure) |
//! | `sextant_ingest_rejected_samples_total` | `protocol`, `reason` | samples or data points refused one by one (label limits, invalid labels, out of order/bounds, duplicates, cardinality limits) |
//! | `sextant_query_rejected_total` | `reason` | queries stopped by `--query.timeout` (`timeout`, `queue_timeout`), `--query.max-samples` (`too_many_samples`), or canceled |
//! | `sextant_query_queued_total` | | queries that waited for a slot under `--query.max-concurrency` |
//! | `sextant_http_rejected_requests_total` | `reason` | requests refused by `--web.config.file`: `unauthorized` (401), `forbidden` (403, role), `rate_limited` (429) |
//!
//! Protocols: `remote_write_v1`, `remote_write_v2`, `otlp_http`, `otlp_grpc`, `otlp_traces`,
//! `import`, and `scrape` for scraped samples refused by storage (samples only).

use std::fmt::Write;

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
}

/// Appends every rejection counter to `out` in the text exposition format.
pub fn render(out: &mut String) {
    for (name, help, counts) in [
        (
            "sextant_ingest_rejected_requests_total",
            "Push requests refused as a whole, by protocol and reason.",
            ingest::push::rejections::requests_snapshot(),
        ),
        (
            "sextant_ingest_rejected_samples_total",
            "Pushed samples and data points refused, by protocol and reason.",
            ingest::push::rejections::samples_snapshot(),
        ),
    ] {
        family(out, name, help);
        for c in counts {
            let _ = writeln!(
                out,
                "{name}{{protocol=\"{}\",reason=\"{}\"}} {}",
                c.protocol, c.reason, c.value
            );
        }
    }
    family(
        out,
        "sextant_query_rejected_total",
        "Queries stopped by a limit (timeout, queue_timeout, too_many_samples) or canceled.",
    );
    for (reason, v) in query::rejections::rejected() {
        let _ = writeln!(out, "sextant_query_rejected_total{{reason=\"{reason}\"}} {v}");
    }
    family(
        out,
        "sextant_query_queued_total",
        "Queries that waited for a free slot under --query.max-concurrency.",
    );
    let _ = writeln!(
        out,
        "sextant_query_queued_total {}",
        query::rejections::queued_total()
    );
    family(
        out,
        "sextant_http_rejected_requests_total",
        "HTTP requests refused by the web configuration: unauthorized, forbidden, rate_limited.",
    );
    for (reason, v) in super::auth::rejected() {
        let _ = writeln!(
            out,
            "sextant_http_rejected_requests_total{{reason=\"{reason}\"}} {v}"
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_every_family() {
        let mut s = String::new();
        super::render(&mut s);
        for f in [
            "sextant_ingest_rejected_requests_total",
            "sextant_ingest_rejected_samples_total",
            "sextant_query_rejected_total{reason=\"timeout\"}",
            "sextant_query_queued_total",
            "sextant_http_rejected_requests_total{reason=\"unauthorized\"}",
        ] {
            assert!(s.contains(f), "{f} missing from {s}");
        }
    }
}
