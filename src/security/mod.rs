//! Protecting the listeners: `--web.config.file` (TLS, basic authentication with roles,
//! response headers, rate limit), `--web.cors.origin`, and the counter of the requests they
//! refuse (`sextant_http_rejected_requests_total`, rendered by [`auth::render_rejections`]).
//!
//! # Layout
//! - [`config`]: the web configuration file (exporter-toolkit's format plus `sextant.roles`).
//! - [`tls`]: `tls_server_config` -> rustls.
//! - [`listener`]: a TLS listener for `axum::serve` (handshakes off the accept loop; a plain
//!   HTTP request to the TLS port gets Go's 400 answer).
//! - [`auth`]: the middleware: rate limit, basic authentication (bcrypt, with a cache of
//!   verified credentials), roles per path, extra response headers.
//! - [`cors`]: CORS for the API only when `--web.cors.origin` is given.
//! - [`secrets`]: masks passwords, tokens and keys in the configuration that
//!   `/api/v1/status/config` shows.
//! - [`self_scrape`]: the per-process secret and TLS settings with which the embedded default
//!   configuration scrapes Sextant itself behind the web configuration.
//!
//! The file is re-read when it (or a certificate, key or CA file it names) changes: checked
//! at most every [`RECHECK`] on new connections and requests, as exporter-toolkit reads it per
//! request. A file that became invalid is logged and the last good one stays in force.
//! Whether the listener speaks TLS at all is decided at start-up.

pub mod auth;
pub mod config;
pub mod cors;
pub mod listener;
pub mod secrets;
pub mod self_scrape;
pub mod tls;

use config::WebConfig;
use parking_lot::{Mutex, RwLock};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio_rustls::rustls::ServerConfig;

/// How often file changes are looked for.
pub const RECHECK: Duration = Duration::from_millis(500);

/// The configuration in force, with what is derived from it.
pub struct Active {
    /// The parsed file.
    pub config: WebConfig,
    /// The TLS configuration (when TLS is on).
    pub tls: Option<Arc<ServerConfig>>,
    /// The request rate limiter (when configured).
    pub limiter: Option<auth::RateLimiter>,
}

impl Active {
    /// `self_scrape`: whose client CA the listener trusts besides the configured ones.
    fn new(config: WebConfig, self_scrape: Option<&self_scrape::SelfScrape>) -> Result<Active, String> {
        let own_ca = self_scrape.map(|s| s.client_ca());
        let tls = match &config.tls_server_config {
            Some(t) if t.is_enabled() => {
                Some(tls::build_with_alpn(t, config.http_server_config.http2, own_ca)?)
            }
            _ => None,
        };
        let limiter = match &config.rate_limit {
            Some(r) => auth::RateLimiter::new(r)?,
            None => None,
        };
        Ok(Active { config, tls, limiter })
    }
}

/// Modification time and length of each file the configuration depends on.
type Fingerprint = Vec<Option<(SystemTime, u64)>>;

/// The web configuration of one server, re-read when its files change.
pub struct WebSecurity {
    path: Option<PathBuf>,
    active: RwLock<Arc<Active>>,
    watched: Mutex<Watched>,
    tls_at_start: bool,
    /// Verified credentials (see [`auth`]).
    pub(crate) cache: auth::CredentialCache,
    /// The embedded default's self-scrape credential (with a web configuration only).
    pub(crate) self_scrape: Option<self_scrape::SelfScrape>,
}

struct Watched {
    files: Vec<PathBuf>,
    fingerprint: Fingerprint,
    last_check: Instant,
}

fn files_of(path: &Path, c: &WebConfig) -> Vec<PathBuf> {
    let mut v = vec![path.to_path_buf()];
    if let Some(t) = &c.tls_server_config {
        for f in [&t.cert_file, &t.key_file, &t.client_ca_file]
            .into_iter()
            .flatten()
        {
            if !f.is_empty() {
                v.push(PathBuf::from(f));
            }
        }
    }
    v
}

fn fingerprint(files: &[PathBuf]) -> Fingerprint {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

impl std::fmt::Debug for WebSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSecurity")
            .field("path", &self.path)
            .field("tls", &self.tls_at_start)
            .finish()
    }
}

