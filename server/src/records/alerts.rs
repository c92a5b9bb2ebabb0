//! Alerts: what the committee must act on. They come from kiosks' entries
//! (a fever, a quarantined resident going out, the kiosk's alarm entries),
//! and from the server's own checks (tampering, a kiosk gone silent). A
//! committee member acknowledges one with a note; new ones also go to the
//! community's webhook (see `webhook`).
//!
//! Bounded by design: a detail is at most [`MAX_DETAIL`] characters without
//! control characters, and one kiosk has at most [`MAX_OPEN_PER_DEVICE`]
//! open alerts; past that a single `too_many_alerts` row counts the rest.

use shoumen_protocol::{AlertKind, Decision, Entry, EntryKind, Reason, TempRecord};

use crate::db::{Conn, DbError, Row};
use crate::leaves::detail::{Arg, Detail};
use crate::leaves::text::clean;
use crate::vals;

/// Longest detail kept, in characters.
pub const MAX_DETAIL: usize = 300;

/// Open (unacknowledged) alerts one kiosk may have before the rest are
/// only counted.
pub const MAX_OPEN_PER_DEVICE: i64 = 500;

/// A kiosk without a heartbeat for this long is "silent".
pub const SILENT_AFTER_MS: i64 = 10 * 60_000;

/// Undelivered webhook messages kept at most; the oldest go first.
pub const MAX_PENDING: i64 = 1000;

/// Raises an alert of `community` and queues its message for the
/// community's webhook (if it has one), in the caller's transaction; the
/// same alert again (same community, kind, device and detail) only bumps
/// its count and opens it again. Returns the alert's id when it is new or
/// reopened, i.e. worth telling the committee about (ring the delivery's
/// bell). Every lookup names the community: the same unit label in two
/// communities is two households, and two alerts.
pub fn raise(
    conn: &mut dyn Conn,
    community: &str,
    kind: AlertKind,
    device: &str,
    seq: Option<u64>,
    detail: &str,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let id = record(conn, community, kind, device, seq, detail, now)?;
    if let Some(id) = id {
        queue_message(conn, community, id, now)?;
    }
    Ok(id)
}

/// Undelivered webhook messages, and how many of them failed at least once.
pub fn outbox_counts(conn: &mut dyn Conn) -> Result<(i64, i64), DbError> {
    conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) FROM webhook_outbox
         WHERE delivered_ms IS NULL",
        vals![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Queues the webhook message of a new alert, if its community has a
/// webhook; the outbox keeps at most [`MAX_PENDING`] undelivered rows.
fn queue_message(conn: &mut dyn Conn, community: &str, alert_id: i64, now: i64) -> Result<bool, DbError> {
    if !has_webhook(conn, community)? {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO webhook_outbox (alert_id, created_ms, next_ms) VALUES (?1, ?2, ?2)",
        vals![alert_id, now],
    )?;
    let pending = conn.scalar("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_ms IS NULL", vals![])?;
    if pending > MAX_PENDING {
        conn.execute(
            "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox WHERE delivered_ms IS NULL ORDER BY id LIMIT ?1)",
            vals![pending - MAX_PENDING],
        )?;
    }
    // Delivered rows are history: a week of it is enough.
    conn.execute(
        "DELETE FROM webhook_outbox WHERE delivered_ms IS NOT NULL AND delivered_ms < ?1",
        vals![now - 7 * 86_400_000],
    )?;
    Ok(true)
}

/// Whether `community` has a webhook to send messages to.
pub fn has_webhook(conn: &mut dyn Conn, community: &str) -> Result<bool, DbError> {
    Ok(conn.scalar("SELECT COUNT(*) FROM communities WHERE id = ?1 AND webhook_url <> ''", vals![community])? > 0)
}

/// Queues a community's daily summary (its figures as JSON); alert 0.
pub fn queue_summary(
    conn: &mut dyn Conn,
    community: &str,
    day: &str,
    figures_json: &str,
    now: i64,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO webhook_outbox (alert_id, created_ms, next_ms, community, summary_day, summary) VALUES (0, ?1, ?1, ?2, ?3, ?4)",
        vals![now, community, day, figures_json],
    )?;
    Ok(())
}

/// An undelivered message of the outbox, claimed by this process.
#[derive(Clone, Debug)]
pub struct Message {
    pub id: i64,
    pub alert_id: i64,
    pub attempts: i64,
    /// A daily summary's community and figures (JSON); `None` for an alert.
    pub community: Option<String>,
    pub summary: Option<String>,
    /// This process's claim on the row; an attempt is recorded only under it.
    pub claim: String,
}

