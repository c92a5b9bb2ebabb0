//! The kiosks of a community as the committee sees them: the Gates page,
//! revoking a kiosk, and the gate a visitor's form belongs to.

use shoumen_protocol::sync::{GateLayout, HealthItem};

use crate::db::{Conn, DbError};
use crate::vals;

/// One enrolled kiosk.
#[derive(Clone, Debug)]
pub struct Gate {
    pub id: String,
    pub name: String,
    pub last_seen_ms: Option<i64>,
    pub queue: Option<i64>,
    pub skew_ms: Option<i64>,
    pub health: Vec<HealthItem>,
    pub layout: Option<GateLayout>,
    pub revoked: bool,
    pub watermark: i64,
}

/// The kiosks of `community`, by gate name.
pub fn list(conn: &mut dyn Conn, community: &str) -> Result<Vec<Gate>, DbError> {
    conn.query_map(
        "SELECT id, gate_name, last_seen_ms, queue, skew_ms, health, revoked, watermark, layout FROM devices
         WHERE community = ?1 ORDER BY gate_name, id",
        vals![community],
        |r| {
            Ok(Gate {
                id: r.get(0)?,
                name: r.get(1)?,
                last_seen_ms: r.get(2)?,
                queue: r.get(3)?,
                skew_ms: r.get(4)?,
                health: r.get::<Option<String>>(5)?.and_then(|h| serde_json::from_str(&h).ok()).unwrap_or_default(),
                revoked: r.get(6)?,
                watermark: r.get(7)?,
                layout: r.get::<Option<String>>(8)?.and_then(|l| serde_json::from_str(&l).ok()),
            })
        },
    )
}

/// Revokes a kiosk of `community`; false if it has no such kiosk.
pub fn revoke(conn: &mut dyn Conn, community: &str, id: &str) -> Result<bool, DbError> {
    Ok(conn.execute("UPDATE devices SET revoked = 1 WHERE id = ?1 AND community = ?2", vals![id, community])? > 0)
}

/// The gate name and community of a kiosk still in service (the visitor
/// form at its gate).
pub fn in_service(conn: &mut dyn Conn, id: &str) -> Result<Option<(String, String)>, DbError> {
    conn.query_opt("SELECT gate_name, community FROM devices WHERE id = ?1 AND revoked = 0", vals![id], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
}

/// Notes which list bundle kiosk `device` holds (and so which keys): a key
/// rotation finishes only once every kiosk has the new key.
pub fn note_lists_version(conn: &mut dyn Conn, device: &str, held: u64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE devices SET lists_version = ?1 WHERE id = ?2 AND (lists_version IS NULL OR lists_version <> ?1)",
        vals![held, device],
    )?;
    Ok(())
}

/// The ids of `community`'s kiosks.
pub fn ids_of(conn: &mut dyn Conn, community: &str) -> Result<Vec<String>, DbError> {
    conn.query_map("SELECT id FROM devices WHERE community = ?1", vals![community], |r| r.get(0))
}
