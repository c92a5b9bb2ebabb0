//! The daily summary a committee sends up to the street office every
//! morning: yesterday's entries, refusals and fevers, home quarantines
//! started and ended, visitors, and alerts. One set of figures, shown three
//! ways: a page, a CSV file, and a message through the community's webhook
//! at 07:30 local time.

use serde::{Deserialize, Serialize};

use crate::db::{Conn, DbError};
use crate::leaves::words::{t, Lang};
use crate::reports::day_start;
use crate::vals;

/// When the morning's messages go out, after local midnight.
pub const SEND_AT_MS: i64 = 7 * 3_600_000 + 30 * 60_000;
const DAY_MS: i64 = 86_400_000;

/// One community's day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Daily {
    pub community: String,
    /// `YYYY-MM-DD` in the display zone.
    pub day: String,
    pub entries: i64,
    pub allowed_in: i64,
    pub allowed_out: i64,
    pub refused: i64,
    pub fever: i64,
    pub quarantine_started: i64,
    pub quarantine_ended: i64,
    /// Units under home quarantine at the end of the day.
    pub units_quarantined: i64,
    /// Visitor passes issued that day.
    pub visitors: i64,
    /// Returnees who registered that day: a pledge (self-monitoring) or a
    /// notice (home quarantine).
    pub returnees_pledge: i64,
    pub returnees_notice: i64,
    pub alerts_raised: i64,
    /// Alerts nobody had acknowledged when the summary was made.
    pub alerts_open: i64,
}

/// The figures, in the order every view shows them: (field, word key).
pub const FIGURES: &[(&str, &str)] = &[
    ("entries", "entries"),
    ("allowed_in", "allowed_in"),
    ("allowed_out", "allowed_out"),
    ("refused", "refused"),
    ("fever", "fever"),
    ("quarantine_started", "quarantine_started"),
    ("quarantine_ended", "quarantine_ended"),
    ("units_quarantined", "units_quarantined"),
    ("visitors", "visitors_registered"),
    ("returnees_pledge", "returnees_pledge"),
    ("returnees_notice", "returnees_notice"),
    ("alerts_raised", "alerts_raised"),
    ("alerts_open", "open_alerts"),
];

impl Daily {
    /// The figures as (word key, value), in [`FIGURES`] order.
    pub fn figures(&self) -> Vec<(&'static str, i64)> {
        let value = |field: &str| match field {
            "entries" => self.entries,
            "allowed_in" => self.allowed_in,
            "allowed_out" => self.allowed_out,
            "refused" => self.refused,
            "fever" => self.fever,
            "quarantine_started" => self.quarantine_started,
            "quarantine_ended" => self.quarantine_ended,
            "units_quarantined" => self.units_quarantined,
            "visitors" => self.visitors,
            "returnees_pledge" => self.returnees_pledge,
            "returnees_notice" => self.returnees_notice,
            "alerts_raised" => self.alerts_raised,
            _ => self.alerts_open,
        };
        FIGURES.iter().map(|&(field, key)| (key, value(field))).collect()
    }
}

