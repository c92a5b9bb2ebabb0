//! Camera-like test frames: a pass rendered onto a phone screen or a
//! printed card, placed in a 640×480 or 1280×720 scene with perspective,
//! rotation, blur, motion blur, glare, noise, low contrast and JPEG
//! artefacts, at 2–6 pixels per module.
//!
//! Deterministic: the same seed gives the same frames on every machine (own
//! PRNG, integer-free of platform floats' surprises in practice), so tests
//! can hold the pipeline to a measured floor.

use std::f32::consts::PI;

use crate::frame::GrayBuf;

/// SplitMix64: tiny, fast and stable across versions, unlike `rand`'s StdRng.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * (hi - lo)
    }

    pub fn chance(&mut self, p: f32) -> bool {
        self.range(0.0, 1.0) < p
    }

    /// Approximately normal (sum of four uniforms), mean 0, deviation 1.
    pub fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.range(-1.0, 1.0)).sum::<f32>() * 0.866
    }
}

/// Where the code is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// A phone: dark body, bright screen, code on white.
    Phone,
    /// A printed card: white with a grey border.
    Card,
}

/// Everything that varies between frames.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub width: usize,
    pub height: usize,
    pub carrier: Carrier,
    pub px_per_module: f32,
    /// In-plane rotation, radians.
    pub rotation: f32,
    /// Perspective tilt: foreshortening of the top (≤ 0.3) and one side.
    pub tilt_x: f32,
    pub tilt_y: f32,
    /// Centre of the code in the frame, as fractions of width/height.
    pub cx: f32,
    pub cy: f32,
    /// Levels of dark and light modules after lighting (low contrast
    /// brings them together).
    pub black: f32,
    pub white: f32,
    pub blur_sigma: f32,
    /// Motion blur length in pixels and direction.
    pub motion_px: f32,
    pub motion_angle: f32,
    /// Glare: peak brightness added, and its position relative to the code.
    pub glare: f32,
    pub glare_dx: f32,
    pub glare_dy: f32,
    pub noise_sigma: f32,
    /// JPEG quality, or `None` for a clean frame.
    pub jpeg_quality: Option<u8>,
    /// Moiré on a phone's screen: the screen's pixel grid beating with the
    /// camera's, as a fraction of the screen's brightness (0: none), with
    /// the beat's period in frame pixels and its direction.
    pub moire: f32,
    pub moire_period: f32,
    pub moire_angle: f32,
}

/// How hard a set of generated frames is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Large, sharp, well lit: every decoder reads these.
    Easy,
    /// [`Scene::random`] at difficulty 0.8: what the pipeline's floors use.
    Normal,
    /// What a gate's camera sees of a phone at arm's length: 1280×720,
    /// 2–3 px per module, moiré on phone screens, glare, blur, JPEG.
    Hard,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Easy, Level::Normal, Level::Hard];

    pub fn name(self) -> &'static str {
        match self {
            Level::Easy => "easy",
            Level::Normal => "normal",
            Level::Hard => "hard",
        }
    }

    pub fn scene(self, rng: &mut Rng) -> Scene {
        match self {
            Level::Easy => Scene::random(rng, 0.0),
            Level::Normal => Scene::random(rng, 0.8),
            Level::Hard => Scene::hard(rng),
        }
    }
}

impl Scene {
    /// A random scene. `difficulty` in 0..=1 scales every impairment.
    pub fn random(rng: &mut Rng, difficulty: f32) -> Scene {
        let d = difficulty.clamp(0.0, 1.0);
        let hd = rng.chance(0.3);
        let low_contrast = rng.chance(0.35 * d + 0.05);
        let (black, white) = module_levels(rng, low_contrast, 25.0, (10.0, 50.0), (180.0, 245.0));
        Scene {
            width: if hd { 1280 } else { 640 },
            height: if hd { 720 } else { 480 },
            carrier: if rng.chance(0.6) { Carrier::Phone } else { Carrier::Card },
            px_per_module: rng.range(6.0 - 4.0 * d, 6.0),
            rotation: rng.range(-PI, PI) * (0.15 + 0.85 * d),
            tilt_x: rng.range(-0.25, 0.25) * d,
            tilt_y: rng.range(-0.25, 0.25) * d,
            cx: rng.range(0.3, 0.7),
            cy: rng.range(0.3, 0.7),
            black,
            white,
            blur_sigma: rng.range(0.0, 1.3) * d,
            motion_px: if rng.chance(0.3 * d) { rng.range(1.0, 5.0) } else { 0.0 },
            motion_angle: rng.range(0.0, PI),
            glare: if rng.chance(0.35 * d) { rng.range(40.0, 140.0) } else { 0.0 },
            glare_dx: rng.range(-0.4, 0.4),
            glare_dy: rng.range(-0.4, 0.4),
            noise_sigma: rng.range(1.0, 3.0 + 7.0 * d),
            jpeg_quality: if rng.chance(0.5) { Some(rng.range(35.0, 85.0) as u8) } else { None },
            moire: 0.0,
            moire_period: 1.0,
            moire_angle: 0.0,
        }
    }

