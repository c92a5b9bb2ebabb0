//! The duty roster (issue 32): volunteers, shifts per gate, and who is on
//! each shift.
//!
//! A volunteer is a light record, not an account: most gate volunteers are
//! residents who need a duty pass on their phone and a page of their own
//! shifts, not a password, two-factor login and a role on the committee's
//! pages (the `volunteer` account role is for those who also read and
//! acknowledge alerts). Their page is reached by a personal link, kept
//! here only as its digest. Signing up by the public link makes a pending
//! volunteer: only a committee member's confirmation issues the duty pass,
//! since that pass opens a gate's console.

use std::collections::HashMap;

use crate::db::{Conn, DbError};
use crate::vals;

/// Where a volunteer stands. Stored as its wire string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Signed up by the public link; the committee has not confirmed them.
    Pending,
    /// Confirmed: holds a duty pass, may sign up for shifts.
    Active,
    /// Stood down by the committee: their duty pass withdrawn, their
    /// hours kept.
    Left,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Pending => "pending",
            Standing::Active => "active",
            Standing::Left => "left",
        }
    }

    fn parse(s: &str) -> Standing {
        match s {
            "active" => Standing::Active,
            "left" => Standing::Left,
            _ => Standing::Pending,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// What cannot be taken, as a words key the page says.
    #[error("{0}")]
    Invalid(&'static str),
    /// No such shift or volunteer in this community.
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Longest shift the roster takes: the kiosk forgets a sign-in after 16 h.
pub const LONGEST_SHIFT_MS: i64 = 12 * 3_600_000;
/// Most people one shift may ask for.
pub const MOST_NEEDED: i64 = 20;
/// Volunteers waiting for confirmation that one community holds at most:
/// the public form cannot fill the database.
pub const MOST_PENDING: i64 = 200;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volunteer {
    pub id: i64,
    pub name: String,
    pub phone: String,
    /// Their duty pass, once confirmed: the newest one issued to them.
    pub pass_id: Option<String>,
    /// When that pass stops working (unix s).
    pub pass_expires_s: Option<i64>,
    pub standing: Standing,
    pub created_ms: i64,
}

/// How long before a duty pass expires the committee is asked to renew
/// it: a volunteer whose pass lapses can no longer sign in at the gate.
pub const RENEW_WITHIN_MS: i64 = 14 * 86_400_000;

impl Volunteer {
    /// An active volunteer whose duty pass expires within
    /// [`RENEW_WITHIN_MS`] of `now_ms` (or has expired).
    pub fn pass_expiring(&self, now_ms: i64) -> bool {
        self.standing == Standing::Active && self.pass_expires_s.is_some_and(|s| s * 1000 - now_ms < RENEW_WITHIN_MS)
    }
}

/// A volunteer row with their current pass's expiry; `v` and `p` name the
/// tables.
const VOLUNTEER: &str = "SELECT v.id, v.name, v.phone, v.pass_id, v.status, v.created_ms, p.expires_at, v.community
     FROM volunteers v LEFT JOIN passes p ON p.pass_id = v.pass_id AND p.community = v.community";

fn volunteer(r: &crate::db::Row) -> Result<Volunteer, DbError> {
    Ok(Volunteer {
        id: r.get(0)?,
        name: r.get(1)?,
        phone: r.get(2)?,
        pass_id: r.get(3)?,
        pass_expires_s: r.get(6)?,
        standing: Standing::parse(&r.get::<String>(4)?),
        created_ms: r.get(5)?,
    })
}

/// Adds a volunteer of `community`; their personal link's digest is
/// `link_digest`. A phone number the community already has is refused.
pub fn add(
    conn: &mut dyn Conn,
    community: &str,
    name: &str,
    phone: &str,
    link_digest: &str,
    standing: Standing,
    now_ms: i64,
) -> Result<i64, RosterError> {
    let name = crate::leaves::text::clean(name.trim(), 32);
    let phone: String = phone.chars().filter(|c| c.is_ascii_digit() || *c == '+' || *c == '-').take(20).collect();
    if name.is_empty() {
        return Err(RosterError::Invalid("err_volunteer_name"));
    }
    if phone.chars().filter(char::is_ascii_digit).count() < 5 {
        return Err(RosterError::Invalid("err_volunteer_phone"));
    }
    let known =
        conn.scalar("SELECT COUNT(*) FROM volunteers WHERE community = ?1 AND phone = ?2", vals![community, &phone])?;
    if known > 0 {
        return Err(RosterError::Invalid("err_volunteer_known"));
    }
    if standing == Standing::Pending
        && conn
            .scalar("SELECT COUNT(*) FROM volunteers WHERE community = ?1 AND status = 'pending'", vals![community])?
            >= MOST_PENDING
    {
        return Err(RosterError::Invalid("err_too_many_pending"));
    }
    Ok(conn.query_row(
        "INSERT INTO volunteers (community, name, phone, link_digest, status, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        vals![community, &name, &phone, link_digest, standing.as_str(), now_ms],
        |r| r.get(0),
    )?)
}

/// `community`'s volunteers, pending first, then by name.
pub fn list(conn: &mut dyn Conn, community: &str) -> Result<Vec<Volunteer>, DbError> {
    conn.query_map(
        &format!(
            "{VOLUNTEER} WHERE v.community = ?1
             ORDER BY CASE v.status WHEN 'pending' THEN 0 WHEN 'active' THEN 1 ELSE 2 END, v.name, v.id"
        ),
        vals![community],
        volunteer,
    )
}

/// One volunteer of `community`.
pub fn get(conn: &mut dyn Conn, community: &str, id: i64) -> Result<Option<Volunteer>, DbError> {
    conn.query_opt(&format!("{VOLUNTEER} WHERE v.community = ?1 AND v.id = ?2"), vals![community, id], volunteer)
}

/// The volunteer a personal link belongs to, and their community.
pub fn by_link(conn: &mut dyn Conn, link_digest: &str) -> Result<Option<(String, Volunteer)>, DbError> {
    conn.query_opt(&format!("{VOLUNTEER} WHERE v.link_digest = ?1"), vals![link_digest], |r| {
        Ok((r.get(7)?, volunteer(r)?))
    })
}

/// Gives a volunteer without a duty pass theirs, which confirms them;
/// false if there is no such volunteer without one.
pub fn confirm(conn: &mut dyn Conn, community: &str, id: i64, pass_id: &str, now_ms: i64) -> Result<bool, DbError> {
    let set = conn.execute(
        "UPDATE volunteers SET status = 'active', pass_id = ?3 WHERE community = ?1 AND id = ?2 AND pass_id IS NULL",
        vals![community, id, pass_id],
    )? > 0;
    if set {
        keep_pass(conn, community, id, pass_id, now_ms)?;
    }
    Ok(set)
}

/// Gives an active volunteer a new duty pass in place of their current
/// one, which is returned (to be withdrawn); `None` if there is no such
/// active volunteer.
pub fn renew(
    conn: &mut dyn Conn,
    community: &str,
    id: i64,
    pass_id: &str,
    now_ms: i64,
) -> Result<Option<String>, DbError> {
    let Some(v) = get(conn, community, id)?.filter(|v| v.standing == Standing::Active) else {
        return Ok(None);
    };
    conn.execute("UPDATE volunteers SET pass_id = ?3 WHERE community = ?1 AND id = ?2", vals![community, id, pass_id])?;
    keep_pass(conn, community, id, pass_id, now_ms)?;
    Ok(v.pass_id)
}

/// Every duty pass a volunteer was given stays theirs: the sign-ins of an
/// old one still count for the shifts they served with it.
fn keep_pass(conn: &mut dyn Conn, community: &str, id: i64, pass_id: &str, now_ms: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO volunteer_passes (community, pass_id, volunteer_id, issued_ms) VALUES (?1, ?2, ?3, ?4)",
        vals![community, pass_id, id, now_ms],
    )?;
    Ok(())
}

/// Whose each duty pass ever given to a volunteer of `community` is:
/// pass id → volunteer id.
pub fn pass_holders(conn: &mut dyn Conn, community: &str) -> Result<HashMap<String, i64>, DbError> {
    let rows: Vec<(String, i64)> = conn.query_map(
        "SELECT pass_id, volunteer_id FROM volunteer_passes WHERE community = ?1",
        vals![community],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows.into_iter().collect())
}

/// Stands an active volunteer down: no longer active, and off every shift
/// not started by `now_ms` (the shifts they served stay theirs). Their
/// duty pass, to be withdrawn; `None` if there is no such active volunteer.
pub fn stand_down(conn: &mut dyn Conn, community: &str, id: i64, now_ms: i64) -> Result<Option<String>, DbError> {
    let Some(v) = get(conn, community, id)?.filter(|v| v.standing == Standing::Active) else {
        return Ok(None);
    };
    conn.execute("UPDATE volunteers SET status = 'left' WHERE community = ?1 AND id = ?2", vals![community, id])?;
    conn.execute(
        "DELETE FROM shift_people WHERE community = ?1 AND volunteer_id = ?2
         AND shift_id IN (SELECT id FROM shifts WHERE community = ?1 AND start_ms > ?3)",
        vals![community, id, now_ms],
    )?;
    Ok(v.pass_id)
}

/// Gives a volunteer a new personal link (the old one stops working);
/// false if there is no such volunteer.
pub fn set_link(conn: &mut dyn Conn, community: &str, id: i64, link_digest: &str) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE volunteers SET link_digest = ?3 WHERE community = ?1 AND id = ?2",
        vals![community, id, link_digest],
    )? > 0)
}

