//! `shoumen log`: verify the hash chain, print the newest entries.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::Context;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify the hash chain; name the first bad sequence number.
    Verify {
        /// Store file [default: kiosk.db in the configured data directory]
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Print the newest entries.
    Tail {
        #[arg(long)]
        db: Option<PathBuf>,
        #[arg(short = 'n', default_value_t = 20)]
        count: usize,
    },
}

pub fn run(cmd: &Command, cx: &Context) -> Result<ExitCode> {
    match cmd {
        Command::Verify { db } => {
            let store = cx.existing_store(db.clone())?;
            match store.verify_chain()? {
                Ok(report) => {
                    println!(
                        "ok: {} entries ({} pruned by retention), head {}",
                        report.entries,
                        report.pruned,
                        hex::encode(report.head)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(brk) => {
                    println!("BROKEN: hash chain breaks at seq {}: {brk}", brk.seq());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Tail { db, count } => {
            let store = cx.existing_store(db.clone())?;
            for e in store.recent(*count)?.iter().rev() {
                println!("{}", serde_json::to_string(e)?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
