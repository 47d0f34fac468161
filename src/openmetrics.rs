//! `/metrics` content negotiation: the Prometheus text format by default, OpenMetrics 1.0
//! when the scraper prefers it (Prometheus asks with
//! `Accept: application/openmetrics-text;version=1.0.0,...;q=0.75,text/plain;version=0.0.4;q=0.5`).
//!
//! Every self-metrics renderer writes the Prometheus text format; [`to_openmetrics`] turns
//! the whole page into OpenMetrics: counter families lose their `_total` suffix in `# HELP`
//! and `# TYPE`, counters without that suffix and `untyped` families become `unknown`, other
//! comments and blank lines are dropped, and `# EOF` ends the page.

/// The content type of the Prometheus text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The content type of OpenMetrics 1.0.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `/metrics` answer for a request with `headers`: `text` as is, or as OpenMetrics.
pub fn respond(headers: &axum::http::HeaderMap, text: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (ct, body) = if wants_openmetrics(accept) {
        (OPENMETRICS_CONTENT_TYPE, to_openmetrics(&text))
    } else {
        (TEXT_CONTENT_TYPE, text)
    };
    ([(axum::http::header::CONTENT_TYPE, ct)], body).into_response()
}

/// Whether an `Accept` header prefers OpenMetrics over the text format (by q-value; on a tie
/// the text format wins, as it is what every Prometheus version reads).
pub fn wants_openmetrics(accept: &str) -> bool {
    let (mut om, mut text) = (-1.0f32, -1.0f32);
    for part in accept.split(',') {
        let mut params = part.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for p in params {
            if let Some((k, v)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
        }
        match media.as_str() {
            "application/openmetrics-text" => om = om.max(q),
            "text/plain" | "text/*" | "*/*" => text = text.max(q),
            _ => {}
        }
    }
    om > 0.0 && om > text
}

/// Converts a page in the Prometheus text format into OpenMetrics 1.0 text.
pub fn to_openmetrics(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    // A `# HELP` waits for its `# TYPE`, which decides the family's OpenMetrics name.
    let mut pending_help: Option<(&str, &str)> = None;
    let flush_help = |out: &mut String, h: Option<(&str, &str)>| {
        if let Some((name, help)) = h {
            out.push_str(&format!("# HELP {name} {}\n", om_help(help)));
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            flush_help(&mut out, pending_help.take());
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            pending_help = Some((name, help));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (family, kind) = match kind.trim() {
                "counter" => match name.strip_suffix("_total") {
                    Some(base) => (base, "counter"),
                    None => (name, "unknown"),
                },
                "gauge" => (name, "gauge"),
                "histogram" => (name, "histogram"),
                "summary" => (name, "summary"),
                _ => (name, "unknown"),
            };
            match pending_help.take() {
                Some((hname, help)) if hname == name => {
                    out.push_str(&format!("# HELP {family} {}\n", om_help(help)));
                }
                other => flush_help(&mut out, other),
            }
            out.push_str(&format!("# TYPE {family} {kind}\n"));
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        flush_help(&mut out, pending_help.take());
        out.push_str(line);
        out.push('\n');
    }
    flush_help(&mut out, pending_help.take());
    out.push_str("# EOF\n");
    out
}

/// A text-format HELP string as OpenMetrics escapes it (`\\`, `\n` kept; `"` escaped).
fn om_help(help: &str) -> String {
    help.replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_q_values() {
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_openmetrics(prom));
        assert!(!wants_openmetrics("text/plain;version=0.0.4"));
        assert!(!wants_openmetrics(""));
        assert!(!wants_openmetrics("*/*"));
        assert!(!wants_openmetrics(
            "application/openmetrics-text;q=0.2,text/plain;q=0.9"
        ));
        assert!(wants_openmetrics("application/openmetrics-text"));
    }

    #[test]
    fn converts_families() {
        let text = "# HELP a_total Things \"done\".\n# TYPE a_total counter\na_total{x=\"1\"} 3\n\
                    # TYPE odd counter\nodd 1\n# HELP g A gauge.\n# TYPE g gauge\ng 2\n\n\
                    # a comment\n# TYPE u untyped\nu 1\n# HELP lonely No type.\nlonely 4\n";
        let om = to_openmetrics(text);
        assert_eq!(
            om,
            "# HELP a Things \\\"done\\\".\n# TYPE a counter\na_total{x=\"1\"} 3\n\
             # TYPE odd unknown\nodd 1\n# HELP g A gauge.\n# TYPE g gauge\ng 2\n\
             # TYPE u unknown\nu 1\n# HELP lonely No type.\nlonely 4\n# EOF\n"
        );
        let parsed = ingest::parse_exposition(om.as_bytes(), "application/openmetrics-text").unwrap();
        assert_eq!(parsed.samples.len(), 5);
    }
}