    /// A scene of [`Level::Hard`].
    pub fn hard(rng: &mut Rng) -> Scene {
        let phone = rng.chance(0.7);
        let low_contrast = rng.chance(0.25);
        let (black, white) = module_levels(rng, low_contrast, 30.0, (15.0, 55.0), (170.0, 240.0));
        Scene {
            width: 1280,
            height: 720,
            carrier: if phone { Carrier::Phone } else { Carrier::Card },
            px_per_module: rng.range(2.0, 3.0),
            rotation: rng.range(-PI, PI),
            tilt_x: rng.range(-0.2, 0.2),
            tilt_y: rng.range(-0.2, 0.2),
            cx: rng.range(0.3, 0.7),
            cy: rng.range(0.3, 0.7),
            black,
            white,
            blur_sigma: rng.range(0.3, 0.9),
            motion_px: if rng.chance(0.25) { rng.range(1.0, 2.5) } else { 0.0 },
            motion_angle: rng.range(0.0, PI),
            glare: if rng.chance(0.4) { rng.range(30.0, 100.0) } else { 0.0 },
            glare_dx: rng.range(-0.4, 0.4),
            glare_dy: rng.range(-0.4, 0.4),
            noise_sigma: rng.range(2.0, 7.0),
            jpeg_quality: Some(rng.range(45.0, 85.0) as u8),
            moire: if phone { rng.range(0.06, 0.2) } else { 0.0 },
            moire_period: rng.range(5.0, 16.0),
            moire_angle: rng.range(0.0, PI),
        }
    }
}

/// Dark and light module levels after lighting: low contrast brings them
/// within 2 × (`half_min`..45) of a mid grey; otherwise each from its range.
fn module_levels(rng: &mut Rng, low_contrast: bool, half_min: f32, dark: (f32, f32), light: (f32, f32)) -> (f32, f32) {
    if low_contrast {
        let mid = rng.range(110.0, 150.0);
        let half = rng.range(half_min, 45.0);
        (mid - half, mid + half)
    } else {
        (rng.range(dark.0, dark.1), rng.range(light.0, light.1))
    }
}

impl Scene {
    /// Moves the centre so that a code of `size` modules (with a 2-module
    /// margin, at any rotation) lies inside the frame, if it can.
    pub fn keep_in_frame(&mut self, size: usize) {
        let r = (size as f32 / 2.0 + 2.0) * self.px_per_module * std::f32::consts::SQRT_2;
        let fit = |c: f32, len: usize| {
            let (lo, hi) = (r / len as f32, 1.0 - r / len as f32);
            if lo < hi {
                c.clamp(lo, hi)
            } else {
                0.5
            }
        };
        self.cx = fit(self.cx, self.width);
        self.cy = fit(self.cy, self.height);
    }
}

/// The QR modules of `text` at ECC M: `true` = dark, with `size` modules a side.
pub struct Modules {
    pub size: usize,
    dark: Vec<bool>,
}

impl Modules {
    pub fn of(text: &str) -> Option<Modules> {
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
        let size = code.width();
        let dark = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
        Some(Modules { size, dark })
    }

    fn dark(&self, x: i64, y: i64) -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < self.size
            && (y as usize) < self.size
            && self.dark[y as usize * self.size + x as usize]
    }
}

