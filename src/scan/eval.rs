//! `shoumen scan-eval`: run the pipeline (or one step) over a corpus of
//! images with known contents and count what it finds.
//!
//! Layout: images (`.png`, `.jpg`, `.jpeg`, `.webp`, `.gif`) anywhere under
//! the directory; `NAME.txt` (UTF-8, exact) or `NAME.bin` (raw bytes) beside
//! `NAME.ext` holds the expected content; neither means "no code here".

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{load_gray, Code, Mode, ScanError, Scanner, Step};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Truth {
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct Sample {
    pub path: PathBuf,
    pub truth: Option<Truth>,
}

const IMAGE_EXTS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif"];

/// Finds every image under `dir` with its truth, sorted by path.
pub fn load_corpus(dir: &Path) -> Result<Vec<Sample>, ScanError> {
    let mut samples = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| ScanError::Image { path: d.display().to_string(), message: e.to_string() })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            if !ext.is_some_and(|e| IMAGE_EXTS.contains(&e.as_str())) {
                continue;
            }
            let truth = if let Ok(t) = std::fs::read_to_string(path.with_extension("txt")) {
                Some(Truth::Text(t))
            } else {
                std::fs::read(path.with_extension("bin")).ok().map(Truth::Bytes)
            };
            samples.push(Sample { path, truth });
        }
    }
    samples.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(samples)
}

fn matches(code: &Code, truth: &Truth) -> bool {
    match truth {
        Truth::Text(t) => code.text == *t || code.payload() == t.as_bytes(),
        Truth::Bytes(b) => code.payload() == b.as_slice(),
    }
}

/// What to run on each image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The whole pipeline, every step until one decodes.
    Pipeline,
    /// The pipeline as the camera runs it: one frame = cheap steps + one more.
    Live,
    /// Exactly one step (e.g. raw `rxing`, raw `rqrr`).
    Only(Step),
}

impl Strategy {
    /// All names `--strategy` accepts.
    pub fn names() -> Vec<String> {
        let mut names = vec!["pipeline".to_string(), "live".to_string()];
        names.extend(Self::single_steps().iter().map(|s| s.name()));
        names
    }

    fn single_steps() -> Vec<Step> {
        use super::Decoder::*;
        let mut steps = vec![Step::Whole(Rxing)];
        steps.extend_from_slice(super::LADDER);
        steps.extend([Step::Upscale(Rqrr), Step::Inverted(Rqrr)]);
        steps
    }

    pub fn parse(name: &str) -> Result<Strategy, String> {
        match name {
            "pipeline" => Ok(Strategy::Pipeline),
            "live" => Ok(Strategy::Live),
            _ => Self::single_steps()
                .into_iter()
                .find(|s| s.name() == name)
                .map(Strategy::Only)
                .ok_or_else(|| format!("unknown strategy {name:?}; one of: {}", Self::names().join(", "))),
        }
    }

    fn scanner(&self) -> Scanner {
        match self {
            Strategy::Pipeline => Scanner::new(Mode::Thorough),
            Strategy::Live => Scanner::new(Mode::Live),
            Strategy::Only(step) => Scanner::with_steps(Mode::Thorough, vec![*step]),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub found: usize,
    pub total: usize,
    pub false_reports: usize,
    pub panics: u64,
    pub mean_ms: f64,
    pub p95_ms: f64,
    /// One line per image that was missed or misread.
    pub problems: Vec<String>,
    /// How often each step was the one that decoded.
    pub by_step: Vec<(String, usize)>,
}

impl Report {
    pub fn summary(&self) -> String {
        format!(
            "found={} total={} false={} panics={} mean_ms={:.2} p95_ms={:.2}",
            self.found, self.total, self.false_reports, self.panics, self.mean_ms, self.p95_ms
        )
    }
}

/// Runs `strategy` over `samples`, timing only the decoding.
pub fn evaluate(samples: &[Sample], strategy: &Strategy) -> Result<Report, ScanError> {
    let mut report = Report::default();
    let mut times = Vec::with_capacity(samples.len());
    for sample in samples {
        let img = load_gray(&sample.path)?;
        let mut scanner = strategy.scanner();
        let started = Instant::now();
        let outcome = scanner.scan(&img.view());
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        report.panics += u64::from(outcome.panics);
        let name = sample.path.display();
        match &sample.truth {
            Some(truth) => {
                report.total += 1;
                if outcome.codes.iter().any(|c| matches(c, truth)) {
                    report.found += 1;
                    let step = outcome.step.map(|s| s.name()).unwrap_or_default();
                    match report.by_step.iter_mut().find(|(s, _)| *s == step) {
                        Some((_, n)) => *n += 1,
                        None => report.by_step.push((step, 1)),
                    }
                } else if let Some(code) = outcome.codes.first() {
                    report.false_reports += 1;
                    report.problems.push(format!("{name}: WRONG TEXT {:?}", code.text));
                } else {
                    report.problems.push(format!("{name}: missed"));
                }
            }
            None if !outcome.codes.is_empty() => {
                report.false_reports += 1;
                report.problems.push(format!("{name}: FALSE code {:?} in an image without one", outcome.codes[0].text));
            }
            None => {}
        }
    }
    if !times.is_empty() {
        report.mean_ms = times.iter().sum::<f64>() / times.len() as f64;
        times.sort_by(f64::total_cmp);
        report.p95_ms = times[((times.len() as f64 * 0.95).ceil() as usize).clamp(1, times.len()) - 1];
    }
    Ok(report)
}
