//! The kiosks of a community as the committee sees them: the Gates page,
//! revoking a kiosk, and the gate a visitor's form belongs to.

use shoumen_protocol::sync::{GateLayout, HealthItem};
use shoumen_protocol::DUTY_FORGOTTEN_AFTER_MS;

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
    /// How far the kiosk vouched for its time at its last heartbeat.
    pub time_trust: Option<shoumen_protocol::time::TimeTrust>,
    /// When it last took the server's time (its corrected clock).
    pub corrected_ms: Option<i64>,
}

/// The kiosks of `community`, by gate name.
pub fn list(conn: &mut dyn Conn, community: &str) -> Result<Vec<Gate>, DbError> {
    conn.query_map(
        "SELECT id, gate_name, last_seen_ms, queue, skew_ms, health, revoked, watermark, layout, time_trust, corrected_ms
         FROM devices
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
                time_trust: r.get::<Option<String>>(9)?.and_then(|t| shoumen_protocol::time::TimeTrust::parse(&t)),
                corrected_ms: r.get(10)?,
            })
        },
    )
}

/// Who is on duty now at each gate of `community` (issue 32): device →
/// (duty pass id, signed in at), from the gates' duty entries of the last
/// [`DUTY_FORGOTTEN_AFTER_MS`], in order. A gate with nobody is absent.
pub fn on_duty(
    conn: &mut dyn Conn,
    community: &str,
    now_ms: i64,
) -> Result<std::collections::HashMap<String, Vec<(String, i64)>>, DbError> {
    let rows: Vec<(String, String, String, i64)> = conn.query_map(
        "SELECT e.device, e.pass_id, e.reason, e.wall_ms FROM devices d
         JOIN entries e ON e.device = d.id AND e.kind = 'duty' AND e.wall_ms >= ?2
         WHERE d.community = ?1 AND e.pass_id IS NOT NULL
         ORDER BY e.device, e.wall_ms, e.seq",
        vals![community, now_ms - DUTY_FORGOTTEN_AFTER_MS],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let mut gates: std::collections::HashMap<String, Vec<(String, i64)>> = std::collections::HashMap::new();
    for (device, pass, reason, at) in rows {
        // Only sign-ins and sign-outs: the console's records are kind duty too.
        let here = gates.entry(device).or_default();
        if shoumen_protocol::Reason::DutyStart == reason {
            here.retain(|(p, _)| *p != pass);
            here.push((pass, at));
        } else if shoumen_protocol::Reason::DutyEnd == reason {
            here.retain(|(p, _)| *p != pass);
        }
    }
    gates.retain(|_, here| !here.is_empty());
    Ok(gates)
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

/// One kiosk as the district's monitoring sees it: every community's.
#[derive(Clone, Debug)]
pub struct FleetKiosk {
    pub community: String,
    pub gate: String,
    pub id: String,
    pub last_seen_ms: Option<i64>,
    pub queue: Option<i64>,
    pub skew_ms: Option<i64>,
    pub time_trust: Option<shoumen_protocol::time::TimeTrust>,
    pub version: Option<String>,
    pub lists_version: Option<i64>,
    pub log_size: Option<i64>,
    pub health: Vec<HealthItem>,
    pub vitals: Option<shoumen_protocol::sync::Vitals>,
}

/// Every kiosk in service, of `community` or of all; one query, whatever
/// the size of the district.
pub fn fleet(conn: &mut dyn Conn, community: Option<&str>) -> Result<Vec<FleetKiosk>, DbError> {
    // Two texts rather than `?1 IS NULL`: PostgreSQL cannot type a bare NULL.
    let (filter, params) = match community {
        Some(c) => ("AND community = ?1", vec![crate::db::Val::from(c)]),
        None => ("", Vec::new()),
    };
    conn.query_map(
        &format!(
            "SELECT community, gate_name, id, last_seen_ms, queue, skew_ms, time_trust, version, lists_version, log_size,
                    health, vitals
             FROM devices WHERE revoked = 0 {filter} ORDER BY community, gate_name, id"
        ),
        &params,
        |r| {
            Ok(FleetKiosk {
                community: r.get(0)?,
                gate: r.get(1)?,
                id: r.get(2)?,
                last_seen_ms: r.get(3)?,
                queue: r.get(4)?,
                skew_ms: r.get(5)?,
                time_trust: r.get::<Option<String>>(6)?.and_then(|t| shoumen_protocol::time::TimeTrust::parse(&t)),
                version: r.get(7)?,
                lists_version: r.get(8)?,
                log_size: r.get(9)?,
                health: r.get::<Option<String>>(10)?.and_then(|h| serde_json::from_str(&h).ok()).unwrap_or_default(),
                vitals: r.get::<Option<String>>(11)?.and_then(|v| serde_json::from_str(&v).ok()),
            })
        },
    )
}