/// Renders one frame. Deterministic for a given scene and `noise_seed`.
pub fn render(modules: &Modules, scene: &Scene, noise_seed: u64) -> GrayBuf {
    let (w, h) = (scene.width, scene.height);
    let n = modules.size as f32;
    // Code plane: module units, origin at the code's centre.
    let quiet = 4.0;
    let (carrier_half_w, carrier_half_h) = match scene.carrier {
        Carrier::Phone => (n / 2.0 + quiet + 2.0, (n / 2.0 + quiet) * 2.0),
        Carrier::Card => (n / 2.0 + quiet + 6.0, n / 2.0 + quiet + 3.0),
    };
    let to_plane = frame_to_plane(scene, n);
    let mut rng = Rng::new(noise_seed ^ 0xA5A5_5A5A);
    let background = Background::random(&mut rng, w, h);
    let (black, white) = (scene.black, scene.white);
    let moire = Moire::of(scene);
    let sample = |fx: f32, fy: f32| -> f32 {
        let (px, py) = to_plane(fx, fy);
        if px.abs() <= carrier_half_w && py.abs() <= carrier_half_h {
            let (mx, my) = ((px + n / 2.0).floor() as i64, (py + n / 2.0).floor() as i64);
            if px.abs() <= n / 2.0 + quiet && py.abs() <= n / 2.0 + quiet {
                let v = if modules.dark(mx, my) { black } else { white };
                return v * moire.at(fx, fy);
            }
            return match scene.carrier {
                // The phone's screen around the code is lit; its body is dark.
                Carrier::Phone if px.abs() <= carrier_half_w - 1.0 && py.abs() <= carrier_half_h - 1.5 => white * 0.97,
                Carrier::Phone => black * 0.6,
                Carrier::Card => white * 0.9,
            };
        }
        background.at(fx, fy)
    };
    // 2×2 supersampling keeps module edges realistically soft.
    let mut img = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            img[y * w + x] = (sample(fx + 0.25, fy + 0.25)
                + sample(fx + 0.75, fy + 0.25)
                + sample(fx + 0.25, fy + 0.75)
                + sample(fx + 0.75, fy + 0.75))
                / 4.0;
        }
    }
    impair(&mut img, scene, n);
    let pixels: Vec<u8> =
        img.iter().map(|&v| (v + rng.normal() * scene.noise_sigma).round().clamp(0.0, 255.0) as u8).collect();
    let mut frame = GrayBuf { width: w, height: h, pixels };
    if let Some(q) = scene.jpeg_quality {
        frame = jpeg_round_trip(&frame, q);
    }
    frame
}

/// Frame pixel → code plane (module units, origin at the code's centre):
/// the inverse of the homography M = translate · rotate · scale ·
/// perspective, where the perspective row tilts the plane away from the camera.
fn frame_to_plane(scene: &Scene, n: f32) -> impl Fn(f32, f32) -> (f32, f32) {
    let (sin, cos) = scene.rotation.sin_cos();
    let (cx, cy) = (scene.cx * scene.width as f32, scene.cy * scene.height as f32);
    let s = scene.px_per_module;
    let (gx, gy) = (scene.tilt_x / n, scene.tilt_y / n);
    let m = [[s * cos, -s * sin, cx], [s * sin, s * cos, cy], [0.0, 0.0, 1.0]];
    let p = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [gx, gy, 1.0]];
    let inv = invert3(&mul3(&m, &p));
    move |fx: f32, fy: f32| {
        let x = inv[0][0] * fx + inv[0][1] * fy + inv[0][2];
        let y = inv[1][0] * fx + inv[1][1] * fy + inv[1][2];
        let z = inv[2][0] * fx + inv[2][1] * fy + inv[2][2];
        (x / z, y / z)
    }
}

/// The bands a phone's screen shows through a camera: a beat between the
/// screen's pixel grid and the sensor's, plus a fine ripple at the sensor's
/// own pitch. A multiplier around 1.
struct Moire {
    amount: f32,
    /// Beat frequency vector (radians per pixel) and the ripple's.
    beat: (f32, f32),
    ripple: (f32, f32),
}

impl Moire {
    fn of(scene: &Scene) -> Moire {
        let k = 2.0 * PI / scene.moire_period.max(1.0);
        let (s, c) = scene.moire_angle.sin_cos();
        // The ripple runs at right angles to the beat, at ~2.3 px.
        let r = 2.0 * PI / 2.3;
        let amount = if scene.carrier == Carrier::Phone { scene.moire } else { 0.0 };
        Moire { amount, beat: (k * c, k * s), ripple: (-r * s, r * c) }
    }

    fn at(&self, fx: f32, fy: f32) -> f32 {
        if self.amount == 0.0 {
            return 1.0;
        }
        let beat = (self.beat.0 * fx + self.beat.1 * fy).cos();
        let ripple = (self.ripple.0 * fx + self.ripple.1 * fy).cos();
        1.0 - self.amount * (0.5 + 0.35 * beat + 0.15 * ripple)
    }
}

