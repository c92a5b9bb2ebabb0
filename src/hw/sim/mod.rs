//! Simulated twins of every device, sharing one [`SimWorld`]: what is held up
//! to the camera, who stands at the thermometer, which faults are on. The
//! demo script, the UI's demo panel and the tests all steer the same world.

pub mod synth;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;

use crate::frame::{Frame, PixelFormat};
use crate::hw::gpio::{Input, Output, Pins};
use crate::hw::thermometer::{self, IrSensor, SensorError, ThermometerConfig};
use crate::hw::{FrameSource, HwError, Thermometer};

/// The simulated surroundings of the kiosk.
#[derive(Debug)]
pub struct SimWorld {
    /// Pass text currently held up to the camera.
    pub shown: Option<String>,
    /// Readings the thermometer returns next, front first; then `body_centi`.
    pub queued_temps: VecDeque<i32>,
    /// Body temperature of whoever stands at the sensor (°C × 100).
    pub body_centi: i32,
    pub subject_present: bool,
    /// Counts presentations: each one gets a new camera scene.
    pub presentation: u64,
    /// How hard the simulated camera's scenes are (0..=1).
    pub scene_difficulty: f32,
    /// Air temperature at the sensor.
    pub ambient_c: f32,
    /// Standard deviation of the sensor noise added to every object sample.
    pub noise_c: f32,
    pub camera_unplugged: bool,
    pub thermometer_fault: bool,
    pub door_open: bool,
    pub exit_pressed: bool,
    /// Output levels as the gate I/O last set them.
    pub relay_unlocked: bool,
    pub green: bool,
    pub red: bool,
    pub buzzer: bool,
    /// How many times the relay has unlocked.
    pub relay_opened: u32,
    /// Pass text held up to the inward camera of a "both" kiosk.
    pub shown_inward: Option<String>,
    /// What the speaker said, "lang/clip", oldest first.
    pub said: Vec<String>,
    /// Frames made beforehand for a presentation (its number): the camera
    /// delivers them in turn instead of rendering a random scene, with no
    /// render time of its own, as a real camera would (the rush-hour
    /// simulation: a hand's tremor from frame to frame).
    pub prepared: Option<(u64, Vec<Frame>)>,
}

impl Default for SimWorld {
    fn default() -> Self {
        SimWorld {
            shown: None,
            queued_temps: VecDeque::new(),
            body_centi: 3650,
            subject_present: true,
            presentation: 0,
            scene_difficulty: 0.3,
            ambient_c: 24.0,
            noise_c: 0.05,
            camera_unplugged: false,
            thermometer_fault: false,
            door_open: false,
            exit_pressed: false,
            relay_unlocked: false,
            green: false,
            red: false,
            buzzer: false,
            relay_opened: 0,
            shown_inward: None,
            said: Vec::new(),
            prepared: None,
        }
    }
}

/// A handle to the shared world.
#[derive(Clone, Default, Debug)]
pub struct World(Arc<Mutex<SimWorld>>);

impl World {
    pub fn new() -> World {
        World::default()
    }

    /// Locks the world. A panic elsewhere while holding the lock leaves the
    /// data usable, so poisoning is ignored rather than spread.
    pub fn lock(&self) -> MutexGuard<'_, SimWorld> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds a pass up to the camera, with the temperatures its holder will
    /// measure (the last one repeats).
    pub fn present(&self, text: &str, temps_centi: &[i32]) {
        let mut w = self.lock();
        w.shown = Some(text.to_string());
        w.presentation += 1;
        w.queued_temps = temps_centi.iter().copied().collect();
        if let Some(&last) = temps_centi.last() {
            w.body_centi = last;
        }
        w.subject_present = true;
    }

    /// Holds a pass up in frames made beforehand ([`SimCamera::frame_of`]):
    /// a person at a distance, with a phone or a card.
    pub fn present_frames(&self, text: &str, temps_centi: &[i32], frames: Vec<Frame>) {
        self.present(text, temps_centi);
        let mut w = self.lock();
        w.prepared = Some((w.presentation, frames));
    }

    /// Takes the pass away from the camera.
    pub fn withdraw(&self) {
        let mut w = self.lock();
        w.shown = None;
        w.shown_inward = None;
        w.presentation += 1;
    }

