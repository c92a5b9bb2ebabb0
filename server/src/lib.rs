//! The server of one compound, a street office or a district: the kiosk
//! API (`api`), the committee's web pages (`web`), and the records behind
//! them (`ingest`, `community`, `accounts`, `devices`, `alerts`, `reports`)
//! in SQLite or PostgreSQL (`db`).

// The floors, lowest first (ARCHITECTURE.md; tests/architecture.rs keeps
// them): leaves import nothing of the server; the database; records, the
// only writers of their tables; reports, read models over any table;
// operations; and the faces (web pages, the kiosk API, the broker, the
// webhook's delivery, the network edge).
pub mod api;
pub mod db;
pub mod leaves;
pub mod metrics;
pub mod mqtt;
pub mod net;
pub mod ops;
pub mod records;
pub mod reports;
pub mod web;
pub mod webhook;
pub mod witness;

use ops::retention;
use records::{accounts, alerts, registrations, residents, sensors, sequencer};
use reports::summary;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
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
    /// Tiles of the evidence logs per minute and client address: enough
    /// to copy a log of a million records in two minutes; a monitor that
    /// needs more puts a cache in front (tiles never change). The logs'
    /// checkpoints and keys have the same budget, apart.
    pub tiles_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Vec<net::Cidr>,
    /// Connection and request limits.
    pub limits: net::Limits,
    /// Display time zone offset from UTC in minutes (China: +480).
    pub utc_offset_min: i32,
    /// How long a self-registered visitor pass is valid.
    pub visitor_pass_s: i64,
    /// How long one webhook delivery may take.
    pub webhook_timeout: Duration,
    /// How often to look for kiosks that have gone silent.
    pub silent_check_every: Duration,
    /// Every daily chore (summary, retention, the evidence audit) every
    /// so long instead of once a day: tests see each period done once.
    pub chores_every: Option<Duration>,
    /// The door sensors' MQTT broker, if the community has sensors.
    pub mqtt: Option<mqtt::MqttConfig>,
    /// What one client of the public returnee form can make the server store.
    pub registrations: registrations::Limits,
    /// The bearer token `/metrics` answers (none: no `/metrics`).
    pub metrics_token: Option<String>,
    /// How often a community's witnesses are asked to cosign.
    pub cosign_every: Duration,
    /// How often a new public checkpoint is chosen (and shown to the
    /// witnesses): readers learn the log's size no more often (its growth
    /// would date registrations).
    pub checkpoint_every: Duration,
    /// How long each stage of a software rollout runs healthy before the
    /// next stage's gates are offered the release.
    pub rollout_hold: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: false,
            rate_per_minute: 20,
            tiles_per_minute: 6_000,
            trusted_proxies: Vec::new(),
            limits: net::Limits::default(),
            utc_offset_min: 480,
            visitor_pass_s: 4 * 3600,
            webhook_timeout: Duration::from_secs(10),
            silent_check_every: Duration::from_secs(60),
            chores_every: None,
            mqtt: None,
            registrations: registrations::Limits::default(),
            metrics_token: None,
            cosign_every: Duration::from_secs(1),
            checkpoint_every: Duration::from_secs(30),
            rollout_hold: Duration::from_secs(30 * 60),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// Communities already read (id and signing key), so a kiosk's request
    /// does not reread its key.
    communities: Arc<RwLock<HashMap<String, Arc<Community>>>>,
    pub config: Arc<Config>,
    pub limiter: Arc<Limiter>,
    /// The evidence logs' public paths, per client address (`tiles_per_minute`).
    pub tile_limiter: Arc<Limiter>,
    /// Failed logins per account, for the lockout.
    pub logins: Arc<LoginGuard>,
    /// Rung when a webhook message is queued.
    pub bell: Arc<tokio::sync::Notify>,
    /// Kiosks authenticated recently.
    pub kiosks: Arc<api::KioskCache>,
    /// The evidence log's writer: registrations commit in batches.
    pub sequencer: Arc<sequencer::Sequencer>,
    /// What the door sensors' client has seen.
    pub mqtt_stats: Arc<mqtt::Stats>,
    /// Requests counted for `/metrics`, and its last page.
    pub telemetry: Arc<metrics::Telemetry>,
}

