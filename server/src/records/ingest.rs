//! What the kiosk API does to the database: enrollment, device auth, the
//! push of entry pages with chain and checkpoint checks, heartbeats.
//!
//! Nothing here trusts the kiosk: a page is stored only if every entry
//! continues the chain from what is already stored and the signed checkpoint
//! names the resulting head. Anything else is refused whole and, if it looks
//! like tampering rather than a transport hiccup, kept as an alert.

use crate::leaves::detail::{Arg, Detail};
use ed25519_dalek::VerifyingKey;
use shoumen_protocol::sync::{
    decode_hex, EnrollRequest, GateLayout, HealthItem, Heartbeat, PresenceFeed, PresenceItem, PushRequest,
    PushResponse, PushedEntry, MAX_PAGE, MAX_PRESENCE,
};
use shoumen_protocol::{ChainBreak, ChainCheck, Decision, EntryKind, Hash, PassId, TempRecord, GENESIS};

use crate::db::{now_ms, Conn, DbError, Engine, Val};
use crate::leaves::secrets::{random_token, same_digest, sha256_hex};
use crate::vals;

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

/// An enrolled kiosk, as authenticated for one request.
#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub key: VerifyingKey,
    /// The community it was enrolled into: everything it sends or reads
    /// belongs to that community only.
    pub community: String,
}

/// The `(device, secret)` of `Authorization: Bearer <device>:<secret>`.
pub fn credentials(header: Option<&str>) -> Result<(&str, &str), Refusal> {
    let unauthorized = |why: &str| Refusal::Unauthorized(why.to_string());
    let token = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("missing `Authorization: Bearer <device>:<secret>`; enroll the kiosk first"))?;
    token.split_once(':').ok_or_else(|| unauthorized("malformed device credentials"))
}

/// Checks a kiosk's credentials against the database.
pub fn authenticate(conn: &mut dyn Conn, id: &str, secret: &str) -> Result<Device, Refusal> {
    let unauthorized = |why: &str| Refusal::Unauthorized(why.to_string());
    let row = conn.query_opt(
        "SELECT key_hex, secret_sha256, revoked, community FROM devices WHERE id = ?1",
        vals![id],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<bool>(2)?, r.get::<String>(3)?)),
    )?;
    let Some((key_hex, secret_sha, revoked, community)) = row else {
        return Err(unauthorized("unknown device; enroll it with a new token"));
    };
    if !same_digest(&sha256_hex(secret), &secret_sha) {
        return Err(unauthorized("wrong device secret"));
    }
    if revoked {
        return Err(unauthorized(REVOKED));
    }
    let key: [u8; 32] = decode_hex(&key_hex, "device key").map_err(|e| DbError::Corrupt(e.to_string()))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|e| DbError::Corrupt(e.to_string()))?;
    Ok(Device { id: id.to_string(), key, community })
}

const REVOKED: &str = "this device was revoked by the committee";

/// Creates a one-time enrollment token for a gate of `community`; returns
/// the token.
pub fn create_enroll_token(
    conn: &mut dyn Conn,
    community: &str,
    gate_name: &str,
    valid_ms: i64,
) -> Result<String, DbError> {
    let token = random_token();
    conn.execute(
        "INSERT INTO enroll_tokens (token_sha256, gate_name, expires_ms, community) VALUES (?1, ?2, ?3, ?4)",
        vals![sha256_hex(&token), gate_name, now_ms() + valid_ms, community],
    )?;
    Ok(token)
}

/// A kiosk just enrolled.
#[derive(Debug)]
pub struct Enrolled {
    pub secret: String,
    pub community: String,
    pub gate: String,
}

/// Redeems a token: registers the device in the token's community and
/// returns its new secret.
pub fn enroll(conn: &mut dyn Conn, req: &EnrollRequest) -> Result<Enrolled, Refusal> {
    check_device(&req.device, &req.device_key)?;
    conn.transaction(true, |tx| enroll_tx(tx, req))
}

