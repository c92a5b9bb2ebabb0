//! Alerts: what the committee must act on. They come from kiosks' entries
//! (a fever, a quarantined resident going out, the kiosk's alarm entries),
//! and from the server's own checks (tampering, a kiosk gone silent). A
//! committee member acknowledges one with a note; new ones also go to the
//! community's webhook (see `webhook`).
//!
//! Bounded by design: a detail is at most [`MAX_DETAIL`] characters without
//! control characters, and one kiosk has at most [`MAX_OPEN_PER_DEVICE`]
//! open alerts; past that a single `too_many_alerts` row counts the rest.

use rusqlite::{params, Connection, OptionalExtension};
use shoumen_protocol::{Decision, Entry, EntryKind, TempRecord};

use crate::db::DbError;

/// Every kind of alert, in the order the Alerts page explains them.
pub const KINDS: &[&str] = &[
    "fever",
    "quarantine_exit",
    "door_forced_open",
    "door_held_open",
    "repeated_refusals",
    "device_fault",
    "lists_too_old",
    "kiosk_silent",
    "tamper",
    "too_many_alerts",
];

/// Longest detail kept, in characters.
pub const MAX_DETAIL: usize = 300;

/// Open (unacknowledged) alerts one kiosk may have before the rest are
/// only counted.
pub const MAX_OPEN_PER_DEVICE: i64 = 500;

/// A kiosk without a heartbeat for this long is "silent".
pub const SILENT_AFTER_MS: i64 = 10 * 60_000;

/// Text from a kiosk made safe to store and show: no control characters
/// (newlines, bidi overrides), at most `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).take(max).collect()
}

/// Unicode's explicit direction controls (U+202A–202E, U+2066–2069) and
/// the marks, which can make a label read differently from what it is.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Records an alert; the same one again only bumps its count and opens it
/// again. Returns the alert's id when it is new or reopened, i.e. worth
/// telling the committee about.
pub fn raise(conn: &Connection, kind: &str, device: &str, seq: Option<u64>, detail: &str, now: i64) -> Result<Option<i64>, DbError> {
    let detail = clean(detail, MAX_DETAIL);
    let device = clean(device, 64);
    let existing: Option<(i64, bool)> = conn
        .query_row("SELECT id, acked FROM alerts WHERE kind = ?1 AND device = ?2 AND detail = ?3", params![kind, device, detail], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((id, acked)) = existing {
        conn.execute("UPDATE alerts SET count = count + 1, last_ms = ?1, acked = 0 WHERE id = ?2", params![now, id])?;
        return Ok(acked.then_some(id));
    }
    let open: i64 = conn.query_row("SELECT COUNT(*) FROM alerts WHERE device = ?1 AND acked = 0", [&device], |r| r.get(0))?;
    if open >= MAX_OPEN_PER_DEVICE && kind != "too_many_alerts" {
        return raise(conn, "too_many_alerts", &device, None, "", now);
    }
    conn.execute(
        "INSERT INTO alerts (kind, device, seq, detail, first_ms, last_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![kind, device, seq.map(|s| s as i64), detail, now],
    )?;
    Ok(Some(conn.last_insert_rowid()))
}

/// The alert an entry calls for, if any: (kind, detail).
pub fn from_entry(e: &Entry) -> Option<(&'static str, String)> {
    if e.kind == EntryKind::Alarm {
        let kind = KINDS.iter().copied().find(|k| *k == e.reason).unwrap_or("device_fault");
        let detail = match &e.note {
            Some(note) => format!("seq {}: {note}", e.seq),
            None => format!("seq {}", e.seq),
        };
        return Some((kind, detail));
    }
    let fever = e.reason == "fever" || matches!(e.temperature, Some(TempRecord::Fever(true)));
    if fever && e.decision != Decision::Allow {
        let t = match e.temperature {
            Some(TempRecord::Centi(c)) => format!(" {:.1} °C", f64::from(c) / 100.0),
            _ => String::new(),
        };
        return Some(("fever", format!("seq {}{t}", e.seq)));
    }
    if e.reason == "quarantine_no_exit" {
        let pass = e.pass_id.map_or(String::new(), |p| format!(", pass {}", p.to_hex()));
        return Some(("quarantine_exit", format!("seq {}{pass}", e.seq)));
    }
    None
}

/// Raises `kiosk_silent` for every kiosk whose last heartbeat is older than
/// [`SILENT_AFTER_MS`]: once per silence (the detail names when it was last
/// seen). Returns the new alerts' ids.
pub fn check_silent(conn: &Connection, now: i64) -> Result<Vec<i64>, DbError> {
    let mut stmt = conn.prepare("SELECT id, last_seen_ms FROM devices WHERE revoked = 0 AND last_seen_ms IS NOT NULL AND last_seen_ms < ?1")?;
    let silent = stmt
        .query_map([now - SILENT_AFTER_MS], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut raised = Vec::new();
    for (device, last_seen) in silent {
        let detail = format!("last seen {last_seen}");
        let known: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM alerts WHERE kind = 'kiosk_silent' AND device = ?1 AND detail = ?2)",
            params![device, detail],
            |r| r.get(0),
        )?;
        if !known {
            raised.extend(raise(conn, "kiosk_silent", &device, None, &detail, now)?);
        }
    }
    Ok(raised)
}

