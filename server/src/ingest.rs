//! What the kiosk API does to the database: enrollment, device auth, the
//! push of entry pages with chain and checkpoint checks, heartbeats.
//!
//! Nothing here trusts the kiosk: a page is stored only if every entry
//! continues the chain from what is already stored and the signed checkpoint
//! names the resulting head. Anything else is refused whole and, if it looks
//! like tampering rather than a transport hiccup, kept as an alert.

use ed25519_dalek::VerifyingKey;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use shoumen_protocol::sync::{
    decode_hex, EnrollRequest, GateLayout, HealthItem, Heartbeat, PresenceFeed, PresenceItem, PushRequest, PushResponse, MAX_PAGE,
    MAX_PRESENCE,
};
use shoumen_protocol::{ChainBreak, ChainCheck, Decision, EntryKind, Hash, PassId, TempRecord, GENESIS};

use crate::db::{now_ms, random_token, sha256_hex, DbError};

/// Why the API refused a request; maps to an HTTP status in `api`.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the page starts at seq {first} but the server holds entries only up to {watermark}; resend from {next}", next = watermark + 1)]
    Gap { first: u64, watermark: u64 },
    #[error("refused as tampering: {0}")]
    Tamper(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Refusal {
        Refusal::Db(e.into())
    }
}

/// An enrolled kiosk, as authenticated for one request.
#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub key: VerifyingKey,
}

/// Checks `Authorization: Bearer <device>:<secret>`.
pub fn authenticate(conn: &Connection, header: Option<&str>) -> Result<Device, Refusal> {
    let unauthorized = |why: &str| Refusal::Unauthorized(why.to_string());
    let token = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("missing `Authorization: Bearer <device>:<secret>`; enroll the kiosk first"))?;
    let (id, secret) = token.split_once(':').ok_or_else(|| unauthorized("malformed device credentials"))?;
    let row: Option<(String, String, i64)> = conn
        .query_row("SELECT key_hex, secret_sha256, revoked FROM devices WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((key_hex, secret_sha, revoked)) = row else {
        return Err(unauthorized("unknown device; enroll it with a new token"));
    };
    // Comparing digests: equal-length strings, no early exit on a prefix of the secret.
    if !constant_time_eq(sha256_hex(secret).as_bytes(), secret_sha.as_bytes()) {
        return Err(unauthorized("wrong device secret"));
    }
    if revoked != 0 {
        return Err(unauthorized("this device was revoked by the committee"));
    }
    let key: [u8; 32] = decode_hex(&key_hex, "device key").map_err(|e| DbError::Corrupt(e.to_string()))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|e| DbError::Corrupt(e.to_string()))?;
    Ok(Device { id: id.to_string(), key })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Creates a one-time enrollment token for a gate; returns the token.
pub fn create_enroll_token(conn: &Connection, gate_name: &str, valid_ms: i64) -> Result<String, DbError> {
    let token = random_token();
    conn.execute(
        "INSERT INTO enroll_tokens (token_sha256, gate_name, expires_ms) VALUES (?1, ?2, ?3)",
        params![sha256_hex(&token), gate_name, now_ms() + valid_ms],
    )?;
    Ok(token)
}

