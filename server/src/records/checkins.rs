//! Home quarantine at home (issue 18): a twice-daily check-in for everyone
//! under home quarantine or self-monitoring, and service requests from
//! quarantined homes.
//!
//! Who is watched is computed, not copied: the residents of a unit under a
//! home quarantine the committee set, and the returnees whose notice or
//! pledge period runs (until retention deletes their personal fields).
//! Each has a personal link, `/c/<community>/<key>.<mac>`, where the key
//! names the person (`r12`: resident 12, `n7`: registration 7) and the MAC
//! (a secret of the community's) makes it unguessable, so nothing about
//! links is stored and the committee can show a link again at any time.
//!
//! Morning check-ins are due by 09:00 and evening ones by 19:00 (local
//! time); two hours later, a missing one puts the person on the call list.
//! A fever (37.3 °C or more) and a request for medical help raise alerts.
//!
//! Invariant: one check-in row per person, day and slot (a second one
//! replaces the first), and at most [`MAX_OPEN_REQUESTS`] open requests
//! per person: a link cannot make the server store more.

use crate::leaves::detail::{Arg, Detail};
use thiserror::Error;

use crate::db::{Conn, DbError};
use crate::records::returnees::Kind;
use crate::vals;

pub const FEVER_C: f64 = 37.3;
/// When each slot is due, minutes after local midnight; a check-in before
/// 14:00 is the morning's.
pub const MORNING_DUE: i64 = 9 * 60;
pub const EVENING_DUE: i64 = 19 * 60;
const AFTERNOON: i64 = 14 * 60;
/// How long past due a check-in may come before the call list shows it.
pub const GRACE_MIN: i64 = 120;
pub const MAX_OPEN_REQUESTS: i64 = 5;
pub const KINDS: &[&str] = &["groceries", "medicine", "rubbish", "medical"];

#[derive(Debug, Error)]
pub enum CheckinError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A person under watch.
#[derive(Clone, Debug)]
pub struct Person {
    /// `r<resident id>` or `n<registration id>`.
    pub key: String,
    pub name: String,
    pub phone: String,
    pub unit: String,
    /// Home quarantine (`Notice`) or self-monitoring (`Pledge`).
    pub kind: Kind,
    pub from_s: i64,
    pub until_s: i64,
}

/// 128 bits of the MAC: enough to be unguessable, short enough to send.
fn link_mac(conn: &mut dyn Conn, community: &str, key: &str) -> Result<String, DbError> {
    let mut mac = crate::records::evidence::keyed_mac(conn, community, "check-in link", &format!("{community}|{key}"))?;
    mac.truncate(32);
    Ok(mac)
}

/// The personal link's last part for `key`.
pub fn token(conn: &mut dyn Conn, community: &str, key: &str) -> Result<String, DbError> {
    Ok(format!("{key}.{}", link_mac(conn, community, key)?))
}

/// The residents of a unit under a home quarantine the committee set
/// (returnees are watched through their registration instead).
const WATCHED_RESIDENTS: &str = "SELECT r.id, r.name, r.phone, r.unit, MIN(q.from_s), MAX(q.until_s) FROM quarantine q
       JOIN residents r ON r.community = q.community AND r.unit = q.unit AND r.moved_out_ms IS NULL
      WHERE q.community = ?1 AND q.from_s <= ?2 AND q.until_s > ?2 AND q.source = 'committee' AND q.status = 'confirmed' AND (?3 = 0 OR r.id = ?3)
      GROUP BY r.id, r.name, r.phone, r.unit";

fn watched_residents(conn: &mut dyn Conn, community: &str, now_s: i64, only: i64) -> Result<Vec<Person>, DbError> {
    conn.query_map(WATCHED_RESIDENTS, vals![community, now_s, only], |r| {
        Ok(Person {
            key: format!("r{}", r.get::<i64>(0)?),
            name: r.get(1)?,
            phone: r.get(2)?,
            unit: r.get(3)?,
            kind: Kind::Notice,
            from_s: r.get(4)?,
            until_s: r.get(5)?,
        })
    })
}

fn watched_returnee(reg: &crate::records::registrations::Registration, now_s: i64) -> Option<Person> {
    (reg.record.is_some() && reg.arrival_s <= now_s && now_s < reg.until_s).then(|| Person {
        key: format!("n{}", reg.id),
        name: reg.field("name"),
        phone: reg.field("phone"),
        unit: reg.unit.clone(),
        kind: reg.kind,
        from_s: reg.arrival_s,
        until_s: reg.until_s,
    })
}