/// One row of the Alerts page.
#[derive(Clone, Debug)]
pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub device: String,
    pub gate: String,
    pub detail: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub count: i64,
    pub acked: bool,
    pub acked_by: Option<String>,
    pub acked_note: Option<String>,
    pub acked_ms: Option<i64>,
}

const ROW_SQL: &str = "SELECT a.id, a.kind, a.device, COALESCE(d.gate_name, a.device), a.detail, a.first_ms, a.last_ms, a.count,
        a.acked, a.acked_by, a.acked_note, a.acked_ms
     FROM alerts a LEFT JOIN devices d ON d.id = a.device";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        device: r.get(2)?,
        gate: r.get(3)?,
        detail: r.get(4)?,
        first_ms: r.get(5)?,
        last_ms: r.get(6)?,
        count: r.get(7)?,
        acked: r.get(8)?,
        acked_by: r.get(9)?,
        acked_note: r.get(10)?,
        acked_ms: r.get(11)?,
    })
}

/// Open alerts first, newest first.
pub fn list(conn: &Connection, limit: usize) -> Result<Vec<AlertRow>, DbError> {
    let mut stmt = conn.prepare(&format!("{ROW_SQL} ORDER BY a.acked, a.last_ms DESC LIMIT ?1"))?;
    let rows = stmt.query_map([limit as i64], row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<AlertRow>, DbError> {
    Ok(conn.query_row(&format!("{ROW_SQL} WHERE a.id = ?1"), [id], row).optional()?)
}

pub fn open_count(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM alerts WHERE acked = 0", [], |r| r.get(0))?)
}

/// Acknowledges an alert with who did it and what they did about it.
pub fn ack(conn: &Connection, id: i64, user: &str, note: &str, now: i64) -> Result<bool, DbError> {
    let n = conn.execute(
        "UPDATE alerts SET acked = 1, acked_by = ?1, acked_note = ?2, acked_ms = ?3 WHERE id = ?4",
        params![user, clean(note, 200), now, id],
    )?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open_conn(&dir.path().join("a.db")).unwrap();
        std::mem::forget(dir);
        conn
    }

    #[test]
    fn text_from_a_kiosk_is_cleaned_and_bounded() {
        assert_eq!(clean("a\u{202E}b\nc\u{0007}", 10), "abc");
        assert_eq!(clean(&"x".repeat(1_000_000), MAX_DETAIL).len(), MAX_DETAIL);
    }

    #[test]
    fn the_same_alert_counts_up_and_a_flood_is_one_row() {
        let conn = db();
        assert!(raise(&conn, "fever", "k", Some(1), "seq 1", 1).unwrap().is_some());
        assert_eq!(raise(&conn, "fever", "k", Some(1), "seq 1", 2).unwrap(), None, "a repeat is not news");
        for i in 0..MAX_OPEN_PER_DEVICE + 100 {
            raise(&conn, "device_fault", "k", None, &format!("seq {i}"), 3).unwrap();
        }
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM alerts WHERE device = 'k'", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, MAX_OPEN_PER_DEVICE + 1);
        let extra: i64 = conn.query_row("SELECT count FROM alerts WHERE kind = 'too_many_alerts'", [], |r| r.get(0)).unwrap();
        assert_eq!(extra, 101);
    }

    #[test]
    fn an_acknowledged_alert_that_happens_again_is_news_again() {
        let conn = db();
        let id = raise(&conn, "kiosk_silent", "k", None, "last seen 5", 10).unwrap().unwrap();
        assert!(ack(&conn, id, "wang", "called the guard", 20).unwrap());
        let a = get(&conn, id).unwrap().unwrap();
        assert_eq!((a.acked, a.acked_by.as_deref(), a.acked_note.as_deref()), (true, Some("wang"), Some("called the guard")));
        assert_eq!(raise(&conn, "kiosk_silent", "k", None, "last seen 5", 30).unwrap(), Some(id));
    }
}