/// Redeems a token: registers the device and returns its new secret.
pub fn enroll(conn: &mut Connection, req: &EnrollRequest) -> Result<String, Refusal> {
    let device_ok = !req.device.is_empty()
        && req.device.len() <= 64
        && req.device.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !device_ok {
        return Err(Refusal::BadRequest("device id must be 1–64 characters of a-z, 0-9, - and _".into()));
    }
    let key: [u8; 32] = decode_hex(&req.device_key, "device key").map_err(|e| Refusal::BadRequest(e.to_string()))?;
    VerifyingKey::from_bytes(&key).map_err(|e| Refusal::BadRequest(format!("device key: {e}")))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let token: Option<(String, i64, Option<String>)> = tx
        .query_row(
            "SELECT gate_name, expires_ms, used_by FROM enroll_tokens WHERE token_sha256 = ?1",
            [sha256_hex(&req.token)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let gate_name = match token {
        None => return Err(Refusal::Unauthorized("unknown enrollment token; ask the committee for a new one".into())),
        Some((_, _, Some(_))) => return Err(Refusal::Unauthorized("this enrollment token was already used".into())),
        Some((_, expires, None)) if expires <= now_ms() => {
            return Err(Refusal::Unauthorized("this enrollment token has expired; ask for a new one".into()))
        }
        // The committee names its gates; the kiosk's own name is a fallback.
        Some((gate, _, None)) if !gate.trim().is_empty() => gate,
        Some(_) => crate::alerts::clean(req.gate_name.trim(), 40),
    };
    let revoked: Option<bool> = tx.query_row("SELECT revoked FROM devices WHERE id = ?1", [&req.device], |r| r.get(0)).optional()?;
    let secret = random_token() + &random_token();
    match revoked {
        Some(false) => {
            return Err(Refusal::Conflict(format!("device id {} is already enrolled; revoke it first or use a fresh kiosk", req.device)));
        }
        // A revoked kiosk comes back with a new key and secret; its log
        // continues where the server's copy ends.
        Some(true) => tx.execute(
            "UPDATE devices SET gate_name = ?2, key_hex = ?3, secret_sha256 = ?4, enrolled_ms = ?5, revoked = 0 WHERE id = ?1",
            params![req.device, gate_name, req.device_key, sha256_hex(&secret), now_ms()],
        )?,
        None => tx.execute(
            "INSERT INTO devices (id, gate_name, key_hex, secret_sha256, enrolled_ms, head_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![req.device, gate_name, req.device_key, sha256_hex(&secret), now_ms(), hex::encode(GENESIS)],
        )?,
    };
    tx.execute("UPDATE enroll_tokens SET used_by = ?1 WHERE token_sha256 = ?2", params![req.device, sha256_hex(&req.token)])?;
    tx.commit()?;
    Ok(secret)
}

/// Limits on what one entry may carry: a kiosk writes these fields, so
/// they bound what one client can make the server store.
pub const MAX_BOOT_ID: usize = 64;
pub const MAX_REASON: usize = 40;
pub const MAX_NOTE: usize = 200;

/// Checks the fields a kiosk writes freely; `Err` names the first bad one.
fn check_entry_fields(e: &shoumen_protocol::Entry) -> Result<(), String> {
    let reason_ok = !e.reason.is_empty()
        && e.reason.len() <= MAX_REASON
        && e.reason.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !reason_ok {
        return Err(format!("entry {}: the reason must be 1 to {MAX_REASON} characters of a-z, 0-9 and _", e.seq));
    }
    if e.boot_id.len() > MAX_BOOT_ID {
        return Err(format!("entry {}: boot id longer than {MAX_BOOT_ID} bytes", e.seq));
    }
    if e.note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(format!("entry {}: note longer than {MAX_NOTE} characters", e.seq));
    }
    Ok(())
}

/// What a stored page changed, for the caller to act on after the commit.
#[derive(Debug, Default)]
pub struct Pushed {
    pub response: PushResponse,
    /// New alerts that went to the webhook outbox.
    pub alerts: usize,
}

/// Stores a page of entries, or refuses it whole.
pub fn push(conn: &mut Connection, device: &Device, req: &PushRequest) -> Result<Pushed, Refusal> {
    if req.entries.is_empty() || req.entries.len() > MAX_PAGE {
        return Err(Refusal::BadRequest(format!("a page holds 1 to {MAX_PAGE} entries")));
    }
    for p in &req.entries {
        check_entry_fields(&p.entry).map_err(Refusal::BadRequest)?;
    }
    let now = now_ms();
    let result = push_tx(conn, device, req, now);
    if let Err(Refusal::Tamper(detail)) = &result {
        let seq = req.entries.first().map(|e| e.entry.seq);
        crate::webhook::raise(conn, "tamper", &device.id, seq, detail, now)?;
        tracing::warn!(device = device.id, detail = crate::alerts::clean(detail, 200), "push refused as tampering");
    }
    result
}

fn push_tx(conn: &mut Connection, device: &Device, req: &PushRequest, now: i64) -> Result<Pushed, Refusal> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (watermark, head_hex): (i64, String) =
        tx.query_row("SELECT watermark, head_hash FROM devices WHERE id = ?1", [&device.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let watermark = watermark as u64;
    let first = req.entries[0].entry.seq;
    if first == 0 {
        return Err(Refusal::BadRequest("sequence numbers start at 1".into()));
    }
    if first > watermark + 1 {
        return Err(Refusal::Gap { first, watermark });
    }
    let last = req.entries[req.entries.len() - 1].entry.seq;
    let cp_head = check_checkpoint(device, req, last)?;
    // The chain hash before `first`: the stored one.
    let prev: Hash = if first == 1 {
        GENESIS
    } else if first - 1 == watermark {
        decode_hex(&head_hex, "head hash").map_err(|e| DbError::Corrupt(e.to_string()))?
    } else {
        let h: String = tx.query_row("SELECT hash FROM entries WHERE device = ?1 AND seq = ?2", params![device.id, (first - 1) as i64], |r| r.get(0))?;
        decode_hex(&h, "stored hash").map_err(|e| DbError::Corrupt(e.to_string()))?
    };
    let mut walk = ChainCheck::resume(first - 1, prev);
    let mut pushed = Pushed::default();
    let mut head_hex = head_hex;
    for p in &req.entries {
        let claimed: Hash = decode_hex(&p.hash, "entry hash").map_err(|_| Refusal::Tamper(format!("entry {}: its chain hash is not hex", p.entry.seq)))?;
        walk.push_entry(&device.id, p.entry.seq, &p.entry, Some(&claimed)).map_err(|b| Refusal::Tamper(b.to_string()))?;
        if p.entry.seq <= watermark {
            let have: String = tx.query_row("SELECT hash FROM entries WHERE device = ?1 AND seq = ?2", params![device.id, p.entry.seq as i64], |r| r.get(0))?;
            if have != p.hash {
                return Err(Refusal::Tamper(format!("entry {} differs from the one already stored (fork)", p.entry.seq)));
            }
            continue;
        }
        store_entry(&tx, &device.id, &p.entry, &p.hash, now)?;
        pushed.response.stored += 1;
        pushed.alerts += entry_consequences(&tx, &device.id, &p.entry, now)?;
        head_hex = p.hash.clone();
    }
    if walk.head().1 != cp_head {
        return Err(Refusal::Tamper(format!("checkpoint head at seq {last} does not match the page's chain")));
    }
    let new_watermark = watermark.max(last);
    tx.execute(
        "UPDATE devices SET watermark = ?1, head_hash = ?2, last_seen_ms = ?3 WHERE id = ?4",
        params![new_watermark as i64, head_hex, now, device.id],
    )?;
    tx.commit()?;
    pushed.response.watermark = new_watermark;
    Ok(pushed)
}

/// The checkpoint must come from this kiosk's key and name the page's end;
/// returns the head it vouches for.
fn check_checkpoint(device: &Device, req: &PushRequest, last: u64) -> Result<Hash, Refusal> {
    if req.checkpoint.device != device.id || req.checkpoint.seq != last {
        return Err(Refusal::Tamper(format!(
            "checkpoint names {:?} seq {}, but the page ends at {} seq {last}",
            crate::alerts::clean(&req.checkpoint.device, 64),
            req.checkpoint.seq,
            device.id
        )));
    }
    req.checkpoint.verify(&device.key).map_err(|e| Refusal::Tamper(format!("checkpoint at seq {last}: {e}")))
}

fn store_entry(tx: &Connection, device: &str, e: &shoumen_protocol::Entry, hash_hex: &str, now: i64) -> Result<(), Refusal> {
    let body = String::from_utf8(e.canonical()).expect("JSON is UTF-8");
    let temp = match e.temperature {
        Some(TempRecord::Centi(c)) => Some(c),
        _ => None,
    };
    tx.prepare_cached(
        "INSERT INTO entries (device, seq, body, hash, wall_ms, clock_synced, boot_id, mono_ms, received_ms,
             kind, direction, decision, reason, pass_id, role, temp_centi, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        device,
        e.seq as i64,
        body,
        hash_hex,
        e.wall_ms,
        e.clock_synced,
        e.boot_id,
        e.mono_ms as i64,
        now,
        e.kind.as_str(),
        e.direction.as_str(),
        e.decision.as_str(),
        e.reason,
        e.pass_id.map(|p| p.to_hex()),
        e.role.map(|r| r.as_str()),
        temp,
        e.note,
    ])?;
    Ok(())
}

/// What a new entry sets off: an alert (and its webhook message), and for
/// a pass let through, the community's presence. Returns new alerts.
fn entry_consequences(tx: &Connection, device: &str, e: &shoumen_protocol::Entry, now: i64) -> Result<usize, Refusal> {
    if let (Decision::Allow, Some(pass_id), EntryKind::Scan) = (e.decision, e.pass_id, e.kind) {
        // Merged by time: an older report arriving late changes nothing.
        tx.prepare_cached(
            "INSERT INTO presence (pass_id, direction, at_ms, device, change)
             VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(change), 0) + 1 FROM presence))
             ON CONFLICT (pass_id) DO UPDATE SET direction = excluded.direction, at_ms = excluded.at_ms,
                 device = excluded.device, change = excluded.change
             WHERE excluded.at_ms > presence.at_ms",
        )?
        .execute(params![pass_id.to_hex(), e.direction.as_str(), e.wall_ms, device])?;
    }
    match crate::alerts::from_entry(e) {
        Some((kind, detail)) => Ok(usize::from(crate::webhook::raise(tx, kind, device, Some(e.seq), &detail, now)?)),
        None => Ok(0),
    }
}

