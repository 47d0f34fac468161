//! The listeners: the main HTTP listener (API, UI, push endpoints, OTLP/gRPC over HTTP/2
//! cleartext) and OTLP/gRPC's own port, started together and stopped together.

use crate::settings::Settings;
use crate::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Binds the HTTP listener.
pub async fn bind(addr: &str) -> Result<TcpListener, Error> {
    TcpListener::bind(addr).await.map_err(|source| Error::Listen {
        addr: addr.to_string(),
        source,
    })
}

/// The address `listener` is bound to.
pub fn local_addr(listener: &TcpListener) -> Result<SocketAddr, Error> {
    listener.local_addr().map_err(|source| Error::Io {
        context: "reading the listen address".into(),
        source,
    })
}

/// The running listeners.
pub struct Listeners {
    http: JoinHandle<std::io::Result<()>>,
    http_stop: watch::Sender<bool>,
    grpc: Option<JoinHandle<()>>,
    grpc_stop: watch::Sender<bool>,
}

impl Listeners {
    /// Serves `app` on `listener` (bound to `local`) and OTLP/gRPC on
    /// `--web.otlp-grpc.listen-address`, both behind `--web.config.file`.
    pub async fn start(
        listener: TcpListener,
        local: SocketAddr,
        app: axum::Router,
        appendable: Arc<dyn storage::Appendable>,
        settings: &Settings,
    ) -> Result<Listeners, Error> {
        let (grpc_stop, grpc_stop_rx) = watch::channel(false);
        let grpc = start_otlp_grpc(
            &settings.flags.otlp_grpc_listen_address,
            appendable,
            settings.push_limits.clone(),
            settings.security.clone(),
            grpc_stop_rx,
        )
        .await;
        let scheme = if settings.security.tls() { "https" } else { "http" };
        tracing::info!("Listening on {scheme}://{local}");
        let (http_stop, stop_rx) = watch::channel(false);
        let mut server_stop = stop_rx;
        let http = crate::security::serve(listener, app, settings.security.clone(), async move {
            let _ = server_stop.wait_for(|s| *s).await;
        })
        .map_err(|source| Error::Io {
            context: "starting the TLS listener".into(),
            source,
        })?;
        Ok(Listeners {
            http,
            http_stop,
            grpc,
            grpc_stop,
        })
    }

    /// A receiver that turns `true` when the HTTP listener stops (for helpers that live as
    /// long as it, such as `--demo`'s nodes).
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.http_stop.subscribe()
    }

    /// Stops the HTTP listener (finishing requests in flight), then OTLP/gRPC's.
    pub async fn stop(self) {
        tracing::info!("Stopping the HTTP server");
        let _ = self.http_stop.send(true);
        match self.http.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("HTTP server ended with an error: {e}"),
            Err(e) => tracing::warn!("HTTP server task failed: {e}"),
        }
        let _ = self.grpc_stop.send(true);
        if let Some(g) = self.grpc {
            let _ = g.await;
        }
    }
}

/// Serves OTLP/gRPC on its own port (the OpenTelemetry default is `:4317`). A port that cannot
/// be bound is logged and skipped, so another collector on the host does not stop Sextant;
/// OTLP/gRPC stays available on the main listener.
async fn start_otlp_grpc(
    addr: &str,
    appendable: Arc<dyn storage::Appendable>,
    limits: ingest::PushLimits,
    security: Arc<crate::security::WebSecurity>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if addr.is_empty() {
        return None;
    }
    let addr = crate::settings::normalise_listen_address(addr);
    let listener = match TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                "cannot listen for OTLP/gRPC on {addr}: {e}; OTLP/gRPC is served on the main port only"
            );
            return None;
        }
    };
    let tls = if security.tls() { " (TLS)" } else { "" };
    match listener.local_addr() {
        Ok(a) => tracing::info!("OTLP/gRPC listening on {a}{tls}"),
        Err(_) => tracing::info!("OTLP/gRPC listening on {addr}{tls}"),
    }
    // The same web configuration as the main listener: TLS and authentication (role write).
    let app = crate::security::protect(
        ingest::otlp::grpc::otlp_grpc_router(appendable, limits),
        security.clone(),
        None,
    );
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let server = match crate::security::serve(listener, app, security, shutdown) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot serve OTLP/gRPC on {addr}: {e}");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("OTLP/gRPC server ended with an error: {e}"),
            Err(e) => tracing::warn!("OTLP/gRPC server task failed: {e}"),
        }
    }))
}
