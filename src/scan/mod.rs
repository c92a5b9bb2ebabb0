//! Frame → QR payload: the decode pipeline.
//!
//! A frame is converted to grayscale, then [`Step`]s are tried in order of
//! cost until one decodes a code: the region where the last code was, the
//! whole frame, a ×2 upscale for small codes, the inverted image, an
//! adaptive threshold, and a second decoder. Every decoder call is isolated
//! (a panic costs one frame and is counted).
//!
//! Most frames hold no code. In [`Mode::Live`] a frame gets the cheap steps
//! plus one of the expensive ones, taken in turn, so the cost per frame stays
//! bounded while every step still runs several times a second at 30 fps.
//! A small code (2–3 px per module on a 1280×720 frame) is read from its
//! region at full resolution, doubled, before the whole frame is tried; and
//! when no single frame is enough, the region of the last few frames is
//! aligned and averaged ([`Step::Stacked`]): a pass is held up for about a
//! second, 30 frames, and averaging takes the noise and JPEG blocks out.

pub mod decoders;
pub mod eval;
pub mod preprocess;
mod stack;

use std::path::Path;

use thiserror::Error;

pub use crate::frame::{GrayBuf, GrayView};
pub use decoders::Decoder;
use preprocess::Rect;

#[derive(Debug, Error)]
pub enum ScanError {
    #[error("cannot read image {path}: {message}")]
    Image { path: String, message: String },
}

/// One decoded code.
#[derive(Clone, Debug, PartialEq)]
pub struct Code {
    /// The payload as text (decoder's charset guess for byte mode).
    pub text: String,
    /// The exact payload bytes, when the decoder reports them.
    pub bytes: Option<Vec<u8>>,
    /// Corners in frame pixels, for the preview overlay.
    pub corners: [(f32, f32); 4],
}

impl Code {
    pub fn payload(&self) -> &[u8] {
        self.bytes.as_deref().unwrap_or(self.text.as_bytes())
    }
}

/// One way of trying to decode a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// The region around the last code seen, grown by half its size.
    Roi,
    Whole(Decoder),
    /// ×2 bilinear upscale and unsharp mask, for codes at 2–3 px per module.
    Upscale(Decoder),
    /// Light modules on a dark background (inverted codes, some phone themes).
    Inverted(Decoder),
    /// Bradley's adaptive threshold, for glare and uneven light.
    Adaptive(Decoder),
    /// Live mode: the located region of the last few frames, aligned and
    /// averaged, then doubled; for small codes no single frame gives.
    Stacked,
}

impl Step {
    pub fn name(self) -> String {
        match self {
            Step::Roi => "roi".into(),
            Step::Whole(d) => d.name().into(),
            Step::Upscale(d) => format!("{}-upscale", d.name()),
            Step::Inverted(d) => format!("{}-inverted", d.name()),
            Step::Adaptive(d) => format!("{}-adaptive", d.name()),
            Step::Stacked => "stacked".into(),
        }
    }
}

/// The pipeline's steps after the cheap ones, in order of cost.
pub const LADDER: &[Step] = &[
    Step::Upscale(Decoder::Rxing),
    Step::Inverted(Decoder::Rxing),
    Step::Adaptive(Decoder::Rxing),
    Step::Whole(Decoder::Rqrr),
    Step::Adaptive(Decoder::Rqrr),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Camera frames: cheap steps every frame, one ladder step per frame in turn.
    Live,
    /// Still images (scan-eval, `shoumen check`): every step until one works.
    Thorough,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    pub codes: Vec<Code>,
    /// The step that decoded, if any.
    pub step: Option<Step>,
    /// Decoder panics caught on this frame.
    pub panics: u32,
}

/// Running totals, for the health screen and the logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    pub frames: u64,
    pub decoded: u64,
    pub panics: u64,
}