/// A device id and public key (hex) as a kiosk sends them: the key, or
/// what is wrong.
pub fn check_device(device: &str, key_hex: &str) -> Result<VerifyingKey, Refusal> {
    let device_ok = !device.is_empty()
        && device.len() <= 64
        && device.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !device_ok {
        return Err(Refusal::BadRequest("device id must be 1–64 characters of a-z, 0-9, - and _".into()));
    }
    let key: [u8; 32] = decode_hex(key_hex, "device key").map_err(|e| Refusal::BadRequest(e.to_string()))?;
    VerifyingKey::from_bytes(&key).map_err(|e| Refusal::BadRequest(format!("device key: {e}")))
}

/// Redeems a token inside the caller's transaction.
pub fn enroll_tx(tx: &mut dyn Conn, req: &EnrollRequest) -> Result<Enrolled, Refusal> {
    let token = tx.query_opt(
        "SELECT gate_name, expires_ms, used_by, community FROM enroll_tokens WHERE token_sha256 = ?1",
        vals![sha256_hex(&req.token)],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?, r.get::<Option<String>>(2)?, r.get::<String>(3)?)),
    )?;
    let (gate, community) = match token {
        None => return Err(Refusal::Unauthorized("unknown enrollment token; ask the committee for a new one".into())),
        Some((_, _, Some(_), _)) => return Err(Refusal::Unauthorized("this enrollment token was already used".into())),
        Some((_, expires, None, _)) if expires <= now_ms() => {
            return Err(Refusal::Unauthorized("this enrollment token has expired; ask for a new one".into()))
        }
        // The committee names its gates; the kiosk's own name is a fallback.
        Some((gate, _, None, community)) if !gate.trim().is_empty() => (gate, community),
        Some((_, _, None, community)) => (crate::leaves::text::clean(req.gate_name.trim(), 40), community),
    };
    let existing = tx.query_opt("SELECT revoked, community FROM devices WHERE id = ?1", vals![&req.device], |r| {
        Ok((r.get::<bool>(0)?, r.get::<String>(1)?))
    })?;
    let secret = random_token() + &random_token();
    match existing {
        Some((false, _)) => {
            return Err(Refusal::Conflict(format!("device id {} is already enrolled; revoke it first or use a fresh kiosk", req.device)));
        }
        // A kiosk id belongs to one community for good: its log is there.
        Some((true, theirs)) if theirs != community => {
            return Err(Refusal::Conflict(format!("device id {} belongs to another community; use a fresh kiosk", req.device)));
        }
        // A revoked kiosk comes back with a new key and secret; its log
        // continues where the server's copy ends.
        Some((true, _)) => tx.execute(
            "UPDATE devices SET gate_name = ?2, key_hex = ?3, secret_sha256 = ?4, enrolled_ms = ?5, revoked = 0 WHERE id = ?1",
            vals![&req.device, &gate, &req.device_key, sha256_hex(&secret), now_ms()],
        )?,
        None => tx.execute(
            "INSERT INTO devices (id, gate_name, key_hex, secret_sha256, enrolled_ms, head_hash, community) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            vals![&req.device, &gate, &req.device_key, sha256_hex(&secret), now_ms(), hex::encode(GENESIS), &community],
        )?,
    };
    tx.execute(
        "UPDATE enroll_tokens SET used_by = ?1 WHERE token_sha256 = ?2",
        vals![&req.device, sha256_hex(&req.token)],
    )?;
    Ok(Enrolled { secret, community, gate })
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
    /// New alerts (each queued for the webhook, if the community has one):
    /// the bell wakes the delivery.
    pub alerts: usize,
}

