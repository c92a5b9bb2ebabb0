//! `shoumen enroll` and `shoumen sync --now`.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use shoumen::sync;

use super::Context;

pub fn enroll(url: &str, token: &str, cx: &Context) -> Result<ExitCode> {
    let config = cx.config()?;
    let mut store = cx.store(&config)?;
    let answer = sync::enroll(&mut store, url, token, &config.kiosk.gate_name, &config.client())?;
    println!(
        "enrolled as {} with community {:?} at {}; the kiosk syncs on its next start (or: shoumen sync --now)",
        answer.device, answer.community, url
    );
    Ok(ExitCode::SUCCESS)
}

/// Enrollment from the screen, on the terminal: the code, the key's
/// fingerprint and the claim link's QR code, then polls until an admin
/// claims the code (a new code when one expires).
pub fn enroll_by_code(url: &str, poll_every_s: u64, wait_min: u64, cx: &Context) -> Result<ExitCode> {
    use shoumen_protocol::enroll;
    let config = cx.config()?;
    let mut store = cx.store(&config)?;
    let client = config.client();
    let fingerprint = enroll::fingerprint(&store.device_key()?.verifying_key());
    let deadline = Instant::now() + Duration::from_secs(wait_min * 60);
    loop {
        let asked = sync::ask_code(&mut store, url, &config.kiosk.gate_name, &client)?;
        let link = enroll::claim_url(url, &asked.code, &store.device_key()?.verifying_key());
        println!("On the server's Gates page, type this code or scan the QR code with your phone:");
        println!("  code:        {}", enroll::show_code(&asked.code));
        println!("  fingerprint: {fingerprint}   (the page shows it too: they must match)");
        println!("{}", terminal_qr(&link));
        println!("  {link}");
        println!("waiting for an admin to claim it (the code works for {} minutes)…", asked.expires_in_s / 60);
        let code_ends = Instant::now() + Duration::from_secs(asked.expires_in_s);
        let mut counter = 0;
        while Instant::now() < code_ends {
            if Instant::now() >= deadline {
                bail!("nobody claimed the code within {wait_min} minutes; run `shoumen enroll {url}` again");
            }
            std::thread::sleep(Duration::from_secs(poll_every_s.max(1)));
            counter += 1;
            match sync::poll_code(&mut store, url, &asked.code, counter, &client) {
                Ok(Some(answer)) => {
                    println!(
                        "enrolled as gate {:?} of community {:?} at {url}; the kiosk syncs on its next start \
                         (or: shoumen sync --now)",
                        answer.gate, answer.community
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                Ok(None) => {}
                // The server is away for a moment: the code stays good.
                Err(sync::SyncError::Transport(why)) => eprintln!("{why}; trying again"),
                // Expired (or forgotten by a restored server): a new code.
                Err(sync::SyncError::Unauthorized(why)) => {
                    eprintln!("{why}");
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// A QR code drawn with half blocks, for a terminal.
fn terminal_qr(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build(),
        Err(_) => String::new(),
    }
}

/// Rounds until the backlog is gone, with a progress line.
pub fn sync_now(now: bool, cx: &Context) -> Result<ExitCode> {
    if !now {
        bail!("the kiosk syncs by itself while it runs; `shoumen sync --now` syncs immediately from the command line");
    }
    let config = cx.config()?;
    let mut store = cx.store(&config)?;
    let creds = store.sync_credentials()?.ok_or(sync::SyncError::NotEnrolled)?;
    let client = sync::Client::new(creds, &config.client())?;
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