/// The local day that starts at `from_ms` (a local midnight), for
/// `community`.
pub fn daily(conn: &mut dyn Conn, community: &str, from_ms: i64, utc_offset_min: i32) -> Result<Daily, DbError> {
    let to_ms = from_ms + DAY_MS;
    let (from_s, to_s) = (from_ms / 1000, to_ms / 1000);
    let mut d = Daily {
        community: community.to_string(),
        day: crate::leaves::time::fmt_ms(from_ms, utc_offset_min)[..10].to_string(),
        ..Daily::default()
    };
    (d.entries, d.allowed_in, d.allowed_out, d.refused, d.fever) = conn.query_row(
        "SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN decision = 'allow' AND kind <> 'duty' AND direction = 'in' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN decision = 'allow' AND kind <> 'duty' AND direction = 'out' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN decision <> 'allow' AND kind = 'scan' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN reason = 'fever' THEN 1 ELSE 0 END), 0)
         FROM entries WHERE community = ?1 AND wall_ms >= ?2 AND wall_ms < ?3",
        vals![community, from_ms, to_ms],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    d.quarantine_started = conn.scalar(
        "SELECT COUNT(*) FROM quarantine WHERE community = ?1 AND from_s >= ?2 AND from_s < ?3",
        vals![community, from_s, to_s],
    )?;
    d.quarantine_ended = conn.scalar(
        "SELECT COUNT(*) FROM quarantine WHERE community = ?1 AND until_s > ?2 AND until_s <= ?3",
        vals![community, from_s, to_s],
    )?;
    d.units_quarantined = conn.scalar(
        "SELECT COUNT(DISTINCT unit) FROM quarantine WHERE community = ?1 AND from_s < ?2 AND until_s > ?2",
        vals![community, to_s],
    )?;
    d.visitors = conn.scalar(
        "SELECT COUNT(*) FROM passes WHERE community = ?1 AND role = 'visitor' AND issued_at >= ?2 AND issued_at < ?3",
        vals![community, from_s, to_s],
    )?;
    (d.returnees_pledge, d.returnees_notice) =
        crate::records::registrations::signed_between(conn, community, from_ms, to_ms)?;
    d.alerts_raised = conn.scalar(
        "SELECT COUNT(*) FROM alerts WHERE community = ?1 AND first_ms >= ?2 AND first_ms < ?3",
        vals![community, from_ms, to_ms],
    )?;
    d.alerts_open = conn.scalar("SELECT COUNT(*) FROM alerts WHERE community = ?1 AND acked = 0", vals![community])?;
    Ok(d)
}

/// The summary as CSV: one line per figure, with its words in `lang`.
pub fn csv(d: &Daily, lang: Lang, place: &crate::leaves::place::Place) -> String {
    let mut out = String::from("community,day,figure,label,value\n");
    for (key, value) in d.figures() {
        let label = crate::leaves::csv::csv_field(&place.say(t(lang, key)));
        out.push_str(&format!("{},{},{key},{label},{value}\n", crate::leaves::csv::csv_field(&d.community), d.day));
    }
    out
}

/// Every morning at 07:30 in the display zone.
pub const AT: crate::leaves::schedule::Every = crate::leaves::schedule::Every::Day { after_midnight_ms: SEND_AT_MS };

/// Queues yesterday's summary for every community with a webhook, once per
/// community and day (a restart does not send it twice). Returns how many.
/// [`enqueue_yesterday`] once per `period` however many server processes
/// share the database: the first to claim the period queues it, with its
/// claim, in one transaction.
pub fn enqueue_yesterday_once(
    conn: &mut dyn Conn,
    now_ms: i64,
    utc_offset_min: i32,
    period: &str,
) -> Result<usize, DbError> {
    conn.transaction(true, |tx| {
        if !crate::records::chores::claim(tx, "daily_summary", period, now_ms)? {
            return Ok(0);
        }
        enqueue_yesterday(tx, now_ms, utc_offset_min)
    })
}

pub fn enqueue_yesterday(conn: &mut dyn Conn, now_ms: i64, utc_offset_min: i32) -> Result<usize, DbError> {
    let from_ms = day_start(now_ms, utc_offset_min) - DAY_MS;
    let mut queued = 0;
    for community in crate::db::communities(conn)? {
        if !crate::records::alerts::has_webhook(conn, &community)? {
            continue;
        }
        let d = daily(conn, &community, from_ms, utc_offset_min)?;
        let sent = conn.scalar(
            "SELECT COUNT(*) FROM webhook_outbox WHERE community = ?1 AND summary_day = ?2",
            vals![&community, &d.day],
        )?;
        if sent > 0 {
            continue;
        }
        let body = serde_json::to_string(&d).expect("figures serialise");
        // Due at once, whatever day `now_ms` names.
        crate::records::alerts::queue_summary(conn, &community, &d.day, &body, crate::db::now_ms())?;
        queued += 1;
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_morning_send_is_at_half_past_seven_local_time() {
        const HOUR: i64 = 3_600_000;
        // 2026-11-29 00:00 in UTC+8.
        let midnight = 1_795_910_400_000 - 8 * HOUR;
        assert_eq!(AT.next(midnight + HOUR, 480).start_ms, midnight + SEND_AT_MS);
        assert_eq!(AT.next(midnight + 8 * HOUR, 480).start_ms, midnight + DAY_MS + SEND_AT_MS);
    }
}
