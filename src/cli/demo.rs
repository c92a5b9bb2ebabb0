//! `shoumen demo init`: a demo community to try the kiosk with.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use shoumen::demo::DemoCommunity;

use super::Context;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a demo community in DIR: key, trust, lists, passes (PNG and
    /// text), kiosk.toml and kiosk.db.
    Init { dir: PathBuf },
}

pub fn run(cmd: &Command, cx: &Context) -> Result<ExitCode> {
    let Command::Init { dir } = cmd;
    let now = cx.clock.now();
    let community = DemoCommunity::generate(now.wall_s());
    community.write(dir, cx.clock.boot_id(), now.wall_ms)?;
    println!("Demo community written to {}:", dir.display());
    for p in &community.passes {
        println!(
            "  passes/{}.png  {:<9} unit {:<7} → at an inbound gate: {} ({})",
            p.name,
            p.claims.role.as_str(),
            if p.claims.unit.is_empty() { "-" } else { &p.claims.unit },
            p.expect_in.0.as_str(),
            p.expect_in.1
        );
    }
    println!("Try: shoumen check --config {}/kiosk.toml {}/passes/*.png", dir.display(), dir.display());
    Ok(ExitCode::SUCCESS)
}
