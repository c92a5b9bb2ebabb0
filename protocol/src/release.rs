//! A software release as a kiosk trusts it: the kiosk package's name,
//! version, architecture, size and SHA-256 in a C2SP signed note, signed
//! by a release key that the kiosk's configuration names
//! (`[update] release_keys`). The committee's server stores releases and
//! offers one to each kiosk, but cannot make one: a release the kiosk's
//! keys did not sign, or a file that is not the one signed, is refused.
//!
//! Why a signed manifest and not a signed apt repository: each gate must get
//! the version its rollout stage says (not the newest in a suite), offline
//! rollback needs the previous file on the card anyway, and the note is
//! checked with the same signed-note code as the evidence log's checkpoints.

use sha2::{Digest, Sha256};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use thiserror::Error;

/// The note's first line: what kind of note it is.
pub const HEADER: &str = "shoumen release v1";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReleaseError {
    #[error("the release manifest is not a signed note ({0})")]
    NotANote(String),
    #[error("the release manifest is not signed by a release key this kiosk trusts ({0}): it was changed, or someone else made it")]
    Untrusted(String),
    #[error("a release key is not a signed-note key: {0}")]
    BadKey(String),
    #[error("the release manifest is not readable: {0}")]
    BadManifest(String),
    #[error("the package file is not the one the release names: {0}")]
    WrongFile(String),
}

/// What a release manifest says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub package: String,
    /// A Debian version (`0.2.0-1`); compare with [`compare_versions`].
    pub version: String,
    pub architecture: String,
    pub size: u64,
    pub sha256: [u8; 32],
}

impl Release {
    /// The release of a package file's bytes.
    pub fn of_file(package: &str, version: &str, architecture: &str, bytes: &[u8]) -> Release {
        Release {
            package: package.into(),
            version: version.into(),
            architecture: architecture.into(),
            size: bytes.len() as u64,
            sha256: Sha256::digest(bytes).into(),
        }
    }

    /// The note's text.
    pub fn text(&self) -> String {
        format!(
            "{HEADER}\npackage {}\nversion {}\narchitecture {}\nsize {}\nsha256 {}\n",
            self.package,
            self.version,
            self.architecture,
            self.size,
            hex::encode(self.sha256)
        )
    }

    fn parse(text: &str) -> Result<Release, ReleaseError> {
        let bad = |why: &str| ReleaseError::BadManifest(why.to_string());
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad("it does not start with the line \"shoumen release v1\""));
        }
        let mut field = |name: &str| -> Result<String, ReleaseError> {
            let line = lines.next().ok_or_else(|| bad(&format!("no {name} line")))?;
            let value = line
                .strip_prefix(name)
                .and_then(|v| v.strip_prefix(' '))
                .ok_or_else(|| bad(&format!("expected {name}, found {line:?}")))?;
            if value.is_empty() || value.contains(char::is_whitespace) {
                return Err(bad(&format!("{name} {value:?} is not one word")));
            }
            Ok(value.to_string())
        };
        let package = field("package")?;
        let version = field("version")?;
        let architecture = field("architecture")?;
        let size = field("size")?.parse().map_err(|_| bad("size is not a number"))?;
        let sha = hex::decode(field("sha256")?).map_err(|_| bad("sha256 is not hex"))?;
        let sha256 = sha.try_into().map_err(|_| bad("sha256 is not 32 bytes"))?;
        if !version.chars().all(|c| c.is_ascii_alphanumeric() || ".+-~:".contains(c)) {
            return Err(bad("the version has characters a Debian version cannot have"));
        }
        Ok(Release { package, version, architecture, size, sha256 })
    }

    /// Signs the manifest with a signed-note signer key.
    pub fn sign(&self, skey: &str) -> Result<String, ReleaseError> {
        let signer = StandardSigner::new(skey).map_err(|e| ReleaseError::BadKey(e.to_string()))?;
        let mut note = Note::new(self.text().as_bytes(), &[]).map_err(|e| ReleaseError::NotANote(e.to_string()))?;
        note.add_sigs(&[&signer]).map_err(|e| ReleaseError::NotANote(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| ReleaseError::NotANote(e.to_string()))
    }

    /// Opens a manifest signed by one of `vkeys` (signed-note verifier keys).
    pub fn open(note: &str, vkeys: &[String]) -> Result<Release, ReleaseError> {
        let mut verifiers: Vec<Box<dyn signed_note::Verifier>> = Vec::new();
        for vkey in vkeys {
            verifiers
                .push(Box::new(StandardVerifier::new(vkey).map_err(|e| ReleaseError::BadKey(format!("{vkey}: {e}")))?));
        }
        let names = vkeys.iter().map(|k| k.split('+').next().unwrap_or("")).collect::<Vec<_>>().join(", ");
        if verifiers.is_empty() {
            return Err(ReleaseError::Untrusted("none is configured: [update] release_keys".into()));
        }
        let parsed = Note::from_bytes(note.as_bytes()).map_err(|e| ReleaseError::NotANote(e.to_string()))?;
        parsed.verify(&VerifierList::new(verifiers)).map_err(|_| ReleaseError::Untrusted(names))?;
        let text = std::str::from_utf8(parsed.text()).map_err(|e| ReleaseError::BadManifest(e.to_string()))?;
        Release::parse(text)
    }

    /// Whether `bytes` are the package file this release names.
    pub fn check_file(&self, bytes: &[u8]) -> Result<(), ReleaseError> {
        if bytes.len() as u64 != self.size {
            return Err(ReleaseError::WrongFile(format!("{} bytes, the release says {}", bytes.len(), self.size)));
        }
        let sha: [u8; 32] = Sha256::digest(bytes).into();
        if sha != self.sha256 {
            return Err(ReleaseError::WrongFile("its SHA-256 differs from the release's".into()));
        }
        Ok(())
    }

    /// The file name apt and dpkg use for it.
    pub fn file_name(&self) -> String {
        let version = self.version.split_once(':').map_or(self.version.as_str(), |(_, v)| v);
        format!("{}_{}_{}.deb", self.package, version, self.architecture)
    }
}

