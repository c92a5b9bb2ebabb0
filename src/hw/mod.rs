//! Hardware ports: one trait per device, a real adapter and a simulated twin
//! for each, chosen in one place ([`open`], [`open_thermometer`], [`open_pins`]) from
//! the config.
//!
//! A hardware fault never opens the gate: the gate core only ever sees
//! faults as events, and only a committed `OpenGate` effect reaches the relay.

pub mod audio;
pub mod camera;
pub mod gpio;
pub mod i2c;
pub mod probe;
pub mod sim;
pub mod thermometer;

use thiserror::Error;

use crate::gate::{Sound, TempReading};

pub use crate::frame::{Frame, PixelFormat};

#[derive(Debug, Error, Clone, PartialEq)]
pub enum HwError {
    #[error("camera is not available: {0}")]
    CameraGone(String),
    #[error("camera frame is damaged: {0}")]
    BadFrame(String),
    #[error("gate relay failed: {0}")]
    Relay(String),
}

/// Something that delivers camera frames.
pub trait FrameSource: Send {
    /// Blocks until the next frame; an error means the camera is gone (the
    /// caller reconnects with backoff) or the frame was unusable.
    fn next_frame(&mut self) -> Result<Frame, HwError>;
}

/// A forehead thermometer.
pub trait Thermometer: Send {
    /// One complete measurement (several samples, median, validity checks)
    /// with its details, for `shoumen hw thermometer`.
    fn measure_outcome(&mut self) -> Result<thermometer::Outcome, thermometer::SensorError>;
    /// The same, as the gate core sees it.
    fn measure(&mut self) -> TempReading {
        thermometer::to_reading(self.measure_outcome())
    }
    /// A quick check that the sensor answers (one ambient read); the error
    /// says what to check.
    fn check(&mut self) -> Result<(), String>;
    /// The calibration offset of the skin → body model (°C).
    fn offset_c(&self) -> f32;
    fn set_offset_c(&mut self, offset_c: f32);
}

/// The gate lock relay.
pub trait GateRelay: Send {
    /// Unlocks for `ms` milliseconds, then locks again by itself.
    fn pulse(&mut self, ms: u32) -> Result<(), HwError>;
    /// Forces the safe (locked) level, e.g. on shutdown.
    fn lock(&mut self);
}

/// LEDs and buzzer.
pub trait Indicator: Send {
    fn signal(&mut self, sound: Sound);
}

/// The devices a kiosk runs with, real or simulated, chosen in one place.
pub struct Devices {
    pub camera: Box<dyn FrameSource>,
    /// The inward camera of a "both" kiosk, if configured.
    pub inward_camera: Option<Box<dyn FrameSource>>,
    pub thermometer: Box<dyn Thermometer>,
    pub pins: Box<dyn gpio::Pins>,
}

#[derive(Debug, Error)]
pub enum OpenError {
    #[error(transparent)]
    Gpio(#[from] gpio::GpioError),
    #[error("this build has no camera support: build with `--features camera`, or run with --sim")]
    NoCameraSupport,
    #[error(transparent)]
    Camera(HwError),
}

/// Opens the real devices, or their twins on `world` when `simulated`.
/// `thermometer` already carries any stored calibration.
pub fn open(
    simulated: bool,
    camera: &camera::CameraConfig,
    thermometer: &thermometer::ThermometerConfig,
    io: &gpio::IoConfig,
    world: &sim::World,
) -> Result<Devices, OpenError> {
    // GPIO first: without the relay the kiosk cannot do its job at all.
    let pins = open_pins(simulated, io, world)?;
    let thermometer = open_thermometer(simulated, thermometer, world);
    let inward_camera = match &camera.inward {
        Some(inward) => Some(open_camera_of(simulated, inward, world, true)?),
        None => None,
    };
    let camera = open_camera_of(simulated, camera, world, false)?;
    Ok(Devices { camera, inward_camera, thermometer, pins })
}

fn open_camera_of(
    simulated: bool,
    config: &camera::CameraConfig,
    world: &sim::World,
    inward: bool,
) -> Result<Box<dyn FrameSource>, OpenError> {
    if !simulated {
        return open_camera(config);
    }
    Ok(match (&config.replay_dir, inward) {
        (Some(dir), _) => Box::new(camera::FolderSource::open(dir, config.fps).map_err(OpenError::Camera)?),
        (None, false) => Box::new(sim::SimCamera::new(world.clone(), 15)),
        (None, true) => Box::new(sim::SimCamera::inward(world.clone(), 15)),
    })
}

/// The MLX90614 on the Pi's I2C bus (opened on first use), or its twin.
pub fn open_thermometer(
    simulated: bool,
    config: &thermometer::ThermometerConfig,
    world: &sim::World,
) -> Box<dyn Thermometer> {
    if simulated {
        Box::new(sim::SimThermometer::new(world.clone(), config.clone()))
    } else {
        Box::new(thermometer::PiThermometer::new(config.clone()))
    }
}

/// The loudspeaker for spoken prompts: ALSA on a build with the `audio`
/// feature, the twin that writes down what was said when simulated.
pub fn open_speaker(simulated: bool, world: &sim::World) -> Box<dyn audio::Speaker> {
    if simulated {
        return Box::new(audio::SimSpeaker::new(world.clone()));
    }
    #[cfg(feature = "audio")]
    match audio::AlsaSpeaker::spawn() {
        Ok(s) => return Box::new(s),
        Err(e) => tracing::error!(error = %e, "cannot start the audio thread; the kiosk stays silent"),
    }
    Box::new(audio::NoSpeaker)
}

/// The gate's GPIO pins through rppal, or their twins.
pub fn open_pins(
    simulated: bool,
    io: &gpio::IoConfig,
    world: &sim::World,
) -> Result<Box<dyn gpio::Pins>, gpio::GpioError> {
    if simulated {
        Ok(Box::new(sim::SimPins::new(world.clone())))
    } else {
        Ok(Box::new(gpio::RppalPins::open(io)?))
    }
}

#[cfg(feature = "camera")]
fn open_camera(config: &camera::CameraConfig) -> Result<Box<dyn FrameSource>, OpenError> {
    // Opening is lazy: a camera plugged in later is picked up by the retries.
    Ok(Box::new(camera::UvcCamera::new(config.clone())))
}

#[cfg(not(feature = "camera"))]
fn open_camera(_: &camera::CameraConfig) -> Result<Box<dyn FrameSource>, OpenError> {
    Err(OpenError::NoCameraSupport)
}
