//! The decode pipeline on 640×480 frames: no code, an easy code, a hard one
//! (read by the pipeline but not by rxing alone), in live mode as the camera
//! thread runs it.
//!
//!     cargo bench --bench scan
//!
//! One line per case: `scan case=… frames=… mean_ms=… p50_ms=… p95_ms=…`.

use std::time::Instant;

use shoumen::hw::sim::synth::{self, Rng};
use shoumen::scan::{Decoder, GrayBuf, Mode, Scanner, Step};

fn time(name: &str, frame: &GrayBuf, mode: Mode, steps: Option<Vec<Step>>, n: usize) {
    let mut scanner = match steps {
        Some(steps) => Scanner::with_steps(mode, steps),
        None => Scanner::new(mode),
    };
    let mut ms = Vec::with_capacity(n);
    let mut decoded = 0;
    for _ in 0..n {
        let t = Instant::now();
        let out = scanner.scan(&frame.view());
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        decoded += usize::from(!out.codes.is_empty());
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "scan case={name} frames={n} decoded={decoded} mean_ms={:.3} p50_ms={:.3} p95_ms={:.3}",
        ms.iter().sum::<f64>() / n as f64,
        ms[n / 2],
        ms[n * 95 / 100]
    );
}

fn main() {
    let n: usize = std::env::var("SHOUMEN_BENCH_FRAMES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let texts = synth::pass_texts(4, 1);
    let modules = synth::Modules::of(&texts[0]).unwrap();
    let mut rng = Rng::new(99);

    let mut empty = synth::Scene::random(&mut rng, 0.5);
    (empty.width, empty.height, empty.cx) = (640, 480, -5.0);
    let no_code = synth::render(&modules, &empty, 1);

    let mut easy = synth::Scene::random(&mut rng, 0.0);
    (easy.width, easy.height) = (640, 480);
    easy.keep_in_frame(modules.size);
    let easy = synth::render(&modules, &easy, 2);

    // The first hard 640×480 frame that only the full pipeline reads.
    let hard = (0..500)
        .find_map(|i| {
            let mut scene = synth::Scene::random(&mut rng, 1.0);
            (scene.width, scene.height) = (640, 480);
            scene.keep_in_frame(modules.size);
            let frame = synth::render(&modules, &scene, i);
            let raw = Scanner::with_steps(Mode::Thorough, vec![Step::Whole(Decoder::Rxing)]).scan(&frame.view());
            let full = Scanner::new(Mode::Thorough).scan(&frame.view());
            (raw.codes.is_empty() && !full.codes.is_empty()).then_some(frame)
        })
        .expect("a hard frame");

    time("no_code_live", &no_code, Mode::Live, None, n);
    time("no_code_rxing", &no_code, Mode::Live, Some(vec![Step::Whole(Decoder::Rxing)]), n);
    time("easy_live", &easy, Mode::Live, None, n);
    time("easy_rxing", &easy, Mode::Live, Some(vec![Step::Whole(Decoder::Rxing)]), n);
    time("hard_live", &hard, Mode::Live, None, n);
    time("hard_thorough", &hard, Mode::Thorough, None, n / 4);
}
