//! `release …`: release keys, signed kiosk packages, and their rollout.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use shoumen_protocol::release::{self, Release};
use shoumen_server::db::{now_ms, Db};
use shoumen_server::records::updates;

/// `release key`: a new release key; the signer key never enters a database.
pub fn key(key_file: &Path, name: &str) -> Result<()> {
    if key_file.exists() {
        bail!("{} exists already: a release key is made once, and kiosks trust it by name", key_file.display());
    }
    let (skey, vkey) = release::generate_key(&mut rand::rngs::OsRng, name);
    shoumen_server::db::keyfiles::write_secret(key_file, &skey, |_| false)?;
    println!("{vkey}");
    Ok(())
}

fn note_path(deb: &Path) -> PathBuf {
    let mut p = deb.as_os_str().to_owned();
    p.push(".note");
    PathBuf::from(p)
}

/// `release sign`: DEB.note, naming the package dpkg-deb reads in DEB.
pub fn sign(key_file: &Path, deb: &Path) -> Result<()> {
    let skey = std::fs::read_to_string(key_file).with_context(|| format!("cannot read {}", key_file.display()))?;
    let bytes = std::fs::read(deb).with_context(|| format!("cannot read {}", deb.display()))?;
    let out = std::process::Command::new("dpkg-deb")
        .args(["--field"])
        .arg(deb)
        .args(["Package", "Version", "Architecture"])
        .output()
        .context("cannot run dpkg-deb (apt-get install dpkg)")?;
    if !out.status.success() {
        bail!("{} is not a Debian package: {}", deb.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let fields = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Result<String> {
        fields
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(": ")))
            .map(|v| v.trim().to_string())
            .with_context(|| format!("{} has no {name} field", deb.display()))
    };
    let rel = Release::of_file(&field("Package")?, &field("Version")?, &field("Architecture")?, &bytes);
    let note = rel.sign(skey.trim())?;
    let path = note_path(deb);
    std::fs::write(&path, &note).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{} {} {}: {}", rel.package, rel.version, rel.architecture, path.display());
    Ok(())
}

/// `release add`: stores DEB and DEB.note.
pub fn add(db: &Db, deb: &Path, vkeys: &[String]) -> Result<()> {
    let bytes = std::fs::read(deb).with_context(|| format!("cannot read {}", deb.display()))?;
    let path = note_path(deb);
    let note = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {} (make it with: release sign)", path.display()))?;
    let vkeys = vkeys.to_vec();
    let rel = db.call_blocking(move |c| Ok(updates::add_release(c, &note, &bytes, &vkeys, now_ms())))??;
    println!("stored {} {} for {} ({} bytes)", rel.package, rel.version, rel.architecture, rel.size);
    Ok(())
}

/// `release list`.
pub fn list(db: &Db) -> Result<()> {
    let (stored, latest) = db.call_blocking(|c| Ok((updates::releases(c)?, updates::latest(c)?)))?;
    for r in stored {
        println!("{}\t{}\t{} bytes", r.version, r.arch, r.size);
    }
    if let Some((r, steps)) = latest {
        let state = match (&r.halted, r.ended_ms) {
            (Some(why), _) => format!("halted: {why}"),
            (None, Some(_)) => "ended".into(),
            (None, None) => format!("stage {} of 3", r.stage),
        };
        println!("rollout of {} ({}% in stage 2): {state}", r.version, r.percent);
        for (at, step, detail) in steps {
            println!("  {at}\t{}\t{detail}", step.as_str());
        }
    }
    Ok(())
}

/// `release rollout VERSION`.
pub fn rollout(db: &Db, version: &str, percent: i64) -> Result<()> {
    let by = super::actor("").user;
    let version = version.to_string();
    let r = db.call_blocking(move |c| Ok(updates::start(c, &version, percent, &by, now_ms())))??;
    println!("rolling {} out: one gate of each compound first", r.version);
    Ok(())
}

/// `release halt`.
pub fn halt(db: &Db, why: &str) -> Result<()> {
    let why = why.to_string();
    db.call_blocking(move |c| Ok(updates::halt(c, &why, now_ms())))??;
    println!("rollout halted");
    Ok(())
}
