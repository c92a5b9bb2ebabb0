//! Rotating a community's pass-signing key without a kiosk losing trust:
//!
//! 1. **next**: an admin creates the next key. The list bundle now carries
//!    both keys (told apart by kid) and is still signed by the current one,
//!    so every kiosk learns the new key with its next lists.
//! 2. **activate**: new passes are signed with the new key. The old key
//!    stays trusted and keeps signing the bundles, so a kiosk that was
//!    offline all along still opens them (and learns the new key then).
//!    Old passes stay valid until they expire, or are re-signed in bulk
//!    (same pass id, unit and expiry; phone links show the new code, cards
//!    need printing again).
//! 3. **retire**: once every kiosk in service holds lists carrying the new
//!    key and no live pass depends on the old one, the old key is dropped;
//!    the bundles are signed by the new key from then on.

use ed25519_dalek::SigningKey;
use shoumen_protocol::{pass, KeyId, TrustList, TrustedKey};
use thiserror::Error;

use crate::db::{Community, Conn, DbError};
use crate::records::community;
use crate::vals;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("a key rotation is already under way; finish it (activate, then retire) first")]
    InProgress,
    #[error("there is no next key to activate; create one first")]
    NoNextKey,
    #[error("there is no old key to retire")]
    NoOldKey,
    #[error(
        "{0} kiosks in service do not hold the new key yet; they learn it at their next sync (see the Gates page)"
    )]
    KiosksBehind(i64),
    #[error("{0} valid passes are still signed with the old key; re-sign them first, or wait until they expire")]
    PassesLeft(usize),
    #[error(transparent)]
    Db(#[from] DbError),
}

pub fn kid(k: &SigningKey) -> String {
    KeyId::of(&k.verifying_key()).to_string()
}

/// Step 1: creates the next key and the first bundle that carries it.
pub fn create_next(conn: &mut dyn Conn, c: &Community, now_s: i64) -> Result<String, KeyError> {
    if c.next.is_some() || c.old.is_some() {
        return Err(KeyError::InProgress);
    }
    let next = SigningKey::generate(&mut rand::rngs::OsRng);
    // Made where the current key is kept: in the database, or in a file.
    let outside = crate::db::pass_keys_outside(conn, &c.id)?;
    let column = crate::db::keyfiles::pass_key_column(&c.id, &next, outside)?;
    conn.execute("UPDATE communities SET next_key = ?1 WHERE id = ?2", vals![column, &c.id])?;
    let with_next = Community { next: Some(next.clone()), ..c.clone() };
    let (version, _) = community::bundle(conn, &with_next, now_s)?;
    conn.execute("UPDATE communities SET key_version = ?1 WHERE id = ?2", vals![version, &c.id])?;
    Ok(kid(&next))
}

/// Step 2: the next key signs new passes; the current one becomes old.
pub fn activate(conn: &mut dyn Conn, c: &Community) -> Result<(), KeyError> {
    c.next.as_ref().ok_or(KeyError::NoNextKey)?;
    // The columns move as they are: a key in a file stays in its file.
    conn.execute(
        "UPDATE communities SET old_key = signing_key, signing_key = next_key, next_key = NULL WHERE id = ?1 AND next_key IS NOT NULL",
        vals![&c.id],
    )?;
    Ok(())
}

/// A trust list of the old key alone, while there is one.
fn old_trust(c: &Community) -> Option<TrustList> {
    c.old.as_ref().map(|old| TrustList::new(vec![TrustedKey { issuer: c.id.clone(), key: old.verifying_key() }]))
}

/// The live passes of `c` that only the old key vouches for: (pass id, text).
fn old_passes(conn: &mut dyn Conn, c: &Community, now_s: i64) -> Result<Vec<(String, String)>, DbError> {
    let Some(trust_old) = old_trust(c) else { return Ok(Vec::new()) };
    let live = conn.query_map(
        "SELECT pass_id, text FROM passes WHERE community = ?1 AND revoked_ms IS NULL AND expires_at > ?2",
        vals![&c.id, now_s],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )?;
    Ok(live.into_iter().filter(|(_, text)| pass::verify_signature(text, &trust_old).is_ok()).collect())
}

