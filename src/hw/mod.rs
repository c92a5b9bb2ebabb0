//! Hardware ports: one trait per device, a real adapter and a simulated twin
//! for each, chosen in one place ([`build`]) from the config.
//!
//! A hardware fault never opens the gate: the gate core only ever sees
//! faults as events, and only a committed `OpenGate` effect reaches the relay.

pub mod camera;
pub mod gpio;
pub mod i2c;
pub mod probe;
pub mod sim;
pub mod thermometer;

use std::fmt;

use thiserror::Error;

use crate::gate::{Sound, TempReading};

/// Pixel layout of a camera frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// 8-bit grayscale.
    Luma,
    /// 24-bit RGB.
    Rgb,
    /// YUYV 4:2:2, as most UVC cameras deliver uncompressed.
    Yuyv,
    /// A JPEG image.
    Mjpeg,
}

/// One camera frame.
#[derive(Clone)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    pub data: Vec<u8>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({}×{} {:?}, {} bytes)", self.width, self.height, self.format, self.data.len())
    }
}

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
    /// One complete measurement (several samples, median, validity checks).
    fn measure(&mut self) -> TempReading;
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
    if simulated {
        let source: Box<dyn FrameSource> = match &camera.replay_dir {
            Some(dir) => Box::new(camera::FolderSource::open(dir, camera.fps).map_err(OpenError::Camera)?),
            None => Box::new(sim::SimCamera::new(world.clone(), 15)),
        };
        return Ok(Devices {
            camera: source,
            thermometer: Box::new(sim::SimThermometer::new(world.clone(), thermometer.clone())),
            pins: Box::new(sim::SimPins::new(world.clone())),
        });
    }
    // GPIO first: without the relay the kiosk cannot do its job at all.
    let pins = Box::new(gpio::RppalPins::open(io)?);
    let thermometer = Box::new(thermometer::PiThermometer::new(thermometer.clone()));
    let camera = open_camera(camera)?;
    Ok(Devices { camera, thermometer, pins })
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
