//! Simulated twins of every device, sharing one [`SimWorld`]: what is held up
//! to the camera, who stands at the thermometer, which faults are on. The
//! demo script, the UI's demo panel and the tests all steer the same world.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::gate::{Sound, TempReading};

use super::{Frame, FrameSource, GateRelay, HwError, Indicator, PixelFormat, Thermometer};

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
    pub camera_unplugged: bool,
    pub thermometer_fault: bool,
    /// Every relay pulse so far, in ms.
    pub relay_pulses: Vec<u32>,
    /// The latest signals, newest last (bounded).
    pub sounds: VecDeque<Sound>,
}

impl Default for SimWorld {
    fn default() -> Self {
        SimWorld {
            shown: None,
            queued_temps: VecDeque::new(),
            body_centi: 3650,
            subject_present: true,
            camera_unplugged: false,
            thermometer_fault: false,
            relay_pulses: Vec::new(),
            sounds: VecDeque::new(),
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
        w.queued_temps = temps_centi.iter().copied().collect();
        if let Some(&last) = temps_centi.last() {
            w.body_centi = last;
        }
        w.subject_present = true;
    }

    /// Takes the pass away from the camera.
    pub fn withdraw(&self) {
        self.lock().shown = None;
    }
}

/// Renders the shown pass into 640×480 grayscale frames at a steady rate.
pub struct SimCamera {
    world: World,
    interval: Duration,
    width: u32,
    height: u32,
    cache: HashMap<String, Frame>,
}

impl SimCamera {
    pub fn new(world: World, fps: u32) -> SimCamera {
        SimCamera {
            world,
            interval: Duration::from_millis(1000 / u64::from(fps.max(1))),
            width: 640,
            height: 480,
            cache: HashMap::new(),
        }
    }

    fn render(&mut self, text: Option<String>) -> Frame {
        let (w, h) = (self.width, self.height);
        let key = text.clone().unwrap_or_default();
        if let Some(f) = self.cache.get(&key) {
            return f.clone();
        }
        let mut data = vec![140u8; (w * h) as usize];
        if let Some(text) = text {
            // About 4 px per module: a phone screen at arm's length.
            if let Ok(code) = crate::demo::render_qr(&text, 4) {
                let (cw, ch) = (code.width().min(w), code.height().min(h));
                let (x0, y0) = ((w - cw) / 2, (h - ch) / 2);
                for y in 0..ch {
                    for x in 0..cw {
                        data[((y0 + y) * w + x0 + x) as usize] = code.get_pixel(x, y)[0];
                    }
                }
            }
        }
        let frame = Frame { width: w, height: h, format: PixelFormat::Luma, data };
        if self.cache.len() > 32 {
            self.cache.clear();
        }
        self.cache.insert(key, frame.clone());
        frame
    }
}

impl FrameSource for SimCamera {
    fn next_frame(&mut self) -> Result<Frame, HwError> {
        std::thread::sleep(self.interval);
        let (unplugged, shown) = {
            let w = self.world.lock();
            (w.camera_unplugged, w.shown.clone())
        };
        if unplugged {
            return Err(HwError::CameraGone("simulated camera unplugged".into()));
        }
        Ok(self.render(shown))
    }
}

/// Answers a measurement after a realistic delay.
pub struct SimThermometer {
    world: World,
    delay: Duration,
}

impl SimThermometer {
    pub fn new(world: World, delay: Duration) -> SimThermometer {
        SimThermometer { world, delay }
    }
}

impl Thermometer for SimThermometer {
    fn measure(&mut self) -> TempReading {
        std::thread::sleep(self.delay);
        let mut w = self.world.lock();
        if w.thermometer_fault {
            return TempReading::Fault("simulated: no acknowledge (NACK) from the MLX90614 at 0x5A".into());
        }
        if !w.subject_present {
            return TempReading::NoSubject;
        }
        let body = w.body_centi;
        TempReading::Body(w.queued_temps.pop_front().unwrap_or(body))
    }
}

pub struct SimRelay {
    world: World,
}

impl SimRelay {
    pub fn new(world: World) -> SimRelay {
        SimRelay { world }
    }
}

impl GateRelay for SimRelay {
    fn pulse(&mut self, ms: u32) -> Result<(), HwError> {
        self.world.lock().relay_pulses.push(ms);
        tracing::info!(ms, "simulated relay: gate unlocked");
        Ok(())
    }

    fn lock(&mut self) {}
}

pub struct SimIndicator {
    world: World,
}

impl SimIndicator {
    pub fn new(world: World) -> SimIndicator {
        SimIndicator { world }
    }
}

impl Indicator for SimIndicator {
    fn signal(&mut self, sound: Sound) {
        let mut w = self.world.lock();
        if w.sounds.len() >= 32 {
            w.sounds.pop_front();
        }
        w.sounds.push_back(sound);
    }
}