/// Step 2b: re-signs every live pass of the old key with the new one, with
/// the same claims; returns how many.
pub fn resign_old_passes(conn: &mut dyn Conn, c: &Community, now_s: i64) -> Result<usize, KeyError> {
    let Some(trust_old) = old_trust(c) else { return Err(KeyError::NoOldKey) };
    let passes = old_passes(conn, c, now_s)?;
    conn.transaction(true, |tx| {
        for (id, text) in &passes {
            let claims =
                pass::verify_signature(text, &trust_old).map_err(|e| DbError::Corrupt(format!("pass {id}: {e}")))?;
            let resigned = pass::issue(&claims, &c.key).map_err(|e| DbError::Corrupt(format!("pass {id}: {e}")))?;
            tx.execute(
                "UPDATE passes SET text = ?1 WHERE pass_id = ?2 AND community = ?3",
                vals![resigned, id, &c.id],
            )?;
        }
        Ok::<_, KeyError>(passes.len())
    })
}

/// Kiosks in service whose lists do not carry the new key yet.
fn kiosks_behind(conn: &mut dyn Conn, community: &str) -> Result<i64, DbError> {
    conn.scalar(
        "SELECT COUNT(*) FROM devices d JOIN communities c ON c.id = d.community
         WHERE d.community = ?1 AND d.revoked = 0 AND (d.lists_version IS NULL OR c.key_version IS NULL OR d.lists_version < c.key_version)",
        vals![community],
    )
}

/// A key retired in a transaction: its file, if it had one, is deleted
/// once that has committed ([`Retired::forget`]), not before.
#[must_use]
pub struct Retired(Option<String>);

impl Retired {
    pub fn forget(self, community: &str) {
        if let Some(column) = self.0 {
            crate::db::keyfiles::forget_pass_key(community, &column);
        }
    }
}

/// Step 3: drops the old key, once nothing needs it.
pub fn retire(conn: &mut dyn Conn, c: &Community, now_s: i64) -> Result<Retired, KeyError> {
    if c.old.is_none() {
        return Err(KeyError::NoOldKey);
    }
    let behind = kiosks_behind(conn, &c.id)?;
    if behind > 0 {
        return Err(KeyError::KiosksBehind(behind));
    }
    let left = old_passes(conn, c, now_s)?.len();
    if left > 0 {
        return Err(KeyError::PassesLeft(left));
    }
    let old: Option<String> =
        conn.query_opt("SELECT old_key FROM communities WHERE id = ?1", vals![&c.id], |r| r.get(0))?.flatten();
    conn.execute("UPDATE communities SET old_key = NULL, key_version = NULL WHERE id = ?1", vals![&c.id])?;
    Ok(Retired(old))
}

/// Where a community's rotation stands, for the Keys page.
#[derive(Debug)]
pub struct Status {
    pub current: String,
    pub next: Option<String>,
    pub old: Option<String>,
    pub kiosks: i64,
    pub kiosks_behind: i64,
    pub old_passes: usize,
}

pub fn status(conn: &mut dyn Conn, c: &Community, now_s: i64) -> Result<Status, DbError> {
    let rotating = c.next.is_some() || c.old.is_some();
    Ok(Status {
        current: kid(&c.key),
        next: c.next.as_ref().map(kid),
        old: c.old.as_ref().map(kid),
        kiosks: conn.scalar("SELECT COUNT(*) FROM devices WHERE community = ?1 AND revoked = 0", vals![&c.id])?,
        kiosks_behind: if rotating { kiosks_behind(conn, &c.id)? } else { 0 },
        old_passes: old_passes(conn, c, now_s)?.len(),
    })
}
