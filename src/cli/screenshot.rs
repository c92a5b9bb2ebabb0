//! `shoumen screenshot`: a page of the UI as a PNG, without a display.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};

#[derive(clap::Args)]
pub struct Args {
    /// scan, result-allow, result-deny, result-fever, result-passback, choose-direction, guard, guard-pin, visitor, demo, enroll
    #[arg(long, default_value = "scan")]
    page: String,
    /// zh-CN or en
    #[arg(long, default_value = "zh-CN")]
    lang: String,
    /// WIDTHxHEIGHT, e.g. 800x480, 1024x600, 720x1280
    #[arg(long, default_value = "800x480")]
    size: String,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let (w, h) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .with_context(|| format!("--size {:?} must be WIDTHxHEIGHT, e.g. 800x480", args.size))?;
    let language = match args.lang.as_str() {
        "zh-CN" | "zh_CN" | "zh" => "zh_CN",
        "en" => "en",
        other => bail!("--lang {other:?}: use zh-CN or en"),
    };
    shoumen::ui::screenshot::render(&args.page, language, w, h, &args.out)?;
    println!("{} ({}, {language}, {w}×{h})", args.out.display(), args.page);
    Ok(ExitCode::SUCCESS)
}