/// Stores a page of entries, or refuses it whole.
pub fn push(conn: &mut dyn Conn, device: &Device, req: &PushRequest) -> Result<Pushed, Refusal> {
    if req.entries.is_empty() || req.entries.len() > MAX_PAGE {
        return Err(Refusal::BadRequest(format!("a page holds 1 to {MAX_PAGE} entries")));
    }
    for p in &req.entries {
        check_entry_fields(&p.entry).map_err(Refusal::BadRequest)?;
    }
    let now = now_ms();
    let result = conn.transaction(true, |tx| push_tx(tx, device, req, now));
    if let Err(Refusal::Tamper(detail)) = &result {
        let seq = req.entries.first().map(|e| e.entry.seq);
        crate::records::alerts::raise(
            conn,
            &device.community,
            shoumen_protocol::AlertKind::Tamper,
            &device.id,
            seq,
            &Detail::new("tamper", [Arg::from(detail.as_str())]).encode(),
            now,
        )?;
        tracing::warn!(
            device = device.id,
            detail = crate::leaves::text::clean(detail, 200),
            "push refused as tampering"
        );
    }
    result
}

/// What the server holds of a kiosk's chain.
struct Held {
    watermark: u64,
    head_hex: String,
    /// Entries up to here were deleted by retention; the hash of the last
    /// one is kept.
    pruned_seq: u64,
    pruned_hex: Option<String>,
}

/// The device's chain as held, locked for this transaction: on
/// PostgreSQL two pushes of the same kiosk take turns here, while other
/// kiosks' pushes go on in parallel (SQLite has one writer anyway). A
/// revoked or re-enrolled kiosk stores nothing, whatever its request's
/// authentication (possibly remembered) said.
fn lock_device(tx: &mut dyn Conn, device: &Device) -> Result<Held, Refusal> {
    let sql = tx.for_update(
        "SELECT watermark, head_hash, revoked, key_hex, pruned_seq, pruned_hash FROM devices WHERE id = ?1",
    );
    let (held, revoked, key_hex) = tx.query_row(&sql, vals![&device.id], |r| {
        let held = Held { watermark: r.get(0)?, head_hex: r.get(1)?, pruned_seq: r.get(4)?, pruned_hex: r.get(5)? };
        Ok((held, r.get::<bool>(2)?, r.get::<String>(3)?))
    })?;
    if revoked {
        return Err(Refusal::Unauthorized(REVOKED.into()));
    }
    let stored: [u8; 32] = decode_hex(&key_hex, "device key").map_err(|e| DbError::Corrupt(e.to_string()))?;
    if &stored != device.key.as_bytes() {
        return Err(Refusal::Unauthorized("this kiosk was enrolled again; its new credentials must be used".into()));
    }
    Ok(held)
}

fn stored_hash(tx: &mut dyn Conn, device: &str, seq: u64) -> Result<String, DbError> {
    tx.query_row("SELECT hash FROM entries WHERE device = ?1 AND seq = ?2", vals![device, seq], |r| r.get(0))
}

/// The chain hash before `start`: the stored one (the head, the hash kept
/// at the retention cut, or the stored entry's).
fn hash_before(tx: &mut dyn Conn, device: &Device, held: &Held, start: u64) -> Result<Hash, Refusal> {
    let prev_hex = if start == 1 {
        hex::encode(GENESIS)
    } else if start - 1 == held.watermark {
        held.head_hex.clone()
    } else if start - 1 == held.pruned_seq {
        held.pruned_hex
            .clone()
            .ok_or_else(|| DbError::Corrupt(format!("kiosk {} lost the hash kept at its retention cut", device.id)))?
    } else {
        stored_hash(tx, &device.id, start - 1)?
    };
    Ok(decode_hex(&prev_hex, "stored hash").map_err(|e| DbError::Corrupt(e.to_string()))?)
}