impl AppState {
    /// A server over `db`, which must hold at least one community.
    pub fn new(db: Db, config: Config) -> Result<AppState, DbError> {
        if db.call_blocking(db::communities)?.is_empty() {
            return Err(DbError::NotInitialised { target: db.target.clone() });
        }
        // A log that has no key yet is named after this server's address.
        db.call_blocking(|c| records::evidence::name_logs(c, &config.public_url))?;
        let limiter = Arc::new(Limiter::new(config.rate_per_minute));
        let bell = Arc::new(tokio::sync::Notify::new());
        let logins = Arc::new(LoginGuard::default());
        let communities = Arc::new(RwLock::new(HashMap::new()));
        let sequencer = Arc::new(sequencer::Sequencer::start(db.clone()));
        Ok(AppState {
            db,
            communities,
            tile_limiter: Arc::new(Limiter::new(config.tiles_per_minute)),
            config: Arc::new(config),
            limiter,
            logins,
            bell,
            kiosks: Arc::default(),
            sequencer,
            mqtt_stats: Arc::default(),
            telemetry: Arc::default(),
        })
    }

    /// The community `id`, with its signing key.
    /// Drops a community's cached keys (after a key rotation step).
    pub fn forget_community(&self, id: &str) {
        self.communities.write().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    pub async fn community(&self, id: &str) -> Result<Arc<Community>, DbError> {
        if let Some(c) = self.communities.read().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Ok(c.clone());
        }
        let owned = id.to_string();
        let community = Arc::new(self.db.call(move |conn| db::community(conn, &owned)).await?);
        // Only communities that exist get here: the map stays their number.
        self.communities.write().unwrap_or_else(|e| e.into_inner()).insert(id.to_string(), community.clone());
        Ok(community)
    }

    /// The address a request comes from, through trusted proxies.
    pub fn client_ip(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        net::client_ip(peer, headers, &self.config.trusted_proxies)
    }
}

/// Every `silent_check_every`, a look for kiosks gone silent and door
/// sensors silent or low on battery: once per period among the processes
/// on this database.
fn spawn_silent_check(state: &AppState) {
    let (db, bell, every) = (state.db.clone(), state.bell.clone(), state.config.silent_check_every);
    let hold_ms = state.config.rollout_hold.as_millis() as i64;
    tokio::spawn(async move {
        let period_ms = (every.as_millis() as i64).max(1);
        loop {
            // To the next period's start: every process looks at the same
            // moments, so each period gets its look (one process's) and a
            // process's timer never drifts past one.
            let now = db::now_ms();
            tokio::time::sleep(Duration::from_millis((period_ms - now % period_ms) as u64 + 5)).await;
            let raised = db
                .call(move |conn| {
                    let now = db::now_ms();
                    conn.transaction(true, |tx| {
                        if !records::chores::claim(tx, "silent_check", &(now / period_ms).to_string(), now)? {
                            return Ok(0);
                        }
                        // Silent kiosks, door sensors silent or low on battery,
                        // gates nobody staffs a quarter of an hour into a shift,
                        // reminders of the shifts starting within the hour, and
                        // the software rollout's next stage once this one is well.
                        let promoted = records::updates::promote(tx, now, hold_ms)?;
                        Ok(alerts::check_silent(tx, now)?
                            + sensors::check_maintenance(tx, now)?
                            + ops::roster::check_unstaffed(tx, now)?
                            + ops::roster::remind(tx, now)?
                            + promoted)
                    })
                })
                .await;
            match raised {
                Ok(0) => {}
                Ok(_) => bell.notify_one(),
                Err(e) => tracing::warn!(error = %e, "cannot check for silent kiosks"),
            }
        }
    });
}

