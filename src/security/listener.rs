//! A TLS listener for `axum::serve`: TCP connections are accepted in a task of their own and
//! each handshake runs in its own task (with a deadline), so a slow or silent client never
//! holds up the others. Each handshake uses the TLS configuration in force at that moment,
//! so a renewed certificate applies to new connections without a restart.
//!
//! A client that speaks plain HTTP to the TLS port gets Go's answer, `400 Bad Request`
//! "Client sent an HTTP request to an HTTPS server.", instead of a silent close.

use super::WebSecurity;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

/// Longest a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS client's address and what its handshake established, available to the request
/// handlers as `axum::extract::ConnectInfo<TlsPeer>` (see [`super::serve`]).
#[derive(Clone, Copy, Debug)]
pub struct TlsPeer {
    /// The client's address.
    pub addr: SocketAddr,
    /// Whether it presented the self-scrape's own client certificate
    /// ([`super::self_scrape::SelfScrape::is_own_certificate`]).
    pub self_scrape_certificate: bool,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for TlsPeer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> TlsPeer {
        *stream.remote_addr()
    }
}

/// Accepts TLS connections (see the module doc).
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, TlsPeer)>,
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsListener {
    /// Starts accepting on `tcp`.
    pub fn new(tcp: TcpListener, sec: Arc<WebSecurity>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(accept_loop(tcp, sec, tx));
        Ok(TlsListener { rx, local, task })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    sec: Arc<WebSecurity>,
    tx: mpsc::Sender<(TlsStream<TcpStream>, TlsPeer)>,
) {
    loop {
        let (stream, addr) = match tcp.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let (sec, tx) = (sec.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(stream, &sec)).await {
                Ok(Ok(Some((tls, self_scrape_certificate)))) => {
                    let peer = TlsPeer {
                        addr,
                        self_scrape_certificate,
                    };
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::debug!("TLS handshake with {addr} failed: {e}"),
                Err(_) => tracing::debug!("TLS handshake with {addr} timed out"),
            }
        });
    }
}

/// `None` when the client spoke plain HTTP (answered and closed); else the stream and whether
/// the client presented the self-scrape's own certificate.
async fn handshake(
    mut stream: TcpStream,
    sec: &WebSecurity,
) -> std::io::Result<Option<(TlsStream<TcpStream>, bool)>> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 0 {
        return Ok(None);
    }
    // A TLS connection starts with a handshake record (0x16); an HTTP request with a method name.
    if first[0].is_ascii_uppercase() {
        let _ = stream
            .write_all(
                b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
            )
            .await;
        let _ = stream.shutdown().await;
        return Ok(None);
    }
    let active = sec.current();
    let Some(cfg) = active.tls.clone() else {
        return Err(std::io::Error::other("TLS is not configured"));
    };
    let tls = tokio_rustls::TlsAcceptor::from(cfg).accept(stream).await?;
    let allowed = active
        .config
        .tls_server_config
        .as_ref()
        .map_or(&[][..], |t| &t.client_allowed_sans[..]);
    let peer = tls.get_ref().1.peer_certificates();
    let own = sec
        .self_scrape
        .as_ref()
        .is_some_and(|s| s.is_own_certificate(peer));
    if !own && !super::tls::client_san_allowed(peer, allowed) {
        return Err(std::io::Error::other(
            "the client certificate has none of the SANs in client_allowed_sans",
        ));
    }
    Ok(Some((tls, own)))
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = TlsPeer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accept task ended (it only does when the listener is being dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(TlsPeer {
            addr: self.local,
            self_scrape_certificate: false,
        })
    }
}
