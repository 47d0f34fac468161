//! OTLP metric and attribute names to Prometheus names, by the OpenTelemetry "Prometheus and
//! OpenMetrics compatibility" rules as Prometheus' OTLP receiver applies them with its default
//! `UnderscoreEscapingWithSuffixes` strategy:
//!
//! - the name is split into tokens at every character outside `[a-zA-Z0-9:]` (so dots and
//!   runs of underscores become one `_`);
//! - the unit becomes a suffix unless the name already has that token: `s` -> `seconds`,
//!   `ms` -> `milliseconds`, `By` -> `bytes`, ..., `x/y` -> `x_per_y` (with `s` -> `second`
//!   etc. after the slash); units in braces (`{tx}`) are annotations and dropped;
//! - monotonic sums get `_total`; gauges with unit `1` get `_ratio`;
//! - a leading digit gets a `_` prefix.
//!
//! Attribute keys: every character outside `[a-zA-Z0-9_]` becomes `_`; a leading digit gets
//! `key_`, a single leading `_` gets `key`.

/// What kind of Prometheus metric a name is built for (decides `_total` / `_ratio`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// Gauge (also non-monotonic sums).
    Gauge,
    /// Monotonic sum.
    Counter,
    /// Histogram, exponential histogram, summary: no type suffix on the base name.
    Other,
}

fn unit_word(u: &str) -> &str {
    match u {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

fn per_unit_word(u: &str) -> &str {
    match u {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// Tokens of a unit word after replacing invalid characters.
fn unit_tokens(u: &str) -> Vec<String> {
    u.split(|c: char| !is_name_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The Prometheus metric name for an OTLP metric `name` with `unit`. `None` if nothing valid
/// is left of the name.
pub fn metric_name(name: &str, unit: &str, kind: NameKind) -> Option<String> {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_name_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if tokens.is_empty() {
        return None;
    }
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m.trim(), Some(p.trim())),
        None => (unit.trim(), None),
    };
    let main_tokens = if main.is_empty() || main.contains(['{', '}']) {
        Vec::new()
    } else {
        unit_tokens(unit_word(main))
    };
    let per_tokens = match per {
        Some(p) if !p.is_empty() && !p.contains(['{', '}']) => unit_tokens(per_unit_word(p)),
        _ => Vec::new(),
    };
    let contains_seq = |hay: &[String], needle: &[String]| {
        !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
    };
    let mut suffix: Vec<String> = Vec::new();
    if !main_tokens.is_empty() && !contains_seq(&tokens, &main_tokens) {
        suffix.extend(main_tokens);
    }
    if !per_tokens.is_empty() {
        let mut with_per = vec!["per".to_string()];
        with_per.extend(per_tokens.iter().cloned());
        if !contains_seq(&tokens, &with_per) {
            suffix.extend(with_per);
        }
    }
    tokens.extend(suffix);
    match kind {
        NameKind::Counter => {
            tokens.retain(|t| t != "total");
            tokens.push("total".into());
        }
        NameKind::Gauge if unit.trim() == "1" => {
            tokens.retain(|t| t != "ratio");
            tokens.push("ratio".into());
        }
        _ => {}
    }
    if tokens.is_empty() {
        return None;
    }
    let mut out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    Some(out)
}

/// The unit as Prometheus names it (`s` -> `seconds`, `By/s` -> `bytes_per_second`,
/// `{tx}` -> ""), for metadata.
pub fn unit_name(unit: &str) -> String {
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m.trim(), p.trim()),
        None => (unit.trim(), ""),
    };
    let word = |u: &str, f: fn(&str) -> &str| {
        if u.is_empty() || u.contains(['{', '}']) {
            String::new()
        } else {
            unit_tokens(f(u)).join("_")
        }
    };
    let m = word(main, unit_word);
    let p = word(per, per_unit_word);
    match (m.is_empty(), p.is_empty()) {
        (_, true) => m,
        (true, false) => format!("per_{p}"),
        (false, false) => format!("{m}_per_{p}"),
    }
}

/// The Prometheus label name for an attribute key (empty for an empty key).
pub fn label_name(key: &str) -> String {
    if key.is_empty() {
        return String::new();
    }
    let mut s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "key_");
    } else if s.starts_with('_') && !s.starts_with("__") {
        s.insert_str(0, "key");
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(name: &str, unit: &str, kind: NameKind, want: &str) {
        assert_eq!(
            metric_name(name, unit, kind).as_deref(),
            Some(want),
            "{name} [{unit}]"
        );
    }

    #[test]
    fn metric_names() {
        use NameKind::*;
        check(
            "aztec.circuit.simulation.duration",
            "ms",
            Other,
            "aztec_circuit_simulation_duration_milliseconds",
        );
        check(
            "aztec.circuit.simulation.input_size",
            "By",
            Other,
            "aztec_circuit_simulation_input_size_bytes",
        );
        check(
            "aztec.sequencer.block.count",
            "",
            Counter,
            "aztec_sequencer_block_count_total",
        );
        check("aztec.mempool.tx_count", "{tx}", Gauge, "aztec_mempool_tx_count");
        check(
            "aztec.sequencer.block.build_mana_per_second",
            "mana/s",
            Gauge,
            "aztec_sequencer_block_build_mana_per_second",
        );
        check("aztec.db.map_size", "By", Gauge, "aztec_db_map_size_bytes");
        check("process.cpu.time", "s", Counter, "process_cpu_time_seconds_total");
        check(
            "system.cpu.utilization",
            "1",
            Gauge,
            "system_cpu_utilization_ratio",
        );
        check("requests", "1", Counter, "requests_total");
        check("http.server.duration", "s", Other, "http_server_duration_seconds");
        check("net.io", "By/s", Gauge, "net_io_bytes_per_second");
        check("throughput", "{packets}/s", Gauge, "throughput_per_second");
        check("foo__bar...baz", "", Gauge, "foo_bar_baz");
        check("2xx.count", "", Counter, "_2xx_count_total");
        check("latency_seconds", "s", Other, "latency_seconds");
        check("errors.total", "", Counter, "errors_total");
        check("temp", "Cel", Gauge, "temp_celsius");
        assert_eq!(metric_name("...", "", Gauge), None);
    }

    #[test]
    fn unit_names() {
        assert_eq!(unit_name("s"), "seconds");
        assert_eq!(unit_name("By/s"), "bytes_per_second");
        assert_eq!(unit_name("{tx}"), "");
        assert_eq!(unit_name("1"), "");
        assert_eq!(unit_name("mana/s"), "mana_per_second");
    }

    #[test]
    fn label_names() {
        assert_eq!(
            label_name("aztec.circuit.protocol_circuit_name"),
            "aztec_circuit_protocol_circuit_name"
        );
        assert_eq!(label_name("2xx"), "key_2xx");
        assert_eq!(label_name("_private"), "key_private");
        assert_eq!(label_name("__reserved"), "__reserved");
        assert_eq!(label_name("http.status-code"), "http_status_code");
        assert_eq!(label_name("é"), "key_");
    }
}
