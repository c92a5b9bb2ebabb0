//! A demo community: a signing key, trusted keys, lists and a set of passes
//! that walk every rule of the gate. For trying the kiosk out and for tests;
//! its key is not secret.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use image::Luma;
use serde::Serialize;
use shoumen_protocol::{
    pass, Decision, ListItem, ListKind, ListSnapshot, PassClaims, PassFlags, PassId, Role, TrustList, TrustedKey,
};
use thiserror::Error;

use crate::store::{Store, StoreError};

pub const ISSUER: &str = "demo-garden";
const DAY: i64 = 86_400;

#[derive(Debug, Error)]
pub enum DemoError {
    #[error("{0} already holds a kiosk store with trusted keys; remove it or choose another directory")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot render QR code: {0}")]
    Qr(String),
}

/// One demo pass and what a gate facing "in" should decide for it.
#[derive(Clone, Debug, Serialize)]
pub struct DemoPass {
    pub name: &'static str,
    pub text: String,
    pub claims: PassClaims,
    pub expect_in: (Decision, &'static str),
}

pub struct DemoCommunity {
    pub key: SigningKey,
    pub passes: Vec<DemoPass>,
    pub revocations: ListSnapshot,
    pub quarantine: ListSnapshot,
}

impl DemoCommunity {
    /// Makes a fresh community with passes valid around `now_s`.
    pub fn generate(now_s: i64) -> DemoCommunity {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let claims = |role, unit: &str, nbf: i64, exp: i64, flags: u32| PassClaims {
            issuer: ISSUER.into(),
            pass_id: PassId(rand::random()),
            issued_at: now_s.min(nbf),
            not_before: nbf,
            expires_at: exp,
            role,
            unit: unit.into(),
            flags: PassFlags(flags),
            holder: None,
        };
        use Decision::*;
        let specs: [(&str, PassClaims, (Decision, &str)); 9] = [
            ("resident", claims(Role::Resident, "3-502", now_s - DAY, now_s + 365 * DAY, 0), (Allow, "ok")),
            (
                "resident-assist",
                claims(Role::Resident, "8-1604", now_s - DAY, now_s + 365 * DAY, PassFlags::NEEDS_ASSISTANCE),
                (Allow, "ok"),
            ),
            (
                "quarantined",
                claims(Role::Resident, "5-1201", now_s - 30 * DAY, now_s + 365 * DAY, 0),
                (Allow, "quarantine_return"),
            ),
            ("revoked", claims(Role::Resident, "7-303", now_s - 30 * DAY, now_s + 365 * DAY, 0), (Deny, "revoked")),
            ("expired", claims(Role::Resident, "2-101", now_s - 400 * DAY, now_s - DAY, 0), (Deny, "expired")),
            ("visitor", claims(Role::Visitor, "3-502", now_s - 3600, now_s + DAY, 0), (Allow, "ok")),
            ("staff", claims(Role::Staff, "", now_s - DAY, now_s + 180 * DAY, 0), (Allow, "ok")),
            ("delivery", claims(Role::Delivery, "", now_s - DAY, now_s + 30 * DAY, 0), (Allow, "ok")),
            // A volunteer's duty pass, printed: a real one is on the
            // volunteer's phone, a live code a photo of cannot stand in for.
            ("duty", claims(Role::Duty, "", now_s - DAY, now_s + 180 * DAY, 0), (Allow, "duty_start")),
        ];
        let passes: Vec<DemoPass> = specs
            .into_iter()
            .map(|(name, claims, expect_in)| DemoPass {
                name,
                // The demo's own claims are well within the format's limits.
                text: pass::issue(&claims, &key).expect("demo claims are valid"),
                claims,
                expect_in,
            })
            .collect();
        let id_of = |name: &str| passes.iter().find(|p| p.name == name).map(|p| p.claims.pass_id).unwrap();
        let list =
            |kind, items| ListSnapshot { kind, version: 1, issued_at: now_s, expires_at: now_s + 30 * DAY, items };
        let revocations = list(
            ListKind::Revocations,
            vec![ListItem { pass_id: id_of("revoked"), from: None, until: None, source: None }],
        );
        let quarantine = list(
            ListKind::Quarantine,
            vec![ListItem {
                pass_id: id_of("quarantined"),
                from: Some(now_s - 2 * DAY),
                until: Some(now_s + 12 * DAY),
                source: None,
            }],
        );
        DemoCommunity { key, passes, revocations, quarantine }
    }

    pub fn trust(&self) -> TrustList {
        TrustList::new(vec![TrustedKey { issuer: ISSUER.into(), key: self.key.verifying_key() }])
    }

    pub fn pass(&self, name: &str) -> Option<&DemoPass> {
        self.passes.iter().find(|p| p.name == name)
    }

    /// Loads trust and lists into a kiosk store, as a sync would.
    pub fn install(&self, store: &mut Store, now_ms: i64) -> Result<(), StoreError> {
        store.set_trust(&self.trust())?;
        store.put_list(&self.revocations, now_ms)?;
        store.put_list(&self.quarantine, now_ms)?;
        store.mark_lists_synced(now_ms)
    }

