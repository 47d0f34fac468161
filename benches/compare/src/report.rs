//! The fixed query set, answer comparison, and the report table.

use crate::data::Workload;
use crate::query::{Query, QueryAnswer};
use crate::system::{Kind, Measured};
use crate::CompareArgs;
use std::fmt::Write;

/// The fixed query set over the ingested span.
pub(crate) fn queries(start_ms: i64, end_ms: i64) -> Vec<Query> {
    let (start_s, end_s) = (start_ms / 1000 + 300, end_ms / 1000);
    let range = |e: &str| Query {
        expr: e.into(),
        step_s: Some(60),
        start_s,
        end_s,
    };
    let instant = |e: &str| Query {
        expr: e.into(),
        step_s: None,
        start_s,
        end_s,
    };
    vec![
        instant("node_load1"),
        instant("count({__name__=~\"node_.+\"})"),
        instant("sum by (mode) (rate(node_cpu_seconds_total[5m]))"),
        range("sum by (instance) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m]))"),
        range("avg(node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)"),
        range("topk(5, rate(node_network_receive_bytes_total[5m]))"),
        range("sum(rate(node_disk_read_bytes_total[5m]))"),
        range("quantile_over_time(0.9, node_load5[10m])"),
        range("max_over_time(node_load1[10m])"),
        range("node_filesystem_avail_bytes{mountpoint=\"/\"}"),
        range("histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"),
        range("histogram_quantile(0.99, sum by (instance, le) (rate(http_request_duration_seconds_bucket[5m])))"),
        // High cardinality: every series of every target, grouped per target.
        range("count by (instance) ({job=\"node\"})"),
    ]
}

fn close(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => {
            (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1e-9)
        }
        _ => false,
    }
}

/// Where `got` first departs from `want`.
fn first_difference(want: &QueryAnswer, got: &QueryAnswer) -> String {
    if want.series.len() != got.series.len() {
        return format!("{} series, reference {}", got.series.len(), want.series.len());
    }
    for (k, va) in &want.series {
        let Some(vb) = got.series.get(k) else {
            return format!("missing series {k}");
        };
        if va.len() != vb.len() {
            return format!("series {k}: {} points, reference {}", vb.len(), va.len());
        }
        for (x, y) in va.iter().zip(vb) {
            if x.0 != y.0 || !close(&x.1, &y.1) {
                return format!("series {k} at {}: {:?}, reference {:?}", x.0, y, x);
            }
        }
    }
    "?".into()
}

/// Whether two answers agree (same series, same timestamps, values within 1e-6 relative).
pub(crate) fn same(a: &QueryAnswer, b: &QueryAnswer) -> bool {
    a.error.is_none()
        && b.error.is_none()
        && a.series.len() == b.series.len()
        && a.series.iter().all(|(k, va)| {
            b.series.get(k).is_some_and(|vb| {
                va.len() == vb.len() && va.iter().zip(vb).all(|(x, y)| x.0 == y.0 && close(&x.1, &y.1))
            })
        })
}

fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "-".into()
    } else {
        format!("{:.2}x", a / b)
    }
}

/// Server CPU µs spent per ingested sample (during the send only).
fn cpu_us_per_sample(m: &Measured, w: &Workload) -> f64 {
    m.ingest_cpu_seconds * 1e6 / w.samples.max(1) as f64
}

/// The flags of a non-default data variant, as they appear on the command line.
fn variant_flags(args: &CompareArgs) -> String {
    let mut f = String::new();
    if args.interval_seconds != 15 {
        f.push_str(&format!(" --interval-seconds {}", args.interval_seconds));
    }
    if args.generate_while_sending {
        f.push_str(" --generate-while-sending");
    }
    f
}

