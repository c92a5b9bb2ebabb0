//! The MLX90614 forehead thermometer: sampling, validity checks and the
//! skin → body temperature model.
//!
//! The sensor sees skin, not the body's core. A measurement takes several
//! object/ambient sample pairs, uses their medians, rejects readings when
//! nobody is in front of the sensor, and converts skin to body temperature
//! with the heat-balance model of Pompei (US patent 6,056,435):
//!
//! ```text
//! body = skin + k · (skin − ambient) + offset
//! ```
//!
//! `k` = 0.13 is the patent's coefficient for normal skin perfusion; it
//! raises a cool forehead in a cold gateway more than a warm one indoors,
//! which is what Chen et al. (IJERPH 2022, 19(23):15883) measured between
//! 14 and 32 °C ambient. `offset` starts at 0 and is set by calibration
//! against a reference thermometer (`shoumen hw thermometer --calibrate C`).

use std::time::Duration;

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::{Error as _, ErrorKind, I2c};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::gate::TempReading;

/// The sensor's RAM registers (datasheet table 9).
pub mod reg {
    pub const TA: u8 = 0x06;
    pub const TOBJ1: u8 = 0x07;
}

/// The factory SMBus address.
pub const DEFAULT_ADDRESS: u8 = 0x5A;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThermometerConfig {
    /// I2C bus number: 1 is GPIO2 (SDA, pin 3) / GPIO3 (SCL, pin 5).
    pub bus: u8,
    /// 7-bit address; 0x5A unless re-programmed.
    pub address: u8,
    /// Sample pairs per measurement.
    pub samples: u8,
    /// Time between samples. The sensor's output settles every ~100 ms with
    /// its factory filter settings, so samples closer than that repeat.
    pub sample_interval_ms: u32,
    /// Extra attempts for a read that fails (NACK, PEC, error flag).
    pub read_retries: u8,
    /// Kernel timeout for one I2C transfer (a stuck bus gives an error).
    pub bus_timeout_ms: u32,
    /// Skin colder than this means nobody is in front of the sensor.
    pub min_skin_c: f32,
    /// Skin hotter than this is not a forehead (a cup of tea, a lamp).
    pub max_skin_c: f32,
    /// The object must be this much warmer than the air to be a person.
    pub min_above_ambient_c: f32,
    /// Samples spread wider than this: the person moved; measure again.
    pub max_spread_c: f32,
    pub model: SkinModel,
}

impl Default for ThermometerConfig {
    fn default() -> Self {
        ThermometerConfig {
            bus: 1,
            address: DEFAULT_ADDRESS,
            samples: 5,
            sample_interval_ms: 100,
            read_retries: 2,
            bus_timeout_ms: 100,
            min_skin_c: 30.0,
            max_skin_c: 42.5,
            min_above_ambient_c: 1.5,
            max_spread_c: 1.0,
            model: SkinModel::default(),
        }
    }
}

/// `body = skin + k · (skin − ambient) + offset_c`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SkinModel {
    pub k: f32,
    pub offset_c: f32,
}

impl Default for SkinModel {
    fn default() -> Self {
        SkinModel { k: 0.13, offset_c: 0.0 }
    }
}

impl SkinModel {
    pub fn body_c(&self, skin_c: f32, ambient_c: f32) -> f32 {
        skin_c + self.k * (skin_c - ambient_c) + self.offset_c
    }

    /// The skin temperature that reads as `body_c` (for the simulator).
    pub fn skin_c(&self, body_c: f32, ambient_c: f32) -> f32 {
        (body_c - self.offset_c + self.k * ambient_c) / (1.0 + self.k)
    }
}

/// Why a read failed. Each message says what to check.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum SensorError {
    #[error(
        "no acknowledge from the thermometer at I2C address {address:#04x}: check its wiring \
         (VIN 3.3 V, GND, SDA = GPIO2 pin 3, SCL = GPIO3 pin 5) and run `i2cdetect -y 1`"
    )]
    Nack { address: u8 },
    #[error(
        "PEC checksum mismatch reading register {register:#04x}: noise on the bus or a clock too fast \
         for this sensor; set dtparam=i2c_arm_baudrate=50000 in /boot/firmware/config.txt"
    )]
    Pec { register: u8 },
    #[error("the thermometer flags an error in register {register:#04x} (bit 15 set): power-cycle it; replace it if this persists")]
    ErrorFlag { register: u8 },
    #[error("I2C bus error ({kind:?}) reading register {register:#04x}: check wiring and pull-ups")]
    Bus { register: u8, kind: ErrorKind },
    #[error("cannot open the I2C bus: {0}")]
    Open(String),
}