/// The stateful decode pipeline for one camera.
pub struct Scanner {
    mode: Mode,
    steps: Vec<Step>,
    /// Where the last code was and on which frame.
    last: Option<(Rect, u64)>,
    /// Next ladder step to try in live mode.
    turn: usize,
    /// Live mode: recent frames that showed a small code-like region and
    /// were not read, for [`Step::Stacked`].
    recent: stack::Recent,
    /// The size of the last frame scanned.
    size: (usize, usize),
    pub stats: ScanStats,
}

/// For how many frames the last code's region is tried first.
const ROI_FRAMES: u64 = 45;
/// Images (or located regions) larger than this on their long side are not
/// upscaled: codes that fill them are not small.
const UPSCALE_MAX_SIDE: usize = 800;
/// A located region at most this large holds a code at ≤ ~3.5 px per
/// module (version 8 or 11, grown, at any angle): live mode reads it doubled
/// before it tries the whole frame.
const SMALL_SIDE: usize = 300;

impl Scanner {
    /// The full pipeline.
    pub fn new(mode: Mode) -> Scanner {
        let mut steps = vec![Step::Roi, Step::Whole(Decoder::Rxing)];
        steps.extend_from_slice(LADDER);
        if mode == Mode::Live {
            steps.push(Step::Stacked);
        }
        Scanner::with_steps(mode, steps)
    }

    /// A pipeline of exactly these steps (to compare single decoders).
    pub fn with_steps(mode: Mode, steps: Vec<Step>) -> Scanner {
        Scanner {
            mode,
            steps,
            last: None,
            turn: 0,
            recent: stack::Recent::default(),
            size: (0, 0),
            stats: ScanStats::default(),
        }
    }

    pub fn scan(&mut self, img: &GrayView<'_>) -> Outcome {
        // A camera back at another size: what the last frames showed is elsewhere.
        if self.size != (img.width, img.height) {
            self.size = (img.width, img.height);
            self.last = None;
            self.recent.clear();
        }
        self.stats.frames += 1;
        let frame = self.stats.frames;
        let mut outcome = Outcome::default();
        if self.mode == Mode::Live && self.steps.contains(&Step::Stacked) {
            return self.scan_live(img, frame, outcome);
        }
        let (cheap, ladder): (Vec<Step>, Vec<Step>) = self.steps.iter().partition(|s| is_cheap(**s));
        for step in cheap {
            let codes = self.attempt(step, img, img, &mut outcome);
            if !codes.is_empty() {
                return self.found(codes, step, frame, outcome);
            }
        }
        if ladder.is_empty() {
            return self.finish(outcome);
        }
        // The expensive steps work first on the region that looks like a
        // code: cheaper, and fewer distractions for the decoders. In live
        // mode a frame without such a region skips them: most frames hold no
        // code, and those must stay cheap.
        let region = preprocess::locate(img, 8, 24).map(|r| (r, preprocess::crop(img, r)));
        let mut plan: Vec<(Step, bool)> = Vec::new();
        match (self.mode, &region) {
            (Mode::Thorough, Some(_)) => {
                plan.extend(ladder.iter().map(|&s| (s, true)));
                plan.extend(ladder.iter().map(|&s| (s, false)));
            }
            (Mode::Thorough, None) => plan.extend(ladder.iter().map(|&s| (s, false))),
            (Mode::Live, Some(_)) => {
                plan.push((ladder[self.turn % ladder.len()], true));
                self.turn += 1;
            }
            (Mode::Live, None) => {}
        }
        for (step, in_region) in plan {
            let codes = match (&region, in_region) {
                (Some((r, crop)), true) => {
                    let codes = self.attempt(step, &crop.view(), img, &mut outcome);
                    offset(codes, r.x0 as f32, r.y0 as f32, 1.0)
                }
                _ => self.attempt(step, img, img, &mut outcome),
            };
            if !codes.is_empty() {
                return self.found(codes, step, frame, outcome);
            }
        }
        self.finish(outcome)
    }