/// Everyone under watch in `community` at `now_s`, by unit: every one of
/// them, however many registrations arrived (no page of the newest).
pub fn watched(conn: &mut dyn Conn, community: &str, now_s: i64) -> Result<Vec<Person>, DbError> {
    let mut people = watched_residents(conn, community, now_s, 0)?;
    for reg in crate::records::registrations::in_period(conn, community, now_s)? {
        people.extend(watched_returnee(&reg, now_s));
    }
    people.sort_by(|a, b| (&a.unit, &a.key).cmp(&(&b.unit, &b.key)));
    Ok(people)
}

/// The person `key` names (`r12`, `n7`), if watched at `now_s`: one
/// indexed lookup, whatever the number of people under watch.
pub fn by_key(conn: &mut dyn Conn, community: &str, key: &str, now_s: i64) -> Result<Option<Person>, DbError> {
    let id = |k: &str| k.parse::<i64>().ok().filter(|id| *id > 0);
    if let Some(id) = key.strip_prefix('r').and_then(id) {
        return Ok(watched_residents(conn, community, now_s, id)?.into_iter().next());
    }
    if let Some(id) = key.strip_prefix('n').and_then(id) {
        return Ok(
            crate::records::registrations::by_id(conn, community, id)?.and_then(|reg| watched_returnee(&reg, now_s))
        );
    }
    Ok(None)
}

/// The person a link names, if the link is genuine and they are watched.
pub fn person(conn: &mut dyn Conn, community: &str, token: &str, now_s: i64) -> Result<Option<Person>, DbError> {
    let Some((key, mac)) = token.split_once('.') else { return Ok(None) };
    if key.len() > 24 || !crate::leaves::secrets::same_digest(&link_mac(conn, community, key)?, mac) {
        return Ok(None);
    }
    by_key(conn, community, key, now_s)
}

/// The check-in page (`/c/<community>/<token>`) of the resident whose pass
/// has phone link `link_token`, while they are watched.
pub fn link_for_pass(conn: &mut dyn Conn, link_token: &str, now_s: i64) -> Result<Option<String>, DbError> {
    let holder =
        conn.query_opt("SELECT resident_id, community FROM passes WHERE link_token = ?1", vals![link_token], |r| {
            Ok((r.get::<Option<i64>>(0)?, r.get::<String>(1)?))
        })?;
    let Some((Some(resident), community)) = holder else { return Ok(None) };
    let key = format!("r{resident}");
    if by_key(conn, &community, &key, now_s)?.is_none() {
        return Ok(None);
    }
    Ok(Some(format!("/c/{community}/{}", token(conn, &community, &key)?)))
}

/// Local day (`YYYY-MM-DD`) and minute of the day of `ms`.
fn local(ms: i64, offset_min: i32) -> (String, i64) {
    let day = crate::leaves::time::fmt_ms(ms, offset_min)[..10].to_string();
    let minute = (ms / 60_000 + i64::from(offset_min)).rem_euclid(24 * 60);
    (day, minute)
}

/// Stores a check-in (temperature in °C, symptoms); returns the alert it
/// raised, if any (a fever).
pub fn check_in(
    conn: &mut dyn Conn,
    community: &str,
    p: &Person,
    temperature: &str,
    symptoms: bool,
    now_ms: i64,
    offset_min: i32,
) -> Result<Option<i64>, CheckinError> {
    let t: f64 = temperature.trim().parse().map_err(|_| CheckinError::Invalid("checkin_bad_temperature"))?;
    if !(34.0..=43.0).contains(&t) {
        return Err(CheckinError::Invalid("checkin_bad_temperature"));
    }
    let (day, minute) = local(now_ms, offset_min);
    let slot = if minute < AFTERNOON { "am" } else { "pm" };
    conn.execute(
        "INSERT INTO checkins (community, subject, day, slot, temperature, symptoms, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (community, subject, day, slot) DO UPDATE SET temperature = excluded.temperature, symptoms = excluded.symptoms, at_ms = excluded.at_ms",
        vals![community, &p.key, &day, slot, format!("{t:.1}"), i64::from(symptoms), now_ms],
    )?;
    if t < FEVER_C && !symptoms {
        return Ok(None);
    }
    let key = if symptoms { "checkin_fever_symptoms" } else { "checkin_fever" };
    let detail = Detail::new(key, [Arg::from(p.unit.as_str()), Arg::from(format!("{t:.1}"))]).encode();
    Ok(crate::records::alerts::raise(
        conn,
        community,
        shoumen_protocol::AlertKind::CheckinFever,
        &format!("unit {}", p.unit),
        None,
        &detail,
        now_ms,
    )?)
}

