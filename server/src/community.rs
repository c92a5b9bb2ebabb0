//! The committee's records: residents, passes, revocations, quarantine, and
//! the signed list bundle kiosks pull.

use rusqlite::{params, Connection, OptionalExtension};
use shoumen_protocol::sync::{ListBundle, SignedBundle};
use shoumen_protocol::{pass, ListItem, ListKind, ListSnapshot, PassClaims, PassFlags, PassId, Role, TrustList, TrustedKey};
use sha2::Digest;

use crate::db::{random_token, Community, DbError};

const DAY: i64 = 86_400;

/// How long a signed bundle stays valid; the server re-signs daily, so a
/// kiosk that syncs at least weekly never holds an expired one.
pub const BUNDLE_VALID_S: i64 = 7 * DAY;
const BUNDLE_RESIGN_S: i64 = DAY;

#[derive(Debug, thiserror::Error)]
pub enum CommunityError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for CommunityError {
    fn from(e: rusqlite::Error) -> Self {
        CommunityError::Db(e.into())
    }
}

/// What to put on a new pass.
#[derive(Clone, Debug)]
pub struct PassRequest {
    pub role: Role,
    pub unit: String,
    pub resident_id: Option<i64>,
    pub valid_from: i64,
    pub valid_s: i64,
    pub flags: u32,
    pub visitor_name: Option<String>,
    pub gate: Option<String>,
}

#[derive(Clone, Debug)]
pub struct IssuedPass {
    pub pass_id: PassId,
    pub text: String,
    /// The secret part of the resident's phone link (`/p/<token>`).
    pub link_token: String,
    pub expires_at: i64,
}

/// Checks a unit label the way the pass format will: short, printable.
pub fn check_unit(unit: &str) -> Result<String, CommunityError> {
    let unit = unit.trim();
    if unit.len() > pass::MAX_UNIT_LEN || unit.chars().any(|c| c.is_control() || crate::alerts::is_bidi_control(c)) {
        return Err(CommunityError::Invalid(format!(
            "unit {unit:?} is too long: at most {} bytes, e.g. \"3-502\"",
            pass::MAX_UNIT_LEN
        )));
    }
    Ok(unit.to_string())
}

pub fn add_resident(conn: &Connection, name: &str, unit: &str, phone: &str, now_ms: i64) -> Result<i64, CommunityError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(CommunityError::Invalid("a resident needs a name of 1 to 64 characters".into()));
    }
    let unit = check_unit(unit)?;
    if unit.is_empty() {
        return Err(CommunityError::Invalid("a resident needs a unit, e.g. \"3-502\"".into()));
    }
    if phone.chars().count() > 32 {
        return Err(CommunityError::Invalid("phone number too long".into()));
    }
    conn.execute(
        "INSERT INTO residents (name, unit, phone, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![name, unit, phone.trim(), now_ms],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn issue_pass(conn: &Connection, community: &Community, req: &PassRequest) -> Result<IssuedPass, CommunityError> {
    let unit = check_unit(&req.unit)?;
    if req.role == Role::Resident && unit.is_empty() {
        return Err(CommunityError::Invalid("a resident pass needs a unit".into()));
    }
    if req.valid_s <= 0 || req.valid_s > 5 * 365 * DAY {
        return Err(CommunityError::Invalid("validity must be between 1 second and 5 years".into()));
    }
    if let Some(id) = req.resident_id {
        let exists: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM residents WHERE id = ?1)", [id], |r| r.get(0))?;
        if !exists {
            return Err(CommunityError::NotFound("resident"));
        }
    }
    let claims = PassClaims {
        issuer: community.id.clone(),
        pass_id: PassId(rand::random()),
        issued_at: req.valid_from,
        not_before: req.valid_from,
        expires_at: req.valid_from + req.valid_s,
        role: req.role,
        unit: unit.clone(),
        flags: PassFlags(req.flags),
    };
    let text = pass::issue(&claims, &community.key).map_err(|e| CommunityError::Invalid(e.to_string()))?;
    let link_token = random_token();
    conn.execute(
        "INSERT INTO passes (pass_id, resident_id, role, unit, issued_at, not_before, expires_at, text, link_token, visitor_name, gate)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            claims.pass_id.to_hex(),
            req.resident_id,
            req.role.as_str(),
            unit,
            claims.issued_at,
            claims.not_before,
            claims.expires_at,
            text,
            link_token,
            req.visitor_name,
            req.gate,
        ],
    )?;
    Ok(IssuedPass { pass_id: claims.pass_id, text, link_token, expires_at: claims.expires_at })
}

pub fn revoke_pass(conn: &Connection, pass_id: &str, now_ms: i64) -> Result<(), CommunityError> {
    let n = conn.execute("UPDATE passes SET revoked_ms = ?1 WHERE pass_id = ?2 AND revoked_ms IS NULL", params![now_ms, pass_id])?;
    if n == 0 {
        let exists: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM passes WHERE pass_id = ?1)", [pass_id], |r| r.get(0))?;
        if !exists {
            return Err(CommunityError::NotFound("pass"));
        }
    }
    Ok(())
}

