//! Logging set-up: `--log.level` (debug, info, warn, error), logfmt-like lines on stderr;
//! plus OpenTelemetry tracing when the `OTEL_EXPORTER_OTLP_*` variables ask for it
//! ([`crate::telemetry`]).

use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The log layer: events at `filter`'s levels on stderr, never spans (so with tracing off,
/// spans are disabled at their call sites).
pub fn log_layer<S>(filter: EnvFilter) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter.and(filter_fn(|m| !m.is_span())))
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the level for fine tuning.
/// Log lines carry no span context: spans exist for tracing only, so with tracing off they
/// are disabled at their call sites.
pub fn init(level: &str) -> Result<(), String> {
    let level = match level {
        "debug" | "info" | "warn" | "error" => level,
        other => {
            return Err(format!(
                "invalid --log.level {other:?}: use debug, info, warn or error"
            ))
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let logs = log_layer(filter);
    let otel = match crate::telemetry::config_from(|k| std::env::var(k).ok())? {
        Some(cfg) => {
            let tracer = crate::telemetry::start(&cfg)?;
            Some((
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(filter_fn(crate::telemetry::is_sextant_span)),
                cfg,
            ))
        }
        None => None,
    };
    let (layer, cfg) = match otel {
        Some((l, c)) => (Some(l), Some(c)),
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(layer)
        .try_init()
        .map_err(|e| format!("cannot initialise logging: {e}"))?;
    if let Some(c) = cfg {
        tracing::info!(
            endpoint = %c.endpoint,
            protocol = ?c.transport,
            "OpenTelemetry tracing on: exporting spans over OTLP"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_disabled_without_tracing() {
        let sub = tracing_subscriber::registry().with(log_layer(EnvFilter::new("debug")));
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("query", expr = "up");
            assert!(span.is_disabled(), "no layer wants spans: nothing is allocated");
            assert!(tracing::enabled!(tracing::Level::INFO), "log events still pass");
        });
    }
}
