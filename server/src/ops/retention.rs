//! Retention: every night the server deletes, per community, the entries
//! older than the community keeps them (90 days unless it chose otherwise)
//! and the names of visitors whose pass ended more than 14 days ago.
//!
//! A kiosk's entries go from the oldest on, in one piece per kiosk, and the
//! hash of the last deleted entry is kept on the kiosk's row: the rest of
//! its chain still verifies (`ingest::verify_chain`), and a kiosk that
//! resends deleted entries is checked against that hash.

use crate::db::{Conn, DbError};
use crate::vals;

/// What one community keeps, in days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub entry_days: i64,
    pub visitor_days: i64,
    /// Days after a returnee's period ends before their personal fields go.
    pub returnee_days: i64,
}

/// The bounds a committee may choose within.
pub const ENTRY_DAYS: std::ops::RangeInclusive<i64> = 7..=3650;
pub const VISITOR_DAYS: std::ops::RangeInclusive<i64> = 1..=365;
pub const RETURNEE_DAYS: std::ops::RangeInclusive<i64> = 1..=365;

const DAY_MS: i64 = 86_400_000;

pub fn policy(conn: &mut dyn Conn, community: &str) -> Result<Policy, DbError> {
    conn.query_row(
        "SELECT entry_days, visitor_days, returnee_days FROM communities WHERE id = ?1",
        vals![community],
        |r| Ok(Policy { entry_days: r.get(0)?, visitor_days: r.get(1)?, returnee_days: r.get(2)? }),
    )
}

/// Sets a community's policy; returns a sentence saying what is wrong with
/// it instead, if anything.
pub fn set_policy(conn: &mut dyn Conn, community: &str, p: Policy) -> Result<Result<(), String>, DbError> {
    if !ENTRY_DAYS.contains(&p.entry_days)
        || !VISITOR_DAYS.contains(&p.visitor_days)
        || !RETURNEE_DAYS.contains(&p.returnee_days)
    {
        return Ok(Err(format!(
            "entries are kept {} to {} days, visitors' names {} to {} days, returnees' personal data {} to {} days after their period",
            ENTRY_DAYS.start(),
            ENTRY_DAYS.end(),
            VISITOR_DAYS.start(),
            VISITOR_DAYS.end(),
            RETURNEE_DAYS.start(),
            RETURNEE_DAYS.end()
        )));
    }
    conn.execute(
        "UPDATE communities SET entry_days = ?1, visitor_days = ?2, returnee_days = ?3 WHERE id = ?4",
        vals![p.entry_days, p.visitor_days, p.returnee_days, community],
    )?;
    Ok(Ok(()))
}

/// What one night's run deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub entries: u64,
    pub visitor_names: u64,
    /// Returnees' registrations whose personal fields were deleted.
    pub returnees: u64,
}

/// Applies `community`'s policy as of `now_ms`.
pub fn prune(conn: &mut dyn Conn, community: &str, now_ms: i64) -> Result<Pruned, DbError> {
    let policy = policy(conn, community)?;
    let mut pruned = Pruned::default();
    let cutoff = now_ms - policy.entry_days * DAY_MS;
    let devices: Vec<String> =
        conn.query_map("SELECT id FROM devices WHERE community = ?1", vals![community], |r| r.get(0))?;
    for device in devices {
        pruned.entries += conn.transaction(true, |tx| prune_device(tx, &device, cutoff))?;
    }
    // A visitor's pass is kept (the entries name it), their name is not.
    let visitor_cutoff_s = (now_ms - policy.visitor_days * DAY_MS).div_euclid(1000);
    pruned.visitor_names = conn.execute(
        "UPDATE passes SET visitor_name = NULL WHERE community = ?1 AND visitor_name IS NOT NULL AND expires_at < ?2",
        vals![community, visitor_cutoff_s],
    )?;
    pruned.returnees = crate::records::registrations::prune(conn, community, now_ms)?;
    // Door sensor events, check-ins and done requests go with the entries.
    crate::records::sensors::prune(conn, community, cutoff)?;
    conn.execute("DELETE FROM checkins WHERE community = ?1 AND at_ms < ?2", vals![community, cutoff])?;
    conn.execute("DELETE FROM service_requests WHERE community = ?1 AND done_ms < ?2", vals![community, cutoff])?;
    // Deleting is a change like any other: the trail says what went.
    if pruned != Pruned::default() {
        let actor = crate::records::audit::Actor {
            community: community.to_string(),
            user: "server (retention)".into(),
            ip: String::new(),
        };
        let detail = format!(
            "{} entries, {} visitors' names and {} returnees' personal fields deleted",
            pruned.entries, pruned.visitor_names, pruned.returnees
        );
        crate::records::audit::record(conn, &actor, "retention.prune", &detail, now_ms)?;
    }
    Ok(pruned)
}

/// Deletes the kiosk's entries received before `cutoff`, oldest first, and
/// keeps the hash of the last one. Kiosks push in order, so these are a
/// prefix of its chain.
fn prune_device(tx: &mut dyn Conn, device: &str, cutoff: i64) -> Result<u64, DbError> {
    // The same lock a push takes, so a push and a prune take turns.
    let cut: u64 =
        tx.query_row(&tx.for_update("SELECT pruned_seq FROM devices WHERE id = ?1"), vals![device], |r| r.get(0))?;
    let until: u64 = tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM entries WHERE device = ?1 AND received_ms < ?2",
        vals![device, cutoff],
        |r| r.get(0),
    )?;
    if until <= cut {
        return Ok(0);
    }
    let hash: String =
        tx.query_row("SELECT hash FROM entries WHERE device = ?1 AND seq = ?2", vals![device, until], |r| r.get(0))?;
    let deleted = tx.execute("DELETE FROM entries WHERE device = ?1 AND seq <= ?2", vals![device, until])?;
    tx.execute("UPDATE devices SET pruned_seq = ?1, pruned_hash = ?2 WHERE id = ?3", vals![until, hash, device])?;
    Ok(deleted)
}

/// Every community, for the nightly run.
pub fn prune_all(conn: &mut dyn Conn, now_ms: i64) -> Result<Pruned, DbError> {
    let mut total = Pruned::default();
    for community in crate::db::communities(conn)? {
        let p = prune(conn, &community, now_ms)?;
        if p != Pruned::default() {
            tracing::info!(
                community,
                entries = p.entries,
                visitor_names = p.visitor_names,
                returnees = p.returnees,
                "retention applied"
            );
        }
        total.entries += p.entries;
        total.visitor_names += p.visitor_names;
        total.returnees += p.returnees;
    }
    Ok(total)
}

/// The next 03:00 in the display zone after `now_ms`: gates are quiet then.
pub fn next_night(now_ms: i64, utc_offset_min: i32) -> i64 {
    let three = crate::reports::day_start(now_ms, utc_offset_min) + 3 * 3_600_000;
    if three > now_ms {
        three
    } else {
        three + DAY_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_night_run_is_at_three_local_time() {
        const HOUR: i64 = 3_600_000;
        let midnight = crate::reports::day_start(1_796_000_000_000, 480);
        assert_eq!(crate::leaves::time::fmt_ms(midnight + 3 * HOUR, 480)[11..], *"03:00:00");
        assert_eq!(next_night(midnight + 2 * HOUR, 480), midnight + 3 * HOUR);
        assert_eq!(next_night(midnight + 10 * HOUR, 480), midnight + 27 * HOUR);
    }
}