/// Presence that changed after `since`, oldest change first.
pub fn presence_since(conn: &Connection, since: u64) -> Result<PresenceFeed, DbError> {
    let mut stmt = conn.prepare("SELECT pass_id, direction, at_ms, change FROM presence WHERE change > ?1 ORDER BY change LIMIT ?2")?;
    let rows = stmt
        .query_map(params![since as i64, MAX_PRESENCE as i64 + 1], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let more = rows.len() > MAX_PRESENCE;
    let mut feed = PresenceFeed { cursor: since, items: Vec::new(), more };
    for (id, direction, at_ms, change) in rows.into_iter().take(MAX_PRESENCE) {
        let pass_id = PassId::from_hex(&id).map_err(DbError::Corrupt)?;
        let direction = direction.parse().map_err(DbError::Corrupt)?;
        feed.items.push(PresenceItem { pass_id, direction, at_ms });
        feed.cursor = change as u64;
    }
    Ok(feed)
}

/// Bounds on a heartbeat's free text.
const MAX_HEALTH_ITEMS: usize = 16;

/// Records a heartbeat: last seen, queue, clock skew, health, layout. A
/// checkpoint that contradicts what is stored raises a tamper alert.
pub fn heartbeat(conn: &mut Connection, device: &Device, hb: &Heartbeat) -> Result<(i64, usize), Refusal> {
    if hb.clock.boot_id.len() > MAX_BOOT_ID || hb.version.len() > 40 || hb.health.len() > MAX_HEALTH_ITEMS {
        return Err(Refusal::BadRequest(format!(
            "heartbeat too large: boot id ≤ {MAX_BOOT_ID} bytes, version ≤ 40, at most {MAX_HEALTH_ITEMS} health items"
        )));
    }
    let now = now_ms();
    let tamper = heartbeat_tamper(conn, device, hb)?;
    let mut alerts = 0;
    if let Some(detail) = &tamper {
        alerts += usize::from(crate::webhook::raise(conn, "tamper", &device.id, Some(hb.checkpoint.seq), detail, now)?);
    }
    let health: Vec<HealthItem> = hb
        .health
        .iter()
        .map(|h| HealthItem { device: crate::alerts::clean(&h.device, 32), ok: h.ok, state: crate::alerts::clean(&h.state, 200) })
        .collect();
    let layout = hb.layout.as_ref().map(|l| GateLayout { direction: crate::alerts::clean(&l.direction, 8), inward_camera: l.inward_camera });
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE devices SET last_seen_ms = ?1, queue = ?2, skew_ms = ?3, clock_synced = ?4, health = ?5, version = ?6,
             layout = COALESCE(?7, layout) WHERE id = ?8",
        params![
            now,
            i64::try_from(hb.queue).unwrap_or(i64::MAX),
            // A clock decades off is still shown as a number, never a wrap.
            now.saturating_sub(hb.clock.wall_ms).clamp(-SKEW_LIMIT_MS, SKEW_LIMIT_MS),
            hb.clock.synced,
            serde_json::to_string(&health).unwrap_or_default(),
            crate::alerts::clean(&hb.version, 40),
            layout.map(|l| serde_json::to_string(&l).unwrap_or_default()),
            device.id
        ],
    )?;
    tx.execute(
        "INSERT INTO boots (device, boot_id, server_ms, mono_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device, boot_id) DO UPDATE SET server_ms = excluded.server_ms, mono_ms = excluded.mono_ms",
        params![device.id, hb.clock.boot_id, now, i64::try_from(hb.clock.mono_ms).unwrap_or(i64::MAX)],
    )?;
    // Only recent boots place entries; a kiosk cannot grow this table.
    tx.execute(
        "DELETE FROM boots WHERE device = ?1 AND boot_id NOT IN
             (SELECT boot_id FROM boots WHERE device = ?1 ORDER BY server_ms DESC LIMIT ?2)",
        params![device.id, MAX_BOOTS],
    )?;
    tx.commit()?;
    if let Some(detail) = tamper {
        return Err(Refusal::Tamper(detail));
    }
    Ok((now, alerts))
}

