//! The push endpoints: one axum router the root mounts on its HTTP listener, merging the
//! routes of each protocol.
//!
//! | route | protocol |
//! |---|---|
//! | `POST /api/v1/write` | Prometheus remote write 1.0 and 2.0 ([`crate::remote_write::handler`]) |
//! | `POST /v1/metrics`, `POST /api/v1/otlp/v1/metrics` | OTLP/HTTP metrics, protobuf or JSON, optionally gzip ([`crate::otlp::http`]) |
//! | `POST /v1/traces` | OTLP/HTTP traces, counted into span metrics ([`crate::otlp::traces`]) |
//! | `POST /api/v1/import/prometheus` | Prometheus text exposition (batch jobs, [`crate::push::import`]) |
//!
//! OTLP/gRPC is a separate tonic service, [`crate::otlp::otlp_grpc_service`].

use crate::push::{import, PushLimits};
use crate::{otlp, remote_write};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::sync::Arc;
use storage::Appendable;

/// The push router: remote write, OTLP/HTTP and text import, all writing to `appendable`.
pub fn push_router(appendable: Arc<dyn Appendable>, limits: PushLimits) -> Router {
    Router::new()
        .merge(remote_write::handler::router(appendable.clone(), limits.clone()))
        .merge(otlp::http::router(appendable.clone(), limits.clone()))
        .merge(import::router(appendable, limits))
        // Body size is enforced by each handler with a clear message.
        .layer(DefaultBodyLimit::disable())
}
