//! What the kiosk API does to the database: enrollment, device auth, the
//! push of entry pages with chain and checkpoint checks, heartbeats.
//!
//! Nothing here trusts the kiosk: a page is stored only if every entry
//! continues the chain from what is already stored and the signed checkpoint
//! names the resulting head. Anything else is refused whole and, if it looks
//! like tampering rather than a transport hiccup, kept as an alert.

use ed25519_dalek::VerifyingKey;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use shoumen_protocol::sync::{decode_hex, EnrollRequest, Heartbeat, PushRequest, PushResponse, MAX_PAGE};
use shoumen_protocol::{ChainBreak, ChainCheck, Decision, Hash, TempRecord, GENESIS};

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
        Some(_) => req.gate_name.trim().to_string(),
    };
    let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM devices WHERE id = ?1)", [&req.device], |r| r.get(0))?;
    if exists {
        return Err(Refusal::Conflict(format!("device id {} is already enrolled; revoke it first or use a fresh kiosk", req.device)));
    }
    let secret = random_token() + &random_token();
    tx.execute(
        "INSERT INTO devices (id, gate_name, key_hex, secret_sha256, enrolled_ms, head_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![req.device, gate_name, req.device_key, sha256_hex(&secret), now_ms(), hex::encode(GENESIS)],
    )?;
    tx.execute("UPDATE enroll_tokens SET used_by = ?1 WHERE token_sha256 = ?2", params![req.device, sha256_hex(&req.token)])?;
    tx.commit()?;
    Ok(secret)
}

/// Stores a page of entries, or refuses it whole.
pub fn push(conn: &mut Connection, device: &Device, req: &PushRequest) -> Result<PushResponse, Refusal> {
    if req.entries.is_empty() || req.entries.len() > MAX_PAGE {
        return Err(Refusal::BadRequest(format!("a page holds 1 to {MAX_PAGE} entries")));
    }
    let now = now_ms();
    let result = push_tx(conn, device, req, now);
    if let Err(Refusal::Tamper(detail)) = &result {
        let seq = req.entries.first().map(|e| e.entry.seq);
        raise_alert(conn, "tamper", &device.id, seq, detail, now)?;
        tracing::warn!(device = device.id, detail, "push refused as tampering");
    }
    result
}