    /// Holds a pass up to the inward camera of a "both" kiosk (someone
    /// leaving the compound).
    pub fn present_inward(&self, text: &str) {
        let mut w = self.lock();
        w.shown_inward = Some(text.to_string());
        w.presentation += 1;
    }
}

impl crate::ports::DemoControls for World {
    fn present(&self, text: &str, centi: i32) {
        World::present(self, text, &[centi]);
    }

    fn withdraw(&self) {
        World::withdraw(self);
    }

    fn set_body_temperature(&self, centi: i32) {
        self.lock().body_centi = centi;
    }

    fn toggle_camera(&self) -> bool {
        let mut w = self.lock();
        w.camera_unplugged = !w.camera_unplugged;
        w.camera_unplugged
    }

    fn toggle_thermometer(&self) -> bool {
        let mut w = self.lock();
        w.thermometer_fault = !w.thermometer_fault;
        w.thermometer_fault
    }

    fn toggle_door(&self) -> bool {
        let mut w = self.lock();
        w.door_open = !w.door_open;
        w.door_open
    }

    fn set_exit_button(&self, pressed: bool) {
        self.lock().exit_pressed = pressed;
    }

    fn present_inward(&self, text: &str) {
        World::present_inward(self, text);
    }
}

/// Renders the shown pass into camera-like 640×480 frames at a steady rate,
/// with the generator of [`synth`]: each presentation gets its
/// own pose, lighting and blur, as a hand holding up a phone would.
pub struct SimCamera {
    world: World,
    /// The inward camera sees `shown_inward`.
    inward: bool,
    interval: Duration,
    /// The frame for the current presentation, and which one it is.
    cached: Option<(u64, Frame)>,
    /// Frames' size: 640×480, or that of the prepared frames, as a camera
    /// keeps its resolution whatever it sees.
    size: (usize, usize),
    /// Frames delivered so far, to take the prepared ones in turn.
    delivered: usize,
}

impl SimCamera {
    pub fn new(world: World, fps: u32) -> SimCamera {
        SimCamera {
            world,
            inward: false,
            interval: Duration::from_millis(1000 / u64::from(fps.max(1))),
            cached: None,
            size: (640, 480),
            delivered: 0,
        }
    }

    /// The second camera of a "both" kiosk, facing into the compound.
    pub fn inward(world: World, fps: u32) -> SimCamera {
        SimCamera { inward: true, ..SimCamera::new(world, fps) }
    }

    fn render(text: Option<&str>, presentation: u64, difficulty: f32, size: (usize, usize)) -> Frame {
        let mut rng = synth::Rng::new(presentation.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let mut scene = synth::Scene::random(&mut rng, difficulty);
        (scene.width, scene.height) = size;
        let modules = synth::Modules::of(text.unwrap_or("-"));
        let frame = match (text, modules) {
            (Some(_), Some(m)) => {
                scene.keep_in_frame(m.size);
                synth::render(&m, &scene, rng.next_u64())
            }
            // An empty scene: the code far outside the picture.
            (_, m) => {
                scene.cx = -10.0;
                let m = m.or_else(|| synth::Modules::of("-")).expect("a one-character code renders");
                synth::render(&m, &scene, rng.next_u64())
            }
        };
        Frame { width: size.0 as u32, height: size.1 as u32, format: PixelFormat::Luma, data: frame.pixels }
    }

    /// `text` in `scene`, as the camera delivers it: grey, or JPEG of
    /// `mjpeg_quality` as a UVC camera's MJPEG stream (the camera thread
    /// then decodes every frame, as on a kiosk).
    pub fn frame_of(text: &str, scene: &synth::Scene, seed: u64, mjpeg_quality: Option<u8>) -> Option<Frame> {
        let mut scene = scene.clone();
        let modules = synth::Modules::of(text)?;
        scene.keep_in_frame(modules.size);
        let gray = synth::render(&modules, &scene, seed);
        let (width, height) = (scene.width as u32, scene.height as u32);
        let Some(quality) = mjpeg_quality else {
            return Some(Frame { width, height, format: PixelFormat::Luma, data: gray.pixels });
        };
        let mut data = Vec::new();
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut data, quality);
        image::ImageEncoder::write_image(encoder, &gray.pixels, width, height, image::ExtendedColorType::L8).ok()?;
        Some(Frame { width, height, format: PixelFormat::Mjpeg, data })
    }
}