/// The server's own chores, on the runtime beside the requests: webhook
/// delivery, and every minute a look for kiosks that have gone silent.
fn spawn_background(state: &AppState) {
    let delivery = webhook::Delivery {
        db: state.db.clone(),
        public_url: state.config.public_url.clone(),
        utc_offset_min: state.config.utc_offset_min,
        bell: state.bell.clone(),
        timeout: state.config.webhook_timeout,
    };
    tokio::spawn(webhook::deliver_forever(delivery));
    if let Some(mqtt) = state.config.mqtt.clone() {
        let (db, stats, bell, offset) =
            (state.db.clone(), state.mqtt_stats.clone(), state.bell.clone(), state.config.utc_offset_min);
        tokio::spawn(mqtt::run(db, mqtt, stats, bell, offset));
    }
    // Give memory freed after a burst back to the system (glibc keeps it
    // in per-thread arenas otherwise).
    tokio::spawn(async {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            // SAFETY: malloc_trim only releases free heap pages.
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            #[allow(unsafe_code, reason = "glibc's malloc_trim(3)")]
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
    spawn_silent_check(state);
    let pace = witness::collect::Pace {
        ask_every: state.config.cosign_every,
        checkpoint_every: state.config.checkpoint_every,
        timeout: state.config.webhook_timeout,
    };
    tokio::spawn(witness::collect::run_forever(state.db.clone(), pace, state.bell.clone()));
    // The morning summary, the night's retention, then the evidence
    // logs' audit (a long read, on the bulk lane).
    let (db, offset, bell) = (&state.db, state.config.utc_offset_min, &state.bell);
    let when = |at: leaves::schedule::Every| state.config.chores_every.map_or(at, leaves::schedule::Every::Short);
    tokio::spawn(ops::chores::in_one_transaction(
        db.clone(),
        "daily_summary",
        when(summary::AT),
        offset,
        bell.clone(),
        summary::enqueue_yesterday_once,
    ));
    let nightly: [(&str, _, bool, ops::chores::Work); 2] = [
        ("retention", retention::AT, false, retention::nightly),
        ("evidence_fsck", ops::fsck::AT, true, ops::fsck::nightly),
    ];
    for (chore, at, bulk, work) in nightly {
        tokio::spawn(ops::chores::leased(db.clone(), chore, when(at), offset, bell.clone(), bulk, work));
    }
}

/// Bodies no route may exceed; routes that take more (a kiosk's page of
/// entries) say so themselves.
pub const BODY_LIMIT: usize = 64 << 10;

pub fn router(state: AppState) -> Router {
    use axum::http::{header, HeaderValue, StatusCode};
    use tower_http::set_header::SetResponseHeaderLayer;
    let timeout = state.config.limits.request;
    let https = state.config.secure_cookies;
    let mut router = Router::new()
        .nest(shoumen_protocol::sync::API, api::routes())
        .merge(web::routes())
        .merge(metrics::routes())
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(refuse_oversized))
        // The whole request, body included: a client that trickles its
        // upload is cut off.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(web::CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    if https {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    // Outermost: counts every request, refused ones too.
    router.layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count_requests)).with_state(state)
}

/// The most a request to `path` may carry: the same limits the routes set
/// with `DefaultBodyLimit`, checked against `Content-Length` up front.
pub fn body_limit(path: &str) -> usize {
    if path == "/api/v1/entries" {
        api::PUSH_LIMIT
    } else if path == "/login"
        || path.starts_with("/v/")
        || path.starts_with("/invite/")
        || path.starts_with("/c/")
        || path == "/api/v1/enroll"
    {
        16 << 10
    } else if path.starts_with("/r/") {
        web::REGISTER_BODY_LIMIT
    } else if path == "/verify" {
        web::RECEIPT_LIMIT
    } else if path == "/residents/import" {
        // Read only once the account is known (the handler's extractors
        // check the session before the body).
        residents::MAX_IMPORT_BYTES + (64 << 10)
    } else {
        BODY_LIMIT
    }
}

/// Answers 413 at once to a request that announces a body larger than its
/// route takes, before a byte of it is read.
async fn refuse_oversized(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = body_limit(req.uri().path());
    if announced.is_some_and(|n| n > limit as u64) {
        let text = format!("the request body is larger than this address takes ({} KiB)", limit >> 10);
        return (axum::http::StatusCode::PAYLOAD_TOO_LARGE, text).into_response();
    }
    next.run(req).await
}