fn push_tx(conn: &mut Connection, device: &Device, req: &PushRequest, now: i64) -> Result<PushResponse, Refusal> {
    let tamper = |s: String| Refusal::Tamper(s);
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
    // The checkpoint must come from this kiosk's key and name the page's end.
    let last = &req.entries[req.entries.len() - 1];
    if req.checkpoint.device != device.id || req.checkpoint.seq != last.entry.seq {
        return Err(tamper(format!(
            "checkpoint names {} seq {}, but the page ends at {} seq {}",
            req.checkpoint.device, req.checkpoint.seq, device.id, last.entry.seq
        )));
    }
    let cp_head = req.checkpoint.verify(&device.key).map_err(|e| tamper(format!("checkpoint at seq {}: {e}", last.entry.seq)))?;
    // The chain hash before `first`: the stored one.
    let prev: Hash = if first == 1 {
        GENESIS
    } else if first - 1 == watermark {
        decode_hex(&head_hex, "head hash").map_err(|e| DbError::Corrupt(e.to_string()))?
    } else {
        let h: String = tx.query_row(
            "SELECT hash FROM entries WHERE device = ?1 AND seq = ?2",
            params![device.id, (first - 1) as i64],
            |r| r.get(0),
        )?;
        decode_hex(&h, "stored hash").map_err(|e| DbError::Corrupt(e.to_string()))?
    };
    let mut stored = 0u64;
    let mut head_hex = head_hex;
    let mut walk = ChainCheck::resume(first - 1, prev);
    {
        let mut existing = tx.prepare_cached("SELECT hash FROM entries WHERE device = ?1 AND seq = ?2")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO entries (device, seq, body, hash, wall_ms, clock_synced, boot_id, mono_ms, received_ms,
                 kind, direction, decision, reason, pass_id, role, temp_centi, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?;
        let mut fevers = Vec::new();
        for pushed in &req.entries {
            let e = &pushed.entry;
            let claimed: Hash = decode_hex(&pushed.hash, "entry hash").map_err(|_| tamper(format!("entry {}: its chain hash is not hex", e.seq)))?;
            walk.push_entry(&device.id, e.seq, e, Some(&claimed)).map_err(|b| tamper(b.to_string()))?;
            let hash_hex = pushed.hash.clone();
            if e.seq <= watermark {
                let have: String = existing.query_row(params![device.id, e.seq as i64], |r| r.get(0))?;
                if have != hash_hex {
                    return Err(tamper(format!("entry {} differs from the one already stored (fork)", e.seq)));
                }
            } else {
                let body = String::from_utf8(e.canonical()).expect("JSON is UTF-8");
                let temp = match e.temperature {
                    Some(TempRecord::Centi(c)) => Some(c),
                    _ => None,
                };
                insert.execute(params![
                    device.id,
                    e.seq as i64,
                    body,
                    hash_hex,
                    e.wall_ms,
                    e.clock_synced,
                    e.boot_id,
                    e.mono_ms as i64,
                    now,
                    serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(String::from)),
                    e.direction.as_str(),
                    e.decision.as_str(),
                    e.reason,
                    e.pass_id.map(|p| p.to_hex()),
                    e.role.map(|r| r.as_str()),
                    temp,
                    e.note,
                ])?;
                stored += 1;
                let fever = e.reason == "fever" || matches!(e.temperature, Some(TempRecord::Fever(true)));
                if fever && e.decision != Decision::Allow {
                    let t = temp.map_or(String::new(), |c| format!(" {:.1} °C", f64::from(c) / 100.0));
                    fevers.push((e.seq, format!("seq {}{t}", e.seq)));
                }
                head_hex = hash_hex;
            }
        }
        if walk.head().1 != cp_head {
            return Err(tamper(format!("checkpoint head at seq {} does not match the page's chain", last.entry.seq)));
        }
        for (seq, detail) in fevers {
            raise_alert(&tx, "fever", &device.id, Some(seq), &detail, now)?;
        }
    }
    let new_watermark = watermark.max(last.entry.seq);
    tx.execute(
        "UPDATE devices SET watermark = ?1, head_hash = ?2, last_seen_ms = ?3 WHERE id = ?4",
        params![new_watermark as i64, head_hex, now, device.id],
    )?;
    tx.commit()?;
    Ok(PushResponse { watermark: new_watermark, stored })
}

/// Records an alert; the same one again only bumps its count.
pub fn raise_alert(conn: &Connection, kind: &str, device: &str, seq: Option<u64>, detail: &str, now: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO alerts (kind, device, seq, detail, first_ms, last_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (kind, device, detail) DO UPDATE SET count = count + 1, last_ms = excluded.last_ms, acked = 0",
        params![kind, device, seq.map(|s| s as i64), detail, now],
    )?;
    Ok(())
}

/// Records a heartbeat: last seen, queue, clock skew, health. A checkpoint
/// that contradicts what is stored raises a tamper alert.
pub fn heartbeat(conn: &mut Connection, device: &Device, hb: &Heartbeat) -> Result<i64, Refusal> {
    let now = now_ms();
    let tamper = match hb.checkpoint.verify(&device.key) {
        Err(e) => Some(format!("heartbeat checkpoint: {e}")),
        Ok(_) if hb.checkpoint.device != device.id => Some("heartbeat checkpoint names another device".into()),
        Ok(head) => {
            let stored: Option<String> = conn
                .query_row(
                    "SELECT hash FROM entries WHERE device = ?1 AND seq = ?2",
                    params![device.id, hb.checkpoint.seq as i64],
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
    };
    if let Some(detail) = &tamper {
        raise_alert(conn, "tamper", &device.id, Some(hb.checkpoint.seq), detail, now)?;
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE devices SET last_seen_ms = ?1, queue = ?2, skew_ms = ?3, clock_synced = ?4, health = ?5, version = ?6 WHERE id = ?7",
        params![
            now,
            hb.queue as i64,
            now - hb.clock.wall_ms,
            hb.clock.synced,
            serde_json::to_string(&hb.health).unwrap_or_default(),
            hb.version,
            device.id
        ],
    )?;
    tx.execute(
        "INSERT INTO boots (device, boot_id, server_ms, mono_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device, boot_id) DO UPDATE SET server_ms = excluded.server_ms, mono_ms = excluded.mono_ms",
        params![device.id, hb.clock.boot_id, now, hb.clock.mono_ms as i64],
    )?;
    tx.commit()?;
    if let Some(detail) = tamper {
        return Err(Refusal::Tamper(detail));
    }
    Ok(now)
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