/// Raw access to the sensor's two temperatures.
pub trait IrSensor {
    fn object_c(&mut self) -> Result<f32, SensorError>;
    fn ambient_c(&mut self) -> Result<f32, SensorError>;
}

/// The MLX90614 through eldruin's `mlx9061x` driver.
pub struct Mlx90614<I2C> {
    dev: mlx9061x::Mlx9061x<I2C, mlx9061x::ic::Mlx90614>,
    address: u8,
}

/// Raw values at or above 0x8000 have the error flag (bit 15) set; the
/// driver converts without looking, so the flag shows up as ≥ 382.2 °C.
const ERROR_FLAG_C: f32 = 0x8000 as f32 * 0.02 - 273.15;

impl<I2C: I2c> Mlx90614<I2C> {
    pub fn new(i2c: I2C, address: u8) -> Result<Self, SensorError> {
        let slave = if address == DEFAULT_ADDRESS {
            mlx9061x::SlaveAddr::Default
        } else {
            mlx9061x::SlaveAddr::Alternative(address)
        };
        // 5 ms EEPROM write delay: we never write EEPROM, the driver wants one.
        let dev = mlx9061x::Mlx9061x::new_mlx90614(i2c, slave, 5)
            .map_err(|_| SensorError::Open(format!("invalid I2C address {address:#04x}")))?;
        Ok(Mlx90614 { dev, address })
    }

    fn map(&self, register: u8, r: Result<f32, mlx9061x::Error<I2C::Error>>) -> Result<f32, SensorError> {
        match r {
            Ok(c) if c >= ERROR_FLAG_C - 0.01 => Err(SensorError::ErrorFlag { register }),
            Ok(c) => Ok(c),
            Err(mlx9061x::Error::ChecksumMismatch) => Err(SensorError::Pec { register }),
            Err(mlx9061x::Error::I2C(e)) => match e.kind() {
                ErrorKind::NoAcknowledge(_) => Err(SensorError::Nack { address: self.address }),
                kind => Err(SensorError::Bus { register, kind }),
            },
            Err(mlx9061x::Error::InvalidInputData) => Err(SensorError::Bus { register, kind: ErrorKind::Other }),
        }
    }

    pub fn release(self) -> I2C {
        self.dev.destroy()
    }
}

impl<I2C: I2c> IrSensor for Mlx90614<I2C> {
    fn object_c(&mut self) -> Result<f32, SensorError> {
        let r = self.dev.object1_temperature();
        self.map(reg::TOBJ1, r)
    }

    fn ambient_c(&mut self) -> Result<f32, SensorError> {
        let r = self.dev.ambient_temperature();
        self.map(reg::TA, r)
    }
}

/// One finished measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    pub skin_c: f32,
    pub ambient_c: f32,
    pub body_c: f32,
    /// Reads that failed and were retried.
    pub retries: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    Body(Measurement),
    /// Nobody (or nothing human) in front of the sensor, or they moved.
    NoSubject {
        skin_c: f32,
        ambient_c: f32,
    },
}

fn with_retries<T>(
    retries: u8,
    delay: &mut impl DelayNs,
    count: &mut u32,
    mut read: impl FnMut() -> Result<T, SensorError>,
) -> Result<T, SensorError> {
    let mut attempt = 0;
    loop {
        match read() {
            Ok(v) => return Ok(v),
            Err(e) if attempt < retries => {
                tracing::debug!(error = %e, attempt, "thermometer read failed; retrying");
                attempt += 1;
                *count += 1;
                delay.delay_ms(5);
            }
            Err(e) => return Err(e),
        }
    }
}