    /// Writes the community to `dir`: key, trust file, lists, passes as text
    /// and PNG, a kiosk.toml and a kiosk.db ready for `shoumen check`.
    pub fn write(&self, dir: &Path, boot_id: &str, now_ms: i64) -> Result<(), DemoError> {
        let db = dir.join("kiosk.db");
        if db.exists() && !Store::open(&db, boot_id)?.trust()?.keys.is_empty() {
            return Err(DemoError::Exists(dir.into()));
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DemoError::Io { path, source }
        };
        let passes_dir = dir.join("passes");
        std::fs::create_dir_all(&passes_dir).map_err(io(&passes_dir))?;
        let write = |path: PathBuf, text: &str| std::fs::write(&path, text).map_err(io(&path));
        write(dir.join("community-key.hex"), &format!("{}\n", hex::encode(self.key.to_bytes())))?;
        write(dir.join("trust.json"), &json(&self.trust()))?;
        write(dir.join("revocations.json"), &json(&self.revocations))?;
        write(dir.join("quarantine.json"), &json(&self.quarantine))?;
        write(dir.join("passes.json"), &json(&self.passes))?;
        write(
            dir.join("kiosk.toml"),
            "# Demo kiosk: simulated hardware, this directory as its data directory.\n\
             [kiosk]\ndata_dir = \".\"\nsimulated = true\ndemo = true\n",
        )?;
        for p in &self.passes {
            write(passes_dir.join(format!("{}.txt", p.name)), &format!("{}\n", p.text))?;
            let png = passes_dir.join(format!("{}.png", p.name));
            render_qr(&p.text, 8)?.save(&png).map_err(|e| DemoError::Qr(format!("{}: {e}", png.display())))?;
        }
        let mut store = Store::open(&db, boot_id)?;
        self.install(&mut store, now_ms)?;
        Ok(())
    }
}

/// Renders pass text as a QR code (ECC M, quiet zone) with `module_px` pixels
/// per module.
pub fn render_qr(text: &str, module_px: u32) -> Result<image::GrayImage, DemoError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| DemoError::Qr(e.to_string()))?;
    Ok(code.render::<Luma<u8>>().module_dimensions(module_px, module_px).quiet_zone(true).build())
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("demo data serialises") + "\n"
}

/// The demo script: which pass is shown next and what its holder measures.
/// It walks every kind of decision: welcome, re-measure, fever, revoked,
/// expired, quarantine.
pub const SCRIPT: &[(&str, &[i32])] = &[
    ("resident", &[3650]),
    ("visitor", &[3670]),
    ("resident-assist", &[3790, 3680]),
    ("revoked", &[3650]),
    ("expired", &[3650]),
    ("staff", &[3850, 3840]),
    ("quarantined", &[3660]),
    ("delivery", &[3640]),
];

#[derive(serde::Deserialize)]
struct PassText {
    name: String,
    text: String,
}

/// Reads `passes.json` written by [`DemoCommunity::write`]: (name, text).
pub fn read_passes(dir: &Path) -> Result<Vec<(String, String)>, DemoError> {
    let path = dir.join("passes.json");
    let text = std::fs::read_to_string(&path).map_err(|source| DemoError::Io { path: path.clone(), source })?;
    let passes: Vec<PassText> = serde_json::from_str(&text)
        .map_err(|e| DemoError::Io { path, source: std::io::Error::new(std::io::ErrorKind::InvalidData, e) })?;
    Ok(passes.into_iter().map(|p| (p.name, p.text)).collect())
}

/// Plays [`SCRIPT`] on the simulated world until `stop` is set: each pass is
/// held up for `show`, then taken away for `gap`.
pub fn play_script(
    world: &crate::hw::sim::World,
    passes: &[(String, String)],
    show: std::time::Duration,
    gap: std::time::Duration,
    stop: &std::sync::atomic::AtomicBool,
) {
    let sleep = |d: std::time::Duration| {
        let end = std::time::Instant::now() + d;
        while std::time::Instant::now() < end && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        for (name, temps) in SCRIPT {
            let Some((_, text)) = passes.iter().find(|(n, _)| n == name) else { continue };
            tracing::info!(pass = name, "demo: pass held up to the camera");
            world.present(text, temps);
            sleep(show);
            world.withdraw();
            sleep(gap);
        }
    }
}

/// Publishes the demo lists again with a higher version and a fresh expiry,
/// as the committee's server would, and keeps the demo quarantine current.
pub fn refresh_lists(store: &mut Store, dir: &Path, now: crate::gate::Now) -> Result<(), DemoError> {
    let now_s = now.wall_s();
    for kind in [ListKind::Revocations, ListKind::Quarantine] {
        let path = dir.join(format!("{}.json", kind.as_str()));
        let text = std::fs::read_to_string(&path).map_err(|source| DemoError::Io { path: path.clone(), source })?;
        let mut list: ListSnapshot = serde_json::from_str(&text).map_err(|e| DemoError::Io {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        let have = store.list(kind)?.map_or(0, |l| l.version);
        list.version = have + 1;
        list.issued_at = now_s;
        list.expires_at = now_s + 30 * DAY;
        if kind == ListKind::Quarantine {
            for item in &mut list.items {
                item.from = Some(now_s - 2 * DAY);
                item.until = Some(now_s + 12 * DAY);
            }
        }
        store.put_list(&list, now.wall_ms)?;
    }
    store.mark_lists_synced(now.wall_ms)?;
    Ok(())
}