fn push_tx(tx: &mut dyn Conn, device: &Device, req: &PushRequest, now: i64) -> Result<Pushed, Refusal> {
    let held = lock_device(tx, device)?;
    let watermark = held.watermark;
    let first = req.entries[0].entry.seq;
    if first == 0 {
        return Err(Refusal::BadRequest("sequence numbers start at 1".into()));
    }
    if first > watermark + 1 {
        return Err(Refusal::Gap { first, watermark });
    }
    let last = req.entries[req.entries.len() - 1].entry.seq;
    let cp_head = check_checkpoint(device, req, last)?;
    // Entries that retention deleted cannot be compared again: the walk
    // starts after the cut, from the hash kept for it, and the page's entry
    // at the cut must carry that hash.
    let cut = held.pruned_seq;
    if first <= cut {
        let at_cut = req.entries.iter().find(|p| p.entry.seq == cut);
        if let (Some(p), Some(kept)) = (at_cut, &held.pruned_hex) {
            if p.hash != *kept {
                return Err(Refusal::Tamper(format!(
                    "entry {cut} differs from the one stored before retention (fork)"
                )));
            }
        }
        if last <= cut {
            return Ok(Pushed { response: PushResponse { stored: 0, watermark }, alerts: 0 });
        }
    }
    let start = first.max(cut + 1);
    let prev = hash_before(tx, device, &held, start)?;
    let mut walk = ChainCheck::resume(start - 1, prev);
    let mut pushed = Pushed::default();
    let mut head_hex = held.head_hex;
    let mut presence = Vec::new();
    let mut new = Vec::new();
    for p in req.entries.iter().filter(|p| p.entry.seq >= start) {
        let claimed: Hash = decode_hex(&p.hash, "entry hash")
            .map_err(|_| Refusal::Tamper(format!("entry {}: its chain hash is not hex", p.entry.seq)))?;
        walk.push_entry(&device.id, p.entry.seq, &p.entry, Some(&claimed))
            .map_err(|b| Refusal::Tamper(b.to_string()))?;
        if p.entry.seq <= watermark {
            if stored_hash(tx, &device.id, p.entry.seq)? != p.hash {
                return Err(Refusal::Tamper(format!(
                    "entry {} differs from the one already stored (fork)",
                    p.entry.seq
                )));
            }
            continue;
        }
        new.push(p);
        head_hex = p.hash.clone();
    }
    if walk.head().1 != cp_head {
        return Err(Refusal::Tamper(format!("checkpoint head at seq {last} does not match the page's chain")));
    }
    store_entries(tx, device, &new, now)?;
    for p in &new {
        pushed.alerts += entry_consequences(tx, device, &p.entry, now, &mut presence)?;
    }
    pushed.response.stored = new.len() as u64;
    store_presence(tx, device, &presence)?;
    let new_watermark = watermark.max(last);
    tx.execute(
        "UPDATE devices SET watermark = ?1, head_hash = ?2, last_seen_ms = ?3 WHERE id = ?4",
        vals![new_watermark, head_hex, now, &device.id],
    )?;
    pushed.response.watermark = new_watermark;
    Ok(pushed)
}

/// The checkpoint must come from this kiosk's key and name the page's end;
/// returns the head it vouches for.
fn check_checkpoint(device: &Device, req: &PushRequest, last: u64) -> Result<Hash, Refusal> {
    if req.checkpoint.device != device.id || req.checkpoint.seq != last {
        return Err(Refusal::Tamper(format!(
            "checkpoint names {:?} seq {}, but the page ends at {} seq {last}",
            crate::leaves::text::clean(&req.checkpoint.device, 64),
            req.checkpoint.seq,
            device.id
        )));
    }
    req.checkpoint.verify(&device.key).map_err(|e| Refusal::Tamper(format!("checkpoint at seq {last}: {e}")))
}

/// Columns of `entries` a kiosk's entry fills.
const ENTRY_COLUMNS: &str = "device, seq, body, hash, wall_ms, clock_synced, boot_id, mono_ms, received_ms,
    kind, direction, decision, reason, pass_id, role, temp_centi, note, community";
const ENTRY_VALUES: usize = 18;