/// The Markdown report.
pub(crate) fn render(args: &CompareArgs, w: &Workload, queries: &[Query], results: &[Measured]) -> String {
    let mut s = String::new();
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let _ = writeln!(s, "# Benchmarks: Sextant side by side\n");
    let _ = writeln!(
        s,
        "Command: `cargo run --release -p bench -- compare --targets {} --span-minutes {} --connections {}{}`  \nMachine: {machine}, {cores} cores  \nData: {} node_exporter-shaped targets (plus a 5-handler HTTP latency histogram each), {} series, {} samples at {} s over {} min, sent as remote write v1 ({} samples per request, {} connections, {}).\n",
        args.targets,
        args.span_minutes,
        args.connections,
        variant_flags(args),
        args.targets,
        w.series,
        w.samples,
        args.interval_seconds,
        args.span_minutes,
        args.samples_per_request,
        args.connections,
        if w.stream.is_some() {
            "bodies generated while sending, by the bench on the same cores"
        } else {
            "bodies prepared before the clock"
        }
    );
    let _ = writeln!(s, "| system | version | ingest samples/s | failed requests | peak RSS MiB | CPU s | ingest CPU s | ingest CPU µs/sample | RSS after ingest MiB | data dir after ingest bytes/sample | disk bytes/sample | disk measured as |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for m in results {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {} | {:.1} | {:.1} | {:.1} | {:.3} | {:.1} | {:.2} | {:.3} | {} |",
            m.kind.name(),
            m.version,
            m.ingest_rate,
            m.failed_requests,
            m.peak_rss as f64 / 1048576.0,
            m.cpu_seconds,
            m.ingest_cpu_seconds,
            cpu_us_per_sample(m, w),
            m.ingest_peak_rss as f64 / 1048576.0,
            m.disk_after_ingest as f64 / w.samples.max(1) as f64,
            m.disk_bytes as f64 / w.samples.max(1) as f64,
            m.disk_how
        );
    }
    let sextant = results.iter().find(|m| m.kind == Kind::Sextant);
    if let Some(x) = sextant {
        let _ = writeln!(s, "\n| ratio | ingest rate (higher is better) | peak RSS (lower) | CPU s (lower) | ingest CPU per sample (lower) | RSS after ingest (lower) | bytes/sample (lower) |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
        for m in results.iter().filter(|m| m.kind != Kind::Sextant) {
            let _ = writeln!(
                s,
                "| Sextant / {} | {} | {} | {} | {} | {} | {} |",
                m.kind.name(),
                ratio(x.ingest_rate, m.ingest_rate),
                ratio(x.peak_rss as f64, m.peak_rss as f64),
                ratio(x.cpu_seconds, m.cpu_seconds),
                ratio(cpu_us_per_sample(x, w), cpu_us_per_sample(m, w)),
                ratio(x.ingest_peak_rss as f64, m.ingest_peak_rss as f64),
                ratio(x.disk_bytes as f64, m.disk_bytes as f64)
            );
        }
    }
    let _ = writeln!(s, "\n## Query latency (median of {} runs, ms) and agreement\n\nAnswers are compared with Prometheus, the reference for PromQL semantics (values within 1e-6 relative). VictoriaMetrics answers MetricsQL, whose `rate`, `increase` and `*_over_time` deliberately differ from PromQL (no extrapolation, the previous sample is included), so \"no\" there is expected. Sample timestamps are never on a whole second, so Prometheus 3's left-open range windows (Sextant's) and Prometheus 2's closed ones (the Debian reference's) select the same samples.\n", args.query_runs);
    let mut header = "| query |".to_string();
    let mut rule = "|---|".to_string();
    for m in results {
        header.push_str(&format!(" {} |", m.kind.name()));
        rule.push_str("---:|");
    }
    header.push_str(" same as Prometheus |");
    rule.push_str("---|");
    let _ = writeln!(s, "{header}\n{rule}");
    for (i, q) in queries.iter().enumerate() {
        let mut row = format!(
            "| `{}`{} |",
            q.expr.replace('|', "\\|"),
            if q.step_s.is_some() { " (range, 60 s)" } else { "" }
        );
        for m in results {
            let (d, a) = &m.answers[i];
            if a.error.is_some() {
                row.push_str(" error |");
            } else {
                row.push_str(&format!(" {:.1} |", d.as_secs_f64() * 1000.0));
            }
        }
        let reference = results.iter().find(|m| m.kind == Kind::Prometheus);
        let verdicts: Vec<String> = results
            .iter()
            .filter(|m| m.kind != Kind::Prometheus)
            .map(|m| match reference {
                Some(r) if same(&r.answers[i].1, &m.answers[i].1) => format!("{}: yes", m.kind.name()),
                Some(_) => format!("{}: **no**", m.kind.name()),
                None => format!("{}: -", m.kind.name()),
            })
            .collect();
        row.push_str(&format!(" {} |", verdicts.join(", ")));
        let _ = writeln!(s, "{row}");
    }
    // Summary: each system's median latency over the query set, and the median per-query ratio.
    let median = |mut v: Vec<f64>| -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    };
    let ms = |m: &Measured| -> Vec<f64> { m.answers.iter().map(|(d, _)| d.as_secs_f64() * 1000.0).collect() };
    let _ = writeln!(s);
    for m in results {
        let _ = writeln!(
            s,
            "- {}: median query latency {:.1} ms",
            m.kind.name(),
            median(ms(m))
        );
    }
    if let Some(x) = sextant {
        for m in results.iter().filter(|m| m.kind != Kind::Sextant) {
            let ratios: Vec<f64> = ms(x).iter().zip(ms(m)).map(|(a, b)| a / b.max(1e-9)).collect();
            let _ = writeln!(
                s,
                "- Sextant / {}: median of per-query latency ratios {:.2}x (worst {:.2}x)",
                m.kind.name(),
                median(ratios.clone()),
                ratios.iter().copied().fold(0.0, f64::max)
            );
        }
    }
    // Where an answer differs from Prometheus', say where first.
    if let Some(r) = results.iter().find(|m| m.kind == Kind::Prometheus) {
        for m in results.iter().filter(|m| m.kind == Kind::Sextant) {
            for (i, (_, a)) in m.answers.iter().enumerate() {
                let b = &r.answers[i].1;
                if a.error.is_none() && b.error.is_none() && !same(b, a) {
                    let _ = writeln!(
                        s,
                        "\n{} differs on `{}`: {}",
                        m.kind.name(),
                        queries[i].expr,
                        first_difference(b, a)
                    );
                }
            }
        }
    }
    for m in results {
        for (i, (_, a)) in m.answers.iter().enumerate() {
            if let Some(e) = &a.error {
                let _ = writeln!(s, "\n{} failed `{}`: {e}", m.kind.name(), queries[i].expr);
            }
        }
    }
    s
}