/// A shift as the roster shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shift {
    pub id: i64,
    /// The gate's name, as its kiosks are enrolled.
    pub gate: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub needed: i64,
    /// (volunteer id, name), by name.
    pub people: Vec<(i64, String)>,
}

impl Shift {
    /// How many more people it needs (0 when full).
    pub fn gap(&self) -> i64 {
        (self.needed - self.people.len() as i64).max(0)
    }
}

/// Adds a shift at `gate` (a gate `community` has a kiosk at).
pub fn add_shift(
    conn: &mut dyn Conn,
    community: &str,
    gate: &str,
    start_ms: i64,
    end_ms: i64,
    needed: i64,
    now_ms: i64,
) -> Result<i64, RosterError> {
    let known =
        conn.scalar("SELECT COUNT(*) FROM devices WHERE community = ?1 AND gate_name = ?2", vals![community, gate])?;
    if known == 0 {
        return Err(RosterError::Invalid("err_shift_gate"));
    }
    if end_ms <= start_ms || end_ms - start_ms > LONGEST_SHIFT_MS {
        return Err(RosterError::Invalid("err_shift_times"));
    }
    if !(1..=MOST_NEEDED).contains(&needed) {
        return Err(RosterError::Invalid("err_shift_needed"));
    }
    Ok(conn.query_row(
        "INSERT INTO shifts (community, gate, start_ms, end_ms, needed, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        vals![community, gate, start_ms, end_ms, needed, now_ms],
        |r| r.get(0),
    )?)
}