/// Clock skew is kept within ±100 years.
const SKEW_LIMIT_MS: i64 = 100 * 365 * 86_400_000;
/// Boots kept per kiosk for placing entries made before NTP.
const MAX_BOOTS: i64 = 16;

fn heartbeat_tamper(conn: &Connection, device: &Device, hb: &Heartbeat) -> Result<Option<String>, Refusal> {
    Ok(match hb.checkpoint.verify(&device.key) {
        Err(e) => Some(format!("heartbeat checkpoint: {e}")),
        Ok(_) if hb.checkpoint.device != device.id => Some("heartbeat checkpoint names another device".into()),
        Ok(head) => {
            let stored: Option<String> = conn
                .query_row(
                    "SELECT hash FROM entries WHERE device = ?1 AND seq = ?2",
                    params![device.id, i64::try_from(hb.checkpoint.seq).unwrap_or(i64::MAX)],
                    |r| r.get(0),
                )
                .optional()?;
            match stored {
                Some(h) if h != hex::encode(head) => {
                    Some(format!("the kiosk's head at seq {} differs from the stored entry (history rewritten)", hb.checkpoint.seq))
                }
                _ => None,
            }
        }
    })
}

/// SQL for an entry's displayed time: its own wall clock if it was
/// synchronised, else placed from the same boot's monotonic clock against
/// the server time of that boot's last heartbeat.
pub const SHOWN_MS: &str = "CASE WHEN e.clock_synced = 1 OR b.server_ms IS NULL THEN e.wall_ms
     ELSE b.server_ms - (b.mono_ms - e.mono_ms) END";