    /// Runs one step on `view` (the frame or a region of it); `frame` is the
    /// whole picture, for the last code's region.
    fn attempt(&self, step: Step, view: &GrayView<'_>, frame: &GrayView<'_>, outcome: &mut Outcome) -> Vec<Code> {
        match step {
            Step::Roi => match self.last {
                Some((rect, seen))
                    if self.stats.frames - seen <= ROI_FRAMES && rect.fits(frame.width, frame.height) =>
                {
                    let r = rect.grow(0.5, frame.width, frame.height);
                    let crop = preprocess::crop(frame, r);
                    let codes = self.run(Decoder::Rxing, &crop.view(), outcome, 1.0);
                    // A small code that was read once is read again doubled.
                    let codes = match codes.is_empty() && r.width().max(r.height()) <= SMALL_SIDE {
                        true => self.attempt(Step::Upscale(Decoder::Rxing), &crop.view(), frame, outcome),
                        false => codes,
                    };
                    offset(codes, r.x0 as f32, r.y0 as f32, 1.0)
                }
                _ => Vec::new(),
            },
            Step::Whole(d) => self.run(d, view, outcome, 1.0),
            Step::Upscale(d) => {
                if view.width.max(view.height) > UPSCALE_MAX_SIDE {
                    return Vec::new();
                }
                let up = preprocess::upscale2_sharpen(view);
                self.run(d, &up.view(), outcome, 0.5)
            }
            Step::Inverted(d) => {
                let inv = preprocess::invert(view);
                self.run(d, &inv.view(), outcome, 1.0)
            }
            Step::Adaptive(d) => {
                let window = (view.width.min(view.height) / 8).max(15) | 1;
                let bin = preprocess::adaptive_threshold(view, window, 15);
                self.run(d, &bin.view(), outcome, 1.0)
            }
            // Stacking needs the frames before this one: only `scan_live` does it.
            Step::Stacked => Vec::new(),
        }
    }

    /// Live mode with the full pipeline: the last code's region; a small
    /// code's region at full resolution, doubled; the whole frame; one more
    /// step in turn; and the region stacked over the last frames.
    fn scan_live(&mut self, img: &GrayView<'_>, frame: u64, mut outcome: Outcome) -> Outcome {
        let codes = self.attempt(Step::Roi, img, img, &mut outcome);
        if !codes.is_empty() {
            return self.found(codes, Step::Roi, frame, outcome);
        }
        let region = preprocess::locate_sampled(img, 8, 24, 2);
        let small = region.filter(|r| r.width().max(r.height()) <= SMALL_SIDE);
        let in_region = |s: &mut Scanner, step: Step, r: Rect, outcome: &mut Outcome| {
            let crop = preprocess::crop(img, r);
            let codes = s.attempt(step, &crop.view(), img, outcome);
            offset(codes, r.x0 as f32, r.y0 as f32, 1.0)
        };
        if let Some(r) = small {
            let codes = in_region(self, Step::Upscale(Decoder::Rxing), r, &mut outcome);
            if !codes.is_empty() {
                return self.found(codes, Step::Upscale(Decoder::Rxing), frame, outcome);
            }
        }
        // Still the whole frame: the region may hold only part of the code.
        let codes = self.attempt(Step::Whole(Decoder::Rxing), img, img, &mut outcome);
        if !codes.is_empty() {
            return self.found(codes, Step::Whole(Decoder::Rxing), frame, outcome);
        }
        let Some(r) = region else { return self.finish(outcome) };
        if let Some(r) = small {
            // A small code: the other steps at its own size rarely help
            // (measured on the hard level); the frames before this one do.
            self.recent.push(img, r, frame);
            if let Some(stacked) = self.recent.stacked(r) {
                let codes = self.run(Decoder::Rxing, &stacked.view(), &mut outcome, 0.5);
                let codes = offset(codes, r.x0 as f32, r.y0 as f32, 1.0);
                if !codes.is_empty() {
                    self.recent.clear();
                    return self.found(codes, Step::Stacked, frame, outcome);
                }
            }
            return self.finish(outcome);
        }
        let step = LADDER[self.turn % LADDER.len()];
        self.turn += 1;
        let codes = in_region(self, step, r, &mut outcome);
        if !codes.is_empty() {
            return self.found(codes, step, frame, outcome);
        }
        self.finish(outcome)
    }

