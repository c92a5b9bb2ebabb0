//! The scanner per level of the frame generator, against raw rxing, and the
//! figure that matters at the gate: time from a pass coming into view to
//! its first read, over frame sequences of a person holding out a pass.
//!
//! The full figures take minutes and report wall-clock times, so they run
//! only when asked and print a table (numbers in the closing notes):
//!
//!     SHOUMEN_SCAN_BENCH=1 cargo test --release --test scan_levels -- --nocapture
//!
//! Without the knob, a small hard set checks that live mode reads more than
//! raw rxing (counts only).

use std::time::Instant;

use shoumen::frame::GrayBuf;
use shoumen::hw::sim::synth::{self, Approach, Level};
use shoumen::scan::{Decoder, Mode, Scanner, Step};

type Frames = Vec<(String, synth::Scene, GrayBuf)>;

fn raw_rxing() -> Scanner {
    Scanner::with_steps(Mode::Live, vec![Step::Whole(Decoder::Rxing)])
}

fn live() -> Scanner {
    Scanner::new(Mode::Live)
}

fn thorough() -> Scanner {
    Scanner::new(Mode::Thorough)
}

/// Reads and mean milliseconds per frame of each scanner, each frame on a
/// fresh scanner. The scanners take turns on every frame and each frame's
/// time is the best of `reps`, so a busy moment of the machine does not
/// land on one scanner alone.
fn measure(frames: &Frames, makers: &[fn() -> Scanner], reps: usize) -> Vec<(usize, f64)> {
    let mut totals = vec![(0usize, 0f64); makers.len()];
    for (text, _, frame) in frames {
        for (total, make) in totals.iter_mut().zip(makers) {
            let mut best = f64::INFINITY;
            for rep in 0..reps.max(1) {
                let started = Instant::now();
                let out = make().scan(&frame.view());
                best = best.min(started.elapsed().as_secs_f64() * 1000.0);
                assert!(out.codes.iter().all(|c| c.text == *text), "a false read: {:?}", out.codes);
                if rep == 0 {
                    total.0 += usize::from(!out.codes.is_empty());
                }
            }
            total.1 += best;
        }
    }
    totals.into_iter().map(|(reads, ms)| (reads, ms / frames.len() as f64)).collect()
}

/// 30 fps, and the camera keeps only the newest frame: while a frame is
/// being scanned, the frames that arrive are dropped but the newest.
const FRAME_MS: f64 = 1000.0 / 30.0;

/// Milliseconds from frame 0 to the first correct read, or `None` within
/// `frames` frames. Scanning time is this machine's.
fn time_to_first_read(seq: &Approach, frames: usize, make: fn() -> Scanner) -> Option<f64> {
    let mut scanner = make();
    let mut t = 0.0;
    loop {
        let i = (t / FRAME_MS) as usize;
        if i >= frames {
            return None;
        }
        let frame = seq.frame(i);
        let started = Instant::now();
        let out = scanner.scan(&frame.view());
        t += started.elapsed().as_secs_f64() * 1000.0;
        assert!(out.codes.iter().all(|c| c.text == seq.text), "a false read: {:?}", out.codes);
        if !out.codes.is_empty() {
            return Some(t);
        }
        // The next frame is the newest one once this scan ends.
        t = t.max((i + 1) as f64 * FRAME_MS);
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn live_mode_reads_more_hard_frames_than_raw_rxing() {
    let frames = synth::level_frames(&synth::pass_texts(8, 77), 16, 77, Level::Hard);
    let counts = measure(&frames, &[raw_rxing, live], 1);
    let (raw, live) = (counts[0].0, counts[1].0);
    println!("hard frames (seed 77): raw rxing {raw}/16, live {live}/16");
    assert!(live > raw, "live mode read {live}, raw rxing {raw}");
}

#[test]
fn a_pass_held_out_at_two_and_a_half_px_per_module_is_read_within_a_second_of_frames() {
    // Every frame scanned (no frames dropped): counts frames, not time.
    let texts = synth::pass_texts(16, 2026);
    for (s, text) in texts.iter().enumerate().take(3) {
        let seq = Approach::new(text, 2.5, 9000 + s as u64).unwrap();
        let mut scanner = live();
        let first = (0..30).find(|&i| !scanner.scan(&seq.frame(i).view()).codes.is_empty());
        assert!(first.is_some(), "sequence {s} not read in 30 frames");
    }
}

#[test]
fn levels_and_time_to_first_read() {
    if std::env::var_os("SHOUMEN_SCAN_BENCH").is_none() {
        println!("skipped: set SHOUMEN_SCAN_BENCH=1 for the per-level figures (minutes)");
        return;
    }
    let n = env("SHOUMEN_SCAN_FRAMES", 100);
    let texts = synth::pass_texts(16, 2026);
    println!("level   frames | rxing reads  ms | live reads  ms  (×reads ×time) | thorough reads  ms");
    let levels: Vec<Level> = Level::ALL
        .into_iter()
        .filter(|l| std::env::var("SHOUMEN_SCAN_LEVEL").map_or(true, |v| v == l.name()))
        .collect();
    for level in levels {
        let frames = synth::level_frames(&texts, n, 2026, level);
        let m = measure(&frames, &[raw_rxing, live, thorough], 3);
        let ((r, rt), (l, lt), (t, tt)) = (m[0], m[1], m[2]);
        println!(
            "{:7} {:6} | {:5} {:7.1} | {:4} {:6.1}  ({:.2} {:.2}) | {:5} {:7.1}",
            level.name(),
            frames.len(),
            r,
            rt,
            l,
            lt,
            l as f64 / r.max(1) as f64,
            lt / rt,
            t,
            tt
        );
    }
    let sequences = env("SHOUMEN_SCAN_SEQUENCES", 40);
    if sequences == 0 {
        return;
    }
    for ppm in [2.0f32, 2.5, 3.0] {
        for (name, make) in [("rxing", raw_rxing as fn() -> Scanner), ("live", live)] {
            let mut times: Vec<f64> = Vec::new();
            let mut missed = 0;
            for s in 0..sequences {
                let seq = Approach::new(&texts[s % texts.len()], ppm, 9000 + s as u64).unwrap();
                match time_to_first_read(&seq, 60, make) {
                    Some(ms) => times.push(ms),
                    None => missed += 1,
                }
            }
            // A miss (no read in 2 s) counts as longer than any read.
            times.sort_by(f64::total_cmp);
            let all: Vec<f64> = times.iter().copied().chain(std::iter::repeat_n(f64::INFINITY, missed)).collect();
            println!(
                "time to first read, {ppm} px/module, {name:5}: p50 {:.0} ms, p95 {:.0} ms, {missed} of {sequences} not read in 2 s",
                percentile(&all, 0.5),
                percentile(&all, 0.95)
            );
        }
    }
}