/// Stores a page's new entries, many rows per statement: a backlog page
/// of 500 costs 17 round trips to the database, not 500.
fn store_entries(tx: &mut dyn Conn, device: &Device, new: &[&PushedEntry], now: i64) -> Result<(), Refusal> {
    let mut rest = new;
    while !rest.is_empty() {
        // Few distinct statement shapes, so each connection prepares them once.
        let n = [64, 8, 1].into_iter().find(|n| *n <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(n);
        let mut params = Vec::with_capacity(n * ENTRY_VALUES);
        for p in chunk {
            entry_values(&mut params, device, &p.entry, &p.hash, now);
        }
        tx.execute(&insert_sql(n), &params)?;
        rest = tail;
    }
    Ok(())
}

fn insert_sql(rows: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let places: Vec<String> = (1..=ENTRY_VALUES).map(|c| format!("?{}", r * ENTRY_VALUES + c)).collect();
            format!("({})", places.join(", "))
        })
        .collect();
    format!("INSERT INTO entries ({ENTRY_COLUMNS}) VALUES {}", tuples.join(", "))
}

fn entry_values(params: &mut Vec<Val>, device: &Device, e: &shoumen_protocol::Entry, hash_hex: &str, now: i64) {
    let body = String::from_utf8(e.canonical()).expect("JSON is UTF-8");
    let temp = match e.temperature {
        Some(TempRecord::Centi(c)) => Some(i64::from(c)),
        _ => None,
    };
    params.extend([
        Val::from(&device.id),
        Val::from(e.seq),
        Val::from(body),
        Val::from(hash_hex),
        Val::from(e.wall_ms),
        Val::from(e.clock_synced),
        Val::from(&e.boot_id),
        Val::from(e.mono_ms),
        Val::from(now),
        Val::from(e.kind.as_str()),
        Val::from(e.direction.as_str()),
        Val::from(e.decision.as_str()),
        Val::from(&e.reason),
        Val::from(e.pass_id.map(|p| p.to_hex())),
        Val::from(e.role.map(|r| r.as_str())),
        Val::from(temp),
        Val::from(e.note.clone()),
        Val::from(&device.community),
    ]);
}

/// A pass let through at a gate, for the community's presence.
struct Seen {
    pass_id: String,
    direction: &'static str,
    at_ms: i64,
}

/// What a new entry sets off: an alert (and its webhook message), and for
/// a pass let through, a presence change (stored at the end of the page).
/// Returns new alerts.
fn entry_consequences(
    tx: &mut dyn Conn,
    device: &Device,
    e: &shoumen_protocol::Entry,
    now: i64,
    presence: &mut Vec<Seen>,
) -> Result<usize, Refusal> {
    if let (Decision::Allow, Some(pass_id), EntryKind::Scan) = (e.decision, e.pass_id, e.kind) {
        presence.push(Seen { pass_id: pass_id.to_hex(), direction: e.direction.as_str(), at_ms: e.wall_ms });
    }
    let unit_of = |pass: &str| {
        tx.query_opt(
            "SELECT unit FROM passes WHERE community = ?1 AND pass_id = ?2",
            vals![&device.community, pass],
            |r| r.get::<String>(0),
        )
    };
    let Some(alert) = crate::records::alerts::from_entry(e, unit_of)? else { return Ok(0) };
    let raised = crate::records::alerts::raise_folded(tx, &device.community, &device.id, Some(e.seq), &alert, now)?;
    Ok(usize::from(raised.is_some()))
}

/// Merges a page's passes into the community's presence, by time: an
/// older report arriving late changes nothing.
///
/// Changes are numbered per community and kiosks read them from their last
/// number on, so two transactions must not number them at once or commit
/// out of order. On PostgreSQL the community's row is that lock, taken
/// here, at the end of the page, so it is held only for these writes and
/// the commit; SQLite has one writer anyway.
fn store_presence(tx: &mut dyn Conn, device: &Device, seen: &[Seen]) -> Result<(), DbError> {
    if seen.is_empty() {
        return Ok(());
    }
    if tx.engine() == Engine::Postgres {
        tx.query_opt("SELECT id FROM communities WHERE id = ?1 FOR UPDATE", vals![&device.community], |r| {
            r.get::<String>(0)
        })?;
    }
    // Only each pass's newest report on this page.
    let mut newest: std::collections::HashMap<&str, &Seen> = std::collections::HashMap::new();
    for s in seen {
        let slot = newest.entry(s.pass_id.as_str()).or_insert(s);
        if shoumen_protocol::sync::presence_replaces(slot.at_ms, s.at_ms) {
            *slot = s;
        }
    }
    let mut seen: Vec<&Seen> = newest.into_values().collect();
    seen.sort_by_key(|s| s.at_ms);
    let mut change =
        tx.scalar("SELECT COALESCE(MAX(change), 0) FROM presence WHERE community = ?1", vals![&device.community])?;
    let upsert = format!(
        "INSERT INTO presence (community, pass_id, direction, at_ms, device, change)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (community, pass_id) DO UPDATE SET direction = excluded.direction, at_ms = excluded.at_ms,
             device = excluded.device, change = excluded.change {}",
        shoumen_protocol::sync::PRESENCE_UPSERT_GUARD
    );
    for s in seen {
        change += 1;
        tx.execute(&upsert, vals![&device.community, &s.pass_id, s.direction, s.at_ms, &device.id, change])?;
    }
    Ok(())
}