/// Removes a shift and who was on it; false if there is none.
pub fn delete_shift(conn: &mut dyn Conn, community: &str, id: i64) -> Result<bool, DbError> {
    conn.execute("DELETE FROM shift_people WHERE community = ?1 AND shift_id = ?2", vals![community, id])?;
    Ok(conn.execute("DELETE FROM shifts WHERE community = ?1 AND id = ?2", vals![community, id])? > 0)
}

/// `community`'s shifts starting in [from, to), by start then gate, with
/// who is on each.
pub fn shifts(conn: &mut dyn Conn, community: &str, from_ms: i64, to_ms: i64) -> Result<Vec<Shift>, DbError> {
    let mut shifts: Vec<Shift> = conn.query_map(
        "SELECT id, gate, start_ms, end_ms, needed FROM shifts
         WHERE community = ?1 AND start_ms >= ?2 AND start_ms < ?3 ORDER BY start_ms, gate, id",
        vals![community, from_ms, to_ms],
        |r| {
            Ok(Shift {
                id: r.get(0)?,
                gate: r.get(1)?,
                start_ms: r.get(2)?,
                end_ms: r.get(3)?,
                needed: r.get(4)?,
                people: Vec::new(),
            })
        },
    )?;
    let people: Vec<(i64, i64, String)> = conn.query_map(
        "SELECT sp.shift_id, v.id, v.name FROM shift_people sp
         JOIN shifts s ON s.id = sp.shift_id AND s.community = sp.community
         JOIN volunteers v ON v.id = sp.volunteer_id AND v.community = sp.community
         WHERE sp.community = ?1 AND s.start_ms >= ?2 AND s.start_ms < ?3 ORDER BY v.name, v.id",
        vals![community, from_ms, to_ms],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    for (shift, id, name) in people {
        if let Some(s) = shifts.iter_mut().find(|s| s.id == shift) {
            s.people.push((id, name));
        }
    }
    Ok(shifts)
}

/// Puts an active volunteer on a shift of the same community. Refused: a
/// full shift, someone not yet confirmed, and a shift already over unless
/// `past_ok` (the committee writing down a paper roster: hours still count
/// only from the kiosks' sign-ins). Putting someone on twice changes
/// nothing (false).
pub fn join(
    conn: &mut dyn Conn,
    community: &str,
    shift: i64,
    volunteer: i64,
    now_ms: i64,
    past_ok: bool,
) -> Result<bool, RosterError> {
    let sql = conn.for_update("SELECT needed, end_ms FROM shifts WHERE community = ?1 AND id = ?2");
    let Some((needed, end_ms)) =
        conn.query_opt(&sql, vals![community, shift], |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)))?
    else {
        return Err(RosterError::NotFound("shift"));
    };
    if end_ms <= now_ms && !past_ok {
        return Err(RosterError::Invalid("err_shift_over"));
    }
    match get(conn, community, volunteer)? {
        Some(v) if v.standing == Standing::Active => {}
        Some(_) => return Err(RosterError::Invalid("err_volunteer_not_active")),
        None => return Err(RosterError::NotFound("volunteer")),
    }
    let on = conn.scalar(
        "SELECT COUNT(*) FROM shift_people WHERE community = ?1 AND shift_id = ?2 AND volunteer_id = ?3",
        vals![community, shift, volunteer],
    )?;
    if on > 0 {
        return Ok(false);
    }
    let taken = conn
        .scalar("SELECT COUNT(*) FROM shift_people WHERE community = ?1 AND shift_id = ?2", vals![community, shift])?;
    if taken >= needed {
        return Err(RosterError::Invalid("err_shift_full"));
    }
    conn.execute(
        "INSERT INTO shift_people (community, shift_id, volunteer_id) VALUES (?1, ?2, ?3)",
        vals![community, shift, volunteer],
    )?;
    Ok(true)
}