/// A soft horizontal gradient with a few darker and lighter blocks.
struct Background {
    left: f32,
    right: f32,
    width: f32,
    /// (x0, y0, x1, y1, brightness change)
    blocks: Vec<(f32, f32, f32, f32, f32)>,
}

impl Background {
    fn random(rng: &mut Rng, w: usize, h: usize) -> Background {
        let left = rng.range(60.0, 160.0);
        let right = rng.range(60.0, 160.0);
        let blocks = (0..6)
            .map(|_| {
                let x = rng.range(0.0, w as f32);
                let y = rng.range(0.0, h as f32);
                (x, y, x + rng.range(30.0, 200.0), y + rng.range(30.0, 200.0), rng.range(-50.0, 50.0))
            })
            .collect();
        Background { left, right, width: w as f32, blocks }
    }

    fn at(&self, fx: f32, fy: f32) -> f32 {
        let t = fx / self.width;
        let mut v = self.left * (1.0 - t) + self.right * t;
        for &(x0, y0, x1, y1, dv) in &self.blocks {
            if fx >= x0 && fx < x1 && fy >= y0 && fy < y1 {
                v += dv;
            }
        }
        v
    }
}

/// Glare, focus blur and motion blur, as the scene asks.
fn impair(img: &mut [f32], scene: &Scene, n: f32) {
    let (w, h) = (scene.width, scene.height);
    let s = scene.px_per_module;
    if scene.glare > 0.0 {
        let (cx, cy) = (scene.cx * w as f32, scene.cy * h as f32);
        let (gx, gy) = (cx + scene.glare_dx * n * s, cy + scene.glare_dy * n * s);
        let r2 = (n * s * 0.35).powi(2);
        for y in 0..h {
            for x in 0..w {
                let d2 = (x as f32 - gx).powi(2) + (y as f32 - gy).powi(2);
                img[y * w + x] += scene.glare * (-d2 / r2).exp();
            }
        }
    }
    if scene.blur_sigma > 0.3 {
        gaussian_blur(img, w, h, scene.blur_sigma);
    }
    if scene.motion_px >= 1.0 {
        motion_blur(img, w, h, scene.motion_px, scene.motion_angle);
    }
}

type Mat3 = [[f32; 3]; 3];

fn mul3(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn invert3(m: &Mat3) -> Mat3 {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let c = |a: usize, b: usize, c: usize, d: usize| m[a][b] * m[c][d] - m[a][d] * m[c][b];
    [
        [c(1, 1, 2, 2) / det, -c(0, 1, 2, 2) / det, c(0, 1, 1, 2) / det],
        [-c(1, 0, 2, 2) / det, c(0, 0, 2, 2) / det, -c(0, 0, 1, 2) / det],
        [c(1, 0, 2, 1) / det, -c(0, 0, 2, 1) / det, c(0, 0, 1, 1) / det],
    ]
}

fn gaussian_blur(img: &mut [f32], w: usize, h: usize, sigma: f32) {
    let r = (sigma * 3.0).ceil() as isize;
    let kernel: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / sum).collect();
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            tmp[y * w + x] = kernel
                .iter()
                .enumerate()
                .map(|(i, k)| k * img[y * w + (x as isize + i as isize - r).clamp(0, w as isize - 1) as usize])
                .sum();
        }
    }
    for y in 0..h {
        for x in 0..w {
            img[y * w + x] = kernel
                .iter()
                .enumerate()
                .map(|(i, k)| k * tmp[(y as isize + i as isize - r).clamp(0, h as isize - 1) as usize * w + x])
                .sum();
        }
    }
}

fn motion_blur(img: &mut [f32], w: usize, h: usize, length: f32, angle: f32) {
    let steps = length.round().max(1.0) as usize + 1;
    let (dx, dy) = (angle.cos(), angle.sin());
    let src = img.to_vec();
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for i in 0..steps {
                let t = i as f32 - (steps - 1) as f32 / 2.0;
                let sx = (x as f32 + t * dx).round().clamp(0.0, (w - 1) as f32) as usize;
                let sy = (y as f32 + t * dy).round().clamp(0.0, (h - 1) as f32) as usize;
                acc += src[sy * w + sx];
            }
            img[y * w + x] = acc / steps as f32;
        }
    }
}