/// The presence of `community` that changed after `since`, oldest change
/// first.
pub fn presence_since(conn: &mut dyn Conn, community: &str, since: u64) -> Result<PresenceFeed, DbError> {
    let rows = conn.query_map(
        "SELECT pass_id, direction, at_ms, change FROM presence WHERE community = ?1 AND change > ?2 ORDER BY change LIMIT ?3",
        vals![community, since, MAX_PRESENCE + 1],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<i64>(2)?, r.get::<u64>(3)?)),
    )?;
    let more = rows.len() > MAX_PRESENCE;
    let mut feed = PresenceFeed { cursor: since, items: Vec::new(), more };
    for (id, direction, at_ms, change) in rows.into_iter().take(MAX_PRESENCE) {
        let pass_id = PassId::from_hex(&id).map_err(DbError::Corrupt)?;
        let direction = direction.parse().map_err(DbError::Corrupt)?;
        feed.items.push(PresenceItem { pass_id, direction, at_ms });
        feed.cursor = change;
    }
    Ok(feed)
}

/// Bounds on a heartbeat's free text.
const MAX_HEALTH_ITEMS: usize = 16;

/// Records a heartbeat: last seen, queue, clock skew, health, layout. A
/// checkpoint that contradicts what is stored raises a tamper alert.
pub fn heartbeat(conn: &mut dyn Conn, device: &Device, hb: &Heartbeat) -> Result<(i64, usize), Refusal> {
    if hb.clock.boot_id.len() > MAX_BOOT_ID || hb.version.len() > 40 || hb.health.len() > MAX_HEALTH_ITEMS {
        return Err(Refusal::BadRequest(format!(
            "heartbeat too large: boot id ≤ {MAX_BOOT_ID} bytes, version ≤ 40, at most {MAX_HEALTH_ITEMS} health items"
        )));
    }
    let now = now_ms();
    let tamper = heartbeat_tamper(conn, device, hb)?;
    let mut alerts = 0;
    if let Some(detail) = &tamper {
        alerts += usize::from(
            crate::records::alerts::raise(
                conn,
                &device.community,
                shoumen_protocol::AlertKind::Tamper,
                &device.id,
                Some(hb.checkpoint.seq),
                &Detail::new("tamper", [Arg::from(detail.as_str())]).encode(),
                now,
            )?
            .is_some(),
        );
    }
    alerts += usize::from(store_beat(conn, device, hb, now)?);
    if let Some(held) = &hb.log {
        match crate::records::evidence::check_held(conn, &device.community, &device.id, held, now) {
            Ok(n) => alerts += n,
            Err(crate::records::evidence::EvidenceError::Db(e)) => return Err(Refusal::Db(e)),
            Err(e) => {
                tracing::error!(error = %e, device = %device.id, "cannot compare a kiosk's evidence head with the log")
            }
        }
    }
    if let Some(detail) = tamper {
        return Err(Refusal::Tamper(detail));
    }
    Ok((now, alerts))
}

/// Clock skew is kept within ±100 years.
const SKEW_LIMIT_MS: i64 = 100 * 365 * 86_400_000;