/// How the last update on a kiosk ended: the updater writes it
/// (`last-update.json`), the kiosk reports it in each heartbeat, the server
/// promotes or halts a rollout by it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Installed {
        version: String,
        at_ms: i64,
    },
    RolledBack {
        failed: String,
        restored: String,
        why: String,
        at_ms: i64,
    },
    /// Refused before anything was installed (a bad signature, a file that
    /// is not the one signed, no package kept to roll back to).
    Refused {
        version: String,
        why: String,
        at_ms: i64,
    },
}

impl Outcome {
    /// The version the update was to install.
    pub fn version(&self) -> &str {
        match self {
            Outcome::Installed { version, .. } | Outcome::Refused { version, .. } => version,
            Outcome::RolledBack { failed, .. } => failed,
        }
    }

    /// Why it did not install, if it did not.
    pub fn failure(&self) -> Option<&str> {
        match self {
            Outcome::Installed { .. } => None,
            Outcome::RolledBack { why, .. } | Outcome::Refused { why, .. } => Some(why),
        }
    }
}

/// In each heartbeat: what the kiosk can install and how its last update
/// ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UpdateReport {
    /// Debian's name of the kiosk's architecture (`arm64`, `armhf`).
    pub arch: String,
    /// The kiosk package's version as dpkg has it installed: a kiosk not
    /// installed from a package (a developer's) sends no report.
    pub installed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Outcome>,
    /// A release downloaded and checked, waiting for a quiet moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
}

/// In a heartbeat's answer: the release the district chose for this kiosk.
/// The kiosk checks the note against its own release keys before it
/// fetches a byte (`GET /api/v1/release?version=&arch=&part=`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UpdateOffer {
    pub version: String,
    /// The signed release note.
    pub note: String,
}

/// What a kiosk's self-test found: written by the kiosk after it starts
/// (`self-test.json`), read by the updater waiting on a new version.
/// One check: `camera`, `thermometer`, `relay`, `store`, `sync`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// What was seen, or why it failed, for the report.
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SelfTest {
    /// The version that ran it (the kiosk's own).
    pub version: String,
    /// When it finished (the kiosk's clock, ms).
    pub at_ms: i64,
    pub checks: Vec<Check>,
}

impl SelfTest {
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }

    /// The failed checks in a line, for the rollback's reason.
    pub fn failures(&self) -> String {
        let failed: Vec<String> =
            self.checks.iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.name, c.detail)).collect();
        if failed.is_empty() {
            "no check ran".into()
        } else {
            failed.join("; ")
        }
    }
}

/// The files the kiosk and its updater share in the kiosk's
/// `<data_dir>/update/`: the kiosk writes the release, the request and its
/// self-test; the updater writes how the last update ended.
pub mod files {
    /// The signed note of the release downloaded (written after the package).
    pub const PENDING_NOTE: &str = "pending.note";
    /// The package, whole and checked against the note.
    pub const PENDING_DEB: &str = "pending.deb";
    /// The kiosk's request to install now (it is quiet at the gate).
    pub const INSTALL_NOW: &str = "install-now";
    /// The kiosk's self-test ([`super::SelfTest`]).
    pub const SELF_TEST: &str = "self-test.json";
    /// How the last update ended ([`super::Outcome`]).
    pub const REPORT: &str = "last-update.json";

    use std::io::Write;
    use std::path::Path;

    /// Writes `bytes` to a temporary file, syncs it, renames it over `path`
    /// and syncs the directory (made if missing): after a power cut the
    /// file is the old or the new, whole. Both sides write these files so.
    pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("file")));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    }
}

