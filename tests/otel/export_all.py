#!/usr/bin/env python3
"""Exports one of every OpenTelemetry metric instrument kind to an OTLP endpoint, once.

Used by tests/e2e/otel_sdk.rs: the real OpenTelemetry Python SDK as a client of Sextant.

    export_all.py --protocol http|grpc --endpoint URL --instance ID [--ca-file PEM] [--basic-auth USER:PASSWORD]

`--endpoint` is the OTLP/HTTP metrics URL (http://HOST:PORT/v1/metrics) or the OTLP/gRPC
address (http://HOST:PORT); with `https://` and `--ca-file` the exporter verifies the server's
certificate against that CA (gRPC: TLS channel credentials). `--basic-auth` sends an
`Authorization: Basic` header (gRPC: `authorization` metadata) with every export. `--instance` becomes `service.instance.id`, so runs of the test
over both protocols write distinct series. The values recorded are fixed (see RECORDED below);
the Rust test asserts the Prometheus series they translate to. Exits non-zero with a message
naming the missing package when the SDK is not installed, and when the export fails.
"""

import argparse
import sys

try:
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk.metrics import (
        Counter,
        Histogram,
        MeterProvider,
        ObservableCounter,
        ObservableGauge,
        ObservableUpDownCounter,
        UpDownCounter,
    )
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.metrics.view import (
        ExplicitBucketHistogramAggregation,
        ExponentialBucketHistogramAggregation,
        View,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(f"MISSING PYTHON PACKAGE: {e} (pip install opentelemetry-sdk)", file=sys.stderr)
    sys.exit(3)


def exporter(protocol, endpoint, temporality, ca_file=None, basic_auth=None):
    """The SDK's own OTLP exporter for the protocol, with TLS verified against `ca_file` and
    basic authentication when given."""
    headers = None
    if basic_auth:
        import base64

        headers = {"authorization": "Basic " + base64.b64encode(basic_auth.encode()).decode()}
    try:
        if protocol == "http":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            return OTLPMetricExporter(
                endpoint=endpoint,
                timeout=20,
                preferred_temporality=temporality,
                certificate_file=ca_file,
                headers=headers,
            )
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        if ca_file:
            import grpc

            with open(ca_file, "rb") as f:
                credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
            return OTLPMetricExporter(
                endpoint=endpoint,
                insecure=False,
                credentials=credentials,
                headers=headers,
                timeout=20,
                preferred_temporality=temporality,
            )
        return OTLPMetricExporter(
            endpoint=endpoint, insecure=True, headers=headers, timeout=20, preferred_temporality=temporality
        )
    except ImportError as e:
        pkg = "opentelemetry-exporter-otlp-proto-" + protocol
        print(f"MISSING PYTHON PACKAGE: {e} (pip install {pkg})", file=sys.stderr)
        sys.exit(3)


class CheckedExporter:
    """Wraps an exporter and remembers whether every export succeeded."""

    def __init__(self, inner):
        self.inner = inner
        self.failures = 0
        self.exports = 0
        self._preferred_temporality = inner._preferred_temporality
        self._preferred_aggregation = inner._preferred_aggregation

    def export(self, data, timeout_millis=10_000, **kw):
        self.exports += 1
        r = self.inner.export(data, timeout_millis=timeout_millis, **kw)
        if r != MetricExportResult.SUCCESS:
            self.failures += 1
        return r

    def force_flush(self, timeout_millis=10_000):
        return self.inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis=30_000, **kw):
        return self.inner.shutdown(timeout_millis=timeout_millis, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", choices=["http", "grpc"], required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--instance", required=True)
    ap.add_argument("--ca-file")
    ap.add_argument("--basic-auth")
    args = ap.parse_args()

    cumulative = {
        Counter: AggregationTemporality.CUMULATIVE,
        UpDownCounter: AggregationTemporality.CUMULATIVE,
        Histogram: AggregationTemporality.CUMULATIVE,
        ObservableCounter: AggregationTemporality.CUMULATIVE,
        ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
        ObservableGauge: AggregationTemporality.CUMULATIVE,
    }
    exp = CheckedExporter(
        exporter(args.protocol, args.endpoint, cumulative, args.ca_file, args.basic_auth)
    )
    # A long interval: the only export is the one force_flush makes below.
    reader = PeriodicExportingMetricReader(exp, export_interval_millis=3_600_000)
    resource = Resource.create(
        {
            "service.name": "sdk-e2e",
            "service.namespace": "sextant",
            "service.instance.id": args.instance,
            "deployment.environment": "test",
        }
    )
    views = [
        View(
            instrument_name="rpc.server.duration",
            aggregation=ExplicitBucketHistogramAggregation(boundaries=[0.1, 1.0, 5.0]),
        ),
        View(
            instrument_name="block.processing.time",
            aggregation=ExponentialBucketHistogramAggregation(max_size=160, max_scale=3),
        ),
    ]
    provider = MeterProvider(resource=resource, metric_readers=[reader], views=views)
    meter = provider.get_meter("sextant.e2e", "1.2.3")
    # Measurements made inside a sampled span get exemplars (the SDK's default trace-based
    # exemplar filter) carrying the span's trace and span ids.
    tracer = TracerProvider(resource=resource).get_tracer("sextant.e2e")
    span = tracer.start_span("work")
    ctx = __import__("opentelemetry.trace", fromlist=["set_span_in_context"]).set_span_in_context(span)

    # Synchronous instruments.
    c = meter.create_counter("http.server.request.body.size", unit="By", description="bytes received")
    c.add(100, {"http.method": "GET"}, context=ctx)
    c.add(50, {"http.method": "GET"}, context=ctx)
    c.add(7, {"http.method": "POST"})

    ud = meter.create_up_down_counter("db.client.connections.usage", unit="{connection}", description="open connections")
    ud.add(10, {"pool": "main"})
    ud.add(-3, {"pool": "main"})

    h = meter.create_histogram("rpc.server.duration", unit="s", description="rpc latency")
    for v in (0.05, 0.5, 0.7, 3.0, 9.0):
        h.record(v, {"rpc.method": "getBlock"}, context=ctx)

    eh = meter.create_histogram("block.processing.time", unit="ms", description="block processing")
    for v in (1.0, 2.0, 4.0, 8.0):
        eh.record(v)

    if hasattr(meter, "create_gauge"):
        g = meter.create_gauge("peer.count", unit="{peer}", description="connected peers")
        g.set(12, {"network": "mainnet"})

    # Asynchronous instruments, observed at collection time.
    def cpu(_: CallbackOptions):
        yield Observation(0.25, {"cpu": "0"})
        yield Observation(0.75, {"cpu": "1"})

    def uptime(_: CallbackOptions):
        yield Observation(42.5)

    def heap(_: CallbackOptions):
        yield Observation(2048, {"space": "old"})

    meter.create_observable_gauge("system.cpu.utilization", callbacks=[cpu], unit="1", description="cpu share")
    meter.create_observable_counter("process.uptime", callbacks=[uptime], unit="s", description="uptime")
    meter.create_observable_up_down_counter("process.memory.heap", callbacks=[heap], unit="By", description="heap")

    span.end()
    sc = span.get_span_context()
    print(f"trace_id={sc.trace_id:032x} span_id={sc.span_id:016x}")

    ok = provider.force_flush(timeout_millis=30_000)
    provider.shutdown()
    if not ok or exp.exports == 0 or exp.failures:
        print(
            f"export failed: flush ok={ok} exports={exp.exports} failures={exp.failures}",
            file=sys.stderr,
        )
        sys.exit(1)
    print(f"exported over {args.protocol} to {args.endpoint}")


if __name__ == "__main__":
    main()