    fn found(&mut self, codes: Vec<Code>, step: Step, frame: u64, mut outcome: Outcome) -> Outcome {
        self.remember(&codes, frame);
        outcome.codes = codes;
        outcome.step = Some(step);
        self.finish(outcome)
    }

    fn finish(&mut self, outcome: Outcome) -> Outcome {
        self.stats.panics += u64::from(outcome.panics);
        self.stats.decoded += u64::from(outcome.step.is_some());
        outcome
    }

    fn run(&self, d: Decoder, img: &GrayView<'_>, outcome: &mut Outcome, scale: f32) -> Vec<Code> {
        let attempt = decoders::decode(d, img);
        outcome.panics += u32::from(attempt.panicked);
        offset(attempt.codes, 0.0, 0.0, scale)
    }

    fn remember(&mut self, codes: &[Code], frame: u64) {
        let c = &codes[0].corners;
        let xs = c.iter().map(|p| p.0.max(0.0) as usize);
        let ys = c.iter().map(|p| p.1.max(0.0) as usize);
        let rect = Rect {
            x0: xs.clone().min().unwrap_or(0),
            y0: ys.clone().min().unwrap_or(0),
            x1: xs.max().unwrap_or(0) + 1,
            y1: ys.max().unwrap_or(0) + 1,
        };
        if rect.width() > 4 && rect.height() > 4 {
            self.last = Some((rect, frame));
        }
    }
}

fn is_cheap(step: Step) -> bool {
    matches!(step, Step::Roi | Step::Whole(Decoder::Rxing))
}

/// Maps code corners from a crop or a scaled image back to the frame.
fn offset(mut codes: Vec<Code>, dx: f32, dy: f32, scale: f32) -> Vec<Code> {
    for code in &mut codes {
        for p in &mut code.corners {
            *p = (p.0 * scale + dx, p.1 * scale + dy);
        }
    }
    codes
}

/// Reads an image file as grayscale.
pub fn load_gray(path: &Path) -> Result<GrayBuf, ScanError> {
    let img =
        image::open(path).map_err(|e| ScanError::Image { path: path.display().to_string(), message: e.to_string() })?;
    Ok(GrayBuf::from_image(&img.to_luma8()))
}

/// Decodes the QR codes in an image file with every step.
pub fn decode_file(path: &Path) -> Result<Outcome, ScanError> {
    let img = load_gray(path)?;
    Ok(Scanner::new(Mode::Thorough).scan(&img.view()))
}

/// The text of the built-in test pattern.
const TEST_PATTERN: &str = "SHOUMEN TEST PATTERN 1";

/// Whether the decoders read a built-in test pattern (a QR code drawn in
/// memory, as a camera would see it at 4 px per module): the part of the
/// camera check after an update that does not need anyone to hold up a
/// pass. The reason, if not.
pub fn decodes_test_pattern() -> Result<(), String> {
    use image::Luma;
    let code = qrcode::QrCode::with_error_correction_level(TEST_PATTERN.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| format!("cannot draw the test pattern: {e}"))?;
    let img = code.render::<Luma<u8>>().module_dimensions(4, 4).quiet_zone(true).build();
    let gray = GrayBuf::from_image(&img);
    let outcome = Scanner::new(Mode::Thorough).scan(&gray.view());
    match outcome.codes.first() {
        Some(c) if c.text == TEST_PATTERN => Ok(()),
        Some(c) => Err(format!("the test pattern read as {:?}", c.text)),
        None if outcome.panics > 0 => {
            Err(format!("the decoders panicked {} times on the test pattern", outcome.panics))
        }
        None => Err("the decoders did not read the test pattern".into()),
    }
}

#[cfg(test)]
mod pattern_tests {
    #[test]
    fn the_decoders_read_the_built_in_test_pattern() {
        assert_eq!(super::decodes_test_pattern(), Ok(()));
    }
}
