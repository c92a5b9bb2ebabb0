//! Where the updater and the kiosk keep their files, and writes that a
//! power cut leaves either old or new, never half.

use std::path::PathBuf;

use crate::state::State;

/// The updater's own directory (root's) and the kiosk's (user shoumen's).
#[derive(Clone, Debug)]
pub struct Paths {
    /// `state.json`, `kept/` (the checked packages), the updater's copy.
    pub own: PathBuf,
    /// The kiosk's `update/`: the request, the download, the self-test.
    pub kiosk: PathBuf,
}

impl Paths {
    pub fn state(&self) -> PathBuf {
        self.own.join("state.json")
    }
    pub fn kept(&self, file_name: &str) -> PathBuf {
        self.own.join("kept").join(file_name)
    }
    pub fn pending_note(&self) -> PathBuf {
        self.kiosk.join(shoumen_protocol::release::files::PENDING_NOTE)
    }
    pub fn pending_deb(&self) -> PathBuf {
        self.kiosk.join(shoumen_protocol::release::files::PENDING_DEB)
    }
    /// The kiosk's request to install now (it is quiet at the gate).
    pub fn install_now(&self) -> PathBuf {
        self.kiosk.join(shoumen_protocol::release::files::INSTALL_NOW)
    }
    pub fn self_test(&self) -> PathBuf {
        self.kiosk.join(shoumen_protocol::release::files::SELF_TEST)
    }
    /// The outcome of the last update, where the kiosk can read it.
    pub fn report(&self) -> PathBuf {
        self.kiosk.join(shoumen_protocol::release::files::REPORT)
    }

    pub fn load(&self) -> std::io::Result<State> {
        match std::fs::read(self.state()) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::other(format!("{} is not the updater's state ({e})", self.state().display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, state: &State) -> std::io::Result<()> {
        write_durably(&self.state(), &serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?)
    }
}

/// Writes a file whole or not at all (shared with the kiosk).
pub use shoumen_protocol::release::files::write_durably;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_state_is_idle_and_a_saved_one_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths { own: dir.path().join("own"), kiosk: dir.path().join("kiosk") };
        assert_eq!(paths.load().unwrap(), State::default());
        let state = State {
            phase: crate::state::Phase::Configuring { to: "2".into(), from: "1".into(), attempt: 1 },
            ..State::default()
        };
        paths.save(&state).unwrap();
        assert_eq!(paths.load().unwrap(), state);
        std::fs::write(paths.state(), b"{").unwrap();
        assert!(paths.load().unwrap_err().to_string().contains("not the updater's state"));
    }
}
