//! The exposition format of a federation answer, chosen from `Accept` as Prometheus'
//! `expfmt.Negotiate` does: media ranges by descending quality, the first that names the
//! delimited protobuf format or the text format (version 0.0.4 or none) wins; anything
//! else, or no `Accept` at all, gets text. OpenMetrics is not offered (Prometheus'
//! federation does not offer it either). The protobuf text encodings (`encoding=text`,
//! `compact-text`), debugging formats Prometheus also serves, are not served: such a range
//! is passed over.

/// A format `/federate` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// The text exposition format 0.0.4.
    Text,
    /// Length-delimited `io.prometheus.client.MetricFamily` messages.
    ProtoDelimited,
}

impl Format {
    /// The `Content-Type` of an answer in this format.
    pub(super) fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::ProtoDelimited => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
        }
    }
}

/// One media range of an `Accept` header.
struct Range<'a> {
    media: String,
    params: Vec<(String, &'a str)>,
    q: f64,
}

impl Range<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

fn parse(accept: &str) -> Vec<Range<'_>> {
    let mut out = Vec::new();
    for part in accept.split(',') {
        let mut fields = part.split(';');
        let media = fields.next().unwrap_or("").trim().to_ascii_lowercase();
        if media.is_empty() {
            continue;
        }
        let mut r = Range {
            media,
            params: Vec::new(),
            q: 1.0,
        };
        for f in fields {
            let Some((n, v)) = f.split_once('=') else {
                continue;
            };
            let n = n.trim().to_ascii_lowercase();
            let v = v.trim().trim_matches('"');
            if n == "q" {
                r.q = v.parse().unwrap_or(0.0);
            } else {
                r.params.push((n, v));
            }
        }
        out.push(r);
    }
    // Highest quality first; at equal quality a specific range before a wildcard.
    let wild = |r: &Range<'_>| r.media.contains('*');
    out.sort_by(|a, b| b.q.total_cmp(&a.q).then_with(|| wild(a).cmp(&wild(b))));
    out
}

/// The format to answer a request with this `Accept` header in.
pub(super) fn negotiate(accept: &str) -> Format {
    for r in parse(accept) {
        if r.media == "application/vnd.google.protobuf"
            && r.param("proto") == Some("io.prometheus.client.MetricFamily")
            && r.param("encoding") == Some("delimited")
        {
            return Format::ProtoDelimited;
        }
        if r.media == "text/plain" && matches!(r.param("version"), None | Some("0.0.4")) {
            return Format::Text;
        }
    }
    Format::Text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_what_prometheus_would() {
        // Prometheus scraping native histograms (protobuf first).
        let native = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(negotiate(native), Format::ProtoDelimited);
        // Prometheus without them: OpenMetrics first, which federation does not offer.
        let classic = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(classic), Format::Text);
        assert_eq!(negotiate(""), Format::Text);
        assert_eq!(negotiate("*/*"), Format::Text);
        // Quality decides, not order.
        let text_first = "text/plain;q=0.9, application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
        assert_eq!(negotiate(text_first), Format::ProtoDelimited);
        // Protobuf without the delimited encoding is passed over.
        let proto_text =
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text";
        assert_eq!(negotiate(proto_text), Format::Text);
        assert_eq!(negotiate("text/plain;version=1.0.0"), Format::Text);
    }
}
