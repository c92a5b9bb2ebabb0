//! `shoumen hw probe`: what hardware is there, what is not, and how to fix it.

use std::path::Path;

use super::gpio::IoConfig;
use super::thermometer::{self, IrSensor, ThermometerConfig};

/// One line of the probe report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub ok: bool,
    pub what: String,
}

fn ok(what: String) -> Finding {
    Finding { ok: true, what }
}

fn bad(what: String) -> Finding {
    Finding { ok: false, what }
}

/// Checks the board, the I2C bus and thermometer, and the GPIO chip.
pub fn probe(t: &ThermometerConfig, io: &IoConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    let model =
        std::fs::read_to_string("/proc/device-tree/model").map(|m| m.trim_end_matches('\0').trim().to_string()).ok();
    match &model {
        Some(m) if m.contains("Raspberry Pi") => out.push(ok(format!("board: {m}"))),
        Some(m) => out.push(bad(format!("board: {m} is not a Raspberry Pi; run the kiosk with --sim"))),
        None => {
            out.push(bad("board: not a Raspberry Pi (no /proc/device-tree/model); there is no Pi I2C or GPIO here. \
             Run `shoumen --sim run` or `shoumen hw --sim …` to use the simulated hardware"
                .into()))
        }
    }

    let dev = format!("/dev/i2c-{}", t.bus);
    if !Path::new(&dev).exists() {
        out.push(bad(format!(
            "I2C: {dev} does not exist. On a Pi enable it: add `dtparam=i2c_arm=on,i2c_arm_baudrate=50000` \
             to /boot/firmware/config.txt (or `sudo raspi-config nonint do_i2c 0`) and reboot"
        )));
    } else {
        match thermometer::open_mlx90614(t) {
            Err(e) => out.push(bad(format!("I2C: {e}"))),
            Ok(mut sensor) => match sensor.ambient_c() {
                Ok(a) => out.push(ok(format!(
                    "thermometer: MLX90614 answers at {:#04x} on {dev} (ambient {a:.2} °C)",
                    t.address
                ))),
                Err(e) => out.push(bad(format!("thermometer: {e}"))),
            },
        }
    }

    match rppal::gpio::Gpio::new() {
        Ok(_) => out.push(ok(format!(
            "GPIO: available; relay on GPIO{}, LEDs GPIO{}/{}, buzzer GPIO{}, presence GPIO{}, door GPIO{}, exit GPIO{}",
            io.relay_pin, io.green_pin, io.red_pin, io.buzzer_pin, io.presence_pin, io.door_pin, io.exit_pin
        ))),
        Err(e) => out.push(bad(format!(
            "GPIO: {}",
            match e {
                rppal::gpio::Error::UnknownModel => "unknown SoC: this machine has no Raspberry Pi GPIO".to_string(),
                rppal::gpio::Error::PermissionDenied(p) =>
                    format!("no permission to open {p}: add the kiosk's user to the `gpio` group"),
                other => other.to_string(),
            }
        ))),
    }
    out
}
