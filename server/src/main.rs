//! `shoumen-server`: the committee's server and its scripting commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use shoumen_protocol::Role;
use shoumen_server::community::{self, PassRequest};
use shoumen_server::db::{self, now_ms, Db};
use shoumen_server::web::{parse_day, export_csv};
use shoumen_server::{ingest, AppState, Config, Tls};

#[derive(Parser)]
#[command(name = "shoumen-server", version, about = "Shoumen's community server: kiosk sync API and committee web pages")]
struct Cli {
    /// The server's SQLite file.
    #[arg(long, global = true, default_value = "shoumen-server.db")]
    db: PathBuf,
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
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (the default).
    Serve,
    /// Create the community: its signing key and the first admin account.
    Init {
        /// Short community id (≤ 12 bytes), printed on every pass.
        #[arg(long)]
        community: String,
        #[arg(long, default_value = "admin")]
        admin: String,
        /// Read the admin password from this environment variable instead
        /// of generating one.
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
    /// Entries of a date range as CSV on stdout.
    Export {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let db = Db::open(&cli.db)?;
    match cli.command.unwrap_or(Cmd::Serve) {
        Cmd::Serve => serve(db, cli.serve),
        Cmd::Init { community, admin, password_env } => {
            if community.is_empty() || community.len() > shoumen_protocol::pass::MAX_ISSUER_LEN {
                bail!("--community must be 1 to {} bytes, e.g. \"lotus-gdn\"", shoumen_protocol::pass::MAX_ISSUER_LEN);
            }
            let (password, generated) = match password_env {
                Some(var) => (std::env::var(&var).with_context(|| format!("environment variable {var} is not set"))?, false),
                None => (db::random_token(), true),
            };
            let hash = shoumen_server::web::argon2_hash(&password).map_err(anyhow::Error::msg)?;
            db.call_blocking(|conn| db::init(conn, &cli.db, &community, &admin, &hash, now_ms()))?;
            println!("Community {community:?} created in {}.", cli.db.display());
            if generated {
                println!("Admin login: {admin} / {password}   (shown once; keep it safe)");
            }
            println!("Next:\n  1. shoumen-server --db {} --listen 0.0.0.0:8443 --cert cert.pem --key key.pem --public-url https://<host>:8443", cli.db.display());
            println!("  2. shoumen-server --db {} enroll-token --gate \"North gate\"", cli.db.display());
            println!("  3. on the kiosk: shoumen enroll https://<host>:8443 <token>");
            Ok(())
        }
        Cmd::EnrollToken { gate, hours } => {
            db.call_blocking(|conn| db::community(conn, &cli.db))?;
            let token = db.call_blocking(|conn| ingest::create_enroll_token(conn, &gate, hours * 3_600_000))?;
            println!("{token}");
            eprintln!("one-time token for {gate:?}, valid {hours} h: run `shoumen enroll <server-url> {token}` on the kiosk");
            Ok(())
        }
        Cmd::Pass(PassCmd::Issue { role, unit, days, needs_assistance }) => {
            let community = db.call_blocking(|conn| db::community(conn, &cli.db))?;
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
            let issued = db.call_blocking(|conn| Ok(community::issue_pass(conn, &community, &req)))??;
            println!("{}", issued.text);
            eprintln!("pass {} valid until unix {}; phone link /p/{}", issued.pass_id.to_hex(), issued.expires_at, issued.link_token);
            Ok(())
        }
        Cmd::Pass(PassCmd::Revoke { pass_id }) => {
            db.call_blocking(|conn| Ok(community::revoke_pass(conn, &pass_id, now_ms())))??;
            eprintln!("pass {pass_id} revoked; kiosks refuse it after their next list pull");
            Ok(())
        }
        Cmd::Verify => {
            let devices: Vec<String> = db.call_blocking(|conn| {
                let mut stmt = conn.prepare("SELECT id FROM devices ORDER BY id")?;
                let rows = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })?;
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
        Cmd::Export { from, to } => {
            let offset = cli.serve.utc_offset_min;
            let (Some(f), Some(t)) = (parse_day(&from, offset), parse_day(&to, offset)) else {
                bail!("--from and --to must be dates like 2026-11-29");
            };
            let conn = db.reader()?;
            let mut out = std::io::stdout().lock();
            export_csv(&conn, f * 1000, (t + 86_400) * 1000, offset, &mut |chunk| {
                std::io::Write::write_all(&mut out, chunk.as_bytes()).is_ok()
            })?;
            Ok(())
        }
    }
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
    let listener = std::net::TcpListener::bind(args.listen).with_context(|| format!("cannot listen on {}", args.listen))?;
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
            request: std::time::Duration::from_secs(args.request_timeout_s.max(1)),
            ..Default::default()
        },
        utc_offset_min: args.utc_offset_min,
        ..Config::default()
    };
    let state = AppState::new(db, config)?;
    // Tests and scripts read this line to learn the port of --listen …:0.
    println!("listening on {scheme}://{addr}");
    tracing::info!(%addr, community = state.community.id, "shoumen-server started");
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
