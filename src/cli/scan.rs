//! `shoumen scan-eval` and `shoumen scan-synth`: measuring the QR pipeline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use shoumen::hw::sim::synth;
use shoumen::scan::eval;

#[derive(clap::Args)]
pub struct EvalArgs {
    dir: PathBuf,
    /// pipeline (default), live, or one step: rxing, rqrr, rxing-upscale, …
    #[arg(long, default_value = "pipeline")]
    strategy: String,
    /// Print every missed or misread image, and which step found what.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(clap::Args)]
pub struct SynthArgs {
    dir: PathBuf,
    #[arg(long, default_value_t = 200)]
    count: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// 0 = clean and large, 1 = every impairment at full strength.
    #[arg(long, default_value_t = 0.8)]
    difficulty: f32,
}

pub fn eval(args: &EvalArgs) -> Result<ExitCode> {
    shoumen::isolate::install_quiet_hook();
    let strategy = eval::Strategy::parse(&args.strategy).map_err(anyhow::Error::msg)?;
    let samples = eval::load_corpus(&args.dir)?;
    if samples.is_empty() {
        bail!("no images found under {}", args.dir.display());
    }
    let report = eval::evaluate(&samples, &strategy)?;
    if args.verbose {
        for line in &report.problems {
            println!("{line}");
        }
        for (step, n) in &report.by_step {
            println!("decoded by {step}: {n}");
        }
    }
    println!("{}", report.summary());
    Ok(ExitCode::SUCCESS)
}

pub fn synth(args: &SynthArgs) -> Result<ExitCode> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let texts = synth::pass_texts(16, args.seed);
    for (i, (text, _scene, frame)) in
        synth::frames(&texts, args.count, args.seed, args.difficulty).into_iter().enumerate()
    {
        let img = image::GrayImage::from_raw(frame.width as u32, frame.height as u32, frame.pixels)
            .context("frame buffer")?;
        img.save(dir.join(format!("{i:04}.png")))?;
        std::fs::write(dir.join(format!("{i:04}.txt")), text)?;
    }
    println!("{} frames written to {}", args.count, dir.display());
    Ok(ExitCode::SUCCESS)
}
