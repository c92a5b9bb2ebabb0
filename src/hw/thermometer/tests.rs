//! Byte-level tests against a mocked I2C bus. The register map and the PEC
//! are declared again here, from the datasheet, not taken from the driver.

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
use embedded_hal_mock::eh1::delay::NoopDelay;
use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as T};

use super::*;

const ADDR: u8 = 0x5A;
const TA: u8 = 0x06;
const TOBJ1: u8 = 0x07;

/// SMBus PEC: CRC-8, polynomial x^8 + x^2 + x + 1 (0x07), initial value 0.
fn pec(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ 0x07 } else { crc << 1 };
        }
    }
    crc
}

fn raw(c: f32) -> u16 {
    ((c + 273.15) / 0.02).round() as u16
}

/// A read word transaction answering `value` with a correct PEC.
fn read(register: u8, value: u16) -> T {
    let [lsb, msb] = value.to_le_bytes();
    let p = pec(&[ADDR << 1, register, (ADDR << 1) | 1, lsb, msb]);
    T::write_read(ADDR, vec![register], vec![lsb, msb, p])
}

fn read_bad_pec(register: u8, value: u16) -> T {
    let [lsb, msb] = value.to_le_bytes();
    let p = pec(&[ADDR << 1, register, (ADDR << 1) | 1, lsb, msb]) ^ 0x5A;
    T::write_read(ADDR, vec![register], vec![lsb, msb, p])
}

fn nack(register: u8) -> T {
    T::write_read(ADDR, vec![register], vec![0, 0, 0])
        .with_error(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address))
}

fn samples(object_c: &[f32], ambient_c: f32) -> Vec<T> {
    object_c.iter().flat_map(|&o| [read(TOBJ1, raw(o)), read(TA, raw(ambient_c))]).collect()
}

fn config() -> ThermometerConfig {
    ThermometerConfig { samples: 5, ..ThermometerConfig::default() }
}

fn run(transactions: Vec<T>) -> Result<Outcome, SensorError> {
    let mut bus = I2cMock::new(&transactions);
    let result = {
        let mut sensor = Mlx90614::new(bus.clone(), ADDR).unwrap();
        measure(&mut sensor, &mut NoopDelay, &config())
    };
    bus.done();
    result
}

fn body(outcome: Result<Outcome, SensorError>) -> Measurement {
    match outcome {
        Ok(Outcome::Body(m)) => m,
        other => panic!("expected a body temperature, got {other:?}"),
    }
}

#[test]
fn pec_matches_the_datasheet_example() {
    // MLX90614 datasheet, "read word" example: SA=0x5A, command 0x07,
    // data 0x3AD2 (LSB 0xD2, MSB 0x3A), PEC 0x30.
    assert_eq!(pec(&[0xB4, 0x07, 0xB5, 0xD2, 0x3A]), 0x30);
}

#[test]
fn normal_forehead_gives_a_body_temperature_from_the_median() {
    let m = body(run(samples(&[34.9, 34.8, 35.0, 34.9, 34.95], 24.0)));
    assert!((m.skin_c - 34.9).abs() < 0.02, "{m:?}");
    assert!((m.ambient_c - 24.0).abs() < 0.02);
    // 34.9 + 0.13 × 10.9 = 36.32
    assert!((m.body_c - 36.32).abs() < 0.03, "{m:?}");
    assert_eq!(m.retries, 0);
}

#[test]
fn warm_forehead_reads_as_fever() {
    let m = body(run(samples(&[36.1; 5], 24.0)));
    assert!(m.body_c >= 37.3, "{m:?}");
    assert!(matches!(to_reading(Ok(Outcome::Body(m))), TempReading::Body(c) if c >= 3730));
}

#[test]
fn object_at_ambient_means_nobody_is_there() {
    let out = run(samples(&[24.3; 5], 24.0)).unwrap();
    assert!(matches!(out, Outcome::NoSubject { .. }), "{out:?}");
}

#[test]
fn cold_object_means_nobody_is_there() {
    let out = run(samples(&[27.0; 5], 12.0)).unwrap();
    assert!(matches!(out, Outcome::NoSubject { .. }), "{out:?}");
}

#[test]
fn hot_object_is_not_a_forehead() {
    let out = run(samples(&[55.0; 5], 24.0)).unwrap();
    assert!(matches!(out, Outcome::NoSubject { .. }), "{out:?}");
}

#[test]
fn moving_person_gives_no_reading() {
    let out = run(samples(&[34.9, 32.0, 35.0, 34.9, 33.1], 24.0)).unwrap();
    assert!(matches!(out, Outcome::NoSubject { .. }), "{out:?}");
}

#[test]
fn one_pec_mismatch_is_retried() {
    let mut t = vec![read_bad_pec(TOBJ1, raw(34.9))];
    t.extend(samples(&[34.9; 5], 24.0));
    let m = body(run(t));
    assert_eq!(m.retries, 1);
}

#[test]
fn persistent_pec_mismatch_is_a_fault_naming_the_bus_speed() {
    let t = vec![read_bad_pec(TOBJ1, raw(34.9)); 3];
    let err = run(t).unwrap_err();
    assert_eq!(err, SensorError::Pec { register: TOBJ1 });
    assert!(err.to_string().contains("50000"));
}

#[test]
fn nack_is_a_fault_naming_the_wiring() {
    let err = run(vec![nack(TOBJ1), nack(TOBJ1), nack(TOBJ1)]).unwrap_err();
    assert_eq!(err, SensorError::Nack { address: ADDR });
    assert!(err.to_string().contains("i2cdetect -y 1"));
    assert!(matches!(to_reading(Err(err)), TempReading::Fault(m) if m.contains("0x5a")));
}

#[test]
fn nack_then_recovery_is_retried() {
    let mut t = vec![read(TOBJ1, raw(34.9)), nack(TA)];
    t.push(read(TA, raw(24.0)));
    t.extend(samples(&[34.9; 4], 24.0));
    assert_eq!(body(run(t)).retries, 1);
}

#[test]
fn error_flag_is_a_fault() {
    let t = vec![read(TOBJ1, 0x8000 | raw(34.9)); 3];
    assert_eq!(run(t).unwrap_err(), SensorError::ErrorFlag { register: TOBJ1 });
}

#[test]
fn the_model_inverts() {
    let model = SkinModel { k: 0.13, offset_c: 0.4 };
    for (body, ambient) in [(36.5, 24.0), (38.0, 10.0), (37.3, 32.0)] {
        let skin = model.skin_c(body, ambient);
        assert!((model.body_c(skin, ambient) - body).abs() < 1e-4);
    }
}
