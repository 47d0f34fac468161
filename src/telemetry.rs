//! OpenTelemetry tracing, configured by the standard environment variables and off unless
//! an OTLP endpoint is set.
//!
//! | variable | effect |
//! |---|---|
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT` | turn tracing on; where spans go (the generic one gets `/v1/traces` appended for HTTP) |
//! | `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` (default, as the specification says) or `grpc` |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | sampling (`parentbased_always_on` by default) |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource; the service name defaults to `sextant` |
//! | `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`, `_COMPRESSION`, `OTEL_BSP_*` | read by the exporter and the batch processor |
//!
//! Spans are `tracing` spans at INFO level from Sextant's crates (`query`, `query.parse`,
//! `query.select`, `query.evaluate`, `remote_write`, `scrape`, `tsdb.head_cut`,
//! `tsdb.compact`, `tsdb.wal_replay`). When no endpoint is set no layer is installed, and
//! since the log layer takes no spans, every `info_span!` stays on `tracing`'s disabled fast
//! path: no exporter, thread or span allocation.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use std::sync::OnceLock;

/// The transport of the OTLP exporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    HttpProtobuf,
}

/// What the environment asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtelConfig {
    /// The endpoint, as set (the exporter reads it again itself, with its suffix rules).
    pub endpoint: String,
    /// The transport.
    pub transport: Transport,
    /// Whether the service name must be defaulted to `sextant`.
    pub default_service_name: bool,
}

/// Reads the configuration through `var` (the process environment in production).
/// `Ok(None)` when tracing is off; `Err` names a variable with a value Sextant cannot use.
pub fn config_from(var: impl Fn(&str) -> Option<String>) -> Result<Option<OtelConfig>, String> {
    let set = |k: &str| var(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let Some(endpoint) =
        set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"))
    else {
        return Ok(None);
    };
    let (pvar, proto) = match set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
        Some(p) => ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", p),
        None => (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            set("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap_or_else(|| "http/protobuf".into()),
        ),
    };
    let transport = match proto.as_str() {
        "grpc" => Transport::Grpc,
        "http/protobuf" => Transport::HttpProtobuf,
        other => {
            return Err(format!(
                "{pvar}={other:?} is not supported: use \"grpc\" or \"http/protobuf\""
            ))
        }
    };
    let named_in_attrs = set("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|a| {
        a.split(',')
            .any(|kv| kv.trim_start().starts_with("service.name="))
    });
    Ok(Some(OtelConfig {
        endpoint,
        transport,
        default_service_name: set("OTEL_SERVICE_NAME").is_none() && !named_in_attrs,
    }))
}

/// The installed provider, flushed by [`shutdown`].
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
/// The runtime the gRPC exporter's connection lives on (the main runtime is built later and
/// stops before the last spans are flushed).
static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// Builds the tracer provider for `cfg` and remembers it for [`shutdown`]; returns a tracer.
pub fn start(cfg: &OtelConfig) -> Result<opentelemetry_sdk::trace::Tracer, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot start the OTLP trace exporter: {e}");
    let exporter = match cfg.transport {
        Transport::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
            .map_err(|e| fail(&e))?,
        Transport::Grpc => {
            let rt = match RUNTIME.get() {
                Some(rt) => rt,
                None => {
                    let rt = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(1)
                        .thread_name("sextant-otel")
                        .enable_all()
                        .build()
                        .map_err(|e| fail(&e))?;
                    RUNTIME.get_or_init(|| rt)
                }
            };
            let _in_rt = rt.enter();
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_protocol(Protocol::Grpc)
                .build()
                .map_err(|e| fail(&e))?
        }
    };
    let mut resource = Resource::builder();
    if cfg.default_service_name {
        resource = resource.with_service_name("sextant");
    }
    let resource = resource
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("sextant");
    let _ = PROVIDER.set(provider);
    Ok(tracer)
}

/// Flushes and stops the exporter, if tracing is on.
pub fn shutdown() {
    if let Some(p) = PROVIDER.get() {
        if let Err(e) = p.shutdown() {
            eprintln!("sextant: flushing traces failed: {e}");
        }
    }
}

/// Whether a span comes from Sextant's own crates (the exporter's own HTTP and gRPC spans
/// must not be traced, or every export would produce more to export).
pub fn is_sextant_span(meta: &tracing::Metadata<'_>) -> bool {
    let t = meta.target();
    let root = t.split("::").next().unwrap_or(t);
    meta.is_span()
        && *meta.level() <= tracing::Level::INFO
        && matches!(root, "sextant" | "storage" | "ingest" | "query" | "web" | "rules")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Option<OtelConfig>, String> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        config_from(|k| m.get(k).cloned())
    }

    #[test]
    fn off_unless_an_endpoint_is_set() {
        assert_eq!(cfg(&[]), Ok(None));
        assert_eq!(cfg(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]), Ok(None));
        assert_eq!(cfg(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]), Ok(None));
    }

    #[test]
    fn protocol_and_service_name() {
        let c = cfg(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")])
            .unwrap()
            .unwrap();
        assert_eq!(c.transport, Transport::HttpProtobuf);
        assert!(c.default_service_name);
        let c = cfg(&[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_RESOURCE_ATTRIBUTES", "host.name=a, service.name=node1"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.transport, Transport::Grpc);
        assert_eq!(c.endpoint, "http://127.0.0.1:4317");
        assert!(!c.default_service_name);
        let e = cfg(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ])
        .unwrap_err();
        assert!(
            e.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && e.contains("http/json"),
            "{e}"
        );
    }
}