/// Takes a volunteer off a shift; false if they were not on it.
pub fn leave(conn: &mut dyn Conn, community: &str, shift: i64, volunteer: i64) -> Result<bool, DbError> {
    Ok(conn.execute(
        "DELETE FROM shift_people WHERE community = ?1 AND shift_id = ?2 AND volunteer_id = ?3",
        vals![community, shift, volunteer],
    )? > 0)
}

/// When a shift of `community` starts; `None` if there is no such shift.
pub fn starts_at(conn: &mut dyn Conn, community: &str, shift: i64) -> Result<Option<i64>, DbError> {
    conn.query_opt("SELECT start_ms FROM shifts WHERE community = ?1 AND id = ?2", vals![community, shift], |r| {
        r.get(0)
    })
}

/// A shift under way, of some community.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnderWay {
    pub community: String,
    pub id: i64,
    pub gate: String,
    pub start_ms: i64,
    /// How many people are on it.
    pub rostered: i64,
}

/// Shifts of every community under way at `now_ms` and at least `into_ms`
/// into.
pub fn under_way(conn: &mut dyn Conn, now_ms: i64, into_ms: i64) -> Result<Vec<UnderWay>, DbError> {
    conn.query_map(
        "SELECT s.community, s.id, s.gate, s.start_ms,
                (SELECT COUNT(*) FROM shift_people p WHERE p.community = s.community AND p.shift_id = s.id)
         FROM shifts s WHERE s.start_ms >= ?1 AND s.start_ms <= ?2 AND s.end_ms > ?3 ORDER BY s.start_ms, s.id",
        vals![now_ms - LONGEST_SHIFT_MS, now_ms - into_ms, now_ms],
        |r| {
            Ok(UnderWay {
                community: r.get(0)?,
                id: r.get(1)?,
                gate: r.get(2)?,
                start_ms: r.get(3)?,
                rostered: r.get(4)?,
            })
        },
    )
}

/// A shift's reminder for the community's robot (the webhook outbox keeps
/// it as JSON until it is sent).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reminder {
    /// Always "shift_reminder": tells it from a daily summary in the outbox.
    pub kind: String,
    pub gate: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub needed: i64,
    /// Who is on it, by name.
    pub people: Vec<String>,
}

/// Queues a reminder of every shift starting within `ahead_ms` of `now_ms`
/// not yet reminded of, for communities with a robot; marks them reminded
/// either way (a robot set later does not get a backlog). Returns how many
/// were queued.
pub fn queue_reminders(conn: &mut dyn Conn, now_ms: i64, ahead_ms: i64) -> Result<usize, DbError> {
    let due: Vec<(String, i64, i64)> = conn.query_map(
        "SELECT community, id, start_ms FROM shifts WHERE reminded_ms IS NULL AND start_ms > ?1 AND start_ms <= ?2 ORDER BY start_ms, id",
        vals![now_ms, now_ms + ahead_ms],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut queued = 0;
    for (community, id, start) in due {
        conn.execute(
            "UPDATE shifts SET reminded_ms = ?3 WHERE community = ?1 AND id = ?2",
            vals![&community, id, now_ms],
        )?;
        if !crate::records::alerts::has_webhook(conn, &community)? {
            continue;
        }
        let Some(s) = shifts(conn, &community, start, start + 1)?.into_iter().find(|s| s.id == id) else { continue };
        let reminder = Reminder {
            kind: "shift_reminder".into(),
            gate: s.gate,
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            needed: s.needed,
            people: s.people.into_iter().map(|p| p.1).collect(),
        };
        let body = serde_json::to_string(&reminder).expect("a reminder serialises");
        crate::records::alerts::queue_summary(conn, &community, &format!("shift:{id}"), &body, now_ms)?;
        queued += 1;
    }
    Ok(queued)
}