fn jpeg_round_trip(frame: &GrayBuf, quality: u8) -> GrayBuf {
    let mut bytes = Vec::new();
    let img = image::GrayImage::from_raw(frame.width as u32, frame.height as u32, frame.pixels.clone())
        .expect("buffer matches its size");
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality);
    if img.write_with_encoder(encoder).is_err() {
        return frame.clone();
    }
    match image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg) {
        Ok(decoded) => GrayBuf::from_image(&decoded.to_luma8()),
        Err(_) => frame.clone(),
    }
}

/// A set of frames of one [`Level`]: pass texts with random scenes, from one seed.
pub fn level_frames(texts: &[String], count: usize, seed: u64, level: Level) -> Vec<(String, Scene, GrayBuf)> {
    frames_of(texts, count, seed, |rng| level.scene(rng))
}

/// A set of frames: pass texts with random scenes, from one seed.
pub fn frames(texts: &[String], count: usize, seed: u64, difficulty: f32) -> Vec<(String, Scene, GrayBuf)> {
    frames_of(texts, count, seed, |rng| Scene::random(rng, difficulty))
}

fn frames_of(
    texts: &[String],
    count: usize,
    seed: u64,
    mut scene_of: impl FnMut(&mut Rng) -> Scene,
) -> Vec<(String, Scene, GrayBuf)> {
    let mut rng = Rng::new(seed);
    (0..count)
        .filter_map(|i| {
            let text = texts[i % texts.len()].clone();
            let modules = Modules::of(&text)?;
            let mut scene = scene_of(&mut rng);
            scene.keep_in_frame(modules.size);
            let frame = render(&modules, &scene, rng.next_u64());
            Some((text, scene, frame))
        })
        .collect()
}

/// Pass texts for test frames: the testkit's resident pass (key byte 7,
/// the test-vector time) with random ids and units, so frames are
/// reproducible.
pub fn pass_texts(count: usize, seed: u64) -> Vec<String> {
    use shoumen_protocol::{pass, testkit, PassId};
    let mut rng = Rng::new(seed);
    let key = testkit::key_from_byte(7);
    (0..count)
        .map(|i| {
            let mut claims = testkit::resident_claims(testkit::VECTOR_NOW);
            claims.pass_id = PassId(rng.next_u64().to_le_bytes());
            claims.unit = format!("{}-{}", 1 + i % 20, 101 + (rng.next_u64() % 1800));
            pass::issue(&claims, &key).expect("generator claims are valid")
        })
        .collect()
}

/// A person walking up to the gate and holding out a pass: frames at 30 fps
/// of one [`Level::Hard`] scene. The code comes into view on frame 0 at 70 %
/// of its final size, moving (motion blur), reaches `px_per_module` by
/// frame 10 (a third of a second) and is then held with a hand's tremor.
pub struct Approach {
    pub text: String,
    modules: Modules,
    base: Scene,
    seed: u64,
}

impl Approach {
    /// Frames it takes to come close.
    const ARRIVE: usize = 10;

    pub fn new(text: &str, px_per_module: f32, seed: u64) -> Option<Approach> {
        let modules = Modules::of(text)?;
        let mut base = Scene::hard(&mut Rng::new(seed));
        base.px_per_module = px_per_module;
        base.keep_in_frame(modules.size);
        Some(Approach { text: text.to_string(), modules, base, seed })
    }

    /// The scene before the approach and the tremor.
    pub fn scene(&self) -> &Scene {
        &self.base
    }

    pub fn frame(&self, i: usize) -> GrayBuf {
        let mut rng = Rng::new(self.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9));
        let mut scene = self.base.clone();
        let arriving = 1.0 - (i.min(Self::ARRIVE) as f32 / Self::ARRIVE as f32);
        scene.px_per_module = self.base.px_per_module * (1.0 - 0.3 * arriving);
        // Coming closer smears the code; once held, a frame in five catches
        // the hand's tremor as a pixel or two of motion blur.
        let tremor = if rng.chance(0.2) { rng.range(1.0, 2.0) } else { 0.0 };
        scene.motion_px = if arriving > 0.0 { self.base.motion_px + 4.0 * arriving } else { tremor };
        scene.cx += rng.normal() * 1.5 / scene.width as f32;
        scene.cy += rng.normal() * 1.5 / scene.height as f32;
        scene.rotation += rng.normal() * 0.01;
        scene.keep_in_frame(self.modules.size);
        render(&self.modules, &scene, rng.next_u64())
    }
}
