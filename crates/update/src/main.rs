//! `shoumen-update`: the kiosk's updater, run by systemd as root.
//!
//! - `recover` at boot, before the kiosk starts: finishes or undoes an
//!   update a power cut interrupted (shoumen-update-recover.service);
//! - `run` when the kiosk asks to install (shoumen-update.path) and after
//!   every boot: waits for a new version's self-test, then installs what
//!   the kiosk left, if it asked;
//! - `status`: the state, for a person.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use shoumen_update::files::Paths;
use shoumen_update::host::System;
use shoumen_update::run::{AtTest, Settings};

#[derive(Parser)]
#[command(name = "shoumen-update", version, about = "守门 Shoumen: the kiosk's updater (root)")]
struct Cli {
    /// The kiosk's configuration: its data directory and [update] keys.
    #[arg(long, default_value = "/etc/shoumen/kiosk.toml")]
    config: PathBuf,
    /// Install into this root directory instead of the running system
    /// (`dpkg --root`; the kiosk is not restarted).
    #[arg(long)]
    root: Option<PathBuf>,
    /// The updater's own directory.
    #[arg(long, default_value = "/var/lib/shoumen-update")]
    own: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// After a boot: finish or undo an interrupted update (does not wait
    /// for a self-test).
    Recover,
    /// Wait for a self-test under way, then install the kiosk's pending
    /// release if it asked.
    Run,
    /// Print the updater's state.
    Status,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let (data_dir, settings) = settings(&cli.config)?;
    let paths = Paths { own: cli.own.clone(), kiosk: data_dir.join("update") };
    let mut host = System { root: cli.root.clone() };
    match cli.command {
        Command::Recover => {
            let state = shoumen_update::recover(&mut host, &paths, &settings, AtTest::Stop)?;
            println!("{}", serde_json::to_string(&state.phase)?);
        }
        Command::Run => {
            if let Some(outcome) = shoumen_update::install(&mut host, &paths, &settings)? {
                println!("{}", serde_json::to_string(&outcome)?);
            }
        }
        Command::Status => println!("{}", serde_json::to_string_pretty(&paths.load()?)?),
    }
    Ok(())
}

/// The data directory and the updater's settings from the kiosk's file;
/// other keys are the kiosk's business.
fn settings(path: &std::path::Path) -> Result<(PathBuf, Settings)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let table: toml::Table = text.parse().with_context(|| format!("{} is not valid TOML", path.display()))?;
    let section = |name: &str| table.get(name).and_then(|v| v.as_table()).cloned().unwrap_or_default();
    let (kiosk, update) = (section("kiosk"), section("update"));
    let mut data_dir = PathBuf::from(kiosk.get("data_dir").and_then(|v| v.as_str()).unwrap_or("/var/lib/shoumen"));
    if data_dir.is_relative() {
        data_dir = path.parent().unwrap_or(std::path::Path::new(".")).join(data_dir);
    }
    let release_keys = match update.get("release_keys") {
        None => Vec::new(),
        Some(v) => v
            .as_array()
            .and_then(|a| a.iter().map(|k| k.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
            .with_context(|| format!("{}: update.release_keys must be a list of strings", path.display()))?,
    };
    let test_s = update.get("self_test_s").and_then(|v| v.as_integer()).unwrap_or(300).max(10);
    Ok((
        data_dir,
        Settings { package: "shoumen".into(), release_keys, test_window: Duration::from_secs(test_s as u64) },
    ))
}