/// A person's newest check-in: (day, slot, temperature, symptoms, at_ms).
pub type Report = (String, String, String, bool, i64);

pub fn last_report(conn: &mut dyn Conn, community: &str, key: &str) -> Result<Option<Report>, DbError> {
    conn.query_opt(
        "SELECT day, slot, temperature, symptoms, at_ms FROM checkins WHERE community = ?1 AND subject = ?2 ORDER BY at_ms DESC LIMIT 1",
        vals![community, key],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<i64>(3)? != 0, r.get(4)?)),
    )
}

/// The slot whose grace has most recently run out at `now_ms`, and the
/// moment it was due: (day, slot, due_ms). Morning's after 11:00, evening's
/// after 21:00, else yesterday evening's.
pub fn last_overdue_slot(now_ms: i64, offset_min: i32) -> (String, &'static str, i64) {
    let (day, minute) = local(now_ms, offset_min);
    let midnight = now_ms - minute * 60_000 - now_ms.rem_euclid(60_000);
    if minute >= EVENING_DUE + GRACE_MIN {
        (day, "pm", midnight + EVENING_DUE * 60_000)
    } else if minute >= MORNING_DUE + GRACE_MIN {
        (day, "am", midnight + MORNING_DUE * 60_000)
    } else {
        let yesterday = midnight - 86_400_000;
        (local(yesterday, offset_min).0, "pm", yesterday + EVENING_DUE * 60_000)
    }
}

/// The call list: people watched since before the last overdue slot was
/// due who have not checked in for it, with their newest report.
pub fn missed(
    conn: &mut dyn Conn,
    community: &str,
    now_ms: i64,
    offset_min: i32,
) -> Result<Vec<(Person, Option<Report>)>, DbError> {
    let (day, slot, due_ms) = last_overdue_slot(now_ms, offset_min);
    let mut out = Vec::new();
    for p in watched(conn, community, now_ms / 1000)? {
        if p.from_s * 1000 > due_ms {
            continue;
        }
        let done = conn.scalar(
            "SELECT COUNT(*) FROM checkins WHERE community = ?1 AND subject = ?2 AND day = ?3 AND slot = ?4",
            vals![community, &p.key, &day, slot],
        )? > 0;
        if !done {
            let last = last_report(conn, community, &p.key)?;
            out.push((p, last));
        }
    }
    Ok(out)
}

/// A request from a quarantined home.
#[derive(Clone, Debug)]
pub struct Request {
    pub id: i64,
    pub subject: String,
    pub unit: String,
    pub kind: String,
    pub note: String,
    pub asked_ms: i64,
    pub taken_by: Option<String>,
    pub done_ms: Option<i64>,
    /// The name and phone the volunteer who took it gave (empty if none).
    pub taker_name: String,
    pub taker_phone: String,
}

/// Stores a request; returns its id and the alert it raised (medical help).
pub fn ask(
    conn: &mut dyn Conn,
    community: &str,
    p: &Person,
    kind: &str,
    note: &str,
    now_ms: i64,
) -> Result<(i64, Option<i64>), CheckinError> {
    if !KINDS.contains(&kind) {
        return Err(CheckinError::Invalid("request_bad_kind"));
    }
    let note: String = note
        .trim()
        .chars()
        .filter(|c| !c.is_control() && !crate::leaves::text::is_bidi_control(*c))
        .take(200)
        .collect();
    let open = conn.scalar(
        "SELECT COUNT(*) FROM service_requests WHERE community = ?1 AND subject = ?2 AND done_ms IS NULL",
        vals![community, &p.key],
    )?;
    if open >= MAX_OPEN_REQUESTS {
        return Err(CheckinError::Invalid("request_too_many"));
    }
    let id = conn.query_row(
        "INSERT INTO service_requests (community, subject, unit, kind, note, asked_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        vals![community, &p.key, &p.unit, kind, &note, now_ms],
        |r| r.get(0),
    )?;
    let alert = if kind == "medical" {
        let detail = Detail::new("medical_help", [Arg::from(p.unit.as_str()), Arg::from(note.as_str())]).encode();
        crate::records::alerts::raise(
            conn,
            community,
            shoumen_protocol::AlertKind::MedicalHelp,
            &format!("unit {}", p.unit),
            None,
            &detail,
            now_ms,
        )?
    } else {
        None
    };
    Ok((id, alert))
}

