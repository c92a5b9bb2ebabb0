//! The neighbourhood committee's server: the kiosk API (`api`), the
//! committee's web pages (`web`), and the records behind them (`ingest`,
//! `community`) in one SQLite file (`db`).

pub mod api;
pub mod community;
pub mod db;
pub mod ingest;
pub mod web;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;

pub use db::{Community, Db, DbError};

/// How the server runs; one struct rather than flags scattered in calls.
#[derive(Clone, Debug)]
pub struct Config {
    /// The address people and kiosks reach the server at, for links and QR
    /// codes, e.g. `https://gate.example.org`.
    pub public_url: String,
    /// Mark cookies `Secure` (the server runs behind HTTPS).
    pub secure_cookies: bool,
    /// Requests per minute and client address for enrollment, login and the
    /// public visitor form.
    pub rate_per_minute: u32,
    /// Display time zone offset from UTC in minutes (China: +480).
    pub utc_offset_min: i32,
    /// How long a self-registered visitor pass is valid.
    pub visitor_pass_s: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: false,
            rate_per_minute: 20,
            utc_offset_min: 480,
            visitor_pass_s: 4 * 3600,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub community: Arc<Community>,
    pub config: Arc<Config>,
    pub limiter: Arc<Limiter>,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Result<AppState, DbError> {
        let community = db.call_blocking(|conn| db::community(conn, &db.path))?;
        let limiter = Arc::new(Limiter::new(config.rate_per_minute));
        Ok(AppState { db, community: Arc::new(community), config: Arc::new(config), limiter })
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .nest(shoumen_protocol::sync::API, api::routes())
        .merge(web::routes())
        // Kiosk pages are small; anything bigger is not ours.
        .layer(axum::extract::DefaultBodyLimit::max(4 << 20))
        .with_state(state)
}

/// A fixed-window counter per (purpose, client address).
pub struct Limiter {
    per_minute: u32,
    /// (purpose, client) → (window start, requests in it).
    windows: Mutex<HashMap<LimitKey, (Instant, u32)>>,
}

type LimitKey = (&'static str, IpAddr);

impl Limiter {
    pub fn new(per_minute: u32) -> Limiter {
        Limiter { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    pub fn allow(&self, purpose: &'static str, ip: IpAddr) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let slot = windows.entry((purpose, ip)).or_insert((now, 0));
        if now.duration_since(slot.0) >= Duration::from_secs(60) {
            *slot = (now, 0);
        }
        slot.1 += 1;
        slot.1 <= self.per_minute
    }
}

/// TLS material for HTTPS.
#[derive(Clone, Debug)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Serves until the process is stopped. Plain HTTP is meant for loopback or
/// behind a TLS-terminating proxy; give `tls` to serve HTTPS directly.
pub async fn serve(listener: std::net::TcpListener, state: AppState, tls: Option<Tls>) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    listener.set_nonblocking(true)?;
    match tls {
        None => axum_server::from_tcp(listener).serve(app).await,
        Some(tls) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot load TLS certificate {} / key {}: {e}", tls.cert.display(), tls.key.display())))?;
            axum_server::from_tcp_rustls(listener, config).serve(app).await
        }
    }
}

/// A server on its own thread and runtime, for tests and benchmarks.
pub struct Background {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Serves `db` on 127.0.0.1 on a free port; an empty `public_url`
    /// becomes that address.
    pub fn start(db: Db, mut config: Config) -> Result<Background, Box<dyn std::error::Error + Send + Sync>> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        if config.public_url.is_empty() {
            config.public_url = format!("http://{addr}");
        }
        let state = AppState::new(db, config)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("server".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
            rt.block_on(async move {
                tokio::select! {
                    r = serve(listener, state, None) => if let Err(e) = r { tracing::error!(error = %e, "server stopped") },
                    _ = rx => {}
                }
            });
        })?;
        Ok(Background { addr, shutdown: Some(tx), thread: Some(thread) })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
