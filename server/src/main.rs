//! `shoumen-server`: the committee's server and its scripting commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use shoumen_protocol::Role;
use shoumen_server::db::{self, now_ms, Community, Db};
use shoumen_server::ops;
use shoumen_server::records::community::PassRequest;
use shoumen_server::records::ingest;
use shoumen_server::reports::export_csv;
use shoumen_server::web::parse_day;
use shoumen_server::{AppState, Config, Tls};

#[derive(Parser)]
#[command(
    name = "shoumen-server",
    version,
    about = "Shoumen's community server: kiosk sync API and committee web pages"
)]
struct Cli {
    /// The server's database: a SQLite file (one compound), or a
    /// PostgreSQL URL such as postgres://shoumen@localhost/shoumen (a street
    /// office or a district).
    #[arg(long, global = true, env = "SHOUMEN_DATABASE_URL", default_value = "shoumen-server.db")]
    db: String,
    /// The community a command acts on; needed when the server holds more
    /// than one.
    #[arg(long, global = true)]
    community: Option<String>,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// Address to listen on. Plain HTTP only on loopback unless --cert/--key
    /// are given or --insecure-http says a proxy in front does TLS.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// PEM certificate chain for HTTPS.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (behind a TLS proxy).
    #[arg(long)]
    insecure_http: bool,
    /// The URL people reach this server at (links and QR codes).
    #[arg(long, env = "SHOUMEN_PUBLIC_URL")]
    public_url: Option<String>,
    /// Display time zone, minutes east of UTC (China: 480).
    #[arg(long, default_value_t = 480, allow_hyphen_values = true)]
    utc_offset_min: i32,
    /// A proxy in front of the server (address or CIDR range, repeatable):
    /// its X-Forwarded-For names the client for rate limits.
    #[arg(long, value_name = "CIDR")]
    trusted_proxy: Vec<shoumen_server::net::Cidr>,
    /// Connections served at once; past that, new ones wait. Keep it well
    /// under the process's file descriptor limit (systemd: 1,024).
    #[arg(long, default_value_t = 768)]
    max_connections: usize,
    /// Seconds a client may take to send a request's headers (also how long
    /// an idle keep-alive connection stays open).
    #[arg(long, default_value_t = 10)]
    header_timeout_s: u64,
    /// Seconds a whole request may take, body included.
    #[arg(long, default_value_t = 30)]
    request_timeout_s: u64,
    /// Seconds a new connection may take to send its first request's
    /// headers (shorter than --header-timeout-s: a client that has not
    /// said anything yet holds a slot for nothing).
    #[arg(long, default_value_t = 5)]
    first_header_timeout_s: u64,
    /// Connections one client address may hold at once (a trusted proxy's
    /// are not counted per address; its clients' requests are, below).
    #[arg(long, default_value_t = 48)]
    max_connections_per_client: usize,
    /// Requests one client address (through trusted proxies) may have in
    /// flight at once; past that it is answered 503 at once.
    #[arg(long, default_value_t = 24)]
    max_requests_per_client: usize,
    /// Requests per minute and client address for logins, enrollment and
    /// the public pages (visitor form, returnee form, check-in links).
    #[arg(long, default_value_t = 20)]
    rate_per_minute: u32,
    /// Returnee registrations one phone number may make per community and day.
    #[arg(long, default_value_t = 6)]
    registrations_per_phone: i64,
    /// Returnee registrations one client address may make per day, over
    /// every community (homes and offices share an address).
    #[arg(long, default_value_t = 40)]
    registrations_per_address: i64,
    /// A unit with more returnee registrations than this in a day raises an
    /// alert (none is refused for it).
    #[arg(long, default_value_t = 8)]
    unit_registrations_alert: i64,
    /// The door sensors' MQTT broker: mqtt://[user:password@]host:1883, or
    /// mqtts://…:8883 for TLS. zigbee2mqtt publishes the sensors there.
    #[arg(long, env = "SHOUMEN_MQTT_URL", value_name = "URL")]
    mqtt: Option<String>,
    /// zigbee2mqtt's base topic.
    #[arg(long, default_value = "zigbee2mqtt")]
    mqtt_topic: String,
    /// The client id of the server's persistent session on the broker; keep
    /// it the same across restarts, or messages kept for it are lost.
    #[arg(long, default_value = "shoumen-server")]
    mqtt_client_id: String,
    /// PEM file of the CA that signed the broker's certificate (mqtts).
    #[arg(long, value_name = "FILE")]
    mqtt_ca: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (the default).
    Serve,
    /// Create a community (the first, or one more): its signing key and
    /// its first admin account. Give its id with --community.
    Init {
        #[arg(long, default_value = "admin")]
        admin: String,
        /// Read the admin password from this environment variable instead
        /// of generating one.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// The communities on this server.
    Communities,
    /// Create an account of the district (street office) above every
    /// community: it sees each community's overview and daily summary.
    DistrictAdmin {
        #[arg(long)]
        name: String,
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Create a one-time enrollment token for a kiosk (valid 24 h).
    EnrollToken {
        #[arg(long)]
        gate: String,
        #[arg(long, default_value_t = 24)]
        hours: i64,
    },
    /// Passes: issue or revoke.
    #[command(subcommand)]
    Pass(PassCmd),
    /// Re-check every kiosk's stored hash chain.
    Verify,
    /// Apply every community's retention now (the server also does it every
    /// night at 03:00): entries older than kept, visitors' names.
    Prune,
    /// The returnees' evidence log.
    #[command(subcommand)]
    Evidence(EvidenceCmd),
    /// Unlock an account locked after wrong passwords (the lock is also
    /// lifted by itself after 15 minutes, or by an admin on Accounts).
    Unlock {
        /// The account's login name.
        name: String,
    },
    /// Entries of a date range as CSV on stdout.
    Export {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum EvidenceCmd {
    /// Check a returnee's receipt (the JSON file from the receipt page)
    /// offline: the record's hash, its inclusion proof and the checkpoint's
    /// signature. With --log-key, nothing but the file and the key is used;
    /// without, the key is the one this server's database keeps for the log.
    Verify {
        receipt: PathBuf,
        /// The log's verifier key (`/log/<community>/key`), or a file holding it.
        #[arg(long)]
        log_key: Option<String>,
    },
}

#[derive(Subcommand)]
enum PassCmd {
    /// Issue a pass and print its text (the QR content).
    Issue {
        #[arg(long, default_value = "resident")]
        role: Role,
        #[arg(long, default_value = "")]
        unit: String,
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// The holder needs help at the gate (wheelchair, pram): the kiosk's
        /// result screen tells the guard.
        #[arg(long)]
        needs_assistance: bool,
    },
    /// Revoke a pass by id (hex).
    Revoke { pass_id: String },
}

fn main() {
    // Logs go to stderr: stdout carries what a command prints (an export's
    // CSV, a token, the listening address).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// A password from the environment variable `var`, or a fresh one to show.
fn password(var: Option<String>) -> Result<(String, bool)> {
    Ok(match var {
        Some(var) => (std::env::var(&var).with_context(|| format!("environment variable {var} is not set"))?, false),
        None => (shoumen_server::leaves::secrets::random_token(), true),
    })
}

/// The community a command acts on: `--community`, or the only one.
fn pick(db: &Db, id: Option<&str>) -> Result<Community> {
    Ok(db.call_blocking(|conn| match id {
        Some(id) => db::community(conn, id),
        None => db::sole_community(conn, &db.target),
    })?)
}

fn run(cli: Cli) -> Result<()> {
    if let Some(Cmd::Evidence(EvidenceCmd::Verify { receipt, log_key })) = &cli.command {
        return verify_receipt(&cli.db, receipt, log_key.as_deref());
    }
    let db = Db::open(&cli.db)?;
    let community = cli.community.as_deref();
    match cli.command.unwrap_or(Cmd::Serve) {
        Cmd::Serve => serve(db, cli.serve),
        Cmd::Init { admin, password_env } => init(&db, community, &admin, password_env),
        Cmd::Communities => {
            for id in db.call_blocking(db::communities)? {
                println!("{id}");
            }
            Ok(())
        }
        Cmd::DistrictAdmin { name, password_env } => {
            let (password, generated) = password(password_env)?;
            let hash = shoumen_server::web::argon2_hash(&password).map_err(anyhow::Error::msg)?;
            db.call_blocking(|conn| db::add_user(conn, &name, &hash, None, now_ms()))?;
            println!("District account {name:?} created: it sees every community's overview at /district.");
            if generated {
                println!("Login: {name} / {password}   (shown once; keep it safe)");
            }
            Ok(())
        }
        Cmd::EnrollToken { gate, hours } => {
            let community = pick(&db, community)?;
            let actor = cli_actor(&community.id);
            let ttl = hours * 3_600_000;
            let token = db.call_blocking(|conn| ops::gates::enroll_token(conn, &actor, &community.id, &gate, ttl))?;
            println!("{token}");
            eprintln!(
                "one-time token for {gate:?}, valid {hours} h: run `shoumen enroll <server-url> {token}` on the kiosk"
            );
            Ok(())
        }
        Cmd::Pass(PassCmd::Issue { role, unit, days, needs_assistance }) => {
            issue(&db, community, role, unit, days, needs_assistance)
        }
        Cmd::Pass(PassCmd::Revoke { pass_id }) => {
            let community = pick(&db, community)?;
            let actor = cli_actor(&community.id);
            db.call_blocking(|conn| Ok(ops::passes::revoke(conn, &actor, &community.id, &pass_id)))??;
            eprintln!("pass {pass_id} revoked; kiosks refuse it after their next list pull");
            Ok(())
        }
        Cmd::Verify => verify(&db),
        Cmd::Prune => {
            let pruned = db.call_blocking(|conn| shoumen_server::ops::retention::prune_all(conn, now_ms()))?;
            println!(
                "deleted {} entries, {} visitors' names and {} returnees' personal fields past their communities' retention",
                pruned.entries, pruned.visitor_names, pruned.returnees
            );
            Ok(())
        }
        Cmd::Evidence(_) => unreachable!("handled before the database is opened"),
        Cmd::Export { from, to } => export(&db, community, &from, &to, cli.serve.utc_offset_min),
        Cmd::Unlock { name } => {
            let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "?".into());
            let found = db.call_blocking(|conn| {
                shoumen_server::records::accounts::unlock_by_name(
                    conn,
                    &name,
                    &format!("command line ({user})"),
                    now_ms(),
                )
            })?;
            match found {
                Some(_) => println!("account {name:?} unlocked: it can log in again"),
                None => bail!("there is no account {name:?}; the Accounts page lists them"),
            }
            Ok(())
        }
    }
}

/// `evidence verify`: says what the receipt proves, or why it proves nothing.
fn verify_receipt(db: &str, path: &std::path::Path, log_key: Option<&str>) -> Result<()> {
    use shoumen_protocol::evidence::Receipt;
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the receipt {}", path.display()))?;
    let receipt = Receipt::parse(&text).with_context(|| format!("{} is not a receipt file", path.display()))?;
    let key = match log_key {
        Some(k) if std::path::Path::new(k).is_file() => std::fs::read_to_string(k)?.trim().to_string(),
        Some(k) => k.trim().to_string(),
        None => {
            let db = Db::open(db)?;
            let origin = receipt.checkpoint.lines().next().unwrap_or("").to_string();
            let found = db.call_blocking(|c| {
                let Some(community) =
                    shoumen_server::records::registrations::community_of_checkpoint(c, &receipt.checkpoint)?
                else {
                    return Ok(None);
                };
                Ok(Some(shoumen_server::records::evidence::verifier_key(c, &community)?))
            })?;
            found.with_context(|| {
                format!("this server keeps no log named {origin:?}; give the log's key with --log-key")
            })?
        }
    };
    let head = receipt.verify(&key).with_context(|| format!("receipt {} does not verify", receipt.code))?;
    println!(
        "receipt {}: record #{} is in {} of {} records, checkpoint signed by {}",
        receipt.code, receipt.index, head.origin, head.size, key
    );
    println!("record: {}", receipt.record);
    Ok(())
}

/// Who changes things from the command line, for the community's audit
/// trail: the operating system's user name.
fn cli_actor(community: &str) -> shoumen_server::records::audit::Actor {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "?".into());
    shoumen_server::records::audit::Actor {
        community: community.to_string(),
        user: format!("command line ({user})"),
        ip: "local".into(),
    }
}

fn init(db: &Db, community: Option<&str>, admin: &str, password_env: Option<String>) -> Result<()> {
    let Some(community) = community else { bail!("name the community with --community, e.g. --community lotus-gdn") };
    if community.is_empty() || community.len() > shoumen_protocol::pass::MAX_ISSUER_LEN {
        bail!("--community must be 1 to {} bytes, e.g. \"lotus-gdn\"", shoumen_protocol::pass::MAX_ISSUER_LEN);
    }
    let (password, generated) = password(password_env)?;
    let hash = shoumen_server::web::argon2_hash(&password).map_err(anyhow::Error::msg)?;
    db.call_blocking(|conn| db::init(conn, community, admin, &hash, now_ms()))?;
    let target = &db.target;
    println!("Community {community:?} created in {target}.");
    if generated {
        println!("Admin login: {admin} / {password}   (shown once; keep it safe)");
    }
    println!("Next:\n  1. shoumen-server --db {target} --listen 0.0.0.0:8443 --cert cert.pem --key key.pem --public-url https://<host>:8443");
    println!("  2. shoumen-server --db {target} --community {community} enroll-token --gate \"North gate\"");
    println!("  3. on the kiosk: shoumen enroll https://<host>:8443 <token>");
    Ok(())
}

fn issue(db: &Db, community: Option<&str>, role: Role, unit: String, days: i64, needs_assistance: bool) -> Result<()> {
    let community = pick(db, community)?;
    let req = PassRequest {
        role,
        unit,
        resident_id: None,
        valid_from: now_ms() / 1000 - 60,
        valid_s: days * 86_400,
        flags: if needs_assistance { shoumen_protocol::PassFlags::NEEDS_ASSISTANCE } else { 0 },
        visitor_name: None,
        gate: None,
    };
    let (actor, shown) = (cli_actor(&community.id), format!("unit {}", req.unit));
    let issued = db.call_blocking(|conn| Ok(ops::passes::issue(conn, &actor, &community, &req, &shown)))??;
    println!("{}", issued.text);
    eprintln!(
        "pass {} valid until unix {}; phone link /p/{}",
        issued.pass_id.to_hex(),
        issued.expires_at,
        issued.link_token
    );
    Ok(())
}

/// Re-checks every kiosk's stored chain, whichever community.
fn verify(db: &Db) -> Result<()> {
    let devices = db.call_blocking(ingest::device_ids)?;
    let mut broken = 0;
    for d in &devices {
        match db.call_blocking(|conn| Ok(ingest::verify_chain(conn, d)))? {
            Ok(n) => println!("ok      {d}: {n} entries"),
            Err(e) => {
                broken += 1;
                println!("BROKEN  {d}: {e}");
            }
        }
    }
    if broken > 0 {
        bail!("{broken} of {} kiosk logs do not verify", devices.len());
    }
    Ok(())
}

fn export(db: &Db, community: Option<&str>, from: &str, to: &str, offset: i32) -> Result<()> {
    let (Some(f), Some(t)) = (parse_day(from, offset), parse_day(to, offset)) else {
        bail!("--from and --to must be dates like 2026-11-29");
    };
    let community = pick(db, community)?;
    let mut out = std::io::stdout().lock();
    db.read_blocking(|conn| {
        // The committee's pages default to Chinese; so does this export.
        let words = |code: &str| shoumen_server::web::reason_text(shoumen_server::web::Lang::Zh, code);
        export_csv(conn, &community.id, f * 1000..(t + 86_400) * 1000, offset, &words, None, &mut |chunk| {
            std::io::Write::write_all(&mut out, chunk.as_bytes()).is_ok()
        })
    })?;
    Ok(())
}

fn serve(db: Db, args: ServeArgs) -> Result<()> {
    let tls = match (args.cert, args.key) {
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
    let public_url = args.public_url.unwrap_or_else(|| format!("{scheme}://{addr}"));
    let config = Config {
        // Behind a TLS proxy (--insecure-http with an https public URL) the
        // browser still talks HTTPS: cookies stay Secure.
        secure_cookies: tls.is_some() || public_url.starts_with("https://"),
        public_url,
        trusted_proxies: args.trusted_proxy,
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
        mqtt: args.mqtt.map(|url| shoumen_server::mqtt::MqttConfig {
            url,
            base_topic: args.mqtt_topic,
            client_id: args.mqtt_client_id,
            ca: args.mqtt_ca,
        }),
        ..Config::default()
    };
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