/// Claims the oldest message due at `now` with attempts left, for one
/// delivery by this process (issue 30: several processes deliver from one
/// outbox). The claim moves the message's next attempt `lease_ms` on, so no
/// other process sees it due while this one sends, and marks it with a
/// token of this claim. The update is conditional on the row being as read:
/// of processes racing for a message, one changes it and the others skip it.
/// A process that dies while sending leaves its claim to run out with no
/// outcome recorded: nobody knows whether the receiver got the message, so
/// it is given up, never sent again (at most once: a robot in a group chat
/// does not drop repeats). It stays on the Alerts page, and the webhook's
/// settings count it as not delivered with [`OUTCOME_UNKNOWN`].
pub fn claim_due(
    conn: &mut dyn Conn,
    now: i64,
    max_attempts: i64,
    lease_ms: i64,
    claim: &str,
) -> Result<Option<Message>, DbError> {
    conn.execute(
        "UPDATE webhook_outbox SET attempts = ?1, last_error = ?2, claim = NULL
         WHERE delivered_ms IS NULL AND claim IS NOT NULL AND next_ms <= ?3",
        vals![max_attempts, OUTCOME_UNKNOWN, now],
    )?;
    // A few candidates, so a race lost on the first still finds work.
    let due = conn.query_map(
        "SELECT id, alert_id, attempts, community, summary, next_ms FROM webhook_outbox
         WHERE delivered_ms IS NULL AND next_ms <= ?1 AND attempts < ?2 ORDER BY id LIMIT 8",
        vals![now, max_attempts],
        |r| {
            let m = Message {
                id: r.get(0)?,
                alert_id: r.get(1)?,
                attempts: r.get(2)?,
                community: r.get(3)?,
                summary: r.get(4)?,
                claim: claim.to_string(),
            };
            Ok((m, r.get::<i64>(5)?))
        },
    )?;
    for (message, next_ms) in due {
        let won = conn.execute(
            "UPDATE webhook_outbox SET next_ms = ?1, claim = ?2
             WHERE id = ?3 AND next_ms = ?4 AND attempts = ?5 AND delivered_ms IS NULL",
            vals![now + lease_ms, claim, message.id, next_ms, message.attempts],
        )?;
        if won == 1 {
            return Ok(Some(message));
        }
    }
    Ok(None)
}

/// Why a message was given up without an outcome.
pub const OUTCOME_UNKNOWN: &str = "the server process sending it stopped before the receiver's answer was recorded; \
     it was not sent again, so that no group gets it twice";

/// How a delivery attempt went.
#[derive(Clone, Debug)]
pub enum Outbox {
    Delivered { at_ms: i64 },
    Failed { retry_at_ms: i64, error: String },
}

/// Records a delivery attempt of `message` under its claim; `false` if the
/// claim was lost (its lease ran out and another process took the message
/// over), and then nothing is changed: that process's outcome stands.
pub fn record_attempt(conn: &mut dyn Conn, message: &Message, attempt: &Outbox) -> Result<bool, DbError> {
    let changed = match attempt {
        Outbox::Delivered { at_ms } => conn.execute(
            "UPDATE webhook_outbox SET delivered_ms = ?1, attempts = attempts + 1, last_error = NULL
             WHERE id = ?2 AND claim = ?3",
            vals![*at_ms, message.id, &message.claim],
        )?,
        Outbox::Failed { retry_at_ms, error } => conn.execute(
            "UPDATE webhook_outbox SET next_ms = ?1, attempts = attempts + 1, last_error = ?2, claim = NULL
             WHERE id = ?3 AND claim = ?4",
            vals![*retry_at_ms, error, message.id, &message.claim],
        )?,
    };
    Ok(changed == 1)
}