fn median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Takes one measurement: `samples` pairs, medians, validity checks, model.
/// The number of bus transfers is bounded by `samples × 2 × (1 + retries)`.
pub fn measure<S: IrSensor, D: DelayNs>(
    sensor: &mut S,
    delay: &mut D,
    cfg: &ThermometerConfig,
) -> Result<Outcome, SensorError> {
    let n = usize::from(cfg.samples.max(1));
    let (mut objects, mut ambients) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut retries = 0;
    for i in 0..n {
        if i > 0 {
            delay.delay_ms(cfg.sample_interval_ms);
        }
        objects.push(with_retries(cfg.read_retries, delay, &mut retries, || sensor.object_c())?);
        ambients.push(with_retries(cfg.read_retries, delay, &mut retries, || sensor.ambient_c())?);
    }
    let spread = objects.iter().copied().fold(f32::MIN, f32::max) - objects.iter().copied().fold(f32::MAX, f32::min);
    let skin_c = median(&mut objects);
    let ambient_c = median(&mut ambients);
    let nobody = skin_c < cfg.min_skin_c
        || skin_c > cfg.max_skin_c
        || skin_c - ambient_c < cfg.min_above_ambient_c
        || spread > cfg.max_spread_c;
    if nobody {
        return Ok(Outcome::NoSubject { skin_c, ambient_c });
    }
    let body_c = cfg.model.body_c(skin_c, ambient_c);
    Ok(Outcome::Body(Measurement { skin_c, ambient_c, body_c, retries }))
}

/// Converts an outcome for the gate core.
pub fn to_reading(result: Result<Outcome, SensorError>) -> TempReading {
    match result {
        Ok(Outcome::Body(m)) => TempReading::Body((m.body_c * 100.0).round() as i32),
        Ok(Outcome::NoSubject { .. }) => TempReading::NoSubject,
        Err(e) => TempReading::Fault(e.to_string()),
    }
}

/// Sleeps for real; the tests use embedded-hal-mock's no-op delay.
pub struct StdDelay;

impl DelayNs for StdDelay {
    fn delay_ns(&mut self, ns: u32) {
        std::thread::sleep(Duration::from_nanos(u64::from(ns)));
    }
}

/// Opens the real sensor on the Pi.
pub fn open_mlx90614(cfg: &ThermometerConfig) -> Result<Mlx90614<super::i2c::PiI2c>, SensorError> {
    let bus = super::i2c::PiI2c::open(cfg.bus, cfg.bus_timeout_ms)
        .map_err(|e| SensorError::Open(explain_i2c_open(cfg.bus, &e)))?;
    Mlx90614::new(bus, cfg.address)
}

/// Turns an I2C open error into what to do about it.
pub fn explain_i2c_open(bus: u8, e: &rppal::i2c::Error) -> String {
    let dev = format!("/dev/i2c-{bus}");
    match e {
        rppal::i2c::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => format!(
            "{dev} does not exist: enable I2C with `dtparam=i2c_arm=on,i2c_arm_baudrate=50000` in \
             /boot/firmware/config.txt (or `raspi-config nonint do_i2c 0`) and reboot; \
             on a machine that is not a Pi, run with --sim"
        ),
        rppal::i2c::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            format!("no permission to open {dev}: add the kiosk's user to the `i2c` group (`sudo adduser shoumen i2c`)")
        }
        other => format!("cannot open {dev}: {other}"),
    }
}

#[cfg(test)]
mod tests;

/// The Pi's MLX90614, opened on first use and reopened after a fault, so a
/// sensor plugged in later starts working without a restart.
pub struct PiThermometer {
    config: ThermometerConfig,
    sensor: Option<Mlx90614<super::i2c::PiI2c>>,
}

impl PiThermometer {
    pub fn new(config: ThermometerConfig) -> PiThermometer {
        PiThermometer { config, sensor: None }
    }
}

impl super::Thermometer for PiThermometer {
    fn measure_outcome(&mut self) -> Result<Outcome, SensorError> {
        if self.sensor.is_none() {
            self.sensor = Some(open_mlx90614(&self.config)?);
        }
        let Some(sensor) = self.sensor.as_mut() else { unreachable!("opened above") };
        let result = measure(sensor, &mut StdDelay, &self.config);
        if let Err(e) = &result {
            tracing::warn!(error = %e, "thermometer fault");
            if matches!(e, SensorError::Bus { .. } | SensorError::Nack { .. }) {
                self.sensor = None;
            }
        }
        result
    }

    fn check(&mut self) -> Result<(), String> {
        if self.sensor.is_none() {
            self.sensor = Some(open_mlx90614(&self.config).map_err(|e| e.to_string())?);
        }
        let Some(sensor) = self.sensor.as_mut() else { unreachable!("opened above") };
        sensor.ambient_c().map(|_| ()).map_err(|e| {
            self.sensor = None;
            e.to_string()
        })
    }

    fn offset_c(&self) -> f32 {
        self.config.model.offset_c
    }

    fn set_offset_c(&mut self, offset_c: f32) {
        self.config.model.offset_c = offset_c;
    }
}
