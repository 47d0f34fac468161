//! OTLP/gRPC: `opentelemetry.proto.collector.metrics.v1.MetricsService/Export`.
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
use crate::push::{blocking, PushLimits};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
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

fn status(e: PushError) -> tonic::Status {
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
        let out = blocking(move || ingest(&*inner.db, &inner.state, &req, &inner.limits))
            .await
            .map_err(status)?;
        let partial_success = (out.rejected_points > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: out.rejected_points as i64,
            error_message: partial_success_message(&out),
        });
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success,
        }))
    }
}

/// The OTLP/gRPC metrics service writing to `appendable`.
pub fn otlp_grpc_service(
    appendable: Arc<dyn Appendable>,
    limits: PushLimits,
) -> MetricsServiceServer<OtlpGrpc> {
    let max = limits.max_decompressed_bytes;
    let svc = OtlpGrpc {
        inner: Arc::new(Inner {
            db: appendable,
            state: OtlpState::new(&limits.otlp),
            limits,
        }),
    };
    MetricsServiceServer::new(svc)
        .max_decoding_message_size(max)
        .accept_compressed(CompressionEncoding::Gzip)
}

/// [`otlp_grpc_service`] as an axum router, to serve with `axum::serve` on the gRPC port.
pub fn otlp_grpc_router(appendable: Arc<dyn Appendable>, limits: PushLimits) -> axum::Router {
    tonic::service::Routes::new(otlp_grpc_service(appendable, limits)).into_axum_router()
}
