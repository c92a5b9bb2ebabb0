//! The Pi's I2C bus as an `embedded_hal::i2c::I2c`.
//!
//! rppal's own embedded-hal implementation runs a write-then-read as two
//! separate transfers with a STOP in between. The MLX90614 (SMBus "read
//! word") needs a repeated START instead, so a write followed by a read goes
//! through rppal's combined `write_read` (one I2C_RDWR ioctl) here.

use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};
use thiserror::Error;

/// An I2C error with the kernel's errno mapped to embedded-hal's kinds.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct PiI2cError(#[from] pub rppal::i2c::Error);

impl embedded_hal::i2c::Error for PiI2cError {
    fn kind(&self) -> ErrorKind {
        let rppal::i2c::Error::Io(io) = &self.0 else { return ErrorKind::Other };
        match io.raw_os_error() {
            // EREMOTEIO and ENXIO: nobody acknowledged the address or data.
            Some(libc::EREMOTEIO) | Some(libc::ENXIO) => ErrorKind::NoAcknowledge(NoAcknowledgeSource::Unknown),
            Some(libc::EAGAIN) => ErrorKind::ArbitrationLoss,
            Some(libc::EIO) | Some(libc::ETIMEDOUT) => ErrorKind::Bus,
            _ => ErrorKind::Other,
        }
    }
}

pub struct PiI2c {
    bus: rppal::i2c::I2c,
    address: Option<u8>,
}

impl PiI2c {
    /// Opens `/dev/i2c-<bus>`. `timeout_ms` bounds a stuck (clock-stretched)
    /// transfer in the kernel driver, so a hung sensor gives an error, not a hang.
    pub fn open(bus: u8, timeout_ms: u32) -> Result<PiI2c, rppal::i2c::Error> {
        let i2c = rppal::i2c::I2c::with_bus(bus)?;
        // Not every adapter supports a timeout; the default one still applies.
        let _ = i2c.set_timeout(timeout_ms);
        Ok(PiI2c { bus: i2c, address: None })
    }

    /// The bus clock in Hz, as the kernel reports it.
    pub fn clock_speed(&self) -> Option<u32> {
        self.bus.clock_speed().ok()
    }

    fn select(&mut self, address: u8) -> Result<(), PiI2cError> {
        if self.address != Some(address) {
            self.bus.set_slave_address(u16::from(address))?;
            self.address = Some(address);
        }
        Ok(())
    }
}

impl ErrorType for PiI2c {
    type Error = PiI2cError;
}

impl I2c for PiI2c {
    fn transaction(&mut self, address: u8, operations: &mut [Operation<'_>]) -> Result<(), PiI2cError> {
        self.select(address)?;
        match operations {
            [Operation::Write(w), Operation::Read(r)] => self.bus.write_read(w, r)?,
            ops => {
                for op in ops {
                    match op {
                        Operation::Read(buf) => {
                            self.bus.read(buf)?;
                        }
                        Operation::Write(buf) => {
                            self.bus.write(buf)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
