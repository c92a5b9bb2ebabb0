//! The `shoumen` command: the kiosk and its tools. The subcommands live in
//! `cli/`, one module each; this file holds the command line and dispatch.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use shoumen::clock::SystemClock;

#[derive(Parser)]
#[command(name = "shoumen", version, about = "守门 Shoumen: gate terminal for residential compounds")]
struct Cli {
    /// Configuration file [default: /etc/shoumen/kiosk.toml if it exists,
    /// otherwise a development setup in ./shoumen-dev]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Use the simulated camera, thermometer and gate I/O, whatever the config says.
    #[arg(long, global = true)]
    sim: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk (the default).
    Run(cli::run::Args),
    /// Decode, verify and decide passes against the local store and lists.
    Check(cli::check::Args),
    /// A demo community to try the kiosk with.
    #[command(subcommand)]
    Demo(cli::demo::Command),
    /// The entry log.
    #[command(subcommand)]
    Log(cli::log::Command),
    /// Render a page of the UI to a PNG, without a display.
    Screenshot(cli::screenshot::Args),
    /// Measure the QR pipeline on a corpus of images with known contents.
    ScanEval(cli::scan::EvalArgs),
    /// Write camera-like test frames of passes (PNG + .txt) for scan-eval.
    ScanSynth(cli::scan::SynthArgs),
    /// Check and exercise the hardware.
    #[command(subcommand)]
    Hw(cli::hw::Command),
    /// Join the committee's server with a one-time token from its Gates page.
    /// Without a token: shows a code (and its QR code) that an admin types
    /// or scans on the Gates page, and waits until they do.
    Enroll {
        /// The server's address, e.g. https://gate.example.org
        url: String,
        token: Option<String>,
        /// Seconds between asking whether the code was claimed.
        #[arg(long, default_value_t = shoumen_protocol::enroll::POLL_EVERY_S)]
        poll_every: u64,
        /// Give up after this many minutes without an admin.
        #[arg(long, default_value_t = 120)]
        wait: u64,
    },
    /// Sync with the server.
    Sync {
        /// Push the whole backlog and pull lists now, with progress.
        #[arg(long)]
        now: bool,
    },
    /// Appends entries in a loop, printing each committed seq (crash tests).
    #[command(hide = true)]
    DebugAppend {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = u64::MAX)]
        count: u64,
        /// Acknowledge everything every N entries, as a sync would.
        #[arg(long, default_value_t = 7)]
        ack_every: u64,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let cx = cli::Context { config: cli.config, sim: cli.sim, clock: SystemClock::new() };
    let default_run =
        || Command::Run(cli::run::Args { headless: false, exit_after: None, demo_script: false, demo_pace_ms: 3000 });
    match cli.command.unwrap_or_else(default_run) {
        Command::Run(args) => cli::run::run(&args, &cx),
        Command::Check(args) => cli::check::run(&args, &cx),
        Command::Demo(cmd) => cli::demo::run(&cmd, &cx),
        Command::Log(cmd) => cli::log::run(&cmd, &cx),
        Command::Screenshot(args) => cli::screenshot::run(&args),
        Command::ScanEval(args) => cli::scan::eval(&args),
        Command::ScanSynth(args) => cli::scan::synth(&args),
        Command::Hw(cmd) => cli::hw::run(&cmd, &cx),
        Command::Enroll { url, token, poll_every, wait } => match token {
            Some(token) => cli::sync::enroll(&url, &token, &cx),
            None => cli::sync::enroll_by_code(&url, poll_every, wait, &cx),
        },
        Command::Sync { now } => cli::sync::sync_now(now, &cx),
        Command::DebugAppend { db, count, ack_every } => cli::debug::append(&db, count, ack_every, &cx.clock),
    }
}
