//! `shoumen check`: passes through the real gate policy, without a camera.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use shoumen::check::{check, CheckOptions, CheckResult};
use shoumen::config::Config;
use shoumen_protocol::Direction;

use super::Context;

#[derive(clap::Args)]
pub struct Args {
    /// One JSON object per input, one per line.
    #[arg(long)]
    json: bool,
    /// Temperature reading in °C; repeat for successive readings
    /// (e.g. --temp 37.8 --temp 36.9 for a re-measure) [default: 36.6]
    #[arg(long = "temp", value_name = "C")]
    temps: Vec<f64>,
    /// Gate direction [default: from the config]
    #[arg(long, value_parser = parse_direction)]
    direction: Option<Direction>,
    /// Commit the entries to the kiosk's log, as the kiosk would. Without
    /// it nothing is written; anti-passback still applies within one call.
    #[arg(long)]
    record: bool,
    /// QR images (.png, .jpg …), text files holding a pass, or pass text.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
}

fn parse_direction(s: &str) -> Result<Direction, String> {
    s.parse()
}

pub fn run(args: &Args, cx: &Context) -> Result<ExitCode> {
    let config = Config::load(cx.config.as_deref())?;
    let mut store = cx.store(&config)?;
    let mut state = shoumen::app::kiosk::gate_state(&config, &store, cx.clock.now().wall_ms)?;
    let opts = CheckOptions {
        temps_centi: args.temps.iter().map(|c| (c * 100.0).round() as i32).collect(),
        direction: args.direction,
        record: args.record,
    };
    let results = check(&mut state, args.record.then_some(&mut store), cx.clock.now(), &args.inputs, &opts)?;
    let mut out = std::io::stdout().lock();
    for r in &results {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
        } else {
            writeln!(out, "{}", line(r))?;
        }
    }
    let unreadable = results.iter().any(|r| r.error.is_some());
    Ok(if unreadable { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// One result for people: "input: decision (reason), unit …".
fn line(r: &CheckResult) -> String {
    let mut line = format!("{}: {} ({})", r.input, r.decision.as_str(), r.reason);
    if let Some(unit) = &r.unit {
        line += &format!(", unit {unit}");
    }
    if let Some(t) = r.temperature_c {
        line += &format!(", {t:.1} °C");
    }
    if let Some(seq) = r.seq {
        line += &format!(", recorded as #{seq}");
    }
    if let Some(e) = &r.error {
        line += &format!(": {e}");
    }
    if r.clock == "uncertain" {
        line += " [time uncertain: not yet confirmed by the server]";
    }
    line
}
