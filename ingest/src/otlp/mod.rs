//! OTLP metrics: OTLP/HTTP (protobuf and JSON, optionally gzip) and OTLP/gRPC, translated to
//! Prometheus series by the OpenTelemetry-to-Prometheus compatibility rules.
//!
//! Flow: the HTTP handler ([`http`]) or the gRPC service ([`grpc`]) decodes an
//! `ExportMetricsServiceRequest` within the size limits, then [`ingest`] (on a blocking
//! thread) checks the data point limit and runs [`translate::write_request`] into one
//! storage batch. Refused data points are reported as OTLP partial success
//! (`rejected_data_points` + a message naming the first problem); storage failures are
//! retryable errors (HTTP 503 / gRPC `UNAVAILABLE`) and store nothing.
//!
//! - `names`: metric and label name translation.
//! - `translate`: data points to series.
//! - `delta`: delta-to-cumulative accumulation; `resume`: its totals read back from storage
//!   after a restart.
//! - `traces`: OTLP traces (`/v1/traces`, gRPC `TraceService`) counted into span metrics.
//! - `http`, `grpc`: the transports; [`http::router`] holds the OTLP/HTTP routes and their
//!   [`OtlpState`].

pub mod delta;
pub mod grpc;
pub mod http;
pub mod names;
mod resume;
pub mod traces;
pub mod translate;

pub use grpc::{otlp_grpc_router, otlp_grpc_service, OtlpGrpc};
pub use translate::ExportOutcome;

use crate::error::PushError;
use crate::push::respond::Counted;
use crate::push::writer::SeriesWriter;
use crate::push::{OtlpOptions, PushLimits};
use delta::DeltaStore;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use storage::Appendable;

/// State kept between OTLP requests: the delta-to-cumulative totals and span metrics.
#[derive(Debug)]
pub struct OtlpState {
    /// Running totals of delta series.
    pub delta: DeltaStore,
    /// Span metrics from OTLP traces.
    pub spans: traces::SpanMetrics,
}

impl OtlpState {
    /// Fresh state for `opts` (span metrics share the `max_delta_series` bound).
    pub fn new(opts: &OtlpOptions) -> Self {
        OtlpState {
            delta: DeltaStore::new(opts.max_delta_series),
            spans: traces::SpanMetrics::new(opts.max_delta_series),
        }
    }
}

pub(crate) use storage::now_ms;

/// Translates `req` and writes it to `db` in one batch. `Ok` means committed (some points
/// may have been refused, see the outcome); `Err` means nothing was stored.
pub fn ingest(
    db: &dyn Appendable,
    state: &OtlpState,
    req: &ExportMetricsServiceRequest,
    limits: &PushLimits,
) -> Result<ExportOutcome, PushError> {
    let points = translate::count_points(req);
    if points > limits.max_samples_per_request {
        return Err(PushError::TooMany {
            what: "data points",
            count: points,
            limit: limits.max_samples_per_request,
        });
    }
    let mut txn = state.delta.txn();
    let (out, _) = SeriesWriter::batch(db, |w| {
        translate::write_request(w, req, &limits.otlp, limits, &mut txn)
    })?;
    txn.commit();
    Ok(out)
}

/// The partial-success message for an outcome.
pub(crate) fn partial_success_message(out: &ExportOutcome) -> String {
    match &out.message {
        Some(m) if out.rejected_points > 1 => {
            format!("{} data points rejected; first: {m}", out.rejected_points)
        }
        Some(m) => m.clone(),
        None => String::new(),
    }
}

impl Counted for ExportOutcome {
    fn counts(&self) -> (usize, usize, usize) {
        (self.accepted_points, 0, 0)
    }
}

impl Counted for traces::TraceOutcome {
    /// Spans become span-metric samples; the request is what is counted.
    fn counts(&self) -> (usize, usize, usize) {
        (0, 0, 0)
    }
}
