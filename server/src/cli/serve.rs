//! `serve` (the default): the web server, until SIGTERM or Ctrl-C.

use anyhow::{bail, Context, Result};
use shoumen_server::db::{Db, Engine};
use shoumen_server::{AppState, Config, Tls};

use crate::ServeArgs;

pub fn run(db: Db, args: ServeArgs) -> Result<()> {
    // Held until the process ends; the kernel lets go if it dies.
    let _serving = hold_sqlite(&db)?;
    let tls = match (args.cert.clone(), args.key.clone()) {
        (Some(cert), Some(key)) => Some(Tls { cert, key }),
        _ => None,
    };
    if tls.is_none() && !args.listen.ip().is_loopback() && !args.insecure_http {
        bail!(
            "refusing plain HTTP on {}: give --cert and --key for HTTPS, or --insecure-http if a TLS proxy sits in front",
            args.listen
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listener =
        std::net::TcpListener::bind(args.listen).with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    if args.public_url.is_none() && addr.ip().is_unspecified() {
        tracing::warn!("no --public-url: passes and visitor links will name {addr}, which phones cannot reach; set SHOUMEN_PUBLIC_URL");
    }
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("{scheme}://{addr}"));
    let config = config(&args, tls.is_some(), public_url)?;
    let outside = db.call_blocking(shoumen_server::records::evidence::check_keys)?;
    if outside > 0 {
        tracing::info!(communities = outside, "signing keys read from outside the database");
    }
    let state = AppState::new(db, config)?;
    // Tests and scripts read this line to learn the port of --listen …:0.
    println!("listening on {scheme}://{addr}");
    tracing::info!(%addr, db = state.db.target, "shoumen-server started");
    // Type=notify under systemd: the socket is bound and the database open.
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        tokio::select! {
            r = shoumen_server::serve(listener, state, tls) => r.map_err(anyhow::Error::from),
            _ = shutdown_signal() => {
                tracing::info!("stopping");
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
                Ok(())
            }
        }
    })
}

/// The server's settings from its command line; `tls` and `public_url`
/// as `run` settled them.
fn config(args: &ServeArgs, tls: bool, public_url: String) -> Result<Config> {
    let metrics_token = args.metrics_token_file.as_deref().map(read_metrics_token).transpose()?;
    Ok(Config {
        // Behind a TLS proxy (--insecure-http with an https public URL) the
        // browser still talks HTTPS: cookies stay Secure.
        secure_cookies: tls || public_url.starts_with("https://"),
        public_url,
        trusted_proxies: args.trusted_proxy.clone(),
        limits: shoumen_server::net::Limits {
            max_connections: args.max_connections.max(1),
            headers: std::time::Duration::from_secs(args.header_timeout_s.max(1)),
            first_headers: std::time::Duration::from_secs(
                args.first_header_timeout_s.clamp(1, args.header_timeout_s.max(1)),
            ),
            request: std::time::Duration::from_secs(args.request_timeout_s.max(1)),
            per_client_connections: args.max_connections_per_client.max(1),
            per_client_requests: args.max_requests_per_client.max(1),
            ..Default::default()
        },
        rate_per_minute: args.rate_per_minute.max(1),
        registrations: shoumen_server::records::registrations::Limits {
            per_phone_day: args.registrations_per_phone.max(1),
            per_address_day: args.registrations_per_address.max(1),
            unit_alert_after: args.unit_registrations_alert.max(1),
        },
        utc_offset_min: args.utc_offset_min,
        mqtt: args.mqtt.clone().map(|url| shoumen_server::mqtt::MqttConfig {
            url,
            base_topic: args.mqtt_topic.clone(),
            client_id: args.mqtt_client_id.clone(),
            ca: args.mqtt_ca.clone(),
        }),
        metrics_token,
        silent_check_every: std::time::Duration::from_secs(args.silent_check_every_s.max(1)),
        chores_every: args.chores_every_s.map(|s| std::time::Duration::from_secs(s.max(1))),
        checkpoint_every: std::time::Duration::from_secs(args.checkpoint_every_s),
        rollout_hold: std::time::Duration::from_secs(args.rollout_hold_min * 60),
        ..Config::default()
    })
}

/// The bearer token of `/metrics`, from its file.
fn read_metrics_token(path: &std::path::Path) -> Result<String> {
    let token = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the metrics token from {}", path.display()))?
        .trim()
        .to_string();
    if token.len() < 16 {
        bail!("the metrics token in {} is under 16 characters; make one with: openssl rand -hex 32", path.display());
    }
    Ok(token)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// One process serves a SQLite file: its chores (the nightly retention, the
/// morning summary, the webhook's delivery, the sensors' subscription)
/// would otherwise run once per process. A lock on `<file>.serving` says
/// so to a second process; several processes share only a PostgreSQL
/// database. Commands other than `serve` (an export, a pass) may still
/// use the file while it is served.
fn hold_sqlite(db: &Db) -> Result<Option<std::fs::File>> {
    use std::io::{Read, Seek, Write};
    if db.engine() != Engine::Sqlite {
        return Ok(None);
    }
    let path = format!("{}.serving", db.target);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {path}; check that this user may write next to the database"))?;
    match try_lock(&file) {
        Ok(()) => {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{}", std::process::id())?;
            Ok(Some(file))
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            bail!(
                "another shoumen-server (pid {}) is already serving {}: a SQLite file is served by one process, \
                 or its nightly chores and the door sensors' messages would be handled twice. Stop the other \
                 process, or move to PostgreSQL to run several (docs/scale.md)",
                pid.trim(),
                db.target
            )
        }
        Err(e) => Err(e).with_context(|| format!("cannot lock {path}")),
    }
}

/// An exclusive flock(2) taken without waiting (std's `File::try_lock` is
/// newer than the Rust this builds with, Debian 13's 1.85).
fn try_lock(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function borrows for the call.
    #[allow(unsafe_code, reason = "flock(2): std's File::try_lock needs Rust 1.89")]
    let done = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
