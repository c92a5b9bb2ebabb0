//! Volunteers' hours (issue 32), as volunteer platforms count them: each
//! shift a volunteer was on, clipped to their duty-pass sign-ins and
//! sign-outs at the community's kiosks (`leaves::duty`). The sign-ins are
//! the kiosks' hash-chained entries, so nobody pads the hours afterwards.

use std::collections::HashMap;

use crate::db::{Conn, DbError};
use crate::leaves::duty::{self, Sign, Worked, EARLY_SIGN_IN_MS};
use crate::records::roster::{self, Shift, LONGEST_SHIFT_MS};
use crate::vals;

/// One shift of one volunteer, and what it counts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShiftWorked {
    pub shift_id: i64,
    pub volunteer_id: i64,
    pub name: String,
    pub phone: String,
    /// Their duty pass, which signs them in.
    pub pass_id: Option<String>,
    pub gate: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub worked: Worked,
    /// Nobody signed in for it [`duty::NO_SHOW_AFTER_MS`] into it.
    pub no_show: bool,
}

/// Every volunteer's shifts starting in [from, to), by volunteer name then
/// start, each with what it counts for at `now_ms`.
pub fn worked(
    conn: &mut dyn Conn,
    community: &str,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Result<Vec<ShiftWorked>, DbError> {
    let shifts = roster::shifts(conn, community, from_ms, to_ms)?;
    let volunteers: HashMap<i64, roster::Volunteer> =
        roster::list(conn, community)?.into_iter().map(|v| (v.id, v)).collect();
    // Each volunteer's signs by every duty pass they were given: a pass
    // renewed since still counts for the shifts served with it.
    let holders = roster::pass_holders(conn, community)?;
    let mut by_volunteer: HashMap<i64, Vec<Sign>> = HashMap::new();
    for (pass, signs) in signs(conn, community, from_ms - EARLY_SIGN_IN_MS, to_ms + LONGEST_SHIFT_MS)? {
        if let Some(id) = holders.get(&pass) {
            by_volunteer.entry(*id).or_default().extend(signs);
        }
    }
    for signs in by_volunteer.values_mut() {
        signs.sort_by_key(|s| s.at());
    }
    let mut out = Vec::new();
    for s in &shifts {
        for (id, _) in &s.people {
            let Some(v) = volunteers.get(id) else { continue };
            let theirs = by_volunteer.get(id).map_or(&[][..], Vec::as_slice);
            out.push(one(v, s, theirs, now_ms));
        }
    }
    out.sort_by(|a, b| (&a.name, a.volunteer_id, a.start_ms).cmp(&(&b.name, b.volunteer_id, b.start_ms)));
    Ok(out)
}

fn one(v: &roster::Volunteer, s: &Shift, signs: &[Sign], now_ms: i64) -> ShiftWorked {
    let shift = duty::Shift { start_ms: s.start_ms, end_ms: s.end_ms };
    // A shift still going on is counted to now, not flagged yet.
    let mut w = duty::worked(shift, signs);
    if now_ms < s.end_ms && w.not_signed_out {
        w = duty::worked(duty::Shift { end_ms: now_ms.max(s.start_ms), ..shift }, signs);
        w.not_signed_out = false;
    }
    ShiftWorked {
        shift_id: s.id,
        volunteer_id: v.id,
        name: v.name.clone(),
        phone: v.phone.clone(),
        pass_id: v.pass_id.clone(),
        gate: s.gate.clone(),
        start_ms: s.start_ms,
        end_ms: s.end_ms,
        no_show: duty::no_show(shift, signs, now_ms),
        worked: w,
    }
}

/// The duty sign-ins and sign-outs at `community`'s kiosks in [from, to),
/// per duty pass, in time order.
pub fn signs(
    conn: &mut dyn Conn,
    community: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<HashMap<String, Vec<Sign>>, DbError> {
    let rows: Vec<(String, String, i64)> = conn.query_map(
        "SELECT e.pass_id, e.reason, e.wall_ms FROM devices d
         JOIN entries e ON e.device = d.id AND e.kind = 'duty' AND e.wall_ms >= ?2 AND e.wall_ms < ?3
         WHERE d.community = ?1 AND e.pass_id IS NOT NULL AND e.reason IN ('duty_start', 'duty_end')
         ORDER BY e.wall_ms, e.device, e.seq",
        vals![community, from_ms, to_ms],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut out: HashMap<String, Vec<Sign>> = HashMap::new();
    for (pass, reason, at) in rows {
        let sign = if reason == "duty_start" { Sign::In(at) } else { Sign::Out(at) };
        out.entry(pass).or_default().push(sign);
    }
    Ok(out)
}

/// Hours as a platform's upload takes them: two decimals.
pub fn hours(w: &Worked) -> String {
    format!("{:.2}", w.minutes() as f64 / 60.0)
}

/// Days of traffic the roster staffs by.
pub const TRAFFIC_DAYS: i64 = 28;

/// Entries per hour of the day at each gate of `community` over the last
/// [`TRAFFIC_DAYS`] days to `now_ms`, summed (divide by the days for a
/// day's), in the display zone: what the committee staffs the busy hours by.
pub fn traffic(
    conn: &mut dyn Conn,
    community: &str,
    now_ms: i64,
    utc_offset_min: i32,
) -> Result<HashMap<String, [i64; 24]>, DbError> {
    use crate::records::ingest::SHOWN_MS;
    let rows: Vec<(String, i64, i64)> = conn.query_map(
        &format!(
            "SELECT d.gate_name, (({SHOWN_MS} + ?3) % 86400000) / 3600000 AS h, COUNT(*)
             FROM entries e JOIN devices d ON d.id = e.device
             LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id
             WHERE e.community = ?1 AND e.kind = 'scan' AND {SHOWN_MS} >= ?2 GROUP BY d.gate_name, h"
        ),
        vals![community, now_ms - TRAFFIC_DAYS * 86_400_000, i64::from(utc_offset_min) * 60_000],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut out: HashMap<String, [i64; 24]> = HashMap::new();
    for (gate, h, n) in rows {
        if let Some(slot) = usize::try_from(h).ok().filter(|h| *h < 24) {
            out.entry(gate).or_insert([0; 24])[slot] += n;
        }
    }
    Ok(out)
}
