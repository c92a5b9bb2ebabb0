//! What the power-cut tests share (this crate's, and the server's test of
//! an update taken through the server, which includes this file): a Debian
//! root made with debootstrap, kiosk packages made with dpkg-deb, the cut
//! itself. Each test uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A Debian root to copy for each run (made once at `made`, or
/// SHOUMEN_TEST_DEB_ROOT), or why there is none.
pub fn base_root(made: &Path) -> Result<PathBuf, String> {
    if sh(Command::new("id").arg("-u")).trim() != "0" {
        return Err("not root (dpkg --root and chroot need root)".into());
    }
    if let Ok(root) = std::env::var("SHOUMEN_TEST_DEB_ROOT") {
        return Ok(PathBuf::from(root));
    }
    if made.join("usr/bin/dpkg").exists() {
        return Ok(made.to_path_buf());
    }
    if Command::new("debootstrap").arg("--version").output().is_err() {
        return Err("debootstrap is not installed (apt-get install debootstrap)".into());
    }
    let _ = std::fs::remove_dir_all(made);
    let out = Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(made)
        .arg("http://deb.debian.org/debian")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(made);
        return Err(format!("debootstrap failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(made.to_path_buf())
}

/// A kiosk package of `version` for `arch`: a program that says its
/// version, what its self-test will find, maintainer scripts that mark and
/// pause (so that a cut lands inside dpkg's unpack or configure), and
/// `payload` bytes that do not compress (a kiosk package is ~10 MB).
pub fn package(dir: &Path, version: &str, arch: &str, self_test: &str, payload: usize) -> PathBuf {
    let tree = dir.join(format!("pkg-{version}"));
    let w = |p: &str, bytes: &[u8], mode: u32| {
        let path = tree.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        sh(Command::new("chmod").arg(format!("{mode:o}")).arg(&path));
    };
    w(
        "DEBIAN/control",
        format!(
            "Package: shoumen\nVersion: {version}\nArchitecture: {arch}\nMaintainer: test <t@t.invalid>\nDescription: test kiosk\n"
        )
        .as_bytes(),
        0o644,
    );
    for script in ["preinst", "postinst"] {
        w(
            &format!("DEBIAN/{script}"),
            format!("#!/bin/sh\nset -e\nmkdir -p /var/lib/marks\ntouch /var/lib/marks/{script}-{version}\nsleep 0.4\n")
                .as_bytes(),
            0o755,
        );
    }
    w("usr/bin/shoumen", format!("#!/bin/sh\necho {version}\n").as_bytes(), 0o755);
    w("usr/share/shoumen/self-test", self_test.as_bytes(), 0o644);
    // xorshift: bytes gzip cannot shrink, so the package is `payload` big.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ version.len() as u64;
    let noise: Vec<u8> = (0..payload)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    w("usr/share/shoumen/payload", &noise, 0o644);
    let deb = dir.join(format!("shoumen_{version}_{arch}.deb"));
    sh(Command::new("dpkg-deb").args(["--build", "-Zgzip", "-z1"]).arg(&tree).arg(&deb));
    deb
}

/// What dpkg in `root` says is installed, and whether the program answers
/// with it: the version that works, or what is wrong.
pub fn working(root: &Path) -> Result<String, String> {
    let out = Command::new("dpkg-query")
        .arg(format!("--root={}", root.display()))
        .args(["-W", "-f", "${db:Status-Abbrev}|${Version}", "shoumen"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout).to_string();
    let (abbrev, version) = status.split_once('|').ok_or_else(|| format!("dpkg-query said {status:?}"))?;
    if abbrev.trim() != "ii" {
        return Err(format!("dpkg's status of shoumen is {abbrev:?}, not installed"));
    }
    let said = Command::new("chroot").arg(root).arg("/usr/bin/shoumen").output().unwrap();
    let said = String::from_utf8_lossy(&said.stdout).trim().to_string();
    if said != version {
        return Err(format!("dpkg has {version} but the program says {said:?}"));
    }
    Ok(version.to_string())
}

/// A card in `dir` with its root at `root`, as fresh from the image: the
/// updater's own files (`own/`), the kiosk's data (`data/`, the update
/// folder `data/update`) and `kiosk.toml` naming `vkey`; `first` (1.0-1)
/// kept, and installed again if a run left another version; no marks.
pub fn reset_card(dir: &Path, root: &Path, first: &Path, vkey: &str) {
    let own = dir.join("own");
    for gone in [&own, &dir.join("data")] {
        let _ = std::fs::remove_dir_all(gone);
    }
    std::fs::create_dir_all(own.join("kept")).unwrap();
    std::fs::create_dir_all(dir.join("data/update")).unwrap();
    std::fs::copy(first, own.join("kept").join(first.file_name().unwrap())).unwrap();
    std::fs::write(
        dir.join("kiosk.toml"),
        format!(
            "[kiosk]\ndata_dir = \"{}\"\n[update]\nrelease_keys = [\"{vkey}\"]\nself_test_s = 20\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    if working(root).ok().as_deref() != Some("1.0-1") {
        sh(Command::new("dpkg").arg(format!("--root={}", root.display())).arg("--install").arg(first));
    }
    // The marks of that install are not the update's.
    let _ = std::fs::remove_dir_all(root.join("var/lib/marks"));
}

/// Kills `child`'s whole process group: the power cut. (With `--`: procps
/// 4.0.2's `kill -KILL -PGID` without it signals every process.)
pub fn cut(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.wait();
}

/// Starts `c` in a process group of its own (for [`cut`]).
pub fn spawn(mut c: Command) -> Child {
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    c.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Where the power goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    None,
    /// The download: through the server, the kiosk killed while it fetches
    /// the parts; the updater alone, a request without its whole file.
    Download,
    /// dpkg --unpack, inside the new package's preinst.
    Unpack,
    /// Between unpack and configure.
    Unpacked,
    /// dpkg --configure, inside the new package's postinst.
    Configure,
    /// The new version to be restarted, before its self-test.
    Restart,
    /// The self-test written, before the updater read it.
    SelfTest,
    /// Rolling back: inside the old package's postinst.
    Rollback,
    /// dpkg --unpack, and again in the next boot's retry: it rolls back.
    UnpackTwice,
}

impl Cut {
    /// Whether an update of `root` to `version`, its updater in `state`,
    /// has reached this cut's moment; `None` for the cuts each test places
    /// itself (none, the download, the self-test).
    pub fn reached(self, root: &Path, state: &shoumen_update::state::State, version: &str) -> Option<bool> {
        use shoumen_update::state::Phase;
        let mark = |name: String| root.join("var/lib/marks").join(name).exists();
        Some(match self {
            Cut::None | Cut::Download | Cut::SelfTest => return None,
            Cut::Unpack | Cut::UnpackTwice => mark(format!("preinst-{version}")),
            Cut::Unpacked => matches!(state.phase, Phase::Configuring { .. }),
            Cut::Configure => mark(format!("postinst-{version}")),
            Cut::Restart => matches!(state.phase, Phase::Testing { .. }),
            Cut::Rollback => matches!(state.phase, Phase::RollingBack { .. }) && mark("postinst-1.0-1".into()),
        })
    }

    /// SHOUMEN_TEST_CUTS=Restart,Unpack runs only those.
    pub fn chosen(&self) -> bool {
        let only = std::env::var("SHOUMEN_TEST_CUTS").unwrap_or_default();
        only.is_empty() || only.split(',').any(|o| o == format!("{self:?}"))
    }
}

/// How an update ended, in the words of the tests' tables.
pub fn outcome_words(last: Option<&shoumen_update::state::Outcome>) -> String {
    use shoumen_update::state::Outcome;
    match last {
        Some(Outcome::Installed { version, .. }) => format!("installed {version}"),
        Some(Outcome::RolledBack { failed, restored, why, .. }) => {
            format!("{failed} rolled back to {restored} ({why})")
        }
        Some(Outcome::Refused { why, .. }) => format!("refused ({why})"),
        None => "nothing".into(),
    }
}
