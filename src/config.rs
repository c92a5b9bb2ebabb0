//! The kiosk's configuration: one TOML file, every key documented in
//! `systemd/kiosk.example.toml`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::gate::Policy;
use crate::hw::camera::CameraConfig;
use crate::hw::gpio::IoConfig;
use crate::hw::thermometer::ThermometerConfig;
use crate::voice::VoiceConfig;

/// SHA-256 of "2580", the demo and development PIN.
pub const DEMO_PIN_SHA256: &str = "ed946f65d2c785d90e827c5ffd879ce3b49c68d4c88013074176a7e73bc58bcf";

/// Where the packaged kiosk looks for its configuration.
pub const SYSTEM_CONFIG: &str = "/etc/shoumen/kiosk.toml";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub kiosk: KioskConfig,
    pub policy: Policy,
    pub camera: CameraConfig,
    pub thermometer: ThermometerConfig,
    pub gpio: IoConfig,
    pub voice: VoiceConfig,
    pub update: UpdateConfig,
}

/// Software updates, installed by `shoumen-update` (crates/update), which
/// reads this section of the same file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateConfig {
    /// Signed-note verifier keys of the releases this kiosk installs (the
    /// district's or the project's release key). Empty: no updates.
    pub release_keys: Vec<String>,
    /// Seconds a new version has to pass its self-test before the updater
    /// puts the previous one back.
    pub self_test_s: u64,
    /// When a downloaded release may be installed, in the district's time
    /// ("01:00-05:00"; it may run past midnight), and then only once
    /// nobody has been at the gate for two minutes.
    pub quiet_hours: String,
    /// The district's offset from UTC in minutes (Shanghai: 480).
    pub utc_offset_min: i32,
}

