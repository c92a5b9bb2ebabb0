//! Gates: enrolling a kiosk (from the Gates page or the command line).

use crate::db::{Conn, DbError};
use crate::records::audit::Actor;
use crate::records::ingest;

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