/// Re-checks a device's stored chain from seq 1: every seq present once,
/// every body hashing to its stored chain hash. Returns the entry count.
pub fn verify_chain(conn: &Connection, device: &str) -> Result<u64, VerifyError> {
    let mut stmt = conn.prepare("SELECT seq, body, hash FROM entries WHERE device = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([device])?;
    let mut walk = ChainCheck::new();
    while let Some(r) = rows.next()? {
        let seq = r.get::<_, i64>(0)? as u64;
        let body: String = r.get(1)?;
        let hash: Hash = decode_hex(&r.get::<_, String>(2)?, "stored hash").map_err(|e| DbError::Corrupt(e.to_string()))?;
        let entry: shoumen_protocol::Entry =
            serde_json::from_str(&body).map_err(|e| ChainBreak::Unreadable { seq, reason: e.to_string() })?;
        walk.push_entry(device, seq, &entry, Some(&hash))?;
    }
    Ok(walk.head().0)
}

/// Why a stored chain did not verify.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VerifyError {
    #[error("chain breaks: {0}")]
    Break(#[from] ChainBreak),
    #[error("{0}")]
    Db(String),
}

impl From<DbError> for VerifyError {
    fn from(e: DbError) -> VerifyError {
        VerifyError::Db(e.to_string())
    }
}

impl From<rusqlite::Error> for VerifyError {
    fn from(e: rusqlite::Error) -> VerifyError {
        VerifyError::Db(e.to_string())
    }
}