/// The heartbeat's state of the kiosk, its boot's clock pair, and a
/// clock alert if its clock just went off, in one transaction. Whether an
/// alert was raised.
fn store_beat(conn: &mut dyn Conn, device: &Device, hb: &Heartbeat, now: i64) -> Result<bool, DbError> {
    let health: Vec<HealthItem> = hb
        .health
        .iter()
        .map(|h| HealthItem {
            device: crate::leaves::text::clean(&h.device, 32),
            ok: h.ok,
            state: crate::leaves::text::clean(&h.state, 200),
        })
        .collect();
    let layout = hb
        .layout
        .as_ref()
        .map(|l| GateLayout { direction: crate::leaves::text::clean(&l.direction, 8), inward_camera: l.inward_camera });
    // A clock decades off is still shown as a number, never a wrap.
    let skew = now.saturating_sub(hb.clock.wall_ms).clamp(-SKEW_LIMIT_MS, SKEW_LIMIT_MS);
    let was_off = conn
        .query_opt("SELECT skew_ms FROM devices WHERE id = ?1", vals![&device.id], |r| r.get::<Option<i64>>(0))?
        .flatten()
        .is_some_and(|s| s.abs() > CLOCK_OFF_MS);
    conn.transaction(true, |tx| {
        tx.execute(
            "UPDATE devices SET last_seen_ms = ?1, queue = ?2, skew_ms = ?3, clock_synced = ?4, health = ?5, version = ?6,
                 layout = COALESCE(?7, layout), time_trust = ?8, corrected_ms = COALESCE(?9, corrected_ms), vitals = ?10
             WHERE id = ?11",
            vals![
                now,
                hb.queue,
                skew,
                hb.clock.synced,
                serde_json::to_string(&health).unwrap_or_default(),
                crate::leaves::text::clean(&hb.version, 40),
                layout.map(|l| serde_json::to_string(&l).unwrap_or_default()),
                hb.clock.trust.map(|t| t.as_str()),
                hb.clock.corrected_at_ms,
                hb.vitals.as_ref().map(|v| serde_json::to_string(v).unwrap_or_default()),
                &device.id
            ],
        )?;
        let raised = clock_alert(tx, device, skew, was_off, now)?;
        tx.execute(
            "INSERT INTO boots (device, boot_id, server_ms, mono_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device, boot_id) DO UPDATE SET server_ms = excluded.server_ms, mono_ms = excluded.mono_ms",
            vals![&device.id, &hb.clock.boot_id, now, hb.clock.mono_ms],
        )?;
        // Only recent boots place entries; a kiosk cannot grow this table.
        tx.execute(
            "DELETE FROM boots WHERE device = ?1 AND boot_id NOT IN
                 (SELECT boot_id FROM boots WHERE device = ?1 ORDER BY server_ms DESC LIMIT ?2)",
            vals![&device.id, MAX_BOOTS],
        )?;
        Ok(raised)
    })
}

/// Tells the committee once each time a kiosk's clock goes off, not every
/// heartbeat while it stays off: the kiosk decides by the server's time
/// meanwhile. Whether an alert was raised.
fn clock_alert(tx: &mut dyn Conn, device: &Device, skew: i64, was_off: bool, now: i64) -> Result<bool, DbError> {
    if skew.abs() <= CLOCK_OFF_MS || was_off {
        return Ok(false);
    }
    let key = if skew > 0 { "clock_behind" } else { "clock_ahead" };
    let detail = Detail::new(key, [Arg::from((skew.abs() / 60_000).to_string())]).encode();
    let kind = shoumen_protocol::AlertKind::ClockOff;
    Ok(crate::records::alerts::raise(tx, &device.community, kind, &device.id, None, &detail, now)?.is_some())
}

/// A kiosk's OS clock further off than this raises an alert.
pub const CLOCK_OFF_MS: i64 = 5 * 60_000;
/// Boots kept per kiosk for placing entries made before NTP.
const MAX_BOOTS: i64 = 16;