/// Locks an account for one client address after repeated wrong
/// passwords from it: a stranger's guesses lock the stranger out, not the
/// committee. In memory, for every name tried (known or not, so the answer
/// does not tell them apart). Guesses spread over many addresses meet the
/// account's own stored count (`accounts::login_failed`).
#[derive(Default)]
pub struct LoginGuard {
    accounts: Mutex<HashMap<(String, IpAddr), Failures>>,
}

/// Wrong passwords in a row for one (account, client), and until when
/// that pair is locked.
type Failures = (u32, Option<Instant>);

impl LoginGuard {
    pub const MAX_FAILURES: u32 = accounts::MAX_FAILURES as u32;
    pub const LOCK_FOR: Duration = Duration::from_millis(accounts::LOCK_FOR_MS as u64);

    fn key(account: &str, client: IpAddr) -> (String, IpAddr) {
        (account.chars().take(64).collect(), client)
    }

    /// How long the account stays locked for `client`, if it is.
    pub fn locked(&self, account: &str, client: IpAddr) -> Option<Duration> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts
            .get(&Self::key(account, client))
            .and_then(|(_, until)| until.and_then(|u| u.checked_duration_since(Instant::now())))
    }

    /// Counts a failure; true when it locked the account for `client`.
    pub fn failed(&self, account: &str, client: IpAddr) -> bool {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: unknown names are counted too, so keep the map small.
        if accounts.len() > 10_000 {
            accounts.retain(|_, (_, until)| until.is_some_and(|u| u > Instant::now()));
        }
        let slot = accounts.entry(Self::key(account, client)).or_insert((0, None));
        slot.0 += 1;
        if slot.0 >= Self::MAX_FAILURES {
            slot.0 = 0;
            slot.1 = Some(Instant::now() + Self::LOCK_FOR);
            tracing::warn!(account = %Self::key(account, client).0, %client, "account locked for one address after repeated wrong passwords");
            return true;
        }
        false
    }

    pub fn succeeded(&self, account: &str, client: IpAddr) {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner()).remove(&Self::key(account, client));
    }

    /// Lifts the account's lock for every address (an admin unlocked it).
    pub fn forget(&self, account: &str) {
        let name: String = account.chars().take(64).collect();
        self.accounts.lock().unwrap_or_else(|e| e.into_inner()).retain(|(a, _), _| *a != name);
    }
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

impl Tls {
    /// Reads the PEM certificate chain and key.
    pub fn load(&self) -> std::io::Result<Arc<rustls::ServerConfig>> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let what = |e: &dyn std::fmt::Display| {
            std::io::Error::other(format!(
                "cannot load TLS certificate {} / key {}: {e}",
                self.cert.display(),
                self.key.display()
            ))
        };
        let mut cert = std::io::BufReader::new(std::fs::File::open(&self.cert).map_err(|e| what(&e))?);
        let certs = rustls_pemfile::certs(&mut cert).collect::<Result<Vec<_>, _>>().map_err(|e| what(&e))?;
        let mut key = std::io::BufReader::new(std::fs::File::open(&self.key).map_err(|e| what(&e))?);
        let key = rustls_pemfile::private_key(&mut key)
            .map_err(|e| what(&e))?
            .ok_or_else(|| what(&"no private key in the file"))?;
        let config =
            rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key).map_err(|e| what(&e))?;
        Ok(Arc::new(config))
    }
}

/// Serves until the process is stopped. Plain HTTP is meant for loopback or
/// behind a TLS-terminating proxy; give `tls` to serve HTTPS directly.
pub async fn serve(listener: std::net::TcpListener, state: AppState, tls: Option<Tls>) -> std::io::Result<()> {
    let tls = tls.map(|t| t.load()).transpose()?;
    let (limits, trusted) = (state.config.limits.clone(), state.config.trusted_proxies.clone());
    spawn_background(&state);
    net::serve(listener, router(state), tls, limits, trusted).await
}

/// A server on its own thread and runtime, for tests and benchmarks.
pub struct Background {
    pub addr: std::net::SocketAddr,
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