// The taker's name and phone from their account, in the same community.
const REQUEST_ROWS: &str = "q.id, q.subject, q.unit, q.kind, q.note, q.asked_ms, q.taken_by, q.done_ms,
     COALESCE(u.full_name, ''), COALESCE(u.phone, '')
     FROM service_requests q LEFT JOIN users u ON u.name = q.taken_by AND u.community = q.community";

fn request_row(r: &crate::db::Row) -> Result<Request, DbError> {
    Ok(Request {
        id: r.get(0)?,
        subject: r.get(1)?,
        unit: r.get(2)?,
        kind: r.get(3)?,
        note: r.get(4)?,
        asked_ms: r.get(5)?,
        taken_by: r.get(6)?,
        done_ms: r.get(7)?,
        taker_name: r.get(8)?,
        taker_phone: r.get(9)?,
    })
}

/// The task list: open requests first, then the last day's done ones.
pub fn tasks(conn: &mut dyn Conn, community: &str, now_ms: i64) -> Result<Vec<Request>, DbError> {
    let sql = format!(
        "SELECT {REQUEST_ROWS} WHERE q.community = ?1 AND (q.done_ms IS NULL OR q.done_ms > ?2)
         ORDER BY CASE WHEN q.done_ms IS NULL THEN 0 ELSE 1 END, q.asked_ms LIMIT 500"
    );
    conn.query_map(&sql, vals![community, now_ms - 86_400_000], request_row)
}

/// A person's own requests, newest first.
pub fn requests_of(conn: &mut dyn Conn, community: &str, key: &str) -> Result<Vec<Request>, DbError> {
    let sql =
        format!("SELECT {REQUEST_ROWS} WHERE q.community = ?1 AND q.subject = ?2 ORDER BY q.asked_ms DESC LIMIT 20");
    conn.query_map(&sql, vals![community, key], request_row)
}

/// A volunteer takes a task (`done` false) or marks it done; false if
/// there is no such open task in the community.
pub fn advance(
    conn: &mut dyn Conn,
    community: &str,
    id: i64,
    user: &str,
    done: bool,
    now_ms: i64,
) -> Result<bool, DbError> {
    let changed = if done {
        conn.execute(
            "UPDATE service_requests SET done_ms = ?1, taken_by = COALESCE(taken_by, ?2) WHERE id = ?3 AND community = ?4 AND done_ms IS NULL",
            vals![now_ms, user, id, community],
        )?
    } else {
        conn.execute(
            "UPDATE service_requests SET taken_by = ?1, taken_ms = ?2 WHERE id = ?3 AND community = ?4 AND done_ms IS NULL AND taken_by IS NULL",
            vals![user, now_ms, id, community],
        )?
    };
    Ok(changed > 0)
}

/// Deletes `community`'s check-ins and done requests older than `cutoff_ms`.
pub fn prune(conn: &mut dyn Conn, community: &str, cutoff_ms: i64) -> Result<(), DbError> {
    conn.execute("DELETE FROM checkins WHERE community = ?1 AND at_ms < ?2", vals![community, cutoff_ms])?;
    conn.execute("DELETE FROM service_requests WHERE community = ?1 AND done_ms < ?2", vals![community, cutoff_ms])?;
    crate::records::calls::prune(conn, community, cutoff_ms)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overdue_slot_follows_the_local_clock() {
        let at = |h: i64, m: i64| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis()
                + (h * 60 + m) * 60_000
                - 8 * 3_600_000
        };
        assert_eq!(last_overdue_slot(at(10, 59), 480).0, "2026-11-28");
        assert_eq!(last_overdue_slot(at(10, 59), 480).1, "pm");
        assert_eq!(last_overdue_slot(at(11, 0), 480), ("2026-11-29".into(), "am", at(9, 0)));
        assert_eq!(last_overdue_slot(at(21, 30), 480), ("2026-11-29".into(), "pm", at(19, 0)));
    }
}