fn heartbeat_tamper(conn: &mut dyn Conn, device: &Device, hb: &Heartbeat) -> Result<Option<String>, Refusal> {
    Ok(match hb.checkpoint.verify(&device.key) {
        Err(e) => Some(format!("heartbeat checkpoint: {e}")),
        Ok(_) if hb.checkpoint.device != device.id => Some("heartbeat checkpoint names another device".into()),
        Ok(head) => {
            let stored = conn.query_opt(
                "SELECT hash FROM entries WHERE device = ?1 AND seq = ?2",
                vals![&device.id, hb.checkpoint.seq],
                |r| r.get::<String>(0),
            )?;
            match stored {
                Some(h) if h != hex::encode(head) => Some(format!(
                    "the kiosk's head at seq {} differs from the stored entry (history rewritten)",
                    hb.checkpoint.seq
                )),
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

/// Re-checks a device's stored chain from seq 1 (or from its retention
/// cut): every seq present once, every body hashing to its stored chain
/// hash. Returns the last seq.
pub fn verify_chain(conn: &mut dyn Conn, device: &str) -> Result<u64, VerifyError> {
    // After a retention cut the walk starts from the hash kept for it.
    let (cut, kept) =
        conn.query_row("SELECT pruned_seq, pruned_hash FROM devices WHERE id = ?1", vals![device], |r| {
            Ok((r.get::<u64>(0)?, r.get::<Option<String>>(1)?))
        })?;
    let mut walk = match kept {
        Some(hex) if cut > 0 => {
            ChainCheck::resume(cut, decode_hex(&hex, "kept hash").map_err(|e| DbError::Corrupt(e.to_string()))?)
        }
        _ => ChainCheck::new(),
    };
    let mut broken = None;
    conn.query_each("SELECT seq, body, hash FROM entries WHERE device = ?1 ORDER BY seq", vals![device], &mut |r| {
        let seq: u64 = r.get(0)?;
        let hash: Hash =
            decode_hex(&r.get::<String>(2)?, "stored hash").map_err(|e| DbError::Corrupt(e.to_string()))?;
        let step = serde_json::from_str::<shoumen_protocol::Entry>(&r.get::<String>(1)?)
            .map_err(|e| ChainBreak::Unreadable { seq, reason: e.to_string() })
            .and_then(|entry| walk.push_entry(device, seq, &entry, Some(&hash)));
        match step {
            Ok(_) => Ok(true),
            Err(b) => {
                broken = Some(b);
                Ok(false)
            }
        }
    })?;
    match broken {
        Some(b) => Err(VerifyError::Break(b)),
        None => Ok(walk.head().0),
    }
}

/// Every kiosk's id, for `verify`.
pub fn device_ids(conn: &mut dyn Conn) -> Result<Vec<String>, DbError> {
    conn.query_map("SELECT id FROM devices ORDER BY id", vals![], |r| r.get(0))
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

/// Deletes the kiosk's entries received before `cutoff`, oldest first, and
/// keeps the hash of the last one. Kiosks push in order, so these are a
/// prefix of its chain.
pub fn prune_device(tx: &mut dyn Conn, device: &str, cutoff: i64) -> Result<u64, DbError> {
    // The same lock a push takes, so a push and a prune take turns.
    let cut: u64 =
        tx.query_row(&tx.for_update("SELECT pruned_seq FROM devices WHERE id = ?1"), vals![device], |r| r.get(0))?;
    let until: u64 = tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM entries WHERE device = ?1 AND received_ms < ?2",
        vals![device, cutoff],
        |r| r.get(0),
    )?;
    if until <= cut {
        return Ok(0);
    }
    let hash: String =
        tx.query_row("SELECT hash FROM entries WHERE device = ?1 AND seq = ?2", vals![device, until], |r| r.get(0))?;
    let deleted = tx.execute("DELETE FROM entries WHERE device = ?1 AND seq <= ?2", vals![device, until])?;
    tx.execute("UPDATE devices SET pruned_seq = ?1, pruned_hash = ?2 WHERE id = ?3", vals![until, hash, device])?;
    Ok(deleted)
}