impl FrameSource for SimCamera {
    fn next_frame(&mut self) -> Result<Frame, HwError> {
        std::thread::sleep(self.interval);
        let (unplugged, shown, presentation, difficulty, prepared) = {
            let w = self.world.lock();
            let shown = if self.inward { w.shown_inward.clone() } else { w.shown.clone() };
            let prepared = w.prepared.as_ref().filter(|(p, f)| *p == w.presentation && !f.is_empty());
            let prepared = prepared.filter(|_| !self.inward && shown.is_some());
            let frame = prepared.map(|(_, frames)| frames[self.delivered % frames.len()].clone());
            (w.camera_unplugged, shown, w.presentation, w.scene_difficulty, frame)
        };
        self.delivered += 1;
        if unplugged {
            self.cached = None;
            return Err(HwError::CameraGone("simulated camera unplugged".into()));
        }
        if let Some(frame) = prepared {
            self.size = (frame.width as usize, frame.height as usize);
            return Ok(frame);
        }
        match &self.cached {
            Some((p, frame)) if *p == presentation => Ok(frame.clone()),
            _ => {
                let frame = Self::render(shown.as_deref(), presentation, difficulty, self.size);
                self.cached = Some((presentation, frame.clone()));
                Ok(frame)
            }
        }
    }
}

/// The MLX90614's two registers as the simulated world would read.
pub struct SimIrSensor {
    world: World,
    model: thermometer::SkinModel,
    /// Body temperature of the person for the current measurement.
    body_c: f32,
}

impl IrSensor for SimIrSensor {
    fn object_c(&mut self) -> Result<f32, SensorError> {
        let w = self.world.lock();
        if w.thermometer_fault {
            return Err(SensorError::Nack { address: thermometer::DEFAULT_ADDRESS });
        }
        let noise = if w.noise_c > 0.0 { rand::thread_rng().gen_range(-w.noise_c..w.noise_c) * 1.7 } else { 0.0 };
        let object = if w.subject_present { self.model.skin_c(self.body_c, w.ambient_c) } else { w.ambient_c + 0.3 };
        Ok(object + noise)
    }

    fn ambient_c(&mut self) -> Result<f32, SensorError> {
        let w = self.world.lock();
        if w.thermometer_fault {
            return Err(SensorError::Nack { address: thermometer::DEFAULT_ADDRESS });
        }
        Ok(w.ambient_c)
    }
}

/// The real measurement algorithm ([`thermometer::measure`]) over the
/// simulated sensor, with real sample timing.
pub struct SimThermometer {
    sensor: SimIrSensor,
    config: ThermometerConfig,
}

impl SimThermometer {
    pub fn new(world: World, config: ThermometerConfig) -> SimThermometer {
        let model = config.model;
        SimThermometer { sensor: SimIrSensor { world, model, body_c: 36.5 }, config }
    }
}

impl Thermometer for SimThermometer {
    fn measure_outcome(&mut self) -> Result<thermometer::Outcome, SensorError> {
        {
            let mut w = self.sensor.world.lock();
            let body = w.body_centi;
            self.sensor.body_c = w.queued_temps.pop_front().unwrap_or(body) as f32 / 100.0;
        }
        thermometer::measure(&mut self.sensor, &mut thermometer::StdDelay, &self.config)
    }

    fn check(&mut self) -> Result<(), String> {
        self.sensor.ambient_c().map(|_| ()).map_err(|e| e.to_string())
    }

    fn offset_c(&self) -> f32 {
        self.config.model.offset_c
    }

    fn set_offset_c(&mut self, offset_c: f32) {
        self.config.model.offset_c = offset_c;
    }
}

/// Gate I/O pins wired to the simulated world.
pub struct SimPins {
    world: World,
}

impl SimPins {
    pub fn new(world: World) -> SimPins {
        SimPins { world }
    }
}

impl Pins for SimPins {
    fn set(&mut self, output: Output, active: bool) {
        let mut w = self.world.lock();
        match output {
            Output::Relay => {
                if active && !w.relay_unlocked {
                    w.relay_opened += 1;
                }
                w.relay_unlocked = active;
            }
            Output::Green => w.green = active,
            Output::Red => w.red = active,
            Output::Buzzer => w.buzzer = active,
        }
    }

    fn get(&mut self, input: Input) -> bool {
        let w = self.world.lock();
        match input {
            Input::Presence => w.subject_present && w.shown.is_some(),
            Input::Door => w.door_open,
            Input::Exit => w.exit_pressed,
        }
    }
}