/// The alert row of [`raise`], without its message.
fn record(
    conn: &mut dyn Conn,
    community: &str,
    kind: AlertKind,
    device: &str,
    seq: Option<u64>,
    detail: &str,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let detail = clean(detail, MAX_DETAIL);
    let device = clean(device, 64);
    let existing = conn.query_opt(
        "SELECT id, acked FROM alerts WHERE community = ?1 AND kind = ?2 AND device = ?3 AND detail = ?4",
        vals![community, kind, &device, &detail],
        |r| Ok((r.get::<i64>(0)?, r.get::<bool>(1)?)),
    )?;
    if let Some((id, acked)) = existing {
        conn.execute("UPDATE alerts SET count = count + 1, last_ms = ?1, acked = 0 WHERE id = ?2", vals![now, id])?;
        return Ok(acked.then_some(id));
    }
    let open = conn.scalar(
        "SELECT COUNT(*) FROM alerts WHERE community = ?1 AND device = ?2 AND acked = 0",
        vals![community, &device],
    )?;
    if open >= MAX_OPEN_PER_DEVICE && kind != AlertKind::TooManyAlerts {
        return record(conn, community, AlertKind::TooManyAlerts, &device, None, "", now);
    }
    // Another push raising the same alert at the same moment only counts.
    let id = conn.query_opt(
        "INSERT INTO alerts (kind, device, seq, detail, first_ms, last_ms, community) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
         ON CONFLICT (community, kind, device, detail) DO UPDATE SET count = alerts.count + 1, last_ms = excluded.last_ms
         RETURNING id",
        vals![kind, &device, seq, &detail, now, community],
        |r| r.get::<i64>(0),
    )?;
    Ok(id)
}

/// Raises an alert only if `community` never had this one (same kind,
/// device and detail), acknowledged or not: for conditions a device
/// reports again and again until someone acts (a silent kiosk, a split
/// view, a sensor's battery), which would otherwise reopen every minute.
pub fn raise_once(
    conn: &mut dyn Conn,
    community: &str,
    kind: AlertKind,
    device: &str,
    detail: &str,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let (device, detail) = (clean(device, 64), clean(detail, MAX_DETAIL));
    let known = conn.scalar(
        "SELECT COUNT(*) FROM alerts WHERE community = ?1 AND kind = ?2 AND device = ?3 AND detail = ?4",
        vals![community, kind, &device, &detail],
    )? > 0;
    if known {
        return Ok(None);
    }
    raise(conn, community, kind, &device, None, &detail, now)
}

/// How long repeats of the same alert about the same subject (one pass
/// refused again and again, one alarm repeating) fold into one open alert
/// with a count, rather than each needing its own acknowledgement.
pub const FOLD_WINDOW_MS: i64 = 10 * 60_000;

/// The alert an entry calls for: its kind, its detail, and how many of the
/// detail's first arguments name its subject (repeats fold, see
/// [`raise_folded`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryAlert {
    pub kind: AlertKind,
    pub detail: Detail,
    pub fold: usize,
}

/// The alert an entry calls for, if any. `unit_of` finds the unit a pass
/// belongs to (asked only when there is an alert), so the committee reads
/// "3-502", not a sequence number. Every reason a kiosk records is decided
/// here, so a new one does not compile until it says whether the committee
/// hears of it; a reason from a newer kiosk that this server does not know
/// alerts as a device fault if it is an alarm, and not otherwise.
pub fn from_entry(
    e: &Entry,
    unit_of: impl FnOnce(&str) -> Result<Option<String>, DbError>,
) -> Result<Option<EntryAlert>, DbError> {
    let reason = Reason::parse(&e.reason);
    let at = Arg::Time(e.wall_ms);
    if e.kind == EntryKind::Alarm {
        let detail = match &e.note {
            Some(note) => Detail::new("alarm_note", [Arg::from(note.as_str()), at]),
            None => Detail::new("alarm", [at]),
        };
        let kind = reason.and_then(alarm_kind).unwrap_or(AlertKind::DeviceFault);
        return Ok(Some(EntryAlert { kind, fold: detail.args.len() - 1, detail }));
    }
    let fever = reason == Some(Reason::Fever) || matches!(e.temperature, Some(TempRecord::Fever(true)));
    let quarantine = reason == Some(Reason::QuarantineNoExit);
    if !(quarantine || fever && e.decision != Decision::Allow) {
        return Ok(None);
    }
    let pass = e.pass_id.map(|p| p.to_hex());
    let unit = match &pass {
        Some(p) => unit_of(p)?.unwrap_or_else(|| "?".into()),
        None => "?".into(),
    };
    let short = Arg::Pass(pass.clone().unwrap_or_default());
    let detail = if quarantine {
        Detail::new("gate_quarantine_exit", [Arg::from(unit), short, at])
    } else {
        let t = match e.temperature {
            Some(TempRecord::Centi(c)) => format!("{:.1} °C", f64::from(c) / 100.0),
            _ => "—".into(),
        };
        match pass {
            Some(_) => Detail::new("gate_fever", [Arg::from(unit), short, Arg::from(t), at]),
            None => Detail::new("gate_fever_no_pass", [Arg::from(t), at]),
        }
    };
    let kind = if quarantine { AlertKind::QuarantineExit } else { AlertKind::Fever };
    let fold = if e.pass_id.is_some() { 2 } else { 1 };
    Ok(Some(EntryAlert { kind, detail, fold }))
}

