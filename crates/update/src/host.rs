//! What the updater asks of the machine: dpkg, the kiosk's restart, the
//! clock. [`System`] is the real one; tests put their own around it.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::error::UpdateError;

pub trait Host {
    /// Runs dpkg with `args`; an error carries what dpkg said.
    fn dpkg(&mut self, args: &[&str]) -> Result<(), UpdateError>;
    /// The package's version, if dpkg has it fully installed.
    fn installed(&mut self, package: &str) -> Result<Option<String>, UpdateError>;
    /// Restarts the kiosk (its unit), so that the new version runs.
    fn restart_kiosk(&mut self) -> Result<(), UpdateError>;
    fn now_ms(&self) -> i64;
    fn sleep(&mut self, d: Duration);
    /// Where an absolute path of the system is (inside the root, if any).
    fn file(&self, path: &str) -> PathBuf;
}

/// The machine itself, or a root directory (`dpkg --root`, for tests and
/// image builds).
pub struct System {
    pub root: Option<PathBuf>,
}

impl System {
    fn dpkg_command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        if let Some(root) = &self.root {
            c.arg(format!("--root={}", root.display()));
        }
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c
    }
}

impl Host for System {
    fn dpkg(&mut self, args: &[&str]) -> Result<(), UpdateError> {
        // Keep the configuration files a district changed (kiosk.toml).
        let out = self
            .dpkg_command("dpkg")
            .args(["--force-confold", "--force-confdef"])
            .args(args)
            .output()
            .map_err(|e| UpdateError::Dpkg(format!("cannot run dpkg: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&out.stderr);
        Err(UpdateError::Dpkg(format!("dpkg {} failed: {}", args.join(" "), said.trim())))
    }

    fn installed(&mut self, package: &str) -> Result<Option<String>, UpdateError> {
        let out = self
            .dpkg_command("dpkg-query")
            .args(["-W", "-f", "${db:Status-Abbrev} ${Version}", package])
            .output()
            .map_err(|e| UpdateError::Dpkg(format!("cannot run dpkg-query: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "ii " is installed; anything else (half-installed, unpacked…) is not.
        Ok(text.strip_prefix("ii ").map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
    }

    fn restart_kiosk(&mut self) -> Result<(), UpdateError> {
        if self.root.is_some() {
            return Ok(());
        }
        let out = Command::new("systemctl")
            .args(["restart", "--no-block", "shoumen.service"])
            .output()
            .map_err(|e| UpdateError::Restart(e.to_string()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(UpdateError::Restart(String::from_utf8_lossy(&out.stderr).trim().to_string()))
        }
    }

    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    }

    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }

    fn file(&self, path: &str) -> PathBuf {
        match &self.root {
            Some(root) => root.join(path.trim_start_matches('/')),
            None => PathBuf::from(path),
        }
    }
}