impl WebSecurity {
    /// Loads `--web.config.file` (none: no TLS, no authentication). The error names the
    /// file and the field.
    pub fn load(path: Option<&Path>) -> Result<Arc<WebSecurity>, String> {
        let (config, files) = match path {
            Some(p) => {
                let c = config::load(p).map_err(|e| format!("web config file {}: {e}", p.display()))?;
                let files = files_of(p, &c);
                (c, files)
            }
            None => (WebConfig::default(), Vec::new()),
        };
        let tls_at_start = config.tls_enabled();
        let self_scrape = path.map(|_| self_scrape::SelfScrape::new()).transpose()?;
        let active = Active::new(config, self_scrape.as_ref()).map_err(|e| match path {
            Some(p) => format!("web config file {}: {e}", p.display()),
            None => e,
        })?;
        Ok(Arc::new(WebSecurity {
            path: path.map(Path::to_path_buf),
            active: RwLock::new(Arc::new(active)),
            watched: Mutex::new(Watched {
                fingerprint: fingerprint(&files),
                files,
                last_check: Instant::now(),
            }),
            tls_at_start,
            cache: auth::CredentialCache::default(),
            self_scrape,
        }))
    }

    /// With a web configuration, the settings the embedded default's `sextant` job needs to
    /// scrape this server at `ip` (see [`self_scrape`]); `None` without one.
    pub fn self_scrape_job(&self, ip: std::net::IpAddr) -> Option<String> {
        let s = self.self_scrape.as_ref()?;
        Some(s.job_settings(&self.current().config, ip))
    }

    /// Whether the listeners speak TLS (decided at start-up).
    pub fn tls(&self) -> bool {
        self.tls_at_start
    }

    /// The configuration in force, re-read first if its files changed.
    pub fn current(&self) -> Arc<Active> {
        if let Some(path) = &self.path {
            self.recheck(path);
        }
        self.active.read().clone()
    }

    fn recheck(&self, path: &Path) {
        let Some(mut w) = self.watched.try_lock() else {
            return; // another request is checking right now
        };
        if w.last_check.elapsed() < RECHECK {
            return;
        }
        w.last_check = Instant::now();
        let now = fingerprint(&w.files);
        if now == w.fingerprint {
            return;
        }
        w.fingerprint = now;
        let loaded = config::load(path).and_then(|c| {
            let files = files_of(path, &c);
            if self.tls_at_start && !c.tls_enabled() {
                return Err("tls_server_config: TLS cannot be turned off without a restart".into());
            }
            Active::new(c, self.self_scrape.as_ref()).map(|a| (a, files))
        });
        match loaded {
            Ok((a, files)) => {
                tracing::info!("web config file {} reloaded", path.display());
                if !self.tls_at_start && a.tls.is_some() {
                    tracing::warn!(
                        "web config file {}: TLS takes effect only after a restart",
                        path.display()
                    );
                }
                w.fingerprint = fingerprint(&files);
                w.files = files;
                *self.active.write() = Arc::new(a);
            }
            Err(e) => tracing::error!(
                "web config file {} is invalid, keeping the previous one: {e}",
                path.display()
            ),
        }
    }
}

/// Wraps `app` in the web configuration's middleware (authentication, roles, headers, rate
/// limit) and, outside it, CORS (so pre-flights need no credentials).
pub fn protect(app: axum::Router, sec: Arc<WebSecurity>, cors: Option<Arc<cors::Cors>>) -> axum::Router {
    app.layer(axum::middleware::from_fn_with_state(sec, auth::layer))
        .layer(axum::middleware::from_fn_with_state(cors, cors::layer))
}

/// Serves `app` on `listener` (TLS when the web configuration says so) until `stop`.
pub fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    sec: Arc<WebSecurity>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    if sec.tls() {
        let l = listener::TlsListener::new(listener, sec)?;
        let app = app.into_make_service_with_connect_info::<listener::TlsPeer>();
        Ok(tokio::spawn(async move {
            axum::serve(l, app).with_graceful_shutdown(stop).await
        }))
    } else {
        Ok(tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(stop).await
        }))
    }
}