/// Raises an alert unless an open alert of the same kind and device about
/// the same subject (the first `fold` arguments of its detail) was raised
/// or repeated within [`FOLD_WINDOW_MS`]: that one counts up instead (no
/// new message). Returns the id of a new alert.
pub fn raise_folded(
    conn: &mut dyn Conn,
    community: &str,
    device: &str,
    seq: Option<u64>,
    alert: &EntryAlert,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let prefix = clean(&alert.detail.prefix(alert.fold), MAX_DETAIL);
    let open = conn.query_opt(
        "SELECT id FROM alerts WHERE community = ?1 AND kind = ?2 AND device = ?3 AND acked = 0 AND last_ms >= ?4
           AND substr(detail, 1, ?5) = ?6 ORDER BY id DESC LIMIT 1",
        vals![community, alert.kind, &clean(device, 64), now - FOLD_WINDOW_MS, prefix.chars().count() as i64, &prefix],
        |r| r.get::<i64>(0),
    )?;
    if let Some(id) = open {
        conn.execute("UPDATE alerts SET count = count + 1, last_ms = ?1 WHERE id = ?2", vals![now, id])?;
        return Ok(None);
    }
    raise(conn, community, alert.kind, device, seq, &alert.detail.encode(), now)
}

/// The alert an alarm entry of `reason` raises; `None` for reasons that
/// are not alarms.
fn alarm_kind(reason: Reason) -> Option<AlertKind> {
    use Reason::*;
    match reason {
        DoorForcedOpen => Some(AlertKind::DoorForcedOpen),
        DoorHeldOpen => Some(AlertKind::DoorHeldOpen),
        RepeatedRefusals => Some(AlertKind::RepeatedRefusals),
        DeviceFault | ThermometerFault | StoreFault => Some(AlertKind::DeviceFault),
        ListsTooOld => Some(AlertKind::ListsTooOld),
        Fever => Some(AlertKind::Fever),
        QuarantineNoExit => Some(AlertKind::QuarantineExit),
        Ok
        | DutyStart
        | DutyEnd
        | ConsoleOpened
        | AlarmAcknowledged
        | SettingChanged
        | QuarantineReturn
        | QuarantineUnconfirmed
        | PassbackOverride
        | AllowedWithoutTemperature
        | ManualOpen
        | ExitButton
        | Expired
        | TimeUncertain
        | NotYetValid
        | CodeExpired
        | Revoked
        | Passback
        | MeasureTimeout
        | BadSignature
        | UnknownKey
        | UnknownIssuer
        | NotAPass
        | BadClaims => None,
    }
}

/// Raises `kiosk_silent` for every kiosk whose last heartbeat is older than
/// [`SILENT_AFTER_MS`]: once per silence (the detail names when it was last
/// seen), with its message queued. Returns how many were raised.
pub fn check_silent(conn: &mut dyn Conn, now: i64) -> Result<usize, DbError> {
    let silent = conn.query_map(
        "SELECT id, last_seen_ms, community FROM devices WHERE revoked = 0 AND last_seen_ms IS NOT NULL AND last_seen_ms < ?1",
        vals![now - SILENT_AFTER_MS],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?)),
    )?;
    let mut raised = 0;
    for (device, last_seen, community) in silent {
        let detail = Detail::new("kiosk_silent", [Arg::Time(last_seen)]).encode();
        raised += usize::from(raise_once(conn, &community, AlertKind::KioskSilent, &device, &detail, now)?.is_some());
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
    pub community: String,
}

const ROW_SQL: &str =
    "SELECT a.id, a.kind, a.device, COALESCE(d.gate_name, a.device), a.detail, a.first_ms, a.last_ms, a.count,
        a.acked, a.acked_by, a.acked_note, a.acked_ms, a.community
     FROM alerts a LEFT JOIN devices d ON d.id = a.device";

fn row(r: &Row) -> Result<AlertRow, DbError> {
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
        community: r.get(12)?,
    })
}