/// A release is fetched in parts of this many bytes (the last is shorter):
/// each part is one bounded request, and a download cut off goes on from
/// the part it lacks.
pub const PART_BYTES: u64 = 1 << 20;

/// The largest package a server stores or a kiosk fetches.
pub const MOST_BYTES: u64 = 200 << 20;

/// Debian's name of the architecture this program was built for.
pub fn debian_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "arm" => "armhf",
        "x86_64" => "amd64",
        "x86" => "i386",
        other => other,
    }
}

/// A new release key: (signer key, kept secret by whoever signs releases;
/// verifier key, written into the kiosks' configuration).
pub fn generate_key<R: ed25519_dalek::ed25519::signature::rand_core::CryptoRngCore + ?Sized>(
    rng: &mut R,
    name: &str,
) -> (String, String) {
    signed_note::generate_key(rng, name)
}

/// Whether `vkey` is a signed-note verifier key.
pub fn check_key(vkey: &str) -> Result<(), ReleaseError> {
    StandardVerifier::new(vkey).map(|_| ()).map_err(|e| ReleaseError::BadKey(format!("{vkey}: {e}")))
}

/// Debian's version order (dpkg's `verrevcmp`): epoch, then the upstream
/// version, then the revision; `~` sorts before anything, even the end.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((up, rev)) => (epoch, up, rev),
            None => (epoch, rest, ""),
        }
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb).then_with(|| verrevcmp(ua, ub)).then_with(|| verrevcmp(ra, rb))
}

fn verrevcmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => c as i32,
            Some(b'~') => -1,
            Some(c) => c as i32 + 256,
        }
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = 0i32;
        while digit(a, i) && digit(b, j) {
            if first_diff == 0 {
                first_diff = a[i] as i32 - b[j] as i32;
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return std::cmp::Ordering::Greater;
        }
        if digit(b, j) {
            return std::cmp::Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    std::cmp::Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::{Equal, Greater, Less};

    fn generate_key(name: &str) -> (String, String) {
        super::generate_key(&mut rand::rngs::OsRng, name)
    }

    #[test]
    fn a_signed_release_opens_with_its_key_and_with_no_other() {
        let (skey, vkey) = generate_key("shoumen-release");
        let (_, other) = generate_key("shoumen-release");
        let release = Release::of_file("shoumen", "0.2.0-1", "arm64", b"the package");
        let note = release.sign(&skey).unwrap();
        assert_eq!(Release::open(&note, &[other.clone(), vkey.clone()]).unwrap(), release);
        assert!(matches!(Release::open(&note, &[other]), Err(ReleaseError::Untrusted(_))));
        assert!(matches!(Release::open(&note, &[]), Err(ReleaseError::Untrusted(_))));
        // One changed character of the signed text: refused.
        let changed = note.replace("0.2.0-1", "0.2.0-2");
        assert!(matches!(Release::open(&changed, std::slice::from_ref(&vkey)), Err(ReleaseError::Untrusted(_))));
        assert_eq!(release.check_file(b"the package"), Ok(()));
        assert!(matches!(release.check_file(b"the packagE"), Err(ReleaseError::WrongFile(_))));
        assert!(matches!(release.check_file(b"the package!"), Err(ReleaseError::WrongFile(_))));
        assert_eq!(release.file_name(), "shoumen_0.2.0-1_arm64.deb");
    }

    #[test]
    fn a_note_that_is_not_a_release_is_refused_even_when_signed() {
        let (skey, vkey) = generate_key("shoumen-release");
        let signer = StandardSigner::new(&skey).unwrap();
        for text in [
            "shoumen release v1\npackage shoumen\n",
            "checkpoint\n1\n",
            "shoumen release v1\npackage shoumen\nversion 1;rm\narchitecture arm64\nsize 1\nsha256 00\n",
        ] {
            let mut note = Note::new(text.as_bytes(), &[]).unwrap();
            note.add_sigs(&[&signer]).unwrap();
            let note = String::from_utf8(note.to_bytes()).unwrap();
            assert!(
                matches!(Release::open(&note, std::slice::from_ref(&vkey)), Err(ReleaseError::BadManifest(_))),
                "{text}"
            );
        }
    }

    /// Cases from dpkg's own test suite (lib/dpkg/t/t-version.c).
    #[test]
    fn versions_order_as_dpkg_orders_them() {
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0-1", "1.0-1", Equal),
            ("0.2.0-1", "0.10.0-1", Less),
            ("1.0", "1.0-0", Equal),
            ("1:0.1", "2.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0a", "1.0", Greater),
            ("1.0+b1", "1.0", Greater),
            ("1.0-1", "1.0-2", Less),
            ("1.0-10", "1.0-9", Greater),
            ("1.001", "1.1", Equal),
            ("a", "B", Greater),
            ("1.0.", "1.0", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
            assert_eq!(compare_versions(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