impl Default for UpdateConfig {
    fn default() -> UpdateConfig {
        UpdateConfig {
            release_keys: Vec::new(),
            self_test_s: 300,
            quiet_hours: "01:00-05:00".into(),
            utc_offset_min: 480,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KioskConfig {
    /// Shown on the screen and in the committee's gate list.
    pub gate_name: String,
    /// Holds `kiosk.db`. Relative paths are relative to the config file.
    pub data_dir: PathBuf,
    /// Use the simulated camera, thermometer and GPIO.
    pub simulated: bool,
    /// Create a demo community in `data_dir` if the store has no trusted keys.
    pub demo: bool,
    /// Keep entry payloads this many days after the server acknowledged them.
    pub retention_days: u32,
    /// UI language at start: "zh_CN" or "en".
    pub language: String,
    /// The committee's visitor registration page for this gate, shown as a QR.
    pub visitor_url: String,
    /// SHA-256 (hex) of the guard console's PIN; unset = no PIN: only a
    /// volunteer's duty pass opens the console.
    pub guard_pin_sha256: Option<String>,
    /// The guard console locks itself after this many seconds untouched.
    pub guard_lock_after_s: u64,
    /// Wrong PINs in a row before the console refuses every PIN …
    pub guard_pin_attempts: u32,
    /// … for this many seconds.
    pub guard_pin_block_s: u64,
    /// Believe the OS clock when NTP says it set it, until the server's
    /// signed time arrives. Turn off where the kiosk's network has no NTP
    /// one can trust (a captive portal can answer NTP with any time).
    pub trust_ntp: bool,
    /// The committee's phone number, shown on refusals that say to call
    /// the committee (an expired or withdrawn pass, home quarantine), e.g.
    /// "021-5555 0123". Empty: the screen says to call without a number.
    pub committee_phone: String,
    /// The committee's server, e.g. "https://gate.example.org". A kiosk
    /// not enrolled yet shows a code on its screen for an admin to claim
    /// on that server's Gates page (a district writes it into its image).
    /// Empty: enroll from the command line (`shoumen enroll`).
    pub server_url: String,
    /// A PEM file with the CA certificate of a server whose certificate is
    /// not from a public CA (a district's own). Relative to the config file.
    pub server_ca: Option<PathBuf>,
    /// `server_ca`'s certificates, read when the file is loaded.
    #[serde(skip)]
    pub server_ca_pem: Vec<u8>,
}

impl Default for KioskConfig {
    fn default() -> Self {
        KioskConfig {
            gate_name: "东门 East Gate".into(),
            data_dir: PathBuf::from("/var/lib/shoumen"),
            simulated: false,
            demo: false,
            retention_days: 90,
            language: "zh_CN".into(),
            visitor_url: "https://shoumen.example/visit/east-gate".into(),
            guard_pin_sha256: None,
            guard_lock_after_s: 60,
            guard_pin_attempts: 5,
            guard_pin_block_s: 60,
            trust_ntp: true,
            committee_phone: String::new(),
            server_url: String::new(),
            server_ca: None,
            server_ca_pem: Vec::new(),
        }
    }
}

impl Config {
    /// The development default: simulated hardware and a demo community in
    /// `./shoumen-dev`, so `cargo run` works on any machine.
    pub fn development() -> Config {
        Config {
            kiosk: KioskConfig {
                data_dir: PathBuf::from("shoumen-dev"),
                simulated: true,
                demo: true,
                // The demo PIN is 2580.
                guard_pin_sha256: Some(DEMO_PIN_SHA256.into()),
                ..KioskConfig::default()
            },
            ..Config::default()
        }
    }

    /// Loads `path` if given; otherwise `/etc/shoumen/kiosk.toml` if it
    /// exists; otherwise the development default.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            Some(p) => Config::from_file(p),
            None if Path::new(SYSTEM_CONFIG).exists() => Config::from_file(Path::new(SYSTEM_CONFIG)),
            None => Ok(Config::development()),
        }
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut config = Config::parse(&text).map_err(|message| ConfigError::Parse { path: path.into(), message })?;
        if config.kiosk.data_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new("."));
            config.kiosk.data_dir = base.join(&config.kiosk.data_dir);
        }
        if let Some(ca) = config.kiosk.server_ca.as_mut() {
            if ca.is_relative() {
                *ca = path.parent().unwrap_or(Path::new(".")).join(&ca);
            }
            let invalid = |message: String| ConfigError::Invalid { path: path.into(), message };
            let pem = std::fs::read(&ca)
                .map_err(|e| invalid(format!("kiosk.server_ca: cannot read {}: {e}", ca.display())))?;
            crate::sync::parse_roots(&pem)
                .map_err(|e| invalid(format!("kiosk.server_ca: {} is not a PEM certificate: {e}", ca.display())))?;
            config.kiosk.server_ca_pem = pem;
        }
        config.validate().map_err(|message| ConfigError::Invalid { path: path.into(), message })?;
        Ok(config)
    }

    /// Parses TOML text; the error names the key and the line.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e: toml::de::Error| e.to_string().trim_end().to_string())
    }

    fn validate(&self) -> Result<(), String> {
        let p = &self.policy;
        if !(35.0..=40.0).contains(&p.fever_threshold_c) {
            return Err(format!(
                "policy.fever_threshold_c = {} is outside 35.0..=40.0 °C; China's screening threshold is 37.3",
                p.fever_threshold_c
            ));
        }
        if p.lists_warn_after_s > p.lists_max_age_s {
            return Err("policy.lists_warn_after_s must not exceed policy.lists_max_age_s".into());
        }
        if p.relay_pulse_ms == 0 || p.relay_pulse_ms > 30_000 {
            return Err(format!("policy.relay_pulse_ms = {} must be 1..=30000", p.relay_pulse_ms));
        }
        if p.passback_window_s < 0 || p.strict_offline_s < 0 {
            return Err("policy.passback_window_s and policy.strict_offline_s must not be negative".into());
        }
        if self.camera.inward.is_some() && p.direction != crate::gate::GateDirection::Both {
            return Err(format!(
                "[camera.inward] reads people going out, which only a kiosk with policy.direction = \"both\" does (it is {:?})",
                p.direction.as_str()
            ));
        }
        if self.quiet_hours().is_none() {
            return Err(format!("update.quiet_hours = {:?}: write it like \"01:00-05:00\"", self.update.quiet_hours));
        }
        for key in &self.update.release_keys {
            shoumen_protocol::release::check_key(key)
                .map_err(|e| format!("update.release_keys: {e} (a key looks like name+1234abcd+AW…)"))?;
        }
        if self.update.self_test_s < 10 {
            return Err("update.self_test_s must be at least 10 seconds".into());
        }
        self.voice.validate()
    }

    pub fn db_path(&self) -> PathBuf {
        self.kiosk.data_dir.join("kiosk.db")
    }

    /// `[update] quiet_hours`, read.
    pub fn quiet_hours(&self) -> Option<shoumen_client::update::QuietHours> {
        shoumen_client::update::QuietHours::parse(&self.update.quiet_hours, self.update.utc_offset_min)
    }

    /// What the sync thread needs to update this kiosk: for a kiosk
    /// installed from the package only (dpkg knows its version).
    pub fn updates(&self) -> Option<shoumen_client::update::Updates> {
        Some(shoumen_client::update::Updates {
            dir: self.kiosk.data_dir.join("update"),
            keys: self.update.release_keys.clone(),
            installed: shoumen_client::update::installed_version("shoumen")?,
            quiet: self.quiet_hours()?,
            idle: std::time::Duration::from_secs(120),
            startup_checks: Vec::new(),
        })
    }

    /// How the kiosk talks to its server: the defaults, and the district's
    /// CA if `server_ca` names one.
    pub fn client(&self) -> crate::sync::ClientConfig {
        crate::sync::ClientConfig { extra_roots_pem: self.kiosk.server_ca_pem.clone(), ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_matches_the_defaults() {
        let text = include_str!("../systemd/kiosk.example.toml");
        let config = Config::parse(text).unwrap();
        assert_eq!(config.policy, Policy::default(), "the example documents the defaults");
        assert_eq!(config.kiosk, KioskConfig::default());
        assert_eq!(config.camera, CameraConfig::default());
        assert_eq!(config.thermometer, ThermometerConfig::default());
        assert_eq!(config.gpio, IoConfig::default());
        assert_eq!(config.voice, VoiceConfig::default());
    }

    #[test]
    fn the_old_anti_passback_switch_still_reads() {
        use crate::gate::AntiPassback;
        let strict = Config::parse("[policy]\nanti_passback = true\n").unwrap();
        assert_eq!(strict.policy.anti_passback, AntiPassback::Strict);
        let off = Config::parse("[policy]\nanti_passback = false\n").unwrap();
        assert_eq!(off.policy.anti_passback, AntiPassback::Off);
        let timed = Config::parse("[policy]\nanti_passback = \"timed\"\n").unwrap();
        assert_eq!(timed.policy.anti_passback, AntiPassback::Timed);
        let err = Config::parse("[policy]\nanti_passback = \"sometimes\"\n").unwrap_err();
        assert!(err.contains("anti_passback") && err.contains("strict"), "{err}");
    }

    #[test]
    fn an_inward_camera_needs_a_kiosk_for_both_directions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(&path, "[camera.inward]\nindex = 1\n").unwrap();
        assert!(Config::from_file(&path).unwrap_err().to_string().contains("both"));
        std::fs::write(&path, "[policy]\ndirection = \"both\"\n\n[camera.inward]\nindex = 1\n").unwrap();
        let config = Config::from_file(&path).unwrap();
        assert_eq!(config.camera.inward.map(|c| c.index), Some(1));
    }

    #[test]
    fn the_demo_pin_hash_is_2580() {
        use sha2::{Digest, Sha256};
        assert_eq!(hex::encode(Sha256::digest(b"2580")), DEMO_PIN_SHA256);
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let err = Config::parse("[kiosk]\ngate_name = \"x\"\n\n[policy]\nfever_treshold_c = 37.5\n").unwrap_err();
        assert!(err.contains("fever_treshold_c") && err.contains("line 5"), "{err}");
    }

    #[test]
    fn a_wrong_type_is_named_with_its_line() {
        let err = Config::parse("[policy]\nrelay_pulse_ms = \"long\"\n").unwrap_err();
        assert!(err.contains("relay_pulse_ms") || err.contains("line 2"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(&path, "[policy]\nfever_threshold_c = 3.73\n").unwrap();
        let err = Config::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("fever_threshold_c") && err.contains("37.3"), "{err}");
    }

    #[test]
    fn release_keys_that_are_not_keys_stop_the_kiosk_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.toml");
        std::fs::write(&path, "[update]\nrelease_keys = [\"not-a-key\"]\n").unwrap();
        let err = Config::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("update.release_keys"), "{err}");
        let (_, key) = shoumen_protocol::release::generate_key(&mut rand::rngs::OsRng, "shoumen-release");
        std::fs::write(&path, format!("[update]\nrelease_keys = [\"{key}\"]\n")).unwrap();
        assert_eq!(Config::from_file(&path).unwrap().update.release_keys, vec![key.to_string()]);
    }

    #[test]
    fn relative_data_dir_is_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(&path, "[kiosk]\ndata_dir = \"data\"\n").unwrap();
        assert_eq!(Config::from_file(&path).unwrap().kiosk.data_dir, dir.path().join("data"));
    }
}