pub fn add_quarantine(conn: &Connection, unit: &str, from_s: i64, until_s: i64, note: &str, now_ms: i64) -> Result<i64, CommunityError> {
    let unit = check_unit(unit)?;
    if unit.is_empty() {
        return Err(CommunityError::Invalid("quarantine needs a unit, e.g. \"3-502\"".into()));
    }
    if until_s <= from_s {
        return Err(CommunityError::Invalid("the quarantine must end after it starts".into()));
    }
    if note.chars().count() > 200 {
        return Err(CommunityError::Invalid("note too long (200 characters at most)".into()));
    }
    conn.execute(
        "INSERT INTO quarantine (unit, from_s, until_s, note, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![unit, from_s, until_s, note, now_ms],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Whether `unit` is under home quarantine at `now_s`.
pub fn unit_quarantined(conn: &Connection, unit: &str, now_s: i64) -> Result<bool, DbError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM quarantine WHERE unit = ?1 AND from_s <= ?2 AND until_s > ?2)",
        params![unit, now_s],
        |r| r.get(0),
    )?)
}

pub fn remove_quarantine(conn: &Connection, id: i64) -> Result<(), CommunityError> {
    if conn.execute("DELETE FROM quarantine WHERE id = ?1", [id])? == 0 {
        return Err(CommunityError::NotFound("quarantine entry"));
    }
    Ok(())
}

/// The lists as they stand now, without version or times.
fn current_lists(conn: &Connection, community: &Community, now_s: i64) -> Result<(TrustList, Vec<ListItem>, Vec<ListItem>), DbError> {
    let trust = TrustList::new(vec![TrustedKey { issuer: community.id.clone(), key: community.key.verifying_key() }]);
    let item = |id: String, from, until| -> Result<ListItem, DbError> {
        Ok(ListItem { pass_id: PassId::from_hex(&id).map_err(DbError::Corrupt)?, from, until })
    };
    // Expired passes fail on their own; listing them would only grow the list.
    let mut stmt = conn.prepare("SELECT pass_id FROM passes WHERE revoked_ms IS NOT NULL AND expires_at > ?1 ORDER BY pass_id")?;
    let revoked = stmt
        .query_map([now_s], |r| r.get::<_, String>(0))?
        .map(|id| item(id?, None, None))
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT p.pass_id, q.from_s, q.until_s FROM quarantine q JOIN passes p ON p.unit = q.unit
         WHERE q.until_s > ?1 AND p.expires_at > ?1 AND p.revoked_ms IS NULL AND p.role = 'resident'
         ORDER BY p.pass_id, q.from_s",
    )?;
    let quarantined = stmt
        .query_map([now_s], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?
        .map(|row| {
            let (id, from, until) = row?;
            item(id, Some(from), Some(until))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((trust, revoked, quarantined))
}

/// The newest signed bundle, re-signed under a new version when the lists
/// changed or the last one is a day old.
pub fn bundle(conn: &Connection, community: &Community, now_s: i64) -> Result<(u64, SignedBundle), DbError> {
    let (trust, revoked, quarantined) = current_lists(conn, community, now_s)?;
    let content = serde_json::to_string(&(&trust, &revoked, &quarantined)).expect("lists serialise");
    let content_sha = hex::encode(sha2::Sha256::digest(content.as_bytes()));
    let latest: Option<(i64, i64, String, String, String, String)> = conn
        .query_row(
            "SELECT version, issued_at, content_sha256, bundle, kid, signature FROM bundles ORDER BY version DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?;
    if let Some((version, issued_at, sha, bundle, kid, signature)) = &latest {
        if *sha == content_sha && now_s - issued_at < BUNDLE_RESIGN_S {
            return Ok((*version as u64, SignedBundle { bundle: bundle.clone(), kid: kid.clone(), signature: signature.clone() }));
        }
    }
    let version = latest.map_or(1, |l| l.0 as u64 + 1);
    let expires_at = now_s + BUNDLE_VALID_S;
    let list = |kind, items| ListSnapshot { kind, version, issued_at: now_s, expires_at, items };
    let bundle = ListBundle {
        community: community.id.clone(),
        version,
        issued_at: now_s,
        expires_at,
        trust,
        revocations: list(ListKind::Revocations, revoked),
        quarantine: list(ListKind::Quarantine, quarantined),
    };
    let signed = SignedBundle::sign(&bundle, &community.key);
    conn.execute(
        "INSERT INTO bundles (version, issued_at, content_sha256, bundle, kid, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![version as i64, now_s, content_sha, signed.bundle, signed.kid, signed.signature],
    )?;
    Ok((version, signed))
}
