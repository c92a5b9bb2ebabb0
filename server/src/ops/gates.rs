//! Gates: enrolling a kiosk (from the Gates page or the command line).

use crate::db::{Conn, DbError};
use crate::records::audit::Actor;
use crate::records::{ingest, screen_enroll};

/// A one-time enrollment token for a gate of `community`, valid `ttl_ms`.
pub fn enroll_token(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &str,
    gate: &str,
    ttl_ms: i64,
) -> Result<String, DbError> {
    super::audited(conn, actor, "gate.enroll_token", &crate::leaves::detail::enc("gate_enroll_token", &[&gate]), |tx| {
        ingest::create_enroll_token(tx, community, gate, ttl_ms)
    })
}

/// An admin of `community` claims the code a kiosk shows on its screen for
/// `gate`: the kiosk's next poll enrolls it. False if there is no such
/// live, unclaimed code.
pub fn claim_screen_code(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &str,
    code: &str,
    gate: &str,
) -> Result<bool, DbError> {
    let now = crate::db::now_ms();
    let Some(ask) = screen_enroll::find(conn, code, now)? else { return Ok(false) };
    let detail = crate::leaves::detail::enc("gate_enroll_screen", &[&gate, &ask.fingerprint()]);
    super::audited_if(conn, actor, "gate.enroll_screen", &detail, |tx| {
        screen_enroll::claim(tx, code, community, gate, now)
    })
}
