//! `shoumen-server`: the committee's server and its scripting commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use shoumen_protocol::Role;
use shoumen_server::db::Db;

mod cli;

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
    /// The directory of the signing keys kept out of the database (the
    /// evidence logs' and the passes', written by `move-keys`; new keys
    /// are made there). The server and every command that signs refuse to
    /// run without it once a key has moved. Also SHOUMEN_LOG_KEYS.
    #[arg(long, alias = "log-keys", global = true, value_name = "DIR", env = "SHOUMEN_KEYS")]
    keys: Option<PathBuf>,
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
    /// it the same across restarts, or messages kept for it are lost. Server
    /// processes on one PostgreSQL database share it and take turns.
    #[arg(long, default_value = "shoumen-server")]
    mqtt_client_id: String,
    /// PEM file of the CA that signed the broker's certificate (mqtts).
    #[arg(long, value_name = "FILE")]
    mqtt_ca: Option<PathBuf>,
    /// A file holding the bearer token Prometheus scrapes /metrics with
    /// (docs/operations.md); without it there is no /metrics.
    #[arg(long, value_name = "FILE", env = "SHOUMEN_METRICS_TOKEN_FILE")]
    metrics_token_file: Option<PathBuf>,
    /// Seconds between looks for silent kiosks and door sensors (tests
    /// shorten it to see the look run once per period).
    #[arg(long, default_value_t = 60, hide = true)]
    silent_check_every_s: u64,
    /// Minutes each stage of a software rollout must run healthy on every
    /// gate it took before the next stage begins.
    #[arg(long, default_value_t = 30)]
    rollout_hold_min: u64,
    /// Seconds in a "day" of the daily chores (tests only: the summary,
    /// retention and the evidence audit then run every so many seconds).
    #[arg(long, hide = true)]
    chores_every_s: Option<u64>,
    /// Seconds between the evidence log's public checkpoints (and those
    /// shown to witnesses): readers learn the log's size no more often, so
    /// it does not date each registration; a receipt is cosigned within
    /// about this long. The receipt itself always holds its record.
    #[arg(long, default_value_t = 30)]
    checkpoint_every_s: u64,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (the default).
    Serve,
    /// Move every signing key of each community (or --community's) out of
    /// the database into DIR: the evidence log's and the passes' (current,
    /// next and old), one file each, readable by this user only. Then run
    /// the server and the commands with --keys DIR. A backup or a copy of
    /// the database can no longer sign a pass or the log; back DIR up
    /// apart from it.
    MoveKeys {
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
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
    /// A consistent copy of the database while the server runs (SQLite:
    /// VACUUM INTO; PostgreSQL: pg_dump --format=custom).
    Backup {
        /// The new backup file.
        to: PathBuf,
    },
    /// Move a compound's SQLite file into PostgreSQL: every community (or
    /// --community's) with its keys, kiosk chains, evidence log and audit
    /// trail, each checked on both sides after the copy.
    Migrate {
        #[arg(long, value_name = "FILE")]
        from: String,
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Restore a backup into a scratch database, check every kiosk chain,
    /// audit trail and evidence log in it, and say what the live database
    /// (--db) holds that the backup lacks. Schedule it nightly.
    RestoreDrill {
        backup: PathBuf,
        /// An empty PostgreSQL database to restore a pg_dump backup into.
        #[arg(long, value_name = "URL")]
        scratch: Option<String>,
    },
    /// Unlock an account locked after wrong passwords (the lock is also
    /// lifted by itself after 15 minutes, or by an admin on Accounts).
    Unlock {
        /// The account's login name.
        name: String,
    },
    /// This server as a witness of other servers' evidence logs
    /// (c2sp.org/tlog-witness): give it a --db of its own, never a log's.
    #[command(subcommand)]
    Witness(WitnessCmd),
    /// The kiosk software: release keys, signed releases, their rollout
    /// to the district's gates (docs/updates.md).
    #[command(subcommand)]
    Release(ReleaseCmd),
    /// Entries of a date range as CSV on stdout.
    Export {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum ReleaseCmd {
    /// Make a release key: the signer key goes to KEY_FILE (keep it off
    /// the server, where releases are signed), the verifier key is printed
    /// for the kiosks' `[update] release_keys` and for `release add`.
    Key {
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// The key's name, such as shoumen-release.district.example.
        #[arg(long)]
        name: String,
    },
    /// Sign a kiosk package: writes DEB.note, the signed release note.
    Sign {
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        deb: PathBuf,
    },
    /// Store a signed release on this server (DEB and DEB.note).
    Add {
        deb: PathBuf,
        /// The release keys the note must be signed by (verifier keys).
        #[arg(long = "release-key", required = true)]
        release_keys: Vec<String>,
    },
    /// The stored releases and the rollout.
    List,
    /// Roll VERSION out: one gate of each compound, then PERCENT of each
    /// compound's gates, then all, each stage once the last is healthy.
    Rollout {
        version: String,
        #[arg(long, default_value_t = 20)]
        percent: i64,
    },
    /// Stop the rollout under way: no gate is offered its release again.
    Halt {
        #[arg(long, default_value = "halted from the command line")]
        why: String,
    },
}

#[derive(Subcommand)]
enum EvidenceCmd {
    /// Audit each community's log (or --community's) from what it stores:
    /// every leaf from its record and salt, every hash from the leaves, the
    /// roots the kiosks hold; an alert for each problem (the server also
    /// does it every night after retention).
    Fsck,
    /// Check a returnee's receipt (the JSON file from the receipt page)
    /// offline: the record's hash, its inclusion proof and the checkpoint's
    /// signature, with nothing but the file and the key: --log-key, or the
    /// key the receipt carries (compare the fingerprint printed with the
    /// poster's), or for an older receipt the one this server keeps.
    Verify {
        receipt: PathBuf,
        /// The log's verifier key (`/log/<community>/key`), or a file holding it.
        #[arg(long)]
        log_key: Option<String>,
        /// A witness of your own policy (a cosignature/v1 vkey), instead of
        /// the policy the receipt carries; repeat for each.
        #[arg(long, value_name = "VKEY")]
        witness: Vec<String>,
        /// A witness that must cosign (such as the district's).
        #[arg(long, value_name = "VKEY")]
        required: Vec<String>,
        /// How many of the --witness keys must cosign.
        #[arg(long, default_value_t = 0)]
        quorum: usize,
    },
    /// The community's witnesses: who cosigns its checkpoints.
    #[command(subcommand)]
    Witness(WitnessPolicyCmd),
    /// The same as `move-keys`.
    #[command(hide = true)]
    MoveKey {
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
}

#[derive(Subcommand)]
enum WitnessCmd {
    /// Print the witness's public key (a cosignature/v1 vkey), making the
    /// key file first if there is none.
    Key {
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// The witness's name for a new key, a URL without scheme.
        #[arg(long)]
        name: Option<String>,
    },
    /// Witness the log with this verifier key (`/log/<community>/key`).
    Trust { vkey: String },
    /// Answer add-checkpoint requests at <listen><prefix>/add-checkpoint.
    Serve {
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        #[arg(long, default_value = "/witness")]
        prefix: String,
        /// Requests one client address may make a minute (a log server
        /// asks once per log and checkpoint, from each of its processes).
        #[arg(long, default_value_t = 6000)]
        rate_per_minute: u32,
    },
}

#[derive(Subcommand)]
enum WitnessPolicyCmd {
    /// Show the community's checkpoints to a witness (its vkey, and its
    /// submission URL, such as https://witness.example/witness).
    Add {
        #[arg(long)]
        vkey: String,
        #[arg(long)]
        url: String,
        /// It must cosign every checkpoint (such as the district's witness),
        /// whatever the others do.
        #[arg(long)]
        required: bool,
    },
    /// How many of the witnesses that are not required must cosign before a checkpoint is
    /// published (0: the log's own signature, no witnesses).
    Quorum { quorum: usize },
    /// The witnesses, what each last cosigned, and any problem.
    List,
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

fn run(cli: Cli) -> Result<()> {
    if let Some(Cmd::Evidence(EvidenceCmd::Verify { receipt, log_key, witness, required, quorum })) = &cli.command {
        let mut witnesses = witness.clone();
        witnesses.extend(required.iter().cloned());
        let own = (!witnesses.is_empty()).then(|| shoumen_protocol::witness::Policy {
            witnesses,
            quorum: *quorum,
            required: required.clone(),
        });
        return cli::evidence::verify(&cli.db, receipt, log_key.as_deref(), own);
    }
    if let Some(Cmd::Witness(WitnessCmd::Key { key_file, name })) = &cli.command {
        println!("{}", cli::witness::key(key_file, name.as_deref())?.vkey());
        return Ok(());
    }
    match &cli.command {
        Some(Cmd::Release(ReleaseCmd::Key { key_file, name })) => return cli::release::key(key_file, name),
        Some(Cmd::Release(ReleaseCmd::Sign { key_file, deb })) => return cli::release::sign(key_file, deb),
        _ => {}
    }
    if let Some(Cmd::Migrate { from, to }) = &cli.command {
        return cli::migrate::run(from, to, cli.community.as_deref());
    }
    // The live database may be gone: the drill says so and goes on.
    if let Some(Cmd::RestoreDrill { backup, scratch }) = &cli.command {
        return cli::backup::restore_drill(&cli.db, backup, scratch.as_deref());
    }
    // The older name of the variable, from when only log keys moved.
    if let Some(dir) = cli.keys.clone().or_else(|| std::env::var_os("SHOUMEN_LOG_KEYS").map(PathBuf::from)) {
        shoumen_server::db::keyfiles::keep_in(dir);
    }
    let db = Db::open(&cli.db)?;
    let community = cli.community.as_deref();
    match cli.command.unwrap_or(Cmd::Serve) {
        Cmd::Serve => cli::serve::run(db, cli.serve),
        Cmd::Init { admin, password_env } => cli::init::run(&db, community, &admin, password_env),
        Cmd::Communities => cli::communities::run(&db),
        Cmd::DistrictAdmin { name, password_env } => cli::district_admin::run(&db, &name, password_env),
        Cmd::EnrollToken { gate, hours } => cli::enroll_token::run(&db, community, &gate, hours),
        Cmd::Pass(PassCmd::Issue { role, unit, days, needs_assistance }) => {
            cli::pass::issue(&db, community, role, unit, days, needs_assistance)
        }
        Cmd::Pass(PassCmd::Revoke { pass_id }) => cli::pass::revoke(&db, community, &pass_id),
        Cmd::Verify => cli::verify::run(&db),
        Cmd::Prune => cli::prune::run(&db),
        Cmd::Evidence(EvidenceCmd::Fsck) => cli::evidence::fsck(&db, community),
        Cmd::Evidence(EvidenceCmd::MoveKey { to }) | Cmd::MoveKeys { to } => {
            cli::evidence::move_keys(&db, community, &to)
        }
        Cmd::Evidence(EvidenceCmd::Witness(w)) => {
            let id = cli::pick(&db, community)?.id;
            match w {
                WitnessPolicyCmd::Add { vkey, url, required } => cli::witness::add(&db, &id, &vkey, &url, required),
                WitnessPolicyCmd::Quorum { quorum } => cli::witness::quorum(&db, &id, quorum),
                WitnessPolicyCmd::List => cli::witness::list(&db, &id),
            }
        }
        Cmd::Witness(WitnessCmd::Trust { vkey }) => cli::witness::trust(&db, &vkey),
        Cmd::Witness(WitnessCmd::Serve { key_file, listen, prefix, rate_per_minute }) => {
            cli::witness::serve(db, &key_file, listen, &prefix, rate_per_minute)
        }
        Cmd::Evidence(EvidenceCmd::Verify { .. })
        | Cmd::Witness(WitnessCmd::Key { .. })
        | Cmd::Release(ReleaseCmd::Key { .. } | ReleaseCmd::Sign { .. })
        | Cmd::RestoreDrill { .. }
        | Cmd::Migrate { .. } => {
            unreachable!("handled before the database is opened")
        }
        Cmd::Backup { to } => cli::backup::backup(&db, &cli.db, &to),
        Cmd::Export { from, to } => cli::export::run(&db, community, &from, &to, cli.serve.utc_offset_min),
        Cmd::Unlock { name } => cli::unlock::run(&db, &name),
        Cmd::Release(ReleaseCmd::Add { deb, release_keys }) => cli::release::add(&db, &deb, &release_keys),
        Cmd::Release(ReleaseCmd::List) => cli::release::list(&db),
        Cmd::Release(ReleaseCmd::Rollout { version, percent }) => cli::release::rollout(&db, &version, percent),
        Cmd::Release(ReleaseCmd::Halt { why }) => cli::release::halt(&db, &why),
    }
}