/// A community's alerts, open ones first, newest first.
pub fn list(conn: &mut dyn Conn, community: &str, limit: usize) -> Result<Vec<AlertRow>, DbError> {
    conn.query_map(
        &format!("{ROW_SQL} WHERE a.community = ?1 ORDER BY a.acked, a.last_ms DESC LIMIT ?2"),
        vals![community, limit],
        row,
    )
}

/// One alert, whichever community (the webhook's delivery).
pub fn get(conn: &mut dyn Conn, id: i64) -> Result<Option<AlertRow>, DbError> {
    conn.query_opt(&format!("{ROW_SQL} WHERE a.id = ?1"), vals![id], row)
}

pub fn open_count(conn: &mut dyn Conn, community: &str) -> Result<i64, DbError> {
    conn.scalar("SELECT COUNT(*) FROM alerts WHERE community = ?1 AND acked = 0", vals![community])
}

/// Acknowledges an alert of `community` with who did it and what they did
/// about it; false if there is no such alert there.
pub fn ack(conn: &mut dyn Conn, community: &str, id: i64, user: &str, note: &str, now: i64) -> Result<bool, DbError> {
    let n = conn.execute(
        "UPDATE alerts SET acked = 1, acked_by = ?1, acked_note = ?2, acked_ms = ?3 WHERE id = ?4 AND community = ?5",
        vals![user, clean(note, 200), now, id, community],
    )?;
    Ok(n > 0)
}

/// Acknowledges the open alerts of `community` of `kind` for `device`
/// (the thing they were about has been dealt with).
pub fn ack_open(
    conn: &mut dyn Conn,
    community: &str,
    kind: AlertKind,
    device: &str,
    user: &str,
    note: &str,
    now: i64,
) -> Result<u64, DbError> {
    conn.execute(
        "UPDATE alerts SET acked = 1, acked_by = ?1, acked_note = ?2, acked_ms = ?3 WHERE community = ?4 AND kind = ?5 AND device = ?6 AND acked = 0",
        vals![user, clean(note, 200), now, community, kind, clean(device, 64)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> crate::db::Db {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(dir.path().join("a.db").to_str().unwrap()).unwrap();
        std::mem::forget(dir);
        db
    }

    #[test]
    fn text_from_a_kiosk_is_cleaned_and_bounded() {
        assert_eq!(clean("a\u{202E}b\nc\u{0007}", 10), "abc");
        assert_eq!(clean(&"x".repeat(1_000_000), MAX_DETAIL).len(), MAX_DETAIL);
    }

    #[test]
    fn the_same_alert_counts_up_and_a_flood_is_one_row() {
        db().call_blocking(|conn| {
            assert!(raise(conn, "c", AlertKind::Fever, "k", Some(1), "seq 1", 1).unwrap().is_some());
            assert_eq!(
                raise(conn, "c", AlertKind::Fever, "k", Some(1), "seq 1", 2).unwrap(),
                None,
                "a repeat is not news"
            );
            for i in 0..MAX_OPEN_PER_DEVICE + 100 {
                raise(conn, "c", AlertKind::DeviceFault, "k", None, &format!("seq {i}"), 3).unwrap();
            }
            assert_eq!(
                conn.scalar("SELECT COUNT(*) FROM alerts WHERE device = 'k'", vals![]).unwrap(),
                MAX_OPEN_PER_DEVICE + 1
            );
            assert_eq!(conn.scalar("SELECT count FROM alerts WHERE kind = 'too_many_alerts'", vals![]).unwrap(), 101);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn an_acknowledged_alert_that_happens_again_is_news_again() {
        db().call_blocking(|conn| {
            let id = raise(conn, "c", AlertKind::KioskSilent, "k", None, "last seen 5", 10).unwrap().unwrap();
            assert!(!ack(conn, "other", id, "li", "not mine", 15).unwrap(), "another community's alert");
            assert!(ack(conn, "c", id, "wang", "called the guard", 20).unwrap());
            let a = get(conn, id).unwrap().unwrap();
            assert_eq!(
                (a.acked, a.acked_by.as_deref(), a.acked_note.as_deref()),
                (true, Some("wang"), Some("called the guard"))
            );
            assert_eq!(raise(conn, "c", AlertKind::KioskSilent, "k", None, "last seen 5", 30).unwrap(), Some(id));
            Ok(())
        })
        .unwrap();
    }
}
