//! Enrollment from the kiosk's screen (issue 31; `protocol::enroll` has
//! the exchange): the codes kiosks asked for, each bound to the kiosk's
//! key, claimed for a community's gate by one of its admins, and redeemed
//! by the kiosk's signed poll. A code belongs to no community until it is
//! claimed, so codes are unique server-wide; what one address may hold is
//! bounded, and a code lives half an hour.

use shoumen_protocol::enroll::{EnrollAsk, EnrollPoll, ASK_VALID_MS, CODE_ALPHABET, CODE_LEN};
use shoumen_protocol::sync::EnrollRequest;

use super::ingest::{self, Enrolled, Refusal};
use crate::db::{Conn, DbError};
use crate::vals;

/// Live codes server-wide: the public ask cannot fill the database.
pub const MOST_LIVE: i64 = 2_000;
/// Live codes per client address: a compound's gates behind one router.
pub const MOST_PER_ADDRESS: i64 = 8;

/// A code a kiosk asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    pub code: String,
    pub device: String,
    pub device_key: String,
    /// The gate's name in the kiosk's configuration, a suggestion.
    pub gate_hint: String,
    pub expires_ms: i64,
    /// Set once an admin claimed it: where the kiosk goes.
    pub claimed: Option<(String, String)>,
}

impl Ask {
    /// The kiosk's key's fingerprint, as its screen shows it.
    pub fn fingerprint(&self) -> String {
        ingest::check_device(&self.device, &self.device_key)
            .map(|k| shoumen_protocol::enroll::fingerprint(&k))
            .unwrap_or_default()
    }
}

/// A kiosk asks for a code: a new one, bound to its key. An older code of
/// the same kiosk lives out its half hour (removing it would let anyone
/// who knows the device id take the screen's code away). Refused for a
/// kiosk enrolled already, or past the bounds.
pub fn ask(conn: &mut dyn Conn, req: &EnrollAsk, address: &str, now_ms: i64) -> Result<String, Refusal> {
    ingest::check_device(&req.device, &req.device_key)?;
    let hint = crate::leaves::text::clean(req.gate_name.trim(), 40);
    conn.transaction(true, |tx| {
        tx.execute("DELETE FROM enroll_asks WHERE expires_ms <= ?1", vals![now_ms])?;
        let enrolled = tx.scalar("SELECT COUNT(*) FROM devices WHERE id = ?1 AND revoked = 0", vals![&req.device])?;
        if enrolled > 0 {
            return Err(Refusal::Conflict(format!(
                "device id {} is already enrolled; revoke it on the Gates page first",
                req.device
            )));
        }
        if tx.scalar("SELECT COUNT(*) FROM enroll_asks", vals![])? >= MOST_LIVE
            || tx.scalar("SELECT COUNT(*) FROM enroll_asks WHERE address = ?1", vals![address])? >= MOST_PER_ADDRESS
        {
            return Err(Refusal::Conflict("too many kiosks are waiting for a code; try again in half an hour".into()));
        }
        let code = loop {
            let code: String =
                (0..CODE_LEN).map(|_| CODE_ALPHABET[rand::random::<usize>() % CODE_ALPHABET.len()] as char).collect();
            if tx.scalar("SELECT COUNT(*) FROM enroll_asks WHERE code = ?1", vals![&code])? == 0 {
                break code;
            }
        };
        tx.execute(
            "INSERT INTO enroll_asks (code, device, device_key, gate_hint, address, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            vals![&code, &req.device, &req.device_key, &hint, address, now_ms, now_ms + ASK_VALID_MS],
        )?;
        Ok(code)
    })
}

/// A live code, claimed or not.
pub fn find(conn: &mut dyn Conn, code: &str, now_ms: i64) -> Result<Option<Ask>, DbError> {
    conn.query_opt(
        "SELECT code, device, device_key, gate_hint, expires_ms, community, gate FROM enroll_asks
         WHERE code = ?1 AND expires_ms > ?2",
        vals![code, now_ms],
        |r| {
            let claimed = match (r.get::<Option<String>>(5)?, r.get::<Option<String>>(6)?) {
                (Some(c), Some(g)) => Some((c, g)),
                _ => None,
            };
            Ok(Ask {
                code: r.get(0)?,
                device: r.get(1)?,
                device_key: r.get(2)?,
                gate_hint: r.get(3)?,
                expires_ms: r.get(4)?,
                claimed,
            })
        },
    )
}

/// An admin of `community` claims a live, unclaimed code for `gate`;
/// false if there is none.
pub fn claim(conn: &mut dyn Conn, code: &str, community: &str, gate: &str, now_ms: i64) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE enroll_asks SET community = ?2, gate = ?3 WHERE code = ?1 AND community IS NULL AND expires_ms > ?4",
        vals![code, community, gate, now_ms],
    )? > 0)
}

/// What a poll finds.
#[derive(Debug)]
pub enum Polled {
    /// Nobody has claimed the code yet.
    Waiting,
    /// Claimed: the kiosk is enrolled now.
    Enrolled(Enrolled),
}

/// A kiosk's signed poll: refused unless signed by the key its code was
/// made for, with a counter above the last; once the code is claimed, the
/// kiosk is enrolled into the claiming community's gate and the code is
/// spent.
pub fn poll(conn: &mut dyn Conn, poll: &EnrollPoll, now_ms: i64) -> Result<Polled, Refusal> {
    let counter = i64::try_from(poll.counter).map_err(|_| Refusal::BadRequest("counter out of range".into()))?;
    conn.transaction(true, |tx| {
        let gone = || Refusal::Unauthorized("this code is unknown or has expired; the kiosk shows a new one".into());
        let ask = find(tx, &poll.code, now_ms)?.filter(|a| a.device == poll.device).ok_or_else(gone)?;
        let key = ingest::check_device(&ask.device, &ask.device_key)?;
        poll.verify(&key).map_err(|e| Refusal::Unauthorized(format!("poll refused: {e}")))?;
        let moved = tx.execute(
            "UPDATE enroll_asks SET last_counter = ?2 WHERE code = ?1 AND last_counter < ?2",
            vals![&ask.code, counter],
        )?;
        if moved == 0 {
            return Err(Refusal::Unauthorized("poll refused: its counter is not above the last one".into()));
        }
        let Some((community, gate)) = ask.claimed else {
            return Ok(Polled::Waiting);
        };
        // The token is made and spent inside this transaction: it never
        // leaves the server.
        let token = ingest::create_enroll_token(tx, &community, &gate, 60_000)?;
        let req = EnrollRequest { token, device: ask.device.clone(), device_key: ask.device_key, gate_name: gate };
        let enrolled = ingest::enroll_tx(tx, &req)?;
        tx.execute("DELETE FROM enroll_asks WHERE code = ?1", vals![&ask.code])?;
        Ok(Polled::Enrolled(enrolled))
    })
}
