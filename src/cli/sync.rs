//! `shoumen enroll` and `shoumen sync --now`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use shoumen::sync;

use super::Context;

pub fn enroll(url: &str, token: &str, cx: &Context) -> Result<ExitCode> {
    let config = cx.config()?;
    let mut store = cx.store(&config)?;
    let answer = sync::enroll(&mut store, url, token, &config.kiosk.gate_name, &Default::default())?;
    println!(
        "enrolled as {} with community {:?} at {}; the kiosk syncs on its next start (or: shoumen sync --now)",
        answer.device, answer.community, url
    );
    Ok(ExitCode::SUCCESS)
}

/// Rounds until the backlog is gone, with a progress line.
pub fn sync_now(now: bool, cx: &Context) -> Result<ExitCode> {
    if !now {
        bail!("the kiosk syncs by itself while it runs; `shoumen sync --now` syncs immediately from the command line");
    }
    let config = cx.config()?;
    let mut store = cx.store(&config)?;
    let creds = store.sync_credentials()?.ok_or(sync::SyncError::NotEnrolled)?;
    let client = sync::Client::new(creds, &Default::default())?;
    let start_acked = store.acked_seq()?;
    let started = std::time::Instant::now();
    let mut err = std::io::stderr().lock();
    let mut progress = |acked: u64, head: u64| {
        let _ = write!(err, "\r{}", progress_bar(acked.saturating_sub(start_acked), head.saturating_sub(start_acked)));
        let _ = err.flush();
    };
    let report = sync::sync_once(&mut store, &client, &cx.clock, &[], &mut progress)?;
    eprintln!();
    let time = match &report.time {
        Ok(_) => "time set by the server".to_string(),
        Err(why) => format!("time not taken: {why}"),
    };
    println!(
        "synced in {:.1} s: {} new on the server, acknowledged up to #{}, {} waiting; lists {}; \
         this computer's clock is {:+.1} s off; {time}",
        started.elapsed().as_secs_f64(),
        report.pushed,
        report.acked,
        report.queue,
        if report.lists_updated { "updated" } else { "current" },
        -report.skew_ms as f64 / 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

/// "[#####-----] 50/100 entries", 30 characters wide.
fn progress_bar(done: u64, total: u64) -> String {
    let total = total.max(1);
    let width = 30u64;
    let filled = (done.min(total) * width / total) as usize;
    format!("[{}{}] {done}/{total} entries", "#".repeat(filled), "-".repeat(width as usize - filled))
}
