//! OTLP/gRPC: `opentelemetry.proto.collector.metrics.v1.MetricsService/Export` and
//! `opentelemetry.proto.collector.trace.v1.TraceService/Export` (span metrics).
//!
//! [`otlp_grpc_service`] is a tonic service the root serves on its own listener
//! (`--otlp.grpc-listen-address`, default `:4317`), e.g. with
//! `tonic::transport::Server` or, without tonic's transport, as an axum router from
//! [`otlp_grpc_router`] passed to `axum::serve` (axum speaks HTTP/2 prior knowledge, which
//! gRPC clients use). Gzip-compressed messages are accepted; the message size limit is
//! [`PushLimits::max_decompressed_bytes`].
//!
//! Its delta-to-cumulative state is its own: a sender uses one transport, so sharing with
//! the HTTP router is not needed.

use super::{ingest, partial_success_message, OtlpState};
use crate::error::PushError;
use crate::push::rejections::{self, Protocol};
use crate::push::respond::{blocking_as, count};
use crate::push::PushLimits;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::sync::Arc;
use storage::Appendable;
use tonic::codec::CompressionEncoding;

struct Inner {
    db: Arc<dyn Appendable>,
    limits: PushLimits,
    state: OtlpState,
}

/// The OTLP/gRPC metrics service.
#[derive(Clone)]
pub struct OtlpGrpc {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OtlpGrpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpGrpc")
            .field("limits", &self.inner.limits)
            .finish()
    }
}

fn status(p: Protocol, e: PushError) -> tonic::Status {
    rejections::request(p, &e);
    if e.is_retryable() {
        tracing::warn!(error = %e, "OTLP/gRPC export failed");
        tonic::Status::unavailable(e.to_string())
    } else {
        tonic::Status::invalid_argument(e.to_string())
    }
}

#[tonic::async_trait]
impl MetricsService for OtlpGrpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let req = request.into_inner();
        let inner = self.inner.clone();
        let p = Protocol::OtlpGrpc;
        let res = blocking_as(p, move || ingest(&*inner.db, &inner.state, &req, &inner.limits)).await;
        count(p, &res);
        let out = res.map_err(|e| status(p, e))?;
        let partial_success = (out.rejected_points > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: out.rejected_points as i64,
            error_message: partial_success_message(&out),
        });
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success,
        }))
    }
}

#[tonic::async_trait]
impl TraceService for OtlpGrpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let req = request.into_inner();
        let inner = self.inner.clone();
        let p = Protocol::OtlpTraces;
        let res = blocking_as(p, move || {
            inner
                .state
                .spans
                .ingest(&*inner.db, &req, &inner.limits, super::now_ms())
        })
        .await;
        count(p, &res);
        let out = res.map_err(|e| status(p, e))?;
        let partial_success = (out.rejected_spans > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: out.rejected_spans as i64,
            error_message: out.message.unwrap_or_default(),
        });
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success,
        }))
    }
}

impl OtlpGrpc {
    /// The shared state of the gRPC services writing to `appendable`.
    pub fn new(appendable: Arc<dyn Appendable>, limits: PushLimits) -> Self {
        OtlpGrpc {
            inner: Arc::new(Inner {
                db: appendable,
                state: OtlpState::new(&limits.otlp),
                limits,
            }),
        }
    }

    /// The metrics service (`MetricsService/Export`).
    pub fn metrics_server(&self) -> MetricsServiceServer<OtlpGrpc> {
        MetricsServiceServer::new(self.clone())
            .max_decoding_message_size(self.inner.limits.max_decompressed_bytes)
            .accept_compressed(CompressionEncoding::Gzip)
    }

    /// The traces service (`TraceService/Export`), counted into span metrics.
    pub fn trace_server(&self) -> TraceServiceServer<OtlpGrpc> {
        TraceServiceServer::new(self.clone())
            .max_decoding_message_size(self.inner.limits.max_decompressed_bytes)
            .accept_compressed(CompressionEncoding::Gzip)
    }
}

/// The OTLP/gRPC metrics service writing to `appendable`.
pub fn otlp_grpc_service(
    appendable: Arc<dyn Appendable>,
    limits: PushLimits,
) -> MetricsServiceServer<OtlpGrpc> {
    OtlpGrpc::new(appendable, limits).metrics_server()
}

/// The OTLP/gRPC metrics and traces services as an axum router, to serve with `axum::serve`
/// on the gRPC port (or merged into the HTTP router: gRPC clients speak HTTP/2 prior
/// knowledge, which `axum::serve` accepts).
pub fn otlp_grpc_router(appendable: Arc<dyn Appendable>, limits: PushLimits) -> axum::Router {
    let svc = OtlpGrpc::new(appendable, limits);
    tonic::service::Routes::new(svc.metrics_server())
        .add_service(svc.trace_server())
        .into_axum_router()
}
