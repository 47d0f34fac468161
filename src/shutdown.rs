//! SIGINT/SIGTERM -> a future that completes once, starting the ordered stop in [`crate::server`].

use std::future::Future;

/// Listens for SIGINT and SIGTERM from now on (the handlers are installed before this returns,
/// so a signal that arrives while Sextant is still starting is not the default "terminate at
/// once"); the future completes on the first of them. Must be called inside the runtime.
pub fn signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let listen =
        |kind: tokio::signal::unix::SignalKind, name: &'static str| match tokio::signal::unix::signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("cannot listen for {name}: {e}");
                None
            }
        };
    #[cfg(unix)]
    let mut int = listen(tokio::signal::unix::SignalKind::interrupt(), "SIGINT");
    #[cfg(unix)]
    let mut term = listen(tokio::signal::unix::SignalKind::terminate(), "SIGTERM");
    async move {
        #[cfg(unix)]
        {
            let int_recv = async {
                match int.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let term_recv = async {
                match term.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = int_recv => tracing::info!("received SIGINT, shutting down"),
                _ = term_recv => tracing::info!("received SIGTERM, shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::warn!("cannot listen for SIGINT: {e}");
                std::future::pending::<()>().await;
            }
            tracing::info!("received SIGINT, shutting down");
        }
    }
}
