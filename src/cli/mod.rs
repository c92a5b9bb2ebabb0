//! The `shoumen` subcommands, one module each. Each has its clap
//! arguments and a `run` that prints what a person at the terminal needs.

pub mod check;
pub mod debug;
pub mod demo;
pub mod hw;
pub mod log;
pub mod run;
pub mod scan;
pub mod screenshot;
pub mod sync;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use shoumen::clock::SystemClock;
use shoumen::config::Config;
use shoumen::store::Store;

/// What every subcommand gets from the global options.
pub struct Context {
    /// `--config FILE`, if given.
    pub config: Option<PathBuf>,
    /// `--sim`: simulated hardware whatever the config says.
    pub sim: bool,
    pub clock: SystemClock,
}

impl Context {
    /// The configuration, with `--sim` applied.
    pub fn config(&self) -> Result<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        config.kiosk.simulated |= self.sim;
        Ok(config)
    }

    /// The kiosk's store (a demo community is created when configured).
    pub fn store(&self, config: &Config) -> Result<Store> {
        Ok(shoumen::app::kiosk::open_store(config, &self.clock)?)
    }

    /// The store at `--db`, or the configured one; it must exist.
    pub fn existing_store(&self, db: Option<PathBuf>) -> Result<Store> {
        let path = match db {
            Some(p) => p,
            None => Config::load(self.config.as_deref())?.db_path(),
        };
        open_existing(&path, &self.clock)
    }
}

fn open_existing(path: &Path, clock: &SystemClock) -> Result<Store> {
    if !path.exists() {
        bail!("no entry store at {}; pass --db or --config", path.display());
    }
    let store = Store::open(path, clock.boot_id())?;
    clock.restore(store.time_base()?);
    Ok(store)
}
